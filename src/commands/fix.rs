//! The fixes `diagnose` proposes, each computed from what the pod shows: its limits, its
//! probes, how long its last instance ran, its image and command. A fix never lowers what
//! was hit, and says where its numbers come from; nothing is applied.

use k8s_openapi::api::core::v1::Probe as ProbeSpec;

use serde_json::{Value, json};

use super::peak::PEAK_WINDOW;
use super::table::human_bytes;
use crate::parse::Endpoint;
use crate::view::MemoryLimitScope;

/// A proposed fix: what to do and why, example YAML, and the change to the pod's spec as a
/// strategic-merge patch of it (`-o patch` wraps it for the workload).
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Fix {
    pub(super) text: String,
    pub(super) yaml: String,
    /// A patch of the pod's spec (containers matched by name); `None` when the fix is no
    /// change of the spec (a node that ran out of memory, a check to look at).
    pub(super) pod_spec: Option<Value>,
    /// The numbers the fix was computed from.
    pub(super) evidence: Value,
}

/// The container a fix is for: its name, and the list of the pod's spec it is in.
#[derive(Clone, Copy, Debug)]
pub(super) struct ContainerRef<'a> {
    pub(super) name: &'a str,
    /// `containers` or `initContainers`.
    pub(super) list: &'static str,
}

impl ContainerRef<'_> {
    /// A patch of the pod's spec that changes this container by `fields`.
    fn patch(&self, fields: Value) -> Value {
        let mut container = json!({"name": self.name});
        merge(&mut container, fields);
        json!({self.list: [container]})
    }
}

/// Merges `b` into `a`: objects key by key, lists one after the other (containers are
/// matched by name when the patch is applied).
pub(super) fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => a.extend(b),
        (a, b) => *a = b,
    }
}

/// A memory limit is raised by this share of itself, at least (a stated step: the peak
/// the container reached is not in the pod's status).
const MEMORY_STEP_PERCENT: u64 = 50;
/// A limit or request from the peak working set is this share above it.
const PEAK_HEADROOM_PERCENT: u64 = 25;
/// Proposed limits are rounded up to a multiple of this.
const MEMORY_ROUNDING: u64 = 64 << 20;

/// What a memory fix is computed from: the container's limit, and what its image and
/// command show of its runtime.
pub(super) struct MemoryEvidence<'a> {
    pub(super) container: ContainerRef<'a>,
    pub(super) limit: Option<u64>,
    /// The peak working set in the last [`PEAK_WINDOW`], where Prometheus was asked.
    pub(super) peak: Option<u64>,
    /// The limit before the rollout to blame lowered it, where it did.
    pub(super) lowered_from: Option<u64>,
    /// Whose limit it is: the container's, or the pod's (which its containers share).
    pub(super) scope: MemoryLimitScope,
    pub(super) image: &'a str,
    pub(super) command: &'a [String],
}

/// The runtime an image or a command shows, for its heap flag; none when neither shows one.
fn runtime_of(image: &str, command: &[String]) -> Option<&'static str> {
    let words = std::iter::once(image).chain(command.iter().map(String::as_str)).map(str::to_ascii_lowercase);
    let words: Vec<String> = words.collect();
    let shows = |needles: &[&str]| words.iter().any(|w| needles.iter().any(|n| w.contains(n)));
    if shows(&["java", "jdk", "jre", "temurin", "corretto", "zulu", "jvm"]) {
        Some("jvm")
    } else if shows(&["node"]) {
        Some("node")
    } else {
        None
    }
}

/// The OOM fix: never below the limit that was hit; a stated step above it; the heap flag
/// only for the runtime the image or command shows.
pub(super) fn memory_fix(e: &MemoryEvidence) -> Fix {
    let round_up = |bytes: u64| bytes.div_ceil(MEMORY_ROUNDING) * MEMORY_ROUNDING;
    // The peak working set (Prometheus, where asked) plus headroom.
    let from_peak = e.peak.map(|p| round_up(p * (100 + PEAK_HEADROOM_PERCENT) / 100));
    let peak_said = e.peak.map_or_else(String::new, |p| {
        format!(" Its peak working set in the last {PEAK_WINDOW} was {} (Prometheus).", human_bytes(p))
    });
    let Some(limit) = e.limit else {
        let text = format!(
            "The container was OOM-killed with no memory limit, its own or its pod's: the node ran out of memory, and the kernel chose it. A limit is not the fix: set a request that matches its use (so that the scheduler reserves it), and check the node's memory (kubectl describe node).{peak_said}"
        );
        let evidence =
            json!({"limit_bytes": null, "limit": e.scope.as_str(), "peak_bytes": e.peak, "proposed_bytes": from_peak});
        let Some(request) = from_peak.map(human_bytes) else {
            return Fix {
                text,
                yaml: "resources:\n  requests: {memory: <its use>}\n  limits: {memory: <its use plus headroom>}".into(),
                pod_spec: None,
                evidence,
            };
        };
        let text = format!("{text} Request {request} ({PEAK_HEADROOM_PERCENT} % above the peak), and limit it there.");
        let fields = json!({"resources": {"limits": {"memory": request}, "requests": {"memory": request}}});
        return Fix {
            text,
            yaml: format!("resources:\n  requests: {{memory: {request}}}\n  limits: {{memory: {request}}}"),
            pod_spec: Some(e.container.patch(fields)),
            evidence,
        };
    };
    let step = round_up(limit * (100 + MEMORY_STEP_PERCENT) / 100);
    let now = human_bytes(limit);
    let mut evidence = json!({"limit_bytes": limit, "limit": e.scope.as_str(), "step_percent": MEMORY_STEP_PERCENT, "peak_bytes": e.peak});
    // A step above the limit, or the peak plus headroom where that is more.
    let (step, how) = match from_peak {
        Some(p) if p > step => (p, format!("to {} ({PEAK_HEADROOM_PERCENT} % above the peak)", human_bytes(p))),
        _ => (step, format!("a step ({MEMORY_STEP_PERCENT} % here, to {})", human_bytes(step))),
    };
    let proposed = human_bytes(step);
    if e.scope == MemoryLimitScope::Pod {
        merge(&mut evidence, json!({"proposed_bytes": step}));
        return Fix {
            text: format!(
                "The container was OOM-killed at its pod's memory limit, {now}, which its containers share (it has no limit of its own). Raise the pod's limit {how}, or give the container a limit of its own so that it alone is bounded.{peak_said}"
            ),
            yaml: format!(
                "# the pod's spec.resources, not the container's\nresources:\n  limits: {{memory: {proposed}}}"
            ),
            pod_spec: Some(json!({"resources": {"limits": {"memory": proposed}}})),
            evidence,
        };
    }
    let mut text = if e.peak.is_some() {
        format!(
            "The container used more memory than its limit, {now}.{peak_said} Raise the limit {how}, or lower the app's use below {now}."
        )
    } else {
        format!(
            "The container used more memory than its limit, {now}. Raise the limit {how}, or to the peak working set plus headroom where you have it (container_memory_working_set_bytes, or diagnose --prometheus-url), or lower the app's use below {now}."
        )
    };
    // The rollout lowered it: the limit it ran under before is the floor of the fix.
    let (step, proposed) = match e.lowered_from {
        Some(was) if was > step => {
            let was_text = human_bytes(was);
            text = format!(
                "The container used more memory than its limit, {now}, which the rollout to blame lowered from {was_text}: roll back, or restore {was_text}.{peak_said}"
            );
            (was, was_text)
        }
        Some(was) => {
            text.push_str(&format!(" The rollout to blame lowered the limit from {}.", human_bytes(was)));
            (step, proposed)
        }
        None => (step, proposed),
    };
    merge(&mut evidence, json!({"lowered_from_bytes": e.lowered_from, "proposed_bytes": step}));
    let mut yaml = format!("resources:\n  requests: {{memory: {proposed}}}\n  limits: {{memory: {proposed}}}");
    let mut fields = json!({"resources": {"limits": {"memory": proposed}, "requests": {"memory": proposed}}});
    let runtime = runtime_of(e.image, e.command);
    let heap_flag = match runtime {
        Some("jvm") => {
            text.push_str(" The image runs a JVM: size its heap from the limit.");
            Some(("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75".to_string()))
        }
        Some(_) => {
            text.push_str(" The image runs Node.js: size its heap from the limit.");
            Some(("NODE_OPTIONS", format!("--max-old-space-size={}", (step * 3 / 4) >> 20)))
        }
        None => None,
    };
    if let Some((name, value)) = heap_flag {
        yaml.push_str(&format!("\nenv:\n- name: {name}\n  value: {value}"));
        merge(&mut fields, json!({"env": [{"name": name, "value": value}]}));
    }
    merge(&mut evidence, json!({"runtime": runtime}));
    Fix { text, yaml, pod_spec: Some(e.container.patch(fields)), evidence }
}

/// A probe's timing, with the API's defaults for what is unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ProbeTiming {
    pub(super) initial_delay: i64,
    pub(super) period: i64,
    pub(super) failure_threshold: i64,
    pub(super) timeout: i64,
}

impl ProbeTiming {
    pub(super) fn of(p: &ProbeSpec) -> Self {
        ProbeTiming {
            initial_delay: i64::from(p.initial_delay_seconds.unwrap_or(0).max(0)),
            period: i64::from(p.period_seconds.unwrap_or(10).max(1)),
            failure_threshold: i64::from(p.failure_threshold.unwrap_or(3).max(1)),
            timeout: i64::from(p.timeout_seconds.unwrap_or(1).max(1)),
        }
    }

    /// How long an instance that never passes the probe lives before the kubelet kills
    /// it: `initialDelaySeconds + periodSeconds × failureThreshold`.
    pub(super) fn budget(&self) -> i64 {
        self.initial_delay + self.period * self.failure_threshold
    }

    fn formula(&self) -> String {
        format!(
            "initialDelaySeconds {} + periodSeconds {} × failureThreshold {}",
            self.initial_delay, self.period, self.failure_threshold
        )
    }
}

/// What a probe fix is computed from: the probe that killed, the startup probe if any,
/// how long the last instance ran, and the grace period the kill waited for.
pub(super) struct ProbeEvidence<'a> {
    pub(super) container: ContainerRef<'a>,
    /// The probe that killed: the liveness probe for `liveness_probe`, the startup probe
    /// for `startup_probe`.
    pub(super) probe: Option<&'a ProbeSpec>,
    /// The kill was the startup probe's.
    pub(super) startup_kill: bool,
    /// The container has a startup probe (which held the liveness probe off).
    pub(super) has_startup_probe: bool,
    pub(super) run_seconds: Option<i64>,
    pub(super) grace_seconds: i64,
}

/// `a / b` rounded up, for `a >= 0` and `b >= 1` (i64's `div_ceil` is unstable).
fn ceil_div(a: i64, b: i64) -> i64 {
    (a.max(0) + b - 1) / b
}

/// A startup probe allows the start this long at least (a stated ceiling: the time the
/// app needs to start is not in the pod's status, only that it was killed before).
const STARTUP_ALLOWANCE_SECONDS: i64 = 300;

/// The probe's handler (`httpGet`, `tcpSocket`, `exec`, `grpc`) as JSON.
fn handler_of(p: &ProbeSpec) -> Value {
    let mut out = json!({});
    let mut put = |name: &str, v: Option<Value>| {
        if let (Some(v), Value::Object(o)) = (v, &mut out) {
            o.insert(name.into(), v);
        }
    };
    put("httpGet", p.http_get.as_ref().and_then(|h| serde_json::to_value(h).ok()));
    put("tcpSocket", p.tcp_socket.as_ref().and_then(|h| serde_json::to_value(h).ok()));
    put("exec", p.exec.as_ref().and_then(|h| serde_json::to_value(h).ok()));
    put("grpc", p.grpc.as_ref().and_then(|h| serde_json::to_value(h).ok()));
    out
}

/// The probe's handler (`httpGet`, `tcpSocket`, `exec`, `grpc`) as one line of YAML.
fn handler_yaml(p: &ProbeSpec) -> String {
    let field = |name: &str, v: serde_json::Value| format!("  {name}: {v}\n");
    let mut out = String::new();
    if let Some(h) = &p.http_get {
        out.push_str(&field("httpGet", serde_json::to_value(h).unwrap_or_default()));
    }
    if let Some(h) = &p.tcp_socket {
        out.push_str(&field("tcpSocket", serde_json::to_value(h).unwrap_or_default()));
    }
    if let Some(h) = &p.exec {
        out.push_str(&field("exec", serde_json::to_value(h).unwrap_or_default()));
    }
    if let Some(h) = &p.grpc {
        out.push_str(&field("grpc", serde_json::to_value(h).unwrap_or_default()));
    }
    out
}

/// The probe fix, from the container's own probe and how long its last instance ran:
/// - killed by liveness at the end of its budget (it never passed the probe): a startup
///   probe with the same check, which holds the liveness probe off while the app starts;
/// - killed by liveness later (it passed, then failed): the check or its timeout, never
///   a longer budget for a start that already happened;
/// - killed by its startup probe: a failure threshold that allows twice the budget.
pub(super) fn probe_fix(e: &ProbeEvidence) -> Option<Fix> {
    let p = e.probe?;
    let t = ProbeTiming::of(p);
    let budget = t.budget();
    let ran = e.run_seconds.map_or_else(String::new, |s| format!(" after {s} s"));
    let evidence = json!({
        "initial_delay_seconds": t.initial_delay, "period_seconds": t.period,
        "failure_threshold": t.failure_threshold, "timeout_seconds": t.timeout,
        "budget_seconds": budget, "run_seconds": e.run_seconds, "grace_seconds": e.grace_seconds,
        "has_startup_probe": e.has_startup_probe,
    });
    let handler = handler_of(p);
    if e.startup_kill {
        let threshold = ceil_div(2 * budget - t.initial_delay, t.period).max(t.failure_threshold + 1);
        let text = format!(
            "The kubelet killed the container{ran}: it had not passed its startup probe within the budget of {budget} s ({}). If it starts slowly (migrations, cache warm-up), allow twice the budget: failureThreshold {threshold} (periodSeconds {}).",
            t.formula(),
            t.period
        );
        let yaml = format!(
            "startupProbe:\n{}  periodSeconds: {}\n  failureThreshold: {threshold}   # {} s",
            handler_yaml(p),
            t.period,
            t.initial_delay + t.period * threshold
        );
        let pod_spec = e.container.patch(json!({"startupProbe": {"failureThreshold": threshold}}));
        return Some(Fix { text, yaml, pod_spec: Some(pod_spec), evidence });
    }
    // A kill at the first chance: the instance ran no longer than the budget, plus two
    // periods of slack (the prober starts up to a period late, and each run takes up to
    // its timeout), plus the grace period the kill waited for.
    let first_chance = e.run_seconds.is_some_and(|s| s <= budget + 2 * t.period + t.timeout + e.grace_seconds);
    if first_chance && !e.has_startup_probe {
        let threshold = ceil_div(STARTUP_ALLOWANCE_SECONDS.max(2 * budget), t.period);
        let text = format!(
            "The kubelet killed the container{ran}, at the end of its liveness probe's budget of {budget} s ({}): it has likely never passed the probe. If the app needs longer to start, add a startupProbe with the same check: the liveness probe waits until it passes, and a fast start is not slowed. It allows {} s here; if the app never answers, check the probe's port and path against the app.",
            t.formula(),
            t.period * threshold
        );
        let yaml = format!(
            "startupProbe:   # beside the livenessProbe\n{}  periodSeconds: {}\n  failureThreshold: {threshold}",
            handler_yaml(p),
            t.period
        );
        let mut probe = handler;
        merge(&mut probe, json!({"periodSeconds": t.period, "failureThreshold": threshold}));
        let pod_spec = e.container.patch(json!({"startupProbe": probe}));
        return Some(Fix { text, yaml, pod_spec: Some(pod_spec), evidence });
    }
    let text = format!(
        "The kubelet killed the container{ran} because its liveness probe failed {} times in a row (every {} s, timeout {} s): it had run past the probe's budget of {budget} s, so it answered the probe before and stopped answering. Check what the probe's endpoint does under load; don't make liveness depend on other services; raise timeoutSeconds if the app answers slowly.",
        t.failure_threshold, t.period, t.timeout
    );
    let timeout = (t.timeout * 2).max(5);
    let yaml = format!(
        "livenessProbe:\n{}  periodSeconds: {}\n  timeoutSeconds: {timeout}\n  failureThreshold: {}",
        handler_yaml(p),
        t.period,
        t.failure_threshold
    );
    let pod_spec = e.container.patch(json!({"livenessProbe": {"timeoutSeconds": timeout}}));
    Some(Fix { text, yaml, pod_spec: Some(pod_spec), evidence })
}

/// A Service of the pod's namespace: its name and cluster IP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ServiceAddress {
    pub(super) name: String,
    pub(super) cluster_ip: Option<String>,
}

/// The Service of `namespace` that `host` names: by its cluster IP, its name, or its DNS
/// name in that namespace (`db`, `db.shop`, `db.shop.svc`, `db.shop.svc.cluster.local`).
pub(super) fn service_for<'s>(
    host: &str,
    namespace: &str,
    services: &'s [ServiceAddress],
) -> Option<&'s ServiceAddress> {
    let mut labels = host.split('.');
    let first = labels.next()?;
    let in_namespace = labels.next().is_none_or(|ns| ns == namespace);
    services.iter().find(|s| s.cluster_ip.as_deref() == Some(host) || (in_namespace && s.name == first))
}

/// The dependency fix: the host and port the app could not reach, the Service they are
/// where one matches, and an init container that waits for it.
pub(super) fn dependency_fix(e: &Endpoint, service: Option<&ServiceAddress>) -> Fix {
    let target = e.port.map_or_else(|| e.host.clone(), |p| format!("{}:{p}", e.host));
    let what = match service {
        Some(s) => format!(
            "{target}, which is Service {}: check that it has ready endpoints (kubectl get endpoints {})",
            s.name, s.name
        ),
        None => format!("{target}: check that it runs and that the name resolves from the pod"),
    };
    let text = format!(
        "The app exits when it cannot reach {what}. Then wait for it in an init container, or retry with back-off in the app."
    );
    let check = match e.port {
        Some(p) => format!("until nc -z {} {p}; do sleep 2; done", e.host),
        None => format!("until nslookup {}; do sleep 2; done", e.host),
    };
    let yaml = format!(
        "initContainers:\n- name: wait-for-dependency\n  image: busybox:1.36\n  command: [\"sh\", \"-c\", \"{check}\"]"
    );
    let pod_spec = json!({"initContainers": [{"name": "wait-for-dependency", "image": "busybox:1.36", "command": ["sh", "-c", check]}]});
    let evidence = json!({"host": e.host, "port": e.port, "service": service.map(|s| &s.name)});
    Fix { text, yaml, pod_spec: Some(pod_spec), evidence }
}

/// Where to mount a writable volume for a path a read-only root filesystem refused: the
/// directory holding it, unless that is a top-level one (`/app`: the app's own files),
/// then the path itself; anything under `/tmp` gets `/tmp`.
fn writable_dir(path: &str) -> &str {
    if path == "/tmp" || path.starts_with("/tmp/") {
        return "/tmp";
    }
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((parent, _)) if parent.matches('/').count() >= 2 => parent,
        _ => path,
    }
}

/// The read-only root filesystem fix: a writable `emptyDir` where the app writes.
pub(super) fn read_only_fix(container: ContainerRef, path: &str) -> Fix {
    let dir = writable_dir(path);
    let text = format!(
        "The root filesystem is read-only (readOnlyRootFilesystem: true) and the app writes to {path}. Mount a writable emptyDir on {dir} (empty at each start of the pod), or configure the app to write elsewhere."
    );
    let yaml = format!(
        "volumeMounts:\n- {{name: writable, mountPath: {dir}}}\n# and in the pod's spec:\nvolumes:\n- {{name: writable, emptyDir: {{}}}}"
    );
    let mut pod_spec = container.patch(json!({"volumeMounts": [{"name": "writable", "mountPath": dir}]}));
    merge(&mut pod_spec, json!({"volumes": [{"name": "writable", "emptyDir": {}}]}));
    Fix { text, yaml, pod_spec: Some(pod_spec), evidence: json!({"path": path, "mount": dir}) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: ContainerRef = ContainerRef { name: "app", list: "containers" };

    /// The evidence of container `app` under `limit` of `scope`, nothing else known.
    fn killed_under(limit: Option<u64>, scope: MemoryLimitScope) -> MemoryEvidence<'static> {
        MemoryEvidence { container: APP, limit, peak: None, lowered_from: None, scope, image: "", command: &[] }
    }

    fn fix(limit: Option<u64>, image: &str, command: &[&str]) -> (String, String) {
        let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        let f = memory_fix(&MemoryEvidence {
            image,
            command: &command,
            ..killed_under(limit, MemoryLimitScope::Container)
        });
        (f.text, f.yaml)
    }

    /// An OOM kill under 2Gi is never answered with less: a step of 50 % above the limit,
    /// and no runtime flag for an image that shows no runtime.
    #[test]
    fn the_memory_fix_is_a_step_above_the_limit_that_was_hit() {
        let (text, yaml) = fix(Some(2 << 30), "localhost/api:1.4.3", &["/app/api"]);
        assert_eq!(yaml, "resources:\n  requests: {memory: 3Gi}\n  limits: {memory: 3Gi}");
        assert!(
            text.starts_with(
                "The container used more memory than its limit, 2Gi. Raise the limit a step (50 % here, to 3Gi)"
            ),
            "{text}"
        );
        let (_, yaml) = fix(Some(64 << 20), "localhost/busybox", &["sh", "-c", "dd if=/dev/zero of=/dev/null bs=100M"]);
        assert_eq!(yaml, "resources:\n  requests: {memory: 128Mi}\n  limits: {memory: 128Mi}");
        for mib in [1, 63, 64, 100, 256, 511, 512, 1000, 1024, 4096, 65_536] {
            let limit: u64 = mib << 20;
            let step = (limit * 150 / 100).div_ceil(MEMORY_ROUNDING) * MEMORY_ROUNDING;
            assert!(step > limit && step.is_multiple_of(MEMORY_ROUNDING), "{mib} MiB → {step}");
            assert!(fix(Some(limit), "", &[]).1.contains(&format!("limits: {{memory: {}}}", human_bytes(step))));
        }
    }

    /// The heap flag only for the runtime the image or the command shows.
    #[test]
    fn the_heap_flag_follows_the_runtime_the_container_shows() {
        let (text, yaml) = fix(Some(512 << 20), "eclipse-temurin:21-jre", &[]);
        assert!(yaml.ends_with("env:\n- name: JAVA_TOOL_OPTIONS\n  value: -XX:MaxRAMPercentage=75"), "{yaml}");
        assert!(text.contains("runs a JVM"), "{text}");
        let (_, yaml) = fix(Some(512 << 20), "localhost/app", &["java", "-jar", "/app.jar"]);
        assert!(yaml.contains("JAVA_TOOL_OPTIONS"), "{yaml}");
        let (_, yaml) = fix(Some(512 << 20), "node:22-alpine", &["node", "server.js"]);
        assert!(yaml.ends_with("env:\n- name: NODE_OPTIONS\n  value: --max-old-space-size=576"), "{yaml}");
        let (text, yaml) = fix(Some(512 << 20), "localhost/api", &["/api"]);
        assert!(!yaml.contains("env:") && !text.contains("runs"), "{text}\n{yaml}");
    }

    /// Killed with no limit of its own: the pod's or the node's memory ran out, and no
    /// number is made up.
    #[test]
    fn an_oom_kill_without_a_limit_proposes_no_number() {
        let (text, yaml) = fix(None, "localhost/api", &[]);
        assert!(text.contains("no memory limit, its own or its pod's"), "{text}");
        assert!(!yaml.chars().any(|c| c.is_ascii_digit()), "{yaml}");
    }

    fn probe(json: serde_json::Value) -> ProbeSpec {
        serde_json::from_value(json).expect("a probe")
    }

    fn probe_of(p: &ProbeSpec, startup_kill: bool, has_startup_probe: bool, run: i64) -> (String, String) {
        let f = probe_fix(&ProbeEvidence {
            container: APP,
            probe: Some(p),
            startup_kill,
            has_startup_probe,
            run_seconds: Some(run),
            grace_seconds: 30,
        })
        .expect("a fix");
        (f.text, f.yaml)
    }

    /// Killed at the end of the liveness budget, never having passed: a startup probe with
    /// the same check, sized from the probe's own period, never the advice's template.
    #[test]
    fn a_kill_at_the_end_of_the_budget_proposes_a_startup_probe_with_the_same_check() {
        let p = probe(
            serde_json::json!({"httpGet": {"path": "/ready", "port": 9090}, "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3}),
        );
        assert_eq!(ProbeTiming::of(&p).budget(), 20);
        let (text, yaml) = probe_of(&p, false, false, 31);
        assert!(
            text.starts_with("The kubelet killed the container after 31 s, at the end of its liveness probe's budget of 20 s (initialDelaySeconds 5 + periodSeconds 5 × failureThreshold 3)"),
            "{text}"
        );
        assert_eq!(
            yaml,
            "startupProbe:   # beside the livenessProbe\n  httpGet: {\"path\":\"/ready\",\"port\":9090}\n  periodSeconds: 5\n  failureThreshold: 60"
        );
        // The API's defaults for what is unset: period 10, threshold 3.
        let p = probe(serde_json::json!({"tcpSocket": {"port": 5432}}));
        assert_eq!(ProbeTiming::of(&p).budget(), 30);
        let (_, yaml) = probe_of(&p, false, false, 30);
        assert!(yaml.ends_with("  tcpSocket: {\"port\":5432}\n  periodSeconds: 10\n  failureThreshold: 30"), "{yaml}");
    }

    /// Killed long after the budget: it had passed the probe, so no startup probe, and
    /// none either when it already has one.
    #[test]
    fn a_kill_after_a_long_run_points_at_the_check_not_the_start() {
        let p =
            probe(serde_json::json!({"exec": {"command": ["/bin/check"]}, "periodSeconds": 10, "timeoutSeconds": 1}));
        for (run, has_startup) in [(3600, false), (25, true)] {
            let (text, yaml) = probe_of(&p, false, has_startup, run);
            assert!(text.contains("so it answered the probe before and stopped answering"), "{run}: {text}");
            assert!(yaml.starts_with("livenessProbe:\n  exec: {\"command\":[\"/bin/check\"]}\n"), "{yaml}");
            assert!(yaml.contains("timeoutSeconds: 5"), "{yaml}");
        }
    }

    /// Killed by its startup probe: twice the budget, from its own settings.
    #[test]
    fn a_startup_kill_doubles_the_budget() {
        let p = probe(
            serde_json::json!({"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10, "failureThreshold": 6}),
        );
        let (text, yaml) = probe_of(&p, true, true, 62);
        assert!(
            text.contains("within the budget of 60 s (initialDelaySeconds 0 + periodSeconds 10 × failureThreshold 6)"),
            "{text}"
        );
        assert!(yaml.ends_with("  periodSeconds: 10\n  failureThreshold: 12   # 120 s"), "{yaml}");
    }

    /// No probe in the spec (a status without its spec): no computed fix.
    #[test]
    fn no_probe_no_computed_fix() {
        let e = ProbeEvidence {
            container: APP,
            probe: None,
            startup_kill: false,
            has_startup_probe: false,
            run_seconds: Some(5),
            grace_seconds: 30,
        };
        assert_eq!(probe_fix(&e), None);
    }

    #[test]
    fn a_dependency_fix_names_the_host_the_port_and_the_service() {
        let services = [
            ServiceAddress { name: "db".into(), cluster_ip: Some("10.96.0.10".into()) },
            ServiceAddress { name: "cache".into(), cluster_ip: None },
        ];
        let found = |host: &str| service_for(host, "shop", &services).map(|s| s.name.as_str());
        assert_eq!(found("10.96.0.10"), Some("db"));
        assert_eq!(found("db"), Some("db"));
        assert_eq!(found("db.shop.svc.cluster.local"), Some("db"));
        assert_eq!(found("db.other.svc"), None, "another namespace's db");
        assert_eq!(found("cache.shop"), Some("cache"));
        assert_eq!(found("10.96.0.11"), None);

        let e = Endpoint { host: "10.96.0.10".into(), port: Some(5432) };
        let Fix { text, yaml, pod_spec, .. } = dependency_fix(&e, service_for(&e.host, "shop", &services));
        assert_eq!(
            pod_spec,
            Some(serde_json::json!({"initContainers": [{"name": "wait-for-dependency", "image": "busybox:1.36",
                "command": ["sh", "-c", "until nc -z 10.96.0.10 5432; do sleep 2; done"]}]}))
        );
        assert!(text.starts_with("The app exits when it cannot reach 10.96.0.10:5432, which is Service db: check that it has ready endpoints (kubectl get endpoints db)."), "{text}");
        assert!(
            yaml.ends_with("command: [\"sh\", \"-c\", \"until nc -z 10.96.0.10 5432; do sleep 2; done\"]"),
            "{yaml}"
        );
        let yaml = dependency_fix(&Endpoint { host: "rabbitmq".into(), port: None }, None).yaml;
        assert!(yaml.contains("until nslookup rabbitmq; do sleep 2; done"), "{yaml}");
    }

    #[test]
    fn a_read_only_root_gets_a_writable_directory_where_the_app_writes() {
        for (path, dir) in [
            ("/var/cache/nginx/client_temp", "/var/cache/nginx"),
            ("/var/cache/app/state.db", "/var/cache/app"),
            ("/app/logs", "/app/logs"),
            ("/tmp/x/y", "/tmp"),
            ("/data", "/data"),
        ] {
            assert_eq!(writable_dir(path), dir, "{path}");
        }
        let Fix { text, yaml, pod_spec, .. } = read_only_fix(APP, "/var/cache/nginx/client_temp");
        assert_eq!(
            pod_spec,
            Some(
                serde_json::json!({"containers": [{"name": "app", "volumeMounts": [{"name": "writable", "mountPath": "/var/cache/nginx"}]}],
                "volumes": [{"name": "writable", "emptyDir": {}}]})
            )
        );
        assert!(text.contains("Mount a writable emptyDir on /var/cache/nginx"), "{text}");
        assert_eq!(
            yaml,
            "volumeMounts:\n- {name: writable, mountPath: /var/cache/nginx}\n# and in the pod's spec:\nvolumes:\n- {name: writable, emptyDir: {}}"
        );
    }

    /// Killed at the pod-level limit: the pod's limit is raised, not the container's.
    #[test]
    fn an_oom_kill_at_the_pods_limit_raises_the_pods() {
        let e = killed_under(Some(1 << 30), MemoryLimitScope::Pod);
        let Fix { text, yaml, pod_spec, .. } = memory_fix(&e);
        assert_eq!(pod_spec, Some(serde_json::json!({"resources": {"limits": {"memory": "1536Mi"}}})));
        assert!(
            text.starts_with("The container was OOM-killed at its pod's memory limit, 1Gi, which its containers share"),
            "{text}"
        );
        assert_eq!(yaml, "# the pod's spec.resources, not the container's\nresources:\n  limits: {memory: 1536Mi}");
    }

    /// A rollout lowered the limit from 512Mi to 256Mi: the fix restores what it was, never
    /// a step that stays below it.
    #[test]
    fn a_limit_a_rollout_lowered_is_restored() {
        let e = MemoryEvidence {
            lowered_from: Some(512 << 20),
            ..killed_under(Some(256 << 20), MemoryLimitScope::Container)
        };
        let f = memory_fix(&e);
        assert_eq!(
            f.text,
            "The container used more memory than its limit, 256Mi, which the rollout to blame lowered from 512Mi: roll back, or restore 512Mi."
        );
        assert_eq!(f.yaml, "resources:\n  requests: {memory: 512Mi}\n  limits: {memory: 512Mi}");
        assert_eq!(f.evidence["proposed_bytes"], serde_json::json!(512u64 << 20));
    }

    /// With the peak working set: the limit goes to the peak plus 25 % where that is above
    /// the step, and a container without any limit gets a number at last.
    #[test]
    fn the_peak_working_set_sizes_the_fix() {
        let with_peak = |limit: Option<u64>, peak: u64| {
            let scope = if limit.is_some() { MemoryLimitScope::Container } else { MemoryLimitScope::Unlimited };
            memory_fix(&MemoryEvidence { peak: Some(peak), ..killed_under(limit, scope) })
        };
        // Killed at 256Mi, peak 255Mi: the step (384Mi) is more than the peak's 319Mi → 320Mi.
        let f = with_peak(Some(256 << 20), 255 << 20);
        assert_eq!(f.yaml, "resources:\n  requests: {memory: 384Mi}\n  limits: {memory: 384Mi}");
        assert!(f.text.contains("Its peak working set in the last 1h was 255Mi (Prometheus)."), "{}", f.text);
        // A peak above the limit (one lowered since, by an in-place resize): from the peak.
        let f = with_peak(Some(256 << 20), 1 << 30);
        assert_eq!(f.yaml, "resources:\n  requests: {memory: 1280Mi}\n  limits: {memory: 1280Mi}");
        assert!(f.text.contains("Raise the limit to 1280Mi (25 % above the peak)"), "{}", f.text);
        // No limit anywhere: a request (and limit) from the peak, as a patch.
        let f = with_peak(None, 900 << 20);
        assert_eq!(f.yaml, "resources:\n  requests: {memory: 1152Mi}\n  limits: {memory: 1152Mi}");
        assert_eq!(
            f.pod_spec,
            Some(
                serde_json::json!({"containers": [{"name": "app", "resources": {"limits": {"memory": "1152Mi"}, "requests": {"memory": "1152Mi"}}}]})
            )
        );
        assert_eq!(f.evidence["peak_bytes"], serde_json::json!(900u64 << 20));
    }
}

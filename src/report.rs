//! The `scan` and `diagnose` commands: the same verdicts as the metrics, for a terminal
//! or a script, in one shot.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;

use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod};
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;
use serde_json::json;

use crate::config::{ClusterArgs, Output};
use crate::diagnose::{self, Cause, ContainerReport, LogHint, assess};
use crate::events::{EventCounts, PodEvents, SlimEvent};
use crate::model::{SlimContainer, SlimPod, State, Timestamp, track};
use crate::watch::{event_fields, scoped_api};

/// One troubled container, as `scan` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub container_type: &'static str,
    pub workload: String,
    pub restarts: u32,
    pub state: String,
    pub crashlooping: bool,
    pub last_exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub last_reason: Option<&'static str>,
    /// `None` for a container that is not troubled.
    pub cause: Option<&'static str>,
    pub backoff_seconds: Option<f64>,
    pub next_restart: Option<String>,
    pub memory_limit_bytes: Option<u64>,
}

fn state_text(c: &SlimContainer) -> String {
    match &c.state {
        State::Waiting(w) => w.reason.as_str().to_string(),
        State::Terminated(t) => format!("Terminated:{}", t.reason.as_str()),
        other => other.label().to_string(),
    }
}

fn rfc3339(t: f64) -> String {
    k8s_openapi::jiff::Timestamp::from_second(t as i64).map(|t| t.to_string()).unwrap_or_default()
}

/// Builds a row from a report.
pub fn row(pod: &SlimPod, r: &ContainerReport) -> Row {
    let c = r.container;
    let last = c.latest_termination();
    Row {
        namespace: pod.namespace().into(),
        pod: pod.name().into(),
        container: c.name.to_string(),
        container_type: c.container_type.as_str(),
        workload: format!("{}/{}", pod.workload.kind, pod.workload.name),
        restarts: c.restart_count,
        state: state_text(c),
        crashlooping: r.crashlooping,
        last_exit_code: last.map(|t| t.exit_code),
        signal: last.and_then(|t| t.signal()),
        last_reason: last.map(|t| t.reason.as_str()),
        cause: r.cause.map(Cause::as_str),
        backoff_seconds: r.backoff.active.then_some(r.backoff.delay_seconds),
        next_restart: r.backoff.next_restart.map(rfc3339),
        memory_limit_bytes: c.memory_limit_bytes,
    }
}

/// Lists every page of a resource.
async fn list_all<K>(api: &Api<K>, params: ListParams) -> Result<Vec<K>, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut params = params.limit(500);
    let mut items = Vec::new();
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}

/// Lists the pods and their Events once, and returns the troubled containers.
pub async fn scan(client: &kube::Client, cluster: &ClusterArgs, now: Timestamp) -> Result<Vec<Row>, kube::Error> {
    let mut pods = Vec::new();
    let mut events = Vec::new();
    for ns in cluster.scopes() {
        let mut params = ListParams::default();
        if let Some(l) = &cluster.selector {
            params = params.labels(l);
        }
        if let Some(f) = cluster.field_selector() {
            params = params.fields(&f);
        }
        pods.extend(list_all(&scoped_api::<SlimPod>(client.clone(), ns.as_deref()), params).await?);
        let fields = event_fields(cluster.field_selector().as_deref());
        // Events only sharpen the causes: without permission to list them, carry on.
        match list_all(&scoped_api::<SlimEvent>(client.clone(), ns.as_deref()), ListParams::default().fields(&fields))
            .await
        {
            Ok(list) => events.extend(list),
            Err(e) => tracing::warn!(error = %e, "cannot list events; causes rely on pod status only"),
        }
    }
    let by_name: HashMap<(String, String), String> =
        pods.iter().map(|p| ((p.namespace().to_string(), p.name().to_string()), p.uid().to_string())).collect();
    let mut counts = EventCounts::new();
    counts.baseline = false;
    for e in &events {
        counts.apply(e, |ns, name| by_name.get(&(ns.to_string(), name.to_string())).cloned());
    }
    let mut rows = Vec::new();
    let mut pods: Vec<SlimPod> = pods.into_iter().map(|p| track(None, p, now, true)).collect();
    pods.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
    for pod in &pods {
        let pod_events = counts.pod(pod.namespace(), pod.name());
        for r in assess(pod, pod_events, &|_| None, now, false).iter().filter(|r| r.cause.is_some()) {
            rows.push(row(pod, r));
        }
    }
    Ok(rows)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// Formats rows as aligned columns.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut headers.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

/// Renders `scan`'s output.
pub fn render_scan(rows: &[Row], output: Output) -> String {
    if output == Output::Json {
        return serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n";
    }
    if rows.is_empty() {
        return "No troubled containers.\n".into();
    }
    let wide = output == Output::Wide;
    let mut headers = vec![
        "NAMESPACE",
        "POD",
        "CONTAINER",
        "WORKLOAD",
        "RESTARTS",
        "STATE",
        "EXIT",
        "SIGNAL",
        "CAUSE",
        "BACKOFF",
        "NEXT-RESTART",
    ];
    if wide {
        headers.extend(["TYPE", "LOOPING", "LAST-REASON", "MEMORY-LIMIT"]);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.namespace.clone(),
                r.pod.clone(),
                r.container.clone(),
                r.workload.clone(),
                r.restarts.to_string(),
                r.state.clone(),
                opt(r.last_exit_code),
                opt(r.signal.map(signal_name)),
                opt(r.cause),
                opt(r.backoff_seconds.map(|s| format!("{s}s"))),
                opt(r.next_restart.clone()),
            ];
            if wide {
                cells.extend([
                    r.container_type.to_string(),
                    r.crashlooping.to_string(),
                    opt(r.last_reason),
                    opt(r.memory_limit_bytes),
                ]);
            }
            cells
        })
        .collect();
    table(&headers, &cells)
}

/// `SIGKILL` for 9, and so on.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("{signal}"),
    };
    name.to_string()
}

/// What an exit code usually means in a container.
pub fn exit_code_meaning(code: i32) -> String {
    match code {
        0 => "success: the process exited normally".into(),
        1 => "general error: the application failed (see its log)".into(),
        2 => "misuse of a shell builtin or a bad flag; Go exits 2 on a panic".into(),
        126 => "found but not executable (shell)".into(),
        127 => "command not found (shell)".into(),
        128 => "the runtime could not start the process (StartError)".into(),
        134 => "SIGABRT: the process aborted (assertion, Node heap limit, JVM CrashOnOutOfMemoryError)".into(),
        137 => {
            "SIGKILL: an OOM kill, a liveness/startup kill after the grace period, or kill -9: not proof of OOM".into()
        }
        139 => "SIGSEGV: segmentation fault".into(),
        143 => "SIGTERM: asked to stop (a probe kill or a deletion), and it did".into(),
        255 => "exit(-1), or a program's own convention".into(),
        c if c > 128 && c < 193 => format!("killed by signal {} ({})", c - 128, signal_name(c - 128)),
        c => format!("the application's own exit code {c}"),
    }
}

/// The fix for a cause, with example YAML.
pub fn advice(cause: Cause) -> (&'static str, &'static str) {
    match cause {
        Cause::OomKilled => (
            "The container used more memory than its limit. Raise the memory limit, or lower the app's heap below it (JVM: -XX:MaxRAMPercentage=75 or -Xmx under the limit; Node: --max-old-space-size).",
            "resources:\n  requests: {memory: 512Mi}\n  limits: {memory: 512Mi}\nenv:\n- name: JAVA_TOOL_OPTIONS\n  value: -XX:MaxRAMPercentage=75",
        ),
        Cause::LivenessProbe => (
            "The kubelet killed the container because its liveness probe failed. Check the probe's endpoint; give it more time (timeoutSeconds, failureThreshold), and don't make liveness depend on other services.",
            "livenessProbe:\n  httpGet: {path: /healthz, port: 8080}\n  periodSeconds: 10\n  timeoutSeconds: 5\n  failureThreshold: 6",
        ),
        Cause::StartupProbe => (
            "The container did not start in time for its startup probe. Allow a longer start: failureThreshold x periodSeconds should cover the slowest start (migrations, cache warm-up).",
            "startupProbe:\n  httpGet: {path: /healthz, port: 8080}\n  periodSeconds: 10\n  failureThreshold: 30   # up to 5 minutes",
        ),
        Cause::AppError => {
            ("The application exited with an error. Read the previous log: kubectl logs --previous.", "")
        }
        Cause::Segfault => (
            "The process crashed on a memory fault (SIGSEGV). Look for a native crash or a nil dereference in the previous log; check native libraries and the image's architecture.",
            "",
        ),
        Cause::Abort => (
            "The process aborted (SIGABRT): an assertion, a runtime heap limit (Node), or a JVM started with CrashOnOutOfMemoryError.",
            "",
        ),
        Cause::CommandNotFound => (
            "The container's command does not exist in the image. Check `command`/`args` against the image's entrypoint and PATH.",
            "command: [\"/app/server\"]   # a path that exists in the image\nargs: [\"--port=8080\"]",
        ),
        Cause::NotExecutable => (
            "The command exists but cannot be executed: missing execute bit, a script without interpreter, or an image built for another architecture.",
            "securityContext:\n  runAsUser: 1000\n  runAsGroup: 1000",
        ),
        Cause::MissingConfig => (
            "The pod references a ConfigMap, Secret, key or PVC that does not exist. Create it (in the pod's namespace), or mark the reference optional.",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata:\n  DATABASE_URL: postgres://db:5432/app\n---\n# or, where absence is fine:\nenvFrom:\n- configMapRef: {name: app-config, optional: true}",
        ),
        Cause::ImagePull => (
            "The image cannot be pulled: check its name and tag, the registry's reachability, and imagePullSecrets.",
            "imagePullSecrets:\n- name: registry-credentials",
        ),
        Cause::DependencyUnavailable => (
            "The app exits when a dependency (database, DNS name, service) is unreachable. Wait for it in an init container, or retry with back-off in the app.",
            "initContainers:\n- name: wait-for-db\n  image: busybox:1.36\n  command: [\"sh\", \"-c\", \"until nc -z db 5432; do sleep 2; done\"]",
        ),
        Cause::ConfigError => (
            "The app rejected its configuration (flags, config file, env). Compare them with what the image version expects.",
            "",
        ),
        Cause::PermissionDenied => (
            "The app was denied access to a file or directory. Run as a user that owns its volumes, or set fsGroup.",
            "securityContext:\n  runAsUser: 1000\n  runAsGroup: 1000\n  fsGroup: 1000",
        ),
        Cause::CompletedButRestarted => (
            "The process finished successfully but restartPolicy is Always: a batch task in a Deployment. Run it as a Job or CronJob, or keep the process running.",
            "apiVersion: batch/v1\nkind: Job",
        ),
        Cause::Evicted => (
            "The kubelet evicted the pod under node pressure. Set requests that match real use, and check the node's memory and disk.",
            "resources:\n  requests: {memory: 256Mi, ephemeral-storage: 1Gi}",
        ),
        Cause::Unknown => ("No rule matched. Read the events and the previous log.", ""),
    }
}

/// The one-pod report.
#[derive(Debug, Serialize)]
pub struct Diagnosis {
    pub namespace: String,
    pub pod: String,
    pub phase: String,
    pub workload: String,
    pub node: Option<String>,
    pub containers: Vec<ContainerDiagnosis>,
    pub events: Vec<EventLine>,
}

#[derive(Debug, Serialize)]
pub struct ContainerDiagnosis {
    #[serde(flatten)]
    pub row: Row,
    pub exit_code_meaning: Option<String>,
    pub requests: serde_json::Value,
    pub limits: serde_json::Value,
    pub checks: Vec<Check>,
    pub previous_log: PreviousLog,
    pub fix: Option<String>,
    pub fix_yaml: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub failed: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct PreviousLog {
    /// `ok`, `not_found`, `forbidden`, `error` or `skipped`.
    pub result: &'static str,
    pub tail: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct EventLine {
    pub last_seen: String,
    pub r#type: String,
    pub reason: String,
    pub object: String,
    pub count: i32,
    pub message: String,
}

/// Lines of the previous log shown by `diagnose`.
const SHOWN_LOG_LINES: usize = 20;
/// Longest event message shown.
const SHOWN_MESSAGE_CHARS: usize = 300;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max).collect::<String>() + "…" }
}

/// Gathers the one-pod report: status, events, previous logs (unless `logs` is false).
pub async fn diagnose(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    logs: bool,
    now: Timestamp,
) -> Result<Diagnosis, kube::Error> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let full = pods.get(name).await?;
    let slim: SlimPod =
        serde_json::to_value(&full).and_then(serde_json::from_value).map_err(kube::Error::SerdeError)?;
    let slim = track(None, slim, now, true);

    let fields = format!("involvedObject.kind=Pod,involvedObject.name={name}");
    let mut raw_events =
        match list_all(&Api::<CoreEvent>::namespaced(client.clone(), namespace), ListParams::default().fields(&fields))
            .await
        {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list events");
                Vec::new()
            }
        };
    let time = |e: &CoreEvent| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
            .or(e.event_time.as_ref().map(|t| t.0.as_second()))
            .unwrap_or(0)
    };
    raw_events.sort_by_key(|e| std::cmp::Reverse(time(e)));
    let mut counts = EventCounts::new();
    counts.baseline = false;
    for e in &raw_events {
        if let Ok(slim_event) = serde_json::to_value(e).and_then(serde_json::from_value::<SlimEvent>) {
            counts.apply(&slim_event, |_, _| Some(slim.uid().to_string()));
        }
    }
    let pod_events: Option<PodEvents> = counts.pod(namespace, name).cloned();

    let mut logs_by_container: HashMap<String, (PreviousLog, Option<LogHint>)> = HashMap::new();
    for c in slim.containers.iter().filter(|c| c.restart_count > 0 || c.latest_termination().is_some()) {
        let previous = if logs {
            match crate::logs::fetch_termination_log(client, namespace, name, c).await {
                Ok(text) => {
                    let hint = diagnose::classify_log(&text);
                    let lines: Vec<String> = text.lines().map(str::to_string).collect();
                    let tail = lines[lines.len().saturating_sub(SHOWN_LOG_LINES)..].to_vec();
                    (PreviousLog { result: "ok", tail }, hint)
                }
                Err(e) => {
                    let why = match &e {
                        kube::Error::Api(s) => format!(
                            "{} (HTTP {}): no previous instance, no kubelet, or no permission",
                            s.message, s.code
                        ),
                        other => other.to_string(),
                    };
                    (PreviousLog { result: crate::logs::fetch_result(&e), tail: vec![why] }, None)
                }
            }
        } else {
            (PreviousLog { result: "skipped", tail: vec![] }, None)
        };
        logs_by_container.insert(c.name.to_string(), previous);
    }
    let hints = |c: &SlimContainer| logs_by_container.get(&*c.name).and_then(|(_, h)| *h);
    let reports = assess(&slim, pod_events.as_ref(), &hints, now, true);

    let spec_containers: Vec<&k8s_openapi::api::core::v1::Container> =
        full.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten())).collect();
    let containers = reports
        .iter()
        .map(|r| {
            let c = r.container;
            let resources = spec_containers.iter().find(|s| *s.name == *c.name).and_then(|s| s.resources.as_ref());
            let requests = resources.and_then(|r| r.requests.as_ref()).map_or(json!({}), |v| json!(v));
            let limits = resources.and_then(|r| r.limits.as_ref()).map_or(json!({}), |v| json!(v));
            let ev = pod_events.as_ref().and_then(|e| e.containers.get(&*c.name));
            let last = c.latest_termination();
            let missing: Vec<String> = diagnose::missing_objects_of(c, pod_events.as_ref())
                .into_iter()
                .map(|(kind, name)| format!("{} {name}", kind.as_str()))
                .collect();
            let checks = vec![
                Check {
                    name: "oom_killed",
                    failed: last.is_some_and(|t| t.reason == crate::model::TerminationReason::OomKilled),
                    detail: format!(
                        "memory limit {}",
                        opt(c.memory_limit_bytes.map(|b| format!("{} MiB", b / (1 << 20))))
                    ),
                },
                Check {
                    name: "image_pull",
                    failed: c.state.waiting().is_some_and(|w| w.reason.is_image_problem()),
                    detail: ev.and_then(|e| e.pull_failure).map_or("-".into(), |f| f.as_str().to_string()),
                },
                Check { name: "missing_config", failed: !missing.is_empty(), detail: missing.join(", ") },
                Check {
                    name: "probe_kills",
                    failed: ev.is_some_and(|e| e.probe_kills.iter().any(|n| *n > 0)),
                    detail: ev
                        .map_or("-".into(), |e| format!("liveness {}, startup {}", e.probe_kills[0], e.probe_kills[2])),
                },
            ];
            let (log, _) =
                logs_by_container.remove(&*c.name).unwrap_or((PreviousLog { result: "skipped", tail: vec![] }, None));
            let (fix, yaml) = r.cause.map(advice).unzip();
            ContainerDiagnosis {
                row: row(&slim, r),
                exit_code_meaning: last.map(|t| exit_code_meaning(t.exit_code)),
                requests,
                limits,
                checks,
                previous_log: log,
                fix: fix.map(str::to_string),
                fix_yaml: yaml.filter(|y| !y.is_empty()).map(str::to_string),
            }
        })
        .collect();
    let events = raw_events
        .iter()
        .map(|e| EventLine {
            last_seen: k8s_openapi::jiff::Timestamp::from_second(time(e)).map(|t| t.to_string()).unwrap_or_default(),
            r#type: e.type_.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            object: e.involved_object.field_path.clone().unwrap_or_default(),
            count: e.count.unwrap_or(1),
            message: truncate(e.message.as_deref().unwrap_or(""), SHOWN_MESSAGE_CHARS),
        })
        .collect();
    Ok(Diagnosis {
        namespace: namespace.into(),
        pod: name.into(),
        phase: full.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into()),
        workload: format!("{}/{}", slim.workload.kind, slim.workload.name),
        node: full.spec.as_ref().and_then(|s| s.node_name.clone()),
        containers,
        events,
    })
}

struct Style {
    on: bool,
}

impl Style {
    fn bold(&self, s: &str) -> String {
        if self.on { format!("\x1b[1m{s}\x1b[0m") } else { s.to_string() }
    }
    fn bad(&self, s: &str) -> String {
        if self.on { format!("\x1b[31m{s}\x1b[0m") } else { s.to_string() }
    }
}

/// Renders `diagnose`'s output; colour only when stdout is a terminal.
pub fn render_diagnosis(d: &Diagnosis, output: Output) -> String {
    if output == Output::Json {
        return serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n";
    }
    let st = Style { on: std::io::stdout().is_terminal() };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {}/{}  phase {}  workload {}  node {}",
        st.bold("Pod"),
        d.namespace,
        d.pod,
        d.phase,
        d.workload,
        opt(d.node.as_deref())
    );
    let _ = writeln!(o, "\n{}", st.bold("Containers"));
    let rows: Vec<Row> = d.containers.iter().map(|c| c.row.clone()).collect();
    o.push_str(&render_scan(&rows, Output::Wide));
    let _ = writeln!(o, "\n{}", st.bold("Exit codes"));
    for c in &d.containers {
        if let (Some(code), Some(meaning)) = (c.row.last_exit_code, &c.exit_code_meaning) {
            let _ = writeln!(o, "  {:<16} {:>4}  {}", c.row.container, code, meaning);
        }
    }
    let _ = writeln!(o, "\n{}", st.bold("Requests and limits"));
    for c in &d.containers {
        let _ = writeln!(o, "  {:<16} requests {}  limits {}", c.row.container, c.requests, c.limits);
    }
    let _ = writeln!(o, "\n{}", st.bold("Recent events"));
    if d.events.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for e in &d.events {
        let _ = writeln!(
            o,
            "  {}  {:<7} {:<12} x{:<4} {}  {}",
            e.last_seen, e.r#type, e.reason, e.count, e.object, e.message
        );
    }
    for c in &d.containers {
        let _ = writeln!(o, "\n{} {}", st.bold("Container"), c.row.container);
        let _ = writeln!(o, "  previous log: {}", c.previous_log.result);
        for line in &c.previous_log.tail {
            let _ = writeln!(o, "    | {line}");
        }
        let _ = writeln!(o, "  quick checks:");
        for check in &c.checks {
            let mark = if check.failed { st.bad("FAIL") } else { "ok  ".to_string() };
            let _ = writeln!(o, "    {mark} {:<15} {}", check.name, check.detail);
        }
        if let Some(fix) = &c.fix {
            let _ = writeln!(o, "  probable cause: {}", st.bad(c.row.cause.unwrap_or("-")));
            let _ = writeln!(o, "  fix: {fix}");
            if let Some(yaml) = &c.fix_yaml {
                for line in yaml.lines() {
                    let _ = writeln!(o, "    {line}");
                }
            }
        }
    }
    o
}

//! Real containers fail on a real node (kubelet, kube-scheduler and kube-controller-manager
//! 1.20, containerd and runc; see `crashloop_testbed::Node`), and the exporter, watching
//! with `--logs`, gives the exact series of each scenario. Nothing here writes a status:
//! every crash, probe kill, OOM kill, pull failure and Event is the real component's.
//!
//! All scenarios start together, each in its own namespace, and one loop scrapes the
//! exporter every second until every check has passed (or one has failed for good), so
//! the kubelet's back-offs (10 s, 20 s, 40 s …) run side by side: about four minutes in all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{EXPORTER, Exporter, report};
use crashloop_testbed::{self as testbed, Node};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

/// How long the scenarios get, all together.
const DEADLINE: Duration = Duration::from_secs(540);

/// The counter script of a container that fails twice, then succeeds: the count lives in
/// an `emptyDir`, which outlives the container's restarts.
const THIRD_TIME_LUCKY: &str =
    "n=$(cat /work/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /work/n; echo attempt $n; [ $n -ge 3 ]";

fn container(name: &str, command: &[&str]) -> Value {
    testbed::busybox(name, command)
}

fn sh(name: &str, script: &str) -> Value {
    testbed::busybox_sh(name, script)
}

fn with(mut v: Value, extra: Value) -> Value {
    if let (Some(dst), Some(src)) = (v.as_object_mut(), extra.as_object()) {
        dst.extend(src.clone());
    }
    v
}

fn bare_pod(name: &str, restart_policy: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": with(json!({"restartPolicy": restart_policy, "terminationGracePeriodSeconds": 1}), spec)})
}

fn counter_volume() -> Value {
    json!([{"name": "work", "emptyDir": {}}])
}

fn mount_data(c: Value) -> Value {
    with(c, json!({"volumeMounts": [{"name": "data", "mountPath": "/data"}]}))
}

fn mount_work(c: Value) -> Value {
    with(c, json!({"volumeMounts": [{"name": "work", "mountPath": "/work"}]}))
}

fn kubectl_create(cluster: &testbed::Cluster, ns: &str, objects: &[Value]) {
    cluster.create_objects(ns, objects).unwrap_or_else(|e| panic!("{e}"));
}

/// What a check says after one scrape.
enum Verdict {
    Pending(String),
    Pass,
    Fail(String),
}

/// The pods of each scenario's namespace at the time of a scrape, oldest first.
struct Seen {
    pods: BTreeMap<String, Vec<String>>,
}

impl Seen {
    fn pods(&self, ns: &str) -> &[String] {
        self.pods.get(ns).map_or(&[], Vec::as_slice)
    }
}

/// `family{namespace="ns",pod="pod",container="c",container_type="t"[,k="v"]}`.
fn series(family: &str, ns: &str, pod: &str, c: &str, ctype: &str, extra: Option<(&str, &str)>) -> String {
    let extra = extra.map_or(String::new(), |(k, v)| format!(",{k}=\"{v}\""));
    format!("{family}{{namespace=\"{ns}\",pod=\"{pod}\",container=\"{c}\",container_type=\"{ctype}\"{extra}}}")
}

/// The value of the exact series, as written.
fn value<'a>(out: &'a str, series: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
}

/// Every series of `family` of pod `ns/pod`, as written (value included).
fn pod_series<'a>(out: &'a str, family: &str, ns: &str, pod: &str) -> Vec<&'a str> {
    let start = format!("{family}{{namespace=\"{ns}\",pod=\"{pod}\",");
    out.lines().filter(|l| l.starts_with(&start)).collect()
}

/// The value of the pod's `crashloop_pod_workload_info` with this workload, whatever its
/// template (a hash the real controllers chose), and the template.
fn workload_info<'a>(out: &'a str, ns: &str, pod: &str, kind: &str, name: &str) -> Option<(&'a str, &'a str)> {
    let start = format!(
        "crashloop_pod_workload_info{{namespace=\"{ns}\",pod=\"{pod}\",workload_kind=\"{kind}\",workload=\"{name}\",template=\""
    );
    out.lines().find_map(|l| {
        let (template, value) = l.strip_prefix(&start)?.split_once("\"} ")?;
        Some((value, template))
    })
}

/// What `kubectl ARGS` prints, from inside a check.
fn kubectl_output(kubeconfig: &std::path::Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .map_err(|e| format!("running kubectl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `kubectl create` of one object in `ns`, from inside a check (which holds no cluster).
fn create_with_kubeconfig(kubeconfig: &std::path::Path, ns: &str, object: &Value) -> Result<(), String> {
    use std::io::Write;
    let mut child = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["-n", ns, "create", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("running kubectl: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(object.to_string().as_bytes()).map_err(|e| format!("writing to kubectl: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("running kubectl: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// `(family, extra label, value)`: one series of a container and its value, as written.
type Wanted<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str);

/// Every `(family, extra label, value)` of one container must be in the scrape.
fn expect_all(out: &str, ns: &str, pod: &str, c: &str, ctype: &str, wanted: &[Wanted]) -> Verdict {
    for (family, extra, want) in wanted {
        let s = series(family, ns, pod, c, ctype, *extra);
        match value(out, &s) {
            Some(v) if v == *want => {}
            got => return Verdict::Pending(format!("{s} is {got:?}, want {want}")),
        }
    }
    Verdict::Pass
}

/// The pod was disrupted (`(disruption, resource)`), none of its ends counts as an app
/// termination, and its container `app` has `wanted`.
fn disrupted_then(out: &str, ns: &str, pod: &str, (kind, resource): (&str, &str), wanted: &[Wanted]) -> Verdict {
    let disruption = format!(
        "crashloop_pod_disruption{{namespace=\"{ns}\",pod=\"{pod}\",disruption=\"{kind}\",resource=\"{resource}\"}}"
    );
    if value(out, &disruption) != Some("1") {
        return Verdict::Pending(format!("{disruption} is {:?}", value(out, &disruption)));
    }
    let counted = format!("crashloop_container_terminations_total{{namespace=\"{ns}\",pod=\"{pod}\"");
    if let Some(l) = out.lines().find(|l| l.starts_with(&counted) && !l.ends_with(" 0")) {
        return Verdict::Fail(format!("a disruption counted as an app termination: {l}"));
    }
    expect_all(out, ns, pod, "app", "regular", wanted)
}

/// The pod waits for the missing `(kind, name)`, and its container `app` has `wanted`.
fn missing_then(out: &str, ns: &str, pod: &str, (kind, name): (&str, &str), wanted: &[Wanted]) -> Verdict {
    let missing =
        format!("crashloop_pod_missing_object{{namespace=\"{ns}\",pod=\"{pod}\",kind=\"{kind}\",name=\"{name}\"}}");
    if value(out, &missing) != Some("1") {
        return Verdict::Pending(format!("{missing} missing"));
    }
    expect_all(out, ns, pod, "app", "regular", wanted)
}

/// The exporter's command `args` against the cluster of `kubeconfig`: its standard output.
fn cli(kubeconfig: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .output()
        .unwrap_or_else(|e| panic!("{args:?} runs: {e}"));
    out.stdout
}

/// [`cli`] of a command with `-o json`: its JSON.
fn cli_json(kubeconfig: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&cli(kubeconfig, args)).unwrap_or_else(|e| panic!("{args:?} prints JSON: {e}"))
}

fn number(out: &str, s: &str) -> Option<f64> {
    value(out, s).and_then(|v| v.parse().ok())
}

type Check = Box<dyn FnMut(&Seen, &str) -> Verdict>;

/// A check of the only pod of `ns`.
fn on_pod(ns: &'static str, mut f: impl FnMut(&str, &str) -> Verdict + 'static) -> Check {
    Box::new(move |seen: &Seen, out: &str| match seen.pods(ns) {
        [pod] => f(pod, out),
        pods => Verdict::Pending(format!("{ns} has pods {pods:?}")),
    })
}

/// The scenarios: the objects to create in each namespace, and the checks of their series.
/// The template of rn-rollout's old ReplicaSet, which serves while the new one crash-loops.
const OLD_TEMPLATE: &str = "6d5f4b7c9";

fn scenarios(cluster: &testbed::Cluster, node: &Node) -> Vec<(&'static str, Vec<Value>, Check)> {
    let mut s: Vec<(&'static str, Vec<Value>, Check)> = Vec::new();

    // OOM kill under a memory limit, in a Deployment's pod.
    let mut oom = sh("app", "dd if=/dev/zero of=/dev/null bs=100M count=1");
    oom["resources"] = json!({"limits": {"memory": "32Mi"}});
    let deployment = testbed::deployment("oom", vec![oom]);
    s.push(("rn-oom", vec![deployment], on_pod("rn-oom", |pod, out| {
        let ns = "rn-oom";
        if let Verdict::Pending(why) = expect_all(out, ns, pod, "app", "regular", &[
            ("crashloop_container_last_terminated_reason", Some(("reason", "OOMKilled")), "1"),
            ("crashloop_container_last_terminated_exit_code", None, "137"),
            ("crashloop_container_last_terminated_signal", None, "9"),
            ("crashloop_container_last_terminated_oom_killed", None, "1"),
            ("crashloop_container_memory_limit_bytes", None, "33554432"),
            ("crashloop_container_crashlooping", None, "1"),
            ("crashloop_container_probable_cause", Some(("cause", "oom_killed")), "1"),
        ]) {
            return Verdict::Pending(why);
        }
        // The template is the Deployment's pod-template-hash, the middle of the pod's name.
        let hash = pod.rsplit_once('-').and_then(|(rs, _)| rs.rsplit_once('-')).map(|(_, h)| h);
        if workload_info(out, ns, pod, "Deployment", "oom") != hash.map(|h| ("1", h)) {
            return Verdict::Pending(format!("{ns}/{pod}: crashloop_pod_workload_info of Deployment oom, template {hash:?} missing"));
        }
        let restarts = number(out, &series("crashloop_container_restarts_total", ns, pod, "app", "regular", None));
        let ended = |reason| number(out, &series("crashloop_container_terminations_total", ns, pod, "app", "regular", Some(("reason", reason))));
        // Every restart is counted once, by the reason of the end the kubelet wrote. Under
        // load the kubelet does not always write OOMKilled: containerd 1.6 reported a late
        // OOM kill as Error/137 once, and once a restart came without its lastState (the
        // dead container collected first: reason `other`), in nine runs.
        let others: f64 = ["Error", "Completed", "StartError", "other"].into_iter().filter_map(ended).sum();
        match (restarts, ended("OOMKilled")) {
            (Some(r), Some(o)) if r >= 2.0 && o >= 2.0 && o + others == r => Verdict::Pass,
            (Some(r), Some(o)) if r >= 2.0 && o + others > r => {
                Verdict::Fail(format!("{o} OOM kills and {others} other ends counted for {r} restarts"))
            }
            other => Verdict::Pending(format!(
                "(restarts, OOMKilled terminations) = {other:?}, {others} others: want all ends = restarts, OOMKilled >= 2"
            )),
        }
    })));

    // A rollout stuck on a template that crash-loops while the old pod serves: the old
    // ReplicaSet (template 6d5f4b7c9, adopted by the Deployment) keeps its ready pod, as
    // maxUnavailable 0 lets no old pod go before a new one is available, and the new
    // ReplicaSet's pod exits 1 at each start. What tells the workload alerts a stuck
    // rollout from a workload down: the pods' templates, and the ready pods per template.
    let labels = json!({"app": "rollout", "pod-template-hash": OLD_TEMPLATE});
    let old = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("rollout-{OLD_TEMPLATE}"), "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [sh("app", "sleep 3600")], "terminationGracePeriodSeconds": 1}}}});
    // Its readiness probe never passes: without one, the 2 s each instance runs would make
    // the new pod available, and the controller would scale the old ReplicaSet down.
    let mut bad = sh("app", "sleep 2; exit 1");
    bad["image"] = json!(testbed::Node::BUSYBOX_NEXT);
    bad["readinessProbe"] = json!({"exec": {"command": ["false"]}, "periodSeconds": 1});
    let mut rollout = testbed::deployment("rollout", vec![bad]);
    rollout["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
    // The Deployment comes once the old pod runs: created together, the controller found
    // the old pod unavailable and scaled its ReplicaSet down at once (its clean-up of
    // unhealthy old replicas).
    let mut rollout = Some(rollout);
    let kubeconfig = cluster.kubeconfig_path();
    s.push((
        "rn-rollout",
        vec![old],
        Box::new(move |seen: &Seen, out: &str| {
            let ns = "rn-rollout";
            let pods = seen.pods(ns);
            if let Some(deployment) = &rollout {
                // Asked of the API: the exporter shows no readiness for a workload of one template.
                let running = kubectl_output(
                    &kubeconfig,
                    &["-n", ns, "get", "pods", "-l", &format!("pod-template-hash={OLD_TEMPLATE}"), "-o",
                      "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}"],
                )
                .is_ok_and(|ready| ready.trim() == "True");
                if !running {
                    return Verdict::Pending(format!("{ns}: the old template's pod is not running yet ({pods:?})"));
                }
                if let Err(e) = create_with_kubeconfig(&kubeconfig, ns, deployment) {
                    return Verdict::Fail(format!("{ns}: creating the Deployment: {e}"));
                }
                rollout = None;
                return Verdict::Pending(format!("{ns}: the Deployment created"));
            }
            let (Some(old), Some(new)) = (
                pods.iter().find(|p| p.starts_with(&format!("rollout-{OLD_TEMPLATE}-"))),
                pods.iter().find(|p| !p.starts_with(&format!("rollout-{OLD_TEMPLATE}-"))),
            ) else {
                return Verdict::Pending(format!("{ns} has pods {pods:?}"));
            };
            let Some((_, template)) = workload_info(out, ns, new, "Deployment", "rollout") else {
                return Verdict::Pending(format!("{ns}/{new} has no crashloop_pod_workload_info of Deployment rollout"));
            };
            if workload_info(out, ns, old, "Deployment", "rollout") != Some(("1", OLD_TEMPLATE)) {
                return Verdict::Pending(format!("{ns}/{old}: the old template's pod not yet attributed"));
            }
            let ready = |t: &str| {
                let s = format!(
                    "crashloop_workload_ready_pods{{namespace=\"{ns}\",workload_kind=\"Deployment\",workload=\"rollout\",template=\"{t}\"}}"
                );
                value(out, &s).map(str::to_owned)
            };
            if (ready(OLD_TEMPLATE).as_deref(), ready(template).as_deref()) != (Some("1"), Some("0")) {
                return Verdict::Pending(format!(
                    "ready pods of {OLD_TEMPLATE} and {template}: {:?}, {:?}, want 1 and 0",
                    ready(OLD_TEMPLATE),
                    ready(template)
                ));
            }
            // What each template is: the new one changed the image, and came after the old.
            let image = |t: &str, image: &str| {
                value(out, &format!(
                    "crashloop_workload_template_image_info{{namespace=\"{ns}\",workload_kind=\"Deployment\",workload=\"rollout\",template=\"{t}\",container=\"app\",image=\"{image}\"}}"
                )) == Some("1")
            };
            if !image(OLD_TEMPLATE, testbed::Node::BUSYBOX) || !image(template, testbed::Node::BUSYBOX_NEXT) {
                return Verdict::Pending(format!("{ns}: the templates' images are not {} and {}", testbed::Node::BUSYBOX, testbed::Node::BUSYBOX_NEXT));
            }
            let created = |t: &str| number(out, &format!(
                "crashloop_workload_template_created_timestamp_seconds{{namespace=\"{ns}\",workload_kind=\"Deployment\",workload=\"rollout\",template=\"{t}\"}}"
            ));
            match (created(OLD_TEMPLATE), created(template)) {
                (Some(old), Some(new)) if old < new => {}
                other => return Verdict::Pending(format!("{ns}: the templates' creation times {other:?}, want the old one's first")),
            }
            expect_all(out, ns, new, "app", "regular", &[
                ("crashloop_container_crashlooping", None, "1"),
                ("crashloop_container_last_terminated_exit_code", None, "1"),
            ])
        }),
    ));

    // Exit 1 after a dependency error in the log: with --logs the cause must stay
    // dependency_unavailable from its first sight across two more crashes.
    let dependency = bare_pod(
        "dependency",
        "Always",
        json!({"containers": [sh("app",
        "echo 'connecting to the database'; echo 'dial tcp 127.0.0.1:5432: connect: connection refused' >&2; exit 1")]}),
    );
    let mut since: Option<f64> = None;
    s.push((
        "rn-dependency",
        vec![dependency],
        on_pod("rn-dependency", move |pod, out| {
            let ns = "rn-dependency";
            let restarts = number(out, &series("crashloop_container_restarts_total", ns, pod, "app", "regular", None))
                .unwrap_or(0.0);
            let dependency = series(
                "crashloop_container_probable_cause",
                ns,
                pod,
                "app",
                "regular",
                Some(("cause", "dependency_unavailable")),
            );
            let causes = pod_series(out, "crashloop_container_probable_cause", ns, pod);
            match since {
                None if value(out, &dependency) == Some("1") => {
                    since = Some(restarts);
                    Verdict::Pending(format!("dependency_unavailable first seen at {restarts} restarts"))
                }
                None => Verdict::Pending(format!("causes so far {causes:?}")),
                Some(first) if value(out, &dependency) != Some("1") => Verdict::Fail(format!(
                    "the cause left dependency_unavailable at {restarts} restarts (first seen at {first}): {causes:?}"
                )),
                Some(first) if restarts >= first + 2.0 => expect_all(
                    out,
                    ns,
                    pod,
                    "app",
                    "regular",
                    &[
                        ("crashloop_container_last_terminated_exit_code", None, "1"),
                        ("crashloop_container_last_terminated_reason", Some(("reason", "Error")), "1"),
                        ("crashloop_container_crashlooping", None, "1"),
                    ],
                ),
                Some(first) => Verdict::Pending(format!("{restarts} restarts, waiting for {}", first + 2.0)),
            }
        }),
    ));

    // A command that does not exist: runc cannot start it.
    let missing_command =
        bare_pod("no-such-command", "Always", json!({"containers": [container("app", &["/bin/does-not-exist"])]}));
    s.push((
        "rn-command",
        vec![missing_command],
        on_pod("rn-command", |pod, out| {
            // It never started: its zero start time gives no run time.
            let run = series("crashloop_container_last_run_seconds", "rn-command", pod, "app", "regular", None);
            if let Some(v) = value(out, &run) {
                return Verdict::Fail(format!("{run} is {v}: a StartError never ran"));
            }
            expect_all(
                out,
                "rn-command",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_reason", Some(("reason", "StartError")), "1"),
                    ("crashloop_container_last_terminated_exit_code", None, "128"),
                    ("crashloop_container_probable_cause", Some(("cause", "command_not_found")), "1"),
                    ("crashloop_container_crashlooping", None, "1"),
                ],
            )
        }),
    ));

    // An exec liveness probe that always fails: the kubelet kills the container.
    let mut probed = container("app", &["sleep", "3600"]);
    probed["livenessProbe"] = json!({"exec": {"command": ["false"]}, "periodSeconds": 2, "failureThreshold": 1});
    let liveness = bare_pod("liveness", "Always", json!({"containers": [probed]}));
    s.push((
        "rn-liveness",
        vec![liveness],
        on_pod("rn-liveness", |pod, out| {
            let ns = "rn-liveness";
            if let Verdict::Pending(why) = expect_all(
                out,
                ns,
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_reason", Some(("reason", "Error")), "1"),
                    ("crashloop_container_last_terminated_exit_code", None, "137"),
                    ("crashloop_container_probable_cause", Some(("cause", "liveness_probe")), "1"),
                ],
            ) {
                return Verdict::Pending(why);
            }
            let failures = number(
                out,
                &series(
                    "crashloop_container_probe_failures_total",
                    ns,
                    pod,
                    "app",
                    "regular",
                    Some(("probe", "liveness")),
                ),
            );
            let kills = number(
                out,
                &series(
                    "crashloop_container_probe_kills_total",
                    ns,
                    pod,
                    "app",
                    "regular",
                    Some(("probe", "liveness")),
                ),
            );
            match (failures, kills) {
                (Some(f), Some(k)) if f >= 2.0 && k >= 2.0 => Verdict::Pass,
                other => Verdict::Pending(format!("(liveness failures, kills) = {other:?}, want both >= 2")),
            }
        }),
    ));

    // A slow starter: ready after 20 s, but its liveness probe gives it 4 s (period 2 ×
    // failureThreshold 2), so the kubelet kills every instance before it is up. diagnose
    // proposes a startupProbe with the same check (checked at the end of the run).
    let mut slow = sh("app", "sleep 20; touch /tmp/up; sleep 3600");
    slow["livenessProbe"] =
        json!({"exec": {"command": ["test", "-f", "/tmp/up"]}, "periodSeconds": 2, "failureThreshold": 2});
    let slow = bare_pod("slow-start", "Always", json!({"containers": [slow], "terminationGracePeriodSeconds": 1}));
    s.push((
        "rn-slow-start",
        vec![slow],
        on_pod("rn-slow-start", |pod, out| {
            expect_all(
                out,
                "rn-slow-start",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_exit_code", None, "137"),
                    ("crashloop_container_probable_cause", Some(("cause", "liveness_probe")), "1"),
                ],
            )
        }),
    ));

    // A read-only root filesystem refuses the app's write to /tmp; its last words, kept by
    // FallbackToLogsOnError, name the path: permission_denied without --logs, and diagnose
    // proposes a writable emptyDir on /tmp (checked at the end of the run).
    let mut readonly = sh("app", "echo starting; touch /tmp/app.lock");
    readonly["securityContext"] = json!({"readOnlyRootFilesystem": true});
    readonly["terminationMessagePolicy"] = json!("FallbackToLogsOnError");
    let readonly = bare_pod("readonly", "Always", json!({"containers": [readonly]}));
    s.push((
        "rn-readonly",
        vec![readonly],
        on_pod("rn-readonly", |pod, out| {
            expect_all(
                out,
                "rn-readonly",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_exit_code", None, "1"),
                    ("crashloop_container_probable_cause", Some(("cause", "permission_denied")), "1"),
                ],
            )
        }),
    ));

    // A ConfigMap volume that does not exist: the pod never leaves ContainerCreating.
    let volume = bare_pod(
        "missing-volume",
        "Always",
        json!({
        "containers": [with(container("app", &["sleep", "3600"]), json!({"volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}]}))],
        "volumes": [{"name": "cfg", "configMap": {"name": "absent-config"}}]}),
    );
    s.push(("rn-configmap", vec![volume], on_pod("rn-configmap", |pod, out| {
        let ns = "rn-configmap";
        let missing = format!("crashloop_pod_missing_object{{namespace=\"{ns}\",pod=\"{pod}\",kind=\"configmap\",name=\"absent-config\"}}");
        if value(out, &missing) != Some("1") {
            return Verdict::Pending(format!("{missing} missing"));
        }
        // The container waits in ContainerCreating, which is no trouble of its own: the
        // pod-level series names what is missing, and CrashloopPodMissingConfigObject alerts on
        // it. No cause: the container has not failed.
        let causes = pod_series(out, "crashloop_container_probable_cause", ns, pod);
        if !causes.is_empty() {
            return Verdict::Fail(format!("a container that has not failed has a cause: {causes:?}"));
        }
        expect_all(out, ns, pod, "app", "regular", &[
            ("crashloop_container_waiting_reason", Some(("reason", "ContainerCreating")), "1"),
            ("crashloop_container_state", Some(("state", "waiting")), "1"),
        ])
    })));

    // A key that the Secret does not have, in `env`.
    let secret =
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret"}, "stringData": {"other": "x"}});
    let mut env_user = container("app", &["sleep", "3600"]);
    env_user["env"] =
        json!([{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}}]);
    let env_pod = bare_pod("missing-key", "Always", json!({"containers": [env_user]}));
    s.push((
        "rn-secret",
        vec![secret, env_pod],
        on_pod("rn-secret", |pod, out| {
            missing_then(
                out,
                "rn-secret",
                pod,
                ("secret", "app-secret"),
                &[
                    ("crashloop_container_waiting_reason", Some(("reason", "CreateContainerConfigError")), "1"),
                    ("crashloop_container_probable_cause", Some(("cause", "missing_config")), "1"),
                ],
            )
        }),
    ));

    // Image pulls that fail, all on loopback.
    for (ns, image, category) in [
        ("rn-pull-not-found", format!("{}/absent:1", node.registry()), "not_found"),
        ("rn-pull-unauthorized", format!("{}/private:1", node.auth_registry()), "unauthorized"),
        ("rn-pull-unreachable", format!("{}/gone:1", node.closed_registry()), "unreachable"),
    ] {
        let pod = bare_pod(
            "pull",
            "Always",
            json!({"containers": [{"name": "app", "image": image, "imagePullPolicy": "Always"}]}),
        );
        s.push((
            ns,
            vec![pod],
            on_pod(ns, move |pod, out| {
                // One category: the one of this registry's answer.
                let categories = pod_series(out, "crashloop_container_image_pull_failure", ns, pod);
                if categories.len() != 1 {
                    return Verdict::Pending(format!("pull failure series {categories:?}, want only {category}"));
                }
                expect_all(
                    out,
                    ns,
                    pod,
                    "app",
                    "regular",
                    &[
                        ("crashloop_container_image_pull_failure", Some(("category", category)), "1"),
                        ("crashloop_container_probable_cause", Some(("cause", "image_pull")), "1"),
                    ],
                )
            }),
        ));
    }

    // Exit 0 under restartPolicy Always: restarted, and crash-looping.
    let done = bare_pod("exits-zero", "Always", json!({"containers": [sh("app", "echo done; exit 0")]}));
    s.push((
        "rn-exit-zero",
        vec![done],
        on_pod("rn-exit-zero", |pod, out| {
            expect_all(
                out,
                "rn-exit-zero",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_reason", Some(("reason", "Completed")), "1"),
                    ("crashloop_container_last_terminated_exit_code", None, "0"),
                    ("crashloop_container_crashlooping", None, "1"),
                    ("crashloop_container_probable_cause", Some(("cause", "completed_but_restarted")), "1"),
                ],
            )
        }),
    ));

    // A segfault: PID 1 ignores a signal it sends itself, so a child dies of SIGSEGV and the
    // shell exits with its status. The kubelet turns `$$` into `$`.
    let segv = bare_pod("segfault", "Always", json!({"containers": [sh("app", "sh -c 'kill -SEGV $$$$'; exit $?")]}));
    s.push((
        "rn-segfault",
        vec![segv],
        on_pod("rn-segfault", |pod, out| {
            expect_all(
                out,
                "rn-segfault",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_exit_code", None, "139"),
                    ("crashloop_container_last_terminated_signal", None, "11"),
                    ("crashloop_container_probable_cause", Some(("cause", "segfault")), "1"),
                    ("crashloop_container_crashlooping", None, "1"),
                ],
            )
        }),
    ));

    // The app's last words in its termination message (`terminationMessagePolicy: File`)
    // and nothing in its log: the kubelet copies the file into the status, and the cause
    // comes from it, though the log (read with --logs) says nothing.
    let message = bare_pod(
        "message",
        "Always",
        json!({"containers": [with(
            sh("app", "echo 'dial tcp 127.0.0.1:6379: connect: connection refused' > /dev/termination-log; exit 1"),
            json!({"terminationMessagePolicy": "File"}),
        )]}),
    );
    s.push((
        "rn-message",
        vec![message],
        on_pod("rn-message", |pod, out| {
            // It exits at once: a run of 0 s, or 1 where the second turned.
            let run =
                value(out, &series("crashloop_container_last_run_seconds", "rn-message", pod, "app", "regular", None));
            if !matches!(run, Some("0" | "1")) {
                return Verdict::Pending(format!("last run {run:?}, want 0 or 1"));
            }
            expect_all(
                out,
                "rn-message",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_exit_code", None, "1"),
                    ("crashloop_container_probable_cause", Some(("cause", "dependency_unavailable")), "1"),
                ],
            )
        }),
    ));

    // An init container that fails twice, then succeeds: 1 while it fails, 0 in the very
    // scrape that shows it completed, and no cause after.
    let init = bare_pod(
        "init-recovers",
        "Always",
        json!({
        "initContainers": [mount_work(sh("init", THIRD_TIME_LUCKY))],
        "containers": [container("app", &["sleep", "3600"])],
        "volumes": counter_volume()}),
    );
    s.push(("rn-init", vec![init], recovers("rn-init", "init", "init", None)));

    // A Job (OnFailure) that succeeds on its third try.
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "lucky"},
        "spec": {"backoffLimit": 6, "template": {"spec": {"restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 1,
            "containers": [mount_work(sh("app", THIRD_TIME_LUCKY))], "volumes": counter_volume()}}}});
    s.push(("rn-job", vec![job], recovers("rn-job", "app", "regular", Some(("Job", "lucky")))));

    // A CronJob's Job, the same: the workload is the CronJob.
    let cronjob = json!({"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"backoffLimit": 6,
            "template": {"spec": {"restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 1,
                "containers": [mount_work(sh("app", THIRD_TIME_LUCKY))], "volumes": counter_volume()}}}}}});
    s.push(("rn-cronjob", vec![cronjob], recovers("rn-cronjob", "app", "regular", Some(("CronJob", "nightly")))));

    // Pods the control plane or the node ended, and pods that cannot start for a reason the
    // pod (not a container) gives: each has its cause, and no end counts as an app's.
    let deadline = bare_pod(
        "deadline",
        "Never",
        json!({"activeDeadlineSeconds": 5, "containers": [container("app", &["sleep", "3600"])]}),
    );
    s.push((
        "rn-deadline",
        vec![deadline],
        stays(
            5,
            on_pod("rn-deadline", |pod, out| {
                let ns = "rn-deadline";
                let by_namespace =
                    format!("crashloop_disrupted_pods{{namespace=\"{ns}\",disruption=\"deadline_exceeded\"}}");
                if value(out, &by_namespace) != Some("1") {
                    return Verdict::Pending(format!("{by_namespace} is {:?}", value(out, &by_namespace)));
                }
                disrupted_then(
                    out,
                    ns,
                    pod,
                    ("deadline_exceeded", ""),
                    &[
                        ("crashloop_container_probable_cause", Some(("cause", "deadline_exceeded")), "1"),
                        ("crashloop_container_crashlooping", None, "0"),
                    ],
                )
            }),
        ),
    ));

    let mut greedy = container("app", &["sleep", "3600"]);
    greedy["resources"] = json!({"requests": {"cpu": "1000"}});
    s.push((
        "rn-unschedulable",
        vec![bare_pod("greedy", "Always", json!({"containers": [greedy]}))],
        on_pod("rn-unschedulable", |pod, out| {
            let ns = "rn-unschedulable";
            let since =
                format!("crashloop_pod_unschedulable_since_timestamp_seconds{{namespace=\"{ns}\",pod=\"{pod}\"}}");
            if number(out, &since).is_none_or(|t| t < 1.7e9) {
                return Verdict::Pending(format!("{since} is {:?}", value(out, &since)));
            }
            expect_all(
                out,
                ns,
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_probable_cause", Some(("cause", "unschedulable")), "1"),
                    ("crashloop_container_state", Some(("state", "unknown")), "1"),
                ],
            )
        }),
    ));

    let claim = bare_pod(
        "claim",
        "Always",
        json!({"containers": [mount_data(container("app", &["sleep", "3600"]))],
               "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "absent-claim"}}]}),
    );
    s.push((
        "rn-pvc",
        vec![claim],
        on_pod("rn-pvc", |pod, out| {
            missing_then(
                out,
                "rn-pvc",
                pod,
                ("pvc", "absent-claim"),
                &[("crashloop_container_probable_cause", Some(("cause", "missing_config")), "1")],
            )
        }),
    ));

    let mut as_root = container("app", &["sleep", "3600"]);
    as_root["securityContext"] = json!({"runAsNonRoot": true});
    s.push((
        "rn-nonroot",
        vec![bare_pod("nonroot", "Always", json!({"containers": [as_root]}))],
        on_pod("rn-nonroot", |pod, out| {
            expect_all(
                out,
                "rn-nonroot",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_waiting_reason", Some(("reason", "CreateContainerConfigError")), "1"),
                    ("crashloop_container_probable_cause", Some(("cause", "security_context")), "1"),
                ],
            )
        }),
    ));

    let handler = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "rn-absent-handler"}, "handler": "absent"});
    let sandboxed = bare_pod(
        "sandboxed",
        "Always",
        json!({"runtimeClassName": "rn-absent-handler", "containers": [container("app", &["sleep", "3600"])]}),
    );
    s.push((
        "rn-sandbox",
        vec![handler, sandboxed],
        on_pod("rn-sandbox", |pod, out| {
            expect_all(
                out,
                "rn-sandbox",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_waiting_reason", Some(("reason", "ContainerCreating")), "1"),
                    ("crashloop_container_probable_cause", Some(("cause", "sandbox_failed")), "1"),
                ],
            )
        }),
    ));

    // A hung app that ignores SIGTERM, killed by its liveness probe: the SIGKILL comes the
    // grace period (150 s, over the 120 s window) after the Killing Event.
    let mut hung = sh("app", "trap '' TERM; while true; do sleep 1; done");
    hung["livenessProbe"] =
        json!({"exec": {"command": ["false"]}, "initialDelaySeconds": 1, "periodSeconds": 1, "failureThreshold": 1});
    let mut slow_stop = bare_pod("slow-stop", "Always", json!({"containers": [hung]}));
    slow_stop["spec"]["terminationGracePeriodSeconds"] = json!(150);
    s.push((
        "rn-slow-stop",
        vec![slow_stop],
        on_pod("rn-slow-stop", |pod, out| {
            expect_all(
                out,
                "rn-slow-stop",
                pod,
                "app",
                "regular",
                &[
                    ("crashloop_container_last_terminated_exit_code", None, "137"),
                    ("crashloop_container_probable_cause", Some(("cause", "liveness_probe")), "1"),
                ],
            )
        }),
    ));

    // A container over its own ephemeral-storage limit: the kubelet's eviction manager
    // evicts the pod. No app failure: the eviction, with its resource, and no termination.
    let mut filler = sh("app", "dd if=/dev/zero of=/fill bs=1M count=8; sleep 3600");
    filler["resources"] = json!({"limits": {"ephemeral-storage": "2Mi"}});
    s.push((
        "rn-evicted",
        vec![bare_pod("filler", "Always", json!({"containers": [filler]}))],
        on_pod("rn-evicted", |pod, out| {
            disrupted_then(
                out,
                "rn-evicted",
                pod,
                ("evicted", "ephemeral_storage_limit"),
                &[
                    ("crashloop_container_probable_cause", Some(("cause", "evicted")), "1"),
                    ("crashloop_container_crashlooping", None, "0"),
                ],
            )
        }),
    ));

    // The kubelet's own admission, bypassing the scheduler (`nodeName`): a pod that asks for
    // more CPU than the node has is rejected (`OutOfcpu`); a critical pod that does not fit
    // preempts a pod that holds the CPU (`Preempting`). No app failure in either.
    let mut huge = container("app", &["sleep", "3600"]);
    huge["resources"] = json!({"requests": {"cpu": "100"}});
    let rejected = bare_pod("too-big", "Always", json!({"nodeName": "localhost", "containers": [huge]}));
    s.push((
        "rn-rejected",
        vec![rejected],
        on_pod("rn-rejected", |pod, out| {
            disrupted_then(
                out,
                "rn-rejected",
                pod,
                ("admission_rejected", ""),
                &[
                    ("crashloop_container_probable_cause", Some(("cause", "admission_rejected")), "1"),
                    ("crashloop_container_state", Some(("state", "unknown")), "1"),
                ],
            )
        }),
    ));

    let mut holder = container("app", &["sleep", "3600"]);
    holder["resources"] = json!({"requests": {"cpu": "1"}});
    let victim = bare_pod("victim", "Always", json!({"nodeName": "localhost", "containers": [holder]}));
    let mut critical = container("app", &["sleep", "3600"]);
    critical["resources"] = json!({"requests": {"cpu": "1500m"}});
    let critical = bare_pod(
        "critical",
        "Always",
        json!({"nodeName": "localhost", "priorityClassName": "system-node-critical", "containers": [critical]}),
    );
    let kubeconfig = cluster.kubeconfig_path();
    let mut admitted = false;
    s.push((
        "rn-preempted",
        vec![victim],
        Box::new(move |seen: &Seen, out: &str| {
            let ns = "rn-preempted";
            let kubectl = |args: &[&str], stdin: Option<String>| {
                let mut cmd = Command::new("kubectl");
                cmd.arg("--kubeconfig").arg(&kubeconfig).args(["-n", ns]).args(args);
                match stdin {
                    Some(text) => {
                        use std::io::Write;
                        let mut child = cmd
                            .arg("-f")
                            .arg("-")
                            .stdin(std::process::Stdio::piped())
                            .stdout(std::process::Stdio::null())
                            .spawn()
                            .ok()?;
                        child.stdin.take()?.write_all(text.as_bytes()).ok()?;
                        child.wait().ok().filter(|s| s.success())
                    }
                    None => cmd.output().ok().map(|o| o.status).filter(|s| s.success()),
                }
            };
            if !admitted {
                // The victim runs (it holds its CPU) before the critical pod comes.
                let ready = seen.pods(ns).iter().any(|p| p == "victim")
                    && kubectl(&["wait", "--for=condition=Ready", "pod/victim", "--timeout=1s"], None).is_some();
                if !ready {
                    return Verdict::Pending("the victim is not running yet".into());
                }
                if kubectl(&["create"], Some(critical.to_string())).is_none() {
                    return Verdict::Fail("creating the critical pod failed".into());
                }
                admitted = true;
                return Verdict::Pending("the critical pod created".into());
            }
            match disrupted_then(
                out,
                ns,
                "victim",
                ("preempted", ""),
                &[
                    ("crashloop_container_probable_cause", Some(("cause", "preempted")), "1"),
                    ("crashloop_container_crashlooping", None, "0"),
                ],
            ) {
                // The critical pod gives its CPU back to the other tests.
                Verdict::Pass => match kubectl(&["delete", "pod", "critical", "--wait=false"], None) {
                    Some(_) => Verdict::Pass,
                    None => Verdict::Fail("deleting the critical pod failed".into()),
                },
                other => other,
            }
        }),
    ));

    // A liveness loop long enough for the kubelet's spam filter (a burst of 25 Events per
    // pod, then one per 5 minutes) to stop writing Killing: the probe stays the cause.
    let mut looping = container("app", &["sleep", "3600"]);
    looping["livenessProbe"] = json!({"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1});
    s.push((
        "rn-spam-filter",
        vec![bare_pod("spammed", "Always", json!({"containers": [looping]}))],
        on_pod("rn-spam-filter", |pod, out| {
            let ns = "rn-spam-filter";
            let restarts = number(out, &series("crashloop_container_restarts_total", ns, pod, "app", "regular", None))
                .unwrap_or(0.0);
            let kills = number(
                out,
                &series(
                    "crashloop_container_probe_kills_total",
                    ns,
                    pod,
                    "app",
                    "regular",
                    Some(("probe", "liveness")),
                ),
            )
            .unwrap_or(0.0);
            let cause = series(
                "crashloop_container_probable_cause",
                ns,
                pod,
                "app",
                "regular",
                Some(("cause", "liveness_probe")),
            );
            if kills >= restarts || restarts < 4.0 || value(out, &cause).is_none() {
                let causes: Vec<&str> = out
                    .lines()
                    .filter(|l| l.starts_with("crashloop_container_probable_cause{") && l.contains(pod))
                    .collect();
                return Verdict::Pending(format!(
                    "{restarts} restarts, {kills} Killing Events counted, causes {causes:?}"
                ));
            }
            Verdict::Pass
        }),
    ));

    // A ResourceQuota that refuses a Deployment's pods: no pod exists, the workload says why.
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-pods"},
        "spec": {"hard": {"pods": "0"}}});
    let refused = testbed::deployment("web", vec![container("app", &["sleep", "3600"])]);
    s.push((
        "rn-quota",
        vec![quota, refused],
        Box::new(|seen: &Seen, out: &str| {
            let series = r#"crashloop_workload_pod_refused_timestamp_seconds{namespace="rn-quota",workload_kind="Deployment",workload="web",reason="quota"}"#;
            match (seen.pods("rn-quota"), number(out, series)) {
                ([], Some(t)) if t > 1.7e9 => Verdict::Pass,
                ([], _) => Verdict::Pending(format!("{series} is {:?}", value(out, series))),
                (pods, _) => Verdict::Fail(format!("the quota let pods {pods:?} in")),
            }
        }),
    ));

    // An init container that waits for a dependency that never answers: the app waits.
    let waiting_init = bare_pod(
        "stuck-init",
        "Always",
        json!({"initContainers": [sh("wait-for-db", "until nc -z 127.0.0.1 1; do sleep 1; done")],
               "containers": [container("app", &["sleep", "3600"])]}),
    );
    s.push((
        "rn-stuck-init",
        vec![waiting_init],
        on_pod("rn-stuck-init", |pod, out| {
            let ns = "rn-stuck-init";
            let started =
                series("crashloop_container_init_started_timestamp_seconds", ns, pod, "wait-for-db", "init", None);
            if number(out, &started).is_none_or(|t| t < 1.7e9) {
                return Verdict::Pending(format!("{started} is {:?}", value(out, &started)));
            }
            expect_all(
                out,
                ns,
                pod,
                "app",
                "regular",
                &[("crashloop_container_waiting_reason", Some(("reason", "PodInitializing")), "1")],
            )
        }),
    ));

    // `kubectl debug`: an ephemeral container whose shell exits 127. It is never restarted:
    // its state shows, and it never has a cause or a termination.
    let target = bare_pod("debug-target", "Always", json!({"containers": [container("app", &["sleep", "3600"])]}));
    let kubeconfig = cluster.kubeconfig_path();
    let mut attached = false;
    s.push((
        "rn-debug",
        vec![target],
        stays(
            3,
            on_pod("rn-debug", move |pod, out| {
                let ns = "rn-debug";
                if !attached {
                    let running = series("crashloop_container_restarts_total", ns, pod, "app", "regular", None);
                    if value(out, &running).is_none() {
                        return Verdict::Pending(format!("{running} missing"));
                    }
                    let debugger = json!({"apiVersion": "v1", "kind": "EphemeralContainers", "metadata": {"name": pod},
                "ephemeralContainers": [{"name": "debugger", "image": Node::BUSYBOX, "imagePullPolicy": "Never",
                    "command": ["sh", "-c", "exit 127"], "terminationMessagePolicy": "File"}]});
                    let file = std::env::temp_dir().join(format!("crashloop-debugger-{}.json", std::process::id()));
                    if let Err(e) = std::fs::write(&file, debugger.to_string()) {
                        return Verdict::Fail(format!("writing {}: {e}", file.display()));
                    }
                    let out = Command::new("kubectl")
                        .arg("--kubeconfig")
                        .arg(&kubeconfig)
                        .args([
                            "replace",
                            "--raw",
                            &format!("/api/v1/namespaces/{ns}/pods/{pod}/ephemeralcontainers"),
                            "-f",
                        ])
                        .arg(&file)
                        .output();
                    match out {
                        Ok(o) if o.status.success() => attached = true,
                        other => return Verdict::Fail(format!("attaching the ephemeral container: {other:?}")),
                    }
                    return Verdict::Pending("attached".into());
                }
                let cause = format!(
                    "crashloop_container_probable_cause{{namespace=\"{ns}\",pod=\"{pod}\",container=\"debugger\""
                );
                let counted = format!(
                    "crashloop_container_terminations_total{{namespace=\"{ns}\",pod=\"{pod}\",container=\"debugger\""
                );
                if let Some(l) =
                    out.lines().find(|l| l.starts_with(&cause) || (l.starts_with(&counted) && !l.ends_with(" 0")))
                {
                    return Verdict::Fail(format!("an ephemeral container's exit read as a failure: {l}"));
                }
                expect_all(
                    out,
                    ns,
                    pod,
                    "debugger",
                    "ephemeral",
                    &[
                        ("crashloop_container_state", Some(("state", "terminated")), "1"),
                        ("crashloop_container_last_terminated_exit_code", None, "127"),
                    ],
                )
            }),
        ),
    ));

    // A crash-looping pod deleted and held by a finalizer: the kubelet restarts nothing more,
    // so the loop ends, no next restart is promised, and no end counts twice.
    let mut held = bare_pod("held", "Always", json!({"containers": [container("app", &["false"])]}));
    held["metadata"]["finalizers"] = json!(["crashloop.test/hold"]);
    let kubeconfig = cluster.kubeconfig_path();
    let mut deleted = false;
    s.push((
        "rn-finalizer",
        vec![held],
        stays(
            5,
            on_pod("rn-finalizer", move |pod, out| {
                let ns = "rn-finalizer";
                let looping = value(out, &series("crashloop_container_crashlooping", ns, pod, "app", "regular", None));
                let restarts =
                    number(out, &series("crashloop_container_restarts_total", ns, pod, "app", "regular", None));
                if !deleted {
                    if looping != Some("1") || restarts.is_none_or(|r| r < 2.0) {
                        return Verdict::Pending(format!("crashlooping {looping:?}, restarts {restarts:?}"));
                    }
                    let status = Command::new("kubectl")
                        .arg("--kubeconfig")
                        .arg(&kubeconfig)
                        .args(["-n", ns, "delete", "pod", pod, "--wait=false"])
                        .status();
                    if !status.as_ref().is_ok_and(|s| s.success()) {
                        return Verdict::Fail(format!("kubectl delete: {status:?}"));
                    }
                    deleted = true;
                    return Verdict::Pending("deleted".into());
                }
                let next =
                    series("crashloop_container_next_restart_timestamp_seconds", ns, pod, "app", "regular", None);
                let errors = number(
                    out,
                    &series(
                        "crashloop_container_terminations_total",
                        ns,
                        pod,
                        "app",
                        "regular",
                        Some(("reason", "Error")),
                    ),
                );
                match (looping, value(out, &next), restarts, errors) {
                    (Some("0"), None, Some(r), Some(e)) if e == r || e == r + 1.0 => Verdict::Pass,
                    (Some("0"), None, Some(r), Some(e)) => {
                        Verdict::Fail(format!("{e} Error terminations for {r} restarts"))
                    }
                    (looping, next, _, _) => {
                        Verdict::Pending(format!("crashlooping {looping:?}, next restart {next:?}"))
                    }
                }
            }),
        ),
    ));

    // OOM-killed in a restartPolicy Never pod: no restart, yet exported, counted once, and
    // still counted once ten scrapes later.
    let mut batch = sh("app", "dd if=/dev/zero of=/dev/null bs=100M count=1");
    batch["resources"] = json!({"limits": {"memory": "32Mi"}});
    let never = bare_pod("batch-oom", "Never", json!({"containers": [batch]}));
    s.push((
        "rn-never-oom",
        vec![never],
        stays(
            10,
            on_pod("rn-never-oom", |pod, out| {
                expect_all(
                    out,
                    "rn-never-oom",
                    pod,
                    "app",
                    "regular",
                    &[
                        ("crashloop_container_restarts_total", None, "0"),
                        ("crashloop_container_terminations_total", Some(("reason", "OOMKilled")), "1"),
                        ("crashloop_container_last_terminated_reason", Some(("reason", "OOMKilled")), "1"),
                        ("crashloop_container_last_terminated_exit_code", None, "137"),
                        ("crashloop_container_last_terminated_oom_killed", None, "1"),
                        ("crashloop_container_state", Some(("state", "terminated")), "1"),
                        ("crashloop_container_crashlooping", None, "0"),
                        ("crashloop_container_probable_cause", Some(("cause", "oom_killed")), "1"),
                    ],
                )
            }),
        ),
    ));

    // A Job whose pods fail until backoffLimit: each failed pod's termination, counted once.
    let failing = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "doomed"},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
            "containers": [sh("app", "echo 'fatal: cannot continue' >&2; exit 3")]}}}});
    s.push((
        "rn-job-fails",
        vec![failing],
        stays(
            10,
            Box::new(|seen: &Seen, out: &str| {
                let ns = "rn-job-fails";
                let pods = seen.pods(ns);
                if pods.len() < 2 {
                    return Verdict::Pending(format!("{ns} has pods {pods:?}, want 2 (backoffLimit 1)"));
                }
                for pod in pods {
                    if let Verdict::Pending(why) = expect_all(
                        out,
                        ns,
                        pod,
                        "app",
                        "regular",
                        &[
                            ("crashloop_container_restarts_total", None, "0"),
                            ("crashloop_container_terminations_total", Some(("reason", "Error")), "1"),
                            ("crashloop_container_last_terminated_exit_code", None, "3"),
                            ("crashloop_container_crashlooping", None, "0"),
                            ("crashloop_container_probable_cause", Some(("cause", "app_error")), "1"),
                        ],
                    ) {
                        return Verdict::Pending(why);
                    }
                }
                Verdict::Pass
            }),
        ),
    ));
    s
}

/// A check that must hold in `scrapes` consecutive scrapes once it first holds; a lapse
/// after it held is a failure (a counted-once series that moves, say).
fn stays(scrapes: u32, mut inner: Check) -> Check {
    let mut held = 0;
    Box::new(move |seen: &Seen, out: &str| match inner(seen, out) {
        Verdict::Pass if held + 1 >= scrapes => Verdict::Pass,
        Verdict::Pass => {
            held += 1;
            Verdict::Pending(format!("held {held} of {scrapes} scrapes"))
        }
        Verdict::Pending(why) if held > 0 => Verdict::Fail(format!("held {held} scrapes, then: {why}")),
        other => other,
    })
}

/// The checks of a container that crash-loops and then completes: crash-looping seen, then
/// in the first scrape that shows it terminated `Completed`, crash-looping 0, no cause, two restarts.
/// The scenarios checked by [`recovers`].
const RECOVERING: [&str; 3] = ["rn-init", "rn-job", "rn-cronjob"];

/// The scenarios whose pod stays as it is once its check passes (it waits on something that
/// never comes): checked again at every later scrape, and failed when they stop passing for
/// [`RELAPSE_SCRAPES`] scrapes in a row, so a verdict that is right once and then drifts is
/// seen.
const SETTLED: [&str; 7] = [
    "rn-configmap",
    "rn-secret",
    "rn-pvc",
    "rn-pull-not-found",
    "rn-pull-unauthorized",
    "rn-pull-unreachable",
    "rn-unschedulable",
];
const RELAPSE_SCRAPES: u32 = 3;

fn recovers(
    ns: &'static str,
    c: &'static str,
    ctype: &'static str,
    workload: Option<(&'static str, &'static str)>,
) -> Check {
    let mut looped = false;
    Box::new(move |seen: &Seen, out: &str| {
        let Some(pod) = seen.pods(ns).first() else { return Verdict::Pending(format!("{ns} has no pod yet")) };
        let crashlooping = value(out, &series("crashloop_container_crashlooping", ns, pod, c, ctype, None));
        let terminated =
            value(out, &series("crashloop_container_state", ns, pod, c, ctype, Some(("state", "terminated"))))
                == Some("1")
                && value(
                    out,
                    &series(
                        "crashloop_container_last_terminated_reason",
                        ns,
                        pod,
                        c,
                        ctype,
                        Some(("reason", "Completed")),
                    ),
                ) == Some("1");
        if !terminated {
            looped |= crashlooping == Some("1");
            return Verdict::Pending(format!("{ns}/{pod}/{c}: crashlooping {crashlooping:?}, seen looping: {looped}"));
        }
        if !looped {
            return Verdict::Fail(format!("{ns}/{pod}/{c} completed before any scrape saw it crash-looping"));
        }
        let cause = out.lines().find(|l| {
            l.starts_with(&series("crashloop_container_probable_cause", ns, pod, c, ctype, None).replace('}', ""))
        });
        if crashlooping != Some("0") || cause.is_some() {
            return Verdict::Fail(format!(
                "{ns}/{pod}/{c} completed, yet crashlooping {crashlooping:?}, cause {cause:?}"
            ));
        }
        if let Some((kind, name)) = workload
            && workload_info(out, ns, pod, kind, name).map(|(v, _)| v) != Some("1")
        {
            return Verdict::Fail(format!("{ns}/{pod}: crashloop_pod_workload_info of {kind} {name} missing"));
        }
        match value(out, &series("crashloop_container_restarts_total", ns, pod, c, ctype, None)) {
            Some("2") => Verdict::Pass,
            other => Verdict::Fail(format!("{ns}/{pod}/{c} restarts {other:?}, want 2")),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_gives_its_series_on_a_real_node() {
    let (cluster, node) = testbed::shared_node().expect("a cluster with a real node");
    let kubeconfig = cluster.kubeconfig_path();
    let client = cluster.client().await.expect("client");
    let exporter = Exporter::start(EXPORTER, &kubeconfig, &["--logs", "--logs-per-second", "20"]).await;

    let mut checks: Vec<(&'static str, Check)> = Vec::new();
    // CRASHLOOP_REAL_NODE_ONLY=rn-x,rn-y runs only those scenarios (while developing one).
    let only = std::env::var("CRASHLOOP_REAL_NODE_ONLY").ok();
    let wanted = |ns: &str| only.as_deref().is_none_or(|o| o.split(',').any(|w| w == ns));
    // The scenarios that must be seen crash-looping before they recover (30 s of back-off)
    // are created last, right before the first scrape: created first, on a loaded machine,
    // they could recover while the others are still being created.
    let (timed, untimed): (Vec<_>, Vec<_>) = scenarios(cluster, node)
        .into_iter()
        .filter(|(ns, _, _)| wanted(ns))
        .partition(|(ns, _, _)| RECOVERING.contains(ns));
    for (ns, objects, check) in untimed.into_iter().chain(timed) {
        testbed::ensure_namespace(&client, ns).await.expect("namespace");
        kubectl_create(cluster, ns, &objects);
        checks.push((ns, check));
    }
    for ns in SETTLED.iter().chain(&RECOVERING).filter(|ns| wanted(ns)) {
        assert!(checks.iter().any(|(n, _)| n == ns), "{ns} names no scenario");
    }
    let pods_api: Api<Pod> = Api::all(client.clone());
    let started = Instant::now();
    let mut open: BTreeMap<&str, String> = checks.iter().map(|(ns, _)| (*ns, String::from("not run"))).collect();
    let mut failed: Vec<String> = Vec::new();
    let mut relapses: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut rechecks, mut longest_relapse) = (0, 0);
    let mut last = String::new();
    while !open.is_empty() && failed.is_empty() && started.elapsed() < DEADLINE {
        let pods = pods_api.list(&ListParams::default()).await.expect("list pods");
        let mut seen = Seen { pods: BTreeMap::new() };
        let mut items = pods.items;
        items.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
        for p in items {
            let (Some(ns), Some(name)) = (p.metadata.namespace, p.metadata.name) else { continue };
            seen.pods.entry(ns).or_default().push(name);
        }
        last = exporter.metrics().await;
        for (ns, check) in checks.iter_mut() {
            let passed = !open.contains_key(ns);
            if passed && !SETTLED.contains(ns) {
                continue;
            }
            match check(&seen, &last) {
                Verdict::Pass if passed => {
                    rechecks += 1;
                    relapses.remove(ns);
                }
                Verdict::Pending(why) if passed => {
                    rechecks += 1;
                    let scrapes = relapses.entry(ns).or_default();
                    *scrapes += 1;
                    longest_relapse = longest_relapse.max(*scrapes);
                    if *scrapes >= RELAPSE_SCRAPES {
                        failed.push(format!("{ns}: passed, then not for {scrapes} scrapes in a row: {why}"));
                    }
                }
                Verdict::Pass => {
                    eprintln!("real node: {ns} passed after {:.0} s", started.elapsed().as_secs_f64());
                    open.remove(ns);
                }
                Verdict::Pending(why) => {
                    open.insert(ns, why);
                }
                Verdict::Fail(why) => failed.push(format!("{ns}: {why}")),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    report(&format!(
        "real node: settled scenarios checked again {rechecks} times after passing; longest run of misses {longest_relapse} (fails at {RELAPSE_SCRAPES})"
    ));
    if !failed.is_empty() || !open.is_empty() {
        let lines: Vec<&str> = last.lines().filter(|l| l.contains("namespace=\"rn-")).collect();
        panic!(
            "after {:.0} s: failed {failed:#?}; still pending {open:#?}\nlast scrape (scenario series):\n{}\nnode logs in {}",
            started.elapsed().as_secs_f64(),
            lines.join("\n"),
            node.dir().display()
        );
    }

    // containerd, then the kubelet, restarted in the middle of the crash loops: no counter
    // goes backwards, no termination counts twice, and no container that ran on becomes a
    // crash loop (no instance counts as a fast crash).
    restart_in_the_middle(&exporter, node).await;

    // CRASHLOOP_DUMP_FIXTURES=DIR keeps what the real node wrote, for the golden tests'
    // fixtures: every scenario pod and its Events, as the API returns them.
    if let Some(dir) = std::env::var_os("CRASHLOOP_DUMP_FIXTURES") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        for kind in ["pods", "events"] {
            let json = cluster.kubectl(&["get", kind, "-A", "-o", "json"]).expect("kubectl get");
            let mut list: Value = serde_json::from_str(&json).expect("JSON");
            if let Some(items) = list["items"].as_array_mut() {
                items.retain(|i| i["metadata"]["namespace"].as_str().is_some_and(|ns| ns.starts_with("rn-")));
                for i in items.iter_mut() {
                    if let Some(meta) = i["metadata"].as_object_mut() {
                        meta.remove("managedFields");
                    }
                }
            }
            std::fs::write(dir.join(format!("{kind}.json")), serde_json::to_string_pretty(&list).expect("JSON"))
                .expect("write");
        }
        // The log of each container whose latest termination failed, read as `--logs` reads it.
        let pods: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("pods.json")).expect("pods.json")).expect("JSON");
        let mut logs = Vec::new();
        for item in pods["items"].as_array().into_iter().flatten() {
            let pod: crashloop_exporter::internals::view::SlimPod =
                serde_json::from_value(item.clone()).expect("a slim pod");
            for c in pod.containers.iter().filter(|c| crashloop_exporter::internals::worth_reading(&pod, c)) {
                let read =
                    crashloop_exporter::internals::fetch_termination_log(&client, pod.namespace(), pod.name(), c).await;
                let (text, status) = match read {
                    Ok(text) => (Some(text), None),
                    Err(kube::Error::Api(s)) => (None, Some(s.code)),
                    Err(e) => panic!("reading the log of {}/{}: {e}", pod.name(), c.name),
                };
                logs.push(json!({"namespace": pod.namespace(), "pod": pod.name(), "container": &*c.name,
                    "text": text, "status": status}));
            }
        }
        std::fs::write(dir.join("logs.json"), serde_json::to_string_pretty(&json!({"items": logs})).expect("JSON"))
            .expect("write");
        let now = testbed::measure::unix_now() as u64;
        std::fs::write(dir.join("now.json"), json!({"now": now}).to_string()).expect("write");
    }

    if only.is_some() {
        return; // what follows reads the scenarios together
    }

    // `scan` finds every container the kubectl | jq census finds on the same state, and
    // `diagnose` prints the real previous log.
    let census = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "kubectl --kubeconfig {} get pods -A -o json | jq -r '{}'",
            kubeconfig.display(),
            r#".items[] | .metadata.namespace as $ns | .metadata.name as $pod | (.status.containerStatuses // [])[] | select(.state.waiting.reason == "CrashLoopBackOff") | [$ns, $pod, .name] | @tsv"#
        ))
        .output()
        .expect("kubectl | jq runs");
    assert!(census.status.success(), "census: {}", String::from_utf8_lossy(&census.stderr));
    let census: BTreeSet<String> = String::from_utf8_lossy(&census.stdout).lines().map(str::to_string).collect();
    // The causes /metrics names for the scenarios' containers, by `ns/pod/container`.
    let causes = |text: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("crashloop_container_probable_cause{namespace=\"rn-"))
            .filter_map(|l| {
                let label = |name: &str| l.split(&format!("{name}=\"")).nth(1)?.split('"').next();
                let key = format!("rn-{}/{}/{}", l.split('"').next()?, label("pod")?, label("container")?);
                Some((key, label("cause")?.to_string()))
            })
            .collect()
    };
    let before = causes(&exporter.metrics().await);
    let rows = cli_json(&kubeconfig, &["scan", "-A", "--logs", "-o", "json"]);
    let after = causes(&exporter.metrics().await);
    // One verdict: with --logs, scan names the cause /metrics names, for every container
    // whose cause held across the scan (the crash loops go on meanwhile).
    let scanned_causes: BTreeMap<String, String> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["namespace"].as_str().is_some_and(|ns| ns.starts_with("rn-")))
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (format!("{}/{}/{}", s("namespace"), s("pod"), s("container")), s("cause"))
        })
        .collect();
    let steady: BTreeMap<&String, &String> = before.iter().filter(|(k, v)| after.get(*k) == Some(*v)).collect();
    assert!(steady.len() >= 15, "{} steady causes: {steady:?}", steady.len());
    let disagree: Vec<String> = steady
        .iter()
        .filter(|(k, v)| scanned_causes.get(**k) != Some(**v))
        .map(|(k, v)| format!("{k}: /metrics {v}, scan {:?}", scanned_causes.get(*k)))
        .collect();
    assert!(disagree.is_empty(), "scan --logs and /metrics disagree: {disagree:#?}");
    assert_eq!(
        scanned_causes.get("rn-dependency/dependency/app").map(String::as_str),
        Some("dependency_unavailable"),
        "scan --logs reads the log that names the dependency"
    );
    let scanned: BTreeSet<String> = rows
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}\t{}\t{}",
                r["namespace"].as_str().unwrap_or(""),
                r["pod"].as_str().unwrap_or(""),
                r["container"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(!census.is_empty(), "the census found no CrashLoopBackOff container");
    let missed: Vec<&String> = census.difference(&scanned).collect();
    assert!(missed.is_empty(), "scan missed what the census found: {missed:?}\nscan found: {scanned:?}");

    let dependency_pod = "dependency";
    let report = cli(&kubeconfig, &["diagnose", dependency_pod, "-n", "rn-dependency"]);
    let report = String::from_utf8_lossy(&report);
    assert!(
        report.contains("dial tcp 127.0.0.1:5432: connect: connection refused"),
        "diagnose shows the previous log:\n{report}"
    );
    assert!(report.contains("dependency_unavailable"), "diagnose names the cause:\n{report}");

    // The OOM kill under 32Mi: the fix is a step above the limit that was hit, never below,
    // and names no heap flag for a busybox image.
    let oom_pods = Api::<Pod>::namespaced(client.clone(), "rn-oom").list(&ListParams::default()).await.expect("list");
    let oom_pod = oom_pods.items.iter().filter_map(|p| p.metadata.name.clone()).next().expect("the rn-oom pod");
    let report = cli_json(&kubeconfig, &["diagnose", &oom_pod, "-n", "rn-oom", "--no-logs", "-o", "json"]);
    let app = &report["containers"][0];
    assert_eq!(
        (app["cause"].as_str(), app["memory_limit_bytes"].as_u64(), app["fix_yaml"].as_str()),
        (Some("oom_killed"), Some(32 << 20), Some("resources:\n  requests: {memory: 64Mi}\n  limits: {memory: 64Mi}")),
        "{report:#}"
    );
    assert_eq!(report["rollout"], Value::Null, "rn-oom's Deployment has one template: no rollout to blame");
    // The same by the Deployment's name, as commands: the patch of its template.
    let patch = cli(&kubeconfig, &["diagnose", "deploy/oom", "-n", "rn-oom", "--no-logs", "-o", "patch"]);
    let patch = String::from_utf8_lossy(&patch);
    assert!(
        patch.lines().any(|l| l
            == r#"kubectl patch deployment oom -n rn-oom --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","resources":{"limits":{"memory":"64Mi"},"requests":{"memory":"64Mi"}}}]}}}}'"#),
        "diagnose deploy/oom -o patch:\n{patch}"
    );

    // The stuck rollout: diagnose on the new template's pod names it, the image it changed
    // and the undo command; on the old template's pod, nothing.
    let rollout_pods =
        Api::<Pod>::namespaced(client.clone(), "rn-rollout").list(&ListParams::default()).await.expect("list");
    let template_of =
        |p: &Pod| p.metadata.labels.as_ref().and_then(|l| l.get("pod-template-hash")).cloned().unwrap_or_default();
    let (old, new): (Vec<&Pod>, Vec<&Pod>) = rollout_pods.items.iter().partition(|p| template_of(p) == OLD_TEMPLATE);
    let (Some(old), Some(new)) = (old.first(), new.first()) else {
        panic!("rn-rollout's pods: {:?}", rollout_pods.items.len())
    };
    let diagnose_rollout = |pod: &Pod| {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        cli_json(&kubeconfig, &["diagnose", name, "-n", "rn-rollout", "--no-logs", "-o", "json"])
    };
    let report = diagnose_rollout(new);
    let rollout = &report["rollout"];
    assert_eq!(
        (
            &rollout["template"],
            &rollout["serving_template"],
            &rollout["serving_ready_pods"],
            &rollout["images"],
            &rollout["undo"]
        ),
        (
            &json!(template_of(new)),
            &json!(OLD_TEMPLATE),
            &json!(1),
            &json!([{"container": "app", "was": testbed::Node::BUSYBOX, "now": testbed::Node::BUSYBOX_NEXT}]),
            &json!("kubectl rollout undo deployment/rollout -n rn-rollout"),
        ),
        "{report:#}"
    );
    assert_eq!(diagnose_rollout(old)["rollout"], Value::Null, "the serving template is not blamed");
    // By the Deployment's name: its worst pod is the crash-looping one, and the patch
    // output starts with the undo.
    let by_name = cli_json(&kubeconfig, &["diagnose", "deploy/rollout", "-n", "rn-rollout", "--no-logs", "-o", "json"]);
    assert_eq!(by_name["pod"], json!(new.metadata.name), "deploy/rollout picks the crash-looping pod");
    assert_eq!(
        by_name["patch"]["commands"][0],
        json!("kubectl rollout undo deployment/rollout -n rn-rollout"),
        "{by_name:#}"
    );
    // scan agrees, on the same pod.
    let scanned = rows.as_array().into_iter().flatten().find(|r| r["namespace"] == "rn-rollout");
    assert_eq!(scanned.map(|r| &r["rollout"]["images"]), Some(&rollout["images"]), "scan's row: {scanned:?}");

    // The slow starter: killed at the end of its liveness budget, so the fix is a
    // startupProbe with its own check, sized from its own period.
    let report = cli_json(&kubeconfig, &["diagnose", "slow-start", "-n", "rn-slow-start", "--no-logs", "-o", "json"]);
    let app = &report["containers"][0];
    assert_eq!(
        (app["cause"].as_str(), app["fix_yaml"].as_str()),
        (
            Some("liveness_probe"),
            Some(
                "startupProbe:   # beside the livenessProbe\n  exec: {\"command\":[\"test\",\"-f\",\"/tmp/up\"]}\n  periodSeconds: 2\n  failureThreshold: 150"
            )
        ),
        "{report:#}"
    );
    let fix = app["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("at the end of its liveness probe's budget of 4 s (initialDelaySeconds 0 + periodSeconds 2 × failureThreshold 2)"), "{fix}");

    // The read-only root: the path from the app's last words, a writable emptyDir there.
    let report = cli_json(&kubeconfig, &["diagnose", "readonly", "-n", "rn-readonly", "--no-logs", "-o", "json"]);
    let app = &report["containers"][0];
    assert_eq!(
        (app["cause"].as_str(), &app["fix_patch"]),
        (
            Some("permission_denied"),
            &json!({"containers": [{"name": "app", "volumeMounts": [{"name": "writable", "mountPath": "/tmp"}]}],
                    "volumes": [{"name": "writable", "emptyDir": {}}]})
        ),
        "{report:#}"
    );

    // The reports as a user reads them, kept for the record (the closing notes quote them).
    let reports: &[(&str, &[&str])] = &[
        ("scan", &["scan", "-A", "--logs"]),
        ("rollout", &["diagnose", "deploy/rollout", "-n", "rn-rollout"]),
        ("rollout-patch", &["diagnose", "deploy/rollout", "-n", "rn-rollout", "-o", "patch"]),
        ("oom", &["diagnose", "deploy/oom", "-n", "rn-oom"]),
        ("oom-patch", &["diagnose", "deploy/oom", "-n", "rn-oom", "-o", "patch"]),
        ("slow-start", &["diagnose", "slow-start", "-n", "rn-slow-start"]),
        ("dependency", &["diagnose", "dependency", "-n", "rn-dependency"]),
        ("message", &["diagnose", "message", "-n", "rn-message", "--no-logs"]),
        ("readonly", &["diagnose", "readonly", "-n", "rn-readonly", "--no-logs"]),
    ];
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-node-reports");
    let _ = std::fs::create_dir_all(&kept);
    for (name, args) in reports {
        let _ = std::fs::write(kept.join(format!("{name}.txt")), cli(&kubeconfig, args));
    }

    // rn-message's last words, shown by diagnose without reading the log.
    let report = cli_json(&kubeconfig, &["diagnose", "message", "-n", "rn-message", "--no-logs", "-o", "json"]);
    let app = &report["containers"][0];
    assert_eq!(
        (app["cause"].as_str(), &app["termination_message"]),
        (Some("dependency_unavailable"), &json!(["dial tcp 127.0.0.1:6379: connect: connection refused"])),
        "{report:#}"
    );

    // The node is shared by the binary's other tests: its crash loops stop here.
    let namespaces: Vec<&str> = checks.iter().map(|(ns, _)| *ns).collect();
    delete_namespaces(cluster, &namespaces);
}

/// Deletes namespaces without waiting: the controllers and the kubelet stop their pods.
/// A `restartPolicy: Never` pod deleted while it runs: the kubelet stops its containers, one
/// that handles SIGTERM (exit 143) and one that ignores it (PID 1 without a handler) and is
/// killed after the grace period (137). Both ends are stops, not failures: no cause, no
/// termination counted, nothing troubled, though the exits are exported. A finalizer holds
/// the pod while the exporter looks.
/// The README's promise of `--logs`: the log's text is classified and dropped, never kept,
/// exported or logged. A container on the real node logs a unique marker beside a line the
/// classifier reads; an exporter with `--logs` at debug level reads it (its cause shows
/// that). The marker is then in no scrape, in none of the exporter's log lines, and in
/// `scan -o json`; `diagnose -o json` shows it only in the log tail it prints on purpose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_text_goes_nowhere() {
    const MARKER: &str = "crashloop-marker-5e1f0c9a7b";
    let (cluster, node) = testbed::shared_node().expect("a cluster with a real node");
    let kubeconfig = cluster.kubeconfig_path();
    let client = cluster.client().await.expect("client");
    let ns = "rn-marker";
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let script = format!("echo 'token={MARKER}'; echo 'dial tcp 127.0.0.1:5432: connect: connection refused'; exit 1");
    kubectl_create(cluster, ns, &[bare_pod("marker", "Always", json!({"containers": [sh("app", &script)]}))]);
    let dir = crate::common::TempDir::new();
    let log_path = dir.0.join("exporter.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let exporter = Exporter::spawn(
        EXPORTER,
        &kubeconfig,
        &["--namespace", ns, "--logs", "--logs-per-second", "20", "--log-level", "debug"],
        std::process::Stdio::from(log),
    )
    .ready()
    .await;
    let cause = series(
        "crashloop_container_probable_cause",
        ns,
        "marker",
        "app",
        "regular",
        Some(("cause", "dependency_unavailable")),
    );
    let out = exporter
        .metrics_within(Duration::from_secs(120), "the log read, its cause dependency_unavailable", |out| {
            value(out, &cause) == Some("1")
        })
        .await;
    assert!(!out.contains(MARKER), "the marker is in /metrics");
    let out = exporter.get("/metrics", &[("Accept", "application/openmetrics-text")]).await.expect("scrape").1;
    assert!(!String::from_utf8_lossy(&out).contains(MARKER), "the marker is in the OpenMetrics body");

    let scan = cli(&kubeconfig, &["scan", "-n", ns, "--logs", "-o", "json", "--log-level", "debug"]);
    let scan = String::from_utf8_lossy(&scan);
    assert!(scan.contains("dependency_unavailable") && !scan.contains(MARKER), "scan -o json: {scan}");
    let diagnose: Value =
        cli_json(&kubeconfig, &["diagnose", "marker", "-n", ns, "-o", "json", "--log-level", "debug"]);
    let tail = &diagnose["containers"][0]["previous_log"]["tail"];
    assert!(tail.to_string().contains(MARKER), "diagnose prints the tail on purpose: {diagnose}");
    let mut elsewhere = diagnose.clone();
    elsewhere["containers"][0]["previous_log"]["tail"] = Value::Null;
    assert!(!elsewhere.to_string().contains(MARKER), "the marker outside the log tail: {elsewhere}");

    // The log came through the apiserver, which alone may ask the kubelet: a local user
    // who goes to the kubelet's port directly is refused.
    let direct = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
        .arg(format!("https://{}/containerLogs/{ns}/marker/app", node.kubelet_addr()))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&direct.stdout), "401", "the kubelet answers an anonymous request");

    drop(exporter);
    let logged = std::fs::read_to_string(&log_path).expect("the exporter's log");
    assert!(logged.contains("DEBUG"), "the exporter logged at debug: {logged}");
    assert!(!logged.contains(MARKER), "the marker is in the exporter's log at debug");
    delete_namespaces(cluster, &[ns]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_stopped_by_its_deletion_raises_nothing() {
    let (cluster, _node) = testbed::shared_node().expect("a cluster with a real node");
    let kubeconfig = cluster.kubeconfig_path();
    let client = cluster.client().await.expect("client");
    let ns = "rn-deleted";
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let exporter = Exporter::start(EXPORTER, &kubeconfig, &[]).await;
    let mut pod = bare_pod(
        "stopped",
        "Never",
        json!({"terminationGracePeriodSeconds": 3, "containers": [
            sh("graceful", "trap 'exit 143' TERM; while true; do sleep 1; done"),
            container("stubborn", &["sleep", "3600"]),
        ]}),
    );
    pod["metadata"]["finalizers"] = json!(["crashloop.test/hold"]);
    kubectl_create(cluster, ns, &[pod]);
    let running = |c: &str| series("crashloop_container_restarts_total", ns, "stopped", c, "regular", None) + " 0";
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let started =
            pods.get("stopped").await.ok().and_then(|p| p.status).and_then(|s| s.container_statuses).is_some_and(
                |cs| cs.len() == 2 && cs.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some())),
            );
        if started && exporter.metrics().await.contains(&running("graceful")) {
            break;
        }
        assert!(Instant::now() < deadline, "the pod did not start");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    cluster.kubectl(&["delete", "pod", "-n", ns, "stopped", "--wait=false"]).unwrap_or_else(|e| panic!("{e}"));
    let exit_code =
        |c: &str| series("crashloop_container_last_terminated_exit_code", ns, "stopped", c, "regular", None);
    let out = exporter
        .metrics_within(Duration::from_secs(60), "both containers stopped", |o| {
            value(o, &exit_code("graceful")) == Some("143") && value(o, &exit_code("stubborn")) == Some("137")
        })
        .await;
    // Ten scrapes, a second apart: the stop stays a stop.
    for _ in 0..10 {
        let out = exporter.metrics().await;
        let of_pod: Vec<&str> = out.lines().filter(|l| l.contains(r#"pod="stopped""#)).collect();
        for family in ["crashloop_container_probable_cause", "crashloop_container_terminations_total"] {
            assert!(
                !of_pod.iter().any(|l| l.starts_with(family)),
                "{family} for a stopped pod:\n{}",
                of_pod.join("\n")
            );
        }
        assert!(!out.lines().any(|l| l.starts_with(&format!("crashloop_troubled_containers{{namespace=\"{ns}\""))));
        for c in ["graceful", "stubborn"] {
            let looping = series("crashloop_container_crashlooping", ns, "stopped", c, "regular", None);
            assert_eq!(value(&out, &looping), Some("0"), "{c}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        value(
            &out,
            &series("crashloop_container_state", ns, "stopped", "graceful", "regular", Some(("state", "terminated")))
        ) == Some("1")
    );
    cluster
        .kubectl(&[
            "patch",
            "pod",
            "-n",
            ns,
            "stopped",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    delete_namespaces(cluster, &[ns]);
}

fn delete_namespaces(cluster: &testbed::Cluster, namespaces: &[&str]) {
    let args = [&["delete", "namespace", "--wait=false"], namespaces].concat();
    cluster.kubectl(&args).unwrap_or_else(|e| panic!("{e}"));
}

/// The release `.ci/test` makes (`.ci/release --out target/dist`): `target/dist/` beside
/// this test's `target/debug/deps/`.
fn release_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dist = exe.ancestors().nth(3).expect("target directory").join("dist");
    assert!(
        dist.join("SHA256SUMS").is_file(),
        "{} holds no release: run .ci/release --out {} (.ci/test does)",
        dist.display(),
        dist.display()
    );
    dist
}

/// The one file of `dir` whose name ends with `suffix`.
fn release_file(dir: &Path, suffix: &str) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .expect("the release folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(suffix) && !p.to_string_lossy().contains("-mixin-"))
        .collect();
    assert_eq!(found.len(), 1, "one *{suffix} in {}: {found:?}", dir.display());
    found.into_iter().next().expect("one file")
}

/// The release's install manifest through an overlay whose only changes are the ones this
/// test bed cannot avoid:
/// - host networking on loopback (listener and probes), and the apiserver's address: the
///   node has no kube-proxy, so a pod reaches neither a Service nor the host's loopback;
/// - the ServiceAccount token from a token Secret the controller-manager fills: the test
///   apiserver runs without the ServiceAccount admission plugin;
/// - `imagePullPolicy: Never`: the image is the imported archive, and a mistake in its
///   reference must fail here rather than reach for a registry (these machines reach none).
/// - no PrometheusRule: this 1.20 apiserver decodes the rules' empty label values as null
///   and rejects them, which real clusters do not (`deploy.rs` checks the rule against the
///   CRD with the empty strings filled).
///
/// The image reference, the RBAC, the securityContext and every other object are the
/// release's, byte for byte (kustomize reads the file as it is).
fn test_overlay(dir: &Path, manifest: &Path, listen_port: u16, api_port: u16) -> std::path::PathBuf {
    let overlay = dir.join("overlay");
    std::fs::create_dir_all(&overlay).expect("overlay dir");
    std::fs::copy(manifest, overlay.join("crashloop-exporter.yaml")).expect("copy the install manifest");
    let kustomization = format!(
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - crashloop-exporter.yaml
  - token.yaml
patches:
  - target: {{kind: Deployment, name: crashloop-exporter}}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --listen-address=127.0.0.1:{listen_port}
  - patch: |-
      $patch: delete
      apiVersion: monitoring.coreos.com/v1
      kind: PrometheusRule
      metadata:
        name: crashloop-exporter
        namespace: crashloop-exporter
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: crashloop-exporter
        namespace: crashloop-exporter
      spec:
        template:
          spec:
            hostNetwork: true
            automountServiceAccountToken: false
            volumes:
              - name: token
                secret:
                  secretName: crashloop-exporter-token
            containers:
              - name: crashloop-exporter
                imagePullPolicy: Never
                env:
                  - name: KUBERNETES_SERVICE_HOST
                    value: "127.0.0.1"
                  - name: KUBERNETES_SERVICE_PORT
                    value: "{api_port}"
                livenessProbe:
                  httpGet: {{host: 127.0.0.1, port: {listen_port}, path: /healthz}}
                readinessProbe:
                  httpGet: {{host: 127.0.0.1, port: {listen_port}, path: /readyz}}
                volumeMounts:
                  - name: token
                    mountPath: /var/run/secrets/kubernetes.io/serviceaccount
                    readOnly: true
"#,
    );
    std::fs::write(overlay.join("kustomization.yaml"), kustomization).expect("kustomization");
    let token = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: crashloop-exporter-token\n  namespace: crashloop-exporter\n  annotations:\n    kubernetes.io/service-account.name: crashloop-exporter\ntype: kubernetes.io/service-account-token\n";
    std::fs::write(overlay.join("token.yaml"), token).expect("token.yaml");
    overlay
}

/// Installs the plugin of the release's krew manifest as krew does: checks the tarball's
/// sha256, unpacks it, copies the manifest's `files` and links its `bin` as
/// `kubectl-crashloop` in a folder of `PATH`. Returns that folder.
fn krew_install(release: &Path, dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(release.join("crashloop.yaml")).expect("crashloop.yaml");
    let manifest: Value = serde_saphyr::from_str(&text).expect("crashloop.yaml is YAML");
    assert_eq!(manifest["kind"], "Plugin", "{text}");
    assert_eq!(manifest["metadata"]["name"], "crashloop", "{text}");
    let platform = &manifest["spec"]["platforms"][0];
    assert_eq!(platform["selector"]["matchLabels"], json!({"os": "linux", "arch": "amd64"}), "{text}");
    let uri = platform["uri"].as_str().expect("uri");
    let tarball = release.join(uri.rsplit('/').next().expect("the uri's file name"));
    let sum = Command::new("sha256sum").arg(&tarball).output().expect("sha256sum");
    let sum = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or_default().to_string();
    assert_eq!(platform["sha256"].as_str(), Some(sum.as_str()), "the manifest's sha256 of {}", tarball.display());
    let unpacked = dir.join("krew-download");
    let install = dir.join("krew-store/crashloop");
    let bin = dir.join("krew-bin");
    for d in [&unpacked, &install, &bin] {
        std::fs::create_dir_all(d).expect("a krew folder");
    }
    let tar = Command::new("tar").arg("-xzf").arg(&tarball).arg("-C").arg(&unpacked).status().expect("tar");
    assert!(tar.success(), "unpacking {}", tarball.display());
    for file in platform["files"].as_array().expect("files") {
        let from = unpacked.join(file["from"].as_str().expect("from"));
        assert_eq!(file["to"], ".", "{file}");
        let to = install.join(from.file_name().expect("a file name"));
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    let target = install.join(platform["bin"].as_str().expect("bin"));
    std::os::unix::fs::symlink(&target, bin.join("kubectl-crashloop")).expect("link kubectl-crashloop");
    bin
}

/// The release as a user installs it: the image archive imported into the node's
/// containerd (`ctr images import`, as on a node without a registry), the install manifest
/// applied with kubectl, the pod Ready under the shipped securityContext, its
/// ServiceAccount's token and the shipped RBAC, scraped by real Prometheus; and the kubectl
/// plugin installed from the krew manifest's tarball, running `kubectl crashloop scan`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_installs_as_a_user_installs_it() {
    let (cluster, node) = testbed::shared_node().expect("a cluster with a real node");
    let kubeconfig = cluster.kubeconfig_path();
    let client = cluster.client().await.expect("client");
    let dir = crate::common::TempDir::new();
    let release = release_dir();
    let manifest = release.join("crashloop-exporter.yaml");
    let manifest_text = std::fs::read_to_string(&manifest).expect("the install manifest");
    let image = manifest_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .expect("the manifest names an image")
        .to_string();
    assert!(
        image.starts_with("ghcr.io/crashloop-exporter/crashloop-exporter:") && image.contains("@sha256:"),
        "the image is pinned by digest: {image}"
    );
    let archive = release_file(&release, ".oci.tar");
    node.import_archive(&archive, "ghcr.io/crashloop-exporter/crashloop-exporter").expect("import the release's image");
    // The README's other way, a push to a registry with skopeo, keeps the digest the
    // manifest pins (the node's loopback registry stands for the user's).
    let digest = image.rsplit_once('@').map(|(_, d)| d.to_string()).expect("a digest");
    let pushed = format!("docker://{}/crashloop-exporter:pushed", node.registry());
    let skopeo = |args: &[&str]| {
        let out = Command::new("skopeo").args(args).output().expect("skopeo (run .ci/install)");
        assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let source = format!("oci-archive:{}", archive.display());
    skopeo(&["copy", "--quiet", "--dest-tls-verify=false", &source, &pushed]);
    assert_eq!(skopeo(&["inspect", "--tls-verify=false", "--format", "{{.Digest}}", &pushed]), digest);

    // Something to report, in a namespace of its own.
    let ns = "rn-in-cluster";
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    kubectl_create(cluster, ns, &[bare_pod("crasher", "Always", json!({"containers": [sh("app", "exit 2")]}))]);

    // A cluster with the prometheus-operator has its CRDs; this one gets them (as 1.20
    // takes them: crd_for_1_20 says the one change).
    for crd in ["monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"] {
        crate::deploy::kubectl_ok(Some(cluster), &["apply", "-f", "-"], Some(&crate::deploy::crd_for_1_20(crd)));
    }
    let listen_port = crate::common::free_port();
    let overlay = test_overlay(&dir.0, &manifest, listen_port, cluster.api_addr().port());
    let overlay_arg = overlay.display().to_string();
    let apply = || crate::deploy::kubectl(Some(cluster), &["apply", "--server-side", "-k", &overlay_arg], None);
    // The CRDs take a moment to be served.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = apply();
        if out.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(Instant::now() < deadline && stderr.contains("no matches for kind"), "kubectl apply: {stderr}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Ready means /readyz answered the kubelet's probe: the initial list, read with the
    // ServiceAccount's token through the shipped ClusterRole, is complete.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "crashloop-exporter");
    let deadline = Instant::now() + Duration::from_secs(120);
    let pod = loop {
        let list =
            pods.list(&ListParams::default().labels("app.kubernetes.io/name=crashloop-exporter")).await.expect("list");
        let ready = list.items.into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        if let Some(p) = ready {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter pod is not Ready after 120 s; node logs in {}",
            node.dir().display()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let status = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .expect("container status");
    assert_eq!(status.restart_count, 0, "the exporter never restarted: {status:?}");
    assert!(status.image_id.ends_with(&digest), "it runs the release's image {digest}: {status:?}");

    // The process runs as the shipped user, 65532, with no capability.
    let pgrep =
        Command::new("pgrep").args(["-f", &format!("listen-address=127.0.0.1:{listen_port}")]).output().expect("pgrep");
    let pid =
        String::from_utf8_lossy(&pgrep.stdout).lines().next().map(str::to_string).expect("the exporter's process");
    let proc_status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("its /proc status");
    let field = |name: &str| {
        proc_status.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(field("Uid:"), Some(vec!["65532"; 4]), "{proc_status}");
    assert_eq!(field("CapEff:"), Some(vec!["0000000000000000"]), "{proc_status}");

    // It serves every namespace's pods: the crasher's series appear.
    let addr = format!("127.0.0.1:{listen_port}");
    let restarts = format!(
        r#"crashloop_container_restarts_total{{namespace="{ns}",pod="crasher",container="app",container_type="regular"}}"#
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = crate::common::http_get(&addr, "/metrics", &[])
            .await
            .map(|(_, _, b)| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if value(&body, &restarts).and_then(|v| v.parse::<u32>().ok()).is_some_and(|n| n >= 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no {restarts} >= 1 from the in-cluster exporter; last body:\n{body}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Real Prometheus scrapes it.
    let config = dir.0.join("prometheus.yml");
    std::fs::write(&config, format!("global:\n  scrape_interval: 2s\nscrape_configs:\n  - job_name: crashloop-exporter\n    static_configs:\n      - targets: ['{addr}']\n")).expect("prometheus.yml");
    let (mut prometheus, prom) = crate::common::Proc::prometheus(&dir.0, &config);
    let query = format!(
        "/api/v1/query?query={}",
        crate::common::encode(&format!(
            r#"crashloop_container_restarts_total{{namespace="{ns}"}} and on() up{{job="crashloop-exporter"}} == 1"#
        ))
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        prometheus.assert_running();
        let result =
            crate::common::api(&prom, &query).await.ok().and_then(|v| v["data"]["result"].as_array().map(Vec::len));
        if result == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the in-cluster exporter: {result:?}\n{}",
            prometheus.tail()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // The kubectl plugin, installed from the krew manifest's tarball: it finds the crasher.
    let bin = krew_install(&release, &dir.0);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let scan = Command::new("kubectl")
        .env("PATH", &path)
        .env("KUBECONFIG", &kubeconfig)
        .args(["crashloop", "scan", "-n", ns, "-o", "json"])
        .output()
        .expect("kubectl crashloop scan");
    let stderr = String::from_utf8_lossy(&scan.stderr);
    // 1: a container is crash-looping; 0: none is (yet); 2 would be an error.
    assert!(matches!(scan.status.code(), Some(0 | 1)), "kubectl crashloop scan: {:?} {stderr}", scan.status);
    let rows: Value = serde_json::from_slice(&scan.stdout).unwrap_or_else(|e| panic!("scan -o json: {e} {stderr}"));
    let found: Vec<(&str, &str)> = rows
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| (r["pod"].as_str().unwrap_or(""), r["container"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(found, [("crasher", "app")], "kubectl crashloop scan -n {ns}: {rows}");
    let help = Command::new("kubectl").env("PATH", &path).args(["crashloop", "--help"]).output().expect("help");
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl crashloop"),
        "the plugin's help names it kubectl crashloop: {}",
        String::from_utf8_lossy(&help.stdout)
    );
    delete_namespaces(cluster, &[ns, "crashloop-exporter"]);
}

/// The value of each sample of the scenarios' namespaces whose name starts with one of
/// `families`, by its whole series.
fn samples_of(out: &str, families: &[&str]) -> BTreeMap<String, f64> {
    out.lines()
        .filter(|l| l.contains("namespace=\"rn-") && families.iter().any(|f| l.starts_with(f)))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            Some((series.to_string(), v.parse().ok()?))
        })
        .collect()
}

async fn restart_in_the_middle(exporter: &Exporter, node: &Node) {
    const COUNTERS: [&str; 2] = ["crashloop_container_restarts_total", "crashloop_container_terminations_total"];
    let before = exporter.metrics().await;
    const LAST_END: &str = "crashloop_container_last_terminated_timestamp_seconds";
    let mut last = samples_of(&before, &COUNTERS);
    let (restarts_before, ends_before) = (last.clone(), samples_of(&before, &[LAST_END]));
    // The containers that run and have not crash-looped: they must stay so.
    let steady: Vec<String> = samples_of(&before, &["crashloop_container_crashlooping"])
        .into_iter()
        .filter(|(_, v)| *v == 0.0)
        .map(|(series, _)| series)
        .collect();
    for part in ["containerd", "kubelet"] {
        node.restart(part).unwrap_or_else(|e| panic!("restarting {part}: {e}"));
        eprintln!("real node: {part} restarted");
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let out = exporter.metrics().await;
        let now = samples_of(&out, &COUNTERS);
        for (series, v) in &now {
            if let Some(was) = last.get(series) {
                assert!(v >= was, "{series} went from {was} to {v} after the restarts");
            }
        }
        // Terminations are counted from restarts (and the one end of a container that will
        // not run again): never more than those.
        for (series, restarts) in now.iter().filter(|(s, _)| s.starts_with(COUNTERS[0])) {
            let container = &series[COUNTERS[0].len()..series.len() - 1];
            let counted: f64 =
                now.iter().filter(|(s, _)| s.starts_with(COUNTERS[1]) && s.contains(container)).map(|(_, v)| v).sum();
            assert!(counted <= restarts + 1.0, "{container}: {counted} terminations for {restarts} restarts");
        }
        // A container may start looping only by crashing: a restart, or a new end with its
        // own time, since the restarts (a scenario's Job crashes by design).
        let looping = samples_of(&out, &["crashloop_container_crashlooping"]);
        let ends = samples_of(&out, &[LAST_END]);
        for series in &steady {
            let restarts = series.replacen("crashloop_container_crashlooping", COUNTERS[0], 1);
            let end = series.replacen("crashloop_container_crashlooping", LAST_END, 1);
            let crashed = now.get(&restarts) != restarts_before.get(&restarts)
                || ends.get(&end).is_some_and(|t| Some(t) != ends_before.get(&end));
            assert!(
                looping.get(series) != Some(&1.0) || crashed,
                "{series} became a crash loop after the restarts without a crash of its own"
            );
        }
        last.extend(now);
    }
}

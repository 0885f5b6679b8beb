//! Faults against the real kube-apiserver and etcd, during a run with pods in crash loops:
//! the apiserver killed and restarted, an etcd compaction answering the watch with 410 Gone,
//! a stalled connection, RBAC denials, and a burst of 10,000 Events. In each, the exporter
//! keeps serving, reports the fault in its own metrics, and afterwards its series match the
//! cluster exactly: nothing lost, nothing counted twice, no counter going backwards.
//!
//! The tests that stop the apiserver or compact etcd run on clusters of their own; the
//! others share one. Figures (reconnect time, scrape latency during the stall, RSS around
//! the burst) are printed to stderr, not asserted: timings belong to benchmarks.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{EXPORTER, Exporter, samples};
use crashloop_testbed::measure::percentile;
use crashloop_testbed::{self as testbed, EventSpec, Proxy, Terminated};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use serde_json::json;

/// Families that depend only on what the cluster holds now (not on what the exporter saw
/// before): a fresh exporter must serve the same lines.
const CLUSTER_FAMILIES: &[&str] = &[
    "crashloop_container_restarts_total",
    "crashloop_container_state",
    "crashloop_container_waiting_reason",
    "crashloop_container_last_terminated_exit_code",
    "crashloop_container_last_terminated_signal",
    "crashloop_container_last_terminated_reason",
    "crashloop_container_last_terminated_timestamp_seconds",
    "crashloop_container_last_run_seconds",
    "crashloop_container_last_terminated_oom_killed",
    "crashloop_container_in_backoff",
    "crashloop_container_backoff_delay_seconds",
    "crashloop_container_memory_limit_bytes",
    "crashloop_pod_workload_info",
    "crashloop_crashloopbackoff_containers",
    "crashloop_waiting_containers",
];

/// An admin client, and namespace `ns` created in `cluster`.
async fn admin_in(cluster: &testbed::Cluster, ns: &str) -> Client {
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    client
}

/// A container with a liveness probe and a memory limit.
fn probed_container() -> serde_json::Value {
    let mut app = testbed::container("app", "registry.example/api:3");
    app["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": 8080}});
    app["resources"] = json!({"limits": {"memory": "128Mi"}});
    app
}

/// The last termination every crash-looping container reports.
fn oom_kill() -> Terminated {
    Terminated::new("OOMKilled", 137, testbed::timestamp(1_795_000_000), testbed::timestamp(1_795_000_030))
}

/// Creates Deployment pod `<workload>-5d4f8c7b9-<suffix>` and reports it crash-looping
/// with `restarts` restarts.
async fn crashloop_pod(client: &Client, ns: &str, workload: &str, restarts: i32) -> Pod {
    let manifest = testbed::deployment_pod(ns, workload, "5d4f8c7b9", "x2x4q", vec![probed_container()]);
    let pod = testbed::create_pod(client, ns, &manifest).await.expect("create pod");
    set_restarts(client, &pod, restarts).await;
    pod
}

async fn set_restarts(client: &Client, pod: &Pod, restarts: i32) {
    let delay = if restarts > 4 { "5m0s" } else { "40s" };
    let status =
        testbed::pod_status(pod, "Running", vec![testbed::crashloop_status(pod, "app", restarts, delay, &oom_kill())]);
    let name = pod.metadata.name.as_deref().expect("pod name");
    let ns = pod.metadata.namespace.as_deref().expect("pod namespace");
    testbed::patch_status(client, ns, name, &status).await.expect("patch status");
}

/// A liveness-probe failure Event about `pod`'s container `app`, `count` times.
fn unhealthy(pod: &Pod, count: i32) -> EventSpec {
    EventSpec::for_pod(pod, true, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 503")
        .container("app")
        .repeated(count, 60)
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

/// `family{namespace,pod,container="app",container_type="regular"[,extra]} value`.
fn app_line(family: &str, ns: &str, pod: &Pod, extra: &str, value: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    let pod = pod_name(pod);
    format!(r#"{family}{{namespace="{ns}",pod="{pod}",container="app",container_type="regular"{sep}{extra}}} {value}"#)
}

fn restarts(ns: &str, pod: &Pod, n: i32) -> String {
    app_line("crashloop_container_restarts_total", ns, pod, "", &n.to_string())
}

fn liveness_failures(ns: &str, pod: &Pod, n: u64) -> String {
    app_line("crashloop_container_probe_failures_total", ns, pod, r#"probe="liveness""#, &n.to_string())
}

fn oom_terminations(ns: &str, pod: &Pod, n: u64) -> String {
    app_line("crashloop_container_terminations_total", ns, pod, r#"reason="OOMKilled""#, &n.to_string())
}

/// The value of the one sample that starts with `series` (name and labels), if any.
fn value(out: &str, series: &str) -> Option<f64> {
    out.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn api_errors(out: &str, resource: &str, kind: &str) -> f64 {
    let series = format!(r#"crashloop_exporter_api_errors_total{{resource="{resource}",kind="{kind}"}}"#);
    value(out, &series).unwrap_or(0.0)
}

fn relists(out: &str, resource: &str) -> f64 {
    value(out, &format!(r#"crashloop_exporter_relists_total{{resource="{resource}"}}"#)).unwrap_or(0.0)
}

/// The lines of [`CLUSTER_FAMILIES`] in namespace `ns`, sorted.
fn cluster_view(out: &str, ns: &str) -> Vec<String> {
    let needle = format!("namespace=\"{ns}\"");
    let mut lines: Vec<String> = CLUSTER_FAMILIES
        .iter()
        .flat_map(|f| samples(out, f))
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Asserts the exporter's view of `ns` is the one a freshly started exporter gets.
async fn assert_matches_fresh_exporter(kubeconfig: &std::path::Path, ns: &str, out: &str) {
    let fresh = Exporter::start(EXPORTER, kubeconfig, &["--namespace", ns]).await;
    let truth = fresh.metrics().await;
    let (seen, expected) = (cluster_view(out, ns), cluster_view(&truth, ns));
    assert!(!expected.is_empty(), "the fresh exporter sees no pods in {ns}");
    assert_eq!(seen, expected, "the exporter's series differ from a fresh exporter's");
}

/// Starts the exporter and waits until its Event watch has its first list: an Event posted
/// before that would be part of the start-up baseline, which counts nothing.
async fn start_exporter(kubeconfig: &std::path::Path, args: &[&str]) -> Exporter {
    let exporter = Exporter::start(EXPORTER, kubeconfig, args).await;
    exporter.metrics_until("the first list of Events", |o| o.contains(EVENTS_LISTED)).await;
    exporter
}

const EVENTS_LISTED: &str = r#"crashloop_exporter_watch_events_total{resource="events",type="init_done"} 1"#;

/// Remembers every counter sample seen and fails when one goes down.
#[derive(Default)]
struct Monotonic(HashMap<String, f64>);

impl Monotonic {
    fn check(&mut self, out: &str) {
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, v)) = line.rsplit_once(' ') else { continue };
            let name = series.split('{').next().unwrap_or(series);
            let Ok(v) = v.parse::<f64>() else { continue };
            if !name.ends_with("_total") {
                continue;
            }
            if let Some(before) = self.0.insert(series.to_string(), v) {
                assert!(v >= before, "{series} went backwards: {before} -> {v}");
            }
        }
    }
}

/// A fresh namespace's Role for the testbed's `limited` user, bound to it.
async fn grant_limited(client: &Client, ns: &str, resources: &[&str]) {
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    use kube::api::{Api, PostParams};
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "crashloop-exporter", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": resources, "verbs": ["get", "list", "watch"]}],
    }))
    .expect("role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "crashloop-exporter", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "crashloop-exporter"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}],
    }))
    .expect("role binding");
    Api::<Role>::namespaced(client.clone(), ns).create(&PostParams::default(), &role).await.expect("create role");
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create role binding");
}

/// The exporter's JSON log lines at `level` about `resource` with error kind `kind`.
fn logged(log: &str, level: &str, resource: &str, kind: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == level && v["resource"] == resource && v["kind"] == kind)
        .collect()
}

/// A temporary file for an exporter's stderr.
fn log_file(name: &str) -> (std::path::PathBuf, Stdio) {
    let path = std::env::temp_dir().join(format!("crashloop-faults-{}-{name}.log", std::process::id()));
    let file = std::fs::File::create(&path).expect("log file");
    (path, Stdio::from(file))
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Kill and restart the apiserver: last good data served through the outage, the outage
/// counted, then after reconnecting the series match the cluster and nothing is counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_restart_keeps_serving_and_counts_once() {
    let ns = "fault-restart";
    let cluster = testbed::Cluster::start().expect("private testbed cluster (run .ci/install)");
    let client = admin_in(&cluster, ns).await;
    let pods = [
        crashloop_pod(&client, ns, "api", 3).await,
        crashloop_pod(&client, ns, "web", 3).await,
        crashloop_pod(&client, ns, "batch", 3).await,
    ];
    let kubeconfig = cluster.kubeconfig_path();
    let (log_path, stderr) = log_file("restart");
    let exporter =
        Exporter::spawn(EXPORTER, &kubeconfig, &["--namespace", ns, "--log-format", "json"], stderr).ready().await;
    exporter.metrics_until("the first list of Events", |o| o.contains(EVENTS_LISTED)).await;
    let mut monotonic = Monotonic::default();
    let probe = unhealthy(&pods[0], 1);
    testbed::post_event(&client, ns, &probe).await.expect("post event");
    let before =
        exporter.metrics_until("one liveness failure", |o| o.contains(&liveness_failures(ns, &pods[0], 1))).await;
    monotonic.check(&before);
    let last_sync = r#"crashloop_exporter_last_sync_timestamp_seconds{resource="pods"}"#;
    let synced_before = value(&before, last_sync).expect("last sync");

    // The outage: the last good data stays, the errors are counted, the sync time stands still.
    cluster.stop_apiserver();
    let during = exporter
        .metrics_until("connection errors", |o| {
            api_errors(o, "pods", "connection") >= 2.0 && api_errors(o, "events", "connection") >= 1.0
        })
        .await;
    monotonic.check(&during);
    assert_eq!(
        cluster_view(&during, ns),
        cluster_view(&before, ns),
        "the last good data must be served during the outage"
    );
    assert!(during.contains(&liveness_failures(ns, &pods[0], 1)));
    assert_eq!(value(&during, last_sync), Some(synced_before), "the sync time must not move while the API is down");
    for (path, code) in [("/healthz", 200), ("/readyz", 200)] {
        assert_eq!(exporter.get(path, &[]).await.expect(path).0, code, "{path} during the outage");
    }

    // Back up; the cluster changes before the exporter is back in sync.
    cluster.start_apiserver().expect("apiserver restarts");
    let restarted = Instant::now();
    set_restarts(&client, &pods[0], 4).await;
    testbed::patch_event_count(&client, ns, &probe.name, 3, &testbed::ago(0)).await.expect("patch event");
    testbed::post_event(&client, ns, &unhealthy(&pods[1], 2)).await.expect("post event");
    testbed::delete_pod(&client, ns, pod_name(&pods[2])).await.expect("delete pod");
    let added = crashloop_pod(&client, ns, "worker", 1).await;
    let after = exporter
        .metrics_within(Duration::from_secs(45), "the changes after the restart", |o| {
            o.contains(&restarts(ns, &pods[0], 4))
                && o.contains(&restarts(ns, &added, 1))
                && o.contains(&liveness_failures(ns, &pods[0], 3))
                && o.contains(&liveness_failures(ns, &pods[1], 2))
                && !o.contains(&format!("pod=\"{}\"", pod_name(&pods[2])))
        })
        .await;
    eprintln!(
        "apiserver restart: exporter in sync {:.1} s after the apiserver was ready (relists: pods {}, events {})",
        restarted.elapsed().as_secs_f64(),
        relists(&after, "pods"),
        relists(&after, "events")
    );
    monotonic.check(&after);
    // Exact counters: the event's 1 -> 3 adds 2, one restart is one OOM termination.
    let mut failures = samples(&after, "crashloop_container_probe_failures_total");
    failures.sort();
    let mut expected =
        [liveness_failures(ns, &pods[0], 3), liveness_failures(ns, &pods[1], 2), liveness_failures(ns, &added, 0)];
    expected.sort();
    assert_eq!(failures, expected);
    assert!(after.contains(&oom_terminations(ns, &pods[0], 1)), "{after}");
    assert!(after.contains(&oom_terminations(ns, &pods[1], 0)), "{after}");
    assert!(value(&after, last_sync).expect("last sync") >= synced_before);
    assert_matches_fresh_exporter(&kubeconfig, ns, &after).await;

    // The outage is logged once per watch, however many retries it took.
    let log = std::fs::read_to_string(&log_path).expect("exporter log");
    for resource in ["pods", "events"] {
        assert_eq!(logged(&log, "ERROR", resource, "connection").len(), 1, "{resource}:\n{log}");
    }
    let foreign = log
        .lines()
        .filter(|l| l.contains(r#""level":"ERROR""#) && !l.contains(r#""target":"crashloop_exporter::"#))
        .count();
    assert_eq!(foreign, 0, "errors logged by dependencies repeat the exporter's own:\n{log}");
    let _ = std::fs::remove_file(log_path);
}

/// An etcd compaction while the exporter is cut off: its watches resume from a compacted
/// resourceVersion, get 410 Gone, and relist; the counters neither lose nor repeat anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_gone_relists_exactly() {
    let ns = "fault-gone";
    // Without the watch cache, watches are served by etcd, whose compaction answers an old
    // resourceVersion with 410 Gone.
    let cluster =
        testbed::Cluster::start_with_apiserver_flags(&["--watch-cache=false"]).expect("private testbed cluster");
    let client = admin_in(&cluster, ns).await;
    let pods = [crashloop_pod(&client, ns, "api", 2).await, crashloop_pod(&client, ns, "web", 2).await];
    let proxy = Proxy::start(cluster.api_addr()).await.expect("proxy");
    let kubeconfig = cluster.kubeconfig_through("admin", proxy.addr()).expect("kubeconfig");
    let (log_path, stderr) = log_file("gone");
    let exporter =
        Exporter::spawn(EXPORTER, &kubeconfig, &["--namespace", ns, "--log-format", "json"], stderr).ready().await;
    exporter.metrics_until("the first list of Events", |o| o.contains(EVENTS_LISTED)).await;
    let mut monotonic = Monotonic::default();
    let probe = unhealthy(&pods[0], 2);
    testbed::post_event(&client, ns, &probe).await.expect("post event");
    let before =
        exporter.metrics_until("two liveness failures", |o| o.contains(&liveness_failures(ns, &pods[0], 2))).await;
    monotonic.check(&before);
    assert_eq!((relists(&before, "pods"), relists(&before, "events")), (1.0, 1.0));

    // Cut off: the cluster moves on and etcd compacts past what the exporter has seen.
    proxy.stall();
    set_restarts(&client, &pods[1], 5).await;
    testbed::patch_event_count(&client, ns, &probe.name, 5, &testbed::ago(0)).await.expect("patch event");
    testbed::post_event(&client, ns, &unhealthy(&pods[1], 4)).await.expect("post event");
    let added = crashloop_pod(&client, ns, "worker", 1).await;
    let revision = cluster.compact_etcd().expect("etcd compaction");
    proxy.sever();
    proxy.resume();
    eprintln!("compacted etcd at revision {revision}");

    let expected = [
        restarts(ns, &pods[1], 5),
        restarts(ns, &added, 1),
        // 2 -> 5 adds 3; the relist replays the Event at 5 and adds nothing more.
        liveness_failures(ns, &pods[0], 5),
        liveness_failures(ns, &pods[1], 4),
        oom_terminations(ns, &pods[1], 3),
        oom_terminations(ns, &pods[0], 0),
    ];
    let after = exporter
        .metrics_until("the relists after 410 Gone, and the changes", |o| {
            relists(o, "pods") >= 2.0 && relists(o, "events") >= 2.0 && expected.iter().all(|e| o.contains(e))
        })
        .await;
    monotonic.check(&after);
    assert!(api_errors(&after, "pods", "gone") >= 1.0, "no 410 Gone counted for pods:\n{after}");
    assert!(api_errors(&after, "events", "gone") >= 1.0, "no 410 Gone counted for events:\n{after}");
    assert_eq!(
        value(&after, "crashloop_exporter_events_seen_total"),
        Some(3.0),
        "Events seen: 1 live, 2 in the relist"
    );
    assert_matches_fresh_exporter(&cluster.kubeconfig_path(), ns, &after).await;
    // 410 Gone is routine: logged at info, never as an error.
    let log = std::fs::read_to_string(&log_path).expect("exporter log");
    for resource in ["pods", "events"] {
        let gone = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["resource"] == resource && v["message"].as_str().is_some_and(|m| m.contains("410 Gone")))
            .collect::<Vec<_>>();
        assert!(!gone.is_empty() && gone.iter().all(|v| v["level"] == "INFO"), "{resource}: 410 at info:\n{log}");
        assert!(logged(&log, "ERROR", resource, "gone").is_empty(), "{resource}: 410 logged as an error:\n{log}");
    }
    let _ = std::fs::remove_file(log_path);
}

/// A stalled connection: the watches notice within the watch timeout + 3 s and count a
/// timeout, `/metrics` keeps answering from the cache, and once the network is back
/// the exporter catches up with what happened meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_stream_times_out_and_scrapes_stay_responsive() {
    let ns = "fault-stall";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = admin_in(cluster, ns).await;
    let pods = [crashloop_pod(&client, ns, "api", 2).await, crashloop_pod(&client, ns, "web", 2).await];
    let proxy = Proxy::start(cluster.api_addr()).await.expect("proxy");
    let kubeconfig = cluster.kubeconfig_through("admin", proxy.addr()).expect("kubeconfig");
    // Watches renewed every 2 s: silence beyond 5 s is a stall.
    let exporter = start_exporter(&kubeconfig, &["--namespace", ns, "--watch-timeout", "2"]).await;
    let mut monotonic = Monotonic::default();
    let probe = unhealthy(&pods[0], 1);
    testbed::post_event(&client, ns, &probe).await.expect("post event");
    let before =
        exporter.metrics_until("one liveness failure", |o| o.contains(&liveness_failures(ns, &pods[0], 1))).await;
    monotonic.check(&before);

    // Slow: every chunk waits 200 ms; the exporter still follows.
    proxy.slow(Duration::from_millis(200));
    set_restarts(&client, &pods[1], 3).await;
    exporter.metrics_until("a change through the slow link", |o| o.contains(&restarts(ns, &pods[1], 3))).await;

    // Stalled: a blackhole, connections open, no byte moving.
    proxy.stall();
    let stalled = Instant::now();
    set_restarts(&client, &pods[0], 3).await;
    testbed::patch_event_count(&client, ns, &probe.name, 4, &testbed::ago(0)).await.expect("patch event");
    let mut latencies = Vec::new();
    let mut timed_out = None;
    while stalled.elapsed() < Duration::from_secs(12) {
        let start = Instant::now();
        let out = exporter.metrics().await;
        latencies.push(start.elapsed());
        monotonic.check(&out);
        assert!(out.contains(&restarts(ns, &pods[0], 2)), "the last good data must be served during the stall");
        if timed_out.is_none()
            && api_errors(&out, "pods", "timeout") >= 1.0
            && api_errors(&out, "events", "timeout") >= 1.0
        {
            timed_out = Some(stalled.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let noticed = timed_out.expect("both watches must report a timeout within 12 s of the stall");
    // The bound is --watch-timeout + 3 s = 5 s of silence; 2 s more for the scrape cadence.
    assert!(noticed <= Duration::from_secs(7), "the stall was noticed after {noticed:?}, not within 5 s");
    latencies.sort();
    // Scrapes never wait on the API: answered from the cache throughout.
    let slowest = latencies[latencies.len() - 1];
    assert!(slowest < Duration::from_secs(2), "a scrape during the stall took {slowest:?}");
    eprintln!(
        "stall: timeouts reported after {:.1} s; {} scrapes during the stall: p50 {:?}, p99 {:?}, max {:?}",
        noticed.as_secs_f64(),
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies[latencies.len() - 1]
    );

    proxy.resume();
    let resumed = Instant::now();
    let after = exporter
        .metrics_within(Duration::from_secs(45), "the changes made during the stall", |o| {
            o.contains(&restarts(ns, &pods[0], 3)) && o.contains(&liveness_failures(ns, &pods[0], 4))
        })
        .await;
    eprintln!("stall: in sync {:.1} s after the network came back", resumed.elapsed().as_secs_f64());
    monotonic.check(&after);
    assert!(after.contains(&oom_terminations(ns, &pods[0], 1)), "{after}");
    assert!(after.contains(&oom_terminations(ns, &pods[1], 1)), "{after}");
    assert_matches_fresh_exporter(&cluster.kubeconfig_path(), ns, &after).await;
}

/// Events denied by RBAC: pod metrics work, the denial is logged once and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_forbidden_pods_still_served() {
    let ns = "fault-rbac-events";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = admin_in(cluster, ns).await;
    grant_limited(&client, ns, &["pods"]).await;
    let pod = crashloop_pod(&client, ns, "api", 2).await;
    let (log_path, stderr) = log_file("events-forbidden");
    let kubeconfig = cluster.kubeconfig_for("limited").expect("kubeconfig");
    let exporter = Exporter::spawn(EXPORTER, &kubeconfig, &["--namespace", ns, "--log-format", "json"], stderr)
        .ready_for_pods()
        .await;
    let out = exporter.metrics_until("three denials", |o| api_errors(o, "events", "forbidden") >= 3.0).await;
    assert!(out.contains(&restarts(ns, &pod, 2)), "{out}");
    assert!(out.contains(&app_line("crashloop_container_crashlooping", ns, &pod, "", "1")), "{out}");
    assert_eq!(api_errors(&out, "pods", "forbidden"), 0.0);
    assert_eq!(exporter.get("/readyz", &[]).await.expect("readyz").0, 200);

    let log = std::fs::read_to_string(&log_path).expect("exporter log");
    let errors = logged(&log, "ERROR", "events", "forbidden");
    assert_eq!(errors.len(), 1, "the denial must be logged once:\n{log}");
    let message = errors[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("needs list and watch"), "{message}");
    let warnings = log.lines().filter(|l| l.contains("\"WARN\"") && l.contains("403")).count();
    assert_eq!(warnings, 0, "kube's own 403 warnings repeat the error:\n{log}");
    let _ = std::fs::remove_file(log_path);
}

/// Pods denied by RBAC: the exporter stays up and not ready, with one clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_forbidden_stays_up_not_ready() {
    let ns = "fault-rbac-pods";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = admin_in(cluster, ns).await;
    grant_limited(&client, ns, &["events"]).await;
    crashloop_pod(&client, ns, "api", 2).await;
    let (log_path, stderr) = log_file("pods-forbidden");
    let kubeconfig = cluster.kubeconfig_for("limited").expect("kubeconfig");
    let exporter = Exporter::spawn(EXPORTER, &kubeconfig, &["--namespace", ns, "--log-format", "json"], stderr);
    let deadline = Instant::now() + Duration::from_secs(15);
    let out = loop {
        if let Ok((200, body)) = exporter.get("/metrics", &[]).await {
            let out = String::from_utf8(body).expect("utf-8");
            if api_errors(&out, "pods", "forbidden") >= 3.0 {
                break out;
            }
        }
        assert!(Instant::now() < deadline, "no pod denials counted within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(samples(&out, "crashloop_container_restarts_total").is_empty());
    assert_eq!(exporter.get("/healthz", &[]).await.expect("healthz").0, 200);
    let (status, body) = exporter.get("/readyz", &[]).await.expect("readyz");
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));

    let log = std::fs::read_to_string(&log_path).expect("exporter log");
    let errors = logged(&log, "ERROR", "pods", "forbidden");
    assert_eq!(errors.len(), 1, "the denial must be logged once:\n{log}");
    let error = errors[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("forbidden"), "{error}");
    assert!(errors[0]["message"].as_str().unwrap_or_default().contains("ClusterRole"));

    // Access granted: the retries (back-off up to 30 s) list the pods, /readyz turns 200,
    // the pod's series appear, and the recovery is logged once, at info.
    use k8s_openapi::api::rbac::v1::Role;
    let role =
        json!({"rules": [{"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]}]});
    kube::Api::<Role>::namespaced(client.clone(), ns)
        .patch("crashloop-exporter", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&role))
        .await
        .expect("grant pods");
    let deadline = Instant::now() + Duration::from_secs(60);
    while exporter.get("/readyz", &[]).await.map(|(s, _)| s).unwrap_or(0) != 200 {
        assert!(Instant::now() < deadline, "not ready 60 s after pods were granted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = exporter.metrics().await;
    assert_eq!(samples(&out, "crashloop_container_restarts_total").len(), 1, "{out}");
    let log = std::fs::read_to_string(&log_path).expect("exporter log");
    let recovered: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "watch recovered" && v["resource"] == "pods")
        .collect();
    assert_eq!(recovered.len(), 1, "the recovery, once:\n{log}");
    assert_eq!((&recovered[0]["level"], &recovered[0]["previous_error"]), (&json!("INFO"), &json!("forbidden")));
    let _ = std::fs::remove_file(log_path);
}

/// 10,000 Events at once: every one counted exactly, memory bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_ten_thousand_events_counts_all() {
    const EVENTS: usize = 10_000;
    let ns = "fault-burst";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = admin_in(cluster, ns).await;
    let mut pods = Vec::new();
    for workload in ["api", "web", "batch", "worker"] {
        pods.push(crashloop_pod(&client, ns, workload, 2).await);
    }
    let exporter = start_exporter(&cluster.kubeconfig_path(), &["--namespace", ns]).await;
    exporter.metrics_until("the pods", |o| pods.iter().all(|p| o.contains(&restarts(ns, p, 2)))).await;
    let rss_before = rss_kib(exporter.pid());

    let started = Instant::now();
    futures::stream::iter(0..EVENTS)
        .map(|i| {
            let pod = &pods[i % pods.len()];
            let mut spec = unhealthy(pod, 1);
            spec.name = format!("{}.burst{i:05}", pod_name(pod));
            let client = client.clone();
            async move { testbed::post_event(&client, ns, &spec).await }
        })
        .buffer_unordered(32)
        .try_for_each(|_| async { Ok(()) })
        .await
        .expect("post events");
    let posted = started.elapsed();
    let seen = r#"crashloop_exporter_events_seen_total"#;
    let per_pod = (EVENTS / pods.len()) as u64;
    // `events_seen_total` moves when an Event is received, its count when it is applied: a
    // scrape between the two sees the one before the other, so wait for both.
    let out = exporter
        .metrics_within(Duration::from_secs(60), "every Event", |o| {
            value(o, seen) >= Some(EVENTS as f64) && pods.iter().all(|p| o.contains(&liveness_failures(ns, p, per_pod)))
        })
        .await;
    let rss_after = rss_kib(exporter.pid());
    eprintln!(
        "burst: {EVENTS} Events posted in {:.1} s, all counted {:.1} s after the first; exporter RSS {} KiB before, {} KiB after",
        posted.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        rss_before,
        rss_after
    );
    for pod in &pods {
        assert!(
            out.contains(&liveness_failures(ns, pod, per_pod)),
            "missing {}\n{out}",
            liveness_failures(ns, pod, per_pod)
        );
    }
    assert_eq!(value(&out, seen), Some(EVENTS as f64));
    assert_eq!(value(&out, r#"crashloop_exporter_cached_objects{resource="events"}"#), Some(EVENTS as f64));
    assert!(samples(&out, "crashloop_exporter_events_ignored_total").is_empty(), "{out}");
    // Bounded: an Event is remembered as a small record, not kept whole (about 1 KiB each
    // as decoded objects would be some 10 MiB more).
    assert!(rss_after < rss_before + 48 * 1024, "RSS grew from {rss_before} KiB to {rss_after} KiB");
}

//! Pods (and Events) in, the series out: each test renders a few pods in one of the
//! modes and checks the samples of the families it is about.

use super::*;
use crate::counters::{ApiErrorLabels, ReasonLabels, ResourceLabels, ResultLabels, WatchEventLabels};
use crate::exposition::{families, prerender};
use crate::fixtures::fixture;
use crate::sync::lock_unpoisoned;
use crate::view::{ApiErrorKind, IgnoredReason, LogFetchResult, WatchEventType};

const APP: &str = r#"namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",container="app",container_type="regular""#;
const PROXY: &str = r#"namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",container="proxy",container_type="regular""#;

#[test]
fn crashlooping_oom_container_series() {
    let out = render_pods(vec![fixture("deployment-oom-crashloop")], false, false);
    let line = |family: &str, extra: &str, value: &str| {
        let sep = if extra.is_empty() { "" } else { "," };
        format!("{family}{{{APP}{sep}{extra}}} {value}")
    };
    assert_eq!(
        samples(&out, "crashloop_container_restarts_total"),
        [
            line("crashloop_container_restarts_total", "", "5"),
            format!("crashloop_container_restarts_total{{{PROXY}}} 0")
        ]
    );
    let expected = [
        ("crashloop_container_last_terminated_exit_code", "", "137"),
        ("crashloop_container_last_terminated_signal", "", "9"),
        ("crashloop_container_last_terminated_reason", r#"reason="OOMKilled""#, "1"),
        ("crashloop_container_last_terminated_timestamp_seconds", "", "1795512040"),
        ("crashloop_container_last_terminated_oom_killed", "", "1"),
        ("crashloop_container_in_backoff", "", "1"),
        ("crashloop_container_backoff_delay_seconds", r#"source="kubelet""#, "160.0"),
        ("crashloop_container_next_restart_timestamp_seconds", "", "1795512200.0"),
        ("crashloop_container_memory_limit_bytes", "", "268435456"),
        ("crashloop_container_crashlooping", "", "1"),
        ("crashloop_container_crashloop_start_timestamp_seconds", "", "1795000000"),
    ];
    for (family, extra, value) in expected {
        assert_eq!(samples(&out, family), [line(family, extra, value)], "{family}");
    }
    assert_eq!(
        samples(&out, "crashloop_container_waiting_reason"),
        [line("crashloop_container_waiting_reason", r#"reason="CrashLoopBackOff""#, "1")]
    );
    assert_eq!(
        samples(&out, "crashloop_container_probable_cause"),
        [line("crashloop_container_probable_cause", r#"cause="oom_killed""#, "1")]
    );
    assert_eq!(
        samples(&out, "crashloop_container_state"),
        ["waiting 1", "running 0", "terminated 0", "unknown 0"].map(|sv| {
            let (s, v) = sv.split_once(' ').unwrap_or_default();
            line("crashloop_container_state", &format!("state=\"{s}\""), v)
        })
    );
    // Baseline at start: the five restarts before the exporter started are not counted.
    assert!(samples(&out, "crashloop_container_terminations_total").iter().all(|l| l.ends_with(" 0")));
    assert_eq!(
        samples(&out, "crashloop_pod_workload_info"),
        [
            r#"crashloop_pod_workload_info{namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",workload_kind="Deployment",workload="checkout",template="7d9c8b6f5"} 1"#
        ]
    );
    assert_eq!(
        samples(&out, "crashloop_crashloopbackoff_containers"),
        [r#"crashloop_crashloopbackoff_containers{namespace="shop"} 1"#]
    );
    assert_eq!(
        samples(&out, "crashloop_waiting_containers"),
        [r#"crashloop_waiting_containers{namespace="shop",reason="CrashLoopBackOff"} 1"#]
    );
    assert_eq!(
        samples(&out, "crashloop_exporter_cached_objects"),
        [
            r#"crashloop_exporter_cached_objects{resource="pods"} 1"#,
            r#"crashloop_exporter_cached_objects{resource="events"} 0"#
        ]
    );
    assert_eq!(
        samples(&out, "crashloop_exporter_last_sync_timestamp_seconds"),
        [r#"crashloop_exporter_last_sync_timestamp_seconds{resource="pods"} 1795000000"#]
    );
}

/// A pod as first seen after the exporter started (no baseline), rendered.
fn render_seen_later(pod: SlimPod) -> String {
    render_tracked(vec![track(None, pod, NOW, false)], false, false)
}

/// Pods in the shapes 1.33 to 1.35 kubelets write (`tests/fixtures/pods/current/`):
/// object in, the series that must and must not be there out.
#[test]
fn current_kubelet_shapes() {
    let c = |ns: &str, pod: &str, container: &str, kind: &str| {
        format!(r#"namespace="{ns}",pod="{pod}",container="{container}",container_type="{kind}""#)
    };
    let shipper = c("batch", "report-29925180-x8k2p", "log-shipper", "sidecar");
    let proxy = c("data", "ingest-0", "proxy", "sidecar");
    let trainer = c("ml", "trainer-0", "trainer", "regular");
    let trainer_ended = c("ml", "trainer-1", "trainer", "regular");
    let warmer = c("web", "warmup-7d9c8b6f5-q2w3e", "cache-warmer", "regular");
    let migrator = c("web", "warmup-7d9c8b6f5-q2w3e", "migrator", "regular");
    let api = c("shop", "api-5f6d7c8b9-zx7cv", "api", "regular");
    let signed = c("shop", "api-5f6d7c8b9-zx7cv", "signed", "regular");
    let resized = c("web", "resized-0", "app", "regular");
    let worker = c("batch", "batch-worker-0", "worker", "regular");
    let flusher = c("batch", "batch-worker-0", "flusher", "regular");
    let leader = c("ml", "worker-0", "leader", "regular");
    let bystander = c("ml", "worker-0", "metrics", "regular");
    let cases: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "sidecar-stopped-with-its-job",
            vec![format!("crashloop_container_crashlooping{{{shipper}}} 0")],
            vec![
                format!("crashloop_container_probable_cause{{{shipper}"),
                format!("crashloop_container_terminations_total{{{shipper}"),
                "crashloop_troubled_containers{".into(),
            ],
        ),
        (
            "sidecar-crashloop-in-never-pod",
            vec![
                format!("crashloop_container_crashlooping{{{proxy}}} 1"),
                format!("crashloop_container_probable_cause{{{proxy},cause=\"app_error\"}} 1"),
                format!("crashloop_container_backoff_delay_seconds{{{proxy},source=\"kubelet\"}} 80.0"),
            ],
            vec![],
        ),
        (
            "restart-rules-crashloop",
            vec![
                format!("crashloop_container_crashlooping{{{trainer}}} 1"),
                format!("crashloop_container_probable_cause{{{trainer},cause=\"app_error\"}} 1"),
                format!("crashloop_container_terminations_total{{{trainer},reason=\"Error\"}} 3"),
            ],
            vec![],
        ),
        (
            "restart-rules-ended",
            vec![
                format!("crashloop_container_crashlooping{{{trainer_ended}}} 0"),
                format!("crashloop_container_probable_cause{{{trainer_ended},cause=\"app_error\"}} 1"),
                format!("crashloop_container_terminations_total{{{trainer_ended},reason=\"Error\"}} 4"),
            ],
            vec![],
        ),
        (
            "container-policy-never-in-always-pod",
            vec![
                format!("crashloop_container_probable_cause{{{migrator},cause=\"oom_killed\"}} 1"),
                format!("crashloop_container_terminations_total{{{migrator},reason=\"OOMKilled\"}} 1"),
                format!("crashloop_container_last_terminated_oom_killed{{{migrator}}} 1"),
            ],
            vec![format!("crashloop_container_probable_cause{{{warmer}")],
        ),
        (
            "image-pull-backoff-v132",
            vec![
                format!("crashloop_container_image_pull_failure{{{api},category=\"not_found\"}} 1"),
                format!("crashloop_container_probable_cause{{{signed},cause=\"image_pull\"}} 1"),
                format!("crashloop_container_waiting_reason{{{signed},reason=\"SignatureValidationFailed\"}} 1"),
                format!("crashloop_container_image_pull_failure{{{signed},category=\"other\"}} 1"),
            ],
            vec![],
        ),
        (
            "resized-memory-limit",
            vec![
                format!("crashloop_container_memory_limit_bytes{{{resized}}} 536870912"),
                format!("crashloop_container_probable_cause{{{resized},cause=\"oom_killed\"}} 1"),
            ],
            vec![],
        ),
        (
            "restart-all-containers",
            vec![
                format!("crashloop_container_waiting_reason{{{bystander},reason=\"RestartingAllContainers\"}} 1"),
                format!("crashloop_container_crashlooping{{{bystander}}} 0"),
                format!("crashloop_container_crashlooping{{{leader}}} 0"),
                format!("crashloop_container_terminations_total{{{leader},reason=\"Error\"}} 1"),
                format!("crashloop_container_terminations_total{{{bystander},reason=\"other\"}} 1"),
            ],
            vec![format!("crashloop_container_probable_cause{{"), "crashloop_troubled_containers{".into()],
        ),
        (
            "deleted-never-pod-stopped",
            vec![format!("crashloop_container_last_terminated_exit_code{{{flusher}}} 138")],
            vec![
                format!("crashloop_container_probable_cause{{"),
                format!("crashloop_container_terminations_total{{{worker}"),
                format!("crashloop_container_terminations_total{{{flusher}"),
                "crashloop_troubled_containers{".into(),
            ],
        ),
    ];
    for (name, present, absent) in cases {
        let out = render_seen_later(fixture(&format!("current/{name}")));
        for line in present {
            assert!(out.lines().any(|l| l == line), "{name}: no line {line}\n{out}");
        }
        for prefix in absent {
            assert!(!out.lines().any(|l| l.starts_with(&prefix)), "{name}: a line {prefix}…\n{out}");
        }
    }
}

/// `--skip-quiet-containers`, pods in and exposition out, beside the default mode: a
/// container with nothing to report (no restart, no detail, no counted Event or
/// termination) exports nothing, and a pod all of whose containers are so (no missing
/// object, not evicted) no workload line; a pod without container statuses gets no
/// detail series in either mode.
#[test]
fn skip_quiet_containers_exports_only_what_has_something_to_report() {
    use serde_json::json;
    let pod = |name: &str, containers: &[&str], statuses: serde_json::Value| -> SlimPod {
        let spec: Vec<_> = containers
            .iter()
            .map(|c| json!({"name": c, "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}))
            .collect();
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "t", "uid": format!("uid-{name}")},
            "spec": {"containers": spec},
            "status": {"phase": "Running", "containerStatuses": statuses}
        }))
        .expect("pod")
    };
    let running = |c: &str, restarts: u32| json!({"name": c, "restartCount": restarts, "state": {"running": {"startedAt": "2026-11-01T00:00:00Z"}}});
    let event = |name: &str, pod: &str, field_path: &str, reason: &str, message: &str| {
        json!({"metadata": {"name": name, "namespace": "t"},
            "involvedObject": {"kind": "Pod", "namespace": "t", "name": pod, "uid": format!("uid-{pod}"), "fieldPath": field_path},
            "reason": reason, "message": message, "type": "Warning", "count": 2,
            "firstTimestamp": "2026-11-24T09:00:00Z", "lastTimestamp": "2026-11-24T09:05:00Z"})
    };
    let readiness = "Readiness probe failed: HTTP probe failed with statuscode: 503";
    let pods = vec![
        // Quiet, with a probe Event of the first list (the baseline: counted 0).
        pod("quiet", &["a", "b"], json!([running("a", 0), running("b", 0)])),
        // One container restarted, one quiet.
        pod("restarted", &["app", "side"], json!([running("app", 2), running("side", 0)])),
        // Never restarted, but its readiness probe failed since the exporter started.
        pod("probed", &["app"], json!([running("app", 0)])),
        // No container statuses yet (no node).
        pod("pending", &["app"], json!([])),
        // No container statuses, and a ConfigMap its mount waits for.
        pod("mounting", &["app"], json!([])),
    ];
    let pods: Vec<SlimPod> = pods.into_iter().map(|p| track(None, p, NOW, true)).collect();
    let mount = r#"MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found"#;
    let events = [
        (event("e1", "quiet", "spec.containers{a}", "Unhealthy", readiness), true),
        (event("e2", "probed", "spec.containers{app}", "Unhealthy", readiness), false),
        (event("e3", "mounting", "", "FailedMount", mount), false),
    ];
    let series = |mode| {
        let out = render_with_events(pods.clone(), &events, mode, Format::Prometheus);
        let mut lines: Vec<String> =
            out.lines().filter(|l| !l.starts_with('#') && l.contains("pod=\"")).map(str::to_string).collect();
        lines.sort();
        lines
    };
    let c = |pod: &str, c: &str| format!(r#"namespace="t",pod="{pod}",container="{c}",container_type="regular""#);
    let (quiet_a, quiet_b, app, side) =
        (c("quiet", "a"), c("quiet", "b"), c("restarted", "app"), c("restarted", "side"));
    let (probed, pending, mounting) = (c("probed", "app"), c("pending", "app"), c("mounting", "app"));
    let workload = |pod: &str| {
        format!(
            r#"crashloop_pod_workload_info{{namespace="t",pod="{pod}",workload_kind="Pod",workload="{pod}",template=""}} 1"#
        )
    };
    let mut restarted_app = vec![
        format!("crashloop_container_backoff_events_total{{{app}}} 0"),
        format!("crashloop_container_crashlooping{{{app}}} 0"),
        format!("crashloop_container_image_pull_backoff_events_total{{{app}}} 0"),
        format!("crashloop_container_in_backoff{{{app}}} 0"),
        format!("crashloop_container_probe_failures_total{{{app},probe=\"readiness\"}} 0"),
        format!("crashloop_container_restarts_total{{{app}}} 2"),
        format!("crashloop_container_state{{{app},state=\"running\"}} 1"),
        format!("crashloop_container_state{{{app},state=\"terminated\"}} 0"),
        format!("crashloop_container_state{{{app},state=\"unknown\"}} 0"),
        format!("crashloop_container_state{{{app},state=\"waiting\"}} 0"),
    ];
    restarted_app.extend(
        ["Completed", "Error", "OOMKilled", "StartError", "other"]
            .map(|r| format!("crashloop_container_terminations_total{{{app},reason=\"{r}\"}} 0")),
    );
    let missing = r#"crashloop_pod_missing_object{namespace="t",pod="mounting",kind="configmap",name="app-config"} 1"#;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let mut default = restarted_app.clone();
    default.extend([
        format!("crashloop_container_probe_failures_total{{{probed},probe=\"readiness\"}} 2"),
        format!("crashloop_container_restarts_total{{{mounting}}} 0"),
        format!("crashloop_container_restarts_total{{{pending}}} 0"),
        format!("crashloop_container_restarts_total{{{probed}}} 0"),
        format!("crashloop_container_restarts_total{{{quiet_a}}} 0"),
        format!("crashloop_container_restarts_total{{{quiet_b}}} 0"),
        format!("crashloop_container_restarts_total{{{side}}} 0"),
        missing.to_string(),
        workload("mounting"),
        workload("pending"),
        workload("probed"),
        workload("quiet"),
        workload("restarted"),
    ]);
    assert_eq!(series(Mode::Default), sorted(default));
    let mut skip = restarted_app;
    skip.extend([
        format!("crashloop_container_probe_failures_total{{{probed},probe=\"readiness\"}} 2"),
        format!("crashloop_container_restarts_total{{{probed}}} 0"),
        missing.to_string(),
        workload("mounting"),
        workload("probed"),
        workload("restarted"),
    ]);
    assert_eq!(series(Mode::SkipQuiet), sorted(skip));
    // Every pod is counted in its workload, in both modes.
    for mode in [Mode::Default, Mode::SkipQuiet] {
        let out = render_with_events(pods.clone(), &events, mode, Format::Prometheus);
        let mut counted = samples(&out, "crashloop_workload_pods");
        counted.sort();
        let want = ["mounting", "pending", "probed", "quiet", "restarted"]
            .map(|p| format!(r#"crashloop_workload_pods{{namespace="t",workload_kind="Pod",workload="{p}"}} 1"#));
        assert_eq!(counted, want, "{mode:?}");
    }
}

/// `crashloop_workload_pods` counts the pods of each workload, quiet ones included.
#[test]
fn workload_pods_counts_every_pod_of_each_workload() {
    let named = |fixture_name: &str, pod: &str| {
        let mut p = fixture(fixture_name);
        p.metadata.name = Some(pod.to_string());
        p.uid = format!("uid-{pod}").into();
        p
    };
    let pods = vec![
        named("deployment-oom-crashloop", "checkout-7d9c8b6f5-a"),
        named("deployment-oom-crashloop", "checkout-7d9c8b6f5-b"),
        named("deployment-oom-crashloop", "checkout-7d9c8b6f5-c"),
        named("init-and-sidecar", "ledger-0"),
    ];
    for healthy_details in [false, true] {
        let out = render_pods(pods.clone(), healthy_details, false);
        let mut lines = samples(&out, "crashloop_workload_pods");
        lines.sort();
        assert_eq!(
            lines,
            [
                r#"crashloop_workload_pods{namespace="bank",workload_kind="StatefulSet",workload="ledger"} 1"#,
                r#"crashloop_workload_pods{namespace="shop",workload_kind="Deployment",workload="checkout"} 3"#,
            ]
        );
    }
}

/// Lines attached at ingest render exactly as lines made at render time.
#[test]
fn prerendered_lines_render_as_fresh_ones() {
    let names = ["deployment-oom-crashloop", "init-and-sidecar", "missing-configmap", "liveness-killed", "oom-exit-1"];
    let fresh: Vec<SlimPod> = names.iter().map(|n| fixture(n)).collect();
    let attached: Vec<SlimPod> = names
        .iter()
        .map(|n| {
            let mut pod = track(None, fixture(n), NOW, true);
            pod.lines = Some(prerender(&pod));
            pod
        })
        .collect();
    assert!(attached.iter().all(|p| p.lines.is_some()));
    // Each store has its own order: compare the lines, sorted.
    let sorted = |text: String| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    for (healthy_details, openmetrics) in [(false, false), (false, true), (true, false)] {
        assert_eq!(
            sorted(render_pods(attached.clone(), healthy_details, openmetrics)),
            sorted(render_pods(fresh.clone(), healthy_details, openmetrics))
        );
    }
}

#[test]
fn healthy_running_containers_get_only_restarts_unless_asked() {
    let out = render_pods(vec![fixture("deployment-oom-crashloop")], false, false);
    let proxy_lines: Vec<_> = out.lines().filter(|l| l.contains(PROXY)).collect();
    assert_eq!(proxy_lines, [format!("crashloop_container_restarts_total{{{PROXY}}} 0")]);
    let all = render_pods(vec![fixture("deployment-oom-crashloop")], true, false);
    assert!(all.contains(&format!("crashloop_container_state{{{PROXY},state=\"running\"}} 1")));
    assert!(all.contains(&format!("crashloop_container_crashlooping{{{PROXY}}} 0")));
}

#[test]
fn init_container_and_sidecar_types() {
    let out = render_pods(vec![fixture("init-and-sidecar")], false, false);
    let migrate = r#"namespace="bank",pod="ledger-0",container="migrate",container_type="init""#;
    assert!(out.contains(&format!("crashloop_container_restarts_total{{{migrate}}} 3\n")));
    assert!(out.contains(&format!("crashloop_container_backoff_delay_seconds{{{migrate},source=\"kubelet\"}} 40.0\n")));
    assert!(out.contains(r#"container="log-shipper",container_type="sidecar"} 0"#));
    assert!(out.contains(r#"crashloop_pod_workload_info{namespace="bank",pod="ledger-0",workload_kind="StatefulSet",workload="ledger",template="ledger-6c5b4"} 1"#));
}

#[test]
fn openmetrics_ends_with_eof_and_counters_keep_total() {
    let out = render_pods(vec![fixture("oom-exit-1")], false, true);
    assert!(out.ends_with("# EOF\n"));
    assert!(out.contains("# TYPE crashloop_container_restarts counter\n"));
    assert!(out.contains(r#"crashloop_container_restarts_total{namespace="web",pod="indexer",container="indexer",container_type="regular"} 2"#));
}

/// N shards together export exactly the single replica's pod and container series,
/// with no duplicates; aggregates add up.
#[test]
fn shards_partition_the_series() {
    use crate::store::Shard;
    let pods = || -> Vec<SlimPod> {
        (0..60)
            .map(|i| {
                let mut p = fixture(["deployment-oom-crashloop", "liveness-killed", "missing-configmap"][i % 3]);
                p.metadata.name = Some(format!("pod-{i}"));
                p.uid = format!("uid-{i}").into();
                p
            })
            .collect()
    };
    let series = |out: &str| -> Vec<String> {
        out.lines().filter(|l| !l.starts_with('#') && l.contains("pod=\"")).map(str::to_string).collect()
    };
    let mut single = series(&render_pods(pods(), false, false));
    let mut union = Vec::new();
    let mut in_backoff = 0;
    for index in 0..3 {
        let shard = Shard { index, total: 3 };
        let mine: Vec<SlimPod> = pods().into_iter().filter(|p| shard.owns(p.uid())).collect();
        assert!(!mine.is_empty() && mine.len() < 60, "shard {index} has {} pods", mine.len());
        let out = render_pods(mine, false, false);
        in_backoff += samples(&out, "crashloop_crashloopbackoff_containers")
            .iter()
            .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
            .sum::<i64>();
        union.extend(series(&out));
    }
    single.sort();
    union.sort();
    let before = union.len();
    union.dedup();
    assert_eq!(before, union.len(), "no series is exported by two shards");
    assert_eq!(union, single);
    assert_eq!(in_backoff, 20, "the aggregate sums across shards");
}

/// A controller's `FailedCreate` Event (`name` of `kind` in `shop`, at 09:05).
fn refused_event(name: &str, kind: &str, why: &str) -> crate::view::SlimEvent {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("{name}.180a"), "namespace": "shop", "uid": format!("e-{name}")},
        "involvedObject": {"kind": kind, "namespace": "shop", "name": name, "uid": format!("u-{name}")},
        "reason": "FailedCreate", "message": format!("Error creating: pods \"{name}-x\" is forbidden: {why}"),
        "type": "Warning", "count": 3,
        "firstTimestamp": "2026-11-24T09:00:00Z", "lastTimestamp": "2026-11-24T09:05:00Z"
    }))
    .expect("an Event")
}

/// Pods that are never created have no series: the refusal is reported on the workload
/// (a ReplicaSet's Deployment, a Job's CronJob), with its reason, while its Event lives.
#[test]
fn a_pod_a_controller_could_not_create_is_reported_on_its_workload() {
    let mut counts = crate::event_counts::EventCounts::new();
    counts.baseline = false;
    let events = [
        refused_event("web-6c9b7f4b8d", "ReplicaSet", "exceeded quota: compute, requested: limits.cpu=2"),
        refused_event("report-29925180", "Job", "violates PodSecurity \"restricted:latest\": runAsNonRoot != true"),
        refused_event("db", "StatefulSet", "admission webhook \"policy.example.com\" denied the request: no"),
        refused_event("cache-v2", "ReplicaSet", "something new"),
    ];
    for e in &events {
        counts.apply(e, |_, _| None);
    }
    let shared = SharedEvents::new(std::sync::Mutex::new(counts));
    let source = PodSource { events: shared.clone(), ..source_over(cache_of([])) };
    let at = "1795511100";
    let want = [
        format!(
            r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="CronJob",workload="report",reason="pod_security"}} {at}"#
        ),
        format!(
            r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="Deployment",workload="web",reason="quota"}} {at}"#
        ),
        format!(
            r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="ReplicaSet",workload="cache-v2",reason="other"}} {at}"#
        ),
        format!(
            r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="StatefulSet",workload="db",reason="webhook"}} {at}"#
        ),
    ];
    let out = text_of(&exposition_of(source.clone()), Format::Prometheus);
    assert_eq!(samples(&out, "crashloop_workload_pod_refused_timestamp_seconds"), want);
    // The Event expires: the refusal goes with it.
    lock_unpoisoned(&shared).delete(&events[0], 1_795_520_000);
    let out = text_of(&exposition_of(source), Format::Prometheus);
    assert_eq!(
        samples(&out, "crashloop_workload_pod_refused_timestamp_seconds"),
        want[..1].iter().chain(&want[2..]).cloned().collect::<Vec<_>>()
    );
}

#[test]
fn every_family_is_served() {
    let pulling: SlimPod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "puller", "namespace": "shop", "uid": "u"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
        "status": {"containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
    }))
    .expect("pod");
    let evicted: SlimPod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "evicted", "namespace": "shop", "uid": "e"},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. "}
    }))
    .expect("pod");
    let pending: SlimPod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "pending", "namespace": "shop", "uid": "p"},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient cpu.", "lastTransitionTime": "2026-11-24T09:00:00Z"}]}
    }))
    .expect("pod");
    let initializing: SlimPod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "initializing", "namespace": "shop", "uid": "i"},
        "spec": {"initContainers": [{"name": "wait"}], "containers": [{"name": "c"}]},
        "status": {"phase": "Pending",
            "initContainerStatuses": [{"name": "wait", "restartCount": 0, "state": {"running": {"startedAt": "2026-11-24T09:00:00Z"}}}],
            "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}
    }))
    .expect("pod");
    // A pod of the same Deployment made from another template: a rollout.
    let mut rolled = fixture("deployment-oom-crashloop");
    rolled.metadata.name = Some("checkout-5f6e7d8c9-a1b2c".into());
    rolled.uid = "rolled".into();
    rolled.ready = true;
    rolled.shown = Some(Box::new(crate::view::Shown { template: Some("5f6e7d8c9".into()), labels: Box::default() }));
    let pods = [
        fixture("deployment-oom-crashloop"),
        rolled,
        fixture("missing-configmap"),
        pulling,
        evicted,
        pending,
        initializing,
    ];
    let cache = cache_of(pods.map(|pod| track(None, pod, NOW, true)));
    // A pod first seen after the first list: its restarts count in its workload's.
    let fresh = track(None, fixture("oom-exit-1"), NOW, false);
    let added = crate::history::WorkloadHistory::added(None, &fresh).expect("its restarts count");
    lock_unpoisoned(&cache.workloads).add(&fresh, added, NOW);
    let self_metrics = SelfMetrics::default();
    self_metrics.events_seen.inc();
    self_metrics.events_ignored.get_or_create(&ReasonLabels { reason: IgnoredReason::UnknownPod }).inc();
    self_metrics.event_parse_failures.inc();
    self_metrics.log_fetches.get_or_create(&ResultLabels { result: LogFetchResult::NotFound }).inc();
    self_metrics
        .watch_events
        .get_or_create(&WatchEventLabels { resource: "pods", r#type: WatchEventType::Apply })
        .inc();
    self_metrics.relists.get_or_create(&ResourceLabels { resource: "pods" }).inc();
    self_metrics.api_errors.get_or_create(&ApiErrorLabels { resource: "pods", kind: ApiErrorKind::Forbidden }).inc();
    let mut counts = crate::event_counts::EventCounts::new();
    counts.baseline = false;
    counts.apply(&refused_event("web-6c9b7f4b8d", "ReplicaSet", "exceeded quota: compute"), |_, _| None);
    let source = PodSource { events: SharedEvents::new(std::sync::Mutex::new(counts)), ..source_over(cache) };
    let out = text_of(&Exposition::new(source, &self_metrics), Format::Prometheus);
    assert!(out.contains(
        r#"crashloop_pod_missing_object{namespace="shop",pod="api-6f7d8-qwert",kind="configmap",name="app-config"} 1"#
    ));
    assert!(out.contains(r#"crashloop_container_image_pull_failure{namespace="shop",pod="puller",container="c",container_type="regular",category="other"} 1"#));
    assert!(out.contains(
        r#"crashloop_pod_disruption{namespace="shop",pod="evicted",disruption="evicted",resource="memory"} 1"#
    ));
    assert!(out.contains(r#"crashloop_disrupted_pods{namespace="shop",disruption="evicted"} 1"#));
    assert!(
        out.contains(
            r#"crashloop_pod_unschedulable_since_timestamp_seconds{namespace="shop",pod="pending"} 1795510800"#
        )
    );
    assert!(out.contains(r#"crashloop_container_probable_cause{namespace="shop",pod="pending",container="c",container_type="regular",cause="unschedulable"} 1"#));
    for family in families::ALL {
        let (name, kind) = (family.name, family.kind.as_str());
        assert!(out.contains(&format!("# TYPE {name} {kind}\n")), "{name} has no TYPE line");
        assert!(!samples(&out, name).is_empty(), "{name} has no sample");
    }
}

/// An OOM kill says which limit it hit: the container's own, the pod-level one (a
/// container without its own), or none (the node ran out of memory).
#[test]
fn an_oom_kill_says_which_limit_it_ran_under() {
    use serde_json::json;
    let oom = |c: &str| {
        json!({"name": c, "restartCount": 1, "state": {"running": {"startedAt": "2026-11-24T09:00:00Z"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                "startedAt": "2026-11-24T08:59:00Z", "finishedAt": "2026-11-24T08:59:30Z"}}})
    };
    let pod = |name: &str, spec: serde_json::Value| -> SlimPod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "t", "uid": format!("uid-{name}")},
            "spec": spec,
            "status": {"phase": "Running", "containerStatuses": [oom("app")]}
        }))
        .expect("pod")
    };
    let own = pod("own", json!({"containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}]}));
    let shared = pod("shared", json!({"containers": [{"name": "app"}], "resources": {"limits": {"memory": "1Gi"}}}));
    let unlimited = pod("unlimited", json!({"containers": [{"name": "app"}]}));
    let out = render_pods(vec![own, shared, unlimited], false, false);
    let mut lines: Vec<&str> =
        out.lines().filter(|l| l.starts_with("crashloop_container_last_oom_kill_limit{")).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            r#"crashloop_container_last_oom_kill_limit{namespace="t",pod="own",container="app",container_type="regular",limit="container"} 1"#,
            r#"crashloop_container_last_oom_kill_limit{namespace="t",pod="shared",container="app",container_type="regular",limit="pod"} 1"#,
            r#"crashloop_container_last_oom_kill_limit{namespace="t",pod="unlimited",container="app",container_type="regular",limit="none"} 1"#,
        ]
    );
}

/// With several namespaces watched (one cache each), the last sync is the stalest cache's,
/// and none is written while any cache has not finished its first list.
#[test]
fn the_last_sync_is_the_stalest_namespaces() {
    use std::sync::atomic::Ordering;
    let caches: Vec<PodCache> = [NOW - 5, NOW - 90, NOW]
        .into_iter()
        .map(|t| {
            let cache = cache_of([]);
            cache.last_sync.store(t, Ordering::Relaxed);
            cache
        })
        .collect();
    let render = |caches: Vec<PodCache>| {
        let source = PodSource { caches, ..source_over(cache_of([])) };
        let out = text_of(&exposition_of(source), Format::Prometheus);
        samples(&out, "crashloop_exporter_last_sync_timestamp_seconds")
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let stalest = format!(r#"crashloop_exporter_last_sync_timestamp_seconds{{resource="pods"}} {}"#, NOW - 90);
    assert_eq!(render(caches.clone()), [stalest]);
    caches[1].last_sync.store(0, Ordering::Relaxed);
    assert_eq!(render(caches), Vec::<String>::new(), "a namespace not listed yet: no last sync");
}

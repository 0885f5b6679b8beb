//! The exporter against a real kube-apiserver and etcd: a Deployment pod is created, the
//! test plays the kubelet through the status subresource, and `/metrics` must follow.

use crate::common::{EXPORTER, Exporter, pod_lines, promtool_check_metrics, samples};
use crashloop_testbed::{self as testbed, Terminated};
use serde_json::json;

const NS: &str = "it-pods";
const POD: &str = "web-5d4f8c7b9-x2x4q";
const APP: &str = r#"namespace="it-pods",pod="web-5d4f8c7b9-x2x4q",container="app",container_type="regular""#;

fn line(family: &str, extra: &str, value: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!("{family}{{{APP}{sep}{extra}}} {value}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashloop_pod_lifecycle_on_real_apiserver() {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");

    let mut app = testbed::container("app", "registry.example/web:1.2");
    app["resources"] = json!({"limits": {"memory": "256Mi"}});
    let mut manifest = testbed::deployment_pod(NS, "web", "5d4f8c7b9", "x2x4q", vec![app]);
    manifest["metadata"]["labels"]["team"] = json!("payments");
    let pod = testbed::create_pod(&client, NS, &manifest).await.expect("create pod");

    // `--pod-labels`: a label the pod has, and one it lacks (an empty value).
    let exporter = Exporter::start(
        EXPORTER,
        &cluster.kubeconfig_path(),
        &["--namespace", NS, "--pod-labels", "team,app.kubernetes.io/part-of"],
    )
    .await;
    exporter
        .metrics_until("the new pod", |out| out.contains(&line("crashloop_container_restarts_total", "", "0")))
        .await;

    // The kubelet reports: five restarts, OOM-killed, now in CrashLoopBackOff for 2m40s.
    let finished = testbed::timestamp(1_795_000_000);
    let last = Terminated::new("OOMKilled", 137, testbed::timestamp(1_794_999_970), finished.clone());
    let status = testbed::pod_status(&pod, "Running", vec![testbed::crashloop_status(&pod, "app", 5, "2m40s", &last)]);
    testbed::patch_status(&client, NS, POD, &status).await.expect("patch status");

    let out = exporter
        .metrics_until("restartCount 5", |out| out.contains(&line("crashloop_container_restarts_total", "", "5")))
        .await;
    let expected = [
        ("crashloop_container_restarts_total", "", "5"),
        ("crashloop_container_last_terminated_exit_code", "", "137"),
        ("crashloop_container_last_terminated_signal", "", "9"),
        ("crashloop_container_last_terminated_reason", r#"reason="OOMKilled""#, "1"),
        ("crashloop_container_last_terminated_timestamp_seconds", "", "1795000000"),
        ("crashloop_container_last_run_seconds", "", "30"),
        ("crashloop_container_last_terminated_oom_killed", "", "1"),
        ("crashloop_container_in_backoff", "", "1"),
        ("crashloop_container_backoff_delay_seconds", r#"source="kubelet""#, "160.0"),
        ("crashloop_container_next_restart_timestamp_seconds", "", "1795000160.0"),
        ("crashloop_container_memory_limit_bytes", "", "268435456"),
        ("crashloop_container_crashlooping", "", "1"),
    ];
    for (family, extra, value) in expected {
        assert_eq!(samples(&out, family), [line(family, extra, value)], "{family}");
    }
    let reason = |r: &str, v: &str| line("crashloop_container_waiting_reason", &format!("reason=\"{r}\""), v);
    assert_eq!(samples(&out, "crashloop_container_waiting_reason"), [reason("CrashLoopBackOff", "1")]);
    assert_eq!(
        samples(&out, "crashloop_pod_workload_info"),
        [
            r#"crashloop_pod_workload_info{namespace="it-pods",pod="web-5d4f8c7b9-x2x4q",workload_kind="Deployment",workload="web",template="5d4f8c7b9",label_team="payments",label_app_kubernetes_io_part_of=""} 1"#
        ]
    );
    // The workload's own counters; no ready pods per template, as it has only one.
    let workload = r#"namespace="it-pods",workload_kind="Deployment",workload="web""#;
    assert_eq!(
        samples(&out, "crashloop_workload_restarts_total"),
        [format!("crashloop_workload_restarts_total{{{workload}}} 5")]
    );
    assert_eq!(
        samples(&out, "crashloop_workload_terminations_total"),
        ["OOMKilled", "Error", "Completed", "StartError", "other"].map(|r| format!(
            "crashloop_workload_terminations_total{{{workload},reason=\"{r}\"}} {}",
            if r == "OOMKilled" { 5 } else { 0 }
        ))
    );
    assert_eq!(samples(&out, "crashloop_workload_ready_pods"), Vec::<&str>::new());
    assert_eq!(
        samples(&out, "crashloop_crashloopbackoff_containers"),
        [r#"crashloop_crashloopbackoff_containers{namespace="it-pods"} 1"#]
    );
    // Restarts before the first observation are the baseline: the pod was first seen with 0,
    // so all five are counted, as OOM kills.
    assert!(
        samples(&out, "crashloop_container_terminations_total")
            .contains(&line("crashloop_container_terminations_total", r#"reason="OOMKilled""#, "5").as_str())
    );

    let (ok, report) = promtool_check_metrics(&out);
    assert!(ok, "promtool check metrics reported:\n{report}");

    // Back to Running: no longer in back-off, still crash-looping until it has run 10 minutes.
    let status =
        testbed::pod_status(&pod, "Running", vec![testbed::running_status("app", 5, &testbed::ago(5), Some(&last))]);
    testbed::patch_status(&client, NS, POD, &status).await.expect("patch running");
    let out = exporter
        .metrics_until("running", |out| out.contains(&line("crashloop_container_state", r#"state="running""#, "1")))
        .await;
    assert_eq!(samples(&out, "crashloop_container_in_backoff"), [line("crashloop_container_in_backoff", "", "0")]);
    assert!(samples(&out, "crashloop_container_backoff_delay_seconds").is_empty());
    assert!(samples(&out, "crashloop_container_next_restart_timestamp_seconds").is_empty());
    assert_eq!(samples(&out, "crashloop_container_crashlooping"), [line("crashloop_container_crashlooping", "", "1")]);
    assert!(samples(&out, "crashloop_container_waiting_reason").is_empty(), "not waiting: no reason");
    assert_eq!(
        samples(&out, "crashloop_container_restarts_total"),
        [line("crashloop_container_restarts_total", "", "5")]
    );
    assert!(samples(&out, "crashloop_crashloopbackoff_containers").is_empty());

    // Deleted: every series of the pod is gone.
    testbed::delete_pod(&client, NS, POD).await.expect("delete");
    let out = exporter.metrics_until("the pod's series to go", |out| pod_lines(out, POD).is_empty()).await;
    assert!(out.contains(r#"crashloop_exporter_cached_objects{resource="pods"} 0"#), "{out}");
    assert!(out.contains(r#"crashloop_exporter_watch_events_total{resource="pods",type="delete"} 1"#), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints_formats_and_gzip() {
    let cluster = testbed::shared().expect("testbed cluster");
    let client = cluster.client().await.expect("client");
    let ns = "it-http";
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let manifest = testbed::pod(ns, "solo", vec![testbed::container("main", "busybox")]);
    testbed::create_pod(&client, ns, &manifest).await.expect("create pod");
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", ns]).await;

    let (status, headers, body) = crate::common::http_get(
        &exporter.addr,
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    )
    .await
    .expect("openmetrics scrape");
    assert_eq!(status, 200);
    let content_type = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
    assert_eq!(content_type, Some("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    let text = String::from_utf8(body).expect("utf-8");
    assert!(text.ends_with("# EOF\n"));
    assert!(text.contains(
        r#"crashloop_pod_workload_info{namespace="it-http",pod="solo",workload_kind="Pod",workload="solo",template=""} 1"#
    ));

    let (status, headers, body) =
        crate::common::http_get(&exporter.addr, "/metrics", &[("Accept-Encoding", "gzip")]).await.expect("gzip scrape");
    assert_eq!(status, 200);
    assert!(headers.contains(&("content-encoding".into(), "gzip".into())));
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).expect("valid gzip");
    assert!(plain.contains(r#"crashloop_container_restarts_total{namespace="it-http",pod="solo",container="main",container_type="regular"} 0"#));
    assert!(!plain.contains("# EOF"));

    for (path, code) in [("/healthz", 200), ("/readyz", 200), ("/", 200), ("/nope", 404)] {
        let (status, _) = exporter.get(path, &[]).await.expect("request");
        assert_eq!(status, code, "{path}");
    }
}

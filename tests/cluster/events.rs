//! Event counters against a real kube-apiserver: the test POSTs Events and PATCHes their
//! count as the kubelet's correlator does, and the counters must hold exactly.

use crate::common::{EXPORTER, Exporter, samples};
use crashloop_testbed::{self as testbed, EventSpec};
use serde_json::json;

const NS: &str = "it-events";
const POD: &str = "api-7c8d9f-abcde";

fn app(extra: &str, value: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{namespace="it-events",pod="api-7c8d9f-abcde",container="app",container_type="regular"{sep}{extra}}} {value}"#
    )
}

fn probe_line(family: &str, probe: &str, value: u64) -> String {
    format!("{family}{}", app(&format!("probe=\"{probe}\""), &value.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_counters_hold_through_updates_and_restarts() {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");

    let mut container = testbed::container("app", "registry.example/api:3");
    let probe = json!({"httpGet": {"path": "/healthz", "port": 8080}});
    container["livenessProbe"] = probe.clone();
    container["readinessProbe"] = probe.clone();
    container["startupProbe"] = probe;
    let pod = testbed::create_pod(&client, NS, &testbed::deployment_pod(NS, "api", "7c8d9f", "abcde", vec![container]))
        .await
        .expect("create pod");
    let last = testbed::Terminated::new("Error", 137, testbed::ago(100), testbed::ago(60));
    let status =
        testbed::pod_status(&pod, "Running", vec![testbed::running_status("app", 1, &testbed::ago(50), Some(&last))]);
    testbed::patch_status(&client, NS, POD, &status).await.expect("status");

    let kubeconfig = cluster.kubeconfig_path();
    let mut exporter = Exporter::start(EXPORTER, &kubeconfig, &["--namespace", NS]).await;
    let liveness = |n| probe_line("crashloop_container_probe_failures_total", "liveness", n);
    exporter.metrics_until("liveness at 0", |o| o.contains(&liveness(0))).await;

    // One Unhealthy event, then the correlator's PATCHes to 3 and 7.
    let unhealthy =
        EventSpec::for_pod(&pod, true, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 503")
            .container("app");
    testbed::post_event(&client, NS, &unhealthy).await.expect("post");
    exporter.metrics_until("liveness 1", |o| o.contains(&liveness(1))).await;
    testbed::patch_event_count(&client, NS, &unhealthy.name, 3, &testbed::ago(0)).await.expect("patch 3");
    exporter.metrics_until("liveness 3", |o| o.contains(&liveness(3))).await;
    testbed::patch_event_count(&client, NS, &unhealthy.name, 7, &testbed::ago(0)).await.expect("patch 7");
    let out = exporter.metrics_until("liveness 7", |o| o.contains(&liveness(7))).await;
    assert_eq!(samples(&out, "crashloop_container_probe_failures_total").iter().filter(|l| l.contains(POD)).count(), 3);

    // A restarted exporter takes the first list as its baseline: 0, then only new occurrences.
    exporter.kill();
    exporter = Exporter::start(EXPORTER, &kubeconfig, &["--namespace", NS]).await;
    let out = exporter.metrics_until("the pod after restart", |o| o.contains(&liveness(0))).await;
    assert!(!out.contains(&liveness(7)) && !out.contains(&liveness(14)));
    testbed::patch_event_count(&client, NS, &unhealthy.name, 9, &testbed::ago(0)).await.expect("patch 9");
    exporter.metrics_until("liveness 2 after restart", |o| o.contains(&liveness(2))).await;

    // Readiness, startup, and a liveness kill.
    for (reason, message, count) in [
        ("Unhealthy", "Readiness probe failed: Get \"http://10.244.1.17:8080/healthz\": context deadline exceeded", 4),
        ("Unhealthy", "Startup probe failed: HTTP probe failed with statuscode: 500", 2),
        ("Killing", "Container app failed liveness probe, will be restarted", 1),
        ("BackOff", "Back-off restarting failed container app in pod api-7c8d9f-abcde_it-events(uid)", 5),
    ] {
        let spec = EventSpec::for_pod(&pod, reason != "Killing", reason, message).container("app").repeated(count, 30);
        testbed::post_event(&client, NS, &spec).await.expect("post");
    }
    let out = exporter
        .metrics_until("all counters", |o| {
            o.contains(&format!("crashloop_container_backoff_events_total{}", app("", "5")))
        })
        .await;
    let kills = |p, n| probe_line("crashloop_container_probe_kills_total", p, n);
    for expected in [
        liveness(2),
        probe_line("crashloop_container_probe_failures_total", "readiness", 4),
        probe_line("crashloop_container_probe_failures_total", "startup", 2),
        kills("liveness", 1),
        kills("startup", 0),
    ] {
        assert!(out.contains(&expected), "missing {expected}\n{out}");
    }

    // An Event for a pod that does not exist and one with a malformed fieldPath: counted skips.
    let mut ghost = EventSpec::for_pod(&pod, true, "Unhealthy", "Liveness probe failed: nope");
    ghost.pod_name = "ghost".into();
    ghost.pod_uid = String::new();
    ghost.name = format!("ghost.{}", &unhealthy.name[POD.len() + 1..]);
    testbed::post_event(&client, NS, &ghost).await.expect("post ghost");
    let mut bad = EventSpec::for_pod(&pod, true, "Unhealthy", "Liveness probe failed: nope");
    bad.field_path = "spec.containers{app".into();
    bad.name.push('b');
    testbed::post_event(&client, NS, &bad).await.expect("post bad fieldPath");
    let out = exporter
        .metrics_until("two skips", |o| {
            o.contains(r#"crashloop_exporter_events_ignored_total{reason="bad_field_path"} 1"#)
        })
        .await;
    assert!(out.contains(r#"crashloop_exporter_events_ignored_total{reason="unknown_pod"} 1"#), "{out}");
    assert!(out.contains(&liveness(2)), "skipped events must not count\n{out}");
    let (status, _) = exporter.get("/healthz", &[]).await.expect("healthz");
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_configmap_is_reported_until_the_pod_starts() {
    let cluster = testbed::shared().expect("testbed cluster");
    let client = cluster.client().await.expect("client");
    let ns = "it-missing";
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let manifest = testbed::pod(ns, "reader", vec![testbed::container("main", "busybox")]);
    let pod = testbed::create_pod(&client, ns, &manifest).await.expect("pod");
    let waiting =
        testbed::pod_status(&pod, "Pending", vec![testbed::waiting_status("main", "ContainerCreating", "", 0, None)]);
    testbed::patch_status(&client, ns, "reader", &waiting).await.expect("status");
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", ns]).await;

    let mount = EventSpec::for_pod(
        &pod,
        true,
        "FailedMount",
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found",
    );
    testbed::post_event(&client, ns, &mount).await.expect("post FailedMount");
    let gauge =
        r#"crashloop_pod_missing_object{namespace="it-missing",pod="reader",kind="configmap",name="app-config"} 1"#;
    let out = exporter.metrics_until("the missing ConfigMap", |o| o.contains(gauge)).await;
    assert_eq!(samples(&out, "crashloop_pod_missing_object"), [gauge]);

    // The user creates the ConfigMap; the kubelet mounts it and starts the container.
    let cm: k8s_openapi::api::core::v1::ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "app-config"}, "data": {"k": "v"}})).expect("configmap");
    kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client.clone(), ns)
        .create(&Default::default(), &cm)
        .await
        .expect("create configmap");
    let running =
        testbed::pod_status(&pod, "Running", vec![testbed::running_status("main", 0, &testbed::ago(1), None)]);
    testbed::patch_status(&client, ns, "reader", &running).await.expect("running");
    exporter.metrics_until("the gauge to clear", |o| samples(o, "crashloop_pod_missing_object").is_empty()).await;
}

//! Nothing sensitive in the exporter's log: a pod whose env holds a secret-looking value, and
//! whose waiting and termination messages and Events carry text, is watched and exported by
//! the real binary on a real kube-apiserver, at info and at debug level. The env value must
//! never appear in the log; the message texts must not appear at info.

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{EXPORTER, Exporter, TempDir, pod_lines};
use crashloop_testbed::{self as testbed, EventSpec, Terminated};
use serde_json::json;

const NS: &str = "it-log-hygiene";
const POD: &str = "vault-client-7b9d6c5f4-k8s2p";
const SECRET: &str = "s3cr3t-9f8e7d6c5b4a-do-not-log";
const WAITING_TEXT: &str = "waiting-text-4c1a: back-off pulling DB_PASSWORD=";
const TERMINATION_TEXT: &str = "termination-text-b7e2: panic: could not connect to db with password";
const EVENT_TEXT: &str = "event-text-0d3f: Liveness probe failed: body said token=";

/// The exporter's log while it watches the pod at `level`.
async fn log_at(level: &str, tmp: &TempDir) -> String {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let path = tmp.0.join(format!("exporter-{level}.log"));
    let file = fs::File::create(&path).expect("log file");
    let exporter = Exporter::spawn(
        EXPORTER,
        &cluster.kubeconfig_path(),
        &["--namespace", NS, "--log-level", level],
        Stdio::from(file),
    )
    .ready()
    .await;
    exporter
        .metrics_until("the pod's termination and probe failure", |out| {
            let lines = pod_lines(out, POD);
            lines.iter().any(|l| l.starts_with("crashloop_container_last_terminated_exit_code") && l.ends_with(" 1"))
                && lines.iter().any(|l| l.starts_with("crashloop_container_probe_failures_total"))
        })
        .await;
    // A little longer, for anything logged after the scrape.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(exporter);
    fs::read_to_string(&path).expect("the exporter's log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_holds_no_env_values_and_no_message_text_at_info() {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");
    let mut app = testbed::container("app", "registry.example/vault-client:1");
    app["env"] =
        json!([{"name": "DB_PASSWORD", "value": SECRET}, {"name": "API_TOKEN", "value": format!("Bearer {SECRET}")}]);
    app["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": 8080}});
    let manifest = testbed::deployment_pod(NS, "vault-client", "7b9d6c5f4", "k8s2p", vec![app]);
    let pod = testbed::create_pod(&client, NS, &manifest).await.expect("create pod");
    let mut last = Terminated::new("Error", 1, testbed::ago(20), testbed::ago(10));
    last.message = Some(format!("{TERMINATION_TEXT} {SECRET}"));
    let waiting =
        testbed::waiting_status("app", "CrashLoopBackOff", &format!("{WAITING_TEXT}{SECRET}"), 4, Some(&last));
    let status = testbed::pod_status(&pod, "Running", vec![waiting]);
    testbed::patch_status(&client, NS, POD, &status).await.expect("status");
    let probe = EventSpec::for_pod(&pod, true, "Unhealthy", &format!("{EVENT_TEXT}{SECRET}")).container("app");
    testbed::post_event(&client, NS, &probe).await.expect("event");

    let tmp = TempDir::new();
    for level in ["info", "debug"] {
        let log = log_at(level, &tmp).await;
        assert!(log.contains("initial list complete"), "the {level} log is not the exporter's:\n{log}");
        assert!(!log.contains(SECRET), "the {level} log holds the env value:\n{log}");
        if level == "info" {
            for text in [WAITING_TEXT, TERMINATION_TEXT, EVENT_TEXT] {
                assert!(!log.contains(text), "the info log holds message text {text:?}:\n{log}");
            }
        }
        let lines = log.lines().count();
        let texts = [WAITING_TEXT, TERMINATION_TEXT, EVENT_TEXT].iter().filter(|t| log.contains(*t)).count();
        eprintln!("log hygiene: {level}: {lines} log lines, no env value, {texts} of 3 message texts");
    }
}

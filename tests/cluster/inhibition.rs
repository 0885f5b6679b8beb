//! The shipped Alertmanager configuration (`alerts/alertmanager.example.yml`) with the real
//! Alertmanager: for one incident, the alerts of both rule sets (ours and the
//! kubernetes-mixin's, with the label sets `alerts/tests/kubernetes-mixin.test.yaml` shows
//! each rule set gives) arrive at the webhook as one notification, the specific alert of
//! ours; the generic ones are inhibited. An alert of the mixin about another pod still
//! arrives: the inhibition is per container (or pod), never wider.
//!
//! The configuration is used as shipped; only the webhook's URL and the group timers (30 s
//! and 5 m, so that the test takes seconds) are replaced.

use std::fs;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Proc, Received, TempDir, api, free_port, post10, serve_webhook, wait_for};
use serde_json::{Value, json};

/// The kubernetes-mixin's alerts carry the labels of kube-state-metrics' series and target.
fn ksm(alertname: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = json!({
        "alertname": alertname,
        "severity": "warning",
        "job": "kube-state-metrics",
        "instance": "10.0.0.9:8080",
    });
    for (k, v) in labels {
        l[*k] = json!(v);
    }
    l
}

/// Ours carry the container, its type and the workload.
fn ours(alertname: &str, severity: &str, labels: &[(&str, &str)]) -> Value {
    let mut l = json!({ "alertname": alertname, "severity": severity });
    for (k, v) in labels {
        l[*k] = json!(v);
    }
    l
}

struct Incident {
    what: &'static str,
    alerts: Vec<Value>,
    /// The alert names that must reach the webhook; every other one must be inhibited.
    arrive: Vec<&'static str>,
}

fn incidents() -> Vec<Incident> {
    let oom_pod = [("namespace", "shop"), ("pod", "search-5f6d7c8b9-abcde")];
    let oom_container = [oom_pod[0], oom_pod[1], ("container", "indexer")];
    let ours_oom = [
        oom_container[0],
        oom_container[1],
        oom_container[2],
        ("container_type", "regular"),
        ("workload_kind", "Deployment"),
        ("workload", "search"),
    ];
    let pull_pod = [("namespace", "shop"), ("pod", "cart-7d9c6b5f4-qwert")];
    let ours_pull = [
        pull_pod[0],
        pull_pod[1],
        ("container", "app"),
        ("container_type", "regular"),
        ("workload_kind", "Deployment"),
        ("workload", "cart"),
    ];
    let missing_pod = [("namespace", "shop"), ("pod", "mail-6b5d4c3f2-zxcvb")];
    vec![
        Incident {
            what: "an OOM loop",
            alerts: vec![
                ours("CrashloopContainerOOMKilledRepeatedly", "warning", &ours_oom),
                ours("CrashloopContainerCrashLooping", "warning", &ours_oom),
                ksm(
                    "KubePodCrashLooping",
                    &[
                        oom_container[0],
                        oom_container[1],
                        oom_container[2],
                        ("reason", "CrashLoopBackOff"),
                        ("uid", "0b6c1d2e"),
                    ],
                ),
                ksm("KubePodNotReady", &oom_pod),
            ],
            arrive: vec!["CrashloopContainerOOMKilledRepeatedly"],
        },
        Incident {
            what: "an image that cannot be pulled",
            alerts: vec![
                ours("CrashloopContainerImagePullFailing", "warning", &ours_pull),
                ksm(
                    "KubeContainerWaiting",
                    &[
                        pull_pod[0],
                        pull_pod[1],
                        ("container", "app"),
                        ("reason", "ImagePullBackOff"),
                        ("uid", "3f4a5b6c"),
                    ],
                ),
                ksm("KubePodNotReady", &pull_pod),
            ],
            arrive: vec!["CrashloopContainerImagePullFailing"],
        },
        Incident {
            what: "a missing ConfigMap",
            alerts: vec![
                ours(
                    "CrashloopPodMissingConfigObject",
                    "warning",
                    &[
                        missing_pod[0],
                        missing_pod[1],
                        ("kind", "configmap"),
                        ("name", "mail-config"),
                        ("workload_kind", "Deployment"),
                        ("workload", "mail"),
                    ],
                ),
                ksm(
                    "KubeContainerWaiting",
                    &[
                        missing_pod[0],
                        missing_pod[1],
                        ("container", "app"),
                        ("reason", "ContainerCreating"),
                        ("uid", "7d8e9f0a"),
                    ],
                ),
                ksm("KubePodNotReady", &missing_pod),
            ],
            arrive: vec!["CrashloopPodMissingConfigObject"],
        },
        Incident {
            what: "a crash loop of no specific cause",
            alerts: vec![
                ours(
                    "CrashloopContainerCrashLooping",
                    "warning",
                    &[
                        ("namespace", "shop"),
                        ("pod", "api-6d5c4b3a2-lkjhg"),
                        ("container", "app"),
                        ("container_type", "regular"),
                        ("workload_kind", "Deployment"),
                        ("workload", "api"),
                    ],
                ),
                ksm(
                    "KubePodCrashLooping",
                    &[
                        ("namespace", "shop"),
                        ("pod", "api-6d5c4b3a2-lkjhg"),
                        ("container", "app"),
                        ("reason", "CrashLoopBackOff"),
                        ("uid", "5e6f7a8b"),
                    ],
                ),
                ksm("KubePodNotReady", &[("namespace", "shop"), ("pod", "api-6d5c4b3a2-lkjhg")]),
            ],
            arrive: vec!["CrashloopContainerCrashLooping"],
        },
        Incident {
            what: "most replicas of a workload OOM-killed",
            alerts: {
                let mut alerts = vec![ours(
                    "CrashloopWorkloadOOMKilled",
                    "critical",
                    &[("namespace", "shop"), ("workload_kind", "Deployment"), ("workload", "ranker")],
                )];
                for pod in ["ranker-7f6e5d4c3-aaaaa", "ranker-7f6e5d4c3-bbbbb"] {
                    let container = [("namespace", "shop"), ("pod", pod), ("container", "app")];
                    let mut labels = container.to_vec();
                    labels.extend([
                        ("container_type", "regular"),
                        ("workload_kind", "Deployment"),
                        ("workload", "ranker"),
                    ]);
                    alerts.push(ours("CrashloopContainerOOMKilledRepeatedly", "warning", &labels));
                    alerts.push(ours("CrashloopContainerCrashLooping", "warning", &labels));
                    let mut ksm_labels = container.to_vec();
                    ksm_labels.extend([("reason", "CrashLoopBackOff"), ("uid", pod)]);
                    alerts.push(ksm("KubePodCrashLooping", &ksm_labels));
                    alerts.push(ksm("KubePodNotReady", &container[..2]));
                }
                alerts
            },
            arrive: vec!["CrashloopWorkloadOOMKilled"],
        },
        Incident {
            what: "another pod, about which only the kubernetes-mixin alerts",
            alerts: vec![
                ksm(
                    "KubePodCrashLooping",
                    &[
                        ("namespace", "shop"),
                        ("pod", "web-5c4b3a2d1-poiuy"),
                        ("container", "app"),
                        ("reason", "CrashLoopBackOff"),
                        ("uid", "1a2b3c4d"),
                    ],
                ),
                ksm("KubePodNotReady", &[("namespace", "shop"), ("pod", "web-5c4b3a2d1-poiuy")]),
            ],
            arrive: vec!["KubePodCrashLooping", "KubePodNotReady"],
        },
    ]
}

/// The shipped configuration, sending to `hook` with short group timers.
fn shipped_config(hook: &str) -> String {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        fs::read_to_string(repo.join("alerts/alertmanager.example.yml")).expect("alerts/alertmanager.example.yml");
    let url = "http://alert-relay.monitoring.svc:8080/crashloop";
    assert!(text.contains(url), "the example configuration no longer sends to {url}: update this test");
    let mut out = String::new();
    for line in text.lines() {
        let timer = ["group_wait:", "group_interval:"].iter().find(|t| line.trim_start().starts_with(**t));
        let line = match timer {
            Some(t) => format!("{}{t} 1s", &line[..line.len() - line.trim_start().len()]),
            None => line.replace(url, hook),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_notification_per_incident_with_the_kubernetes_mixin_alerts_inhibited() {
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    let received: Received = Arc::default();
    let hook_addr = format!("127.0.0.1:{}", free_port());
    serve_webhook(hook_addr.parse().expect("address"), received.clone()).await;
    let config = dir.join("alertmanager.yml");
    fs::write(&config, shipped_config(&format!("http://{hook_addr}/hook"))).expect("alertmanager.yml");
    let check = Command::new("amtool").arg("check-config").arg(&config).output().expect("amtool (.ci/install)");
    assert!(check.status.success(), "amtool check-config:\n{}", String::from_utf8_lossy(&check.stdout));

    let (mut alertmanager, am) = Proc::alertmanager(&dir, &config);
    wait_for("Alertmanager to be ready", Duration::from_secs(30), || async {
        api(&am, "/api/v2/status").await.ok().map(|_| ())
    })
    .await;

    // Every alert of every incident in one request, as one Prometheus evaluation sends them.
    let incidents = incidents();
    let alerts: Vec<Value> = incidents
        .iter()
        .flat_map(|i| i.alerts.iter())
        .map(|labels| json!({ "labels": labels, "annotations": { "summary": "test" } }))
        .collect();
    let (status, body) = post10(&am, "/api/v2/alerts", &Value::Array(alerts.clone()).to_string()).await.expect("POST");
    assert_eq!(status, 200, "POST /api/v2/alerts: {}", String::from_utf8_lossy(&body));

    // Alertmanager's own view: each alert active, or suppressed by an inhibition.
    let view = wait_for("Alertmanager to hold every alert", Duration::from_secs(10), || async {
        let v = api(&am, "/api/v2/alerts").await.ok()?;
        (v.as_array()?.len() == alerts.len()).then_some(v)
    })
    .await;
    let state_of = |labels: &Value| {
        view.as_array()
            .and_then(|a| a.iter().find(|x| x["labels"] == *labels))
            .map(|x| x["status"]["state"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("Alertmanager lost {labels}"))
    };
    for incident in &incidents {
        for labels in &incident.alerts {
            let name = labels["alertname"].as_str().unwrap_or_default();
            let expected = if incident.arrive.contains(&name) { "active" } else { "suppressed" };
            assert_eq!(state_of(labels), expected, "{}: {labels}", incident.what);
        }
    }

    // What reaches the webhook: the arriving alerts, each once, and nothing else. Wait past
    // the group timers for anything more.
    let want: usize = incidents.iter().map(|i| i.arrive.len()).sum();
    let count = |r: &Received| -> usize {
        r.lock().unwrap().iter().map(|(_, p)| p["alerts"].as_array().map_or(0, Vec::len)).sum()
    };
    wait_for("the notifications", Duration::from_secs(20), || async { (count(&received) >= want).then_some(()) }).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    alertmanager.assert_running();
    let payloads = received.lock().unwrap().clone();
    let delivered: Vec<Value> =
        payloads.iter().flat_map(|(_, p)| p["alerts"].as_array().cloned().unwrap_or_default()).collect();
    for incident in &incidents {
        let names: Vec<&str> = delivered
            .iter()
            .filter(|a| incident.alerts.contains(&a["labels"]))
            .map(|a| a["labels"]["alertname"].as_str().unwrap_or_default())
            .collect();
        let mut want = incident.arrive.clone();
        let mut got = names.clone();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{}: delivered {names:?}", incident.what);
    }
    // Each incident of ours: one notification, holding just that alert.
    for name in
        ["CrashloopContainerOOMKilledRepeatedly", "CrashloopContainerImagePullFailing", "CrashloopPodMissingConfigObject", "CrashloopWorkloadOOMKilled"]
    {
        let notifications: Vec<&Value> = payloads
            .iter()
            .map(|(_, p)| p)
            .filter(|p| p["alerts"].as_array().is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == name)))
            .collect();
        assert_eq!(notifications.len(), 1, "{name}: {notifications:#?}");
        assert_eq!(notifications[0]["alerts"].as_array().map_or(0, Vec::len), 1, "{name}: {:#}", notifications[0]);
    }
    assert_eq!(delivered.len(), want, "{delivered:#?}");
}

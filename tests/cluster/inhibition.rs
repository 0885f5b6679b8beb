//! The shipped Alertmanager configuration (`alerts/alertmanager.example.yml`) with the real
//! Alertmanager: for one incident, the alerts of both rule sets (ours and the
//! kubernetes-mixin's, with the label sets `alerts/tests/kubernetes-mixin.test.yaml` shows
//! each rule set gives) arrive at the webhook as one notification, the specific alert of
//! ours; the generic ones are inhibited. The mixin's workload alerts
//! (`KubeDeploymentReplicasMismatch`, `KubeDeploymentRolloutStuck`,
//! `KubeStatefulSetReplicasMismatch`) are muted by ours about the same workload through the
//! `deployment`/`statefulset` labels, and kube-prometheus' `TargetDown` mutes
//! `CrashloopExporterDown`; an `info` probe kill mutes nothing. An alert of the mixin about
//! another pod still arrives: the inhibition is per container (or pod), never wider. And the same
//! notifications reach Slack as the message of `alerts/templates/crashloop.tmpl`: a title
//! with the counts and the group's labels, a line per alert (container, cause, restarts,
//! exit code, runbook), at most 10.
//!
//! The configuration and its templates are used as shipped; only the webhook's and Slack's
//! URLs and the group timers (30 s and 5 m, so that the test takes seconds) are replaced.

use std::fs;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Proc, Received, TempDir, api, free_port, post10, serve_webhook, wait_for};
use k8s_openapi::jiff::Timestamp;
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
            what: "a one-replica Deployment's rollout stuck on a crash-looping template",
            alerts: {
                let workload = [("namespace", "shop"), ("workload_kind", "Deployment"), ("workload", "quote")];
                let pod = [("namespace", "shop"), ("pod", "quote-9f8e7d6c5-zzzzz")];
                let mut stuck = workload.to_vec();
                stuck.extend([("deployment", "quote"), ("template", "9f8e7d6c5")]);
                let mut container = pod.to_vec();
                container.extend([("container", "app"), ("container_type", "regular")]);
                container.extend(workload[1..].iter().copied());
                let ksm_deployment = [("namespace", "shop"), ("deployment", "quote")];
                vec![
                    ours("CrashloopWorkloadRolloutStuck", "warning", &stuck),
                    ours("CrashloopContainerCrashLooping", "warning", &container),
                    ksm(
                        "KubePodCrashLooping",
                        &[pod[0], pod[1], ("container", "app"), ("reason", "CrashLoopBackOff"), ("uid", "9a8b7c6d")],
                    ),
                    ksm("KubePodNotReady", &pod),
                    ksm(
                        "KubeDeploymentRolloutStuck",
                        &[ksm_deployment[0], ksm_deployment[1], ("condition", "Progressing"), ("status", "false")],
                    ),
                    ksm("KubeDeploymentReplicasMismatch", &ksm_deployment),
                ]
            },
            arrive: vec!["CrashloopWorkloadRolloutStuck"],
        },
        Incident {
            what: "a StatefulSet down",
            alerts: {
                let mut alerts = vec![ours(
                    "CrashloopWorkloadCrashLooping",
                    "critical",
                    &[
                        ("namespace", "bank"),
                        ("workload_kind", "StatefulSet"),
                        ("workload", "vault"),
                        ("statefulset", "vault"),
                    ],
                )];
                for pod in ["vault-0", "vault-1"] {
                    alerts.push(ours(
                        "CrashloopContainerCrashLooping",
                        "warning",
                        &[
                            ("namespace", "bank"),
                            ("pod", pod),
                            ("container", "vault"),
                            ("container_type", "regular"),
                            ("workload_kind", "StatefulSet"),
                            ("workload", "vault"),
                        ],
                    ));
                }
                alerts.push(ksm("KubeStatefulSetReplicasMismatch", &[("namespace", "bank"), ("statefulset", "vault")]));
                alerts
            },
            arrive: vec!["CrashloopWorkloadCrashLooping"],
        },
        Incident {
            what: "the exporter's target down",
            alerts: vec![
                json!({"alertname": "TargetDown", "severity": "warning", "job": "crashloop-exporter",
                    "namespace": "monitoring", "service": "crashloop-exporter"}),
                ours(
                    "CrashloopExporterDown",
                    "warning",
                    &[
                        ("job", "crashloop-exporter"),
                        ("namespace", "monitoring"),
                        ("service", "crashloop-exporter"),
                        ("instance", "10.0.0.5:10743"),
                        ("pod", "crashloop-exporter-6b7c8d9e0-abcde"),
                        ("endpoint", "http"),
                    ],
                ),
            ],
            arrive: vec!["TargetDown"],
        },
        Incident {
            what: "a single liveness kill during a crash loop: the loop is not muted by a notice",
            alerts: {
                let labels = [
                    ("namespace", "shop"),
                    ("pod", "search-5f6d7c8b9-fghij"),
                    ("container", "indexer"),
                    ("container_type", "regular"),
                    ("workload_kind", "Deployment"),
                    ("workload", "search"),
                ];
                let mut probe = labels.to_vec();
                probe.push(("probe", "liveness"));
                vec![
                    ours("CrashloopContainerProbeKilled", "info", &probe),
                    ours("CrashloopContainerCrashLooping", "warning", &labels),
                ]
            },
            arrive: vec!["CrashloopContainerCrashLooping", "CrashloopContainerProbeKilled"],
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

const WEBHOOK_URL: &str = "http://alert-relay.monitoring.svc:8080/crashloop";
const SLACK_URL: &str = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";

/// The shipped configuration, sending to `hook` and `slack` with short group timers.
fn shipped_config(hook: &str, slack: &str) -> String {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        fs::read_to_string(repo.join("alerts/alertmanager.example.yml")).expect("alerts/alertmanager.example.yml");
    for url in [WEBHOOK_URL, SLACK_URL] {
        assert!(text.contains(url), "the example configuration no longer sends to {url}: update this test");
    }
    let mut out = String::new();
    for line in text.lines() {
        let timer = ["group_wait:", "group_interval:"].iter().find(|t| line.trim_start().starts_with(**t));
        let line = match timer {
            Some(t) => format!("{}{t} 1s", &line[..line.len() - line.trim_start().len()]),
            None => line.replace(WEBHOOK_URL, hook).replace(SLACK_URL, slack),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The real Alertmanager with the shipped configuration and templates (in `templates/`
/// beside the configuration, which names them relative to itself), sending to a webhook
/// and to a Slack-compatible receiver on loopback. Fields drop in order: the process first.
struct Shipped {
    alertmanager: Proc,
    am: String,
    webhook: Received,
    slack: Received,
    _dir: TempDir,
}

async fn start_shipped() -> Shipped {
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    let (webhook, slack): (Received, Received) = (Arc::default(), Arc::default());
    let hook_addr = format!("127.0.0.1:{}", free_port());
    serve_webhook(hook_addr.parse().expect("address"), webhook.clone()).await;
    let slack_addr = format!("127.0.0.1:{}", free_port());
    serve_webhook(slack_addr.parse().expect("address"), slack.clone()).await;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::create_dir_all(dir.join("templates")).expect("templates/");
    for entry in fs::read_dir(repo.join("alerts/templates")).expect("alerts/templates") {
        let path = entry.expect("alerts/templates").path();
        fs::copy(&path, dir.join("templates").join(path.file_name().expect("name"))).expect("copy template");
    }
    let config = dir.join("alertmanager.yml");
    let text = shipped_config(&format!("http://{hook_addr}/hook"), &format!("http://{slack_addr}/hook"));
    fs::write(&config, text).expect("alertmanager.yml");
    let check = Command::new("amtool").arg("check-config").arg(&config).output().expect("amtool (.ci/install)");
    assert!(check.status.success(), "amtool check-config:\n{}", String::from_utf8_lossy(&check.stdout));

    let (alertmanager, am) = Proc::alertmanager(&dir, &config);
    wait_for("Alertmanager to be ready", Duration::from_secs(30), || async {
        api(&am, "/api/v2/status").await.ok().map(|_| ())
    })
    .await;
    Shipped { alertmanager, am, webhook, slack, _dir: tmp }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_notification_per_incident_with_the_kubernetes_mixin_alerts_inhibited() {
    let mut shipped = start_shipped().await;
    let (am, received, slack) = (shipped.am.clone(), shipped.webhook.clone(), shipped.slack.clone());

    // Every alert of every incident in one request, as one Prometheus evaluation sends them.
    let incidents = incidents();
    let alerts: Vec<Value> = incidents
        .iter()
        .flat_map(|i| i.alerts.iter())
        .map(|labels| json!({ "labels": labels, "annotations": { "summary": "test" } }))
        .collect();
    let (status, body) = post10(&am, "/api/v2/alerts", &Value::Array(alerts.clone()).to_string()).await.expect("POST");
    assert_eq!(status, 200, "POST /api/v2/alerts: {}", String::from_utf8_lossy(&body));

    // Alertmanager's own view: each alert active, or suppressed by an inhibition. Its
    // inhibitor reads new alerts on its own: the view may lag the POST a moment (seen once
    // under load), so the states are awaited, and compared one by one if they never come.
    let state_of = |view: &Value, labels: &Value| {
        view.as_array()
            .and_then(|a| a.iter().find(|x| x["labels"] == *labels))
            .map(|x| x["status"]["state"].as_str().unwrap_or_default().to_owned())
    };
    let expected = |incident: &Incident, labels: &Value| {
        let name = labels["alertname"].as_str().unwrap_or_default();
        if incident.arrive.contains(&name) { "active" } else { "suppressed" }
    };
    let settled = |view: &Value| {
        incidents.iter().all(|i| i.alerts.iter().all(|l| state_of(view, l).as_deref() == Some(expected(i, l))))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let view = loop {
        let view = api(&am, "/api/v2/alerts").await.unwrap_or_default();
        if settled(&view) || std::time::Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for incident in &incidents {
        for labels in &incident.alerts {
            let state = state_of(&view, labels).unwrap_or_else(|| panic!("Alertmanager lost {labels}"));
            assert_eq!(state, expected(incident, labels), "{}: {labels}", incident.what);
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
    shipped.alertmanager.assert_running();
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
    for name in [
        "CrashloopContainerOOMKilledRepeatedly",
        "CrashloopContainerImagePullFailing",
        "CrashloopPodMissingConfigObject",
        "CrashloopWorkloadOOMKilled",
    ] {
        let notifications: Vec<&Value> = payloads
            .iter()
            .map(|(_, p)| p)
            .filter(|p| p["alerts"].as_array().is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == name)))
            .collect();
        assert_eq!(notifications.len(), 1, "{name}: {notifications:#?}");
        assert_eq!(notifications[0]["alerts"].as_array().map_or(0, Vec::len), 1, "{name}: {:#}", notifications[0]);
    }
    assert_eq!(delivered.len(), want, "{delivered:#?}");
    // Slack had the same notifications, one line per alert.
    let messages = slack_messages(&slack);
    assert_eq!(messages.len(), payloads.len(), "{messages:#?}");
    let lines: usize = messages.iter().map(|m| m.text.lines().filter(|l| l.starts_with("• ")).count()).sum();
    assert_eq!(lines, want, "{messages:#?}");
}

/// What Slack was sent: the attachment of each message.
#[derive(Debug)]
struct SlackMessage {
    title: String,
    text: String,
    color: String,
}

fn slack_messages(received: &Received) -> Vec<SlackMessage> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, p)| {
            let attachments = p["attachments"].as_array().unwrap_or_else(|| panic!("no attachments: {p:#}"));
            assert_eq!(attachments.len(), 1, "{p:#}");
            let a = &attachments[0];
            assert!(a["mrkdwn_in"].as_array().is_some_and(|m| m.contains(&json!("text"))), "text not in mrkdwn: {p:#}");
            assert_eq!(a["fallback"], a["title"], "{p:#}");
            let field = |k: &str| a[k].as_str().unwrap_or_else(|| panic!("no {k}: {p:#}")).to_owned();
            let message = SlackMessage { title: field("title"), text: field("text"), color: field("color") };
            assert!(!format!("{p}").contains("<no value>"), "{p:#}");
            message
        })
        .collect()
}

/// The message Slack was sent with this title, once it arrives.
async fn slack_message(slack: &Received, title: &str) -> SlackMessage {
    wait_for(&format!("the Slack message {title:?}"), Duration::from_secs(20), || async {
        slack_messages(slack).into_iter().find(|m| m.title == title)
    })
    .await
}

const RUNBOOK: &str = "https://github.com/crashloop-exporter/crashloop-exporter/blob/v0.1.0/docs/runbooks";

/// A container alert of ours, with the structured annotations given (cause, restarts,
/// exit_code, dashboard_url).
fn container_alert(alertname: &str, workload: &str, pod: &str, container: &str, extra: &[(&str, &str)]) -> Value {
    let mut a = json!({
        "labels": {
            "alertname": alertname, "severity": "warning", "namespace": "shop", "pod": pod,
            "container": container, "container_type": "regular", "workload_kind": "Deployment",
            "workload": workload, "cluster": "prod",
        },
        "annotations": {
            "summary": format!("Container {container} of pod shop/{pod} is crash-looping."),
            "description": "d",
            "runbook_url": format!("{RUNBOOK}/{alertname}.md"),
        },
    });
    for (k, v) in extra {
        a["annotations"][*k] = json!(v);
    }
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_message_names_each_container_and_shows_at_most_ten() {
    let mut shipped = start_shipped().await;
    let (am, slack) = (shipped.am.clone(), shipped.slack.clone());
    let crashing = "CrashloopContainerCrashLooping";
    let often = "CrashloopContainerRestartingOften";
    let dashboard = "https://grafana.example.com/d/crashloop-workload?var-namespace=shop&var-workload=cart";
    let cart = [
        container_alert(
            crashing,
            "cart",
            "cart-7d9c6b5f4-aaaaa",
            "app",
            &[("cause", "oom_killed"), ("restarts", "7"), ("exit_code", "137"), ("dashboard_url", dashboard)],
        ),
        container_alert(
            crashing,
            "cart",
            "cart-7d9c6b5f4-bbbbb",
            "app",
            &[("cause", "app_error"), ("restarts", "1"), ("exit_code", "none")],
        ),
        // No structured annotations (a rule set older than them): the fields are left out.
        container_alert(crashing, "cart", "cart-7d9c6b5f4-ccccc", "app", &[]),
    ];
    let ingest: Vec<Value> = (0..13)
        .map(|i| {
            let restarts = (5 + i).to_string();
            let pod = format!("ingest-5b6c7d8e9-{i:02}");
            container_alert(
                often,
                "ingest",
                &pod,
                "worker",
                &[("cause", "app_error"), ("restarts", &restarts), ("exit_code", "1")],
            )
        })
        .collect();
    let workload = json!({
        "labels": {
            "alertname": "CrashloopWorkloadCrashLooping", "severity": "critical", "namespace": "shop",
            "workload_kind": "Deployment", "workload": "api",
        },
        "annotations": {
            "summary": "2 of the 3 pods of Deployment shop/api crash-loop (>= 50% & for 2m).",
            "runbook_url": format!("{RUNBOOK}/CrashloopWorkloadCrashLooping.md"),
        },
    });
    let exporter = json!({
        "labels": {
            "alertname": "CrashloopExporterDown", "severity": "critical", "job": "crashloop-exporter",
            "instance": "10.0.0.5:10743",
        },
        "annotations": { "summary": "A replica cannot be scraped.", "runbook_url": format!("{RUNBOOK}/CrashloopExporterDown.md") },
    });
    let mut alerts: Vec<Value> = cart.to_vec();
    alerts.extend(ingest.iter().cloned());
    alerts.extend([workload, exporter]);
    let (status, body) = post10(&am, "/api/v2/alerts", &Value::Array(alerts).to_string()).await.expect("POST");
    assert_eq!(status, 200, "POST /api/v2/alerts: {}", String::from_utf8_lossy(&body));

    // Each line: namespace/pod, container, cause, restarts, exit code, severity, links.
    let rb = |name: &str| format!("<{RUNBOOK}/{name}.md|runbook>");
    let cart_lines = [
        format!(
            "• *shop/cart-7d9c6b5f4-aaaaa* · container `app` · cause oom_killed · 7 restarts · last exit code 137 · warning · {} · <{dashboard}|dashboard>",
            rb(crashing)
        ),
        format!(
            "• *shop/cart-7d9c6b5f4-bbbbb* · container `app` · cause app_error · 1 restart · no exit code · warning · {}",
            rb(crashing)
        ),
        format!("• *shop/cart-7d9c6b5f4-ccccc* · container `app` · warning · {}", rb(crashing)),
    ];
    let m =
        slack_message(&slack, "[FIRING:3] CrashloopContainerCrashLooping: Deployment shop/cart (cluster prod)").await;
    assert_eq!(m.text, cart_lines.join("\n"));
    assert_eq!(m.color, "warning");

    // More than 10 alerts: the first 10 (Alertmanager sorts them by labels), then the count.
    let m =
        slack_message(&slack, "[FIRING:13] CrashloopContainerRestartingOften: Deployment shop/ingest (cluster prod)")
            .await;
    let mut want: Vec<String> = (0..10)
        .map(|i| {
            format!(
                "• *shop/ingest-5b6c7d8e9-{i:02}* · container `worker` · cause app_error · {} restarts · last exit code 1 · warning · {}",
                5 + i,
                rb(often)
            )
        })
        .collect();
    want.push("_and 3 more_".to_owned());
    assert_eq!(m.text, want.join("\n"));

    // Alerts without pod and container: the workload, or the exporter's target, and the
    // summary, escaped for mrkdwn.
    let m = slack_message(&slack, "[FIRING:1] CrashloopWorkloadCrashLooping: Deployment shop/api").await;
    assert_eq!(
        m.text,
        format!(
            "• *Deployment shop/api* · 2 of the 3 pods of Deployment shop/api crash-loop (&gt;= 50% &amp; for 2m). · critical · {}",
            rb("CrashloopWorkloadCrashLooping")
        )
    );
    assert_eq!(m.color, "danger");
    let m = slack_message(&slack, "[FIRING:1] CrashloopExporterDown: crashloop-exporter 10.0.0.5:10743").await;
    assert_eq!(
        m.text,
        format!(
            "• *crashloop-exporter 10.0.0.5:10743* · A replica cannot be scraped. · critical · {}",
            rb("CrashloopExporterDown")
        )
    );

    // One container recovers: the next message counts it as resolved, and lists it apart.
    let mut resolved = cart[2].clone();
    resolved["endsAt"] = json!(Timestamp::now().to_string());
    let (status, body) = post10(&am, "/api/v2/alerts", &json!([resolved]).to_string()).await.expect("POST");
    assert_eq!(status, 200, "POST /api/v2/alerts: {}", String::from_utf8_lossy(&body));
    let m = slack_message(
        &slack,
        "[FIRING:2, RESOLVED:1] CrashloopContainerCrashLooping: Deployment shop/cart (cluster prod)",
    )
    .await;
    assert_eq!(m.text, format!("{}\n{}\n*Resolved:*\n{}", cart_lines[0], cart_lines[1], cart_lines[2]));
    shipped.alertmanager.assert_running();
}

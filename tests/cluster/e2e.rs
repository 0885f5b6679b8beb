//! End to end, everything real: kube-apiserver + etcd, a real node (kubelet, containerd,
//! runc, scheduler and controller-manager: `crashloop_testbed::Node`), the exporter binary,
//! a Prometheus loading the shipped alert rules and scraping through the shipped scrape job
//! (`deploy/prometheus/scrape-config.yaml`), an Alertmanager, and a webhook receiver served
//! by this test. One Deployment each is OOM-killed over and over, killed by its liveness
//! probe, waits on an image it cannot pull (from a registry on loopback), misses its
//! ConfigMap, and runs healthily. The alerts must arrive at the webhook with the labels,
//! probable causes and runbook links on-call needs, and none for the healthy pod; then the
//! OOM and probe Deployments are fixed (a rollout replaces their pods) and the resolutions
//! must arrive; every dashboard query must work against the data.
//!
//! Takes about 6 minutes (CrashloopContainerCrashLooping needs 3 restarts and `for: 2m`,
//! CrashloopPodMissingConfigObject `for: 3m`); each wait allows 6.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{
    EXPORTER, Exporter, Proc, Received, TempDir, api, free_port, http_get, query, report, serve_webhook, wait_for,
};
use crashloop_testbed as testbed;
use crashloop_testbed::measure::unix_now;
use serde_json::{Value, json};

const NS: &str = "it-e2e";
/// The container of every Deployment.
const CONTAINER: &str = "app";
const RUNBOOKS: &str = "/docs/runbooks/";
/// How long an alert may take to arrive (the rules' `for:` may be minutes).
const ALERT_TIMEOUT: Duration = Duration::from_secs(360);

/// The first alert named `name` about a pod of `workload` with status `status` the webhook
/// received, with its arrival; of the firing ones, a warning or critical one (a single probe
/// kill is an `info` notice first).
fn received_alert(received: &Received, name: &str, workload: &str, status: &str) -> Option<(Instant, Value)> {
    let payloads = received.lock().unwrap();
    payloads.iter().find_map(|(at, payload)| {
        payload["alerts"]
            .as_array()?
            .iter()
            .find(|a| {
                a["labels"]["alertname"] == name
                    && a["labels"]["workload"] == workload
                    && a["status"] == status
                    && (status != "firing" || a["labels"]["severity"] != "info")
            })
            .map(|a| (*at, a.clone()))
    })
}

/// Every (alert name, workload) the webhook received.
fn received_pairs(received: &Received) -> Vec<(String, String)> {
    let payloads = received.lock().unwrap();
    let alerts = payloads.iter().flat_map(|(_, p)| p["alerts"].as_array().cloned().unwrap_or_default());
    alerts
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap_or_default().to_owned(),
                a["labels"]["workload"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The Deployments the real node runs: each crashes (or waits) in its own way.
fn workloads(node: &testbed::Node) -> Vec<Value> {
    let mut oom = testbed::busybox_sh(CONTAINER, "dd if=/dev/zero of=/dev/null bs=100M count=1");
    oom["resources"] = json!({"limits": {"memory": "32Mi"}});
    let mut liveness = testbed::busybox(CONTAINER, &["sleep", "3600"]);
    liveness["livenessProbe"] = json!({"exec": {"command": ["false"]}, "periodSeconds": 2, "failureThreshold": 1});
    let image =
        json!({"name": CONTAINER, "image": format!("{}/shop/web:1.2.3", node.registry()), "imagePullPolicy": "Always"});
    let mut config = testbed::deployment("config", vec![testbed::busybox(CONTAINER, &["sleep", "3600"])]);
    config["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "cfg", "mountPath": "/cfg"}]);
    config["spec"]["template"]["spec"]["volumes"] = json!([{"name": "cfg", "configMap": {"name": "config-settings"}}]);
    vec![
        testbed::deployment("oom", vec![oom]),
        testbed::deployment("liveness", vec![liveness]),
        testbed::deployment("image", vec![image]),
        config,
        testbed::deployment("healthy", vec![testbed::busybox(CONTAINER, &["sleep", "3600"])]),
    ]
}

/// The dashboard queries, from the dashboards engineer's `.ci/checks/dashboards --emit FILE`.
/// Accepts JSON (an array of strings, or of objects with `expr`/`query` and a `panel`/`title`)
/// or plain text (one query per line). Returns (panel, query).
fn dashboard_queries(repo: &Path, dir: &Path) -> Vec<(String, String)> {
    let script = repo.join(".ci/checks/dashboards");
    assert!(script.exists(), "{} is missing: it lists the dashboards' queries (--emit)", script.display());
    let file = dir.join("dashboard-queries");
    let out =
        Command::new(&script).arg("--emit").arg(&file).current_dir(repo).output().expect("run .ci/checks/dashboards");
    assert!(
        out.status.success(),
        ".ci/checks/dashboards --emit failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&file).expect("the emitted queries");
    let mut queries = Vec::new();
    if let Ok(json) = serde_json::from_str::<Value>(&text) {
        let items = match &json {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o.get("queries").and_then(Value::as_array).cloned().unwrap_or_default(),
            _ => Vec::new(),
        };
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(q) => queries.push((format!("#{i}"), q.clone())),
                Value::Object(o) => {
                    let q = ["expr", "query", "promql"].iter().find_map(|k| o.get(*k).and_then(Value::as_str));
                    let mut panel: Vec<String> = ["dashboard", "panel", "title", "refId"]
                        .iter()
                        .filter_map(|k| o.get(*k).and_then(Value::as_str).map(String::from))
                        .collect();
                    if panel.is_empty() {
                        panel.push(format!("#{i}"));
                    }
                    if let Some(q) = q {
                        queries.push((panel.join(" / "), q.to_owned()));
                    }
                }
                _ => {}
            }
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                queries.push((format!("line {}", i + 1), line.to_owned()));
            }
        }
    }
    assert!(!queries.is_empty(), ".ci/checks/dashboards --emit wrote no queries:\n{text}");
    queries
}

/// Grafana's variables, should the emitted queries still hold any: the interval ones become
/// durations, the others (namespace, job, ...) match everything.
fn expand_grafana_variables(q: &str) -> String {
    let mut q = q.to_owned();
    for (var, value) in
        [("__rate_interval", "1m"), ("__interval", "15s"), ("__range", "5m"), ("__interval_ms", "15000")]
    {
        q = q.replace(&format!("${{{var}}}"), value).replace(&format!("${var}"), value);
    }
    let mut out = String::new();
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|n| *n == '{' || n.is_ascii_alphabetic() || *n == '_') {
            if chars.peek() == Some(&'{') {
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                }
            } else {
                while chars.peek().is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_') {
                    chars.next();
                }
            }
            out.push_str(".*");
        } else {
            out.push(c);
        }
    }
    out
}

/// Dashboard queries that may legitimately be empty in this scenario, matched by a substring
/// of the query, with the reason.
const MAY_BE_EMPTY: &[(&str, &str)] = &[
    ("crashloop_exporter_api_errors_total", "the API answers every request: no error series exist"),
    (
        "crashloop_workload_template_image_info",
        "the test's Deployments have pods of one template when queried (the fix rolls out in seconds); rn-rollout on the real node checks the template families",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_crash_loop_alerts_reach_alertmanager_and_resolve() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = repo.join("alerts/crashloop-exporter.rules.yaml");
    assert!(rules.exists(), "{} is missing (.ci/gen-mixin writes it)", rules.display());
    let tmp = TempDir::new();
    let dir = tmp.0.clone();

    // 1. The cluster, with a real node.
    let (cluster, node) = testbed::shared_node().expect("a cluster with a real node (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");

    // 2. The exporter.
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;

    // 4. (before Prometheus, which sends to it) Alertmanager, routing to our webhook.
    let received: Received = Arc::default();
    let hook_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    serve_webhook(hook_addr, received.clone()).await;
    let am_config = dir.join("alertmanager.yml");
    fs::write(
        &am_config,
        format!(
            r#"route:
  receiver: hook
  group_by: [alertname, namespace, workload]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://{hook_addr}/hook
        send_resolved: true
"#
        ),
    )
    .expect("alertmanager.yml");
    let (mut alertmanager, am_addr) = Proc::alertmanager(&dir, &am_config);

    // 3. Prometheus: the shipped rules, the shipped scrape job (its Kubernetes discovery
    // replaced by file discovery with the labels Kubernetes would set: the exporter's
    // Service port `metrics`, plus two decoys the job's relabeling must drop).
    let targets = dir.join("targets.json");
    fs::write(
        &targets,
        json!([
            crate::common::kubernetes_endpoint_target(&exporter.addr, "crashloop-exporter", "metrics"),
            crate::common::kubernetes_endpoint_target("127.0.0.1:9", "crashloop-exporter", "http"),
            crate::common::kubernetes_endpoint_target("127.0.0.1:10", "some-other-service", "metrics"),
        ])
        .to_string(),
    )
    .expect("targets.json");
    let prom_config = dir.join("prometheus.yml");
    fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_addr}']\n{}",
            rules.display(),
            crate::common::scrape_config_with_file_sd(&targets, "1s")
        ),
    )
    .expect("prometheus.yml");
    let (mut prometheus, prom_addr) = Proc::prometheus(&dir, &prom_config);

    let ready = |addr: String, path: &'static str| async move {
        matches!(http_get(&addr, path, &[]).await, Ok((200, _, _))).then_some(())
    };
    wait_for("Alertmanager to be ready", Duration::from_secs(30), || ready(am_addr.clone(), "/-/ready")).await;
    wait_for("Prometheus to be ready", Duration::from_secs(60), || ready(prom_addr.clone(), "/-/ready")).await;
    alertmanager.assert_running();
    prometheus.assert_running();

    // The shipped scrape job keeps exactly the exporter's `metrics` port.
    let (active, dropped) = wait_for("the scrape job's targets", Duration::from_secs(30), || async {
        let v = api(&prom_addr, "/api/v1/targets").await.ok()?;
        let active = v["data"]["activeTargets"].as_array()?.clone();
        let dropped = v["data"]["droppedTargets"].as_array()?.clone();
        (active.len() + dropped.len() == 3 && active.iter().all(|t| t["health"] == "up")).then_some((active, dropped))
    })
    .await;
    assert_eq!(active.len(), 1, "active targets: {active:#?}");
    assert_eq!(active[0]["labels"]["job"], "crashloop-exporter");
    assert_eq!(active[0]["scrapeUrl"], format!("http://{}/metrics", exporter.addr));
    assert_eq!(dropped.len(), 2, "dropped targets: {dropped:#?}");

    let rules_loaded = api(&prom_addr, "/api/v1/rules").await.expect("rules");
    let rule_names: Vec<&str> = rules_loaded["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .filter_map(|r| r["name"].as_str())
        .collect();
    for name in ["CrashloopContainerCrashLooping", "CrashloopContainerOOMKilledRepeatedly"] {
        assert!(rule_names.contains(&name), "Prometheus did not load {name}: {rule_names:?}");
    }

    // 5. The workloads, on the real node.
    cluster.create_objects(NS, &workloads(node)).unwrap_or_else(|e| panic!("{e}"));
    let first_crash = Instant::now();

    // 6. The alerts arrive at the webhook, each about its workload's pod, with the probable cause.
    let expected = [
        ("CrashloopContainerOOMKilledRepeatedly", "oom", Some("oom_killed")),
        ("CrashloopContainerProbeKilled", "liveness", Some("liveness_probe")),
        ("CrashloopContainerCrashLooping", "oom", Some("oom_killed")),
        ("CrashloopContainerCrashLooping", "liveness", Some("liveness_probe")),
        ("CrashloopPodMissingConfigObject", "config", Some("missing_config")),
    ];
    let mut fired = Vec::new();
    for (name, workload, cause) in expected {
        let (at, alert) = wait_for(&format!("a firing {name} about {workload} at the webhook"), ALERT_TIMEOUT, || {
            prometheus.assert_running();
            alertmanager.assert_running();
            let hit = received_alert(&received, name, workload, "firing");
            async move { hit }
        })
        .await;
        let after = at.duration_since(first_crash).as_secs_f64();
        report(&format!("e2e: {name} about {workload} fired after {after:.0} s"));
        let labels = &alert["labels"];
        let pod = labels["pod"].as_str().unwrap_or_default().to_owned();
        assert!(pod.starts_with(&format!("{workload}-")), "{alert:#}");
        assert_eq!(labels["namespace"], NS, "{alert:#}");
        assert_eq!(labels["workload_kind"], "Deployment", "{alert:#}");
        // Per-container alerts are warnings (a single probe kill is an info notice first: the
        // warning comes with the second); only a workload broadly affected pages.
        assert_eq!(labels["severity"], "warning", "{alert:#}");
        if name != "CrashloopPodMissingConfigObject" {
            assert_eq!(labels["container"], CONTAINER, "{alert:#}");
        }
        let runbook = alert["annotations"]["runbook_url"].as_str().unwrap_or_default();
        assert!(runbook.ends_with(&format!("{RUNBOOKS}{name}.md")), "runbook_url of {name}: {runbook:?}");
        // The summary names the workload (the same for every alert of its notification
        // group), the description the pod.
        for (key, names) in [("summary", format!("{NS}/{workload}")), ("description", pod.clone())] {
            let text = alert["annotations"][key].as_str().unwrap_or_default();
            assert!(text.contains(&names), "{name} {key} does not name {names}: {text:?}");
            assert!(!text.contains("<no value>") && !text.contains("{{"), "{name} {key} is badly templated: {text:?}");
        }
        let dashboard = alert["annotations"]["dashboard_url"].as_str().unwrap_or_default();
        assert!(dashboard.contains(&format!("var-workload={workload}&var-pod={pod}")), "{name}: {dashboard:?}");
        if let Some(cause) = cause {
            assert_eq!(alert["annotations"]["cause"], cause, "{name} about {pod}: {alert:#}");
        }
        fired.push((name, pod, after));
    }
    // Each crashing Deployment has one replica: its whole workload is affected, so the
    // workload alerts page (critical), about the workload, with no pod or container.
    for (name, workload) in [("CrashloopWorkloadOOMKilled", "oom"), ("CrashloopWorkloadCrashLooping", "liveness")] {
        let (at, alert) = wait_for(&format!("a firing {name} about {workload} at the webhook"), ALERT_TIMEOUT, || {
            let hit = received_alert(&received, name, workload, "firing");
            async move { hit }
        })
        .await;
        let labels = &alert["labels"];
        assert_eq!(labels["severity"], "critical", "{alert:#}");
        assert_eq!((&labels["namespace"], &labels["workload_kind"]), (&json!(NS), &json!("Deployment")), "{alert:#}");
        assert!(labels["pod"].is_null() && labels["container"].is_null(), "{alert:#}");
        let after = at.duration_since(first_crash).as_secs_f64();
        report(&format!("e2e: {name} about {workload} fired after {after:.0} s"));
        fired.push((name, workload.to_owned(), after));
    }
    let about_healthy: Vec<_> = received_pairs(&received).into_iter().filter(|(_, w)| w == "healthy").collect();
    assert!(about_healthy.is_empty(), "alerts about the healthy Deployment: {about_healthy:?}");
    // A moment inside the crash loops, for the dashboard queries below.
    let crash_time = unix_now() - 1.0;

    // 7. The fixes: the OOM Deployment gets a command that fits its limit, the probe one a
    // probe that passes. Each rollout replaces the crashing pod, and every alert about the
    // old pods resolves.
    let fixed = Instant::now();
    for (workload, patch) in [
        (
            "oom",
            json!({"spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "command": ["sleep", "3600"]}]}}}}),
        ),
        (
            "liveness",
            json!({"spec": {"template": {"spec": {"containers": [{"name": CONTAINER, "livenessProbe": {"exec": {"command": ["true"]}}}]}}}}),
        ),
    ] {
        cluster
            .kubectl(&["-n", NS, "patch", "deployment", workload, "--type", "strategic", "-p", &patch.to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (name, workload) in [
        ("CrashloopContainerCrashLooping", "oom"),
        ("CrashloopContainerOOMKilledRepeatedly", "oom"),
        ("CrashloopContainerCrashLooping", "liveness"),
        ("CrashloopContainerProbeKilled", "liveness"),
        ("CrashloopWorkloadOOMKilled", "oom"),
        ("CrashloopWorkloadCrashLooping", "liveness"),
    ] {
        let (at, _) = wait_for(&format!("{name} about {workload} to resolve at the webhook"), ALERT_TIMEOUT, || {
            let hit = received_alert(&received, name, workload, "resolved");
            async move { hit }
        })
        .await;
        report(&format!(
            "e2e: {name} about {workload} resolved {:.0} s after the fix",
            at.duration_since(fixed).as_secs_f64()
        ));
    }
    let now_time = unix_now();

    // 8. Every dashboard query works against this Prometheus, and returns data in the crash
    // loop or after the recovery, unless listed in MAY_BE_EMPTY with a reason.
    let queries = dashboard_queries(repo, &dir);
    let mut failures = Vec::new();
    for (panel, raw) in &queries {
        let q = expand_grafana_variables(raw);
        let mut empty = true;
        for time in [crash_time, now_time] {
            match query(&prom_addr, &q, Some(time)).await {
                Ok(result) => empty &= result.is_empty(),
                Err(e) => failures.push(format!("{panel}: {q}\n    error: {e}")),
            }
        }
        if empty {
            match MAY_BE_EMPTY.iter().find(|(needle, _)| q.contains(needle)) {
                Some((_, reason)) => report(&format!("e2e: dashboard query empty, as allowed ({reason}): {panel}")),
                None => failures.push(format!("{panel}: {q}\n    no data in the crash loop nor after it")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
    report(&format!("e2e: {} dashboard queries answered", queries.len()));
    for (name, pod, after) in fired {
        report(&format!("e2e: summary: {name} about {pod} fired {after:.0} s after the workloads were created"));
    }
    drop(exporter);
    // The node is shared by the binary's other tests: its crash loops stop here.
    cluster.kubectl(&["delete", "namespace", NS, "--wait=false"]).unwrap_or_else(|e| panic!("{e}"));
}

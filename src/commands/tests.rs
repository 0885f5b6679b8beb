//! One verdict, three faces: what the real node wrote (its pods, Events and the logs the
//! server read, `tests/fixtures/real-node/`) gives `scan -o json` and `diagnose -o json`
//! the same troubled containers, causes and numbers as `/metrics` has in
//! `tests/golden/real-node.prom`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod};
use serde_json::Value;

use super::diagnose::Nearby;
use super::scan::rows;
use super::snapshot::{Logs, ReadLog};
use super::snapshot::{Snapshot, container_key};
use super::{Diagnosis, render_diagnosis, render_scan};
use crate::config::{DiagnoseOutput, Output};
use crate::log_fetch::fetch_result;
use crate::parse::classify_log;
use crate::view::{SlimEvent, SlimPod, Timestamp};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/real-node/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

fn items(name: &str, key: &str) -> Vec<Value> {
    fixture(name)[key].as_array().cloned().unwrap_or_default()
}

/// What the real node gave: its clock, pods, Events, and each log the server read for a
/// failed termination, or the HTTP status its fetch failed with.
struct RealNode {
    now: Timestamp,
    pods: Vec<Pod>,
    events: Vec<CoreEvent>,
    logs: Logs,
}

fn real_node() -> RealNode {
    let logs = items("logs.json", "items")
        .into_iter()
        .map(|l| {
            let key = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            let read = match l["text"].as_str() {
                Some(text) => ReadLog { result: "ok", text: text.into(), hint: classify_log(text) },
                None => {
                    let code = l["status"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(500);
                    let status = kube::core::Status::failure("as the real node answered", "").with_code(code);
                    ReadLog {
                        result: fetch_result(&kube::Error::Api(status.boxed())).as_str(),
                        text: String::new(),
                        hint: None,
                    }
                }
            };
            ((key("namespace"), key("pod"), key("container")), read)
        })
        .collect();
    fn parse<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("a pod or an Event")
    }
    RealNode {
        now: fixture("now.json")["now"].as_i64().expect("now"),
        pods: items("pods.json", "items").into_iter().map(parse).collect(),
        events: items("events.json", "items").into_iter().map(parse).collect(),
        logs,
    }
}

/// The facts compared, by container (`namespace="…",pod="…",container="…",container_type="…"`):
/// `name` or `name{label}` → value.
type Facts = BTreeMap<String, BTreeMap<String, String>>;

/// The golden file's facts of each troubled container.
fn golden_facts() -> Facts {
    let golden = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/real-node.prom"))
        .expect("golden file");
    let mut facts = Facts::new();
    for line in golden.lines().filter_map(|l| l.strip_prefix("crashloop_container_")) {
        let Some((family, rest)) = line.split_once('{') else { continue };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        // The four container labels first, then the family's own.
        let mut parts = labels.splitn(5, ',');
        let container: Vec<&str> = parts.by_ref().take(4).collect();
        let extra = parts.next();
        let fact = match (family, extra) {
            ("probable_cause", Some(cause)) => format!("cause{{{cause}}}"),
            ("last_terminated_reason", Some(reason)) => format!("last_reason{{{reason}}}"),
            ("restarts_total", None) => "restarts".into(),
            ("crashlooping", None) => "crashlooping".into(),
            ("last_terminated_exit_code", None) => "exit_code".into(),
            ("last_terminated_signal", None) => "signal".into(),
            ("backoff_delay_seconds", Some(_)) => "backoff_seconds".into(),
            ("next_restart_timestamp_seconds", None) => "next_restart".into(),
            ("memory_limit_bytes", None) => "memory_limit_bytes".into(),
            ("image_pull_failure", Some(category)) => format!("pull{{{category}}}"),
            ("probe_kills_total", Some(probe)) if !value.starts_with('0') => format!("probe_kills{{{probe}}}"),
            _ => continue,
        };
        let value = value.trim_end_matches(".0").to_string();
        facts.entry(container.join(",")).or_default().insert(fact, value);
    }
    // Only the troubled containers: those with a cause.
    facts.retain(|_, f| f.keys().any(|k| k.starts_with("cause{")));
    facts
}

/// The same facts, from rows of `scan -o json` or `diagnose -o json`: the series
/// `/metrics` writes for a troubled container.
fn row_facts(rows: &[Value]) -> Facts {
    let mut facts = Facts::new();
    for r in rows.iter().filter(|r| !r["cause"].is_null()) {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        let key = format!(
            r#"namespace="{}",pod="{}",container="{}",container_type="{}""#,
            s("namespace"),
            s("pod"),
            s("container"),
            s("container_type")
        );
        let mut f = BTreeMap::new();
        f.insert(format!(r#"cause{{cause="{}"}}"#, s("cause")), "1".to_string());
        f.insert("restarts".into(), r["restarts"].to_string());
        f.insert("crashlooping".into(), u8::from(r["crashlooping"] == true).to_string());
        let mut put = |name: &str, v: &Value| {
            if !v.is_null() {
                f.insert(name.to_string(), v.to_string());
            }
        };
        put("exit_code", &r["last_exit_code"]);
        put("signal", &r["signal"]);
        put("backoff_seconds", &r["backoff_seconds"]);
        put("memory_limit_bytes", &r["memory_limit_bytes"]);
        if let Some(reason) = r["last_reason"].as_str() {
            f.insert(format!(r#"last_reason{{reason="{reason}"}}"#), "1".into());
        }
        if let Some(t) = r["next_restart"].as_str() {
            let seconds = t.parse::<k8s_openapi::jiff::Timestamp>().map(|t| t.as_second()).unwrap_or_default();
            f.insert("next_restart".into(), seconds.to_string());
        }
        // Only diagnose has the checks: the pull category and the probe kills.
        for check in r["checks"].as_array().into_iter().flatten().filter(|c| c["failed"] == true) {
            let detail = check["detail"].as_str().unwrap_or_default();
            match check["name"].as_str() {
                Some("image_pull") => {
                    f.insert(format!(r#"pull{{category="{detail}"}}"#), "1".into());
                }
                Some("probe_kills") => {
                    // "liveness N, startup M"
                    for (probe, count) in detail.split(", ").filter_map(|p| p.split_once(' ')) {
                        if count != "0" {
                            f.insert(format!(r#"probe_kills{{probe="{probe}"}}"#), count.into());
                        }
                    }
                }
                _ => {}
            }
        }
        for v in f.values_mut() {
            *v = v.trim_end_matches(".0").to_string();
        }
        facts.insert(key, f);
    }
    facts
}

/// The facts of `got` that `/metrics` shows too: `/metrics` writes the memory limit of an
/// OOM-killed container only; a row always carries it.
fn comparable(mut got: Facts, golden: &Facts) -> Facts {
    for (key, facts) in &mut got {
        if !golden.get(key).is_some_and(|g| g.contains_key("memory_limit_bytes")) {
            facts.remove("memory_limit_bytes");
        }
    }
    got
}

fn assert_same(face: &str, got: &Facts, golden: &Facts) {
    let only = |a: &Facts, b: &Facts| a.keys().filter(|k| !b.contains_key(*k)).cloned().collect::<Vec<_>>();
    assert_eq!((only(got, golden), only(golden, got)), (vec![], vec![]), "{face}: (only {face}, only /metrics)");
    for (key, want) in golden {
        assert_eq!(got.get(key), Some(want), "{face}: {key}");
    }
}

fn scan_json(node: &RealNode, logs: &Logs) -> Vec<Value> {
    let pods: Vec<SlimPod> =
        node.pods.iter().map(|p| serde_json::to_value(p).and_then(serde_json::from_value).expect("slim")).collect();
    let events: Vec<SlimEvent> =
        node.events.iter().map(|e| serde_json::to_value(e).and_then(serde_json::from_value).expect("slim")).collect();
    let snapshot = Snapshot::of(pods, &events, node.now);
    let json = render_scan(&rows(&snapshot, logs, node.now), Output::Json);
    serde_json::from_str(&json).expect("scan -o json")
}

/// `diagnose -o json` of each pod, its Events those about it: its containers' rows, and
/// each whole report.
fn diagnose_json(node: &RealNode, logs: &Logs) -> (Vec<Value>, Vec<Value>) {
    let mut rows = Vec::new();
    let mut reports = Vec::new();
    for pod in &node.pods {
        let about = |e: &&CoreEvent| {
            e.involved_object.namespace == pod.metadata.namespace && e.involved_object.name == pod.metadata.name
        };
        let events = node.events.iter().filter(about).cloned().collect();
        // The other pods of its namespace, as diagnose lists them (of its workload).
        let siblings: Vec<SlimPod> = node
            .pods
            .iter()
            .filter(|p| p.metadata.namespace == pod.metadata.namespace && p.metadata.name != pod.metadata.name)
            .map(|p| serde_json::to_value(p).and_then(serde_json::from_value).expect("slim"))
            .collect();
        let d = Diagnosis::of(pod, Nearby { pods: siblings, ..Nearby::default() }, events, logs, node.now)
            .expect("a diagnosis");
        let json: Value = serde_json::from_str(&render_diagnosis(&d, DiagnoseOutput::Json)).expect("diagnose -o json");
        rows.extend(json["containers"].as_array().into_iter().flatten().cloned());
        reports.push(json);
    }
    (rows, reports)
}

#[test]
fn scan_and_diagnose_show_the_verdict_of_metrics_on_the_real_nodes_fixtures() {
    let node = real_node();
    let golden = golden_facts();
    assert!(golden.len() >= 20, "{} troubled containers in the golden file", golden.len());

    // scan's rows have no checks: no pull category, no probe kills.
    let mut rows_only = golden.clone();
    for facts in rows_only.values_mut() {
        facts.retain(|k, _| !k.starts_with("pull{") && !k.starts_with("probe_kills{"));
    }
    let scan = scan_json(&node, &node.logs);
    assert_same("scan", &comparable(row_facts(&scan), &golden), &rows_only);

    let (diagnosed, _) = diagnose_json(&node, &node.logs);
    assert_same("diagnose", &comparable(row_facts(&diagnosed), &golden), &golden);

    // The troubled rows of diagnose are scan's, field for field.
    let troubled = |rows: &[Value]| -> BTreeSet<String> {
        rows.iter()
            .filter(|r| !r["cause"].is_null())
            .map(|r| {
                let mut r = r.clone();
                for k in [
                    "exit_code_meaning",
                    "requests",
                    "limits",
                    "checks",
                    "previous_log",
                    "termination_message",
                    "fix",
                    "fix_yaml",
                    "fix_patch",
                    "fix_evidence",
                ] {
                    r.as_object_mut().map(|o| o.remove(k));
                }
                r.to_string()
            })
            .collect()
    };
    assert_eq!(troubled(&diagnosed), troubled(&scan));
}

/// The real node's stuck rollout (rn-rollout: the new template crash-loops while the old
/// one's pod serves) is blamed, in scan's rows, diagnose's report and scan's table, with
/// the undo command; no other workload of the node is (rn-oom's Deployment has one
/// template; the Jobs have none).
#[test]
fn the_real_nodes_stuck_rollout_is_blamed_and_nothing_else() {
    let node = real_node();
    let scan = scan_json(&node, &node.logs);
    let blamed: Vec<(&str, &str)> = scan
        .iter()
        .filter(|r| !r["rollout"].is_null())
        .map(|r| (r["namespace"].as_str().unwrap_or(""), r["pod"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(blamed, [("rn-rollout", "rollout-6c8dcb87b-tg65g")]);
    let rollout = scan.iter().find_map(|r| r.get("rollout").filter(|r| !r.is_null())).expect("a rollout");
    assert_eq!(
        rollout,
        &serde_json::json!({
            "template": "6c8dcb87b",
            "since": "2026-12-07T06:15:59Z",
            "failing_pods": 1,
            "serving_template": "6d5f4b7c9",
            "serving_ready_pods": 1,
            "images": [],
            "lowered_limits": [],
            "summary": "started with the rollout of template 6c8dcb87b (no image changed: the command, env, resources or probes did), 6m ago; 1 failing pod(s) are all of it, and 1 ready pod(s) of template 6d5f4b7c9 serve",
            "undo": "kubectl rollout undo deployment/rollout -n rn-rollout",
        })
    );
    let (_, reports) = diagnose_json(&node, &node.logs);
    let with_rollout: Vec<&str> =
        reports.iter().filter(|r| !r["rollout"].is_null()).filter_map(|r| r["pod"].as_str()).collect();
    assert_eq!(with_rollout, ["rollout-6c8dcb87b-tg65g"], "the old template's pod is not blamed");

    let pods: Vec<SlimPod> =
        node.pods.iter().map(|p| serde_json::to_value(p).and_then(serde_json::from_value).expect("slim")).collect();
    let snapshot = Snapshot::of(pods, &[], node.now);
    let table = render_scan(&rows(&snapshot, &node.logs, node.now), Output::Table);
    assert!(
        table.ends_with(&format!(
            "\nRollouts to blame:\n  rn-rollout Deployment/rollout: {}.\n    undo: kubectl rollout undo deployment/rollout -n rn-rollout\n",
            rollout["summary"].as_str().unwrap_or("")
        )),
        "{table}"
    );
}

/// `-o yaml` is `-o json`'s document: read back, the same values, for every report of the
/// real node and for scan's rows.
#[test]
fn yaml_reads_back_as_the_json() {
    let node = real_node();
    let (_, reports) = diagnose_json(&node, &node.logs);
    let pods: Vec<SlimPod> =
        node.pods.iter().map(|p| serde_json::to_value(p).and_then(serde_json::from_value).expect("slim")).collect();
    let snapshot = Snapshot::of(pods, &[], node.now);
    let rows = rows(&snapshot, &node.logs, node.now);
    let yaml = render_scan(&rows, Output::Yaml);
    let back: Value = serde_saphyr::from_str(&yaml).expect("scan -o yaml parses");
    assert_eq!(back, serde_json::to_value(&rows).expect("rows"));
    assert!(reports.len() >= 20);
    for report in &reports {
        let yaml = serde_saphyr::to_string(report).expect("yaml");
        let back: Value = serde_saphyr::from_str(&yaml).expect("diagnose -o yaml parses");
        assert_eq!(&back, report);
    }
}

/// Without the logs, `scan` falls back on the status and Events: it says so, in each row
/// and under the table, and names the cause of the one container whose log decides it as
/// the status shows it.
#[test]
fn without_the_logs_scan_says_what_it_did_not_read() {
    let node = real_node();
    let scan = scan_json(&node, &Logs::new());
    let dependency = scan.iter().find(|r| r["namespace"] == "rn-dependency").expect("rn-dependency's row");
    assert_eq!((dependency["cause"].as_str(), dependency["log"].as_str()), (Some("app_error"), Some("skipped")));
    let with_logs = scan_json(&node, &node.logs);
    let dependency = with_logs.iter().find(|r| r["namespace"] == "rn-dependency").expect("rn-dependency's row");
    assert_eq!(
        (dependency["cause"].as_str(), dependency["log"].as_str()),
        (Some("dependency_unavailable"), Some("ok"))
    );
    // A container whose latest termination did not fail has no log to read.
    let unschedulable = with_logs.iter().find(|r| r["cause"] == "unschedulable").expect("an unschedulable row");
    assert_eq!(unschedulable["log"], Value::Null);

    let pods: Vec<SlimPod> =
        node.pods.iter().map(|p| serde_json::to_value(p).and_then(serde_json::from_value).expect("slim")).collect();
    let snapshot = Snapshot::of(pods, &[], node.now);
    let table = render_scan(&rows(&snapshot, &Logs::new(), node.now), Output::Table);
    assert!(
        table.ends_with(
            "\nCauses from the pods' status and Events only: --logs also reads the previous logs, as the server does with --logs.\n"
        ),
        "{table}"
    );
    let read: Logs = snapshot
        .logs_to_read(node.now)
        .into_iter()
        .map(|(p, c)| (container_key(p, c), ReadLog { result: "ok", text: String::new(), hint: None }))
        .collect();
    assert!(!render_scan(&rows(&snapshot, &read, node.now), Output::Table).contains("--logs"));
}

/// Every pod fixture alone (`tests/fixtures/pods/`: the shapes 1.20 to 1.35 kubelets
/// write): `scan` names the troubled containers, and their causes, that `/metrics` names.
#[test]
fn scan_names_the_causes_metrics_names_on_every_pod_fixture() {
    use crate::exposition::tests::{NOW, render_pods};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pods");
    let mut names = Vec::new();
    for folder in ["", "current/"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("fixtures").flatten() {
            let file = entry.file_name().to_string_lossy().to_string();
            if let Some(name) = file.strip_suffix(".json") {
                names.push(format!("{folder}{name}"));
            }
        }
    }
    assert!(names.len() >= 15, "{names:?}");
    let mut troubled = 0;
    for name in names {
        let pod = crate::fixtures::fixture(&name);
        let metrics: BTreeSet<String> = render_pods(vec![pod.clone()], false, false)
            .lines()
            .filter_map(|l| l.strip_prefix("crashloop_container_probable_cause{")?.strip_suffix("} 1"))
            .map(str::to_string)
            .collect();
        let scan: BTreeSet<String> = rows(&Snapshot::of(vec![pod], &[], NOW), &Logs::new(), NOW)
            .iter()
            .map(|r| {
                format!(
                    r#"namespace="{}",pod="{}",container="{}",container_type="{}",cause="{}""#,
                    r.namespace,
                    r.pod,
                    r.container,
                    r.container_type,
                    r.cause.unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(scan, metrics, "{name}: scan, /metrics");
        troubled += scan.len();
    }
    assert!(troubled >= 10, "{troubled} troubled containers in the fixtures");
}

/// The termination message is evidence without `pods/log`: with
/// `FallbackToLogsOnError` the kubelet puts the log's tail in it, and `diagnose` (with no
/// log read) names the dependency from it, and shows it.
#[test]
fn the_termination_message_is_evidence_without_the_log() {
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "api-7d4b9c-x2k4p", "namespace": "shop", "uid": "u1"},
        "spec": {"restartPolicy": "Always", "containers": [{"name": "api", "image": "localhost/api:1.4.3",
            "terminationMessagePolicy": "FallbackToLogsOnError"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "api", "restartCount": 3, "ready": false,
            "image": "localhost/api:1.4.3", "imageID": "", "started": false,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 40s restarting failed container=api pod=api-7d4b9c-x2k4p_shop(u1)"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                "message": "starting api 1.4.3\ndial tcp 10.96.0.10:5432: connect: connection refused\n",
                "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:02Z"}}}]}
    }))
    .expect("a pod");
    let now = crate::fixtures::ts("2026-11-24T10:00:10Z");
    let d = Diagnosis::of(&pod, Nearby::default(), vec![], &Logs::new(), now).expect("a diagnosis");
    let json: Value = serde_json::from_str(&render_diagnosis(&d, DiagnoseOutput::Json)).expect("diagnose -o json");
    let c = &json["containers"][0];
    assert_eq!((c["cause"].as_str(), c["log"].as_str()), (Some("dependency_unavailable"), Some("skipped")));
    assert_eq!(
        c["termination_message"],
        serde_json::json!(["starting api 1.4.3", "dial tcp 10.96.0.10:5432: connect: connection refused"])
    );
    let text = render_diagnosis(&d, DiagnoseOutput::Table);
    assert!(
        text.contains("  termination message:\n    | starting api 1.4.3\n    | dial tcp 10.96.0.10:5432"),
        "{text}"
    );
}

/// The workload writes the Event messages, termination messages and logs `diagnose`
/// prints: an escape sequence among them never reaches the terminal (text output), and
/// `-o json` keeps the text as it is, escaped by JSON.
#[test]
fn diagnose_prints_no_escape_sequence_of_the_workload() {
    let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mred";
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "api-7d4b9c-x2k4p", "namespace": "shop", "uid": "u1"},
        "spec": {"restartPolicy": "Always", "containers": [{"name": "api", "image": "localhost/api:1.4.3"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "api", "restartCount": 3, "ready": false,
            "image": "localhost/api:1.4.3", "imageID": "", "started": false,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 40s restarting failed container=api pod=api-7d4b9c-x2k4p_shop(u1)"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": format!("{hostile}\nbye"),
                "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:02Z"}}}]}
    }))
    .expect("a pod");
    let event: k8s_openapi::api::core::v1::Event = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "api.1", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "name": "api-7d4b9c-x2k4p", "namespace": "shop", "uid": "u1",
            "fieldPath": "spec.containers{api}"},
        "reason": "Started", "message": format!("Started {hostile}"), "type": "Normal", "count": 1,
        "lastTimestamp": "2026-11-24T10:00:01Z"
    }))
    .expect("an Event");
    let now = crate::fixtures::ts("2026-11-24T10:00:10Z");
    let d = Diagnosis::of(&pod, Nearby::default(), vec![event], &Logs::new(), now).expect("a diagnosis");
    let text = render_diagnosis(&d, DiagnoseOutput::Table);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
    assert!(text.contains("Started \u{fffd}]0;owned\u{fffd}\u{fffd}[2J\u{fffd}[31mred"), "{text}");
    assert!(text.contains("    | \u{fffd}]0;owned"), "the termination message, shown safe: {text}");
    let json: Value = serde_json::from_str(&render_diagnosis(&d, DiagnoseOutput::Json)).expect("diagnose -o json");
    assert_eq!(json["containers"][0]["termination_message"][0], hostile, "JSON keeps the text");
}

/// `--fail-on`: a missing ConfigMap fails `scan` only with `any`; a crash loop with
/// `crashloop` (the default) and `any`; nothing with `never`.
#[test]
fn scan_fails_as_fail_on_says() {
    use crate::config::FailOn;
    use crate::exposition::tests::NOW;
    let rows_of = |name: &str| rows(&Snapshot::of(vec![crate::fixtures::fixture(name)], &[], NOW), &Logs::new(), NOW);
    let waiting = rows_of("missing-configmap");
    let looping = rows_of("deployment-oom-crashloop");
    let verdicts = |rows: &[super::Row]| [FailOn::Crashloop, FailOn::Any, FailOn::Never].map(|f| super::fails(rows, f));
    assert_eq!(verdicts(&waiting), [false, true, false]);
    assert_eq!(verdicts(&looping), [true, true, false]);
    assert_eq!(verdicts(&[]), [false, false, false]);
}

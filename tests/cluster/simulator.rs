//! `crashloop-sim populate` and `run` against the real testbed apiserver: what they write is
//! what a kubelet writes, as the exporter's own `scan` reads it back.

use std::collections::HashMap;
use std::process::Command;

use crashloop_testbed as testbed;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use serde_json::Value;

fn sim(args: &[&str]) -> String {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let out = Command::new(testbed::sim_binary().expect("crashloop-sim is built"))
        .args(args)
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig_path())
        .output()
        .expect("crashloop-sim runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "crashloop-sim {args:?} failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// `scan -o json -n NS`: rows by pod name.
fn scan(ns: &str) -> HashMap<String, Value> {
    let cluster = testbed::shared().expect("testbed cluster");
    let out = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
        .args(["scan", "-o", "json", "--log-level", "error", "-n", ns, "--kubeconfig"])
        .arg(cluster.kubeconfig_path())
        .output()
        .expect("scan runs");
    let rows: Value = serde_json::from_slice(&out.stdout).expect("scan -o json");
    rows.as_array()
        .expect("an array of rows")
        .iter()
        .map(|r| (r["pod"].as_str().unwrap_or_default().to_string(), r.clone()))
        .collect()
}

async fn pods(ns: &str) -> Vec<Pod> {
    let client = testbed::shared().expect("cluster").client().await.expect("client");
    Api::<Pod>::namespaced(client, ns).list(&ListParams::default()).await.expect("list pods").items
}

fn name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

#[tokio::test]
async fn populate_creates_each_scenario_as_scan_diagnoses_it() {
    let ns = "it-sim-populate";
    let out = sim(&[
        "populate",
        "--pods",
        "36",
        "--namespace-prefix",
        ns,
        "--mix",
        "oom=1,liveness=1,image=1,config=2,healthy=1",
    ]);
    assert!(out.contains("crash-looping containers (CrashLoopBackOff): 12"), "{out}");
    let pods = pods(ns).await;
    assert_eq!(pods.len(), 36);
    let rows = scan(ns);
    let (mut looping, mut creating) = (0, 0);
    for pod in &pods {
        let name = name(pod);
        let status = &pod.status.as_ref().expect("status").container_statuses.as_ref().expect("container statuses")[0];
        let waiting = status.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone());
        let last = status.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        let row = rows.get(&name);
        let cause = row.map(|r| r["cause"].as_str().unwrap_or_default());
        match name.split('-').next().unwrap_or_default() {
            "checkout" => {
                assert_eq!(waiting.as_deref(), Some("CrashLoopBackOff"), "{name}");
                assert_eq!(last.map(|t| (t.reason.as_deref(), t.exit_code)), Some((Some("OOMKilled"), 137)), "{name}");
                assert!(status.restart_count >= 1, "{name}");
                assert_eq!(cause, Some("oom_killed"), "{name}");
                assert_eq!(row.map(|r| r["crashlooping"] == true), Some(true), "{name}");
                looping += 1;
            }
            "api" => {
                assert_eq!(waiting.as_deref(), Some("CrashLoopBackOff"), "{name}");
                assert_eq!(last.map(|t| (t.reason.as_deref(), t.exit_code)), Some((Some("Error"), 137)), "{name}");
                // Populated loops are shallow (at most 3 restarts), under the spam filter's burst:
                // every Killing is written, so every kill is diagnosed.
                assert_eq!(cause, Some("liveness_probe"), "{name}");
                looping += 1;
            }
            "frontend" => {
                assert!(matches!(waiting.as_deref(), Some("ImagePullBackOff" | "ErrImagePull")), "{name}: {waiting:?}");
                assert_eq!(cause, Some("image_pull"), "{name}");
            }
            "worker" => match waiting.as_deref() {
                Some("CreateContainerConfigError") => assert_eq!(cause, Some("missing_config"), "{name}"),
                // A missing ConfigMap volume: the container has not failed, so no row (as on
                // the real node); the pod's missing object is a pod-level series.
                Some("ContainerCreating") => {
                    assert!(pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).is_some(), "{name}");
                    assert!(row.is_none(), "{name} has not failed but is scanned: {row:?}");
                    creating += 1;
                }
                other => panic!("{name}: {other:?}"),
            },
            "web" => {
                assert!(status.state.as_ref().is_some_and(|s| s.running.is_some()), "{name}");
                assert!(row.is_none(), "{name} is healthy but scanned: {row:?}");
            }
            other => panic!("unexpected workload {other} ({name})"),
        }
    }
    assert_eq!(looping, 12);
    // The mix gives 6 pods of each unit (config=2: 12), and the seeds give 3 of the 12
    // workers a ConfigMap volume: the same every run.
    let count = |cause: &str| rows.values().filter(|r| r["cause"] == cause).count();
    assert_eq!((count("liveness_probe"), count("missing_config"), creating), (6, 9, 3), "{rows:#?}");
}

#[tokio::test]
async fn run_moves_containers_through_crash_loops_and_aggregates_events() {
    let ns = "it-sim-run";
    let out =
        sim(&["run", "--pods", "6", "--namespace-prefix", ns, "--mix", "oom=1", "--speedup", "40", "--duration", "8s"]);
    assert!(out.contains("pods created 6 deleted 0"), "{out}");
    assert!(out.contains("errors 0"), "{out}");
    for pod in pods(ns).await {
        let status = &pod.status.as_ref().expect("status").container_statuses.as_ref().expect("statuses")[0];
        // 8 s at 40x is 320 simulated seconds: several OOM kills, the back-off climbing.
        assert!(status.restart_count >= 2, "{}: restartCount {}", name(&pod), status.restart_count);
    }
    let client = testbed::shared().expect("cluster").client().await.expect("client");
    let events = Api::<Event>::namespaced(client, ns).list(&ListParams::default()).await.expect("events").items;
    let mut objects: HashMap<(String, String, String), i32> = HashMap::new();
    for e in &events {
        let key = (
            e.involved_object.name.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.message.clone().unwrap_or_default(),
        );
        assert!(
            objects.insert(key.clone(), e.count.unwrap_or(0)).is_none(),
            "two Event objects for {key:?}: repeats must PATCH count"
        );
        assert_eq!(e.involved_object.field_path.as_deref(), Some("spec.containers{app}"));
        assert_eq!(e.source.as_ref().and_then(|s| s.component.as_deref()), Some("kubelet"));
    }
    let started = objects.iter().filter(|((_, reason, _), _)| reason == "Started").map(|(_, n)| *n);
    assert!(started.clone().count() == 6 && started.clone().all(|n| n >= 3), "Started counts: {objects:?}");
    let backoffs: Vec<i32> =
        objects.iter().filter(|((_, reason, _), _)| reason == "BackOff").map(|(_, n)| *n).collect();
    assert!(backoffs.len() == 6 && backoffs.iter().any(|n| *n >= 2), "BackOff counts: {backoffs:?}");
    let rows = scan(ns);
    assert_eq!(rows.len(), 6, "{rows:#?}");
    assert!(rows.values().all(|r| r["cause"] == "oom_killed"), "{rows:#?}");
}

//! Memory per cached pod and render time, measured side by side in one process.
//!
//! Method: build N real-shaped Pod JSON documents (3 containers, 10 env vars each, a 200-byte
//! annotation, managedFields, 5% of pods crash-looping), decode them and insert them into
//! a kube-runtime reflector store; the resident set size (from /proc/self/statm) before
//! and after, divided by N, is the memory per cached pod. The same is done, in the same
//! run, for full `k8s_openapi` Pods (what a stock reflector keeps). Then one `/metrics`
//! render of the slim cache is timed (median of 5), plain and gzip.
//!
//! Run: `cargo bench --bench footprint -- [N]` (default 20000).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Instant;

use crashloop_exporter::metrics::{registry, PodSource, SelfMetrics};
use crashloop_exporter::model::{track, SlimPod};
use crashloop_exporter::watch::PodCache;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector;
use kube::runtime::watcher::Event;
use serde_json::json;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn pod_json(i: usize) -> Vec<u8> {
    let troubled = i % 20 == 0;
    let env: Vec<_> = (0..10).map(|e| json!({"name": format!("VAR_{e}"), "value": format!("value-{e}-{i}")})).collect();
    let container = |name: &str| {
        json!({"name": name, "image": format!("registry.example/team/{name}:1.{}", i % 7), "env": env,
            "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}, "requests": {"memory": "128Mi", "cpu": "100m"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}, "ports": [{"containerPort": 8080}]})
    };
    let status = |name: &str| {
        if troubled && name == "app" {
            json!({"name": name, "restartCount": 7, "ready": false, "image": "x", "imageID": "x@sha256:1", "containerID": "containerd://1",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={name} pod=p-{i}_ns(u)")}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:30Z"}}})
        } else {
            json!({"name": name, "restartCount": 0, "ready": true, "image": "x", "imageID": "x@sha256:1", "containerID": "containerd://1",
                "state": {"running": {"startedAt": "2026-11-24T09:00:00Z"}}, "lastState": {}})
        }
    };
    let doc = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("web-{i:06}-7d9c8b6f5-x2zqp"), "namespace": format!("team-{}", i % 50),
            "uid": format!("4f1c2a9e-7b0d-4a57-9a43-{i:012}"), "resourceVersion": "918273",
            "labels": {"app": "web", "pod-template-hash": "7d9c8b6f5", "team": "payments"},
            "annotations": {"example.com/note": "x".repeat(200)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{i:06}-7d9c8b6f5"), "uid": "r", "controller": true}],
            "managedFields": [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-11-24T09:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:conditions": {".": {}}, "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {}}}}]},
        "spec": {"nodeName": format!("node-{}", i % 100), "containers": [container("app"), container("sidecar"), container("proxy")]},
        "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.244.0.1", "startTime": "2026-11-24T09:00:00Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [status("app"), status("sidecar"), status("proxy")]}
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn fill<K>(docs: &[Vec<u8>], map: impl Fn(K) -> K) -> (reflector::Store<K>, f64)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + 'static,
{
    let (reader, mut writer) = reflector::store::<K>();
    let start = Instant::now();
    writer.apply_watcher_event(&Event::Init);
    for d in docs {
        if let Ok(obj) = serde_json::from_slice::<K>(d) {
            writer.apply_watcher_event(&Event::InitApply(map(obj)));
        }
    }
    writer.apply_watcher_event(&Event::InitDone);
    (reader, start.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let docs: Vec<Vec<u8>> = (0..n).map(pod_json).collect();
    let json_bytes: usize = docs.iter().map(Vec::len).sum();

    let before = rss_bytes();
    let (slim, slim_secs) = fill::<SlimPod>(&docs, |p| track(None, p, 1_795_000_000, true));
    let slim_bytes = rss_bytes().saturating_sub(before);

    let before = rss_bytes();
    let (full, full_secs) = fill::<Pod>(&docs, |p| p);
    let full_bytes = rss_bytes().saturating_sub(before);
    drop(full);

    let cache = PodCache { store: slim, last_sync: Arc::new(AtomicI64::new(1)), ready: tokio::sync::watch::channel(true).1 };
    let source = PodSource {
        caches: vec![cache],
        events: Default::default(),
        log_hints: Default::default(),
        healthy_details: false,
        clock: Arc::new(|| 1_795_000_000),
    };
    let reg = registry(source, &SelfMetrics::default());
    let mut plain = Vec::new();
    let mut zipped = Vec::new();
    let mut size = (0, 0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        let text = crashloop_exporter::http::render(&reg, false).unwrap_or_default();
        plain.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = std::io::Write::write_all(&mut enc, text.as_bytes());
        let gz = enc.finish().unwrap_or_default();
        zipped.push(plain.last().copied().unwrap_or(0.0) + t.elapsed().as_secs_f64());
        size = (text.len(), gz.len(), text.lines().filter(|l| !l.starts_with('#')).count());
    }

    println!("pods: {n} (3 containers each, 5% crash-looping), {:.1} MB of JSON", json_bytes as f64 / 1e6);
    println!("| figure | crashloop-exporter (SlimPod) | stock reflector (k8s_openapi Pod) | ratio |");
    println!("|---|---|---|---|");
    println!("| memory per cached pod | {} B | {} B | {:.1}x |", slim_bytes / n as u64, full_bytes / n as u64, full_bytes as f64 / slim_bytes.max(1) as f64);
    println!("| decode + insert rate | {:.0} pods/s | {:.0} pods/s | {:.1}x |", n as f64 / slim_secs, n as f64 / full_secs, full_secs / slim_secs);
    println!("| /metrics render, median of 5 | {:.1} ms plain, {:.1} ms gzip | - | - |", median(plain) * 1e3, median(zipped) * 1e3);
    println!("| exposition | {:.1} MB plain, {:.2} MB gzip, {} series | - | - |", size.0 as f64 / 1e6, size.1 as f64 / 1e6, size.2);
}

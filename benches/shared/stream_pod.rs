//! The pods of the in-process stream (benches/footprint.rs), shared with benches/cluster.rs,
//! which stores the same pods in etcd: both benches see the same objects.

use serde_json::json;

/// One real-shaped pod; `generation` moves the resourceVersion and the restart count.
pub fn pod(i: usize, generation: u32) -> serde_json::Value {
    let troubled = i.is_multiple_of(20);
    let env: Vec<_> = (0..10).map(|e| json!({"name": format!("VAR_{e}"), "value": format!("value-{e}-{i}")})).collect();
    let container = |name: &str| {
        json!({"name": name, "image": format!("registry.example/team/{name}:1.{}", i % 7), "env": env,
            "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}, "requests": {"memory": "128Mi", "cpu": "100m"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}, "ports": [{"containerPort": 8080}]})
    };
    let status = |name: &str| {
        if troubled && name == "app" {
            json!({"name": name, "restartCount": 7 + generation, "ready": false, "image": "x", "imageID": "x@sha256:1", "containerID": "containerd://1",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={name} pod=p-{i}_ns(u)")}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:30Z"}}})
        } else {
            json!({"name": name, "restartCount": 0, "ready": true, "image": "x", "imageID": "x@sha256:1", "containerID": "containerd://1",
                "state": {"running": {"startedAt": "2026-11-24T09:00:00Z"}}, "lastState": {}})
        }
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("web-{i:06}-7d9c8b6f5-x2zqp"), "namespace": format!("team-{}", i % 50),
            "uid": format!("4f1c2a9e-7b0d-4a57-9a43-{i:012}"), "resourceVersion": format!("{}", 1_000_000 + generation as usize * 1_000_000 + i),
            "labels": {"app": "web", "pod-template-hash": "7d9c8b6f5", "team": "payments"},
            "annotations": {"example.com/note": "x".repeat(200)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{:06}-7d9c8b6f5", i / 3), "uid": "r", "controller": true}],
            "managedFields": [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-11-24T09:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:conditions": {".": {}}, "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {}}}}]},
        "spec": {"nodeName": format!("node-{}", i % 100), "containers": [container("app"), container("sidecar"), container("proxy")]},
        "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.244.0.1", "startTime": "2026-11-24T09:00:00Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [status("app"), status("sidecar"), status("proxy")]}
    })
}

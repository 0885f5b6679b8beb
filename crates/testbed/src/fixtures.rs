//! JSON builders for what a controller and a kubelet would write: pods, container statuses,
//! events. Pure functions, usable in unit tests without a cluster. Also the catalogue of
//! demo pods that `crashloop-sim demo` writes, built from them.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::NODE_NAME;
use super::measure::unix_now;

/// An RFC 3339 timestamp with second precision, as the API writes them.
pub fn timestamp(unix_seconds: i64) -> String {
    Timestamp::from_second(unix_seconds).unwrap_or(Timestamp::UNIX_EPOCH).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// [`timestamp`] of `seconds` before now.
pub fn ago(seconds: i64) -> String {
    timestamp(unix_now() as i64 - seconds)
}

/// A stable, UUID-shaped id derived from `seed` (for owner references and fake digests).
pub fn fake_uid(seed: &str) -> String {
    let h = hash(&(seed, 0)).to_be_bytes().into_iter().chain(hash(&(seed, 1)).to_be_bytes());
    let hex: String = h.map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn hash(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// A container spec: `{"name", "image"}`. Add fields (resources, probes, ...) to the value.
pub fn container(name: &str, image: &str) -> Value {
    json!({ "name": name, "image": image })
}

/// A bare pod bound to [`NODE_NAME`] (so no scheduler is needed), `restartPolicy: Always`.
///
/// Set `["spec"]["initContainers"]` on the result for init containers. Native sidecars
/// (`restartPolicy: Always` on an init container) are dropped by the 1.20 apiserver.
pub fn pod(ns: &str, name: &str, containers: Vec<Value>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": ns, "labels": {} },
        "spec": {
            "nodeName": NODE_NAME,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "containers": containers,
        },
    })
}

/// Adds a controller owner reference (with a fake uid) to a pod manifest.
pub fn owned_by(mut pod: Value, api_version: &str, kind: &str, name: &str) -> Value {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": fake_uid(&format!("{ns}/{kind}/{name}")),
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    pod
}

/// A pod of Deployment `deploy`, as its ReplicaSet `<deploy>-<hash>` names it:
/// `<deploy>-<hash>-<suffix>`, label `pod-template-hash: <hash>` (and `app: <deploy>`).
pub fn deployment_pod(ns: &str, deploy: &str, hash: &str, suffix: &str, containers: Vec<Value>) -> Value {
    let rs = format!("{deploy}-{hash}");
    let mut p = owned_by(pod(ns, &format!("{rs}-{suffix}"), containers), "apps/v1", "ReplicaSet", &rs);
    p["metadata"]["labels"] = json!({ "app": deploy, "pod-template-hash": hash });
    p
}

/// A pod of Job `job` (`<job>-<suffix>`, label `job-name`, `restartPolicy: OnFailure`). A
/// CronJob's Job is named `<cronjob>-<scheduled minute>`, e.g. `nightly-28391040`.
pub fn job_pod(ns: &str, job: &str, suffix: &str, containers: Vec<Value>) -> Value {
    let mut p = owned_by(pod(ns, &format!("{job}-{suffix}"), containers), "batch/v1", "Job", job);
    let uid = fake_uid(&format!("{ns}/Job/{job}"));
    p["metadata"]["labels"] = json!({ "job-name": job, "controller-uid": uid });
    p["spec"]["restartPolicy"] = json!("OnFailure");
    p
}

/// A terminated container state: the current state of an exited container, or the
/// `lastState` of a restarted one.
#[derive(Clone, Debug)]
pub struct Terminated {
    /// `OOMKilled`, `Error`, `Completed`, `ContainerCannotRun`, ...
    pub reason: String,
    /// The exit code (137 for SIGKILL).
    pub exit_code: i32,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// The termination message, if any.
    pub message: Option<String>,
}

impl Terminated {
    /// A termination without message.
    pub fn new(reason: &str, exit_code: i32, started_at: impl Into<String>, finished_at: impl Into<String>) -> Self {
        let (started_at, finished_at) = (started_at.into(), finished_at.into());
        Terminated { reason: reason.into(), exit_code, started_at, finished_at, message: None }
    }

    fn to_json(&self) -> Value {
        let mut t = json!({
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        });
        if let Some(m) = &self.message {
            t["message"] = json!(m);
        }
        json!({ "terminated": t })
    }
}

fn container_status(name: &str, state: Value, ready: bool, restarts: i32, last: Option<&Terminated>) -> Value {
    json!({
        "name": name,
        "state": state,
        "lastState": last.map_or(json!({}), Terminated::to_json),
        "ready": ready,
        "started": state.get("running").is_some(),
        "restartCount": restarts,
    })
}

/// A ready, running container status.
pub fn running_status(container: &str, restart_count: i32, started_at: &str, last: Option<&Terminated>) -> Value {
    let state = json!({ "running": { "startedAt": started_at } });
    container_status(container, state, true, restart_count, last)
}

/// A waiting container status (`ContainerCreating`, `ImagePullBackOff`,
/// `CreateContainerConfigError`, ...). `message` may be empty.
pub fn waiting_status(
    container: &str,
    reason: &str,
    message: &str,
    restart_count: i32,
    last: Option<&Terminated>,
) -> Value {
    let mut waiting = json!({ "reason": reason });
    if !message.is_empty() {
        waiting["message"] = json!(message);
    }
    container_status(container, json!({ "waiting": waiting }), false, restart_count, last)
}

/// A container status whose current state is terminated (a finished Job container, or one
/// the kubelet has not restarted yet).
pub fn terminated_status(container: &str, restart_count: i32, state: &Terminated, last: Option<&Terminated>) -> Value {
    container_status(container, state.to_json(), false, restart_count, last)
}

/// A container in `CrashLoopBackOff`, with the kubelet's message:
/// `back-off <back_off> restarting failed container=<c> pod=<pod>_<ns>(<uid>)`.
pub fn crashloop_status(pod: &Pod, container: &str, restart_count: i32, back_off: &str, last: &Terminated) -> Value {
    let m = &pod.metadata;
    let (name, ns, uid) = (m.name.as_deref(), m.namespace.as_deref(), m.uid.as_deref());
    let (name, ns, uid) = (name.unwrap_or_default(), ns.unwrap_or_default(), uid.unwrap_or_default());
    let message = format!("back-off {back_off} restarting failed container={container} pod={name}_{ns}({uid})");
    waiting_status(container, "CrashLoopBackOff", &message, restart_count, Some(last))
}

/// A pod status as the kubelet reports it, for a pod as created (with its uid and spec).
///
/// Each container status goes to `containerStatuses` or `initContainerStatuses` by its name;
/// `image`, `imageID` and `containerID` are filled from the spec when missing (the latter two
/// only for containers that have run). Conditions `Initialized`, `ContainersReady`, `Ready`
/// and `PodScheduled` follow from the statuses.
pub fn pod_status(pod: &Pod, phase: &str, statuses: Vec<Value>) -> Value {
    let spec = pod.spec.as_ref();
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let image_of = |init: bool, name: &str| {
        let list = spec.and_then(|s| if init { s.init_containers.as_ref() } else { Some(&s.containers) });
        list.into_iter().flatten().find(|c| c.name == name).and_then(|c| c.image.clone())
    };
    let (mut main, mut init) = (Vec::new(), Vec::new());
    for mut s in statuses {
        let name = s["name"].as_str().unwrap_or_default().to_owned();
        let is_init = image_of(false, &name).is_none() && image_of(true, &name).is_some();
        let image = image_of(is_init, &name).unwrap_or_default();
        let has_run = s["lastState"].get("terminated").is_some() || s["state"].get("waiting").is_none();
        if s.get("image").is_none() {
            s["image"] = json!(image);
        }
        if s.get("imageID").is_none() {
            let digest = hash(&image);
            s["imageID"] = json!(if has_run {
                format!("{image}@sha256:{digest:016x}{digest:016x}{digest:016x}{digest:016x}")
            } else {
                String::new()
            });
        }
        if s.get("containerID").is_none() && has_run {
            let (a, b) = (hash(&(uid, &name, 0)), hash(&(uid, &name, s["restartCount"].as_i64())));
            s["containerID"] = json!(format!("containerd://{a:016x}{b:016x}{a:016x}{b:016x}"));
        }
        if is_init { init.push(s) } else { main.push(s) }
    }
    let all_ready = main.iter().all(|s| s["ready"] == json!(true));
    let inits_done = init.iter().all(|s| s["state"]["terminated"]["exitCode"] == json!(0) || s["ready"] == json!(true));
    let start = pod.metadata.creation_timestamp.as_ref().map(|t| timestamp(t.0.as_second())).unwrap_or_else(|| ago(0));
    let condition = |type_: &str, ok: bool| {
        let mut c = json!({ "type": type_, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": start });
        if !ok {
            c["reason"] = json!(if type_ == "Initialized" { "ContainersNotInitialized" } else { "ContainersNotReady" });
        }
        c
    };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            condition("Initialized", inits_done),
            condition("Ready", all_ready),
            condition("ContainersReady", all_ready),
            condition("PodScheduled", true),
        ],
        "startTime": start,
        "containerStatuses": main,
    });
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    status
}

/// A core/v1 Event about a pod, as the kubelet records it. Build with [`EventSpec::for_pod`],
/// adjust the public fields, then post with [`post_event`](super::post_event).
#[derive(Clone, Debug)]
pub struct EventSpec {
    /// `<pod>.<hex unix nanos>` by default, as client-go names events.
    pub name: String,
    /// The pod's name.
    pub pod_name: String,
    /// The pod's uid.
    pub pod_uid: String,
    /// `spec.containers{<name>}` for container events, empty for pod events.
    pub field_path: String,
    /// `BackOff`, `Unhealthy`, `Killing`, `FailedMount`, `Failed`, ...
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// How many times it happened (the kubelet's correlator bumps this).
    pub count: i32,
    /// RFC 3339.
    pub first_timestamp: String,
    /// RFC 3339.
    pub last_timestamp: String,
    /// `source.component`: `kubelet`.
    pub component: String,
    /// `source.host`: [`NODE_NAME`].
    pub host: String,
}

impl EventSpec {
    /// A `Warning` (or, if `warning` is false, `Normal`) event about `pod`, now, count 1.
    pub fn for_pod(pod: &Pod, warning: bool, reason: &str, message: &str) -> Self {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        EventSpec {
            name: format!("{name}.{nanos:x}"),
            pod_name: name,
            pod_uid: pod.metadata.uid.clone().unwrap_or_default(),
            field_path: String::new(),
            reason: reason.into(),
            message: message.into(),
            type_: if warning { "Warning" } else { "Normal" }.into(),
            count: 1,
            first_timestamp: ago(0),
            last_timestamp: ago(0),
            component: "kubelet".into(),
            host: NODE_NAME.into(),
        }
    }

    /// Sets `field_path` to `spec.containers{<container>}`.
    pub fn container(mut self, container: &str) -> Self {
        self.field_path = format!("spec.containers{{{container}}}");
        self
    }

    /// Sets the count and the first timestamp `first_seconds_ago` before now.
    pub fn repeated(mut self, count: i32, first_seconds_ago: i64) -> Self {
        self.count = count;
        self.first_timestamp = ago(first_seconds_ago);
        self
    }
}

/// The core/v1 Event manifest of `spec` in namespace `ns`.
pub fn event_manifest(ns: &str, spec: &EventSpec) -> Value {
    let mut involved = json!({
        "apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": spec.pod_name, "uid": spec.pod_uid,
    });
    if !spec.field_path.is_empty() {
        involved["fieldPath"] = json!(spec.field_path);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": spec.name, "namespace": ns },
        "involvedObject": involved,
        "reason": spec.reason,
        "message": spec.message,
        "type": spec.type_,
        "count": spec.count,
        "firstTimestamp": spec.first_timestamp,
        "lastTimestamp": spec.last_timestamp,
        "source": { "component": spec.component, "host": spec.host },
        "reportingComponent": "",
        "reportingInstance": "",
    })
}

/// Pod number `i` of the benchmarks' stream of real-shaped pods (the footprint bench lists
/// and watches it in process, the cluster bench stores it in etcd, so both see the same
/// objects): three containers with env, resources and probes, every 20th in
/// `CrashLoopBackOff` after `OOMKilled`/137, spread over 50 namespaces and 100 nodes;
/// `generation` moves the resourceVersion and the restart count.
pub fn stream_pod(i: usize, generation: u32) -> Value {
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

/// One demo pod: its manifest, the phase and container statuses the kubelet reports once it
/// exists, and the events the kubelet recorded.
pub struct DemoPod {
    pub manifest: Value,
    pub phase: &'static str,
    pub statuses: fn(&Pod) -> Vec<Value>,
    pub events: fn(&Pod) -> Vec<EventSpec>,
}

/// The kubelet's `BackOff` Event about container `c`, `count` times (see [`EventSpec::repeated`]).
fn back_off(pod: &Pod, c: &str, count: i32) -> EventSpec {
    EventSpec::for_pod(pod, true, "BackOff", "Back-off restarting failed container").container(c).repeated(count, 900)
}

/// The pods `crashloop-sim demo` creates in `ns`: each typical crash loop once (OOM kills,
/// an exit 1 at start-up, a missing image, a missing ConfigMap, liveness kills, a CronJob's
/// Job restarted after exit 0) and one healthy pod.
pub fn demo_pods(ns: &str) -> Vec<DemoPod> {
    let with_memory_limit = |mut c: Value, limit: &str| {
        c["resources"] = json!({ "limits": { "memory": limit }, "requests": { "memory": limit } });
        c
    };
    let mut liveness = container("api", "registry.example/api:3.0.2");
    liveness["livenessProbe"] =
        json!({ "httpGet": { "path": "/healthz", "port": 8080 }, "periodSeconds": 10, "failureThreshold": 3 });
    let mut needs_config = container("worker", "registry.example/worker:1.8.0");
    needs_config["envFrom"] = json!([{ "configMapRef": { "name": "app-config" } }]);
    needs_config["volumeMounts"] = json!([{ "name": "config", "mountPath": "/etc/app" }]);
    let mut worker = deployment_pod(ns, "worker", "84d7f6c9b5", "t6n3v", vec![needs_config]);
    worker["spec"]["volumes"] = json!([{ "name": "config", "configMap": { "name": "app-config" } }]);
    vec![
        // OOMKilled over and over: restartCount 5, back-off 2m40s.
        DemoPod {
            manifest: deployment_pod(
                ns,
                "checkout",
                "7c9d6b5f4",
                "m2x8k",
                vec![with_memory_limit(container("app", "registry.example/checkout:2.4.1"), "256Mi")],
            ),
            phase: "Running",
            statuses: |p| {
                vec![crashloop_status(p, "app", 5, "2m40s", &Terminated::new("OOMKilled", 137, ago(190), ago(160)))]
            },
            events: |p| vec![back_off(p, "app", 23)],
        },
        // The process exits with 1 at start-up.
        DemoPod {
            manifest: deployment_pod(
                ns,
                "payments",
                "6f8b9c7d5",
                "q4w7z",
                vec![container("server", "registry.example/payments:1.0.0")],
            ),
            phase: "Running",
            statuses: |p| vec![crashloop_status(p, "server", 3, "40s", &Terminated::new("Error", 1, ago(32), ago(30)))],
            events: |p| vec![back_off(p, "server", 9)],
        },
        // The image does not exist.
        DemoPod {
            manifest: deployment_pod(
                ns,
                "frontend",
                "5b6c8d9f7",
                "k9p2r",
                vec![container("web", "registry.example/frontend:v9.9.9")],
            ),
            phase: "Pending",
            statuses: |_| {
                vec![waiting_status(
                    "web",
                    "ImagePullBackOff",
                    "Back-off pulling image \"registry.example/frontend:v9.9.9\"",
                    0,
                    None,
                )]
            },
            events: |p| {
                vec![
                EventSpec::for_pod(p, true, "Failed", "Failed to pull image \"registry.example/frontend:v9.9.9\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example/frontend:v9.9.9\": not found").container("web").repeated(4, 600),
                EventSpec::for_pod(p, false, "BackOff", "Back-off pulling image \"registry.example/frontend:v9.9.9\"").container("web").repeated(40, 600),
            ]
            },
        },
        // A ConfigMap the container needs is missing.
        DemoPod {
            manifest: worker,
            phase: "Pending",
            statuses: |_| {
                vec![waiting_status(
                    "worker",
                    "CreateContainerConfigError",
                    "configmap \"app-config\" not found",
                    0,
                    None,
                )]
            },
            events: |p| {
                vec![
                    EventSpec::for_pod(
                        p,
                        true,
                        "FailedMount",
                        "MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found",
                    )
                    .repeated(8, 300),
                    EventSpec::for_pod(p, true, "Failed", "Error: configmap \"app-config\" not found")
                        .container("worker")
                        .repeated(12, 300),
                ]
            },
        },
        // Killed by its liveness probe (SIGKILL after the grace period): Error, 137.
        DemoPod {
            manifest: deployment_pod(ns, "api", "69c8d7b4f6", "w5j2h", vec![liveness]),
            phase: "Running",
            statuses: |p| {
                vec![crashloop_status(p, "api", 4, "1m20s", &Terminated::new("Error", 137, ago(150), ago(60)))]
            },
            events: |p| {
                vec![
                    EventSpec::for_pod(
                        p,
                        true,
                        "Unhealthy",
                        "Liveness probe failed: HTTP probe failed with statuscode: 500",
                    )
                    .container("api")
                    .repeated(12, 1200),
                    EventSpec::for_pod(p, false, "Killing", "Container api failed liveness probe, will be restarted")
                        .container("api")
                        .repeated(4, 1200),
                    back_off(p, "api", 6),
                ]
            },
        },
        // Healthy.
        DemoPod {
            manifest: deployment_pod(
                ns,
                "web",
                "5d4f8c7b9",
                "x2x4q",
                vec![container("nginx", "registry.example/nginx:1.25")],
            ),
            phase: "Running",
            statuses: |_| vec![running_status("nginx", 0, &ago(3600), None)],
            events: |_| vec![],
        },
        // A CronJob's Job whose container exits 0 and is restarted anyway.
        DemoPod {
            manifest: job_pod(
                ns,
                // Named as the CronJob controller names a Job: the scheduled minute, this hour's.
                &format!("nightly-{}", (unix_now() as i64 / 3600) * 60),
                "8hz5c",
                vec![container("report", "registry.example/report:0.9")],
            ),
            phase: "Running",
            statuses: |p| {
                vec![crashloop_status(p, "report", 2, "20s", &Terminated::new("Completed", 0, ago(15), ago(12)))]
            },
            events: |p| vec![back_off(p, "report", 3)],
        },
    ]
}

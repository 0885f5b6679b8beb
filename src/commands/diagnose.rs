//! `diagnose`: one pod, every container, with the checks, the Events, the previous logs
//! and a fix for the probable cause.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;

use k8s_openapi::api::core::v1::{ContainerState, Event as CoreEvent, Pod, Service};
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;
use serde_json::json;

use super::fix::{
    ContainerRef, Fix, MemoryEvidence, ProbeEvidence, ServiceAddress, dependency_fix, memory_fix, merge, probe_fix,
    read_only_fix, service_for,
};
use super::peak::{parse_url, peak_working_set};
use super::read::{list_all, read_logs};
use super::scan::{Rollout, Row, rollout_of, row, rows_table};
use super::snapshot::{Logs, Snapshot, container_key};
use super::table::{human_bytes, opt, printable};
use crate::config::DiagnoseOutput;
use crate::error::Error;
use crate::parse::{read_only_path, signal_name, unreachable_endpoint};
use crate::rollout::human_age;
use crate::verdict::{Cause, missing_objects_of, pull_failure};
use crate::view::{ContainerType, Probe, SlimEvent, SlimPod, TerminationReason, Timestamp};
use crate::watch::one_pod_event_fields;

/// What an exit code usually means in a container.
pub(super) fn exit_code_meaning(code: i32) -> String {
    match code {
        0 => "success: the process exited normally".into(),
        1 => "general error: the application failed (see its log)".into(),
        2 => "misuse of a shell builtin or a bad flag; Go exits 2 on a panic".into(),
        126 => "found but not executable (shell)".into(),
        127 => "command not found (shell)".into(),
        128 => "the runtime could not start the process (StartError)".into(),
        134 => "SIGABRT: the process aborted (assertion, Node heap limit, JVM CrashOnOutOfMemoryError)".into(),
        137 => {
            "SIGKILL: an OOM kill, a liveness/startup kill after the grace period, or kill -9: not proof of OOM".into()
        }
        139 => "SIGSEGV: segmentation fault".into(),
        143 => "SIGTERM: asked to stop (a probe kill or a deletion), and it did".into(),
        255 => "exit(-1), or a program's own convention".into(),
        c if c > 128 && c < 193 => format!("killed by signal {} ({})", c - 128, signal_name(c - 128)),
        c => format!("the application's own exit code {c}"),
    }
}

/// The fix for a cause, with example YAML.
pub(super) fn advice(cause: Cause) -> (&'static str, &'static str) {
    match cause {
        // Computed from the container: `memory_fix`.
        Cause::OomKilled => ("", ""),
        // Computed from the container's probe where it has one (`probe_fix`); else this.
        Cause::LivenessProbe => (
            "The kubelet killed the container because its liveness probe failed. Check the probe's endpoint; give it more time (timeoutSeconds, failureThreshold), and don't make liveness depend on other services.",
            "livenessProbe:\n  httpGet: {path: /healthz, port: 8080}\n  periodSeconds: 10\n  timeoutSeconds: 5\n  failureThreshold: 6",
        ),
        Cause::StartupProbe => (
            "The container did not start in time for its startup probe. Allow a longer start: failureThreshold x periodSeconds should cover the slowest start (migrations, cache warm-up).",
            "startupProbe:\n  httpGet: {path: /healthz, port: 8080}\n  periodSeconds: 10\n  failureThreshold: 30   # up to 5 minutes",
        ),
        Cause::AppError => {
            ("The application exited with an error. Read the previous log: kubectl logs --previous.", "")
        }
        Cause::Segfault => (
            "The process crashed on a memory fault (SIGSEGV). Look for a native crash or a nil dereference in the previous log; check native libraries and the image's architecture.",
            "",
        ),
        Cause::Abort => (
            "The process aborted (SIGABRT): an assertion, a runtime heap limit (Node), or a JVM started with CrashOnOutOfMemoryError.",
            "",
        ),
        Cause::CommandNotFound => (
            "The container's command does not exist in the image. Check `command`/`args` against the image's entrypoint and PATH.",
            "command: [\"/app/server\"]   # a path that exists in the image\nargs: [\"--port=8080\"]",
        ),
        Cause::NotExecutable => (
            "The command exists but cannot be executed: missing execute bit, a script without interpreter, or an image built for another architecture.",
            "securityContext:\n  runAsUser: 1000\n  runAsGroup: 1000",
        ),
        Cause::MissingConfig => (
            "The pod references a ConfigMap, Secret, key or PVC that does not exist. Create it (in the pod's namespace), or mark the reference optional.",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata:\n  DATABASE_URL: postgres://db:5432/app\n---\n# or, where absence is fine:\nenvFrom:\n- configMapRef: {name: app-config, optional: true}",
        ),
        Cause::ImagePull => (
            "The image cannot be pulled: check its name and tag, the registry's reachability, and imagePullSecrets.",
            "imagePullSecrets:\n- name: registry-credentials",
        ),
        Cause::DependencyUnavailable => (
            "The app exits when a dependency (database, DNS name, service) is unreachable. Wait for it in an init container, or retry with back-off in the app.",
            "initContainers:\n- name: wait-for-db\n  image: busybox:1.36\n  command: [\"sh\", \"-c\", \"until nc -z db 5432; do sleep 2; done\"]",
        ),
        Cause::ConfigError => (
            "The app rejected its configuration (flags, config file, env). Compare them with what the image version expects.",
            "",
        ),
        Cause::PermissionDenied => (
            "The app was denied access to a file or directory. Run as a user that owns its volumes, or set fsGroup.",
            "securityContext:\n  runAsUser: 1000\n  runAsGroup: 1000\n  fsGroup: 1000",
        ),
        Cause::CompletedButRestarted => (
            "The process finished successfully but restartPolicy is Always: a batch task in a Deployment. Run it as a Job or CronJob, or keep the process running.",
            "apiVersion: batch/v1\nkind: Job",
        ),
        Cause::Evicted => (
            "The kubelet evicted the pod under node pressure. Set requests that match real use, and check the node's memory and disk.",
            "resources:\n  requests: {memory: 256Mi, ephemeral-storage: 1Gi}",
        ),
        Cause::ApiEvicted => (
            "The pod was evicted through the Eviction API: a node drain, the descheduler or the cluster autoscaler. No app failure; its controller replaces it. Check that a PodDisruptionBudget keeps enough replicas through drains.",
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nspec:\n  minAvailable: 1",
        ),
        Cause::NodeShutdown => (
            "The node shut down (a spot or preemptible node reclaimed, a maintenance reboot) and the kubelet stopped the pod. No app failure. The Failed pod stays until the pod GC removes it; spread replicas across nodes and zones.",
            "topologySpreadConstraints:\n- maxSkew: 1\n  topologyKey: topology.kubernetes.io/zone\n  whenUnsatisfiable: ScheduleAnyway",
        ),
        Cause::Preempted => (
            "The pod was preempted to make room for a pod of higher priority (by the scheduler, or by the kubelet for a critical pod). Give it a PriorityClass that matches its importance, or add capacity.",
            "priorityClassName: high-priority",
        ),
        Cause::DeadlineExceeded => (
            "The pod ran longer than its activeDeadlineSeconds and was stopped. Raise the deadline, or find why the run is slower than expected.",
            "activeDeadlineSeconds: 3600",
        ),
        Cause::AdmissionRejected => (
            "The kubelet refused the pod when it was assigned to the node (not enough cpu, memory or devices on the node, a node affinity mismatch, a topology or sysctl policy). The pod's status message names the reason; its controller creates another.",
            "",
        ),
        Cause::NodeLost => (
            "The pod's node is unreachable or gone: the control plane deletes the pod. No app failure. Check the node (kubectl get node, its Ready condition); a pod on an unreachable node stays Terminating until the node returns or is removed.",
            "",
        ),
        Cause::Disrupted => (
            "The control plane marked the pod for disruption (a DisruptionTarget condition). No app failure. Read the condition's reason and message in the pod's status.",
            "",
        ),
        Cause::Unschedulable => (
            "No node fits the pod: the scheduler's message (the PodScheduled condition) says why: resources, taints, affinity, volume zones. Lower the requests, add a toleration or nodes, or fix the selector.",
            "resources:\n  requests: {cpu: 250m, memory: 256Mi}",
        ),
        Cause::SandboxFailed => (
            "The runtime cannot create the pod's sandbox (FailedCreatePodSandBox): the CNI plugin has no address left or fails, or the pod's RuntimeClass names a handler this node lacks. Read the Event's message and the node's containerd and CNI logs.",
            "",
        ),
        Cause::VolumeMount => (
            "A volume the pod uses exists but cannot be attached or mounted (FailedMount, FailedAttachVolume): a CSI driver timeout, a volume still attached to another node, a zone mismatch. Read the Event's message and the CSI driver's logs.",
            "",
        ),
        Cause::SecurityContext => (
            "The security context refuses the image: runAsNonRoot is set and the image runs as root (or as a user name the kubelet cannot check). Set a numeric non-root user, or use an image that runs as one.",
            "securityContext:\n  runAsNonRoot: true\n  runAsUser: 10001",
        ),
        Cause::InvalidConfig => (
            "The kubelet cannot build the container's config from its spec (CreateContainerConfigError): a subPath, an environment variable or a device. The waiting message says which.",
            "",
        ),
        Cause::StuckInit => (
            "An init container has been running for 10 minutes or more, and the app's containers wait for it: usually a loop that waits for a dependency (a database, a Service) that never answers. Read its log (kubectl logs -c NAME) and check what it waits for; bound the wait so that it fails and says why.",
            "initContainers:\n- name: wait-for-db\n  command: [\"sh\", \"-c\", \"for i in $(seq 60); do nc -z db 5432 && exit 0; sleep 5; done; echo db unreachable; exit 1\"]",
        ),
        Cause::RuntimeError => (
            "The container runtime or the node lost the container or could not start it (StartError, ContainerStatusUnknown, Unknown): not the app. Read the termination message and the node's containerd and kubelet logs; check the node's health (disk, memory, runtime restarts).",
            "",
        ),
        Cause::Unknown => ("No rule matched. Read the events and the previous log.", ""),
    }
}

/// The one-pod report.
#[derive(Debug, Serialize)]
pub struct Diagnosis {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The pod's phase.
    pub phase: String,
    /// `Kind/name` of the pod's owner, as in [`Row::workload`].
    pub workload: String,
    /// The node the pod runs on.
    pub node: Option<String>,
    /// The node or the control plane ended the pod (`crashloop_pod_disruption`).
    pub disruption: Option<&'static str>,
    /// No node fits it, since (seconds since the epoch).
    pub unschedulable_since: Option<Timestamp>,
    /// The rollout to blame, when the pod is of its workload's newest template, which
    /// fails while an older one serves.
    pub rollout: Option<Rollout>,
    /// Every container, troubled or not.
    pub containers: Vec<ContainerDiagnosis>,
    /// The containers' fixes as one patch of the workload, with the commands to apply it.
    pub patch: Option<WorkloadPatch>,
    /// The pod's Events, newest first.
    pub events: Vec<EventLine>,
}

/// One container of the report.
#[derive(Debug, Serialize)]
pub struct ContainerDiagnosis {
    #[serde(flatten)]
    /// The container's row, as `scan` shows it.
    pub row: Row,
    /// What the last exit code usually means.
    pub exit_code_meaning: Option<String>,
    /// The container's resource requests.
    pub requests: serde_json::Value,
    /// The container's resource limits.
    pub limits: serde_json::Value,
    /// The quick checks.
    pub checks: Vec<Check>,
    /// The previous log's tail.
    pub previous_log: PreviousLog,
    /// The latest termination's message: the app's last words (`terminationMessagePath`),
    /// or its log's tail with `FallbackToLogsOnError`; its last lines.
    pub termination_message: Vec<String>,
    /// The fix for the probable cause.
    pub fix: Option<String>,
    /// Example YAML of the fix.
    pub fix_yaml: Option<String>,
    /// The fix as a strategic-merge patch of the pod's spec, where it is a change of it.
    pub fix_patch: Option<serde_json::Value>,
    /// The numbers the fix was computed from.
    pub fix_evidence: Option<serde_json::Value>,
}

/// The fixes of a pod's containers as one change of what makes the pod.
#[derive(Debug, Serialize)]
pub struct WorkloadPatch {
    /// `Kind/name` of the object to change.
    pub target: String,
    /// The strategic-merge patch of it; `None` where the object cannot take one (a pod, a
    /// Job's template, an Argo Rollout), and `note` says what to do instead.
    pub patch: Option<serde_json::Value>,
    /// The commands, in order: the undo of a rollout to blame, then the patch.
    pub commands: Vec<String>,
    /// Why there is no patch, where there is none.
    pub note: Option<String>,
}

/// The list of the pod's spec a container of this type is in.
fn spec_list(t: ContainerType) -> &'static str {
    match t {
        ContainerType::Regular => "containers",
        ContainerType::Init | ContainerType::Sidecar => "initContainers",
        ContainerType::Ephemeral => "ephemeralContainers",
    }
}

/// Where a pod's spec sits in each kind of workload that can take a strategic-merge
/// patch, and kubectl's name of the kind.
fn template_path(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    const TEMPLATE: &[&str] = &["spec", "template", "spec"];
    match kind {
        "Deployment" => Some(("deployment", TEMPLATE)),
        "StatefulSet" => Some(("statefulset", TEMPLATE)),
        "DaemonSet" => Some(("daemonset", TEMPLATE)),
        "ReplicaSet" => Some(("replicaset", TEMPLATE)),
        "CronJob" => Some(("cronjob", &["spec", "jobTemplate", "spec", "template", "spec"])),
        _ => None,
    }
}

/// The pod's fixes as a patch of its workload: the pod-spec patches of its containers,
/// merged and wrapped where the kind keeps the pod's spec; the undo first when a rollout is
/// to blame. `None` when there is nothing to change.
fn workload_patch(
    namespace: &str,
    kind: &str,
    name: &str,
    pod_spec: Option<serde_json::Value>,
    undo: Option<&str>,
) -> Option<WorkloadPatch> {
    if pod_spec.is_none() && undo.is_none() {
        return None;
    }
    let mut commands: Vec<String> = undo.map(str::to_string).into_iter().collect();
    let target = format!("{kind}/{name}");
    let Some(pod_spec) = pod_spec else {
        return Some(WorkloadPatch { target, patch: None, commands, note: None });
    };
    let note = match kind {
        "Pod" => Some(
            "a bare pod's spec cannot be changed: apply the patch's pod spec to whatever creates the pod, and recreate it",
        ),
        "Job" => {
            Some("a Job's template cannot be changed: recreate the Job with the patch's pod spec (or fix its CronJob)")
        }
        "Rollout" => {
            Some("an Argo Rollout takes no strategic-merge patch: apply the patch's pod spec to its spec.template.spec")
        }
        _ => None,
    };
    let Some((resource, path)) = template_path(kind).filter(|_| note.is_none()) else {
        let note = note.unwrap_or("this kind keeps no pod template: apply the patch's pod spec where the pod is made");
        return Some(WorkloadPatch { target, patch: Some(pod_spec), commands, note: Some(note.into()) });
    };
    let patch = path.iter().rev().fold(pod_spec, |inner, key| serde_json::json!({ *key: inner }));
    let json = patch.to_string().replace('\'', "'\\''");
    commands.push(format!("kubectl patch {resource} {name} -n {namespace} --type strategic -p '{json}'"));
    Some(WorkloadPatch { target, patch: Some(patch), commands, note: None })
}

/// `-o patch`: the commands that apply the fixes, with what each fixes.
fn patch_text(d: &Diagnosis) -> String {
    let mut o = String::new();
    for c in d.containers.iter().filter(|c| c.fix.is_some()) {
        let _ = writeln!(
            o,
            "# {} ({}): {}",
            c.row.container,
            c.row.cause.unwrap_or("-"),
            printable(c.fix.as_deref().unwrap_or(""))
        );
    }
    match &d.patch {
        None => o.push_str("# nothing to patch: no fix of this pod is a change of its spec\n"),
        Some(p) => {
            if let Some(note) = &p.note {
                let _ = writeln!(o, "# {}: {note}", p.target);
                if let Some(patch) = &p.patch {
                    let _ = writeln!(o, "# {patch}");
                }
            }
            for command in &p.commands {
                let _ = writeln!(o, "{command}");
            }
        }
    }
    o
}

/// A quick check: OOM kill, image pull, missing objects, probe kills.
#[derive(Debug, Serialize)]
pub struct Check {
    /// `oom_killed`, `image_pull`, `missing_config` or `probe_kills`.
    pub name: &'static str,
    /// Whether the check found the problem.
    pub failed: bool,
    /// What it found.
    pub detail: String,
}

/// The previous log, or why it was not read.
#[derive(Debug, Serialize)]
pub struct PreviousLog {
    /// `ok`, `not_found`, `forbidden`, `error` or `skipped`.
    pub result: &'static str,
    /// Its last lines, or why it could not be read.
    pub tail: Vec<String>,
}

/// One Event about the pod.
#[derive(Debug, Serialize)]
pub struct EventLine {
    /// When it last happened (RFC 3339).
    pub last_seen: String,
    /// How long ago that was, for the text report.
    #[serde(skip)]
    pub age: String,
    /// `Normal` or `Warning`.
    pub r#type: String,
    /// Its reason.
    pub reason: String,
    /// The field path it names (`spec.containers{app}`).
    pub object: String,
    /// How many times it happened.
    pub count: i32,
    /// Its message, cut to 300 characters.
    pub message: String,
}

/// Lines of the previous log shown by `diagnose`.
const SHOWN_LOG_LINES: usize = 20;
/// Longest event message shown.
const SHOWN_MESSAGE_CHARS: usize = 300;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max).collect::<String>() + "…" }
}

/// What `diagnose` reads beside the pod: the other pods of its workload (for the rollout to
/// blame), and the Services of its namespace (to name the one a dependency error means).
#[derive(Debug, Default)]
pub(super) struct Nearby {
    pub(super) pods: Vec<SlimPod>,
    pub(super) services: Vec<ServiceAddress>,
    /// The peak working set of containers, by name, where Prometheus was asked.
    pub(super) peaks: HashMap<String, u64>,
}

/// What `diagnose` looks at: one pod, or the worst pod of a workload or of a selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A pod, by name.
    Pod(String),
    /// The pods of a workload (its kind as the exporter names it: `Deployment`, …), or
    /// those a label selector picks (`kind` and `name` empty), or both.
    Worst { kind: String, name: String, selector: Option<String> },
}

/// kubectl's names for the kinds a pod's workload can be, short and long.
const KINDS: &[(&[&str], &str)] = &[
    (&["deploy", "deployment", "deployments"], "Deployment"),
    (&["sts", "statefulset", "statefulsets"], "StatefulSet"),
    (&["ds", "daemonset", "daemonsets"], "DaemonSet"),
    (&["job", "jobs"], "Job"),
    (&["cj", "cronjob", "cronjobs"], "CronJob"),
    (&["rollout", "rollouts", "ro"], "Rollout"),
    (&["rs", "replicaset", "replicasets"], "ReplicaSet"),
];

impl Target {
    /// `NAME`, `pod/NAME`, `KIND/NAME`, and `-l SELECTOR`.
    pub fn parse(target: Option<&str>, selector: Option<&str>) -> Result<Target, Error> {
        let selector = selector.map(str::to_string);
        let Some(target) = target else {
            return match selector {
                Some(_) => Ok(Target::Worst { kind: String::new(), name: String::new(), selector }),
                None => Err(Error::Usage("diagnose: name a pod, a workload (deploy/NAME) or a selector (-l)".into())),
            };
        };
        let (kind, name) = match target.split_once('/') {
            None => return Ok(Target::Pod(target.to_string())),
            Some((kind, name)) => (kind.to_ascii_lowercase(), name),
        };
        if name.is_empty() {
            return Err(Error::Usage(format!("diagnose: {target} names no object")));
        }
        if matches!(kind.as_str(), "pod" | "pods" | "po") && selector.is_none() {
            return Ok(Target::Pod(name.to_string()));
        }
        let known = KINDS.iter().find(|(names, _)| names.contains(&kind.as_str())).map(|(_, k)| *k);
        let kind = match (kind.as_str(), known) {
            ("pod" | "pods" | "po", _) => "Pod",
            (_, Some(k)) => k,
            (other, None) => {
                return Err(Error::Usage(format!(
                    "diagnose: unknown kind {other:?}: use pod, deploy, sts, ds, job, cronjob, rollout or rs"
                )));
            }
        };
        Ok(Target::Worst { kind: kind.into(), name: name.into(), selector })
    }
}

/// The worst of `pods` (a snapshot's): a crash-looping container first, then a troubled
/// one, then the most restarts, then the name; `None` for no pod.
pub(super) fn worst_pod(snapshot: &Snapshot, now: Timestamp) -> Option<&SlimPod> {
    snapshot.pods().iter().max_by_key(|pod| {
        let reports = snapshot.assess(pod, &Logs::new(), now, false);
        let looping = reports.iter().any(|r| r.crashlooping);
        let troubled = reports.iter().any(|r| r.cause.is_some());
        let restarts: u32 = pod.containers.iter().map(|c| c.restart_count).sum();
        (looping, troubled, restarts, std::cmp::Reverse(pod.name().to_string()))
    })
}

/// The pod a target names: itself, or the worst of the workload's (or the selector's).
async fn pick(client: &kube::Client, namespace: &str, target: &Target, now: Timestamp) -> Result<String, Error> {
    let Target::Worst { kind, name, selector } = target else {
        let Target::Pod(pod) = target else { unreachable!("two variants") };
        return Ok(pod.clone());
    };
    let mut params = ListParams::default();
    if let Some(s) = selector {
        params = params.labels(s);
    }
    let pods = list_all(&Api::<SlimPod>::namespaced(client.clone(), namespace), params).await?;
    let of_target = |p: &SlimPod| {
        kind.is_empty()
            || (*p.workload.kind == **kind && *p.workload.name == **name)
            || (kind == "Pod" && p.name() == name)
    };
    let pods: Vec<SlimPod> = pods.into_iter().filter(of_target).collect();
    let snapshot = Snapshot::of(pods, &[], now);
    let what = if kind.is_empty() { String::new() } else { format!(" of {kind} {name}") };
    let picked = worst_pod(&snapshot, now).ok_or_else(|| {
        let chosen = selector.as_ref().map_or(String::new(), |s| format!(" with labels {s}"));
        Error::Usage(format!(
            "diagnose: no pod{what}{chosen} in namespace {namespace}: check the name and the namespace (-n), or run scan"
        ))
    })?;
    Ok(picked.name().to_string())
}

/// What `diagnose` reads beside the pod, its Events and its workload.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    /// The previous log of each container that ended (`get` on `pods/log`).
    pub logs: bool,
    /// A Prometheus to ask for the peak working set of OOM-killed containers.
    pub prometheus_url: Option<String>,
}

/// Gathers the one-pod report: the pod, its Events and, when `logs` is set, the previous
/// log of each container that ended; then [`Diagnosis::of`].
pub async fn diagnose(
    client: &kube::Client,
    namespace: &str,
    target: &Target,
    reading: &Reading,
    now: Timestamp,
) -> Result<Diagnosis, Error> {
    let logs = reading.logs;
    let name = &pick(client, namespace, target, now).await?;
    let full = Api::<Pod>::namespaced(client.clone(), namespace).get(name).await?;
    let events = Api::<CoreEvent>::namespaced(client.clone(), namespace);
    let events = match list_all(&events, ListParams::default().fields(&one_pod_event_fields(name))).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list events");
            Vec::new()
        }
    };
    // The workload's other pods, for the rollout to blame: read as scan reads them.
    let slim = slim_pod(&full).map_err(kube::Error::SerdeError)?;
    let siblings = if has_template(&slim) {
        match list_all(&Api::<SlimPod>::namespaced(client.clone(), namespace), ListParams::default()).await {
            Ok(list) => list.into_iter().filter(|p| p.workload == slim.workload && p.name() != name).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the workload's pods; no rollout is judged");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    // The namespace's Services: only names a dependency error's host; optional.
    let services = match list_all(&Api::<Service>::namespaced(client.clone(), namespace), ListParams::default()).await {
        Ok(list) => list
            .into_iter()
            .map(|s| ServiceAddress {
                name: s.metadata.name.unwrap_or_default(),
                cluster_ip: s.spec.and_then(|s| s.cluster_ip).filter(|ip| ip != "None"),
            })
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "cannot list services; a dependency is named by its host only");
            Vec::new()
        }
    };
    let read = if logs {
        let ended = slim.containers.iter().filter(|c| c.restart_count > 0 || c.latest_termination().is_some());
        read_logs(client, ended.map(|c| (&slim, c)).collect()).await
    } else {
        Logs::new()
    };
    // The peak working set of each OOM-killed container, where a Prometheus was named.
    let mut peaks = HashMap::new();
    if let Some(url) = &reading.prometheus_url {
        parse_url(url).map_err(Error::Usage)?;
        let oom_killed = slim
            .containers
            .iter()
            .filter(|c| c.latest_termination().is_some_and(|t| t.reason == TerminationReason::OomKilled));
        for c in oom_killed {
            match peak_working_set(url, namespace, name, &c.name).await {
                Ok(Some(peak)) => {
                    peaks.insert(c.name.to_string(), peak);
                }
                Ok(None) => tracing::warn!(container = %c.name, "no working set in Prometheus: is cAdvisor scraped?"),
                Err(e) => {
                    tracing::warn!(container = %c.name, error = %e, "cannot ask Prometheus for the peak working set")
                }
            }
        }
    }
    Diagnosis::of(&full, Nearby { pods: siblings, services, peaks }, events, &read, now)
        .map_err(|e| Error::Api(kube::Error::SerdeError(e)))
}

/// Whether a pod has a template, so that its workload can have a rollout to blame.
fn has_template(pod: &SlimPod) -> bool {
    pod.shown.as_ref().is_some_and(|s| s.template.is_some())
}

/// The message of a container's latest termination, as the API gives it: the current
/// state's while it is terminated, else the last state's.
fn termination_message_of<'a>(full: &'a Pod, container: &str) -> Option<&'a str> {
    let status = full.status.as_ref()?;
    let statuses = [&status.container_statuses, &status.init_container_statuses, &status.ephemeral_container_statuses];
    let s = statuses.into_iter().flatten().flatten().find(|s| s.name == container)?;
    let ended = |state: Option<&'a ContainerState>| state?.terminated.as_ref();
    let t = ended(s.state.as_ref()).or_else(|| ended(s.last_state.as_ref()))?;
    t.message.as_deref().filter(|m| !m.trim().is_empty())
}

fn slim_pod(full: &Pod) -> Result<SlimPod, serde_json::Error> {
    serde_json::to_value(full).and_then(serde_json::from_value)
}

impl Diagnosis {
    /// The one-pod report from what was read: the pod, its Events and the logs. The
    /// verdict is [`Snapshot`]'s, as `scan`'s.
    pub(super) fn of(
        full: &Pod,
        nearby: Nearby,
        events: Vec<CoreEvent>,
        logs: &Logs,
        now: Timestamp,
    ) -> Result<Diagnosis, serde_json::Error> {
        let namespace = full.metadata.namespace.clone().unwrap_or_default();
        let name = full.metadata.name.clone().unwrap_or_default();
        // Each Event beside its slim view, newest first: when it was last seen is the
        // decoder's rule (lastTimestamp, else the series' lastObservedTime, else eventTime),
        // as for the Event counts of /metrics.
        let mut events: Vec<(CoreEvent, Option<SlimEvent>)> = events
            .into_iter()
            .map(|e| {
                let slim = serde_json::to_value(&e).and_then(serde_json::from_value::<SlimEvent>).ok();
                (e, slim)
            })
            .collect();
        let time = |s: &Option<SlimEvent>| s.as_ref().and_then(|s| s.last_seen).unwrap_or(0);
        events.sort_by_key(|(_, s)| std::cmp::Reverse(time(s)));
        let slim_events: Vec<SlimEvent> = events.iter().filter_map(|(_, s)| s.clone()).collect();
        let Nearby { mut pods, services, peaks } = nearby;
        pods.push(slim_pod(full)?);
        let snapshot = Snapshot::of(pods, &slim_events, now);
        let Some(slim) = snapshot.pods().iter().find(|p| p.name() == name) else {
            return Err(serde::de::Error::custom("no pod"));
        };
        let rollouts = snapshot.rollouts(now);
        let rollout_failure = rollout_of(&rollouts, slim);
        let rollout = rollout_failure.map(|f| Rollout::of(f, now));
        let pod_events = snapshot.events(slim);
        let reports = snapshot.assess(slim, logs, now, true);

        let spec_containers: Vec<&k8s_openapi::api::core::v1::Container> =
            full.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten())).collect();
        let containers: Vec<ContainerDiagnosis> = reports
            .iter()
            .map(|r| {
                let c = r.container;
                let resources = spec_containers.iter().find(|s| *s.name == *c.name).and_then(|s| s.resources.as_ref());
                let requests = resources.and_then(|r| r.requests.as_ref()).map_or(json!({}), |v| json!(v));
                let limits = resources.and_then(|r| r.limits.as_ref()).map_or(json!({}), |v| json!(v));
                let ev = pod_events.and_then(|e| e.containers.get(&*c.name));
                let last = c.latest_termination();
                let missing: Vec<String> = missing_objects_of(slim, c, pod_events)
                    .into_iter()
                    .map(|(kind, name)| format!("{} {name}", kind.as_str()))
                    .collect();
                let checks = vec![
                    Check {
                        name: "oom_killed",
                        failed: last.is_some_and(|t| t.reason == TerminationReason::OomKilled),
                        detail: format!(
                            "memory limit {} ({})",
                            opt(c.memory_limit_bytes.map(human_bytes)),
                            c.memory_limit_scope()
                        ),
                    },
                    Check {
                        name: "image_pull",
                        failed: pull_failure(c, ev).is_some(),
                        detail: pull_failure(c, ev).map_or("-".into(), |f| f.as_str().to_string()),
                    },
                    Check { name: "missing_config", failed: !missing.is_empty(), detail: missing.join(", ") },
                    Check {
                        name: "probe_kills",
                        failed: ev.is_some_and(|e| e.probe_kills.iter().any(|n| *n > 0)),
                        detail: ev.map_or("-".into(), |e| {
                            let kills = |p: Probe| format!("{} {}", p.as_str(), e.probe_kills_by(p));
                            format!("{}, {}", kills(Probe::Liveness), kills(Probe::Startup))
                        }),
                    },
                ];
                let previous_log = match logs.get(&container_key(slim, c)) {
                    Some(read) => {
                        let lines: Vec<String> = read.text.lines().map(str::to_string).collect();
                        let tail = lines[lines.len().saturating_sub(SHOWN_LOG_LINES)..].to_vec();
                        PreviousLog { result: read.result, tail }
                    }
                    None => PreviousLog { result: "skipped", tail: vec![] },
                };
                let spec = spec_containers.iter().find(|s| *s.name == *c.name);
                let command: Vec<String> = spec
                    .map(|s| s.command.iter().chain(s.args.iter()).flatten().cloned().collect())
                    .unwrap_or_default();
                let container = ContainerRef { name: &c.name, list: spec_list(c.container_type) };
                let evidence = MemoryEvidence {
                    container,
                    limit: c.memory_limit_bytes,
                    peak: peaks.get(&*c.name).copied(),
                    lowered_from: rollout_failure
                        .and_then(|f| f.lowered_limits.iter().find(|l| l.container == c.name))
                        .map(|l| l.was),
                    scope: c.memory_limit_scope(),
                    image: spec.and_then(|s| s.image.as_deref()).unwrap_or(""),
                    command: &command,
                };
                let probe = |startup_kill: bool| ProbeEvidence {
                    container,
                    probe: spec.and_then(|s| if startup_kill { &s.startup_probe } else { &s.liveness_probe }.as_ref()),
                    startup_kill,
                    has_startup_probe: spec.is_some_and(|s| s.startup_probe.is_some()),
                    run_seconds: last.and_then(|t| t.run_seconds()),
                    grace_seconds: i64::from(
                        c.restart_spec().probe_grace_seconds[usize::from(startup_kill)].unwrap_or(slim.grace_seconds),
                    ),
                };
                let fixed = |(text, yaml): (&str, &str)| Fix { text: text.into(), yaml: yaml.into(), ..Fix::default() };
                // The app's last words: its termination message, then its previous log.
                let last_words: Vec<&str> = termination_message_of(full, &c.name)
                    .into_iter()
                    .chain(logs.get(&container_key(slim, c)).filter(|l| l.result == "ok").map(|l| l.text.as_str()))
                    .collect();
                let fix = r.cause.map(|cause| match cause {
                    Cause::OomKilled => memory_fix(&evidence),
                    Cause::LivenessProbe => probe_fix(&probe(false)).unwrap_or_else(|| fixed(advice(cause))),
                    Cause::StartupProbe => probe_fix(&probe(true)).unwrap_or_else(|| fixed(advice(cause))),
                    Cause::DependencyUnavailable => last_words
                        .iter()
                        .find_map(|t| unreachable_endpoint(t))
                        .map(|e| dependency_fix(&e, service_for(&e.host, &namespace, &services)))
                        .unwrap_or_else(|| fixed(advice(cause))),
                    Cause::PermissionDenied => last_words
                        .iter()
                        .find_map(|t| read_only_path(t))
                        .map(|p| read_only_fix(container, &p))
                        .unwrap_or_else(|| fixed(advice(cause))),
                    other => fixed(advice(other)),
                });
                let termination_message = termination_message_of(full, &c.name)
                    .map(|m| {
                        let lines: Vec<String> = m.lines().map(str::to_string).collect();
                        lines[lines.len().saturating_sub(SHOWN_LOG_LINES)..].to_vec()
                    })
                    .unwrap_or_default();
                ContainerDiagnosis {
                    row: Row { rollout: rollout.clone(), ..row(slim, r, logs) },
                    exit_code_meaning: last.map(|t| exit_code_meaning(t.exit_code)),
                    requests,
                    limits,
                    checks,
                    previous_log,
                    termination_message,
                    fix: fix.as_ref().map(|f| f.text.clone()),
                    fix_yaml: fix.as_ref().map(|f| f.yaml.clone()).filter(|y| !y.is_empty()),
                    fix_patch: fix.as_ref().and_then(|f| f.pod_spec.clone()),
                    fix_evidence: fix.map(|f| f.evidence).filter(|e| !e.is_null()),
                }
            })
            .collect();
        let events = events
            .iter()
            .map(|(e, s)| EventLine {
                last_seen: k8s_openapi::jiff::Timestamp::from_second(time(s))
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                age: if time(s) > 0 { format!("{} ago", human_age(now - time(s))) } else { "-".into() },
                r#type: e.type_.clone().unwrap_or_default(),
                reason: e.reason.clone().unwrap_or_default(),
                object: e.involved_object.field_path.clone().unwrap_or_default(),
                count: e.count.unwrap_or(1),
                message: truncate(e.message.as_deref().unwrap_or(""), SHOWN_MESSAGE_CHARS),
            })
            .collect();
        let mut pod_spec: Option<serde_json::Value> = None;
        for p in containers.iter().filter_map(|c| c.fix_patch.clone()) {
            match &mut pod_spec {
                Some(all) => merge(all, p),
                None => pod_spec = Some(p),
            }
        }
        let patch = workload_patch(
            &namespace,
            &slim.workload.kind,
            &slim.workload.name,
            pod_spec,
            rollout.as_ref().map(|r| r.undo.as_str()),
        );
        Ok(Diagnosis {
            namespace,
            pod: name,
            phase: full.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into()),
            workload: format!("{}/{}", slim.workload.kind, slim.workload.name),
            node: full.spec.as_ref().and_then(|s| s.node_name.clone()),
            disruption: slim.disruption().map(|d| d.as_str()),
            unschedulable_since: slim
                .trouble
                .as_ref()
                .filter(|_| slim.unschedulable())
                .and_then(|t| t.unschedulable_since),
            rollout,
            containers,
            patch,
            events,
        })
    }
}

struct Style {
    on: bool,
}

impl Style {
    fn bold(&self, s: &str) -> String {
        if self.on { format!("\x1b[1m{s}\x1b[0m") } else { s.to_string() }
    }
    fn bad(&self, s: &str) -> String {
        if self.on { format!("\x1b[31m{s}\x1b[0m") } else { s.to_string() }
    }
}

/// Renders `diagnose`'s output; colour only when stdout is a terminal.
pub fn render_diagnosis(d: &Diagnosis, output: DiagnoseOutput) -> String {
    match output {
        DiagnoseOutput::Json => {
            return serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n";
        }
        DiagnoseOutput::Yaml => return serde_saphyr::to_string(d).unwrap_or_else(|e| format!("error: {e}\n")),
        DiagnoseOutput::Patch => return patch_text(d),
        DiagnoseOutput::Table | DiagnoseOutput::Wide => {}
    }
    let st = Style { on: std::io::stdout().is_terminal() };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {}/{}  phase {}  workload {}  node {}",
        st.bold("Pod"),
        d.namespace,
        d.pod,
        d.phase,
        d.workload,
        opt(d.node.as_deref())
    );
    if let Some(disruption) = d.disruption {
        let _ = writeln!(
            o,
            "{} {disruption}: the node or the control plane ended the pod, not the app",
            st.bold("Disrupted")
        );
    }
    if let Some(since) = d.unschedulable_since {
        let _ =
            writeln!(o, "{} no node fits the pod since {since} (seconds since the epoch)", st.bold("Unschedulable"));
    }
    if let Some(r) = &d.rollout {
        let _ = writeln!(o, "{} {}", st.bold("Rollout"), printable(&r.summary));
        let _ = writeln!(o, "  roll back: {}", printable(&r.undo));
    }
    let _ = writeln!(o, "\n{}", st.bold("Containers"));
    let rows: Vec<Row> = d.containers.iter().map(|c| c.row.clone()).collect();
    o.push_str(&rows_table(&rows, true));
    let _ = writeln!(o, "\n{}", st.bold("Exit codes"));
    for c in &d.containers {
        if let (Some(code), Some(meaning)) = (c.row.last_exit_code, &c.exit_code_meaning) {
            let _ = writeln!(o, "  {:<16} {:>4}  {}", c.row.container, code, meaning);
        }
    }
    let _ = writeln!(o, "\n{}", st.bold("Requests and limits"));
    for c in &d.containers {
        let _ = writeln!(o, "  {:<16} requests {}  limits {}", c.row.container, c.requests, c.limits);
    }
    let _ = writeln!(o, "\n{}", st.bold("Recent events"));
    if d.events.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for e in &d.events {
        let _ = writeln!(
            o,
            "  {:>9}  {:<7} {:<12} x{:<4} {}  {}",
            e.age,
            printable(&e.r#type),
            printable(&e.reason),
            e.count,
            printable(&e.object),
            printable(&e.message)
        );
    }
    for c in &d.containers {
        let _ = writeln!(o, "\n{} {}", st.bold("Container"), c.row.container);
        if !c.termination_message.is_empty() {
            let _ = writeln!(o, "  termination message:");
            for line in &c.termination_message {
                let _ = writeln!(o, "    | {}", printable(line));
            }
        }
        let _ = writeln!(o, "  previous log: {}", c.previous_log.result);
        for line in &c.previous_log.tail {
            let _ = writeln!(o, "    | {}", printable(line));
        }
        let _ = writeln!(o, "  quick checks:");
        for check in &c.checks {
            let mark = if check.failed { st.bad("FAIL") } else { "ok  ".to_string() };
            let _ = writeln!(o, "    {mark} {:<15} {}", check.name, printable(&check.detail));
        }
        if let Some(fix) = &c.fix {
            let _ = writeln!(o, "  probable cause: {}", st.bad(c.row.cause.unwrap_or("-")));
            let _ = writeln!(o, "  fix: {}", printable(fix));
            if let Some(yaml) = &c.fix_yaml {
                for line in yaml.lines() {
                    let _ = writeln!(o, "    {}", printable(line));
                }
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kubectl's ways of naming a pod or a workload.
    #[test]
    fn targets_read_as_kubectl_names_them() {
        let worst = |kind: &str, name: &str, selector: Option<&str>| Target::Worst {
            kind: kind.into(),
            name: name.into(),
            selector: selector.map(str::to_string),
        };
        let cases: &[(Option<&str>, Option<&str>, Target)] = &[
            (Some("api-7c9d-x"), None, Target::Pod("api-7c9d-x".into())),
            (Some("pod/api-7c9d-x"), None, Target::Pod("api-7c9d-x".into())),
            (Some("deploy/api"), None, worst("Deployment", "api", None)),
            (Some("Deployment/api"), None, worst("Deployment", "api", None)),
            (Some("sts/db"), None, worst("StatefulSet", "db", None)),
            (Some("ds/agent"), None, worst("DaemonSet", "agent", None)),
            (Some("cronjob/nightly"), None, worst("CronJob", "nightly", None)),
            (Some("rollout/canary"), None, worst("Rollout", "canary", None)),
            (None, Some("app=api"), worst("", "", Some("app=api"))),
            (Some("deploy/api"), Some("track=canary"), worst("Deployment", "api", Some("track=canary"))),
        ];
        for (target, selector, want) in cases {
            assert_eq!(Target::parse(*target, *selector).ok().as_ref(), Some(want), "{target:?} {selector:?}");
        }
        for (target, selector) in [(None, None), (Some("svc/api"), None), (Some("deploy/"), None)] {
            assert!(matches!(Target::parse(target, selector), Err(Error::Usage(_))), "{target:?}");
        }
    }

    /// A container's patch names the list it is in: an ephemeral container's was written
    /// as an init container's.
    #[test]
    fn each_container_type_is_patched_in_its_own_list() {
        let lists = ContainerType::ALL.iter().map(|t| spec_list(*t)).collect::<Vec<_>>();
        assert_eq!(lists, ["containers", "initContainers", "initContainers", "ephemeralContainers"]);
    }

    /// The pod's spec patch lands where each kind keeps it; the undo comes first; a bare
    /// pod, a Job and an Argo Rollout get a note instead of a command.
    #[test]
    fn a_patch_lands_where_the_kind_keeps_the_pod_spec() {
        let spec = serde_json::json!({"containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}]});
        let p = workload_patch(
            "shop",
            "Deployment",
            "api",
            Some(spec.clone()),
            Some("kubectl rollout undo deployment/api -n shop"),
        )
        .expect("a patch");
        assert_eq!(
            p.commands,
            [
                "kubectl rollout undo deployment/api -n shop",
                r#"kubectl patch deployment api -n shop --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","resources":{"limits":{"memory":"64Mi"}}}]}}}}'"#,
            ]
        );
        let cron = workload_patch("batch", "CronJob", "nightly", Some(spec.clone()), None).expect("a patch");
        assert_eq!(
            cron.patch,
            Some(serde_json::json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": spec.clone()}}}}}))
        );
        for kind in ["Pod", "Job", "Rollout"] {
            let p = workload_patch("ns", kind, "x", Some(spec.clone()), None).expect("a note");
            assert!(p.commands.is_empty() && p.note.is_some() && p.patch == Some(spec.clone()), "{kind}: {p:?}");
        }
        assert!(workload_patch("ns", "Deployment", "x", None, None).is_none(), "nothing to change");
    }
}

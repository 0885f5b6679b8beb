//! From a slim pod (and its Events, and any log hints) to a verdict for each container:
//! the rules of the exporter, each in one place. `/metrics`, `scan` and `diagnose` all
//! call [`assess`] and the rules it is made of.
//!
//! Nothing here does I/O or reads a clock: `now` is passed in, so every rule is
//! unit-tested on fixtures.

use std::collections::BTreeSet;

use crate::event_counts::{ContainerEvents, PodEvents};
use crate::history::running_for;
use crate::view::{
    BACKOFF_RESET_SECONDS, ContainerType, Hint, LogHint, ObjectKind, Probe, RestartPolicy, SlimContainer, SlimPod,
    State, TerminationReason, Timestamp, WaitingReason,
};

/// How close a probe kill must be to a termination to explain it: the kill is recorded
/// when the kubelet sends SIGTERM, the container ends up to a grace period later.
pub const PROBE_KILL_WINDOW_SECONDS: i64 = 120;

/// The probable cause of a troubled container, from a documented, bounded set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    OomKilled,
    LivenessProbe,
    StartupProbe,
    AppError,
    Segfault,
    Abort,
    CommandNotFound,
    NotExecutable,
    MissingConfig,
    ImagePull,
    DependencyUnavailable,
    ConfigError,
    PermissionDenied,
    CompletedButRestarted,
    Evicted,
    RuntimeError,
    Unknown,
}

impl Cause {
    pub const ALL: [Cause; 17] = [
        Cause::OomKilled,
        Cause::LivenessProbe,
        Cause::StartupProbe,
        Cause::AppError,
        Cause::Segfault,
        Cause::Abort,
        Cause::CommandNotFound,
        Cause::NotExecutable,
        Cause::MissingConfig,
        Cause::ImagePull,
        Cause::DependencyUnavailable,
        Cause::ConfigError,
        Cause::PermissionDenied,
        Cause::CompletedButRestarted,
        Cause::Evicted,
        Cause::RuntimeError,
        Cause::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::OomKilled => "oom_killed",
            Cause::LivenessProbe => "liveness_probe",
            Cause::StartupProbe => "startup_probe",
            Cause::AppError => "app_error",
            Cause::Segfault => "segfault",
            Cause::Abort => "abort",
            Cause::CommandNotFound => "command_not_found",
            Cause::NotExecutable => "not_executable",
            Cause::MissingConfig => "missing_config",
            Cause::ImagePull => "image_pull",
            Cause::DependencyUnavailable => "dependency_unavailable",
            Cause::ConfigError => "config_error",
            Cause::PermissionDenied => "permission_denied",
            Cause::CompletedButRestarted => "completed_but_restarted",
            Cause::Evicted => "evicted",
            Cause::RuntimeError => "runtime_error",
            Cause::Unknown => "unknown",
        }
    }
}

/// A ConfigMap, Secret or PVC a container waits for, as `(kind, name)`.
pub type MissingName = (ObjectKind, String);

/// The one missing-object rule: what container `c` waits for and the cluster does not have,
/// named by its own waiting message, or by the pod's Events (`FailedMount`, `Failed`)
/// while it has not started: once it runs, those Events are history. `/metrics`, the
/// cause and `diagnose` all read this.
pub fn missing_objects_of(c: &SlimContainer, events: Option<&PodEvents>) -> BTreeSet<MissingName> {
    let mut out: BTreeSet<MissingName> =
        c.state.waiting().and_then(|w| w.missing.as_deref()).map(|o| (o.kind, o.name.clone())).into_iter().collect();
    if let Some(events) = events.filter(|_| matches!(c.state, State::Waiting(_) | State::Unknown)) {
        out.extend(events.missing.keys().map(|o| (o.kind, o.name.clone())));
    }
    out
}

/// What the pod waits for: [`missing_objects_of`] over its containers.
pub fn missing_objects(pod: &SlimPod, events: Option<&PodEvents>) -> BTreeSet<MissingName> {
    pod.containers.iter().flat_map(|c| missing_objects_of(c, events)).collect()
}

/// A container needs a cause when it is crash-looping, waiting for an error, evicted, or
/// has ended ([`SlimPod::has_ended`]) with a failure: an OOM-killed batch container that
/// will never restart is the case an on-call engineer must still see.
pub fn is_troubled(pod: &SlimPod, c: &SlimContainer, crashlooping: bool) -> bool {
    crashlooping
        || pod.evicted
        || c.state
            .waiting()
            .is_some_and(|w| !matches!(w.reason, WaitingReason::ContainerCreating | WaitingReason::PodInitializing))
        || (pod.has_ended(c) && c.latest_termination().is_some_and(|t| pod.failed(c, t)))
}

/// The probable cause, decided by the first rule that holds (see the README's table).
pub fn classify(pod: &SlimPod, c: &SlimContainer, events: Option<&PodEvents>, log: Option<LogHint>) -> Cause {
    let waiting = c.state.waiting();
    let last = c.latest_termination();
    let container_events: Option<&ContainerEvents> = events.and_then(|e| e.containers.get(&*c.name));
    let hint = waiting.map(|w| w.hint).filter(|h| *h != Hint::None).or(last.map(|t| t.hint)).unwrap_or_default();
    let exit = last.map(|t| t.exit_code);

    if pod.evicted {
        return Cause::Evicted;
    }
    if last.is_some_and(|t| t.reason == TerminationReason::OomKilled) {
        return Cause::OomKilled;
    }
    if waiting.is_some_and(|w| w.reason.is_image_problem()) {
        return Cause::ImagePull;
    }
    let missing = waiting.is_some_and(|w| w.reason == WaitingReason::CreateContainerConfigError)
        || !missing_objects_of(c, events).is_empty();
    if missing {
        return Cause::MissingConfig;
    }
    if hint == Hint::ExecutableNotFound || exit == Some(127) {
        return Cause::CommandNotFound;
    }
    if matches!(hint, Hint::PermissionDenied | Hint::ExecFormatError) || exit == Some(126) {
        return Cause::NotExecutable;
    }
    if last.is_some_and(|t| t.reason.is_runtime_problem()) {
        return Cause::RuntimeError;
    }
    let probe_kill = container_events.and_then(|e| e.last_probe_kill).filter(|(_, at)| {
        last.and_then(|t| t.finished_at).is_some_and(|finished| (finished - at).abs() <= PROBE_KILL_WINDOW_SECONDS)
    });
    if let Some((probe, _)) = probe_kill {
        return if probe == Probe::Startup { Cause::StartupProbe } else { Cause::LivenessProbe };
    }
    if exit == Some(139) || log == Some(LogHint::Segfault) {
        return Cause::Segfault;
    }
    if log == Some(LogHint::OutOfMemory) {
        return Cause::OomKilled;
    }
    if exit == Some(134) {
        return Cause::Abort;
    }
    if last.is_some_and(|t| !t.is_failure()) && pod.restart_policy_of(c) == RestartPolicy::Always {
        return Cause::CompletedButRestarted;
    }
    match log {
        Some(LogHint::DependencyUnavailable) => return Cause::DependencyUnavailable,
        Some(LogHint::ConfigError) => return Cause::ConfigError,
        Some(LogHint::PermissionDenied) => return Cause::PermissionDenied,
        Some(LogHint::Crash) => return Cause::AppError,
        _ => {}
    }
    match exit {
        // SIGKILL, SIGTERM or the container's stop signal without a probe kill or an OOM:
        // something else stopped it.
        Some(_) if last.is_some_and(|t| t.is_stop(c.restart_spec().stop_signal) || t.signal() == Some(15)) => {
            Cause::Unknown
        }
        Some(code) if code != 0 => Cause::AppError,
        _ => Cause::Unknown,
    }
}

/// Where a back-off delay comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelaySource {
    /// The kubelet's waiting message, now.
    Kubelet,
    /// The last delay the kubelet reported in this crash loop: the current one is at
    /// least that, as the delay only grows until the loop ends.
    LastReported,
}

impl DelaySource {
    pub fn as_str(self) -> &'static str {
        match self {
            DelaySource::Kubelet => "kubelet",
            DelaySource::LastReported => "last_reported",
        }
    }
}

/// The crash-loop back-off of one container.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Waiting in `CrashLoopBackOff`.
    pub active: bool,
    /// The current delay and where it comes from, while in back-off and known. The
    /// kubelet's curve is a node setting (10 s doubling to 300 s by default, 1 s to 60 s
    /// with `ReduceDefaultCrashLoopBackOffDecay`, any maximum from 1 s to 300 s with
    /// `maxContainerRestartPeriod`), so a delay is never guessed from the restart count.
    pub delay: Option<(f64, DelaySource)>,
    /// `lastState.terminated.finishedAt + delay`, when the delay is known: a lower bound,
    /// as the kubelet restarts the container on its next sync after that.
    pub next_restart: Option<f64>,
}

impl Backoff {
    pub fn delay_seconds(&self) -> Option<f64> {
        self.delay.map(|(d, _)| d)
    }
}

/// Everything the metrics say about one container.
#[derive(Clone, Debug)]
pub struct ContainerReport<'a> {
    pub container: &'a SlimContainer,
    /// Whether detail series are exported (see [`needs_detail`]).
    pub detailed: bool,
    pub backoff: Backoff,
    /// Crash-looping, with hysteresis: from the first back-off until it ran 10 minutes.
    pub crashlooping: bool,
    /// The probable cause, for troubled containers.
    pub cause: Option<Cause>,
}

/// The back-off state of a container.
pub fn backoff(c: &SlimContainer) -> Backoff {
    let Some(w) = c.state.waiting().filter(|w| w.reason == WaitingReason::CrashLoopBackOff) else {
        return Backoff { active: false, delay: None, next_restart: None };
    };
    let delay = match w.backoff_seconds {
        Some(d) => Some((d, DelaySource::Kubelet)),
        None => c.history().last_backoff_seconds.map(|d| (d, DelaySource::LastReported)),
    };
    let next_restart = delay.and_then(|(d, _)| c.last_termination().and_then(|t| t.finished_at).map(|f| f as f64 + d));
    Backoff { active: true, delay, next_restart }
}

/// Containers that have never restarted and are running get only the restart counter,
/// unless `healthy_details` asks for everything. A container with no status yet (a pod
/// waiting for a node, or for the kubelet's first report) has nothing to detail in any
/// mode: a batch cluster's pending pods would otherwise pay some thirty series each.
pub fn needs_detail(c: &SlimContainer, healthy_details: bool) -> bool {
    if matches!(c.state, State::Unknown) && c.restart_count == 0 && c.history().loop_since.is_none() {
        return false;
    }
    healthy_details
        || c.restart_count > 0
        || c.history().loop_since.is_some()
        || !(matches!(c.state, State::Running { .. })
            || c.container_type == ContainerType::Init && is_completed(&c.state))
}

/// A pod whose only series are its restart counters and its workload, at any time: not
/// evicted, and no container [`needs_detail`] (each runs, or is a completed init
/// container, and none has restarted or is in a crash loop). Only its Events can add more.
pub fn is_quiet(pod: &SlimPod) -> bool {
    !pod.evicted && pod.containers.iter().all(|c| !needs_detail(c, false))
}

/// With `--skip-quiet-containers`, the one rule for which containers export any series at
/// all: a container has something to report when it has restarted, gets detail series
/// (troubled, or [`needs_detail`]), has a non-zero Event counter, or has counted
/// terminations. The others would only repeat kube-state-metrics' zeros.
pub fn has_something_to_report(report: &ContainerReport, events: Option<&ContainerEvents>) -> bool {
    let c = report.container;
    c.restart_count > 0
        || report.detailed
        || !c.history().terminations.is_empty()
        || events.is_some_and(|e| {
            e.backoffs > 0 || e.image_pull_backoffs > 0 || e.probe_failures.iter().chain(&e.probe_kills).any(|n| *n > 0)
        })
}

/// With `--skip-quiet-containers`, whether the pod keeps `crashloop_pod_workload_info`:
/// when one of its containers has something to report (the alert rules join on it), it
/// waits for a missing object, or it was evicted.
pub fn pod_has_something_to_report(pod: &SlimPod, any_container: bool, missing_objects: bool) -> bool {
    any_container || missing_objects || pod.evicted
}

fn is_completed(state: &State) -> bool {
    matches!(state, State::Terminated(t) if t.exit_code == 0)
}

/// Crash-looping with hysteresis: set from the first observed loop, cleared once the
/// container has run for the kubelet's reset window (10 minutes) without a restart. The
/// tracker clears the loop of a container that has ended ([`SlimPod::has_ended`]: a recovered
/// init container, a finished Job), so an ended container is never crash-looping.
pub fn crashlooping(c: &SlimContainer, now: Timestamp) -> bool {
    c.history().loop_since.is_some() && running_for(c, now).is_none_or(|s| s < BACKOFF_RESET_SECONDS)
}

/// The report for each container of a pod, from the pod, its Events and any log hints.
pub fn assess<'a>(
    pod: &'a SlimPod,
    events: Option<&PodEvents>,
    logs: &dyn Fn(&SlimContainer) -> Option<LogHint>,
    now: Timestamp,
    healthy_details: bool,
) -> Vec<ContainerReport<'a>> {
    pod.containers
        .iter()
        .map(|c| {
            let looping = crashlooping(c, now);
            let troubled = is_troubled(pod, c, looping);
            ContainerReport {
                container: c,
                detailed: troubled || needs_detail(c, healthy_details),
                backoff: backoff(c),
                crashlooping: looping,
                cause: troubled.then(|| classify(pod, c, events, logs(c))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_counts::{ContainerEvents, PodEvents};
    use crate::fixtures::fixture;
    use crate::history::track;
    use crate::parse::classify_log;
    use crate::view::{MissingObject, ObjectKind};
    use serde_json::json;

    /// `finishedAt` of [`crashed`]'s last termination (2026-11-24T10:00:30Z).
    const FINISHED: Timestamp = 1_795_514_430;

    /// A one-container pod with the given container status and extra pod status fields.
    fn pod(restart_policy: &str, status: serde_json::Value, pod_status: serde_json::Value) -> SlimPod {
        let mut p = json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"restartPolicy": restart_policy, "containers": [{"name": "c"}]},
            "status": {"containerStatuses": [status]}
        });
        if let (Some(dst), Some(src)) = (p["status"].as_object_mut(), pod_status.as_object()) {
            dst.extend(src.clone());
        }
        serde_json::from_value(p).expect("pod")
    }

    fn crashed(exit: i32, reason: &str, message: &str) -> serde_json::Value {
        json!({"name": "c", "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=c pod=p_ns(u)"}},
            "lastState": {"terminated": {"exitCode": exit, "reason": reason, "message": message,
                "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:30Z"}}})
    }

    fn waiting(reason: &str, message: &str) -> serde_json::Value {
        json!({"name": "c", "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}})
    }

    fn probe_killed(probe: Probe, at: Timestamp) -> PodEvents {
        let c = ContainerEvents { last_probe_kill: Some((probe, at)), ..Default::default() };
        PodEvents { uid: "u".into(), containers: [("c".to_string(), c)].into(), ..Default::default() }
    }

    fn cause(p: &SlimPod, events: Option<&PodEvents>, log: &str) -> Cause {
        let hint = if log.is_empty() { None } else { classify_log(log) };
        classify(p, &p.containers[0], events, hint)
    }

    #[test]
    fn one_case_per_cause() {
        let none = json!({});
        let always = |status| pod("Always", status, json!({}));
        let liveness = probe_killed(Probe::Liveness, FINISHED - 25);
        let startup = probe_killed(Probe::Startup, FINISHED - 3);
        let long_ago = probe_killed(Probe::Liveness, FINISHED - 3600);
        let mut mount = PodEvents { uid: "u".into(), ..Default::default() };
        mount.missing.insert(MissingObject { kind: ObjectKind::Secret, name: "tls".into(), key: None }, "p.1".into());
        let cases: Vec<(&str, SlimPod, Option<&PodEvents>, &str, Cause)> = vec![
            ("OOMKilled 137", always(crashed(137, "OOMKilled", "")), None, "", Cause::OomKilled),
            ("trap: OOMKilled with exit 1 is an OOM", always(crashed(1, "OOMKilled", "")), None, "", Cause::OomKilled),
            (
                "trap: Error/137 after a liveness kill is not an OOM",
                always(crashed(137, "Error", "")),
                Some(&liveness),
                "",
                Cause::LivenessProbe,
            ),
            (
                "Error/143 after a liveness kill",
                always(crashed(143, "Error", "")),
                Some(&liveness),
                "",
                Cause::LivenessProbe,
            ),
            ("startup probe kill", always(crashed(137, "Error", "")), Some(&startup), "", Cause::StartupProbe),
            (
                "a probe kill long before is not the cause",
                always(crashed(1, "Error", "")),
                Some(&long_ago),
                "",
                Cause::AppError,
            ),
            ("Error/137 without a probe kill", always(crashed(137, "Error", "")), None, "", Cause::Unknown),
            ("exit 1", always(crashed(1, "Error", "")), None, "", Cause::AppError),
            (
                "exit 1 with a traceback",
                always(crashed(1, "Error", "")),
                None,
                "Traceback (most recent call last):\n  File \"app.py\"",
                Cause::AppError,
            ),
            ("segfault 139", always(crashed(139, "Error", "")), None, "", Cause::Segfault),
            (
                "trap: Go exit 2 with SIGSEGV in the log",
                always(crashed(2, "Error", "")),
                None,
                "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]",
                Cause::Segfault,
            ),
            ("abort 134", always(crashed(134, "Error", "")), None, "", Cause::Abort),
            (
                "JVM heap in the log",
                always(crashed(1, "Error", "")),
                None,
                "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space",
                Cause::OomKilled,
            ),
            (
                "Node heap abort",
                always(crashed(134, "Error", "")),
                None,
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                Cause::OomKilled,
            ),
            ("shell 127", always(crashed(127, "Error", "")), None, "sh: wrker: not found", Cause::CommandNotFound),
            (
                "StartError 128, executable not found",
                always(crashed(128, "StartError", "exec: \"wrker\": executable file not found in $PATH: unknown")),
                None,
                "",
                Cause::CommandNotFound,
            ),
            (
                "RunContainerError, no such file",
                always(waiting(
                    "RunContainerError",
                    "failed to create containerd task: exec: \"/app/x\": stat /app/x: no such file or directory: unknown",
                )),
                None,
                "",
                Cause::CommandNotFound,
            ),
            ("shell 126", always(crashed(126, "Error", "")), None, "", Cause::NotExecutable),
            (
                "StartError permission denied",
                always(crashed(128, "StartError", "exec: \"/app/run\": permission denied: unknown")),
                None,
                "",
                Cause::NotExecutable,
            ),
            (
                "trap: missing key is missing_config",
                always(waiting(
                    "CreateContainerConfigError",
                    "couldn't find key DATABASE_URL in ConfigMap shop/app-config",
                )),
                None,
                "",
                Cause::MissingConfig,
            ),
            (
                "missing secret",
                always(waiting("CreateContainerConfigError", "secret \"db\" not found")),
                None,
                "",
                Cause::MissingConfig,
            ),
            (
                "FailedMount while creating",
                always(waiting("ContainerCreating", "")),
                Some(&mount),
                "",
                Cause::MissingConfig,
            ),
            (
                "ImagePullBackOff",
                always(waiting("ImagePullBackOff", "Back-off pulling image \"x\"")),
                None,
                "",
                Cause::ImagePull,
            ),
            ("ErrImagePull", always(waiting("ErrImagePull", "rpc error: code = NotFound")), None, "", Cause::ImagePull),
            (
                "connection refused",
                always(crashed(1, "Error", "")),
                None,
                "Error: connect ECONNREFUSED 10.0.0.5:5432",
                Cause::DependencyUnavailable,
            ),
            (
                "no such host",
                always(crashed(1, "Error", "")),
                None,
                "dial tcp: lookup db.shop.svc on 10.96.0.10:53: no such host",
                Cause::DependencyUnavailable,
            ),
            (
                "config error, Go flags exit 2",
                always(crashed(2, "Error", "")),
                None,
                "flag provided but not defined: -listen\nUsage of /app:",
                Cause::ConfigError,
            ),
            (
                "yaml",
                always(crashed(1, "Error", "")),
                None,
                "error: yaml: unmarshal errors:\n  line 3: cannot unmarshal",
                Cause::ConfigError,
            ),
            (
                "EACCES",
                always(crashed(1, "Error", "")),
                None,
                "Error: EACCES: permission denied, open '/data/db.lock'",
                Cause::PermissionDenied,
            ),
            ("completed under Always", always(crashed(0, "Completed", "")), None, "", Cause::CompletedButRestarted),
            (
                "completed under OnFailure",
                pod("OnFailure", crashed(0, "Completed", ""), none.clone()),
                None,
                "",
                Cause::Unknown,
            ),
            (
                "evicted",
                pod(
                    "Always",
                    json!({"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}}}),
                    json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. "}),
                ),
                None,
                "",
                Cause::Evicted,
            ),
            (
                "StartError/128: the runtime could not start it (containerd)",
                always(crashed(
                    128,
                    "StartError",
                    "failed to create containerd task: failed to create shim task: OCI runtime create failed: unable to apply cgroup configuration",
                )),
                None,
                "",
                Cause::RuntimeError,
            ),
            (
                "trap: StartError of a missing command is the command",
                always(crashed(128, "StartError", "exec: \"/app\": stat /app: no such file or directory: unknown")),
                None,
                "",
                Cause::CommandNotFound,
            ),
            (
                "ContainerStatusUnknown/137: the kubelet could not locate it",
                always(crashed(
                    137,
                    "ContainerStatusUnknown",
                    "The container could not be located when the pod was terminated",
                )),
                None,
                "",
                Cause::RuntimeError,
            ),
            (
                "Unknown/255: containerd lost its state",
                always(crashed(255, "Unknown", "")),
                None,
                "",
                Cause::RuntimeError,
            ),
            (
                "exit 128+stopSignal: stopped, not an app error",
                {
                    let mut p = always(crashed(138, "Error", ""));
                    p.containers[0]
                        .set_restart_spec(crate::view::RestartSpec { stop_signal: Some(10), ..Default::default() });
                    p
                },
                None,
                "",
                Cause::Unknown,
            ),
            (
                "exit 138 without that stop signal: SIGUSR1 from the app",
                always(crashed(138, "Error", "")),
                None,
                "",
                Cause::AppError,
            ),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (name, p, events, log, expected) in &cases {
            assert_eq!(cause(p, *events, log), *expected, "{name}");
            seen.insert(*expected);
        }
        assert_eq!(seen.len(), Cause::ALL.len(), "every cause has a case");
    }

    #[test]
    fn fixtures_get_their_causes() {
        let check = |name: &str, expected: Cause| {
            let p = track(None, fixture(name), FINISHED, true);
            let reports = assess(&p, None, &|_| None, FINISHED, false);
            let troubled: Vec<_> = reports.iter().filter_map(|r| r.cause).collect();
            assert_eq!(troubled.first(), Some(&expected), "{name}");
        };
        check("deployment-oom-crashloop", Cause::OomKilled);
        check("oom-exit-1", Cause::OomKilled);
        check("missing-configmap", Cause::MissingConfig);
        check("start-error-not-found", Cause::CommandNotFound);
        check("cronjob-completed-restarted", Cause::Unknown);
        check("init-and-sidecar", Cause::AppError);
    }

    /// A pod without container statuses (Pending, no node yet) gets no detail series in
    /// either mode; once the kubelet reports a waiting container, it does.
    #[test]
    fn a_container_without_status_has_nothing_to_detail() {
        let pending = fixture("no-status");
        for healthy_details in [false, true] {
            let reports = assess(&pending, None, &|_| None, FINISHED, healthy_details);
            assert!(!reports.is_empty() && reports.iter().all(|r| !r.detailed && r.cause.is_none()), "{reports:?}");
        }
        assert!(is_quiet(&pending));
        let creating = pod("Always", waiting("ContainerCreating", ""), json!({}));
        assert!(assess(&creating, None, &|_| None, FINISHED, false)[0].detailed);
    }

    /// `--skip-quiet-containers`' rule: a restart, detail series, a non-zero Event counter or
    /// a counted termination is something to report; Event counters at 0 (a baseline) are not.
    #[test]
    fn something_to_report() {
        let running = |restarts: u32| json!({"name": "c", "restartCount": restarts, "state": {"running": {"startedAt": "2026-11-01T00:00:00Z"}}});
        fn report(p: &SlimPod) -> ContainerReport<'_> {
            assess(p, None, &|_| None, FINISHED, false).remove(0)
        }
        let quiet = track(None, pod("Always", running(0), json!({})), FINISHED, true);
        let r = report(&quiet);
        assert!(!has_something_to_report(&r, None));
        assert!(!has_something_to_report(&r, Some(&ContainerEvents::default())), "counters at 0");
        for events in [
            ContainerEvents { probe_failures: [0, 1, 0], ..Default::default() },
            ContainerEvents { probe_kills: [1, 0, 0], ..Default::default() },
            ContainerEvents { backoffs: 1, ..Default::default() },
            ContainerEvents { image_pull_backoffs: 1, ..Default::default() },
        ] {
            assert!(has_something_to_report(&r, Some(&events)), "{events:?}");
        }
        let restarted = track(None, pod("Always", running(1), json!({})), FINISHED, true);
        assert!(has_something_to_report(&report(&restarted), None));
        let waiting = pod("Always", waiting("ContainerCreating", ""), json!({}));
        assert!(has_something_to_report(&report(&waiting), None), "needs detail");
        let mut counted = quiet.clone();
        let mut history = counted.containers[0].history().clone();
        history.terminations.add(TerminationReason::Error, 1);
        counted.containers[0].set_history(history);
        assert!(has_something_to_report(&report(&counted), None), "a counted termination");
        assert!(!pod_has_something_to_report(&quiet, false, false));
        assert!(pod_has_something_to_report(&quiet, true, false));
        assert!(pod_has_something_to_report(&quiet, false, true), "a missing object");
    }

    /// A 1.35 node with `ReduceDefaultCrashLoopBackOffDecay` (1 s doubling to 60 s): the delay
    /// is the kubelet's while its message gives one, then the last it gave in this loop; once
    /// the container has run for the reset window, none is known until the kubelet says.
    /// The old 10 s / 300 s curve is never assumed.
    #[test]
    fn the_backoff_delay_is_the_kubelets_or_unknown() {
        let status = |restarts: u32, message: &str, finished: &str| {
            json!({"name": "c", "restartCount": restarts,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-11-24T10:00:00Z", "finishedAt": finished}}})
        };
        let t0 = FINISHED;
        let p1 = track(
            None,
            pod(
                "Always",
                status(3, "back-off 4s restarting failed container=c pod=p_ns(u)", "2026-11-24T10:00:30Z"),
                json!({}),
            ),
            t0,
            false,
        );
        let b = backoff(&p1.containers[0]);
        assert_eq!((b.delay, b.next_restart), (Some((4.0, DelaySource::Kubelet)), Some(FINISHED as f64 + 4.0)));
        // A status without the message (an older or a patched status): the last delay given.
        let p2 = track(Some(&p1), pod("Always", status(4, "", "2026-11-24T10:00:38Z"), json!({})), t0 + 8, false);
        let b = backoff(&p2.containers[0]);
        assert_eq!(b.delay, Some((4.0, DelaySource::LastReported)));
        assert_eq!(b.next_restart, Some(FINISHED as f64 + 8.0 + 4.0));
        // The message is the kubelet's own curve, whatever it is: 1m0s is the reduced maximum.
        let p3 = track(
            Some(&p2),
            pod(
                "Always",
                status(9, "back-off 1m0s restarting failed container=c pod=p_ns(u)", "2026-11-24T10:02:00Z"),
                json!({}),
            ),
            t0 + 100,
            false,
        );
        assert_eq!(backoff(&p3.containers[0]).delay, Some((60.0, DelaySource::Kubelet)));
        // It ran for the reset window, then crashed: the kubelet starts again from its initial
        // delay, which the exporter does not know until the kubelet says.
        let running =
            json!({"name": "c", "restartCount": 9, "state": {"running": {"startedAt": "2026-11-24T10:03:00Z"}}});
        let p4 = track(Some(&p3), pod("Always", running, json!({})), t0 + 900, false);
        let crashed_again = json!({"name": "c", "restartCount": 10,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": "2026-11-24T10:03:00Z", "finishedAt": "2026-11-24T10:15:00Z"}}});
        let p5 = track(Some(&p4), pod("Always", crashed_again, json!({})), t0 + 1000, false);
        let b = backoff(&p5.containers[0]);
        assert_eq!((b.active, b.delay, b.next_restart), (true, None, None));
    }

    /// The one "will not run again" rule, seen through the hysteresis, the causes and the
    /// terminations: a recovered init container, a Job that succeeded on its third try,
    /// and an OOM kill in a `Never` pod, each as the real kubelet reports them.
    #[test]
    fn a_container_that_has_ended_is_never_crashlooping() {
        let t0 = FINISHED + 10;
        let verdict = |p: &SlimPod, now| {
            let reports = assess(p, None, &|_| None, now, false);
            let r = reports.iter().find(|r| &*r.container.name == "c").expect("container c");
            (r.crashlooping, r.cause, r.container.history().terminations.clone())
        };
        let completed = json!({"terminated": {"exitCode": 0, "reason": "Completed",
            "startedAt": "2026-11-24T10:01:10Z", "finishedAt": "2026-11-24T10:01:11Z"}});
        let with_state = |mut status: serde_json::Value, state: &serde_json::Value| {
            status["state"] = state.clone();
            status
        };

        // An init container that failed twice, then completed; the pod then runs.
        let init_pod = |status: serde_json::Value, phase: &str| -> SlimPod {
            serde_json::from_value(json!({
                "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
                "spec": {"restartPolicy": "Always", "initContainers": [{"name": "c"}], "containers": [{"name": "app"}]},
                "status": {"phase": phase, "initContainerStatuses": [status],
                    "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"running": {"startedAt": "2026-11-24T10:01:12Z"}}}]}
            }))
            .expect("pod")
        };
        let mut failing = crashed(1, "Error", "");
        failing["restartCount"] = json!(2);
        let p = track(None, init_pod(failing.clone(), "Pending"), t0, false);
        assert!(verdict(&p, t0).0, "crash-looping while it fails");
        let p = track(Some(&p), init_pod(with_state(failing.clone(), &completed), "Running"), t0 + 60, false);
        let (looping, cause, terminations) = verdict(&p, t0 + 60);
        assert_eq!((looping, cause), (false, None), "0 and no cause once it completed");
        assert_eq!(
            (terminations.get(TerminationReason::Error), terminations.get(TerminationReason::Completed)),
            (2, 0)
        );
        assert_eq!(p.container("c").map(|c| c.history().loop_since), Some(None));

        // A Job's container (OnFailure) that failed twice and succeeded on the third try.
        let job = |status: serde_json::Value, phase: &str| pod("OnFailure", status, json!({"phase": phase}));
        let mut first = crashed(1, "Error", "");
        first["restartCount"] = json!(0);
        let p = track(
            None,
            job(with_state(first.clone(), &json!({"running": {"startedAt": "2026-11-24T10:00:00Z"}})), "Running"),
            t0,
            false,
        );
        let p = track(Some(&p), job(failing.clone(), "Running"), t0 + 30, false);
        assert!(verdict(&p, t0 + 30).0);
        let p = track(Some(&p), job(with_state(failing.clone(), &completed), "Succeeded"), t0 + 90, false);
        let (looping, cause, terminations) = verdict(&p, t0 + 90);
        assert_eq!((looping, cause), (false, None));
        assert_eq!(terminations.get(TerminationReason::Error), 2, "the two failures, counted by the restarts");
        assert_eq!(terminations.get(TerminationReason::Completed), 0, "a success is no failure to count");

        // OOM-killed in a Never pod: no restart ever, yet counted once, with its cause.
        let oom = json!({"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
            "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:30Z"}}});
        let never = || pod("Never", oom.clone(), json!({"phase": "Failed"}));
        let p = track(None, never(), t0, false);
        let (looping, cause, terminations) = verdict(&p, t0);
        assert_eq!(
            (looping, cause, terminations.get(TerminationReason::OomKilled)),
            (false, Some(Cause::OomKilled), 1)
        );
        let p = track(Some(&p), never(), t0 + 60, false);
        assert_eq!(verdict(&p, t0 + 60).2.get(TerminationReason::OomKilled), 1, "counted once");
        assert_eq!(p.containers[0].latest_termination().map(|t| t.exit_code), Some(137));
        // Seen in the exporter's first list, the kill happened before it started: baseline.
        let p = track(None, never(), t0, true);
        let (_, cause, terminations) = verdict(&p, t0);
        assert_eq!((cause, terminations.get(TerminationReason::OomKilled)), (Some(Cause::OomKilled), 0));
        let p = track(Some(&p), never(), t0 + 60, false);
        assert_eq!(verdict(&p, t0 + 60).2.get(TerminationReason::OomKilled), 0);

        // Completed under Always is restarted: not ended, and the cause says so.
        let p = track(None, pod("Always", with_state(failing, &completed), json!({"phase": "Running"})), t0, false);
        assert_eq!(verdict(&p, t0).1, Some(Cause::CompletedButRestarted));
    }

    /// CrashLoopBackOff, then Running without a restart for a simulated 10 minutes, then
    /// crashing again: 1, stays 1, goes 0, and 1 again.
    #[test]
    fn crashloop_state_has_hysteresis() {
        let t0 = FINISHED + 10;
        let looping = |p: &SlimPod, now| crashlooping(&p.containers[0], now);
        let backoff = pod("Always", crashed(1, "Error", ""), json!({}));
        let p = track(None, backoff, t0, true);
        assert!(looping(&p, t0));

        let running_since = |start: Timestamp, restarts: u32| {
            let mut status = crashed(1, "Error", "");
            status["restartCount"] = json!(restarts);
            status["state"] = json!({"running": {"startedAt": k8s_openapi::jiff::Timestamp::from_second(start).map(|t| t.to_string()).unwrap_or_default()}});
            pod("Always", status, json!({}))
        };
        // Restarted and running: the gap between crashes keeps it at 1.
        let p = track(Some(&p), running_since(t0 + 40, 5), t0 + 45, false);
        assert!(looping(&p, t0 + 45));
        assert!(looping(&p, t0 + 40 + 599));
        // Ten minutes of running: 0, without any new watch event (the clock decides).
        assert!(!looping(&p, t0 + 40 + 600));
        // An unrelated status update after recovery keeps it at 0.
        let p = track(Some(&p), running_since(t0 + 40, 5), t0 + 700, false);
        assert!(!looping(&p, t0 + 700));
        assert_eq!(p.container("c").map(|c| c.history().loop_since), Some(None));
        // It crashes again into CrashLoopBackOff: 1 again, with a new start time.
        let mut again = crashed(1, "Error", "");
        again["restartCount"] = json!(7);
        let p = track(Some(&p), pod("Always", again, json!({})), t0 + 800, false);
        assert!(looping(&p, t0 + 800));
        assert_eq!(p.containers[0].history().loop_since, Some(t0 + 800));
    }
}

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
    BACKOFF_RESET_SECONDS, ContainerType, Disruption, Hint, LogHint, ObjectKind, Phase, Probe, PullFailure,
    RestartPolicy, SlimContainer, SlimPod, State, Termination, TerminationReason, Timestamp, WaitingReason, label_enum,
};

/// How close a probe kill must be to a termination to explain it: the kill is recorded
/// when the kubelet sends SIGTERM, the container ends up to a grace period later.
pub(crate) const PROBE_KILL_WINDOW_SECONDS: i64 = 120;

/// How long an init container may run before it counts as stuck: the app waits for it (a
/// `until nc -z db 5432` loop whose database never answers).
pub(crate) const INIT_STUCK_SECONDS: i64 = 600;

/// How long a pod's sandbox may stay not ready (`PodReadyToStartContainers=False`) before
/// it counts as failed without a `FailedCreatePodSandBox` Event (expired, or no Events RBAC).
pub(crate) const SANDBOX_STUCK_SECONDS: i64 = 300;

/// An init container (not a sidecar) that has run [`INIT_STUCK_SECONDS`] or more while
/// its pod is `Pending`: the app's containers wait for it.
pub(crate) fn stuck_init(pod: &SlimPod, c: &SlimContainer, now: Timestamp) -> bool {
    c.container_type == ContainerType::Init
        && pod.phase == Phase::Pending
        && !pod.terminating
        && running_for(c, now).is_some_and(|s| s >= INIT_STUCK_SECONDS)
}

label_enum! {
    /// The probable cause of a troubled container, from a documented, bounded set.
    Cause {
        OomKilled => "oom_killed",
        LivenessProbe => "liveness_probe",
        StartupProbe => "startup_probe",
        AppError => "app_error",
        Segfault => "segfault",
        Abort => "abort",
        CommandNotFound => "command_not_found",
        NotExecutable => "not_executable",
        MissingConfig => "missing_config",
        ImagePull => "image_pull",
        DependencyUnavailable => "dependency_unavailable",
        ConfigError => "config_error",
        PermissionDenied => "permission_denied",
        CompletedButRestarted => "completed_but_restarted",
        /// The kubelet evicted the pod under node pressure.
        Evicted => "evicted",
        /// The Eviction API evicted the pod: a drain, the descheduler, the cluster autoscaler.
        ApiEvicted => "api_evicted",
        /// Graceful node shutdown stopped the pod, or refused it while the node shut down.
        NodeShutdown => "node_shutdown",
        /// The scheduler or the kubelet preempted the pod for one of higher priority.
        Preempted => "preempted",
        /// The pod ran longer than its `activeDeadlineSeconds`.
        DeadlineExceeded => "deadline_exceeded",
        /// The kubelet refused the pod at admission (`OutOfcpu`, `NodeAffinity`, …).
        AdmissionRejected => "admission_rejected",
        /// The node is gone or unreachable: the taint manager or the pod GC deletes the pod.
        NodeLost => "node_lost",
        /// A `DisruptionTarget` condition of an unknown reason.
        Disrupted => "disrupted",
        /// No node fits the pod (resources, taints, affinity, volume zones).
        Unschedulable => "unschedulable",
        /// The runtime cannot create the pod's sandbox (CNI, a RuntimeClass handler).
        SandboxFailed => "sandbox_failed",
        /// A volume that exists cannot be attached or mounted.
        VolumeMount => "volume_mount",
        /// The security context refuses the image: `runAsNonRoot` and a root user.
        SecurityContext => "security_context",
        /// The kubelet cannot build the container's config from its spec (`subPath`, …).
        InvalidConfig => "invalid_config",
        /// An init container has run [`INIT_STUCK_SECONDS`] or more while the app waits.
        StuckInit => "stuck_init",
        RuntimeError => "runtime_error",
        Unknown => "unknown",
    }
}

impl From<Disruption> for Cause {
    fn from(d: Disruption) -> Self {
        match d {
            Disruption::Evicted => Cause::Evicted,
            Disruption::ApiEvicted => Cause::ApiEvicted,
            Disruption::NodeShutdown => Cause::NodeShutdown,
            Disruption::Preempted => Cause::Preempted,
            Disruption::DeadlineExceeded => Cause::DeadlineExceeded,
            Disruption::AdmissionRejected => Cause::AdmissionRejected,
            Disruption::NodeLost => Cause::NodeLost,
            Disruption::Other => Cause::Disrupted,
        }
    }
}

/// A ConfigMap, Secret or PVC a container waits for, as `(kind, name)`.
pub(crate) type MissingName = (ObjectKind, String);

/// The one missing-object rule: what container `c` waits for and the cluster does not have,
/// named by its own waiting message, by the scheduler's message in the pod's
/// `PodScheduled` condition, or by the pod's Events (`FailedMount`, `Failed`,
/// `FailedScheduling`) while it has not started: once it runs, those Events are history.
/// `/metrics`, the cause and `diagnose` all read this.
pub(crate) fn missing_objects_of(
    pod: &SlimPod,
    c: &SlimContainer,
    events: Option<&PodEvents>,
) -> BTreeSet<MissingName> {
    let mut out: BTreeSet<MissingName> =
        c.state.waiting().and_then(|w| w.missing.as_deref()).map(|o| (o.kind, o.name.clone())).into_iter().collect();
    if matches!(c.state, State::Waiting(_) | State::Unknown) {
        if let Some(o) = pod.trouble.as_ref().filter(|_| pod.unschedulable()).and_then(|t| t.missing.as_ref()) {
            out.insert((o.kind, o.name.clone()));
        }
        if let Some(events) = events {
            out.extend(events.missing.keys().map(|o| (o.kind, o.name.clone())));
        }
    }
    out
}

/// What the pod waits for: [`missing_objects_of`] over its containers.
pub(crate) fn missing_objects(pod: &SlimPod, events: Option<&PodEvents>) -> BTreeSet<MissingName> {
    pod.containers.iter().flat_map(|c| missing_objects_of(pod, c, events)).collect()
}

/// Why a container that has not started cannot: its pod is unschedulable, its Events say
/// the sandbox or a volume fails, or its sandbox has not been ready for
/// [`SANDBOX_STUCK_SECONDS`]. Only while it waits to be created (or has no status yet); a
/// missing object is [`missing_objects_of`]'s.
fn start_blocker(pod: &SlimPod, c: &SlimContainer, events: Option<&PodEvents>, now: Timestamp) -> Option<Cause> {
    let initializing = match &c.state {
        State::Unknown => false,
        State::Waiting(w) if w.reason == WaitingReason::ContainerCreating => false,
        State::Waiting(w) if w.reason == WaitingReason::PodInitializing => true,
        _ => return None,
    };
    if pod.unschedulable() {
        return Some(Cause::Unschedulable);
    }
    if initializing {
        return None;
    }
    let sandbox_stuck = pod
        .trouble
        .as_ref()
        .and_then(|t| t.sandbox_not_ready_since)
        .is_some_and(|since| now - since >= SANDBOX_STUCK_SECONDS);
    if events.is_some_and(|e| e.sandbox_failed.is_some()) || sandbox_stuck {
        Some(Cause::SandboxFailed)
    } else if events.is_some_and(|e| e.mount_failed.is_some()) {
        Some(Cause::VolumeMount)
    } else {
        None
    }
}

/// A container needs a cause when it is crash-looping, waiting for an error, cannot start
/// (its pod is unschedulable, its sandbox or a volume fails), its pod was disrupted, or
/// it has ended ([`SlimPod::has_ended`]) with a failure: an OOM-killed batch container
/// that will never restart is the case an on-call engineer must still see. An ephemeral
/// container (`kubectl debug`) never has one: it is never restarted, and exits with
/// whatever its shell last ran.
pub(crate) fn is_troubled(
    pod: &SlimPod,
    c: &SlimContainer,
    crashlooping: bool,
    events: Option<&PodEvents>,
    now: Timestamp,
) -> bool {
    if c.container_type == ContainerType::Ephemeral {
        return false;
    }
    if pod.disruption().is_some() {
        return true;
    }
    // Being deleted: nothing of it runs again, and its last status may be hours old (a pod
    // on an unreachable node stays Terminating with it).
    if pod.terminating {
        return false;
    }
    crashlooping
        || stuck_init(pod, c, now)
        || c.state.waiting().is_some_and(|w| {
            !matches!(
                w.reason,
                WaitingReason::ContainerCreating
                    | WaitingReason::PodInitializing
                    | WaitingReason::RestartingAllContainers
            )
        })
        || start_blocker(pod, c, events, now).is_some()
        || (pod.has_ended(c) && c.latest_termination().is_some_and(|t| pod.failed(c, t)))
}

/// The probe kill that explains the latest termination `t` of `c`, if any. The kill is
/// recorded when the kubelet sends the stop signal, and the container ends up to the
/// grace period later (the probe's own `terminationGracePeriodSeconds`, else the pod's),
/// so a kill explains an end from [`PROBE_KILL_WINDOW_SECONDS`] before it to that much
/// after the grace period. Once the kubelet's spam filter stops writing `Killing`, the
/// last kill written explains every later end of the same run ([`crate::view::Streak`]): a crash loop
/// that began as a probe kill stays one while its ends look the same.
fn probe_kill_of(pod: &SlimPod, c: &SlimContainer, t: &Termination, events: Option<&ContainerEvents>) -> Option<Probe> {
    let (probe, at) = events?.last_probe_kill?;
    let own = c.restart_spec().probe_grace_seconds[usize::from(probe == Probe::Startup)];
    let grace = i64::from(own.unwrap_or(pod.grace_seconds));
    let explains = |finished: Timestamp| {
        let after = finished - at;
        (-PROBE_KILL_WINDOW_SECONDS..=grace + PROBE_KILL_WINDOW_SECONDS).contains(&after)
    };
    let finished = t.finished_at?;
    if explains(finished) {
        return Some(probe);
    }
    let streak = c.history().streak.as_ref().filter(|s| s.last_finished == Some(finished) && s.matches(t))?;
    (at >= streak.since - grace - PROBE_KILL_WINDOW_SECONDS && at <= finished).then_some(probe)
}

/// The cause an exec error gives: the command is not in the image, or cannot be executed.
fn exec_cause(hint: Hint) -> Option<Cause> {
    match hint {
        Hint::ExecutableNotFound => Some(Cause::CommandNotFound),
        Hint::PermissionDenied | Hint::ExecFormatError => Some(Cause::NotExecutable),
        _ => None,
    }
}

/// The probable cause, decided by the first rule that holds (see the README's table).
pub(crate) fn classify(
    pod: &SlimPod,
    c: &SlimContainer,
    events: Option<&PodEvents>,
    log: Option<LogHint>,
    now: Timestamp,
) -> Cause {
    let waiting = c.state.waiting();
    let last = c.latest_termination();
    let container_events: Option<&ContainerEvents> = events.and_then(|e| e.containers.get(&*c.name));
    let hint = waiting.map(|w| w.hint).filter(|h| *h != Hint::None).or(last.map(|t| t.hint)).unwrap_or_default();
    let exit = last.map(|t| t.exit_code);
    // What the app said of its end: its previous log (`--logs`) or its termination message.
    let message = last.and_then(|t| t.message);
    let said = |h: LogHint| log == Some(h) || message == Some(h);

    if let Some(d) = pod.disruption() {
        return d.into();
    }
    // What the container waits for now comes before what ended its last instance.
    if let Some(w) = waiting {
        match w.reason {
            r if r.is_image_problem() => return Cause::ImagePull,
            WaitingReason::CreateContainerConfigError => {
                return match w.hint {
                    Hint::SecurityContext => Cause::SecurityContext,
                    Hint::InvalidConfig => Cause::InvalidConfig,
                    _ => Cause::MissingConfig,
                };
            }
            // The runtime could not create or start this instance: its own message decides
            // (or, for a RunContainerError, the StartError of this same instance), never the
            // previous instance's end.
            WaitingReason::CreateContainerError | WaitingReason::RunContainerError => {
                let start_error = last.filter(|t| {
                    w.reason == WaitingReason::RunContainerError && t.reason == TerminationReason::StartError
                });
                let hint = Some(w.hint).filter(|h| *h != Hint::None).or(start_error.map(|t| t.hint));
                return hint.and_then(exec_cause).unwrap_or(Cause::RuntimeError);
            }
            _ => {}
        }
    }
    if !missing_objects_of(pod, c, events).is_empty() {
        return Cause::MissingConfig;
    }
    if let Some(blocked) = start_blocker(pod, c, events, now) {
        return blocked;
    }
    if stuck_init(pod, c, now) {
        return Cause::StuckInit;
    }
    if last.is_some_and(|t| t.reason == TerminationReason::OomKilled) {
        return Cause::OomKilled;
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
    if let Some(probe) = last.and_then(|t| probe_kill_of(pod, c, t, container_events)) {
        return if probe == Probe::Startup { Cause::StartupProbe } else { Cause::LivenessProbe };
    }
    if exit == Some(139) || said(LogHint::Segfault) {
        return Cause::Segfault;
    }
    if said(LogHint::OutOfMemory) {
        return Cause::OomKilled;
    }
    if exit == Some(134) {
        return Cause::Abort;
    }
    if last.is_some_and(|t| !t.is_failure()) && pod.restart_policy_of(c) == RestartPolicy::Always {
        return Cause::CompletedButRestarted;
    }
    for (h, cause) in [
        (LogHint::DependencyUnavailable, Cause::DependencyUnavailable),
        (LogHint::ConfigError, Cause::ConfigError),
        (LogHint::PermissionDenied, Cause::PermissionDenied),
        (LogHint::Crash, Cause::AppError),
    ] {
        if said(h) {
            return cause;
        }
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

label_enum! {
    /// Where a back-off delay comes from.
    DelaySource {
        /// The kubelet's waiting message, now.
        Kubelet => "kubelet",
        /// The last delay the kubelet reported in this crash loop: the current one is at
        /// least that, as the delay only grows until the loop ends.
        LastReported => "last_reported",
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

/// Why the container cannot pull its image, while it waits on one: the category of its
/// waiting message, which is the current error, unless that says nothing (`other`) and a
/// `Failed to pull image` Event says more (an Event may be older than the message, or
/// baselined). `None` when it does not wait on an image. `/metrics` and `diagnose` show
/// this one answer.
pub(crate) fn pull_failure(c: &SlimContainer, events: Option<&ContainerEvents>) -> Option<PullFailure> {
    let w = c.state.waiting().filter(|w| w.reason.is_image_problem())?;
    let from_events = events.and_then(|e| e.pull_failure);
    Some(
        w.pull_failure
            .filter(|c| *c != PullFailure::Other)
            .or(from_events)
            .or(w.pull_failure)
            .unwrap_or(PullFailure::Other),
    )
}

/// The back-off state of a container. In a pod marked deleted or finished, the kubelet
/// restarts nothing: a `CrashLoopBackOff` its last status still shows is no back-off.
pub(crate) fn backoff(pod: &SlimPod, c: &SlimContainer) -> Backoff {
    let waiting = c.state.waiting().filter(|w| w.reason == WaitingReason::CrashLoopBackOff && !pod.has_ended(c));
    let Some(w) = waiting else {
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
pub(crate) fn needs_detail(c: &SlimContainer, healthy_details: bool) -> bool {
    if matches!(c.state, State::Unknown) && c.restart_count == 0 && c.history().loop_since.is_none() {
        return false;
    }
    healthy_details
        || c.restart_count > 0
        || c.history().loop_since.is_some()
        || !(matches!(c.state, State::Running { .. }) && c.container_type != ContainerType::Init
            || c.container_type == ContainerType::Init && is_completed(&c.state))
}

/// A pod whose only series are its restart counters and its workload, at any time: its
/// own status says of no trouble (disruption, scheduling), and no container [`needs_detail`] (each runs, or is a completed init
/// container, and none has restarted or is in a crash loop). Only its Events can add more.
pub fn is_quiet(pod: &SlimPod) -> bool {
    pod.trouble.is_none() && pod.containers.iter().all(|c| !needs_detail(c, false))
}

/// With `--skip-quiet-containers`, the one rule for which containers export any series at
/// all: a container has something to report when it has restarted, gets detail series
/// (troubled, or [`needs_detail`]), has a non-zero Event counter, or has counted
/// terminations. The others would only repeat kube-state-metrics' zeros.
pub(crate) fn has_something_to_report(report: &ContainerReport, events: Option<&ContainerEvents>) -> bool {
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
/// waits for a missing object, or its own status says of trouble (a disruption, no node).
pub(crate) fn pod_has_something_to_report(pod: &SlimPod, any_container: bool, missing_objects: bool) -> bool {
    any_container || missing_objects || pod.trouble.is_some()
}

fn is_completed(state: &State) -> bool {
    matches!(state, State::Terminated(t) if t.exit_code == 0)
}

/// Crash-looping with hysteresis: set from the first observed loop, cleared once the
/// container has run for the kubelet's reset window (10 minutes) without a restart. The
/// tracker clears the loop of a container that has ended ([`SlimPod::has_ended`]: a recovered
/// init container, a finished Job), so an ended container is never crash-looping.
pub(crate) fn crashlooping(c: &SlimContainer, now: Timestamp) -> bool {
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
            let troubled = is_troubled(pod, c, looping, events, now);
            ContainerReport {
                container: c,
                detailed: troubled || needs_detail(c, healthy_details),
                backoff: backoff(pod, c),
                crashlooping: looping,
                cause: troubled.then(|| classify(pod, c, events, logs(c), now)),
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
        classify(p, &p.containers[0], events, hint, FINISHED)
    }

    /// A log that says two things gives the cause of the README's earlier rule, for every
    /// pair of log hints and every pattern of each: code and README keep one order.
    #[test]
    fn a_log_with_two_signals_gives_the_earlier_rules_cause() {
        use crate::parse::LOG_PATTERNS;
        // The README's rules 13, 14, 17, 18, 19 and 20, in order.
        let readme = [
            (LogHint::Segfault, Cause::Segfault),
            (LogHint::OutOfMemory, Cause::OomKilled),
            (LogHint::DependencyUnavailable, Cause::DependencyUnavailable),
            (LogHint::ConfigError, Cause::ConfigError),
            (LogHint::PermissionDenied, Cause::PermissionDenied),
            (LogHint::Crash, Cause::AppError),
        ];
        let order: Vec<LogHint> = LOG_PATTERNS.iter().map(|(h, _)| *h).collect();
        assert_eq!(order, readme.map(|(h, _)| h), "the classifier's order is the README's");
        let exit_1 = pod("Always", crashed(1, "Error", ""), json!({}));
        for (i, (first, want)) in readme.iter().enumerate() {
            let first_needles = LOG_PATTERNS[i].1;
            for (later, _) in &readme[i + 1..] {
                let later_needles = LOG_PATTERNS.iter().find(|(h, _)| h == later).map(|(_, n)| *n).unwrap_or(&[]);
                for a in first_needles {
                    for b in later_needles {
                        for log in [format!("{a}\n{b}\n"), format!("{b}\n{a}\n")] {
                            assert_eq!(cause(&exit_1, None, &log), *want, "{first:?} before {later:?}: {log:?}");
                        }
                    }
                }
            }
            // Each pattern alone gives its own cause.
            for a in first_needles {
                assert_eq!(cause(&exit_1, None, a), *want, "{a}");
            }
        }
    }

    #[test]
    fn one_case_per_cause() {
        let none = json!({});
        let always = |status| pod("Always", status, json!({}));
        let liveness = probe_killed(Probe::Liveness, FINISHED - 25);
        let startup = probe_killed(Probe::Startup, FINISHED - 3);
        let long_ago = probe_killed(Probe::Liveness, FINISHED - 3600);
        let terminated = |exit: i32, reason: &str| {
            json!({"name": "c", "restartCount": 0,
            "state": {"terminated": {"exitCode": exit, "reason": reason}}})
        };
        let shutdown = json!({"phase": "Failed", "reason": "Terminated",
            "message": "Pod was terminated in response to imminent node shutdown.",
            "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
                "message": "Pod was terminated in response to imminent node shutdown."}]});
        let unschedulable = |message: &str| {
            json!({"phase": "Pending", "containerStatuses": [],
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                "lastTransitionTime": "2026-11-24T09:00:00Z"}]})
        };
        let deleted = |mut p: SlimPod| {
            p.terminating = true;
            p
        };
        let sandbox = PodEvents { uid: "u".into(), sandbox_failed: Some("p.2".into()), ..Default::default() };
        let attach = PodEvents { uid: "u".into(), mount_failed: Some("p.3".into()), ..Default::default() };
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
            (
                "the termination message names the dependency (FallbackToLogsOnError: the log's tail)",
                always(crashed(
                    1,
                    "Error",
                    "connecting to the database\ndial tcp 10.96.0.10:5432: connect: connection refused\n",
                )),
                None,
                "",
                Cause::DependencyUnavailable,
            ),
            (
                "the termination message names the config (File: the app's own words)",
                always(crashed(1, "Error", "error reading config /etc/app.yaml: yaml: unmarshal errors")),
                None,
                "",
                Cause::ConfigError,
            ),
            (
                "a traceback in the log and a refused dependency in the message: the first rule",
                always(crashed(1, "Error", "dial tcp 10.96.0.10:5432: connect: connection refused")),
                None,
                "Traceback (most recent call last):\n  File \"app.py\"",
                Cause::DependencyUnavailable,
            ),
            (
                "a StartError's message is the runtime's: no app evidence in it",
                always(crashed(128, "StartError", "failed to create containerd task: connection refused: unknown")),
                None,
                "",
                Cause::RuntimeError,
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
            // Pods the node or the control plane ended, in the shapes the kubelet, the scheduler
            // and the controllers write (docs: the README's "Pods that were not failures").
            (
                "node shutdown (1.30+ nodeshutdown_manager processShutdownEvent): an app that exits 1 on SIGTERM",
                pod("Always", terminated(1, "Error"), shutdown.clone()),
                None,
                "",
                Cause::NodeShutdown,
            ),
            (
                "node shutdown (1.20: reason Shutdown)",
                pod(
                    "Always",
                    terminated(143, "Error"),
                    json!({"phase": "Failed", "reason": "Shutdown", "message": "Node is shutting, evicting pods"}),
                ),
                None,
                "",
                Cause::NodeShutdown,
            ),
            (
                "kubelet preemption (preemption.go): ContainerStatusUnknown",
                pod(
                    "Always",
                    terminated(137, "ContainerStatusUnknown"),
                    json!({"phase": "Failed", "reason": "Preempting",
                    "message": "Preempted in order to admit critical pod",
                    "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet", "message": "Preempted in order to admit critical pod"}]}),
                ),
                None,
                "",
                Cause::Preempted,
            ),
            (
                "activeDeadlineSeconds (active_deadline.go)",
                pod(
                    "Never",
                    terminated(143, "Error"),
                    json!({"phase": "Failed", "reason": "DeadlineExceeded",
                    "message": "Pod was active on the node longer than the specified deadline"}),
                ),
                None,
                "",
                Cause::DeadlineExceeded,
            ),
            (
                "admission rejection (kubelet rejectPod), no container status",
                pod(
                    "Always",
                    json!({"name": "other"}),
                    json!({"phase": "Failed", "reason": "OutOfcpu", "containerStatuses": [],
                    "message": "Pod was rejected: Node didn't have enough resource: cpu, requested: 4000, used: 1500, capacity: 4000"}),
                ),
                None,
                "",
                Cause::AdmissionRejected,
            ),
            (
                "a drain (EvictionByEvictionAPI), the pod deleted",
                deleted(pod(
                    "Always",
                    terminated(1, "Error"),
                    json!({"phase": "Running",
                    "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}]}),
                )),
                None,
                "",
                Cause::ApiEvicted,
            ),
            (
                "an unreachable node (DeletionByTaintManager): the last status stays",
                deleted(pod(
                    "Always",
                    crashed(1, "Error", ""),
                    json!({"phase": "Running",
                    "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager", "message": "Taint manager: deleting due to NoExecute taint"}]}),
                )),
                None,
                "",
                Cause::NodeLost,
            ),
            (
                "a DisruptionTarget of an unknown reason",
                deleted(pod(
                    "Always",
                    terminated(143, "Error"),
                    json!({"phase": "Running",
                    "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "SomethingNew"}]}),
                )),
                None,
                "",
                Cause::Disrupted,
            ),
            (
                "unschedulable (schedule_one.go handleSchedulingFailure): no status yet",
                pod(
                    "Always",
                    json!({"name": "other"}),
                    unschedulable(
                        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
                    ),
                ),
                None,
                "",
                Cause::Unschedulable,
            ),
            (
                "trap: a missing PVC is the scheduler's (volume_binding.go podHasPVCs), a missing object",
                pod(
                    "Always",
                    json!({"name": "other"}),
                    unschedulable(
                        "0/3 nodes are available: persistentvolumeclaim \"data\" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
                    ),
                ),
                None,
                "",
                Cause::MissingConfig,
            ),
            (
                "FailedCreatePodSandBox",
                always(waiting("ContainerCreating", "")),
                Some(&sandbox),
                "",
                Cause::SandboxFailed,
            ),
            (
                "PodReadyToStartContainers=False for 5 minutes (generate.go), its Events expired",
                pod(
                    "Always",
                    waiting("ContainerCreating", ""),
                    json!({"phase": "Pending",
                    "conditions": [{"type": "PodReadyToStartContainers", "status": "False", "lastTransitionTime": "2026-11-24T09:55:30Z"}]}),
                ),
                None,
                "",
                Cause::SandboxFailed,
            ),
            (
                "trap: a sandbox not ready for a minute is a pod starting",
                pod(
                    "Always",
                    waiting("ContainerCreating", ""),
                    json!({"phase": "Pending",
                    "conditions": [{"type": "PodReadyToStartContainers", "status": "False", "lastTransitionTime": "2026-11-24T09:59:30Z"}]}),
                ),
                None,
                "",
                Cause::Unknown,
            ),
            ("FailedAttachVolume", always(waiting("ContainerCreating", "")), Some(&attach), "", Cause::VolumeMount),
            (
                "runAsNonRoot and a root image (security_context_others.go verifyRunAsNonRoot)",
                always(waiting(
                    "CreateContainerConfigError",
                    "container has runAsNonRoot and image will run as root (pod: \"web-7d9f_shop(2b1c)\", container: c)",
                )),
                None,
                "",
                Cause::SecurityContext,
            ),
            (
                "trap: a CreateContainerConfigError that names no object (subPath)",
                always(waiting(
                    "CreateContainerConfigError",
                    "failed to prepare subPath for volumeMount \"data\" of container \"c\"",
                )),
                None,
                "",
                Cause::InvalidConfig,
            ),
            (
                "trap: CreateContainerError never inherits the previous instance's OOM kill",
                always({
                    let mut s = crashed(137, "OOMKilled", "");
                    s["state"] = json!({"waiting": {"reason": "CreateContainerError",
                        "message": "failed to reserve container name \"c_p_ns_u_5\": name \"c_p_ns_u_5\" is reserved for \"4f1c\""}});
                    s
                }),
                None,
                "",
                Cause::RuntimeError,
            ),
            (
                "an init container running for 10 minutes while the app waits",
                {
                    let mut p: SlimPod = serde_json::from_value(json!({
                        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
                        "spec": {"initContainers": [{"name": "c"}], "containers": [{"name": "app"}]},
                        "status": {"phase": "Pending",
                            "initContainerStatuses": [{"name": "c", "restartCount": 0, "state": {"running": {"startedAt": "2026-11-24T09:50:30Z"}}}],
                            "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}
                    }))
                    .expect("pod");
                    p.containers.sort_by_key(|c| c.container_type != ContainerType::Init);
                    p
                },
                None,
                "",
                Cause::StuckInit,
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

    /// Pods the node or the control plane ended, seen after the exporter started: every
    /// container has the disruption's cause (a container without a status too), none is
    /// crash-looping, and no end is counted as an app termination.
    #[test]
    fn disrupted_pods_are_no_app_failures() {
        let pod_json = |status: serde_json::Value, deleted: bool| -> SlimPod {
            let mut p = json!({
                "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c"}, {"name": "sidecar-less"}]},
                "status": status
            });
            if deleted {
                p["metadata"]["deletionTimestamp"] = json!("2026-11-24T10:00:40Z");
            }
            serde_json::from_value(p).expect("pod")
        };
        let stopped = json!([{"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error",
            "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:30Z"}}}]);
        let with = |mut status: serde_json::Value, statuses: &serde_json::Value| {
            status["containerStatuses"] = statuses.clone();
            status
        };
        let cases = [
            (
                "evicted",
                json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. Threshold quantity: 750Mi, available: 225800Ki. Container c was using 4395616Ki, request is 0, has larger consumption of memory. ",
                "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet"}]}),
                false,
                Cause::Evicted,
            ),
            (
                "shutdown",
                json!({"phase": "Failed", "reason": "Terminated", "message": "Pod was terminated in response to imminent node shutdown."}),
                false,
                Cause::NodeShutdown,
            ),
            (
                "deadline",
                json!({"phase": "Failed", "reason": "DeadlineExceeded", "message": "Pod was active on the node longer than the specified deadline"}),
                false,
                Cause::DeadlineExceeded,
            ),
            (
                "drain",
                json!({"phase": "Running", "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"}]}),
                true,
                Cause::ApiEvicted,
            ),
        ];
        for (name, status, deleted, expected) in cases {
            let p = track(None, pod_json(with(status, &stopped), deleted), FINISHED + 10, false);
            let reports = assess(&p, None, &|_| None, FINISHED + 10, false);
            for r in &reports {
                assert_eq!((r.cause, r.crashlooping), (Some(expected), false), "{name}: {}", r.container.name);
                assert!(r.container.history().terminations.is_empty(), "{name}: no app termination counted");
            }
        }
        // The eviction's resource, from its message.
        let evicted = pod_json(
            json!({"phase": "Failed", "reason": "Evicted", "message": "Container c exceeded its local ephemeral storage limit \"1Gi\". "}),
            false,
        );
        assert_eq!(
            evicted.trouble.as_ref().and_then(|t| t.eviction_resource),
            Some(crate::view::EvictionResource::StorageLimit)
        );
        // The same end in a pod nothing disrupted is an app failure, counted once.
        let failed = track(None, pod_json(with(json!({"phase": "Failed"}), &stopped), false), FINISHED + 10, false);
        assert_eq!(failed.containers[0].history().terminations.get(TerminationReason::Error), 1);
    }

    /// A crash-looping pod marked deleted (held by a finalizer, or on an unreachable node):
    /// the kubelet restarts nothing more, so the loop has ended and no restart is promised.
    /// An ephemeral container (`kubectl debug`) that exited 127 shows its state only.
    #[test]
    fn containers_that_will_not_run_again() {
        let t0 = FINISHED + 10;
        let looping = track(None, pod("Always", crashed(1, "Error", ""), json!({"phase": "Running"})), t0, false);
        let r = &assess(&looping, None, &|_| None, t0, false)[0];
        assert!(r.crashlooping && r.backoff.next_restart.is_some());
        let mut deleted = pod("Always", crashed(1, "Error", ""), json!({"phase": "Running"}));
        deleted.terminating = true;
        let deleted = track(Some(&looping), deleted, t0 + 5, false);
        let r = &assess(&deleted, None, &|_| None, t0 + 5, false)[0];
        assert_eq!((r.crashlooping, r.backoff.active, r.backoff.next_restart, r.cause), (false, false, None, None));
        assert_eq!(
            deleted.containers[0].history().terminations.get(TerminationReason::Error),
            4,
            "nothing counted twice"
        );

        let debug: SlimPod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"containers": [{"name": "app"}], "ephemeralContainers": [{"name": "debugger-x7k2p"}]},
            "status": {"phase": "Running",
                "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"running": {"startedAt": "2026-11-24T09:00:00Z"}}}],
                "ephemeralContainerStatuses": [{"name": "debugger-x7k2p", "restartCount": 0, "state": {"terminated": {"exitCode": 127, "reason": "Error",
                    "startedAt": "2026-11-24T10:00:00Z", "finishedAt": "2026-11-24T10:00:05Z"}}}]}
        }))
        .expect("pod");
        let debug = track(None, debug, t0, false);
        let reports = assess(&debug, None, &|_| None, t0, false);
        let shell = reports.iter().find(|r| r.container.container_type == ContainerType::Ephemeral).expect("ephemeral");
        assert_eq!((shell.cause, shell.crashlooping, shell.detailed), (None, false, true));
        assert!(shell.container.history().terminations.is_empty());
    }

    /// After a node reboot the kubelet writes `ContainerStatusUnknown` without timestamps for
    /// a container it cannot find, and counts a restart: no crash, so one real crash after
    /// it is no crash loop.
    #[test]
    fn a_container_lost_in_a_reboot_is_no_fast_crash() {
        let t0 = FINISHED + 10;
        let running = |restarts: u32, since: &str, last: serde_json::Value| json!({"name": "c", "restartCount": restarts, "state": {"running": {"startedAt": since}}, "lastState": last});
        let p = track(None, pod("Always", running(0, "2026-11-21T10:00:00Z", json!({})), json!({})), t0, true);
        let lost = json!({"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was deleted.  The container used to be Running"}});
        let p = track(Some(&p), pod("Always", running(1, "2026-11-24T10:00:20Z", lost), json!({})), t0 + 20, false);
        assert_eq!(p.containers[0].history().fast_restarts, 0);
        let crash = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-24T10:00:20Z", "finishedAt": "2026-11-24T10:00:50Z"}});
        let p = track(Some(&p), pod("Always", running(2, "2026-11-24T10:01:00Z", crash), json!({})), t0 + 60, false);
        assert!(!crashlooping(&p.containers[0], t0 + 60), "one crash after the reboot is no loop");
    }

    /// A liveness kill is explained across the container's grace period, and once the
    /// kubelet's spam filter stops writing `Killing`, the later ends of the same run keep it.
    #[test]
    fn probe_kills_across_the_grace_period_and_the_spam_filter() {
        let t0 = FINISHED;
        let with_grace = |status: serde_json::Value, grace: i64| -> SlimPod {
            serde_json::from_value(json!({
                "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
                "spec": {"terminationGracePeriodSeconds": grace, "containers": [{"name": "c", "livenessProbe": {"exec": {"command": ["false"]}}}]},
                "status": {"phase": "Running", "containerStatuses": [status]}
            }))
            .expect("pod")
        };
        let end = |restarts: u32, started: Timestamp, finished: Timestamp| {
            let at =
                |t: Timestamp| k8s_openapi::jiff::Timestamp::from_second(t).map(|t| t.to_string()).unwrap_or_default();
            json!({"name": "c", "restartCount": restarts, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": at(started), "finishedAt": at(finished)}}})
        };
        // A database with 300 s of grace ignores SIGTERM: SIGKILL comes 300 s after Killing.
        let kill = probe_killed(Probe::Liveness, t0);
        let p = track(None, with_grace(end(1, t0 - 60, t0 + 300), 300), t0 + 301, false);
        assert_eq!(cause(&p, Some(&kill), ""), Cause::LivenessProbe);
        let short = track(None, with_grace(end(1, t0 - 60, t0 + 300), 30), t0 + 301, false);
        assert_eq!(cause(&short, Some(&kill), ""), Cause::Unknown, "a 30 s grace period explains no end 300 s later");

        // The spam filter: Killing is written for the first ends only; later ones look the same.
        let mut p = track(None, with_grace(end(1, t0 - 40, t0 + 1), 1), t0 + 2, false);
        let mut now = t0 + 2;
        for n in 2..9u32 {
            let started = now + 20;
            now = started + 41;
            p = track(Some(&p), with_grace(end(n, started, now), 1), now + 1, false);
        }
        assert_eq!(cause(&p, Some(&kill), ""), Cause::LivenessProbe, "the run that began as a probe kill");
        // An end that looks otherwise (exit 1 after 5 s) breaks the run.
        let other = json!({"name": "c", "restartCount": 9, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-24T11:00:00Z", "finishedAt": "2026-11-24T11:00:05Z"}}});
        let p = track(Some(&p), with_grace(other, 1), now + 100, false);
        assert_eq!(cause(&p, Some(&kill), ""), Cause::AppError);
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
        let b = backoff(&p1, &p1.containers[0]);
        assert_eq!((b.delay, b.next_restart), (Some((4.0, DelaySource::Kubelet)), Some(FINISHED as f64 + 4.0)));
        // A status without the message (an older or a patched status): the last delay given.
        let p2 = track(Some(&p1), pod("Always", status(4, "", "2026-11-24T10:00:38Z"), json!({})), t0 + 8, false);
        let b = backoff(&p2, &p2.containers[0]);
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
        assert_eq!(backoff(&p3, &p3.containers[0]).delay, Some((60.0, DelaySource::Kubelet)));
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
        let b = backoff(&p5, &p5.containers[0]);
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

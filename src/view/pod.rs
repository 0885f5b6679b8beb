//! The slim pod: the facts about a Pod the exporter keeps, as bounded values.
//!
//! Nothing here parses text or talks to the API: [`crate::decode`] builds these from the
//! Pod JSON, [`crate::history`] carries a container's history from one version to the
//! next. Free text never reaches these types; label values come from the closed sets of
//! `labels.rs`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

use super::labels::{
    ContainerType, Disruption, EvictionResource, Hint, LogHint, MemoryLimitScope, MissingObject, PullFailure,
    TerminationReason, WaitingReason,
};
use super::name::{Image, Name, intern};
use crate::clock::Timestamp;

/// The kubelet's back-off reset window: a container that ran this long is no longer looping.
pub const BACKOFF_RESET_SECONDS: i64 = 600;

/// The API's default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_SECONDS: u32 = 30;

/// What a pod's own status says of trouble that is not a container's: boxed in
/// [`SlimPod`], as most pods have none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodTrouble {
    /// The node or the control plane ended (or is ending) the pod.
    pub disruption: Option<Disruption>,
    /// For an eviction under node pressure, the resource.
    pub eviction_resource: Option<EvictionResource>,
    /// `PodScheduled=False/Unschedulable`: no node fits.
    pub unschedulable: bool,
    /// When the pod became unschedulable (the condition's `lastTransitionTime`).
    pub unschedulable_since: Option<Timestamp>,
    /// An object the scheduler's message names as missing (`persistentvolumeclaim "x" not found`).
    pub missing: Option<MissingObject>,
    /// Since when `PodReadyToStartContainers` (1.29+; `PodHasNetwork` in 1.25–1.28) is
    /// `False`: the pod's sandbox is not ready.
    pub sandbox_not_ready_since: Option<Timestamp>,
}

/// A container's `state.waiting`, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub reason: WaitingReason,
    /// The kubelet's current back-off, parsed from `back-off 2m40s restarting failed container=…`.
    pub backoff_seconds: Option<f64>,
    pub hint: Hint,
    pub missing: Option<Box<MissingObject>>,
    /// For an image problem, the category of the pull error the message carries (since
    /// 1.32 the back-off message carries it too: `Back-off pulling image "x": ErrImagePull: …`).
    pub pull_failure: Option<PullFailure>,
}

/// A container's `state.terminated` or `lastState.terminated`, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Termination {
    pub exit_code: i32,
    pub reason: TerminationReason,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// What the runtime's message says of an exec error.
    pub hint: Hint,
    /// What the app's own termination message says (its `terminationMessagePath`, or its
    /// log's tail with `FallbackToLogsOnError`), classified as a log is: evidence without
    /// `pods/log`. The text itself is never kept.
    pub message: Option<LogHint>,
}

impl Termination {
    /// The signal that ended the process: the kubelet leaves `signal` empty, so it is
    /// derived from the shell convention `128 + N`.
    pub fn signal(&self) -> Option<i32> {
        (self.exit_code > 128 && self.exit_code < 128 + 65).then(|| self.exit_code - 128)
    }

    /// Ended otherwise than by exiting 0 as `Completed`: a non-zero exit, an OOM kill, a
    /// start error, an unknown end.
    pub fn is_failure(&self) -> bool {
        self.exit_code != 0 || self.reason != TerminationReason::Completed
    }

    /// Ended by the signal a stop sends: `stop_signal` (the container's `lifecycle.stopSignal`,
    /// SIGTERM when unset), or SIGKILL once the grace period is over.
    pub fn is_stop(&self, stop_signal: Option<u8>) -> bool {
        self.signal().is_some_and(|s| s == 9 || s == i32::from(stop_signal.unwrap_or(15)))
    }

    /// How long the instance ran, where both ends are known. An instance that never
    /// started (a `StartError`) has the zero time as its start (`1970-01-01T00:00:00Z`,
    /// or Go's year 1): no run time.
    pub fn run_seconds(&self) -> Option<i64> {
        let started = self.started_at.filter(|s| *s > 0)?;
        let seconds = self.finished_at? - started;
        (seconds >= 0).then_some(seconds)
    }

    /// A failure of an instance that had run [`BACKOFF_RESET_SECONDS`] or longer: the
    /// kubelet restarts such a container at once, without back-off, so a container that
    /// fails every 15 to 60 minutes never crash-loops.
    pub fn is_long_run_failure(&self) -> bool {
        self.is_failure() && self.run_seconds().is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
    }
}

/// A container's current state.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum State {
    /// No status yet (pod not started, or status not reported).
    #[default]
    Unknown,
    Waiting(Waiting),
    Running {
        started_at: Option<Timestamp>,
    },
    Terminated(Termination),
}

impl State {
    pub fn label(&self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Waiting(_) => "waiting",
            State::Running { .. } => "running",
            State::Terminated(_) => "terminated",
        }
    }
    pub const LABELS: &'static [&'static str] = &["waiting", "running", "terminated", "unknown"];

    pub fn waiting(&self) -> Option<&Waiting> {
        match self {
            State::Waiting(w) => Some(w),
            _ => None,
        }
    }
}

/// What the exporter remembers of a container across watch events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// `restartCount` at the last observation.
    pub observed_restarts: u32,
    /// Restarts counted through `restartCount` increases (never the baseline).
    pub counted_restarts: u32,
    /// Counted ends that failed after the instance had run the back-off reset window or
    /// longer ([`Termination::is_long_run_failure`]): the slow loop no back-off shows.
    pub long_run_failures: u32,
    /// Consecutive restarts whose instance ran less than the back-off reset window.
    pub fast_restarts: u32,
    /// When the current crash loop began (first observation of it).
    pub loop_since: Option<Timestamp>,
    /// Terminations observed through restartCount deltas, and the failed last one of a
    /// container that has ended ([`PodLifecycle::has_ended`]), by reason.
    pub terminations: Terminations,
    /// The container has ended and its last termination was taken into `terminations`
    /// (or into the baseline): it is never counted twice.
    pub end_seen: bool,
    /// The last back-off delay the kubelet reported for the current crash loop (its
    /// waiting message), for when a later status carries none: the kubelet's curve is a
    /// node setting (10 s to 300 s by default, 1 s to 60 s with the reduced decay, a
    /// configured maximum), so the exporter never assumes one.
    pub last_backoff_seconds: Option<f64>,
    /// The latest terminations that look alike, the latest one last ([`Streak`]).
    pub streak: Option<Streak>,
}

/// A run of consecutive terminations that look alike: the same reason and exit code, and
/// about the same run length. A crash loop that began as a probe kill stays one while its
/// ends look the same, as the kubelet's event recorder stops writing `Killing` after the
/// first few kills (its spam filter: a burst of 25 Events per pod, then one per 5 minutes).
#[derive(Clone, Debug, PartialEq)]
pub struct Streak {
    pub reason: TerminationReason,
    pub exit_code: i32,
    /// The first end's run length, where known.
    pub run_seconds: Option<i64>,
    /// When the first end of the run finished (or was first seen).
    pub since: Timestamp,
    /// `finishedAt` of the latest end of the run.
    pub last_finished: Option<Timestamp>,
}

impl Streak {
    /// Whether `t` looks like the ends of this run: same reason and exit code, and a run
    /// length within a quarter (at least 5 s) of the first's, or unknown in both.
    pub fn matches(&self, t: &Termination) -> bool {
        let close = match (self.run_seconds, t.run_seconds()) {
            (Some(a), Some(b)) => (a - b).abs() <= (a.abs() / 4).max(5),
            (None, None) => true,
            _ => false,
        };
        self.reason == t.reason && self.exit_code == t.exit_code && close
    }

    /// Takes the end `t` into the run `streak`, or starts a new run with it; an end already
    /// taken (the same `finishedAt`) changes nothing.
    pub fn observe(streak: &mut Option<Streak>, t: &Termination, now: Timestamp) {
        if let Some(s) = streak.as_mut() {
            if t.finished_at.is_some() && s.last_finished == t.finished_at {
                return;
            }
            if s.matches(t) {
                s.last_finished = t.finished_at;
                return;
            }
        }
        *streak = Some(Streak {
            reason: t.reason,
            exit_code: t.exit_code,
            run_seconds: t.run_seconds(),
            since: t.finished_at.unwrap_or(now),
            last_finished: t.finished_at,
        });
    }
}

/// Terminations counted by reason, at their slots in [`TerminationReason::COUNTED`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terminations(pub [u32; TerminationReason::COUNTED.len()]);

impl Terminations {
    pub fn add(&mut self, reason: TerminationReason, n: u64) {
        let slot = &mut self.0[reason.counted_slot()];
        *slot = slot.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }
    pub fn get(&self, reason: TerminationReason) -> u64 {
        u64::from(self.0[reason.counted_slot()])
    }
    /// Nothing counted yet.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

/// One container: its spec facts and status, merged.
#[derive(Clone, Debug, PartialEq)]
pub struct SlimContainer {
    pub name: Name,
    pub container_type: ContainerType,
    /// The spec's `image`, interned: a rollout that fails is told by the image it changed.
    pub image: Option<Arc<Image>>,
    pub memory_limit_bytes: Option<u64>,
    pub has_liveness_probe: bool,
    pub has_readiness_probe: bool,
    pub has_startup_probe: bool,
    pub restart_count: u32,
    pub state: State,
    /// What most containers never have: boxed, so a healthy container does not pay for it
    /// (see BENCHMARKS.md).
    rare: Option<Box<Rare>>,
}

/// The last termination, the history, and the spec fields few containers set.
#[derive(Clone, Debug, Default, PartialEq)]
struct Rare {
    last_termination: Option<Termination>,
    history: History,
    restart: RestartSpec,
    /// `memory_limit_bytes` is the pod-level limit (the container has none of its own).
    memory_limit_of_pod: bool,
}

/// A container's own restart settings (KEP-5307, and 1.33's stop signal).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestartSpec {
    /// Its own `restartPolicy` (for an init container, `Always` makes it a sidecar
    /// instead), which overrides the pod's.
    pub policy: Option<RestartPolicy>,
    /// `restartPolicyRules`: exit codes on which it restarts whatever its policy.
    pub rules: Vec<ExitCodeRule>,
    /// `lifecycle.stopSignal`, as a Linux signal number.
    pub stop_signal: Option<u8>,
    /// The liveness and the startup probe's own `terminationGracePeriodSeconds` (1.25+),
    /// which a kill by that probe waits for instead of the pod's.
    pub probe_grace_seconds: [Option<u32>; 2],
}

static NO_HISTORY: History = History {
    observed_restarts: 0,
    counted_restarts: 0,
    long_run_failures: 0,
    fast_restarts: 0,
    loop_since: None,
    terminations: Terminations([0; TerminationReason::COUNTED.len()]),
    end_seen: false,
    last_backoff_seconds: None,
    streak: None,
};

impl SlimContainer {
    /// A container of this name and type with nothing known of its status yet.
    pub fn new(name: &str, container_type: ContainerType) -> Self {
        SlimContainer {
            name: intern(name),
            container_type,
            image: None,
            memory_limit_bytes: None,
            has_liveness_probe: false,
            has_readiness_probe: false,
            has_startup_probe: false,
            restart_count: 0,
            state: State::Unknown,
            rare: None,
        }
    }

    /// `lastState.terminated`: the termination before the current instance.
    pub fn last_termination(&self) -> Option<&Termination> {
        self.rare.as_ref()?.last_termination.as_ref()
    }

    /// The most recent termination: `state.terminated` while the container is terminated
    /// (between an exit and the back-off, or for good once it has ended), else
    /// `lastState.terminated`. The `last_terminated_*` series and the causes read this one.
    pub fn latest_termination(&self) -> Option<&Termination> {
        match &self.state {
            State::Terminated(t) => Some(t),
            _ => self.last_termination(),
        }
    }

    /// What the tracker carried over from earlier versions of the pod.
    pub fn history(&self) -> &History {
        self.rare.as_ref().map_or(&NO_HISTORY, |p| &p.history)
    }

    /// Its own restart settings; the default (none) for most containers.
    pub fn restart_spec(&self) -> &RestartSpec {
        static NONE: RestartSpec =
            RestartSpec { policy: None, rules: Vec::new(), stop_signal: None, probe_grace_seconds: [None; 2] };
        self.rare.as_ref().map_or(&NONE, |p| &p.restart)
    }

    /// The limit the container runs under ([`Self::memory_limit_bytes`]'s scope).
    pub fn memory_limit_scope(&self) -> MemoryLimitScope {
        match (self.memory_limit_bytes, self.rare.as_ref().is_some_and(|r| r.memory_limit_of_pod)) {
            (None, _) => MemoryLimitScope::Unlimited,
            (Some(_), true) => MemoryLimitScope::Pod,
            (Some(_), false) => MemoryLimitScope::Container,
        }
    }

    /// Sets the pod-level limit, for a container without one of its own.
    pub fn set_pod_memory_limit(&mut self, limit: u64) {
        self.memory_limit_bytes = Some(limit);
        self.update_rare(|p| p.memory_limit_of_pod = true);
    }

    pub fn set_restart_spec(&mut self, restart: RestartSpec) {
        self.update_rare(|p| p.restart = restart);
    }

    pub fn set_last_termination(&mut self, last: Option<Termination>) {
        self.update_rare(|p| p.last_termination = last);
    }

    pub fn set_history(&mut self, history: History) {
        self.update_rare(|p| p.history = history);
    }

    fn update_rare(&mut self, f: impl FnOnce(&mut Rare)) {
        let rare = self.rare.get_or_insert_with(Box::default);
        f(rare);
        if **rare == Rare::default() {
            self.rare = None;
        }
    }
}

/// One of a container's `restartPolicyRules`: restart when the exit code is `In` (or
/// `NotIn`) the values. Both actions the API has run the container again: `Restart`, and
/// `RestartAllContainers` (KEP-5532, 1.35 alpha), which restarts every container of the
/// pod in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitCodeRule {
    pub not_in: bool,
    pub values: Box<[i32]>,
}

impl ExitCodeRule {
    pub fn matches(&self, exit_code: i32) -> bool {
        self.values.contains(&exit_code) != self.not_in
    }
}

/// A restart policy: a pod's `spec.restartPolicy`, or what the kubelet applies to one of
/// its containers ([`PodLifecycle::restart_policy_of`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    /// `spec.restartPolicy`; absent or unknown is the API's default, `Always`.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("OnFailure") => Self::OnFailure,
            Some("Never") => Self::Never,
            _ => Self::Always,
        }
    }
}

/// A Pod's `status.phase`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Unknown,
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// The owning workload, derived from owner references without another watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub kind: Name,
    pub name: Name,
}

/// The slim projection of a Pod that the reflector caches.
///
/// `metadata` keeps only name and namespace, and resourceVersion until the watch has read
/// it ([`SlimPod::settle`]); `labels`, `annotations` and `managedFields` are never decoded.
///
/// It is decoded from the Pod JSON by [`crate::decode`] (its `Deserialize` impl lives there).
#[derive(Resource, Clone, Debug)]
#[resource(inherit = "Pod")]
pub struct SlimPod {
    pub metadata: ObjectMeta,
    /// Kept outside `metadata`, so the store's keys don't copy it.
    pub uid: Box<str>,
    pub workload: Workload,
    /// `metadata.creationTimestamp` in seconds since the epoch (0 when unknown, or before
    /// 1970 or after 2106): when a template's first pod appeared. A `u32` fits in the
    /// padding beside the other small fields, where a `Timestamp` costs 8 bytes a pod.
    pub created: u32,
    pub phase: Phase,
    /// What the pod's own status says of trouble: a disruption, or why it is not scheduled.
    pub trouble: Option<Box<PodTrouble>>,
    /// `spec.restartPolicy`.
    pub restart_policy: RestartPolicy,
    /// `spec.terminationGracePeriodSeconds` ([`DEFAULT_GRACE_SECONDS`] when unset).
    pub grace_seconds: u32,
    /// `metadata.deletionTimestamp` is set: the kubelet is stopping the pod.
    pub terminating: bool,
    /// The `Ready` condition is `True`: the pod serves.
    pub ready: bool,
    /// What only the prerendered lines show (the template and the `--pod-labels`): the
    /// ingest drops it once the lines are made, so a cached pod pays 8 bytes for it.
    pub shown: Option<Box<Shown>>,
    pub containers: Vec<SlimContainer>,
    /// True once the tracker has carried history into this object.
    pub tracked: bool,
    /// The lines every pod has, pre-rendered at ingest by the exposition's builder.
    pub lines: Option<PodLines>,
}

/// The labels of a pod that its workload line shows and no rule reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shown {
    /// The template the pod was made from: its `pod-template-hash` (a Deployment's),
    /// `controller-revision-hash` (a StatefulSet's or DaemonSet's) or
    /// `rollouts-pod-template-hash` (an Argo Rollout's) label.
    pub template: Option<Name>,
    /// The pod labels of `--pod-labels`, as `(label_<name>, value)`, in the allowlist's
    /// order (empty without the flag).
    pub labels: Box<[(Name, Name)]>,
}

impl SlimPod {
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Drops what only the watch needed (the resourceVersion, which the store's key
    /// would otherwise copy) once the watch has read it.
    pub fn settle(mut self) -> Self {
        self.metadata.resource_version = None;
        self
    }
    pub fn container(&self, name: &str) -> Option<&SlimContainer> {
        self.containers.iter().find(|c| *c.name == *name)
    }

    /// The node or the control plane ended (or is ending) the pod: see [`Disruption`].
    pub fn disruption(&self) -> Option<Disruption> {
        self.trouble.as_ref().and_then(|t| t.disruption)
    }

    /// `PodScheduled=False/Unschedulable`, and not disrupted.
    pub fn unschedulable(&self) -> bool {
        self.trouble.as_ref().is_some_and(|t| t.unschedulable && t.disruption.is_none())
    }

    /// The pod-level facts the lifecycle rules read.
    pub fn lifecycle(&self) -> PodLifecycle {
        PodLifecycle {
            phase: self.phase,
            restart_policy: self.restart_policy,
            terminating: self.terminating,
            disrupted: self.disruption().is_some(),
        }
    }

    /// See [`PodLifecycle::restart_policy_of`].
    pub fn restart_policy_of(&self, c: &SlimContainer) -> RestartPolicy {
        self.lifecycle().restart_policy_of(c)
    }

    /// See [`PodLifecycle::has_ended`].
    pub fn has_ended(&self, c: &SlimContainer) -> bool {
        self.lifecycle().has_ended(c)
    }

    /// See [`PodLifecycle::failed`].
    pub fn failed(&self, c: &SlimContainer, t: &Termination) -> bool {
        self.lifecycle().failed(c, t)
    }
}

/// What of a pod decides whether its containers run again, and whether an end was a
/// failure: the one place these rules live. The tracker, the verdict, the log fetcher and
/// the commands all read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodLifecycle {
    pub phase: Phase,
    /// The pod's `spec.restartPolicy`.
    pub restart_policy: RestartPolicy,
    /// Being deleted: the kubelet is stopping its containers.
    pub terminating: bool,
    /// The node or the control plane ended (or is ending) the pod ([`Disruption`]).
    pub disrupted: bool,
}

impl PodLifecycle {
    /// The restart policy the kubelet applies to `c`: a sidecar always restarts; a
    /// container's own `restartPolicy` (KEP-5307) overrides the pod's; an init container
    /// without one runs again only after a failure, and not in a `Never` pod; an ephemeral
    /// container never runs again; a regular container follows the pod.
    pub fn restart_policy_of(&self, c: &SlimContainer) -> RestartPolicy {
        match (c.container_type, c.restart_spec().policy) {
            (ContainerType::Sidecar, _) => RestartPolicy::Always,
            (ContainerType::Ephemeral, _) => RestartPolicy::Never,
            (_, Some(own)) => own,
            (ContainerType::Init, None) if self.restart_policy == RestartPolicy::Never => RestartPolicy::Never,
            (ContainerType::Init, None) => RestartPolicy::OnFailure,
            (ContainerType::Regular, None) => self.restart_policy,
        }
    }

    /// Whether the kubelet starts `c` again after it ended with `exit_code`: a matching
    /// `restartPolicyRules` entry restarts it whatever its policy, so even a container of
    /// a `Never` pod can crash-loop; else its policy decides.
    pub fn restarts_after(&self, c: &SlimContainer, exit_code: i32) -> bool {
        // The kubelet's `ShouldContainerBeRestarted`: nothing of a pod marked deleted runs
        // again, even while no kubelet confirms the deletion (an unreachable node).
        if self.terminating {
            return false;
        }
        if c.restart_spec().rules.iter().any(|r| r.matches(exit_code)) {
            return true;
        }
        match self.restart_policy_of(c) {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        }
    }

    /// The one rule for "this container will not run again": it is terminated, and either
    /// the pod is `Succeeded` or `Failed` (the kubelet starts nothing in a finished pod) or
    /// the kubelet will not restart it after this exit ([`Self::restarts_after`]); or it
    /// waits for a restart that will never come, in a finished pod or one marked deleted.
    /// An ended container is never crash-looping, its failed last termination is counted
    /// once, and it has a cause only when it failed.
    pub fn has_ended(&self, c: &SlimContainer) -> bool {
        let done = matches!(self.phase, Phase::Succeeded | Phase::Failed);
        match &c.state {
            State::Terminated(t) => done || !self.restarts_after(c, t.exit_code),
            State::Waiting(_) => (done || self.terminating) && c.last_termination().is_some(),
            _ => false,
        }
    }

    /// Whether the end `t` of `c` was a failure: [`Termination::is_failure`], except for
    /// what a stop gives. A pod being deleted has its containers stopped (by their stop
    /// signal, SIGKILL after the grace period, or an app that exits 1 on SIGTERM), and a
    /// disrupted pod's by the node or the control plane: no crash. The kubelet stops a
    /// sidecar once its pod's regular containers are done, and any exit of it then is
    /// normal. An ephemeral container (`kubectl debug`) exits with whatever its shell last
    /// ran.
    pub fn failed(&self, c: &SlimContainer, t: &Termination) -> bool {
        if !t.is_failure() || self.terminating || self.disrupted || c.container_type == ContainerType::Ephemeral {
            return false;
        }
        !(c.container_type == ContainerType::Sidecar && matches!(self.phase, Phase::Succeeded | Phase::Failed))
    }
}

/// The lines every pod has (its restart counters and its workload), pre-rendered when the
/// pod is ingested, as kube-state-metrics does: plain bytes here; the exposition
/// (`exposition::lines`) builds and reads them, and the store calls its builder through
/// a function it is given ([`crate::store::Prerender`]), so this layer knows nothing of
/// the text format.
#[derive(Clone, Debug, PartialEq)]
pub struct PodLines {
    /// The encoded lines (the layout is the exposition's).
    pub text: Box<[u8]>,
    /// The pod has no other series unless Events add some (`verdict::is_quiet`).
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `StartError` as the kubelet writes it: `startedAt` is the zero time. It ran for no
    /// time that can be told, and is no long-run failure (the slow-loop counter and alert
    /// would count every failed start as one).
    #[test]
    fn an_instance_that_never_started_has_no_run_time() {
        let end = |started_at: Option<Timestamp>| Termination {
            exit_code: 128,
            reason: TerminationReason::StartError,
            started_at,
            finished_at: Some(1_796_624_512),
            hint: Hint::None,
            message: None,
        };
        assert_eq!(end(Some(0)).run_seconds(), None);
        assert!(!end(Some(0)).is_long_run_failure());
        assert_eq!(end(Some(-62_135_596_800)).run_seconds(), None, "Go's zero time");
        assert_eq!(end(Some(1_796_624_600)).run_seconds(), None, "a start after the finish");
        assert_eq!(end(Some(1_796_624_500)).run_seconds(), Some(12));
        assert!(end(Some(1_796_624_512 - 600)).is_long_run_failure());
    }

    /// A container with nothing to remember keeps no box, and reads as the default.
    #[test]
    fn an_empty_past_is_not_boxed() {
        assert_eq!(NO_HISTORY, History::default());
        let mut c = SlimContainer::new("app", ContainerType::Regular);
        c.set_history(History { observed_restarts: 2, ..Default::default() });
        assert!(c.rare.is_some() && c.history().observed_restarts == 2);
        c.set_history(History::default());
        assert!(c.rare.is_none() && c.last_termination().is_none());
    }
}

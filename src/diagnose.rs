//! From a slim pod view to a verdict for each container: the pure core of the exporter.
//!
//! Nothing here does I/O or reads a clock: `now` is passed in, so every rule is
//! unit-tested on fixtures.

use crate::model::{
    running_for, ContainerType, SlimContainer, SlimPod, State, Timestamp, WaitingReason, BACKOFF_RESET_SECONDS,
    INITIAL_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS,
};

/// The crash-loop back-off of one container.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Waiting in `CrashLoopBackOff`.
    pub active: bool,
    /// The current delay; 0 when not in back-off.
    pub delay_seconds: f64,
    /// The delay is an estimate from the restart history, not the kubelet's message.
    pub estimated: bool,
    /// `lastState.terminated.finishedAt + delay`, when in back-off.
    pub next_restart: Option<f64>,
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
}

/// The kubelet's delay after `fast_restarts` consecutive fast restarts: the first
/// crash restarts at once, then 10 s doubling up to 300 s.
pub fn estimated_backoff(fast_restarts: u32) -> f64 {
    let doublings = fast_restarts.saturating_sub(1).min(16);
    (INITIAL_BACKOFF_SECONDS * f64::from(1u32 << doublings)).min(MAX_BACKOFF_SECONDS)
}

/// The back-off state of a container.
pub fn backoff(c: &SlimContainer) -> Backoff {
    let Some(w) = c.state.waiting().filter(|w| w.reason == WaitingReason::CrashLoopBackOff) else {
        return Backoff { active: false, delay_seconds: 0.0, estimated: false, next_restart: None };
    };
    let (delay, estimated) = match w.backoff_seconds {
        Some(d) => (d, false),
        None => (estimated_backoff(c.history.fast_restarts.max(c.restart_count.min(1))), true),
    };
    let next_restart = c.last_termination.as_ref().and_then(|t| t.finished_at).map(|f| f as f64 + delay);
    Backoff { active: true, delay_seconds: delay, estimated, next_restart }
}

/// Containers that have never restarted and are running get only the restart counter,
/// unless `healthy_details` asks for everything.
pub fn needs_detail(c: &SlimContainer, healthy_details: bool) -> bool {
    healthy_details
        || c.restart_count > 0
        || c.history.loop_since.is_some()
        || !matches!(c.state, State::Running { .. })
            && !(c.container_type == ContainerType::Init && is_completed(&c.state))
}

fn is_completed(state: &State) -> bool {
    matches!(state, State::Terminated(t) if t.exit_code == 0)
}

/// Crash-looping with hysteresis: set from the first observed loop, cleared once the
/// container has run for the kubelet's reset window (10 minutes) without a restart.
pub fn crashlooping(c: &SlimContainer, now: Timestamp) -> bool {
    c.history.loop_since.is_some() && !running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
}

/// The report for each container of a pod.
pub fn assess(pod: &SlimPod, now: Timestamp, healthy_details: bool) -> Vec<ContainerReport<'_>> {
    pod.containers
        .iter()
        .map(|c| ContainerReport {
            container: c,
            detailed: needs_detail(c, healthy_details),
            backoff: backoff(c),
            crashlooping: crashlooping(c, now),
        })
        .collect()
}

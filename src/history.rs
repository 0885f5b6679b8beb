//! The history tracker: what the exporter remembers of a container across versions of
//! its pod, carried from the old version to the new one at ingest. Pure: `now` is passed
//! in.
//!
//! A restartCount increase is counted once, by the reason of the termination it ended;
//! the restarts before the exporter's first list are a baseline, never counted. A crash
//! loop starts at the first observed back-off (or two fast restarts) and ends once the
//! container has run for the kubelet's reset window. A container that has ended
//! ([`SlimPod::has_ended`]) is never looping, and its failed end is counted once.

use std::collections::HashMap;

use crate::view::{
    BACKOFF_RESET_SECONDS, History, Name, PodLifecycle, SlimContainer, SlimPod, State, Streak, Termination,
    TerminationReason, Timestamp, WaitingReason,
};

/// Carries history from the previous version of a pod into a new one, counting the
/// restarts in between. `baseline` is true while the exporter's first list is read:
/// restarts that happened before start are then taken as the baseline, not counted.
pub fn track(previous: Option<&SlimPod>, mut pod: SlimPod, now: Timestamp, baseline: bool) -> SlimPod {
    let previous = previous.filter(|p| p.uid() == pod.uid() && p.tracked);
    let life = pod.lifecycle();
    for c in &mut pod.containers {
        let prev = previous
            .and_then(|p| p.containers.iter().find(|pc| pc.name == c.name && pc.container_type == c.container_type));
        let history = match prev {
            Some(prev) => advance(prev.history(), c, now, life, false),
            None => first_history(c, now, life, baseline),
        };
        c.set_history(history);
    }
    pod.tracked = true;
    pod
}

fn ran_long(t: Option<&Termination>) -> bool {
    t.and_then(Termination::run_seconds).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
}

/// An end that was no crash: `ContainerStatusUnknown` without timestamps (the kubelet
/// could not find the container after a node reboot, or when the runtime lost it, and
/// wrote this end in its place), or `RestartingAllContainers` (KEP-5532: another
/// container's rule restarted every container of the pod in place).
fn lost(t: Option<&Termination>) -> bool {
    t.is_some_and(|t| {
        (t.reason == TerminationReason::ContainerStatusUnknown && t.finished_at.is_none())
            || t.reason == TerminationReason::RestartingAllContainers
    })
}

fn in_crashloop_backoff(c: &SlimContainer) -> bool {
    c.state.waiting().is_some_and(|w| w.reason == WaitingReason::CrashLoopBackOff)
}

fn first_history(c: &SlimContainer, now: Timestamp, life: PodLifecycle, baseline: bool) -> History {
    let mut h = History { observed_restarts: if baseline { c.restart_count } else { 0 }, ..Default::default() };
    // Without history, assume the restarts so far were a fast streak unless the last one ran
    // long, or was no crash at all.
    h.fast_restarts = if lost(c.last_termination()) {
        0
    } else if ran_long(c.last_termination()) {
        1.min(c.restart_count)
    } else {
        c.restart_count
    };
    advance(&h, c, now, life, baseline)
}

/// `baseline` is true when an end seen now happened before the exporter started (its
/// first list), so it is not counted.
fn advance(prev: &History, c: &SlimContainer, now: Timestamp, life: PodLifecycle, baseline: bool) -> History {
    let mut h = prev.clone();
    let ended = life.has_ended(c);
    let restarts = c.restart_count;
    if restarts < prev.observed_restarts {
        // restartCount is best effort and may be reset (node restart): take a new baseline.
        h.observed_restarts = restarts;
    } else if restarts > prev.observed_restarts {
        let delta = restarts - prev.observed_restarts;
        let reason = c.last_termination().map_or(TerminationReason::Other, |t| t.reason);
        h.terminations.add(reason, u64::from(delta));
        h.counted_restarts = h.counted_restarts.saturating_add(delta);
        // Only the last of the ends is known; a slow loop's ends come one at a time.
        if c.last_termination().is_some_and(Termination::is_long_run_failure) {
            h.long_run_failures = h.long_run_failures.saturating_add(1);
        }
        h.observed_restarts = restarts;
        let restarted_all = c.state.waiting().is_some_and(|w| w.reason == WaitingReason::RestartingAllContainers);
        h.fast_restarts = if lost(c.last_termination()) || restarted_all {
            // The runtime lost the container (a node reboot): no crash, fast or slow.
            0
        } else if ran_long(c.last_termination()) {
            1
        } else {
            prev.fast_restarts.saturating_add(delta)
        };
    }
    if let Some(t) = c.latest_termination() {
        Streak::observe(&mut h.streak, t, now);
    }
    if ended {
        // It will not run again: no crash loop, and its last termination counts once.
        h.loop_since = None;
        h.fast_restarts = 0;
        h.last_backoff_seconds = None;
        if !h.end_seen {
            if let State::Terminated(t) = &c.state
                && life.failed(c, t)
                && !baseline
            {
                h.terminations.add(t.reason, 1);
                if t.is_long_run_failure() {
                    h.long_run_failures = h.long_run_failures.saturating_add(1);
                }
            }
            h.end_seen = true;
        }
        return h;
    }
    // It runs again (a `RestartAllContainers` rule restarted it after it had ended): its
    // next end is a new one.
    if !matches!(c.state, State::Terminated(_)) {
        h.end_seen = false;
    }
    let recovered = running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
        || (restarts > prev.observed_restarts && ran_long(c.last_termination()));
    if recovered {
        // The kubelet's back-off restarts from its initial delay.
        h.loop_since = None;
        h.last_backoff_seconds = None;
        if running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS) {
            h.fast_restarts = 0;
        }
    }
    if let Some(delay) =
        c.state.waiting().filter(|w| w.reason == WaitingReason::CrashLoopBackOff).and_then(|w| w.backoff_seconds)
    {
        h.last_backoff_seconds = Some(delay);
    }
    if h.loop_since.is_none() && (in_crashloop_backoff(c) || h.fast_restarts >= 2) && !recovered_now(c, now) {
        h.loop_since = Some(now);
    }
    h
}

/// Seconds the current instance has been running.
pub(crate) fn running_for(c: &SlimContainer, now: Timestamp) -> Option<i64> {
    match c.state {
        State::Running { started_at: Some(t) } => Some(now - t),
        _ => None,
    }
}

fn recovered_now(c: &SlimContainer, now: Timestamp) -> bool {
    running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
}

/// How long a workload's counts outlive its last pod: as long as the longest window the
/// alerts count restarts in (`restartsSlowWindow`), so a slow loop across pod replacements
/// keeps its series; then a deleted workload (a bare pod, a finished Job) is forgotten.
pub(crate) const WORKLOAD_HISTORY_IDLE_SECONDS: i64 = 6 * 3600;

/// A workload: namespace, kind and name.
pub(crate) type WorkloadId = (Box<str>, Name, Name);

/// The restarts and terminations of a workload's containers this process has counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadCounts {
    pub restarts: u64,
    /// Ends that failed after a run of 10 minutes or more ([`Termination::is_long_run_failure`]).
    pub long_run_failures: u64,
    pub terminations: [u64; TerminationReason::COUNTED.len()],
    /// The last time the workload had a pod in the cache.
    pub last_seen: Timestamp,
}

/// The counts of every workload that restarted or ended a container since the process
/// started, kept when its pods are deleted or replaced: `crashloop_workload_restarts_total`
/// and `crashloop_workload_terminations_total`. Bounded by the workloads that have pods,
/// and those that had one in the last [`WORKLOAD_HISTORY_IDLE_SECONDS`].
#[derive(Clone, Debug, Default)]
pub struct WorkloadHistory {
    counts: HashMap<WorkloadId, WorkloadCounts>,
}

impl WorkloadHistory {
    /// What `pod` counted since `previous` (the version [`track`] carried history from;
    /// both already tracked), if anything: restarts, failures after long runs and
    /// terminations by reason. Pure, so the ingest takes the lock only to add.
    pub fn added(previous: Option<&SlimPod>, pod: &SlimPod) -> Option<WorkloadCounts> {
        let previous = previous.filter(|p| p.uid() == pod.uid() && p.tracked);
        let zero = History::default();
        let mut added = WorkloadCounts::default();
        for c in &pod.containers {
            let before = previous
                .and_then(|p| p.containers.iter().find(|pc| pc.name == c.name && pc.container_type == c.container_type))
                .map_or(&zero, SlimContainer::history);
            let h = c.history();
            added.restarts += u64::from(h.counted_restarts.saturating_sub(before.counted_restarts));
            added.long_run_failures += u64::from(h.long_run_failures.saturating_sub(before.long_run_failures));
            for (n, (now_n, before_n)) in
                added.terminations.iter_mut().zip(h.terminations.0.iter().zip(before.terminations.0))
            {
                *n += u64::from(now_n.saturating_sub(before_n));
            }
        }
        (added != WorkloadCounts::default()).then_some(added)
    }

    /// Adds to `pod`'s workload what [`WorkloadHistory::added`] found.
    pub fn add(&mut self, pod: &SlimPod, added: WorkloadCounts, now: Timestamp) {
        let id = (pod.namespace().into(), pod.workload.kind.clone(), pod.workload.name.clone());
        let counts = self.counts.entry(id).or_default();
        counts.restarts += added.restarts;
        counts.long_run_failures += added.long_run_failures;
        for (total, n) in counts.terminations.iter_mut().zip(added.terminations) {
            *total += n;
        }
        counts.last_seen = now;
    }

    /// Marks the workloads that have a pod now as seen, and forgets those that have had
    /// none for [`WORKLOAD_HISTORY_IDLE_SECONDS`].
    pub fn forget_idle(&mut self, now: Timestamp, has_pods: impl Fn(&WorkloadId) -> bool) {
        self.counts.retain(|id, counts| {
            if has_pods(id) {
                counts.last_seen = now;
            }
            now - counts.last_seen < WORKLOAD_HISTORY_IDLE_SECONDS
        });
    }

    pub fn iter(&self) -> impl Iterator<Item = (&WorkloadId, &WorkloadCounts)> {
        self.counts.iter()
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{fixture, ts};

    fn with_status(mut pod: SlimPod, f: impl FnOnce(&mut SlimContainer)) -> SlimPod {
        f(&mut pod.containers[0]);
        pod
    }

    #[test]
    fn history_baselines_then_counts_deltas() {
        let t0 = ts("2026-11-24T09:21:00Z");
        let first = track(None, fixture("deployment-oom-crashloop"), t0, true);
        let app = first.container("app").expect("app");
        assert_eq!(
            (app.history().observed_restarts, app.history().terminations.get(TerminationReason::OomKilled)),
            (5, 0)
        );
        assert_eq!(app.history().loop_since, Some(t0));
        assert_eq!(app.history().fast_restarts, 5);

        // One more restart, then a jump of three: all attributed to the last reason seen.
        let next = with_status(fixture("deployment-oom-crashloop"), |c| c.restart_count = 6);
        let second = track(Some(&first), next, t0 + 60, false);
        let next = with_status(fixture("deployment-oom-crashloop"), |c| {
            c.restart_count = 9;
            let last = c.last_termination().map(|t| Termination { reason: TerminationReason::Error, ..t.clone() });
            c.set_last_termination(last);
        });
        let third = track(Some(&second), next, t0 + 120, false);
        let h = &third.container("app").expect("app").history();
        assert_eq!(h.terminations.0, [1, 3, 0, 0, 0]);
        assert_eq!((h.observed_restarts, h.loop_since), (9, Some(t0)));

        // A pod first seen after start counts its restarts from zero.
        let fresh = track(None, fixture("oom-exit-1"), t0, false);
        assert_eq!(fresh.containers[0].history().terminations.get(TerminationReason::OomKilled), 2);

        // restartCount reset (node restart): new baseline, nothing counted, nothing lost.
        let reset = track(
            Some(&third),
            with_status(fixture("deployment-oom-crashloop"), |c| c.restart_count = 1),
            t0 + 180,
            false,
        );
        let h = &reset.container("app").expect("app").history();
        assert_eq!((h.observed_restarts, h.terminations.0), (1, [1, 3, 0, 0, 0]));

        // A new pod with the same name (new uid) starts a new history.
        let mut other = fixture("deployment-oom-crashloop");
        other.uid = "another".into();
        let replaced = track(Some(&third), other, t0 + 240, false);
        assert_eq!(replaced.container("app").expect("app").history().terminations.0, [5, 0, 0, 0, 0]);
    }
}

//! The one-shot pipeline of `scan` and `diagnose`: pods and Events listed once, decoded,
//! counted and tracked as the server's watches do, then [`assess`]ed (the one verdict),
//! with the same evidence the server reads: the pods' status (the termination message
//! included), their Events and, where read, the previous log of each container whose
//! latest termination failed ([`worth_reading`], the server's `--logs` rule).
//!
//! Pure: the API calls are the commands'; the tests feed it the real node's fixtures.

use std::collections::HashMap;

use crate::event_counts::{EventCounts, PodEvents};
use crate::history::track;
use crate::log_fetch::worth_reading;
use crate::rollout::{RolloutFailure, TemplatePod, fails, rollout_failure};
use crate::verdict::{ContainerReport, assess};
use crate::view::{LogHint, SlimContainer, SlimEvent, SlimPod, Timestamp};

/// A container by namespace, pod and name.
pub(super) type ContainerKey = (String, String, String);

/// The key of a container of `pod`.
pub(super) fn container_key(pod: &SlimPod, c: &SlimContainer) -> ContainerKey {
    (pod.namespace().to_string(), pod.name().to_string(), c.name.to_string())
}

/// What reading a container's previous log gave.
#[derive(Clone, Debug)]
pub(super) struct ReadLog {
    /// `ok`, `not_found`, `forbidden` or `error`: the result label of
    /// `crashloop_exporter_log_fetches_total`.
    pub(super) result: &'static str,
    /// The log's text, or why it could not be read.
    pub(super) text: String,
    /// What [`crate::parse::classify_log`] found in the text.
    pub(super) hint: Option<LogHint>,
}

/// The logs read, by container; an empty map when none was read.
pub(super) type Logs = HashMap<ContainerKey, ReadLog>;

/// The pods decoded and tracked, and their Events counted.
pub(super) struct Snapshot {
    pods: Vec<SlimPod>,
    counts: EventCounts,
}

impl Snapshot {
    /// A snapshot of `pods` (as listed) and `events`: the restarts before it are the
    /// baseline, every Event counts. Pods sort by namespace and name.
    pub(super) fn of(pods: Vec<SlimPod>, events: &[SlimEvent], now: Timestamp) -> Self {
        let by_name: HashMap<(String, String), String> =
            pods.iter().map(|p| ((p.namespace().to_string(), p.name().to_string()), p.uid().to_string())).collect();
        let mut counts = EventCounts::new();
        counts.baseline = false;
        for e in events {
            counts.apply(e, |ns, name| by_name.get(&(ns.to_string(), name.to_string())).cloned());
        }
        let mut pods: Vec<SlimPod> = pods.into_iter().map(|p| track(None, p, now, true)).collect();
        pods.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        Snapshot { pods, counts }
    }

    pub(super) fn pods(&self) -> &[SlimPod] {
        &self.pods
    }

    /// The Events counted for `pod`.
    pub(super) fn events(&self, pod: &SlimPod) -> Option<&PodEvents> {
        self.counts.pod(pod.namespace(), pod.name())
    }

    /// The verdict on each container of `pod`, given the logs read: a log counts only where
    /// the server would read it ([`worth_reading`]).
    pub(super) fn assess<'a>(
        &'a self,
        pod: &'a SlimPod,
        logs: &Logs,
        now: Timestamp,
        healthy_details: bool,
    ) -> Vec<ContainerReport<'a>> {
        let hints = |c: &SlimContainer| {
            if !worth_reading(pod, c) {
                return None;
            }
            logs.get(&container_key(pod, c)).and_then(|l| l.hint)
        };
        assess(pod, self.events(pod), &hints, now, healthy_details)
    }

    /// The troubled containers whose log the server would read: what `scan --logs` reads.
    pub(super) fn logs_to_read(&self, now: Timestamp) -> Vec<(&SlimPod, &SlimContainer)> {
        self.pods
            .iter()
            .flat_map(|pod| {
                self.assess(pod, &Logs::new(), now, false)
                    .into_iter()
                    .filter(|r| r.cause.is_some() && worth_reading(pod, r.container))
                    .map(move |r| (pod, r.container))
            })
            .collect()
    }

    /// The rollouts to blame ([`rollout_failure`]), one per workload at most, by namespace
    /// and workload.
    pub(super) fn rollouts(&self, now: Timestamp) -> Vec<RolloutFailure> {
        let mut pods: Vec<TemplatePod> = self
            .pods
            .iter()
            .map(|pod| TemplatePod {
                pod,
                template: pod.shown.as_ref().and_then(|s| s.template.as_deref()).unwrap_or(""),
                failing: self.assess(pod, &Logs::new(), now, false).iter().any(|r| fails(pod, r)),
            })
            .collect();
        fn key<'p>(p: &TemplatePod<'p>) -> (&'p str, &'p str, &'p str) {
            (p.pod.namespace(), &p.pod.workload.kind, &p.pod.workload.name)
        }
        pods.sort_by(|a, b| key(a).cmp(&key(b)));
        pods.chunk_by(|a, b| key(a) == key(b)).filter_map(rollout_failure).collect()
    }
}

//! Kubelet Events about Pods, turned into bounded per-container counters.
//!
//! Events arrive decoded into a [`SlimEvent`] (the message already reduced to a
//! [`Signal`]) and are never stored whole. [`EventCounts`] keeps, for each Event object, the
//! last `count` seen, so the kubelet's correlator PATCHes (`count` 1 → 3 → 7) add their
//! delta, and a relist, a watch restart or a 410 Gone adds only what is new.
//!
//! **Start-up rule.** Everything in the exporter's first list is a baseline: it is
//! recorded at its current count and adds nothing. Counters therefore start at 0 when
//! the exporter starts (Prometheus sees an ordinary counter reset), and nothing a previous
//! instance counted is counted again. Event objects that appear after the first list add
//! their full count. An Event expiring (1 h TTL) takes nothing away; its record is kept
//! for [`RECORD_GRACE_SECONDS`] so a re-created Event with the same name adds only its
//! delta. Counters live as long as their pod.

use std::collections::{BTreeMap, HashMap};

use crate::view::{IgnoredReason, MissingObject, Probe, PullFailure, Refusal, Signal, SlimEvent, Target, Timestamp};

/// How long the record of a deleted Event is kept (the apiserver's TTL is 1 h).
pub const RECORD_GRACE_SECONDS: i64 = 2 * 3600;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerEvents {
    pub probe_failures: [u64; Probe::ALL.len()],
    pub probe_kills: [u64; Probe::ALL.len()],
    pub backoffs: u64,
    pub image_pull_backoffs: u64,
    /// The category of the latest failed pull.
    pub pull_failure: Option<PullFailure>,
    /// The latest probe kill: which probe, and when the Event last happened.
    pub last_probe_kill: Option<(Probe, Timestamp)>,
}

impl ContainerEvents {
    /// The kills by probe `p` its Events reported.
    pub fn probe_kills_by(&self, p: Probe) -> u64 {
        self.probe_kills[p as usize]
    }
}

/// What the Events say about one pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodEvents {
    pub uid: String,
    pub containers: BTreeMap<String, ContainerEvents>,
    /// Missing objects, each with the Event (by name) that reported it.
    pub missing: BTreeMap<MissingObject, String>,
    /// The `FailedCreatePodSandBox` Event (by name), until it expires.
    pub sandbox_failed: Option<String>,
    /// A `FailedMount` or `FailedAttachVolume` Event that names no missing object (by
    /// name), until it expires.
    pub mount_failed: Option<String>,
}

struct Record {
    uid: String,
    last_count: u64,
    pod: (String, String),
    deleted_at: Option<Timestamp>,
}

/// A workload whose controller could not create a pod (`FailedCreate`), as its latest
/// Event says.
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    pub reason: Refusal,
    /// When the Event last happened.
    pub last_seen: Timestamp,
    /// The Event's name, to forget it with the Event.
    event: String,
}

/// `(namespace, workload kind, workload name)`.
pub(crate) type WorkloadKey = (String, String, String);

/// What became of one Event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded; `added` occurrences were counted.
    Counted { added: u64 },
    /// Left out, with the reason (`crashloop_exporter_events_ignored_total`).
    Ignored(IgnoredReason),
    /// A message of a known reason that could not be parsed.
    Unparsed,
}

/// The counting state of all Events; see the module docs for the rules.
#[derive(Default)]
pub struct EventCounts {
    records: HashMap<(String, String), Record>,
    pods: HashMap<(String, String), PodEvents>,
    /// Workloads whose controller could not create a pod, until the Event expires.
    refused: BTreeMap<WorkloadKey, Refused>,
    /// True while the first list is read.
    pub baseline: bool,
    /// Counts calls that may have changed the state, so a rendered exposition knows when it is stale.
    generation: u64,
}

impl EventCounts {
    pub fn new() -> Self {
        EventCounts { baseline: true, ..Default::default() }
    }

    /// The pod's event state, if any Event was counted for it.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodEvents> {
        self.pods.get(&(namespace.to_string(), name.to_string()))
    }

    /// Applies an added or modified Event. `pod_uid` looks the involved pod up in the pod
    /// cache: an Event whose pod is unknown (or a previous pod of the same name) is skipped.
    pub fn apply(&mut self, event: &SlimEvent, pod_uid: impl Fn(&str, &str) -> Option<String>) -> Outcome {
        self.generation += 1;
        if let (Some(c), Signal::CreateRefused(reason)) = (&event.controller, &event.signal) {
            let Some(last_seen) = event.last_seen else { return Outcome::Ignored(IgnoredReason::NoTime) };
            let key = (c.namespace.clone(), c.kind.clone(), c.name.clone());
            let event_name = event.metadata.name.clone().unwrap_or_default();
            let newer = self.refused.get(&key).is_none_or(|r| r.last_seen <= last_seen);
            if newer {
                self.refused.insert(key, Refused { reason: *reason, last_seen, event: event_name });
            }
            return Outcome::Counted { added: 0 };
        }
        let Some(pod) = &event.pod else { return Outcome::Ignored(IgnoredReason::NotAPod) };
        match &event.signal {
            Signal::Ignored(why) => return Outcome::Ignored(*why),
            Signal::Unparsed => return Outcome::Unparsed,
            _ => {}
        }
        let container = match &event.target {
            Target::Malformed => return Outcome::Ignored(IgnoredReason::BadFieldPath),
            Target::Pod => String::new(),
            Target::Container(c) => c.clone(),
        };
        let Some(uid) = pod_uid(&pod.namespace, &pod.name) else { return Outcome::Ignored(IgnoredReason::UnknownPod) };
        if !pod.uid.is_empty() && pod.uid != uid {
            return Outcome::Ignored(IgnoredReason::PreviousPod);
        }

        let key = event.key();
        let event_uid = event.metadata.uid.clone().unwrap_or_default();
        let added = match self.records.get_mut(&key) {
            Some(r) => {
                let added = if event.count >= r.last_count {
                    event.count - r.last_count
                } else if r.uid != event_uid {
                    // A new object that reuses the name and starts over.
                    event.count
                } else {
                    0
                };
                r.last_count = r.last_count.max(event.count);
                if r.uid != event_uid && event.count < r.last_count {
                    r.last_count = event.count;
                }
                r.uid = event_uid;
                r.deleted_at = None;
                added
            }
            None => {
                let pod_key = (pod.namespace.clone(), pod.name.clone());
                self.records.insert(
                    key.clone(),
                    Record { uid: event_uid, last_count: event.count, pod: pod_key, deleted_at: None },
                );
                if self.baseline { 0 } else { event.count }
            }
        };

        let state = self.pods.entry((pod.namespace.clone(), pod.name.clone())).or_default();
        if state.uid != uid {
            *state = PodEvents { uid, ..Default::default() };
        }
        match &event.signal {
            Signal::Missing(object) => {
                state.missing.insert(object.clone(), key.1);
            }
            Signal::SandboxFailed => state.sandbox_failed = Some(key.1),
            Signal::MountFailed => state.mount_failed = Some(key.1),
            signal => {
                let c = state.containers.entry(container).or_default();
                match signal {
                    Signal::ProbeFailure(p) => {
                        c.probe_failures[p.index()] = c.probe_failures[p.index()].saturating_add(added)
                    }
                    Signal::ProbeKill(p) => {
                        c.probe_kills[p.index()] = c.probe_kills[p.index()].saturating_add(added);
                        if let Some(at) = event.last_seen
                            && c.last_probe_kill.is_none_or(|(_, t)| at >= t)
                        {
                            c.last_probe_kill = Some((*p, at));
                        }
                    }
                    Signal::CrashBackOff => c.backoffs = c.backoffs.saturating_add(added),
                    Signal::ImagePullBackOff(category) => {
                        c.image_pull_backoffs = c.image_pull_backoffs.saturating_add(added);
                        if category.is_some() {
                            c.pull_failure = *category;
                        }
                    }
                    Signal::ImagePullFailed(category) => c.pull_failure = Some(*category),
                    Signal::Missing(_)
                    | Signal::CreateRefused(_)
                    | Signal::SandboxFailed
                    | Signal::MountFailed
                    | Signal::Ignored(_)
                    | Signal::Unparsed => {}
                }
            }
        }
        Outcome::Counted { added }
    }

    /// An Event was deleted (TTL): nothing is subtracted; what it reported as missing is cleared.
    pub fn delete(&mut self, event: &SlimEvent, now: Timestamp) {
        self.generation += 1;
        let key = event.key();
        self.refused.retain(|_, r| r.event != key.1);
        if let Some(r) = self.records.get_mut(&key) {
            r.deleted_at = Some(now);
            if let Some(pod) = self.pods.get_mut(&r.pod) {
                pod.missing.retain(|_, event_name| *event_name != key.1);
                for named in [&mut pod.sandbox_failed, &mut pod.mount_failed] {
                    if named.as_deref() == Some(key.1.as_str()) {
                        *named = None;
                    }
                }
            }
        }
    }

    /// Forgets a deleted pod and its Events.
    pub fn forget_pod(&mut self, namespace: &str, name: &str) {
        self.generation += 1;
        let key = (namespace.to_string(), name.to_string());
        self.pods.remove(&key);
        self.records.retain(|_, r| r.pod != key);
    }

    /// Drops records of Events deleted long ago, and of pods the cache no longer has.
    pub fn collect_garbage(&mut self, now: Timestamp, pod_exists: impl Fn(&str, &str) -> bool) {
        self.generation += 1;
        self.pods.retain(|(ns, name), _| pod_exists(ns, name));
        let pods = &self.pods;
        self.records.retain(|_, r| {
            r.deleted_at.is_none_or(|t| now - t < RECORD_GRACE_SECONDS)
                && (pods.contains_key(&r.pod) || pod_exists(&r.pod.0, &r.pod.1))
        });
    }

    /// A copy of every pod's state for one scrape, by pod uid (a pod recreated under the same name is another pod).
    pub fn snapshot(&self) -> HashMap<String, PodEvents> {
        self.pods.values().map(|e| (e.uid.clone(), e.clone())).collect()
    }

    /// The workloads whose controller could not create a pod, while the Event exists.
    pub fn refused(&self) -> Vec<(WorkloadKey, Refused)> {
        self.refused.iter().map(|(k, r)| (k.clone(), r.clone())).collect()
    }

    /// Changes so far: equal values mean an unchanged state.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Event objects remembered (for `crashloop_exporter_cached_objects{resource="events"}`).
    pub fn records(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{ObjectKind, PodRef};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn event(name: &str, count: u64, signal: Signal) -> SlimEvent {
        SlimEvent {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            pod: Some(PodRef { namespace: "shop".into(), name: "web".into(), uid: "pod-uid".into() }),
            controller: None,
            target: Target::Container("app".into()),
            signal,
            count,
            last_seen: Some(100),
        }
    }

    fn liveness(counts: &EventCounts) -> u64 {
        counts
            .pod("shop", "web")
            .and_then(|p| p.containers.get("app"))
            .map_or(0, |c| c.probe_failures[Probe::Liveness.index()])
    }

    const POD: fn(&str, &str) -> Option<String> = |_, _| Some("pod-uid".to_string());

    #[test]
    fn counts_deltas_once_across_updates_and_relists() {
        let mut counts = EventCounts::new();
        counts.baseline = false;
        let fail = Signal::ProbeFailure(Probe::Liveness);
        assert_eq!(counts.apply(&event("web.1", 1, fail.clone()), POD), Outcome::Counted { added: 1 });
        counts.apply(&event("web.1", 3, fail.clone()), POD);
        counts.apply(&event("web.1", 7, fail.clone()), POD);
        assert_eq!(liveness(&counts), 7);
        // A relist replays the same object: nothing is added.
        assert_eq!(counts.apply(&event("web.1", 7, fail.clone()), POD), Outcome::Counted { added: 0 });
        // An older version arriving late adds nothing either.
        counts.apply(&event("web.1", 5, fail.clone()), POD);
        assert_eq!(liveness(&counts), 7);
        // The Event expires: nothing is subtracted; re-created with the same name and a
        // continued count, only the delta is added.
        counts.delete(&event("web.1", 7, fail.clone()), 1000);
        assert_eq!(liveness(&counts), 7);
        let mut recreated = event("web.1", 9, fail.clone());
        recreated.metadata.uid = Some("uid-new".into());
        counts.apply(&recreated, POD);
        assert_eq!(liveness(&counts), 9);
        // A new object under the same name that starts over adds its whole count.
        let mut restarted = event("web.1", 2, fail);
        restarted.metadata.uid = Some("uid-newer".into());
        counts.apply(&restarted, POD);
        assert_eq!(liveness(&counts), 11);
    }

    #[test]
    fn first_list_is_the_baseline() {
        let mut counts = EventCounts::new();
        let fail = Signal::ProbeFailure(Probe::Liveness);
        assert_eq!(counts.apply(&event("web.1", 5, fail.clone()), POD), Outcome::Counted { added: 0 });
        counts.baseline = false;
        counts.apply(&event("web.1", 6, fail.clone()), POD);
        counts.apply(&event("web.2", 2, fail), POD);
        assert_eq!(liveness(&counts), 3);
    }

    #[test]
    fn skips_are_counted_not_panics() {
        let mut counts = EventCounts::new();
        counts.baseline = false;
        let fail = Signal::ProbeFailure(Probe::Liveness);
        assert_eq!(
            counts.apply(&event("x", 1, fail.clone()), |_, _| None),
            Outcome::Ignored(IgnoredReason::UnknownPod)
        );
        assert_eq!(
            counts.apply(&event("x", 1, fail.clone()), |_, _| Some("other-uid".into())),
            Outcome::Ignored(IgnoredReason::PreviousPod)
        );
        let mut bad = event("y", 1, fail);
        bad.target = Target::Malformed;
        assert_eq!(counts.apply(&bad, POD), Outcome::Ignored(IgnoredReason::BadFieldPath));
        assert_eq!(counts.apply(&event("z", 1, Signal::Unparsed), POD), Outcome::Unparsed);
        assert_eq!(counts.records(), 0);
    }

    #[test]
    fn missing_objects_clear_when_their_event_goes() {
        let mut counts = EventCounts::new();
        let missing = MissingObject { kind: ObjectKind::ConfigMap, name: "cfg".into(), key: None };
        let mut e = event("web.m", 1, Signal::Missing(missing.clone()));
        e.target = Target::Pod;
        counts.apply(&e, POD);
        assert_eq!(counts.pod("shop", "web").map(|p| p.missing.len()), Some(1));
        counts.delete(&e, 10);
        assert_eq!(counts.pod("shop", "web").map(|p| p.missing.len()), Some(0));
        counts.forget_pod("shop", "web");
        assert!(counts.pod("shop", "web").is_none());
        assert_eq!(counts.records(), 0);
    }

    #[test]
    fn garbage_collection_keeps_recent_records() {
        let mut counts = EventCounts::new();
        counts.apply(&event("web.1", 1, Signal::CrashBackOff), POD);
        counts.delete(&event("web.1", 1, Signal::CrashBackOff), 0);
        counts.collect_garbage(RECORD_GRACE_SECONDS - 1, |_, _| true);
        assert_eq!(counts.records(), 1);
        counts.collect_garbage(RECORD_GRACE_SECONDS, |_, _| true);
        assert_eq!(counts.records(), 0);
    }
}

//! The store: the caches the watches fill and scrapes read, and the ingest that fills
//! them. Pure of I/O: the watches (`crate::watch`) feed [`PodIngest`] and [`EventIngest`]
//! from the API, tests and benchmarks feed them fixtures, so all measure the same path
//! from decode on.
//!
//! Each pod event passes through [`track`] before it reaches the store, so the history a
//! container carries (restart baseline, crash-loop start, terminations) moves from the old
//! version of the pod to the new one. A relist keeps that history: the store swaps its
//! contents only when the list is complete, and pods gone by then are dropped whole, with
//! their Event counts. Only the pods of this replica's [`Shard`] are kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::Event;

use crate::Clock;
use crate::counters::{ReasonLabels, ResourceLabels, SelfMetrics, WatchEventLabels};
use crate::event_counts::{EventCounts, Outcome};
use crate::history::{WorkloadHistory, track};
use crate::sync::lock_unpoisoned;
use crate::view::{IgnoredReason, LogHint, PodLines, SlimContainer, SlimEvent, SlimPod, Timestamp, WatchEventType};

/// The Event counting state, shared by the event watch (writes), the pod watch (forgets
/// deleted pods) and scrapes (copy). Each holds the lock only briefly.
pub type SharedEvents = Arc<Mutex<EventCounts>>;

/// Each workload's counts across its pods' deletions, shared by the pod ingest (writes)
/// and scrapes (read).
pub(crate) type SharedWorkloads = Arc<Mutex<WorkloadHistory>>;

/// How often the pod ingest forgets the workloads that have had no pod for long.
const WORKLOAD_GC_SECONDS: i64 = 60;

/// Which pods this replica keeps: `index` of `total`, by kube-state-metrics' rule
/// (jump hash of the FNV-1a-64 of the pod UID), so both tools shard alike. Every
/// replica lists and watches all pods; it keeps and exports only its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, total: 1 }
    }
}

impl Shard {
    pub fn owns(&self, uid: &str) -> bool {
        self.total <= 1 || jump_hash(fnv1a64(uid.as_bytes()), self.total) == self.index
    }
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Lamping and Veach's jump consistent hash.
pub(crate) fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(b).unwrap_or(0)
}

/// Makes the lines every pod has: the exposition's builder, given to the ingest so that
/// this layer knows nothing of the text (see [`PodLines`]).
pub(crate) type Prerender = fn(&SlimPod) -> PodLines;

/// The cache of one scope: its store, and when it was last in sync with the API.
#[derive(Clone)]
pub struct PodCache {
    pub store: Store<SlimPod>,
    /// Seconds since the epoch; 0 until the first list completes.
    pub last_sync: Arc<AtomicI64>,
    /// Counts changes to the store, so a rendered exposition knows when it is stale.
    pub changes: Arc<AtomicU64>,
    /// The restarts and terminations of each workload, kept when its pods go.
    pub workloads: SharedWorkloads,
    /// Turns true when the first list completes. (A `watch` channel wakes every waiter;
    /// several waiters on `Store::wait_until_ready` were seen to hang.)
    pub ready: tokio::sync::watch::Receiver<bool>,
}

impl PodCache {
    /// Resolves once the first list has completed; false if the watch task ended first.
    pub async fn wait_ready(&self) -> bool {
        self.ready.clone().wait_for(|ready| *ready).await.is_ok()
    }

    pub fn last_sync(&self) -> Timestamp {
        self.last_sync.load(Ordering::Relaxed)
    }
}

/// Applies pod watch events to one scope's cache: shard filter, history tracking, store
/// update, self-metrics and sync time. The watch task feeds it from the API; benchmarks
/// feed it a synthetic stream, so both measure the same path from decode on.
pub struct PodIngest {
    reader: Store<SlimPod>,
    writer: reflector::store::Writer<SlimPod>,
    shard: Shard,
    first_list: bool,
    metrics: SelfMetrics,
    events: SharedEvents,
    clock: Clock,
    last_sync: Arc<AtomicI64>,
    changes: Arc<AtomicU64>,
    ready: tokio::sync::watch::Sender<bool>,
    prerender: Prerender,
    workloads: SharedWorkloads,
    last_workload_gc: Timestamp,
}

impl PodIngest {
    /// A new, empty cache for `shard`, and the ingest that fills it. `prerender` makes the
    /// lines every pod has (`exposition::prerender`).
    pub fn new(
        shard: Shard,
        metrics: SelfMetrics,
        events: SharedEvents,
        clock: Clock,
        prerender: Prerender,
    ) -> (PodCache, PodIngest) {
        let (reader, writer) = reflector::store::<SlimPod>();
        let (ready, ready_rx) = tokio::sync::watch::channel(false);
        let cache = PodCache {
            store: reader.clone(),
            last_sync: Arc::default(),
            changes: Arc::default(),
            workloads: SharedWorkloads::default(),
            ready: ready_rx,
        };
        let ingest = PodIngest {
            reader,
            writer,
            shard,
            first_list: true,
            metrics,
            events,
            clock,
            last_sync: cache.last_sync.clone(),
            changes: cache.changes.clone(),
            ready,
            prerender,
            workloads: cache.workloads.clone(),
            last_workload_gc: 0,
        };
        (cache, ingest)
    }

    /// Applies one watch event.
    pub fn apply(&mut self, event: Event<SlimPod>) {
        const RESOURCE: &str = "pods";
        if let Event::InitApply(pod) | Event::Apply(pod) = &event
            && !self.shard.owns(pod.uid())
        {
            return;
        }
        let now = (self.clock)();
        let (reader, prerender, workloads) = (&self.reader, self.prerender, &self.workloads);
        // History from the cached version (and the workload's counts), what only the watch
        // needed dropped, lines made.
        let ingested = |pod: SlimPod, baseline: bool| {
            let previous = reader.get(&ObjectRef::from_obj(&pod));
            let mut pod = track(previous.as_deref(), pod.settle(), now, baseline);
            if let Some(added) = WorkloadHistory::added(previous.as_deref(), &pod) {
                lock_unpoisoned(workloads).add(&pod, added, now);
            }
            pod.lines = Some(prerender(&pod));
            pod.shown = None;
            pod
        };
        let (event, kind) = match event {
            Event::Init => {
                self.metrics.relists.get_or_create(&ResourceLabels { resource: RESOURCE }).inc();
                (Event::Init, WatchEventType::Init)
            }
            Event::InitApply(pod) => (Event::InitApply(ingested(pod, self.first_list)), WatchEventType::InitApply),
            Event::InitDone => {
                self.first_list = false;
                (Event::InitDone, WatchEventType::InitDone)
            }
            Event::Apply(pod) => (Event::Apply(ingested(pod, false)), WatchEventType::Apply),
            Event::Delete(pod) => {
                lock_unpoisoned(&self.events).forget_pod(pod.namespace(), pod.name());
                // The last restarts the deleted pod's final status shows still count.
                let previous = reader.get(&ObjectRef::from_obj(&pod));
                let last = track(previous.as_deref(), pod.clone(), now, self.first_list);
                if let Some(added) = WorkloadHistory::added(previous.as_deref(), &last) {
                    lock_unpoisoned(workloads).add(&last, added, now);
                }
                (Event::Delete(pod), WatchEventType::Delete)
            }
        };
        self.writer.apply_watcher_event(&event);
        self.changes.fetch_add(1, Ordering::Release);
        self.metrics.watch_events.get_or_create(&WatchEventLabels { resource: RESOURCE, r#type: kind }).inc();
        if !self.first_list {
            self.last_sync.store(now, Ordering::Relaxed);
            self.ready.send_if_modified(|ready| !std::mem::replace(ready, true));
        }
        if now - self.last_workload_gc >= WORKLOAD_GC_SECONDS {
            self.last_workload_gc = now;
            self.forget_idle_workloads(now);
        }
    }

    /// Forgets the counts of workloads that have had no pod for long (see
    /// [`crate::history::WORKLOAD_HISTORY_IDLE_SECONDS`]).
    fn forget_idle_workloads(&self, now: Timestamp) {
        if lock_unpoisoned(&self.workloads).len() == 0 {
            return;
        }
        let pods = self.reader.state();
        let live: std::collections::HashSet<(&str, &str, &str)> =
            pods.iter().map(|p| (p.namespace(), &*p.workload.kind, &*p.workload.name)).collect();
        lock_unpoisoned(&self.workloads).forget_idle(now, |(ns, kind, name)| live.contains(&(&**ns, &**kind, &**name)));
    }
}

fn find_pod(caches: &[PodCache], namespace: &str, name: &str) -> Option<Arc<SlimPod>> {
    let key = ObjectRef::new(name).within(namespace);
    caches.iter().find_map(|c| c.store.get(&key))
}

/// Applies Event watch events to the shared Event counts: the shard filter, attribution
/// through the pod caches (an Event of a pod they do not hold is skipped), the baseline of
/// the first list, self-metrics.
pub(crate) struct EventIngest {
    caches: Vec<PodCache>,
    state: SharedEvents,
    metrics: SelfMetrics,
    shard: Shard,
    clock: Clock,
}

impl EventIngest {
    pub(crate) fn new(
        caches: Vec<PodCache>,
        state: SharedEvents,
        metrics: SelfMetrics,
        shard: Shard,
        clock: Clock,
    ) -> Self {
        EventIngest { caches, state, metrics, shard, clock }
    }

    /// The pod caches Events are attributed through.
    pub(crate) fn caches(&self) -> &[PodCache] {
        &self.caches
    }

    /// Applies one watch event.
    pub(crate) fn apply(&mut self, event: Event<SlimEvent>) {
        const RESOURCE: &str = "events";
        let metrics = &self.metrics;
        let kind = match event {
            Event::Init => {
                metrics.relists.get_or_create(&ResourceLabels { resource: RESOURCE }).inc();
                WatchEventType::Init
            }
            Event::InitDone => {
                lock_unpoisoned(&self.state).baseline = false;
                WatchEventType::InitDone
            }
            Event::InitApply(e) | Event::Apply(e)
                if e.pod.as_ref().is_some_and(|p| !p.uid.is_empty() && !self.shard.owns(&p.uid))
                    || e.controller.as_ref().is_some_and(|c| !c.uid.is_empty() && !self.shard.owns(&c.uid)) =>
            {
                metrics.events_ignored.get_or_create(&ReasonLabels { reason: IgnoredReason::OtherShard }).inc();
                WatchEventType::Apply
            }
            Event::InitApply(e) | Event::Apply(e) => {
                metrics.events_seen.inc();
                let caches = &self.caches;
                let outcome = lock_unpoisoned(&self.state)
                    .apply(&e, |ns, name| find_pod(caches, ns, name).map(|p| p.uid().to_string()));
                match outcome {
                    Outcome::Counted { .. } => {}
                    Outcome::Ignored(reason) => {
                        metrics.events_ignored.get_or_create(&ReasonLabels { reason }).inc();
                    }
                    Outcome::Unparsed => {
                        metrics.event_parse_failures.inc();
                    }
                }
                WatchEventType::Apply
            }
            Event::Delete(e) => {
                lock_unpoisoned(&self.state).delete(&e, (self.clock)());
                WatchEventType::Delete
            }
        };
        metrics.watch_events.get_or_create(&WatchEventLabels { resource: RESOURCE, r#type: kind }).inc();
    }

    /// Drops records of expired Events and of pods the caches no longer hold.
    pub(crate) fn collect_garbage(&self) {
        let now = (self.clock)();
        lock_unpoisoned(&self.state).collect_garbage(now, |ns, name| find_pod(&self.caches, ns, name).is_some());
    }
}

pub(crate) type Key = (String, String, String);

/// The termination a hint was read for: the restart count and `finishedAt` of the
/// container's latest termination.
type TerminationId = (u32, Option<Timestamp>);

/// The pod uid, the termination read and its hint.
type Entry = (String, TerminationId, Option<LogHint>);

fn termination_id(c: &SlimContainer) -> Option<TerminationId> {
    c.latest_termination().map(|t| (c.restart_count, t.finished_at))
}

/// What one read of a termination's log gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRead {
    /// The log was read; what it says, if anything the classifier knows.
    Read(Option<LogHint>),
    /// The fetch failed (no previous instance, no kubelet, no permission).
    Failed,
}

/// The hint for each container's latest classified log, for the pod's uid: a newer pod of
/// the same name never reads an older pod's hint.
#[derive(Clone, Debug, Default)]
pub struct LogHints {
    map: Arc<Mutex<HashMap<Key, Entry>>>,
    changes: Arc<std::sync::atomic::AtomicU64>,
}

impl LogHints {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        lock_unpoisoned(&self.map)
    }

    fn key(pod: &SlimPod, c: &SlimContainer) -> Key {
        (pod.namespace().to_string(), pod.name().to_string(), c.name.to_string())
    }

    /// The hint of the container's latest log read: of its latest termination once that
    /// one has been read, of the one before until then.
    pub fn get(&self, pod: &SlimPod, c: &SlimContainer) -> Option<LogHint> {
        match self.map().get(&Self::key(pod, c)) {
            Some((uid, _, hint)) if uid == pod.uid() => *hint,
            _ => None,
        }
    }

    pub fn fetched(&self, pod: &SlimPod, c: &SlimContainer) -> bool {
        let current = termination_id(c);
        self.map().get(&Self::key(pod, c)).is_some_and(|(uid, id, _)| uid == pod.uid() && Some(*id) == current)
    }

    /// Changes so far: equal values mean unchanged hints.
    pub fn generation(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records the read of the container's latest termination: after a failed one, the
    /// hint held so far stands.
    pub fn set(&self, pod: &SlimPod, c: &SlimContainer, read: LogRead) {
        let Some(id) = termination_id(c) else { return };
        self.changes.fetch_add(1, std::sync::atomic::Ordering::Release);
        let mut map = self.map();
        let held = map.get(&Self::key(pod, c)).filter(|(uid, _, _)| uid == pod.uid()).and_then(|(_, _, h)| *h);
        map.insert(
            Self::key(pod, c),
            (
                pod.uid().to_string(),
                id,
                match read {
                    LogRead::Read(hint) => hint,
                    LogRead::Failed => held,
                },
            ),
        );
    }

    pub(crate) fn retain(&self, exists: impl Fn(&Key) -> bool) {
        self.changes.fetch_add(1, std::sync::atomic::Ordering::Release);
        self.map().retain(|k, _| exists(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{PodLines, TerminationReason};
    use serde_json::json;

    const NOW: Timestamp = 1_795_514_400;

    /// A one-container pod `name` (uid `uid-<name>`) with `restarts`, the last one an OOM kill.
    fn pod(name: &str, restarts: u32) -> SlimPod {
        let last = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled",
            "startedAt": "2026-11-24T09:59:00Z", "finishedAt": "2026-11-24T09:59:30Z"}});
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "resourceVersion": "7"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"containerStatuses": [{"name": "app", "restartCount": restarts,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": if restarts > 0 { last } else { json!({}) }}]}
        }))
        .expect("a pod")
    }

    fn lines_of(pod: &SlimPod) -> PodLines {
        PodLines { text: pod.name().as_bytes().into(), quiet: false }
    }

    fn ingest(shard: Shard) -> (PodCache, PodIngest, SharedEvents, SelfMetrics) {
        let events = SharedEvents::new(Mutex::new(EventCounts::new()));
        let metrics = SelfMetrics::default();
        let (cache, ingest) = PodIngest::new(shard, metrics.clone(), events.clone(), Arc::new(|| NOW), lines_of);
        (cache, ingest, events, metrics)
    }

    fn list(ingest: &mut PodIngest, pods: Vec<SlimPod>) {
        ingest.apply(Event::Init);
        for p in pods {
            ingest.apply(Event::InitApply(p));
        }
        ingest.apply(Event::InitDone);
    }

    fn cached(cache: &PodCache, name: &str) -> Option<Arc<SlimPod>> {
        cache.store.get(&ObjectRef::new(name).within("shop"))
    }

    fn oom_kills(cache: &PodCache, name: &str) -> Option<u64> {
        cached(cache, name).map(|p| p.containers[0].history().terminations.get(TerminationReason::OomKilled))
    }

    #[test]
    fn the_first_list_is_the_baseline_and_later_restarts_count() {
        let (cache, mut ingest, _, metrics) = ingest(Shard::default());
        assert_eq!(cache.last_sync(), 0);
        list(&mut ingest, vec![pod("web", 5)]);
        assert!(*cache.ready.borrow(), "ready once the first list is complete");
        assert_eq!(cache.last_sync(), NOW);
        assert_eq!(oom_kills(&cache, "web"), Some(0), "restarts before the first list are the baseline");
        ingest.apply(Event::Apply(pod("web", 7)));
        assert_eq!(oom_kills(&cache, "web"), Some(2));
        let web = cached(&cache, "web").expect("cached");
        assert_eq!(web.metadata.resource_version, None, "what only the watch needed is dropped");
        assert_eq!(web.lines, Some(PodLines { text: b"web".as_slice().into(), quiet: false }), "lines made");
        assert_eq!(metrics.relists.get_or_create(&ResourceLabels { resource: "pods" }).get(), 1);
        let applies =
            metrics.watch_events.get_or_create(&WatchEventLabels { resource: "pods", r#type: WatchEventType::Apply });
        assert_eq!(applies.get(), 1);
    }

    #[test]
    fn only_the_shards_pods_are_kept() {
        let shard = Shard { index: 1, total: 3 };
        let (cache, mut ingest, _, _) = ingest(shard);
        let pods: Vec<SlimPod> = (0..60).map(|i| pod(&format!("p{i}"), 0)).collect();
        let mine: Vec<String> = pods.iter().filter(|p| shard.owns(p.uid())).map(|p| p.name().to_string()).collect();
        assert!(!mine.is_empty() && mine.len() < 60);
        list(&mut ingest, pods);
        let mut kept: Vec<String> = cache.store.state().iter().map(|p| p.name().to_string()).collect();
        kept.sort();
        let mut expected = mine;
        expected.sort();
        assert_eq!(kept, expected);
    }

    #[test]
    fn a_relist_keeps_history_and_drops_the_pods_gone_since() {
        let (cache, mut ingest, _, metrics) = ingest(Shard::default());
        list(&mut ingest, vec![pod("web", 1), pod("gone", 1)]);
        ingest.apply(Event::Apply(pod("web", 2)));
        assert_eq!(oom_kills(&cache, "web"), Some(1));
        // A 410 Gone: the watcher lists again; "gone" was deleted while the watch was down.
        list(&mut ingest, vec![pod("web", 3)]);
        assert_eq!(oom_kills(&cache, "web"), Some(2), "counted since the last version seen, not from zero");
        assert!(cached(&cache, "gone").is_none());
        assert_eq!(metrics.relists.get_or_create(&ResourceLabels { resource: "pods" }).get(), 2);
    }

    #[test]
    fn a_deleted_pod_takes_its_event_counts_with_it() {
        let (cache, mut ingest, events, _) = ingest(Shard::default());
        list(&mut ingest, vec![pod("web", 0)]);
        let mut event_ingest = EventIngest::new(
            vec![cache.clone()],
            events.clone(),
            SelfMetrics::default(),
            Shard::default(),
            Arc::new(|| NOW),
        );
        event_ingest.apply(Event::Init);
        event_ingest.apply(Event::InitDone);
        let backoff: SlimEvent = serde_json::from_value(json!({
            "metadata": {"name": "web.1", "namespace": "shop", "uid": "e1"},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web", "uid": "uid-web",
                "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "message": "Back-off restarting failed container app", "count": 3
        }))
        .expect("an event");
        event_ingest.apply(Event::Apply(backoff));
        let backoffs = |events: &SharedEvents| {
            lock_unpoisoned(events).pod("shop", "web").and_then(|p| p.containers.get("app")).map(|c| c.backoffs)
        };
        assert_eq!(backoffs(&events), Some(3));
        let web = (*cached(&cache, "web").expect("cached")).clone();
        ingest.apply(Event::Delete(web));
        assert!(cached(&cache, "web").is_none());
        assert_eq!(backoffs(&events), None);
        assert_eq!(lock_unpoisoned(&events).records(), 0);
    }

    #[test]
    fn events_of_other_shards_and_unknown_pods_are_counted_skips() {
        let shard = Shard { index: 0, total: 2 };
        let (cache, mut ingest, events, _) = ingest(shard);
        let pods: Vec<SlimPod> = (0..20).map(|i| pod(&format!("p{i}"), 0)).collect();
        let other = pods.iter().find(|p| !shard.owns(p.uid())).expect("a pod of the other shard").name().to_string();
        list(&mut ingest, pods);
        let metrics = SelfMetrics::default();
        let mut event_ingest = EventIngest::new(vec![cache], events, metrics.clone(), shard, Arc::new(|| NOW));
        event_ingest.apply(Event::Init);
        event_ingest.apply(Event::InitDone);
        let about = |pod: &str| -> SlimEvent {
            serde_json::from_value(json!({
                "metadata": {"name": format!("{pod}.1"), "namespace": "shop", "uid": format!("e-{pod}")},
                "involvedObject": {"kind": "Pod", "namespace": "shop", "name": pod, "uid": format!("uid-{pod}"),
                    "fieldPath": "spec.containers{app}"},
                "reason": "BackOff", "message": "Back-off restarting failed container app", "count": 1
            }))
            .expect("an event")
        };
        event_ingest.apply(Event::Apply(about(&other)));
        event_ingest.apply(Event::Apply(about("never-listed")));
        let ignored = |reason| metrics.events_ignored.get_or_create(&ReasonLabels { reason }).get();
        assert_eq!((ignored(IgnoredReason::OtherShard), ignored(IgnoredReason::UnknownPod)), (1, 1));
        assert_eq!(metrics.events_seen.get(), 1, "the other shard's Event is not this replica's to see");
    }

    #[test]
    fn jump_hash_matches_the_reference_values() {
        // The test vectors of the Go implementation kube-state-metrics uses.
        for (key, buckets, expected) in
            [(1, 1, 0), (42, 57, 43), (0xDEAD_10CC, 1, 0), (0xDEAD_10CC, 666, 361), (256, 1024, 520)]
        {
            assert_eq!(jump_hash(key, buckets), expected, "jump({key}, {buckets})");
        }
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    /// UID to shard as kube-state-metrics' `sharding.keep` decides it (pkg/sharding/
    /// listwatch.go: Go's `hash/fnv` New64a over the UID's bytes, then go-jump's `Hash`):
    /// `test_uid` of 2 is shard 0 in its own test (TestSharding); the others were computed
    /// with that code. Exactly the listed shard owns each UID.
    #[test]
    fn a_uid_has_the_shard_kube_state_metrics_gives_it() {
        #[rustfmt::skip]
        let vector = [
            ("test_uid", 2, 0), ("test_uid", 3, 0), ("test_uid", 16, 0),
            ("0b2d7f3e-5c1a-4e9b-8f6d-2a3c4b5d6e7f", 2, 1), ("0b2d7f3e-5c1a-4e9b-8f6d-2a3c4b5d6e7f", 3, 2),
            ("0b2d7f3e-5c1a-4e9b-8f6d-2a3c4b5d6e7f", 4, 3), ("0b2d7f3e-5c1a-4e9b-8f6d-2a3c4b5d6e7f", 16, 3),
            ("9f8e7d6c-5b4a-4321-9876-0fedcba98765", 4, 3), ("9f8e7d6c-5b4a-4321-9876-0fedcba98765", 8, 7),
            ("9f8e7d6c-5b4a-4321-9876-0fedcba98765", 16, 11), ("11111111-2222-4333-8444-555555555555", 8, 3),
            ("c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", 3, 1), ("c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f", 16, 14),
        ];
        for (uid, total, shard) in vector {
            let owners: Vec<u32> = (0..total).filter(|index| Shard { index: *index, total }.owns(uid)).collect();
            assert_eq!(owners, [shard], "{uid} of {total}");
        }
    }

    #[test]
    fn every_uid_has_exactly_one_shard() {
        for total in [1, 2, 3, 7] {
            for i in 0..500 {
                let uid = format!("4f1c2a9e-7b0d-4a57-9a43-{i:012}");
                let owners = (0..total).filter(|index| Shard { index: *index, total }.owns(&uid)).count();
                assert_eq!(owners, 1, "{uid} of {total}");
            }
        }
    }

    /// A workload's counts outlive its pods: the first list is the baseline, later restarts
    /// count, a deleted pod's last ones too, its replacement adds to them, and a workload
    /// without pods for 6 hours is forgotten.
    #[test]
    fn workload_counts_outlive_their_pods() {
        let clock = Arc::new(AtomicI64::new(NOW));
        let now = clock.clone();
        let (cache, mut ingest) = PodIngest::new(
            Shard::default(),
            SelfMetrics::default(),
            SharedEvents::default(),
            Arc::new(move || now.load(Ordering::Relaxed)),
            lines_of,
        );
        let replica = |uid: &str, restarts: u32| {
            let mut p = pod(&format!("web-5d4f8c7b9-{uid}"), restarts);
            p.uid = uid.into();
            p.workload = crate::view::Workload { kind: "Deployment".into(), name: "web".into() };
            p
        };
        let counts = || -> Vec<(String, u64, u64)> {
            lock_unpoisoned(&cache.workloads)
                .iter()
                .map(|((ns, kind, name), n)| (format!("{ns}/{kind}/{name}"), n.restarts, n.terminations[0]))
                .collect()
        };
        ingest.apply(Event::Init);
        ingest.apply(Event::InitApply(replica("a", 3)));
        ingest.apply(Event::InitDone);
        assert_eq!(counts(), [], "the first list is the baseline");
        ingest.apply(Event::Apply(replica("a", 5)));
        assert_eq!(counts(), [("shop/Deployment/web".into(), 2, 2)]);
        ingest.apply(Event::Delete(replica("a", 6)));
        assert_eq!(counts(), [("shop/Deployment/web".into(), 3, 3)], "the deleted pod's last restart");
        ingest.apply(Event::Apply(replica("b", 2)));
        assert_eq!(counts(), [("shop/Deployment/web".into(), 5, 5)], "a pod created after the first list");
        ingest.apply(Event::Apply(replica("b", 2)));
        assert_eq!(counts(), [("shop/Deployment/web".into(), 5, 5)], "an unchanged status counts nothing");
        let long_run_failures =
            || lock_unpoisoned(&cache.workloads).iter().map(|(_, n)| n.long_run_failures).sum::<u64>();
        assert_eq!(long_run_failures(), 0, "every end so far ran 30 s");
        // An end after 20 minutes of running: the kubelet restarts it at once, no back-off.
        let mut slow = replica("b", 3);
        let ran_long = slow.containers[0]
            .last_termination()
            .map(|t| crate::view::Termination { started_at: t.finished_at.map(|f| f - 1200), ..t.clone() });
        slow.containers[0].set_last_termination(ran_long);
        ingest.apply(Event::Apply(slow));
        assert_eq!(long_run_failures(), 1);
        assert_eq!(counts(), [("shop/Deployment/web".into(), 6, 6)]);
        ingest.apply(Event::Delete(replica("b", 2)));
        clock.store(NOW + crate::history::WORKLOAD_HISTORY_IDLE_SECONDS - 60, Ordering::Relaxed);
        ingest.apply(Event::Apply(pod("other", 0)));
        assert_eq!(counts().len(), 1, "kept for 6 hours after the last pod");
        clock.store(NOW + crate::history::WORKLOAD_HISTORY_IDLE_SECONDS + 60, Ordering::Relaxed);
        ingest.apply(Event::Apply(pod("other", 0)));
        assert_eq!(counts(), [], "then forgotten");
    }
}

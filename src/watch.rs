//! The pod watch: a kube-runtime watcher feeding a reflector store of [`SlimPod`]s.
//!
//! Each event passes through [`track`] before it reaches the store, so the history a
//! container carries (restart baseline, crash-loop start, terminations) moves from the
//! old version of the pod to the new one. A relist keeps that history: the store swaps
//! its contents only when the list is complete, and pods gone by then are dropped whole.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};

use crate::Clock;
use crate::events::{EventCounts, Outcome, SlimEvent};
use crate::metrics::{ApiErrorLabels, PodLines, ReasonLabels, ResourceLabels, SelfMetrics, WatchEventLabels};
use crate::model::{SlimPod, Timestamp, track};

/// The Event counting state, shared by the event watch (writes), the pod watch (forgets
/// deleted pods) and scrapes (copy). Each holds the lock only briefly.
pub type SharedEvents = Arc<Mutex<EventCounts>>;

/// Locks the Event state; a panic elsewhere while holding it leaves the data usable.
pub fn lock(events: &SharedEvents) -> std::sync::MutexGuard<'_, EventCounts> {
    events.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Lamping and Veach's jump consistent hash.
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(b).unwrap_or(0)
}

/// A namespaced resource in one namespace, or in all of them.
pub fn scoped_api<K>(client: kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

/// The field selector of the Event watch and list: Events about Pods, within the scope's
/// own field selector (the excluded namespaces).
pub fn event_fields(scope_fields: Option<&str>) -> String {
    std::iter::once("involvedObject.kind=Pod").chain(scope_fields).collect::<Vec<_>>().join(",")
}

/// Where and what to watch.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub shard: Shard,
    /// Server-side timeout of each watch (`--watch-timeout`); `None`: kube's 290 s.
    pub watch_timeout: Option<u32>,
}

impl Scope {
    /// The watcher's base config: its timeout, no selectors yet.
    pub fn watcher_config(&self) -> watcher::Config {
        let config = watcher::Config::default();
        match self.watch_timeout {
            Some(seconds) => config.timeout(seconds),
            None => config,
        }
    }
}

/// A bounded name for an API error, used as the `kind` label.
pub fn error_kind(err: &watcher::Error) -> &'static str {
    let client_error = match err {
        watcher::Error::WatchError(status) => return status_kind(status.code),
        watcher::Error::NoResourceVersion => return "no_resource_version",
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => {
            e
        }
    };
    if timed_out(client_error) {
        return "timeout";
    }
    match client_error {
        kube::Error::Api(status) => status_kind(status.code),
        kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) | kube::Error::LinesCodecMaxLineLengthExceeded => {
            "decode"
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => "connection",
        kube::Error::Auth(_) => "auth",
        _ => "other",
    }
}

/// Whether the client's read or connect timeout is somewhere in the error's chain: a stalled
/// connection, which kube reports as a connection or read error.
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut pending = vec![err];
    while let Some(e) = pending.pop() {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
            // An io::Error's source() skips the error it wraps; look at that one too.
            pending.extend(io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)));
        }
        pending.extend(e.source());
    }
    false
}

fn status_kind(code: u16) -> &'static str {
    match code {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        410 => "gone",
        429 => "throttled",
        408 | 504 => "timeout",
        500..=599 => "server",
        _ => "other",
    }
}

/// Logs an API error loudly the first time it appears, then quietly until the watch recovers.
#[derive(Default)]
pub struct ErrorLog {
    last: Option<&'static str>,
}

impl ErrorLog {
    pub fn error(&mut self, resource: &str, kind: &'static str, err: &dyn std::error::Error) {
        let hint = match kind {
            "forbidden" => {
                " (the exporter's ServiceAccount needs list and watch on this resource: apply deploy/base's ClusterRole)"
            }
            "unauthorized" => " (the credentials were refused: check the kubeconfig or the ServiceAccount token)",
            "connection" => " (is the apiserver reachable? retrying with back-off)",
            "timeout" => {
                " (the apiserver or the network went silent for longer than --watch-timeout + 3 s; reconnecting with back-off)"
            }
            _ => "",
        };
        if kind == "gone" && self.last != Some(kind) {
            // Routine: the resourceVersion expired (etcd compaction, a long disconnection).
            tracing::info!(resource, error = %err, "watch expired (410 Gone): relisting");
        } else if self.last != Some(kind) {
            tracing::error!(resource, kind, error = %err, "watch failed{hint}");
        } else {
            tracing::debug!(resource, kind, error = %err, "watch still failing");
        }
        self.last = Some(kind);
    }

    /// Passes an event through, or counts and logs the error.
    pub fn check<K>(
        &mut self,
        item: Result<Event<K>, watcher::Error>,
        resource: &'static str,
        metrics: &SelfMetrics,
    ) -> Option<Event<K>> {
        match item {
            Ok(event) => {
                // `Init` comes before the list is even tried: only what the API sent proves recovery.
                if !matches!(event, Event::Init) {
                    self.ok(resource);
                }
                Some(event)
            }
            Err(err) => {
                let kind = error_kind(&err);
                metrics.api_errors.get_or_create(&ApiErrorLabels { resource, kind }).inc();
                self.error(resource, kind, &err);
                None
            }
        }
    }

    pub fn ok(&mut self, resource: &str) {
        if let Some(kind) = self.last.take() {
            tracing::info!(resource, previous_error = kind, "watch recovered");
        }
    }
}

/// The cache of one scope: its store, and when it was last in sync with the API.
#[derive(Clone)]
pub struct PodCache {
    pub store: Store<SlimPod>,
    /// Seconds since the epoch; 0 until the first list completes.
    pub last_sync: Arc<AtomicI64>,
    /// Counts changes to the store, so a rendered exposition knows when it is stale.
    pub changes: Arc<AtomicU64>,
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
}

impl PodIngest {
    /// A new, empty cache for `shard`, and the ingest that fills it.
    pub fn new(shard: Shard, metrics: SelfMetrics, events: SharedEvents, clock: Clock) -> (PodCache, PodIngest) {
        let (reader, writer) = reflector::store::<SlimPod>();
        let (ready, ready_rx) = tokio::sync::watch::channel(false);
        let cache =
            PodCache { store: reader.clone(), last_sync: Arc::default(), changes: Arc::default(), ready: ready_rx };
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
        let reader = &self.reader;
        // History from the cached version, what only the watch needed dropped, lines made.
        let ingested = |pod: SlimPod, baseline: bool| {
            let previous = reader.get(&ObjectRef::from_obj(&pod));
            PodLines::attach(track(previous.as_deref(), pod.settle(), now, baseline))
        };
        let (event, kind) = match event {
            Event::Init => {
                self.metrics.relists.get_or_create(&ResourceLabels { resource: RESOURCE }).inc();
                (Event::Init, "init")
            }
            Event::InitApply(pod) => (Event::InitApply(ingested(pod, self.first_list)), "init_apply"),
            Event::InitDone => {
                self.first_list = false;
                (Event::InitDone, "init_done")
            }
            Event::Apply(pod) => (Event::Apply(ingested(pod, false)), "apply"),
            Event::Delete(pod) => {
                lock(&self.events).forget_pod(pod.namespace(), pod.name());
                (Event::Delete(pod), "delete")
            }
        };
        self.writer.apply_watcher_event(&event);
        self.changes.fetch_add(1, Ordering::Release);
        self.metrics.watch_events.get_or_create(&WatchEventLabels { resource: RESOURCE, r#type: kind }).inc();
        if !self.first_list {
            self.last_sync.store(now, Ordering::Relaxed);
            self.ready.send_if_modified(|ready| !std::mem::replace(ready, true));
        }
    }
}

/// Starts the pod watch for one scope: returns its cache and the task that keeps it.
pub fn pods(
    client: kube::Client,
    scope: &Scope,
    metrics: SelfMetrics,
    events: SharedEvents,
    clock: Clock,
) -> (PodCache, impl Future<Output = ()> + Send + 'static) {
    let api: Api<SlimPod> = scoped_api(client, scope.namespace.as_deref());
    let mut config = scope.watcher_config();
    if let Some(l) = &scope.label_selector {
        config = config.labels(l);
    }
    if let Some(f) = &scope.field_selector {
        config = config.fields(f);
    }
    let (cache, mut ingest) = PodIngest::new(scope.shard, metrics.clone(), events, clock);
    let task = async move {
        let mut errors = ErrorLog::default();
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        while let Some(item) = stream.next().await {
            if let Some(event) = errors.check(item, "pods", &metrics) {
                ingest.apply(event);
            }
        }
    };
    (cache, task)
}

/// How often records of expired Events and deleted pods are dropped.
const EVENT_GC_INTERVAL: Duration = Duration::from_secs(60);

fn find_pod(caches: &[PodCache], namespace: &str, name: &str) -> Option<Arc<SlimPod>> {
    let key = ObjectRef::new(name).within(namespace);
    caches.iter().find_map(|c| c.store.get(&key))
}

/// Starts the watch of Events about Pods for one scope (field selector `involvedObject.kind=Pod`).
pub fn events(
    client: kube::Client,
    scope: &Scope,
    caches: Vec<PodCache>,
    state: SharedEvents,
    metrics: SelfMetrics,
    clock: Clock,
) -> impl Future<Output = ()> + Send + 'static {
    let api: Api<SlimEvent> = scoped_api(client, scope.namespace.as_deref());
    let config = scope.watcher_config().fields(&event_fields(scope.field_selector.as_deref()));
    let shard = scope.shard;
    async move {
        let resource = "events";
        tracing::debug!(caches = caches.len(), "event watch waiting for the pod caches");
        // Events are attributed through the pod cache: without the pods, every Event of
        // the first list would be an unknown pod, and the baseline would be lost.
        for cache in &caches {
            if !cache.wait_ready().await {
                return;
            }
        }
        tracing::debug!("pod caches ready: starting the event watch");
        let mut errors = ErrorLog::default();
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        let mut gc = tokio::time::interval(EVENT_GC_INTERVAL);
        loop {
            let item = tokio::select! {
                item = stream.next() => match item { Some(item) => item, None => break },
                _ = gc.tick() => {
                    let now = clock();
                    lock(&state).collect_garbage(now, |ns, name| find_pod(&caches, ns, name).is_some());
                    continue;
                }
            };
            let Some(event) = errors.check(item, resource, &metrics) else { continue };
            tracing::trace!(?event, "event watch");
            let kind = match event {
                Event::Init => {
                    metrics.relists.get_or_create(&ResourceLabels { resource }).inc();
                    "init"
                }
                Event::InitDone => {
                    lock(&state).baseline = false;
                    "init_done"
                }
                Event::InitApply(e) | Event::Apply(e)
                    if e.pod.as_ref().is_some_and(|p| !p.uid.is_empty() && !shard.owns(&p.uid)) =>
                {
                    metrics.events_ignored.get_or_create(&ReasonLabels { reason: "other_shard" }).inc();
                    "apply"
                }
                Event::InitApply(e) | Event::Apply(e) => {
                    metrics.events_seen.inc();
                    let outcome =
                        lock(&state).apply(&e, |ns, name| find_pod(&caches, ns, name).map(|p| p.uid().to_string()));
                    match outcome {
                        Outcome::Counted { .. } => {}
                        Outcome::Ignored(reason) => {
                            metrics.events_ignored.get_or_create(&ReasonLabels { reason }).inc();
                        }
                        Outcome::Unparsed => {
                            metrics.event_parse_failures.inc();
                        }
                    }
                    "apply"
                }
                Event::Delete(e) => {
                    lock(&state).delete(&e, clock());
                    "delete"
                }
            };
            metrics.watch_events.get_or_create(&WatchEventLabels { resource, r#type: kind }).inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_timeout_anywhere_in_the_chain_is_a_timeout() {
        use std::io::{Error as IoError, ErrorKind};
        // kube wraps the body error (whose cause is the read timeout) in an io::Error of kind Other.
        let stalled = IoError::other(IoError::from(ErrorKind::TimedOut));
        assert_eq!(error_kind(&watcher::Error::WatchFailed(kube::Error::ReadEvents(stalled))), "timeout");
        let reset = IoError::other(IoError::from(ErrorKind::ConnectionReset));
        assert_eq!(error_kind(&watcher::Error::WatchFailed(kube::Error::ReadEvents(reset))), "connection");
        let connect = kube::Error::Service(Box::new(IoError::from(ErrorKind::TimedOut)));
        assert_eq!(error_kind(&watcher::Error::WatchStartFailed(connect)), "timeout");
    }

    #[test]
    fn init_is_no_recovery() {
        let metrics = SelfMetrics::default();
        let mut log = ErrorLog::default();
        let forbidden = || {
            let status = kube::core::Status::failure("events is forbidden", "Forbidden").with_code(403);
            Err(watcher::Error::InitialListFailed(kube::Error::Api(status.boxed())))
        };
        assert!(log.check::<SlimPod>(forbidden(), "events", &metrics).is_none());
        assert!(log.check::<SlimPod>(Ok(Event::Init), "events", &metrics).is_some());
        assert_eq!(log.last, Some("forbidden"), "a relist that has not answered yet is no recovery");
        assert!(log.check::<SlimPod>(Ok(Event::InitDone), "events", &metrics).is_some());
        assert_eq!(log.last, None);
    }
}

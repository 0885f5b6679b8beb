//! The watches: kube-runtime watchers of Pods and of Events about Pods, one pair per
//! scope, feeding the store's ingest ([`PodIngest`], [`EventIngest`]). API errors are
//! counted by kind and logged once per outage ([`ErrorLog`]); the watchers back off and
//! relist on their own.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use kube::Api;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use crate::Clock;
use crate::counters::{ApiErrorLabels, SelfMetrics};
use crate::store::{EventIngest, PodCache, PodIngest, Prerender, Shard, SharedEvents};
use crate::view::{ApiErrorKind, SlimEvent, SlimPod};

/// A namespaced resource in one namespace, or in all of them.
pub(crate) fn scoped_api<K>(client: kube::Client, namespace: Option<&str>) -> Api<K>
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
pub(crate) fn event_fields(scope_fields: Option<&str>) -> String {
    std::iter::once("involvedObject.kind=Pod").chain(scope_fields).collect::<Vec<_>>().join(",")
}

/// The field selector of the Events about one pod (`diagnose`).
pub(crate) fn one_pod_event_fields(pod: &str) -> String {
    event_fields(Some(&format!("involvedObject.name={pod}")))
}

/// The field selector of the second Event watch: the controllers' `FailedCreate` (a pod
/// refused by a quota, Pod Security, a webhook), within the scope's own field selector.
pub(crate) fn refusal_fields(scope_fields: Option<&str>) -> String {
    std::iter::once("reason=FailedCreate").chain(scope_fields).collect::<Vec<_>>().join(",")
}

/// Where and what to watch, or list once: the one place a scope becomes the selectors of
/// the watches (`serve`) and of the lists (`scan`).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `None`: all namespaces.
    pub namespace: Option<String>,
    /// The pods' label selector (`--selector`).
    pub label_selector: Option<String>,
    /// The field selector of pods and Events: the excluded namespaces.
    pub field_selector: Option<String>,
    /// This replica's shard of the pods.
    pub shard: Shard,
    /// Server-side timeout of each watch (`--watch-timeout`); `None`: kube's 290 s.
    pub watch_timeout: Option<u32>,
}

impl Scope {
    /// The watcher's base config: its timeout, no selectors yet.
    fn watcher_config(&self) -> watcher::Config {
        let config = watcher::Config::default();
        match self.watch_timeout {
            Some(seconds) => config.timeout(seconds),
            None => config,
        }
    }

    /// The pod watch's config: the scope's label and field selectors.
    pub fn pod_watch_config(&self) -> watcher::Config {
        let mut config = self.watcher_config();
        if let Some(l) = &self.label_selector {
            config = config.labels(l);
        }
        if let Some(f) = &self.field_selector {
            config = config.fields(f);
        }
        config
    }

    /// The pod list's parameters: the same selectors as [`Self::pod_watch_config`].
    pub fn pod_list_params(&self) -> ListParams {
        let mut params = ListParams::default();
        if let Some(l) = &self.label_selector {
            params = params.labels(l);
        }
        if let Some(f) = &self.field_selector {
            params = params.fields(f);
        }
        params
    }

    /// The Event watch's config: Events about Pods ([`event_fields`]). Events carry no pod
    /// labels: the label selector applies to the pods they are matched with.
    pub fn event_watch_config(&self) -> watcher::Config {
        self.watcher_config().fields(&event_fields(self.field_selector.as_deref()))
    }

    /// The Event list's parameters: the same selector as [`Self::event_watch_config`].
    pub fn event_list_params(&self) -> ListParams {
        ListParams::default().fields(&event_fields(self.field_selector.as_deref()))
    }

    /// The config of the controllers' `FailedCreate` Event watch ([`refusal_fields`]).
    pub fn refusal_watch_config(&self) -> watcher::Config {
        self.watcher_config().fields(&refusal_fields(self.field_selector.as_deref()))
    }
}

/// A bounded name for an API error, used as the `kind` label.
pub(crate) fn error_kind(err: &watcher::Error) -> ApiErrorKind {
    let client_error = match err {
        watcher::Error::WatchError(status) => return status_kind(status.code),
        watcher::Error::NoResourceVersion => return ApiErrorKind::NoResourceVersion,
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => {
            e
        }
    };
    if timed_out(client_error) {
        return ApiErrorKind::Timeout;
    }
    match client_error {
        kube::Error::Api(status) => status_kind(status.code),
        kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) | kube::Error::LinesCodecMaxLineLengthExceeded => {
            ApiErrorKind::Decode
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => ApiErrorKind::Connection,
        kube::Error::Auth(_) => ApiErrorKind::Auth,
        _ => ApiErrorKind::Other,
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

fn status_kind(code: u16) -> ApiErrorKind {
    match code {
        401 => ApiErrorKind::Unauthorized,
        403 => ApiErrorKind::Forbidden,
        404 => ApiErrorKind::NotFound,
        410 => ApiErrorKind::Gone,
        429 => ApiErrorKind::Throttled,
        408 | 504 => ApiErrorKind::Timeout,
        500..=599 => ApiErrorKind::Server,
        _ => ApiErrorKind::Other,
    }
}

/// Logs an API error loudly the first time it appears, then quietly until the watch recovers.
#[derive(Default)]
pub(crate) struct ErrorLog {
    last: Option<ApiErrorKind>,
    /// Logs at debug only: a second watch of a resource whose first watch says it all.
    quiet: bool,
}

impl ErrorLog {
    pub(crate) fn quiet() -> Self {
        ErrorLog { last: None, quiet: true }
    }

    pub(crate) fn error(&mut self, resource: &str, kind: ApiErrorKind, err: &dyn std::error::Error) {
        let hint = match kind {
            ApiErrorKind::Forbidden => {
                " (the exporter's ServiceAccount needs list and watch on this resource: apply deploy/base's ClusterRole)"
            }
            ApiErrorKind::Unauthorized => {
                " (the credentials were refused: check the kubeconfig or the ServiceAccount token)"
            }
            ApiErrorKind::Connection => " (is the apiserver reachable? retrying with back-off)",
            ApiErrorKind::Timeout => {
                " (the apiserver or the network went silent for longer than --watch-timeout + 3 s; reconnecting with back-off)"
            }
            _ => "",
        };
        if self.quiet {
            tracing::debug!(resource, kind = kind.as_str(), error = %err, "second watch failed");
        } else if kind == ApiErrorKind::Gone && self.last != Some(kind) {
            // Routine: the resourceVersion expired (etcd compaction, a long disconnection).
            tracing::info!(resource, error = %err, "watch expired (410 Gone): relisting");
        } else if self.last != Some(kind) {
            tracing::error!(resource, kind = kind.as_str(), error = %err, "watch failed{hint}");
        } else {
            tracing::debug!(resource, kind = kind.as_str(), error = %err, "watch still failing");
        }
        self.last = Some(kind);
    }

    /// Passes an event through, or counts and logs the error.
    pub(crate) fn check<K>(
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

    pub(crate) fn ok(&mut self, resource: &str) {
        if let Some(kind) = self.last.take().filter(|_| !self.quiet) {
            tracing::info!(resource, previous_error = kind.as_str(), "watch recovered");
        }
    }
}

/// Starts the pod watch for one scope: returns its cache and the task that keeps it.
pub(crate) fn pod_watch(
    client: kube::Client,
    scope: &Scope,
    metrics: SelfMetrics,
    events: SharedEvents,
    clock: Clock,
    prerender: Prerender,
) -> (PodCache, impl Future<Output = ()> + Send + 'static) {
    let api: Api<SlimPod> = scoped_api(client, scope.namespace.as_deref());
    let config = scope.pod_watch_config();
    let (cache, mut ingest) = PodIngest::new(scope.shard, metrics.clone(), events, clock, prerender);
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

/// Starts the watch of Events about Pods for one scope (field selector
/// `involvedObject.kind=Pod`), once the pod caches have listed: Events are attributed
/// through them, and without the pods every Event of the first list would be an unknown
/// pod, and the baseline would be lost. Beside it, the controllers' `FailedCreate` Events
/// ([`refusal_fields`]), whose lists neither start nor end the baseline.
pub(crate) fn event_watch(
    client: kube::Client,
    scope: &Scope,
    mut ingest: EventIngest,
    metrics: SelfMetrics,
) -> impl Future<Output = ()> + Send + 'static {
    let api: Api<SlimEvent> = scoped_api(client, scope.namespace.as_deref());
    let config = scope.event_watch_config();
    let refusal_config = scope.refusal_watch_config();
    async move {
        tracing::debug!(caches = ingest.caches().len(), "event watch waiting for the pod caches");
        for cache in ingest.caches() {
            if !cache.wait_ready().await {
                return;
            }
        }
        tracing::debug!("pod caches ready: starting the event watch");
        let mut errors = ErrorLog::default();
        // The same resource, RBAC and apiserver as the pod Events: their log says it once.
        let mut refusal_errors = ErrorLog::quiet();
        let mut refusals_open = true;
        let mut refusals = watcher::watcher(api.clone(), refusal_config).default_backoff().boxed();
        let mut stream = watcher::watcher(api, config).default_backoff().boxed();
        let mut gc = tokio::time::interval(EVENT_GC_INTERVAL);
        loop {
            let item = tokio::select! {
                item = stream.next() => match item { Some(item) => item, None => break },
                item = refusals.next(), if refusals_open => {
                    let Some(item) = item else {
                        refusals_open = false;
                        continue;
                    };
                    match refusal_errors.check(item, "events", &metrics) {
                        Some(Event::Init | Event::InitDone) | None => {}
                        Some(event) => ingest.apply(event),
                    }
                    continue;
                }
                _ = gc.tick() => {
                    ingest.collect_garbage();
                    continue;
                }
            };
            if let Some(event) = errors.check(item, "events", &metrics) {
                tracing::trace!(?event, "event watch");
                ingest.apply(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_anywhere_in_the_chain_is_a_timeout() {
        use std::io::{Error as IoError, ErrorKind};
        // kube wraps the body error (whose cause is the read timeout) in an io::Error of kind Other.
        let stalled = IoError::other(IoError::from(ErrorKind::TimedOut));
        assert_eq!(error_kind(&watcher::Error::WatchFailed(kube::Error::ReadEvents(stalled))), ApiErrorKind::Timeout);
        let reset = IoError::other(IoError::from(ErrorKind::ConnectionReset));
        assert_eq!(error_kind(&watcher::Error::WatchFailed(kube::Error::ReadEvents(reset))), ApiErrorKind::Connection);
        let connect = kube::Error::Service(Box::new(IoError::from(ErrorKind::TimedOut)));
        assert_eq!(error_kind(&watcher::Error::WatchStartFailed(connect)), ApiErrorKind::Timeout);
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
        assert_eq!(log.last, Some(ApiErrorKind::Forbidden), "a relist that has not answered yet is no recovery");
        assert!(log.check::<SlimPod>(Ok(Event::InitDone), "events", &metrics).is_some());
        assert_eq!(log.last, None);
    }
}

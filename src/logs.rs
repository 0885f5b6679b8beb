//! The optional previous-log classifier (`--logs`).
//!
//! When a container has a new termination, the previous instance's log tail is fetched
//! once (`tailLines` and `limitBytes` capped, a cluster-wide rate limit), reduced to a
//! [`LogHint`] and dropped: the text is never kept, logged at info level, or exported.
//! Needs `get` on `pods/log`; without it, or without a kubelet, each fetch is counted by
//! result and the exporter carries on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::Api;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::diagnose::{classify_log, LogHint};
use crate::metrics::ResultLabels;
use crate::model::{SlimContainer, SlimPod};
use crate::watch::PodCache;

/// Lines and bytes read from the previous instance's log.
pub const TAIL_LINES: i64 = 100;
pub const LIMIT_BYTES: i64 = 64 * 1024;

type Key = (String, String, String);
/// The pod uid, the restart count and the hint of a container's last termination.
type Entry = (String, u32, Option<LogHint>);

/// The hint for each container's last termination, keyed by pod uid and restart count so
/// a newer termination never reads an older hint.
#[derive(Clone, Debug, Default)]
pub struct LogHints {
    map: Arc<Mutex<HashMap<Key, Entry>>>,
    changes: Arc<std::sync::atomic::AtomicU64>,
}

impl LogHints {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn key(pod: &SlimPod, c: &SlimContainer) -> Key {
        (pod.namespace().to_string(), pod.name().to_string(), c.name.to_string())
    }

    /// The hint for the container's current last termination, if one was fetched.
    pub fn get(&self, pod: &SlimPod, c: &SlimContainer) -> Option<LogHint> {
        match self.map().get(&Self::key(pod, c)) {
            Some((uid, restarts, hint)) if uid == pod.uid() && *restarts == c.restart_count => *hint,
            _ => None,
        }
    }

    fn fetched(&self, pod: &SlimPod, c: &SlimContainer) -> bool {
        self.map().get(&Self::key(pod, c)).is_some_and(|(uid, restarts, _)| uid == pod.uid() && *restarts == c.restart_count)
    }

    /// Changes so far: equal values mean unchanged hints.
    pub fn generation(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::Acquire)
    }

    fn set(&self, pod: &SlimPod, c: &SlimContainer, hint: Option<LogHint>) {
        self.changes.fetch_add(1, std::sync::atomic::Ordering::Release);
        self.map().insert(Self::key(pod, c), (pod.uid().to_string(), c.restart_count, hint));
    }

    fn retain(&self, exists: impl Fn(&Key) -> bool) {
        self.changes.fetch_add(1, std::sync::atomic::Ordering::Release);
        self.map().retain(|k, _| exists(k));
    }
}

/// The result label of `crashloop_exporter_log_fetches_total`.
pub fn fetch_result(err: &kube::Error) -> &'static str {
    match err {
        kube::Error::Api(s) if s.code == 400 || s.code == 404 => "not_found",
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => "forbidden",
        _ => "error",
    }
}

/// Reads the previous instance's log tail, capped at [`TAIL_LINES`] and [`LIMIT_BYTES`].
pub async fn fetch_previous(client: &kube::Client, namespace: &str, pod: &str, container: &str) -> Result<String, kube::Error> {
    let params = LogParams {
        container: Some(container.to_string()),
        previous: true,
        tail_lines: Some(TAIL_LINES),
        limit_bytes: Some(LIMIT_BYTES),
        ..LogParams::default()
    };
    Api::<Pod>::namespaced(client.clone(), namespace).logs(pod, &params).await
}

/// Fetches and classifies one previous log tail.
pub async fn fetch_hint(client: &kube::Client, pod: &SlimPod, container: &str) -> Result<Option<LogHint>, kube::Error> {
    Ok(classify_log(&fetch_previous(client, pod.namespace(), pod.name(), container).await?))
}

/// Watches the caches for new terminations and fetches their logs, at most `per_second`.
pub async fn run(client: kube::Client, caches: Vec<PodCache>, hints: LogHints, fetches: Family<ResultLabels, Counter>, per_second: f64) {
    let pause = Duration::from_secs_f64(1.0 / per_second.max(0.01));
    let mut forbidden_logged = false;
    loop {
        let pods: Vec<Arc<SlimPod>> = caches.iter().flat_map(|c| c.store.state()).collect();
        let mut fetched_any = false;
        for pod in &pods {
            for c in pod.containers.iter().filter(|c| c.last_termination().is_some() && c.restart_count > 0) {
                if hints.fetched(pod, c) {
                    continue;
                }
                let result = match fetch_hint(&client, pod, &c.name).await {
                    Ok(hint) => {
                        hints.set(pod, c, hint);
                        "ok"
                    }
                    Err(e) => {
                        let result = fetch_result(&e);
                        if result == "forbidden" && !forbidden_logged {
                            tracing::error!(error = %e, "cannot read previous logs: grant `get` on `pods/log` (deploy/overlays/logs), or drop --logs");
                            forbidden_logged = true;
                        }
                        tracing::debug!(namespace = pod.namespace(), pod = pod.name(), container = &*c.name, result, "previous log not read");
                        // Remembered as fetched: the same termination is not asked for again.
                        hints.set(pod, c, None);
                        result
                    }
                };
                fetches.get_or_create(&ResultLabels { result }).inc();
                fetched_any = true;
                tokio::time::sleep(pause).await;
            }
        }
        let live: std::collections::HashSet<(&str, &str)> = pods.iter().map(|p| (p.namespace(), p.name())).collect();
        hints.retain(|(ns, name, _)| live.contains(&(ns.as_str(), name.as_str())));
        if !fetched_any {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

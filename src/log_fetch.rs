//! The optional previous-log fetcher (`--logs`).
//!
//! When a container has a new failed termination, the log tail of the instance that
//! ended is fetched once (`tailLines` and `limitBytes` capped, a cluster-wide rate limit),
//! reduced to a [`LogHint`](crate::view::LogHint) by [`classify_log`] and dropped: the text is never kept, logged at info level, or
//! exported.
//!
//! Which instance's log that is, as a real kubelet reports a crash: a container that dies
//! at once is seen `terminated` with its new restartCount (the instance that ended is the
//! current one: `previous=false`), then waiting in back-off with that instance as
//! `lastState` (`previous=true`). A hint is keyed by the termination it describes
//! (restartCount and `finishedAt`), so the two reads of one crash are one fetch, and it
//! stands until the log of a newer termination has been read: between a crash and its
//! fetch, the container keeps the cause its previous crash's log gave.
//! Needs `get` on `pods/log`; without it, or without a kubelet, each fetch is counted by
//! result and the exporter carries on.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::counters::ResultLabels;
use crate::parse::classify_log;
use crate::store::{LogHints, LogRead, PodCache};
use crate::view::{LogFetchResult, SlimContainer, SlimPod, State};

/// Lines and bytes read from the previous instance's log.
pub(crate) const TAIL_LINES: i64 = 100;
pub(crate) const LIMIT_BYTES: i64 = 64 * 1024;

/// The result label of `crashloop_exporter_log_fetches_total`.
pub(crate) fn fetch_result(err: &kube::Error) -> LogFetchResult {
    match err {
        kube::Error::Api(s) if s.code == 400 || s.code == 404 => LogFetchResult::NotFound,
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => LogFetchResult::Forbidden,
        _ => LogFetchResult::Error,
    }
}

/// Reads the log tail of the container's latest termination, capped at [`TAIL_LINES`] and
/// [`LIMIT_BYTES`]: the current instance's while the container is terminated, else the
/// previous one's (see the module doc).
pub async fn fetch_termination_log(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    c: &SlimContainer,
) -> Result<String, kube::Error> {
    let params = LogParams {
        container: Some(c.name.to_string()),
        previous: !matches!(c.state, State::Terminated(_)),
        tail_lines: Some(TAIL_LINES),
        limit_bytes: Some(LIMIT_BYTES),
        ..LogParams::default()
    };
    Api::<Pod>::namespaced(client.clone(), namespace).logs(pod, &params).await
}

/// A container whose latest termination failed ([`SlimPod::failed`]) has a log worth reading.
pub fn worth_reading(pod: &SlimPod, c: &SlimContainer) -> bool {
    c.latest_termination().is_some_and(|t| pod.failed(c, t))
}

/// The containers of `pods` whose latest termination is worth reading and not read yet.
pub(crate) fn to_read<'a>(
    hints: &'a LogHints,
    pods: &'a [Arc<SlimPod>],
) -> impl Iterator<Item = (&'a SlimPod, &'a SlimContainer)> + 'a {
    pods.iter()
        .flat_map(|pod| pod.containers.iter().map(move |c| (&**pod, c)))
        .filter(|(pod, c)| worth_reading(pod, c) && !hints.fetched(pod, c))
}

/// Records what one fetch of a container's termination log gave: the hint of its text,
/// or after a failed fetch the hint held so far; the result is counted. The text is
/// dropped here.
pub(crate) fn record_fetch(
    hints: &LogHints,
    fetches: &Family<ResultLabels, Counter>,
    pod: &SlimPod,
    c: &SlimContainer,
    fetched: &Result<String, kube::Error>,
) -> LogFetchResult {
    let result = match fetched {
        Ok(text) => {
            hints.set(pod, c, LogRead::Read(classify_log(text)));
            LogFetchResult::Ok
        }
        // Remembered as fetched: the same termination is not asked for again.
        Err(e) => {
            hints.set(pod, c, LogRead::Failed);
            fetch_result(e)
        }
    };
    fetches.get_or_create(&ResultLabels { result }).inc();
    result
}

/// Watches the caches for new terminations and fetches their logs, at most `per_second`.
pub(crate) async fn run(
    client: kube::Client,
    caches: Vec<PodCache>,
    hints: LogHints,
    fetches: Family<ResultLabels, Counter>,
    per_second: f64,
) {
    let pause = Duration::from_secs_f64(1.0 / per_second.max(0.01));
    let mut forbidden_logged = false;
    loop {
        let pods: Vec<Arc<SlimPod>> = caches.iter().flat_map(|c| c.store.state()).collect();
        let mut fetched_any = false;
        for (pod, c) in to_read(&hints, &pods) {
            let fetched = fetch_termination_log(&client, pod.namespace(), pod.name(), c).await;
            let result = record_fetch(&hints, &fetches, pod, c, &fetched);
            if let Err(e) = &fetched {
                if result == LogFetchResult::Forbidden && !forbidden_logged {
                    tracing::error!(error = %e, "cannot read previous logs: grant `get` on `pods/log` (deploy/overlays/logs), or drop --logs");
                    forbidden_logged = true;
                }
                tracing::debug!(
                    namespace = pod.namespace(),
                    pod = pod.name(),
                    container = &*c.name,
                    result = result.as_str(),
                    "previous log not read"
                );
            }
            fetched_any = true;
            tokio::time::sleep(pause).await;
        }
        let live: std::collections::HashSet<(&str, &str)> = pods.iter().map(|p| (p.namespace(), p.name())).collect();
        hints.retain(|(ns, name, _)| live.contains(&(ns.as_str(), name.as_str())));
        if !fetched_any {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::LogHint;
    use serde_json::json;

    /// The dependency pod as the real kubelet writes it around its third crash.
    fn pod(restarts: u32, state: serde_json::Value, last_finished: &str) -> SlimPod {
        serde_json::from_value(json!({
            "metadata": {"name": "dependency", "namespace": "ns", "uid": "u"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"containerStatuses": [{"name": "app", "restartCount": restarts, "state": state,
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": last_finished, "finishedAt": last_finished}}}]}
        }))
        .expect("pod")
    }

    #[test]
    fn one_read_per_crash_and_the_hint_stands_until_a_newer_one() {
        let hints = LogHints::default();
        let backoff = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container=app pod=dependency_ns(u)"}});
        let waiting = pod(1, backoff.clone(), "2026-12-02T00:43:43Z");
        let c = &waiting.containers[0];
        assert!(worth_reading(&waiting, c) && !hints.fetched(&waiting, c));
        hints.set(&waiting, c, LogRead::Read(Some(LogHint::DependencyUnavailable)));
        assert!(hints.fetched(&waiting, c));
        assert_eq!(hints.get(&waiting, c), Some(LogHint::DependencyUnavailable));

        // It crashes again at once: terminated with the new restart count, never running.
        let crashed = pod(
            2,
            json!({"terminated": {"exitCode": 1, "reason": "Error",
            "startedAt": "2026-12-02T00:43:55Z", "finishedAt": "2026-12-02T00:43:55Z"}}),
            "2026-12-02T00:43:43Z",
        );
        let c = &crashed.containers[0];
        assert!(!hints.fetched(&crashed, c), "a new termination is read");
        assert_eq!(hints.get(&crashed, c), Some(LogHint::DependencyUnavailable), "the last hint stands until then");
        hints.set(&crashed, c, LogRead::Failed);
        assert_eq!(hints.get(&crashed, c), Some(LogHint::DependencyUnavailable), "a failed read keeps it");
        hints.set(&crashed, c, LogRead::Read(Some(LogHint::DependencyUnavailable)));

        // Then in back-off with that termination as lastState: the same crash, no new read.
        let waiting = pod(2, backoff, "2026-12-02T00:43:55Z");
        assert!(hints.fetched(&waiting, &waiting.containers[0]));

        // A newer read replaces the hint, and another pod of the same name reads nothing.
        hints.set(&waiting, &waiting.containers[0], LogRead::Read(None));
        assert_eq!(hints.get(&waiting, &waiting.containers[0]), None);
        hints.set(&waiting, &waiting.containers[0], LogRead::Read(Some(LogHint::ConfigError)));
        let mut other = waiting.clone();
        other.uid = "v".into();
        assert_eq!(hints.get(&other, &other.containers[0]), None);
    }
}

//! `scan`: every troubled container of the cluster, one row each.

use std::collections::HashMap;

use kube::api::ListParams;
use serde::Serialize;

use super::{list_all, opt, rfc3339, signal_name, table};
use crate::config::{ClusterArgs, Output};
use crate::event_counts::EventCounts;
use crate::history::track;
use crate::verdict::{Cause, ContainerReport, assess};
use crate::view::{LogHint, SlimContainer, SlimEvent, SlimPod, State, Timestamp};
use crate::watch::{event_fields, scoped_api};

/// One troubled container, as `scan` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub container_type: &'static str,
    pub workload: String,
    pub restarts: u32,
    pub state: String,
    pub crashlooping: bool,
    pub last_exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub last_reason: Option<&'static str>,
    /// `None` for a container that is not troubled.
    pub cause: Option<&'static str>,
    pub backoff_seconds: Option<f64>,
    pub next_restart: Option<String>,
    pub memory_limit_bytes: Option<u64>,
}

fn state_text(c: &SlimContainer) -> String {
    match &c.state {
        State::Waiting(w) => w.reason.as_str().to_string(),
        State::Terminated(t) => format!("Terminated:{}", t.reason.as_str()),
        other => other.label().to_string(),
    }
}

/// Builds a row from a report.
pub fn row(pod: &SlimPod, r: &ContainerReport) -> Row {
    let c = r.container;
    let last = c.latest_termination();
    Row {
        namespace: pod.namespace().into(),
        pod: pod.name().into(),
        container: c.name.to_string(),
        container_type: c.container_type.as_str(),
        workload: format!("{}/{}", pod.workload.kind, pod.workload.name),
        restarts: c.restart_count,
        state: state_text(c),
        crashlooping: r.crashlooping,
        last_exit_code: last.map(|t| t.exit_code),
        signal: last.and_then(|t| t.signal()),
        last_reason: last.map(|t| t.reason.as_str()),
        cause: r.cause.map(Cause::as_str),
        backoff_seconds: r.backoff.delay_seconds(),
        next_restart: r.backoff.next_restart.map(rfc3339),
        memory_limit_bytes: c.memory_limit_bytes,
    }
}

/// Lists the pods and their Events once, and returns the troubled containers.
pub async fn scan(client: &kube::Client, cluster: &ClusterArgs, now: Timestamp) -> Result<Vec<Row>, kube::Error> {
    let mut pods = Vec::new();
    let mut events = Vec::new();
    for ns in cluster.scopes() {
        let mut params = ListParams::default();
        if let Some(l) = &cluster.selector {
            params = params.labels(l);
        }
        if let Some(f) = cluster.field_selector() {
            params = params.fields(&f);
        }
        pods.extend(list_all(&scoped_api::<SlimPod>(client.clone(), ns.as_deref()), params).await?);
        let fields = event_fields(cluster.field_selector().as_deref());
        // Events only sharpen the causes: without permission to list them, carry on.
        match list_all(&scoped_api::<SlimEvent>(client.clone(), ns.as_deref()), ListParams::default().fields(&fields))
            .await
        {
            Ok(list) => events.extend(list),
            Err(e) => tracing::warn!(error = %e, "cannot list events; causes rely on pod status only"),
        }
    }
    Ok(Snapshot::of(pods, &events, now).rows(&|_, _| None, now))
}

/// The one-shot pipeline of `scan` and `diagnose`: the pods decoded and tracked, and their
/// Events counted, as the server's watches do, for [`assess`] (the one verdict).
pub struct Snapshot {
    pods: Vec<SlimPod>,
    counts: EventCounts,
}

impl Snapshot {
    /// A snapshot of `pods` (as listed) and `events`: the restarts before it are the
    /// baseline, every Event counts.
    pub fn of(pods: Vec<SlimPod>, events: &[SlimEvent], now: Timestamp) -> Self {
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

    /// The troubled containers, one row each; `logs` gives the hint of a container's
    /// classified log, where one was read.
    pub fn rows(&self, logs: &dyn Fn(&SlimPod, &SlimContainer) -> Option<LogHint>, now: Timestamp) -> Vec<Row> {
        let mut rows = Vec::new();
        for pod in &self.pods {
            let pod_events = self.counts.pod(pod.namespace(), pod.name());
            let hints = |c: &SlimContainer| logs(pod, c);
            for r in assess(pod, pod_events, &hints, now, false).iter().filter(|r| r.cause.is_some()) {
                rows.push(row(pod, r));
            }
        }
        rows
    }
}

/// Renders `scan`'s output.
pub fn render_scan(rows: &[Row], output: Output) -> String {
    if output == Output::Json {
        return serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n";
    }
    if rows.is_empty() {
        return "No troubled containers.\n".into();
    }
    let wide = output == Output::Wide;
    let mut headers = vec![
        "NAMESPACE",
        "POD",
        "CONTAINER",
        "WORKLOAD",
        "RESTARTS",
        "STATE",
        "EXIT",
        "SIGNAL",
        "CAUSE",
        "BACKOFF",
        "NEXT-RESTART",
    ];
    if wide {
        headers.extend(["TYPE", "LOOPING", "LAST-REASON", "MEMORY-LIMIT"]);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.namespace.clone(),
                r.pod.clone(),
                r.container.clone(),
                r.workload.clone(),
                r.restarts.to_string(),
                r.state.clone(),
                opt(r.last_exit_code),
                opt(r.signal.map(signal_name)),
                opt(r.cause),
                opt(r.backoff_seconds.map(|s| format!("{s}s"))),
                opt(r.next_restart.clone()),
            ];
            if wide {
                cells.extend([
                    r.container_type.to_string(),
                    r.crashlooping.to_string(),
                    opt(r.last_reason),
                    opt(r.memory_limit_bytes),
                ]);
            }
            cells
        })
        .collect();
    table(&headers, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!("{}/tests/fixtures/real-node/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
    }

    /// One verdict, two faces: what the real node wrote (its pods, Events and the logs the
    /// server read, `tests/fixtures/real-node/`) gives `scan` the same troubled containers,
    /// with the same causes, as `/metrics` has in `tests/golden/real-node.prom`.
    #[test]
    fn scan_names_the_causes_metrics_names_on_the_real_nodes_fixtures() {
        let now = fixture("now.json")["now"].as_i64().expect("now");
        let items = |name: &str, key: &str| fixture(name)[key].as_array().cloned().unwrap_or_default();
        let pods: Vec<SlimPod> =
            items("pods.json", "items").into_iter().map(|p| serde_json::from_value(p).expect("a slim pod")).collect();
        let events: Vec<SlimEvent> = items("events.json", "items")
            .into_iter()
            .map(|e| serde_json::from_value(e).expect("a slim event"))
            .collect();
        let logs: HashMap<(String, String, String), Option<LogHint>> = items("logs.json", "items")
            .into_iter()
            .map(|l| {
                let key = |k: &str| l[k].as_str().unwrap_or_default().to_string();
                let hint = l["text"].as_str().and_then(crate::parse::classify_log);
                ((key("namespace"), key("pod"), key("container")), hint)
            })
            .collect();
        let hint = |pod: &SlimPod, c: &SlimContainer| {
            logs.get(&(pod.namespace().to_string(), pod.name().to_string(), c.name.to_string())).copied().flatten()
        };
        let scan: BTreeSet<String> = Snapshot::of(pods, &events, now)
            .rows(&hint, now)
            .iter()
            .map(|r| {
                format!(
                    r#"namespace="{}",pod="{}",container="{}",container_type="{}",cause="{}""#,
                    r.namespace,
                    r.pod,
                    r.container,
                    r.container_type,
                    r.cause.unwrap_or_default()
                )
            })
            .collect();
        let golden = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/real-node.prom"))
            .expect("golden file");
        let metrics: BTreeSet<String> = golden
            .lines()
            .filter_map(|l| l.strip_prefix("crashloop_container_probable_cause{")?.strip_suffix("} 1"))
            .map(str::to_string)
            .collect();
        assert!(!metrics.is_empty());
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>();
        assert_eq!((only(&scan, &metrics), only(&metrics, &scan)), (vec![], vec![]), "(only scan, only /metrics)");
    }
}

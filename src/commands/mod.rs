//! The `scan` and `diagnose` commands: the same verdicts as `/metrics` (they call
//! [`crate::verdict::assess`] on pods decoded and tracked as the watches do), for a
//! terminal or a script, in one shot.

mod diagnose;
mod scan;
mod snapshot;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use kube::Api;
use kube::api::ListParams;

pub use diagnose::{Diagnosis, diagnose, render_diagnosis};
use scan::rows_table;
pub use scan::{Row, render_scan, row, scan};
use snapshot::{Logs, ReadLog};

use crate::log_fetch::{fetch_result, fetch_termination_log};
use crate::parse::{classify_log, signal_name};
use crate::view::{SlimContainer, SlimPod};

/// Previous logs read at once, at most: a one-shot command asks the kubelets gently.
const CONCURRENT_LOG_READS: usize = 4;

/// Reads the previous log of each container, as the server's log fetcher reads it
/// ([`fetch_termination_log`]: the same tail and byte limits), and classifies it.
async fn read_logs(client: &kube::Client, containers: Vec<(&SlimPod, &SlimContainer)>) -> Logs {
    use futures::StreamExt;
    futures::stream::iter(containers)
        .map(|(pod, c)| async move {
            let read = match fetch_termination_log(client, pod.namespace(), pod.name(), c).await {
                Ok(text) => ReadLog { result: "ok", hint: classify_log(&text), text },
                Err(e) => {
                    let why = match &e {
                        kube::Error::Api(s) => format!(
                            "{} (HTTP {}): no previous instance, no kubelet, or no permission",
                            s.message, s.code
                        ),
                        other => other.to_string(),
                    };
                    ReadLog { result: fetch_result(&e), text: why, hint: None }
                }
            };
            (snapshot::container_key(pod, c), read)
        })
        .buffer_unordered(CONCURRENT_LOG_READS)
        .collect()
        .await
}

fn rfc3339(t: f64) -> String {
    k8s_openapi::jiff::Timestamp::from_second(t as i64).map(|t| t.to_string()).unwrap_or_default()
}

/// Lists every page of a resource.
async fn list_all<K>(api: &Api<K>, params: ListParams) -> Result<Vec<K>, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut params = params.limit(500);
    let mut items = Vec::new();
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// Formats rows as aligned columns.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut headers.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

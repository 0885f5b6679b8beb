//! What the one-shot commands read from the API: every page of a list, and the previous
//! logs, read and classified as the server's log fetcher reads them.

use kube::Api;
use kube::api::ListParams;

use super::snapshot::{Logs, ReadLog, container_key};
use crate::log_fetch::{fetch_result, fetch_termination_log};
use crate::parse::classify_log;
use crate::view::{LogFetchResult, SlimContainer, SlimPod};

/// Lists every page of a resource.
pub(super) async fn list_all<K>(api: &Api<K>, params: ListParams) -> Result<Vec<K>, kube::Error>
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

/// Previous logs read at once, at most: a one-shot command asks the kubelets gently.
const CONCURRENT_LOG_READS: usize = 4;

/// Reads the previous log of each container, as the server's log fetcher reads it
/// ([`fetch_termination_log`]: the same tail and byte limits), and classifies it.
pub(super) async fn read_logs(client: &kube::Client, containers: Vec<(&SlimPod, &SlimContainer)>) -> Logs {
    use futures::StreamExt;
    futures::stream::iter(containers)
        .map(|(pod, c)| async move {
            let read = match fetch_termination_log(client, pod.namespace(), pod.name(), c).await {
                Ok(text) => ReadLog { result: LogFetchResult::Ok.as_str(), hint: classify_log(&text), text },
                Err(e) => {
                    let why = match &e {
                        kube::Error::Api(s) => format!(
                            "{} (HTTP {}): no previous instance, no kubelet, or no permission",
                            s.message, s.code
                        ),
                        other => other.to_string(),
                    };
                    ReadLog { result: fetch_result(&e).as_str(), text: why, hint: None }
                }
            };
            (container_key(pod, c), read)
        })
        .buffer_unordered(CONCURRENT_LOG_READS)
        .collect()
        .await
}

//! Writing to the API what a controller or a kubelet would: namespaces, pods, pod status,
//! events. Every helper is one real API call (or two) with the given client.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

use super::fixtures::{EventSpec, event_manifest};
use super::{Error, Result};

/// Installs rustls' ring provider once (the error of a second install is ignored).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for the current context of the kubeconfig at `path`.
pub async fn client_from_kubeconfig(path: &Path) -> Result<Client> {
    client_from(Kubeconfig::read_from(path)?).await
}

pub(super) async fn client_from_yaml(yaml: &str) -> Result<Client> {
    client_from(Kubeconfig::from_yaml(yaml)?).await
}

async fn client_from(kubeconfig: Kubeconfig) -> Result<Client> {
    install_crypto_provider();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Creates namespace `ns` unless it exists.
pub async fn ensure_namespace(client: &Client, ns: &str) -> Result<()> {
    let namespace: Namespace = serde_json::from_value(json!({ "metadata": { "name": ns } }))?;
    match Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &namespace).await {
        Err(e) if !is_status(&e, 409) => Err(e.into()),
        _ => Ok(()),
    }
}

/// Creates a pod from a manifest (see [`pod`](super::pod), [`deployment_pod`](super::deployment_pod))
/// and returns it as stored, with its uid.
pub async fn create_pod(client: &Client, ns: &str, manifest: &Value) -> Result<Pod> {
    let pod: Pod = serde_json::from_value(manifest.clone())?;
    Ok(Api::<Pod>::namespaced(client.clone(), ns).create(&PostParams::default(), &pod).await?)
}

/// Writes a pod's status as the kubelet does: a strategic-merge PATCH of the `status`
/// subresource with `{"status": status}` (see [`pod_status`](super::pod_status)).
pub async fn patch_status(client: &Client, ns: &str, name: &str, status: &Value) -> Result<Pod> {
    let patch = Patch::Strategic(json!({ "status": status }));
    Ok(Api::<Pod>::namespaced(client.clone(), ns).patch_status(name, &PatchParams::default(), &patch).await?)
}

/// Deletes a pod at once (`gracePeriodSeconds: 0`) and waits until it is gone; a missing pod
/// is not an error. Without grace period 0, a pod bound to a node only gets a
/// `deletionTimestamp` and waits for a kubelet that does not exist.
pub async fn delete_pod(client: &Client, ns: &str, name: &str) -> Result<()> {
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let params = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
    match pods.delete(name, &params).await {
        Err(e) if is_status(&e, 404) => return Ok(()),
        other => other?,
    };
    for _ in 0..100 {
        if pods.get_opt(name).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Timeout(format!("pod {ns}/{name} still exists 10 s after deletion")))
}

/// Records an event as the kubelet does (POST to core/v1 events).
pub async fn post_event(client: &Client, ns: &str, spec: &EventSpec) -> Result<Event> {
    let event: Event = serde_json::from_value(event_manifest(ns, spec))?;
    Ok(Api::<Event>::namespaced(client.clone(), ns).create(&PostParams::default(), &event).await?)
}

/// Bumps an event's count as the kubelet's event correlator does when the same event
/// happens again: a strategic-merge PATCH of `count` and `lastTimestamp`.
pub async fn patch_event_count(
    client: &Client,
    ns: &str,
    name: &str,
    count: i32,
    last_timestamp: &str,
) -> Result<Event> {
    let patch = Patch::Strategic(json!({ "count": count, "lastTimestamp": last_timestamp }));
    Ok(Api::<Event>::namespaced(client.clone(), ns).patch(name, &PatchParams::default(), &patch).await?)
}

/// Writes one occurrence of an event as the kubelet's recorder does: a new event is POSTed,
/// a repeat PATCHes `count` and `lastTimestamp`; a PATCH of an event that is gone (TTL) POSTs
/// it again under the same name, and a POST of a name that exists PATCHes it.
pub async fn record_event(client: &Client, ns: &str, spec: &EventSpec, create: bool) -> Result<Event> {
    if create {
        match post_event(client, ns, spec).await {
            Err(Error::Kube(e)) if is_status(&e, 409) => {}
            other => return other,
        }
    }
    match patch_event_count(client, ns, &spec.name, spec.count, &spec.last_timestamp).await {
        Err(Error::Kube(e)) if is_status(&e, 404) => post_event(client, ns, spec).await,
        other => other,
    }
}

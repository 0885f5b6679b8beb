//! What the cluster tests share beyond the test bed: the exporter binary cargo built for
//! them, Prometheus configurations made from the shipped ones, a webhook for Alertmanager,
//! and small waits. The harness itself is the test bed's (`crashloop_testbed::{exporter,
//! http, prometheus}`), re-exported here under the names the tests use.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crashloop_testbed as testbed;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::Value;

pub(crate) use crashloop_testbed::exporter::{Exporter, pod_lines, promtool_check_metrics, samples};
pub(crate) use crashloop_testbed::http::{http_get, post10};
pub(crate) use crashloop_testbed::prometheus::{Proc, api, encode, query};
pub(crate) use crashloop_testbed::{TempDir, free_port};

/// The exporter binary cargo built for this test binary, for [`Exporter::start`].
pub(crate) const EXPORTER: &str = env!("CARGO_BIN_EXE_crashloop-exporter");

/// `deploy/prometheus/scrape-config.yaml` (a `scrape_configs` job with Kubernetes service
/// discovery) rewritten for a Prometheus on loopback: the `kubernetes_sd_configs` block becomes
/// a `file_sd_configs` reading `targets_file`, whose targets carry the `__meta_kubernetes_*`
/// labels Kubernetes discovery would set, so the job's own relabeling decides what is kept.
/// (Debian's Prometheus is built without Kubernetes discovery.) `interval` replaces the
/// scrape interval and timeout. Everything else is the shipped file, line for line.
pub(crate) fn scrape_config_with_file_sd(targets_file: &Path, interval: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/scrape-config.yaml");
    let shipped = std::fs::read_to_string(&path).expect("deploy/prometheus/scrape-config.yaml");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    let mut skip_deeper_than: Option<usize> = None;
    let mut replaced = false;
    for line in shipped.lines() {
        if let Some(depth) = skip_deeper_than {
            if line.trim().is_empty() || indent(line) > depth {
                continue;
            }
            skip_deeper_than = None;
        }
        let key = line.trim_start();
        if key.starts_with("kubernetes_sd_configs:") {
            let pad = " ".repeat(indent(line));
            out.push(format!("{pad}file_sd_configs:"));
            out.push(format!("{pad}  - files: ['{}']", targets_file.display()));
            out.push(format!("{pad}    refresh_interval: 1s"));
            skip_deeper_than = Some(indent(line));
            replaced = true;
        } else if key.starts_with("scrape_interval:") || key.starts_with("scrape_timeout:") {
            let name = key.split(':').next().unwrap_or_default();
            out.push(format!("{}{name}: {interval}", " ".repeat(indent(line))));
        } else {
            out.push(line.to_string());
        }
    }
    assert!(replaced, "scrape-config.yaml has no kubernetes_sd_configs");
    out.join("\n") + "\n"
}

/// A file_sd target group as Kubernetes endpoints discovery would describe one port of a
/// Service: `service_label` is its `app.kubernetes.io/name` label, `port_name` the port's name.
pub(crate) fn kubernetes_endpoint_target(addr: &str, service_label: &str, port_name: &str) -> serde_json::Value {
    serde_json::json!({
        "targets": [addr],
        "labels": {
            "__meta_kubernetes_namespace": "crashloop-exporter",
            "__meta_kubernetes_service_name": service_label,
            "__meta_kubernetes_service_label_app_kubernetes_io_name": service_label,
            "__meta_kubernetes_endpoint_port_name": port_name,
        },
    })
}

/// Creates Deployment pod `app-6c8f7d9b5-<suffix>` in `ns` (made if missing), its container
/// `main` running; returns the pod as stored.
pub(crate) async fn running_pod(ns: &str, suffix: &str) -> k8s_openapi::api::core::v1::Pod {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let manifest = testbed::deployment_pod(
        ns,
        "app",
        "6c8f7d9b5",
        suffix,
        vec![testbed::container("main", "registry.example/app:1")],
    );
    let pod = testbed::create_pod(&client, ns, &manifest).await.expect("create pod");
    let status =
        testbed::pod_status(&pod, "Running", vec![testbed::running_status("main", 0, &testbed::ago(30), None)]);
    testbed::patch_status(&client, ns, &format!("app-6c8f7d9b5-{suffix}"), &status).await.expect("running");
    pod
}

/// A line for CI's log: written to stderr directly, past the test harness' capture.
pub(crate) fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Polls `check` every 250 ms until it returns Some, or panics with `what` after `timeout`.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the webhook received: arrival time and the Alertmanager payload.
pub(crate) type Received = Arc<Mutex<Vec<(Instant, Value)>>>;

/// Serves `POST /hook` on `addr`, storing every JSON payload.
pub(crate) async fn serve_webhook(addr: SocketAddr, received: Received) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind webhook");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let received = received.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let received = received.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        if path == "/hook" {
                            match serde_json::from_slice::<Value>(&body) {
                                Ok(v) => received.lock().unwrap().push((Instant::now(), v)),
                                Err(e) => eprintln!("e2e: webhook got a body that is not JSON: {e}"),
                            }
                        }
                        let status = if path == "/hook" { 200 } else { 404 };
                        Ok::<_, Infallible>(Response::builder().status(status).body(Full::new(Bytes::new())).unwrap())
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
}

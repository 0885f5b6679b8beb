//! The HTTP endpoints: `/metrics`, `/healthz`, `/readyz` and a landing page at `/`.
//!
//! A scrape renders on the blocking pool, so it never holds up the watch tasks, and the
//! store is only read-locked long enough to clone its `Arc`s.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const LANDING: &str = r#"<!doctype html>
<html><head><title>crashloop-exporter</title></head>
<body><h1>crashloop-exporter</h1>
<p>Which Kubernetes containers are crash-looping, and most likely why.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li><li><a href="readyz">/readyz</a></li></ul>
</body></html>
"#;

/// What the endpoints serve from.
#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    /// Set once every cache has completed its first list.
    pub ready: Arc<AtomicBool>,
}

/// The exposition format and encoding a scrape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub openmetrics: bool,
    pub gzip: bool,
}

/// Reads the `Accept` and `Accept-Encoding` headers.
pub fn negotiate(accept: Option<&str>, accept_encoding: Option<&str>) -> Negotiated {
    let openmetrics = accept.is_some_and(|a| {
        a.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            let media = fields.next().unwrap_or("");
            let q_zero = fields.any(|f| f.replace(' ', "") == "q=0");
            media.eq_ignore_ascii_case("application/openmetrics-text") && !q_zero
        })
    });
    let gzip = accept_encoding.is_some_and(|e| {
        e.split(',').any(|part| {
            let mut fields = part.split(';').map(str::trim);
            fields.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip")) && !fields.any(|f| f.replace(' ', "") == "q=0")
        })
    });
    Negotiated { openmetrics, gzip }
}

/// Renders the registry in the negotiated format.
pub fn render(registry: &Registry, openmetrics: bool) -> Result<String, std::fmt::Error> {
    let mut out = String::with_capacity(64 * 1024);
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, registry)?;
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?;
    }
    Ok(out)
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 8), flate2::Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

async fn metrics(state: &AppState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let header = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let want = negotiate(header(ACCEPT), header(ACCEPT_ENCODING));
    let registry = state.registry.clone();
    let rendered = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let body = render(&registry, want.openmetrics).map_err(|e| format!("encoding failed: {e}"))?;
        if want.gzip { gzip(body.as_bytes()).map_err(|e| format!("gzip failed: {e}")) } else { Ok(body.into_bytes()) }
    })
    .await;
    let body = match rendered {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "rendering /metrics failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "rendering metrics failed; see the exporter's log\n");
        }
        Err(e) => {
            tracing::error!(error = %e, "the render task failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "rendering metrics failed; see the exporter's log\n");
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let content_type = if want.openmetrics { OPENMETRICS } else { prometheus_client::encoding::prometheus_text::CONTENT_TYPE };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if want.gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

async fn route(state: AppState, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n"));
    }
    let response = match req.uri().path() {
        "/metrics" => metrics(&state, &req).await,
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if state.ready.load(Ordering::Acquire) => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready: the initial list of pods has not completed\n"),
        "/" => {
            let mut r = text(StatusCode::OK, LANDING);
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            r
        }
        _ => text(StatusCode::NOT_FOUND, "not found: try /metrics\n"),
    };
    Ok(response)
}

/// Binds the listener; a separate step so a bad address fails before the watches start.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, crate::Error> {
    TcpListener::bind(addr).await.map_err(|e| crate::Error::Listen(addr, e))
}

/// Serves until `shutdown` resolves, then lets open requests finish for up to 5 seconds.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let state = state.clone();
                let service = service_fn(move |req| route(state.clone(), req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .max_buf_size(64 * 1024)
                    .serve_connection(TokioIo::new(tcp), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await.is_err() {
        tracing::warn!("open connections did not finish within 5 s");
    }
}

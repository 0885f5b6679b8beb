//! The HTTP endpoints: `/metrics`, `/healthz`, `/readyz` and a landing page at `/`.
//!
//! Connections are bounded ([`Listening::max_connections`]; a slow or idle one gives way to a
//! new one) and timed: request headers (and a TLS handshake, and a keep-alive wait) within
//! 10 s, 64 KiB of them at most (else 431), and each request answered within 30 s. TLS and
//! basic auth come from the web config file ([`crate::webconfig`]) and cover every path.
//!
//! A scrape renders on the blocking pool, so it never holds up the watch tasks, and the
//! store is only read-locked long enough to clone its `Arc`s. The body is sent chunk by
//! chunk while it renders ([`crate::exposition::Rendering`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::exposition::Format;
use crate::sync::lock_unpoisoned;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, VARY, WWW_AUTHENTICATE,
};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

use crate::webconfig::{Check, WebConfig};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Time to send a request's headers, to finish a TLS handshake, and to start the next request
/// on a kept-alive connection.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time from a request's headers to the end of its response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Request line and headers larger than this get 431.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How long a new connection waits for the idle one it replaces to close its socket.
const EVICTION_WAIT: Duration = Duration::from_secs(1);
/// Default of `--web.max-connections`.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 64;
const LANDING: &str = r#"<!doctype html>
<html><head><title>crashloop-exporter</title></head>
<body><h1>crashloop-exporter</h1>
<p>Which Kubernetes containers are crash-looping, and most likely why.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li><li><a href="readyz">/readyz</a></li></ul>
</body></html>
"#;

/// What the endpoints serve from.
#[derive(Clone)]
pub(crate) struct AppState {
    pub exposition: Arc<crate::exposition::Exposition>,
    /// Set once every cache has completed its first list.
    pub ready: Arc<AtomicBool>,
}

/// The exposition format and encoding a scrape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub openmetrics: bool,
    pub gzip: bool,
}

/// Reads the `Accept` and `Accept-Encoding` headers.
pub(crate) fn negotiate(accept: Option<&str>, accept_encoding: Option<&str>) -> Negotiated {
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
            fields.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && !fields.any(|f| f.replace(' ', "") == "q=0")
        })
    });
    Negotiated { openmetrics, gzip }
}

/// A response body: a fixed text, or a `/metrics` body sent chunk by chunk as it renders.
type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// Sends `rendering`'s chunks as they come; a render that fails after the first chunk ends
/// the body with an error, so the client sees a broken response rather than a short one.
fn streamed(rendering: Arc<crate::exposition::Rendering>) -> Body {
    let chunks = futures::stream::unfold((rendering, 0), |(rendering, i)| async move {
        let chunk = rendering.chunk(i).await?;
        Some((chunk.map(Frame::data), (rendering, i + 1)))
    });
    StreamBody::new(chunks).boxed_unsync()
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let body = Full::new(Bytes::from_static(body.as_bytes())).map_err(|never| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

async fn metrics(state: &AppState, req: &Request<Incoming>) -> Response<Body> {
    let header = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let want = negotiate(header(ACCEPT), header(ACCEPT_ENCODING));
    let format = if want.openmetrics { Format::OpenMetrics } else { Format::Prometheus };
    let rendering = state.exposition.get(format, want.gzip).await;
    // A render that fails before its first chunk still gets a status that says so.
    if let Some(Err(_)) = rendering.chunk(0).await {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "rendering metrics failed; see the exporter's log\n");
    }
    let mut response = Response::new(streamed(rendering));
    let content_type =
        if want.openmetrics { OPENMETRICS } else { prometheus_client::encoding::prometheus_text::CONTENT_TYPE };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if want.gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

async fn route(state: AppState, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    match req.uri().path() {
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
    }
}

/// Binds the listener; a separate step so a bad address fails before the watches start.
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, crate::Error> {
    TcpListener::bind(addr).await.map_err(|e| crate::Error::Listen(addr, e))
}

/// How connections are served: how many at once, and TLS, basic auth and extra headers
/// from the web config file.
#[derive(Clone)]
pub(crate) struct Listening {
    pub max_connections: usize,
    pub web: Arc<WebConfig>,
}

/// What every connection's service needs.
struct Shared {
    state: AppState,
    web: Arc<WebConfig>,
}

/// Authenticates, routes, and adds the configured headers. The connection counts as busy
/// (not to be closed for a new one) only once the request is authorized: a client waiting
/// for its password's check holds no slot that a scraper needs.
async fn respond(shared: &Shared, activity: &Activity, req: Request<Incoming>) -> Response<Body> {
    let check = match &shared.web.users {
        Some(users) => users.check(req.headers().get(AUTHORIZATION)).await,
        None => Check::Allowed,
    };
    let mut response = match check {
        Check::Allowed => {
            activity.work();
            route(shared.state.clone(), req).await
        }
        Check::Denied => {
            let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized: this exporter needs basic auth\n");
            r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"crashloop-exporter\""));
            r
        }
        Check::Busy => {
            let mut r = text(StatusCode::SERVICE_UNAVAILABLE, "too many password checks in progress: try again\n");
            r.headers_mut().insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    };
    for (name, value) in &shared.web.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Marks a connection as serving a request from its first use to its drop.
const BUSY: u64 = u64::MAX;

/// What one connection is doing, shared by its task, its service and the slot table.
struct Activity {
    epoch: Instant,
    /// Milliseconds after `epoch` since when no request is in progress; `BUSY` while one is.
    idle_since: AtomicU64,
    /// Milliseconds after `epoch` by which the latest request must be answered; 0 before any.
    deadline: AtomicU64,
    request_started: Notify,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let activity = Activity {
            epoch,
            idle_since: AtomicU64::new(0),
            deadline: AtomicU64::new(0),
            request_started: Notify::new(),
        };
        activity.end();
        activity
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(BUSY - 1)
    }

    /// A request arrived: its deadline runs from now. It is not busy until [`Self::work`].
    fn begin(&self) {
        let timeout = u64::try_from(REQUEST_TIMEOUT.as_millis()).unwrap_or(u64::MAX / 2);
        self.deadline.store(self.millis() + timeout, Ordering::Release);
        self.request_started.notify_one();
    }

    /// The request is authorized and being served: the connection is not to be closed.
    fn work(&self) {
        self.idle_since.store(BUSY, Ordering::Release);
    }

    fn end(&self) {
        self.idle_since.store(self.millis(), Ordering::Release);
    }

    fn deadline(&self) -> Option<tokio::time::Instant> {
        match self.deadline.load(Ordering::Acquire) {
            0 => None,
            ms => Some(tokio::time::Instant::from_std(self.epoch + Duration::from_millis(ms))),
        }
    }
}

/// The open connections, at most `max`. When all slots are taken, a new connection takes the
/// slot of the one that has gone longest without a request in progress (a slow, stalled or
/// idle client), which is closed; when every connection is serving a request, the new one is
/// closed at once. A slowloris holding many connections thus cannot lock out a scrape.
///
/// The new connection is served only once the one it replaces has closed its socket
/// ([`Admitted::evicted`]), so the process never holds more than `max` client sockets plus
/// the one just accepted. (Before, a flood of reconnecting clients was seen holding 10
/// sockets over the limit: evicted connections whose tasks had not run yet.)
struct Connections {
    max: usize,
    epoch: Instant,
    open: Mutex<HashMap<u64, Open>>,
    next_id: AtomicU64,
    refused: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

/// An open connection: what it is doing, the signal that closes it, and the one that tells
/// it has closed (its [`Slot`] holds the sender and drops it last).
struct Open {
    activity: Arc<Activity>,
    close: oneshot::Sender<()>,
    gone: oneshot::Receiver<()>,
}

/// A connection's place in [`Connections`], given back on drop.
struct Slot {
    id: u64,
    connections: Arc<Connections>,
    activity: Arc<Activity>,
    /// Dropped with the slot, after the connection's socket: resolves [`Admitted::evicted`].
    _gone: oneshot::Sender<()>,
}

/// A new connection's slot, the signal that closes it early, and, when it took the slot of
/// an idle connection, the signal that this one has closed.
struct Admitted {
    slot: Slot,
    closed: oneshot::Receiver<()>,
    evicted: Option<oneshot::Receiver<()>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock_unpoisoned(&self.connections.open).remove(&self.id);
    }
}

impl Connections {
    fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            epoch: Instant::now(),
            open: Mutex::default(),
            next_id: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        })
    }

    /// A slot for a new connection; None when full of busy ones.
    fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = lock_unpoisoned(&self.open);
        let mut evicted = None;
        if open.len() >= self.max {
            let oldest_idle = open
                .iter()
                .map(|(id, entry)| (entry.activity.idle_since.load(Ordering::Acquire), *id))
                .filter(|(since, _)| *since != BUSY)
                .min();
            let Some((_, id)) = oldest_idle else {
                drop(open);
                self.refused();
                return None;
            };
            if let Some(entry) = open.remove(&id) {
                let _ = entry.close.send(());
                evicted = Some(entry.gone);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(self.epoch));
        let (close, closed) = oneshot::channel();
        let (gone_tx, gone) = oneshot::channel();
        open.insert(id, Open { activity: activity.clone(), close, gone });
        let slot = Slot { id, connections: self.clone(), activity, _gone: gone_tx };
        Some(Admitted { slot, closed, evicted })
    }

    /// Logs refusals at most once a minute.
    fn refused(&self) {
        let total = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = lock_unpoisoned(&self.last_warning);
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(
                max_connections = self.max,
                refused_so_far = total,
                "every connection is serving a request: closed a new one; raise --web.max-connections if scrapers need more"
            );
        }
    }
}

/// Serves HTTP/1.1 on one connection until it ends, or until a request goes unanswered past
/// [`REQUEST_TIMEOUT`].
async fn serve_connection<I>(io: I, shared: Arc<Shared>, activity: Arc<Activity>, watcher: Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let in_service = activity.clone();
    let service = service_fn(move |req| {
        let shared = shared.clone();
        let activity = in_service.clone();
        async move {
            activity.begin();
            let response = respond(&shared, &activity, req).await;
            activity.end();
            Ok::<_, Infallible>(response)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_header_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(watcher.watch(conn));
    loop {
        let deadline = activity.deadline();
        let expiry = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ended = &mut conn => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.request_started.notified() => {}
            () = expiry => {
                if activity.deadline() == deadline {
                    tracing::debug!("a request was not answered within {REQUEST_TIMEOUT:?}: connection closed");
                    return;
                }
            }
        }
    }
}

/// Serves until `shutdown` resolves, then lets open requests finish for up to 5 seconds.
pub(crate) async fn serve(
    listener: TcpListener,
    state: AppState,
    listening: Listening,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Connections::new(listening.max_connections);
    let tls = listening.web.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let shared = Arc::new(Shared { state, web: listening.web });
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
                let Some(Admitted { slot, closed, evicted }) = connections.admit() else { continue };
                if let Some(evicted) = evicted {
                    // Its task closes the socket as soon as it runs; the bound is only kept
                    // if this one waits for it. A second is far beyond any such wait.
                    let _ = tokio::time::timeout(EVICTION_WAIT, evicted).await;
                }
                let watcher = graceful.watcher();
                let shared = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let activity = slot.activity.clone();
                    let served = async move {
                        match tls {
                            None => serve_connection(tcp, shared, activity, watcher).await,
                            Some(tls) => match tokio::time::timeout(HEADER_READ_TIMEOUT, tls.accept(tcp)).await {
                                Ok(Ok(stream)) => serve_connection(stream, shared, activity, watcher).await,
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake not done within {HEADER_READ_TIMEOUT:?}: connection closed"),
                            },
                        }
                    };
                    tokio::select! {
                        () = served => {}
                        _ = closed => tracing::debug!("closed a connection without a request in progress to make room for a new one"),
                    }
                    drop(slot);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_closes_the_longest_idle_connection_and_refuses_when_all_are_busy() {
        let connections = Connections::new(2);
        let first = connections.admit().expect("a free slot");
        assert!(first.evicted.is_none(), "a free slot replaces nothing");
        let mut first_closed = first.closed;
        std::thread::sleep(Duration::from_millis(5));
        let second = connections.admit().expect("a free slot");
        let mut second_closed = second.closed;
        second.slot.activity.work();
        let third = connections.admit().expect("the idle first makes room");
        assert_eq!(first_closed.try_recv(), Ok(()), "the idle connection is told to close");
        assert!(second_closed.try_recv().is_err(), "the busy one is left alone");
        let mut first_gone = third.evicted.expect("the third replaces the first");
        assert_eq!(first_gone.try_recv(), Err(oneshot::error::TryRecvError::Empty), "the first is still open");
        drop(first.slot);
        assert_eq!(
            first_gone.try_recv(),
            Err(oneshot::error::TryRecvError::Closed),
            "dropping the first's slot tells the third it has closed"
        );
        third.slot.activity.work();
        assert!(connections.admit().is_none(), "every connection is serving a request");
        assert_eq!(connections.refused.load(Ordering::Relaxed), 1);
        second.slot.activity.end();
        let fourth = connections.admit().expect("a finished request makes its connection idle again");
        assert_eq!(second_closed.try_recv(), Ok(()));
        assert!(fourth.evicted.is_some());
        assert_eq!(
            connections.open.lock().expect("lock").len(),
            2,
            "dropping a closed connection's slot frees nothing else"
        );
    }
}

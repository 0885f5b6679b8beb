//! The exposition: the `/metrics` body, rendered at scrape time from the caches, the Event
//! counts and the log hints, and the exporter's own counters.
//!
//! - [`families`]: every family, defined once;
//! - `lines`: the lines every pod has, pre-rendered at ingest ([`prerender`]);
//! - `pass`: one pass over the pods, the verdicts of the containers with detail series;
//! - `encode`: one encoder per family;
//! - `text`: the text encoder, in the Prometheus text format or OpenMetrics.
//!
//! Label values are bounded: reasons are mapped onto documented sets (anything else is
//! `other`), and exit codes, signals and delays are values.

mod encode;
pub mod families;
mod lines;
mod pass;
mod process;
mod text;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

pub use lines::prerender;
pub use process::ProcessStats;

use crate::counters::{BuildLabels, SelfMetrics};
use crate::store::{LogHints, PodCache, SharedEvents};
use crate::sync::lock_unpoisoned;
use crate::view::{SlimPod, Timestamp};
use pass::Pass;
use text::{CHUNK, Text};

/// What the scrape-time collector reads.
#[derive(Clone)]
pub struct PodSource {
    pub caches: Vec<PodCache>,
    pub events: SharedEvents,
    pub log_hints: LogHints,
    /// Export detail series for running containers that never restarted.
    pub healthy_details: bool,
    /// `--skip-quiet-containers`: a container with nothing to report exports no series, and
    /// a pod with nothing to report no workload line (`verdict::has_something_to_report`).
    pub skip_quiet: bool,
    pub clock: crate::Clock,
}

impl std::fmt::Debug for PodSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodSource").field("caches", &self.caches.len()).finish()
    }
}

/// The exposition formats `/metrics` serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

/// Renders every family into `text`: the pod and container series straight from the
/// caches, then the exporter's own.
///
/// The encoder is hand-written rather than prometheus-client's: at 100,000 pods it writes
/// about 700,000 series, so the lines every pod has are pre-rendered at ingest
/// ([`PodLines`]), and each troubled container's label set is rendered once and reused by
/// every family (BENCHMARKS.md has the figures).
fn render(source: &PodSource, self_metrics: &Registry, process: &ProcessStats, text: &mut Text) -> std::io::Result<()> {
    let now = (source.clock)();
    let pods: Vec<Arc<SlimPod>> = source.caches.iter().flat_map(|c| c.store.state()).collect();
    let (mut events, records, refused) = {
        let state = lock_unpoisoned(&source.events);
        (state.snapshot(), state.records(), state.refused())
    };
    let pass = Pass::of(&pods, &mut events, refused, source, now);
    encode::encode_pods(text, &pass)?;
    encode::encode_cache(text, &source.caches, pods.len(), records)?;
    process::encode(text, process)?;
    let mut own = String::new();
    let encoded = match text.format {
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut own, self_metrics),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut own, self_metrics),
    };
    encoded.map_err(|e| std::io::Error::other(format!("encoding the exporter's own metrics: {e}")))?;
    text.buf.extend_from_slice(own.as_bytes());
    text.flush()
}

/// The git commit the binary was built from, as `build.rs` found it, or `unknown`.
pub const REVISION: &str = env!("CRASHLOOP_GIT_REVISION");

/// Registers the exporter's own counters under their families' names and help.
fn register(m: &SelfMetrics, registry: &mut Registry) {
    // prometheus-client adds the final period of the help itself.
    fn help(f: &Family) -> &'static str {
        f.help.trim_end_matches('.')
    }
    use families::*;
    let m = m.clone();
    registry.register(BUILD_INFO.base(), help(&BUILD_INFO), m.build_info.clone());
    registry.register(WATCH_EVENTS.base(), help(&WATCH_EVENTS), m.watch_events);
    registry.register(RELISTS.base(), help(&RELISTS), m.relists);
    registry.register(API_ERRORS.base(), help(&API_ERRORS), m.api_errors);
    registry.register(EVENTS_SEEN.base(), help(&EVENTS_SEEN), m.events_seen);
    registry.register(EVENTS_IGNORED.base(), help(&EVENTS_IGNORED), m.events_ignored);
    registry.register(EVENT_PARSE_FAILURES.base(), help(&EVENT_PARSE_FAILURES), m.event_parse_failures);
    registry.register(LOG_FETCHES.base(), help(&LOG_FETCHES), m.log_fetches);
    registry.register(RENDERS.base(), help(&RENDERS), m.renders);
    registry.register(SHARD_ORDINAL.name, help(&SHARD_ORDINAL), m.shard_ordinal.clone());
    registry.register(TOTAL_SHARDS.name, help(&TOTAL_SHARDS), m.total_shards.clone());
    m.total_shards.set(m.total_shards.get().max(1));
    m.build_info
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
            rust_version: env!("CARGO_PKG_RUST_VERSION"),
            revision: REVISION,
        })
        .set(1);
}

/// The `/metrics` body, rendered once for all the scrapes that ask at the same time, and
/// kept until the caches, the Event counts or the log hints change or the clock moves on
/// a second.
///
/// A scrape is answered while its body renders: the body is a [`Rendering`], chunks that
/// every response reading it sends as they come. So the first byte leaves after the first
/// chunk, not after the whole render, and a scrape that comes while a render is running
/// joins it. A body is forgotten [`KEEP_FOR`] after its render started: by then it can no
/// longer be served, and a plain body at 100,000 pods is 82 MB.
pub struct Exposition {
    source: PodSource,
    self_metrics: Registry,
    renders: Counter,
    /// The size of the last plain body, and of the last gzip one.
    plain_bytes: std::sync::atomic::AtomicUsize,
    gzip_bytes: std::sync::atomic::AtomicUsize,
    slots: [tokio::sync::Mutex<Option<Kept>>; 4],
    /// Reads the process figures at each render (tests give fixed ones).
    process: fn() -> ProcessStats,
}

/// A body, and the version it was rendered for.
type Kept = ((u64, Timestamp), Arc<Rendering>);

/// How long a body is kept: the second it was rendered in, and the next (the version holds
/// the second, so a body is stale after that anyway).
const KEEP_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// A body as it renders: its chunks in order, shared by every response that sends it.
#[derive(Default)]
pub struct Rendering {
    state: std::sync::Mutex<Rendered>,
    more: tokio::sync::Notify,
}

#[derive(Default)]
struct Rendered {
    chunks: Vec<Bytes>,
    /// Set when the render has ended: `Err` holds why it failed.
    end: Option<Result<(), String>>,
}

impl Rendering {
    fn state(&self) -> std::sync::MutexGuard<'_, Rendered> {
        lock_unpoisoned(&self.state)
    }

    /// Chunk `i`, once rendered; None after the last; an error if the render failed.
    pub async fn chunk(&self, i: usize) -> Option<std::io::Result<Bytes>> {
        loop {
            // Registered before the state is read, so a chunk pushed in between still wakes it.
            let more = self.more.notified();
            {
                let state = self.state();
                if let Some(chunk) = state.chunks.get(i) {
                    return Some(Ok(chunk.clone()));
                }
                match &state.end {
                    Some(Ok(())) => return None,
                    Some(Err(e)) => return Some(Err(std::io::Error::other(e.clone()))),
                    None => {}
                }
            }
            more.await;
        }
    }

    /// The whole body, once rendered (tests).
    pub async fn collect(&self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut i = 0;
        while let Some(chunk) = self.chunk(i).await {
            body.extend_from_slice(&chunk?);
            i += 1;
        }
        Ok(body)
    }

    fn failed(&self) -> bool {
        matches!(self.state().end, Some(Err(_)))
    }

    fn push(&self, chunk: Bytes) {
        self.state().chunks.push(chunk);
        self.more.notify_waiters();
    }

    /// Ends the body, unless it has ended.
    fn end(&self, result: Result<(), String>) {
        self.state().end.get_or_insert(result);
        self.more.notify_waiters();
    }
}

/// Hands a render's output to its [`Rendering`] in chunks of about [`CHUNK`] bytes; ends it
/// as failed if dropped before [`Publisher::finish`] (a render that panicked).
struct Publisher {
    rendering: Arc<Rendering>,
    pending: Vec<u8>,
}

impl Publisher {
    fn new(rendering: Arc<Rendering>) -> Self {
        Publisher { rendering, pending: Vec::with_capacity(CHUNK + 4096) }
    }

    fn publish(&mut self) {
        if !self.pending.is_empty() {
            let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK + 4096));
            self.rendering.push(Bytes::from(chunk));
        }
    }

    fn finish(mut self, result: std::io::Result<()>) {
        if result.is_ok() {
            self.publish();
        }
        self.rendering.end(result.map_err(|e| e.to_string()));
    }
}

impl std::io::Write for Publisher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= CHUNK {
            self.publish();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.rendering.end(Err("the render stopped before the end of the body".into()));
    }
}

impl Exposition {
    pub fn new(source: PodSource, self_metrics: &SelfMetrics) -> Self {
        let mut registry = Registry::default();
        register(self_metrics, &mut registry);
        Exposition {
            source,
            self_metrics: registry,
            renders: self_metrics.renders.clone(),
            plain_bytes: Default::default(),
            gzip_bytes: Default::default(),
            slots: Default::default(),
            process: process::read,
        }
    }

    /// The same, with the process figures read by `process` instead of from `/proc`.
    pub fn with_process(self, process: fn() -> ProcessStats) -> Self {
        Exposition { process, ..self }
    }

    /// What the body depends on: every change counter, and the second.
    fn version(&self) -> (u64, Timestamp) {
        let pods: u64 = self.source.caches.iter().map(|c| c.changes.load(Ordering::Acquire)).sum();
        let events = lock_unpoisoned(&self.source.events).generation();
        let hints = self.source.log_hints.generation();
        (pods.wrapping_add(events).wrapping_add(hints), (self.source.clock)())
    }

    /// Renders the body into `out`: the text, or its gzip (level 1).
    fn render_into(&self, format: Format, gzip: bool, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.renders.inc();
        let text = |out| Text { buf: Vec::with_capacity(CHUNK + 4096), out, format };
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            render(&self.source, &self.self_metrics, &(self.process)(), &mut text(&mut encoder))?;
            encoder.finish().map(drop)
        } else {
            render(&self.source, &self.self_metrics, &(self.process)(), &mut text(out))
        }
    }

    /// Renders the body now, uncached, into one buffer sized as the last one was.
    pub fn render(&self, format: Format, gzip: bool) -> std::io::Result<Vec<u8>> {
        let last = if gzip { &self.gzip_bytes } else { &self.plain_bytes };
        let hint = last.load(Ordering::Relaxed);
        let mut body = Vec::with_capacity(hint + hint / 16 + CHUNK);
        self.render_into(format, gzip, &mut body)?;
        last.store(body.len(), Ordering::Relaxed);
        Ok(body)
    }

    /// The body for a scrape: the one rendered or rendering while nothing changed, or a new
    /// render on the blocking pool (so it never holds up the watch tasks).
    pub async fn get(self: &Arc<Self>, format: Format, gzip: bool) -> Arc<Rendering> {
        let index = usize::from(format == Format::OpenMetrics) * 2 + usize::from(gzip);
        let mut slot = self.slots[index].lock().await;
        let version = self.version();
        if let Some((at, kept)) = slot.as_ref()
            && *at == version
            && !kept.failed()
        {
            return kept.clone();
        }
        let rendering = Arc::new(Rendering::default());
        *slot = Some((version, rendering.clone()));
        drop(slot);
        let (this, publisher) = (self.clone(), Publisher::new(rendering.clone()));
        tokio::task::spawn_blocking(move || {
            let mut publisher = publisher;
            let rendered = this.render_into(format, gzip, &mut publisher);
            if let Err(e) = &rendered {
                tracing::error!(error = %e, "rendering /metrics failed");
            }
            publisher.finish(rendered);
        });
        // Weak, so a body replaced by a newer render is freed once its responses are sent,
        // not held until this timer ends.
        let (this, kept) = (Arc::downgrade(self), Arc::downgrade(&rendering));
        tokio::spawn(async move {
            tokio::time::sleep(KEEP_FOR).await;
            let Some(this) = this.upgrade() else { return };
            let mut slot = this.slots[index].lock().await;
            if slot.as_ref().is_some_and(|(_, current)| std::ptr::eq(Arc::as_ptr(current), kept.as_ptr())) {
                *slot = None;
            }
        });
        rendering
    }
}
#[cfg(test)]
mod tests;

//! The body a scrape gets: rendered once for all the scrapes that ask at the same time,
//! sent in chunks while it renders, and kept while nothing it shows changes. Apart from the
//! render (`super::render`), which writes a body and knows nothing of scrapes.
//!
//! A kept body is served only while its version (every change counter, and the second) is
//! current, and never once its render failed. A [`Publisher`] ends its [`Rendering`] even
//! when the render panics, so no response waits for ever.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use super::process::{self, ProcessStats};
use super::source::PodSource;
use super::text::{CHUNK, Format, Out, Text};
use super::{register, render};
use crate::clock::Timestamp;
use crate::counters::SelfMetrics;
use crate::sync::lock_unpoisoned;

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
    plain_bytes: AtomicUsize,
    gzip_bytes: AtomicUsize,
    slots: [tokio::sync::Mutex<Option<Kept>>; 4],
    /// Reads the process figures at each render (tests give fixed ones).
    process: fn() -> ProcessStats,
}

/// A body, and the version it was rendered for.
type Kept = ((u64, Timestamp), Arc<Rendering>);

/// How long a body is kept: the second it was rendered in, and the next (the version holds
/// the second, so a body is stale after that anyway).
pub(super) const KEEP_FOR: std::time::Duration = std::time::Duration::from_secs(2);

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

/// Hands a render's output to its [`Rendering`]: a plain render's own chunks as they are,
/// a gzip encoder's writes gathered into chunks of about [`CHUNK`] bytes. Ends the body as
/// failed if dropped before [`Publisher::finish`] (a render that panicked).
struct Publisher {
    rendering: Arc<Rendering>,
    /// What a writer wrote since the last chunk (gzip only).
    pending: Vec<u8>,
}

impl Publisher {
    fn new(rendering: Arc<Rendering>) -> Self {
        Publisher { rendering, pending: Vec::new() }
    }

    /// Hands `chunk` on whole, after anything pending.
    fn push(&mut self, chunk: Vec<u8>) {
        self.publish();
        self.rendering.push(Bytes::from(chunk));
    }

    fn publish(&mut self) {
        if !self.pending.is_empty() {
            let chunk = std::mem::take(&mut self.pending);
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
        if self.pending.capacity() == 0 {
            self.pending.reserve_exact(CHUNK + 4096);
        }
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

    /// Renders the text into `out`.
    fn render_text(&self, format: Format, out: Out) -> std::io::Result<()> {
        self.renders.inc();
        render(&self.source, &self.self_metrics, &(self.process)(), &mut Text::new(out, format))
    }

    /// Renders the body into `out`: the text, or its gzip (level 1).
    fn render_into(&self, format: Format, gzip: bool, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        if !gzip {
            return self.render_text(format, Out::Write(out));
        }
        let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        self.render_text(format, Out::Write(&mut encoder))?;
        encoder.finish().map(drop)
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
            let rendered = if gzip {
                this.render_into(format, true, &mut publisher)
            } else {
                this.render_text(format, Out::Chunks(&mut |chunk| publisher.push(chunk)))
            };
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

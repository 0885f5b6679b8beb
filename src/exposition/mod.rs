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
pub(crate) mod tests {
    use super::*;
    use crate::counters::{ApiErrorLabels, ReasonLabels, ResourceLabels, ResultLabels, WatchEventLabels};
    use crate::fixtures::fixture;
    use crate::history::track;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;
    use std::sync::atomic::AtomicI64;

    pub(crate) const NOW: Timestamp = 1_795_000_000;

    /// `pods` as the exporter's first list (their restarts the baseline), rendered.
    pub(crate) fn render_pods(pods: Vec<SlimPod>, healthy_details: bool, openmetrics: bool) -> String {
        let tracked = pods.into_iter().map(|pod| track(None, pod, NOW, true)).collect();
        render_tracked(tracked, healthy_details, openmetrics)
    }

    /// Pods already tracked, rendered.
    fn render_tracked(pods: Vec<SlimPod>, healthy_details: bool, openmetrics: bool) -> String {
        let format = if openmetrics { Format::OpenMetrics } else { Format::Prometheus };
        let mode = if healthy_details { Mode::HealthyDetails } else { Mode::Default };
        render_with_events(pods, &[], mode, format)
    }

    /// The three ways of exporting containers (the flags conflict).
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub(crate) enum Mode {
        Default,
        HealthyDetails,
        SkipQuiet,
    }

    /// Pods already tracked, and Events (`(event, in the first list)`) counted against
    /// them as the Event watch does, rendered.
    pub(crate) fn render_with_events(
        pods: Vec<SlimPod>,
        events: &[(serde_json::Value, bool)],
        mode: Mode,
        format: Format,
    ) -> String {
        let uids: std::collections::HashMap<(String, String), String> =
            pods.iter().map(|p| ((p.namespace().to_string(), p.name().to_string()), p.uid().to_string())).collect();
        let mut counts = crate::event_counts::EventCounts::new();
        for (event, baseline) in events {
            counts.baseline = *baseline;
            let event: crate::view::SlimEvent = serde_json::from_value(event.clone()).expect("an Event");
            counts.apply(&event, |ns, name| uids.get(&(ns.to_string(), name.to_string())).cloned());
        }
        counts.baseline = false;
        let source = PodSource {
            events: SharedEvents::new(std::sync::Mutex::new(counts)),
            healthy_details: mode == Mode::HealthyDetails,
            skip_quiet: mode == Mode::SkipQuiet,
            ..source_over(cache_of(pods))
        };
        text_of(&exposition_of(source), format)
    }

    fn exposition_of(source: PodSource) -> Exposition {
        Exposition::new(source, &SelfMetrics::default()).with_process(fixed_process)
    }

    /// A cache whose first list was `pods`.
    fn cache_of(pods: impl IntoIterator<Item = SlimPod>) -> PodCache {
        let (reader, mut writer) = reflector::store::<SlimPod>();
        writer.apply_watcher_event(&Event::Init);
        for pod in pods {
            writer.apply_watcher_event(&Event::InitApply(pod));
        }
        writer.apply_watcher_event(&Event::InitDone);
        cache(reader)
    }

    /// `cache` as the only source: no Events, no log hints, the default mode, the clock at NOW.
    fn source_over(cache: PodCache) -> PodSource {
        PodSource {
            caches: vec![cache],
            events: SharedEvents::default(),
            log_hints: Default::default(),
            healthy_details: false,
            skip_quiet: false,
            clock: Arc::new(|| NOW),
        }
    }

    /// Scrapes of one second share one render, sent whole in chunks, gzip or not; the body
    /// is forgotten after `KEEP_FOR`.
    #[tokio::test]
    async fn scrapes_of_one_second_share_one_render_sent_in_chunks() {
        use std::io::Read;
        let pods = (0..2000).map(|i| {
            let mut pod = track(None, fixture("deployment-oom-crashloop"), NOW, true);
            pod.metadata.name = Some(format!("checkout-{i}"));
            pod.uid = format!("uid-{i}").into();
            pod
        });
        let exposition = Arc::new(exposition_of(source_over(cache_of(pods))));
        for gzip in [false, true] {
            let first = exposition.get(Format::Prometheus, gzip).await;
            let second = exposition.get(Format::Prometheus, gzip).await;
            assert!(Arc::ptr_eq(&first, &second), "gzip {gzip}: the second scrape joins the first's render");
            let mut body = first.collect().await.expect("a body");
            if gzip {
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain).expect("gzip");
                body = plain;
            } else {
                assert!(first.state().chunks.len() > 1, "the plain body comes in more than one chunk");
            }
            let body = String::from_utf8(body).expect("UTF-8");
            let again = text_of(&exposition, Format::Prometheus);
            // The same lines as a render of its own, but for the count of renders.
            let lines = |t: &str| -> Vec<String> {
                let mut lines: Vec<String> = t
                    .lines()
                    .filter(|l| !l.starts_with("crashloop_exporter_renders_total"))
                    .map(str::to_string)
                    .collect();
                lines.sort();
                lines
            };
            assert_eq!(lines(&body), lines(&again), "gzip {gzip}");
            assert!(body.ends_with('\n'), "gzip {gzip}: the body is whole");
        }
        assert_eq!(
            samples(&text_of(&exposition, Format::Prometheus), "crashloop_exporter_renders_total"),
            ["crashloop_exporter_renders_total 5"],
            "one render per format and encoding, and the three made here"
        );
        tokio::time::sleep(KEEP_FOR + std::time::Duration::from_millis(100)).await;
        let after = exposition.get(Format::Prometheus, false).await;
        after.collect().await.expect("a body");
        assert_eq!(
            samples(&text_of(&exposition, Format::Prometheus), "crashloop_exporter_renders_total"),
            ["crashloop_exporter_renders_total 7"],
            "the kept body was forgotten: a new render"
        );
    }

    /// Process figures that stay the same from render to render.
    pub(crate) fn fixed_process() -> ProcessStats {
        ProcessStats {
            cpu_seconds: Some(1.89),
            open_fds: Some(14),
            max_fds: Some(1_048_576),
            virtual_memory_bytes: Some(1_230_823_424),
            resident_memory_bytes: Some(161_959_936),
            start_time_seconds: Some(1_795_382_637.45),
        }
    }

    pub(crate) fn cache(store: reflector::Store<SlimPod>) -> PodCache {
        PodCache {
            store,
            last_sync: Arc::new(AtomicI64::new(NOW)),
            changes: Arc::default(),
            workloads: Arc::default(),
            ready: tokio::sync::watch::channel(true).1,
        }
    }

    pub(crate) fn text_of(exposition: &Exposition, format: Format) -> String {
        String::from_utf8(exposition.render(format, false).expect("renders")).expect("UTF-8")
    }

    /// The sample lines of one family (with labels), as `name{labels} value`.
    pub(crate) fn samples<'a>(out: &'a str, family: &str) -> Vec<&'a str> {
        out.lines().filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' '])).collect()
    }

    const APP: &str = r#"namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",container="app",container_type="regular""#;
    const PROXY: &str = r#"namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",container="proxy",container_type="regular""#;

    #[test]
    fn crashlooping_oom_container_series() {
        let out = render_pods(vec![fixture("deployment-oom-crashloop")], false, false);
        let line = |family: &str, extra: &str, value: &str| {
            let sep = if extra.is_empty() { "" } else { "," };
            format!("{family}{{{APP}{sep}{extra}}} {value}")
        };
        assert_eq!(
            samples(&out, "crashloop_container_restarts_total"),
            [
                line("crashloop_container_restarts_total", "", "5"),
                format!("crashloop_container_restarts_total{{{PROXY}}} 0")
            ]
        );
        let expected = [
            ("crashloop_container_last_terminated_exit_code", "", "137"),
            ("crashloop_container_last_terminated_signal", "", "9"),
            ("crashloop_container_last_terminated_reason", r#"reason="OOMKilled""#, "1"),
            ("crashloop_container_last_terminated_timestamp_seconds", "", "1795512040"),
            ("crashloop_container_last_terminated_oom_killed", "", "1"),
            ("crashloop_container_in_backoff", "", "1"),
            ("crashloop_container_backoff_delay_seconds", r#"source="kubelet""#, "160.0"),
            ("crashloop_container_next_restart_timestamp_seconds", "", "1795512200.0"),
            ("crashloop_container_memory_limit_bytes", "", "268435456"),
            ("crashloop_container_crashlooping", "", "1"),
            ("crashloop_container_crashloop_start_timestamp_seconds", "", "1795000000"),
        ];
        for (family, extra, value) in expected {
            assert_eq!(samples(&out, family), [line(family, extra, value)], "{family}");
        }
        assert_eq!(
            samples(&out, "crashloop_container_waiting_reason"),
            [line("crashloop_container_waiting_reason", r#"reason="CrashLoopBackOff""#, "1")]
        );
        assert_eq!(
            samples(&out, "crashloop_container_probable_cause"),
            [line("crashloop_container_probable_cause", r#"cause="oom_killed""#, "1")]
        );
        assert_eq!(
            samples(&out, "crashloop_container_state"),
            ["waiting 1", "running 0", "terminated 0", "unknown 0"].map(|sv| {
                let (s, v) = sv.split_once(' ').unwrap_or_default();
                line("crashloop_container_state", &format!("state=\"{s}\""), v)
            })
        );
        // Baseline at start: the five restarts before the exporter started are not counted.
        assert!(samples(&out, "crashloop_container_terminations_total").iter().all(|l| l.ends_with(" 0")));
        assert_eq!(
            samples(&out, "crashloop_pod_workload_info"),
            [
                r#"crashloop_pod_workload_info{namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",workload_kind="Deployment",workload="checkout",template="7d9c8b6f5"} 1"#
            ]
        );
        assert_eq!(
            samples(&out, "crashloop_crashloopbackoff_containers"),
            [r#"crashloop_crashloopbackoff_containers{namespace="shop"} 1"#]
        );
        assert_eq!(
            samples(&out, "crashloop_waiting_containers"),
            [r#"crashloop_waiting_containers{namespace="shop",reason="CrashLoopBackOff"} 1"#]
        );
        assert_eq!(
            samples(&out, "crashloop_exporter_cached_objects"),
            [
                r#"crashloop_exporter_cached_objects{resource="pods"} 1"#,
                r#"crashloop_exporter_cached_objects{resource="events"} 0"#
            ]
        );
        assert_eq!(
            samples(&out, "crashloop_exporter_last_sync_timestamp_seconds"),
            [r#"crashloop_exporter_last_sync_timestamp_seconds{resource="pods"} 1795000000"#]
        );
    }

    /// A pod as first seen after the exporter started (no baseline), rendered.
    fn render_seen_later(pod: SlimPod) -> String {
        render_tracked(vec![track(None, pod, NOW, false)], false, false)
    }

    /// Pods in the shapes 1.33 to 1.35 kubelets write (`tests/fixtures/pods/current/`):
    /// object in, the series that must and must not be there out.
    #[test]
    fn current_kubelet_shapes() {
        let c = |ns: &str, pod: &str, container: &str, kind: &str| {
            format!(r#"namespace="{ns}",pod="{pod}",container="{container}",container_type="{kind}""#)
        };
        let shipper = c("batch", "report-29925180-x8k2p", "log-shipper", "sidecar");
        let proxy = c("data", "ingest-0", "proxy", "sidecar");
        let trainer = c("ml", "trainer-0", "trainer", "regular");
        let trainer_ended = c("ml", "trainer-1", "trainer", "regular");
        let warmer = c("web", "warmup-7d9c8b6f5-q2w3e", "cache-warmer", "regular");
        let migrator = c("web", "warmup-7d9c8b6f5-q2w3e", "migrator", "regular");
        let api = c("shop", "api-5f6d7c8b9-zx7cv", "api", "regular");
        let signed = c("shop", "api-5f6d7c8b9-zx7cv", "signed", "regular");
        let resized = c("web", "resized-0", "app", "regular");
        let worker = c("batch", "batch-worker-0", "worker", "regular");
        let flusher = c("batch", "batch-worker-0", "flusher", "regular");
        let leader = c("ml", "worker-0", "leader", "regular");
        let bystander = c("ml", "worker-0", "metrics", "regular");
        let cases: Vec<(&str, Vec<String>, Vec<String>)> = vec![
            (
                "sidecar-stopped-with-its-job",
                vec![format!("crashloop_container_crashlooping{{{shipper}}} 0")],
                vec![
                    format!("crashloop_container_probable_cause{{{shipper}"),
                    format!("crashloop_container_terminations_total{{{shipper}"),
                    "crashloop_troubled_containers{".into(),
                ],
            ),
            (
                "sidecar-crashloop-in-never-pod",
                vec![
                    format!("crashloop_container_crashlooping{{{proxy}}} 1"),
                    format!("crashloop_container_probable_cause{{{proxy},cause=\"app_error\"}} 1"),
                    format!("crashloop_container_backoff_delay_seconds{{{proxy},source=\"kubelet\"}} 80.0"),
                ],
                vec![],
            ),
            (
                "restart-rules-crashloop",
                vec![
                    format!("crashloop_container_crashlooping{{{trainer}}} 1"),
                    format!("crashloop_container_probable_cause{{{trainer},cause=\"app_error\"}} 1"),
                    format!("crashloop_container_terminations_total{{{trainer},reason=\"Error\"}} 3"),
                ],
                vec![],
            ),
            (
                "restart-rules-ended",
                vec![
                    format!("crashloop_container_crashlooping{{{trainer_ended}}} 0"),
                    format!("crashloop_container_probable_cause{{{trainer_ended},cause=\"app_error\"}} 1"),
                    format!("crashloop_container_terminations_total{{{trainer_ended},reason=\"Error\"}} 4"),
                ],
                vec![],
            ),
            (
                "container-policy-never-in-always-pod",
                vec![
                    format!("crashloop_container_probable_cause{{{migrator},cause=\"oom_killed\"}} 1"),
                    format!("crashloop_container_terminations_total{{{migrator},reason=\"OOMKilled\"}} 1"),
                    format!("crashloop_container_last_terminated_oom_killed{{{migrator}}} 1"),
                ],
                vec![format!("crashloop_container_probable_cause{{{warmer}")],
            ),
            (
                "image-pull-backoff-v132",
                vec![
                    format!("crashloop_container_image_pull_failure{{{api},category=\"not_found\"}} 1"),
                    format!("crashloop_container_probable_cause{{{signed},cause=\"image_pull\"}} 1"),
                    format!("crashloop_container_waiting_reason{{{signed},reason=\"SignatureValidationFailed\"}} 1"),
                    format!("crashloop_container_image_pull_failure{{{signed},category=\"other\"}} 1"),
                ],
                vec![],
            ),
            (
                "resized-memory-limit",
                vec![
                    format!("crashloop_container_memory_limit_bytes{{{resized}}} 536870912"),
                    format!("crashloop_container_probable_cause{{{resized},cause=\"oom_killed\"}} 1"),
                ],
                vec![],
            ),
            (
                "restart-all-containers",
                vec![
                    format!("crashloop_container_waiting_reason{{{bystander},reason=\"RestartingAllContainers\"}} 1"),
                    format!("crashloop_container_crashlooping{{{bystander}}} 0"),
                    format!("crashloop_container_crashlooping{{{leader}}} 0"),
                    format!("crashloop_container_terminations_total{{{leader},reason=\"Error\"}} 1"),
                    format!("crashloop_container_terminations_total{{{bystander},reason=\"other\"}} 1"),
                ],
                vec![format!("crashloop_container_probable_cause{{"), "crashloop_troubled_containers{".into()],
            ),
            (
                "deleted-never-pod-stopped",
                vec![format!("crashloop_container_last_terminated_exit_code{{{flusher}}} 138")],
                vec![
                    format!("crashloop_container_probable_cause{{"),
                    format!("crashloop_container_terminations_total{{{worker}"),
                    format!("crashloop_container_terminations_total{{{flusher}"),
                    "crashloop_troubled_containers{".into(),
                ],
            ),
        ];
        for (name, present, absent) in cases {
            let out = render_seen_later(fixture(&format!("current/{name}")));
            for line in present {
                assert!(out.lines().any(|l| l == line), "{name}: no line {line}\n{out}");
            }
            for prefix in absent {
                assert!(!out.lines().any(|l| l.starts_with(&prefix)), "{name}: a line {prefix}…\n{out}");
            }
        }
    }

    /// `--skip-quiet-containers`, pods in and exposition out, beside the default mode: a
    /// container with nothing to report (no restart, no detail, no counted Event or
    /// termination) exports nothing, and a pod all of whose containers are so (no missing
    /// object, not evicted) no workload line; a pod without container statuses gets no
    /// detail series in either mode.
    #[test]
    fn skip_quiet_containers_exports_only_what_has_something_to_report() {
        use serde_json::json;
        let pod = |name: &str, containers: &[&str], statuses: serde_json::Value| -> SlimPod {
            let spec: Vec<_> = containers
                .iter()
                .map(|c| json!({"name": c, "readinessProbe": {"httpGet": {"path": "/", "port": 80}}}))
                .collect();
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "t", "uid": format!("uid-{name}")},
                "spec": {"containers": spec},
                "status": {"phase": "Running", "containerStatuses": statuses}
            }))
            .expect("pod")
        };
        let running = |c: &str, restarts: u32| json!({"name": c, "restartCount": restarts, "state": {"running": {"startedAt": "2026-11-01T00:00:00Z"}}});
        let event = |name: &str, pod: &str, field_path: &str, reason: &str, message: &str| {
            json!({"metadata": {"name": name, "namespace": "t"},
                "involvedObject": {"kind": "Pod", "namespace": "t", "name": pod, "uid": format!("uid-{pod}"), "fieldPath": field_path},
                "reason": reason, "message": message, "type": "Warning", "count": 2,
                "firstTimestamp": "2026-11-24T09:00:00Z", "lastTimestamp": "2026-11-24T09:05:00Z"})
        };
        let readiness = "Readiness probe failed: HTTP probe failed with statuscode: 503";
        let pods = vec![
            // Quiet, with a probe Event of the first list (the baseline: counted 0).
            pod("quiet", &["a", "b"], json!([running("a", 0), running("b", 0)])),
            // One container restarted, one quiet.
            pod("restarted", &["app", "side"], json!([running("app", 2), running("side", 0)])),
            // Never restarted, but its readiness probe failed since the exporter started.
            pod("probed", &["app"], json!([running("app", 0)])),
            // No container statuses yet (no node).
            pod("pending", &["app"], json!([])),
            // No container statuses, and a ConfigMap its mount waits for.
            pod("mounting", &["app"], json!([])),
        ];
        let pods: Vec<SlimPod> = pods.into_iter().map(|p| track(None, p, NOW, true)).collect();
        let mount = r#"MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found"#;
        let events = [
            (event("e1", "quiet", "spec.containers{a}", "Unhealthy", readiness), true),
            (event("e2", "probed", "spec.containers{app}", "Unhealthy", readiness), false),
            (event("e3", "mounting", "", "FailedMount", mount), false),
        ];
        let series = |mode| {
            let out = render_with_events(pods.clone(), &events, mode, Format::Prometheus);
            let mut lines: Vec<String> =
                out.lines().filter(|l| !l.starts_with('#') && l.contains("pod=\"")).map(str::to_string).collect();
            lines.sort();
            lines
        };
        let c = |pod: &str, c: &str| format!(r#"namespace="t",pod="{pod}",container="{c}",container_type="regular""#);
        let (quiet_a, quiet_b, app, side) =
            (c("quiet", "a"), c("quiet", "b"), c("restarted", "app"), c("restarted", "side"));
        let (probed, pending, mounting) = (c("probed", "app"), c("pending", "app"), c("mounting", "app"));
        let workload = |pod: &str| {
            format!(
                r#"crashloop_pod_workload_info{{namespace="t",pod="{pod}",workload_kind="Pod",workload="{pod}",template=""}} 1"#
            )
        };
        let mut restarted_app = vec![
            format!("crashloop_container_backoff_events_total{{{app}}} 0"),
            format!("crashloop_container_crashlooping{{{app}}} 0"),
            format!("crashloop_container_image_pull_backoff_events_total{{{app}}} 0"),
            format!("crashloop_container_in_backoff{{{app}}} 0"),
            format!("crashloop_container_probe_failures_total{{{app},probe=\"readiness\"}} 0"),
            format!("crashloop_container_restarts_total{{{app}}} 2"),
            format!("crashloop_container_state{{{app},state=\"running\"}} 1"),
            format!("crashloop_container_state{{{app},state=\"terminated\"}} 0"),
            format!("crashloop_container_state{{{app},state=\"unknown\"}} 0"),
            format!("crashloop_container_state{{{app},state=\"waiting\"}} 0"),
        ];
        restarted_app.extend(
            ["Completed", "Error", "OOMKilled", "StartError", "other"]
                .map(|r| format!("crashloop_container_terminations_total{{{app},reason=\"{r}\"}} 0")),
        );
        let missing =
            r#"crashloop_pod_missing_object{namespace="t",pod="mounting",kind="configmap",name="app-config"} 1"#;
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let mut default = restarted_app.clone();
        default.extend([
            format!("crashloop_container_probe_failures_total{{{probed},probe=\"readiness\"}} 2"),
            format!("crashloop_container_restarts_total{{{mounting}}} 0"),
            format!("crashloop_container_restarts_total{{{pending}}} 0"),
            format!("crashloop_container_restarts_total{{{probed}}} 0"),
            format!("crashloop_container_restarts_total{{{quiet_a}}} 0"),
            format!("crashloop_container_restarts_total{{{quiet_b}}} 0"),
            format!("crashloop_container_restarts_total{{{side}}} 0"),
            missing.to_string(),
            workload("mounting"),
            workload("pending"),
            workload("probed"),
            workload("quiet"),
            workload("restarted"),
        ]);
        assert_eq!(series(Mode::Default), sorted(default));
        let mut skip = restarted_app;
        skip.extend([
            format!("crashloop_container_probe_failures_total{{{probed},probe=\"readiness\"}} 2"),
            format!("crashloop_container_restarts_total{{{probed}}} 0"),
            missing.to_string(),
            workload("mounting"),
            workload("probed"),
            workload("restarted"),
        ]);
        assert_eq!(series(Mode::SkipQuiet), sorted(skip));
        // Every pod is counted in its workload, in both modes.
        for mode in [Mode::Default, Mode::SkipQuiet] {
            let out = render_with_events(pods.clone(), &events, mode, Format::Prometheus);
            let mut counted = samples(&out, "crashloop_workload_pods");
            counted.sort();
            let want = ["mounting", "pending", "probed", "quiet", "restarted"]
                .map(|p| format!(r#"crashloop_workload_pods{{namespace="t",workload_kind="Pod",workload="{p}"}} 1"#));
            assert_eq!(counted, want, "{mode:?}");
        }
    }

    /// `crashloop_workload_pods` counts the pods of each workload, quiet ones included.
    #[test]
    fn workload_pods_counts_every_pod_of_each_workload() {
        let named = |fixture_name: &str, pod: &str| {
            let mut p = fixture(fixture_name);
            p.metadata.name = Some(pod.to_string());
            p.uid = format!("uid-{pod}").into();
            p
        };
        let pods = vec![
            named("deployment-oom-crashloop", "checkout-7d9c8b6f5-a"),
            named("deployment-oom-crashloop", "checkout-7d9c8b6f5-b"),
            named("deployment-oom-crashloop", "checkout-7d9c8b6f5-c"),
            named("init-and-sidecar", "ledger-0"),
        ];
        for healthy_details in [false, true] {
            let out = render_pods(pods.clone(), healthy_details, false);
            let mut lines = samples(&out, "crashloop_workload_pods");
            lines.sort();
            assert_eq!(
                lines,
                [
                    r#"crashloop_workload_pods{namespace="bank",workload_kind="StatefulSet",workload="ledger"} 1"#,
                    r#"crashloop_workload_pods{namespace="shop",workload_kind="Deployment",workload="checkout"} 3"#,
                ]
            );
        }
    }

    /// Lines attached at ingest render exactly as lines made at render time.
    #[test]
    fn prerendered_lines_render_as_fresh_ones() {
        let names =
            ["deployment-oom-crashloop", "init-and-sidecar", "missing-configmap", "liveness-killed", "oom-exit-1"];
        let fresh: Vec<SlimPod> = names.iter().map(|n| fixture(n)).collect();
        let attached: Vec<SlimPod> = names
            .iter()
            .map(|n| {
                let mut pod = track(None, fixture(n), NOW, true);
                pod.lines = Some(prerender(&pod));
                pod
            })
            .collect();
        assert!(attached.iter().all(|p| p.lines.is_some()));
        // Each store has its own order: compare the lines, sorted.
        let sorted = |text: String| {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            lines
        };
        for (healthy_details, openmetrics) in [(false, false), (false, true), (true, false)] {
            assert_eq!(
                sorted(render_pods(attached.clone(), healthy_details, openmetrics)),
                sorted(render_pods(fresh.clone(), healthy_details, openmetrics))
            );
        }
    }

    #[test]
    fn healthy_running_containers_get_only_restarts_unless_asked() {
        let out = render_pods(vec![fixture("deployment-oom-crashloop")], false, false);
        let proxy_lines: Vec<_> = out.lines().filter(|l| l.contains(PROXY)).collect();
        assert_eq!(proxy_lines, [format!("crashloop_container_restarts_total{{{PROXY}}} 0")]);
        let all = render_pods(vec![fixture("deployment-oom-crashloop")], true, false);
        assert!(all.contains(&format!("crashloop_container_state{{{PROXY},state=\"running\"}} 1")));
        assert!(all.contains(&format!("crashloop_container_crashlooping{{{PROXY}}} 0")));
    }

    #[test]
    fn init_container_and_sidecar_types() {
        let out = render_pods(vec![fixture("init-and-sidecar")], false, false);
        let migrate = r#"namespace="bank",pod="ledger-0",container="migrate",container_type="init""#;
        assert!(out.contains(&format!("crashloop_container_restarts_total{{{migrate}}} 3\n")));
        assert!(
            out.contains(&format!("crashloop_container_backoff_delay_seconds{{{migrate},source=\"kubelet\"}} 40.0\n"))
        );
        assert!(out.contains(r#"container="log-shipper",container_type="sidecar"} 0"#));
        assert!(out.contains(r#"crashloop_pod_workload_info{namespace="bank",pod="ledger-0",workload_kind="StatefulSet",workload="ledger",template="ledger-6c5b4"} 1"#));
    }

    #[test]
    fn openmetrics_ends_with_eof_and_counters_keep_total() {
        let out = render_pods(vec![fixture("oom-exit-1")], false, true);
        assert!(out.ends_with("# EOF\n"));
        assert!(out.contains("# TYPE crashloop_container_restarts counter\n"));
        assert!(out.contains(r#"crashloop_container_restarts_total{namespace="web",pod="indexer",container="indexer",container_type="regular"} 2"#));
    }

    /// N shards together export exactly the single replica's pod and container series,
    /// with no duplicates; aggregates add up.
    #[test]
    fn shards_partition_the_series() {
        use crate::store::Shard;
        let pods = || -> Vec<SlimPod> {
            (0..60)
                .map(|i| {
                    let mut p = fixture(["deployment-oom-crashloop", "liveness-killed", "missing-configmap"][i % 3]);
                    p.metadata.name = Some(format!("pod-{i}"));
                    p.uid = format!("uid-{i}").into();
                    p
                })
                .collect()
        };
        let series = |out: &str| -> Vec<String> {
            out.lines().filter(|l| !l.starts_with('#') && l.contains("pod=\"")).map(str::to_string).collect()
        };
        let mut single = series(&render_pods(pods(), false, false));
        let mut union = Vec::new();
        let mut in_backoff = 0;
        for index in 0..3 {
            let shard = Shard { index, total: 3 };
            let mine: Vec<SlimPod> = pods().into_iter().filter(|p| shard.owns(p.uid())).collect();
            assert!(!mine.is_empty() && mine.len() < 60, "shard {index} has {} pods", mine.len());
            let out = render_pods(mine, false, false);
            in_backoff += samples(&out, "crashloop_crashloopbackoff_containers")
                .iter()
                .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
                .sum::<i64>();
            union.extend(series(&out));
        }
        single.sort();
        union.sort();
        let before = union.len();
        union.dedup();
        assert_eq!(before, union.len(), "no series is exported by two shards");
        assert_eq!(union, single);
        assert_eq!(in_backoff, 20, "the aggregate sums across shards");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_scrapes_share_one_render_until_something_changes() {
        let cache = cache_of([track(None, fixture("deployment-oom-crashloop"), NOW, true)]);
        let changes = cache.changes.clone();
        let source = source_over(cache);
        let self_metrics = SelfMetrics::default();
        let exposition = Arc::new(Exposition::new(source, &self_metrics));
        let scrapes: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn({
                    let e = exposition.clone();
                    async move { e.get(Format::Prometheus, true).await }
                })
            })
            .collect();
        let mut bodies = Vec::new();
        for s in scrapes {
            bodies.push(s.await.expect("joins").collect().await.expect("renders"));
        }
        assert_eq!(self_metrics.renders.get(), 1, "eight concurrent scrapes, one render");
        assert!(bodies.iter().all(|b| *b == bodies[0]));
        exposition.get(Format::Prometheus, true).await.collect().await.expect("renders");
        assert_eq!(self_metrics.renders.get(), 1, "nothing changed: the cached body");
        changes.fetch_add(1, Ordering::Release);
        exposition.get(Format::Prometheus, true).await.collect().await.expect("renders");
        assert_eq!(self_metrics.renders.get(), 2, "a change: a new render");
        exposition.get(Format::OpenMetrics, false).await.collect().await.expect("renders");
        assert_eq!(self_metrics.renders.get(), 3, "each format has its own body");
    }

    /// The labels column of `family`'s row in the README's reference table.
    fn readme_labels_column<'a>(readme: &'a str, family: &families::Family) -> &'a str {
        let (name, kind) = (family.name, family.kind.as_str());
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` | {kind} |")))
            .unwrap_or_else(|| panic!("README lacks a row for {name} ({kind})"));
        row.split('|').nth(3).unwrap_or_default()
    }

    #[test]
    fn every_family_is_documented_in_the_readme() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
        for family in families::ALL {
            let name = family.name;
            // The labels column names each label of the family beyond the container's, in backticks.
            let column = readme_labels_column(&readme, family);
            let documented: Vec<&str> = column.split('`').skip(1).step_by(2).collect();
            let own = match family.labels.strip_prefix(families::CONTAINER) {
                Some(extra) => extra,
                None => family.labels,
            };
            assert_eq!(documented, own, "README's labels of {name}");
        }
    }

    /// The README's table lists every value of the bounded labels the code can give.
    #[test]
    fn every_label_value_is_documented_in_the_readme() {
        use crate::verdict::{Cause, DelaySource};
        use crate::view::{TerminationReason, WaitingReason};
        use families::Family;
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
        let values_of = |family: &Family| -> Vec<String> {
            let column = readme_labels_column(&readme, family);
            let after = column.split_once(" = ").map_or("", |(_, v)| v);
            after.split(',').map(|v| v.trim().to_string()).take_while(|v| !v.contains('`')).collect()
        };
        let check = |family: &Family, values: Vec<&str>| {
            let documented = values_of(family);
            for v in values {
                assert!(documented.iter().any(|d| d == v), "README's row of {} lacks {v}", family.name);
            }
        };
        check(&families::PROBABLE_CAUSE, Cause::ALL.iter().map(|c| c.as_str()).collect());
        check(&families::WAITING_REASON, WaitingReason::ALL.iter().map(|r| r.as_str()).collect());
        check(&families::LAST_REASON, TerminationReason::ALL.iter().map(|r| r.as_str()).collect());
        check(&families::BACKOFF_DELAY, DelaySource::ALL.iter().map(|s| s.as_str()).collect());
    }

    /// A controller's `FailedCreate` Event (`name` of `kind` in `shop`, at 09:05).
    fn refused_event(name: &str, kind: &str, why: &str) -> crate::view::SlimEvent {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("{name}.180a"), "namespace": "shop", "uid": format!("e-{name}")},
            "involvedObject": {"kind": kind, "namespace": "shop", "name": name, "uid": format!("u-{name}")},
            "reason": "FailedCreate", "message": format!("Error creating: pods \"{name}-x\" is forbidden: {why}"),
            "type": "Warning", "count": 3,
            "firstTimestamp": "2026-11-24T09:00:00Z", "lastTimestamp": "2026-11-24T09:05:00Z"
        }))
        .expect("an Event")
    }

    /// Pods that are never created have no series: the refusal is reported on the workload
    /// (a ReplicaSet's Deployment, a Job's CronJob), with its reason, while its Event lives.
    #[test]
    fn a_pod_a_controller_could_not_create_is_reported_on_its_workload() {
        let mut counts = crate::event_counts::EventCounts::new();
        counts.baseline = false;
        let events = [
            refused_event("web-6c9b7f4b8d", "ReplicaSet", "exceeded quota: compute, requested: limits.cpu=2"),
            refused_event("report-29925180", "Job", "violates PodSecurity \"restricted:latest\": runAsNonRoot != true"),
            refused_event("db", "StatefulSet", "admission webhook \"policy.example.com\" denied the request: no"),
            refused_event("cache-v2", "ReplicaSet", "something new"),
        ];
        for e in &events {
            counts.apply(e, |_, _| None);
        }
        let shared = SharedEvents::new(std::sync::Mutex::new(counts));
        let source = PodSource { events: shared.clone(), ..source_over(cache_of([])) };
        let at = "1795511100";
        let want = [
            format!(
                r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="CronJob",workload="report",reason="pod_security"}} {at}"#
            ),
            format!(
                r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="Deployment",workload="web",reason="quota"}} {at}"#
            ),
            format!(
                r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="ReplicaSet",workload="cache-v2",reason="other"}} {at}"#
            ),
            format!(
                r#"crashloop_workload_pod_refused_timestamp_seconds{{namespace="shop",workload_kind="StatefulSet",workload="db",reason="webhook"}} {at}"#
            ),
        ];
        let out = text_of(&exposition_of(source.clone()), Format::Prometheus);
        assert_eq!(samples(&out, "crashloop_workload_pod_refused_timestamp_seconds"), want);
        // The Event expires: the refusal goes with it.
        lock_unpoisoned(&shared).delete(&events[0], 1_795_520_000);
        let out = text_of(&exposition_of(source), Format::Prometheus);
        assert_eq!(
            samples(&out, "crashloop_workload_pod_refused_timestamp_seconds"),
            want[..1].iter().chain(&want[2..]).cloned().collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_family_is_served() {
        let pulling: SlimPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "puller", "namespace": "shop", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
        }))
        .expect("pod");
        let evicted: SlimPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "evicted", "namespace": "shop", "uid": "e"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory. "}
        }))
        .expect("pod");
        let pending: SlimPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pending", "namespace": "shop", "uid": "p"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient cpu.", "lastTransitionTime": "2026-11-24T09:00:00Z"}]}
        }))
        .expect("pod");
        let initializing: SlimPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "initializing", "namespace": "shop", "uid": "i"},
            "spec": {"initContainers": [{"name": "wait"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending",
                "initContainerStatuses": [{"name": "wait", "restartCount": 0, "state": {"running": {"startedAt": "2026-11-24T09:00:00Z"}}}],
                "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}
        }))
        .expect("pod");
        // A pod of the same Deployment made from another template: a rollout.
        let mut rolled = fixture("deployment-oom-crashloop");
        rolled.metadata.name = Some("checkout-5f6e7d8c9-a1b2c".into());
        rolled.uid = "rolled".into();
        rolled.ready = true;
        rolled.shown =
            Some(Box::new(crate::view::Shown { template: Some("5f6e7d8c9".into()), labels: Box::default() }));
        let pods = [
            fixture("deployment-oom-crashloop"),
            rolled,
            fixture("missing-configmap"),
            pulling,
            evicted,
            pending,
            initializing,
        ];
        let cache = cache_of(pods.map(|pod| track(None, pod, NOW, true)));
        // A pod first seen after the first list: its restarts count in its workload's.
        let fresh = track(None, fixture("oom-exit-1"), NOW, false);
        let added = crate::history::WorkloadHistory::added(None, &fresh).expect("its restarts count");
        lock_unpoisoned(&cache.workloads).add(&fresh, added, NOW);
        let self_metrics = SelfMetrics::default();
        self_metrics.events_seen.inc();
        self_metrics.events_ignored.get_or_create(&ReasonLabels { reason: "unknown_pod" }).inc();
        self_metrics.event_parse_failures.inc();
        self_metrics.log_fetches.get_or_create(&ResultLabels { result: "not_found" }).inc();
        self_metrics.watch_events.get_or_create(&WatchEventLabels { resource: "pods", r#type: "apply" }).inc();
        self_metrics.relists.get_or_create(&ResourceLabels { resource: "pods" }).inc();
        self_metrics.api_errors.get_or_create(&ApiErrorLabels { resource: "pods", kind: "forbidden" }).inc();
        let mut counts = crate::event_counts::EventCounts::new();
        counts.baseline = false;
        counts.apply(&refused_event("web-6c9b7f4b8d", "ReplicaSet", "exceeded quota: compute"), |_, _| None);
        let source = PodSource { events: SharedEvents::new(std::sync::Mutex::new(counts)), ..source_over(cache) };
        let out = text_of(&Exposition::new(source, &self_metrics), Format::Prometheus);
        assert!(out.contains(r#"crashloop_pod_missing_object{namespace="shop",pod="api-6f7d8-qwert",kind="configmap",name="app-config"} 1"#));
        assert!(out.contains(r#"crashloop_container_image_pull_failure{namespace="shop",pod="puller",container="c",container_type="regular",category="other"} 1"#));
        assert!(out.contains(
            r#"crashloop_pod_disruption{namespace="shop",pod="evicted",disruption="evicted",resource="memory"} 1"#
        ));
        assert!(out.contains(r#"crashloop_disrupted_pods{namespace="shop",disruption="evicted"} 1"#));
        assert!(out.contains(
            r#"crashloop_pod_unschedulable_since_timestamp_seconds{namespace="shop",pod="pending"} 1795510800"#
        ));
        assert!(out.contains(r#"crashloop_container_probable_cause{namespace="shop",pod="pending",container="c",container_type="regular",cause="unschedulable"} 1"#));
        for family in families::ALL {
            let (name, kind) = (family.name, family.kind.as_str());
            assert!(out.contains(&format!("# TYPE {name} {kind}\n")), "{name} has no TYPE line");
            assert!(!samples(&out, name).is_empty(), "{name} has no sample");
        }
    }

    /// The label names of a sample line: `name{a="x",b="y"} 1` gives `[a, b]`.
    fn label_names(line: &str) -> Vec<&str> {
        let Some((_, rest)) = line.split_once('{') else { return Vec::new() };
        let mut names = Vec::new();
        let mut rest = rest;
        while let Some((name, after)) = rest.split_once("=\"") {
            names.push(name.trim_start_matches(','));
            // Skip the escaped value up to its closing quote.
            let mut end = 0;
            let bytes = after.as_bytes();
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            rest = after.get(end + 1..).unwrap_or_default();
            if rest.starts_with('}') {
                break;
            }
        }
        names
    }

    /// Each sample of the golden file carries exactly its family's label names, and every
    /// family has a sample in it.
    #[test]
    fn golden_samples_have_their_families_labels() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/real-node.prom");
        let golden = std::fs::read_to_string(path).expect("golden file");
        for family in families::ALL {
            let lines = samples(&golden, family.name);
            assert!(!lines.is_empty(), "{} has no sample in {path}", family.name);
            for line in lines {
                assert_eq!(label_names(line), family.labels, "{line}");
            }
        }
        let known = |line: &&str| families::ALL.iter().any(|f| samples(line, f.name).len() == 1);
        assert!(golden.lines().filter(|l| !l.starts_with('#')).all(|l| known(&l)), "a sample of no family");
    }

    /// The whole pipe against golden files, as node_exporter's `e2e-output.txt`: the pods
    /// and Events a real node wrote (`tests/fixtures/real-node/`, dumped by the real-node
    /// test with `CRASHLOOP_DUMP_FIXTURES`) go through the real ingest (`PodIngest`, the
    /// Event counts) and the real exposition, in both formats, and must equal
    /// `tests/golden/real-node.{prom,om}` byte for byte, samples sorted within each family;
    /// with `--skip-quiet-containers`, `real-node-skip-quiet.prom`.
    /// `UPDATE_GOLDEN=1` rewrites them.
    #[test]
    fn golden_exposition_of_a_real_node() {
        use crate::store::{EventIngest, PodIngest, Shard};
        use crate::watch::ErrorLog;
        use kube::runtime::watcher;
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |name: &str| -> serde_json::Value {
            let path = format!("{root}/tests/fixtures/real-node/{name}");
            serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
        };
        let now: Timestamp = read("now.json")["now"].as_i64().expect("now");
        let shared = SharedEvents::new(std::sync::Mutex::new(crate::event_counts::EventCounts::new()));
        let metrics = SelfMetrics::default();
        let clock: crate::Clock = Arc::new(move || now);
        let (cache, mut pods) =
            PodIngest::new(Shard::default(), metrics.clone(), shared.clone(), clock.clone(), prerender);
        let pod_list: Vec<SlimPod> = read("pods.json")["items"]
            .as_array()
            .expect("pods")
            .iter()
            .map(|item| serde_json::from_value(item.clone()).expect("a slim pod"))
            .collect();
        // The first list, then what a compaction gives: 410 Gone, and a relist of the same pods.
        let gone = || {
            let status = kube::core::Status::failure("too old resource version", "Expired").with_code(410);
            watcher::Error::WatchFailed(kube::Error::Api(status.boxed()))
        };
        let mut errors = ErrorLog::default();
        // The pods of two workloads come after the first list, as if created after the
        // exporter started: their restarts and ends count, in their workloads' too.
        let later = |p: &SlimPod| ["rn-oom", "rn-job-fails"].contains(&p.namespace());
        let mut feed = vec![Ok(Event::Init)];
        feed.extend(pod_list.iter().filter(|p| !later(p)).cloned().map(|p| Ok(Event::InitApply(p))));
        feed.push(Ok(Event::InitDone));
        feed.extend(pod_list.iter().filter(|p| later(p)).cloned().map(|p| Ok(Event::Apply(p))));
        feed.extend([Err(gone()), Ok(Event::Init)]);
        feed.extend(pod_list.into_iter().map(|p| Ok(Event::InitApply(p))));
        feed.push(Ok(Event::InitDone));
        for item in feed {
            if let Some(event) = errors.check(item, "pods", &metrics) {
                pods.apply(event);
            }
        }
        // The exporter listed no Events at start; these came afterwards, on the watch.
        let mut events =
            EventIngest::new(vec![cache.clone()], shared.clone(), metrics.clone(), Shard::default(), clock);
        events.apply(Event::Init);
        events.apply(Event::InitDone);
        for item in read("events.json")["items"].as_array().expect("events") {
            events.apply(Event::Apply(serde_json::from_value(item.clone()).expect("a slim event")));
        }
        // `--logs`: each log the real node gave for a failed termination, through the fetcher's
        // own bookkeeping (a fetch that failed there, with its HTTP status, fails here).
        let log_hints = LogHints::default();
        let logs = read("logs.json");
        let pods_now: Vec<Arc<SlimPod>> = cache.store.state();
        for (pod, c) in crate::log_fetch::to_read(&log_hints, &pods_now) {
            let entry = logs["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["namespace"] == pod.namespace() && l["pod"] == pod.name() && l["container"] == *c.name)
                .unwrap_or_else(|| panic!("logs.json has no log of {}/{}", pod.name(), c.name));
            let fetched = match entry["text"].as_str() {
                Some(text) => Ok(text.to_string()),
                None => {
                    let code = entry["status"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(500);
                    Err(kube::Error::Api(
                        kube::core::Status::failure("as the real node answered", "").with_code(code).boxed(),
                    ))
                }
            };
            crate::log_fetch::record_fetch(&log_hints, &metrics.log_fetches, pod, c, &fetched);
        }
        let source = PodSource {
            caches: vec![cache],
            events: shared,
            log_hints,
            healthy_details: false,
            skip_quiet: false,
            clock: Arc::new(move || now),
        };
        // The process figures of a run of the exporter, fixed; the revision is the build's.
        let exposition = Exposition::new(source.clone(), &metrics).with_process(fixed_process);
        let skip_quiet =
            Exposition::new(PodSource { skip_quiet: true, ..source }, &metrics).with_process(fixed_process);
        // The store is a hash map: pods come in no set order. Within each family the samples
        // are sorted, so the files change only when the output does.
        let canonical = |text: String| {
            let text = text.replace(&format!("revision=\"{REVISION}\""), "revision=\"REVISION\"");
            let mut out: Vec<String> = Vec::new();
            let mut samples: Vec<&str> = Vec::new();
            for line in text.lines() {
                if line.starts_with('#') {
                    samples.sort_unstable();
                    out.extend(samples.drain(..).map(str::to_string));
                    out.push(line.to_string());
                } else {
                    samples.push(line);
                }
            }
            samples.sort_unstable();
            out.extend(samples.drain(..).map(str::to_string));
            out.join("\n") + "\n"
        };
        let files = [
            (&exposition, Format::Prometheus, "real-node.prom"),
            (&exposition, Format::OpenMetrics, "real-node.om"),
            (&skip_quiet, Format::Prometheus, "real-node-skip-quiet.prom"),
        ];
        for (exposition, format, file) in files {
            let got = canonical(text_of(exposition, format));
            let path = format!("{root}/tests/golden/{file}");
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::write(&path, &got).expect("write golden");
                continue;
            }
            let want = std::fs::read_to_string(&path).expect("golden file (UPDATE_GOLDEN=1 writes it)");
            if got != want {
                let diff: Vec<String> = want
                    .lines()
                    .zip(got.lines())
                    .filter(|(w, g)| w != g)
                    .take(10)
                    .map(|(w, g)| format!("- {w}\n+ {g}"))
                    .collect();
                panic!(
                    "{file} differs ({} lines want, {} got; UPDATE_GOLDEN=1 rewrites it):\n{}",
                    want.lines().count(),
                    got.lines().count(),
                    diff.join("\n")
                );
            }
        }
    }
}

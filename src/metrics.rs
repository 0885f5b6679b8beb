//! The metric families: pod and container series rendered from the cache at scrape
//! time, and the exporter's own counters.
//!
//! Every family is listed in [`FAMILIES`] and in the README's reference table; a test
//! keeps the two in step. Label values are bounded: reasons are mapped onto documented
//! sets (anything else is `other`), and exit codes, signals and delays are values.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::diagnose::{ContainerReport, assess};
use crate::events::{ContainerEvents, PodEvents, Probe};
use crate::model::{ContainerType, SlimContainer, SlimPod, State, TerminationReason, Timestamp, WaitingReason};
use crate::watch::{PodCache, SharedEvents};

/// `(name, type, help)` of every family the exporter serves; names as exposed.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    ("crashloop_container_restarts_total", "counter", "Restarts of the container (the kubelet's restartCount)."),
    (
        "crashloop_container_state",
        "gauge",
        "Current state of the container: 1 for the state it is in, 0 for the others.",
    ),
    (
        "crashloop_container_waiting_reason",
        "gauge",
        "Why the container is waiting (value 1, no series when it is not waiting); unknown reasons are `other`.",
    ),
    (
        "crashloop_container_last_terminated_exit_code",
        "gauge",
        "Exit code of the container's latest termination (the current one while it is terminated).",
    ),
    (
        "crashloop_container_last_terminated_signal",
        "gauge",
        "Signal that ended the last termination, derived as exit code - 128 where the code is over 128.",
    ),
    (
        "crashloop_container_last_terminated_reason",
        "gauge",
        "Reason of the last termination (value 1); unknown reasons are `other`.",
    ),
    (
        "crashloop_container_last_terminated_timestamp_seconds",
        "gauge",
        "When the last termination finished, in seconds since the epoch.",
    ),
    (
        "crashloop_container_last_terminated_oom_killed",
        "gauge",
        "1 when the last termination was an OOM kill (reason OOMKilled, whatever the exit code).",
    ),
    ("crashloop_container_in_backoff", "gauge", "1 while the container waits in CrashLoopBackOff."),
    (
        "crashloop_container_backoff_delay_seconds",
        "gauge",
        "Current crash-loop back-off delay; `source` says whether it is the kubelet's or an estimate.",
    ),
    (
        "crashloop_container_next_restart_timestamp_seconds",
        "gauge",
        "Estimated time of the next restart: last finishedAt plus the back-off delay.",
    ),
    ("crashloop_container_memory_limit_bytes", "gauge", "Memory limit of the container, where one is set."),
    (
        "crashloop_container_crashlooping",
        "gauge",
        "1 from a container's first crash loop until it has run 10 minutes without a restart, then 0.",
    ),
    (
        "crashloop_container_crashloop_start_timestamp_seconds",
        "gauge",
        "When the current crash loop was first seen, in seconds since the epoch.",
    ),
    (
        "crashloop_container_terminations_total",
        "counter",
        "Terminations observed through restartCount increases, and the failed end of a container that will not run again, by reason.",
    ),
    (
        "crashloop_container_probe_failures_total",
        "counter",
        "Failed or errored probe runs, from the kubelet's Unhealthy events, by probe.",
    ),
    (
        "crashloop_container_probe_kills_total",
        "counter",
        "Containers killed by the kubelet because a liveness or startup probe failed, from Killing events, by probe.",
    ),
    (
        "crashloop_container_backoff_events_total",
        "counter",
        "The kubelet's `Back-off restarting failed container` events.",
    ),
    (
        "crashloop_container_image_pull_backoff_events_total",
        "counter",
        "The kubelet's `Back-off pulling image` events.",
    ),
    (
        "crashloop_container_image_pull_failure",
        "gauge",
        "1 while the container waits on an image it cannot pull, with the category of the last pull error.",
    ),
    (
        "crashloop_pod_missing_object",
        "gauge",
        "1 for each ConfigMap, Secret or PVC the pod waits for and the cluster does not have.",
    ),
    ("crashloop_container_probable_cause", "gauge", "Probable cause of a troubled container's trouble (value 1)."),
    (
        "crashloop_troubled_containers",
        "gauge",
        "Troubled containers (crash-looping, waiting on an error, evicted, or ended with a failure) by namespace and probable cause.",
    ),
    (
        "crashloop_pod_workload_info",
        "gauge",
        "The workload that owns the pod (value 1): ReplicaSets are mapped to Deployments, Jobs to CronJobs.",
    ),
    ("crashloop_crashloopbackoff_containers", "gauge", "Containers waiting in CrashLoopBackOff, by namespace."),
    ("crashloop_waiting_containers", "gauge", "Waiting containers by namespace and reason."),
    ("crashloop_exporter_build_info", "gauge", "Build information (value 1)."),
    ("crashloop_exporter_watch_events_total", "counter", "Watch events handled, by resource and event type."),
    (
        "crashloop_exporter_relists_total",
        "counter",
        "Full lists of a resource: the first one and every relist after a watch restart or 410 Gone.",
    ),
    ("crashloop_exporter_api_errors_total", "counter", "Errors from the Kubernetes API, by resource and kind."),
    ("crashloop_exporter_events_seen_total", "counter", "Events about pods received from the API."),
    ("crashloop_exporter_events_ignored_total", "counter", "Events left out, by reason."),
    (
        "crashloop_exporter_event_parse_failures_total",
        "counter",
        "Events of a reason the exporter reads whose message it could not parse.",
    ),
    (
        "crashloop_exporter_renders_total",
        "counter",
        "Renders of the /metrics body; scrapes that ask at the same time, or before anything changed, share one.",
    ),
    (
        "crashloop_exporter_log_fetches_total",
        "counter",
        "Previous-log fetches (--logs), by result: ok, not_found (no previous instance, or no kubelet), forbidden, error.",
    ),
    ("crashloop_exporter_shard_ordinal", "gauge", "This replica's shard (--shard)."),
    ("crashloop_exporter_total_shards", "gauge", "How many shards there are (--total-shards)."),
    ("crashloop_exporter_cached_objects", "gauge", "Objects held in the cache, by resource."),
    (
        "crashloop_exporter_last_sync_timestamp_seconds",
        "gauge",
        "When the resource's cache was last in sync with the API (a list completed or a watch event arrived).",
    ),
];

fn help(name: &str) -> &'static str {
    // The encoder adds the final period itself.
    FAMILIES.iter().find(|f| f.0 == name).map_or("", |f| f.2.trim_end_matches('.'))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchEventLabels {
    pub resource: &'static str,
    pub r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiErrorLabels {
    pub resource: &'static str,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    rust_version: &'static str,
}

/// The exporter's own metrics, updated by the watch tasks.
#[derive(Clone, Debug, Default)]
pub struct SelfMetrics {
    pub watch_events: Family<WatchEventLabels, Counter>,
    pub relists: Family<ResourceLabels, Counter>,
    pub api_errors: Family<ApiErrorLabels, Counter>,
    pub events_seen: Counter,
    pub events_ignored: Family<ReasonLabels, Counter>,
    pub event_parse_failures: Counter,
    pub log_fetches: Family<ResultLabels, Counter>,
    pub renders: Counter,
    shard_ordinal: Gauge,
    total_shards: Gauge,
    build_info: Family<BuildLabels, Gauge>,
}

const BUILD_INFO: &str = "crashloop_exporter_build_info";
const WATCH_EVENTS: &str = "crashloop_exporter_watch_events_total";
const RELISTS: &str = "crashloop_exporter_relists_total";
const API_ERRORS: &str = "crashloop_exporter_api_errors_total";
const EVENTS_SEEN: &str = "crashloop_exporter_events_seen_total";
const EVENTS_IGNORED: &str = "crashloop_exporter_events_ignored_total";
const EVENT_PARSE_FAILURES: &str = "crashloop_exporter_event_parse_failures_total";
const LOG_FETCHES: &str = "crashloop_exporter_log_fetches_total";
const RENDERS: &str = "crashloop_exporter_renders_total";
const SHARD_ORDINAL: &str = "crashloop_exporter_shard_ordinal";
const TOTAL_SHARDS: &str = "crashloop_exporter_total_shards";

fn base(name: &str) -> &str {
    name.strip_suffix("_total").unwrap_or(name)
}

impl SelfMetrics {
    /// Records this replica's shard.
    pub fn set_shard(&self, shard: crate::watch::Shard) {
        self.shard_ordinal.set(i64::from(shard.index));
        self.total_shards.set(i64::from(shard.total));
    }

    fn register(&self, registry: &mut Registry) {
        let m = self.clone();
        registry.register(base(BUILD_INFO), help(BUILD_INFO), m.build_info);
        registry.register(base(WATCH_EVENTS), help(WATCH_EVENTS), m.watch_events);
        registry.register(base(RELISTS), help(RELISTS), m.relists);
        registry.register(base(API_ERRORS), help(API_ERRORS), m.api_errors);
        registry.register(base(EVENTS_SEEN), help(EVENTS_SEEN), m.events_seen);
        registry.register(base(EVENTS_IGNORED), help(EVENTS_IGNORED), m.events_ignored);
        registry.register(base(EVENT_PARSE_FAILURES), help(EVENT_PARSE_FAILURES), m.event_parse_failures);
        registry.register(base(LOG_FETCHES), help(LOG_FETCHES), m.log_fetches);
        registry.register(base(RENDERS), help(RENDERS), m.renders);
        registry.register(SHARD_ORDINAL, help(SHARD_ORDINAL), m.shard_ordinal);
        registry.register(TOTAL_SHARDS, help(TOTAL_SHARDS), m.total_shards);
        self.total_shards.set(self.total_shards.get().max(1));
        self.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                rust_version: env!("CARGO_PKG_RUST_VERSION"),
            })
            .set(1);
    }
}

/// What the scrape-time collector reads.
#[derive(Clone)]
pub struct PodSource {
    pub caches: Vec<PodCache>,
    pub events: SharedEvents,
    pub log_hints: crate::logs::LogHints,
    /// Export detail series for running containers that never restarted.
    pub healthy_details: bool,
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
fn render(source: &PodSource, self_metrics: &Registry, text: &mut Text) -> std::io::Result<()> {
    let now = (source.clock)();
    let pods: Vec<Arc<SlimPod>> = source.caches.iter().flat_map(|c| c.store.state()).collect();
    let (mut events, records) = {
        let state = crate::watch::lock(&source.events);
        (state.snapshot(), state.records())
    };
    let scan = Scan::of(&pods, &mut events, source, now);
    encode_pods(text, &scan)?;
    encode_cache(text, &source.caches, pods.len(), records)?;
    let mut own = String::new();
    let encoded = match text.format {
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut own, self_metrics),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut own, self_metrics),
    };
    encoded.map_err(|e| std::io::Error::other(format!("encoding the exporter's own metrics: {e}")))?;
    text.buf.extend_from_slice(own.as_bytes());
    text.flush()
}

/// How much text is buffered before it is handed to the writer.
pub const CHUNK: usize = 256 * 1024;

/// The text encoder: family headers, label sets and values, in either format. The text is
/// handed to `out` in chunks of about [`CHUNK`] bytes (a small buffer that stays in cache
/// is faster than writing a body of 100 MB in place).
struct Text<'w> {
    buf: Vec<u8>,
    out: &'w mut dyn std::io::Write,
    format: Format,
}

/// A sample value: integers print without a fraction, floats as Go's exposition does.
#[derive(Clone, Copy)]
enum Value {
    Int(i64),
    Uint(u64),
    Float(f64),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Uint(u64::from(v))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

/// Whether `bytes` holds a `\`, `"` or newline, tested eight bytes at a time (label
/// values are short, and almost never need escaping).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGH != 0
    };
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has(word, b'\\') | has(word, b'"') | has(word, b'\n') {
            return true;
        }
    }
    words.remainder().iter().any(|b| matches!(b, b'\\' | b'"' | b'\n'))
}

/// Appends `value` with `\`, `"` and newlines escaped, as both formats require in label values.
fn escape_into(buf: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !needs_escape(bytes) {
        buf.extend_from_slice(bytes);
        return;
    }
    for b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\n' => buf.extend_from_slice(b"\\n"),
            _ => buf.push(*b),
        }
    }
}

/// `k1="v1",k2="v2"`, escaped.
fn label_set(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    push_labels(&mut buf, pairs);
    buf
}

fn push_labels(buf: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"=\"");
        escape_into(buf, value);
        buf.push(b'"');
    }
}

/// The lines every pod has (its restart counters and its workload), pre-rendered when the
/// pod is ingested, as kube-state-metrics does: a render then copies them from one block
/// per pod instead of gathering names from all over the heap.
///
/// `text` starts with two offsets (four bytes each, little-endian): where the containers
/// begin and where the workload begins. Then come the pod's escaped label pairs; then one
/// entry per container: the length of its `,container="…"` pair (two bytes), its type (an
/// index into [`ContainerType::ALL`]), its restart count (four bytes) and the pair; then
/// the workload's tail `,workload_kind=…} 1\n`. A pair is at most 520 bytes: names are
/// cut to 253.
#[derive(Clone, Debug)]
pub struct PodLines {
    text: Box<[u8]>,
    /// [`crate::diagnose::is_quiet`]: the pod has no other series unless Events add some.
    quiet: bool,
}

/// `,container_type="…"} ` for each of [`ContainerType::ALL`], as literals: made at run
/// time (a `LazyLock`) they cost the render about 7 ms at 100,000 pods (measured side by
/// side). A test keeps them equal to [`ContainerType::as_str`].
const CONTAINER_TYPE_TAILS: [&str; 4] = [
    ",container_type=\"regular\"} ",
    ",container_type=\"init\"} ",
    ",container_type=\"sidecar\"} ",
    ",container_type=\"ephemeral\"} ",
];

/// One container's entry in [`PodLines`].
struct ContainerLine<'a> {
    container: &'a [u8],
    type_tail: &'static str,
    restarts: u32,
}

impl PodLines {
    pub fn of(pod: &SlimPod) -> Self {
        let mut text = Vec::with_capacity(72 + 32 * pod.containers.len());
        text.extend_from_slice(&[0; 8]);
        push_labels(&mut text, &[("namespace", pod.namespace()), ("pod", pod.name())]);
        let containers_start = text.len();
        for c in &pod.containers {
            let start = text.len();
            let kind = ContainerType::ALL.iter().position(|t| *t == c.container_type).unwrap_or_default();
            text.extend_from_slice(&[0, 0, kind as u8]);
            text.extend_from_slice(&c.restart_count.to_le_bytes());
            text.push(b',');
            push_labels(&mut text, &[("container", &c.name)]);
            let len = u16::try_from(text.len() - start - 7).unwrap_or(u16::MAX);
            text[start..start + 2].copy_from_slice(&len.to_le_bytes());
        }
        let workload_start = text.len();
        text.push(b',');
        push_labels(&mut text, &[("workload_kind", &pod.workload.kind), ("workload", &pod.workload.name)]);
        text.extend_from_slice(b"} 1\n");
        // A pod object is at most a few MiB (etcd's limit), so the offsets fit.
        let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
        text[..4].copy_from_slice(&offset(containers_start));
        text[4..8].copy_from_slice(&offset(workload_start));
        PodLines { text: text.into_boxed_slice(), quiet: crate::diagnose::is_quiet(pod) }
    }

    /// `pod` with its lines.
    pub fn attach(mut pod: SlimPod) -> SlimPod {
        pod.lines = Some(PodLines::of(&pod));
        pod
    }

    /// The text and quietness of `pod`'s lines: those attached at ingest, or made now.
    fn get(pod: &SlimPod) -> (std::borrow::Cow<'_, [u8]>, bool) {
        match &pod.lines {
            Some(lines) => (std::borrow::Cow::Borrowed(&lines.text), lines.quiet),
            None => {
                let lines = PodLines::of(pod);
                (std::borrow::Cow::Owned(lines.text.into_vec()), lines.quiet)
            }
        }
    }
}

/// Reads the text of [`PodLines`].
mod lines {
    use super::{CONTAINER_TYPE_TAILS, ContainerLine};

    fn offset(text: &[u8], at: usize) -> usize {
        text.get(at..at + 4).and_then(|b| b.try_into().ok()).map_or(0, |b| u32::from_le_bytes(b) as usize)
    }

    pub(super) fn pod_labels(text: &[u8]) -> &[u8] {
        text.get(8..offset(text, 0)).unwrap_or_default()
    }

    pub(super) fn containers(text: &[u8]) -> impl Iterator<Item = ContainerLine<'_>> {
        let mut rest = text.get(offset(text, 0)..offset(text, 4)).unwrap_or_default();
        std::iter::from_fn(move || {
            let (&[lo, hi, kind, r0, r1, r2, r3], after) = rest.split_first_chunk::<7>()?;
            let (container, after) = after.split_at_checked(usize::from(u16::from_le_bytes([lo, hi])))?;
            rest = after;
            let type_tail = CONTAINER_TYPE_TAILS.get(usize::from(kind)).copied().unwrap_or(CONTAINER_TYPE_TAILS[0]);
            Some(ContainerLine { container, type_tail, restarts: u32::from_le_bytes([r0, r1, r2, r3]) })
        })
    }

    pub(super) fn workload_tail(text: &[u8]) -> &[u8] {
        text.get(offset(text, 4)..).unwrap_or_default()
    }
}

impl Text<'_> {
    /// One pre-rendered sample: `name{`, then the given pieces of the label set, value and newline.
    fn line(&mut self, name: &str, pieces: &[&[u8]]) -> std::io::Result<()> {
        let buf = &mut self.buf;
        buf.extend_from_slice(name.as_bytes());
        buf.push(b'{');
        for piece in pieces {
            buf.extend_from_slice(piece);
        }
        self.chunk_done()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines, from [`FAMILIES`].
    fn family(&mut self, name: &'static str) {
        let (kind, help) = FAMILIES.iter().find(|f| f.0 == name).map_or(("unknown", ""), |f| (f.1, f.2));
        let shown = match self.format {
            Format::OpenMetrics if kind == "counter" => base(name),
            _ => name,
        };
        for (tag, text) in [("# HELP ", help), ("# TYPE ", kind)] {
            self.buf.extend_from_slice(tag.as_bytes());
            self.buf.extend_from_slice(shown.as_bytes());
            self.buf.push(b' ');
            for b in text.as_bytes() {
                match b {
                    b'\\' => self.buf.extend_from_slice(b"\\\\"),
                    b'\n' => self.buf.extend_from_slice(b"\\n"),
                    b'"' if self.format == Format::OpenMetrics => self.buf.extend_from_slice(b"\\\""),
                    _ => self.buf.push(*b),
                }
            }
            self.buf.push(b'\n');
        }
    }

    /// One sample: `name{labels[,extra="value"]} value`; `labels` is already escaped.
    fn sample(
        &mut self,
        name: &str,
        labels: &[u8],
        extra: Option<(&str, &str)>,
        value: impl Into<Value>,
    ) -> std::io::Result<()> {
        let buf = &mut self.buf;
        buf.reserve(name.len() + labels.len() + 96);
        buf.extend_from_slice(name.as_bytes());
        buf.push(b'{');
        buf.extend_from_slice(labels);
        if let Some(extra) = extra {
            if !labels.is_empty() {
                buf.push(b',');
            }
            push_labels(buf, &[extra]);
        }
        buf.extend_from_slice(b"} ");
        match value.into() {
            Value::Int(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Value::Uint(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Value::Float(v) if v.is_nan() => buf.extend_from_slice(b"NaN"),
            Value::Float(v) if v.is_infinite() => buf.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" }),
            Value::Float(v) => buf.extend_from_slice(dtoa::Buffer::new().format_finite(v).as_bytes()),
        }
        buf.push(b'\n');
        self.chunk_done()
    }

    /// Hands a full chunk on.
    fn chunk_done(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands the rest on.
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

/// What one pass over the pods finds: the containers with detail series (or counted
/// Events), each with its label set rendered once; the missing objects; the aggregates.
/// Healthy containers leave nothing behind, so a render's memory follows the troubled.
struct Scan<'a> {
    /// Every pod's [`PodLines`] text, in the order of `pods`.
    lines: Vec<std::borrow::Cow<'a, [u8]>>,
    details: Vec<Detail<'a>>,
    missing: Vec<(&'a SlimPod, crate::model::ObjectKind, String)>,
    troubled: BTreeMap<(&'a str, &'static str), i64>,
    in_backoff: BTreeMap<&'a str, i64>,
    waiting: BTreeMap<(&'a str, &'static str), i64>,
}

/// A container with detail series, or with counted Events.
struct Detail<'a> {
    report: ContainerReport<'a>,
    events: Option<ContainerEvents>,
    labels: Vec<u8>,
}

impl<'a> Scan<'a> {
    /// `events` is keyed by pod uid.
    fn of(
        pods: &'a [Arc<SlimPod>],
        events: &mut HashMap<String, PodEvents>,
        source: &PodSource,
        now: Timestamp,
    ) -> Self {
        let mut scan = Scan {
            lines: Vec::with_capacity(pods.len()),
            details: Vec::new(),
            missing: Vec::new(),
            troubled: BTreeMap::new(),
            in_backoff: BTreeMap::new(),
            waiting: BTreeMap::new(),
        };
        for pod in pods {
            let pod: &'a SlimPod = pod;
            let (lines, quiet) = PodLines::get(pod);
            scan.lines.push(lines);
            let pod_events = if events.is_empty() { None } else { events.remove(pod.uid()) };
            if quiet && pod_events.is_none() && !source.healthy_details {
                continue;
            }
            let logs = |c: &SlimContainer| source.log_hints.get(pod, c);
            let ns = pod.namespace();
            for report in assess(pod, pod_events.as_ref(), &logs, now, source.healthy_details) {
                if let Some(cause) = report.cause {
                    *scan.troubled.entry((ns, cause.as_str())).or_default() += 1;
                }
                if let Some(w) = report.container.state.waiting() {
                    *scan.waiting.entry((ns, w.reason.as_str())).or_default() += 1;
                    if w.reason == WaitingReason::CrashLoopBackOff {
                        *scan.in_backoff.entry(ns).or_default() += 1;
                    }
                }
                let container_events =
                    pod_events.as_ref().and_then(|e| e.containers.get(&*report.container.name)).cloned();
                if report.detailed || container_events.is_some() {
                    let labels = container_labels(pod, report.container);
                    scan.details.push(Detail { report, events: container_events, labels });
                }
            }
            scan.missing.extend(
                crate::diagnose::missing_objects(pod, pod_events.as_ref())
                    .into_iter()
                    .map(|(kind, name)| (pod, kind, name)),
            );
        }
        scan
    }
}

fn container_labels(pod: &SlimPod, c: &SlimContainer) -> Vec<u8> {
    label_set(&[
        ("namespace", pod.namespace()),
        ("pod", pod.name()),
        ("container", &c.name),
        ("container_type", c.container_type.as_str()),
    ])
}

fn encode_pods(text: &mut Text, scan: &Scan) -> std::io::Result<()> {
    text.family("crashloop_container_restarts_total");
    for pod in &scan.lines {
        for c in lines::containers(pod) {
            let mut restarts = itoa::Buffer::new();
            let restarts = restarts.format(c.restarts).as_bytes();
            text.line(
                "crashloop_container_restarts_total",
                &[lines::pod_labels(pod), c.container, c.type_tail.as_bytes(), restarts, b"\n"],
            )?;
        }
    }
    let detailed = || scan.details.iter().filter(|d| d.report.detailed);
    text.family("crashloop_container_state");
    for d in detailed() {
        let current = d.report.container.state.label();
        for s in State::LABELS {
            text.sample("crashloop_container_state", &d.labels, Some(("state", s)), *s == current)?;
        }
    }
    text.family("crashloop_container_waiting_reason");
    for d in detailed() {
        if let Some(w) = d.report.container.state.waiting() {
            text.sample("crashloop_container_waiting_reason", &d.labels, Some(("reason", w.reason.as_str())), 1i64)?;
        }
    }
    let last = || detailed().filter_map(|d| d.report.container.latest_termination().map(|t| (d, t)));
    text.family("crashloop_container_last_terminated_exit_code");
    for (d, t) in last() {
        text.sample("crashloop_container_last_terminated_exit_code", &d.labels, None, i64::from(t.exit_code))?;
    }
    text.family("crashloop_container_last_terminated_signal");
    for (d, t) in last() {
        if let Some(sig) = t.signal() {
            text.sample("crashloop_container_last_terminated_signal", &d.labels, None, i64::from(sig))?;
        }
    }
    text.family("crashloop_container_last_terminated_reason");
    for (d, t) in last() {
        text.sample(
            "crashloop_container_last_terminated_reason",
            &d.labels,
            Some(("reason", t.reason.as_str())),
            1i64,
        )?;
    }
    text.family("crashloop_container_last_terminated_timestamp_seconds");
    for (d, t) in last() {
        if let Some(f) = t.finished_at {
            text.sample("crashloop_container_last_terminated_timestamp_seconds", &d.labels, None, f)?;
        }
    }
    text.family("crashloop_container_last_terminated_oom_killed");
    for (d, t) in last() {
        text.sample(
            "crashloop_container_last_terminated_oom_killed",
            &d.labels,
            None,
            t.reason == TerminationReason::OomKilled,
        )?;
    }
    text.family("crashloop_container_in_backoff");
    for d in detailed() {
        text.sample("crashloop_container_in_backoff", &d.labels, None, d.report.backoff.active)?;
    }
    text.family("crashloop_container_backoff_delay_seconds");
    for d in detailed().filter(|d| d.report.backoff.active) {
        let source = if d.report.backoff.estimated { "estimate" } else { "kubelet" };
        text.sample(
            "crashloop_container_backoff_delay_seconds",
            &d.labels,
            Some(("source", source)),
            d.report.backoff.delay_seconds,
        )?;
    }
    text.family("crashloop_container_next_restart_timestamp_seconds");
    for d in detailed() {
        if let Some(t) = d.report.backoff.next_restart {
            text.sample("crashloop_container_next_restart_timestamp_seconds", &d.labels, None, t)?;
        }
    }
    text.family("crashloop_container_memory_limit_bytes");
    for d in detailed() {
        if let Some(b) = d.report.container.memory_limit_bytes {
            text.sample("crashloop_container_memory_limit_bytes", &d.labels, None, b)?;
        }
    }
    text.family("crashloop_container_crashlooping");
    for d in detailed() {
        text.sample("crashloop_container_crashlooping", &d.labels, None, d.report.crashlooping)?;
    }
    text.family("crashloop_container_crashloop_start_timestamp_seconds");
    for d in detailed().filter(|d| d.report.crashlooping) {
        if let Some(t) = d.report.container.history().loop_since {
            text.sample("crashloop_container_crashloop_start_timestamp_seconds", &d.labels, None, t)?;
        }
    }
    text.family("crashloop_container_terminations_total");
    for d in detailed()
        .filter(|d| d.report.container.restart_count > 0 || !d.report.container.history().terminations.is_empty())
    {
        let counts = &d.report.container.history().terminations.0;
        for (reason, n) in crate::model::Terminations::REASONS.iter().zip(counts) {
            text.sample("crashloop_container_terminations_total", &d.labels, Some(("reason", reason)), *n)?;
        }
    }
    text.family("crashloop_pod_workload_info");
    for pod in &scan.lines {
        text.line("crashloop_pod_workload_info", &[lines::pod_labels(pod), lines::workload_tail(pod)])?;
    }
    text.family("crashloop_container_probable_cause");
    for d in &scan.details {
        if let Some(cause) = d.report.cause {
            text.sample("crashloop_container_probable_cause", &d.labels, Some(("cause", cause.as_str())), 1i64)?;
        }
    }
    text.family("crashloop_troubled_containers");
    for ((ns, cause), n) in &scan.troubled {
        text.sample("crashloop_troubled_containers", &label_set(&[("namespace", ns), ("cause", cause)]), None, *n)?;
    }
    text.family("crashloop_crashloopbackoff_containers");
    for (ns, n) in &scan.in_backoff {
        text.sample("crashloop_crashloopbackoff_containers", &label_set(&[("namespace", ns)]), None, *n)?;
    }
    text.family("crashloop_waiting_containers");
    for ((ns, reason), n) in &scan.waiting {
        text.sample("crashloop_waiting_containers", &label_set(&[("namespace", ns), ("reason", reason)]), None, *n)?;
    }
    encode_events(text, scan)
}

/// Counter families from Events: a detailed container gets explicit zeros for the probes it
/// has; any container gets a series once something was counted.
fn encode_events(text: &mut Text, scan: &Scan) -> std::io::Result<()> {
    let details = &scan.details;
    let has_probe = |c: &SlimContainer, p: Probe| match p {
        Probe::Liveness => c.has_liveness_probe,
        Probe::Readiness => c.has_readiness_probe,
        Probe::Startup => c.has_startup_probe,
    };
    type Count = fn(&ContainerEvents, Probe) -> u64;
    let probe_families: [(&'static str, &[Probe], Count); 2] = [
        ("crashloop_container_probe_failures_total", &Probe::ALL, |e, p| e.probe_failures[p as usize]),
        ("crashloop_container_probe_kills_total", &[Probe::Liveness, Probe::Startup], |e, p| e.probe_kills[p as usize]),
    ];
    for (name, probes, count) in probe_families {
        text.family(name);
        for d in details {
            for p in probes {
                let n = d.events.as_ref().map_or(0, |e| count(e, *p));
                if n > 0 || (d.report.detailed && has_probe(d.report.container, *p)) {
                    text.sample(name, &d.labels, Some(("probe", p.as_str())), n)?;
                }
            }
        }
    }
    type Total = fn(&ContainerEvents) -> u64;
    let event_families: [(&'static str, Total); 2] = [
        ("crashloop_container_backoff_events_total", |e| e.backoffs),
        ("crashloop_container_image_pull_backoff_events_total", |e| e.image_pull_backoffs),
    ];
    for (name, count) in event_families {
        text.family(name);
        for d in details {
            match d.events.as_ref().map_or(0, count) {
                n if n > 0 || d.report.detailed => text.sample(name, &d.labels, None, n)?,
                _ => {}
            }
        }
    }
    text.family("crashloop_container_image_pull_failure");
    for d in details {
        if d.report.container.state.waiting().is_some_and(|w| w.reason.is_image_problem()) {
            let category = d.events.as_ref().and_then(|e| e.pull_failure).unwrap_or(crate::events::PullFailure::Other);
            text.sample(
                "crashloop_container_image_pull_failure",
                &d.labels,
                Some(("category", category.as_str())),
                1i64,
            )?;
        }
    }
    text.family("crashloop_pod_missing_object");
    for (pod, kind, name) in &scan.missing {
        let labels =
            label_set(&[("namespace", pod.namespace()), ("pod", pod.name()), ("kind", kind.as_str()), ("name", name)]);
        text.sample("crashloop_pod_missing_object", &labels, None, 1i64)?;
    }
    Ok(())
}

fn encode_cache(text: &mut Text, caches: &[PodCache], cached: usize, events: usize) -> std::io::Result<()> {
    text.family("crashloop_exporter_cached_objects");
    text.sample("crashloop_exporter_cached_objects", br#"resource="pods""#, None, cached as u64)?;
    text.sample("crashloop_exporter_cached_objects", br#"resource="events""#, None, events as u64)?;
    // The stalest scope decides: one namespace out of sync makes the whole view stale.
    text.family("crashloop_exporter_last_sync_timestamp_seconds");
    match caches.iter().map(PodCache::last_sync).min().unwrap_or(0) {
        0 => Ok(()),
        t => text.sample("crashloop_exporter_last_sync_timestamp_seconds", br#"resource="pods""#, None, t),
    }
}

/// The `/metrics` body, rendered once for all the scrapes that ask at the same time, and
/// kept until the caches, the Event counts or the log hints change or the clock moves on
/// a second. Small (compressed) bodies are kept between scrapes; a large plain body only
/// while some response still holds it.
pub struct Exposition {
    source: PodSource,
    self_metrics: Registry,
    renders: Counter,
    /// The size of the last plain body.
    plain_bytes: std::sync::atomic::AtomicUsize,
    slots: [tokio::sync::Mutex<Slot>; 4],
}

#[derive(Default)]
struct Slot {
    version: Option<(u64, Timestamp)>,
    kept: Option<Bytes>,
    shared: std::sync::Weak<Vec<u8>>,
}

/// Bodies up to this size stay cached between scrapes.
const KEEP_BYTES: usize = 16 * 1024 * 1024;

struct Body(Arc<Vec<u8>>);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Exposition {
    pub fn new(source: PodSource, self_metrics: &SelfMetrics) -> Self {
        let mut registry = Registry::default();
        self_metrics.register(&mut registry);
        Exposition {
            source,
            self_metrics: registry,
            renders: self_metrics.renders.clone(),
            plain_bytes: Default::default(),
            slots: Default::default(),
        }
    }

    /// What the body depends on: every change counter, and the second.
    fn version(&self) -> (u64, Timestamp) {
        let pods: u64 = self.source.caches.iter().map(|c| c.changes.load(Ordering::Acquire)).sum();
        let events = crate::watch::lock(&self.source.events).generation();
        let hints = self.source.log_hints.generation();
        (pods.wrapping_add(events).wrapping_add(hints), (self.source.clock)())
    }

    /// Renders the body now, uncached: the text, or its gzip.
    pub fn render(&self, format: Format, gzip: bool) -> std::io::Result<Vec<u8>> {
        self.renders.inc();
        let text = |out| Text { buf: Vec::with_capacity(CHUNK + 4096), out, format };
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(CHUNK), flate2::Compression::fast());
            render(&self.source, &self.self_metrics, &mut text(&mut encoder))?;
            encoder.finish()
        } else {
            // Sized as the last plain body was, so it is not grown (and copied) step by step.
            let hint = self.plain_bytes.load(Ordering::Relaxed);
            let mut body = Vec::with_capacity(hint + hint / 16 + CHUNK);
            render(&self.source, &self.self_metrics, &mut text(&mut body))?;
            self.plain_bytes.store(body.len(), Ordering::Relaxed);
            Ok(body)
        }
    }

    /// The body for a scrape: the cached one while nothing changed, or one render shared
    /// with every scrape waiting for the same format.
    pub async fn get(self: &Arc<Self>, format: Format, gzip: bool) -> std::io::Result<Bytes> {
        let index = usize::from(format == Format::OpenMetrics) * 2 + usize::from(gzip);
        let mut slot = self.slots[index].lock().await;
        let version = self.version();
        if slot.version == Some(version) {
            if let Some(kept) = &slot.kept {
                return Ok(kept.clone());
            }
            if let Some(shared) = slot.shared.upgrade() {
                return Ok(Bytes::from_owner(Body(shared)));
            }
        }
        let this = self.clone();
        let body = tokio::task::spawn_blocking(move || this.render(format, gzip))
            .await
            .map_err(|e| std::io::Error::other(format!("the render task failed: {e}")))??;
        let body = Arc::new(body);
        let bytes = Bytes::from_owner(Body(body.clone()));
        slot.version = Some(version);
        if body.len() <= KEEP_BYTES {
            slot.kept = Some(bytes.clone());
            slot.shared = std::sync::Weak::new();
        } else {
            slot.kept = None;
            slot.shared = Arc::downgrade(&body);
        }
        Ok(bytes)
    }
}
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::tests::fixture;
    use crate::model::{Timestamp, track};
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;
    use std::sync::atomic::AtomicI64;

    pub(crate) const NOW: Timestamp = 1_795_000_000;

    pub(crate) fn render_pods(pods: Vec<SlimPod>, healthy_details: bool, openmetrics: bool) -> String {
        let (reader, mut writer) = reflector::store::<SlimPod>();
        writer.apply_watcher_event(&Event::Init);
        for pod in pods {
            writer.apply_watcher_event(&Event::InitApply(track(None, pod, NOW, true)));
        }
        writer.apply_watcher_event(&Event::InitDone);
        let source = PodSource {
            caches: vec![cache(reader)],
            events: SharedEvents::default(),
            log_hints: Default::default(),
            healthy_details,
            clock: Arc::new(|| NOW),
        };
        let format = if openmetrics { Format::OpenMetrics } else { Format::Prometheus };
        text_of(&Exposition::new(source, &SelfMetrics::default()), format)
    }

    pub(crate) fn cache(store: reflector::Store<SlimPod>) -> PodCache {
        PodCache {
            store,
            last_sync: Arc::new(AtomicI64::new(NOW)),
            changes: Arc::default(),
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
                r#"crashloop_pod_workload_info{namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",workload_kind="Deployment",workload="checkout"} 1"#
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

    #[test]
    fn container_type_tails_follow_the_label_values() {
        assert_eq!(CONTAINER_TYPE_TAILS.len(), ContainerType::ALL.len());
        for (tail, t) in CONTAINER_TYPE_TAILS.iter().zip(ContainerType::ALL) {
            assert_eq!(*tail, format!(",container_type=\"{}\"}} ", t.as_str()));
        }
    }

    /// Lines attached at ingest render exactly as lines made at render time.
    #[test]
    fn prerendered_lines_render_as_fresh_ones() {
        let names =
            ["deployment-oom-crashloop", "init-and-sidecar", "missing-configmap", "liveness-killed", "oom-exit-1"];
        let fresh: Vec<SlimPod> = names.iter().map(|n| fixture(n)).collect();
        let attached: Vec<SlimPod> =
            names.iter().map(|n| PodLines::attach(track(None, fixture(n), NOW, true))).collect();
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
        assert!(out.contains(r#"crashloop_pod_workload_info{namespace="bank",pod="ledger-0",workload_kind="StatefulSet",workload="ledger"} 1"#));
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
        use crate::watch::Shard;
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
        let (reader, mut writer) = reflector::store::<SlimPod>();
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitApply(track(None, fixture("deployment-oom-crashloop"), NOW, true)));
        writer.apply_watcher_event(&Event::InitDone);
        let cache = cache(reader);
        let changes = cache.changes.clone();
        let source = PodSource {
            caches: vec![cache],
            events: SharedEvents::default(),
            log_hints: Default::default(),
            healthy_details: false,
            clock: Arc::new(|| NOW),
        };
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
            bodies.push(s.await.expect("joins").expect("renders"));
        }
        assert_eq!(self_metrics.renders.get(), 1, "eight concurrent scrapes, one render");
        assert!(bodies.iter().all(|b| *b == bodies[0]));
        exposition.get(Format::Prometheus, true).await.expect("renders");
        assert_eq!(self_metrics.renders.get(), 1, "nothing changed: the cached body");
        changes.fetch_add(1, Ordering::Release);
        exposition.get(Format::Prometheus, true).await.expect("renders");
        assert_eq!(self_metrics.renders.get(), 2, "a change: a new render");
        exposition.get(Format::OpenMetrics, false).await.expect("renders");
        assert_eq!(self_metrics.renders.get(), 3, "each format has its own body");
    }

    #[test]
    fn escaping_is_needed_exactly_where_a_special_byte_is() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'\\', b'"', b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert!(needs_escape(&bytes), "{len} {at} {special}");
                }
            }
            assert!(!needs_escape(&vec![b'z'; len]));
            assert!(!needs_escape("ü-é-\u{7f}-#".repeat(len).as_bytes()));
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut buf = Vec::new();
        push_labels(&mut buf, &[("name", "a\\b\"c\nd ü"), ("kind", "plain")]);
        assert_eq!(String::from_utf8(buf).expect("UTF-8"), r#"name="a\\b\"c\nd ü",kind="plain""#);
    }

    #[test]
    fn every_family_is_documented_in_the_readme() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
        for (name, kind, _) in FAMILIES {
            assert!(readme.contains(&format!("| `{name}` | {kind} |")), "README lacks a row for {name} ({kind})");
        }
    }

    #[test]
    fn every_family_is_served() {
        let (reader, mut writer) = reflector::store::<SlimPod>();
        writer.apply_watcher_event(&Event::Init);
        let pulling: SlimPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "puller", "namespace": "shop", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
        }))
        .expect("pod");
        for pod in [fixture("deployment-oom-crashloop"), fixture("missing-configmap"), pulling] {
            writer.apply_watcher_event(&Event::InitApply(track(None, pod, NOW, true)));
        }
        writer.apply_watcher_event(&Event::InitDone);
        let self_metrics = SelfMetrics::default();
        self_metrics.events_seen.inc();
        self_metrics.events_ignored.get_or_create(&ReasonLabels { reason: "unknown_pod" }).inc();
        self_metrics.event_parse_failures.inc();
        self_metrics.log_fetches.get_or_create(&ResultLabels { result: "not_found" }).inc();
        self_metrics.watch_events.get_or_create(&WatchEventLabels { resource: "pods", r#type: "apply" }).inc();
        self_metrics.relists.get_or_create(&ResourceLabels { resource: "pods" }).inc();
        self_metrics.api_errors.get_or_create(&ApiErrorLabels { resource: "pods", kind: "forbidden" }).inc();
        let source = PodSource {
            caches: vec![cache(reader)],
            events: SharedEvents::default(),
            log_hints: Default::default(),
            healthy_details: false,
            clock: Arc::new(|| NOW),
        };
        let out = text_of(&Exposition::new(source, &self_metrics), Format::Prometheus);
        assert!(out.contains(r#"crashloop_pod_missing_object{namespace="shop",pod="api-6f7d8-qwert",kind="configmap",name="app-config"} 1"#));
        assert!(out.contains(r#"crashloop_container_image_pull_failure{namespace="shop",pod="puller",container="c",container_type="regular",category="other"} 1"#));
        for (name, kind, _) in FAMILIES {
            assert!(out.contains(&format!("# TYPE {name} {kind}\n")), "{name} has no TYPE line");
            assert!(!samples(&out, name).is_empty(), "{name} has no sample");
        }
    }

    /// The whole pipe against golden files, as node_exporter's `e2e-output.txt`: the pods
    /// and Events a real node wrote (`tests/fixtures/real-node/`, dumped by the real-node
    /// test with `CRASHLOOP_DUMP_FIXTURES`) go through the real ingest (`PodIngest`, the
    /// Event counts) and the real exposition, in both formats, and must equal
    /// `tests/golden/real-node.{prom,om}` byte for byte, samples sorted within each family.
    /// `UPDATE_GOLDEN=1` rewrites them.
    #[test]
    fn golden_exposition_of_a_real_node() {
        use crate::events::SlimEvent;
        use crate::watch::{PodIngest, Shard, lock};
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |name: &str| -> serde_json::Value {
            let path = format!("{root}/tests/fixtures/real-node/{name}");
            serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
        };
        let now: Timestamp = read("now.json")["now"].as_i64().expect("now");
        let shared = SharedEvents::default();
        let metrics = SelfMetrics::default();
        let (cache, mut ingest) =
            PodIngest::new(Shard::default(), metrics.clone(), shared.clone(), Arc::new(move || now));
        ingest.apply(Event::Init);
        for item in read("pods.json")["items"].as_array().expect("pods") {
            ingest.apply(Event::InitApply(serde_json::from_value(item.clone()).expect("a slim pod")));
        }
        ingest.apply(Event::InitDone);
        {
            let mut counts = lock(&shared);
            counts.baseline = false;
            for item in read("events.json")["items"].as_array().expect("events") {
                let event: SlimEvent = serde_json::from_value(item.clone()).expect("a slim event");
                counts.apply(&event, |ns, name| {
                    cache
                        .store
                        .get(&kube::runtime::reflector::ObjectRef::new(name).within(ns))
                        .map(|p| p.uid().to_string())
                });
            }
        }
        let source = PodSource {
            caches: vec![cache],
            events: shared,
            log_hints: Default::default(),
            healthy_details: false,
            clock: Arc::new(move || now),
        };
        let exposition = Exposition::new(source, &metrics);
        // The store is a hash map: pods come in no set order. Within each family the samples
        // are sorted, so the files change only when the output does.
        let canonical = |text: String| {
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
        for (format, file) in [(Format::Prometheus, "real-node.prom"), (Format::OpenMetrics, "real-node.om")] {
            let got = canonical(text_of(&exposition, format));
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

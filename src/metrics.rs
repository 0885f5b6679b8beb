//! The metric families: pod and container series rendered from the cache at scrape
//! time, and the exporter's own counters.
//!
//! Every family is listed in [`FAMILIES`] and in the README's reference table; a test
//! keeps the two in step. Label values are bounded: reasons are mapped onto documented
//! sets (anything else is `other`), and exit codes, signals and delays are values.

use std::collections::BTreeMap;
use std::fmt::Error as FmtError;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::diagnose::{assess, ContainerReport};
use crate::events::{ContainerEvents, PodEvents, Probe};
use crate::watch::{PodCache, SharedEvents};
use crate::model::{SlimContainer, SlimPod, State, TerminationReason, WaitingReason};

/// `(name, type, help)` of every family the exporter serves; names as exposed.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    ("crashloop_container_restarts_total", "counter", "Restarts of the container (the kubelet's restartCount)."),
    ("crashloop_container_state", "gauge", "Current state of the container: 1 for the state it is in, 0 for the others."),
    ("crashloop_container_waiting_reason", "gauge", "Why the container is waiting: 1 for the current reason, 0 for every other documented reason; unknown reasons are `other`."),
    ("crashloop_container_last_terminated_exit_code", "gauge", "Exit code of the container's last termination."),
    ("crashloop_container_last_terminated_signal", "gauge", "Signal that ended the last termination, derived as exit code - 128 where the code is over 128."),
    ("crashloop_container_last_terminated_reason", "gauge", "Reason of the last termination (value 1); unknown reasons are `other`."),
    ("crashloop_container_last_terminated_timestamp_seconds", "gauge", "When the last termination finished, in seconds since the epoch."),
    ("crashloop_container_last_terminated_oom_killed", "gauge", "1 when the last termination was an OOM kill (reason OOMKilled, whatever the exit code)."),
    ("crashloop_container_in_backoff", "gauge", "1 while the container waits in CrashLoopBackOff."),
    ("crashloop_container_backoff_delay_seconds", "gauge", "Current crash-loop back-off delay; `source` says whether it is the kubelet's or an estimate."),
    ("crashloop_container_next_restart_timestamp_seconds", "gauge", "Estimated time of the next restart: last finishedAt plus the back-off delay."),
    ("crashloop_container_memory_limit_bytes", "gauge", "Memory limit of the container, where one is set."),
    ("crashloop_container_crashlooping", "gauge", "1 from a container's first crash loop until it has run 10 minutes without a restart, then 0."),
    ("crashloop_container_crashloop_start_timestamp_seconds", "gauge", "When the current crash loop was first seen, in seconds since the epoch."),
    ("crashloop_container_terminations_total", "counter", "Terminations observed through restartCount increases, by the reason of the last termination."),
    ("crashloop_container_probe_failures_total", "counter", "Failed or errored probe runs, from the kubelet's Unhealthy events, by probe."),
    ("crashloop_container_probe_kills_total", "counter", "Containers killed by the kubelet because a liveness or startup probe failed, from Killing events, by probe."),
    ("crashloop_container_backoff_events_total", "counter", "The kubelet's `Back-off restarting failed container` events."),
    ("crashloop_container_image_pull_backoff_events_total", "counter", "The kubelet's `Back-off pulling image` events."),
    ("crashloop_container_image_pull_failure", "gauge", "1 while the container waits on an image it cannot pull, with the category of the last pull error."),
    ("crashloop_pod_missing_object", "gauge", "1 for each ConfigMap, Secret or PVC the pod waits for and the cluster does not have."),
    ("crashloop_container_probable_cause", "gauge", "Probable cause of a troubled container's trouble: 1 for the cause, 0 for every other cause."),
    ("crashloop_troubled_containers", "gauge", "Troubled containers (crash-looping, waiting on an error, or evicted) by namespace and probable cause."),
    ("crashloop_pod_workload_info", "gauge", "The workload that owns the pod (value 1): ReplicaSets are mapped to Deployments, Jobs to CronJobs."),
    ("crashloop_crashloopbackoff_containers", "gauge", "Containers waiting in CrashLoopBackOff, by namespace."),
    ("crashloop_waiting_containers", "gauge", "Waiting containers by namespace and reason."),
    ("crashloop_exporter_build_info", "gauge", "Build information (value 1)."),
    ("crashloop_exporter_watch_events_total", "counter", "Watch events handled, by resource and event type."),
    ("crashloop_exporter_relists_total", "counter", "Full lists of a resource: the first one and every relist after a watch restart or 410 Gone."),
    ("crashloop_exporter_api_errors_total", "counter", "Errors from the Kubernetes API, by resource and kind."),
    ("crashloop_exporter_events_seen_total", "counter", "Events about pods received from the API."),
    ("crashloop_exporter_events_ignored_total", "counter", "Events left out, by reason."),
    ("crashloop_exporter_event_parse_failures_total", "counter", "Events of a reason the exporter reads whose message it could not parse."),
    ("crashloop_exporter_log_fetches_total", "counter", "Previous-log fetches (--logs), by result: ok, not_found (no previous instance, or no kubelet), forbidden, error."),
    ("crashloop_exporter_shard_ordinal", "gauge", "This replica's shard (--shard)."),
    ("crashloop_exporter_total_shards", "gauge", "How many shards there are (--total-shards)."),
    ("crashloop_exporter_cached_objects", "gauge", "Objects held in the cache, by resource."),
    ("crashloop_exporter_last_sync_timestamp_seconds", "gauge", "When the resource's cache was last in sync with the API (a list completed or a watch event arrived)."),
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
        registry.register(SHARD_ORDINAL, help(SHARD_ORDINAL), m.shard_ordinal);
        registry.register(TOTAL_SHARDS, help(TOTAL_SHARDS), m.total_shards);
        self.total_shards.set(self.total_shards.get().max(1));
        self.build_info
            .get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION"), rust_version: env!("CARGO_PKG_RUST_VERSION") })
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

/// The registry served on `/metrics`.
pub fn registry(source: PodSource, self_metrics: &SelfMetrics) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(PodCollector(source)));
    self_metrics.register(&mut registry);
    registry
}

#[derive(Debug)]
struct PodCollector(PodSource);

/// One pod's reports, computed once per scrape and read by every family.
struct PodRows<'a> {
    pod: &'a SlimPod,
    reports: Vec<ContainerReport<'a>>,
    events: Option<PodEvents>,
}

impl PodRows<'_> {
    fn container_events(&self, container: &str) -> Option<&ContainerEvents> {
        self.events.as_ref()?.containers.get(container)
    }
}

type Labels<'a, const N: usize> = [(&'static str, &'a str); N];

fn container_labels<'a>(pod: &'a SlimPod, c: &'a SlimContainer) -> Labels<'a, 4> {
    [
        ("namespace", pod.namespace()),
        ("pod", pod.name()),
        ("container", c.name.as_str()),
        ("container_type", c.container_type.as_str()),
    ]
}

fn with<'a>(l: Labels<'a, 4>, extra: (&'static str, &'a str)) -> Labels<'a, 5> {
    [l[0], l[1], l[2], l[3], extra]
}

/// Encodes one family: the descriptor once, then each sample.
fn family<'s>(
    enc: &'s mut DescriptorEncoder,
    name: &'static str,
    metric_type: MetricType,
    body: impl FnOnce(&mut MetricEncoder<'_>) -> Result<(), FmtError>,
) -> Result<(), FmtError> {
    let mut m = enc.encode_descriptor(base(name), help(name), None, metric_type)?;
    body(&mut m)
}

fn gauge<L: EncodeLabelSet, V: prometheus_client::encoding::EncodeGaugeValue + Send + Sync + std::fmt::Debug>(
    m: &mut MetricEncoder<'_>,
    labels: &L,
    value: V,
) -> Result<(), FmtError> {
    ConstGauge::new(value).encode(m.encode_family(labels)?)
}

fn counter<L: EncodeLabelSet>(m: &mut MetricEncoder<'_>, labels: &L, value: u64) -> Result<(), FmtError> {
    ConstCounter::new(value).encode(m.encode_family(labels)?)
}

impl Collector for PodCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), FmtError> {
        let source = &self.0;
        let now = (source.clock)();
        let mut pods: Vec<Arc<SlimPod>> = source.caches.iter().flat_map(|c| c.store.state()).collect();
        pods.sort_unstable_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        let (mut events, records) = {
            let state = crate::watch::lock(&source.events);
            (state.snapshot(), state.records())
        };
        let rows: Vec<PodRows> = pods
            .iter()
            .map(|p| {
                let events = events.remove(&(p.namespace().to_string(), p.name().to_string())).filter(|e| e.uid == p.uid());
                let logs = |c: &SlimContainer| source.log_hints.get(p, c);
                let reports = assess(p, events.as_ref(), &logs, now, source.healthy_details);
                PodRows { pod: p, reports, events }
            })
            .collect();
        encode_pods(&mut enc, &rows)?;
        encode_events(&mut enc, &rows)?;
        encode_cache(&mut enc, &source.caches, pods.len(), records)
    }
}

/// Counter families from Events: a detailed container gets explicit zeros for the probes it
/// has; any container gets a series once something was counted.
fn encode_events(enc: &mut DescriptorEncoder, rows: &[PodRows]) -> Result<(), FmtError> {
    use MetricType::{Counter as C, Gauge as G};
    let with_events = || {
        rows.iter().flat_map(|row| row.reports.iter().map(move |r| (row, r, row.container_events(&r.container.name))))
    };
    let has_probe = |c: &SlimContainer, p: Probe| match p {
        Probe::Liveness => c.has_liveness_probe,
        Probe::Readiness => c.has_readiness_probe,
        Probe::Startup => c.has_startup_probe,
    };
    // A detailed container gets an explicit 0 for each probe it has.
    let probes = |enc: &mut DescriptorEncoder, name, probes: &[Probe], count: fn(&ContainerEvents, Probe) -> u64| {
        family(enc, name, C, |m| {
            with_events().try_for_each(|(row, r, ev)| {
                probes.iter().try_for_each(|p| {
                    let n = ev.map_or(0, |e| count(e, *p));
                    if n > 0 || (r.detailed && has_probe(r.container, *p)) {
                        counter(m, &with(container_labels(row.pod, r.container), ("probe", p.as_str())), n)
                    } else {
                        Ok(())
                    }
                })
            })
        })
    };
    probes(enc, "crashloop_container_probe_failures_total", &Probe::ALL, |e, p| e.probe_failures[p as usize])?;
    probes(enc, "crashloop_container_probe_kills_total", &[Probe::Liveness, Probe::Startup], |e, p| e.probe_kills[p as usize])?;
    family(enc, "crashloop_container_backoff_events_total", C, |m| {
        with_events().try_for_each(|(row, r, ev)| match ev.map_or(0, |e| e.backoffs) {
            n if n > 0 || r.detailed => counter(m, &container_labels(row.pod, r.container), n),
            _ => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_image_pull_backoff_events_total", C, |m| {
        with_events().try_for_each(|(row, r, ev)| match ev.map_or(0, |e| e.image_pull_backoffs) {
            n if n > 0 || r.detailed => counter(m, &container_labels(row.pod, r.container), n),
            _ => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_image_pull_failure", G, |m| {
        with_events().try_for_each(|(row, r, ev)| {
            let pulling = r.container.state.waiting().is_some_and(|w| w.reason.is_image_problem());
            if !pulling {
                return Ok(());
            }
            let category = ev.and_then(|e| e.pull_failure).unwrap_or(crate::events::PullFailure::Other);
            gauge(m, &with(container_labels(row.pod, r.container), ("category", category.as_str())), 1i64)
        })
    })?;
    family(enc, "crashloop_pod_missing_object", G, |m| {
        rows.iter().try_for_each(|row| {
            missing_objects(row).iter().try_for_each(|(kind, name)| {
                let labels = [
                    ("namespace", row.pod.namespace()),
                    ("pod", row.pod.name()),
                    ("kind", kind.as_str()),
                    ("name", name.as_str()),
                ];
                gauge(m, &labels, 1i64)
            })
        })
    })
}

/// Objects the pod waits for: from its containers' waiting messages, and from Events while
/// some container has not started yet.
fn missing_objects(row: &PodRows) -> std::collections::BTreeSet<(crate::model::ObjectKind, String)> {
    let mut out: std::collections::BTreeSet<_> = row
        .pod
        .containers
        .iter()
        .filter_map(|c| c.state.waiting()?.missing.as_deref())
        .map(|o| (o.kind, o.name.clone()))
        .collect();
    let not_started = row.pod.containers.iter().any(|c| matches!(c.state, State::Waiting(_) | State::Unknown));
    if not_started {
        if let Some(events) = &row.events {
            out.extend(events.missing.keys().map(|o| (o.kind, o.name.clone())));
        }
    }
    out
}

fn each<'a>(rows: &'a [PodRows<'a>]) -> impl Iterator<Item = (&'a SlimPod, &'a ContainerReport<'a>)> {
    rows.iter().flat_map(|r| r.reports.iter().map(move |c| (r.pod, c)))
}

fn detailed<'a>(rows: &'a [PodRows<'a>]) -> impl Iterator<Item = (&'a SlimPod, &'a ContainerReport<'a>)> {
    each(rows).filter(|(_, r)| r.detailed)
}

fn encode_pods(enc: &mut DescriptorEncoder, rows: &[PodRows]) -> Result<(), FmtError> {
    use MetricType::{Counter as C, Gauge as G};

    family(enc, "crashloop_container_restarts_total", C, |m| {
        each(rows).try_for_each(|(p, r)| counter(m, &container_labels(p, r.container), u64::from(r.container.restart_count)))
    })?;
    family(enc, "crashloop_container_state", G, |m| {
        detailed(rows).try_for_each(|(p, r)| {
            let current = r.container.state.label();
            State::LABELS.iter().try_for_each(|s| {
                gauge(m, &with(container_labels(p, r.container), ("state", s)), i64::from(*s == current))
            })
        })
    })?;
    family(enc, "crashloop_container_waiting_reason", G, |m| {
        detailed(rows).try_for_each(|(p, r)| {
            let current = r.container.state.waiting().map(|w| w.reason);
            WaitingReason::ALL.iter().try_for_each(|reason| {
                gauge(m, &with(container_labels(p, r.container), ("reason", reason.as_str())), i64::from(current == Some(*reason)))
            })
        })
    })?;
    let last = || detailed(rows).filter_map(|(p, r)| r.container.last_termination.as_ref().map(|t| (p, r, t)));
    family(enc, "crashloop_container_last_terminated_exit_code", G, |m| {
        last().try_for_each(|(p, r, t)| gauge(m, &container_labels(p, r.container), i64::from(t.exit_code)))
    })?;
    family(enc, "crashloop_container_last_terminated_signal", G, |m| {
        last().try_for_each(|(p, r, t)| match t.signal() {
            Some(sig) => gauge(m, &container_labels(p, r.container), i64::from(sig)),
            None => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_last_terminated_reason", G, |m| {
        last().try_for_each(|(p, r, t)| gauge(m, &with(container_labels(p, r.container), ("reason", t.reason.as_str())), 1i64))
    })?;
    family(enc, "crashloop_container_last_terminated_timestamp_seconds", G, |m| {
        last().try_for_each(|(p, r, t)| match t.finished_at {
            Some(f) => gauge(m, &container_labels(p, r.container), f),
            None => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_last_terminated_oom_killed", G, |m| {
        last().try_for_each(|(p, r, t)| {
            gauge(m, &container_labels(p, r.container), i64::from(t.reason == TerminationReason::OomKilled))
        })
    })?;
    family(enc, "crashloop_container_in_backoff", G, |m| {
        detailed(rows).try_for_each(|(p, r)| gauge(m, &container_labels(p, r.container), i64::from(r.backoff.active)))
    })?;
    family(enc, "crashloop_container_backoff_delay_seconds", G, |m| {
        detailed(rows).filter(|(_, r)| r.backoff.active).try_for_each(|(p, r)| {
            let source = if r.backoff.estimated { "estimate" } else { "kubelet" };
            gauge(m, &with(container_labels(p, r.container), ("source", source)), r.backoff.delay_seconds)
        })
    })?;
    family(enc, "crashloop_container_next_restart_timestamp_seconds", G, |m| {
        detailed(rows).try_for_each(|(p, r)| match r.backoff.next_restart {
            Some(t) => gauge(m, &container_labels(p, r.container), t),
            None => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_memory_limit_bytes", G, |m| {
        detailed(rows).try_for_each(|(p, r)| match r.container.memory_limit_bytes {
            Some(b) => gauge(m, &container_labels(p, r.container), b),
            None => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_crashlooping", G, |m| {
        detailed(rows).try_for_each(|(p, r)| gauge(m, &container_labels(p, r.container), i64::from(r.crashlooping)))
    })?;
    family(enc, "crashloop_container_crashloop_start_timestamp_seconds", G, |m| {
        detailed(rows).filter(|(_, r)| r.crashlooping).try_for_each(|(p, r)| match r.container.history.loop_since {
            Some(t) => gauge(m, &container_labels(p, r.container), t),
            None => Ok(()),
        })
    })?;
    family(enc, "crashloop_container_terminations_total", C, |m| {
        detailed(rows).filter(|(_, r)| r.container.restart_count > 0).try_for_each(|(p, r)| {
            let counts = &r.container.history.terminations.0;
            crate::model::Terminations::REASONS.iter().zip(counts).try_for_each(|(reason, n)| {
                counter(m, &with(container_labels(p, r.container), ("reason", reason)), *n)
            })
        })
    })?;
    family(enc, "crashloop_pod_workload_info", G, |m| {
        rows.iter().try_for_each(|r| {
            let labels = [
                ("namespace", r.pod.namespace()),
                ("pod", r.pod.name()),
                ("workload_kind", r.pod.workload.kind.as_str()),
                ("workload", r.pod.workload.name.as_str()),
            ];
            gauge(m, &labels, 1i64)
        })
    })?;

    family(enc, "crashloop_container_probable_cause", G, |m| {
        each(rows).try_for_each(|(p, r)| match r.cause {
            Some(cause) => crate::diagnose::Cause::ALL.iter().try_for_each(|c| {
                gauge(m, &with(container_labels(p, r.container), ("cause", c.as_str())), i64::from(*c == cause))
            }),
            None => Ok(()),
        })
    })?;
    let mut troubled: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (p, r) in each(rows) {
        if let Some(cause) = r.cause {
            *troubled.entry((p.namespace(), cause.as_str())).or_default() += 1;
        }
    }
    family(enc, "crashloop_troubled_containers", G, |m| {
        troubled.iter().try_for_each(|((ns, cause), n)| gauge(m, &[("namespace", *ns), ("cause", *cause)], *n))
    })?;

    let mut in_backoff: BTreeMap<&str, i64> = BTreeMap::new();
    let mut waiting: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for (p, r) in each(rows) {
        if let Some(w) = r.container.state.waiting() {
            *waiting.entry((p.namespace(), w.reason.as_str())).or_default() += 1;
            if w.reason == WaitingReason::CrashLoopBackOff {
                *in_backoff.entry(p.namespace()).or_default() += 1;
            }
        }
    }
    family(enc, "crashloop_crashloopbackoff_containers", G, |m| {
        in_backoff.iter().try_for_each(|(ns, n)| gauge(m, &[("namespace", *ns)], *n))
    })?;
    family(enc, "crashloop_waiting_containers", G, |m| {
        waiting.iter().try_for_each(|((ns, reason), n)| gauge(m, &[("namespace", *ns), ("reason", *reason)], *n))
    })
}

fn encode_cache(enc: &mut DescriptorEncoder, caches: &[PodCache], cached: usize, events: usize) -> Result<(), FmtError> {
    let labels = [("resource", "pods")];
    family(enc, "crashloop_exporter_cached_objects", MetricType::Gauge, |m| {
        gauge(m, &labels, cached as u64)?;
        gauge(m, &[("resource", "events")], events as u64)
    })?;
    // The stalest scope decides: one namespace out of sync makes the whole view stale.
    let oldest = caches.iter().map(PodCache::last_sync).min().unwrap_or(0);
    family(enc, "crashloop_exporter_last_sync_timestamp_seconds", MetricType::Gauge, |m| match oldest {
        0 => Ok(()),
        t => gauge(m, &labels, t),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::tests::fixture;
    use crate::model::{track, Timestamp};
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
        let cache = PodCache { store: reader, last_sync: Arc::new(AtomicI64::new(NOW)), ready: tokio::sync::watch::channel(true).1 };
        let source = PodSource { caches: vec![cache], events: SharedEvents::default(), log_hints: Default::default(), healthy_details, clock: Arc::new(|| NOW) };
        let registry = registry(source, &SelfMetrics::default());
        crate::http::render(&registry, openmetrics).expect("renders")
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
        assert_eq!(samples(&out, "crashloop_container_restarts_total"), [line("crashloop_container_restarts_total", "", "5"), format!("crashloop_container_restarts_total{{{PROXY}}} 0")]);
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
        let reasons = samples(&out, "crashloop_container_waiting_reason");
        assert_eq!(reasons.len(), WaitingReason::ALL.len());
        assert!(reasons.contains(&line("crashloop_container_waiting_reason", r#"reason="CrashLoopBackOff""#, "1").as_str()));
        assert_eq!(reasons.iter().filter(|l| l.ends_with(" 1")).count(), 1);
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
            [r#"crashloop_pod_workload_info{namespace="shop",pod="checkout-7d9c8b6f5-x2zqp",workload_kind="Deployment",workload="checkout"} 1"#]
        );
        assert_eq!(samples(&out, "crashloop_crashloopbackoff_containers"), [r#"crashloop_crashloopbackoff_containers{namespace="shop"} 1"#]);
        assert_eq!(
            samples(&out, "crashloop_waiting_containers"),
            [r#"crashloop_waiting_containers{namespace="shop",reason="CrashLoopBackOff"} 1"#]
        );
        assert_eq!(
            samples(&out, "crashloop_exporter_cached_objects"),
            [r#"crashloop_exporter_cached_objects{resource="pods"} 1"#, r#"crashloop_exporter_cached_objects{resource="events"} 0"#]
        );
        assert_eq!(
            samples(&out, "crashloop_exporter_last_sync_timestamp_seconds"),
            [r#"crashloop_exporter_last_sync_timestamp_seconds{resource="pods"} 1795000000"#]
        );
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
        assert!(out.contains(&format!("crashloop_container_backoff_delay_seconds{{{migrate},source=\"kubelet\"}} 40.0\n")));
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
                    p.metadata.uid = Some(format!("uid-{i}"));
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
        let cache = PodCache { store: reader, last_sync: Arc::new(AtomicI64::new(NOW)), ready: tokio::sync::watch::channel(true).1 };
        let source = PodSource { caches: vec![cache], events: SharedEvents::default(), log_hints: Default::default(), healthy_details: false, clock: Arc::new(|| NOW) };
        let out = crate::http::render(&registry(source, &self_metrics), false).expect("renders");
        assert!(out.contains(r#"crashloop_pod_missing_object{namespace="shop",pod="api-6f7d8-qwert",kind="configmap",name="app-config"} 1"#));
        assert!(out.contains(r#"crashloop_container_image_pull_failure{namespace="shop",pod="puller",container="c",container_type="regular",category="other"} 1"#));
        for (name, kind, _) in FAMILIES {
            assert!(out.contains(&format!("# TYPE {name} {kind}\n")), "{name} has no TYPE line");
            assert!(!samples(&out, name).is_empty(), "{name} has no sample");
        }
    }
}

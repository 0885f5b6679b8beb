//! Every metric family the exporter serves, defined once: name, type, help and label
//! names. The encoders write a family only through its definition here, so a family
//! without one does not compile; the README's reference table, the golden files and the
//! label sets of every sample are checked against [`ALL`].

/// A family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// One metric family.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// The name as exposed in the Prometheus text format (counters end in `_total`).
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    /// The label names of every sample, in order.
    pub labels: &'static [&'static str],
}

impl Family {
    /// The name without `_total`: a counter's family name in OpenMetrics, and the name
    /// prometheus-client registers (it adds the suffix itself).
    pub fn base(&self) -> &'static str {
        self.name.strip_suffix("_total").unwrap_or(self.name)
    }

    /// The label a sample adds to the container's or the pod's own (`state`, `reason`, …).
    pub fn extra_label(&self) -> &'static str {
        self.labels.last().copied().unwrap_or("")
    }
}

use Kind::{Counter, Gauge};

/// The labels of a container's series.
pub const CONTAINER: &[&str] = &["namespace", "pod", "container", "container_type"];

pub const RESTARTS: Family = Family {
    name: "crashloop_container_restarts_total",
    kind: Counter,
    help: "Restarts of the container (the kubelet's restartCount).",
    labels: CONTAINER,
};

pub const STATE: Family = Family {
    name: "crashloop_container_state",
    kind: Gauge,
    help: "Current state of the container: 1 for the state it is in, 0 for the others.",
    labels: &["namespace", "pod", "container", "container_type", "state"],
};

pub const WAITING_REASON: Family = Family {
    name: "crashloop_container_waiting_reason",
    kind: Gauge,
    help: "Why the container is waiting (value 1, no series when it is not waiting); unknown reasons are `other`.",
    labels: &["namespace", "pod", "container", "container_type", "reason"],
};

pub const LAST_EXIT_CODE: Family = Family {
    name: "crashloop_container_last_terminated_exit_code",
    kind: Gauge,
    help: "Exit code of the container's latest termination (the current one while it is terminated).",
    labels: CONTAINER,
};

pub const LAST_SIGNAL: Family = Family {
    name: "crashloop_container_last_terminated_signal",
    kind: Gauge,
    help: "Signal that ended the last termination, derived as exit code - 128 where the code is over 128.",
    labels: CONTAINER,
};

pub const LAST_REASON: Family = Family {
    name: "crashloop_container_last_terminated_reason",
    kind: Gauge,
    help: "Reason of the last termination (value 1); unknown reasons are `other`.",
    labels: &["namespace", "pod", "container", "container_type", "reason"],
};

pub const LAST_TERMINATED_TIME: Family = Family {
    name: "crashloop_container_last_terminated_timestamp_seconds",
    kind: Gauge,
    help: "When the last termination finished, in seconds since the epoch.",
    labels: CONTAINER,
};

pub const LAST_OOM_KILLED: Family = Family {
    name: "crashloop_container_last_terminated_oom_killed",
    kind: Gauge,
    help: "1 when the last termination was an OOM kill (reason OOMKilled, whatever the exit code).",
    labels: CONTAINER,
};

pub const IN_BACKOFF: Family = Family {
    name: "crashloop_container_in_backoff",
    kind: Gauge,
    help: "1 while the container waits in CrashLoopBackOff.",
    labels: CONTAINER,
};

pub const BACKOFF_DELAY: Family = Family {
    name: "crashloop_container_backoff_delay_seconds",
    kind: Gauge,
    help: "Current crash-loop back-off delay; `source` says whether it is the kubelet's or an estimate.",
    labels: &["namespace", "pod", "container", "container_type", "source"],
};

pub const NEXT_RESTART_TIME: Family = Family {
    name: "crashloop_container_next_restart_timestamp_seconds",
    kind: Gauge,
    help: "Estimated time of the next restart: last finishedAt plus the back-off delay.",
    labels: CONTAINER,
};

pub const MEMORY_LIMIT: Family = Family {
    name: "crashloop_container_memory_limit_bytes",
    kind: Gauge,
    help: "Memory limit of the container, where one is set.",
    labels: CONTAINER,
};

pub const CRASHLOOPING: Family = Family {
    name: "crashloop_container_crashlooping",
    kind: Gauge,
    help: "1 from a container's first crash loop until it has run 10 minutes without a restart, then 0.",
    labels: CONTAINER,
};

pub const CRASHLOOP_START_TIME: Family = Family {
    name: "crashloop_container_crashloop_start_timestamp_seconds",
    kind: Gauge,
    help: "When the current crash loop was first seen, in seconds since the epoch.",
    labels: CONTAINER,
};

pub const TERMINATIONS: Family = Family {
    name: "crashloop_container_terminations_total",
    kind: Counter,
    help: "Terminations observed through restartCount increases, and the failed end of a container that will not run again, by reason.",
    labels: &["namespace", "pod", "container", "container_type", "reason"],
};

pub const PROBE_FAILURES: Family = Family {
    name: "crashloop_container_probe_failures_total",
    kind: Counter,
    help: "Failed or errored probe runs, from the kubelet's Unhealthy events, by probe.",
    labels: &["namespace", "pod", "container", "container_type", "probe"],
};

pub const PROBE_KILLS: Family = Family {
    name: "crashloop_container_probe_kills_total",
    kind: Counter,
    help: "Containers killed by the kubelet because a liveness or startup probe failed, from Killing events, by probe.",
    labels: &["namespace", "pod", "container", "container_type", "probe"],
};

pub const BACKOFF_EVENTS: Family = Family {
    name: "crashloop_container_backoff_events_total",
    kind: Counter,
    help: "The kubelet's `Back-off restarting failed container` events.",
    labels: CONTAINER,
};

pub const IMAGE_PULL_BACKOFF_EVENTS: Family = Family {
    name: "crashloop_container_image_pull_backoff_events_total",
    kind: Counter,
    help: "The kubelet's `Back-off pulling image` events.",
    labels: CONTAINER,
};

pub const IMAGE_PULL_FAILURE: Family = Family {
    name: "crashloop_container_image_pull_failure",
    kind: Gauge,
    help: "1 while the container waits on an image it cannot pull, with the category of the last pull error.",
    labels: &["namespace", "pod", "container", "container_type", "category"],
};

pub const MISSING_OBJECT: Family = Family {
    name: "crashloop_pod_missing_object",
    kind: Gauge,
    help: "1 for each ConfigMap, Secret or PVC the pod waits for and the cluster does not have.",
    labels: &["namespace", "pod", "kind", "name"],
};

pub const PROBABLE_CAUSE: Family = Family {
    name: "crashloop_container_probable_cause",
    kind: Gauge,
    help: "Probable cause of a troubled container's trouble (value 1).",
    labels: &["namespace", "pod", "container", "container_type", "cause"],
};

pub const TROUBLED_CONTAINERS: Family = Family {
    name: "crashloop_troubled_containers",
    kind: Gauge,
    help: "Troubled containers (crash-looping, waiting on an error, evicted, or ended with a failure) by namespace and probable cause.",
    labels: &["namespace", "cause"],
};

pub const WORKLOAD_INFO: Family = Family {
    name: "crashloop_pod_workload_info",
    kind: Gauge,
    help: "The workload that owns the pod (value 1): ReplicaSets are mapped to Deployments, Jobs to CronJobs.",
    labels: &["namespace", "pod", "workload_kind", "workload"],
};

pub const CRASHLOOPBACKOFF_CONTAINERS: Family = Family {
    name: "crashloop_crashloopbackoff_containers",
    kind: Gauge,
    help: "Containers waiting in CrashLoopBackOff, by namespace.",
    labels: &["namespace"],
};

pub const WAITING_CONTAINERS: Family = Family {
    name: "crashloop_waiting_containers",
    kind: Gauge,
    help: "Waiting containers by namespace and reason.",
    labels: &["namespace", "reason"],
};

pub const BUILD_INFO: Family = Family {
    name: "crashloop_exporter_build_info",
    kind: Gauge,
    help: "Build information (value 1).",
    labels: &["version", "rust_version"],
};

pub const WATCH_EVENTS: Family = Family {
    name: "crashloop_exporter_watch_events_total",
    kind: Counter,
    help: "Watch events handled, by resource and event type.",
    labels: &["resource", "type"],
};

pub const RELISTS: Family = Family {
    name: "crashloop_exporter_relists_total",
    kind: Counter,
    help: "Full lists of a resource: the first one and every relist after a watch restart or 410 Gone.",
    labels: &["resource"],
};

pub const API_ERRORS: Family = Family {
    name: "crashloop_exporter_api_errors_total",
    kind: Counter,
    help: "Errors from the Kubernetes API, by resource and kind.",
    labels: &["resource", "kind"],
};

pub const EVENTS_SEEN: Family = Family {
    name: "crashloop_exporter_events_seen_total",
    kind: Counter,
    help: "Events about pods received from the API.",
    labels: &[],
};

pub const EVENTS_IGNORED: Family = Family {
    name: "crashloop_exporter_events_ignored_total",
    kind: Counter,
    help: "Events left out, by reason.",
    labels: &["reason"],
};

pub const EVENT_PARSE_FAILURES: Family = Family {
    name: "crashloop_exporter_event_parse_failures_total",
    kind: Counter,
    help: "Events of a reason the exporter reads whose message it could not parse.",
    labels: &[],
};

pub const RENDERS: Family = Family {
    name: "crashloop_exporter_renders_total",
    kind: Counter,
    help: "Renders of the /metrics body; scrapes that ask at the same time, or before anything changed, share one.",
    labels: &[],
};

pub const LOG_FETCHES: Family = Family {
    name: "crashloop_exporter_log_fetches_total",
    kind: Counter,
    help: "Previous-log fetches (--logs), by result: ok, not_found (no previous instance, or no kubelet), forbidden, error.",
    labels: &["result"],
};

pub const SHARD_ORDINAL: Family = Family {
    name: "crashloop_exporter_shard_ordinal",
    kind: Gauge,
    help: "This replica's shard (--shard).",
    labels: &[],
};

pub const TOTAL_SHARDS: Family = Family {
    name: "crashloop_exporter_total_shards",
    kind: Gauge,
    help: "How many shards there are (--total-shards).",
    labels: &[],
};

pub const CACHED_OBJECTS: Family = Family {
    name: "crashloop_exporter_cached_objects",
    kind: Gauge,
    help: "Objects held in the cache, by resource.",
    labels: &["resource"],
};

pub const LAST_SYNC_TIME: Family = Family {
    name: "crashloop_exporter_last_sync_timestamp_seconds",
    kind: Gauge,
    help: "When the resource's cache was last in sync with the API (a list completed or a watch event arrived).",
    labels: &["resource"],
};

/// Every family, in the order of the README's reference table.
pub const ALL: &[&Family] = &[
    &RESTARTS,
    &STATE,
    &WAITING_REASON,
    &LAST_EXIT_CODE,
    &LAST_SIGNAL,
    &LAST_REASON,
    &LAST_TERMINATED_TIME,
    &LAST_OOM_KILLED,
    &IN_BACKOFF,
    &BACKOFF_DELAY,
    &NEXT_RESTART_TIME,
    &MEMORY_LIMIT,
    &CRASHLOOPING,
    &CRASHLOOP_START_TIME,
    &TERMINATIONS,
    &PROBE_FAILURES,
    &PROBE_KILLS,
    &BACKOFF_EVENTS,
    &IMAGE_PULL_BACKOFF_EVENTS,
    &IMAGE_PULL_FAILURE,
    &MISSING_OBJECT,
    &PROBABLE_CAUSE,
    &TROUBLED_CONTAINERS,
    &WORKLOAD_INFO,
    &CRASHLOOPBACKOFF_CONTAINERS,
    &WAITING_CONTAINERS,
    &BUILD_INFO,
    &WATCH_EVENTS,
    &RELISTS,
    &API_ERRORS,
    &EVENTS_SEEN,
    &EVENTS_IGNORED,
    &EVENT_PARSE_FAILURES,
    &RENDERS,
    &LOG_FETCHES,
    &SHARD_ORDINAL,
    &TOTAL_SHARDS,
    &CACHED_OBJECTS,
    &LAST_SYNC_TIME,
];

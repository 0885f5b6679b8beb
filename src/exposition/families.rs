//! Every metric family the exporter serves, defined once: name, type, help and label
//! names. The encoders write a family only through its definition here, so a family
//! without one does not compile; the README's reference table, the golden files and the
//! label sets of every sample are checked against `ALL`.

/// A family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// One metric family.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Family {
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
    pub(crate) fn base(&self) -> &'static str {
        self.name.strip_suffix("_total").unwrap_or(self.name)
    }

    /// The label a sample adds to the container's or the pod's own (`state`, `reason`, …).
    pub(crate) fn extra_label(&self) -> &'static str {
        self.labels.last().copied().unwrap_or("")
    }
}

use Kind::{Counter, Gauge};

/// The labels of a container's series, then a family's own (`container_labels!("reason")`):
/// the one place their names are written.
macro_rules! container_labels {
    ($($own:literal)?) => {
        &["namespace", "pod", "container", "container_type" $(, $own)?]
    };
}

/// The labels of a container's series.
pub(crate) const CONTAINER: &[&str] = container_labels!();

/// Defines each family as a constant, and `ALL` (in tests) as the list of them: a family cannot be
/// defined and left out of the list.
macro_rules! families {
    ($($ident:ident = $name:literal, $kind:ident, $labels:expr, $help:literal;)+) => {
        $(pub(crate) const $ident: Family = Family { name: $name, kind: $kind, help: $help, labels: $labels };)+
        /// Every family, in the order of the README's reference table (the tests hold the
        /// README, the golden files and the samples to it).
        #[cfg(test)]
        pub(crate) const ALL: &[&Family] = &[$(&$ident),+];
    };
}

families! {
    RESTARTS = "crashloop_container_restarts_total", Counter, CONTAINER,
        "Restarts of the container (the kubelet's restartCount).";
    STATE = "crashloop_container_state", Gauge, container_labels!("state"),
        "Current state of the container: 1 for the state it is in, 0 for the others.";
    WAITING_REASON = "crashloop_container_waiting_reason", Gauge, container_labels!("reason"),
        "Why the container is waiting (value 1, no series when it is not waiting); unknown reasons are `other`.";
    LAST_EXIT_CODE = "crashloop_container_last_terminated_exit_code", Gauge, CONTAINER,
        "Exit code of the container's latest termination (the current one while it is terminated).";
    LAST_SIGNAL = "crashloop_container_last_terminated_signal", Gauge, CONTAINER,
        "Signal that ended the last termination, derived as exit code - 128 where the code is over 128.";
    LAST_REASON = "crashloop_container_last_terminated_reason", Gauge, container_labels!("reason"),
        "Reason of the last termination (value 1); unknown reasons are `other`.";
    LAST_TERMINATED_TIME = "crashloop_container_last_terminated_timestamp_seconds", Gauge, CONTAINER,
        "When the last termination finished, in seconds since the epoch.";
    LAST_RUN = "crashloop_container_last_run_seconds", Gauge, CONTAINER,
        "How long the instance that ended last ran (finishedAt - startedAt); no series for one that never started.";
    LAST_OOM_KILLED = "crashloop_container_last_terminated_oom_killed", Gauge, CONTAINER,
        "1 when the last termination was an OOM kill (reason OOMKilled, whatever the exit code).";
    LAST_OOM_LIMIT = "crashloop_container_last_oom_kill_limit", Gauge, container_labels!("limit"),
        "For a container whose last termination was an OOM kill (value 1), the memory limit it ran under: `container` (its own), `pod` (the pod-level limit), or `none` (no limit: the node ran out of memory).";
    IN_BACKOFF = "crashloop_container_in_backoff", Gauge, CONTAINER,
        "1 while the container waits in CrashLoopBackOff.";
    BACKOFF_DELAY = "crashloop_container_backoff_delay_seconds", Gauge, container_labels!("source"),
        "Current crash-loop back-off delay while it is known; `source` is kubelet (its message now) or last_reported (the last one it gave in this loop, a lower bound).";
    NEXT_RESTART_TIME = "crashloop_container_next_restart_timestamp_seconds", Gauge, CONTAINER,
        "Earliest time of the next restart: last finishedAt plus the back-off delay (the kubelet restarts on its next sync after it).";
    INIT_STARTED_TIME = "crashloop_container_init_started_timestamp_seconds", Gauge, CONTAINER,
        "When a running init container (not a sidecar) started, in seconds since the epoch: the app's containers wait for it.";
    MEMORY_LIMIT = "crashloop_container_memory_limit_bytes", Gauge, CONTAINER,
        "Memory limit of the container, where one is set.";
    CRASHLOOPING = "crashloop_container_crashlooping", Gauge, CONTAINER,
        "1 from a container's first crash loop until it has run 10 minutes without a restart, then 0.";
    CRASHLOOP_START_TIME = "crashloop_container_crashloop_start_timestamp_seconds", Gauge, CONTAINER,
        "When the current crash loop was first seen, in seconds since the epoch.";
    TERMINATIONS = "crashloop_container_terminations_total", Counter, container_labels!("reason"),
        "Terminations observed through restartCount increases, and the failed end of a container that will not run again, by reason.";
    PROBE_FAILURES = "crashloop_container_probe_failures_total", Counter, container_labels!("probe"),
        "Failed or errored probe runs, from the kubelet's Unhealthy events, by probe.";
    PROBE_KILLS = "crashloop_container_probe_kills_total", Counter, container_labels!("probe"),
        "Containers killed by the kubelet because a liveness or startup probe failed, by probe: an exact count of the Killing events the kubelet wrote (its spam filter stops writing them after the first few kills of a loop).";
    BACKOFF_EVENTS = "crashloop_container_backoff_events_total", Counter, CONTAINER,
        "The kubelet's `Back-off restarting failed container` events.";
    IMAGE_PULL_BACKOFF_EVENTS = "crashloop_container_image_pull_backoff_events_total", Counter, CONTAINER,
        "The kubelet's `Back-off pulling image` events.";
    IMAGE_PULL_FAILURE = "crashloop_container_image_pull_failure", Gauge, container_labels!("category"),
        "1 while the container waits on an image it cannot pull, with the category of the last pull error.";
    MISSING_OBJECT = "crashloop_pod_missing_object", Gauge, &["namespace", "pod", "kind", "name"],
        "1 for each ConfigMap, Secret or PVC the pod waits for and the cluster does not have.";
    POD_DISRUPTION = "crashloop_pod_disruption", Gauge, &["namespace", "pod", "disruption", "resource"],
        "1 for a pod that the node or the control plane ended or is ending (no app failure), by kind of disruption; `resource` is what an eviction under node pressure reclaimed, empty for the other kinds.";
    UNSCHEDULABLE_SINCE = "crashloop_pod_unschedulable_since_timestamp_seconds", Gauge, &["namespace", "pod"],
        "When the pod became unschedulable (its PodScheduled condition), while no node fits it, in seconds since the epoch.";
    PROBABLE_CAUSE = "crashloop_container_probable_cause", Gauge, container_labels!("cause"),
        "Probable cause of a troubled container's trouble (value 1).";
    TROUBLED_CONTAINERS = "crashloop_troubled_containers", Gauge, &["namespace", "cause"],
        "Troubled containers (crash-looping, waiting on an error, unable to start, disrupted, or ended with a failure) by namespace and probable cause.";
    DISRUPTED_PODS = "crashloop_disrupted_pods", Gauge, &["namespace", "disruption"],
        "Pods that the node or the control plane ended or is ending, by namespace and kind of disruption: a drain, an eviction storm or a node shutdown is one series, not one per pod.";
    WORKLOAD_INFO = "crashloop_pod_workload_info", Gauge, &["namespace", "pod", "workload_kind", "workload", "template"],
        "The workload that owns the pod (value 1): ReplicaSets are mapped to Deployments (or Argo Rollouts), Jobs to CronJobs; `template` is the pod's template hash (empty for a bare pod or a Job), and `--pod-labels` adds a `label_<name>` for each label it names.";
    WORKLOAD_PODS = "crashloop_workload_pods", Gauge, &["namespace", "workload_kind", "workload"],
        "Pods of each workload in this replica's cache, quiet ones included (with sharding, sum across replicas).";
    WORKLOAD_READY_PODS = "crashloop_workload_ready_pods", Gauge, &["namespace", "workload_kind", "workload", "template"],
        "Pods of each workload whose Ready condition is True, by template, for a workload with pods of two templates or more (a rollout in progress, or stuck); 0 for a template none of whose pods is ready; with sharding, sum across replicas.";
    WORKLOAD_TEMPLATE_CREATED = "crashloop_workload_template_created_timestamp_seconds", Gauge,
        &["namespace", "workload_kind", "workload", "template"],
        "When the first pod of the template in this replica's cache was created, in seconds since the epoch, for a workload with pods of two templates or more (as crashloop_workload_ready_pods); with sharding, take the min across replicas.";
    WORKLOAD_TEMPLATE_IMAGE = "crashloop_workload_template_image_info", Gauge,
        &["namespace", "workload_kind", "workload", "template", "container", "image"],
        "The image of each container of the template's pods (value 1), for a workload with pods of two templates or more (as crashloop_workload_ready_pods): what a rollout changed.";
    WORKLOAD_RESTARTS = "crashloop_workload_restarts_total", Counter, &["namespace", "workload_kind", "workload"],
        "Container restarts of the workload's pods seen by this exporter process, kept when pods are deleted or replaced (restarts before the process started are not counted); the series goes 6 h after the workload's last pod.";
    WORKLOAD_LONG_RUN_FAILURES = "crashloop_workload_long_run_failures_total", Counter, &["namespace", "workload_kind", "workload"],
        "Failed ends of the workload's containers after an instance had run 10 minutes or more (the kubelet's back-off reset): restarted at once, never in back-off, so no crash loop shows them; kept when pods are deleted or replaced.";
    WORKLOAD_TERMINATIONS = "crashloop_workload_terminations_total", Counter,
        &["namespace", "workload_kind", "workload", "reason"],
        "Terminations of the workload's containers as crashloop_container_terminations_total counts them, kept when pods are deleted or replaced, by reason.";
    WORKLOAD_REFUSED = "crashloop_workload_pod_refused_timestamp_seconds", Gauge,
        &["namespace", "workload_kind", "workload", "reason"],
        "When the workload's controller last could not create a pod (its FailedCreate Event), by why: quota, pod_security, webhook, limit_range, service_account, other; while the Event exists (1 h after the last).";
    CRASHLOOPBACKOFF_CONTAINERS = "crashloop_crashloopbackoff_containers", Gauge, &["namespace"],
        "Containers waiting in CrashLoopBackOff, by namespace.";
    WAITING_CONTAINERS = "crashloop_waiting_containers", Gauge, &["namespace", "reason"],
        "Waiting containers by namespace and reason.";
    BUILD_INFO = "crashloop_exporter_build_info", Gauge, &["version", "rust_version", "revision"],
        "Build information (value 1).";
    WATCH_EVENTS = "crashloop_exporter_watch_events_total", Counter, &["resource", "type"],
        "Watch events handled, by resource and event type.";
    RELISTS = "crashloop_exporter_relists_total", Counter, &["resource"],
        "Full lists of a resource: the first one and every relist after a watch restart or 410 Gone.";
    API_ERRORS = "crashloop_exporter_api_errors_total", Counter, &["resource", "kind"],
        "Errors from the Kubernetes API, by resource and kind.";
    EVENTS_SEEN = "crashloop_exporter_events_seen_total", Counter, &[],
        "Events about pods received from the API.";
    EVENTS_IGNORED = "crashloop_exporter_events_ignored_total", Counter, &["reason"],
        "Events left out, by reason.";
    EVENT_PARSE_FAILURES = "crashloop_exporter_event_parse_failures_total", Counter, &[],
        "Events of a reason the exporter reads whose message it could not parse.";
    RENDERS = "crashloop_exporter_renders_total", Counter, &[],
        "Renders of the /metrics body; scrapes that ask at the same time, or before anything changed, share one.";
    LOG_FETCHES = "crashloop_exporter_log_fetches_total", Counter, &["result"],
        "Previous-log fetches (--logs), by result: ok, not_found (no previous instance, or no kubelet), forbidden, error.";
    SHARD_ORDINAL = "crashloop_exporter_shard_ordinal", Gauge, &[],
        "This replica's shard (--shard).";
    TOTAL_SHARDS = "crashloop_exporter_total_shards", Gauge, &[],
        "How many shards there are (--total-shards).";
    CACHED_OBJECTS = "crashloop_exporter_cached_objects", Gauge, &["resource"],
        "Objects held in the cache, by resource.";
    LAST_SYNC_TIME = "crashloop_exporter_last_sync_timestamp_seconds", Gauge, &["resource"],
        "When the resource's cache was last in sync with the API (a list completed or a watch event arrived).";
    PROCESS_CPU = "process_cpu_seconds_total", Counter, &[],
        "Total user and system CPU time spent in seconds.";
    PROCESS_OPEN_FDS = "process_open_fds", Gauge, &[],
        "Number of open file descriptors.";
    PROCESS_MAX_FDS = "process_max_fds", Gauge, &[],
        "Maximum number of open file descriptors.";
    PROCESS_VIRTUAL_MEMORY = "process_virtual_memory_bytes", Gauge, &[],
        "Virtual memory size in bytes.";
    PROCESS_RESIDENT_MEMORY = "process_resident_memory_bytes", Gauge, &[],
        "Resident memory size in bytes.";
    PROCESS_START_TIME = "process_start_time_seconds", Gauge, &[],
        "Start time of the process since unix epoch in seconds.";
}

/// The process families the Prometheus client libraries export (client_golang's and
/// client_python's process collectors): the only names without the `crashloop_` prefix.
#[cfg(test)]
pub(crate) const PROCESS: [&Family; 6] = [
    &PROCESS_CPU,
    &PROCESS_OPEN_FDS,
    &PROCESS_MAX_FDS,
    &PROCESS_VIRTUAL_MEMORY,
    &PROCESS_RESIDENT_MEMORY,
    &PROCESS_START_TIME,
];

/// The families whose name, labels or meaning may still change in a minor release
/// (README.md, "Metric stability"); every other family is stable. Their help starts with
/// `[EXPERIMENTAL]`; the README lists them, and a test holds the list to it.
pub(crate) const EXPERIMENTAL: &[&Family] =
    &[&LAST_RUN, &LAST_OOM_LIMIT, &WORKLOAD_TEMPLATE_CREATED, &WORKLOAD_TEMPLATE_IMAGE];

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus naming: the `crashloop_` prefix, except exactly the standard process
    /// families; counters end in `_total` and nothing else does; base units only; each name once.
    #[test]
    fn every_name_follows_prometheus_naming() {
        let standard = [
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_max_fds",
            "process_virtual_memory_bytes",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
        ];
        assert_eq!(PROCESS.map(|f| f.name), standard);
        let mut names = std::collections::BTreeSet::new();
        for f in ALL {
            assert!(names.insert(f.name), "{} is defined twice", f.name);
            assert!(f.name.starts_with("crashloop_") || standard.contains(&f.name), "{} lacks the prefix", f.name);
            assert_eq!(
                f.kind == Kind::Counter,
                f.name.ends_with("_total"),
                "{}: counters, and only they, end in _total",
                f.name
            );
            for unit in ["_milliseconds", "_minutes", "_kilobytes", "_megabytes", "_percent"] {
                assert!(!f.name.contains(unit), "{} is not in base units", f.name);
            }
            assert!(f.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{}", f.name);
        }
        assert!(standard.iter().all(|n| names.contains(n)), "every standard process family is defined");
    }
}

//! The Pod JSON, decoded straight into a [`SlimPod`] through private wire types: only the
//! fields the metrics need survive. Free text (waiting and termination messages) is reduced
//! to bounded values while decoding (a back-off delay, a missing object, a [`Hint`]) and
//! then dropped. Everything is tolerant: a field of an unexpected shape becomes "unknown",
//! never a decode error, so one odd pod can't stall the list of all the others.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Deserialize;

use crate::parse::{
    classify_exec_message, classify_log, classify_waiting_message, disruption_of, eviction_resource,
    parse_backoff_message, parse_missing_object, parse_quantity, parse_signal_name, pull_error_category, timestamp,
};
use crate::view::{
    ContainerType, DEFAULT_GRACE_SECONDS, Disruption, ExitCodeRule, Hint, Phase, PodTrouble, RestartPolicy,
    RestartSpec, SlimContainer, SlimPod, State, Termination, TerminationReason, Timestamp, Waiting, WaitingReason,
    Workload, intern, intern_image,
};

impl<'de> Deserialize<'de> for SlimPod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        wire::Pod::deserialize(d).map(SlimPod::from)
    }
}

/// The pod's template-hash label: `pod-template-hash` (a Deployment's ReplicaSet) or
/// `rollouts-pod-template-hash` (an Argo Rollout's), with the kind of workload it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TemplateHash<'a> {
    pub hash: &'a str,
    pub workload_kind: &'static str,
}

/// The pod labels `--pod-labels` names, each with its label on `crashloop_pod_workload_info`.
static POD_LABELS: std::sync::OnceLock<Vec<(String, crate::view::Name)>> = std::sync::OnceLock::new();

/// Sets the pod labels copied onto `crashloop_pod_workload_info` (`--pod-labels`), as
/// kube-state-metrics' `--metric-labels-allowlist` does: `team` becomes `label_team`, and
/// every character a Prometheus label name cannot hold becomes `_`
/// (`app.kubernetes.io/part-of` is `label_app_kubernetes_io_part_of`). Set once, before the
/// first pod is decoded; an error says which names clash or are empty.
pub(crate) fn set_pod_label_allowlist(names: &[String]) -> Result<(), String> {
    let mut list: Vec<(String, crate::view::Name)> = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let label: String = std::iter::once("label_".to_string())
            .chain(name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).map(String::from))
            .collect();
        if let Some((other, _)) = list.iter().find(|(_, l)| **l == *label) {
            return Err(format!("--pod-labels: {other} and {name} both become {label}: keep one"));
        }
        if !list.iter().any(|(n, _)| n == name) {
            list.push((name.to_string(), intern(&label)));
        }
    }
    if list.is_empty() {
        return Ok(());
    }
    if POD_LABELS.get().is_some_and(|set| *set != list) {
        return Err("--pod-labels: the allowlist is already set".into());
    }
    let _ = POD_LABELS.set(list);
    Ok(())
}

/// The template and the allowlisted labels, for the lines; `None` when the pod has neither.
fn shown(labels: wire::Labels) -> Option<Box<crate::view::Shown>> {
    let template = labels.hash.map(|(h, _)| h).or(labels.revision).filter(|h| !h.is_empty()).map(|h| intern(&h));
    let list = POD_LABELS.get().map_or(&[][..], Vec::as_slice);
    if template.is_none() && list.is_empty() {
        return None;
    }
    let labels = list
        .iter()
        .enumerate()
        .map(|(i, (_, label))| {
            let value = labels.allowed.iter().find(|(j, _)| *j == i).map_or("", |(_, v)| v.as_str());
            (label.clone(), intern(value))
        })
        .collect();
    Some(Box::new(crate::view::Shown { template, labels }))
}

/// How long before its pod's creation a CronJob's scheduled time may be. The CronJob
/// controller names each Job `<cronjob>-<scheduled time in minutes since the epoch>` (the
/// controller of 1.20 and before, `batch/v1beta1`, in seconds) and
/// creates it at that time (later only by `startingDeadlineSeconds`, usually minutes), but
/// a Job re-creates a failed pod, with a back-off of up to 6 minutes, for as long as its
/// `backoffLimit` and `activeDeadlineSeconds` allow: a long batch run can create a pod
/// days after its schedule. 30 days covers that, and still leaves out the digits that are
/// not a minute of this era: a date (`report-20261202` read as minutes is July 2008) or a build
/// number (`build-12345678`, 1993).
pub(super) const CRONJOB_SCHEDULE_WINDOW_SECONDS: i64 = 30 * 24 * 3600;

/// How far after its pod's creation a scheduled time may be: the controller's and the
/// apiserver's clocks may differ a little.
pub(super) const CRONJOB_CLOCK_SKEW_SECONDS: i64 = 60;

/// Whether the Job `name` reads as a CronJob's: `<cronjob>-<digits>` (8 or more), the
/// digits, read as minutes (or as seconds, the old controller's), a plausible schedule for
/// a pod created at `created`: not after it (but for clock skew), and not more than
/// [`CRONJOB_SCHEDULE_WINDOW_SECONDS`] before. A pod without a creation time is left to
/// its Job.
pub(super) fn cronjob_of(name: &str, created: Option<Timestamp>) -> Option<&str> {
    let (cronjob, digits) = name.rsplit_once('-')?;
    if cronjob.is_empty() || digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (created, n) = (created?, digits.parse::<i64>().ok()?);
    let plausible = |scheduled: i64| {
        scheduled <= created.saturating_add(CRONJOB_CLOCK_SKEW_SECONDS)
            && scheduled >= created.saturating_sub(CRONJOB_SCHEDULE_WINDOW_SECONDS)
    };
    (n.checked_mul(60).is_some_and(plausible) || plausible(n)).then_some(cronjob)
}

/// Derives the owning workload: a ReplicaSet named `<deployment>-<pod-template-hash>` maps
/// to its Deployment (or, by `rollouts-pod-template-hash`, to its Argo Rollout), a Job
/// named `<cronjob>-<scheduled minutes>` to its CronJob when those minutes fit the pod's
/// creation time ([`cronjob_of`]); other owners are reported as they are, and a bare pod
/// as kind `Pod`.
pub(super) fn workload_of(
    pod_name: &str,
    owner: Option<&OwnerReference>,
    template: Option<TemplateHash>,
    created: Option<Timestamp>,
) -> Workload {
    let Some(owner) = owner else {
        return Workload { kind: intern("Pod"), name: intern(pod_name) };
    };
    let (kind, name) = (owner.kind.as_str(), owner.name.as_str());
    let derived = match kind {
        "ReplicaSet" => template
            .filter(|t| !t.hash.is_empty())
            .and_then(|t| Some((t.workload_kind, name.strip_suffix(t.hash)?.strip_suffix('-')?))),
        "Job" => cronjob_of(name, created).map(|c| ("CronJob", c)),
        _ => None,
    };
    let (kind, name) = derived.unwrap_or((kind, name));
    Workload { kind: intern(kind), name: intern(name) }
}

/// The alphabet of a `pod-template-hash` (apimachinery's `rand.SafeEncodeString`).
const TEMPLATE_HASH_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The workload of a controller an Event names, without reading the controller: a
/// ReplicaSet named `<deployment>-<hash>` (6 to 10 characters of the template hash's
/// alphabet) is its Deployment's, a Job named `<cronjob>-<minutes>` its CronJob's when the
/// minutes fit `at` ([`cronjob_of`]); the others are their own.
pub(super) fn controller_workload<'a>(kind: &'a str, name: &'a str, at: Option<Timestamp>) -> (&'a str, &'a str) {
    let derived = match kind {
        "ReplicaSet" => name.rsplit_once('-').and_then(|(deployment, hash)| {
            let looks_like_hash =
                (6..=10).contains(&hash.len()) && hash.bytes().all(|b| TEMPLATE_HASH_ALPHABET.contains(&b));
            (looks_like_hash && !deployment.is_empty()).then_some(("Deployment", deployment))
        }),
        "Job" => cronjob_of(name, at).map(|c| ("CronJob", c)),
        _ => None,
    };
    derived.unwrap_or((kind, name))
}

/// The private wire types that mirror just the parts of the Pod JSON that are read.
mod wire {
    use super::*;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Pod<'a> {
        metadata: Meta,
        spec: Spec,
        #[serde(borrow)]
        status: Status<'a>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Meta {
        name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
        deletion_timestamp: Option<IgnoredAny>,
        creation_timestamp: Option<String>,
        #[serde(deserialize_with = "pod_labels")]
        labels: Labels,
        owner_references: Vec<Owner>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Owner {
        #[serde(rename = "apiVersion")]
        api_version: String,
        kind: String,
        name: String,
        uid: String,
        controller: Option<bool>,
    }

    /// The labels read out of the labels map: the template hashes, and those of
    /// `--pod-labels` ([`set_pod_label_allowlist`]); the others are skipped unread.
    #[derive(Default)]
    pub(super) struct Labels {
        /// `pod-template-hash` (a Deployment's), else `rollouts-pod-template-hash` (an
        /// Argo Rollout's), with the kind of workload it names.
        pub hash: Option<(String, &'static str)>,
        /// `controller-revision-hash` (a StatefulSet's or DaemonSet's).
        pub revision: Option<String>,
        /// The allowlisted labels, by their index in the allowlist.
        pub allowed: Vec<(usize, String)>,
    }

    fn pod_labels<'de, D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of labels")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Labels::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut deployment, mut rollout, mut revision) = (None, None, None);
                let allowlist = POD_LABELS.get().map_or(&[][..], Vec::as_slice);
                let mut allowed = Vec::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "pod-template-hash" => deployment = map.next_value::<Option<String>>()?,
                        "rollouts-pod-template-hash" => rollout = map.next_value::<Option<String>>()?,
                        "controller-revision-hash" => revision = map.next_value::<Option<String>>()?,
                        other => match allowlist.iter().position(|(name, _)| name == other) {
                            Some(i) => {
                                if let Some(v) = map.next_value::<Option<String>>()? {
                                    allowed.push((i, v));
                                }
                            }
                            None => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        },
                    }
                }
                let hash = deployment.map(|h| (h, "Deployment")).or(rollout.map(|h| (h, "Rollout")));
                Ok(Labels { hash, revision, allowed })
            }
        }
        d.deserialize_any(V)
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Spec {
        restart_policy: Option<String>,
        termination_grace_period_seconds: Option<i64>,
        /// Pod-level resources (1.34).
        resources: Resources,
        containers: Vec<ContainerSpec>,
        init_containers: Vec<ContainerSpec>,
        ephemeral_containers: Vec<ContainerSpec>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct ContainerSpec {
        name: String,
        image: Option<String>,
        restart_policy: Option<String>,
        restart_policy_rules: Vec<RestartRule>,
        lifecycle: Lifecycle,
        resources: Resources,
        liveness_probe: Option<ProbeSpec>,
        readiness_probe: Option<IgnoredAny>,
        startup_probe: Option<ProbeSpec>,
    }

    /// A liveness or startup probe: only its own grace period (1.25+), which a kill by
    /// this probe waits for instead of the pod's.
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct ProbeSpec {
        termination_grace_period_seconds: Option<i64>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Lifecycle {
        stop_signal: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct RestartRule {
        action: String,
        exit_codes: Option<ExitCodes>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ExitCodes {
        operator: String,
        values: Vec<i64>,
    }

    /// The rules the kubelet acts on: `Restart` or `RestartAllContainers` on `In` or `NotIn`
    /// exit codes (at most 255 values each, as the API allows). Rules of an unknown action
    /// or operator are left out.
    fn restart_rules(rules: Vec<RestartRule>) -> Vec<ExitCodeRule> {
        rules
            .into_iter()
            .filter(|r| r.action == "Restart" || r.action == "RestartAllContainers")
            .filter_map(|r| {
                let codes = r.exit_codes?;
                let not_in = match codes.operator.as_str() {
                    "In" => false,
                    "NotIn" => true,
                    _ => return None,
                };
                let values = codes.values.into_iter().take(255).filter_map(|v| i32::try_from(v).ok()).collect();
                Some(ExitCodeRule { not_in, values })
            })
            .collect()
    }

    /// A container's own `restartPolicy`; unset or unknown is `None` (the pod's applies).
    fn own_policy(s: Option<&str>) -> Option<RestartPolicy> {
        match s? {
            "Always" => Some(RestartPolicy::Always),
            "OnFailure" => Some(RestartPolicy::OnFailure),
            "Never" => Some(RestartPolicy::Never),
            _ => None,
        }
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Resources {
        limits: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Status<'a> {
        phase: Option<String>,
        reason: Option<String>,
        message: Option<String>,
        /// Borrowed from the JSON where it can be: every pod has four or five conditions,
        /// and few are read.
        #[serde(borrow)]
        conditions: Vec<Condition<'a>>,
        container_statuses: Vec<ContainerStatus>,
        init_container_statuses: Vec<ContainerStatus>,
        ephemeral_container_statuses: Vec<ContainerStatus>,
    }

    /// A pod condition; only `DisruptionTarget` and `PodScheduled` are read.
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Condition<'a> {
        #[serde(rename = "type", borrow)]
        type_: Cow<'a, str>,
        #[serde(borrow)]
        status: Cow<'a, str>,
        // Plain `Cow`s, empty when absent: serde borrows a `Cow` field, never one in an `Option`.
        #[serde(borrow)]
        reason: Cow<'a, str>,
        #[serde(borrow)]
        message: Cow<'a, str>,
        #[serde(borrow)]
        last_transition_time: Cow<'a, str>,
    }

    /// What the pod's own status says of trouble: `None` for most pods.
    fn trouble_of(phase: Phase, status: &Status<'_>) -> Option<Box<PodTrouble>> {
        let condition = |t: &str| status.conditions.iter().find(|c| c.type_ == t && c.status != "Unknown");
        let disruption_target = condition("DisruptionTarget").filter(|c| c.status == "True").map(|c| &*c.reason);
        let (reason, message) = (status.reason.as_deref().unwrap_or(""), status.message.as_deref().unwrap_or(""));
        let disruption = disruption_of(reason, message, phase == Phase::Failed, disruption_target);
        let eviction_resource =
            disruption.filter(|d| *d == Disruption::Evicted).and_then(|_| eviction_resource(message));
        let unscheduled = condition("PodScheduled")
            .filter(|c| c.status == "False" && c.reason == "Unschedulable" && phase == Phase::Pending);
        let trouble = PodTrouble {
            disruption,
            eviction_resource,
            unschedulable: unscheduled.is_some(),
            unschedulable_since: unscheduled.and_then(|c| timestamp(Some(&c.last_transition_time))),
            missing: unscheduled.and_then(|c| parse_missing_object(&c.message)),
            sandbox_not_ready_since: condition("PodReadyToStartContainers")
                .or_else(|| condition("PodHasNetwork"))
                .filter(|c| c.status == "False" && matches!(phase, Phase::Pending | Phase::Running))
                .and_then(|c| timestamp(Some(&c.last_transition_time))),
        };
        (trouble != PodTrouble::default()).then(|| Box::new(trouble))
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct ContainerStatus {
        name: String,
        restart_count: i64,
        state: ContainerState,
        last_state: ContainerState,
        /// What the container runs with now (in-place resize, GA in 1.35).
        resources: Resources,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ContainerState {
        waiting: Option<WaitingWire>,
        running: Option<RunningWire>,
        terminated: Option<TerminatedWire>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct WaitingWire {
        reason: Option<String>,
        message: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct RunningWire {
        started_at: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct TerminatedWire {
        exit_code: i64,
        reason: Option<String>,
        message: Option<String>,
        started_at: Option<String>,
        finished_at: Option<String>,
    }

    /// A grace period in seconds: negative or absurd values are left out.
    fn grace(seconds: i64) -> Option<u32> {
        u32::try_from(seconds).ok()
    }

    fn quantity(v: Option<&serde_json::Value>) -> Option<u64> {
        match v? {
            serde_json::Value::String(s) => parse_quantity(s),
            serde_json::Value::Number(n) => n.as_f64().map(|f| f.max(0.0).ceil() as u64),
            _ => None,
        }
    }

    impl From<TerminatedWire> for Termination {
        fn from(t: TerminatedWire) -> Self {
            let hint = t.message.as_deref().map(classify_exec_message).unwrap_or_default();
            Termination {
                exit_code: i32::try_from(t.exit_code).unwrap_or(if t.exit_code < 0 { i32::MIN } else { i32::MAX }),
                reason: t.reason.as_deref().map_or(
                    if t.exit_code == 0 { TerminationReason::Completed } else { TerminationReason::Error },
                    TerminationReason::parse,
                ),
                started_at: timestamp(t.started_at.as_deref()),
                finished_at: timestamp(t.finished_at.as_deref()),
                hint,
                // The app's last words, unless the runtime wrote the message (an exec error).
                message: t.message.as_deref().filter(|_| hint == Hint::None).and_then(classify_log),
            }
        }
    }

    impl From<ContainerState> for State {
        fn from(s: ContainerState) -> Self {
            if let Some(t) = s.terminated {
                State::Terminated(t.into())
            } else if let Some(w) = s.waiting {
                let message = w.message.as_deref().unwrap_or("");
                let reason = w.reason.as_deref().map_or(WaitingReason::Other, WaitingReason::parse);
                State::Waiting(Waiting {
                    reason,
                    backoff_seconds: parse_backoff_message(message),
                    hint: classify_waiting_message(reason, message),
                    missing: parse_missing_object(message).map(Box::new),
                    pull_failure: reason.is_image_problem().then(|| pull_error_category(message)).flatten(),
                })
            } else if let Some(r) = s.running {
                State::Running { started_at: timestamp(r.started_at.as_deref()) }
            } else {
                State::Unknown
            }
        }
    }

    impl From<Pod<'_>> for SlimPod {
        fn from(p: Pod<'_>) -> Self {
            let Pod { metadata, spec, status } = p;
            let name = metadata.name.clone().unwrap_or_default();
            let owner = metadata
                .owner_references
                .into_iter()
                .reduce(|a, b| if a.controller == Some(true) { a } else { b })
                .map(|o| OwnerReference {
                    api_version: o.api_version,
                    kind: o.kind,
                    name: o.name,
                    uid: o.uid,
                    controller: o.controller,
                    block_owner_deletion: None,
                });
            let labels = metadata.labels;
            let template = labels.hash.as_ref().map(|(hash, workload_kind)| TemplateHash { hash, workload_kind });
            let created = timestamp(metadata.creation_timestamp.as_deref());
            let workload = workload_of(&name, owner.as_ref(), template, created);

            let specs = spec
                .containers
                .into_iter()
                .map(|c| (ContainerType::Regular, c))
                .chain(spec.init_containers.into_iter().map(|c| {
                    let kind = if c.restart_policy.as_deref() == Some("Always") {
                        ContainerType::Sidecar
                    } else {
                        ContainerType::Init
                    };
                    (kind, c)
                }))
                .chain(spec.ephemeral_containers.into_iter().map(|c| (ContainerType::Ephemeral, c)));
            let mut containers: Vec<SlimContainer> = specs
                .map(|(container_type, c)| {
                    let mut slot = SlimContainer::new(&c.name, container_type);
                    slot.memory_limit_bytes = quantity(c.resources.limits.get("memory"));
                    slot.image = c.image.as_deref().filter(|i| !i.is_empty()).map(intern_image);
                    slot.set_restart_spec(RestartSpec {
                        policy: own_policy(c.restart_policy.as_deref())
                            .filter(|_| container_type != ContainerType::Sidecar),
                        rules: restart_rules(c.restart_policy_rules),
                        stop_signal: c.lifecycle.stop_signal.as_deref().and_then(parse_signal_name),
                        probe_grace_seconds: [&c.liveness_probe, &c.startup_probe]
                            .map(|p| p.as_ref().and_then(|p| p.termination_grace_period_seconds).and_then(grace)),
                    });
                    slot.has_liveness_probe = c.liveness_probe.is_some();
                    slot.has_readiness_probe = c.readiness_probe.is_some();
                    slot.has_startup_probe = c.startup_probe.is_some();
                    slot
                })
                .collect();

            let phase = match status.phase.as_deref() {
                Some("Pending") => Phase::Pending,
                Some("Running") => Phase::Running,
                Some("Succeeded") => Phase::Succeeded,
                Some("Failed") => Phase::Failed,
                _ => Phase::Unknown,
            };
            let trouble = trouble_of(phase, &status);
            let ready = status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");

            let statuses = [
                (status.container_statuses, ContainerType::Regular),
                (status.init_container_statuses, ContainerType::Init),
                (status.ephemeral_container_statuses, ContainerType::Ephemeral),
            ];
            for (list, list_type) in statuses {
                for s in list {
                    let same_list = |c: &&mut SlimContainer| {
                        *c.name == *s.name
                            && (c.container_type == list_type
                                || (list_type == ContainerType::Init && c.container_type == ContainerType::Sidecar))
                    };
                    let slot = match containers.iter_mut().find(same_list) {
                        Some(slot) => slot,
                        None => {
                            containers.push(SlimContainer::new(&s.name, list_type));
                            containers.last_mut().expect("just pushed")
                        }
                    };
                    slot.restart_count = u32::try_from(s.restart_count.max(0)).unwrap_or(u32::MAX);
                    if let Some(limit) = quantity(s.resources.limits.get("memory")) {
                        slot.memory_limit_bytes = Some(limit);
                    }
                    slot.state = s.state.into();
                    slot.set_last_termination(s.last_state.terminated.map(Termination::from));
                }
            }

            // The memory limit: the status's (what the container runs with), else the
            // container's spec, else the pod-level one.
            if let Some(pod_limit) = quantity(spec.resources.limits.get("memory")) {
                for c in containers.iter_mut().filter(|c| c.memory_limit_bytes.is_none()) {
                    c.set_pod_memory_limit(pod_limit);
                }
            }

            SlimPod {
                metadata: ObjectMeta {
                    name: metadata.name,
                    namespace: metadata.namespace,
                    resource_version: metadata.resource_version,
                    ..Default::default()
                },
                uid: metadata.uid.unwrap_or_default().into_boxed_str(),
                workload,
                created: created.and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
                phase,
                trouble,
                restart_policy: RestartPolicy::parse(spec.restart_policy.as_deref()),
                grace_seconds: spec.termination_grace_period_seconds.and_then(grace).unwrap_or(DEFAULT_GRACE_SECONDS),
                terminating: metadata.deletion_timestamp.is_some(),
                ready,
                shown: shown(labels),
                containers,
                tracked: false,
                lines: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{fixture, ts};
    use crate::view::{Hint, ObjectKind};

    /// Names that become one label are refused before anything is set (a test must not
    /// set the process-wide allowlist: every other test decodes without it).
    #[test]
    fn pod_labels_that_clash_are_refused() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            set_pod_label_allowlist(&names(&["team", "app.kubernetes.io/part-of", "app_kubernetes_io/part.of"])),
            Err("--pod-labels: app.kubernetes.io/part-of and app_kubernetes_io/part.of both become label_app_kubernetes_io_part_of: keep one".into())
        );
        assert_eq!(set_pod_label_allowlist(&names(&["", " "])), Ok(()), "nothing to set");
        assert!(POD_LABELS.get().is_none());
    }

    #[test]
    fn workloads() {
        let owner =
            |kind: &str, name: &str| OwnerReference { kind: kind.into(), name: name.into(), ..Default::default() };
        let w = |k: &str, n: &str| Workload { kind: k.into(), name: n.into() };
        let deployment = |hash| Some(TemplateHash { hash, workload_kind: "Deployment" });
        fn workload_of(pod: &str, owner: Option<&OwnerReference>, template: Option<TemplateHash>) -> Workload {
            super::workload_of(pod, owner, template, None)
        }
        assert_eq!(
            workload_of("p", Some(&owner("ReplicaSet", "web-7d9c8b6f5")), deployment("7d9c8b6f5")),
            w("Deployment", "web")
        );
        assert_eq!(workload_of("p", Some(&owner("ReplicaSet", "bare-rs")), None), w("ReplicaSet", "bare-rs"));
        assert_eq!(
            workload_of("p", Some(&owner("ReplicaSet", "web-abc")), deployment("zzz")),
            w("ReplicaSet", "web-abc")
        );
        // No creation time: a Job's digits cannot be checked, so it stays a Job.
        assert_eq!(workload_of("p", Some(&owner("Job", "nightly-28391040")), None), w("Job", "nightly-28391040"));
        assert_eq!(workload_of("p", Some(&owner("Job", "migrate-v2")), None), w("Job", "migrate-v2"));
        assert_eq!(workload_of("p", Some(&owner("Job", "db-123")), None), w("Job", "db-123"));
        assert_eq!(workload_of("p", Some(&owner("StatefulSet", "ledger")), None), w("StatefulSet", "ledger"));
        assert_eq!(workload_of("p", Some(&owner("DaemonSet", "agent")), None), w("DaemonSet", "agent"));
        assert_eq!(workload_of("lonely", None, None), w("Pod", "lonely"));
    }

    /// A Job is a CronJob's only when its digits, read as minutes, are a plausible schedule
    /// for the pod: not after its creation (a minute of skew allowed), and not more than 30
    /// days before it.
    #[test]
    fn a_job_is_a_cronjobs_only_when_its_minutes_fit_the_pod() {
        let created = ts("2026-12-02T06:00:30Z");
        let minutes = created / 60; // 29,412,360: 06:00, the schedule the pod was made for
        let of = |job: &str, created| {
            let owner = OwnerReference { kind: "Job".into(), name: job.into(), ..Default::default() };
            let w = workload_of("p", Some(&owner), None, created);
            (w.kind.to_string(), w.name.to_string())
        };
        let cron = |name: &str| ("CronJob".to_string(), name.to_string());
        let job = |name: &str| ("Job".to_string(), name.to_string());
        assert_eq!(of(&format!("nightly-{minutes}"), Some(created)), cron("nightly"));
        assert_eq!(of(&format!("nightly-{}", minutes + 1), Some(created)), cron("nightly"), "a minute of skew");
        assert_eq!(of(&format!("nightly-{}", minutes + 2), Some(created)), job(&format!("nightly-{}", minutes + 2)));
        let month = CRONJOB_SCHEDULE_WINDOW_SECONDS / 60;
        assert_eq!(
            of(&format!("retried-{}", minutes - month + 1), Some(created)),
            cron("retried"),
            "a pod re-created days later"
        );
        assert_eq!(
            of(&format!("stale-{}", minutes - month - 1), Some(created)),
            job(&format!("stale-{}", minutes - month - 1))
        );
        assert_eq!(of("report-20261202", Some(created)), job("report-20261202"), "a date: 2008 in minutes");
        // The 1.20 controller's seconds (`batch/v1beta1`), as the real node's testbed names them.
        assert_eq!(of(&format!("old-{}", created - 30), Some(created)), cron("old"), "seconds");
        assert_eq!(of(&format!("old-{}", created + 61), Some(created)), job(&format!("old-{}", created + 61)));
        assert_eq!(of("build-12345678", Some(created)), job("build-12345678"));
        assert_eq!(of(&format!("nightly-{minutes}"), None), job(&format!("nightly-{minutes}")), "no creation time");
        assert_eq!(of("x-99999999999999999999999", Some(created)), job("x-99999999999999999999999"), "overflow");
        assert_eq!(of(&format!("-{minutes}"), Some(created)), job(&format!("-{minutes}")), "no CronJob name");
    }

    /// An Argo Rollout's pod: owned by a ReplicaSet `<rollout>-<hash>`, labelled
    /// `rollouts-pod-template-hash` (no `pod-template-hash`).
    #[test]
    fn a_rollouts_pod_belongs_to_its_rollout() {
        let pod: SlimPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "canary-6c8f9d7b5-k2x9p", "namespace": "web", "uid": "u",
                "labels": {"app": "canary", "rollouts-pod-template-hash": "6c8f9d7b5"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "canary-6c8f9d7b5",
                    "uid": "rs", "controller": true}]},
            "spec": {"containers": [{"name": "app"}]}
        }))
        .expect("pod");
        assert_eq!(pod.workload, Workload { kind: "Rollout".into(), name: "canary".into() });
    }

    #[test]
    fn deployment_pod_is_projected() {
        let pod = fixture("deployment-oom-crashloop");
        assert_eq!((pod.namespace(), pod.name()), ("shop", "checkout-7d9c8b6f5-x2zqp"));
        assert_eq!(pod.workload, Workload { kind: "Deployment".into(), name: "checkout".into() });
        assert!(
            pod.metadata.labels.is_none()
                && pod.metadata.annotations.is_none()
                && pod.metadata.managed_fields.is_none()
        );
        assert_eq!(pod.containers.len(), 2);
        let app = pod.container("app").expect("app");
        assert_eq!(app.container_type, ContainerType::Regular);
        assert_eq!(app.restart_count, 5);
        assert_eq!(app.memory_limit_bytes, Some(256 << 20));
        assert!(app.has_liveness_probe && !app.has_startup_probe);
        let w = app.state.waiting().expect("waiting");
        assert_eq!((w.reason, w.backoff_seconds), (WaitingReason::CrashLoopBackOff, Some(160.0)));
        let last = app.last_termination().expect("last");
        assert_eq!((last.exit_code, last.reason, last.signal()), (137, TerminationReason::OomKilled, Some(9)));
        assert_eq!(last.finished_at, Some(ts("2026-11-24T09:20:40Z")));
        assert_eq!(last.run_seconds(), Some(30));
        let proxy = pod.container("proxy").expect("proxy");
        assert_eq!(proxy.state, State::Running { started_at: Some(ts("2026-11-24T09:00:05Z")) });
        assert_eq!(proxy.memory_limit_bytes, Some(1 << 30));
    }

    #[test]
    fn init_containers_and_sidecars() {
        let pod = fixture("init-and-sidecar");
        let types: Vec<_> = pod.containers.iter().map(|c| (&*c.name, c.container_type)).collect();
        assert_eq!(
            types,
            [
                ("ledger", ContainerType::Regular),
                ("migrate", ContainerType::Init),
                ("log-shipper", ContainerType::Sidecar)
            ]
        );
        assert_eq!(pod.workload, Workload { kind: "StatefulSet".into(), name: "ledger".into() });
        let migrate = pod.container("migrate").expect("migrate");
        assert_eq!(migrate.restart_count, 3);
        assert_eq!(migrate.state.waiting().and_then(|w| w.backoff_seconds), Some(40.0));
        assert!(pod.container("log-shipper").is_some_and(|c| c.has_startup_probe));
        assert_eq!(pod.phase, Phase::Pending);
    }

    #[test]
    fn pod_without_status() {
        let pod = fixture("no-status");
        assert_eq!(pod.containers.len(), 1);
        let c = &pod.containers[0];
        assert_eq!((c.restart_count, &c.state, c.memory_limit_bytes), (0, &State::Unknown, Some(64_000_000)));
        assert_eq!(pod.workload, Workload { kind: "Pod".into(), name: "bare".into() });
        assert_eq!(pod.restart_policy, RestartPolicy::Always);
    }

    #[test]
    fn terminations_and_hints() {
        let oom1 = fixture("oom-exit-1");
        let t = oom1.containers[0].last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.signal()), (1, TerminationReason::OomKilled, None));

        let live = fixture("liveness-killed");
        let t = live.containers[0].last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.signal()), (137, TerminationReason::Error, Some(9)));

        let done = fixture("cronjob-completed-restarted");
        let t = done.containers[0].last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.signal()), (0, TerminationReason::Completed, None));
        assert_eq!(done.workload, Workload { kind: "CronJob".into(), name: "nightly".into() });
        assert_ne!(done.restart_policy, RestartPolicy::Always);

        let start = fixture("start-error-not-found");
        let c = &start.containers[0];
        let t = c.last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.hint), (128, TerminationReason::StartError, Hint::ExecutableNotFound));
        let w = c.state.waiting().expect("waiting");
        assert_eq!((w.reason, w.hint), (WaitingReason::RunContainerError, Hint::ExecutableNotFound));

        let cfg = fixture("missing-configmap");
        let w = cfg.containers[0].state.waiting().expect("waiting");
        assert_eq!(w.reason, WaitingReason::CreateContainerConfigError);
        let missing = w.missing.as_deref().expect("missing");
        assert_eq!(
            (missing.kind, missing.name.as_str(), missing.key.as_deref()),
            (ObjectKind::ConfigMap, "app-config", Some("DATABASE_URL"))
        );
    }

    #[test]
    fn every_waiting_reason_round_trips_and_unknown_is_other() {
        for r in WaitingReason::ALL.iter().filter(|r| **r != WaitingReason::Other) {
            let json = serde_json::json!({"metadata": {"name": "p", "namespace": "n"},
                "status": {"containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": r.as_str()}}}]}});
            let pod: SlimPod = serde_json::from_value(json).expect("decodes");
            assert_eq!(pod.containers[0].state.waiting().map(|w| w.reason), Some(*r));
        }
        assert_eq!(WaitingReason::parse("SomethingNew"), WaitingReason::Other);
        assert_eq!(TerminationReason::parse("Killed-by-aliens"), TerminationReason::Other);
    }

    #[test]
    fn odd_shapes_decode_without_error() {
        let odd = serde_json::json!({
            "metadata": {"name": "p", "namespace": "n", "labels": null, "ownerReferences": [{"kind": "X"}]},
            "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "lots"}}}]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": -3,
                "state": {"terminated": {"exitCode": 99999999999i64, "finishedAt": "not a time"}},
                "lastState": {"waiting": {}}}, {"name": "ghost", "restartCount": 1}]}
        });
        let pod: SlimPod = serde_json::from_value(odd).expect("decodes");
        let c = pod.container("c").expect("c");
        assert_eq!((c.restart_count, c.memory_limit_bytes), (0, None));
        assert!(matches!(&c.state, State::Terminated(t) if t.exit_code == i32::MAX && t.finished_at.is_none()));
        assert_eq!(
            pod.container("ghost").map(|g| (g.container_type, g.restart_count)),
            Some((ContainerType::Regular, 1))
        );
        let huge = format!("back-off 10s {}", "x".repeat(2 << 20));
        let json = serde_json::json!({"metadata": {"name": "p"}, "status": {"containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": huge}}}]}});
        let pod: SlimPod = serde_json::from_value(json).expect("decodes");
        assert_eq!(pod.containers[0].state.waiting().and_then(|w| w.backoff_seconds), Some(10.0));
    }

    /// What 1.33 to 1.35 kubelets and apiservers add: the status's resources (in-place
    /// resize), pod-level resources, a container's own restartPolicy and restartPolicyRules,
    /// stopSignal, and the deletionTimestamp of a pod being stopped.
    #[test]
    fn current_fields_are_read() {
        let resized = fixture("current/resized-memory-limit");
        let limit = |name: &str| resized.container(name).and_then(|c| c.memory_limit_bytes);
        assert_eq!(limit("app"), Some(512 << 20), "the status's limit, not the spec's 256Mi");
        assert_eq!(limit("helper"), Some(1 << 30), "no limit of its own: the pod's");

        let rules = fixture("current/restart-rules-crashloop");
        let trainer = &rules.containers[0];
        assert_eq!(trainer.restart_spec().policy, Some(RestartPolicy::Never));
        assert_eq!(trainer.restart_spec().rules, [ExitCodeRule { not_in: false, values: [42].into() }]);

        let deleted = fixture("current/deleted-never-pod-stopped");
        assert!(deleted.terminating);
        assert_eq!(deleted.container("flusher").and_then(|c| c.restart_spec().stop_signal), Some(10));
        assert_eq!(deleted.container("worker").and_then(|c| c.restart_spec().stop_signal), None);

        let sidecar = fixture("current/sidecar-crashloop-in-never-pod");
        let proxy = sidecar.container("proxy").expect("proxy");
        assert_eq!((proxy.container_type, proxy.restart_spec().policy), (ContainerType::Sidecar, None));
        assert_eq!(sidecar.restart_policy_of(proxy), RestartPolicy::Always);

        let pulls = fixture("current/image-pull-backoff-v132");
        let pull =
            |name: &str| pulls.container(name).and_then(|c| c.state.waiting()).map(|w| (w.reason, w.pull_failure));
        assert_eq!(pull("api"), Some((WaitingReason::ImagePullBackOff, Some(crate::view::PullFailure::NotFound))));
        assert_eq!(
            pull("signed"),
            Some((WaitingReason::SignatureValidationFailed, Some(crate::view::PullFailure::Other)))
        );
    }
}

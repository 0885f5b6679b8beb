//! Kubelet Events about Pods, turned into bounded per-container counters and signals.
//!
//! Events are decoded into a [`SlimEvent`] (the message reduced to a [`Signal`] while
//! decoding) and never stored whole. [`EventCounts`] keeps, for each Event object, the
//! last `count` seen, so the kubelet's correlator PATCHes (`count` 1 → 3 → 7) add their
//! delta, and a relist, a watch restart or a 410 Gone adds only what is new.
//!
//! **Start-up rule.** Everything in the exporter's first list is a baseline: it is
//! recorded at its current count and adds nothing. Counters therefore start at 0 when
//! the exporter starts (Prometheus sees an ordinary counter reset), and nothing a previous
//! instance counted is counted again. Event objects that appear after the first list add
//! their full count. An Event expiring (1 h TTL) takes nothing away; its record is kept
//! for [`RECORD_GRACE_SECONDS`] so a re-created Event with the same name adds only its
//! delta. Counters live as long as their pod.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::Deserialize;

use crate::model::{MissingObject, Timestamp, parse_missing_object, timestamp};

/// How long the record of a deleted Event is kept (the apiserver's TTL is 1 h).
pub const RECORD_GRACE_SECONDS: i64 = 2 * 3600;

/// A probe type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    Liveness,
    Readiness,
    Startup,
}

impl Probe {
    pub const ALL: [Probe; 3] = [Probe::Liveness, Probe::Readiness, Probe::Startup];
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Liveness => "liveness",
            Probe::Readiness => "readiness",
            Probe::Startup => "startup",
        }
    }
}

/// Why an image pull failed, in the manner of Robusta's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PullFailure {
    NotFound,
    Unauthorized,
    Unreachable,
    Other,
}

impl PullFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            PullFailure::NotFound => "not_found",
            PullFailure::Unauthorized => "unauthorized",
            PullFailure::Unreachable => "unreachable",
            PullFailure::Other => "other",
        }
    }

    /// Classifies the runtime's pull error (`Failed to pull image "x": rpc error: …`).
    /// Status codes are matched with their words: a registry's port (`127.0.0.1:40195`) is
    /// no 401.
    pub fn classify(message: &str) -> PullFailure {
        let m = message.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
        if any(&[
            "unauthorized",
            "authentication required",
            "insufficient_scope",
            "403 forbidden",
            "pull access denied",
            "access denied",
        ]) {
            PullFailure::Unauthorized
        } else if any(&[
            "no such host",
            "i/o timeout",
            "connection refused",
            "network is unreachable",
            "tls handshake timeout",
            "context deadline exceeded",
            "dial tcp",
        ]) {
            PullFailure::Unreachable
        } else if any(&["manifest unknown", "not found", "repository does not exist", "name unknown"]) {
            PullFailure::NotFound
        } else {
            PullFailure::Other
        }
    }
}

/// What an Event says, reduced to a bounded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    ProbeFailure(Probe),
    ProbeKill(Probe),
    /// `BackOff`: `Back-off restarting failed container`.
    CrashBackOff,
    /// `BackOff`: `Back-off pulling image`.
    ImagePullBackOff,
    ImagePullFailed(PullFailure),
    Missing(MissingObject),
    /// Not counted; the label value of `crashloop_exporter_events_ignored_total`.
    Ignored(&'static str),
    /// A reason the exporter reads, with a message it could not parse.
    Unparsed,
}

/// Reduces an Event's reason and message.
pub fn classify(reason: &str, message: &str) -> Signal {
    let lower = message.trim_start().to_ascii_lowercase();
    let probe_of = |s: &str| match s {
        "liveness" => Some(Probe::Liveness),
        "readiness" => Some(Probe::Readiness),
        "startup" => Some(Probe::Startup),
        _ => None,
    };
    match reason {
        "Unhealthy" => {
            let mut words = lower.splitn(3, ' ');
            match (words.next().and_then(probe_of), words.next(), words.next()) {
                (Some(p), Some("probe"), Some(rest)) if rest.starts_with("failed") || rest.starts_with("errored") => {
                    Signal::ProbeFailure(p)
                }
                _ => Signal::Unparsed,
            }
        }
        "Killing" => {
            if lower.contains("failed liveness probe") {
                Signal::ProbeKill(Probe::Liveness)
            } else if lower.contains("failed startup probe") {
                Signal::ProbeKill(Probe::Startup)
            } else {
                Signal::Ignored("not_a_probe_kill")
            }
        }
        "BackOff" => {
            if lower.starts_with("back-off restarting failed container") {
                Signal::CrashBackOff
            } else if lower.starts_with("back-off pulling image") {
                Signal::ImagePullBackOff
            } else {
                Signal::Unparsed
            }
        }
        "Failed" | "FailedMount" | "FailedAttachVolume" => {
            if let Some(missing) = parse_missing_object(message) {
                Signal::Missing(missing)
            } else if reason == "Failed" && lower.starts_with("failed to pull image") {
                Signal::ImagePullFailed(PullFailure::classify(&lower))
            } else if reason == "Failed"
                && (lower.starts_with("error: errimagepull") || lower.starts_with("error: imagepullbackoff"))
            {
                Signal::Ignored("pull_summary")
            } else {
                Signal::Ignored("other_failure")
            }
        }
        _ => Signal::Ignored("uninteresting_reason"),
    }
}

/// Which part of the pod an Event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Empty fieldPath: the pod itself.
    Pod,
    Container(String),
    /// A fieldPath that names no container.
    Malformed,
}

/// Parses `involvedObject.fieldPath`: `spec.containers{name}`, `spec.initContainers{name}`,
/// `spec.ephemeralContainers{name}`, or empty for the pod.
pub fn parse_field_path(path: &str) -> Target {
    if path.is_empty() {
        return Target::Pod;
    }
    for prefix in ["spec.containers{", "spec.initContainers{", "spec.ephemeralContainers{"] {
        if let Some(name) = path.strip_prefix(prefix).and_then(|r| r.strip_suffix('}')) {
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
            return if valid { Target::Container(name.to_string()) } else { Target::Malformed };
        }
    }
    Target::Malformed
}

/// The involved pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// The slim projection of a core/v1 Event about a Pod.
#[derive(Resource, Clone, Debug, Deserialize)]
#[resource(inherit = "CoreEvent")]
#[serde(from = "wire::Event")]
pub struct SlimEvent {
    pub metadata: ObjectMeta,
    /// `None` when the involved object is not a Pod.
    pub pod: Option<PodRef>,
    pub target: Target,
    pub signal: Signal,
    /// `count`, or `series.count` when `count` is 0 or missing; at least 1.
    pub count: u64,
    /// `lastTimestamp`, else `series.lastObservedTime`, else `eventTime`.
    pub last_seen: Option<Timestamp>,
}

impl SlimEvent {
    fn key(&self) -> (String, String) {
        (self.metadata.namespace.clone().unwrap_or_default(), self.metadata.name.clone().unwrap_or_default())
    }
}

/// Counters of one container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerEvents {
    pub probe_failures: [u64; 3],
    pub probe_kills: [u64; 3],
    pub backoffs: u64,
    pub image_pull_backoffs: u64,
    /// The category of the latest failed pull.
    pub pull_failure: Option<PullFailure>,
    /// The latest probe kill: which probe, and when the Event last happened.
    pub last_probe_kill: Option<(Probe, Timestamp)>,
}

/// What the Events say about one pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodEvents {
    pub uid: String,
    pub containers: BTreeMap<String, ContainerEvents>,
    /// Missing objects, each with the Event (by name) that reported it.
    pub missing: BTreeMap<MissingObject, String>,
}

struct Record {
    uid: String,
    last_count: u64,
    pod: (String, String),
    deleted_at: Option<Timestamp>,
}

/// What became of one Event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded; `added` occurrences were counted.
    Counted { added: u64 },
    /// Left out, with the reason (`crashloop_exporter_events_ignored_total`).
    Ignored(&'static str),
    /// A message of a known reason that could not be parsed.
    Unparsed,
}

/// The counting state of all Events; see the module docs for the rules.
#[derive(Default)]
pub struct EventCounts {
    records: HashMap<(String, String), Record>,
    pods: HashMap<(String, String), PodEvents>,
    /// True while the first list is read.
    pub baseline: bool,
    /// Counts calls that may have changed the state, so a rendered exposition knows when it is stale.
    generation: u64,
}

impl EventCounts {
    pub fn new() -> Self {
        EventCounts { baseline: true, ..Default::default() }
    }

    /// The pod's event state, if any Event was counted for it.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodEvents> {
        self.pods.get(&(namespace.to_string(), name.to_string()))
    }

    /// Applies an added or modified Event. `pod_uid` looks the involved pod up in the pod
    /// cache: an Event whose pod is unknown (or a previous pod of the same name) is skipped.
    pub fn apply(&mut self, event: &SlimEvent, pod_uid: impl Fn(&str, &str) -> Option<String>) -> Outcome {
        self.generation += 1;
        let Some(pod) = &event.pod else { return Outcome::Ignored("not_a_pod") };
        match &event.signal {
            Signal::Ignored(why) => return Outcome::Ignored(why),
            Signal::Unparsed => return Outcome::Unparsed,
            _ => {}
        }
        let container = match &event.target {
            Target::Malformed => return Outcome::Ignored("bad_field_path"),
            Target::Pod => String::new(),
            Target::Container(c) => c.clone(),
        };
        let Some(uid) = pod_uid(&pod.namespace, &pod.name) else { return Outcome::Ignored("unknown_pod") };
        if !pod.uid.is_empty() && pod.uid != uid {
            return Outcome::Ignored("previous_pod");
        }

        let key = event.key();
        let event_uid = event.metadata.uid.clone().unwrap_or_default();
        let added = match self.records.get_mut(&key) {
            Some(r) => {
                let added = if event.count >= r.last_count {
                    event.count - r.last_count
                } else if r.uid != event_uid {
                    // A new object that reuses the name and starts over.
                    event.count
                } else {
                    0
                };
                r.last_count = r.last_count.max(event.count);
                if r.uid != event_uid && event.count < r.last_count {
                    r.last_count = event.count;
                }
                r.uid = event_uid;
                r.deleted_at = None;
                added
            }
            None => {
                let pod_key = (pod.namespace.clone(), pod.name.clone());
                self.records.insert(
                    key.clone(),
                    Record { uid: event_uid, last_count: event.count, pod: pod_key, deleted_at: None },
                );
                if self.baseline { 0 } else { event.count }
            }
        };

        let state = self.pods.entry((pod.namespace.clone(), pod.name.clone())).or_default();
        if state.uid != uid {
            *state = PodEvents { uid, ..Default::default() };
        }
        match &event.signal {
            Signal::Missing(object) => {
                state.missing.insert(object.clone(), key.1);
            }
            signal => {
                let c = state.containers.entry(container).or_default();
                match signal {
                    Signal::ProbeFailure(p) => {
                        c.probe_failures[*p as usize] = c.probe_failures[*p as usize].saturating_add(added)
                    }
                    Signal::ProbeKill(p) => {
                        c.probe_kills[*p as usize] = c.probe_kills[*p as usize].saturating_add(added);
                        if let Some(at) = event.last_seen
                            && c.last_probe_kill.is_none_or(|(_, t)| at >= t)
                        {
                            c.last_probe_kill = Some((*p, at));
                        }
                    }
                    Signal::CrashBackOff => c.backoffs = c.backoffs.saturating_add(added),
                    Signal::ImagePullBackOff => c.image_pull_backoffs = c.image_pull_backoffs.saturating_add(added),
                    Signal::ImagePullFailed(category) => c.pull_failure = Some(*category),
                    Signal::Missing(_) | Signal::Ignored(_) | Signal::Unparsed => {}
                }
            }
        }
        Outcome::Counted { added }
    }

    /// An Event was deleted (TTL): nothing is subtracted; what it reported as missing is cleared.
    pub fn delete(&mut self, event: &SlimEvent, now: Timestamp) {
        self.generation += 1;
        let key = event.key();
        if let Some(r) = self.records.get_mut(&key) {
            r.deleted_at = Some(now);
            if let Some(pod) = self.pods.get_mut(&r.pod) {
                pod.missing.retain(|_, event_name| *event_name != key.1);
            }
        }
    }

    /// Forgets a deleted pod and its Events.
    pub fn forget_pod(&mut self, namespace: &str, name: &str) {
        self.generation += 1;
        let key = (namespace.to_string(), name.to_string());
        self.pods.remove(&key);
        self.records.retain(|_, r| r.pod != key);
    }

    /// Drops records of Events deleted long ago, and of pods the cache no longer has.
    pub fn collect_garbage(&mut self, now: Timestamp, pod_exists: impl Fn(&str, &str) -> bool) {
        self.generation += 1;
        self.pods.retain(|(ns, name), _| pod_exists(ns, name));
        let pods = &self.pods;
        self.records.retain(|_, r| {
            r.deleted_at.is_none_or(|t| now - t < RECORD_GRACE_SECONDS)
                && (pods.contains_key(&r.pod) || pod_exists(&r.pod.0, &r.pod.1))
        });
    }

    /// A copy of every pod's state for one scrape, by pod uid (a pod recreated under the same name is another pod).
    pub fn snapshot(&self) -> HashMap<String, PodEvents> {
        self.pods.values().map(|e| (e.uid.clone(), e.clone())).collect()
    }

    /// Changes so far: equal values mean an unchanged state.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Event objects remembered (for `crashloop_exporter_cached_objects{resource="events"}`).
    pub fn records(&self) -> usize {
        self.records.len()
    }
}

mod wire {
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    pub struct Event {
        metadata: Meta,
        involved_object: Involved,
        reason: Option<String>,
        message: Option<String>,
        count: Option<i64>,
        series: Option<Series>,
        last_timestamp: Option<String>,
        event_time: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Meta {
        name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Involved {
        kind: Option<String>,
        namespace: Option<String>,
        name: Option<String>,
        uid: Option<String>,
        field_path: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    #[serde(rename_all = "camelCase")]
    struct Series {
        count: Option<i64>,
        last_observed_time: Option<String>,
    }

    impl From<Event> for SlimEvent {
        fn from(e: Event) -> Self {
            let Event { metadata, involved_object: io, reason, message, count, series, last_timestamp, event_time } = e;
            let last_seen = timestamp(last_timestamp.as_deref())
                .or_else(|| timestamp(series.as_ref().and_then(|s| s.last_observed_time.as_deref())))
                .or_else(|| timestamp(event_time.as_deref()));
            let pod = (io.kind.as_deref() == Some("Pod")).then(|| PodRef {
                namespace: io.namespace.or_else(|| metadata.namespace.clone()).unwrap_or_default(),
                name: io.name.unwrap_or_default(),
                uid: io.uid.unwrap_or_default(),
            });
            let count = match count.filter(|c| *c > 0) {
                Some(c) => c,
                None => series.and_then(|s| s.count).unwrap_or(1),
            };
            SlimEvent {
                metadata: ObjectMeta {
                    name: metadata.name,
                    namespace: metadata.namespace,
                    uid: metadata.uid,
                    resource_version: metadata.resource_version,
                    ..Default::default()
                },
                pod,
                target: parse_field_path(io.field_path.as_deref().unwrap_or("")),
                signal: classify(reason.as_deref().unwrap_or(""), message.as_deref().unwrap_or("")),
                count: u64::try_from(count.max(1)).unwrap_or(1),
                last_seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectKind;

    #[derive(Deserialize)]
    struct Case {
        expect: String,
        event: serde_json::Value,
    }

    fn cases() -> Vec<(String, SlimEvent)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events/kubelet-events.json");
        let text = std::fs::read_to_string(path).expect("fixture");
        let cases: Vec<Case> = serde_json::from_str(&text).expect("fixture json");
        cases.into_iter().map(|c| (c.expect, serde_json::from_value(c.event).expect("decodes"))).collect()
    }

    fn describe(signal: &Signal) -> String {
        match signal {
            Signal::ProbeFailure(p) => format!("probe_failure:{}", p.as_str()),
            Signal::ProbeKill(p) => format!("probe_kill:{}", p.as_str()),
            Signal::CrashBackOff => "backoff".into(),
            Signal::ImagePullBackOff => "image_pull_backoff".into(),
            Signal::ImagePullFailed(c) => format!("pull:{}", c.as_str()),
            Signal::Missing(m) => format!("missing:{}:{}", m.kind.as_str(), m.name),
            Signal::Ignored(why) => format!("ignored:{why}"),
            Signal::Unparsed => "unparsed".into(),
        }
    }

    #[test]
    fn every_fixture_classifies_as_expected() {
        let cases = cases();
        assert!(cases.len() >= 25);
        for (expect, event) in &cases {
            assert_eq!(&describe(&event.signal), expect, "{:?}", event.metadata.name);
        }
    }

    /// The messages containerd 1.6 gives for the three registries of the real-node tests
    /// (`tests/real_node.rs`), the ports as they came.
    #[test]
    fn pull_failures_from_containerd() {
        let cases = [
            (
                "failed to resolve reference \"127.0.0.1:40195/gone:1\": failed to do request: Head \"http://127.0.0.1:40195/v2/gone/manifests/1\": dial tcp 127.0.0.1:40195: connect: connection refused",
                PullFailure::Unreachable,
            ),
            (
                "failed to resolve reference \"127.0.0.1:33383/private:1\": pulling from host 127.0.0.1:33383 failed with status code [manifests 1]: 401 Unauthorized",
                PullFailure::Unauthorized,
            ),
            (
                "rpc error: code = NotFound desc = failed to pull and unpack image \"127.0.0.1:38441/absent:1\": failed to resolve reference \"127.0.0.1:38441/absent:1\": 127.0.0.1:38441/absent:1: not found",
                PullFailure::NotFound,
            ),
            (
                "failed to resolve reference \"127.0.0.1:4011/x:1\": 127.0.0.1:4011/x:1: not found",
                PullFailure::NotFound,
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(PullFailure::classify(message), expected, "{message}");
        }
    }

    #[test]
    fn series_count_is_used_when_count_is_zero() {
        let (_, e) = cases().pop().expect("last case");
        assert_eq!(e.count, 4);
    }

    #[test]
    fn field_paths() {
        assert_eq!(parse_field_path(""), Target::Pod);
        assert_eq!(parse_field_path("spec.containers{app}"), Target::Container("app".into()));
        assert_eq!(parse_field_path("spec.initContainers{migrate}"), Target::Container("migrate".into()));
        assert_eq!(parse_field_path("spec.ephemeralContainers{debugger-x7}"), Target::Container("debugger-x7".into()));
        for bad in [
            "spec.containers{",
            "spec.containers{}",
            "spec.containers{a}b",
            "spec.volumes{x}",
            "metadata",
            "spec.containers{a\"b}",
        ] {
            assert_eq!(parse_field_path(bad), Target::Malformed, "{bad:?}");
        }
    }

    fn event(name: &str, count: u64, signal: Signal) -> SlimEvent {
        SlimEvent {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            },
            pod: Some(PodRef { namespace: "shop".into(), name: "web".into(), uid: "pod-uid".into() }),
            target: Target::Container("app".into()),
            signal,
            count,
            last_seen: Some(100),
        }
    }

    fn liveness(counts: &EventCounts) -> u64 {
        counts
            .pod("shop", "web")
            .and_then(|p| p.containers.get("app"))
            .map_or(0, |c| c.probe_failures[Probe::Liveness as usize])
    }

    const POD: fn(&str, &str) -> Option<String> = |_, _| Some("pod-uid".to_string());

    #[test]
    fn counts_deltas_once_across_updates_and_relists() {
        let mut counts = EventCounts::new();
        counts.baseline = false;
        let fail = Signal::ProbeFailure(Probe::Liveness);
        assert_eq!(counts.apply(&event("web.1", 1, fail.clone()), POD), Outcome::Counted { added: 1 });
        counts.apply(&event("web.1", 3, fail.clone()), POD);
        counts.apply(&event("web.1", 7, fail.clone()), POD);
        assert_eq!(liveness(&counts), 7);
        // A relist replays the same object: nothing is added.
        assert_eq!(counts.apply(&event("web.1", 7, fail.clone()), POD), Outcome::Counted { added: 0 });
        // An older version arriving late adds nothing either.
        counts.apply(&event("web.1", 5, fail.clone()), POD);
        assert_eq!(liveness(&counts), 7);
        // The Event expires: nothing is subtracted; re-created with the same name and a
        // continued count, only the delta is added.
        counts.delete(&event("web.1", 7, fail.clone()), 1000);
        assert_eq!(liveness(&counts), 7);
        let mut recreated = event("web.1", 9, fail.clone());
        recreated.metadata.uid = Some("uid-new".into());
        counts.apply(&recreated, POD);
        assert_eq!(liveness(&counts), 9);
        // A new object under the same name that starts over adds its whole count.
        let mut restarted = event("web.1", 2, fail);
        restarted.metadata.uid = Some("uid-newer".into());
        counts.apply(&restarted, POD);
        assert_eq!(liveness(&counts), 11);
    }

    #[test]
    fn first_list_is_the_baseline() {
        let mut counts = EventCounts::new();
        let fail = Signal::ProbeFailure(Probe::Liveness);
        assert_eq!(counts.apply(&event("web.1", 5, fail.clone()), POD), Outcome::Counted { added: 0 });
        counts.baseline = false;
        counts.apply(&event("web.1", 6, fail.clone()), POD);
        counts.apply(&event("web.2", 2, fail), POD);
        assert_eq!(liveness(&counts), 3);
    }

    #[test]
    fn skips_are_counted_not_panics() {
        let mut counts = EventCounts::new();
        counts.baseline = false;
        let fail = Signal::ProbeFailure(Probe::Liveness);
        assert_eq!(counts.apply(&event("x", 1, fail.clone()), |_, _| None), Outcome::Ignored("unknown_pod"));
        assert_eq!(
            counts.apply(&event("x", 1, fail.clone()), |_, _| Some("other-uid".into())),
            Outcome::Ignored("previous_pod")
        );
        let mut bad = event("y", 1, fail);
        bad.target = Target::Malformed;
        assert_eq!(counts.apply(&bad, POD), Outcome::Ignored("bad_field_path"));
        assert_eq!(counts.apply(&event("z", 1, Signal::Unparsed), POD), Outcome::Unparsed);
        assert_eq!(counts.records(), 0);
    }

    #[test]
    fn missing_objects_clear_when_their_event_goes() {
        let mut counts = EventCounts::new();
        let missing = MissingObject { kind: ObjectKind::ConfigMap, name: "cfg".into(), key: None };
        let mut e = event("web.m", 1, Signal::Missing(missing.clone()));
        e.target = Target::Pod;
        counts.apply(&e, POD);
        assert_eq!(counts.pod("shop", "web").map(|p| p.missing.len()), Some(1));
        counts.delete(&e, 10);
        assert_eq!(counts.pod("shop", "web").map(|p| p.missing.len()), Some(0));
        counts.forget_pod("shop", "web");
        assert!(counts.pod("shop", "web").is_none());
        assert_eq!(counts.records(), 0);
    }

    #[test]
    fn garbage_collection_keeps_recent_records() {
        let mut counts = EventCounts::new();
        counts.apply(&event("web.1", 1, Signal::CrashBackOff), POD);
        counts.delete(&event("web.1", 1, Signal::CrashBackOff), 0);
        counts.collect_garbage(RECORD_GRACE_SECONDS - 1, |_, _| true);
        assert_eq!(counts.records(), 1);
        counts.collect_garbage(RECORD_GRACE_SECONDS, |_, _| true);
        assert_eq!(counts.records(), 0);
    }
}

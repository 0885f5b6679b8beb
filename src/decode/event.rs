//! The Event JSON, decoded into a [`SlimEvent`]: the reason and message reduced to a
//! [`crate::view::Signal`] at once, the text dropped.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::pod::controller_workload;
use crate::parse::{classify_event, container_named, parse_field_path, strip_combined, timestamp};
use crate::view::{ControllerRef, PodRef, SlimEvent, Target};

impl<'de> Deserialize<'de> for SlimEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        wire::Event::deserialize(d).map(SlimEvent::from)
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
            let namespace = io.namespace.or_else(|| metadata.namespace.clone()).unwrap_or_default();
            let controller = match (io.kind.as_deref(), io.name.as_deref()) {
                (Some(kind @ ("ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job")), Some(name)) => {
                    let (kind, name) = controller_workload(kind, name, last_seen);
                    Some(ControllerRef {
                        namespace: namespace.clone(),
                        kind: kind.to_string(),
                        name: name.to_string(),
                        uid: io.uid.clone().unwrap_or_default(),
                    })
                }
                _ => None,
            };
            let pod = (io.kind.as_deref() == Some("Pod")).then(|| PodRef {
                namespace,
                name: io.name.unwrap_or_default(),
                uid: io.uid.unwrap_or_default(),
            });
            // A combined Event is keyed without its fieldPath: the container its message
            // names is the better target, where it names one.
            let (message, combined) = strip_combined(message.as_deref().unwrap_or(""));
            let target = match container_named(message).filter(|_| combined) {
                Some(name) => Target::Container(name.to_string()),
                None => parse_field_path(io.field_path.as_deref().unwrap_or("")),
            };
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
                controller,
                target,
                signal: classify_event(reason.as_deref().unwrap_or(""), message),
                count: u64::try_from(count.max(1)).unwrap_or(1),
                last_seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::Signal;

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
            Signal::ImagePullBackOff(None) => "image_pull_backoff".into(),
            Signal::ImagePullBackOff(Some(c)) => format!("image_pull_backoff:{}", c.as_str()),
            Signal::ImagePullFailed(c) => format!("pull:{}", c.as_str()),
            Signal::Missing(m) => format!("missing:{}:{}", m.kind.as_str(), m.name),
            Signal::SandboxFailed => "sandbox_failed".into(),
            Signal::MountFailed => "mount_failed".into(),
            Signal::CreateRefused(r) => format!("refused:{}", r.as_str()),
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

    #[test]
    fn series_count_is_used_when_count_is_zero() {
        let named = |e: &SlimEvent| e.metadata.name.as_deref() == Some("web-5d4f8c7b9-x2x4q.17a1b2c3d4e5f61c");
        let e = cases().into_iter().map(|(_, e)| e).find(named).expect("the case with a series");
        assert_eq!(e.count, 4);
    }

    /// A combined Event is keyed without its fieldPath, which is the first combined Event's:
    /// the container its message names wins; without a name, the fieldPath stands.
    #[test]
    fn a_combined_event_goes_to_the_container_its_message_names() {
        let by_expect = |message: &str| -> SlimEvent {
            cases()
                .into_iter()
                .map(|(_, e)| e)
                .find(|e| e.metadata.name.as_deref().is_some_and(|n| n.ends_with(message)))
                .expect("case")
        };
        let backoff = by_expect("f702");
        assert_eq!((backoff.target, backoff.signal), (Target::Container("app".into()), Signal::CrashBackOff));
        let liveness = by_expect("f701");
        assert_eq!(liveness.target, Target::Container("app".into()));
        assert_eq!(liveness.count, 14);
    }
}

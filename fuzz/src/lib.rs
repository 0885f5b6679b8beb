//! The checks behind the fuzz targets (`fuzz/fuzz_targets/`) and the property tests
//! (`tests/properties.rs`, which includes this file): each runs one parser, or the pod and
//! Event pipelines, on one input and asserts what must hold for every input. The first thing
//! that must hold is that nothing panics.

use crashloop_exporter::internals::parse;
use crashloop_exporter::internals::view::{
    LogHint, MissingObject, ObjectKind, Probe, Signal, SlimEvent, SlimPod, Target, Timestamp,
};
use crashloop_exporter::internals::{ContainerEvents, EventCounts, Outcome, PodEvents, assess, track};

/// Longest name the exporter keeps from free text or from an unvalidated field.
pub use crashloop_exporter::internals::view::MAX_NAME_BYTES;

/// A fixed "now" (2026-11-24T10:00:00Z), so that a failure replays the same way.
pub const NOW: Timestamp = 1_795_514_400;

/// The waiting-message parsers: a delay is finite and not negative.
pub fn duration(text: &str) {
    for delay in [parse::parse_go_duration(text), parse::parse_backoff_message(text)].into_iter().flatten() {
        assert!(delay.is_finite() && delay >= 0.0, "delay {delay} from {text:?}");
    }
}

/// `involvedObject.fieldPath`: a container name is exactly what the braces held, and valid.
pub fn field_path(path: &str) {
    if let Target::Container(name) = parse::parse_field_path(path) {
        assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES, "container name {name:?}");
        assert!(path.ends_with(&format!("{{{name}}}")), "{name:?} is not what {path:?} names");
    }
}

/// The `/proc` parsers: memory is whole kB, and a process starts after boot.
pub fn procfs(text: &str) {
    for key in ["VmRSS", "VmSize"] {
        if let Some(bytes) = parse::parse_status_bytes(text, key) {
            assert_eq!(bytes % 1024, 0, "{bytes} bytes from {text:?}");
        }
    }
    if let Some(stat) = parse::parse_proc_stat(text) {
        assert!(text.contains(')'), "{stat:?} from {text:?}");
    }
    let _ = parse::parse_max_open_files(text);
    let _ = parse::parse_boot_time(text);
}

/// Event reason and message classifiers: names taken from the message are bounded.
pub fn event_message(reason: &str, message: &str) {
    if let Signal::Missing(object) = parse::classify_event(reason, message) {
        bounded_object(&object);
    }
    if let Some(object) = parse::parse_missing_object(message) {
        bounded_object(&object);
    }
    let _ = parse::classify_pull_failure(message);
    let _ = parse::classify_exec_message(message);
}

fn bounded_object(object: &MissingObject) {
    assert!(object.name.len() <= MAX_NAME_BYTES, "object name of {} bytes", object.name.len());
    assert!(
        object.key.as_ref().is_none_or(|k| k.len() <= MAX_NAME_BYTES),
        "key of {:?} bytes",
        object.key.as_ref().map(String::len)
    );
}

/// The log classifier: ignores ASCII case. The evidence read from the same text for a
/// fix: a host within the text and bounded, a port above 0, a path from the text.
pub fn log(text: &str) {
    let hint: Option<LogHint> = parse::classify_log(text);
    assert_eq!(hint, parse::classify_log(&text.to_ascii_uppercase()), "{text:?}");
    if let Some(e) = parse::unreachable_endpoint(text) {
        assert!(!e.host.is_empty() && e.host.len() <= 253 && text.contains(&e.host), "{text:?}: {e:?}");
        assert_ne!(e.port, Some(0), "{text:?}");
    }
    if let Some(path) = parse::read_only_path(text) {
        assert!(path.starts_with('/') && text.contains(&path), "{text:?}: {path}");
    }
}

/// Resource quantities: a plain decimal integer is its own value.
pub fn quantity(text: &str) {
    let parsed = parse::parse_quantity(text);
    if !text.is_empty() && text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(parsed, text.parse().ok(), "{text:?}");
    }
}

/// The pod pipeline on any bytes: decode, track twice (as the first list, then as an
/// update), assess with and without Events. What is kept is bounded.
pub fn pod_json(data: &[u8]) {
    let Ok(pod) = serde_json::from_slice::<SlimPod>(data) else { return };
    bounded_pod(&pod);
    let first = track(None, pod.clone(), NOW, true);
    let next = track(Some(&first), pod, NOW + 30, false);
    let events = pod_events(&next);
    for (p, now) in [(&first, NOW), (&next, NOW + 30)] {
        for healthy_details in [false, true] {
            for e in [None, Some(&events)] {
                let reports = assess(p, e, &|_| Some(LogHint::Crash), now, healthy_details);
                assert_eq!(reports.len(), p.containers.len());
                for r in &reports {
                    let b = r.backoff;
                    assert!(b.delay_seconds().is_none_or(|d| d.is_finite() && d >= 0.0), "delay {b:?}");
                    assert!(b.active || b.delay.is_none(), "a delay out of back-off {b:?}");
                    assert!(b.next_restart.is_none_or(f64::is_finite), "next restart {b:?}");
                    assert_eq!(
                        b.active,
                        r.container.state.waiting().is_some_and(
                            |w| w.reason == crashloop_exporter::internals::view::WaitingReason::CrashLoopBackOff
                        )
                    );
                }
            }
        }
    }
    for p in [&first, &next] {
        // A quiet pod is skipped by the render's scan: it must have nothing to add, at any time.
        let _ = crashloop_exporter::internals::prerender(p);
        if crashloop_exporter::internals::is_quiet(p) {
            for now in [NOW, NOW + 30, NOW + 86_400] {
                let reports = assess(p, None, &|_| Some(LogHint::Crash), now, false);
                assert!(
                    reports.iter().all(|r| !r.detailed && r.cause.is_none() && r.container.state.waiting().is_none()),
                    "a quiet pod with details"
                );
            }
        }
    }
    for (before, after) in first.containers.iter().zip(&next.containers) {
        let (b, a) = (&before.history().terminations.0, &after.history().terminations.0);
        assert!(b.iter().zip(a).all(|(b, a)| a >= b), "terminations went backwards: {b:?} -> {a:?}");
    }
}

/// Names the pod keeps from fields the apiserver does not validate (owner references,
/// container statuses, messages): bounded, whatever the JSON held. (Its own name,
/// namespace and uid are validated by the apiserver.)
pub fn bounded_pod(pod: &SlimPod) {
    assert!(
        pod.workload.kind.len() <= MAX_NAME_BYTES && pod.workload.name.len() <= MAX_NAME_BYTES,
        "workload of {} bytes",
        pod.workload.name.len()
    );
    for c in &pod.containers {
        assert!(c.name.len() <= MAX_NAME_BYTES, "container name of {} bytes", c.name.len());
        if let Some(missing) = c.state.waiting().and_then(|w| w.missing.as_deref()) {
            bounded_object(missing);
        }
    }
}

/// Event state a pod could have: a probe kill and a missing object for its first container.
fn pod_events(pod: &SlimPod) -> PodEvents {
    let mut events = PodEvents { uid: pod.uid().to_string(), ..Default::default() };
    if let Some(c) = pod.containers.first() {
        let last_kill = c.last_termination().and_then(|t| t.finished_at).map(|at| (Probe::Startup, at - 5));
        events
            .containers
            .insert(c.name.to_string(), ContainerEvents { last_probe_kill: last_kill, ..Default::default() });
        events.missing.insert(MissingObject { kind: ObjectKind::Secret, name: "tls".into(), key: None }, "e".into());
    }
    events
}

/// The Event pipeline on any bytes: a stream of JSON Events, each decoded and applied in
/// order (the first as the start-up baseline), then deleted. Counters never go backwards.
pub fn event_json(data: &[u8]) {
    let mut counts = EventCounts::new();
    let stream = serde_json::Deserializer::from_slice(data).into_iter::<SlimEvent>();
    for (i, event) in stream.take(64).enumerate() {
        let Ok(event) = event else { break };
        if let Target::Container(name) = &event.target {
            assert!(name.len() <= MAX_NAME_BYTES);
        }
        let pod = event.pod.clone().unwrap_or_default();
        let before = counts.pod(&pod.namespace, &pod.name).cloned();
        let uid = if pod.uid.is_empty() { "uid".to_string() } else { pod.uid.clone() };
        let outcome = counts.apply(&event, |_, _| Some(uid.clone()));
        if let Outcome::Counted { added } = outcome {
            assert!(added <= event.count, "added {added} of a count of {}", event.count);
        }
        if let (Some(before), Some(after)) = (before, counts.pod(&pod.namespace, &pod.name))
            && before.uid == after.uid
        {
            not_backwards(&before, after);
        }
        if i % 3 == 2 {
            counts.delete(&event, NOW);
        }
        counts.baseline = false;
    }
    let _ = counts.snapshot();
    counts.collect_garbage(NOW + crashloop_exporter::internals::RECORD_GRACE_SECONDS, |_, name| name.len() % 2 == 0);
}

fn not_backwards(before: &PodEvents, after: &PodEvents) {
    for (name, b) in &before.containers {
        let a = after.containers.get(name).expect("a container's counters are never dropped while its pod lives");
        let pairs = b.probe_failures.iter().zip(&a.probe_failures).chain(b.probe_kills.iter().zip(&a.probe_kills));
        let pairs = pairs.chain([(&b.backoffs, &a.backoffs), (&b.image_pull_backoffs, &a.image_pull_backoffs)]);
        for (b, a) in pairs {
            assert!(a >= b, "a counter of {name:?} went backwards: {b} -> {a}");
        }
    }
}

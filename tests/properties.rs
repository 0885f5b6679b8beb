//! Bad input, in ordinary `cargo test`: the parsers and the pod and Event pipelines on
//! arbitrary and on near-valid input (proptest), the crashes the fuzzers found, and the
//! memory a huge pod or Event leaves behind once decoded.
//!
//! The assertions are shared with the fuzz targets: `fuzz/src/lib.rs` is included here.
//! Longer campaigns: docs/fuzzing.md.

// Its items are `pub` for the fuzz targets, and reach no further here.
#[allow(unreachable_pub)]
#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use checks::{MAX_NAME_BYTES, NOW};
use crashloop_exporter::internals::parse;
use crashloop_exporter::internals::view::{
    IgnoredReason, ObjectKind, Probe, Signal, SlimEvent, SlimPod, Target, TerminationReason,
};
use crashloop_exporter::internals::{EventCounts, track};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Inputs

/// Text that often looks like what it is fed to: `pieces` glued with arbitrary text.
fn text_around(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![proptest::sample::select(pieces).prop_map(str::to_string), any::<String>(), "[ -~]{0,8}"];
    proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

const DURATION_PIECES: &[&str] =
    &["back-off ", "Back-off ", "1m", "20s", "0", ".", "5", "h", "ms", "µs", "ns", "e9", "1e400", " restarting"];
const MESSAGE_PIECES: &[&str] = &[
    "configmap \"",
    "secret \"",
    "persistentvolumeclaim \"",
    "\" not found",
    "couldn't find key ",
    " in ConfigMap ",
    " in Secret ",
    "ns/",
    "exec: ",
    "executable file not found",
    "permission denied",
    "exec format error",
    "failed to pull image",
    "unauthorized",
    "no such host",
    "manifest unknown",
    "back-off restarting failed container",
    "liveness probe failed",
    "Liveness probe ",
    "failed",
    "é",
    "\"",
];
const REASONS: &[&str] =
    &["Unhealthy", "Killing", "BackOff", "Failed", "FailedMount", "FailedAttachVolume", "Pulled", ""];

/// Any JSON value, nested a few levels, with keys the decoders look for.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        proptest::sample::select(
            &[
                "metadata",
                "spec",
                "status",
                "name",
                "namespace",
                "uid",
                "labels",
                "pod-template-hash",
                "ownerReferences",
                "kind",
                "controller",
                "containers",
                "initContainers",
                "restartPolicy",
                "resources",
                "limits",
                "memory",
                "containerStatuses",
                "initContainerStatuses",
                "restartCount",
                "state",
                "lastState",
                "waiting",
                "terminated",
                "running",
                "reason",
                "message",
                "exitCode",
                "startedAt",
                "finishedAt",
                "involvedObject",
                "fieldPath",
                "count",
                "series",
                "lastTimestamp",
                "eventTime",
            ][..]
        )
        .prop_map(str::to_string),
        any::<String>(),
    ];
    let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text_around(MESSAGE_PIECES).prop_map(Value::from),
            proptest::sample::select(
                &[
                    "Pod",
                    "ReplicaSet",
                    "Job",
                    "Always",
                    "CrashLoopBackOff",
                    "OOMKilled",
                    "2026-11-24T09:20:40Z",
                    "256Mi"
                ][..]
            )
            .prop_map(Value::from),
        ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn fixture(path: &str) -> Value {
    let path = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

const POD_FIXTURES: &[&str] = &[
    "cronjob-completed-restarted",
    "deployment-oom-crashloop",
    "init-and-sidecar",
    "liveness-killed",
    "missing-configmap",
    "no-status",
    "oom-exit-1",
    "start-error-not-found",
];

/// Every JSON pointer into `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            m.iter().for_each(|(k, v)| pointers(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// `doc` with each `(place, value)` written at the place-th pointer, taken modulo their count.
fn mutated(mut doc: Value, edits: &[(usize, Value)]) -> Value {
    for (place, value) in edits {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let at = &all[place % all.len()];
        match doc.pointer_mut(at) {
            Some(slot) if !at.is_empty() => *slot = value.clone(),
            _ => {}
        }
    }
    doc
}

/// A Pod fixture with some of its values replaced by arbitrary JSON.
fn mutated_pod() -> impl Strategy<Value = Value> {
    let edits = proptest::collection::vec((any::<usize>(), any_json()), 1..4);
    (proptest::sample::select(POD_FIXTURES), edits)
        .prop_map(|(name, edits)| mutated(fixture(&format!("pods/{name}.json")), &edits))
}

/// The kubelet Events of the fixture, one per element.
fn fixture_events() -> Vec<Value> {
    let cases = fixture("events/kubelet-events.json");
    cases.as_array().expect("an array").iter().map(|c| c["event"].clone()).collect()
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// No panic, and what must hold, on arbitrary input

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn durations_never_panic(text in text_around(DURATION_PIECES)) {
        checks::duration(&text);
    }

    #[test]
    fn field_paths_never_panic(path in prop_oneof![any::<String>(), "spec\\.(containers|initContainers|ephemeralContainers)\\{.{0,8}\\}?.{0,2}"]) {
        checks::field_path(&path);
    }

    #[test]
    fn event_messages_never_panic(reason in proptest::sample::select(REASONS), message in text_around(MESSAGE_PIECES)) {
        checks::event_message(reason, &message);
    }

    #[test]
    fn log_classifier_never_panics(text in text_around(&["Panic:", "SIGSEGV", "EACCES", "connection refused", "yaml: unmarshal", "ß", "İ"])) {
        checks::log(&text);
    }

    #[test]
    fn procfs_parsers_never_panic(text in text_around(&["VmRSS:\t", " kB\n", "Max open files ", "btime ", ") S ", "unlimited", "18446744073709551615 "])) {
        checks::procfs(&text);
    }

    #[test]
    fn quantities_never_panic(text in prop_oneof![any::<String>(), "[-+]?[0-9]{0,25}(\\.[0-9]{0,5})?(e[-+]?[0-9]{1,4}|[KMGTPE]i|[numkMGTPE])?"]) {
        checks::quantity(&text);
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn pods_from_any_json(doc in any_json()) {
        checks::pod_json(doc.to_string().as_bytes());
    }

    #[test]
    fn pods_from_mutated_fixtures(doc in mutated_pod()) {
        checks::pod_json(doc.to_string().as_bytes());
    }

    #[test]
    fn pods_from_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        checks::pod_json(&data);
    }

    #[test]
    fn events_from_any_json(docs in proptest::collection::vec(any_json(), 1..5)) {
        let stream: Vec<String> = docs.iter().map(Value::to_string).collect();
        checks::event_json(stream.join("\n").as_bytes());
    }

    #[test]
    fn events_from_mutated_fixtures(picks in proptest::collection::vec((any::<usize>(), proptest::collection::vec((any::<usize>(), any_json()), 0..3)), 1..8)) {
        let all = fixture_events();
        let stream: Vec<String> = picks.iter().map(|(i, edits)| mutated(all[i % all.len()].clone(), edits).to_string()).collect();
        checks::event_json(stream.join("\n").as_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// Near-valid input parses to exactly what it says

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn go_durations_add_up(h in 0u32..1000, m in 0u32..60, s in 0u32..60, ms in 0u32..1000) {
        let text = format!("{h}h{m}m{s}s{ms}ms");
        let expected = f64::from(h) * 3600.0 + f64::from(m) * 60.0 + f64::from(s) + f64::from(ms) / 1000.0;
        let parsed = parse::parse_go_duration(&text).expect("a valid duration");
        prop_assert!((parsed - expected).abs() < 1e-6, "{text}: {parsed} != {expected}");
        let message = format!("back-off {m}m{s}s restarting failed container=app pod=web_ns(uid)");
        prop_assert_eq!(parse::parse_backoff_message(&message), Some(f64::from(m) * 60.0 + f64::from(s)));
    }

    #[test]
    fn valid_field_paths_name_their_container(
        prefix in proptest::sample::select(&["spec.containers", "spec.initContainers", "spec.ephemeralContainers"][..]),
        name in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
    ) {
        prop_assert_eq!(parse::parse_field_path(&format!("{prefix}{{{name}}}")), Target::Container(name));
    }

    #[test]
    fn missing_objects_are_found_in_any_message(
        before in "[^\"]{0,40}",
        kind in proptest::sample::select(&[("configmap", ObjectKind::ConfigMap), ("secret", ObjectKind::Secret), ("persistentvolumeclaim", ObjectKind::Pvc)][..]),
        name in "[a-z0-9]([-.a-z0-9]{0,300})?",
    ) {
        let message = format!("{before}{} \"{name}\" not found", kind.0);
        // Found exactly when Kubernetes accepts the name (RFC 1123 subdomain).
        let valid = name.len() <= MAX_NAME_BYTES && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        match parse::parse_missing_object(&message) {
            Some(found) => {
                prop_assert!(valid, "found {:?}", found.name);
                prop_assert_eq!(found.kind, kind.1);
                prop_assert_eq!(found.name.as_str(), name.as_str());
            }
            None => prop_assert!(!valid, "not found: {}", name),
        }
    }

    #[test]
    fn quantities_scale(n in 0u64..1_000_000, unit in proptest::sample::select(&[("", 1u64), ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000)][..])) {
        prop_assert_eq!(parse::parse_quantity(&format!("{n}{}", unit.0)), Some(n * unit.1));
    }

    /// Terminations are counted from restartCount increases after the first observation;
    /// a decrease (restartCount reset) takes a new baseline and never takes anything away.
    #[test]
    fn terminations_count_every_increase_and_never_go_backwards(restarts in proptest::collection::vec(0u32..50, 1..12)) {
        let mut pod: Option<SlimPod> = None;
        for (i, count) in restarts.iter().enumerate() {
            let doc = json!({"metadata": {"name": "p", "namespace": "n", "uid": "u"}, "spec": {"containers": [{"name": "c"}]},
                "status": {"containerStatuses": [{"name": "c", "restartCount": count,
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}});
            let next: SlimPod = serde_json::from_value(doc).expect("decodes");
            let before = pod.as_ref().map_or(0, |p| p.containers[0].history().terminations.get(TerminationReason::Error));
            let tracked = track(pod.as_ref(), next, NOW + i as i64, i == 0);
            prop_assert!(tracked.containers[0].history().terminations.get(TerminationReason::Error) >= before);
            pod = Some(tracked);
        }
        let expected: u32 = restarts.windows(2).map(|w| w[1].saturating_sub(w[0])).sum();
        let counted = pod.expect("tracked").containers[0].history().terminations.get(TerminationReason::Error);
        prop_assert_eq!(counted, u64::from(expected));
    }

    /// An Event's counter is its highest count, across PATCHes arriving in any order;
    /// several Events add up, without overflowing.
    #[test]
    fn event_counts_add_up(events in proptest::collection::vec(proptest::collection::vec(1i64..=i64::MAX, 1..5), 1..5)) {
        let mut counts = EventCounts::new();
        counts.baseline = false;
        for (i, patches) in events.iter().enumerate() {
            for count in patches {
                let e: SlimEvent = serde_json::from_value(json!({
                    "metadata": {"name": format!("web.{i}"), "namespace": "n", "uid": format!("e{i}")},
                    "involvedObject": {"kind": "Pod", "namespace": "n", "name": "web", "uid": "u", "fieldPath": "spec.containers{app}"},
                    "reason": "Unhealthy", "message": "Liveness probe failed: HTTP probe failed with statuscode: 503", "count": count,
                })).expect("decodes");
                counts.apply(&e, |_, _| Some("u".into()));
            }
        }
        let expected = events.iter().map(|p| p.iter().copied().max().unwrap_or(0) as u64).fold(0u64, u64::saturating_add);
        let counted = counts.pod("n", "web").and_then(|p| p.containers.get("app")).map(|c| c.probe_failures[Probe::Liveness as usize]);
        prop_assert_eq!(counted, Some(expected));
    }
}

// ---------------------------------------------------------------------------------------
// Memory: what a decoded pod or Event keeps, measured by the allocator

/// The global allocator, counting the heap bytes each thread holds, so a test can measure
/// what a value it decoded keeps (tests run on threads of their own).
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn count(bytes: isize) {
    let _ = HELD.try_with(|held| held.set(held.get() + bytes));
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The value `make` returns, and the heap bytes it holds (what this thread allocated in
/// `make` and did not free).
fn kept<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let before = HELD.with(Cell::get);
    let value = make();
    let after = HELD.with(Cell::get);
    (value, usize::try_from(after - before).unwrap_or(0))
}

const MIB: usize = 1 << 20;
/// What one decoded single-container pod or Event may keep, whatever its size on the wire.
const KEPT_LIMIT: usize = 4096;

/// A Deployment's pod in CrashLoopBackOff, with 1 MiB each of annotations, labels, managed
/// fields, waiting message and termination message, and a 1 MiB-named missing ConfigMap.
fn huge_pod() -> Vec<u8> {
    let big = |c: &str| c.repeat(MIB);
    let annotations: serde_json::Map<String, Value> =
        (0..1024).map(|i| (format!("example.com/a{i}"), Value::from("x".repeat(1024)))).collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-7d9c8b6f5-x2zqp", "namespace": "shop", "uid": "4f1c2a9e-7b0d-4a57-9a43-1d9a8f3c2b10", "resourceVersion": "918000",
            "labels": {"app": "web", "pod-template-hash": "7d9c8b6f5", "big": big("l")},
            "annotations": annotations,
            "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {"f:big": big("f")}}}],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9c8b6f5", "uid": "rs", "controller": true}]},
        "spec": {"containers": [{"name": "app", "image": "registry.example/web:1", "command": [big("c")],
            "resources": {"limits": {"memory": "256Mi"}}, "livenessProbe": {"exec": {"command": [big("p")]}}}]},
        "status": {"phase": "Running", "message": big("s"), "containerStatuses": [{"name": "app", "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": format!("back-off 2m40s restarting failed container=app {}", big("w"))}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "message": big("t"),
                "startedAt": "2026-11-24T09:20:10Z", "finishedAt": "2026-11-24T09:20:40Z"}}}]},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn a_huge_pod_keeps_a_few_bytes() {
    let raw = huge_pod();
    assert!(raw.len() > 7 * MIB, "the pod is {} bytes on the wire", raw.len());

    // The measure works: the full Pod keeps its megabytes.
    let (full, full_bytes) =
        kept(|| serde_json::from_slice::<k8s_openapi::api::core::v1::Pod>(&raw).expect("a valid Pod"));
    assert!(full_bytes > 7 * MIB, "the full Pod keeps {full_bytes} bytes");
    drop(full);

    let (pod, bytes) = kept(|| serde_json::from_slice::<SlimPod>(&raw).expect("decodes"));
    eprintln!("memory: a {} byte pod keeps {bytes} bytes as a SlimPod, {full_bytes} as a Pod", raw.len());
    assert!(bytes <= KEPT_LIMIT, "the slim pod keeps {bytes} bytes of a {} byte pod", raw.len());
    // And it still says what matters.
    let app = pod.container("app").expect("app");
    assert_eq!(app.state.waiting().and_then(|w| w.backoff_seconds), Some(160.0));
    assert_eq!(app.last_termination().map(|t| (t.exit_code, t.reason)), Some((137, TerminationReason::OomKilled)));
    assert_eq!((&*pod.workload.kind, &*pod.workload.name), ("Deployment", "web"));
    assert!(
        pod.metadata.annotations.is_none() && pod.metadata.labels.is_none() && pod.metadata.managed_fields.is_none()
    );

    // Tracking and assessing add only the reports.
    let (tracked, bytes) = kept(|| track(None, pod, NOW, true));
    assert!(bytes <= KEPT_LIMIT, "tracking kept {bytes} more bytes");
    checks::bounded_pod(&tracked);
}

#[test]
fn huge_unvalidated_names_are_capped() {
    // The apiserver does not validate owner reference names nor the names in container
    // statuses; messages are free text.
    let big = "n".repeat(MIB);
    let raw = json!({
        "metadata": {"name": "p", "namespace": "n", "uid": "u",
            "ownerReferences": [{"apiVersion": "v1", "kind": big, "name": big, "uid": "o", "controller": true}]},
        "spec": {"containers": [{"name": "app"}]},
        "status": {"containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "CreateContainerConfigError",
                "message": format!("couldn't find key {big} in ConfigMap n/{big}")}}},
            {"name": big, "restartCount": 1}]},
    })
    .to_string();
    let (pod, bytes) = kept(|| serde_json::from_str::<SlimPod>(&raw).expect("decodes"));
    eprintln!("memory: a {} byte pod with 1 MiB names keeps {bytes} bytes", raw.len());
    checks::bounded_pod(&pod);
    assert!(bytes <= 4 * KEPT_LIMIT, "the pod keeps {bytes} bytes");
    // No ConfigMap has a 1 MiB name: no missing object, so no label of it.
    assert_eq!(pod.containers[0].state.waiting().and_then(|w| w.missing.as_deref()), None);
}

#[test]
fn a_huge_event_keeps_a_few_bytes() {
    let event = |message: String| {
        json!({"metadata": {"name": "web.17a1b2c3d4e5f601", "namespace": "shop", "uid": "e", "resourceVersion": "1",
                "annotations": {"big": "a".repeat(MIB)}},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web", "uid": "u", "fieldPath": "spec.containers{app}"},
            "reason": "FailedMount", "message": message, "count": 3, "lastTimestamp": "2026-11-24T09:20:40Z",
            "source": {"component": "kubelet", "host": "h".repeat(MIB)}})
        .to_string()
    };
    let unrelated = event(format!("MountVolume.SetUp failed: {}", "m".repeat(MIB)));
    let (e, bytes) = kept(|| serde_json::from_str::<SlimEvent>(&unrelated).expect("decodes"));
    assert!(bytes <= KEPT_LIMIT, "the slim Event keeps {bytes} bytes");
    assert_eq!(e.signal, Signal::MountFailed);

    let missing =
        event(format!("MountVolume.SetUp failed for volume \"cfg\" : configmap \"{}\" not found", "c".repeat(MIB)));
    let (e, bytes) = kept(|| serde_json::from_str::<SlimEvent>(&missing).expect("decodes"));
    eprintln!("memory: a {} byte Event naming a missing ConfigMap keeps {bytes} bytes", missing.len());
    assert!(bytes <= KEPT_LIMIT, "the slim Event keeps {bytes} bytes");
    // No ConfigMap has a 1 MiB name: left out, counted as such.
    assert_eq!(e.signal, Signal::Ignored(IgnoredReason::InvalidName));

    // Counted, the Event's state is as small.
    let mut counts = EventCounts::new();
    let (_, bytes) = kept(|| counts.apply(&e, |_, _| Some("u".into())));
    assert!(bytes <= KEPT_LIMIT, "counting kept {bytes} bytes");
}

// ---------------------------------------------------------------------------------------
// Regressions: inputs that crashed, kept as they were found

/// Found by `event_counts_add_up`: three Events whose counts add up past `u64::MAX` made a
/// counter overflow (a panic in debug builds, a counter going backwards in release).
#[test]
fn regression_event_counters_saturate() {
    let mut counts = EventCounts::new();
    counts.baseline = false;
    for (i, count) in
        [1_967_899_375_802_068_240i64, 8_008_737_556_716_545_625, 8_470_107_141_190_937_751].into_iter().enumerate()
    {
        let e: SlimEvent = serde_json::from_value(json!({
            "metadata": {"name": format!("web.{i}"), "namespace": "n", "uid": format!("e{i}")},
            "involvedObject": {"kind": "Pod", "namespace": "n", "name": "web", "uid": "u", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff", "message": "Back-off restarting failed container app in pod web_n(u)", "count": count,
        }))
        .expect("decodes");
        counts.apply(&e, |_, _| Some("u".into()));
    }
    assert_eq!(counts.pod("n", "web").and_then(|p| p.containers.get("app")).map(|c| c.backoffs), Some(u64::MAX));
}

/// Found by `huge_unvalidated_names_are_capped`: a 1 MiB owner reference name was kept
/// whole as the workload label (the apiserver does not validate owner reference names).
#[test]
fn regression_owner_names_are_capped() {
    let owner = "w".repeat(300);
    let pod: SlimPod = serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "n", "uid": "u",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": owner, "uid": "o", "controller": true}]}}))
    .expect("decodes");
    assert_eq!((&*pod.workload.kind, &*pod.workload.name), ("StatefulSet", &owner[..MAX_NAME_BYTES]));
}

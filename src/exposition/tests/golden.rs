//! The golden files: the whole pipe (decode, ingest, Event counts, log fetches, render)
//! over the pods, Events and logs a real node wrote must give `tests/golden/*` byte for
//! byte, and every sample there carries exactly its family's label names.

use super::*;
use crate::exposition::{REVISION, families, prerender};
use crate::store::LogHints;

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
    let (cache, mut pods) = PodIngest::new(Shard::default(), metrics.clone(), shared.clone(), clock.clone(), prerender);
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
    let mut events = EventIngest::new(vec![cache.clone()], shared.clone(), metrics.clone(), Shard::default(), clock);
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
    let skip_quiet = Exposition::new(PodSource { skip_quiet: true, ..source }, &metrics).with_process(fixed_process);
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
            // A rewrite is never a pass: the test fails once more, so that the new file is
            // read and committed by a person, not blessed by the code it checks.
            let before = std::fs::read_to_string(&path).unwrap_or_default();
            std::fs::write(&path, &got).expect("write golden");
            assert_eq!(
                before, got,
                "{file} rewritten (UPDATE_GOLDEN): review `git diff tests/golden`, commit, and run without it"
            );
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

//! The exposition's tests, by what they check, over shared helpers (here): pods rendered
//! as the exporter renders them, with fixed process figures and the clock at [`NOW`].
//!
//! - `render`: pods (and Events) in, the series that must and must not be there out;
//! - `body`: scrapes that ask together share one render, sent in chunks, kept a while;
//! - `golden`: the whole pipe over a real node's pods, Events and logs, against
//!   `tests/golden/`, and every sample's label names against its family's;
//! - `readme`: the README's reference table names every family, label and label value.

mod body;
mod golden;
mod readme;
mod render;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use kube::runtime::reflector;
use kube::runtime::watcher::Event;

use super::{Exposition, Format, PodSource, ProcessStats};
use crate::clock::Timestamp;
use crate::counters::SelfMetrics;
use crate::history::track;
use crate::store::{PodCache, SharedEvents};
use crate::view::SlimPod;

pub(crate) const NOW: Timestamp = 1_795_000_000;

/// `pods` as the exporter's first list (their restarts the baseline), rendered.
pub(crate) fn render_pods(pods: Vec<SlimPod>, healthy_details: bool, openmetrics: bool) -> String {
    let tracked = pods.into_iter().map(|pod| track(None, pod, NOW, true)).collect();
    render_tracked(tracked, healthy_details, openmetrics)
}

/// Pods already tracked, rendered.
fn render_tracked(pods: Vec<SlimPod>, healthy_details: bool, openmetrics: bool) -> String {
    let format = if openmetrics { Format::OpenMetrics } else { Format::Prometheus };
    let mode = if healthy_details { Mode::HealthyDetails } else { Mode::Default };
    render_with_events(pods, &[], mode, format)
}

/// The three ways of exporting containers (the flags conflict).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Default,
    HealthyDetails,
    SkipQuiet,
}

/// Pods already tracked, and Events (`(event, in the first list)`) counted against
/// them as the Event watch does, rendered.
fn render_with_events(pods: Vec<SlimPod>, events: &[(serde_json::Value, bool)], mode: Mode, format: Format) -> String {
    let uids: std::collections::HashMap<(String, String), String> =
        pods.iter().map(|p| ((p.namespace().to_string(), p.name().to_string()), p.uid().to_string())).collect();
    let mut counts = crate::event_counts::EventCounts::new();
    for (event, baseline) in events {
        counts.baseline = *baseline;
        let event: crate::view::SlimEvent = serde_json::from_value(event.clone()).expect("an Event");
        counts.apply(&event, |ns, name| uids.get(&(ns.to_string(), name.to_string())).cloned());
    }
    counts.baseline = false;
    let source = PodSource {
        events: SharedEvents::new(std::sync::Mutex::new(counts)),
        healthy_details: mode == Mode::HealthyDetails,
        skip_quiet: mode == Mode::SkipQuiet,
        ..source_over(cache_of(pods))
    };
    text_of(&exposition_of(source), format)
}

fn exposition_of(source: PodSource) -> Exposition {
    Exposition::new(source, &SelfMetrics::default()).with_process(fixed_process)
}

/// A cache whose first list was `pods`.
fn cache_of(pods: impl IntoIterator<Item = SlimPod>) -> PodCache {
    let (reader, mut writer) = reflector::store::<SlimPod>();
    writer.apply_watcher_event(&Event::Init);
    for pod in pods {
        writer.apply_watcher_event(&Event::InitApply(pod));
    }
    writer.apply_watcher_event(&Event::InitDone);
    cache(reader)
}

/// `cache` as the only source: no Events, no log hints, the default mode, the clock at NOW.
fn source_over(cache: PodCache) -> PodSource {
    PodSource {
        caches: vec![cache],
        events: SharedEvents::default(),
        log_hints: Default::default(),
        healthy_details: false,
        skip_quiet: false,
        clock: Arc::new(|| NOW),
    }
}

/// Process figures that stay the same from render to render.
fn fixed_process() -> ProcessStats {
    ProcessStats {
        cpu_seconds: Some(1.89),
        open_fds: Some(14),
        max_fds: Some(1_048_576),
        virtual_memory_bytes: Some(1_230_823_424),
        resident_memory_bytes: Some(161_959_936),
        start_time_seconds: Some(1_795_382_637.45),
    }
}

fn cache(store: reflector::Store<SlimPod>) -> PodCache {
    PodCache {
        store,
        last_sync: Arc::new(AtomicI64::new(NOW)),
        changes: Arc::default(),
        workloads: Arc::default(),
        ready: tokio::sync::watch::channel(true).1,
    }
}

fn text_of(exposition: &Exposition, format: Format) -> String {
    String::from_utf8(exposition.render(format, false).expect("renders")).expect("UTF-8")
}

/// The sample lines of one family (with labels), as `name{labels} value`.
fn samples<'a>(out: &'a str, family: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' '])).collect()
}

//! One pass over the pods for a render: the verdict of every container that has detail
//! series (or counted Events), with its label set rendered once, the missing objects and
//! the aggregates.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::families::RESTARTS;
use super::lines;
use super::source::PodSource;
use super::text::labels_of;
use crate::event_counts::{ContainerEvents, PodEvents, Refused, WorkloadKey};
use crate::history::{WorkloadCounts, WorkloadId};
use crate::sync::lock_unpoisoned;
use crate::verdict::{ContainerReport, assess, has_something_to_report, missing_objects, pod_has_something_to_report};
use crate::view::{Disruption, EvictionResource, ObjectKind, SlimContainer, SlimPod, Timestamp};

/// What one pass over the pods finds: the containers with detail series (or counted
/// Events), each with its label set rendered once; the missing objects; the aggregates.
/// Healthy containers leave nothing behind, so a render's memory follows the troubled.
pub(super) struct Pass<'a> {
    /// The pods, in the order of `lines`.
    pub(super) pods: &'a [Arc<SlimPod>],
    /// Every pod's [`PodLines`](crate::view::PodLines) text, in the order of `pods`.
    pub(super) lines: Vec<Cow<'a, [u8]>>,
    /// With `--skip-quiet-containers`, whether each pod of `lines` exports its lines (empty:
    /// all do).
    pub(super) exported: Vec<bool>,
    /// With `--skip-quiet-containers`, the pods of `lines` (by index, ascending) some of
    /// whose containers have nothing to report: which containers keep their restart line.
    pub(super) partial: Vec<(usize, Vec<bool>)>,
    pub(super) details: Vec<Detail<'a>>,
    pub(super) missing: Vec<(&'a SlimPod, ObjectKind, String)>,
    /// The disrupted pods, and the unschedulable ones with the time they became so.
    pub(super) disrupted: Vec<(&'a SlimPod, Disruption, &'static str)>,
    pub(super) unschedulable: Vec<(&'a SlimPod, Timestamp)>,
    pub(super) disrupted_by_namespace: BTreeMap<(&'a str, &'static str), i64>,
    /// Workloads whose controller could not create a pod.
    pub(super) refused: Vec<(WorkloadKey, Refused)>,
    /// Each workload's restarts and terminations across its pods, sorted.
    pub(super) workload_counts: Vec<(WorkloadId, WorkloadCounts)>,
    pub(super) troubled: BTreeMap<(&'a str, &'static str), i64>,
    pub(super) in_backoff: BTreeMap<&'a str, i64>,
    pub(super) waiting: BTreeMap<(&'a str, &'static str), i64>,
}

/// A container with detail series, or with counted Events.
pub(super) struct Detail<'a> {
    pub(super) report: ContainerReport<'a>,
    pub(super) events: Option<ContainerEvents>,
    pub(super) labels: Vec<u8>,
}

impl<'a> Pass<'a> {
    /// `events` is keyed by pod uid; `refused` are the workloads whose pods were refused.
    pub(super) fn of(
        pods: &'a [Arc<SlimPod>],
        events: &mut HashMap<String, PodEvents>,
        refused: Vec<(WorkloadKey, Refused)>,
        source: &PodSource,
        now: Timestamp,
    ) -> Self {
        let mut pass = Pass {
            pods,
            lines: Vec::with_capacity(pods.len()),
            details: Vec::new(),
            exported: Vec::new(),
            partial: Vec::new(),
            missing: Vec::new(),
            disrupted: Vec::new(),
            unschedulable: Vec::new(),
            disrupted_by_namespace: BTreeMap::new(),
            refused,
            workload_counts: source
                .caches
                .iter()
                .flat_map(|c| {
                    lock_unpoisoned(&c.workloads).iter().map(|(id, n)| (id.clone(), n.clone())).collect::<Vec<_>>()
                })
                .collect(),
            troubled: BTreeMap::new(),
            in_backoff: BTreeMap::new(),
            waiting: BTreeMap::new(),
        };
        for pod in pods {
            let pod: &'a SlimPod = pod;
            let (lines, quiet) = lines::of(pod);
            let pod_events = if events.is_empty() { None } else { events.remove(pod.uid()) };
            pass.lines.push(lines);
            if quiet && pod_events.is_none() && !source.healthy_details {
                if source.skip_quiet {
                    pass.exported.push(false);
                }
                continue;
            }
            let logs = |c: &SlimContainer| source.log_hints.get(pod, c);
            let ns = pod.namespace();
            let mut kept = Vec::new();
            for report in assess(pod, pod_events.as_ref(), &logs, now, source.healthy_details) {
                let container_events =
                    pod_events.as_ref().and_then(|e| e.containers.get(&*report.container.name)).cloned();
                if source.skip_quiet {
                    let keep = has_something_to_report(&report, container_events.as_ref());
                    kept.push(keep);
                    if !keep {
                        continue;
                    }
                }
                if let Some(cause) = report.cause {
                    *pass.troubled.entry((ns, cause.as_str())).or_default() += 1;
                }
                if let Some(w) = report.container.state.waiting() {
                    *pass.waiting.entry((ns, w.reason.as_str())).or_default() += 1;
                    if report.backoff.active {
                        *pass.in_backoff.entry(ns).or_default() += 1;
                    }
                }
                if report.detailed || container_events.is_some() {
                    let labels = container_labels(pod, report.container);
                    pass.details.push(Detail { report, events: container_events, labels });
                }
            }
            let missing = missing_objects(pod, pod_events.as_ref());
            if source.skip_quiet {
                let any = kept.iter().any(|k| *k);
                let exported = pod_has_something_to_report(pod, any, !missing.is_empty());
                pass.exported.push(exported);
                if exported && !kept.iter().all(|k| *k) {
                    pass.partial.push((pass.lines.len() - 1, kept));
                }
            }
            pass.missing.extend(missing.into_iter().map(|(kind, name)| (pod, kind, name)));
            if let Some(trouble) = &pod.trouble {
                if let Some(d) = trouble.disruption {
                    let resource = trouble.eviction_resource.map_or("", EvictionResource::as_str);
                    pass.disrupted.push((pod, d, resource));
                    *pass.disrupted_by_namespace.entry((ns, d.as_str())).or_default() += 1;
                }
                if let Some(since) = trouble.unschedulable_since.filter(|_| pod.unschedulable()) {
                    pass.unschedulable.push((pod, since));
                }
            }
        }
        pass.workload_counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        pass
    }
}

/// The label set every container family starts with (`families::CONTAINER`).
fn container_labels(pod: &SlimPod, c: &SlimContainer) -> Vec<u8> {
    labels_of(&RESTARTS, &[pod.namespace(), pod.name(), &c.name, c.container_type.as_str()])
}

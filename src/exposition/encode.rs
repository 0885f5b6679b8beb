//! The family encoders: each writes one family, through its definition in
//! [`super::families`], from the pass of a render over the pods.

use std::hash::BuildHasher;

use super::families::*;
use super::lines;
use super::pass::Pass;
use super::text::{Text, labels_of, push_labels};
use crate::event_counts::ContainerEvents;
use crate::store::PodCache;
use crate::verdict::pull_failure;
use crate::view::{ContainerType, Probe, SlimContainer, State, TerminationReason};

pub(super) fn encode_pods(text: &mut Text, pass: &Pass) -> std::io::Result<()> {
    text.family(&RESTARTS);
    let exported = |i: usize| pass.exported.get(i).copied().unwrap_or(true);
    let mut partial = pass.partial.iter().peekable();
    for (i, pod) in pass.lines.iter().enumerate() {
        if !exported(i) {
            continue;
        }
        let kept = partial.next_if(|(at, _)| *at == i).map(|(_, kept)| kept);
        for (n, c) in lines::containers(pod).enumerate() {
            if kept.is_some_and(|k| !k.get(n).copied().unwrap_or(true)) {
                continue;
            }
            let mut restarts = itoa::Buffer::new();
            let restarts = restarts.format(c.restarts).as_bytes();
            text.line(&RESTARTS, &[lines::pod_labels(pod), c.container, c.type_tail.as_bytes(), restarts, b"\n"])?;
        }
    }
    let detailed = || pass.details.iter().filter(|d| d.report.detailed);
    text.family(&STATE);
    for d in detailed() {
        let current = d.report.container.state.label();
        for s in State::LABELS {
            text.sample(&STATE, &d.labels, Some(s), *s == current)?;
        }
    }
    text.family(&WAITING_REASON);
    for d in detailed() {
        if let Some(w) = d.report.container.state.waiting() {
            text.sample(&WAITING_REASON, &d.labels, Some(w.reason.as_str()), 1i64)?;
        }
    }
    let last = || detailed().filter_map(|d| d.report.container.latest_termination().map(|t| (d, t)));
    text.family(&LAST_EXIT_CODE);
    for (d, t) in last() {
        text.sample(&LAST_EXIT_CODE, &d.labels, None, i64::from(t.exit_code))?;
    }
    text.family(&LAST_SIGNAL);
    for (d, t) in last() {
        if let Some(sig) = t.signal() {
            text.sample(&LAST_SIGNAL, &d.labels, None, i64::from(sig))?;
        }
    }
    text.family(&LAST_REASON);
    for (d, t) in last() {
        text.sample(&LAST_REASON, &d.labels, Some(t.reason.as_str()), 1i64)?;
    }
    text.family(&LAST_TERMINATED_TIME);
    for (d, t) in last() {
        if let Some(f) = t.finished_at {
            text.sample(&LAST_TERMINATED_TIME, &d.labels, None, f)?;
        }
    }
    text.family(&LAST_RUN);
    for (d, t) in last() {
        if let Some(seconds) = t.run_seconds() {
            text.sample(&LAST_RUN, &d.labels, None, seconds)?;
        }
    }
    text.family(&LAST_OOM_KILLED);
    for (d, t) in last() {
        text.sample(&LAST_OOM_KILLED, &d.labels, None, t.reason == TerminationReason::OomKilled)?;
    }
    text.family(&LAST_OOM_LIMIT);
    for (d, _) in last().filter(|(_, t)| t.reason == TerminationReason::OomKilled) {
        text.sample(&LAST_OOM_LIMIT, &d.labels, Some(d.report.container.memory_limit_scope().as_str()), 1i64)?;
    }
    text.family(&IN_BACKOFF);
    for d in detailed() {
        text.sample(&IN_BACKOFF, &d.labels, None, d.report.backoff.active)?;
    }
    text.family(&BACKOFF_DELAY);
    for d in detailed() {
        if let Some((delay, source)) = d.report.backoff.delay {
            text.sample(&BACKOFF_DELAY, &d.labels, Some(source.as_str()), delay)?;
        }
    }
    text.family(&NEXT_RESTART_TIME);
    for d in detailed() {
        if let Some(t) = d.report.backoff.next_restart {
            text.sample(&NEXT_RESTART_TIME, &d.labels, None, t)?;
        }
    }
    text.family(&INIT_STARTED_TIME);
    for d in detailed().filter(|d| d.report.container.container_type == ContainerType::Init) {
        if let State::Running { started_at: Some(t) } = d.report.container.state {
            text.sample(&INIT_STARTED_TIME, &d.labels, None, t)?;
        }
    }
    text.family(&MEMORY_LIMIT);
    for d in detailed() {
        if let Some(b) = d.report.container.memory_limit_bytes {
            text.sample(&MEMORY_LIMIT, &d.labels, None, b)?;
        }
    }
    text.family(&CRASHLOOPING);
    for d in detailed() {
        text.sample(&CRASHLOOPING, &d.labels, None, d.report.crashlooping)?;
    }
    text.family(&CRASHLOOP_START_TIME);
    for d in detailed().filter(|d| d.report.crashlooping) {
        if let Some(t) = d.report.container.history().loop_since {
            text.sample(&CRASHLOOP_START_TIME, &d.labels, None, t)?;
        }
    }
    text.family(&TERMINATIONS);
    for d in detailed()
        .filter(|d| d.report.container.restart_count > 0 || !d.report.container.history().terminations.is_empty())
    {
        let counts = &d.report.container.history().terminations.0;
        for (reason, n) in TerminationReason::COUNTED.iter().zip(counts) {
            text.sample(&TERMINATIONS, &d.labels, Some(reason.as_str()), *n)?;
        }
    }
    // Every pod counts in its workload, in every mode; a pod exports its own line only when
    // exported. The key is the pod lines' own escaped bytes (`namespace="…"` and
    // `,workload_kind="…",workload="…"} `), already in cache for the info line.
    text.family(&WORKLOAD_INFO);
    // foldhash, not std's SipHash: SipHash was 4% of a gzip render at 100,000 workloads
    // (perf), and no keyed hash is needed, as `for_each_workload` tells colliding keys apart.
    let hasher = foldhash::fast::FixedState::default();
    let mut workloads: Vec<(u64, usize)> = Vec::with_capacity(pass.lines.len());
    for (i, pod) in pass.lines.iter().enumerate() {
        workloads.push((hasher.hash_one(workload_key(pod)), i));
        if exported(i) {
            text.line(&WORKLOAD_INFO, &[lines::pod_labels(pod), lines::workload_tail(pod)])?;
        }
    }
    text.family(&WORKLOAD_PODS);
    encode_workload_pods(text, pass, &mut workloads)?;
    text.family(&WORKLOAD_RESTARTS);
    for ((namespace, kind, name), counts) in &pass.workload_counts {
        let labels = labels_of(&WORKLOAD_RESTARTS, &[namespace, kind, name]);
        text.sample(&WORKLOAD_RESTARTS, &labels, None, counts.restarts)?;
    }
    text.family(&WORKLOAD_LONG_RUN_FAILURES);
    for ((namespace, kind, name), counts) in &pass.workload_counts {
        let labels = labels_of(&WORKLOAD_LONG_RUN_FAILURES, &[namespace, kind, name]);
        text.sample(&WORKLOAD_LONG_RUN_FAILURES, &labels, None, counts.long_run_failures)?;
    }
    text.family(&WORKLOAD_TERMINATIONS);
    for ((namespace, kind, name), counts) in &pass.workload_counts {
        let labels = labels_of(&WORKLOAD_RESTARTS, &[namespace, kind, name]);
        for (reason, n) in TerminationReason::COUNTED.iter().zip(counts.terminations) {
            text.sample(&WORKLOAD_TERMINATIONS, &labels, Some(reason.as_str()), n)?;
        }
    }
    text.family(&WORKLOAD_REFUSED);
    for ((namespace, kind, name), refused) in &pass.refused {
        let labels = labels_of(&WORKLOAD_REFUSED, &[namespace, kind, name, refused.reason.as_str()]);
        text.sample(&WORKLOAD_REFUSED, &labels, None, refused.last_seen)?;
    }
    text.family(&POD_DISRUPTION);
    for (pod, disruption, resource) in &pass.disrupted {
        let labels = labels_of(&POD_DISRUPTION, &[pod.namespace(), pod.name(), disruption.as_str(), resource]);
        text.sample(&POD_DISRUPTION, &labels, None, 1i64)?;
    }
    text.family(&UNSCHEDULABLE_SINCE);
    for (pod, since) in &pass.unschedulable {
        let labels = labels_of(&UNSCHEDULABLE_SINCE, &[pod.namespace(), pod.name()]);
        text.sample(&UNSCHEDULABLE_SINCE, &labels, None, *since)?;
    }
    text.family(&PROBABLE_CAUSE);
    for d in &pass.details {
        if let Some(cause) = d.report.cause {
            text.sample(&PROBABLE_CAUSE, &d.labels, Some(cause.as_str()), 1i64)?;
        }
    }
    text.family(&TROUBLED_CONTAINERS);
    for ((ns, cause), n) in &pass.troubled {
        text.sample(&TROUBLED_CONTAINERS, &labels_of(&TROUBLED_CONTAINERS, &[ns, cause]), None, *n)?;
    }
    text.family(&DISRUPTED_PODS);
    for ((ns, disruption), n) in &pass.disrupted_by_namespace {
        text.sample(&DISRUPTED_PODS, &labels_of(&DISRUPTED_PODS, &[ns, disruption]), None, *n)?;
    }
    text.family(&CRASHLOOPBACKOFF_CONTAINERS);
    for (ns, n) in &pass.in_backoff {
        text.sample(&CRASHLOOPBACKOFF_CONTAINERS, &labels_of(&CRASHLOOPBACKOFF_CONTAINERS, &[ns]), None, *n)?;
    }
    text.family(&WAITING_CONTAINERS);
    for ((ns, reason), n) in &pass.waiting {
        text.sample(&WAITING_CONTAINERS, &labels_of(&WAITING_CONTAINERS, &[ns, reason]), None, *n)?;
    }
    encode_events(text, pass)
}

/// A pod's workload as `crashloop_workload_pods` labels it: its namespace pair and the
/// workload's pairs.
fn workload_key(pod: &[u8]) -> (&[u8], &[u8]) {
    (lines::namespace_label(pod), lines::workload_pairs(pod))
}

/// One `crashloop_workload_pods` line per workload, then one `crashloop_workload_ready_pods`
/// line per template of each, from `(hash of its key, pod)` pairs.
fn encode_workload_pods(text: &mut Text, pass: &Pass, workloads: &mut [(u64, usize)]) -> std::io::Result<()> {
    let line = |i: usize| pass.lines.get(i).map(|pod| &pod[..]).unwrap_or_default();
    let key = |i: usize| workload_key(line(i));
    // Each template of each workload: a pod of it, and how many of its pods are ready.
    let mut templates: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    let mut by_template: Vec<usize> = Vec::new();
    for_each_workload(workloads, key, |(namespace, pairs), pods| {
        let mut count = itoa::Buffer::new();
        text.line(&WORKLOAD_PODS, &[namespace, pairs, b"} ", count.format(pods.len()).as_bytes(), b"\n"])?;
        // Only a workload with pods of two templates or more (a rollout, or one stuck):
        // the others have no other template to serve in their place.
        let Some((first, rest)) = pods.split_first() else { return Ok(()) };
        let first = lines::template_pair(line(*first));
        if rest.iter().all(|i| lines::template_pair(line(*i)) == first) {
            return Ok(());
        }
        by_template.clear();
        by_template.extend_from_slice(pods);
        by_template.sort_by_key(|i| lines::template_pair(line(*i)));
        for group in by_template.chunk_by(|a, b| lines::template_pair(line(*a)) == lines::template_pair(line(*b))) {
            let ready = group.iter().filter(|i| lines::ready(line(**i))).count();
            templates.push((group[0], ready, group.to_vec()));
        }
        Ok(())
    })?;
    text.family(&WORKLOAD_READY_PODS);
    for (i, ready, _) in &templates {
        let (namespace, pairs) = key(*i);
        let mut count = itoa::Buffer::new();
        let template = lines::template_pair(line(*i));
        text.line(&WORKLOAD_READY_PODS, &[namespace, pairs, template, b"} ", count.format(*ready).as_bytes(), b"\n"])?;
    }
    // What each template is: when its first pod came, and its containers' images.
    let pod = |i: usize| pass.pods.get(i).map(|p| &**p);
    text.family(&WORKLOAD_TEMPLATE_CREATED);
    for (i, _, group) in &templates {
        let Some(created) = group.iter().filter_map(|i| pod(*i)).map(|p| p.created).filter(|t| *t > 0).min() else {
            continue;
        };
        let (namespace, pairs) = key(*i);
        let mut at = itoa::Buffer::new();
        let template = lines::template_pair(line(*i));
        text.line(
            &WORKLOAD_TEMPLATE_CREATED,
            &[namespace, pairs, template, b"} ", at.format(created).as_bytes(), b"\n"],
        )?;
    }
    text.family(&WORKLOAD_TEMPLATE_IMAGE);
    let mut images: Vec<(&str, &str)> = Vec::new();
    let mut pairs_buf: Vec<u8> = Vec::new();
    for (i, _, group) in &templates {
        images.clear();
        let containers = group.iter().filter_map(|i| pod(*i)).flat_map(|p| p.containers.iter());
        images.extend(containers.filter_map(|c| Some((&*c.name, &**c.image.as_deref()?))));
        images.sort_unstable();
        images.dedup();
        let (namespace, pairs) = key(*i);
        let template = lines::template_pair(line(*i));
        for (container, image) in &images {
            pairs_buf.clear();
            pairs_buf.push(b',');
            push_labels(&mut pairs_buf, &[("container", container), ("image", image)]);
            text.line(&WORKLOAD_TEMPLATE_IMAGE, &[namespace, pairs, template, &pairs_buf, b"} 1\n"])?;
        }
    }
    Ok(())
}

/// Calls `each` with every distinct key among `pods` (`(hash of its key, pod)` pairs) and
/// the pods that have it.
///
/// Sorting the pairs groups each workload's pods: the plain render at 100,000 pods took
/// 0.88x the time it took with a map from key to count (BENCHMARKS.md). The pods of one
/// hash are then sorted by their key, so two keys whose hashes collide are still told apart.
fn for_each_workload<'k, K: Ord + Copy + 'k>(
    pods: &mut [(u64, usize)],
    key: impl Fn(usize) -> K,
    mut each: impl FnMut(K, &[usize]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    pods.sort_unstable();
    let mut same_hash: Vec<usize> = Vec::new();
    for run in pods.chunk_by(|a, b| a.0 == b.0) {
        if let [(_, i)] = run {
            each(key(*i), std::slice::from_ref(i))?;
            continue;
        }
        same_hash.clear();
        same_hash.extend(run.iter().map(|(_, i)| *i));
        same_hash.sort_by_key(|i| key(*i));
        for group in same_hash.chunk_by(|a, b| key(*a) == key(*b)) {
            if let Some(first) = group.first() {
                each(key(*first), group)?;
            }
        }
    }
    Ok(())
}

/// Counter families from Events: a detailed container gets explicit zeros for the probes it
/// has; any container gets a series once something was counted.
fn encode_events(text: &mut Text, pass: &Pass) -> std::io::Result<()> {
    let details = &pass.details;
    let has_probe = |c: &SlimContainer, p: Probe| match p {
        Probe::Liveness => c.has_liveness_probe,
        Probe::Readiness => c.has_readiness_probe,
        Probe::Startup => c.has_startup_probe,
    };
    type Count = fn(&ContainerEvents, Probe) -> u64;
    let probe_families: [(&Family, &[Probe], Count); 2] = [
        (&PROBE_FAILURES, Probe::ALL, |e, p| e.probe_failures[p.index()]),
        (&PROBE_KILLS, &[Probe::Liveness, Probe::Startup], |e, p| e.probe_kills[p.index()]),
    ];
    for (family, probes, count) in probe_families {
        text.family(family);
        for d in details {
            for p in probes {
                let n = d.events.as_ref().map_or(0, |e| count(e, *p));
                if n > 0 || (d.report.detailed && has_probe(d.report.container, *p)) {
                    text.sample(family, &d.labels, Some(p.as_str()), n)?;
                }
            }
        }
    }
    type Total = fn(&ContainerEvents) -> u64;
    let event_families: [(&Family, Total); 2] =
        [(&BACKOFF_EVENTS, |e| e.backoffs), (&IMAGE_PULL_BACKOFF_EVENTS, |e| e.image_pull_backoffs)];
    for (family, count) in event_families {
        text.family(family);
        for d in details {
            match d.events.as_ref().map_or(0, count) {
                n if n > 0 || d.report.detailed => text.sample(family, &d.labels, None, n)?,
                _ => {}
            }
        }
    }
    text.family(&IMAGE_PULL_FAILURE);
    for d in details {
        if let Some(category) = pull_failure(d.report.container, d.events.as_ref()) {
            text.sample(&IMAGE_PULL_FAILURE, &d.labels, Some(category.as_str()), 1i64)?;
        }
    }
    text.family(&MISSING_OBJECT);
    for (pod, kind, name) in &pass.missing {
        let labels = labels_of(&MISSING_OBJECT, &[pod.namespace(), pod.name(), kind.as_str(), name]);
        text.sample(&MISSING_OBJECT, &labels, None, 1i64)?;
    }
    Ok(())
}

pub(super) fn encode_cache(text: &mut Text, caches: &[PodCache], cached: usize, events: usize) -> std::io::Result<()> {
    text.family(&CACHED_OBJECTS);
    text.sample(&CACHED_OBJECTS, br#"resource="pods""#, None, cached as u64)?;
    text.sample(&CACHED_OBJECTS, br#"resource="events""#, None, events as u64)?;
    // The stalest scope decides: one namespace out of sync makes the whole view stale.
    text.family(&LAST_SYNC_TIME);
    match caches.iter().map(PodCache::last_sync).min().unwrap_or(0) {
        0 => Ok(()),
        t => text.sample(&LAST_SYNC_TIME, br#"resource="pods""#, None, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pods of one workload are counted together whatever their order, and keys whose
    /// hashes collide (here every hash is 0) are still counted apart.
    #[test]
    fn workloads_are_counted_by_key_even_when_hashes_collide() {
        let keys = ["b", "a", "b", "c", "a", "b"];
        for hash in [|_: &str| 0u64, |k: &str| u64::from(k.as_bytes()[0])] {
            let mut pods: Vec<(u64, usize)> = keys.iter().enumerate().map(|(i, k)| (hash(k), i)).collect();
            let mut counted = Vec::new();
            for_each_workload(
                &mut pods,
                |i| keys[i],
                |k, pods| {
                    counted.push((k, pods.len()));
                    Ok(())
                },
            )
            .expect("no write fails");
            counted.sort();
            assert_eq!(counted, [("a", 2), ("b", 3), ("c", 1)]);
        }
    }
}

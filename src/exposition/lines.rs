//! The builder and reader of [`PodLines`]: the lines every pod has (its restart counters
//! and its workload), pre-rendered when the pod is ingested, as kube-state-metrics does: a
//! render then copies them from one block per pod instead of gathering names from all over
//! the heap.
//!
//! The text starts with five offsets (four bytes each, little-endian): where the
//! containers begin, where the workload begins, where the pod's pair begins (after the
//! namespace's), where the template's pair begins and where the pod's own labels begin;
//! then a byte of flags (bit 0: the pod is ready). Then come the pod's escaped label
//! pairs; then one entry per container: the length of its `,container="…"` pair (two
//! bytes), its type (an index into [`ContainerType::ALL`](crate::view::ContainerType::ALL)), its restart count (four bytes)
//! and the pair; then the workload's tail `,workload_kind="…",workload="…"`, the template's
//! pair `,template="…"` (empty without a template), the `--pod-labels` pairs, and `} 1\n`.
//! A pair is at most 520 bytes: names are cut to 253.

use std::borrow::Cow;

use super::text::push_labels;
use crate::verdict::is_quiet;
use crate::view::{PodLines, SlimPod};

/// `,container_type="…"} ` for each of [`ContainerType::ALL`](crate::view::ContainerType::ALL), as literals: made at run
/// time (a `LazyLock`) they cost the render about 7 ms at 100,000 pods (measured side by
/// side). A test keeps them equal to [`ContainerType::as_str`](crate::view::ContainerType::as_str).
const CONTAINER_TYPE_TAILS: [&str; 4] = [
    ",container_type=\"regular\"} ",
    ",container_type=\"init\"} ",
    ",container_type=\"sidecar\"} ",
    ",container_type=\"ephemeral\"} ",
];

/// One container's entry in [`PodLines`].
pub(super) struct ContainerLine<'a> {
    pub(super) container: &'a [u8],
    pub(super) type_tail: &'static str,
    pub(super) restarts: u32,
}

/// The lines of `pod` (the store's [`crate::store::Prerender`]).
pub fn prerender(pod: &SlimPod) -> PodLines {
    let mut text = Vec::with_capacity(100 + 32 * pod.containers.len());
    text.extend_from_slice(&[0; HEADER]);
    push_labels(&mut text, &[("namespace", pod.namespace())]);
    let pod_start = text.len();
    text.push(b',');
    push_labels(&mut text, &[("pod", pod.name())]);
    let containers_start = text.len();
    for c in &pod.containers {
        let start = text.len();
        let kind = c.container_type.index();
        text.extend_from_slice(&[0, 0, kind as u8]);
        text.extend_from_slice(&c.restart_count.to_le_bytes());
        text.push(b',');
        push_labels(&mut text, &[("container", &c.name)]);
        let len = u16::try_from(text.len() - start - 7).unwrap_or(u16::MAX);
        text[start..start + 2].copy_from_slice(&len.to_le_bytes());
    }
    let workload_start = text.len();
    text.push(b',');
    push_labels(&mut text, &[("workload_kind", &pod.workload.kind), ("workload", &pod.workload.name)]);
    let template_start = text.len();
    text.push(b',');
    let shown = pod.shown.as_deref();
    push_labels(&mut text, &[("template", shown.and_then(|s| s.template.as_deref()).unwrap_or_default())]);
    let labels_start = text.len();
    for (label, value) in shown.map_or(&[][..], |s| &s.labels) {
        text.push(b',');
        push_labels(&mut text, &[(label, value)]);
    }
    text.extend_from_slice(b"} 1\n");
    // A pod object is at most a few MiB (etcd's limit), so the offsets fit.
    let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    text[..4].copy_from_slice(&offset(containers_start));
    text[4..8].copy_from_slice(&offset(workload_start));
    text[8..12].copy_from_slice(&offset(pod_start));
    text[12..16].copy_from_slice(&offset(template_start));
    text[16..20].copy_from_slice(&offset(labels_start));
    text[20] = u8::from(pod.ready);
    PodLines { text: text.into_boxed_slice(), quiet: is_quiet(pod) }
}

/// The text and quietness of `pod`'s lines: those attached at ingest, or made now.
pub(super) fn of(pod: &SlimPod) -> (Cow<'_, [u8]>, bool) {
    match &pod.lines {
        Some(lines) => (Cow::Borrowed(&lines.text), lines.quiet),
        None => {
            let lines = prerender(pod);
            (Cow::Owned(lines.text.into_vec()), lines.quiet)
        }
    }
}

/// The five offsets and the flags.
const HEADER: usize = 21;

fn offset(text: &[u8], at: usize) -> usize {
    text.get(at..at + 4).and_then(|b| b.try_into().ok()).map_or(0, |b| u32::from_le_bytes(b) as usize)
}

pub(super) fn pod_labels(text: &[u8]) -> &[u8] {
    text.get(HEADER..offset(text, 0)).unwrap_or_default()
}

/// The namespace's pair, `namespace="…"`.
pub(super) fn namespace_label(text: &[u8]) -> &[u8] {
    text.get(HEADER..offset(text, 8)).unwrap_or_default()
}

pub(super) fn containers(text: &[u8]) -> impl Iterator<Item = ContainerLine<'_>> {
    let mut rest = text.get(offset(text, 0)..offset(text, 4)).unwrap_or_default();
    std::iter::from_fn(move || {
        let (&[lo, hi, kind, r0, r1, r2, r3], after) = rest.split_first_chunk::<7>()?;
        let (container, after) = after.split_at_checked(usize::from(u16::from_le_bytes([lo, hi])))?;
        rest = after;
        let type_tail = CONTAINER_TYPE_TAILS.get(usize::from(kind)).copied().unwrap_or(CONTAINER_TYPE_TAILS[0]);
        Some(ContainerLine { container, type_tail, restarts: u32::from_le_bytes([r0, r1, r2, r3]) })
    })
}

/// The info line's tail: the workload, template and label pairs, and `} 1\n`.
pub(super) fn workload_tail(text: &[u8]) -> &[u8] {
    text.get(offset(text, 4)..).unwrap_or_default()
}

/// The workload's pairs alone: `,workload_kind="…",workload="…"`.
pub(super) fn workload_pairs(text: &[u8]) -> &[u8] {
    text.get(offset(text, 4)..offset(text, 12)).unwrap_or_default()
}

/// The template's pair, `,template="…"`.
pub(super) fn template_pair(text: &[u8]) -> &[u8] {
    text.get(offset(text, 12)..offset(text, 16)).unwrap_or_default()
}

/// The pod's `Ready` condition is `True`.
pub(super) fn ready(text: &[u8]) -> bool {
    text.get(20).is_some_and(|flags| flags & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::ContainerType;

    #[test]
    fn container_type_tails_follow_the_label_values() {
        assert_eq!(CONTAINER_TYPE_TAILS.len(), ContainerType::ALL.len());
        for (tail, t) in CONTAINER_TYPE_TAILS.iter().zip(ContainerType::ALL) {
            assert_eq!(*tail, format!(",container_type=\"{}\"}} ", t.as_str()));
        }
    }
}

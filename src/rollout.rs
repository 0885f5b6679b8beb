//! A rollout to blame: the failing pods of a workload are all of its newest template while
//! pods of an older template serve. `scan` and `diagnose` name the template, when its first
//! pod appeared, the images it changed, and the command that rolls it back.
//!
//! Invariants:
//! - A verdict needs two templates or more, a failing pod, every failing pod in the newest
//!   template, and a ready pod of an older one. A workload whose pods share one template,
//!   or where an older template fails too, has no rollout to blame.
//! - Only a Deployment, StatefulSet, DaemonSet or Argo Rollout gets a verdict: `rollout
//!   undo` means nothing for a Job, a CronJob or a bare pod (they have no template label).
//! - The newest template is the one whose first pod was created last; the exporter watches
//!   no ReplicaSets, so that time stands for the template's.
//!
//! `/metrics` cannot hold this verdict: a sharded exporter sees part of a workload's pods.
//! It exports the facts instead (`crashloop_workload_ready_pods`, the templates' creation
//! times and images, by template), and the mixin's `CrashloopWorkloadRolloutStuck` joins
//! them across shards with the same rule (crash loops there: the alert's concern).

use crate::clock::Timestamp;
use crate::verdict::ContainerReport;
use std::sync::Arc;

use crate::view::{Image, Name, SlimPod};

/// One pod of a workload, as the rule reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TemplatePod<'a> {
    pub pod: &'a SlimPod,
    /// Its template (`pod-template-hash`, `controller-revision-hash`,
    /// `rollouts-pod-template-hash`).
    pub template: &'a str,
    /// A container of it fails ([`fails`]).
    pub failing: bool,
}

/// A container whose image the newest template changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImageChange {
    pub container: Name,
    /// The serving template's image; `None` when its pods have no such container.
    pub was: Option<Arc<Image>>,
    pub now: Arc<Image>,
}

/// The rollout to blame, and how to undo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RolloutFailure {
    pub namespace: String,
    pub workload_kind: Name,
    pub workload: Name,
    /// The newest template, where every failing pod is.
    pub template: String,
    /// When its first pod was created (seconds since the epoch; 0 when unknown).
    pub since: Timestamp,
    pub failing_pods: usize,
    /// The older template with the most ready pods, and how many.
    pub serving: String,
    pub serving_ready: usize,
    /// The containers whose image differs between the two (empty: the template changed
    /// something else: the command, env, resources, probes).
    pub images: Vec<ImageChange>,
    /// The containers whose memory limit the newest template lowered.
    pub lowered_limits: Vec<LimitChange>,
}

/// A container's memory limit, before and after the rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LimitChange {
    pub container: Name,
    pub was: u64,
    pub now: u64,
}

/// Whether a container's verdict makes its pod failing: it has a probable cause, and the
/// node or the control plane did not end the pod (a drain is nobody's rollout).
pub(crate) fn fails(pod: &SlimPod, report: &ContainerReport) -> bool {
    report.cause.is_some() && pod.disruption().is_none()
}

impl RolloutFailure {
    /// The command that rolls the workload back to its previous template.
    pub(crate) fn undo_command(&self) -> String {
        let (kind, ns, name) = (self.workload_kind.to_ascii_lowercase(), &self.namespace, &self.workload);
        if &*self.workload_kind == "Rollout" {
            return format!("kubectl argo rollouts undo {name} -n {ns}");
        }
        format!("kubectl rollout undo {kind}/{name} -n {ns}")
    }

    /// One line: what changed, since when, what serves.
    pub(crate) fn summary(&self, now: Timestamp) -> String {
        let images = if self.images.is_empty() {
            "no image changed: the command, env, resources or probes did".to_string()
        } else {
            self.images
                .iter()
                .map(|i| format!("{} {}, was {}", i.container, i.now, i.was.as_deref().map_or("(none)", |w| &**w)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let images = if self.lowered_limits.is_empty() {
            images
        } else {
            let lowered: Vec<&str> = self.lowered_limits.iter().map(|l| &*l.container).collect();
            format!("{images}; it lowered the memory limit of {}", lowered.join(", "))
        };
        let age = if self.since > 0 { format!(", {} ago", human_age(now - self.since)) } else { String::new() };
        format!(
            "started with the rollout of template {} ({images}){age}; {} failing pod(s) are all of it, and {} ready pod(s) of template {} serve",
            self.template, self.failing_pods, self.serving_ready, self.serving
        )
    }
}

/// A duration as kubectl shows ages: `45s`, `12m`, `3h5m`, `2d4h`.
pub(crate) fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

/// The kinds `rollout undo` applies to.
const ROLLED_KINDS: [&str; 4] = ["Deployment", "StatefulSet", "DaemonSet", "Rollout"];

/// The rollout to blame among the pods of one workload, if any (see the module's rules).
pub(crate) fn rollout_failure(pods: &[TemplatePod]) -> Option<RolloutFailure> {
    let first = pods.first()?.pod;
    if !ROLLED_KINDS.contains(&&*first.workload.kind) {
        return None;
    }
    // Each template: its first pod's creation, its failing pods, its ready pods.
    let mut templates: Vec<(&str, Timestamp, usize, usize)> = Vec::new();
    for p in pods.iter().filter(|p| !p.template.is_empty()) {
        let at = match templates.iter().position(|t| t.0 == p.template) {
            Some(at) => at,
            None => {
                templates.push((p.template, Timestamp::MAX, 0, 0));
                templates.len() - 1
            }
        };
        let t = &mut templates[at];
        t.1 = t.1.min(Timestamp::from(p.pod.created));
        t.2 += usize::from(p.failing);
        t.3 += usize::from(p.pod.ready);
    }
    if templates.len() < 2 {
        return None;
    }
    // The newest: created last (a tie goes to the greater name, so the answer is stable).
    templates.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    let (newest, older) = templates.split_last()?;
    if newest.2 == 0 || older.iter().any(|t| t.2 > 0) {
        return None;
    }
    let serving = older.iter().filter(|t| t.3 > 0).max_by_key(|t| (t.3, t.1))?;
    let serving_container = |container: &str| {
        pods.iter()
            .filter(|p| p.template == serving.0)
            .flat_map(|p| p.pod.containers.iter())
            .find(|c| &*c.name == container)
    };
    let mut images: Vec<ImageChange> = Vec::new();
    let mut lowered_limits: Vec<LimitChange> = Vec::new();
    let newest_pod = pods.iter().find(|p| p.template == newest.0 && p.failing)?;
    for c in &newest_pod.pod.containers {
        let before = serving_container(&c.name);
        if let Some(now) = c.image.clone() {
            let was = before.and_then(|b| b.image.clone());
            if was.as_ref() != Some(&now) {
                images.push(ImageChange { container: c.name.clone(), was, now });
            }
        }
        // A limit the new template lowered (or set where there was none is no lowering).
        match (c.memory_limit_bytes, before.and_then(|b| b.memory_limit_bytes)) {
            (Some(now), Some(was)) if now < was => {
                lowered_limits.push(LimitChange { container: c.name.clone(), was, now });
            }
            _ => {}
        }
    }
    Some(RolloutFailure {
        namespace: first.namespace().to_string(),
        workload_kind: first.workload.kind.clone(),
        workload: first.workload.name.clone(),
        template: newest.0.to_string(),
        since: if newest.1 == Timestamp::MAX { 0 } else { newest.1 },
        failing_pods: newest.2,
        serving: serving.0.to_string(),
        serving_ready: serving.3,
        images,
        lowered_limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{ContainerType, SlimContainer, Workload, intern, intern_image};

    fn pod(kind: &str, template: &str, created: u32, ready: bool, image: &str) -> SlimPod {
        let json = serde_json::json!({
            "metadata": {"name": format!("api-{template}-x"), "namespace": "shop", "uid": "u"},
            "spec": {"containers": [{"name": "api", "image": image}]},
        });
        let mut p: SlimPod = serde_json::from_value(json).expect("a pod");
        p.workload = Workload { kind: intern(kind), name: intern("api") };
        p.created = created;
        p.ready = ready;
        p
    }

    fn of<'a>(pods: &'a [(SlimPod, &'a str, bool)]) -> Option<RolloutFailure> {
        let pods: Vec<TemplatePod> =
            pods.iter().map(|(pod, template, failing)| TemplatePod { pod, template, failing: *failing }).collect();
        rollout_failure(&pods)
    }

    /// The newest template fails, the older serves: named, with the image it changed and
    /// the undo command.
    #[test]
    fn a_failing_newest_template_while_the_older_serves_is_the_rollout() {
        let pods = [
            (pod("Deployment", "5f6e7d8c9", 1000, true, "api:1.4.2"), "5f6e7d8c9", false),
            (pod("Deployment", "5f6e7d8c9", 1001, true, "api:1.4.2"), "5f6e7d8c9", false),
            (pod("Deployment", "9f8e7d6c5", 2000, false, "api:1.4.3"), "9f8e7d6c5", true),
        ];
        let f = of(&pods).expect("a rollout to blame");
        assert_eq!(
            (f.template.as_str(), f.since, f.failing_pods, f.serving.as_str(), f.serving_ready),
            ("9f8e7d6c5", 2000, 1, "5f6e7d8c9", 2)
        );
        assert_eq!(
            f.images,
            vec![ImageChange {
                container: intern("api"),
                was: Some(intern_image("api:1.4.2")),
                now: intern_image("api:1.4.3")
            }]
        );
        assert_eq!(f.undo_command(), "kubectl rollout undo deployment/api -n shop");
        assert_eq!(
            f.summary(2120),
            "started with the rollout of template 9f8e7d6c5 (api api:1.4.3, was api:1.4.2), 2m ago; 1 failing pod(s) are all of it, and 2 ready pod(s) of template 5f6e7d8c9 serve"
        );
    }

    /// What is no rollout to blame: one template; the older template failing too; nothing
    /// of the older serving; nothing failing; a failing older template; a Job.
    #[test]
    fn no_rollout_is_blamed_without_the_evidence() {
        let old = |failing, ready| (pod("Deployment", "old", 1000, ready, "a:1"), "old", failing);
        let new = |failing| (pod("Deployment", "new", 2000, false, "a:2"), "new", failing);
        assert_eq!(of(&[new(true), new(true)]), None, "one template");
        assert_eq!(of(&[old(true, true), new(true)]), None, "the older fails too");
        assert_eq!(of(&[old(false, false), new(true)]), None, "nothing serves");
        assert_eq!(of(&[old(false, true), new(false)]), None, "nothing fails");
        assert_eq!(of(&[old(true, true), new(false)]), None, "the older fails, not the newest");
        let job = |t: &'static str, created, failing: bool| (pod("Job", t, created, !failing, "a:1"), t, failing);
        assert_eq!(of(&[job("a", 1, false), job("b", 2, true)]), None, "a Job has nothing to undo");
        assert!(of(&[old(false, true), new(true)]).is_some(), "the control case");
    }

    /// The same image in both: the template changed something else, and says so; an Argo
    /// Rollout's undo is its plugin's.
    #[test]
    fn a_template_that_kept_its_images_and_an_argo_rollout() {
        let pods = [
            (pod("Rollout", "a", 10, true, "api:1"), "a", false),
            (pod("Rollout", "b", 20, false, "api:1"), "b", true),
        ];
        let f = of(&pods).expect("a rollout to blame");
        assert!(f.images.is_empty());
        assert!(
            f.summary(20).contains("(no image changed: the command, env, resources or probes did)"),
            "{}",
            f.summary(20)
        );
        assert_eq!(f.undo_command(), "kubectl argo rollouts undo api -n shop");
        let _ = SlimContainer::new("x", ContainerType::Regular);
    }

    /// The newest template lowered a memory limit: said, with both values; a raised one,
    /// or one set where there was none, is no lowering.
    #[test]
    fn a_lowered_memory_limit_is_named() {
        let with_limit = |mut p: SlimPod, limit: Option<u64>| {
            p.containers[0].memory_limit_bytes = limit;
            p
        };
        let of_limits = |old: Option<u64>, new: Option<u64>| {
            let pods = [
                (with_limit(pod("Deployment", "a", 10, true, "api:1"), old), "a", false),
                (with_limit(pod("Deployment", "b", 20, false, "api:1"), new), "b", true),
            ];
            of(&pods).expect("a rollout to blame").lowered_limits
        };
        assert_eq!(
            of_limits(Some(512 << 20), Some(256 << 20)),
            [LimitChange { container: intern("api"), was: 512 << 20, now: 256 << 20 }]
        );
        assert_eq!(of_limits(Some(256 << 20), Some(512 << 20)), []);
        assert_eq!(of_limits(None, Some(256 << 20)), []);
        let pods = [
            (with_limit(pod("Deployment", "a", 10, true, "api:1"), Some(512 << 20)), "a", false),
            (with_limit(pod("Deployment", "b", 20, false, "api:1"), Some(256 << 20)), "b", true),
        ];
        assert!(of(&pods).expect("blamed").summary(20).contains(
            "(no image changed: the command, env, resources or probes did; it lowered the memory limit of api)"
        ));
    }

    #[test]
    fn ages_read_as_kubectl_shows_them() {
        let shown: Vec<String> = [-5, 0, 59, 60, 3599, 3600, 3660, 86_399, 86_400, 183_600].map(human_age).into();
        assert_eq!(shown, ["0s", "0s", "59s", "1m", "59m", "1h0m", "1h1m", "23h59m", "1d0h", "2d3h"]);
    }
}

//! How a run is laid out: the [`Mix`] of scenarios, the namespaces, and each simulated pod
//! ([`PodPlan`]): its names, image, manifest and the lifecycle it plays.

use std::collections::{HashMap, VecDeque};
use std::str::FromStr;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::backoff::BackoffCurve;
use super::lifecycle::{GRACE_SECONDS, Lifecycle, PROBE_FAILURES, PROBE_PERIOD, Subject};
use super::scenario::{CONTAINER, SIDECAR, SIDECAR_IMAGE, Scenario};
use super::seed::{hash64, safe_chars, uniform};
use crate::fixtures::{container, deployment_pod, job_pod};

/// The mix `crashloop-sim` uses unless told otherwise.
pub const DEFAULT_MIX: &str = "oom=5,liveness=5,image=2,config=2,healthy=86";
/// Pods per simulated Deployment.
pub const REPLICAS: usize = 3;

/// Shares of scenarios, as `--mix oom=5,liveness=5,image=2,config=2,healthy=86` gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix(Vec<(Scenario, u32)>);

impl FromStr for Mix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        let mut shares = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, share) =
                part.split_once('=').ok_or_else(|| format!("{part:?} is not NAME=SHARE (e.g. oom=5)"))?;
            let scenario = Scenario::ALL
                .into_iter()
                .find(|sc| sc.as_str() == name.trim())
                .ok_or_else(|| format!("unknown scenario {name:?} (known: {})", names.join(", ")))?;
            let share: u32 =
                share.trim().parse().map_err(|_| format!("share of {name} is not a whole number: {share:?}"))?;
            if shares.iter().any(|(sc, _)| *sc == scenario) {
                return Err(format!("{name} is given twice"));
            }
            shares.push((scenario, share));
        }
        if shares.iter().all(|(_, share)| *share == 0) {
            return Err(format!("no scenario has a share above 0 in {s:?}"));
        }
        Ok(Mix(shares))
    }
}

impl Mix {
    /// How many of `pods` each scenario gets: shares rounded by largest remainder, so the
    /// counts add up to `pods`.
    pub fn counts(&self, pods: usize) -> Vec<(Scenario, usize)> {
        let total: u64 = self.0.iter().map(|(_, s)| u64::from(*s)).sum();
        let exact = |share: u32| pods as u64 * u64::from(share);
        let mut counts: Vec<(Scenario, usize, u64)> =
            self.0.iter().map(|&(sc, share)| (sc, (exact(share) / total) as usize, exact(share) % total)).collect();
        let left = pods - counts.iter().map(|c| c.1).sum::<usize>();
        let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
        by_remainder.sort_by_key(|&i| std::cmp::Reverse(counts[i].2));
        for i in by_remainder.into_iter().take(left) {
            counts[i].1 += 1;
        }
        counts.into_iter().map(|(sc, n, _)| (sc, n)).collect()
    }
}

/// The namespaces of a run: `prefix` alone for one, else `prefix-0` … `prefix-(k-1)`.
pub fn namespaces(prefix: &str, k: usize) -> Vec<String> {
    if k <= 1 { vec![prefix.to_string()] } else { (0..k).map(|i| format!("{prefix}-{i}")).collect() }
}

/// One simulated pod: the replica of a Deployment (or one of a Job's parallel pods, for
/// [`Scenario::SidecarJob`]), and what happens to it.
#[derive(Clone, Debug, PartialEq)]
pub struct PodPlan {
    pub namespace: String,
    /// `<workload>-<n>`, e.g. `checkout-3`: the Deployment, or the Job.
    pub deployment: String,
    /// 0 .. [`REPLICAS`].
    pub replica: usize,
    pub scenario: Scenario,
    /// Drives the pod's variety (run times, pull error, config variant).
    pub seed: u64,
}

/// Lays out `pods` pods over `namespaces`: each scenario gets its share (see [`Mix::counts`]),
/// grouped in Deployments of [`REPLICAS`]; Deployments are interleaved across scenarios and
/// dealt to namespaces in turn, so every namespace gets a bit of everything.
pub fn plan(pods: usize, namespaces: &[String], mix: &Mix) -> Vec<PodPlan> {
    let mut per_scenario: Vec<VecDeque<(Scenario, usize)>> = mix
        .counts(pods)
        .into_iter()
        .map(|(sc, n)| (0..n.div_ceil(REPLICAS)).map(|d| (sc, (n - d * REPLICAS).min(REPLICAS))).collect())
        .collect();
    let mut out = Vec::with_capacity(pods);
    let mut numbers: HashMap<Scenario, usize> = HashMap::new();
    let mut d = 0;
    while per_scenario.iter().any(|q| !q.is_empty()) {
        for queue in &mut per_scenario {
            let Some((scenario, replicas)) = queue.pop_front() else {
                continue;
            };
            let number = numbers.entry(scenario).or_default();
            let deployment = format!("{}-{number}", scenario.workload());
            *number += 1;
            let namespace = namespaces[d % namespaces.len().max(1)].clone();
            d += 1;
            for replica in 0..replicas {
                let seed = hash64(&(&namespace, &deployment, replica));
                out.push(PodPlan {
                    namespace: namespace.clone(),
                    deployment: deployment.clone(),
                    replica,
                    scenario,
                    seed,
                });
            }
        }
    }
    out
}

impl PodPlan {
    /// The Deployment's `pod-template-hash`.
    pub fn template_hash(&self) -> String {
        safe_chars(&(&self.namespace, &self.deployment), 10)
    }

    /// The pod's name in its `generation` (a replacement pod gets a new suffix):
    /// `<deployment>-<hash>-<suffix>`, or `<job>-<suffix>`.
    pub fn name(&self, generation: u32) -> String {
        let suffix = safe_chars(&(self.seed, generation), 5);
        if self.scenario.is_job() {
            format!("{}-{suffix}", self.deployment)
        } else {
            format!("{}-{}-{suffix}", self.deployment, self.template_hash())
        }
    }

    /// The container image (one that does not exist, for [`Scenario::Image`]).
    pub fn image(&self) -> String {
        let workload = self.scenario.workload();
        let minor = self.seed % 9;
        match self.scenario {
            Scenario::Image => format!("registry.example/{workload}:v9.{minor}.404"),
            _ => format!("registry.example/{workload}:1.{minor}.2"),
        }
    }

    /// The ConfigMap the pod refers to (missing for [`Scenario::Config`]).
    pub fn config_map(&self) -> String {
        format!("{}-config", self.deployment)
    }

    /// Whether a [`Scenario::Config`] pod misses its ConfigMap through a volume (else `envFrom`).
    pub fn config_through_volume(&self) -> bool {
        self.seed % 2 == 1
    }

    /// The pod as its ReplicaSet (or Job) creates it, bound to the testbed node.
    pub fn manifest(&self, generation: u32) -> Value {
        let mut app = container(CONTAINER, &self.image());
        app["ports"] = json!([{ "name": "http", "containerPort": 8080, "protocol": "TCP" }]);
        app["env"] = json!([
            { "name": "LOG_LEVEL", "value": "info" },
            { "name": "PORT", "value": "8080" },
            { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
        ]);
        app["resources"] = json!({
            "requests": { "cpu": "100m", "memory": "128Mi" },
            "limits": { "memory": "256Mi" },
        });
        app["readinessProbe"] = json!({ "httpGet": { "path": "/ready", "port": 8080 }, "periodSeconds": 5 });
        if self.scenario == Scenario::Liveness {
            app["livenessProbe"] = json!({
                "httpGet": { "path": "/healthz", "port": 8080 },
                "periodSeconds": PROBE_PERIOD as i64,
                "failureThreshold": PROBE_FAILURES,
            });
        }
        let needs_config = self.scenario == Scenario::Config;
        if needs_config && !self.config_through_volume() {
            app["envFrom"] = json!([{ "configMapRef": { "name": self.config_map() } }]);
        }
        if needs_config && self.config_through_volume() {
            app["volumeMounts"] = json!([{ "name": "config", "mountPath": "/etc/app" }]);
        }
        let name = self.name(generation);
        let suffix = name.rsplit('-').next().unwrap_or_default();
        let mut pod = if self.scenario.is_job() {
            let mut pod = job_pod(&self.namespace, &self.deployment, suffix, vec![app]);
            pod["spec"]["restartPolicy"] = json!("Never");
            pod
        } else {
            deployment_pod(&self.namespace, &self.deployment, &self.template_hash(), suffix, vec![app])
        };
        if needs_config && self.config_through_volume() {
            pod["spec"]["volumes"] = json!([{ "name": "config", "configMap": { "name": self.config_map() } }]);
        }
        if self.scenario.has_sidecar() {
            let mut sidecar = container(SIDECAR, SIDECAR_IMAGE);
            sidecar["restartPolicy"] = json!("Always");
            sidecar["resources"] = json!({
                "requests": { "cpu": "50m", "memory": "64Mi" },
                "limits": { "memory": "128Mi" },
            });
            pod["spec"]["initContainers"] = json!([sidecar]);
        }
        pod["spec"]["terminationGracePeriodSeconds"] = json!(GRACE_SECONDS as i64);
        pod
    }

    /// How long generation `generation` lives before its ReplicaSet replaces it, for a mean
    /// lifetime of `mean` simulated seconds: uniform in `[mean / 2, 3 mean / 2)`.
    pub fn lifetime(&self, generation: u32, mean: f64) -> f64 {
        uniform(&(self.seed, generation, "lifetime"), mean / 2.0, mean * 1.5)
    }

    /// How deep in its crash loop `populate` shows the pod: inside its 1st to 6th back-off.
    pub fn populate_depth(&self) -> i32 {
        1 + (self.seed % 6) as i32
    }

    /// The lifecycle of generation `generation` of this pod, once created as `subject`, on a
    /// node whose crash-loop back-off follows `curve`.
    pub fn lifecycle(&self, subject: Subject, generation: u32, curve: BackoffCurve) -> Lifecycle {
        Lifecycle::new(self.scenario, subject, hash64(&(self.seed, generation)))
            .with_backoff(curve)
            .with_config_volume(self.config_through_volume())
    }
}

impl Subject {
    /// The subject of `pod` as created from `plan`.
    pub fn of(pod: &Pod, plan: &PodPlan) -> Self {
        Subject {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            pod: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            image: plan.image(),
            config_map: plan.config_map(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_counts_by_largest_remainder() {
        let mix: Mix = DEFAULT_MIX.parse().expect("default mix");
        let counts = mix.counts(1000);
        assert_eq!(
            counts,
            [
                (Scenario::Oom, 50),
                (Scenario::Liveness, 50),
                (Scenario::Image, 20),
                (Scenario::Config, 20),
                (Scenario::Healthy, 860)
            ]
        );
        let thirds: Mix = "oom=1,healthy=1,image=1".parse().expect("mix");
        assert_eq!(thirds.counts(10).iter().map(|c| c.1).sum::<usize>(), 10);
        assert_eq!(thirds.counts(0).iter().map(|c| c.1).sum::<usize>(), 0);
        for (bad, why) in [
            ("oom", "not NAME=SHARE"),
            ("flaky=3", "unknown scenario \"flaky\""),
            ("oom=x", "not a whole number"),
            ("oom=0", "no scenario has a share"),
            ("oom=1,oom=2", "given twice"),
        ] {
            let err = bad.parse::<Mix>().expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn plan_spreads_deployments_over_namespaces_with_unique_names() {
        let ns = namespaces("sim", 3);
        assert_eq!(ns, ["sim-0", "sim-1", "sim-2"]);
        assert_eq!(namespaces("demo", 1), ["demo"]);
        let plans = plan(100, &ns, &DEFAULT_MIX.parse().expect("mix"));
        assert_eq!(plans.len(), 100);
        let oom = plans.iter().filter(|p| p.scenario == Scenario::Oom).count();
        assert_eq!(oom, 5);
        let mut names: Vec<(String, String)> = plans.iter().map(|p| (p.namespace.clone(), p.name(0))).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 100);
        for n in &ns {
            assert!(plans.iter().any(|p| &p.namespace == n && p.scenario == Scenario::Healthy), "{n}");
        }
        let p = &plans[0];
        assert_ne!(p.name(0), p.name(1), "a replacement pod gets a new suffix");
        assert!(p.name(0).starts_with(&format!("{}-{}-", p.deployment, p.template_hash())));
        assert_eq!(plan(7, &ns, &"healthy=1".parse().expect("mix")).len(), 7);
    }

    #[test]
    fn manifests_carry_what_each_scenario_needs() {
        let plans = plan(200, &namespaces("sim", 1), &"oom=1,liveness=1,config=2".parse().expect("mix"));
        for p in &plans {
            let pod: Result<Pod, _> = serde_json::from_value(p.manifest(0));
            assert!(pod.is_ok(), "{}: {pod:?}", p.name(0));
        }
        let find = |f: &dyn Fn(&PodPlan) -> bool| plans.iter().find(|p| f(p)).expect("a plan").manifest(0);
        let oom = find(&|p| p.scenario == Scenario::Oom);
        assert_eq!(oom["spec"]["containers"][0]["resources"]["limits"]["memory"], "256Mi");
        assert_eq!(oom["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(oom["spec"]["nodeName"], crate::NODE_NAME);
        let liveness = find(&|p| p.scenario == Scenario::Liveness);
        assert_eq!(liveness["spec"]["containers"][0]["livenessProbe"]["failureThreshold"], 3);
        let env = find(&|p| p.scenario == Scenario::Config && !p.config_through_volume());
        assert!(
            env["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-config"))
        );
        let volume = find(&|p| p.scenario == Scenario::Config && p.config_through_volume());
        assert!(volume["spec"]["volumes"][0]["configMap"]["name"].as_str().is_some_and(|n| n.ends_with("-config")));
        assert_eq!(volume["spec"]["containers"][0]["volumeMounts"][0]["name"], "config");
        assert!(volume["spec"]["containers"][0]["envFrom"].is_null());
    }

    #[test]
    fn sidecar_manifests_carry_the_sidecar_and_the_job_shape() {
        let mix: Mix = "sidecar=1,sidecar-job=1".parse().expect("mix");
        let plans = plan(12, &namespaces("sim", 1), &mix);
        for p in &plans {
            let manifest = p.manifest(0);
            let pod: Pod = serde_json::from_value(manifest.clone()).expect("a pod");
            let sidecar = &pod.spec.as_ref().and_then(|s| s.init_containers.clone()).expect("init containers")[0];
            assert_eq!((sidecar.name.as_str(), sidecar.restart_policy.as_deref()), (SIDECAR, Some("Always")));
            let owner = &manifest["metadata"]["ownerReferences"][0];
            if p.scenario == Scenario::SidecarJob {
                assert_eq!(
                    (owner["kind"].as_str(), manifest["spec"]["restartPolicy"].as_str()),
                    (Some("Job"), Some("Never"))
                );
                assert_eq!(manifest["metadata"]["labels"]["job-name"], p.deployment.as_str());
                assert!(p.name(0).starts_with("export-") && p.name(0).split('-').count() == 3, "{}", p.name(0));
            } else {
                assert_eq!(
                    (owner["kind"].as_str(), manifest["spec"]["restartPolicy"].as_str()),
                    (Some("ReplicaSet"), Some("Always"))
                );
                assert!(p.name(0).starts_with(&format!("{}-{}-", p.deployment, p.template_hash())));
            }
            assert_eq!(manifest["metadata"]["name"], p.name(0));
        }
    }
}

//! The simulated kubelet: what a container's status is and which Events are due, as a pure
//! function of its scenario and of time. `crashloop-sim run` and `populate` write it to a real
//! apiserver; this module only decides what happens and when, so it is unit-tested exactly.
//!
//! Time is simulated seconds since the pod was created. The binary maps it to the wall clock
//! (`created + t / speedup`) and writes every timestamp on the wall clock, as a kubelet does.
//!
//! The model follows the kubelet's defaults (see `shared/reference`, kubelet notes §1–4):
//! - **Crash-loop back-off**: client-go's `flowcontrol.Backoff`, keyed by container, whose
//!   entry expires when an instance ran more than 600 s (`finishedAt − lastUpdate > 600 s`).
//!   Its curve is the node's ([`BackoffCurve`]): by default 10 s initial and 300 s maximum,
//!   so the first crash restarts at once, then the waits are 10, 20, 40, 80, 160, 300,
//!   300 s …; with `ReduceDefaultCrashLoopBackOffDecay` 1 s doubling to 60 s; with
//!   `crashLoopBackOff.maxContainerRestartPeriod` any maximum from 1 s to 300 s (the initial
//!   delay too, when it is below it). Whatever the curve, after a 10-minute run it starts over.
//! - **Syncs**: the kubelet notices an exit [`EXIT_SECONDS`] later (its PLEG relist period),
//!   or half the initial back-off if that is shorter: a node notices most exits within the
//!   period, so a 1 s back-off shows as `CrashLoopBackOff` there. While a pod is in trouble
//!   it is synced every [`SYNC_SECONDS`] (each sync repeats the `BackOff` or `Failed`
//!   Event) and when a back-off ends (the restart is not delayed past it).
//! - **Sidecars** (`initContainers` with `restartPolicy: Always`, see [`Scenario::Sidecar`]
//!   and [`Scenario::SidecarJob`]): started first, the regular container [`SIDECAR_LEAD`]
//!   later; a crashing sidecar restarts with the same back-off whatever the pod's
//!   `restartPolicy`; once the regular container of a `restartPolicy: Never` pod has
//!   completed, the kubelet stops the sidecar (SIGTERM: `Error`, 143) and the pod succeeds.
//! - **Image pulls**: their own `flowcontrol.Backoff` (10 s doubling to 300 s): `ErrImagePull`
//!   after a failed pull, then `ImagePullBackOff` until the back-off ends and the next pull.
//! - **Liveness kills**: `periodSeconds: 10`, `failureThreshold: 3`, one `Unhealthy` Event per
//!   failed probe, `Killing` at the third; the app ignores SIGTERM, so it is SIGKILLed after
//!   `terminationGracePeriodSeconds` (30 s): `Error`, exit 137.
//! - **Events** go through a [`Correlator`] like client-go's `EventCorrelator`: a repeat of
//!   the same source, object, type, reason and message PATCHes the same Event with
//!   `count + 1`; a spam filter per pod and type (burst 25, then one per 300 s) drops writes
//!   but not counts, so the next accepted write jumps. The "combined from similar events"
//!   aggregation is not modelled: the messages here do not vary within a pod.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::str::FromStr;

use crashloop_exporter::parse::parse_go_duration;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::fixtures::{
    Terminated, container, crashloop_status, deployment_pod, job_pod, running_status, terminated_status, waiting_status,
};

/// The kubelet's default initial crash-loop back-off (and the image-pull one's).
pub const INITIAL_BACKOFF: f64 = 10.0;
/// The kubelet's default maximum crash-loop back-off (and the image-pull one's).
pub const MAX_BACKOFF: f64 = 300.0;
/// The initial crash-loop back-off with `ReduceDefaultCrashLoopBackOffDecay`.
pub const REDUCED_INITIAL_BACKOFF: f64 = 1.0;
/// The maximum crash-loop back-off with `ReduceDefaultCrashLoopBackOffDecay`.
pub const REDUCED_MAX_BACKOFF: f64 = 60.0;
/// A back-off entry expires when an instance ran longer than this (the kubelet's reset).
pub const BACKOFF_RESET: f64 = 600.0;
/// From pod creation to the first container start (image present, sandbox ready).
pub const START_SECONDS: f64 = 2.0;
/// From a container's exit to the kubelet's sync that reports the back-off or restarts it.
pub const EXIT_SECONDS: f64 = 1.0;
/// How often the kubelet syncs a pod that is in an error state.
pub const SYNC_SECONDS: f64 = 10.0;
/// How long a failing image pull takes.
pub const PULL_SECONDS: f64 = 2.0;
/// Liveness probe `periodSeconds`.
pub const PROBE_PERIOD: f64 = 10.0;
/// Liveness probe `failureThreshold`.
pub const PROBE_FAILURES: u32 = 3;
/// `terminationGracePeriodSeconds` of the simulated pods.
pub const GRACE_SECONDS: f64 = 30.0;
/// The mix `crashloop-sim` uses unless told otherwise.
pub const DEFAULT_MIX: &str = "oom=5,liveness=5,image=2,config=2,healthy=86";
/// Pods per simulated Deployment.
pub const REPLICAS: usize = 3;
/// The container every simulated pod runs.
pub const CONTAINER: &str = "app";
/// The sidecar of [`Scenario::Sidecar`] and [`Scenario::SidecarJob`] pods: an init container
/// with `restartPolicy: Always`.
pub const SIDECAR: &str = "log-shipper";
/// The sidecar's image.
pub const SIDECAR_IMAGE: &str = "registry.example/log-shipper:2.4.1";
/// From a sidecar's start to its pod's regular container's: the kubelet starts that one on
/// its next sync, once the sidecar runs.
pub const SIDECAR_LEAD: f64 = 1.0;

/// What happens to a pod's container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// Starts and keeps running.
    Healthy,
    /// OOM-killed (`OOMKilled`, 137) after 10–90 s, over and over: a crash loop.
    Oom,
    /// OOM-killed after 9–13 minutes: restarts, mostly without back-off (the 10-minute reset).
    Leak,
    /// Killed by its liveness probe after 20–120 s healthy (`Error`, 137): a crash loop.
    Liveness,
    /// The image cannot be pulled (not found, unauthorized or unreachable, by pod).
    Image,
    /// A ConfigMap it needs is missing: through `envFrom` (`CreateContainerConfigError`) on
    /// even seeds, through a volume (`ContainerCreating` and `FailedMount`) on odd ones.
    Config,
    /// A Deployment pod with a sidecar ([`SIDECAR`], an init container with `restartPolicy:
    /// Always`, reported in `initContainerStatuses`) that exits 1 (`Error`) after 10–60 s,
    /// over and over, while the regular container keeps running: the sidecar crash-loops
    /// with the pod's back-off. The 1.20 test apiserver prunes `restartPolicy` from init
    /// containers, so read from it the sidecar looks like an init container running beside
    /// the regular one; the unit tests, which decode the model's own JSON, check the
    /// sidecar semantics.
    Sidecar,
    /// A Job pod (`restartPolicy: Never`) with the same sidecar: its regular container
    /// completes (`Completed`, 0) after 20–120 s, then the kubelet stops the sidecar (SIGTERM:
    /// `Error`, 143) and the pod is `Succeeded`: no failure, nothing troubled. Against the
    /// 1.20 apiserver the sidecar looks like an init container, as for [`Scenario::Sidecar`],
    /// and its exit 143 then like a failed one: `scan` there lists these pods (cause
    /// `unknown`), which a real 1.29+ cluster would not.
    SidecarJob,
}

impl Scenario {
    /// Every scenario, in `--mix` order.
    pub const ALL: [Scenario; 8] = [
        Scenario::Oom,
        Scenario::Liveness,
        Scenario::Image,
        Scenario::Config,
        Scenario::Leak,
        Scenario::Sidecar,
        Scenario::SidecarJob,
        Scenario::Healthy,
    ];

    /// Its name in `--mix`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Healthy => "healthy",
            Scenario::Oom => "oom",
            Scenario::Leak => "leak",
            Scenario::Liveness => "liveness",
            Scenario::Image => "image",
            Scenario::Config => "config",
            Scenario::Sidecar => "sidecar",
            Scenario::SidecarJob => "sidecar-job",
        }
    }

    /// The Deployment (or, for [`Scenario::SidecarJob`], Job) name its pods get (with a number).
    pub fn workload(self) -> &'static str {
        match self {
            Scenario::Healthy => "web",
            Scenario::Oom => "checkout",
            Scenario::Leak => "reports",
            Scenario::Liveness => "api",
            Scenario::Image => "frontend",
            Scenario::Config => "worker",
            Scenario::Sidecar => "ingest",
            Scenario::SidecarJob => "export",
        }
    }

    /// Whether one of its containers ends up in `CrashLoopBackOff`.
    pub fn crash_loops(self) -> bool {
        matches!(self, Scenario::Oom | Scenario::Liveness | Scenario::Sidecar)
    }

    /// Whether its pods have the sidecar [`SIDECAR`].
    pub fn has_sidecar(self) -> bool {
        matches!(self, Scenario::Sidecar | Scenario::SidecarJob)
    }

    /// Whether its pods belong to a Job (`restartPolicy: Never`) rather than a Deployment.
    pub fn is_job(self) -> bool {
        self == Scenario::SidecarJob
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// A 64-bit mix of `v` (SipHash with fixed keys): the simulator's only source of variety,
/// so every run with the same plan is the same.
fn hash64(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// A value in `[lo, hi)` drawn from `key`.
fn uniform(key: &impl Hash, lo: f64, hi: f64) -> f64 {
    lo + (hash64(key) >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
}

/// `n` characters of the alphabet the ReplicaSet controller uses for names.
fn safe_chars(key: &impl Hash, n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = hash64(key);
    (0..n)
        .map(|i| {
            if i % 12 == 11 {
                x = hash64(&(x, i));
            }
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
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
        let mut lifecycle =
            Lifecycle::new(self.scenario, subject, hash64(&(self.seed, generation))).with_backoff(curve);
        lifecycle.config_volume = self.config_through_volume();
        lifecycle
    }
}

/// A node's crash-loop back-off curve: the first delay, doubled at each fast crash up to the
/// maximum. A node setting (kubelet notes §1), so `crashloop-sim --backoff` picks it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackoffCurve {
    /// Seconds.
    pub initial: f64,
    /// Seconds.
    pub max: f64,
}

impl Default for BackoffCurve {
    /// The kubelet's defaults: 10 s doubling to 300 s.
    fn default() -> Self {
        BackoffCurve { initial: INITIAL_BACKOFF, max: MAX_BACKOFF }
    }
}

impl BackoffCurve {
    /// `ReduceDefaultCrashLoopBackOffDecay` (alpha in 1.33): 1 s doubling to 60 s.
    pub fn reduced() -> Self {
        BackoffCurve { initial: REDUCED_INITIAL_BACKOFF, max: REDUCED_MAX_BACKOFF }
    }

    /// This curve with `crashLoopBackOff.maxContainerRestartPeriod: max` (`KubeletCrashLoopBackOffMax`),
    /// which takes precedence: the maximum is `max`, and so is the initial delay when `max`
    /// is below it (a constant interval). The kubelet accepts 1 s to 300 s; the model takes
    /// whole seconds, as its messages print them.
    pub fn with_max(self, max: f64) -> Result<Self, String> {
        if !(1.0..=MAX_BACKOFF).contains(&max) || max.fract() != 0.0 {
            return Err(format!(
                "the maximum back-off (maxContainerRestartPeriod) must be whole seconds from 1s to 5m0s, not {max}s"
            ));
        }
        Ok(BackoffCurve { initial: self.initial.min(max), max })
    }
}

impl FromStr for BackoffCurve {
    type Err = String;

    /// `default` (10 s to 300 s), `reduced` (1 s to 60 s), `max=DURATION` (the default's
    /// initial delay, the given maximum) or `reduced,max=DURATION`; a duration is Go's
    /// (`30s`, `2m`) or plain seconds.
    fn from_str(s: &str) -> Result<Self, String> {
        let known = "known: default, reduced, max=DURATION, reduced,max=DURATION";
        let s = s.trim();
        let (base, max) = match s.split_once(',') {
            Some((base, max)) => (base.trim(), Some(max.trim())),
            None if s.starts_with("max=") => ("default", Some(s)),
            None => (s, None),
        };
        let curve = match base {
            "default" => BackoffCurve::default(),
            "reduced" => BackoffCurve::reduced(),
            other => return Err(format!("unknown back-off curve {other:?} ({known})")),
        };
        let Some(max) = max else { return Ok(curve) };
        let value = max.strip_prefix("max=").ok_or_else(|| format!("{max:?} is not max=DURATION ({known})"))?;
        let seconds = value
            .parse::<f64>()
            .ok()
            .or_else(|| parse_go_duration(value))
            .ok_or_else(|| format!("{value:?} is not a duration (e.g. 30s, 2m)"))?;
        curve.with_max(seconds)
    }
}

impl fmt::Display for BackoffCurve {
    /// As the kubelet prints delays: `10s doubling to 5m0s`, or `30s` for a constant interval.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.initial == self.max {
            f.write_str(&go_duration(self.max))
        } else {
            write!(f, "{} doubling to {}", go_duration(self.initial), go_duration(self.max))
        }
    }
}

/// client-go's `flowcontrol.Backoff` for one key, in simulated seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    initial: f64,
    max: f64,
    /// The entry is stale when `eventTime − lastUpdate` exceeds this.
    expiry: f64,
    /// (current delay, lastUpdate)
    entry: Option<(f64, f64)>,
}

impl Backoff {
    /// The kubelet's crash-loop back-off on a node with `curve`, reset after a 600 s run
    /// whatever the curve (KEP-4603 fixed the expiry at 10 minutes).
    pub fn crash_loop(curve: BackoffCurve) -> Self {
        Backoff { initial: curve.initial, max: curve.max, expiry: BACKOFF_RESET, entry: None }
    }

    /// The kubelet's image-pull back-off: 10 s doubling to 300 s (client-go's default expiry,
    /// twice the maximum), which the crash-loop settings do not change.
    pub fn image_pull() -> Self {
        Backoff { initial: INITIAL_BACKOFF, max: MAX_BACKOFF, expiry: 2.0 * MAX_BACKOFF, entry: None }
    }

    fn live(&self, event_time: f64) -> Option<(f64, f64)> {
        self.entry.filter(|(_, last_update)| event_time - last_update <= self.expiry)
    }

    /// `IsInBackOffSince(eventTime)` at `now`: whether `now` is within the delay after `event_time`.
    pub fn in_backoff_since(&self, event_time: f64, now: f64) -> bool {
        self.live(event_time).is_some_and(|(delay, _)| now - event_time < delay)
    }

    /// `IsInBackOffSinceUpdate` at `now`: whether `now` is within the delay after the last `next`.
    pub fn in_backoff_since_update(&self, now: f64) -> bool {
        self.live(now).is_some_and(|(delay, last_update)| now - last_update < delay)
    }

    /// `Next(eventTime)` at `now`: starts at the initial delay (or over, if the entry
    /// expired), else doubles it up to the maximum.
    pub fn next(&mut self, event_time: f64, now: f64) {
        let delay = match self.live(event_time) {
            Some((delay, _)) => (delay * 2.0).min(self.max),
            None => self.initial,
        };
        self.entry = Some((delay, now));
    }

    /// `Get`: the current delay (0 without an entry).
    pub fn delay(&self) -> f64 {
        self.entry.map_or(0.0, |(delay, _)| delay)
    }

    /// When the delay after the last `next` ends.
    pub fn until(&self) -> f64 {
        self.entry.map_or(0.0, |(delay, at)| at + delay)
    }
}

/// A Go `time.Duration` string of whole seconds, as the kubelet prints delays: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec}s"),
        (h, min, sec) => format!("{h}h{min}m{sec}s"),
    }
}

/// An instance that ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    /// `OOMKilled` or `Error`.
    pub reason: &'static str,
    pub exit_code: i32,
    pub started: f64,
    pub finished: f64,
}

/// A container's state, in simulated time.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum State {
    /// `waiting: ContainerCreating` (`PodInitializing` in a pod with a sidecar).
    #[default]
    Creating,
    Running {
        started: f64,
    },
    /// Just exited; the next sync restarts it or puts it in back-off (or, in a
    /// `restartPolicy: Never` pod, for good).
    Exited(Exit),
    /// `waiting: CrashLoopBackOff` with the kubelet's current delay.
    CrashLoopBackOff {
        delay: f64,
    },
    /// `waiting: ErrImagePull` with the runtime's error.
    ErrImagePull {
        message: String,
    },
    /// `waiting: ImagePullBackOff`.
    ImagePullBackOff,
    /// `waiting: CreateContainerConfigError` with the kubelet's message.
    ConfigError {
        message: String,
    },
}

/// One of a simulated pod's containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Which {
    /// The regular container, [`CONTAINER`].
    App,
    /// The sidecar, [`SIDECAR`].
    Sidecar,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::App => CONTAINER,
            Which::Sidecar => SIDECAR,
        }
    }

    /// The `involvedObject.fieldPath` of the kubelet's Events about it.
    pub fn field_path(self) -> String {
        match self {
            Which::App => format!("spec.containers{{{CONTAINER}}}"),
            Which::Sidecar => format!("spec.initContainers{{{SIDECAR}}}"),
        }
    }
}

/// A pod's status as the model knows it: its container's state, `restartCount` and
/// `lastState`, and its sidecar's, if it has one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub state: State,
    pub restarts: i32,
    pub last: Option<Exit>,
    /// The sidecar's state, `restartCount` and `lastState` (its own `sidecar` is `None`),
    /// in pods that have one ([`Scenario::has_sidecar`]).
    pub sidecar: Option<Box<Status>>,
    /// The pod has finished: a `restartPolicy: Never` pod whose containers all ended, its
    /// regular one successfully.
    pub succeeded: bool,
}

impl Status {
    /// The pod's phase: `Succeeded` once it has finished, else `Running` once its
    /// container has started (`Pending` before).
    pub fn phase(&self) -> &'static str {
        if self.succeeded {
            return "Succeeded";
        }
        match self.state {
            State::Running { .. } | State::Exited(_) | State::CrashLoopBackOff { .. } => "Running",
            _ => "Pending",
        }
    }

    /// The status of one container of the pod (`None`: a sidecar the pod does not have).
    pub fn of(&self, which: Which) -> Option<&Status> {
        match which {
            Which::App => Some(self),
            Which::Sidecar => self.sidecar.as_deref(),
        }
    }

    fn of_mut(&mut self, which: Which) -> &mut Status {
        match which {
            Which::App => self,
            Which::Sidecar => self.sidecar.get_or_insert_with(Box::default),
        }
    }

    /// The container in `CrashLoopBackOff`, if one is (the regular one first).
    pub fn backing_off(&self) -> Option<&Status> {
        std::iter::once(self).chain(self.sidecar.as_deref()).find(|s| matches!(s.state, State::CrashLoopBackOff { .. }))
    }

    /// The container status JSON of the regular container for `pod` (as created), with
    /// simulated times turned into RFC 3339 by `wall`.
    pub fn to_json(&self, pod: &Pod, image: &str, wall: &dyn Fn(f64) -> String) -> Value {
        self.container_json(Which::App, self.sidecar.is_some(), pod, image, wall)
    }

    /// The status JSON of every container of `pod`: the regular one, then the sidecar.
    pub fn container_statuses(&self, pod: &Pod, image: &str, wall: &dyn Fn(f64) -> String) -> Vec<Value> {
        let mut out = vec![self.to_json(pod, image, wall)];
        if let Some(sidecar) = &self.sidecar {
            out.push(sidecar.container_json(Which::Sidecar, true, pod, SIDECAR_IMAGE, wall));
        }
        out
    }

    /// The pod's `status`, as the kubelet PATCHes it: phase, conditions and the container
    /// statuses (the sidecar's in `initContainerStatuses`). With a sidecar, the pod is
    /// `Initialized` once its regular container has started, even while the sidecar
    /// restarts; a finished pod is not ready by `PodCompleted`.
    pub fn pod_status(&self, pod: &Pod, image: &str, wall: &dyn Fn(f64) -> String) -> Value {
        let mut body = super::fixtures::pod_status(pod, self.phase(), self.container_statuses(pod, image, wall));
        if self.sidecar.is_none() {
            return body;
        }
        for condition in body["conditions"].as_array_mut().into_iter().flatten() {
            let initialized = condition["type"] == "Initialized" && self.state != State::Creating;
            let completed = self.succeeded && matches!(condition["type"].as_str(), Some("Ready" | "ContainersReady"));
            if initialized {
                condition["status"] = json!("True");
                if let Some(c) = condition.as_object_mut() {
                    c.remove("reason");
                }
            }
            if completed {
                condition["reason"] = json!("PodCompleted");
            }
        }
        body
    }

    /// This container's status JSON, as `which` of `pod`; `initializing`: it waits for
    /// `PodInitializing` (the pod has init containers) rather than `ContainerCreating`.
    fn container_json(
        &self,
        which: Which,
        initializing: bool,
        pod: &Pod,
        image: &str,
        wall: &dyn Fn(f64) -> String,
    ) -> Value {
        let term = |e: &Exit| Terminated::new(e.reason, e.exit_code, wall(e.started), wall(e.finished));
        let last = self.last.as_ref().map(term);
        let c = which.name();
        match &self.state {
            State::Creating => {
                let reason = if initializing { "PodInitializing" } else { "ContainerCreating" };
                waiting_status(c, reason, "", self.restarts, None)
            }
            State::Running { started } => running_status(c, self.restarts, &wall(*started), last.as_ref()),
            State::Exited(e) => terminated_status(c, self.restarts, &term(e), last.as_ref()),
            State::CrashLoopBackOff { delay } => match &last {
                Some(last) => crashloop_status(pod, c, self.restarts, &go_duration(*delay), last),
                None => waiting_status(c, "CrashLoopBackOff", "", self.restarts, None),
            },
            State::ErrImagePull { message } => waiting_status(c, "ErrImagePull", message, self.restarts, None),
            State::ImagePullBackOff => {
                let message = format!("Back-off pulling image \"{image}\"");
                waiting_status(c, "ImagePullBackOff", &message, self.restarts, None)
            }
            State::ConfigError { message } => {
                waiting_status(c, "CreateContainerConfigError", message, self.restarts, None)
            }
        }
    }
}

/// One occurrence of a kubelet Event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Occurrence {
    pub reason: &'static str,
    pub message: String,
    pub warning: bool,
    /// About this container ([`Which::field_path`]), else about the pod.
    pub container: Option<Which>,
}

impl Occurrence {
    /// The same Event about `container` (`None`: about the pod).
    fn on(self, container: Option<Which>) -> Self {
        Occurrence { container, ..self }
    }
}

/// A `Normal` Event about the regular container.
fn normal(reason: &'static str, message: String) -> Occurrence {
    Occurrence { reason, message, warning: false, container: Some(Which::App) }
}

/// A `Warning` Event about the regular container.
fn warning(reason: &'static str, message: String) -> Occurrence {
    Occurrence { warning: true, ..normal(reason, message) }
}

/// Something that happens at one moment: a new status (if it changed) and Events.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// Simulated seconds since the pod was created.
    pub at: f64,
    pub status: Option<Status>,
    pub events: Vec<Occurrence>,
}

/// What the kubelet knows about the pod it plays, for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub image: String,
    pub config_map: String,
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

/// The transitions of one container, in time order, without end (except for a healthy one).
#[derive(Clone, Debug)]
pub struct Lifecycle {
    scenario: Scenario,
    subject: Subject,
    seed: u64,
    /// Fixed instance run times (cycled) instead of the seeded ones.
    runs: Option<Vec<f64>>,
    config_volume: bool,
    status: Status,
    curve: BackoffCurve,
    crash: Backoff,
    pull: Backoff,
    /// When the next instance starts, the next pull is tried, or the next retry happens.
    next_at: f64,
    /// Volume retries: current delay, and when the next "timed out" Event is due.
    mount_delay: f64,
    mount_timeout_at: f64,
    instance: u32,
    pending: VecDeque<Transition>,
    begun: bool,
}

/// The volume manager's first retry delay after a failed mount, and its maximum.
const MOUNT_RETRY: (f64, f64) = (0.5, 122.0);
/// The pod worker gives up waiting for volumes after this and reports it.
const MOUNT_TIMEOUT: f64 = 123.0;

impl Lifecycle {
    /// A pod of `scenario` on a node with the default back-off; `seed` picks run times and
    /// variants.
    pub fn new(scenario: Scenario, subject: Subject, seed: u64) -> Self {
        let curve = BackoffCurve::default();
        Lifecycle {
            scenario,
            subject,
            seed,
            runs: None,
            config_volume: false,
            status: Status { sidecar: scenario.has_sidecar().then(Box::default), ..Status::default() },
            curve,
            crash: Backoff::crash_loop(curve),
            pull: Backoff::image_pull(),
            next_at: START_SECONDS,
            mount_delay: MOUNT_RETRY.0,
            mount_timeout_at: MOUNT_TIMEOUT,
            instance: 0,
            pending: VecDeque::new(),
            begun: false,
        }
    }

    /// On a node whose crash-loop back-off follows `curve`.
    pub fn with_backoff(mut self, curve: BackoffCurve) -> Self {
        self.curve = curve;
        self.crash = Backoff::crash_loop(curve);
        self
    }

    /// Uses these instance run times (OOM: until the kill; liveness: until the first failed
    /// probe; sidecar: until its exit; Job: until the completion), cycled, instead of the
    /// seeded ones. A sidecar's first run must outlast [`SIDECAR_LEAD`].
    pub fn with_runs(mut self, runs: Vec<f64>) -> Self {
        self.runs = Some(runs).filter(|r| !r.is_empty());
        self
    }

    /// For [`Scenario::Config`]: miss the ConfigMap through a volume instead of `envFrom`.
    pub fn with_config_volume(mut self, volume: bool) -> Self {
        self.config_volume = volume;
        self
    }

    /// The status after every transition so far.
    pub fn status(&self) -> &Status {
        &self.status
    }

    fn run_time(&self, lo: f64, hi: f64) -> f64 {
        match &self.runs {
            Some(runs) => runs[self.instance as usize % runs.len()],
            None => uniform(&(self.seed, self.instance), lo, hi),
        }
    }

    /// How long after an exit the kubelet notices it (see the module docs).
    fn exit_notice(&self) -> f64 {
        EXIT_SECONDS.min(self.curve.initial / 2.0)
    }

    fn push(&mut self, at: f64, state: Option<State>, events: Vec<Occurrence>) {
        self.push_to(Which::App, at, state, events);
    }

    /// A transition at `at`: `which` goes to `state`, if given, and `events` are due.
    fn push_to(&mut self, which: Which, at: f64, state: Option<State>, events: Vec<Occurrence>) {
        let status = state.map(|state| {
            self.status.of_mut(which).state = state;
            self.status.clone()
        });
        self.pending.push_back(Transition { at, status, events });
    }

    fn plan_more(&mut self) {
        if !self.begun {
            self.begun = true;
            let first = match self.scenario {
                Scenario::Image => vec![self.pulling()],
                Scenario::Config if self.config_volume => vec![self.failed_mount()],
                _ => vec![],
            };
            self.push(0.0, Some(State::Creating), first);
            if self.scenario == Scenario::Image {
                self.next_at = 0.0;
                self.pull_attempt(true);
            }
            if self.scenario == Scenario::Config && self.config_volume {
                self.next_at = MOUNT_RETRY.0;
                self.mount_delay = 2.0 * MOUNT_RETRY.0;
            }
            return;
        }
        match self.scenario {
            Scenario::Healthy if self.status.state == State::Creating => {
                let at = self.next_at;
                self.push(at, Some(State::Running { started: at }), self.start_events(Which::App));
            }
            Scenario::Healthy => {}
            Scenario::Oom | Scenario::Leak | Scenario::Liveness | Scenario::Sidecar => self.instance_run(),
            Scenario::SidecarJob if self.status.state == State::Creating => self.job_run(),
            Scenario::SidecarJob => {}
            Scenario::Image => self.pull_attempt(false),
            Scenario::Config if self.config_volume => self.mount_retry(),
            Scenario::Config => self.config_sync(),
        }
    }

    fn start_events(&self, which: Which) -> Vec<Occurrence> {
        let image = match which {
            Which::App => self.subject.image.as_str(),
            Which::Sidecar => SIDECAR_IMAGE,
        };
        let c = which.name();
        [
            normal("Pulled", format!("Container image \"{image}\" already present on machine")),
            normal("Created", format!("Created container {c}")),
            normal("Started", format!("Started container {c}")),
        ]
        .map(|e| e.on(Some(which)))
        .into()
    }

    fn backoff_event(&self, which: Which) -> Occurrence {
        let s = &self.subject;
        let c = which.name();
        warning(
            "BackOff",
            format!("Back-off restarting failed container {c} in pod {}_{}({})", s.pod, s.namespace, s.uid),
        )
        .on(Some(which))
    }

    /// One instance of a crashing container (the sidecar, in [`Scenario::Sidecar`]): start,
    /// (probe failures and kill,) exit, and the kubelet's syncs until the restart, which is
    /// planned as the next instance. A sidecar's first start is followed by the regular
    /// container's, which then keeps running.
    fn instance_run(&mut self) {
        let which = if self.scenario == Scenario::Sidecar { Which::Sidecar } else { Which::App };
        let started = self.next_at;
        // restartCount is the attempt number of the newest instance (0 for the first).
        if self.instance > 0 {
            self.status.of_mut(which).restarts += 1;
        }
        let running = State::Running { started };
        self.push_to(which, started, Some(running), self.start_events(which));
        if which == Which::Sidecar && self.instance == 0 {
            let app_started = started + SIDECAR_LEAD;
            self.push(app_started, Some(State::Running { started: app_started }), self.start_events(Which::App));
        }
        let exit = match self.scenario {
            Scenario::Liveness => {
                let first_failure = started + self.run_time(20.0, 120.0);
                let message = "Liveness probe failed: HTTP probe failed with statuscode: 500";
                for i in 0..PROBE_FAILURES {
                    let mut events = vec![warning("Unhealthy", message.into())];
                    if i + 1 == PROBE_FAILURES {
                        events.push(normal(
                            "Killing",
                            format!("Container {CONTAINER} failed liveness probe, will be restarted"),
                        ));
                    }
                    self.push(first_failure + f64::from(i) * PROBE_PERIOD, None, events);
                }
                let killed = first_failure + f64::from(PROBE_FAILURES - 1) * PROBE_PERIOD;
                Exit { reason: "Error", exit_code: 137, started, finished: killed + GRACE_SECONDS }
            }
            Scenario::Sidecar => {
                Exit { reason: "Error", exit_code: 1, started, finished: started + self.run_time(10.0, 60.0) }
            }
            scenario => {
                let run =
                    if scenario == Scenario::Leak { self.run_time(540.0, 780.0) } else { self.run_time(10.0, 90.0) };
                Exit { reason: "OOMKilled", exit_code: 137, started, finished: started + run }
            }
        };
        let finished = exit.finished;
        self.push_to(which, finished, Some(State::Exited(exit.clone())), vec![]);
        self.status.of_mut(which).last = Some(exit);
        let sync = finished + self.exit_notice();
        let restart = if self.crash.in_backoff_since(finished, sync) {
            let delay = self.crash.delay();
            let until = finished + delay;
            self.push_to(which, sync, Some(State::CrashLoopBackOff { delay }), vec![self.backoff_event(which)]);
            let mut t = sync + SYNC_SECONDS;
            while t < until {
                self.push(t, None, vec![self.backoff_event(which)]);
                t += SYNC_SECONDS;
            }
            until
        } else {
            sync
        };
        self.crash.next(finished, restart);
        self.next_at = restart;
        self.instance += 1;
    }

    /// The whole life of a [`Scenario::SidecarJob`] pod: the sidecar starts, then the
    /// regular container, which completes; the kubelet then stops the sidecar (`Killing`,
    /// SIGTERM, which it dies of: `Error`, 143) and the pod has succeeded.
    fn job_run(&mut self) {
        let sidecar_started = self.next_at;
        let sidecar_running = State::Running { started: sidecar_started };
        self.push_to(Which::Sidecar, sidecar_started, Some(sidecar_running), self.start_events(Which::Sidecar));
        let started = sidecar_started + SIDECAR_LEAD;
        self.push(started, Some(State::Running { started }), self.start_events(Which::App));
        let finished = started + self.run_time(20.0, 120.0);
        self.push(finished, Some(State::Exited(Exit { reason: "Completed", exit_code: 0, started, finished })), vec![]);
        let stopped = finished + self.exit_notice();
        let killing = normal("Killing", format!("Stopping container {SIDECAR}")).on(Some(Which::Sidecar));
        let stop = Exit { reason: "Error", exit_code: 143, started: sidecar_started, finished: stopped };
        self.status.succeeded = true;
        self.push_to(Which::Sidecar, stopped, Some(State::Exited(stop)), vec![killing]);
        self.instance += 1;
    }

    fn pulling(&self) -> Occurrence {
        normal("Pulling", format!("Pulling image \"{}\"", self.subject.image))
    }

    fn pull_error(&self) -> String {
        let image = &self.subject.image;
        let host = image.split('/').next().unwrap_or_default();
        match self.seed % 3 {
            0 => format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
            ),
            1 => format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
            ),
            _ => format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": failed to do request: Head \"https://{host}/v2/\": dial tcp: lookup {host}: no such host"
            ),
        }
    }

    /// One pull attempt: `Pulling`, the failure (`ErrImagePull`), then `ImagePullBackOff`
    /// syncs until the back-off ends, which is when the next attempt is planned.
    fn pull_attempt(&mut self, first: bool) {
        let at = self.next_at;
        if !first {
            self.push(at, None, vec![self.pulling()]);
        }
        let failed = at + PULL_SECONDS;
        let error = self.pull_error();
        let image = self.subject.image.clone();
        self.push(
            failed,
            Some(State::ErrImagePull { message: error.clone() }),
            vec![
                warning("Failed", format!("Failed to pull image \"{image}\": {error}")),
                warning("Failed", "Error: ErrImagePull".into()),
            ],
        );
        self.pull.next(failed, failed);
        let until = self.pull.until();
        let backoff_events = || {
            vec![
                normal("BackOff", format!("Back-off pulling image \"{image}\"")),
                warning("Failed", "Error: ImagePullBackOff".into()),
            ]
        };
        let mut t = failed + EXIT_SECONDS;
        self.push(t, Some(State::ImagePullBackOff), backoff_events());
        t += SYNC_SECONDS;
        while self.pull.in_backoff_since_update(t) {
            self.push(t, None, backoff_events());
            t += SYNC_SECONDS;
        }
        self.next_at = until;
    }

    /// One sync of a container whose ConfigMap (through `envFrom`) is missing.
    fn config_sync(&mut self) {
        let at = self.next_at;
        let message = format!("configmap \"{}\" not found", self.subject.config_map);
        let events = vec![
            normal("Pulled", format!("Container image \"{}\" already present on machine", self.subject.image)),
            warning("Failed", format!("Error: {message}")),
        ];
        let state = (self.status.state == State::Creating).then_some(State::ConfigError { message });
        self.push(at, state, events);
        self.next_at = at + SYNC_SECONDS;
    }

    fn failed_mount(&self) -> Occurrence {
        warning(
            "FailedMount",
            format!(
                "MountVolume.SetUp failed for volume \"config\" : configmap \"{}\" not found",
                self.subject.config_map
            ),
        )
        .on(None)
    }

    /// The next failed mount (exponential retry) or wait timeout of a pod whose ConfigMap
    /// volume is missing: the container stays `ContainerCreating`.
    fn mount_retry(&mut self) {
        let retry_at = self.next_at;
        if self.mount_timeout_at < retry_at {
            let at = self.mount_timeout_at;
            let message = format!(
                "Unable to attach or mount volumes: unmounted volumes=[config], unattached volumes=[config kube-api-access-{}]: timed out waiting for the condition",
                safe_chars(&self.seed, 5)
            );
            let event = warning("FailedMount", message).on(None);
            self.push(at, None, vec![event]);
            self.mount_timeout_at += MOUNT_TIMEOUT;
        } else {
            self.push(retry_at, None, vec![self.failed_mount()]);
            self.next_at = retry_at + self.mount_delay;
            self.mount_delay = (self.mount_delay * 2.0).min(MOUNT_RETRY.1);
        }
    }
}

impl Iterator for Lifecycle {
    type Item = Transition;

    fn next(&mut self) -> Option<Transition> {
        if self.pending.is_empty() {
            self.plan_more();
        }
        self.pending.pop_front()
    }
}

/// A pod's state at one moment, for `populate`.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Simulated seconds since creation.
    pub at: f64,
    pub status: Status,
    /// Every Event occurrence up to `at`, with its time.
    pub events: Vec<(f64, Occurrence)>,
}

/// Plays a lifecycle forward to the moment `populate` shows: a crash-looping container (the
/// sidecar, in [`Scenario::Sidecar`]) inside its `depth`-th back-off (1-based; its
/// `restartCount` is then `depth`), anything else at `horizon`.
pub fn snapshot(lifecycle: Lifecycle, depth: i32, horizon: f64) -> Snapshot {
    let crash_loops = lifecycle.scenario.crash_loops();
    let mut status = lifecycle.status.clone();
    let mut events = Vec::new();
    let mut at = 0.0;
    for t in lifecycle {
        if !crash_loops && t.at > horizon {
            break;
        }
        at = t.at;
        events.extend(t.events.into_iter().map(|e| (t.at, e)));
        if let Some(s) = t.status {
            status = s;
        }
        if crash_loops && status.backing_off().is_some_and(|c| c.restarts >= depth.max(1)) {
            break;
        }
    }
    if !crash_loops {
        at = horizon;
    }
    Snapshot { at, status, events }
}

/// One write of an Event, as the correlator decides it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventWrite {
    /// `<pod>.<hex nanos>`, kept for every repeat.
    pub name: String,
    pub occurrence: Occurrence,
    pub count: u32,
    /// Simulated time of the first occurrence.
    pub first: f64,
    /// Simulated time of this one.
    pub last: f64,
    /// POST a new object (else PATCH `count` and `lastTimestamp`; POST again on 404).
    pub create: bool,
}

/// The spam filter's burst, per pod and type.
pub const SPAM_BURST: f64 = 25.0;
/// The spam filter's refill: one write per this many seconds.
pub const SPAM_REFILL_SECONDS: f64 = 300.0;

#[derive(Clone, Debug)]
struct Seen {
    name: String,
    count: u32,
    first: f64,
    created: bool,
}

/// client-go's `EventCorrelator` for the Events about one pod (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Correlator {
    seen: HashMap<Occurrence, Seen>,
    /// Token buckets of the spam filter, Normal and Warning: (tokens, last refill).
    buckets: [Option<(f64, f64)>; 2],
}

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one occurrence at `at`; returns the write to make, or `None` when the spam
    /// filter drops it. `name` names a new Event.
    pub fn observe(&mut self, occurrence: &Occurrence, at: f64, name: impl FnOnce() -> String) -> Option<EventWrite> {
        let seen = self.seen.entry(occurrence.clone()).or_insert_with(|| Seen {
            name: name(),
            count: 0,
            first: at,
            created: false,
        });
        seen.count += 1;
        let bucket = &mut self.buckets[usize::from(occurrence.warning)];
        let (tokens, refilled) = bucket.unwrap_or((SPAM_BURST, at));
        let tokens = (tokens + (at - refilled).max(0.0) / SPAM_REFILL_SECONDS).min(SPAM_BURST);
        if tokens < 1.0 {
            *bucket = Some((tokens, at));
            return None;
        }
        *bucket = Some((tokens - 1.0, at));
        let create = !seen.created;
        seen.created = true;
        Some(EventWrite {
            name: seen.name.clone(),
            occurrence: occurrence.clone(),
            count: seen.count,
            first: seen.first,
            last: at,
            create,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            namespace: "ns".into(),
            pod: "checkout-5d4f8c7b9b-x2x4q".into(),
            uid: "u-1".into(),
            image: "registry.example/checkout:1.2.3".into(),
            config_map: "checkout-config".into(),
        }
    }

    fn delays(lifecycle: Lifecycle, n: usize) -> Vec<f64> {
        lifecycle
            .filter_map(|t| match t.status?.state {
                State::CrashLoopBackOff { delay } => Some(delay),
                _ => None,
            })
            .take(n)
            .collect()
    }

    #[test]
    fn crash_loop_backoff_doubles_from_10_to_300() {
        let oom = Lifecycle::new(Scenario::Oom, subject(), 7);
        assert_eq!(delays(oom, 8), [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]);
        let liveness = Lifecycle::new(Scenario::Liveness, subject(), 7);
        assert_eq!(delays(liveness, 7), [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
    }

    #[test]
    fn restart_count_is_the_attempt_of_the_newest_instance() {
        // As the kubelet reports it: `Error 1 -> CrashLoopBackOff 1 (10s) -> Running 2`.
        let oom = Lifecycle::new(Scenario::Oom, subject(), 7).with_runs(vec![5.0]);
        let seen: Vec<(i32, String)> = oom
            .filter_map(|t| t.status)
            .map(|s| {
                let what = match s.state {
                    State::Creating => "Creating".to_string(),
                    State::Running { .. } => "Running".into(),
                    State::Exited(e) => e.reason.into(),
                    State::CrashLoopBackOff { delay } => {
                        format!("CrashLoopBackOff {}", go_duration(delay))
                    }
                    other => format!("{other:?}"),
                };
                (s.restarts, what)
            })
            .take(9)
            .collect();
        let expected = [
            (0, "Creating"),
            (0, "Running"),
            (0, "OOMKilled"),
            (1, "Running"),
            (1, "OOMKilled"),
            (1, "CrashLoopBackOff 10s"),
            (2, "Running"),
            (2, "OOMKilled"),
            (2, "CrashLoopBackOff 20s"),
        ];
        assert_eq!(seen, expected.map(|(r, s)| (r, s.to_string())));
    }

    /// (restartCount, started, finished) of each instance, and the CrashLoopBackOff periods.
    fn instances(lifecycle: Lifecycle, until: f64) -> (Vec<(i32, f64)>, Vec<Exit>) {
        let mut starts = Vec::new();
        let mut exits = Vec::new();
        for t in lifecycle.take_while(|t| t.at <= until) {
            match t.status.map(|s| (s.restarts, s.state)) {
                Some((restarts, State::Running { started })) => starts.push((restarts, started)),
                Some((_, State::Exited(e))) => exits.push(e),
                _ => {}
            }
        }
        (starts, exits)
    }

    /// From each exit to the next start.
    fn waits(starts: &[(i32, f64)], exits: &[Exit]) -> Vec<f64> {
        exits.iter().zip(&starts[1..]).map(|(e, (_, s))| s - e.finished).collect()
    }

    #[test]
    fn first_crash_restarts_at_once_then_waits_the_delay_after_finished_at() {
        let oom = Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(vec![5.0]);
        let (starts, exits) = instances(oom, 2000.0);
        assert_eq!(waits(&starts, &exits)[..8], [EXIT_SECONDS, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
        assert_eq!(starts[0], (0, START_SECONDS));
        let counts: Vec<i32> = starts.iter().map(|(r, _)| *r).take(4).collect();
        assert_eq!(counts, [0, 1, 2, 3]);
        assert!(exits.iter().all(|e| e.reason == "OOMKilled" && e.exit_code == 137));
        assert!(exits.iter().zip(&starts).all(|(e, (_, s))| e.started == *s && e.finished == s + 5.0));
    }

    #[test]
    fn backoff_resets_after_an_instance_ran_ten_minutes() {
        // Short runs climb to 300 s; a 601 s run resets (immediate restart), then 10 s again.
        let runs = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 601.0, 5.0, 5.0, 5.0];
        let oom = Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(runs.to_vec());
        let (starts, exits) = instances(oom, 5000.0);
        assert_eq!(waits(&starts, &exits)[..10], [1.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 1.0, 10.0, 20.0]);
        // Exactly 600 s is not "more than 10 minutes": no reset.
        let runs = [5.0, 5.0, 600.0, 5.0];
        let oom = Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(runs.to_vec());
        let (starts, exits) = instances(oom, 2000.0);
        assert_eq!(waits(&starts, &exits)[..3], [1.0, 10.0, 20.0]);
    }

    #[test]
    fn backoff_follows_client_go() {
        let mut b = Backoff::crash_loop(BackoffCurve::default());
        assert!(!b.in_backoff_since(100.0, 101.0), "no entry: not in back-off");
        b.next(100.0, 101.0);
        assert_eq!((b.delay(), b.until()), (10.0, 111.0));
        assert!(b.in_backoff_since(120.0, 129.9));
        assert!(!b.in_backoff_since(120.0, 130.0));
        b.next(120.0, 130.0);
        assert_eq!(b.delay(), 20.0);
        // The entry expires when the event is more than 600 s after the last update.
        assert!(!b.in_backoff_since(730.1, 731.0));
        b.next(730.1, 731.0);
        assert_eq!(b.delay(), 10.0);
        let mut pull = Backoff::image_pull();
        pull.next(0.0, 0.0);
        assert!(pull.in_backoff_since_update(9.9) && !pull.in_backoff_since_update(10.0));
    }

    #[test]
    fn liveness_kill_has_unhealthy_and_killing_events_then_error_137() {
        let lifecycle = Lifecycle::new(Scenario::Liveness, subject(), 3).with_runs(vec![40.0]);
        let first: Vec<Transition> = lifecycle.take(6).collect();
        let at: Vec<f64> = first.iter().map(|t| t.at).collect();
        assert_eq!(at, [0.0, 2.0, 42.0, 52.0, 62.0, 92.0]);
        let reasons: Vec<Vec<&str>> = first.iter().map(|t| t.events.iter().map(|e| e.reason).collect()).collect();
        assert_eq!(
            reasons,
            [
                vec![],
                vec!["Pulled", "Created", "Started"],
                vec!["Unhealthy"],
                vec!["Unhealthy"],
                vec!["Unhealthy", "Killing"],
                vec![]
            ]
        );
        assert_eq!(first[2].events[0].message, "Liveness probe failed: HTTP probe failed with statuscode: 500");
        assert!(first[2].events[0].warning && first[2].events[0].container == Some(Which::App));
        assert_eq!(first[4].events[1].message, "Container app failed liveness probe, will be restarted");
        assert!(!first[4].events[1].warning);
        let exit = Exit { reason: "Error", exit_code: 137, started: 2.0, finished: 92.0 };
        assert_eq!(first[5].status.as_ref().map(|s| &s.state), Some(&State::Exited(exit)));
    }

    #[test]
    fn backoff_events_repeat_every_sync_with_the_kubelets_message() {
        let lifecycle = Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(vec![5.0]);
        let backoffs: Vec<(f64, String)> = lifecycle
            .take_while(|t| t.at < 90.0)
            .flat_map(|t| t.events.into_iter().filter(|e| e.reason == "BackOff").map(move |e| (t.at, e.message)))
            .collect();
        let times: Vec<f64> = backoffs.iter().map(|(at, _)| *at).collect();
        // Crash 2 at 13: back-off 10 s (sync at 14); crash 3 at 28: 20 s (syncs 29, 39);
        // crash 4 at 53: 40 s (54, 64, 74, 84).
        assert_eq!(times, [14.0, 29.0, 39.0, 54.0, 64.0, 74.0, 84.0]);
        assert_eq!(backoffs[0].1, "Back-off restarting failed container app in pod checkout-5d4f8c7b9b-x2x4q_ns(u-1)");
    }

    #[test]
    fn image_pull_alternates_err_image_pull_and_back_off_with_doubling_waits() {
        let lifecycle = Lifecycle::new(Scenario::Image, subject(), 0);
        let mut attempts = Vec::new();
        let mut states = Vec::new();
        for t in lifecycle.take_while(|t| t.at < 200.0) {
            if t.events.iter().any(|e| e.reason == "Pulling") {
                attempts.push(t.at);
            }
            if let Some(s) = t.status {
                states.push((t.at, s.state));
            }
        }
        assert_eq!(attempts, [0.0, 12.0, 34.0, 76.0, 158.0]);
        let error = "rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example/checkout:1.2.3\": failed to resolve reference \"registry.example/checkout:1.2.3\": registry.example/checkout:1.2.3: not found";
        assert_eq!(
            states[..4],
            [
                (0.0, State::Creating),
                (2.0, State::ErrImagePull { message: error.into() }),
                (3.0, State::ImagePullBackOff),
                (14.0, State::ErrImagePull { message: error.into() }),
            ]
        );
        let events: Vec<(f64, String)> = Lifecycle::new(Scenario::Image, subject(), 0)
            .take_while(|t| t.at <= 3.0)
            .flat_map(|t| t.events.into_iter().map(move |e| (t.at, format!("{} {}", e.reason, e.message))))
            .collect();
        assert_eq!(
            events,
            [
                (0.0, "Pulling Pulling image \"registry.example/checkout:1.2.3\"".into()),
                (2.0, format!("Failed Failed to pull image \"registry.example/checkout:1.2.3\": {error}")),
                (2.0, "Failed Error: ErrImagePull".into()),
                (3.0, "BackOff Back-off pulling image \"registry.example/checkout:1.2.3\"".into()),
                (3.0, "Failed Error: ImagePullBackOff".into()),
            ]
        );
    }

    #[test]
    fn missing_config_map_through_env_is_a_config_error_retried_every_sync() {
        let lifecycle = Lifecycle::new(Scenario::Config, subject(), 0);
        let t: Vec<Transition> = lifecycle.take(4).collect();
        assert_eq!(t.iter().map(|t| t.at).collect::<Vec<_>>(), [0.0, 2.0, 12.0, 22.0]);
        let message = "configmap \"checkout-config\" not found";
        assert_eq!(t[1].status.as_ref().map(|s| &s.state), Some(&State::ConfigError { message: message.into() }));
        assert!(t[2].status.is_none());
        assert_eq!(t[2].events[1], warning("Failed", format!("Error: {message}")));
    }

    #[test]
    fn missing_config_map_volume_keeps_container_creating_with_failed_mounts() {
        let lifecycle = Lifecycle::new(Scenario::Config, subject(), 0).with_config_volume(true);
        let t: Vec<Transition> = lifecycle.take_while(|t| t.at < 300.0).collect();
        assert!(t.iter().skip(1).all(|t| t.status.is_none()), "stays ContainerCreating");
        let mounts: Vec<f64> =
            t.iter().filter(|t| t.events[0].message.starts_with("MountVolume")).map(|t| t.at).collect();
        assert_eq!(mounts, [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 63.5, 127.5, 249.5]);
        let timeouts: Vec<f64> = t.iter().filter(|t| t.events[0].message.starts_with("Unable")).map(|t| t.at).collect();
        assert_eq!(timeouts, [123.0, 246.0]);
        assert_eq!(
            t[0].events[0].message,
            "MountVolume.SetUp failed for volume \"config\" : configmap \"checkout-config\" not found"
        );
        assert!(t[0].events[0].container.is_none() && t[0].events[0].warning);
    }

    #[test]
    fn healthy_container_starts_and_stays_running() {
        let t: Vec<Transition> = Lifecycle::new(Scenario::Healthy, subject(), 0).collect();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[1].status.as_ref().map(|s| (&s.state, s.phase())),
            Some((&State::Running { started: 2.0 }, "Running"))
        );
    }

    #[test]
    fn leak_restarts_without_backoff_after_long_runs() {
        let leak = Lifecycle::new(Scenario::Leak, subject(), 0).with_runs(vec![700.0]);
        let (starts, exits) = instances(leak, 5000.0);
        assert!(exits.len() >= 6);
        assert!(waits(&starts, &exits).iter().all(|w| *w == EXIT_SECONDS));
    }

    #[test]
    fn correlator_patches_repeats_and_spam_filter_drops_writes_not_counts() {
        let mut c = Correlator::new();
        let backoff = warning("BackOff", "Back-off restarting failed container app in pod p_ns(u)".into());
        let mut n = 0;
        let mut name = || {
            n += 1;
            format!("p.{n:x}")
        };
        let w1 = c.observe(&backoff, 10.0, &mut name).expect("first write");
        let w2 = c.observe(&backoff, 20.0, &mut name).expect("second write");
        assert_eq!((w1.create, w1.count, w1.name.as_str()), (true, 1, "p.1"));
        assert_eq!((w2.create, w2.count, w2.name.as_str(), w2.first, w2.last), (false, 2, "p.1", 10.0, 20.0));
        let other = warning("Failed", "Error: ErrImagePull".into());
        let w3 = c.observe(&other, 20.0, &mut name).expect("another event");
        assert_eq!((w3.create, w3.count, w3.name.as_str()), (true, 1, "p.2"));
        // 25 Warning writes in the burst (3 used), then dropped until the bucket refills.
        let writes = (0..30).filter_map(|_| c.observe(&backoff, 30.0, &mut name)).count();
        assert_eq!(writes, 22);
        let normal_event = normal("Pulled", "x".into());
        assert!(c.observe(&normal_event, 30.0, &mut name).is_some(), "Normal has its own bucket");
        let after = c.observe(&backoff, 330.0, &mut name).expect("a token after 300 s");
        assert_eq!((after.count, after.create), (33, false));
        assert!(c.observe(&backoff, 331.0, &mut name).is_none());
    }

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
    fn go_durations_print_as_the_kubelet_prints_them() {
        for (s, text) in [(10.0, "10s"), (80.0, "1m20s"), (160.0, "2m40s"), (300.0, "5m0s"), (3600.0, "1h0m0s")] {
            assert_eq!(go_duration(s), text);
        }
    }

    /// The wall clock of the written statuses: simulated second 0 is this Unix second.
    const T0: i64 = 1_800_000_000;

    fn wall_seconds(t: f64) -> i64 {
        T0 + t as i64
    }

    /// A pod of `scenario` as `crashloop-sim` creates it, and its subject.
    fn planned(scenario: Scenario) -> (Value, Subject) {
        let plan = PodPlan {
            namespace: "ns".into(),
            deployment: format!("{}-0", scenario.workload()),
            replica: 0,
            scenario,
            seed: 42,
        };
        let manifest = plan.manifest(0);
        let subject = Subject {
            namespace: "ns".into(),
            pod: plan.name(0),
            uid: "u-1".into(),
            image: plan.image(),
            config_map: plan.config_map(),
        };
        (manifest, subject)
    }

    /// The delay printed in a `CrashLoopBackOff` waiting message (`back-off 1m0s restarting …`).
    fn printed_delay(status: &Value) -> Option<String> {
        let message = status["state"]["waiting"]["message"].as_str()?;
        let rest = message.strip_prefix("back-off ")?;
        Some(rest.split(' ').next()?.to_string())
    }

    #[test]
    fn reduced_backoff_prints_1s_doubling_to_1m0s() {
        let oom =
            Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(vec![5.0]).with_backoff(BackoffCurve::reduced());
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": "checkout-5d4f8c7b9b-x2x4q", "namespace": "ns", "uid": "u-1" },
            "spec": { "containers": [{ "name": "app" }] },
        }))
        .expect("pod");
        let wall = |t: f64| crate::timestamp(wall_seconds(t));
        let printed: Vec<String> = oom
            .clone()
            .filter_map(|t| t.status.filter(|s| matches!(s.state, State::CrashLoopBackOff { .. })))
            .take(9)
            .map(|s| printed_delay(&s.to_json(&pod, "registry.example/checkout:1.2.3", &wall)).expect("a delay"))
            .collect();
        assert_eq!(printed, ["1s", "2s", "4s", "8s", "16s", "32s", "1m0s", "1m0s", "1m0s"]);
        let message = "back-off 1s restarting failed container=app pod=checkout-5d4f8c7b9b-x2x4q_ns(u-1)";
        let first = oom.clone().find_map(|t| t.status.filter(|s| matches!(s.state, State::CrashLoopBackOff { .. })));
        let json = first.expect("a back-off").to_json(&pod, "registry.example/checkout:1.2.3", &wall);
        assert_eq!(json["state"]["waiting"]["message"], message);
        // The restarts come when the delays end: the first at once (when the kubelet notices
        // the exit, half the 1 s initial delay later), then 1, 2, 4 … 60 s after the exit.
        let (starts, exits) = instances(oom, 2000.0);
        assert_eq!(waits(&starts, &exits)[..10], [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]);
        // The 10-minute reset stays whatever the curve.
        let runs = [5.0, 5.0, 5.0, 601.0, 5.0, 5.0];
        let reset = Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(runs.to_vec());
        let (starts, exits) = instances(reset.with_backoff(BackoffCurve::reduced()), 2000.0);
        assert_eq!(waits(&starts, &exits)[..6], [0.5, 1.0, 2.0, 0.5, 1.0, 2.0]);
    }

    #[test]
    fn a_configured_maximum_caps_the_backoff() {
        let max30: BackoffCurve = "max=30s".parse().expect("a curve");
        assert_eq!(max30, BackoffCurve { initial: 10.0, max: 30.0 });
        let oom = || Lifecycle::new(Scenario::Oom, subject(), 7);
        assert_eq!(delays(oom().with_backoff(max30), 6), [10.0, 20.0, 30.0, 30.0, 30.0, 30.0]);
        let reduced30: BackoffCurve = "reduced,max=30s".parse().expect("a curve");
        assert_eq!(delays(oom().with_backoff(reduced30), 7), [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
        // Below the initial delay, the initial delay becomes the maximum: a constant interval.
        let max5: BackoffCurve = "max=5s".parse().expect("a curve");
        assert_eq!(max5, BackoffCurve { initial: 5.0, max: 5.0 });
        assert_eq!(delays(oom().with_backoff(max5), 3), [5.0, 5.0, 5.0]);
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": "p", "namespace": "ns", "uid": "u" }, "spec": { "containers": [{ "name": "app" }] },
        }))
        .expect("pod");
        let printed: Vec<String> = oom()
            .with_backoff(max30)
            .filter_map(|t| t.status.filter(|s| matches!(s.state, State::CrashLoopBackOff { .. })))
            .take(4)
            .map(|s| printed_delay(&s.to_json(&pod, "i", &|t| crate::timestamp(wall_seconds(t)))).expect("a delay"))
            .collect();
        assert_eq!(printed, ["10s", "20s", "30s", "30s"]);

        assert_eq!("default".parse(), Ok(BackoffCurve::default()));
        assert_eq!("reduced".parse(), Ok(BackoffCurve::reduced()));
        assert_eq!("max=2m".parse(), Ok(BackoffCurve { initial: 10.0, max: 120.0 }));
        assert_eq!("max=45".parse(), Ok(BackoffCurve { initial: 10.0, max: 45.0 }));
        assert_eq!("max=1s".parse(), BackoffCurve::reduced().with_max(1.0));
        for (bad, why) in [
            ("fast", "unknown back-off curve \"fast\""),
            ("reduced,30s", "not max=DURATION"),
            ("max=soon", "not a duration"),
            ("max=0s", "from 1s to 5m0s"),
            ("max=301s", "from 1s to 5m0s"),
            ("max=1500ms", "whole seconds"),
        ] {
            let err = bad.parse::<BackoffCurve>().expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        let shown: Vec<String> =
            [BackoffCurve::default(), BackoffCurve::reduced(), max30, max5].iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["10s doubling to 5m0s", "1s doubling to 1m0s", "10s doubling to 30s", "5s"]);
    }

    #[test]
    fn a_crashing_sidecar_restarts_with_backoff_beside_the_running_app() {
        let (manifest, subject) = planned(Scenario::Sidecar);
        let sidecar = Lifecycle::new(Scenario::Sidecar, subject, 0).with_runs(vec![5.0]);
        let first: Vec<Transition> = sidecar.clone().take(6).collect();
        let at: Vec<f64> = first.iter().map(|t| t.at).collect();
        assert_eq!(at, [0.0, 2.0, 3.0, 7.0, 8.0, 13.0]);
        let started: Vec<Vec<String>> = first[1..3]
            .iter()
            .map(|t| t.events.iter().map(|e| format!("{} {:?}", e.message, e.container)).collect())
            .collect();
        assert_eq!(started[0][2], "Started container log-shipper Some(Sidecar)");
        assert_eq!(started[1][2], "Started container app Some(App)");
        let statuses: Vec<Status> = sidecar.clone().take_while(|t| t.at < 200.0).filter_map(|t| t.status).collect();
        assert!(statuses[2..].iter().all(|s| s.state == State::Running { started: 3.0 } && s.restarts == 0));
        assert!(statuses[2..].iter().all(|s| s.phase() == "Running"));
        let looping: Vec<(i32, f64)> = statuses
            .iter()
            .filter_map(|s| match s.of(Which::Sidecar)? {
                Status { state: State::CrashLoopBackOff { delay }, restarts, .. } => Some((*restarts, *delay)),
                _ => None,
            })
            .collect();
        assert_eq!(looping[..3], [(1, 10.0), (2, 20.0), (3, 40.0)]);
        let backoff = sidecar.clone().flat_map(|t| t.events).find(|e| e.reason == "BackOff").expect("a BackOff");
        assert_eq!(backoff.container, Some(Which::Sidecar));
        assert!(backoff.message.starts_with("Back-off restarting failed container log-shipper in pod ingest-0-"));
        assert_eq!(Which::Sidecar.field_path(), "spec.initContainers{log-shipper}");

        // What the kubelet writes: the sidecar in initContainerStatuses, the pod initialized.
        let deep = snapshot(sidecar.clone(), 3, 900.0);
        assert_eq!(deep.status.backing_off().map(|c| c.restarts), Some(3));
        let pod: Pod = serde_json::from_value(manifest.clone()).expect("pod");
        let body =
            deep.status.pod_status(&pod, "registry.example/ingest:1.0.2", &|t| crate::timestamp(wall_seconds(t)));
        assert_eq!(body["initContainerStatuses"][0]["name"], SIDECAR);
        assert_eq!(body["initContainerStatuses"][0]["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(body["containerStatuses"][0]["state"]["running"]["startedAt"], crate::timestamp(T0 + 3));
        let initialized = &body["conditions"][0];
        assert_eq!((&initialized["type"], &initialized["status"]), (&json!("Initialized"), &json!("True")));
        assert!(initialized.get("reason").is_none(), "{initialized}");
        let creating = Lifecycle::new(Scenario::Sidecar, planned(Scenario::Sidecar).1, 0).next().expect("created");
        let body = creating.status.expect("a status").pod_status(&pod, "i", &|t| crate::timestamp(wall_seconds(t)));
        assert_eq!(body["initContainerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
        assert_eq!(body["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing");
    }

    #[test]
    fn a_jobs_sidecar_is_stopped_once_the_job_completes_and_the_pod_succeeds() {
        let (manifest, subject) = planned(Scenario::SidecarJob);
        let job = Lifecycle::new(Scenario::SidecarJob, subject, 0).with_runs(vec![30.0]);
        let all: Vec<Transition> = job.clone().collect();
        assert_eq!(all.iter().map(|t| t.at).collect::<Vec<_>>(), [0.0, 2.0, 3.0, 33.0, 34.0], "then nothing");
        let end = all.last().and_then(|t| t.status.clone()).expect("a final status");
        assert_eq!(end.state, State::Exited(Exit { reason: "Completed", exit_code: 0, started: 3.0, finished: 33.0 }));
        let stopped = Exit { reason: "Error", exit_code: 143, started: 2.0, finished: 34.0 };
        assert_eq!(end.of(Which::Sidecar).map(|s| &s.state), Some(&State::Exited(stopped)));
        assert_eq!((end.phase(), all[3].status.as_ref().map(Status::phase)), ("Succeeded", Some("Running")));
        assert_eq!(
            all[4].events,
            [normal("Killing", "Stopping container log-shipper".into()).on(Some(Which::Sidecar))]
        );
        assert_eq!(manifest["spec"]["restartPolicy"], "Never");
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
        assert!(Scenario::Sidecar.crash_loops() && !Scenario::SidecarJob.crash_loops());
        let job = snapshot(Lifecycle::new(Scenario::SidecarJob, subject(), 3), 3, 900.0);
        assert_eq!((job.status.phase(), job.status.backing_off()), ("Succeeded", None));
    }

    #[test]
    fn snapshot_stops_inside_the_requested_backoff() {
        let oom = Lifecycle::new(Scenario::Oom, subject(), 5);
        let s = snapshot(oom, 3, 600.0);
        assert_eq!(s.status.restarts, 3);
        assert_eq!(s.status.state, State::CrashLoopBackOff { delay: 40.0 });
        assert!(s.events.iter().any(|(_, e)| e.reason == "BackOff"));
        let healthy = snapshot(Lifecycle::new(Scenario::Healthy, subject(), 5), 3, 600.0);
        assert_eq!((healthy.at, &healthy.status.state), (600.0, &State::Running { started: 2.0 }));
        let image = snapshot(Lifecycle::new(Scenario::Image, subject(), 5), 3, 600.0);
        assert!(matches!(image.status.state, State::ImagePullBackOff | State::ErrImagePull { .. }));
    }
}

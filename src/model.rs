//! The slim pod view the exporter keeps, and the parsers that build it.
//!
//! A [`SlimPod`] is deserialized straight from the apiserver's Pod JSON through private
//! wire types (`#[serde(from)]`): only the fields the metrics need survive. Free text
//! (waiting and termination messages) is reduced to bounded values while decoding
//! (a back-off delay, a missing object, a [`Hint`]) and then dropped. Everything is
//! tolerant: a field of an unexpected shape becomes "unknown", never a decode error,
//! so one odd pod can't stall the list of all the others.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use serde::Deserialize;

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

/// The kubelet's back-off reset window: a container that ran this long is no longer looping.
pub const BACKOFF_RESET_SECONDS: i64 = 600;
/// The kubelet's default initial crash-loop back-off.
pub const INITIAL_BACKOFF_SECONDS: f64 = 10.0;
/// The kubelet's default maximum crash-loop back-off.
pub const MAX_BACKOFF_SECONDS: f64 = 300.0;
/// Longest name kept from an event or message (object names are at most 253 bytes).
pub const MAX_NAME_BYTES: usize = 253;

/// Declares a bounded label enum with its string form, parsed case-sensitively with an
/// `Other` fallback so unknown values from the API never become label values.
macro_rules! bounded_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant,)+ Other }
        impl $name {
            /// Every value, `Other` last: the documented label set.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+ $name::Other];
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ $name::Other => "other" }
            }
            /// Parses the API's string; anything unknown is `Other`.
            pub fn parse(s: &str) -> Self {
                match s { $($text => $name::$variant,)+ _ => $name::Other }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

bounded_enum! {
    /// `state.waiting.reason`, bounded to the reasons the kubelet and runtimes set.
    WaitingReason {
        ContainerCreating => "ContainerCreating",
        PodInitializing => "PodInitializing",
        CrashLoopBackOff => "CrashLoopBackOff",
        ErrImagePull => "ErrImagePull",
        ImagePullBackOff => "ImagePullBackOff",
        ImageInspectError => "ImageInspectError",
        ErrImageNeverPull => "ErrImageNeverPull",
        InvalidImageName => "InvalidImageName",
        RegistryUnavailable => "RegistryUnavailable",
        CreateContainerConfigError => "CreateContainerConfigError",
        CreateContainerError => "CreateContainerError",
        RunContainerError => "RunContainerError",
        PreStartHookError => "PreStartHookError",
        PostStartHookError => "PostStartHookError",
    }
}

bounded_enum! {
    /// `terminated.reason`, bounded to the reasons runtimes and the kubelet set.
    TerminationReason {
        OomKilled => "OOMKilled",
        Error => "Error",
        Completed => "Completed",
        StartError => "StartError",
        ContainerCannotRun => "ContainerCannotRun",
        ContainerStatusUnknown => "ContainerStatusUnknown",
        DeadlineExceeded => "DeadlineExceeded",
        Evicted => "Evicted",
    }
}

impl WaitingReason {
    /// Image pull problems: the container never ran.
    pub fn is_image_problem(self) -> bool {
        use WaitingReason::*;
        matches!(
            self,
            ErrImagePull
                | ImagePullBackOff
                | ImageInspectError
                | ErrImageNeverPull
                | InvalidImageName
                | RegistryUnavailable
        )
    }
}

/// Where a container is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContainerType {
    Regular,
    Init,
    /// An init container with `restartPolicy: Always`.
    Sidecar,
    Ephemeral,
}

impl ContainerType {
    pub const ALL: &'static [ContainerType] = &[Self::Regular, Self::Init, Self::Sidecar, Self::Ephemeral];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Init => "init",
            Self::Sidecar => "sidecar",
            Self::Ephemeral => "ephemeral",
        }
    }
}

/// What a waiting or termination message says, reduced to a bounded value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Hint {
    #[default]
    None,
    /// `exec: "x": executable file not found in $PATH` / `no such file or directory`.
    ExecutableNotFound,
    /// `permission denied` at exec.
    PermissionDenied,
    /// `exec format error`: an image built for another architecture.
    ExecFormatError,
}

/// The kind of object a pod waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    ConfigMap,
    Secret,
    Pvc,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigMap => "configmap",
            Self::Secret => "secret",
            Self::Pvc => "pvc",
        }
    }
}

/// A ConfigMap, Secret or PVC that a pod needs and the cluster doesn't have.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissingObject {
    pub kind: ObjectKind,
    pub name: String,
    /// Set when the object exists but a key in it doesn't.
    pub key: Option<String>,
}

/// A container's `state.waiting`, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub reason: WaitingReason,
    /// The kubelet's current back-off, parsed from `back-off 2m40s restarting failed container=…`.
    pub backoff_seconds: Option<f64>,
    pub hint: Hint,
    pub missing: Option<Box<MissingObject>>,
}

/// A container's `state.terminated` or `lastState.terminated`, reduced.
#[derive(Clone, Debug, PartialEq)]
pub struct Termination {
    pub exit_code: i32,
    pub reason: TerminationReason,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub hint: Hint,
}

impl Termination {
    /// The signal that ended the process: the kubelet leaves `signal` empty, so it is
    /// derived from the shell convention `128 + N`.
    pub fn signal(&self) -> Option<i32> {
        (self.exit_code > 128 && self.exit_code < 128 + 65).then(|| self.exit_code - 128)
    }

    /// Ended otherwise than by exiting 0 as `Completed`: a non-zero exit, an OOM kill, a
    /// start error, an unknown end.
    pub fn is_failure(&self) -> bool {
        self.exit_code != 0 || self.reason != TerminationReason::Completed
    }

    /// How long the instance ran, where both ends are known.
    pub fn run_seconds(&self) -> Option<i64> {
        Some(self.finished_at? - self.started_at?)
    }
}

/// A container's current state.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum State {
    /// No status yet (pod not started, or status not reported).
    #[default]
    Unknown,
    Waiting(Waiting),
    Running {
        started_at: Option<Timestamp>,
    },
    Terminated(Termination),
}

impl State {
    pub fn label(&self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Waiting(_) => "waiting",
            State::Running { .. } => "running",
            State::Terminated(_) => "terminated",
        }
    }
    pub const LABELS: &'static [&'static str] = &["waiting", "running", "terminated", "unknown"];

    pub fn waiting(&self) -> Option<&Waiting> {
        match self {
            State::Waiting(w) => Some(w),
            _ => None,
        }
    }
}

/// What the exporter remembers of a container across watch events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// `restartCount` at the last observation.
    pub observed_restarts: u32,
    /// Consecutive restarts whose instance ran less than the back-off reset window.
    pub fast_restarts: u32,
    /// When the current crash loop began (first observation of it).
    pub loop_since: Option<Timestamp>,
    /// Terminations observed through restartCount deltas, and the failed last one of a
    /// container that has ended ([`has_ended`]), by reason.
    pub terminations: Terminations,
    /// The container has ended and its last termination was taken into `terminations`
    /// (or into the baseline): it is never counted twice.
    pub end_seen: bool,
}

/// Terminations counted by reason (`OOMKilled`, `Error`, `Completed`, `StartError`, other).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terminations(pub [u32; 5]);

impl Terminations {
    pub const REASONS: [&'static str; 5] = ["OOMKilled", "Error", "Completed", "StartError", "other"];
    fn slot(reason: TerminationReason) -> usize {
        match reason {
            TerminationReason::OomKilled => 0,
            TerminationReason::Error => 1,
            TerminationReason::Completed => 2,
            TerminationReason::StartError => 3,
            _ => 4,
        }
    }
    pub fn add(&mut self, reason: TerminationReason, n: u64) {
        let slot = &mut self.0[Self::slot(reason)];
        *slot = slot.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }
    pub fn get(&self, reason: TerminationReason) -> u64 {
        u64::from(self.0[Self::slot(reason)])
    }
    /// Nothing counted yet.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

/// One container: its spec facts and status, merged.
#[derive(Clone, Debug, PartialEq)]
pub struct SlimContainer {
    pub name: Name,
    pub container_type: ContainerType,
    pub memory_limit_bytes: Option<u64>,
    pub has_liveness_probe: bool,
    pub has_readiness_probe: bool,
    pub has_startup_probe: bool,
    pub restart_count: u32,
    pub state: State,
    /// The last termination and the history, which most containers never have: boxed, so
    /// a healthy container does not pay for them (see BENCHMARKS.md).
    past: Option<Box<Past>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Past {
    last_termination: Option<Termination>,
    history: History,
}

static NO_HISTORY: History = History {
    observed_restarts: 0,
    fast_restarts: 0,
    loop_since: None,
    terminations: Terminations([0; 5]),
    end_seen: false,
};

impl SlimContainer {
    /// A container of this name and type with nothing known of its status yet.
    pub fn new(name: &str, container_type: ContainerType) -> Self {
        SlimContainer {
            name: intern(name),
            container_type,
            memory_limit_bytes: None,
            has_liveness_probe: false,
            has_readiness_probe: false,
            has_startup_probe: false,
            restart_count: 0,
            state: State::Unknown,
            past: None,
        }
    }

    /// `lastState.terminated`: the termination before the current instance.
    pub fn last_termination(&self) -> Option<&Termination> {
        self.past.as_ref()?.last_termination.as_ref()
    }

    /// The most recent termination: `state.terminated` while the container is terminated
    /// (between an exit and the back-off, or for good once it has ended), else
    /// `lastState.terminated`. The `last_terminated_*` series and the causes read this one.
    pub fn latest_termination(&self) -> Option<&Termination> {
        match &self.state {
            State::Terminated(t) => Some(t),
            _ => self.last_termination(),
        }
    }

    /// What the tracker carried over from earlier versions of the pod.
    pub fn history(&self) -> &History {
        self.past.as_ref().map_or(&NO_HISTORY, |p| &p.history)
    }

    pub fn set_last_termination(&mut self, last: Option<Termination>) {
        self.update_past(|p| p.last_termination = last);
    }

    pub fn set_history(&mut self, history: History) {
        self.update_past(|p| p.history = history);
    }

    fn update_past(&mut self, f: impl FnOnce(&mut Past)) {
        let past = self.past.get_or_insert_with(Box::default);
        f(past);
        if **past == Past::default() {
            self.past = None;
        }
    }
}

/// A restart policy: a pod's `spec.restartPolicy`, or what the kubelet applies to one of
/// its containers ([`SlimPod::restart_policy_of`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    /// `spec.restartPolicy`; absent or unknown is the API's default, `Always`.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("OnFailure") => Self::OnFailure,
            Some("Never") => Self::Never,
            _ => Self::Always,
        }
    }
}

/// A Pod's `status.phase`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Unknown,
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// The owning workload, derived from owner references without another watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub kind: Name,
    pub name: Name,
}

/// The slim projection of a Pod that the reflector caches.
///
/// `metadata` keeps only name and namespace, and resourceVersion until the watch has read
/// it ([`SlimPod::settle`]); `labels`, `annotations` and `managedFields` are never decoded.
#[derive(Resource, Clone, Debug, Deserialize)]
#[resource(inherit = "Pod")]
#[serde(from = "wire::Pod")]
pub struct SlimPod {
    pub metadata: ObjectMeta,
    /// Kept outside `metadata`, so the store's keys don't copy it.
    pub uid: Box<str>,
    pub workload: Workload,
    pub phase: Phase,
    /// `status.reason == "Evicted"`.
    pub evicted: bool,
    /// `spec.restartPolicy`.
    pub restart_policy: RestartPolicy,
    pub containers: Vec<SlimContainer>,
    /// True once the tracker has carried history into this object.
    pub tracked: bool,
    /// The lines every pod has, pre-rendered at ingest ([`crate::metrics::PodLines`]).
    pub lines: Option<crate::metrics::PodLines>,
}

impl SlimPod {
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Drops what only the watch needed (the resourceVersion, which the store's key
    /// would otherwise copy) once the watch has read it.
    pub fn settle(mut self) -> Self {
        self.metadata.resource_version = None;
        self
    }
    pub fn container(&self, name: &str) -> Option<&SlimContainer> {
        self.containers.iter().find(|c| *c.name == *name)
    }

    /// The restart policy the kubelet applies to `c` (see [`restart_policy_of`]).
    pub fn restart_policy_of(&self, c: &SlimContainer) -> RestartPolicy {
        restart_policy_of(self.restart_policy, c.container_type)
    }

    /// Whether `c` has ended: terminated, and the kubelet will not start it again (see
    /// [`has_ended`]).
    pub fn has_ended(&self, c: &SlimContainer) -> bool {
        has_ended(self.phase, self.restart_policy, c)
    }
}

/// The restart policy the kubelet applies to a container of a pod with `pod_policy`: a
/// sidecar always restarts; an init container runs again only after a failure, and not
/// in a `Never` pod; an ephemeral container never runs again; a regular container follows
/// the pod.
pub fn restart_policy_of(pod_policy: RestartPolicy, container_type: ContainerType) -> RestartPolicy {
    match container_type {
        ContainerType::Regular => pod_policy,
        ContainerType::Sidecar => RestartPolicy::Always,
        ContainerType::Init if pod_policy == RestartPolicy::Never => RestartPolicy::Never,
        ContainerType::Init => RestartPolicy::OnFailure,
        ContainerType::Ephemeral => RestartPolicy::Never,
    }
}

/// The one rule for "this container will not run again": it is terminated, and either
/// the pod is `Succeeded` or `Failed` (the kubelet starts nothing in a finished pod) or its
/// restart policy keeps it down (`Never`; `OnFailure` after exit 0). An ended container is
/// never crash-looping, its failed last termination is counted once, and it has a cause
/// only when it failed. Used by the tracker, the verdict and the commands alike.
pub fn has_ended(phase: Phase, pod_policy: RestartPolicy, c: &SlimContainer) -> bool {
    let State::Terminated(t) = &c.state else { return false };
    matches!(phase, Phase::Succeeded | Phase::Failed)
        || match restart_policy_of(pod_policy, c.container_type) {
            RestartPolicy::Always => false,
            RestartPolicy::OnFailure => t.exit_code == 0,
            RestartPolicy::Never => true,
        }
}

/// A shared, immutable string: container names, workload kinds and names repeat across
/// pods, so the cache keeps one copy of each.
pub type Name = Arc<str>;

/// The one copy of `s` (see [`Name`]). Copies no pod holds any more are dropped once the
/// table has doubled since the last sweep. A name is cut to [`MAX_NAME_BYTES`]: owner
/// references and container statuses are not validated by the apiserver.
pub fn intern(s: &str) -> Name {
    let s = truncated(s);
    static TABLE: std::sync::OnceLock<Mutex<(HashSet<Name>, usize)>> = std::sync::OnceLock::new();
    let mut table = TABLE.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(name) = table.0.get(s) {
        return name.clone();
    }
    if table.0.len() >= table.1.max(1024) {
        table.0.retain(|n| Arc::strong_count(n) > 1);
        table.1 = table.0.len() * 2;
    }
    let name: Name = Arc::from(s);
    table.0.insert(name.clone());
    name
}

/// Parses an RFC 3339 timestamp into seconds; anything unparsable is `None`.
pub fn timestamp(s: Option<&str>) -> Option<Timestamp> {
    s?.parse::<k8s_openapi::jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Parses a Go `time.Duration` string (`10s`, `1m20s`, `5m0s`, `1h0m0s`, `500ms`) into seconds.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let mut rest = s.trim();
    if rest.is_empty() || rest.len() > 64 {
        return None;
    }
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    total.is_finite().then_some(total)
}

/// Parses the kubelet's crash-loop waiting message, `back-off 2m40s restarting failed
/// container=…` (older kubelets: `Back-off …`), into the delay in seconds.
pub fn parse_backoff_message(message: &str) -> Option<f64> {
    let head = message.get(..9)?;
    if !head.eq_ignore_ascii_case("back-off ") {
        return None;
    }
    let rest = &message[9..];
    let token = rest.split_whitespace().next()?;
    parse_go_duration(token)
}

/// Parses a Kubernetes resource quantity (`128Mi`, `1Gi`, `500M`, `1e9`) into whole units.
pub fn parse_quantity(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let value = (number * scale).ceil();
    (value.is_finite() && value >= 0.0).then_some(value as u64)
}

/// Reduces a runtime error message to a [`Hint`].
pub fn classify_exec_message(message: &str) -> Hint {
    let m = message.to_ascii_lowercase();
    if m.contains("executable file not found") || (m.contains("exec:") && m.contains("no such file or directory")) {
        Hint::ExecutableNotFound
    } else if m.contains("exec format error") {
        Hint::ExecFormatError
    } else if m.contains("permission denied") {
        Hint::PermissionDenied
    } else {
        Hint::None
    }
}

/// Finds the object a kubelet message says is missing:
/// `configmap "x" not found`, `secret "x" not found`,
/// `persistentvolumeclaim "x" not found`, `couldn't find key K in ConfigMap ns/x`.
pub fn parse_missing_object(message: &str) -> Option<MissingObject> {
    let lower = message.to_ascii_lowercase();
    for (word, kind) in [
        ("configmap \"", ObjectKind::ConfigMap),
        ("secret \"", ObjectKind::Secret),
        ("persistentvolumeclaim \"", ObjectKind::Pvc),
    ] {
        if let Some(start) = lower.find(word) {
            let name_start = start + word.len();
            let len = message[name_start..].find('"')?;
            if lower[name_start + len..].starts_with("\" not found") {
                return Some(MissingObject { kind, name: bounded(&message[name_start..name_start + len]), key: None });
            }
        }
    }
    let at = lower.find("couldn't find key ")?;
    let rest = &message[at + "couldn't find key ".len()..];
    let (key, rest) = rest.split_once(" in ")?;
    let (kind_word, object) = rest.split_once(' ')?;
    let kind = match kind_word.to_ascii_lowercase().as_str() {
        "configmap" => ObjectKind::ConfigMap,
        "secret" => ObjectKind::Secret,
        _ => return None,
    };
    let object = object.split_whitespace().next()?;
    let name = object.rsplit('/').next().unwrap_or(object).trim_end_matches(['.', ',', ';']);
    Some(MissingObject { kind, name: bounded(name), key: Some(bounded(key)) })
}

fn bounded(s: &str) -> String {
    truncated(s).to_string()
}

/// `s` cut to at most [`MAX_NAME_BYTES`], on a character boundary.
fn truncated(s: &str) -> &str {
    let mut end = s.len().min(MAX_NAME_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Derives the owning workload: a ReplicaSet named `<deployment>-<pod-template-hash>` maps
/// to its Deployment, a Job named `<cronjob>-<scheduled minutes>` to its CronJob; other
/// owners are reported as they are, and a bare pod as kind `Pod`.
pub fn workload_of(pod_name: &str, owner: Option<&OwnerReference>, template_hash: Option<&str>) -> Workload {
    let Some(owner) = owner else {
        return Workload { kind: intern("Pod"), name: intern(pod_name) };
    };
    let (kind, name) = (owner.kind.as_str(), owner.name.as_str());
    let derived = match kind {
        "ReplicaSet" => template_hash
            .filter(|h| !h.is_empty())
            .and_then(|h| name.strip_suffix(h)?.strip_suffix('-'))
            .map(|d| ("Deployment", d)),
        "Job" => name
            .rsplit_once('-')
            .filter(|(_, t)| t.len() >= 8 && t.bytes().all(|b| b.is_ascii_digit()))
            .map(|(c, _)| ("CronJob", c)),
        _ => None,
    };
    let (kind, name) = derived.unwrap_or((kind, name));
    Workload { kind: intern(kind), name: intern(name) }
}

/// Carries history from the previous version of a pod into a new one, counting the
/// restarts in between. `baseline` is true while the exporter's first list is read:
/// restarts that happened before start are then taken as the baseline, not counted.
pub fn track(previous: Option<&SlimPod>, mut pod: SlimPod, now: Timestamp, baseline: bool) -> SlimPod {
    let previous = previous.filter(|p| p.uid() == pod.uid() && p.tracked);
    let (phase, policy) = (pod.phase, pod.restart_policy);
    for c in &mut pod.containers {
        let prev = previous
            .and_then(|p| p.containers.iter().find(|pc| pc.name == c.name && pc.container_type == c.container_type));
        let ended = has_ended(phase, policy, c);
        let history = match prev {
            Some(prev) => advance(prev.history(), c, now, ended, false),
            None => first_history(c, now, ended, baseline),
        };
        c.set_history(history);
    }
    pod.tracked = true;
    pod
}

fn ran_long(t: Option<&Termination>) -> bool {
    t.and_then(Termination::run_seconds).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
}

fn in_crashloop_backoff(c: &SlimContainer) -> bool {
    c.state.waiting().is_some_and(|w| w.reason == WaitingReason::CrashLoopBackOff)
}

fn first_history(c: &SlimContainer, now: Timestamp, ended: bool, baseline: bool) -> History {
    let mut h = History { observed_restarts: if baseline { c.restart_count } else { 0 }, ..Default::default() };
    // Without history, assume the restarts so far were a fast streak unless the last one ran long.
    h.fast_restarts = if ran_long(c.last_termination()) { 1.min(c.restart_count) } else { c.restart_count };
    advance(&h, c, now, ended, baseline)
}

/// `ended` is [`has_ended`]; `baseline` is true when an end seen now happened before the
/// exporter started (its first list), so it is not counted.
fn advance(prev: &History, c: &SlimContainer, now: Timestamp, ended: bool, baseline: bool) -> History {
    let mut h = prev.clone();
    let restarts = c.restart_count;
    if restarts < prev.observed_restarts {
        // restartCount is best effort and may be reset (node restart): take a new baseline.
        h.observed_restarts = restarts;
    } else if restarts > prev.observed_restarts {
        let delta = restarts - prev.observed_restarts;
        let reason = c.last_termination().map_or(TerminationReason::Other, |t| t.reason);
        h.terminations.add(reason, u64::from(delta));
        h.observed_restarts = restarts;
        h.fast_restarts = if ran_long(c.last_termination()) { 1 } else { prev.fast_restarts.saturating_add(delta) };
    }
    if ended {
        // It will not run again: no crash loop, and its last termination counts once.
        h.loop_since = None;
        h.fast_restarts = 0;
        if !h.end_seen {
            if let State::Terminated(t) = &c.state
                && t.is_failure()
                && !baseline
            {
                h.terminations.add(t.reason, 1);
            }
            h.end_seen = true;
        }
        return h;
    }
    let recovered = running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
        || (restarts > prev.observed_restarts && ran_long(c.last_termination()));
    if recovered {
        h.loop_since = None;
        if running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS) {
            h.fast_restarts = 0;
        }
    }
    if h.loop_since.is_none() && (in_crashloop_backoff(c) || h.fast_restarts >= 2) && !recovered_now(c, now) {
        h.loop_since = Some(now);
    }
    h
}

/// Seconds the current instance has been running.
pub fn running_for(c: &SlimContainer, now: Timestamp) -> Option<i64> {
    match c.state {
        State::Running { started_at: Some(t) } => Some(now - t),
        _ => None,
    }
}

fn recovered_now(c: &SlimContainer, now: Timestamp) -> bool {
    running_for(c, now).is_some_and(|s| s >= BACKOFF_RESET_SECONDS)
}

/// The private wire types that mirror just the parts of the Pod JSON that are read.
mod wire {
    use super::*;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::collections::BTreeMap;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Pod {
        metadata: Meta,
        spec: Spec,
        status: Status,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Meta {
        name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
        #[serde(deserialize_with = "template_hash")]
        labels: Option<String>,
        owner_references: Vec<Owner>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Owner {
        #[serde(rename = "apiVersion")]
        api_version: String,
        kind: String,
        name: String,
        uid: String,
        controller: Option<bool>,
    }

    /// Reads only `pod-template-hash` out of the labels map.
    fn template_hash<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of labels")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut hash = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "pod-template-hash" {
                        hash = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(hash)
            }
        }
        d.deserialize_any(V)
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Spec {
        restart_policy: Option<String>,
        containers: Vec<ContainerSpec>,
        init_containers: Vec<ContainerSpec>,
        ephemeral_containers: Vec<ContainerSpec>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct ContainerSpec {
        name: String,
        restart_policy: Option<String>,
        resources: Resources,
        liveness_probe: Option<IgnoredAny>,
        readiness_probe: Option<IgnoredAny>,
        startup_probe: Option<IgnoredAny>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Resources {
        limits: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Status {
        phase: Option<String>,
        reason: Option<String>,
        container_statuses: Vec<ContainerStatus>,
        init_container_statuses: Vec<ContainerStatus>,
        ephemeral_container_statuses: Vec<ContainerStatus>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct ContainerStatus {
        name: String,
        restart_count: i64,
        state: ContainerState,
        last_state: ContainerState,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ContainerState {
        waiting: Option<WaitingWire>,
        running: Option<RunningWire>,
        terminated: Option<TerminatedWire>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct WaitingWire {
        reason: Option<String>,
        message: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct RunningWire {
        started_at: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct TerminatedWire {
        exit_code: i64,
        reason: Option<String>,
        message: Option<String>,
        started_at: Option<String>,
        finished_at: Option<String>,
    }

    fn quantity(v: Option<&serde_json::Value>) -> Option<u64> {
        match v? {
            serde_json::Value::String(s) => parse_quantity(s),
            serde_json::Value::Number(n) => n.as_f64().map(|f| f.max(0.0).ceil() as u64),
            _ => None,
        }
    }

    impl From<TerminatedWire> for Termination {
        fn from(t: TerminatedWire) -> Self {
            Termination {
                exit_code: i32::try_from(t.exit_code).unwrap_or(if t.exit_code < 0 { i32::MIN } else { i32::MAX }),
                reason: t.reason.as_deref().map_or(
                    if t.exit_code == 0 { TerminationReason::Completed } else { TerminationReason::Error },
                    TerminationReason::parse,
                ),
                started_at: timestamp(t.started_at.as_deref()),
                finished_at: timestamp(t.finished_at.as_deref()),
                hint: t.message.as_deref().map(classify_exec_message).unwrap_or_default(),
            }
        }
    }

    impl From<ContainerState> for State {
        fn from(s: ContainerState) -> Self {
            if let Some(t) = s.terminated {
                State::Terminated(t.into())
            } else if let Some(w) = s.waiting {
                let message = w.message.as_deref().unwrap_or("");
                State::Waiting(Waiting {
                    reason: w.reason.as_deref().map_or(WaitingReason::Other, WaitingReason::parse),
                    backoff_seconds: parse_backoff_message(message),
                    hint: classify_exec_message(message),
                    missing: parse_missing_object(message).map(Box::new),
                })
            } else if let Some(r) = s.running {
                State::Running { started_at: timestamp(r.started_at.as_deref()) }
            } else {
                State::Unknown
            }
        }
    }

    impl From<Pod> for SlimPod {
        fn from(p: Pod) -> Self {
            let Pod { metadata, spec, status } = p;
            let name = metadata.name.clone().unwrap_or_default();
            let owner = metadata
                .owner_references
                .into_iter()
                .reduce(|a, b| if a.controller == Some(true) { a } else { b })
                .map(|o| OwnerReference {
                    api_version: o.api_version,
                    kind: o.kind,
                    name: o.name,
                    uid: o.uid,
                    controller: o.controller,
                    block_owner_deletion: None,
                });
            let workload = workload_of(&name, owner.as_ref(), metadata.labels.as_deref());

            let specs = spec
                .containers
                .into_iter()
                .map(|c| (ContainerType::Regular, c))
                .chain(spec.init_containers.into_iter().map(|c| {
                    let kind = if c.restart_policy.as_deref() == Some("Always") {
                        ContainerType::Sidecar
                    } else {
                        ContainerType::Init
                    };
                    (kind, c)
                }))
                .chain(spec.ephemeral_containers.into_iter().map(|c| (ContainerType::Ephemeral, c)));
            let mut containers: Vec<SlimContainer> = specs
                .map(|(container_type, c)| SlimContainer {
                    memory_limit_bytes: quantity(c.resources.limits.get("memory")),
                    has_liveness_probe: c.liveness_probe.is_some(),
                    has_readiness_probe: c.readiness_probe.is_some(),
                    has_startup_probe: c.startup_probe.is_some(),
                    ..SlimContainer::new(&c.name, container_type)
                })
                .collect();

            let statuses = [
                (status.container_statuses, ContainerType::Regular),
                (status.init_container_statuses, ContainerType::Init),
                (status.ephemeral_container_statuses, ContainerType::Ephemeral),
            ];
            for (list, list_type) in statuses {
                for s in list {
                    let same_list = |c: &&mut SlimContainer| {
                        *c.name == *s.name
                            && (c.container_type == list_type
                                || (list_type == ContainerType::Init && c.container_type == ContainerType::Sidecar))
                    };
                    let slot = match containers.iter_mut().find(same_list) {
                        Some(slot) => slot,
                        None => {
                            containers.push(SlimContainer::new(&s.name, list_type));
                            containers.last_mut().expect("just pushed")
                        }
                    };
                    slot.restart_count = u32::try_from(s.restart_count.max(0)).unwrap_or(u32::MAX);
                    slot.state = s.state.into();
                    slot.set_last_termination(s.last_state.terminated.map(Termination::from));
                }
            }

            let phase = match status.phase.as_deref() {
                Some("Pending") => Phase::Pending,
                Some("Running") => Phase::Running,
                Some("Succeeded") => Phase::Succeeded,
                Some("Failed") => Phase::Failed,
                _ => Phase::Unknown,
            };
            SlimPod {
                metadata: ObjectMeta {
                    name: metadata.name,
                    namespace: metadata.namespace,
                    resource_version: metadata.resource_version,
                    ..Default::default()
                },
                uid: metadata.uid.unwrap_or_default().into_boxed_str(),
                workload,
                phase,
                evicted: status.reason.as_deref() == Some("Evicted"),
                restart_policy: RestartPolicy::parse(spec.restart_policy.as_deref()),
                containers,
                tracked: false,
                lines: None,
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn fixture(name: &str) -> SlimPod {
        let path = format!("{}/tests/fixtures/pods/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn ts(s: &str) -> Timestamp {
        s.parse::<k8s_openapi::jiff::Timestamp>().expect("test timestamp").as_second()
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10s"), Some(10.0));
        assert_eq!(parse_go_duration("1m20s"), Some(80.0));
        assert_eq!(parse_go_duration("2m40s"), Some(160.0));
        assert_eq!(parse_go_duration("5m0s"), Some(300.0));
        assert_eq!(parse_go_duration("1h0m0s"), Some(3600.0));
        assert_eq!(parse_go_duration("500ms"), Some(0.5));
        assert_eq!(parse_go_duration("1.5s"), Some(1.5));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        for bad in ["", "s", "10", "10x", "m5", "1m20", "-", "1e400s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_messages_in_both_spellings() {
        let new = "back-off 1m20s restarting failed container=app pod=web-1_prod(4f1c)";
        let old = "Back-off 5m0s restarting failed container=app pod=web-1_prod(4f1c)";
        assert_eq!(parse_backoff_message(new), Some(80.0));
        assert_eq!(parse_backoff_message(old), Some(300.0));
        assert_eq!(parse_backoff_message("BACK-OFF 10s restarting failed container=x pod=y"), Some(10.0));
        assert_eq!(parse_backoff_message("Back-off pulling image \"x\""), None);
        assert_eq!(parse_backoff_message("back-off"), None);
        assert_eq!(parse_backoff_message("é"), None);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("256Mi"), Some(256 * 1024 * 1024));
        assert_eq!(parse_quantity("1Gi"), Some(1 << 30));
        assert_eq!(parse_quantity("64M"), Some(64_000_000));
        assert_eq!(parse_quantity("1e9"), Some(1_000_000_000));
        assert_eq!(parse_quantity("0.5Gi"), Some(1 << 29));
        assert_eq!(parse_quantity("129974272"), Some(129_974_272));
        assert_eq!(parse_quantity("12Zi"), None);
        assert_eq!(parse_quantity("-1Mi"), None);
    }

    #[test]
    fn missing_objects() {
        let cm = parse_missing_object("configmap \"app-config\" not found").expect("configmap");
        assert_eq!((cm.kind, cm.name.as_str(), cm.key), (ObjectKind::ConfigMap, "app-config", None));
        let s = parse_missing_object("Error: secret \"db-creds\" not found").expect("secret");
        assert_eq!((s.kind, s.name.as_str()), (ObjectKind::Secret, "db-creds"));
        let m = parse_missing_object("MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg-v2\" not found")
            .expect("mount");
        assert_eq!((m.kind, m.name.as_str()), (ObjectKind::ConfigMap, "cfg-v2"));
        let pvc = parse_missing_object("persistentvolumeclaim \"data-ledger-0\" not found").expect("pvc");
        assert_eq!((pvc.kind, pvc.name.as_str()), (ObjectKind::Pvc, "data-ledger-0"));
        let key = parse_missing_object("couldn't find key DATABASE_URL in ConfigMap shop/app-config").expect("key");
        assert_eq!(
            (key.kind, key.name.as_str(), key.key.as_deref()),
            (ObjectKind::ConfigMap, "app-config", Some("DATABASE_URL"))
        );
        let skey = parse_missing_object("couldn't find key token in Secret prod/api").expect("secret key");
        assert_eq!((skey.kind, skey.name.as_str()), (ObjectKind::Secret, "api"));
        assert_eq!(parse_missing_object("configmap \"x\" is forbidden"), None);
        assert_eq!(parse_missing_object("secret \"unterminated"), None);
        let long = format!("configmap \"{}\" not found", "a".repeat(10_000));
        assert_eq!(parse_missing_object(&long).map(|m| m.name.len()), Some(MAX_NAME_BYTES));
    }

    #[test]
    fn workloads() {
        let owner =
            |kind: &str, name: &str| OwnerReference { kind: kind.into(), name: name.into(), ..Default::default() };
        let w = |k: &str, n: &str| Workload { kind: k.into(), name: n.into() };
        assert_eq!(
            workload_of("p", Some(&owner("ReplicaSet", "web-7d9c8b6f5")), Some("7d9c8b6f5")),
            w("Deployment", "web")
        );
        assert_eq!(workload_of("p", Some(&owner("ReplicaSet", "bare-rs")), None), w("ReplicaSet", "bare-rs"));
        assert_eq!(workload_of("p", Some(&owner("ReplicaSet", "web-abc")), Some("zzz")), w("ReplicaSet", "web-abc"));
        assert_eq!(workload_of("p", Some(&owner("Job", "nightly-28391040")), None), w("CronJob", "nightly"));
        assert_eq!(workload_of("p", Some(&owner("Job", "migrate-v2")), None), w("Job", "migrate-v2"));
        assert_eq!(workload_of("p", Some(&owner("Job", "db-123")), None), w("Job", "db-123"));
        assert_eq!(workload_of("p", Some(&owner("StatefulSet", "ledger")), None), w("StatefulSet", "ledger"));
        assert_eq!(workload_of("p", Some(&owner("DaemonSet", "agent")), None), w("DaemonSet", "agent"));
        assert_eq!(workload_of("lonely", None, None), w("Pod", "lonely"));
    }

    #[test]
    fn deployment_pod_is_projected() {
        let pod = fixture("deployment-oom-crashloop");
        assert_eq!((pod.namespace(), pod.name()), ("shop", "checkout-7d9c8b6f5-x2zqp"));
        assert_eq!(pod.workload, Workload { kind: "Deployment".into(), name: "checkout".into() });
        assert!(
            pod.metadata.labels.is_none()
                && pod.metadata.annotations.is_none()
                && pod.metadata.managed_fields.is_none()
        );
        assert_eq!(pod.containers.len(), 2);
        let app = pod.container("app").expect("app");
        assert_eq!(app.container_type, ContainerType::Regular);
        assert_eq!(app.restart_count, 5);
        assert_eq!(app.memory_limit_bytes, Some(256 << 20));
        assert!(app.has_liveness_probe && !app.has_startup_probe);
        let w = app.state.waiting().expect("waiting");
        assert_eq!((w.reason, w.backoff_seconds), (WaitingReason::CrashLoopBackOff, Some(160.0)));
        let last = app.last_termination().expect("last");
        assert_eq!((last.exit_code, last.reason, last.signal()), (137, TerminationReason::OomKilled, Some(9)));
        assert_eq!(last.finished_at, Some(ts("2026-11-24T09:20:40Z")));
        assert_eq!(last.run_seconds(), Some(30));
        let proxy = pod.container("proxy").expect("proxy");
        assert_eq!(proxy.state, State::Running { started_at: Some(ts("2026-11-24T09:00:05Z")) });
        assert_eq!(proxy.memory_limit_bytes, Some(1 << 30));
    }

    #[test]
    fn init_containers_and_sidecars() {
        let pod = fixture("init-and-sidecar");
        let types: Vec<_> = pod.containers.iter().map(|c| (&*c.name, c.container_type)).collect();
        assert_eq!(
            types,
            [
                ("ledger", ContainerType::Regular),
                ("migrate", ContainerType::Init),
                ("log-shipper", ContainerType::Sidecar)
            ]
        );
        assert_eq!(pod.workload, Workload { kind: "StatefulSet".into(), name: "ledger".into() });
        let migrate = pod.container("migrate").expect("migrate");
        assert_eq!(migrate.restart_count, 3);
        assert_eq!(migrate.state.waiting().and_then(|w| w.backoff_seconds), Some(40.0));
        assert!(pod.container("log-shipper").is_some_and(|c| c.has_startup_probe));
        assert_eq!(pod.phase, Phase::Pending);
    }

    #[test]
    fn pod_without_status() {
        let pod = fixture("no-status");
        assert_eq!(pod.containers.len(), 1);
        let c = &pod.containers[0];
        assert_eq!((c.restart_count, &c.state, c.memory_limit_bytes), (0, &State::Unknown, Some(64_000_000)));
        assert_eq!(pod.workload, Workload { kind: "Pod".into(), name: "bare".into() });
        assert_eq!(pod.restart_policy, RestartPolicy::Always);
    }

    #[test]
    fn terminations_and_hints() {
        let oom1 = fixture("oom-exit-1");
        let t = oom1.containers[0].last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.signal()), (1, TerminationReason::OomKilled, None));

        let live = fixture("liveness-killed");
        let t = live.containers[0].last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.signal()), (137, TerminationReason::Error, Some(9)));

        let done = fixture("cronjob-completed-restarted");
        let t = done.containers[0].last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.signal()), (0, TerminationReason::Completed, None));
        assert_eq!(done.workload, Workload { kind: "CronJob".into(), name: "nightly".into() });
        assert_ne!(done.restart_policy, RestartPolicy::Always);

        let start = fixture("start-error-not-found");
        let c = &start.containers[0];
        let t = c.last_termination().expect("last");
        assert_eq!((t.exit_code, t.reason, t.hint), (128, TerminationReason::StartError, Hint::ExecutableNotFound));
        let w = c.state.waiting().expect("waiting");
        assert_eq!((w.reason, w.hint), (WaitingReason::RunContainerError, Hint::ExecutableNotFound));

        let cfg = fixture("missing-configmap");
        let w = cfg.containers[0].state.waiting().expect("waiting");
        assert_eq!(w.reason, WaitingReason::CreateContainerConfigError);
        let missing = w.missing.as_deref().expect("missing");
        assert_eq!(
            (missing.kind, missing.name.as_str(), missing.key.as_deref()),
            (ObjectKind::ConfigMap, "app-config", Some("DATABASE_URL"))
        );
    }

    /// A container with nothing to remember keeps no box, and reads as the default.
    #[test]
    fn an_empty_past_is_not_boxed() {
        assert_eq!(NO_HISTORY, History::default());
        let mut c = SlimContainer::new("app", ContainerType::Regular);
        c.set_history(History { observed_restarts: 2, ..Default::default() });
        assert!(c.past.is_some() && c.history().observed_restarts == 2);
        c.set_history(History::default());
        assert!(c.past.is_none() && c.last_termination().is_none());
    }

    #[test]
    fn every_waiting_reason_round_trips_and_unknown_is_other() {
        for r in WaitingReason::ALL.iter().filter(|r| **r != WaitingReason::Other) {
            let json = serde_json::json!({"metadata": {"name": "p", "namespace": "n"},
                "status": {"containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": r.as_str()}}}]}});
            let pod: SlimPod = serde_json::from_value(json).expect("decodes");
            assert_eq!(pod.containers[0].state.waiting().map(|w| w.reason), Some(*r));
        }
        assert_eq!(WaitingReason::parse("SomethingNew"), WaitingReason::Other);
        assert_eq!(TerminationReason::parse("Killed-by-aliens"), TerminationReason::Other);
    }

    #[test]
    fn odd_shapes_decode_without_error() {
        let odd = serde_json::json!({
            "metadata": {"name": "p", "namespace": "n", "labels": null, "ownerReferences": [{"kind": "X"}]},
            "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "lots"}}}]},
            "status": {"containerStatuses": [{"name": "c", "restartCount": -3,
                "state": {"terminated": {"exitCode": 99999999999i64, "finishedAt": "not a time"}},
                "lastState": {"waiting": {}}}, {"name": "ghost", "restartCount": 1}]}
        });
        let pod: SlimPod = serde_json::from_value(odd).expect("decodes");
        let c = pod.container("c").expect("c");
        assert_eq!((c.restart_count, c.memory_limit_bytes), (0, None));
        assert!(matches!(&c.state, State::Terminated(t) if t.exit_code == i32::MAX && t.finished_at.is_none()));
        assert_eq!(
            pod.container("ghost").map(|g| (g.container_type, g.restart_count)),
            Some((ContainerType::Regular, 1))
        );
        let huge = format!("back-off 10s {}", "x".repeat(2 << 20));
        let json = serde_json::json!({"metadata": {"name": "p"}, "status": {"containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": huge}}}]}});
        let pod: SlimPod = serde_json::from_value(json).expect("decodes");
        assert_eq!(pod.containers[0].state.waiting().and_then(|w| w.backoff_seconds), Some(10.0));
    }

    fn with_status(mut pod: SlimPod, f: impl FnOnce(&mut SlimContainer)) -> SlimPod {
        f(&mut pod.containers[0]);
        pod
    }

    #[test]
    fn history_baselines_then_counts_deltas() {
        let t0 = ts("2026-11-24T09:21:00Z");
        let first = track(None, fixture("deployment-oom-crashloop"), t0, true);
        let app = first.container("app").expect("app");
        assert_eq!(
            (app.history().observed_restarts, app.history().terminations.get(TerminationReason::OomKilled)),
            (5, 0)
        );
        assert_eq!(app.history().loop_since, Some(t0));
        assert_eq!(app.history().fast_restarts, 5);

        // One more restart, then a jump of three: all attributed to the last reason seen.
        let next = with_status(fixture("deployment-oom-crashloop"), |c| c.restart_count = 6);
        let second = track(Some(&first), next, t0 + 60, false);
        let next = with_status(fixture("deployment-oom-crashloop"), |c| {
            c.restart_count = 9;
            let last = c.last_termination().map(|t| Termination { reason: TerminationReason::Error, ..t.clone() });
            c.set_last_termination(last);
        });
        let third = track(Some(&second), next, t0 + 120, false);
        let h = &third.container("app").expect("app").history();
        assert_eq!(h.terminations.0, [1, 3, 0, 0, 0]);
        assert_eq!((h.observed_restarts, h.loop_since), (9, Some(t0)));

        // A pod first seen after start counts its restarts from zero.
        let fresh = track(None, fixture("oom-exit-1"), t0, false);
        assert_eq!(fresh.containers[0].history().terminations.get(TerminationReason::OomKilled), 2);

        // restartCount reset (node restart): new baseline, nothing counted, nothing lost.
        let reset = track(
            Some(&third),
            with_status(fixture("deployment-oom-crashloop"), |c| c.restart_count = 1),
            t0 + 180,
            false,
        );
        let h = &reset.container("app").expect("app").history();
        assert_eq!((h.observed_restarts, h.terminations.0), (1, [1, 3, 0, 0, 0]));

        // A new pod with the same name (new uid) starts a new history.
        let mut other = fixture("deployment-oom-crashloop");
        other.uid = "another".into();
        let replaced = track(Some(&third), other, t0 + 240, false);
        assert_eq!(replaced.container("app").expect("app").history().terminations.0, [5, 0, 0, 0, 0]);
    }
}

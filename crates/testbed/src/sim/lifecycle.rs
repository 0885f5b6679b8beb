//! A container's life as the kubelet plays it: a [`Lifecycle`] yields its transitions (a new
//! status, Events due) in simulated time, without end but for a healthy or finished pod;
//! [`snapshot`] plays one forward to the moment `populate` shows.

use std::collections::VecDeque;

use super::backoff::{Backoff, BackoffCurve};
use super::scenario::{CONTAINER, SIDECAR, SIDECAR_IMAGE, Scenario};
use super::seed::{safe_chars, uniform};
use super::status::{Exit, State, Status, Which};

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
/// From a sidecar's start to its pod's regular container's: the kubelet starts that one on
/// its next sync, once the sidecar runs.
pub const SIDECAR_LEAD: f64 = 1.0;

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
pub(super) fn normal(reason: &'static str, message: String) -> Occurrence {
    Occurrence { reason, message, warning: false, container: Some(Which::App) }
}

/// A `Warning` Event about the regular container.
pub(super) fn warning(reason: &'static str, message: String) -> Occurrence {
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

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::{Value, json};

    use super::*;
    use crate::sim::PodPlan;
    use crate::sim::duration::go_duration;

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
        let oom = || Lifecycle::new(Scenario::Oom, subject(), 7);
        assert_eq!(delays(oom().with_backoff(max30), 6), [10.0, 20.0, 30.0, 30.0, 30.0, 30.0]);
        let reduced30: BackoffCurve = "reduced,max=30s".parse().expect("a curve");
        assert_eq!(delays(oom().with_backoff(reduced30), 7), [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
        // Below the initial delay, the initial delay becomes the maximum: a constant interval.
        let max5: BackoffCurve = "max=5s".parse().expect("a curve");
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
        let job = snapshot(Lifecycle::new(Scenario::SidecarJob, subject(), 3), 3, 900.0);
        assert_eq!((job.status.phase(), job.status.backing_off()), ("Succeeded", None));
    }
}

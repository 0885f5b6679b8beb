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
//!
//! One file per concern, each using only those before it: `scenario` (what happens to a
//! pod), `seed` (its variety), `duration` (Go durations), `backoff` (the kubelet's
//! back-offs), `status` (the status JSON a kubelet writes), `lifecycle` (a container's
//! transitions over time), `correlator` (how its Events are written) and `plan` (the pods
//! of a run, their manifests and lifecycles). Only the lifecycle's tests look ahead: they
//! play planned pods.

mod backoff;
mod correlator;
mod duration;
mod lifecycle;
mod plan;
mod scenario;
mod seed;
mod status;

pub use backoff::{
    BACKOFF_RESET, Backoff, BackoffCurve, INITIAL_BACKOFF, MAX_BACKOFF, REDUCED_INITIAL_BACKOFF, REDUCED_MAX_BACKOFF,
};
pub use correlator::{Correlator, EventWrite, SPAM_BURST, SPAM_REFILL_SECONDS};
pub use duration::{go_duration, parse_go_duration};
pub use lifecycle::{
    EXIT_SECONDS, GRACE_SECONDS, Lifecycle, Occurrence, PROBE_FAILURES, PROBE_PERIOD, PULL_SECONDS, SIDECAR_LEAD,
    START_SECONDS, SYNC_SECONDS, Snapshot, Subject, Transition, snapshot,
};
pub use plan::{DEFAULT_MIX, Mix, PodPlan, REPLICAS, namespaces, plan};
pub use scenario::{CONTAINER, SIDECAR, SIDECAR_IMAGE, Scenario};
pub use status::{Exit, State, Status, Which};

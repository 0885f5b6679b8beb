//! A simulated pod's status as the model knows it (each container's state, `restartCount`
//! and `lastState`), and the JSON a kubelet PATCHes for it: `containerStatuses`,
//! `initContainerStatuses` for the sidecar, phase and conditions.

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::duration::go_duration;
use super::scenario::{CONTAINER, SIDECAR, SIDECAR_IMAGE};
use crate::fixtures::{self, Terminated, crashloop_status, running_status, terminated_status, waiting_status};

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
    /// in pods that have one ([`Scenario::has_sidecar`](super::Scenario::has_sidecar)).
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

    pub(super) fn of_mut(&mut self, which: Which) -> &mut Status {
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
        let mut body = fixtures::pod_status(pod, self.phase(), self.container_statuses(pod, image, wall));
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

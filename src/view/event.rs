//! The slim Event: what a kubelet Event about a Pod says, as bounded values. The message
//! is reduced to a [`Signal`] while decoding ([`crate::decode`]) and never stored.

use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

use super::labels::{IgnoredReason, MissingObject, Probe, PullFailure, Refusal};
use crate::clock::Timestamp;

/// What an Event says, reduced to a bounded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    ProbeFailure(Probe),
    ProbeKill(Probe),
    /// `BackOff`: `Back-off restarting failed container`.
    CrashBackOff,
    /// `BackOff`: `Back-off pulling image`, with the category of the pull error the
    /// message carries since 1.32.
    ImagePullBackOff(Option<PullFailure>),
    ImagePullFailed(PullFailure),
    Missing(MissingObject),
    /// `FailedCreatePodSandBox`: the runtime could not create the pod's sandbox (CNI out
    /// of addresses, a RuntimeClass handler the node lacks).
    SandboxFailed,
    /// `FailedMount` or `FailedAttachVolume` that names no missing object: a volume that
    /// exists and cannot be attached or mounted (a CSI timeout, a multi-attach error).
    MountFailed,
    /// `FailedCreate` of a workload's controller: it could not create a pod.
    CreateRefused(Refusal),
    /// Not counted, and why.
    Ignored(IgnoredReason),
    /// A reason the exporter reads, with a message it could not parse.
    Unparsed,
}

/// Which part of the pod an Event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Empty fieldPath: the pod itself.
    Pod,
    Container(String),
    /// A fieldPath that names no container.
    Malformed,
}

/// The controller an Event is about, when it is not a pod (a ReplicaSet, StatefulSet,
/// DaemonSet or Job), named by its workload: a ReplicaSet by its Deployment, a Job by its
/// CronJob, as pods' workloads are named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControllerRef {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// The slim projection of a core/v1 Event about a Pod.
///
/// Decoded by [`crate::decode`] (its `Deserialize` impl lives there).
#[derive(Resource, Clone, Debug)]
#[resource(inherit = "CoreEvent")]
pub struct SlimEvent {
    pub metadata: ObjectMeta,
    /// `None` when the involved object is not a Pod.
    pub pod: Option<PodRef>,
    /// The controller, when the involved object is a ReplicaSet, StatefulSet, DaemonSet or Job.
    pub controller: Option<ControllerRef>,
    pub target: Target,
    pub signal: Signal,
    /// `count`, or `series.count` when `count` is 0 or missing; at least 1.
    pub count: u64,
    /// `lastTimestamp`, else `series.lastObservedTime`, else `eventTime`.
    pub last_seen: Option<Timestamp>,
}

impl SlimEvent {
    /// `(namespace, name)` of the Event object.
    pub fn key(&self) -> (String, String) {
        (self.metadata.namespace.clone().unwrap_or_default(), self.metadata.name.clone().unwrap_or_default())
    }
}

//! Every bounded set the view reduces the API's words to, in one place: the label values
//! the exporter can export (reasons, types, kinds, categories), and the hints a message or
//! a log gives. Each set is closed by construction: [`label_enum!`] writes a set's variants,
//! its values and [`WaitingReason::ALL`]-style lists from one table, and a set read from
//! the API parses anything unknown to `Other`, so free text never becomes a label value.

/// Declares a bounded label enum from one table of `Variant => "label value"`: the enum,
/// `ALL` (every value, in the table's order, so `index` is a value's place in it), `as_str`
/// and `Display`. With `parsed`, for values the API writes: an `Other` variant (label value
/// `other`) last, and `parse`, which gives `Other` for anything unknown.
macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident parsed { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $crate::view::label_enum! { $(#[$meta])* $name { $($(#[$vmeta])* $variant => $text,)+ Other => "other" } }
        impl $name {
            /// Parses the API's string, case-sensitively; anything unknown is `Other`.
            pub fn parse(s: &str) -> Self {
                match s { $($text => $name::$variant,)+ _ => $name::Other }
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }
        impl $name {
            /// Every value, in the table's order: the documented label set.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
            /// Its place in [`Self::ALL`].
            #[inline]
            pub fn index(self) -> usize {
                self as usize
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use label_enum;

label_enum! {
    /// `state.waiting.reason`, bounded to the reasons the kubelet and runtimes set.
    WaitingReason parsed {
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
        SignatureValidationFailed => "SignatureValidationFailed",
        ErrImageNotEnsured => "ErrImageNotEnsured",
        RestartingAllContainers => "RestartingAllContainers",
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
                | SignatureValidationFailed
                | ErrImageNotEnsured
        )
    }
}

label_enum! {
    /// `terminated.reason`, bounded to the reasons runtimes and the kubelet set.
    TerminationReason parsed {
        OomKilled => "OOMKilled",
        Error => "Error",
        Completed => "Completed",
        StartError => "StartError",
        ContainerCannotRun => "ContainerCannotRun",
        ContainerStatusUnknown => "ContainerStatusUnknown",
        DeadlineExceeded => "DeadlineExceeded",
        Evicted => "Evicted",
        Unknown => "Unknown",
        RestartingAllContainers => "RestartingAllContainers",
    }
}

impl TerminationReason {
    /// The reasons terminations are counted by, every other one as `Other`: the label
    /// values of `crashloop_container_terminations_total`, each at its slot in
    /// [`crate::view::Terminations`].
    pub const COUNTED: [TerminationReason; 5] =
        [Self::OomKilled, Self::Error, Self::Completed, Self::StartError, Self::Other];

    /// Its slot in [`Self::COUNTED`]: its own, or `Other`'s.
    pub fn counted_slot(self) -> usize {
        Self::COUNTED.iter().position(|r| *r == self).unwrap_or(Self::COUNTED.len() - 1)
    }

    /// The runtime or the node lost the container or could not start it: `StartError`
    /// (containerd, exit 128), `ContainerStatusUnknown` (the kubelet, 137: the container
    /// could not be located) and `Unknown` (containerd, 255: its state was lost).
    pub fn is_runtime_problem(self) -> bool {
        matches!(self, Self::StartError | Self::ContainerStatusUnknown | Self::Unknown)
    }
}

label_enum! {
    /// Why the node or the control plane ended, or is ending, a pod: none of these is a
    /// failure of the app. Read from `status.reason` and the `DisruptionTarget` condition
    /// (`crate::decode`'s `disruption_of` holds the rule).
    Disruption parsed {
        Evicted => "evicted",
        ApiEvicted => "api_evicted",
        NodeShutdown => "node_shutdown",
        Preempted => "preempted",
        DeadlineExceeded => "deadline_exceeded",
        AdmissionRejected => "admission_rejected",
        NodeLost => "node_lost",
    }
}

label_enum! {
    /// What a node-pressure eviction names in its message: the node's resource, or the
    /// pod's own ephemeral-storage limit (a container's, the pod's, or an `emptyDir`'s).
    EvictionResource parsed {
        Memory => "memory",
        EphemeralStorage => "ephemeral_storage",
        Pids => "pids",
        StorageLimit => "ephemeral_storage_limit",
    }
}

label_enum! {
    /// Why a controller could not create a pod (a `FailedCreate` Event of its ReplicaSet,
    /// StatefulSet, DaemonSet or Job): a ResourceQuota, Pod Security admission, an
    /// admission webhook, a LimitRange, a ServiceAccount that does not exist.
    Refusal parsed {
        Quota => "quota",
        PodSecurity => "pod_security",
        Webhook => "webhook",
        LimitRange => "limit_range",
        ServiceAccount => "service_account",
    }
}

label_enum! {
    /// Where a container is declared.
    ContainerType {
        Regular => "regular",
        Init => "init",
        /// An init container with `restartPolicy: Always`.
        Sidecar => "sidecar",
        Ephemeral => "ephemeral",
    }
}

label_enum! {
    /// A probe type.
    Probe {
        Liveness => "liveness",
        Readiness => "readiness",
        Startup => "startup",
    }
}

label_enum! {
    /// Why an image pull failed, in the manner of Robusta's table.
    PullFailure {
        NotFound => "not_found",
        Unauthorized => "unauthorized",
        Unreachable => "unreachable",
        Other => "other",
    }
}

label_enum! {
    /// The kind of object a pod waits for.
    ObjectKind {
        ConfigMap => "configmap",
        Secret => "secret",
        Pvc => "pvc",
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
    /// `CreateContainerConfigError` for the container's security context: `runAsNonRoot`
    /// with an image that runs as root, or a user name where a number is needed.
    SecurityContext,
    /// `CreateContainerConfigError` that names no missing object and no security context:
    /// the kubelet could not build the container's config from its spec (a `subPath`, an
    /// env var, a device).
    InvalidConfig,
}

label_enum! {
    /// The memory limit a container runs under: its own, the pod's (pod-level resources,
    /// 1.34), or none, where only the node's memory bounds it.
    MemoryLimitScope {
        Container => "container",
        Pod => "pod",
        Unlimited => "none",
    }
}

/// What the previous instance's log tail says, reduced to a bounded value
/// ([`crate::parse::classify_log`]). The text itself is never kept nor exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogHint {
    PermissionDenied,
    ConfigError,
    DependencyUnavailable,
    OutOfMemory,
    Segfault,
    Crash,
}

// The exporter's own label sets: what it did with what the API sent.

label_enum! {
    /// Why an Event was left out (`crashloop_exporter_events_ignored_total{reason}`).
    IgnoredReason {
        /// Its `involvedObject` is no pod.
        NotAPod => "not_a_pod",
        /// Its pod or controller belongs to another shard.
        OtherShard => "other_shard",
        /// Its pod is not in the cache.
        UnknownPod => "unknown_pod",
        /// It is about an earlier pod of the same name.
        PreviousPod => "previous_pod",
        /// Its `fieldPath` names no container.
        BadFieldPath => "bad_field_path",
        /// A `Killing` Event that no probe caused.
        NotAProbeKill => "not_a_probe_kill",
        /// The kubelet's summary of pull failures already counted.
        PullSummary => "pull_summary",
        /// The kubelet's summary of mount failures (`Unable to attach or mount volumes`).
        MountSummary => "mount_summary",
        /// A scheduler's `FailedScheduling` that names nothing missing.
        Unschedulable => "unschedulable",
        /// It has no time at all.
        NoTime => "no_time",
        /// A `Failed` Event of no failure the exporter reads.
        OtherFailure => "other_failure",
        /// A reason the exporter does not read.
        UninterestingReason => "uninteresting_reason",
        /// It names a missing object by a name (or key) no object can have.
        InvalidName => "invalid_name",
    }
}

label_enum! {
    /// An error from the Kubernetes API (`crashloop_exporter_api_errors_total{kind}`).
    ApiErrorKind {
        Unauthorized => "unauthorized",
        Forbidden => "forbidden",
        NotFound => "not_found",
        Gone => "gone",
        Throttled => "throttled",
        Timeout => "timeout",
        Server => "server",
        Connection => "connection",
        Decode => "decode",
        Auth => "auth",
        NoResourceVersion => "no_resource_version",
        Other => "other",
    }
}

label_enum! {
    /// How a previous-log fetch ended (`crashloop_exporter_log_fetches_total{result}`).
    LogFetchResult {
        Ok => "ok",
        NotFound => "not_found",
        Forbidden => "forbidden",
        Error => "error",
    }
}

label_enum! {
    /// A watch event handled (`crashloop_exporter_watch_events_total{type}`).
    WatchEventType {
        Init => "init",
        InitApply => "init_apply",
        InitDone => "init_done",
        Apply => "apply",
        Delete => "delete",
    }
}

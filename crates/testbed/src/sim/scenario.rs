//! What happens to a simulated pod: its [`Scenario`] (OOM kills, liveness kills, image pulls,
//! missing ConfigMaps, crash-looping sidecars, a Job's sidecar, healthy), and the names of
//! the containers every simulated pod runs.

use std::fmt;

/// The container every simulated pod runs.
pub const CONTAINER: &str = "app";
/// The sidecar of [`Scenario::Sidecar`] and [`Scenario::SidecarJob`] pods: an init container
/// with `restartPolicy: Always`.
pub const SIDECAR: &str = "log-shipper";
/// The sidecar's image.
pub const SIDECAR_IMAGE: &str = "registry.example/log-shipper:2.4.1";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sidecar_crash_loops_and_a_sidecar_job_does_not() {
        assert!(Scenario::Sidecar.crash_loops() && !Scenario::SidecarJob.crash_loops());
    }
}

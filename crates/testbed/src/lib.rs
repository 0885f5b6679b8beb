//! The testbed: a real Kubernetes control plane on loopback (and, with [`Node`], a real
//! node), and helpers to play the kubelet against it. Used by the tests, the benchmarks and
//! the demo; never shipped (`publish = false`).
//!
//! [`Cluster`] starts etcd and kube-apiserver (1.20, built by `.ci/install`) as child
//! processes listening on free `127.0.0.1` ports, with token authentication and RBAC. There is
//! no scheduler, no controller-manager and no kubelet: tests create pods that are already bound
//! to a node (`spec.nodeName`) and then write what a kubelet would write (pod status, events)
//! through the real API with the helpers in this module. For fault tests, [`Proxy`] sits
//! between a client and the apiserver and stalls, slows or cuts its connections, and
//! [`Cluster`] can stop and start either component and compact etcd.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use crashloop_testbed::{self as testbed, Terminated};
//! let cluster = testbed::shared()?; // one apiserver per test binary
//! let client = cluster.client().await?;
//! testbed::ensure_namespace(&client, "t1").await?;
//! let manifest = testbed::deployment_pod("t1", "web", "5d4f8c7b9", "x2x4q",
//!     vec![testbed::container("app", "registry.example/web:1.2")]);
//! let pod = testbed::create_pod(&client, "t1", &manifest).await?;
//! let last = Terminated::new("OOMKilled", 137, testbed::ago(200), testbed::ago(160));
//! let status = testbed::pod_status(&pod, "Running",
//!     vec![testbed::crashloop_status(&pod, "app", 5, "2m40s", &last)]);
//! testbed::patch_status(&client, "t1", "web-5d4f8c7b9-x2x4q", &status).await?;
//! # Ok(()) }
//! ```
//!
//! Binaries are looked up as envtest does: `$KUBEBUILDER_ASSETS` (when it holds both
//! `kube-apiserver` and `etcd`), then `$CRASHLOOP_CACHE/bin` (default
//! `${XDG_CACHE_HOME:-~/.cache}/crashloop-exporter/bin`), then `PATH`.
//!
//! Behaviour of the 1.20 apiserver that matters to tests:
//! - fields it does not know are silently dropped on write (no server-side field validation in
//!   1.20), so `initContainers[].restartPolicy: Always` (native sidecars, 1.28+) does not
//!   survive a round trip: sidecar handling can only be tested with unit fixtures;
//! - a pod bound to a node is deleted only once its kubelet confirms it, unless the delete asks
//!   for `gracePeriodSeconds: 0`, which [`delete_pod`] does.

mod cluster;
mod etcd;
pub mod exporter;
mod fixtures;
pub mod http;
mod kubelet;
pub mod measure;
mod node;
mod oci;
pub mod pki;
mod process;
pub mod prometheus;
mod proxy;
pub mod sim;

pub use cluster::{Cluster, shared};
pub use etcd::EtcdClient;
pub use fixtures::{
    DemoPod, EventSpec, Terminated, ago, container, crashloop_status, demo_pods, deployment_pod, event_manifest,
    fake_uid, job_pod, owned_by, pod, pod_status, running_status, stream_pod, terminated_status, timestamp,
    waiting_status,
};
pub use kubelet::{
    client_from_kubeconfig, create_pod, delete_pod, ensure_namespace, patch_event_count, patch_status, post_event,
    record_event,
};
pub use node::{Node, busybox, busybox_sh, deployment, shared_node};
pub use oci::{ImageConfig, OciArchive, oci_archive};
pub use process::{TempDir, cache_dir, free_port, free_ports};
pub use proxy::Proxy;

/// The `crashloop-sim` binary of the same build as the running test or benchmark: tests run
/// from `target/<profile>/deps/`, the binary sits in `target/<profile>/`. Build it with
/// `cargo build --workspace --bins` (`.ci/test` does).
pub fn sim_binary() -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe().map_err(io("finding the running test binary"))?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| if deps.ends_with("deps") { deps.parent() } else { Some(deps) })
        .ok_or_else(|| Error::Startup(format!("no target directory above {}", exe.display())))?;
    let sim = profile_dir.join("crashloop-sim");
    if sim.is_file() {
        Ok(sim)
    } else {
        Err(Error::MissingBinary {
            name: "crashloop-sim",
            looked_in: profile_dir.display().to_string() + " (run cargo build --workspace --bins)",
        })
    }
}

/// The node every testbed pod is bound to.
pub const NODE_NAME: &str = "node-1";

/// Everything that can go wrong in the testbed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A binary the testbed runs is missing.
    #[error("{name} not found (looked in {looked_in}); run .ci/install")]
    MissingBinary {
        /// `etcd`, `kube-apiserver` or `openssl`.
        name: &'static str,
        /// The places searched, for the message.
        looked_in: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A component did not start, or did not become ready in time.
    #[error("{0}")]
    Startup(String),
    /// Something the API was asked for did not happen in time.
    #[error("{0}")]
    Timeout(String),
    /// The shared cluster failed to start (the first caller saw why).
    #[error("the shared testbed cluster failed to start: {0}")]
    Shared(String),
    /// An unknown testbed user was asked for.
    #[error("unknown testbed user {0:?} (known: admin, limited)")]
    UnknownUser(String),
    /// A manifest built by a test could not be turned into an API object.
    #[error("invalid manifest: {0}")]
    Manifest(#[from] serde_json::Error),
    /// The kubeconfig could not be loaded.
    #[error(transparent)]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// The API answered with an error, or could not be reached.
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// Result type of the testbed.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an I/O error with what was being done.
fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

//! The errors that stop the exporter. The bottom layer: the config, the web config, the
//! listener and the commands all return one, and it names nothing of the crate.

use std::net::SocketAddr;

/// Errors that stop the exporter, each saying what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable kubeconfig or in-cluster config.
    #[error("kubeconfig: {0}\n  pass --kubeconfig PATH (and --context NAME), or run inside a cluster")]
    Kubeconfig(String),
    /// The listen address is taken or not allowed.
    #[error("cannot listen on {0}: {1}\n  choose another address with --listen-address")]
    Listen(SocketAddr, std::io::Error),
    /// A flag or a file given is wrong.
    #[error("{0}")]
    Usage(String),
    /// The API refused a call that cannot be done without.
    #[error("the Kubernetes API refused: {0}\n  check the kubeconfig's user has get/list on pods and events")]
    Api(#[from] kube::Error),
}

//! # crashloop-exporter
//!
//! Tells an on-call engineer which Kubernetes containers are crash-looping, and most
//! likely why, as Prometheus metrics.
//!
//! The exporter keeps a kube-runtime reflector cache of slim pods ([`model::SlimPod`]),
//! turns each pod into per-container verdicts with a pure function ([`diagnose::assess`])
//! and renders them at scrape time ([`metrics`]).
//!
//! Modules, one concern each:
//! - [`app`]: the serve pipeline, assembled;
//! - [`config`]: command-line flags and their environment twins;
//! - [`model`]: the slim pod view, its parsers and the history tracker;
//! - [`diagnose`]: the pure per-container verdict;
//! - [`events`]: kubelet Events turned into bounded counters;
//! - [`watch`]: the pod and event watches feeding the caches;
//! - [`metrics`]: metric families and the scrape-time collector;
//! - [`logs`]: the optional previous-log classifier;
//! - [`http`]: `/metrics`, `/healthz`, `/readyz`;
//! - [`webconfig`]: TLS and basic auth from an exporter-toolkit web config file;
//! - [`report`]: the `scan` and `diagnose` commands;
//! - [`telemetry`]: the logging setup;

pub mod app;
pub mod config;
pub mod diagnose;
pub mod events;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod report;
pub mod telemetry;

pub mod watch;
pub mod webconfig;

use std::net::SocketAddr;

/// Errors that stop the exporter, each saying what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig: {0}\n  pass --kubeconfig PATH (and --context NAME), or run inside a cluster")]
    Kubeconfig(String),
    #[error("cannot listen on {0}: {1}\n  choose another address with --listen-address")]
    Listen(SocketAddr, std::io::Error),
    #[error("{0}")]
    Usage(String),
    #[error("the Kubernetes API refused: {0}\n  check the kubeconfig's user has get/list on pods and events")]
    Api(#[from] kube::Error),
}

/// Seconds since the epoch, injectable: `serve` takes one, tests move it.
pub type Clock = std::sync::Arc<dyn Fn() -> model::Timestamp + Send + Sync>;

/// The wall clock, in seconds since the epoch.
pub fn now() -> model::Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

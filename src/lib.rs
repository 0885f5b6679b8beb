//! # crashloop-exporter
//!
//! Tells an on-call engineer which Kubernetes containers are crash-looping, and most
//! likely why, as Prometheus metrics, and from the command line (`scan`, `diagnose`).
//!
//! A pod becomes metrics in one direction, each step a module that imports only the ones
//! below it (`docs/architecture.md` draws it; `src/layers.rs` holds the table and the test
//! that fails on an upward import):
//!
//! | layer | modules | what |
//! |---|---|---|
//! | 0 | [`view`], `counters` | the slim Pod and Event, interned names; the exporter's own counters |
//! | 1 | [`parse`] | pure parsers of messages, durations, quantities, logs |
//! | 2 | `decode` | Pod and Event JSON → slim view |
//! | 3 | `history`, `event_counts` | the history tracker; Events → bounded counters |
//! | 4 | `verdict` | the rules: crash-loop state, back-off, missing objects, probable cause |
//! | 5 | `store` | the caches and the ingest that fills them (shard, history, prerender) |
//! | 6 | `watch`, `log_fetch` | the API side: the watches, the previous-log fetcher |
//! | 7 | `exposition` | the `/metrics` body: families, scan, encoders, body cache |
//! | 8 | `webconfig` | TLS and basic auth from an exporter-toolkit web config file |
//! | 9 | `http` | `/metrics`, `/healthz`, `/readyz` |
//! | 10 | `config` | command-line flags and their environment twins |
//! | 11 | `commands`, `telemetry` | `scan` and `diagnose`; logging |
//! | 12 | `serve` | the exporter assembled |

mod commands;
mod config;
mod counters;
mod decode;
mod event_counts;
mod exposition;
mod history;
mod http;
mod log_fetch;
pub mod parse;
mod serve;
mod store;
mod telemetry;
mod verdict;
pub mod view;
mod watch;
mod webconfig;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod layers;

pub use commands::{Diagnosis, Row, diagnose, render_diagnosis, render_scan, scan};
pub use config::{
    Cli, ClusterArgs, Command, DiagnoseArgs, LogArgs, Output, ScanArgs, ServeArgs, display_name, kubeconfig_paths,
    merge_kubeconfigs,
};
pub use counters::SelfMetrics;
pub use event_counts::{ContainerEvents, EventCounts, Outcome, PodEvents, RECORD_GRACE_SECONDS};
pub use exposition::{Exposition, Format, PodSource, ProcessStats, families, prerender};
pub use history::track;
pub use log_fetch::{fetch_termination_log, worth_reading};
pub use serve::serve;
pub use store::{EventIngest, LogHints, PodCache, PodIngest, Prerender, Shard, SharedEvents};
pub use telemetry::init as init_logging;
pub use verdict::{Backoff, Cause, ContainerReport, DelaySource, assess, is_quiet};
pub use webconfig::{WebConfig, load as load_web_config};

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
pub type Clock = std::sync::Arc<dyn Fn() -> view::Timestamp + Send + Sync>;

/// The wall clock, in seconds since the epoch.
pub fn now() -> view::Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

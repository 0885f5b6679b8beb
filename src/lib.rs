//! # crashloop-exporter
//!
//! Tells an on-call engineer which Kubernetes containers are crash-looping, and most
//! likely why, as Prometheus metrics, and from the command line (`scan`, `diagnose`).
//!
//! A pod becomes metrics in one direction, each step a module that imports only the ones
//! below it (`docs/architecture.md` draws it; `src/layers.rs` holds the table and the tests
//! that fail on an upward import, and on two files that import each other):
//!
//! | layer | modules | what |
//! |---|---|---|
//! | 0 | `clock`, `error`, `sync` | the time and the injectable clock; the errors that stop the exporter; locking |
//! | 1 | `view` | the slim Pod and Event, their bounded labels, interned names |
//! | 2 | `parse`, `counters`, `fixtures` | pure parsers of messages, durations, quantities, logs; the exporter's own counters, labelled by the view's sets; the tests' pods |
//! | 3 | `decode` | Pod and Event JSON → slim view |
//! | 4 | `history`, `event_counts` | the history tracker; Events → bounded counters |
//! | 5 | `verdict` | the rules: crash-loop state, back-off, missing objects, probable cause |
//! | 6 | `store`, `rollout` | the caches and the ingest that fills them (shard, history, prerender); the rollout to blame |
//! | 7 | `watch`, `log_fetch` | the API side: the watches, the previous-log fetcher |
//! | 8 | `exposition` | the `/metrics` body: families, scan, encoders, body cache |
//! | 9 | `webconfig` | TLS and basic auth from an exporter-toolkit web config file |
//! | 10 | `http` | `/metrics`, `/healthz`, `/readyz` |
//! | 11 | `config` | command-line flags and their environment twins |
//! | 12 | `commands`, `telemetry` | `scan` and `diagnose`; logging |
//! | 13 | `serve` | the exporter assembled |
//! | 14 | `internals` | what the benches, the fuzz targets and the tests reach beneath the surface |
//!
//! The public surface is what the binary uses: [`serve()`], [`scan`] and [`diagnose`] with
//! their renderers, the flags ([`Cli`]), [`Error`], and the clock. The benches, the fuzz
//! targets and the tests reach the pipeline's parts through `internals`, which is hidden
//! and no stable API.

mod clock;
mod commands;
mod config;
mod counters;
mod decode;
mod error;
mod event_counts;
mod exposition;
mod history;
mod http;
#[doc(hidden)]
pub mod internals;
mod log_fetch;
mod parse;
mod rollout;
mod serve;
mod store;
mod sync;
mod telemetry;
mod verdict;
mod view;
mod watch;
mod webconfig;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod layers;

// The surface: what the binary uses.
pub use clock::{Clock, now};
pub use commands::{Diagnosis, Reading, Row, Target, diagnose, fails, render_diagnosis, render_scan, scan};
pub use config::{
    Cli, ClusterArgs, Command, DiagnoseArgs, DiagnoseOutput, FailOn, LogArgs, Output, ScanArgs, ServeArgs, display_name,
};
pub use error::Error;
pub use serve::serve;
pub use telemetry::init as init_logging;
pub use watch::Scope;

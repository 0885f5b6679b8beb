//! The integration tests that need a cluster, in one binary, so the crate links once: each
//! module is one area, and all of them share the testbed's one kube-apiserver
//! (`crashloop_testbed::shared`) and its one real node (`crashloop_testbed::shared_node`),
//! each test in namespaces of its own. One module needs no cluster: `simulator_model`, the
//! simulator's model read by the exporter in process, kept beside `simulator`.
//!
//! Run one area with `cargo test --test cluster <module>::`, e.g. `real_node::`.

mod common;

mod deploy;
mod diagnosis;
mod e2e;
mod escaping;
mod events;
mod faults;
mod http;
mod inhibition;
mod log_hygiene;
mod pods;
mod real_node;
mod simulator;
mod simulator_model;
mod testbed_smoke;
mod webconfig;

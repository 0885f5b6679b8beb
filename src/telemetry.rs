//! Logging: tracing with a RUST_LOG-style filter, as text or JSON.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogArgs, LogFormat};

/// Installs the global subscriber. Logs go to stderr so stdout stays for command output.
pub fn init(args: &LogArgs) -> Result<(), crate::Error> {
    let filter = EnvFilter::try_new(quiet_kube(&args.log_level))
        .map_err(|e| crate::Error::Usage(format!("--log-level {:?} is not a valid filter: {e}", args.log_level)))?;
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    Ok(())
}

/// kube-runtime and kube-client log at every retry of a failing watch (a 403 or a refused
/// connection every back-off step); the exporter reports those errors itself, once
/// (`watch::ErrorLog`). Their lines are kept out unless the filter names them.
fn quiet_kube(filter: &str) -> String {
    if filter.contains("kube") {
        filter.to_string()
    } else {
        format!("{filter},kube_runtime::watcher=error,kube_client::client=error,kube_client::client::builder=off")
    }
}

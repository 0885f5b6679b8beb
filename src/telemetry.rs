//! Logging: tracing with a RUST_LOG-style filter, as text or JSON.
//!
//! **Invariant.** No log line carries an API response body, whatever `--log-level` says:
//! kube's client writes the whole body when it cannot decode one (a pod list holds every
//! `env` value of the cluster), so its module's events are dropped before any filter.

use std::io::IsTerminal;

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Registry, fmt};

use crate::config::{LogArgs, LogFormat};

/// The module of kube's client that logs response bodies (at warn on a decode error, at
/// debug and trace otherwise). The exporter reports the errors itself.
const BODY_LOGGING_TARGET: &str = "kube_client::client";

/// Installs the global subscriber. Logs go to stderr so stdout stays for command output.
pub fn init(args: &LogArgs) -> Result<(), crate::Error> {
    let subscriber = subscriber(args, std::io::stderr, std::io::stderr().is_terminal())?;
    // A second init (tests) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

/// The subscriber of `args`, writing to `writer`.
fn subscriber<W>(
    args: &LogArgs,
    writer: W,
    ansi: bool,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, crate::Error>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(quiet_kube(&args.log_level))
        .map_err(|e| crate::Error::Usage(format!("--log-level {:?} is not a valid filter: {e}", args.log_level)))?;
    let no_bodies = filter_fn(|meta| meta.target() != BODY_LOGGING_TARGET);
    let layer = fmt::layer().with_writer(writer).with_ansi(ansi);
    Ok(match args.log_format {
        LogFormat::Text => Box::new(Registry::default().with(layer.with_filter(no_bodies).with_filter(filter))),
        LogFormat::Json => Box::new(
            Registry::default().with(layer.json().flatten_event(true).with_filter(no_bodies).with_filter(filter)),
        ),
    })
}

/// kube-runtime and kube-client log at every retry of a failing watch (a 403 or a refused
/// connection every back-off step); the exporter reports those errors itself, once
/// (`watch::ErrorLog`). Their lines are kept out unless the filter names them.
fn quiet_kube(filter: &str) -> String {
    if filter.contains("kube") {
        filter.to_string()
    } else {
        format!("{filter},kube_runtime::watcher=error,kube_client::client::builder=off")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use k8s_openapi::api::core::v1::Pod;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            crate::sync::lock_unpoisoned(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A response kube's client cannot decode (an apiserver never sends one; a proxy or a
    /// broken aggregated API may) is logged by it whole, at warn: with every filter, even
    /// one that asks for kube's client at trace, the body stays out of the exporter's log.
    #[test]
    fn a_body_kube_cannot_decode_never_reaches_the_log() {
        const SECRET: &str = "postgres://app:hunter2@db";
        for (format, level) in [
            (LogFormat::Text, "info"),
            (LogFormat::Text, "trace"),
            (LogFormat::Json, "trace,kube=trace,kube_client::client=trace"),
        ] {
            let out = Buffer::default();
            let writer = out.clone();
            let args = LogArgs { log_format: format, log_level: level.to_string() };
            let subscriber = subscriber(&args, move || writer.clone(), false).expect("a subscriber");
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let error = tracing::subscriber::with_default(subscriber, || {
                runtime.block_on(async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
                    let addr = listener.local_addr().expect("address");
                    tokio::spawn(async move {
                        let (mut conn, _) = listener.accept().await.expect("a client");
                        let mut request = vec![0u8; 4096];
                        let _ = conn.read(&mut request).await;
                        // A pod whose containers are not a list, and an env value in it.
                        let body = format!(
                            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"x"}},"spec":{{"containers":{{"env":[{{"name":"DATABASE_URL","value":"{SECRET}"}}]}}}}}}"#
                        );
                        let response = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(response.as_bytes()).await;
                    });
                    let config = kube::Config::new(format!("http://{addr}").parse().expect("a URL"));
                    let client = kube::Client::try_from(config).expect("a client");
                    tracing::info!(target: "crashloop_exporter", "before the request");
                    kube::Api::<Pod>::namespaced(client, "default").get("x").await.map(|_| ())
                })
            });
            assert!(matches!(error, Err(kube::Error::SerdeError(_))), "the body does not decode: {error:?}");
            let logged = String::from_utf8_lossy(&crate::sync::lock_unpoisoned(&out.0)).into_owned();
            assert!(logged.contains("before the request"), "{format:?} {level}: the log works: {logged}");
            assert!(!logged.contains("hunter2"), "{format:?} {level}: the body reached the log: {logged}");
        }
    }
}

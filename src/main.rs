//! Wiring only: flags, logging, the pod watches and the HTTP server.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use crashloop_exporter::config::{Cli, Command, ServeArgs};
use crashloop_exporter::{http, metrics, telemetry, watch, Error};

#[tokio::main]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match Cli::parse().into_command() {
        Command::Serve(args) => serve(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crashloop-exporter: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), Error> {
    telemetry::init(&args.log)?;
    let listener = http::bind(args.listen_address).await?;
    let client = args.cluster.client().await?;
    let clock: Arc<dyn Fn() -> i64 + Send + Sync> = Arc::new(crashloop_exporter::now);
    let self_metrics = metrics::SelfMetrics::default();

    let events = watch::SharedEvents::new(std::sync::Mutex::new(crashloop_exporter::events::EventCounts::new()));
    let scopes: Vec<watch::Scope> = args
        .cluster
        .scopes()
        .into_iter()
        .map(|namespace| watch::Scope {
            namespace,
            label_selector: args.cluster.selector.clone(),
            field_selector: args.cluster.field_selector(),
        })
        .collect();
    let mut caches = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for scope in &scopes {
        let (cache, task) = watch::pods(client.clone(), scope, self_metrics.clone(), events.clone(), clock.clone());
        caches.push(cache);
        tasks.spawn(task);
    }
    for scope in &scopes {
        let scope = watch::Scope { label_selector: None, ..scope.clone() };
        tasks.spawn(watch::events(client.clone(), &scope, caches.clone(), events.clone(), self_metrics.clone(), clock.clone()));
    }

    let log_hints = crashloop_exporter::logs::LogHints::default();
    if args.logs {
        let run = crashloop_exporter::logs::run(
            client.clone(),
            caches.clone(),
            log_hints.clone(),
            self_metrics.log_fetches.clone(),
            args.logs_per_second,
        );
        tasks.spawn(run);
    }

    let ready = Arc::new(AtomicBool::new(false));
    let pending = caches.clone();
    let ready_flag = ready.clone();
    tasks.spawn(async move {
        for cache in pending {
            if !cache.wait_ready().await {
                return;
            }
        }
        ready_flag.store(true, Ordering::Release);
        tracing::info!("initial list complete: ready");
    });

    let source = metrics::PodSource { caches, events, log_hints, healthy_details: args.healthy_container_details, clock };
    let state = http::AppState { registry: Arc::new(metrics::registry(source, &self_metrics)), ready };
    tracing::info!(address = %args.listen_address, "serving /metrics");
    http::serve(listener, state, shutdown_signal()).await;
    tasks.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

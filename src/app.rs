//! The `serve` pipeline: the pod and event watches, the optional log fetcher, and the
//! HTTP server, assembled. `main` calls it with the wall clock and the signals; tests call
//! it with a clock they move.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::ServeArgs;
use crate::{Clock, Error, http, metrics, watch};

/// Runs the exporter until `shutdown` resolves.
pub async fn serve(args: ServeArgs, clock: Clock, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let shard = args.shard()?;
    let web = args.web_config_file.as_deref().map(crate::webconfig::load).transpose()?.unwrap_or_default();
    let listening = http::Listening { max_connections: args.web_max_connections, web: Arc::new(web) };
    let listener = http::bind(args.listen_address).await?;
    let client = args.cluster.client().await?;
    let self_metrics = metrics::SelfMetrics::default();
    self_metrics.set_shard(shard);

    let events = watch::SharedEvents::new(std::sync::Mutex::new(crate::events::EventCounts::new()));
    let scopes: Vec<watch::Scope> = args
        .cluster
        .scopes()
        .into_iter()
        .map(|namespace| watch::Scope {
            namespace,
            label_selector: args.cluster.selector.clone(),
            field_selector: args.cluster.field_selector(),
            shard,
            watch_timeout: Some(args.cluster.watch_timeout),
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
        tasks.spawn(watch::events(
            client.clone(),
            &scope,
            caches.clone(),
            events.clone(),
            self_metrics.clone(),
            clock.clone(),
        ));
    }

    let log_hints = crate::logs::LogHints::default();
    if args.logs {
        let run = crate::logs::run(
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

    let source =
        metrics::PodSource { caches, events, log_hints, healthy_details: args.healthy_container_details, clock };
    let state = http::AppState { exposition: Arc::new(metrics::Exposition::new(source, &self_metrics)), ready };
    let scheme = if listening.web.tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %args.listen_address, scheme, basic_auth = listening.web.users.is_some(), "serving /metrics");
    http::serve(listener, state, listening, shutdown).await;
    tasks.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

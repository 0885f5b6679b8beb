//! The `serve` pipeline: the pod and event watches, the optional log fetcher, and the
//! HTTP server, assembled. `main` calls it with the wall clock and the signals; tests call
//! it with a clock they move.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::ServeArgs;
use crate::counters::SelfMetrics;
use crate::event_counts::EventCounts;
use crate::exposition::{Exposition, PodSource, prerender};
use crate::store::{EventIngest, LogHints, SharedEvents};
use crate::watch::{Scope, event_watch, pod_watch};
use crate::{Clock, Error, http, log_fetch};

/// Runs the exporter until `shutdown` resolves.
pub async fn serve(args: ServeArgs, clock: Clock, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let shard = args.shard()?;
    crate::decode::set_pod_label_allowlist(&args.pod_labels).map_err(Error::Usage)?;
    let web = args.web_config_file.as_deref().map(crate::webconfig::load).transpose()?.unwrap_or_default();
    let listening = http::Listening { max_connections: args.web_max_connections, web: Arc::new(web) };
    let listener = http::bind(args.listen_address).await?;
    let client = args.cluster.client().await?;
    let self_metrics = SelfMetrics::default();
    self_metrics.set_shard(shard.index, shard.total);

    let events = SharedEvents::new(std::sync::Mutex::new(EventCounts::new()));
    let scopes: Vec<Scope> = args.cluster.scopes(shard);
    let mut caches = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for scope in &scopes {
        let (cache, task) =
            pod_watch(client.clone(), scope, self_metrics.clone(), events.clone(), clock.clone(), prerender);
        caches.push(cache);
        tasks.spawn(task);
    }
    for scope in &scopes {
        let ingest = EventIngest::new(caches.clone(), events.clone(), self_metrics.clone(), shard, clock.clone());
        tasks.spawn(event_watch(client.clone(), scope, ingest, self_metrics.clone()));
    }

    let log_hints = LogHints::default();
    if args.logs {
        let run = log_fetch::run(
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

    let source = PodSource {
        caches,
        events,
        log_hints,
        healthy_details: args.healthy_container_details,
        skip_quiet: args.skip_quiet_containers,
        clock,
    };
    let state = http::AppState { exposition: Arc::new(Exposition::new(source, &self_metrics)), ready };
    let scheme = if listening.web.tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %args.listen_address, scheme, basic_auth = listening.web.users.is_some(), "serving /metrics");
    http::serve(listener, state, listening, shutdown).await;
    tasks.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

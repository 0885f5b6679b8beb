//! The exposition: the `/metrics` body, rendered at scrape time from the caches, the Event
//! counts and the log hints, and the exporter's own counters.
//!
//! - [`families`]: every family, defined once;
//! - `source`: what a render reads ([`PodSource`]);
//! - `lines`: the lines every pod has, pre-rendered at ingest ([`prerender`]);
//! - `pass`: one pass over the pods, the verdicts of the containers with detail series;
//! - `encode`: one encoder per family;
//! - `text`: the text encoder, in the Prometheus text format or OpenMetrics;
//! - `body`: the body of a scrape, rendered once for the scrapes that ask together and sent
//!   in chunks as it renders ([`Exposition`]);
//! - here, the render that runs them in order, and the exporter's own counters' registration;
//! - `tests`: pods in and series out, the golden files of a real node, the README's table.
//!
//! Label values are bounded: reasons are mapped onto documented sets (anything else is
//! `other`), and exit codes, signals and delays are values.

mod body;
mod encode;
pub(crate) mod families;
mod lines;
mod pass;
mod process;
mod source;
#[cfg(test)]
pub(crate) mod tests;
mod text;

use std::sync::Arc;

use prometheus_client::registry::Registry;

pub use body::Exposition;
pub(crate) use body::Rendering;
pub use lines::prerender;
pub(crate) use process::ProcessStats;
pub use source::PodSource;
pub use text::Format;

use crate::counters::{BuildLabels, SelfMetrics};
use crate::sync::lock_unpoisoned;
use crate::view::SlimPod;
use pass::Pass;
use text::Text;

/// Renders every family into `text`: the pod and container series straight from the
/// caches, then the exporter's own.
///
/// The encoder is hand-written rather than prometheus-client's: at 100,000 pods it writes
/// hundreds of thousands of series (BENCHMARKS.md, "Series and scrape size per mode"), so
/// the lines every pod has are pre-rendered at ingest ([`PodLines`](crate::view::PodLines)), and each troubled container's label set is rendered once and reused by
/// every family (BENCHMARKS.md has the figures).
fn render(source: &PodSource, self_metrics: &Registry, process: &ProcessStats, text: &mut Text) -> std::io::Result<()> {
    let now = (source.clock)();
    let pods: Vec<Arc<SlimPod>> = source.caches.iter().flat_map(|c| c.store.state()).collect();
    let (mut events, records, refused) = {
        let state = lock_unpoisoned(&source.events);
        (state.snapshot(), state.records(), state.refused())
    };
    let pass = Pass::of(&pods, &mut events, refused, source, now);
    encode::encode_pods(text, &pass)?;
    encode::encode_cache(text, &source.caches, pods.len(), records)?;
    process::encode(text, process)?;
    let mut own = String::new();
    let encoded = match text.format {
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut own, self_metrics),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut own, self_metrics),
    };
    encoded.map_err(|e| std::io::Error::other(format!("encoding the exporter's own metrics: {e}")))?;
    text.buf.extend_from_slice(own.as_bytes());
    text.flush()
}

/// The git commit the binary was built from, as `build.rs` found it, or `unknown`.
pub(crate) const REVISION: &str = env!("CRASHLOOP_GIT_REVISION");

/// Registers the exporter's own counters under their families' names and help.
fn register(m: &SelfMetrics, registry: &mut Registry) {
    // prometheus-client adds the final period of the help itself.
    fn help(f: &Family) -> &'static str {
        f.help.trim_end_matches('.')
    }
    use families::*;
    let m = m.clone();
    registry.register(BUILD_INFO.base(), help(&BUILD_INFO), m.build_info.clone());
    registry.register(WATCH_EVENTS.base(), help(&WATCH_EVENTS), m.watch_events);
    registry.register(RELISTS.base(), help(&RELISTS), m.relists);
    registry.register(API_ERRORS.base(), help(&API_ERRORS), m.api_errors);
    registry.register(EVENTS_SEEN.base(), help(&EVENTS_SEEN), m.events_seen);
    registry.register(EVENTS_IGNORED.base(), help(&EVENTS_IGNORED), m.events_ignored);
    registry.register(EVENT_PARSE_FAILURES.base(), help(&EVENT_PARSE_FAILURES), m.event_parse_failures);
    registry.register(LOG_FETCHES.base(), help(&LOG_FETCHES), m.log_fetches);
    registry.register(RENDERS.base(), help(&RENDERS), m.renders);
    registry.register(SHARD_ORDINAL.name, help(&SHARD_ORDINAL), m.shard_ordinal.clone());
    registry.register(TOTAL_SHARDS.name, help(&TOTAL_SHARDS), m.total_shards.clone());
    m.total_shards.set(m.total_shards.get().max(1));
    m.build_info
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
            rust_version: env!("CARGO_PKG_RUST_VERSION"),
            revision: REVISION,
        })
        .set(1);
}

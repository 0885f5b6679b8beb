//! The exporter's own counters, updated by the watches, the ingest and the log fetcher,
//! and served by the exposition (which registers them under their families' names).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::view::{ApiErrorKind, IgnoredReason, LogFetchResult, WatchEventType};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchEventLabels {
    pub resource: &'static str,
    pub r#type: WatchEventType,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiErrorLabels {
    pub resource: &'static str,
    pub kind: ApiErrorKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: IgnoredReason,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: LogFetchResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: &'static str,
    pub rust_version: &'static str,
    /// The git commit it was built from (`build.rs`), or `unknown`.
    pub revision: &'static str,
}

/// The label sets of the view, written as their values: no other value can be counted.
macro_rules! label_values {
    ($($set:ty),+) => {$(
        impl EncodeLabelValue for $set {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    )+};
}
label_values!(ApiErrorKind, IgnoredReason, LogFetchResult, WatchEventType);

/// The exporter's own metrics, updated by the watch tasks.
#[derive(Clone, Debug, Default)]
pub struct SelfMetrics {
    pub watch_events: Family<WatchEventLabels, Counter>,
    pub relists: Family<ResourceLabels, Counter>,
    pub api_errors: Family<ApiErrorLabels, Counter>,
    pub events_seen: Counter,
    pub events_ignored: Family<ReasonLabels, Counter>,
    pub event_parse_failures: Counter,
    pub log_fetches: Family<ResultLabels, Counter>,
    pub renders: Counter,
    pub shard_ordinal: Gauge,
    pub total_shards: Gauge,
    pub build_info: Family<BuildLabels, Gauge>,
}

impl SelfMetrics {
    /// Records this replica's shard: `index` of `total`.
    pub fn set_shard(&self, index: u32, total: u32) {
        self.shard_ordinal.set(i64::from(index));
        self.total_shards.set(i64::from(total));
    }
}

//! What the benches, the fuzz targets and the tests reach beneath the surface of `lib.rs`:
//! the pipeline's parts, one by one. Hidden from the docs, and no stable API: it changes
//! with the code.

/// The slim view of Pods and Events, and its bounded labels.
pub mod view {
    pub use crate::view::*;
}

/// The pure parsers.
pub mod parse {
    pub use crate::parse::*;
}

pub use crate::counters::SelfMetrics;
pub use crate::event_counts::{ContainerEvents, EventCounts, Outcome, PodEvents, RECORD_GRACE_SECONDS};
pub use crate::exposition::{Exposition, Format, PodSource, prerender};
pub use crate::history::track;
pub use crate::log_fetch::{fetch_termination_log, worth_reading};
pub use crate::store::{PodIngest, Shard, SharedEvents};
pub use crate::verdict::{Cause, ContainerReport, DelaySource, assess, is_quiet};
pub use crate::webconfig::{Check as AuthCheck, load as load_web_config};

//! What a render reads: the pod caches, the Event counts, the log hints and the clock, and
//! which containers get series. `serve` builds one; the body cache keeps it for every render.

use crate::clock::Clock;
use crate::store::{LogHints, PodCache, SharedEvents};

/// What the scrape-time collector reads.
#[derive(Clone)]
pub struct PodSource {
    pub caches: Vec<PodCache>,
    pub events: SharedEvents,
    pub log_hints: LogHints,
    /// Export detail series for running containers that never restarted.
    pub healthy_details: bool,
    /// `--skip-quiet-containers`: a container with nothing to report exports no series, and
    /// a pod with nothing to report no workload line (`verdict::has_something_to_report`).
    pub skip_quiet: bool,
    pub clock: Clock,
}

impl std::fmt::Debug for PodSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodSource").field("caches", &self.caches.len()).finish()
    }
}

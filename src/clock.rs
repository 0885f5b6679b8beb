//! Time as the exporter reads it: seconds since the epoch, from a clock that can be swapped
//! out. The bottom layer: `serve` takes a [`Clock`] and tests move theirs, so no rule reads
//! the wall clock itself.

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

/// Seconds since the epoch, injectable: `serve` takes one, tests move it.
pub type Clock = std::sync::Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The wall clock, in seconds since the epoch.
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

//! client-go's `EventCorrelator` for the Events about one pod: a repeat PATCHes the same
//! Event with `count + 1`, and a spam filter per pod and type drops writes but not counts.

use std::collections::HashMap;

use super::lifecycle::Occurrence;

/// One write of an Event, as the correlator decides it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventWrite {
    /// `<pod>.<hex nanos>`, kept for every repeat.
    pub name: String,
    pub occurrence: Occurrence,
    pub count: u32,
    /// Simulated time of the first occurrence.
    pub first: f64,
    /// Simulated time of this one.
    pub last: f64,
    /// POST a new object (else PATCH `count` and `lastTimestamp`; POST again on 404).
    pub create: bool,
}

/// The spam filter's burst, per pod and type.
pub const SPAM_BURST: f64 = 25.0;
/// The spam filter's refill: one write per this many seconds.
pub const SPAM_REFILL_SECONDS: f64 = 300.0;

#[derive(Clone, Debug)]
struct Seen {
    name: String,
    count: u32,
    first: f64,
    created: bool,
}

/// client-go's `EventCorrelator` for the Events about one pod (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Correlator {
    seen: HashMap<Occurrence, Seen>,
    /// Token buckets of the spam filter, Normal and Warning: (tokens, last refill).
    buckets: [Option<(f64, f64)>; 2],
}

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one occurrence at `at`; returns the write to make, or `None` when the spam
    /// filter drops it. `name` names a new Event.
    pub fn observe(&mut self, occurrence: &Occurrence, at: f64, name: impl FnOnce() -> String) -> Option<EventWrite> {
        let seen = self.seen.entry(occurrence.clone()).or_insert_with(|| Seen {
            name: name(),
            count: 0,
            first: at,
            created: false,
        });
        seen.count += 1;
        let bucket = &mut self.buckets[usize::from(occurrence.warning)];
        let (tokens, refilled) = bucket.unwrap_or((SPAM_BURST, at));
        let tokens = (tokens + (at - refilled).max(0.0) / SPAM_REFILL_SECONDS).min(SPAM_BURST);
        if tokens < 1.0 {
            *bucket = Some((tokens, at));
            return None;
        }
        *bucket = Some((tokens - 1.0, at));
        let create = !seen.created;
        seen.created = true;
        Some(EventWrite {
            name: seen.name.clone(),
            occurrence: occurrence.clone(),
            count: seen.count,
            first: seen.first,
            last: at,
            create,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::lifecycle::{normal, warning};

    #[test]
    fn correlator_patches_repeats_and_spam_filter_drops_writes_not_counts() {
        let mut c = Correlator::new();
        let backoff = warning("BackOff", "Back-off restarting failed container app in pod p_ns(u)".into());
        let mut n = 0;
        let mut name = || {
            n += 1;
            format!("p.{n:x}")
        };
        let w1 = c.observe(&backoff, 10.0, &mut name).expect("first write");
        let w2 = c.observe(&backoff, 20.0, &mut name).expect("second write");
        assert_eq!((w1.create, w1.count, w1.name.as_str()), (true, 1, "p.1"));
        assert_eq!((w2.create, w2.count, w2.name.as_str(), w2.first, w2.last), (false, 2, "p.1", 10.0, 20.0));
        let other = warning("Failed", "Error: ErrImagePull".into());
        let w3 = c.observe(&other, 20.0, &mut name).expect("another event");
        assert_eq!((w3.create, w3.count, w3.name.as_str()), (true, 1, "p.2"));
        // 25 Warning writes in the burst (3 used), then dropped until the bucket refills.
        let writes = (0..30).filter_map(|_| c.observe(&backoff, 30.0, &mut name)).count();
        assert_eq!(writes, 22);
        let normal_event = normal("Pulled", "x".into());
        assert!(c.observe(&normal_event, 30.0, &mut name).is_some(), "Normal has its own bucket");
        let after = c.observe(&backoff, 330.0, &mut name).expect("a token after 300 s");
        assert_eq!((after.count, after.create), (33, false));
        assert!(c.observe(&backoff, 331.0, &mut name).is_none());
    }
}

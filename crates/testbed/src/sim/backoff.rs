//! The kubelet's back-offs: a node's crash-loop [`BackoffCurve`] (a setting of the node,
//! `crashloop-sim --backoff`) and client-go's `flowcontrol.Backoff` that follows it, per
//! container, besides the image-pull one.

use std::fmt;
use std::str::FromStr;

use super::duration::{go_duration, parse_go_duration};

/// The kubelet's default initial crash-loop back-off (and the image-pull one's).
pub const INITIAL_BACKOFF: f64 = 10.0;
/// The kubelet's default maximum crash-loop back-off (and the image-pull one's).
pub const MAX_BACKOFF: f64 = 300.0;
/// The initial crash-loop back-off with `ReduceDefaultCrashLoopBackOffDecay`.
pub const REDUCED_INITIAL_BACKOFF: f64 = 1.0;
/// The maximum crash-loop back-off with `ReduceDefaultCrashLoopBackOffDecay`.
pub const REDUCED_MAX_BACKOFF: f64 = 60.0;
/// A back-off entry expires when an instance ran longer than this (the kubelet's reset).
pub const BACKOFF_RESET: f64 = 600.0;

/// A node's crash-loop back-off curve: the first delay, doubled at each fast crash up to the
/// maximum. A node setting (kubelet notes §1), so `crashloop-sim --backoff` picks it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackoffCurve {
    /// Seconds.
    pub initial: f64,
    /// Seconds.
    pub max: f64,
}

impl Default for BackoffCurve {
    /// The kubelet's defaults: 10 s doubling to 300 s.
    fn default() -> Self {
        BackoffCurve { initial: INITIAL_BACKOFF, max: MAX_BACKOFF }
    }
}

impl BackoffCurve {
    /// `ReduceDefaultCrashLoopBackOffDecay` (alpha in 1.33): 1 s doubling to 60 s.
    pub fn reduced() -> Self {
        BackoffCurve { initial: REDUCED_INITIAL_BACKOFF, max: REDUCED_MAX_BACKOFF }
    }

    /// This curve with `crashLoopBackOff.maxContainerRestartPeriod: max` (`KubeletCrashLoopBackOffMax`),
    /// which takes precedence: the maximum is `max`, and so is the initial delay when `max`
    /// is below it (a constant interval). The kubelet accepts 1 s to 300 s; the model takes
    /// whole seconds, as its messages print them.
    pub fn with_max(self, max: f64) -> Result<Self, String> {
        if !(1.0..=MAX_BACKOFF).contains(&max) || max.fract() != 0.0 {
            return Err(format!(
                "the maximum back-off (maxContainerRestartPeriod) must be whole seconds from 1s to 5m0s, not {max}s"
            ));
        }
        Ok(BackoffCurve { initial: self.initial.min(max), max })
    }
}

impl FromStr for BackoffCurve {
    type Err = String;

    /// `default` (10 s to 300 s), `reduced` (1 s to 60 s), `max=DURATION` (the default's
    /// initial delay, the given maximum) or `reduced,max=DURATION`; a duration is Go's
    /// (`30s`, `2m`) or plain seconds.
    fn from_str(s: &str) -> Result<Self, String> {
        let known = "known: default, reduced, max=DURATION, reduced,max=DURATION";
        let s = s.trim();
        let (base, max) = match s.split_once(',') {
            Some((base, max)) => (base.trim(), Some(max.trim())),
            None if s.starts_with("max=") => ("default", Some(s)),
            None => (s, None),
        };
        let curve = match base {
            "default" => BackoffCurve::default(),
            "reduced" => BackoffCurve::reduced(),
            other => return Err(format!("unknown back-off curve {other:?} ({known})")),
        };
        let Some(max) = max else { return Ok(curve) };
        let value = max.strip_prefix("max=").ok_or_else(|| format!("{max:?} is not max=DURATION ({known})"))?;
        let seconds = value
            .parse::<f64>()
            .ok()
            .or_else(|| parse_go_duration(value))
            .ok_or_else(|| format!("{value:?} is not a duration (e.g. 30s, 2m)"))?;
        curve.with_max(seconds)
    }
}

impl fmt::Display for BackoffCurve {
    /// As the kubelet prints delays: `10s doubling to 5m0s`, or `30s` for a constant interval.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.initial == self.max {
            f.write_str(&go_duration(self.max))
        } else {
            write!(f, "{} doubling to {}", go_duration(self.initial), go_duration(self.max))
        }
    }
}

/// client-go's `flowcontrol.Backoff` for one key, in simulated seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    initial: f64,
    max: f64,
    /// The entry is stale when `eventTime − lastUpdate` exceeds this.
    expiry: f64,
    /// (current delay, lastUpdate)
    entry: Option<(f64, f64)>,
}

impl Backoff {
    /// The kubelet's crash-loop back-off on a node with `curve`, reset after a 600 s run
    /// whatever the curve (KEP-4603 fixed the expiry at 10 minutes).
    pub fn crash_loop(curve: BackoffCurve) -> Self {
        Backoff { initial: curve.initial, max: curve.max, expiry: BACKOFF_RESET, entry: None }
    }

    /// The kubelet's image-pull back-off: 10 s doubling to 300 s (client-go's default expiry,
    /// twice the maximum), which the crash-loop settings do not change.
    pub fn image_pull() -> Self {
        Backoff { initial: INITIAL_BACKOFF, max: MAX_BACKOFF, expiry: 2.0 * MAX_BACKOFF, entry: None }
    }

    fn live(&self, event_time: f64) -> Option<(f64, f64)> {
        self.entry.filter(|(_, last_update)| event_time - last_update <= self.expiry)
    }

    /// `IsInBackOffSince(eventTime)` at `now`: whether `now` is within the delay after `event_time`.
    pub fn in_backoff_since(&self, event_time: f64, now: f64) -> bool {
        self.live(event_time).is_some_and(|(delay, _)| now - event_time < delay)
    }

    /// `IsInBackOffSinceUpdate` at `now`: whether `now` is within the delay after the last `next`.
    pub fn in_backoff_since_update(&self, now: f64) -> bool {
        self.live(now).is_some_and(|(delay, last_update)| now - last_update < delay)
    }

    /// `Next(eventTime)` at `now`: starts at the initial delay (or over, if the entry
    /// expired), else doubles it up to the maximum.
    pub fn next(&mut self, event_time: f64, now: f64) {
        let delay = match self.live(event_time) {
            Some((delay, _)) => (delay * 2.0).min(self.max),
            None => self.initial,
        };
        self.entry = Some((delay, now));
    }

    /// `Get`: the current delay (0 without an entry).
    pub fn delay(&self) -> f64 {
        self.entry.map_or(0.0, |(delay, _)| delay)
    }

    /// When the delay after the last `next` ends.
    pub fn until(&self) -> f64 {
        self.entry.map_or(0.0, |(delay, at)| at + delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_client_go() {
        let mut b = Backoff::crash_loop(BackoffCurve::default());
        assert!(!b.in_backoff_since(100.0, 101.0), "no entry: not in back-off");
        b.next(100.0, 101.0);
        assert_eq!((b.delay(), b.until()), (10.0, 111.0));
        assert!(b.in_backoff_since(120.0, 129.9));
        assert!(!b.in_backoff_since(120.0, 130.0));
        b.next(120.0, 130.0);
        assert_eq!(b.delay(), 20.0);
        // The entry expires when the event is more than 600 s after the last update.
        assert!(!b.in_backoff_since(730.1, 731.0));
        b.next(730.1, 731.0);
        assert_eq!(b.delay(), 10.0);
        let mut pull = Backoff::image_pull();
        pull.next(0.0, 0.0);
        assert!(pull.in_backoff_since_update(9.9) && !pull.in_backoff_since_update(10.0));
    }

    #[test]
    fn curves_parse_and_print_as_the_kubelet_does() {
        let max30: BackoffCurve = "max=30s".parse().expect("a curve");
        assert_eq!(max30, BackoffCurve { initial: 10.0, max: 30.0 });
        // Below the initial delay, the initial delay becomes the maximum: a constant interval.
        let max5: BackoffCurve = "max=5s".parse().expect("a curve");
        assert_eq!(max5, BackoffCurve { initial: 5.0, max: 5.0 });
        assert_eq!("default".parse(), Ok(BackoffCurve::default()));
        assert_eq!("reduced".parse(), Ok(BackoffCurve::reduced()));
        assert_eq!("max=2m".parse(), Ok(BackoffCurve { initial: 10.0, max: 120.0 }));
        assert_eq!("max=45".parse(), Ok(BackoffCurve { initial: 10.0, max: 45.0 }));
        assert_eq!("max=1s".parse(), BackoffCurve::reduced().with_max(1.0));
        for (bad, why) in [
            ("fast", "unknown back-off curve \"fast\""),
            ("reduced,30s", "not max=DURATION"),
            ("max=soon", "not a duration"),
            ("max=0s", "from 1s to 5m0s"),
            ("max=301s", "from 1s to 5m0s"),
            ("max=1500ms", "whole seconds"),
        ] {
            let err = bad.parse::<BackoffCurve>().expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        let shown: Vec<String> =
            [BackoffCurve::default(), BackoffCurve::reduced(), max30, max5].iter().map(|c| c.to_string()).collect();
        assert_eq!(shown, ["10s doubling to 5m0s", "1s doubling to 1m0s", "10s doubling to 30s", "5s"]);
    }
}

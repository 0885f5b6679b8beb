//! Figures that tests and benchmarks take: the wall clock in Unix seconds, and the median
//! and percentiles of what they timed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in seconds since the Unix epoch (0 for a clock set before it).
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The median of `samples` (of an even count, the upper middle one); NaN for none.
pub fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The `p`-th percentile (0 to 100) of `sorted` (in ascending order, not empty) by nearest
/// rank: the smallest sample with at least `p` % of them at or below it. Of 20 samples the
/// 99th percentile is the largest, and so is the 100th.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_sample_whatever_the_order() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 3.0);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&twenty, 50.0), 10.0);
        assert_eq!(percentile(&twenty, 99.0), 20.0);
        assert_eq!(percentile(&twenty, 100.0), 20.0);
        assert_eq!(percentile(&twenty, 0.0), 1.0);
        let durations = [std::time::Duration::from_millis(5), std::time::Duration::from_millis(9)];
        assert_eq!(percentile(&durations, 50.0), std::time::Duration::from_millis(5));
    }

    #[test]
    fn the_clock_is_past_2020() {
        assert!(unix_now() > 1_577_836_800.0);
    }
}

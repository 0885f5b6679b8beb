//! Go `time.Duration` strings, as the kubelet prints back-off delays and as `crashloop-sim`
//! reads its flags.

/// A Go `time.Duration` string of whole seconds, as the kubelet prints delays: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec}s"),
        (h, min, sec) => format!("{h}h{min}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_print_as_the_kubelet_prints_them() {
        for (s, text) in [(10.0, "10s"), (80.0, "1m20s"), (160.0, "2m40s"), (300.0, "5m0s"), (3600.0, "1h0m0s")] {
            assert_eq!(go_duration(s), text);
        }
    }
}

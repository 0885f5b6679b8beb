//! Go `time.Duration` strings, printed as the kubelet prints back-off delays and read as
//! `crashloop-sim` reads its flags (`--backoff max=30s`, `--duration 10m`). The simulator
//! reads them itself rather than through the exporter it feeds: the exporter's own parser
//! is checked against [`go_duration`] on the exporter's side
//! (`tests/cluster/simulator_model.rs`).

/// A Go `time.Duration` string of whole seconds, as the kubelet prints delays: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec}s"),
        (h, min, sec) => format!("{h}h{min}m{sec}s"),
    }
}

/// Seconds of a Go `time.Duration` string: numbers (fractions allowed) each followed by a
/// unit (`h`, `m`, `s`, `ms`, `us`/`µs`, `ns`), as in `1h30m`, `1.5s`, `500ms`; `0` alone is
/// zero. `None` for anything else (a bare number, a sign, an unknown unit).
pub fn parse_go_duration(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(0.0);
    }
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        seconds += number * unit;
        rest = &rest[unit_end..];
    }
    seconds.is_finite().then_some(seconds)
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

    #[test]
    fn go_durations_parse_in_every_unit() {
        for (text, seconds) in [
            ("0", 0.0),
            ("30s", 30.0),
            ("2m", 120.0),
            ("1h30m", 5400.0),
            ("1.5s", 1.5),
            (" 90s ", 90.0),
            ("1500ms", 1.5),
            ("250us", 250e-6),
            ("250µs", 250e-6),
            ("10ns", 10e-9),
        ] {
            assert_eq!(parse_go_duration(text), Some(seconds), "{text}");
        }
        for bad in ["", "soon", "30", "-1s", "1x", "s", "1m 30s", "1e3s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn what_is_printed_reads_back() {
        for seconds in (0..=7200).chain([86_399, 86_400, 360_000]) {
            let text = go_duration(f64::from(seconds));
            assert_eq!(parse_go_duration(&text), Some(f64::from(seconds)), "{text}");
        }
    }
}

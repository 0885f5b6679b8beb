//! Durations, quantities and timestamps as the API and the kubelet write them.

use crate::view::Timestamp;

/// Parses an RFC 3339 timestamp into seconds; anything unparsable is `None`.
pub fn timestamp(s: Option<&str>) -> Option<Timestamp> {
    s?.parse::<k8s_openapi::jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Parses a Go `time.Duration` string (`10s`, `1m20s`, `5m0s`, `1h0m0s`, `500ms`) into seconds.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let mut rest = s.trim();
    if rest.is_empty() || rest.len() > 64 {
        return None;
    }
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    total.is_finite().then_some(total)
}

/// Parses the kubelet's crash-loop waiting message, `back-off 2m40s restarting failed
/// container=…` (older kubelets: `Back-off …`), into the delay in seconds.
pub fn parse_backoff_message(message: &str) -> Option<f64> {
    let head = message.get(..9)?;
    if !head.eq_ignore_ascii_case("back-off ") {
        return None;
    }
    let rest = &message[9..];
    let token = rest.split_whitespace().next()?;
    parse_go_duration(token)
}

/// Parses a Kubernetes resource quantity (`128Mi`, `1Gi`, `500M`, `1e9`) into whole units.
pub fn parse_quantity(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let value = (number * scale).ceil();
    (value.is_finite() && value >= 0.0).then_some(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10s"), Some(10.0));
        assert_eq!(parse_go_duration("1m20s"), Some(80.0));
        assert_eq!(parse_go_duration("2m40s"), Some(160.0));
        assert_eq!(parse_go_duration("5m0s"), Some(300.0));
        assert_eq!(parse_go_duration("1h0m0s"), Some(3600.0));
        assert_eq!(parse_go_duration("500ms"), Some(0.5));
        assert_eq!(parse_go_duration("1.5s"), Some(1.5));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        for bad in ["", "s", "10", "10x", "m5", "1m20", "-", "1e400s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_messages_in_both_spellings() {
        let new = "back-off 1m20s restarting failed container=app pod=web-1_prod(4f1c)";
        let old = "Back-off 5m0s restarting failed container=app pod=web-1_prod(4f1c)";
        assert_eq!(parse_backoff_message(new), Some(80.0));
        assert_eq!(parse_backoff_message(old), Some(300.0));
        assert_eq!(parse_backoff_message("BACK-OFF 10s restarting failed container=x pod=y"), Some(10.0));
        assert_eq!(parse_backoff_message("Back-off pulling image \"x\""), None);
        assert_eq!(parse_backoff_message("back-off"), None);
        assert_eq!(parse_backoff_message("é"), None);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("256Mi"), Some(256 * 1024 * 1024));
        assert_eq!(parse_quantity("1Gi"), Some(1 << 30));
        assert_eq!(parse_quantity("64M"), Some(64_000_000));
        assert_eq!(parse_quantity("1e9"), Some(1_000_000_000));
        assert_eq!(parse_quantity("0.5Gi"), Some(1 << 29));
        assert_eq!(parse_quantity("129974272"), Some(129_974_272));
        assert_eq!(parse_quantity("12Zi"), None);
        assert_eq!(parse_quantity("-1Mi"), None);
    }
}

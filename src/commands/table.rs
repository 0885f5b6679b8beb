//! The text the commands print: aligned columns, absent values and times.

use std::fmt::Write as _;

/// Seconds since the epoch as RFC 3339, or empty.
pub(super) fn rfc3339(t: f64) -> String {
    k8s_openapi::jiff::Timestamp::from_second(t as i64).map(|t| t.to_string()).unwrap_or_default()
}

/// Bytes as Kubernetes writes them: `3Gi`, `320Mi`.
pub(super) fn human_bytes(bytes: u64) -> String {
    const GI: u64 = 1 << 30;
    const MI: u64 = 1 << 20;
    if bytes.is_multiple_of(GI) { format!("{}Gi", bytes / GI) } else { format!("{}Mi", bytes.div_ceil(MI)) }
}

/// A value, or `-` for none.
pub(super) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// Formats rows as aligned columns.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut headers.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

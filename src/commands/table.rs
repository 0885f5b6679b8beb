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

/// `s` safe to print on a terminal: the workloads write the Event messages, termination
/// messages and logs the commands show, and an escape sequence among them could retitle the
/// window, hide lines or rewrite the screen. Every control character but the tab, and the
/// bidirectional overrides that reorder what is shown, become `\u{fffd}`.
pub(super) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if s.chars().any(unsafe_char) {
        s.chars().map(|c| if unsafe_char(c) { '\u{fffd}' } else { c }).collect::<String>().into()
    } else {
        s.into()
    }
}

/// Formats rows as aligned columns, every cell [`printable`].
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| printable(c).into_owned()).collect()).collect();
    let rows = &rows;
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

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn printable_leaves_no_escape_sequence() {
        assert_eq!(printable("plain text\twith a tab, ünïcode"), "plain text\twith a tab, ünïcode");
        assert_eq!(
            printable("\u{1b}]0;pwned\u{7}red \u{1b}[31mtext\r\u{9b}2J"),
            "\u{fffd}]0;pwned\u{fffd}red \u{fffd}[31mtext\u{fffd}\u{fffd}2J"
        );
        assert_eq!(printable("abc\u{202e}fed"), "abc\u{fffd}fed");
        assert_eq!(
            printable("line\nbreak"),
            "line\u{fffd}break",
            "a line break of a message could fake a line of output"
        );
    }
}

//! The log classifier: a previous instance's log tail reduced to a [`LogHint`].

use crate::view::LogHint;

/// What a log says when a dependency is unreachable (lower case); `parse::evidence` reads
/// the host and port from the lines that say it.
pub(super) const DEPENDENCY_UNAVAILABLE: &[&str] = &[
    "connection refused",
    "econnrefused",
    "no such host",
    "enotfound",
    "unknownhostexception",
    "i/o timeout",
    "connection timed out",
    "could not connect to",
    "name or service not known",
];

/// Patterns of the log classifier, in the order of the verdict's rules (the README's "How
/// the cause is decided", rules 13 to 20): a log saying two things gives the hint of the
/// earlier rule, the one the verdict would take of the two.
pub(crate) const LOG_PATTERNS: &[(LogHint, &[&str])] = &[
    (LogHint::Segfault, &["[signal sigsegv", "segmentation fault", "sigsegv"]),
    (
        LogHint::OutOfMemory,
        &[
            "java.lang.outofmemoryerror",
            "javascript heap out of memory",
            "fatal error: runtime: out of memory",
            "memoryerror",
        ],
    ),
    (LogHint::DependencyUnavailable, DEPENDENCY_UNAVAILABLE),
    (
        LogHint::ConfigError,
        &[
            "error reading config",
            "invalid configuration",
            "unknown flag",
            "flag provided but not defined",
            "yaml: unmarshal",
            "missing required",
            "application failed to start",
            "keyerror",
            "invalid value for",
        ],
    ),
    (
        LogHint::PermissionDenied,
        // EROFS: a read-only root filesystem (`readOnlyRootFilesystem: true`) refused a write.
        &["permission denied", "eacces", "operation not permitted", "read-only file system", "erofs"],
    ),
    (
        LogHint::Crash,
        &[
            "panic:",
            "traceback (most recent call last)",
            "exception in thread \"main\"",
            "uncaught exception",
            "unhandled exception",
        ],
    ),
];

/// Classifies a log tail. Case-insensitive; looks at the text as given (callers cap its size).
pub fn classify_log(text: &str) -> Option<LogHint> {
    let lower = text.to_ascii_lowercase();
    LOG_PATTERNS.iter().find(|(_, needles)| needles.iter().any(|n| lower.contains(n))).map(|(hint, _)| *hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern is in the README's table of rules, on its hint's row.
    #[test]
    fn the_readme_lists_every_pattern() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
        let row = |cause: &str| {
            readme
                .lines()
                .find(|l| l.starts_with("| ") && l.contains(&format!("| `{cause}` | ")) && l.contains(" log"))
                .map(str::to_ascii_lowercase)
                .unwrap_or_else(|| panic!("the README has no log rule for {cause}"))
        };
        for (hint, needles) in LOG_PATTERNS {
            let cause = match hint {
                LogHint::Segfault => "segfault",
                LogHint::OutOfMemory => "oom_killed",
                LogHint::DependencyUnavailable => "dependency_unavailable",
                LogHint::ConfigError => "config_error",
                LogHint::PermissionDenied => "permission_denied",
                LogHint::Crash => "app_error",
            };
            let row = row(cause);
            for needle in *needles {
                assert!(row.contains(needle), "the README's rule for {cause} lacks {needle:?}: {row}");
            }
        }
    }

    #[test]
    fn log_classifier() {
        assert_eq!(classify_log("open /etc/app.conf: permission denied"), Some(LogHint::PermissionDenied));
        assert_eq!(classify_log("java.net.UnknownHostException: db"), Some(LogHint::DependencyUnavailable));
        assert_eq!(classify_log("getaddrinfo ENOTFOUND redis"), Some(LogHint::DependencyUnavailable));
        assert_eq!(classify_log("read tcp 10.0.0.1:5432: i/o timeout"), Some(LogHint::DependencyUnavailable));
        assert_eq!(classify_log("Error reading config file: invalid configuration"), Some(LogHint::ConfigError));
        assert_eq!(classify_log("Exception in thread \"main\" java.lang.IllegalStateException"), Some(LogHint::Crash));
        assert_eq!(classify_log("open /var/cache/x: read-only file system"), Some(LogHint::PermissionDenied));
        assert_eq!(classify_log("all good, shutting down"), None);
        assert_eq!(classify_log(""), None);
    }
}

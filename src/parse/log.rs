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

/// Patterns of the log classifier, in order: the first that matches wins.
const LOG_PATTERNS: &[(LogHint, &[&str])] = &[
    (
        LogHint::OutOfMemory,
        &[
            "java.lang.outofmemoryerror",
            "javascript heap out of memory",
            "fatal error: runtime: out of memory",
            "memoryerror",
        ],
    ),
    (LogHint::Segfault, &["[signal sigsegv", "segmentation fault", "sigsegv"]),
    (
        LogHint::PermissionDenied,
        // EROFS: a read-only root filesystem (`readOnlyRootFilesystem: true`) refused a write.
        &["permission denied", "eacces", "operation not permitted", "read-only file system", "erofs"],
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

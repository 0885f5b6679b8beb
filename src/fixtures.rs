//! Test fixtures: the pods of `tests/fixtures/pods/`, and timestamps.

use crate::view::{SlimPod, Timestamp};

/// The pod in `tests/fixtures/pods/<name>.json`, decoded.
pub(crate) fn fixture(name: &str) -> SlimPod {
    let path = format!("{}/tests/fixtures/pods/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An RFC 3339 time in seconds.
pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse::<k8s_openapi::jiff::Timestamp>().expect("test timestamp").as_second()
}

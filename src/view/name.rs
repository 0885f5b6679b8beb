//! Interned names and the bound on any name kept from the API.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::sync::lock_unpoisoned;

/// Longest name kept from an event or message (object names are at most 253 bytes).
pub const MAX_NAME_BYTES: usize = 253;

/// A shared, immutable string: container names, workload kinds and names repeat across
/// pods, so the cache keeps one copy of each.
pub type Name = Arc<str>;

/// The one copy of `s` (see [`Name`]). Copies no pod holds any more are dropped once the
/// table has doubled since the last sweep. A name is cut to [`MAX_NAME_BYTES`]: owner
/// references and container statuses are not validated by the apiserver.
pub fn intern(s: &str) -> Name {
    let s = truncated(s);
    static TABLE: std::sync::OnceLock<Mutex<(HashSet<Name>, usize)>> = std::sync::OnceLock::new();
    let mut table = lock_unpoisoned(TABLE.get_or_init(Default::default));
    if let Some(name) = table.0.get(s) {
        return name.clone();
    }
    if table.0.len() >= table.1.max(1024) {
        table.0.retain(|n| Arc::strong_count(n) > 1);
        table.1 = table.0.len() * 2;
    }
    let name: Name = Arc::from(s);
    table.0.insert(name.clone());
    name
}

/// `s` cut to at most [`MAX_NAME_BYTES`], owned.
pub fn bounded(s: &str) -> String {
    truncated(s).to_string()
}

/// `s` cut to at most [`MAX_NAME_BYTES`], on a character boundary.
fn truncated(s: &str) -> &str {
    let mut end = s.len().min(MAX_NAME_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

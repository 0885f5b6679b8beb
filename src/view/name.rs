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

/// An image reference, interned as [`intern`] interns names, behind a thin pointer: every
/// cached container keeps one, so it costs 8 bytes where a [`Name`] costs 16
/// (BENCHMARKS.md, "What changed: the templates' images").
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Image(Box<str>);

impl std::ops::Deref for Image {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An entry of the image table, found by the image's text.
struct Entry(Arc<Image>);

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0.0 == other.0.0
    }
}
impl Eq for Entry {}
impl std::hash::Hash for Entry {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.0.hash(state);
    }
}
impl std::borrow::Borrow<str> for Entry {
    fn borrow(&self) -> &str {
        &self.0.0
    }
}

/// The one copy of image `s`, swept as [`intern`]'s table is.
pub fn intern_image(s: &str) -> Arc<Image> {
    let s = truncated(s);
    static TABLE: std::sync::OnceLock<Mutex<(HashSet<Entry>, usize)>> = std::sync::OnceLock::new();
    let mut table = lock_unpoisoned(TABLE.get_or_init(Default::default));
    if let Some(image) = table.0.get(s) {
        return image.0.clone();
    }
    if table.0.len() >= table.1.max(1024) {
        table.0.retain(|n| Arc::strong_count(&n.0) > 1);
        table.1 = table.0.len() * 2;
    }
    let image = Arc::new(Image(s.into()));
    table.0.insert(Entry(image.clone()));
    image
}

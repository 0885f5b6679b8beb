//! The simulator's only source of variety: hashes of a pod's seed with fixed keys, so
//! every run of the same plan is the same, names and run times included.

use std::hash::{DefaultHasher, Hash, Hasher};

/// A 64-bit mix of `v` (SipHash with fixed keys): the simulator's only source of variety,
/// so every run with the same plan is the same.
pub(super) fn hash64(v: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// A value in `[lo, hi)` drawn from `key`.
pub(super) fn uniform(key: &impl Hash, lo: f64, hi: f64) -> f64 {
    lo + (hash64(key) >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
}

/// `n` characters of the alphabet the ReplicaSet controller uses for names.
pub(super) fn safe_chars(key: &impl Hash, n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = hash64(key);
    (0..n)
        .map(|i| {
            if i % 12 == 11 {
                x = hash64(&(x, i));
            }
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

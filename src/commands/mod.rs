//! The `scan` and `diagnose` commands: the same verdicts as `/metrics` (they call
//! [`crate::verdict::assess`] on pods decoded and tracked as the watches do), for a
//! terminal or a script, in one shot.

mod diagnose;
mod fix;
mod peak;
mod read;
mod scan;
mod snapshot;
mod table;
#[cfg(test)]
mod tests;

pub use diagnose::{Diagnosis, Reading, Target, diagnose, render_diagnosis};
pub use scan::{Row, fails, render_scan, scan};

//! The Kubernetes view: the slim Pod and Event the exporter keeps, as bounded values (the
//! closed sets of `labels`), and the interned names they share. Above only the clock and
//! locking: it names nothing else of the crate.

mod event;
mod labels;
mod name;
mod pod;

pub use crate::clock::Timestamp;
pub use event::*;
pub use labels::*;
pub use name::*;
pub use pod::*;

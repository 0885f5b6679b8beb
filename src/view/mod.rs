//! The Kubernetes view: the slim Pod and Event the exporter keeps, as bounded values, and
//! the interned names they share. The bottom layer: it imports nothing of the crate.

mod event;
mod name;
mod pod;

pub use event::*;
pub use name::*;
pub use pod::*;

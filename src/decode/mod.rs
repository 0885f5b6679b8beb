//! Decoding: the apiserver's Pod and Event JSON straight into the slim view, through
//! private wire types, with the parsers reducing free text on the way. Only the
//! `Deserialize` impls of [`crate::view::SlimPod`] and [`crate::view::SlimEvent`] are
//! public, as the types' own.

mod event;
mod pod;

//! Decoding: the apiserver's Pod and Event JSON straight into the slim view, through
//! private wire types, with the parsers reducing free text on the way. Only the
//! `Deserialize` impls of [`crate::view::SlimPod`] and [`crate::view::SlimEvent`] are
//! public, as the types' own, and the setting of which pod labels the pod decoder keeps.

mod event;
mod pod;

pub(crate) use pod::set_pod_label_allowlist;

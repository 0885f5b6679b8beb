//! Fuzz target: `crashloop_fuzz::quantity` on any UTF-8 text.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| crashloop_fuzz::quantity(text));

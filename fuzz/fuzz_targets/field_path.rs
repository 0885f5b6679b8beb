//! Fuzz target: `crashloop_fuzz::field_path` on any UTF-8 text.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| crashloop_fuzz::field_path(text));

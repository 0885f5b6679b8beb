//! Fuzz target: `crashloop_fuzz::log` on any UTF-8 text.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| crashloop_fuzz::log(text));

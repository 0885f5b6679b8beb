//! Fuzz target: `crashloop_fuzz::duration` on any UTF-8 text (waiting messages and Go durations).
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| crashloop_fuzz::duration(text));

//! Fuzz target: `crashloop_fuzz::event_json` on any bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crashloop_fuzz::event_json(data));

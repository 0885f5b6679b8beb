//! Fuzz target: `crashloop_fuzz::pod_json` on any bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crashloop_fuzz::pod_json(data));

//! Fuzz target: `crashloop_fuzz::procfs` on any UTF-8 text (`/proc/self/stat`, `status`, `limits`, `/proc/stat`).
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| crashloop_fuzz::procfs(text));

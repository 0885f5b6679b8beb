//! Fuzz target: `crashloop_fuzz::event_message` on any UTF-8 text, the Event's reason up
//! to the first newline and its message after it.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    let (reason, message) = text.split_once('\n').unwrap_or(("Failed", text));
    crashloop_fuzz::event_message(reason, message);
});

//! The pure parsers: free text and API strings in, bounded values out. Nothing here keeps
//! state or does I/O; each parser is unit-tested and fuzzed (`fuzz/`).

mod log;
mod message;
mod number;

pub use log::classify_log;
pub use message::{
    classify_event, classify_exec_message, classify_pull_failure, parse_field_path, parse_missing_object,
};
pub use number::{parse_backoff_message, parse_go_duration, parse_quantity, timestamp};

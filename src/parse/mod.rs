//! The pure parsers: free text and API strings in, bounded values out. Nothing here keeps
//! state or does I/O; each parser is unit-tested and fuzzed (`fuzz/`).

mod evidence;
mod log;
mod message;
mod number;
mod process;

pub use evidence::{Endpoint, read_only_path, unreachable_endpoint};
#[cfg(test)]
pub(crate) use log::LOG_PATTERNS;
pub use log::classify_log;
pub use message::{
    classify_event, classify_exec_message, classify_pull_failure, classify_refusal, classify_waiting_message,
    container_named, disruption_of, eviction_resource, parse_field_path, parse_missing_object, parse_signal_name,
    pull_error_category, signal_name, strip_combined,
};
pub use number::{parse_backoff_message, parse_go_duration, parse_quantity, timestamp};
pub use process::{ProcStat, USER_HZ, parse_boot_time, parse_max_open_files, parse_proc_stat, parse_status_bytes};

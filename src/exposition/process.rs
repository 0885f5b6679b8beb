//! The exporter's own process, as the Prometheus client libraries report theirs: read from
//! `/proc/self` at each render (Linux; elsewhere the files are absent and nothing is
//! exported), parsed by [`crate::parse`]'s pure functions.

use super::families::*;
use super::text::Text;
use crate::parse::{USER_HZ, parse_boot_time, parse_max_open_files, parse_proc_stat, parse_status_bytes};

/// What the process families show; each figure is `None` where it could not be read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub virtual_memory_bytes: Option<u64>,
    pub resident_memory_bytes: Option<u64>,
    pub start_time_seconds: Option<f64>,
}

/// Reads `/proc/self` and `/proc/stat`.
pub(super) fn read() -> ProcessStats {
    let file = |path: &str| std::fs::read_to_string(path).ok();
    let stat = file("/proc/self/stat").as_deref().and_then(parse_proc_stat);
    let status = file("/proc/self/status");
    let status_bytes = |key| status.as_deref().and_then(|s| parse_status_bytes(s, key));
    let boot = file("/proc/stat").as_deref().and_then(parse_boot_time);
    ProcessStats {
        cpu_seconds: stat.map(|s| s.cpu_ticks as f64 / USER_HZ),
        // The directory's own descriptor is counted too, as client_golang does.
        open_fds: std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64),
        max_fds: file("/proc/self/limits").as_deref().and_then(parse_max_open_files),
        virtual_memory_bytes: status_bytes("VmSize"),
        resident_memory_bytes: status_bytes("VmRSS"),
        start_time_seconds: stat.zip(boot).map(|(s, boot)| boot as f64 + s.start_ticks as f64 / USER_HZ),
    }
}

pub(super) fn encode(text: &mut Text, p: &ProcessStats) -> std::io::Result<()> {
    text.family(&PROCESS_CPU);
    if let Some(v) = p.cpu_seconds {
        text.sample(&PROCESS_CPU, b"", None, v)?;
    }
    for (family, value) in [
        (&PROCESS_OPEN_FDS, p.open_fds),
        (&PROCESS_MAX_FDS, p.max_fds),
        (&PROCESS_VIRTUAL_MEMORY, p.virtual_memory_bytes),
        (&PROCESS_RESIDENT_MEMORY, p.resident_memory_bytes),
    ] {
        text.family(family);
        if let Some(v) = value {
            text.sample(family, b"", None, v)?;
        }
    }
    text.family(&PROCESS_START_TIME);
    if let Some(v) = p.start_time_seconds {
        text.sample(&PROCESS_START_TIME, b"", None, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read() {
        let p = read();
        assert!(p.cpu_seconds.is_some_and(|s| s >= 0.0), "{p:?}");
        assert!(p.open_fds.is_some_and(|n| n >= 3), "{p:?}");
        assert!(p.resident_memory_bytes.is_some_and(|b| b > 0) && p.virtual_memory_bytes >= p.resident_memory_bytes);
        let now = crate::now() as f64;
        assert!(p.start_time_seconds.is_some_and(|t| t > now - 86_400.0 && t <= now + 1.0), "{p:?}");
    }
}

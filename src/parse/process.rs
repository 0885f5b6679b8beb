//! The kernel's account of a process, from the text of `/proc` files (Linux): pure
//! parsers, with the reading left to the caller, as node_exporter's procfs does. Each gives
//! `None` for text it cannot read, never a guess.

/// The kernel's clock ticks per second in `/proc` (`USER_HZ`): 100 on every Linux
/// architecture, as the Prometheus client libraries assume.
pub const USER_HZ: f64 = 100.0;

/// What `/proc/<pid>/stat` says of the CPU time and the start of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// User and system CPU time, in clock ticks (fields 14 and 15).
    pub cpu_ticks: u64,
    /// When the process started, in clock ticks after boot (field 22).
    pub start_ticks: u64,
}

/// `/proc/<pid>/stat`: the fields after the command, which is in parentheses and may hold
/// spaces and parentheses itself, so the fields are counted from its last `)`.
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let after = &text[text.rfind(')')? + 1..];
    // `after` starts at field 3 (the state): field n is at index n - 3.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(ProcStat { cpu_ticks: field(14)?.checked_add(field(15)?)?, start_ticks: field(22)? })
}

/// A `kB` value of `/proc/<pid>/status` (`VmRSS`, `VmSize`), in bytes.
pub fn parse_status_bytes(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kb.checked_mul(1024)
}

/// The soft limit of open files in `/proc/<pid>/limits` (`Max open files  1024  4096  files`);
/// `None` when it is `unlimited`.
pub fn parse_max_open_files(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The boot time in `/proc/stat` (`btime 1795000000`), in seconds since the epoch.
pub fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line of this exporter's `/proc/self/stat` on Linux 6.1, its command
    /// rewritten to hold spaces and a `)`.
    const STAT: &str = "41277 (crash loop) x) S 41270 41277 41270 34816 41277 4194304 2541 0 0 0 152 37 0 0 20 0 9 0 \
        38263745 1230823424 39541 18446744073709551615 94710153785344 94710163351681 140724946395536 0 0 0 0 4096 \
        1088 0 0 0 17 1 0 0 0 0 0 94710165787312 94710166156176 94710175875072 140724946401203 140724946401259 \
        140724946401259 140724946403295 0\n";

    #[test]
    fn stat_gives_cpu_and_start_ticks() {
        assert_eq!(parse_proc_stat(STAT), Some(ProcStat { cpu_ticks: 152 + 37, start_ticks: 38263745 }));
        assert_eq!(parse_proc_stat("1 (x) S 0 0"), None, "too few fields");
        assert_eq!(parse_proc_stat("no parenthesis"), None);
        assert_eq!(parse_proc_stat(&STAT.replace(" 152 ", " -1 ")), None, "not a number");
    }

    #[test]
    fn status_gives_memory_in_bytes() {
        let status = "Name:\tcrashloop-expor\nVmPeak:\t 1232000 kB\nVmSize:\t 1201976 kB\nVmHWM:\t  160384 kB\nVmRSS:\t  158164 kB\nThreads:\t9\n";
        assert_eq!(parse_status_bytes(status, "VmRSS"), Some(158_164 * 1024));
        assert_eq!(parse_status_bytes(status, "VmSize"), Some(1_201_976 * 1024));
        assert_eq!(parse_status_bytes(status, "VmSwap"), None);
        assert_eq!(parse_status_bytes("VmRSS:\t12 MB\n", "VmRSS"), None, "another unit");
        assert_eq!(parse_status_bytes(&format!("VmRSS:\t{} kB\n", u64::MAX), "VmRSS"), None, "overflow");
    }

    #[test]
    fn limits_give_the_soft_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max cpu time              unlimited            unlimited            seconds   \n\
            Max open files            1048576              1048576              files     \n\
            Max locked memory         8388608              8388608              bytes     \n";
        assert_eq!(parse_max_open_files(limits), Some(1_048_576));
        let soft = limits.replace("1048576              1048576", "1024                 4096   ");
        assert_eq!(parse_max_open_files(&soft), Some(1024));
        assert_eq!(parse_max_open_files(&limits.replace("1048576              1048576", "unlimited unlimited")), None);
        assert_eq!(parse_max_open_files(""), None);
    }

    #[test]
    fn stat_gives_the_boot_time() {
        let stat = "cpu  2255 34 2290 22625563 6290 127 456 0 0 0\nintr 114930548 113199788 3\nctxt 1990473\nbtime 1795000000\nprocesses 2915\n";
        assert_eq!(parse_boot_time(stat), Some(1_795_000_000));
        assert_eq!(parse_boot_time("cpu 1 2 3\n"), None);
        assert_eq!(parse_boot_time("btime soon\n"), None);
    }
}

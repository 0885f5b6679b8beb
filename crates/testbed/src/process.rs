//! The testbed's process toolkit: start a program with its log and pid files, stop it,
//! leave a guardian to clean up after this process, find binaries (the cache, `PATH`), pick
//! free ports, run a future from blocking code, and a scratch directory for a test. Used by
//! [`Cluster`](super::Cluster), [`Node`](super::Node) and the harness modules; it knows
//! nothing of any of them.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Error, Result, io};

/// How long a stopped program gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Waits for the parent process to exit, then runs a stop script. Arguments: parent pid,
/// the stop script, then the stop script's arguments.
const GUARDIAN: &str = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
script=$2
shift 2
sh -c "$script" testbed-stop "$@""#;

/// A shell in a process group of its own that runs a stop script once the process that
/// started it is gone, even if that process never ran `Drop` (statics such as
/// [`shared`](super::shared), SIGKILL, Ctrl-C). Dropping it dismisses it: the script is not run.
pub(crate) struct Guardian(Child);

impl Guardian {
    /// Starts a guardian named `name` (its `$0`) that will run `sh -c stop_script` with `args`.
    pub(crate) fn spawn(name: &str, stop_script: &str, args: &[&OsStr]) -> Result<Guardian> {
        let child = Command::new("sh")
            .args(["-c", GUARDIAN, name])
            .arg(std::process::id().to_string())
            .arg(stop_script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(io(format!("starting the {name} (sh)")))?;
        Ok(Guardian(child))
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        signal_group(self.0.id(), "KILL");
        let _ = self.0.wait();
    }
}

/// Starts `bin` in a process group of its own (so a guardian can stop it and its children
/// at once), its output to `DIR/NAME.log` and its pid in `DIR/NAME.pid`.
pub(crate) fn spawn_logged(dir: &Path, name: &str, bin: &Path, args: &[String]) -> Result<Child> {
    spawn_logged_with(dir, name, bin, args, &[])
}

/// [`spawn_logged`] with more environment variables.
pub(crate) fn spawn_logged_with(
    dir: &Path,
    name: &str,
    bin: &Path,
    args: &[String],
    envs: &[(&str, &str)],
) -> Result<Child> {
    let log_path = dir.join(format!("{name}.log"));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io(format!("opening {}", log_path.display())))?;
    let log2 = log.try_clone().map_err(io("duplicating a log file handle"))?;
    let child = Command::new(bin)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .spawn()
        .map_err(io(format!("starting {}", bin.display())))?;
    let pid_file = dir.join(format!("{name}.pid"));
    fs::write(&pid_file, child.id().to_string()).map_err(io(format!("writing {}", pid_file.display())))?;
    Ok(child)
}

/// SIGTERM to the child's process group, SIGKILL after [`STOP_GRACE`], then reap it.
pub(crate) fn stop(dir: &Path, name: &str, slot: &mut Option<Child>) {
    let Some(mut child) = slot.take() else { return };
    signal_group(child.id(), "TERM");
    let deadline = Instant::now() + STOP_GRACE;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(child.id(), "KILL");
    let _ = child.wait();
    let _ = fs::remove_file(dir.join(format!("{name}.pid")));
}

/// Sends `signal` to the process group `pgid`.
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), "--".into(), format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Runs a future on a fresh runtime in a scoped thread, so callers may be inside a runtime.
pub(crate) fn block_on<F: Future + Send>(fut: F) -> Result<F::Output>
where
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(io("building a tokio runtime"))?;
            Ok(rt.block_on(fut))
        })
        .join()
        .unwrap_or_else(|_| Err(Error::Startup("the readiness check panicked".into())))
    })
}

/// A free port on `127.0.0.1`, for a server a test starts; panics if there is none.
pub fn free_port() -> u16 {
    let [port] = free_ports().expect("a free loopback port");
    port
}

/// `N` different free ports on `127.0.0.1`.
pub fn free_ports<const N: usize>() -> Result<[u16; N]> {
    // Hold all listeners at once so that the ports differ, then release them.
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io("picking free ports"))?;
    let mut ports = [0; N];
    for (port, l) in ports.iter_mut().zip(&listeners) {
        *port = l.local_addr().map_err(io("picking free ports"))?.port();
    }
    Ok(ports)
}

/// `$CRASHLOOP_CACHE`, default `${XDG_CACHE_HOME:-$HOME/.cache}/crashloop-exporter`.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |k| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("CRASHLOOP_CACHE").or_else(|| {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache"))).map(|c| c.join("crashloop-exporter"))
    })
}

/// Whether `path` is a file with an execute bit.
pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A binary that `.ci/install` builds into the cache (kubelet, kube-scheduler, …): the cache's
/// bin, then PATH.
pub(crate) fn locate_in_cache(name: &'static str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = cache_dir().map(|c| c.join("bin")).into_iter().collect();
    dirs.extend(std::env::var_os("PATH").iter().flat_map(std::env::split_paths));
    dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p)).ok_or_else(|| Error::MissingBinary {
        name,
        looked_in: dirs.first().map_or("the cache".into(), |d| d.display().to_string()) + ", PATH",
    })
}

/// A program on `PATH`.
pub(crate) fn which(name: &'static str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or(Error::MissingBinary { name, looked_in: "PATH".into() })
}

/// Runs a command to its end; its stdout, or an error with its stderr.
pub(crate) fn run(command: &mut Command) -> Result<String> {
    let what = format!("{command:?}");
    let out = command.stdin(Stdio::null()).output().map_err(io(format!("running {what}")))?;
    if !out.status.success() {
        return Err(Error::Startup(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates `dir` (and its parents) readable by its owner only: the test bed's directories
/// hold the admin token, kubeconfigs, etcd's data and the node's state, and any local user
/// who could read them could act as cluster admin while the tests run.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(format!("making {} private", dir.display())))
}

/// A scratch directory for a test, removed on drop (kept when `CRASHLOOP_KEEP_TEST_DIRS` is
/// set); panics if it cannot be made.
pub struct TempDir(pub PathBuf);

impl TempDir {
    #[allow(clippy::new_without_default)] // it makes a directory: no default value
    pub fn new() -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("crashloop-test-{}-{nanos:x}", std::process::id()));
        private_dir(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("CRASHLOOP_KEEP_TEST_DIRS").is_none() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

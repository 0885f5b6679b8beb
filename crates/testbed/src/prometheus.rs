//! Prometheus and Alertmanager as tests and benchmarks run them (Debian's binaries, on
//! loopback, their data in a directory of the caller's), and their HTTP API.
//!
//! Test helpers: where something fails they panic with what, rather than return an error.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::free_port;
use super::http::get10;

/// A child process killed (and waited for) on drop, its output in `DIR/NAME.log`.
pub struct Proc {
    pub name: &'static str,
    child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &'static str, dir: &Path, cmd: &mut Command) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let file = fs::File::create(&log).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts (run .ci/install): {e}"));
        Proc { name, child, log }
    }

    /// The end of its log, for failure messages.
    pub fn tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!("--- {} log (last lines) ---\n{}", self.name, lines[lines.len().saturating_sub(25)..].join("\n"))
    }

    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited with {status}\n{}", self.name, self.tail());
        }
    }

    /// Checks `config` with `promtool check config`, then starts Prometheus with it on a free
    /// loopback port, its data in `dir`: the process and its address.
    pub fn prometheus(dir: &Path, config: &Path) -> (Proc, String) {
        let check =
            Command::new("promtool").args(["check", "config"]).arg(config).output().expect("promtool (.ci/install)");
        assert!(check.status.success(), "promtool check config:\n{}", String::from_utf8_lossy(&check.stdout));
        let addr = format!("127.0.0.1:{}", free_port());
        fs::create_dir_all(dir.join("prom-data")).expect("Prometheus data dir");
        let proc = Proc::spawn(
            "prometheus",
            dir,
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("prom-data").display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--log.level=warn"),
        );
        (proc, addr)
    }

    /// Starts Alertmanager with `config` on a free loopback port (no clustering), its data in
    /// `dir`: the process and its address.
    pub fn alertmanager(dir: &Path, config: &Path) -> (Proc, String) {
        let addr = format!("127.0.0.1:{}", free_port());
        fs::create_dir_all(dir.join("am-data")).expect("Alertmanager data dir");
        let proc = Proc::spawn(
            "alertmanager",
            dir,
            Command::new("prometheus-alertmanager")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", dir.join("am-data").display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--cluster.listen-address="),
        );
        (proc, addr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query-string value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET on Prometheus' or Alertmanager's HTTP API: the JSON body.
pub async fn api(addr: &str, path: &str) -> Result<Value, String> {
    let (status, body) = get10(addr, path).await.map_err(|e| format!("GET {path}: {e}"))?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| format!("GET {path}: {status}, not JSON: {e}"))?;
    if status != 200 {
        return Err(format!("GET {path}: {status} {value}"));
    }
    Ok(value)
}

/// An instant query, at `time` (unix seconds) or now: the result vector, or the error.
pub async fn query(prom: &str, promql: &str, time: Option<f64>) -> Result<Vec<Value>, String> {
    let mut path = format!("/api/v1/query?query={}", encode(promql));
    if let Some(t) = time {
        path.push_str(&format!("&time={t:.3}"));
    }
    let v = api(prom, &path).await?;
    if v["status"] != "success" {
        return Err(format!("{promql}: {v}"));
    }
    match &v["data"]["result"] {
        Value::Array(a) => Ok(a.clone()),
        // Scalars and strings: one value.
        other => Ok(vec![other.clone()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("up{job=\"x\"} > 0"), "up%7Bjob%3D%22x%22%7D%20%3E%200");
        assert_eq!(encode("a-b_c.d~"), "a-b_c.d~");
    }
}

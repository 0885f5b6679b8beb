//! The exporter seen from outside, as tests and benchmarks see it: its binary run against a
//! test bed cluster and scraped over loopback, the samples of an exposition, and `promtool`'s
//! verdict on one. The test bed does not link the exporter: the caller gives the path of the
//! binary (in the exporter's tests and benches, `env!("CARGO_BIN_EXE_crashloop-exporter")`).
//!
//! Test helpers: where something fails they panic with what, rather than return an error.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;
use super::http::http_get;

/// A running `crashloop-exporter serve`, killed on drop.
pub struct Exporter {
    child: Child,
    /// `127.0.0.1:PORT`, where it serves.
    pub addr: String,
}

impl Exporter {
    /// Starts the exporter binary `bin` with `args` after the kubeconfig and listen address,
    /// and waits until it is [ready](Exporter::ready).
    pub async fn start(bin: impl AsRef<Path>, kubeconfig: &Path, args: &[&str]) -> Exporter {
        Exporter::spawn(bin, kubeconfig, args, Stdio::inherit()).ready().await
    }

    /// Starts the exporter as [`Exporter::start`] does, its stderr to `stderr`, without waiting.
    /// `--log-level` in `args` replaces the default `info,crashloop_exporter=debug`.
    pub fn spawn(bin: impl AsRef<Path>, kubeconfig: &Path, args: &[&str], stderr: Stdio) -> Exporter {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(bin.as_ref())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--listen-address", &addr])
            .args(if args.contains(&"--log-level") {
                &[][..]
            } else {
                &["--log-level", "info,crashloop_exporter=debug"][..]
            })
            .args(args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("the exporter binary {} starts: {e}", bin.as_ref().display()));
        Exporter { child, addr }
    }

    /// Waits until `/readyz` answers 200, then for the Event watch's first list (up to
    /// 30 s, else it panics): the list starts once the pods are listed, and what it lists is
    /// the baseline, so an Event a test posts before it completes would be taken as history
    /// and not counted.
    pub async fn ready(self) -> Exporter {
        let exporter = self.ready_for_pods().await;
        let listed = r#"crashloop_exporter_watch_events_total{resource="events",type="init_done"}"#;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match exporter.get("/metrics", &[]).await {
                Ok((200, body)) if String::from_utf8_lossy(&body).contains(listed) => return exporter,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
            assert!(Instant::now() < deadline, "the exporter did not list Events within 30 s of being ready");
        }
    }

    /// Waits until `/readyz` answers 200 (up to 30 s, else it panics): the pods are listed.
    /// For an exporter that may not list Events (an RBAC test); else [`Exporter::ready`].
    pub async fn ready_for_pods(self) -> Exporter {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = self.get("/readyz", &[]).await {
                return self;
            }
            assert!(Instant::now() < deadline, "the exporter did not become ready within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A GET; returns the status code and the raw body.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> std::io::Result<(u16, Vec<u8>)> {
        http_get(&self.addr, path, headers).await.map(|(s, _, b)| (s, b))
    }

    /// `/metrics` in the Prometheus text format.
    pub async fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics", &[]).await.unwrap_or_else(|e| panic!("scraping {}: {e}", self.addr));
        assert_eq!(status, 200);
        String::from_utf8(body).expect("utf-8 exposition")
    }

    /// Scrapes until `done` holds for the exposition, or panics after 15 s with the last one.
    pub async fn metrics_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.metrics_within(Duration::from_secs(15), what, done).await
    }

    /// [`Exporter::metrics_until`] with another deadline.
    pub async fn metrics_within(&self, timeout: Duration, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.metrics().await;
            if done(&out) {
                return out;
            }
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {what}; last scrape:\n{out}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `within` for the process to end by itself: its exit status, or None.
    pub async fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The sample lines of one family, e.g. `samples(out, "crashloop_container_restarts_total")`.
pub fn samples<'a>(out: &'a str, family: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' '])).collect()
}

/// The value of the first sample of `family` whose labels contain `label`.
pub fn sample_value(out: &str, family: &str, label: &str) -> Option<f64> {
    samples(out, family)
        .iter()
        .find(|l| l.contains(label))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Every sample line that mentions `pod="<name>"`.
pub fn pod_lines<'a>(out: &'a str, pod: &str) -> Vec<&'a str> {
    let needle = format!("pod=\"{pod}\"");
    out.lines().filter(|l| !l.starts_with('#') && l.contains(&needle)).collect()
}

/// Runs `promtool check metrics` on an exposition; returns what it reported.
pub fn promtool_check_metrics(exposition: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (.ci/install)");
    child.stdin.take().expect("stdin").write_all(exposition.as_bytes()).expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && report.trim().is_empty(), report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str =
        "# HELP a_total A.\n# TYPE a_total counter\na_total{pod=\"p\"} 3\na_total_x 1\na_total 7\nb{pod=\"q\"} 2\n";

    #[test]
    fn samples_are_the_lines_of_exactly_one_family() {
        assert_eq!(samples(OUT, "a_total"), ["a_total{pod=\"p\"} 3", "a_total 7"]);
        assert_eq!(sample_value(OUT, "a_total", "pod=\"p\""), Some(3.0));
        assert_eq!(sample_value(OUT, "b", "pod=\"p\""), None);
        assert_eq!(pod_lines(OUT, "q"), ["b{pod=\"q\"} 2"]);
    }
}

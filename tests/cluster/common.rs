//! Support for integration tests: runs the real exporter binary against the testbed
//! apiserver and scrapes it over HTTP.

use std::convert::Infallible;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use crashloop_testbed as testbed;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::Value;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `crashloop-exporter serve`, killed on drop.
pub struct Exporter {
    child: Child,
    pub addr: String,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

impl Exporter {
    /// Starts the exporter with `args` after the kubeconfig and listen address, and waits
    /// until `/readyz` answers 200.
    pub async fn start(kubeconfig: &Path, args: &[&str]) -> Exporter {
        Exporter::spawn(kubeconfig, args, Stdio::inherit()).ready().await
    }

    /// Starts the exporter as [`Exporter::start`] does, its stderr to `stderr`, without waiting.
    /// `--log-level` in `args` replaces the default `info,crashloop_exporter=debug`.
    pub fn spawn(kubeconfig: &Path, args: &[&str], stderr: Stdio) -> Exporter {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
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
            .expect("the exporter binary starts");
        Exporter { child, addr }
    }

    /// Waits until `/readyz` answers 200.
    /// Then waits, up to 10 s, for the Event watch's first list: it starts once the pods
    /// are listed, and what it lists is the baseline, so an Event a test posts before it
    /// completes would be taken as history and not counted. An exporter that cannot list
    /// Events (an RBAC test) is returned after the 10 s.
    pub async fn ready(self) -> Exporter {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = self.get("/readyz", &[]).await {
                break;
            }
            assert!(Instant::now() < deadline, "the exporter did not become ready within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let listed = r#"crashloop_exporter_watch_events_total{resource="events",type="init_done"}"#;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.get("/metrics", &[]).await {
                Ok((200, body)) if String::from_utf8_lossy(&body).contains(listed) => break,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        self
    }

    /// A GET; returns the status code and the raw body.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> std::io::Result<(u16, Vec<u8>)> {
        http_get(&self.addr, path, headers).await.map(|(s, _, b)| (s, b))
    }

    /// `/metrics` in the Prometheus text format.
    pub async fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics", &[]).await.expect("scrape");
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

/// A minimal HTTP/1.1 GET over a fresh connection: status, headers (lower-cased names), body.
pub async fn http_get(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    exchange(addr, &request).await
}

/// Sends `request` on a fresh connection and reads until the server closes it: status,
/// headers (lower-cased names), body.
async fn exchange(addr: &str, request: &str) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(raw)
}

/// Status, headers (lower-cased names), body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// [`http_get`], timed from before the connect: time to the first byte of the answer, time
/// to its last, and the answer.
#[allow(dead_code)] // for benches/cluster.rs
pub async fn http_get_timed(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(Duration, Duration, Answer)> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = vec![0; 64 * 1024];
    let first = stream.read(&mut raw).await?;
    let ttfb = started.elapsed();
    raw.truncate(first);
    stream.read_to_end(&mut raw).await?;
    let total = started.elapsed();
    Ok((ttfb, total, parse_response(raw)?))
}

/// Status, headers (lower-cased names) and body of a raw HTTP/1.x answer.
fn parse_response(raw: Vec<u8>) -> std::io::Result<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or(std::io::ErrorKind::InvalidData)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Ok((status, headers, body))
}

/// A chunked HTTP/1.1 body, decoded; an error if it is cut short (no last chunk).
fn dechunk(mut rest: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunked body: {what}"));
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(|| bad("cut short"))?;
        let size = std::str::from_utf8(&rest[..line_end]).map_err(|_| bad("size line"))?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).map_err(|_| bad("size"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or_else(|| bad("cut short"))?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or_else(|| bad("cut short"))?;
    }
}

/// The sample lines of one family, e.g. `samples(out, "crashloop_container_restarts_total")`.
pub fn samples<'a>(out: &'a str, family: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' '])).collect()
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

/// `deploy/prometheus/scrape-config.yaml` (a `scrape_configs` job with Kubernetes service
/// discovery) rewritten for a Prometheus on loopback: the `kubernetes_sd_configs` block becomes
/// a `file_sd_configs` reading `targets_file`, whose targets carry the `__meta_kubernetes_*`
/// labels Kubernetes discovery would set, so the job's own relabeling decides what is kept.
/// (Debian's Prometheus is built without Kubernetes discovery.) `interval` replaces the
/// scrape interval and timeout. Everything else is the shipped file, line for line.
pub fn scrape_config_with_file_sd(targets_file: &Path, interval: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/scrape-config.yaml");
    let shipped = std::fs::read_to_string(&path).expect("deploy/prometheus/scrape-config.yaml");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    let mut skip_deeper_than: Option<usize> = None;
    let mut replaced = false;
    for line in shipped.lines() {
        if let Some(depth) = skip_deeper_than {
            if line.trim().is_empty() || indent(line) > depth {
                continue;
            }
            skip_deeper_than = None;
        }
        let key = line.trim_start();
        if key.starts_with("kubernetes_sd_configs:") {
            let pad = " ".repeat(indent(line));
            out.push(format!("{pad}file_sd_configs:"));
            out.push(format!("{pad}  - files: ['{}']", targets_file.display()));
            out.push(format!("{pad}    refresh_interval: 1s"));
            skip_deeper_than = Some(indent(line));
            replaced = true;
        } else if key.starts_with("scrape_interval:") || key.starts_with("scrape_timeout:") {
            let name = key.split(':').next().unwrap_or_default();
            out.push(format!("{}{name}: {interval}", " ".repeat(indent(line))));
        } else {
            out.push(line.to_string());
        }
    }
    assert!(replaced, "scrape-config.yaml has no kubernetes_sd_configs");
    out.join("\n") + "\n"
}

/// A file_sd target group as Kubernetes endpoints discovery would describe one port of a
/// Service: `service_label` is its `app.kubernetes.io/name` label, `port_name` the port's name.
pub fn kubernetes_endpoint_target(addr: &str, service_label: &str, port_name: &str) -> serde_json::Value {
    serde_json::json!({
        "targets": [addr],
        "labels": {
            "__meta_kubernetes_namespace": "crashloop-exporter",
            "__meta_kubernetes_service_name": service_label,
            "__meta_kubernetes_service_label_app_kubernetes_io_name": service_label,
            "__meta_kubernetes_endpoint_port_name": port_name,
        },
    })
}

/// A child process killed (and waited for) on drop.
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
}

impl Proc {
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
}

impl Proc {
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

/// Creates Deployment pod `app-6c8f7d9b5-<suffix>` in `ns` (made if missing), its container
/// `main` running; returns the pod as stored.
pub async fn running_pod(ns: &str, suffix: &str) -> k8s_openapi::api::core::v1::Pod {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let manifest = testbed::deployment_pod(
        ns,
        "app",
        "6c8f7d9b5",
        suffix,
        vec![testbed::container("main", "registry.example/app:1")],
    );
    let pod = testbed::create_pod(&client, ns, &manifest).await.expect("create pod");
    let status =
        testbed::pod_status(&pod, "Running", vec![testbed::running_status("main", 0, &testbed::ago(30), None)]);
    testbed::patch_status(&client, ns, &format!("app-6c8f7d9b5-{suffix}"), &status).await.expect("running");
    pod
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop (kept when CRASHLOOP_KEEP_TEST_DIRS is set).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("crashloop-test-{}-{nanos:x}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
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

/// Percent-encodes a query-string value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A GET in HTTP/1.0, so that Go's server answers without chunked encoding: status, body.
pub async fn get10(addr: &str, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let (status, _, body) = exchange(addr, &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")).await?;
    Ok((status, body))
}

/// A POST of a JSON body in HTTP/1.0 (Alertmanager's API): status, body.
pub async fn post10(addr: &str, path: &str, json: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    let (status, _, body) = exchange(addr, &request).await?;
    Ok((status, body))
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

/// A line for CI's log: written to stderr directly, past the test harness' capture.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Polls `check` every 250 ms until it returns Some, or panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the webhook received: arrival time and the Alertmanager payload.
pub type Received = Arc<Mutex<Vec<(Instant, Value)>>>;

/// Serves `POST /hook` on `addr`, storing every JSON payload.
pub async fn serve_webhook(addr: SocketAddr, received: Received) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind webhook");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let received = received.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let received = received.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        if path == "/hook" {
                            match serde_json::from_slice::<Value>(&body) {
                                Ok(v) => received.lock().unwrap().push((Instant::now(), v)),
                                Err(e) => eprintln!("e2e: webhook got a body that is not JSON: {e}"),
                            }
                        }
                        let status = if path == "/hook" { 200 } else { 404 };
                        Ok::<_, Infallible>(Response::builder().status(status).body(Full::new(Bytes::new())).unwrap())
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
}

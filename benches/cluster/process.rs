//! `--process-pods N`: the whole process as users see it (method in the bench's module doc).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use crashloop_testbed as testbed;
use crashloop_testbed::exporter::sample_value;
use crashloop_testbed::http::{http_get, http_get_timed};
use crashloop_testbed::measure::{median, percentile, unix_now};
use crashloop_testbed::prometheus::{Proc, query};
use futures::StreamExt;

use super::{Exporter, Options, proc_status, prometheus_get, prometheus_scrape};

/// Bump when the stored pods change (`crashloop_testbed::stream_pod` or how they are stored),
/// so a cached etcd data directory of the old pods is not reused.
const STORE_FORMAT: u32 = 1;
/// Puts per etcd transaction (etcd allows 128) and transactions in flight.
const TXN_PUTS: usize = 100;
const TXNS_IN_FLIGHT: usize = 4;
/// The stream's namespaces (`team-{i % 50}`).
const NAMESPACES: usize = 50;
const JOB: &str = "crashloop-exporter";

/// The in-process figures of the same pods, read from the footprint bench's table.
#[derive(Default)]
struct InProcess {
    rss_mib: Option<f64>,
    /// (CPU, wall) of one render, ms.
    plain_ms: Option<(f64, f64)>,
    gzip_ms: Option<(f64, f64)>,
}

/// Parses the rows `benches/footprint.rs` prints; panics if they are for another N.
fn in_process(file: &Path, pods: usize) -> InProcess {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("--process-in-process {}: {e}", file.display()));
    let cells = |prefix: &str| -> Option<String> {
        text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.split('|').nth(2)).map(|c| c.trim().to_string())
    };
    let numbers = |cell: String| -> Vec<f64> {
        cell.split(|c: char| !(c.is_ascii_digit() || c == '.')).filter_map(|t| t.parse().ok()).collect()
    };
    let rss_row = format!("| process RSS, {pods} pods cached");
    if !text.contains("| process RSS, ") {
        panic!("{}: no footprint table in it", file.display());
    }
    assert!(text.contains(&rss_row), "{}: the footprint table is not for {pods} pods", file.display());
    let ms = |prefix: &str| cells(prefix).map(numbers).and_then(|v| Some((*v.first()?, *v.get(1)?)));
    InProcess {
        rss_mib: cells(&rss_row).map(numbers).and_then(|v| v.first().copied()),
        plain_ms: ms("| /metrics render, plain"),
        gzip_ms: ms("| /metrics render, gzip"),
    }
}

/// The stored pod `i`: the stream's pod as the apiserver would keep it (no resourceVersion,
/// which etcd's revision gives; a creation time).
fn stored_pod(i: usize) -> (String, Vec<u8>) {
    let mut pod = testbed::stream_pod(i, 0);
    let meta = &mut pod["metadata"];
    let key = format!(
        "/registry/pods/{}/{}",
        meta["namespace"].as_str().expect("a namespace"),
        meta["name"].as_str().expect("a name")
    );
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
        m.insert("creationTimestamp".into(), "2026-11-24T08:59:00Z".into());
    }
    (key, serde_json::to_vec(&pod).expect("a pod as JSON"))
}

/// Writes the `pods` stream pods straight into etcd, as JSON (which the apiserver reads
/// beside its own protobuf), in transactions of [`TXN_PUTS`].
async fn populate_etcd(cluster: &testbed::Cluster, pods: usize) {
    let client = cluster.client().await.expect("client");
    for n in 0..NAMESPACES.min(pods) {
        testbed::ensure_namespace(&client, &format!("team-{n}")).await.expect("namespace");
    }
    let etcd = cluster.etcd_client().expect("a client of etcd");
    let b64 = base64::engine::general_purpose::STANDARD;
    let txns = (0..pods).step_by(TXN_PUTS).map(|start| {
        let puts: Vec<_> = (start..(start + TXN_PUTS).min(pods))
            .map(stored_pod)
            .map(|(k, v)| serde_json::json!({"requestPut": {"key": b64.encode(k), "value": b64.encode(v)}}))
            .collect();
        serde_json::json!({"success": puts}).to_string()
    });
    futures::stream::iter(txns)
        .map(|body| {
            let etcd = etcd.clone();
            async move {
                let txn = tokio::task::spawn_blocking(move || etcd.post_json("/v3/kv/txn", &body));
                txn.await.expect("the txn thread").expect("etcd takes the txn");
            }
        })
        .buffer_unordered(TXNS_IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
}

/// Pods the apiserver holds, from one `limit=1` page (`remainingItemCount`).
fn pods_in_cluster(kubeconfig: &Path) -> usize {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "--raw", "/api/v1/pods?limit=1"])
        .output()
        .expect("kubectl runs");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let items = list["items"].as_array().map_or(0, Vec::len);
    items + list["metadata"]["remainingItemCount"].as_u64().unwrap_or(0) as usize
}

/// The cluster holding `pods` stream pods: from the cache when it has them, else
/// populated and saved there. Returns it and a line saying which, and how long it took.
fn cluster(o: &Options, runtime: &tokio::runtime::Runtime) -> (testbed::Cluster, String) {
    let pods = o.process_pods;
    let cache = testbed::cache_dir()
        .expect("a cache directory ($CRASHLOOP_CACHE or $HOME)")
        .join("bench-etcd")
        .join(format!("stream-pods-{pods}-store-v{STORE_FORMAT}"));
    let started = Instant::now();
    if cache.join("member").is_dir() && !o.process_fresh {
        let cluster = testbed::Cluster::start_from_etcd_data(&cache).expect("testbed cluster from the cached data");
        let held = pods_in_cluster(&cluster.kubeconfig_path());
        assert_eq!(held, pods, "the cached etcd data at {} holds {held} pods, not {pods}", cache.display());
        let how = format!(
            "etcd data from the cache ({}), started in {:.0} s",
            cache.display(),
            started.elapsed().as_secs_f64()
        );
        return (cluster, how);
    }
    let cluster = testbed::Cluster::start().expect("testbed cluster (run .ci/install)");
    let up = started.elapsed().as_secs_f64();
    runtime.block_on(populate_etcd(&cluster, pods));
    let written = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(300);
    while pods_in_cluster(&cluster.kubeconfig_path()) != pods {
        assert!(Instant::now() < deadline, "the apiserver does not show {pods} pods after 300 s");
        std::thread::sleep(Duration::from_secs(1));
    }
    if let Some(parent) = cache.parent() {
        std::fs::create_dir_all(parent).expect("the cache directory");
    }
    cluster.save_etcd_data(&cache).expect("the etcd data saved to the cache");
    let how = format!(
        "cluster started in {up:.0} s, populated in {:.0} s (written to etcd), saved to {} in {:.0} s more",
        written - up,
        cache.display(),
        started.elapsed().as_secs_f64() - written
    );
    (cluster, how)
}

/// utime + stime of a process, in seconds (`/proc/PID/stat`, ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0.0)).collect();
    (fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Sleeps until 20 ms into the next wall-clock second: the kept body is for one second,
/// so a scrape then is a new render.
async fn next_second() {
    let now = Duration::from_secs_f64(unix_now());
    let wait = Duration::from_secs(now.as_secs() + 1) + Duration::from_millis(20) - now;
    tokio::time::sleep(wait).await;
}

/// One scrape's (time to first byte, total) in ms, and the body's size on the wire.
async fn scrape(addr: &str, gzip: bool) -> (f64, f64, usize) {
    let headers: &[(&str, &str)] = if gzip { &[("Accept-Encoding", "gzip")] } else { &[] };
    let (ttfb, total, (status, head, body)) = http_get_timed(addr, "/metrics", headers).await.expect("scrape");
    assert_eq!(status, 200, "/metrics answered {status}");
    let gzipped = head.iter().any(|(k, v)| k == "content-encoding" && v.contains("gzip"));
    assert_eq!(gzipped, gzip, "/metrics: gzip asked {gzip}, answered {gzipped}");
    (ttfb.as_secs_f64() * 1e3, total.as_secs_f64() * 1e3, body.len())
}

#[derive(Default)]
struct Scrapes {
    ttfb: Vec<f64>,
    total: Vec<f64>,
    /// CPU seconds of the process over the scrapes.
    cpu: f64,
    bytes: usize,
    /// Warm scrapes that fell into the next second (so were renders after all).
    late: usize,
}

impl Scrapes {
    fn sorted(mut self) -> Self {
        self.ttfb.sort_by(f64::total_cmp);
        self.total.sort_by(f64::total_cmp);
        self
    }
}

/// `n` cold scrapes (each the first of a new second), the process's CPU over them.
async fn cold(addr: &str, pid: u32, gzip: bool, n: usize) -> Scrapes {
    let mut s = Scrapes::default();
    let cpu = cpu_seconds(pid);
    for _ in 0..n {
        next_second().await;
        let (ttfb, total, bytes) = scrape(addr, gzip).await;
        s.bytes = bytes;
        s.ttfb.push(ttfb);
        s.total.push(total);
    }
    s.cpu = cpu_seconds(pid) - cpu;
    s.sorted()
}

/// `n` warm scrapes: each right after a cold one in the same second; CPU over them alone.
async fn warm(addr: &str, pid: u32, gzip: bool, n: usize) -> Scrapes {
    let mut s = Scrapes::default();
    for _ in 0..n {
        next_second().await;
        let second = unix_now() as u64;
        scrape(addr, gzip).await;
        let cpu = cpu_seconds(pid);
        let late = unix_now() as u64 != second;
        let (ttfb, total, bytes) = scrape(addr, gzip).await;
        s.cpu += cpu_seconds(pid) - cpu;
        s.late += usize::from(late);
        s.bytes = bytes;
        s.ttfb.push(ttfb);
        s.total.push(total);
    }
    s.sorted()
}

/// What real Prometheus recorded of one job, in the order of its scrapes.
struct PromRun {
    durations: Vec<f64>,
    samples: Vec<f64>,
    /// Scrapes with `up == 0`.
    down: usize,
}

impl PromRun {
    /// `scrape_duration_seconds` sorted: all of them, and without the first (which creates
    /// every series in Prometheus's head, a cost that a running Prometheus paid long ago).
    fn durations(&self) -> (Vec<f64>, Vec<f64>) {
        (sorted(&self.durations), sorted(self.durations.get(1..).unwrap_or_default()))
    }
}

/// A sorted copy, for [`percentile`].
fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Real Prometheus scraping `addr` every 15 s until it has `samples` scrapes.
async fn prometheus(addr: &str, samples: usize) -> PromRun {
    let dir = testbed::TempDir::new();
    let config = dir.0.join("prometheus.yml");
    let yaml = format!(
        "global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: {JOB}\n    \
         static_configs:\n      - targets: ['{addr}']\n"
    );
    std::fs::write(&config, yaml).expect("prometheus.yml");
    let (mut proc, prom) = Proc::prometheus(&dir.0, &config);
    let count = format!("count_over_time(scrape_duration_seconds{{job=\"{JOB}\"}}[1h])");
    let deadline = Instant::now() + Duration::from_secs(15 * samples as u64 + 90);
    loop {
        proc.assert_running();
        let n = query(&prom, &count, None)
            .await
            .ok()
            .and_then(|r| r.first().and_then(|v| v["value"][1].as_str()).and_then(|v| v.parse::<f64>().ok()));
        if n.is_some_and(|n| n as usize >= samples) {
            break;
        }
        assert!(Instant::now() < deadline, "Prometheus has {n:?} scrapes, not {samples}, in time\n{}", proc.tail());
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let durations = range_values(&prom, "scrape_duration_seconds").await;
    let samples = range_values(&prom, "scrape_samples_scraped").await;
    let down = range_values(&prom, "up").await.iter().filter(|v| **v == 0.0).count();
    PromRun { durations, samples, down }
}

/// Every value of the job's `family` over the last hour, in time order.
async fn range_values(prom: &str, family: &str) -> Vec<f64> {
    let promql = format!("{family}{{job=\"{JOB}\"}}[1h]");
    let result = query(prom, &promql, None).await.unwrap_or_else(|e| panic!("{promql}: {e}"));
    result
        .first()
        .and_then(|r| r["values"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v[1].as_str().and_then(|v| v.parse().ok()))
        .collect()
}

/// Prometheus's floor: the exporter's body as Prometheus asks for it (OpenMetrics, gzip),
/// taken once and served as it is by [`serve_fixed`], so a scrape of it costs Prometheus
/// its own work (the transfer, gunzip, parse, append) and nothing of the exporter's.
async fn prometheus_floor(exporter: &str, samples: usize) -> PromRun {
    let (_, head, body) = prometheus_get(exporter).await;
    let header = |name: &str| head.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Encoding: {}\r\nContent-Length: {}\r\n\r\n",
        header("content-type"),
        header("content-encoding"),
        body.len()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("its address").to_string();
    let server = tokio::spawn(serve_fixed(listener, [response.into_bytes(), body].concat().into()));
    let run = prometheus(&addr, samples).await;
    server.abort();
    run
}

/// Answers every request on `listener` with `response` (head and body), keeping
/// connections open as Prometheus does.
async fn serve_fixed(listener: tokio::net::TcpListener, response: std::sync::Arc<[u8]>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    while let Ok((mut stream, _)) = listener.accept().await {
        let response = response.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    request.drain(..end + 4);
                    if stream.write_all(&response).await.is_err() {
                        return;
                    }
                }
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
        });
    }
}

/// `--process-pods`: every figure of the whole process (see the module doc).
pub(crate) fn figures(o: &Options, runtime: &tokio::runtime::Runtime) {
    let pods = o.process_pods;
    let inproc = o.process_in_process.as_deref().map(|f| in_process(f, pods)).unwrap_or_default();
    let run_started = Instant::now();
    let (cluster, how) = cluster(o, runtime);
    eprintln!("cluster bench: process {pods} pods: {how}");
    let kubeconfig = cluster.kubeconfig_path();
    let dir = testbed::TempDir::new();

    // The floor: one unpaged list of the same pods, after one unmeasured list.
    let k = super::quote(&kubeconfig);
    let raw = format!("kubectl --kubeconfig {k} get --raw /api/v1/pods > /dev/null");
    super::timed(&raw);
    let raw_runs: Vec<(f64, f64)> = (0..3).map(|_| super::timed(&raw)).map(|(w, r, _)| (w, r)).collect();
    let raw_s = median(raw_runs.iter().map(|r| r.0).collect());
    let raw_rss = median(raw_runs.iter().map(|r| r.1).collect());
    eprintln!("cluster bench: process {pods} pods: raw lists (wall s, peak MiB) {raw_runs:?}");

    // Started as a user starts it; /readyz polled every 10 ms.
    let addr = format!("127.0.0.1:{}", testbed::free_port());
    let log = std::fs::File::create(dir.0.join("exporter.log")).expect("exporter log");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--listen-address", &addr])
        .args(&o.process_exporter_args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the exporter binary starts");
    let exporter = Exporter { child, addr: addr.clone() };
    let pid = exporter.child.id();
    runtime.block_on(async {
        while !matches!(http_get(&addr, "/readyz", &[]).await, Ok((200, _, _))) {
            assert!(started.elapsed() < Duration::from_secs(900), "the exporter is not ready after 900 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let ready_s = started.elapsed().as_secs_f64();
    eprintln!("cluster bench: process {pods} pods: ready in {ready_s:.3} s");
    let at_ready = proc_status(pid);
    let kib = |m: &std::collections::HashMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0) as f64 / 1024.0;
    let (ready_rss, list_peak) = (kib(&at_ready, "VmRSS"), kib(&at_ready, "VmHWM"));

    // 10 scrapes as Prometheus makes them, each a new render; then the client's figures.
    let (series, after_10, plain_cold, plain_warm, gzip_cold, gzip_warm) = runtime.block_on(async {
        let pods_line = r#"resource="pods""#;
        let events_listed = r#"crashloop_exporter_watch_events_total{resource="events",type="init_done"}"#;
        let (mut text, _) = prometheus_scrape(&addr).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while sample_value(&text, "crashloop_exporter_cached_objects", pods_line) != Some(pods as f64)
            || !text.contains(events_listed)
        {
            assert!(Instant::now() < deadline, "the exporter does not show {pods} pods and the Event list in 60 s");
            tokio::time::sleep(Duration::from_secs(1)).await;
            (text, _) = prometheus_scrape(&addr).await;
        }
        for _ in 0..9 {
            next_second().await;
            (text, _) = prometheus_scrape(&addr).await;
        }
        let series = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count();
        drop(text);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after_10 = proc_status(pid);
        let n = o.process_scrapes;
        let plain_cold = cold(&addr, pid, false, n).await;
        let plain_warm = warm(&addr, pid, false, n).await;
        let gzip_cold = cold(&addr, pid, true, n).await;
        let gzip_warm = warm(&addr, pid, true, n).await;
        (series, after_10, plain_cold, plain_warm, gzip_cold, gzip_warm)
    });
    let after_client = proc_status(pid);
    let prom = runtime.block_on(prometheus(&addr, o.process_prom_samples));
    let at_end = proc_status(pid);
    let floor = runtime.block_on(prometheus_floor(&addr, o.process_prom_samples));
    drop(exporter);
    drop(cluster);
    let run_s = run_started.elapsed().as_secs_f64();

    // The table.
    let args = match o.process_exporter_args.join(" ") {
        none if none.is_empty() => String::new(),
        args => format!("with `{args}`, "),
    };
    println!();
    println!(
        "the whole process: release crashloop-exporter started as a user starts it, {args}against kube-apiserver 1.20 \
         holding {pods} pods of the in-process stream (3 containers, 5% crash-looping); {how}; the run took {run_s:.0} s; \
         {series} series per scrape; {:.1} MB plain, {:.2} MB gzip",
        plain_cold.bytes as f64 / 1e6,
        gzip_cold.bytes as f64 / 1e6
    );
    println!();
    println!("| figure | value | target | in-process / baseline | ratio |");
    println!("|---|---|---|---|---|");
    let row = super::row;
    let verdict = |ratio: f64, limit: f64| format!("{ratio:.2}x, {}", if ratio <= limit { "met" } else { "missed" });
    row(
        "start to `/readyz` 200 vs `kubectl get --raw /api/v1/pods` (median of 3)",
        &format!("{ready_s:.2} s"),
        "≤ 1.3x the raw list",
        &format!("{raw_s:.2} s ({raw_rss:.0} MiB peak)"),
        &verdict(ready_s / raw_s, 1.3),
    );
    let mib = |v: f64| format!("{v:.1} MiB");
    row("VmRSS at ready, before any scrape", &mib(ready_rss), "", "", "");
    row("VmHWM at ready: the peak during the initial list", &mib(list_peak), "", "", "");
    let rss_10 = kib(&after_10, "VmRSS");
    let rss_target = format!("≤ 1.15x in-process and ≤ 150 MiB{}", if rss_10 <= 150.0 { "" } else { " (150: missed)" });
    match inproc.rss_mib {
        Some(base) => row("VmRSS after 10 scrapes (OpenMetrics, gzip)", &mib(rss_10), &rss_target, &mib(base), &{
            let r = rss_10 / base;
            format!("{r:.2}x, {}", if r <= 1.15 && rss_10 <= 150.0 { "met" } else { "missed" })
        }),
        None => row("VmRSS after 10 scrapes (OpenMetrics, gzip)", &mib(rss_10), &rss_target, "not given", ""),
    }
    row(
        "VmRSS / VmHWM after the client's scrapes, and after Prometheus's",
        &format!(
            "{} / {}, {} / {}",
            mib(kib(&after_client, "VmRSS")),
            mib(kib(&after_client, "VmHWM")),
            mib(kib(&at_end, "VmRSS")),
            mib(kib(&at_end, "VmHWM"))
        ),
        "",
        "",
        "",
    );
    let n = o.process_scrapes;
    let ms = |v: f64| format!("{v:.1} ms");
    for (name, c, w, base) in
        [("plain", &plain_cold, &plain_warm, inproc.plain_ms), ("gzip", &gzip_cold, &gzip_warm, inproc.gzip_ms)]
    {
        let base_cell = base.map_or("not given".into(), |(cpu, wall)| format!("{} render ({} CPU)", ms(wall), ms(cpu)));
        for (what, sorted, target) in [("first byte", &c.ttfb, ""), ("total", &c.total, "≤ 1.3x in-process render")] {
            let p50 = percentile(sorted, 50.0);
            let ratio = base.map_or(String::new(), |(_, wall)| {
                if target.is_empty() { format!("{:.2}x", p50 / wall) } else { verdict(p50 / wall, 1.3) }
            });
            row(
                &format!("`/metrics` {name}, cold, {what}: median / p99 of {n}"),
                &format!("{} / {}", ms(p50), ms(percentile(sorted, 99.0))),
                target,
                &base_cell,
                &ratio,
            );
        }
        let late = if w.late > 0 { format!(" ({} of them a second late)", w.late) } else { String::new() };
        for (what, sorted, target) in [("first byte", &w.ttfb, "≤ 5 ms"), ("total", &w.total, "")] {
            let (p50, p99) = (percentile(sorted, 50.0), percentile(sorted, 99.0));
            let met = if target.is_empty() {
                String::new()
            } else {
                format!(
                    "median {}, p99 {}",
                    if p50 <= 5.0 { "met" } else { "missed" },
                    if p99 <= 5.0 { "met" } else { "missed" }
                )
            };
            row(
                &format!("`/metrics` {name}, warm, {what}: median / p99 of {n}{late}"),
                &format!("{} / {}", ms(p50), ms(p99)),
                target,
                "",
                &met,
            );
        }
        row(
            &format!("CPU per `/metrics` {name} scrape, cold / warm (`/proc/PID/stat`)"),
            &format!("{} / {}", ms(c.cpu / n as f64 * 1e3), ms(w.cpu / n as f64 * 1e3)),
            "",
            &base_cell,
            &base.map_or(String::new(), |(cpu, _)| format!("{:.2}x the render's CPU", c.cpu / n as f64 * 1e3 / cpu)),
        );
    }
    let version = prometheus_version();
    let k = prom.durations.len();
    let ((all, steady), (floor_all, floor_steady)) = (prom.durations(), floor.durations());
    let p = |v: &[f64]| (percentile(v, 50.0), percentile(v, 99.0));
    for (what, ours, theirs) in [
        (format!("all {k}"), &all, &floor_all),
        (format!("the {} after the first (which creates the series)", k.saturating_sub(1)), &steady, &floor_steady),
    ] {
        if ours.is_empty() || theirs.is_empty() {
            continue;
        }
        let ((d50, d99), (f50, f99)) = (p(ours), p(theirs));
        row(
            &format!("Prometheus {version}: scrape_duration_seconds p50 / p99, {what} (15 s interval)"),
            &format!("{d50:.3} / {d99:.3} s"),
            "p99 < 0.5 s",
            &format!("{f50:.3} / {f99:.3} s, the same body from a static server"),
            &format!("{}; p50 {:.2}x the floor", if d99 < 0.5 { "met" } else { "missed" }, d50 / f50),
        );
    }
    let scraped = sorted(&prom.samples);
    row(
        &format!("Prometheus: scrape_samples_scraped p50 / p99 of {k}; scrapes with up == 0"),
        &format!("{:.0} / {:.0}; {}", percentile(&scraped, 50.0), percentile(&scraped, 99.0), prom.down),
        "",
        &format!("static server: {} with up == 0", floor.down),
        "",
    );
    let _ = std::io::stdout().flush();
}

fn prometheus_version() -> String {
    let out = Command::new("prometheus").arg("--version").output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
        .unwrap_or_default();
    text.split_whitespace().skip_while(|w| *w != "version").nth(1).unwrap_or("?").to_string()
}

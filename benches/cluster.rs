//! Cluster benchmarks against a real kube-apiserver (the testbed): detection latency, and
//! the one-shot census people script today against `crashloop-exporter scan`.
//!
//! Run: `cargo bench --bench cluster -- [--pods 1000] [--patches 200] [--census-pods 10000]
//! [--runs 3]`. It starts its own etcd + kube-apiserver, fills them with
//! `crashloop-sim populate` (mix `oom=3,liveness=2,image=1,config=1,healthy=93`: 5% of the
//! pods in CrashLoopBackOff), and prints markdown rows `| figure | value | target | baseline |
//! ratio |`. A full run takes about 5 minutes on 2 cores.
//!
//! **Detection latency.** With `--pods` pods in the cluster, the release exporter binary is
//! started against the same apiserver and waited for (`/readyz`). Then, one at a time, for
//! `--patches` distinct healthy pods: the clock starts, the bench PATCHes the pod's status
//! subresource as the kubelet would (restartCount 0 → 1, last state `Error`/1), and polls
//! `/metrics` over loopback every 5 ms until `crashloop_container_restarts_total` of that pod
//! reads 1; the clock stops when that scrape has been read. The figure therefore includes the
//! PATCH round trip, the watch delivery, the exporter's decode and update, and the render and
//! transfer of the scrape that shows it; it overstates by at most one poll interval (5 ms)
//! plus one render. p50, p99 and max are reported.
//!
//! **Census.** `--census-pods` pods in all (the rest populated now, in other namespaces),
//! the exporter stopped. Each of `--runs` rounds runs, one after the other: the script of the
//! Python-monitor pattern, `kubectl get pods -A -o json | jq -r '<containers in
//! CrashLoopBackOff> | @tsv'`; `crashloop-exporter scan -o json` (which also lists Events to
//! find causes); and `kubectl get --raw /api/v1/pods` (the floor any one-shot census pays).
//! Wall time and peak RSS (of the largest process, from GNU time) are reported as medians;
//! the ratio is the script's over scan's. Both must find the same number of containers in
//! CrashLoopBackOff as the simulator populated, or the bench fails.
//!
//! **Resident memory of the whole process** (`--rss-pods N`; when given, only this figure
//! runs). Run: `cargo bench --bench cluster -- --rss-pods 100000 [--rss-small 1000]
//! [--rss-env 'VAR=VALUE ...']... [--rss-rounds 1] [--rss-scrapes 3] [--rss-no-gdb]
//! [--rss-populate-budget 1200] [--rss-hold 0]`; at 100,000 pods with 6 settings and 2
//! rounds it took 22 minutes on 2 cores, 11 of them populating. The cluster is populated
//! with `--rss-small` pods (same mix as above, so the pods carry kubelet-shaped statuses and
//! the troubled ones their Events); then, for each allocator setting in turn, the release
//! exporter is started as a user starts it (`--kubeconfig K --listen-address
//! 127.0.0.1:PORT`, plus `--log-level warn`), with that setting in its environment, and
//! measured; then the cluster is filled up to N pods (in chunks of 25,000) and every
//! setting is measured again. Findings and figures: BENCHMARKS.md. One measurement:
//! - start the binary, wait for `/readyz` (200 once the first list is in the cache) and read
//!   `/proc/PID/status` (VmRSS "at ready", before any scrape);
//! - scrape `/metrics` as Prometheus 2.x does (its `Accept` header, `Accept-Encoding: gzip`)
//!   until `crashloop_exporter_cached_objects{resource="pods"}` reads the cluster's count and
//!   the Event watch has listed (at most 30 s for the Events), then `--rss-scrapes` more
//!   scrapes 1.5 s apart (each one a fresh render, the clock having moved on a second);
//! - 1 s later read VmRSS, VmHWM (the peak), RssAnon and the thread count;
//! - where `gdb` exists (and without `--rss-no-gdb`), attach to the process and call glibc's
//!   `malloc_info` (written to a temporary file: bytes the allocator holds from the system per
//!   arena, bytes free in its bins, live `mmap`ped blocks), then `malloc_trim(0)`, which gives
//!   every free page of every arena back to the kernel; VmRSS is read again after it. Heap in
//!   use is `system - free + mmapped`: what the program's live objects occupy.
//! - The per-pod slope is (value at N - value at `--rss-small`) / (N - `--rss-small`) for the
//!   same setting and round, so the fixed costs (binary, TLS, runtime, threads) cancel out.
//!
//! The settings are the glibc defaults and each `--rss-env` (space-separated `VAR=VALUE`s,
//! one setting per flag); without `--rss-env`: `MALLOC_ARENA_MAX=1`, `MALLOC_ARENA_MAX=2`,
//! `MALLOC_TRIM_THRESHOLD_=131072` (which, set at all, also turns off glibc's sliding mmap
//! threshold, so blocks of 128 KiB and more are always `mmap`ped), and the last two
//! together. `--rss-rounds R` repeats the sequence R times at each size (one row per round).
//! Should populating run past `--rss-populate-budget` seconds by its own pace, the target
//! is halved (the output says so), as the bench is meant to measure, not to wait.
//! `--rss-hold S` keeps the populated cluster S seconds after the tables, its kubeconfig
//! printed, to run the exporter under a profiler (`heaptrack`, say) against it.
//!
//! **The whole process, as users see it** (`--process-pods N`; when given, only these
//! figures run). Run: `cargo bench --bench cluster -- --process-pods 100000
//! [--process-in-process FILE] [--process-scrapes 20] [--process-prom-samples 20]
//! [--process-fresh] [--process-exporter-arg ARG]...`; `.ci/bench` runs it at its `--pods`,
//! with FILE the footprint bench's table of the same run, so every ratio is against the
//! in-process figures of the same pods. `--process-exporter-arg` passes a flag to the
//! exporter (say `--skip-quiet-containers`); the in-process table is of the default mode,
//! so leave FILE out then.
//! - **The pods** are the in-process stream's (`crashloop_testbed::stream_pod`: 3 containers
//!   with env, resources and probes; 5% in CrashLoopBackOff after OOMKilled/137), in 50
//!   namespaces. They are written straight into etcd under `/registry/pods/NS/NAME`, as JSON
//!   (which kube-apiserver reads beside its own protobuf, defaulting them on read as any
//!   stored pod), 100 to a transaction: tens of seconds for 100,000 pods, where creating them
//!   through the API and then writing their status took about 11 minutes. No Events.
//! - **The cache.** etcd's data directory is then saved (apiserver and etcd stopped for a
//!   consistent copy, then restarted) to `$CRASHLOOP_CACHE/bench-etcd/stream-pods-N-store-vV`
//!   (V is `STORE_FORMAT` in benches/cluster/process.rs, bumped when the pods change); a
//!   later run starts a fresh cluster on a copy of it (`Cluster::start_from_etcd_data`) and
//!   checks it holds N pods. `--process-fresh` populates again.
//! - **The floor.** `kubectl get --raw /api/v1/pods > /dev/null` (one unpaged list from etcd),
//!   once unmeasured, then the median of 3 (wall time and peak RSS, GNU time).
//! - **Start.** The release binary started as a user starts it (`--kubeconfig K
//!   --listen-address 127.0.0.1:PORT`, its default log level, output to a file), `/readyz`
//!   polled every 10 ms: the time from the spawn to the first 200. VmRSS and VmHWM then:
//!   nothing has run but the initial lists, so VmHWM is their peak.
//! - **RSS after 10 scrapes.** Scrapes as Prometheus 2.x makes them (OpenMetrics, gzip) until
//!   the exporter shows N pods and its Event list is done (the first), then 9 more, each at
//!   the start of a new second (a new render); VmRSS 1 s after. The in-process figure is
//!   the footprint bench's RSS after its gzip renders.
//! - **`/metrics` as a client sees it**, Prometheus text, plain then gzip: a raw HTTP/1.1 GET
//!   on a new loopback connection, timed from before the connect to the first byte read and
//!   to the end of the body. Cold: `--process-scrapes` scrapes, each 20 ms into a new second,
//!   so none is answered from the kept body. Warm: as many pairs, a cold scrape and at once a
//!   second one in the same second (which the exporter may answer from the body it keeps; a
//!   pair that crossed into the next second is counted in the row's label). Median and p99
//!   (nearest rank: of 20, the p99 is the slowest). The in-process figure compared is the
//!   render's wall time (its CPU time in brackets), as a client waits in wall time.
//! - **CPU per scrape**: the process's utime + stime (`/proc/PID/stat`) over the cold batch,
//!   and over the warm scrapes alone, divided by their count. `process_cpu_seconds_total`
//!   reads the same file, but reading it would take a scrape, which is itself a render.
//! - **Real Prometheus** (Debian's `prometheus`, on loopback, its own data dir): one job
//!   scraping the exporter every 15 s (timeout 10 s) until it has `--process-prom-samples`
//!   scrapes; then `scrape_duration_seconds` and `scrape_samples_scraped` over the run, read
//!   back through its HTTP API, as p50 and p99 (nearest rank), and how many scrapes failed.
//!   Prometheus 2.x counts in `scrape_duration_seconds` its own work on the body (gunzip,
//!   parse, append to its head) besides the exporter's answer, so the same is measured
//!   against its floor: one body taken from the exporter as Prometheus asks for it
//!   (OpenMetrics, gzip), served as it is by a static server in the bench, scraped by a
//!   fresh Prometheus as many times. Both rows are given over all scrapes and without the
//!   first, which creates every series in Prometheus's head (a cost a running Prometheus
//!   paid when it first saw the target).
//! - Prints `| figure | value | target | in-process / baseline | ratio |`, each target with
//!   its ratio and whether it is met.

#[path = "cluster/process.rs"]
mod process;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crashloop_testbed::exporter::{sample_value, samples};
use crashloop_testbed::http::{Answer, http_get};
use crashloop_testbed::measure::{median, percentile};
use crashloop_testbed::{self as testbed, Terminated};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const MIX: &str = "oom=3,liveness=2,image=1,config=1,healthy=93";
const POLL: Duration = Duration::from_millis(5);
/// The script people write: every container waiting in CrashLoopBackOff, one row each.
/// What Prometheus 2.x (2.42, as Debian ships it) sends as `Accept` when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// The allocator settings the RSS figure compares when no `--rss-env` is given (the glibc
/// defaults always come first).
const RSS_SETTINGS: &[&str] = &[
    "MALLOC_ARENA_MAX=1",
    "MALLOC_ARENA_MAX=2",
    "MALLOC_TRIM_THRESHOLD_=131072",
    "MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072",
];
/// Pods per `crashloop-sim populate` call when filling the cluster for the RSS figure.
const RSS_CHUNK: usize = 25_000;
const JQ: &str = r#".items[] | .metadata.namespace as $ns | .metadata.name as $pod | (.status.containerStatuses // [])[] | select(.state.waiting.reason == "CrashLoopBackOff") | [$ns, $pod, .name, .restartCount, (.lastState.terminated.reason // "")] | @tsv"#;

struct Options {
    pods: usize,
    patches: usize,
    census_pods: usize,
    runs: usize,
    /// 0: no RSS figure; else only the RSS figure, at this many pods.
    rss_pods: usize,
    rss_small: usize,
    /// Allocator settings besides the defaults, each as space-separated `VAR=VALUE`s.
    rss_env: Vec<String>,
    rss_rounds: usize,
    rss_scrapes: usize,
    rss_gdb: bool,
    rss_populate_budget: usize,
    /// Seconds to keep the cluster after the RSS figure, for a profiler.
    rss_hold: usize,
    /// 0: no whole-process figures; else only those, at this many pods.
    process_pods: usize,
    /// The in-process footprint bench's output for the same pods, to compare against.
    process_in_process: Option<PathBuf>,
    process_scrapes: usize,
    process_prom_samples: usize,
    /// Populate again even if the cache holds these pods.
    process_fresh: bool,
    /// More arguments for the exporter, e.g. `--skip-quiet-containers`.
    process_exporter_args: Vec<String>,
}

fn options() -> Options {
    let mut o = Options {
        pods: 1000,
        patches: 200,
        census_pods: 10_000,
        runs: 3,
        rss_pods: 0,
        rss_small: 1000,
        rss_env: Vec::new(),
        rss_rounds: 1,
        rss_scrapes: 3,
        rss_gdb: true,
        rss_populate_budget: 1200,
        rss_hold: 0,
        process_pods: 0,
        process_in_process: None,
        process_scrapes: 20,
        process_prom_samples: 20,
        process_fresh: false,
        process_exporter_args: Vec::new(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || -> usize {
            args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", args[i]))
        };
        match args[i].as_str() {
            "--pods" => o.pods = value(),
            "--patches" => o.patches = value(),
            "--census-pods" => o.census_pods = value(),
            "--runs" => o.runs = value(),
            "--rss-pods" => o.rss_pods = value(),
            "--rss-small" => o.rss_small = value(),
            "--rss-rounds" => o.rss_rounds = value().max(1),
            "--rss-scrapes" => o.rss_scrapes = value(),
            "--rss-populate-budget" => o.rss_populate_budget = value(),
            "--rss-hold" => o.rss_hold = value(),
            "--process-pods" => o.process_pods = value(),
            "--process-scrapes" => o.process_scrapes = value().max(1),
            "--process-prom-samples" => o.process_prom_samples = value().max(1),
            "--process-in-process" => {
                let file = args.get(i + 1).unwrap_or_else(|| panic!("--process-in-process needs a file"));
                o.process_in_process = Some(PathBuf::from(file));
            }
            "--process-exporter-arg" => {
                let arg = args.get(i + 1).unwrap_or_else(|| panic!("--process-exporter-arg needs an argument"));
                o.process_exporter_args.push(arg.clone());
            }
            "--rss-env" => {
                let setting = args.get(i + 1).unwrap_or_else(|| panic!("--rss-env needs VAR=VALUE[ VAR=VALUE...]"));
                assert!(
                    setting.split_whitespace().all(|kv| kv.split_once('=').is_some_and(|(k, _)| !k.is_empty())),
                    "--rss-env {setting:?}: expected space-separated VAR=VALUE"
                );
                o.rss_env.push(setting.clone());
            }
            // Flags without a value: `cargo bench` passes --bench; anything else is a mistake.
            "--rss-no-gdb" | "--process-fresh" | "--bench" => {
                o.rss_gdb &= args[i] != "--rss-no-gdb";
                o.process_fresh |= args[i] == "--process-fresh";
                i += 1;
                continue;
            }
            other => panic!(
                "unknown argument {other:?} (known: --pods N, --patches N, --census-pods N, --runs N, --rss-pods N, \
                 --rss-small N, --rss-env 'VAR=VALUE ...', --rss-rounds N, --rss-scrapes N, --rss-no-gdb, \
                 --rss-populate-budget SECS, --rss-hold SECS, --process-pods N, --process-in-process FILE, \
                 --process-scrapes N, --process-prom-samples N, --process-fresh, --process-exporter-arg ARG)"
            ),
        }
        i += 2;
    }
    assert!(o.patches <= o.pods, "--patches must not exceed --pods");
    assert!(o.census_pods >= o.pods, "--census-pods must be at least --pods");
    assert!(o.rss_pods == 0 || o.rss_pods > o.rss_small, "--rss-pods must exceed --rss-small");
    o
}

/// Runs `crashloop-sim populate`; returns how many containers it put in CrashLoopBackOff.
fn populate(kubeconfig: &Path, pods: usize, prefix: &str) -> usize {
    let started = Instant::now();
    let out = Command::new(testbed::sim_binary().expect("crashloop-sim is built"))
        .arg("populate")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--pods", &pods.to_string(), "--namespaces", "10"])
        .args(["--namespace-prefix", prefix, "--mix", MIX])
        .stderr(Stdio::inherit())
        .output()
        .expect("crashloop-sim runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "crashloop-sim populate failed:\n{text}");
    eprintln!("cluster bench: populated {pods} pods in {:.0} s", started.elapsed().as_secs_f64());
    text.lines()
        .find_map(|l| l.strip_prefix("crash-looping containers (CrashLoopBackOff): "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("crashloop-sim populate did not report its count:\n{text}"))
}

/// The release exporter against the cluster, quiet; killed on drop.
struct Exporter {
    child: std::process::Child,
    addr: String,
}

impl Exporter {
    /// Starts the binary with `env` added to its environment; waits for `/readyz`.
    async fn start(kubeconfig: &Path, env: &[(String, String)], ready_within: Duration) -> Exporter {
        let addr = format!("127.0.0.1:{}", testbed::free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--listen-address", &addr, "--log-level", "warn"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the exporter binary starts");
        let exporter = Exporter { child, addr };
        let deadline = Instant::now() + ready_within;
        while !matches!(http_get(&exporter.addr, "/readyz", &[]).await, Ok((200, _, _))) {
            assert!(Instant::now() < deadline, "the exporter is not ready after {ready_within:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        exporter
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a scrape shows `pod`'s restart counter at `value`.
fn shows(exposition: &[u8], pod: &str, value: &str) -> bool {
    let text = String::from_utf8_lossy(exposition);
    let needle = format!("pod=\"{pod}\"");
    samples(&text, "crashloop_container_restarts_total")
        .iter()
        .any(|l| l.contains(&needle) && l.rsplit(' ').next() == Some(value))
}

/// Detection latencies in milliseconds, sorted.
async fn detection_latency(kubeconfig: &Path, patches: usize) -> Vec<f64> {
    let client = testbed::client_from_kubeconfig(kubeconfig).await.expect("client");
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.expect("list pods");
    let mut healthy: Vec<Pod> = pods
        .items
        .into_iter()
        .filter(|p| {
            let statuses = p.status.as_ref().and_then(|s| s.container_statuses.as_ref());
            statuses.is_some_and(|s| {
                s.iter().all(|c| c.restart_count == 0 && c.state.as_ref().is_some_and(|st| st.running.is_some()))
            })
        })
        .collect();
    healthy.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    assert!(healthy.len() >= patches, "only {} healthy pods for {patches} patches", healthy.len());
    let exporter = Exporter::start(kubeconfig, &[], Duration::from_secs(60)).await;
    let mut latencies = Vec::with_capacity(patches);
    for pod in healthy.iter().take(patches) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let last = Terminated::new("Error", 1, testbed::ago(20), testbed::ago(2));
        let status =
            testbed::pod_status(pod, "Running", vec![testbed::running_status("app", 1, &testbed::ago(1), Some(&last))]);
        let (_, before) = http_get(&exporter.addr, "/metrics", &[]).await.map(|(s, _, b)| (s, b)).expect("scrape");
        assert!(shows(&before, name, "0"), "{ns}/{name} is not at 0 restarts before its PATCH");
        let start = Instant::now();
        testbed::patch_status(&client, ns, name, &status).await.expect("patch status");
        loop {
            let (_, _, body) = http_get(&exporter.addr, "/metrics", &[]).await.expect("scrape");
            if shows(&body, name, "1") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{ns}/{name}: the change is not on /metrics after 30 s");
            tokio::time::sleep(POLL).await;
        }
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(exporter);
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// One timed shell command: wall seconds, peak RSS in MiB, stdout.
fn timed(script: &str) -> (f64, f64, String) {
    let rss_file = std::env::temp_dir().join(format!("cluster-bench-rss-{}", std::process::id()));
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .args(["sh", "-c", script])
        .stderr(Stdio::inherit())
        .output()
        .expect("/usr/bin/time (GNU time) runs");
    let wall = started.elapsed().as_secs_f64();
    let kib: f64 = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(f64::NAN);
    let _ = std::fs::remove_file(&rss_file);
    (wall, kib / 1024.0, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

struct Census {
    wall: f64,
    rss_mib: f64,
    found: usize,
}

/// Median wall and RSS of `runs` runs each of the jq script, scan and the raw list.
fn census(kubeconfig: &Path, runs: usize) -> [Census; 3] {
    let k = quote(kubeconfig);
    let script = format!("kubectl --kubeconfig {k} get pods -A -o json | jq -r '{JQ}'");
    let scan = format!(
        "{} scan -A -o json --kubeconfig {k} --log-level error; test $? -le 1",
        quote(Path::new(env!("CARGO_BIN_EXE_crashloop-exporter")))
    );
    let raw = format!("kubectl --kubeconfig {k} get --raw /api/v1/pods > /dev/null");
    let mut samples: [Vec<(f64, f64, usize)>; 3] = Default::default();
    for round in 0..runs {
        for (i, command) in [&script, &scan, &raw].into_iter().enumerate() {
            let (wall, rss, out) = timed(command);
            let found = match i {
                0 => out.lines().filter(|l| !l.trim().is_empty()).count(),
                1 => {
                    let rows: serde_json::Value =
                        serde_json::from_str(&out).unwrap_or_else(|e| panic!("scan -o json: {e}"));
                    let rows = rows.as_array().cloned().unwrap_or_default();
                    let waiting = rows.iter().filter(|r| r["state"] == "CrashLoopBackOff").count();
                    let looping = rows.iter().filter(|r| r["crashlooping"] == true).count();
                    assert!(looping >= waiting, "scan: {looping} crash-looping rows but {waiting} in CrashLoopBackOff");
                    waiting
                }
                _ => 0,
            };
            eprintln!(
                "cluster bench: census round {} {}: {wall:.2} s, {rss:.0} MiB, {found} found",
                round + 1,
                ["kubectl|jq", "scan", "raw list"][i]
            );
            samples[i].push((wall, rss, found));
        }
    }
    samples.map(|s| Census {
        wall: median(s.iter().map(|x| x.0).collect()),
        rss_mib: median(s.iter().map(|x| x.1).collect()),
        found: s.last().map_or(0, |x| x.2),
    })
}

fn row(figure: &str, value: &str, target: &str, baseline: &str, ratio: &str) {
    println!("| {figure} | {value} | {target} | {baseline} | {ratio} |");
}

fn main() {
    let o = options();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    if o.process_pods > 0 {
        process::figures(&o, &runtime);
        return;
    }
    let cluster = testbed::Cluster::start().expect("testbed cluster (run .ci/install)");
    let kubeconfig: PathBuf = cluster.kubeconfig_path();
    if o.rss_pods > 0 {
        rss_figure(&o, &kubeconfig, &runtime);
        drop(cluster);
        return;
    }

    let mut looping = populate(&kubeconfig, o.pods, "lat");
    let latencies = runtime.block_on(detection_latency(&kubeconfig, o.patches));
    if o.census_pods > o.pods {
        looping += populate(&kubeconfig, o.census_pods - o.pods, "census");
    }
    let [script, scan, raw] = census(&kubeconfig, o.runs);

    println!();
    println!("| figure | value | target | baseline | ratio |");
    println!("|---|---|---|---|---|");
    let ms = |v: f64| format!("{v:.0} ms");
    let what = format!("{} PATCHes among {} pods", latencies.len(), o.pods);
    row(&format!("detection latency p50 ({what})"), &ms(percentile(&latencies, 50.0)), "", "", "");
    let p99 = percentile(&latencies, 99.0);
    row("detection latency p99", &ms(p99), "<= 250 ms", "", if p99 <= 250.0 { "met" } else { "missed" });
    row("detection latency max", &ms(percentile(&latencies, 100.0)), "", "", "");
    let pods = o.census_pods;
    row(
        &format!("census of {pods} pods, wall (median of {}): scan -o json vs kubectl \\| jq", o.runs),
        &format!("{:.2} s", scan.wall),
        "",
        &format!("{:.2} s", script.wall),
        &format!("{:.1}x faster", script.wall / scan.wall),
    );
    row(
        "census peak RSS of the largest process: scan vs kubectl \\| jq",
        &format!("{:.0} MiB", scan.rss_mib),
        "",
        &format!("{:.0} MiB", script.rss_mib),
        &format!("{:.1}x less", script.rss_mib / scan.rss_mib),
    );
    row(
        "raw list floor: kubectl get --raw /api/v1/pods (wall, peak RSS)",
        &format!("{:.2} s, {:.0} MiB", raw.wall, raw.rss_mib),
        "",
        "",
        "",
    );
    let agree = scan.found == looping && script.found == looping;
    row(
        "containers in CrashLoopBackOff found: scan / kubectl \\| jq",
        &format!("{} / {}", scan.found, script.found),
        &format!("{looping} (populated)"),
        "",
        if agree { "equal" } else { "DIFFERENT" },
    );
    drop(cluster);
    assert!(agree, "the census tools disagree with what was populated");
}

/// What the allocator holds, from glibc's `malloc_info`, in bytes.
#[derive(Clone, Copy, Debug, Default)]
struct MallocInfo {
    arenas: usize,
    /// Obtained from the system for the arenas (brk and arena heaps).
    system: u64,
    /// Free in the arenas' bins, fast bins and top chunks.
    free: u64,
    /// Live blocks allocated with their own `mmap`.
    mmapped: u64,
}

impl MallocInfo {
    /// What the program's live objects occupy.
    fn in_use(&self) -> u64 {
        self.system.saturating_sub(self.free) + self.mmapped
    }
}

/// One start of the exporter, measured.
#[derive(Clone, Debug, Default)]
struct RssSample {
    ready_s: f64,
    /// VmRSS at the first `/readyz` 200, before any scrape (KiB).
    at_ready_kib: u64,
    /// VmRSS after the scrapes (KiB); the figure.
    rss_kib: u64,
    hwm_kib: u64,
    anon_kib: u64,
    threads: u64,
    events: f64,
    gzip_bytes: usize,
    series: usize,
    malloc: Option<MallocInfo>,
    /// VmRSS after `malloc_trim(0)` (KiB).
    trimmed_kib: Option<u64>,
}

/// The `kB` (or plain) numbers of `/proc/PID/status`: VmRSS, VmHWM, RssAnon, Threads, ...
fn proc_status(pid: u32) -> HashMap<String, u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().trim_end_matches("kB").trim().parse().ok()?)))
        .collect()
}

/// `/metrics` as Prometheus 2.x asks for it (its `Accept`, gzip): the raw answer, status 200.
async fn prometheus_get(addr: &str) -> Answer {
    let headers = [("Accept", PROMETHEUS_ACCEPT), ("Accept-Encoding", "gzip")];
    let answer = http_get(addr, "/metrics", &headers).await.expect("scrape");
    assert_eq!(answer.0, 200, "/metrics answered {}", answer.0);
    answer
}

/// A scrape as Prometheus makes it: the exposition (decompressed) and its size on the wire.
async fn prometheus_scrape(addr: &str) -> (String, usize) {
    let (_, headers, body) = prometheus_get(addr).await;
    let gzip = headers.iter().any(|(k, v)| k == "content-encoding" && v.contains("gzip"));
    let mut text = String::new();
    if gzip {
        flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut text).expect("a gzip body");
    } else {
        text = String::from_utf8_lossy(&body).into_owned();
    }
    (text, body.len())
}

fn xml_attr(tag: &str, name: &str) -> Option<u64> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    tag[start..].split('"').next()?.parse().ok()
}

/// Attaches gdb to `pid`, has the process write `malloc_info` to a file and then call
/// `malloc_trim(0)`; returns what `malloc_info` said (its totals over all arenas).
fn malloc_info_then_trim(pid: u32) -> Option<MallocInfo> {
    let file = std::env::temp_dir().join(format!("cluster-bench-malloc-{pid}.xml"));
    let _ = std::fs::remove_file(&file);
    let out = Command::new("timeout")
        .args(["120", "gdb", "--batch", "-nx", "--readnever", "-p", &pid.to_string()])
        .args(["-ex", &format!("set $f = (void *) fopen(\"{}\", \"w\")", file.display())])
        .args(["-ex", "call (int) malloc_info(0, $f)", "-ex", "call (int) fclose($f)"])
        .args(["-ex", "call (int) malloc_trim(0)"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let xml = std::fs::read_to_string(&file).ok();
    let _ = std::fs::remove_file(&file);
    let Some(xml) = xml else {
        eprintln!("cluster bench: gdb gave no malloc_info:\n{}", String::from_utf8_lossy(&out.stderr));
        return None;
    };
    let arenas = xml.matches("<heap nr=").count();
    // The totals over all arenas follow the last </heap>.
    let totals = &xml[xml.rfind("</heap>").map_or(0, |i| i + 7)..];
    let mut info = MallocInfo { arenas, ..Default::default() };
    for tag in totals.split('<') {
        let size = xml_attr(tag, "size").unwrap_or(0);
        if tag.starts_with("total type=\"fast\"") || tag.starts_with("total type=\"rest\"") {
            info.free += size;
        } else if tag.starts_with("total type=\"mmap\"") {
            info.mmapped = size;
        } else if tag.starts_with("system type=\"current\"") {
            info.system = size;
        }
    }
    Some(info)
}

/// Starts the exporter with `env`, waits until it holds `pods` pods, scrapes it as
/// Prometheus would and measures it (see the module doc).
async fn rss_sample(kubeconfig: &Path, env: &[(String, String)], pods: usize, scrapes: usize, gdb: bool) -> RssSample {
    let started = Instant::now();
    let exporter = Exporter::start(kubeconfig, env, Duration::from_secs(900)).await;
    let pid = exporter.child.id();
    let mut s = RssSample { ready_s: started.elapsed().as_secs_f64(), ..Default::default() };
    s.at_ready_kib = proc_status(pid).get("VmRSS").copied().unwrap_or(0);
    let pods_line = r#"resource="pods""#;
    let events_listed = r#"crashloop_exporter_watch_events_total{resource="events",type="init_done"}"#;
    let deadline = Instant::now() + Duration::from_secs(300);
    let events_deadline = Instant::now() + Duration::from_secs(30);
    let (mut text, mut wire) = prometheus_scrape(&exporter.addr).await;
    loop {
        let cached = sample_value(&text, "crashloop_exporter_cached_objects", pods_line);
        if cached == Some(pods as f64) && (text.contains(events_listed) || Instant::now() > events_deadline) {
            break;
        }
        assert!(Instant::now() < deadline, "the exporter shows {cached:?} pods, not {pods}, after 300 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
        (text, wire) = prometheus_scrape(&exporter.addr).await;
    }
    for _ in 0..scrapes {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        (text, wire) = prometheus_scrape(&exporter.addr).await;
    }
    s.events = sample_value(&text, "crashloop_exporter_cached_objects", r#"resource="events""#).unwrap_or(f64::NAN);
    s.gzip_bytes = wire;
    s.series = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).count();
    drop(text);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = proc_status(pid);
    let get = |k: &str| status.get(k).copied().unwrap_or(0);
    (s.rss_kib, s.hwm_kib, s.anon_kib, s.threads) = (get("VmRSS"), get("VmHWM"), get("RssAnon"), get("Threads"));
    if gdb {
        s.malloc = malloc_info_then_trim(pid);
        if s.malloc.is_some() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            s.trimmed_kib = proc_status(pid).get("VmRSS").copied();
        }
    }
    drop(exporter);
    eprintln!(
        "cluster bench: rss {pods} pods [{}]: ready in {:.1} s, VmRSS {} KiB at ready, {} KiB after {scrapes} scrapes, \
         VmHWM {} KiB, RssAnon {} KiB, {} threads, malloc {:?}, after malloc_trim {:?} KiB",
        setting_name(env),
        s.ready_s,
        s.at_ready_kib,
        s.rss_kib,
        s.hwm_kib,
        s.anon_kib,
        s.threads,
        s.malloc,
        s.trimmed_kib
    );
    s
}

fn setting_name(env: &[(String, String)]) -> String {
    if env.is_empty() {
        return "glibc defaults".into();
    }
    env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// `--rss-pods`: the resident memory of the whole exporter process (see the module doc).
fn rss_figure(o: &Options, kubeconfig: &Path, runtime: &tokio::runtime::Runtime) {
    let gdb = o.rss_gdb && Command::new("gdb").arg("--version").output().is_ok_and(|out| out.status.success());
    let extra: Vec<String> =
        if o.rss_env.is_empty() { RSS_SETTINGS.iter().map(|s| s.to_string()).collect() } else { o.rss_env.clone() };
    let settings: Vec<Vec<(String, String)>> = std::iter::once(Vec::new())
        .chain(extra.iter().map(|s| {
            s.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }))
        .collect();
    let measure_all = |pods: usize| -> Vec<Vec<RssSample>> {
        let mut rounds = Vec::new();
        for _ in 0..o.rss_rounds {
            let samples = settings
                .iter()
                .map(|env| runtime.block_on(rss_sample(kubeconfig, env, pods, o.rss_scrapes, gdb)))
                .collect();
            rounds.push(samples);
        }
        rounds
    };

    let small = o.rss_small;
    populate(kubeconfig, small, "rss-s");
    let at_small = measure_all(small);

    // Fill up to --rss-pods in chunks, halving the target if the pace would overrun the budget.
    let started = Instant::now();
    let (mut target, mut total, mut chunk) = (o.rss_pods, small, 0);
    while total < target {
        let n = RSS_CHUNK.min(target - total);
        populate(kubeconfig, n, &format!("rss-b{chunk}"));
        (total, chunk) = (total + n, chunk + 1);
        let pace = started.elapsed().as_secs_f64() / (total - small) as f64;
        let projected = pace * (target - small) as f64;
        if projected > o.rss_populate_budget as f64 && target == o.rss_pods && total < target {
            target = (o.rss_pods / 2).max(total);
            eprintln!(
                "cluster bench: populating {} pods would take about {projected:.0} s (budget {} s): measuring at {target}",
                o.rss_pods, o.rss_populate_budget
            );
        }
    }
    let populate_s = started.elapsed().as_secs_f64();
    let at_big = measure_all(total);

    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let slope = |big: u64, small_: u64, scale: f64| {
        format!("{:.0} B", (big as f64 - small_ as f64) * scale / (total - small) as f64)
    };
    let first = &at_big[0][0];
    println!();
    println!(
        "whole-process RSS: release crashloop-exporter against kube-apiserver 1.20 holding {small} and then {total} pods \
         (crashloop-sim populate, mix {MIX}; {:.0} s to add the {} pods); {} Events cached at {total}; each scrape as \
         Prometheus 2.x (OpenMetrics, gzip): {} series, {:.2} MB gzip at {total}",
        populate_s,
        total - small,
        first.events,
        first.series,
        first.gzip_bytes as f64 / 1e6
    );
    println!();
    println!(
        "| allocator setting | round | VmRSS, {small} pods | VmRSS, {total} pods | per pod | VmRSS at ready (before any scrape), {total} | per pod, at ready | VmHWM, {total} | threads |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (round, (smalls, bigs)) in at_small.iter().zip(&at_big).enumerate() {
        for ((env, s), b) in settings.iter().zip(smalls).zip(bigs) {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                setting_name(env),
                round + 1,
                mib(s.rss_kib),
                mib(b.rss_kib),
                slope(b.rss_kib, s.rss_kib, 1024.0),
                mib(b.at_ready_kib),
                slope(b.at_ready_kib, s.at_ready_kib, 1024.0),
                mib(b.hwm_kib),
                b.threads
            );
        }
    }
    if gdb {
        malloc_table(&settings, &at_small, &at_big, small, total);
    }
    if o.rss_hold > 0 {
        eprintln!("cluster bench: holding the cluster {} s: KUBECONFIG={}", o.rss_hold, kubeconfig.display());
        std::thread::sleep(Duration::from_secs(o.rss_hold as u64));
    }
}

/// The second RSS table: what glibc's malloc said, and VmRSS after `malloc_trim(0)`.
fn malloc_table(
    settings: &[Vec<(String, String)>],
    at_small: &[Vec<RssSample>],
    at_big: &[Vec<RssSample>],
    small: usize,
    total: usize,
) {
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let mib_b = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
    let slope = |big: u64, small_: u64, scale: f64| {
        format!("{:.0} B", (big as f64 - small_ as f64) * scale / (total - small) as f64)
    };
    println!();
    println!(
        "| allocator setting | round | heap in use, {total} pods | per pod | free in malloc, {total} | malloc arenas | VmRSS after malloc_trim(0), {small} / {total} | per pod, after trim |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (round, (smalls, bigs)) in at_small.iter().zip(at_big).enumerate() {
        for ((env, s), b) in settings.iter().zip(smalls).zip(bigs) {
            let (Some(ms), Some(mb)) = (s.malloc, b.malloc) else { continue };
            let (ts, tb) = (s.trimmed_kib.unwrap_or(0), b.trimmed_kib.unwrap_or(0));
            println!(
                "| {} | {} | {} | {} | {} | {} | {} / {} | {} |",
                setting_name(env),
                round + 1,
                mib_b(mb.in_use()),
                slope(mb.in_use(), ms.in_use(), 1.0),
                mib_b(mb.free),
                mb.arenas,
                mib(ts),
                mib(tb),
                slope(tb, ts, 1024.0)
            );
        }
    }
}

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

#[path = "../tests/cluster/common.rs"]
#[allow(dead_code)] // the bench uses only some of the tests' helpers
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crashloop_testbed::{self as testbed, Terminated};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const MIX: &str = "oom=3,liveness=2,image=1,config=1,healthy=93";
const POLL: Duration = Duration::from_millis(5);
/// The script people write: every container waiting in CrashLoopBackOff, one row each.
const JQ: &str = r#".items[] | .metadata.namespace as $ns | .metadata.name as $pod | (.status.containerStatuses // [])[] | select(.state.waiting.reason == "CrashLoopBackOff") | [$ns, $pod, .name, .restartCount, (.lastState.terminated.reason // "")] | @tsv"#;

struct Options {
    pods: usize,
    patches: usize,
    census_pods: usize,
    runs: usize,
}

fn options() -> Options {
    let mut o = Options { pods: 1000, patches: 200, census_pods: 10_000, runs: 3 };
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
            // `cargo bench` passes --bench; anything else is a mistake.
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other:?} (known: --pods N, --patches N, --census-pods N, --runs N)"),
        }
        i += 2;
    }
    assert!(o.patches <= o.pods, "--patches must not exceed --pods");
    assert!(o.census_pods >= o.pods, "--census-pods must be at least --pods");
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
    async fn start(kubeconfig: &Path) -> Exporter {
        let addr = format!("127.0.0.1:{}", common::free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--listen-address", &addr, "--log-level", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the exporter binary starts");
        let exporter = Exporter { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(common::http_get(&exporter.addr, "/readyz", &[]).await, Ok((200, _, _))) {
            assert!(Instant::now() < deadline, "the exporter is not ready after 60 s");
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
    common::samples(&text, "crashloop_container_restarts_total")
        .iter()
        .any(|l| l.contains(&needle) && l.rsplit(' ').next() == Some(value))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
    let exporter = Exporter::start(kubeconfig).await;
    let mut latencies = Vec::with_capacity(patches);
    for pod in healthy.iter().take(patches) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let last = Terminated::new("Error", 1, testbed::ago(20), testbed::ago(2));
        let status =
            testbed::pod_status(pod, "Running", vec![testbed::running_status("app", 1, &testbed::ago(1), Some(&last))]);
        let (_, before) =
            common::http_get(&exporter.addr, "/metrics", &[]).await.map(|(s, _, b)| (s, b)).expect("scrape");
        assert!(shows(&before, name, "0"), "{ns}/{name} is not at 0 restarts before its PATCH");
        let start = Instant::now();
        testbed::patch_status(&client, ns, name, &status).await.expect("patch status");
        loop {
            let (_, _, body) = common::http_get(&exporter.addr, "/metrics", &[]).await.expect("scrape");
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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
        "{} scan -o json --kubeconfig {k} --log-level error; test $? -le 1",
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
    let cluster = testbed::Cluster::start().expect("testbed cluster (run .ci/install)");
    let kubeconfig: PathBuf = cluster.kubeconfig_path();

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

//! The in-process benchmarks of issue 6: memory of the pod cache, ingest rate and render
//! time at 100,000 pods, each beside the same pipeline on a stock kube-rs reflector of
//! full `k8s_openapi` Pods, in the same run.
//!
//! Method.
//! - The watch stream is synthetic but real-shaped: each pod is the JSON a 1.33 apiserver
//!   sends (3 containers with env, resources and probes; labels, a 200-byte annotation,
//!   an owner reference, managedFields; 5% crash-looping with OOMKilled/137). The initial
//!   list arrives as `PodList` pages of 500, updates as `MODIFIED` watch-event lines, and
//!   both are decoded by serde as kube-runtime's watcher does. The stream is written to a
//!   temporary file first and read back line by line into one reused buffer, so its
//!   generation costs neither time nor memory on either side. From decode on, the path
//!   is the exporter's own: `store::PodIngest::apply` (shard filter, history tracking,
//!   reflector store, self-metrics, change counter).
//! - Each side runs in its own child process, pinned to one core with `taskset` where
//!   it exists, so its resident set (VmRSS from /proc/self/status) is its own.
//! - Memory per pod: (RSS after the list − RSS before) / N.
//! - Ingest: N `MODIFIED` events (every pod's resourceVersion moves, the crash-looping
//!   ones restart once more) through decode and ingest, then one full render, all timed
//!   on one core; events/s = N / that time.
//! - Render: the exposition of the N pods, plain text into memory and gzip (level 1,
//!   streamed in 256 KiB chunks as `/metrics` does): CPU time is the mean of 5 renders,
//!   wall time their median. Exporter RSS is read
//!   after the gzip renders, with everything cached.
//!
//! - Series and scrape sizes per mode (`-- --modes`): the same list, then in one child per
//!   mode (the default, `--healthy-container-details`, `--skip-quiet-containers`) one plain
//!   and one gzip render; series are the body's sample lines, sizes the bodies' bytes.
//!
//! Run: `cargo bench --bench footprint -- [--pods N] [--modes]` (default 100000). Prints a markdown
//! table: figure, value, target, baseline, ratio. To profile one side, write the stream
//! with `footprint stream N DIR`, then run `footprint child slim N DIR` (or `child render N DIR`, the list and 20
//! plain renders) under a profiler (`perf record`, say).

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use crashloop_exporter::internals::view::SlimPod;
use crashloop_exporter::internals::{Exposition, Format, PodSource, SelfMetrics};
use crashloop_exporter::internals::{PodIngest, Shard, prerender};
use crashloop_testbed::measure::median;
use crashloop_testbed::stream_pod;
use k8s_openapi::api::core::v1::Pod;
use kube::core::{ObjectList, WatchEvent};
use kube::runtime::reflector;
use kube::runtime::watcher::Event;
use serde_json::json;

const NOW: i64 = 1_795_000_000;
const PAGE: usize = 500;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Writes the synthetic stream once, for both sides: `list.jsonl` holds the initial list
/// as `PodList` pages of 500, one per line; `watch.jsonl` one `MODIFIED` event per pod.
fn write_stream(dir: &std::path::Path, n: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut list = std::io::BufWriter::new(std::fs::File::create(dir.join("list.jsonl"))?);
    let mut watch = std::io::BufWriter::new(std::fs::File::create(dir.join("watch.jsonl"))?);
    for start in (0..n).step_by(PAGE) {
        let items: Vec<_> = (start..(start + PAGE).min(n)).map(|i| stream_pod(i, 0)).collect();
        serde_json::to_writer(
            &mut list,
            &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": items}),
        )?;
        list.write_all(b"\n")?;
        for i in start..(start + PAGE).min(n) {
            // The apiserver writes `type` first, which lets the decoder stream the object.
            watch.write_all(br#"{"type":"MODIFIED","object":"#)?;
            serde_json::to_writer(&mut watch, &stream_pod(i, 1))?;
            watch.write_all(b"}\n")?;
        }
    }
    list.flush()?;
    watch.flush()
}

/// Calls `each` with every line of `path`, read into one reused buffer; returns the
/// wall and CPU seconds spent in `each`.
fn for_each_line(path: &std::path::Path, mut each: impl FnMut(&[u8])) -> (f64, f64) {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else { return (f64::NAN, f64::NAN) };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(4 << 20);
    let (mut wall, mut cpu) = (0.0, 0.0);
    while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        let ((), w, c) = timed(|| each(&line));
        wall += w;
        cpu += c;
        line.clear();
    }
    (wall, cpu)
}

/// Feeds the stream to a store through `apply`, decoding as kube's list and watch calls do.
struct Pipeline<K> {
    apply: Box<dyn FnMut(Event<K>)>,
    dir: std::path::PathBuf,
}

impl<K: Clone + serde::de::DeserializeOwned> Pipeline<K> {
    /// The initial list; returns the wall and CPU seconds spent decoding and applying.
    fn list(&mut self) -> (f64, f64) {
        (self.apply)(Event::Init);
        let apply = &mut self.apply;
        let secs = for_each_line(&self.dir.join("list.jsonl"), |page| {
            if let Ok(list) = serde_json::from_slice::<ObjectList<K>>(page) {
                list.items.into_iter().for_each(|p| apply(Event::InitApply(p)));
            }
        });
        (self.apply)(Event::InitDone);
        secs
    }

    /// One `MODIFIED` event per pod; returns the wall and CPU seconds spent decoding and applying.
    fn watch(&mut self) -> (f64, f64) {
        let apply = &mut self.apply;
        for_each_line(&self.dir.join("watch.jsonl"), |line| {
            if let Ok(WatchEvent::Modified(p) | WatchEvent::Added(p)) = serde_json::from_slice::<WatchEvent<K>>(line) {
                apply(Event::Apply(p));
            }
        })
    }
}

/// CPU time this thread has run, from the scheduler's own account (ns resolution):
/// on a shared machine it is what the work cost, where wall time also counts waiting.
fn thread_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    stat.split_whitespace().next().and_then(|ns| ns.parse::<f64>().ok()).map_or(f64::NAN, |ns| ns / 1e9)
}

/// Wall and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (wall, cpu) = (Instant::now(), thread_cpu_secs());
    let out = f();
    (out, wall.elapsed().as_secs_f64(), thread_cpu_secs() - cpu)
}

/// How containers are exported: the default, `--healthy-container-details` or
/// `--skip-quiet-containers`, as `(healthy_details, skip_quiet)`.
fn mode(name: &str) -> (bool, bool) {
    match name {
        "healthy-container-details" => (true, false),
        "skip-quiet-containers" => (false, true),
        _ => (false, false),
    }
}

const MODES: [&str; 3] = ["default", "healthy-container-details", "skip-quiet-containers"];

/// The exporter's side: prints `key=value` lines.
fn child_slim(dir: std::path::PathBuf, n: usize, mode_name: &str) {
    let (healthy_details, skip_quiet) = mode(mode_name);
    let self_metrics = SelfMetrics::default();
    let events = crashloop_exporter::internals::SharedEvents::default();
    let clock: crashloop_exporter::Clock = Arc::new(|| NOW);
    let (cache, ingest) =
        PodIngest::new(Shard::default(), self_metrics.clone(), events.clone(), clock.clone(), prerender);
    let ingest = std::rc::Rc::new(std::cell::RefCell::new(ingest));
    let feed = ingest.clone();
    let mut pipeline = Pipeline::<SlimPod> { apply: Box::new(move |e| feed.borrow_mut().apply(e)), dir };
    let source = PodSource {
        caches: vec![cache.clone()],
        events,
        log_hints: Default::default(),
        healthy_details,
        skip_quiet,
        clock,
    };
    let exposition = Exposition::new(source, &self_metrics);

    let before = rss_bytes();
    let (list_wall, list_cpu) = pipeline.list();
    let after = rss_bytes();
    println!("pods={}", cache.store.state().len());
    println!("bytes_per_pod={}", after.saturating_sub(before) / n as u64);
    println!("list_pods_per_s={:.0}", n as f64 / list_wall);
    println!("list_pods_per_cpu_s={:.0}", n as f64 / list_cpu);

    for (name, gzip) in [("plain", false), ("gzip", true)] {
        let body = exposition.render(Format::Prometheus, gzip).unwrap_or_default();
        if gzip {
            println!("exposition_gzip_bytes={}", body.len());
        } else {
            println!("exposition_bytes={}", body.len());
            println!("series={}", body.split(|b| *b == b'\n').filter(|l| !l.is_empty() && l[0] != b'#').count());
        }
        drop(body);
        // CPU time over the 5 renders together: the scheduler's account moves in ticks, so
        // one render's share would be off by up to a tick; the sum is off by one at most.
        let cpu = thread_cpu_secs();
        let wall: Vec<f64> = (0..5).map(|_| timed(|| drop(exposition.render(Format::Prometheus, gzip))).1).collect();
        println!("render_{name}_cpu_ms={:.1}", (thread_cpu_secs() - cpu) / 5.0 * 1e3);
        println!("render_{name}_ms={:.1}", median(wall) * 1e3);
    }
    println!("rss_bytes={}", rss_bytes());

    let (watch_wall, watch_cpu) = pipeline.watch();
    let (_, render_wall, render_cpu) = timed(|| exposition.render(Format::Prometheus, true));
    println!("ingest_events_per_s={:.0}", n as f64 / (watch_wall + render_wall));
    println!("ingest_events_per_cpu_s={:.0}", n as f64 / (watch_cpu + render_cpu));
    println!("ingest_without_render_per_s={:.0}", n as f64 / watch_wall);
    println!("ingest_without_render_per_cpu_s={:.0}", n as f64 / watch_cpu);
    println!("rss_after_updates_bytes={}", rss_bytes());
}

/// The stream listed into a fresh cache, and the exposition over it in the given mode.
fn listed_exposition(dir: std::path::PathBuf, healthy_details: bool, skip_quiet: bool) -> Exposition {
    let self_metrics = SelfMetrics::default();
    let events = crashloop_exporter::internals::SharedEvents::default();
    let clock: crashloop_exporter::Clock = Arc::new(|| NOW);
    let (cache, mut ingest) =
        PodIngest::new(Shard::default(), self_metrics.clone(), events.clone(), clock.clone(), prerender);
    let mut pipeline = Pipeline::<SlimPod> { apply: Box::new(move |e| ingest.apply(e)), dir };
    pipeline.list();
    let source =
        PodSource { caches: vec![cache], events, log_hints: Default::default(), healthy_details, skip_quiet, clock };
    Exposition::new(source, &self_metrics)
}

/// Only the list, then one plain and one gzip render in the given mode: the series and
/// the scrape sizes (`footprint -- --modes`).
fn child_series(dir: std::path::PathBuf, mode_name: &str) {
    let (healthy_details, skip_quiet) = mode(mode_name);
    let exposition = listed_exposition(dir, healthy_details, skip_quiet);
    let body = exposition.render(Format::Prometheus, false).unwrap_or_default();
    println!("exposition_bytes={}", body.len());
    println!("series={}", body.split(|b| *b == b'\n').filter(|l| !l.is_empty() && l[0] != b'#').count());
    drop(body);
    let gzip = exposition.render(Format::Prometheus, true).unwrap_or_default();
    println!("exposition_gzip_bytes={}", gzip.len());
}

/// Only the list, then 20 plain renders: the side to profile for render time.
fn child_render(dir: std::path::PathBuf, n: usize) {
    let exposition = listed_exposition(dir, false, false);
    println!("pods={}", n);
    let (_, wall, cpu) = timed(|| (0..20).for_each(|_| drop(exposition.render(Format::Prometheus, false))));
    println!("render_plain_ms={:.1}", wall / 20.0 * 1e3);
    println!("render_plain_cpu_ms={:.1}", cpu / 20.0 * 1e3);
}

/// The baseline: a stock reflector of full Pods, fed the same stream.
fn child_stock(dir: std::path::PathBuf, n: usize) {
    let (reader, mut writer) = reflector::store::<Pod>();
    let mut pipeline = Pipeline::<Pod> { apply: Box::new(move |e| writer.apply_watcher_event(&e)), dir };
    let before = rss_bytes();
    let (list_wall, list_cpu) = pipeline.list();
    let after = rss_bytes();
    println!("pods={}", reader.state().len());
    println!("bytes_per_pod={}", after.saturating_sub(before) / n as u64);
    println!("list_pods_per_s={:.0}", n as f64 / list_wall);
    println!("list_pods_per_cpu_s={:.0}", n as f64 / list_cpu);
    let (watch_wall, watch_cpu) = pipeline.watch();
    println!("ingest_without_render_per_s={:.0}", n as f64 / watch_wall);
    println!("ingest_without_render_per_cpu_s={:.0}", n as f64 / watch_cpu);
    println!("rss_bytes={}", rss_bytes());
}

/// Runs this benchmark again as `child <side> <n> <dir> <mode>`, on one core where `taskset` exists.
fn run_child(side: &str, dir: &std::path::Path, n: usize, mode: &str) -> std::collections::HashMap<String, f64> {
    let exe = std::env::current_exe().expect("the bench's own path");
    let args = [
        exe.to_string_lossy().to_string(),
        "child".into(),
        side.into(),
        n.to_string(),
        dir.to_string_lossy().to_string(),
        mode.into(),
    ];
    let pinned = Command::new("taskset").arg("-c").arg("1").args(&args).output();
    let output = match pinned {
        Ok(o) if o.status.success() => o,
        _ => Command::new(&args[0]).args(&args[1..]).output().expect("the child benchmark runs"),
    };
    assert!(output.status.success(), "child {side} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, stream, n, dir, ..] = args.as_slice()
        && stream == "stream"
    {
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        return write_stream(&dir, n.parse().unwrap_or(100_000)).expect("the synthetic stream is written");
    }
    if let [_, child, side, n, dir, rest @ ..] = args.as_slice()
        && child == "child"
    {
        let (n, dir) = (n.parse().unwrap_or(100_000), std::path::PathBuf::from(dir));
        let mode = rest.first().map_or("default", String::as_str);
        return match side.as_str() {
            "slim" => child_slim(dir, n, mode),
            "series" => child_series(dir, mode),
            "render" => child_render(dir, n),
            _ => child_stock(dir, n),
        };
    }
    let n = args
        .iter()
        .position(|a| a == "--pods")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000usize);
    let dir = std::env::temp_dir().join(format!("crashloop-footprint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    write_stream(&dir, n).expect("the synthetic stream is written");
    if args.iter().any(|a| a == "--modes") {
        let figures: Vec<_> = MODES.iter().map(|m| (m, run_child("series", &dir, n, m))).collect();
        let _ = std::fs::remove_dir_all(&dir);
        println!("series and scrape sizes: {n} pods of 3 containers, 5% crash-looping, one render per mode");
        println!();
        println!("| mode | series | plain | gzip |");
        println!("|---|---|---|---|");
        for (mode, m) in figures {
            let get = |k: &str| m.get(k).copied().unwrap_or(f64::NAN);
            println!(
                "| `{mode}` | {:.0} | {:.1} MB | {:.2} MB |",
                get("series"),
                get("exposition_bytes") / 1e6,
                get("exposition_gzip_bytes") / 1e6
            );
        }
        return;
    }
    let slim = run_child("slim", &dir, n, "default");
    let stock = run_child("stock", &dir, n, "default");
    let _ = std::fs::remove_dir_all(&dir);
    let get = |m: &std::collections::HashMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(f64::NAN);
    let mib = |b: f64| b / (1024.0 * 1024.0);
    let ratio = |a: f64, b: f64| format!("{:.1}x", a / b);
    println!(
        "in-process benchmarks: {n} pods of 3 containers, 5% crash-looping; each side in its own process on one core"
    );
    println!("times are CPU time of the working thread (wall time in brackets; they differ when the machine is busy)");
    println!();
    println!("| figure | crashloop-exporter | target | stock reflector (full Pods) | ratio |");
    println!("|---|---|---|---|---|");
    let (slim_b, stock_b) = (get(&slim, "bytes_per_pod"), get(&stock, "bytes_per_pod"));
    println!("| memory per cached pod | {slim_b:.0} B | | {stock_b:.0} B | {} less |", ratio(stock_b, slim_b));
    let (slim_rss, stock_rss) = (get(&slim, "rss_bytes"), get(&stock, "rss_bytes"));
    println!(
        "| process RSS, {n} pods cached, after gzip renders | {:.1} MiB | ≤ 150 MiB | {:.1} MiB | {} less |",
        mib(slim_rss),
        mib(stock_rss),
        ratio(stock_rss, slim_rss)
    );
    let rate = |m: &std::collections::HashMap<String, f64>, k: &str| {
        format!("{:.0}/s ({:.0}/s)", get(m, &format!("{k}_per_cpu_s")), get(m, &format!("{k}_per_s")))
    };
    println!(
        "| initial list: decode + ingest, pods | {} | | {} | {} faster |",
        rate(&slim, "list_pods"),
        rate(&stock, "list_pods"),
        ratio(get(&slim, "list_pods_per_cpu_s"), get(&stock, "list_pods_per_cpu_s"))
    );
    println!(
        "| watch events: decode + projection + store + metrics | {} | | {} | {} faster |",
        rate(&slim, "ingest_without_render"),
        rate(&stock, "ingest_without_render"),
        ratio(get(&slim, "ingest_without_render_per_cpu_s"), get(&stock, "ingest_without_render_per_cpu_s"))
    );
    println!(
        "| watch events incl. a full gzip render after the {n} | {} | ≥ 50,000/s | | |",
        rate(&slim, "ingest_events")
    );
    println!(
        "| /metrics render, plain, mean of 5 | {:.1} ms ({:.1} ms) | ≤ 100 ms | | |",
        get(&slim, "render_plain_cpu_ms"),
        get(&slim, "render_plain_ms")
    );
    println!(
        "| /metrics render, gzip, mean of 5 | {:.1} ms ({:.1} ms) | ≤ 400 ms | | |",
        get(&slim, "render_gzip_cpu_ms"),
        get(&slim, "render_gzip_ms")
    );
    println!(
        "| exposition | {:.1} MB plain, {:.2} MB gzip, {:.0} series | | | |",
        get(&slim, "exposition_bytes") / 1e6,
        get(&slim, "exposition_gzip_bytes") / 1e6,
        get(&slim, "series")
    );
}

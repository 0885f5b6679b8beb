//! crashloop-sim: a real kube-apiserver on loopback, and a kubelet played through its API.
//!
//! - `crashloop-sim cluster --dir DIR` runs etcd + kube-apiserver until SIGINT/SIGTERM and
//!   prints `KUBECONFIG=<path>` once ready.
//! - `crashloop-sim demo --kubeconfig PATH` creates pods in typical crash-looping states at
//!   once, with the statuses and events a kubelet would write.
//! - `crashloop-sim run --pods N` plays the kubelet for N Deployment-owned (or, for the
//!   `sidecar-job` scenario, Job-owned) pods over time:
//!   containers go through the lifecycles of `testbed::sim` (OOM kills, liveness kills, image
//!   pulls, missing ConfigMaps, crash-looping sidecars, Jobs whose sidecar is stopped, healthy)
//!   with the kubelet's back-off (`--backoff`: the node's curve, 10 s to 300 s by default),
//!   and optionally get replaced (`--churn`). Statuses are PATCHed to the status subresource
//!   and Events POSTed or PATCHed (`count + 1`) as the kubelet's recorder does.
//! - `crashloop-sim populate --pods N` creates N pods at once, each in a state of its
//!   lifecycle (crash loops inside a back-off), for benchmarks.
//!
//! **Clock.** `--speedup X` runs the simulated clock X times faster than the wall clock:
//! every wait is divided by X. Timestamps written (startedAt, finishedAt, event times) are
//! wall-clock times of when things happen, as a kubelet writes them, so an exporter reading
//! them against its own clock sees a consistent, if compressed, history. What stays on the
//! wall clock is judged on it: the back-off in the kubelet's message is the simulated one
//! (`back-off 5m0s` while the restart comes 300/X s later), so a next-restart estimate
//! (finishedAt + delay) is late by the factor, and an exporter's 10-minute recovery window
//! still takes 10 real minutes. Use `--speedup 1` to look exactly like a cluster.

use std::collections::HashMap;
use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use crashloop_testbed::measure::unix_now;
use crashloop_testbed::sim::{self, BackoffCurve, Correlator, EventWrite, Mix, PodPlan, Scenario, Subject};
use crashloop_testbed::{self as testbed, EventSpec};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;
use tokio::time::Instant;

#[derive(Parser)]
#[command(version, about = "A real kube-apiserver on loopback, and a kubelet played through its API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run etcd + kube-apiserver with their files in DIR (kept), print `KUBECONFIG=<path>`
    /// when ready, and stop them on SIGINT/SIGTERM.
    Cluster {
        /// Directory for logs, keys, kubeconfig and etcd data.
        #[arg(long)]
        dir: PathBuf,
        /// Also run a real node (kubelet, containerd, runc, scheduler, controller-manager;
        /// needs root): pods then run for real, with the image `localhost/busybox:testbed`.
        #[arg(long)]
        node: bool,
    },
    /// Create pods in typical crash-looping states (and one healthy pod), playing the kubelet
    /// once: pod statuses and events. Pods of a previous run, and their events,
    /// are replaced.
    Demo {
        /// Kubeconfig of the cluster (from `crashloop-sim cluster`).
        #[arg(long, env = "KUBECONFIG")]
        kubeconfig: PathBuf,
        /// Namespace of the demo pods (created if missing).
        #[arg(long, default_value = "demo")]
        namespace: String,
    },
    /// Play the kubelet for N pods over time, until --duration or SIGINT/SIGTERM.
    Run(RunArgs),
    /// Create N pods at once, each in a state of its lifecycle (crash-looping ones inside a
    /// back-off), with the Events of troubled pods; then exit.
    Populate(PodArgs),
}

#[derive(Args, Clone)]
struct PodArgs {
    /// Kubeconfig of the cluster (from `crashloop-sim cluster`).
    #[arg(long, env = "KUBECONFIG")]
    kubeconfig: PathBuf,
    /// How many pods.
    #[arg(long, default_value_t = 100)]
    pods: usize,
    /// Spread them over this many namespaces (`<prefix>-0` ...; just `<prefix>` for one).
    #[arg(long, default_value_t = 1)]
    namespaces: usize,
    /// Namespace name prefix.
    #[arg(long, default_value = "sim")]
    namespace_prefix: String,
    /// Shares of scenarios: oom, liveness, image, config, leak, sidecar, sidecar-job, healthy.
    #[arg(long, default_value = sim::DEFAULT_MIX, value_parser = parse_mix)]
    mix: Mix,
    /// The node's crash-loop back-off: default (10s doubling to 5m0s), reduced (1s doubling
    /// to 1m0s, ReduceDefaultCrashLoopBackOffDecay), max=DURATION (maxContainerRestartPeriod,
    /// whole seconds from 1s to 5m0s; below the initial delay, the initial delay too) or
    /// reduced,max=DURATION.
    #[arg(long, default_value = "default", value_parser = parse_backoff)]
    backoff: BackoffCurve,
    /// API requests in flight at most [default: 16 for run, 32 for populate].
    #[arg(long)]
    concurrency: Option<usize>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    pods: PodArgs,
    /// The simulated clock runs this many times faster than the wall clock.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speedup)]
    speedup: f64,
    /// Stop after this long (wall clock, e.g. 90s, 10m) [default: until SIGINT/SIGTERM].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<f64>,
    /// Replace each pod (delete it, create another with a new name) after a lifetime drawn
    /// around this mean (simulated clock, e.g. 20m) [default: pods live forever].
    #[arg(long, value_parser = parse_duration)]
    churn: Option<f64>,
    /// Print a progress line this often (wall clock).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    progress: f64,
}

fn parse_mix(s: &str) -> Result<Mix, String> {
    s.parse()
}

fn parse_backoff(s: &str) -> Result<BackoffCurve, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let seconds = s.parse::<f64>().ok().or_else(|| sim::parse_go_duration(s));
    seconds.filter(|d| *d > 0.0).ok_or_else(|| format!("{s:?} is not a positive duration (e.g. 90s, 10m, 1h)"))
}

fn parse_speedup(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| format!("{s:?} is not a positive factor (e.g. 10)"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Cluster { dir, node } => cluster(dir, node).await,
        Command::Demo { kubeconfig, namespace } => demo(kubeconfig, &namespace).await,
        Command::Run(args) => run(args).await,
        Command::Populate(args) => populate(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crashloop-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn cluster(dir: PathBuf, with_node: bool) -> Result<(), Box<dyn Error>> {
    let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    let cluster = testbed::Cluster::start_in(dir)?;
    let node = if with_node { Some(testbed::Node::start(&cluster)?) } else { None };
    if let Some(node) = &node {
        eprintln!("crashloop-sim: node localhost Ready, its logs in {}", node.dir().display());
    }
    println!("KUBECONFIG={}", cluster.kubeconfig_path().display());
    std::io::stdout().flush()?;
    eprintln!("crashloop-sim: kube-apiserver at {}, logs in {}", cluster.server_url(), cluster.dir().display());
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!("crashloop-sim: stopping");
    drop(node);
    drop(cluster);
    Ok(())
}

async fn demo(kubeconfig: PathBuf, ns: &str) -> Result<(), Box<dyn Error>> {
    let client: Client = testbed::client_from_kubeconfig(&kubeconfig).await?;
    testbed::ensure_namespace(&client, ns).await?;
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    for s in testbed::demo_pods(ns) {
        let name = s.manifest["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        testbed::delete_pod(&client, ns, &name).await?;
        let of_pod = ListParams::default().fields(&format!("involvedObject.name={name}"));
        events.delete_collection(&DeleteParams::default(), &of_pod).await?;
        let pod = testbed::create_pod(&client, ns, &s.manifest).await?;
        let statuses = (s.statuses)(&pod);
        testbed::patch_status(&client, ns, &name, &testbed::pod_status(&pod, s.phase, statuses.clone())).await?;
        for event in (s.events)(&pod) {
            testbed::post_event(&client, ns, &event).await?;
        }
        let state = &statuses[0]["state"];
        let reason =
            state["waiting"]["reason"].as_str().unwrap_or(if state.get("running").is_some() { "Running" } else { "?" });
        println!("pod {ns}/{name}: {reason}");
    }
    Ok(())
}

/// What a run did, for the progress lines.
#[derive(Default)]
struct Stats {
    pods_created: AtomicU64,
    pods_deleted: AtomicU64,
    status_writes: AtomicU64,
    events_created: AtomicU64,
    events_patched: AtomicU64,
    errors: AtomicU64,
    /// The longest delay of a write past its scheduled time since the last progress line.
    max_lag_ms: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn line(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "pods created {} deleted {}, status writes {}, events created {} patched {}, errors {}",
            get(&self.pods_created),
            get(&self.pods_deleted),
            get(&self.status_writes),
            get(&self.events_created),
            get(&self.events_patched),
            get(&self.errors),
        )
    }
}

/// The API side of the simulated kubelet: one client, a cap on requests in flight, counters.
struct Kubelet {
    client: Client,
    permits: Semaphore,
    stats: Stats,
}

/// Maps a pod's simulated time to the wall clock: `t` is `origin + t / speedup`.
#[derive(Clone, Copy)]
struct PodClock {
    origin: Instant,
    origin_unix: f64,
    speedup: f64,
}

impl PodClock {
    fn instant(&self, t: f64) -> Instant {
        self.origin + Duration::from_secs_f64((t / self.speedup).max(0.0))
    }
    fn unix(&self, t: f64) -> f64 {
        self.origin_unix + t / self.speedup
    }
    fn timestamp(&self, t: f64) -> String {
        testbed::timestamp(self.unix(t).floor() as i64)
    }
}

impl Kubelet {
    fn error(&self, what: &str, e: &dyn Error) {
        let n = self.stats.errors.fetch_add(1, Ordering::Relaxed);
        if n < 20 {
            eprintln!("crashloop-sim: {what}: {e}");
        } else if n == 20 {
            eprintln!("crashloop-sim: more errors; only their count is reported from now on");
        }
    }

    /// Creates a plan's pod (replacing a leftover of the same name from an earlier run).
    async fn create(&self, plan: &PodPlan, generation: u32) -> Option<Pod> {
        let manifest = plan.manifest(generation);
        let _permit = self.permits.acquire().await.ok()?;
        let mut result = testbed::create_pod(&self.client, &plan.namespace, &manifest).await;
        if let Err(testbed::Error::Kube(kube::Error::Api(s))) = &result
            && s.code == 409
        {
            let name = plan.name(generation);
            if let Err(e) = testbed::delete_pod(&self.client, &plan.namespace, &name).await {
                self.error(&format!("deleting leftover pod {name}"), &e);
            }
            result = testbed::create_pod(&self.client, &plan.namespace, &manifest).await;
        }
        match result {
            Ok(pod) => {
                Stats::add(&self.stats.pods_created);
                Some(pod)
            }
            Err(e) => {
                self.error(&format!("creating pod {}", plan.name(generation)), &e);
                None
            }
        }
    }

    /// Deletes a pod at once, as the kubelet confirms a deletion, without waiting for it.
    async fn delete(&self, ns: &str, name: &str) {
        let params = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
        let Ok(_permit) = self.permits.acquire().await else {
            return;
        };
        match Api::<Pod>::namespaced(self.client.clone(), ns).delete(name, &params).await {
            Ok(_) => Stats::add(&self.stats.pods_deleted),
            Err(e) => self.error(&format!("deleting pod {ns}/{name}"), &e),
        }
    }

    async fn write_status(&self, pod: &Pod, image: &str, status: &sim::Status, clock: &PodClock) {
        let wall = |t: f64| clock.timestamp(t);
        let body = status.pod_status(pod, image, &wall);
        let (ns, name) = names(pod);
        let Ok(_permit) = self.permits.acquire().await else {
            return;
        };
        match testbed::patch_status(&self.client, ns, name, &body).await {
            Ok(_) => Stats::add(&self.stats.status_writes),
            Err(e) => self.error(&format!("patching the status of {ns}/{name}"), &e),
        }
    }

    async fn write_event(&self, pod: &Pod, write: &EventWrite, clock: &PodClock) {
        let spec = event_spec(pod, write, &|t| clock.timestamp(t));
        let ns = names(pod).0;
        let Ok(_permit) = self.permits.acquire().await else {
            return;
        };
        match testbed::record_event(&self.client, ns, &spec, write.create).await {
            Ok(_) if write.create => Stats::add(&self.stats.events_created),
            Ok(_) => Stats::add(&self.stats.events_patched),
            Err(e) => self.error(&format!("recording event {ns}/{}", spec.name), &e),
        }
    }

    /// Notes how late a write scheduled for `due` starts.
    fn lag(&self, due: Instant) {
        let late = Instant::now().saturating_duration_since(due).as_millis();
        self.stats.max_lag_ms.fetch_max(u64::try_from(late).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

fn names(pod: &Pod) -> (&str, &str) {
    let m = &pod.metadata;
    (m.namespace.as_deref().unwrap_or_default(), m.name.as_deref().unwrap_or_default())
}

/// The Event object of one write.
fn event_spec(pod: &Pod, write: &EventWrite, wall: &dyn Fn(f64) -> String) -> EventSpec {
    let o = &write.occurrence;
    let mut spec = EventSpec::for_pod(pod, o.warning, o.reason, &o.message);
    if let Some(container) = o.container {
        spec.field_path = container.field_path();
    }
    spec.name = write.name.clone();
    spec.count = i32::try_from(write.count).unwrap_or(i32::MAX);
    spec.first_timestamp = wall(write.first);
    spec.last_timestamp = wall(write.last);
    spec
}

/// `<pod>.<hex nanos>` at simulated time `t`, as client-go names events (`seq` keeps two
/// events of the same moment apart).
fn event_name(pod: &str, clock: &PodClock, t: f64, seq: u64) -> String {
    let nanos = (clock.unix(t) * 1e9) as u64 + seq;
    format!("{pod}.{nanos:x}")
}

async fn connect(args: &PodArgs) -> Result<(Client, Vec<String>, Vec<PodPlan>), Box<dyn Error>> {
    let client = testbed::client_from_kubeconfig(&args.kubeconfig).await?;
    let namespaces = sim::namespaces(&args.namespace_prefix, args.namespaces);
    for ns in &namespaces {
        testbed::ensure_namespace(&client, ns).await?;
    }
    let plans = sim::plan(args.pods, &namespaces, &args.mix);
    Ok((client, namespaces, plans))
}

fn describe(plans: &[PodPlan]) -> String {
    let mut counts: Vec<(Scenario, usize)> = Vec::new();
    for p in plans {
        match counts.iter_mut().find(|(s, _)| *s == p.scenario) {
            Some((_, n)) => *n += 1,
            None => counts.push((p.scenario, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{s}={n}")).collect();
    parts.join(",")
}

async fn run(args: RunArgs) -> Result<(), Box<dyn Error>> {
    let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    let (client, namespaces, plans) = connect(&args.pods).await?;
    eprintln!(
        "crashloop-sim: playing the kubelet for {} pods ({}) in {} namespace(s), back-off {}, speed-up {}x{}",
        plans.len(),
        describe(&plans),
        namespaces.len(),
        args.pods.backoff,
        args.speedup,
        args.churn.map_or(String::new(), |c| format!(", pods replaced every ~{c}s (simulated)")),
    );
    let kubelet = Arc::new(Kubelet {
        client,
        permits: Semaphore::new(args.pods.concurrency.unwrap_or(16).max(1)),
        stats: Stats::default(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    for plan in plans {
        tasks.spawn(play(kubelet.clone(), plan, args.speedup, args.churn, args.pods.backoff));
    }
    let started = Instant::now();
    let stop = async {
        match args.duration {
            Some(d) => tokio::time::sleep(Duration::from_secs_f64(d)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    let mut progress = tokio::time::interval(Duration::from_secs_f64(args.progress));
    progress.tick().await;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = int.recv() => break,
            _ = term.recv() => break,
            _ = progress.tick() => {
                let lag = kubelet.stats.max_lag_ms.swap(0, Ordering::Relaxed);
                eprintln!(
                    "crashloop-sim: {:.0}s: {}, max lag {lag} ms",
                    started.elapsed().as_secs_f64(),
                    kubelet.stats.line()
                );
            }
        }
    }
    tasks.shutdown().await;
    println!("crashloop-sim: stopped after {:.0}s: {}", started.elapsed().as_secs_f64(), kubelet.stats.line());
    Ok(())
}

/// Plays one pod: creates it, writes its lifecycle as it happens (on a node whose crash-loop
/// back-off follows `backoff`), and with churn replaces it (delete, then a new pod of the
/// same Deployment) when its lifetime ends.
async fn play(kubelet: Arc<Kubelet>, plan: PodPlan, speedup: f64, churn: Option<f64>, backoff: BackoffCurve) {
    let image = plan.image();
    for generation in 0.. {
        let Some(pod) = kubelet.create(&plan, generation).await else {
            // The API refused: try again a little later, as a ReplicaSet would.
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        };
        let clock = PodClock { origin: Instant::now(), origin_unix: unix_now(), speedup };
        let name = names(&pod).1.to_owned();
        let mut lifecycle = plan.lifecycle(Subject::of(&pod, &plan), generation, backoff);
        let mut correlator = Correlator::new();
        let lifetime = churn.map_or(f64::INFINITY, |mean| plan.lifetime(generation, mean));
        let mut seq = 0;
        loop {
            let next = lifecycle.next();
            let due = next.as_ref().map_or(f64::INFINITY, |t| t.at);
            if lifetime <= due {
                if lifetime.is_infinite() {
                    return std::future::pending().await;
                }
                tokio::time::sleep_until(clock.instant(lifetime)).await;
                kubelet.delete(&plan.namespace, &name).await;
                break;
            }
            let Some(transition) = next else { break };
            let at = clock.instant(transition.at);
            tokio::time::sleep_until(at).await;
            kubelet.lag(at);
            if let Some(status) = &transition.status {
                kubelet.write_status(&pod, &image, status, &clock).await;
            }
            for occurrence in &transition.events {
                let mut namer = || {
                    seq += 1;
                    event_name(&name, &clock, transition.at, seq)
                };
                if let Some(write) = correlator.observe(occurrence, transition.at, &mut namer) {
                    kubelet.write_event(&pod, &write, &clock).await;
                }
            }
        }
    }
}

/// How far `populate` plays non-crash-looping pods (simulated seconds since creation).
const POPULATE_HORIZON: f64 = 900.0;

async fn populate(args: PodArgs) -> Result<(), Box<dyn Error>> {
    let (client, namespaces, plans) = connect(&args).await?;
    let summary = describe(&plans);
    let started = Instant::now();
    let kubelet = Kubelet { client, permits: Semaphore::new(Semaphore::MAX_PERMITS), stats: Stats::default() };
    let looping: usize = futures::stream::iter(&plans)
        .map(|plan| populate_one(&kubelet, plan, args.backoff))
        .buffer_unordered(args.concurrency.unwrap_or(32).max(1))
        .fold(0, |n, looping| async move { n + usize::from(looping) })
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let errors = kubelet.stats.errors.load(Ordering::Relaxed);
    println!(
        "crashloop-sim: populated {} pods ({summary}) in {} namespace(s) in {elapsed:.1}s ({:.0} pods/s): {}",
        plans.len(),
        namespaces.len(),
        plans.len() as f64 / elapsed.max(1e-9),
        kubelet.stats.line()
    );
    println!("crash-looping containers (CrashLoopBackOff): {looping}");
    if errors > 0 {
        return Err(format!("{errors} API calls failed (the first are printed above)").into());
    }
    Ok(())
}

/// Creates one pod in the state of its lifecycle `populate` shows (on a node whose crash-loop
/// back-off follows `backoff`); true if one of its containers is in CrashLoopBackOff. The
/// statuses are backdated as if the pod had been created that long ago (speed-up 1).
async fn populate_one(kubelet: &Kubelet, plan: &PodPlan, backoff: BackoffCurve) -> bool {
    let Some(pod) = kubelet.create(plan, 0).await else {
        return false;
    };
    let lifecycle = plan.lifecycle(Subject::of(&pod, plan), 0, backoff);
    let snap = sim::snapshot(lifecycle, plan.populate_depth(), POPULATE_HORIZON);
    let clock = PodClock { origin: Instant::now(), origin_unix: unix_now() - snap.at, speedup: 1.0 };
    kubelet.write_status(&pod, &plan.image(), &snap.status, &clock).await;
    if plan.scenario != Scenario::Healthy {
        // The Events as the correlator left them: the last write of each.
        let name = names(&pod).1.to_owned();
        let mut correlator = Correlator::new();
        let mut last: HashMap<String, EventWrite> = HashMap::new();
        let mut seq = 0;
        for (at, occurrence) in &snap.events {
            let mut namer = || {
                seq += 1;
                event_name(&name, &clock, *at, seq)
            };
            if let Some(write) = correlator.observe(occurrence, *at, &mut namer) {
                last.insert(write.name.clone(), write);
            }
        }
        for mut write in last.into_values() {
            write.create = true;
            kubelet.write_event(&pod, &write, &clock).await;
        }
    }
    snap.status.backing_off().is_some()
}

//! crashloop-sim: a real kube-apiserver on loopback, and a kubelet played through its API.
//!
//! `crashloop-sim cluster --dir DIR` runs etcd + kube-apiserver until SIGINT/SIGTERM and
//! prints `KUBECONFIG=<path>` once ready; `crashloop-sim demo --kubeconfig PATH` creates pods
//! in typical crash-looping states, with the statuses and events a kubelet would write.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crashloop_exporter::testbed::{self, EventSpec, Terminated, ago, container};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::{Value, json};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(
    version,
    about = "A real kube-apiserver on loopback, and a kubelet played through its API"
)]
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
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Cluster { dir } => cluster(dir).await,
        Command::Demo {
            kubeconfig,
            namespace,
        } => demo(kubeconfig, &namespace).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crashloop-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn cluster(dir: PathBuf) -> Result<(), Box<dyn Error>> {
    let (mut int, mut term) = (
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    );
    let cluster = testbed::Cluster::start_in(dir)?;
    println!("KUBECONFIG={}", cluster.kubeconfig_path().display());
    std::io::stdout().flush()?;
    eprintln!(
        "crashloop-sim: kube-apiserver at {}, logs in {}",
        cluster.server_url(),
        cluster.dir().display()
    );
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    eprintln!("crashloop-sim: stopping");
    drop(cluster);
    Ok(())
}

/// One demo pod: its manifest, the phase and container statuses the kubelet reports once it
/// exists, and the events the kubelet recorded.
struct Scenario {
    manifest: Value,
    phase: &'static str,
    statuses: fn(&Pod) -> Vec<Value>,
    events: fn(&Pod) -> Vec<EventSpec>,
}

fn back_off(pod: &Pod, c: &str, count: i32) -> EventSpec {
    EventSpec::for_pod(pod, true, "BackOff", "Back-off restarting failed container")
        .container(c)
        .repeated(count, 900)
}

fn scenarios(ns: &str) -> Vec<Scenario> {
    let with_memory_limit = |mut c: Value, limit: &str| {
        c["resources"] = json!({ "limits": { "memory": limit }, "requests": { "memory": limit } });
        c
    };
    let mut liveness = container("api", "registry.example/api:3.0.2");
    liveness["livenessProbe"] = json!({ "httpGet": { "path": "/healthz", "port": 8080 }, "periodSeconds": 10, "failureThreshold": 3 });
    let mut needs_config = container("worker", "registry.example/worker:1.8.0");
    needs_config["envFrom"] = json!([{ "configMapRef": { "name": "app-config" } }]);
    needs_config["volumeMounts"] = json!([{ "name": "config", "mountPath": "/etc/app" }]);
    let mut worker =
        testbed::deployment_pod(ns, "worker", "84d7f6c9b5", "t6n3v", vec![needs_config]);
    worker["spec"]["volumes"] =
        json!([{ "name": "config", "configMap": { "name": "app-config" } }]);
    vec![
        // OOMKilled over and over: restartCount 5, back-off 2m40s.
        Scenario {
            manifest: testbed::deployment_pod(
                ns,
                "checkout",
                "7c9d6b5f4",
                "m2x8k",
                vec![with_memory_limit(
                    container("app", "registry.example/checkout:2.4.1"),
                    "256Mi",
                )],
            ),
            phase: "Running",
            statuses: |p| {
                vec![testbed::crashloop_status(
                    p,
                    "app",
                    5,
                    "2m40s",
                    &Terminated::new("OOMKilled", 137, ago(190), ago(160)),
                )]
            },
            events: |p| vec![back_off(p, "app", 23)],
        },
        // The process exits with 1 at start-up.
        Scenario {
            manifest: testbed::deployment_pod(
                ns,
                "payments",
                "6f8b9c7d5",
                "q4w7z",
                vec![container("server", "registry.example/payments:1.0.0")],
            ),
            phase: "Running",
            statuses: |p| {
                vec![testbed::crashloop_status(
                    p,
                    "server",
                    3,
                    "40s",
                    &Terminated::new("Error", 1, ago(32), ago(30)),
                )]
            },
            events: |p| vec![back_off(p, "server", 9)],
        },
        // The image does not exist.
        Scenario {
            manifest: testbed::deployment_pod(
                ns,
                "frontend",
                "5b6c8d9f7",
                "k9p2r",
                vec![container("web", "registry.example/frontend:v9.9.9")],
            ),
            phase: "Pending",
            statuses: |_| {
                vec![testbed::waiting_status(
                    "web",
                    "ImagePullBackOff",
                    "Back-off pulling image \"registry.example/frontend:v9.9.9\"",
                    0,
                    None,
                )]
            },
            events: |p| {
                vec![
                EventSpec::for_pod(p, true, "Failed", "Failed to pull image \"registry.example/frontend:v9.9.9\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example/frontend:v9.9.9\": not found").container("web").repeated(4, 600),
                EventSpec::for_pod(p, false, "BackOff", "Back-off pulling image \"registry.example/frontend:v9.9.9\"").container("web").repeated(40, 600),
            ]
            },
        },
        // A ConfigMap the container needs is missing.
        Scenario {
            manifest: worker,
            phase: "Pending",
            statuses: |_| {
                vec![testbed::waiting_status(
                    "worker",
                    "CreateContainerConfigError",
                    "configmap \"app-config\" not found",
                    0,
                    None,
                )]
            },
            events: |p| {
                vec![
                EventSpec::for_pod(p, true, "FailedMount", "MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found").repeated(8, 300),
                EventSpec::for_pod(p, true, "Failed", "Error: configmap \"app-config\" not found").container("worker").repeated(12, 300),
            ]
            },
        },
        // Killed by its liveness probe (SIGKILL after the grace period): Error, 137.
        Scenario {
            manifest: testbed::deployment_pod(ns, "api", "69c8d7b4f6", "w5j2h", vec![liveness]),
            phase: "Running",
            statuses: |p| {
                vec![testbed::crashloop_status(
                    p,
                    "api",
                    4,
                    "1m20s",
                    &Terminated::new("Error", 137, ago(150), ago(60)),
                )]
            },
            events: |p| {
                vec![
                    EventSpec::for_pod(
                        p,
                        true,
                        "Unhealthy",
                        "Liveness probe failed: HTTP probe failed with statuscode: 500",
                    )
                    .container("api")
                    .repeated(12, 1200),
                    EventSpec::for_pod(
                        p,
                        false,
                        "Killing",
                        "Container api failed liveness probe, will be restarted",
                    )
                    .container("api")
                    .repeated(4, 1200),
                    back_off(p, "api", 6),
                ]
            },
        },
        // Healthy.
        Scenario {
            manifest: testbed::deployment_pod(
                ns,
                "web",
                "5d4f8c7b9",
                "x2x4q",
                vec![container("nginx", "registry.example/nginx:1.25")],
            ),
            phase: "Running",
            statuses: |_| vec![testbed::running_status("nginx", 0, &ago(3600), None)],
            events: |_| vec![],
        },
        // A CronJob's Job whose container exits 0 and is restarted anyway.
        Scenario {
            manifest: testbed::job_pod(
                ns,
                "nightly-28391040",
                "8hz5c",
                vec![container("report", "registry.example/report:0.9")],
            ),
            phase: "Running",
            statuses: |p| {
                vec![testbed::crashloop_status(
                    p,
                    "report",
                    2,
                    "20s",
                    &Terminated::new("Completed", 0, ago(15), ago(12)),
                )]
            },
            events: |p| vec![back_off(p, "report", 3)],
        },
    ]
}

async fn demo(kubeconfig: PathBuf, ns: &str) -> Result<(), Box<dyn Error>> {
    let client: Client = testbed::client_from_kubeconfig(&kubeconfig).await?;
    testbed::ensure_namespace(&client, ns).await?;
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    for s in scenarios(ns) {
        let name = s.manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        testbed::delete_pod(&client, ns, &name).await?;
        let of_pod = ListParams::default().fields(&format!("involvedObject.name={name}"));
        events
            .delete_collection(&DeleteParams::default(), &of_pod)
            .await?;
        let pod = testbed::create_pod(&client, ns, &s.manifest).await?;
        let statuses = (s.statuses)(&pod);
        testbed::patch_status(
            &client,
            ns,
            &name,
            &testbed::pod_status(&pod, s.phase, statuses.clone()),
        )
        .await?;
        for event in (s.events)(&pod) {
            testbed::post_event(&client, ns, &event).await?;
        }
        let state = &statuses[0]["state"];
        let reason =
            state["waiting"]["reason"]
                .as_str()
                .unwrap_or(if state.get("running").is_some() {
                    "Running"
                } else {
                    "?"
                });
        println!("pod {ns}/{name}: {reason}");
    }
    Ok(())
}

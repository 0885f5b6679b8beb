//! Diagnosis against a real kube-apiserver: the crash-loop state with hysteresis (with a
//! clock the test moves), the terminations counter, `scan` and `diagnose`, and the
//! previous-log fetch failing gracefully (this apiserver has no kubelet).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::common::{EXPORTER, Exporter, free_port, http_get, samples};
use clap::Parser;
use crashloop_exporter::{Cli, Command as Sub};
use crashloop_testbed::{self as testbed, Terminated};
use serde_json::{Value, json};

fn labels(ns: &str, pod: &str, container: &str) -> String {
    format!(r#"namespace="{ns}",pod="{pod}",container="{container}",container_type="regular""#)
}

async fn scrape(addr: &str) -> String {
    let (status, _, body) = http_get(addr, "/metrics", &[]).await.expect("scrape");
    assert_eq!(status, 200);
    String::from_utf8(body).expect("utf-8")
}

async fn scrape_until(addr: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    for _ in 0..150 {
        if let Ok((200, _, body)) = http_get(addr, "/metrics", &[]).await {
            let out = String::from_utf8(body).expect("utf-8");
            if done(&out) {
                return out;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}:\n{}", scrape(addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashloop_state_hysteresis_and_terminations_with_a_moving_clock() {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    let ns = "it-hysteresis";
    testbed::ensure_namespace(&client, ns).await.expect("namespace");
    let pod =
        testbed::create_pod(&client, ns, &testbed::pod(ns, "flappy", vec![testbed::container("app", "flappy:1")]))
            .await
            .expect("pod");

    let offset = Arc::new(AtomicI64::new(0));
    let clock_offset = offset.clone();
    let clock = Arc::new(move || crashloop_exporter::now() + clock_offset.load(Ordering::Relaxed));
    let addr = format!("127.0.0.1:{}", free_port());
    let kubeconfig = cluster.kubeconfig_path();
    let cli = Cli::try_parse_from([
        "crashloop-exporter",
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8 path"),
        "--listen-address",
        &addr,
        "--namespace",
        ns,
    ])
    .expect("flags");
    let Sub::Serve(args) = cli.into_command() else { panic!("serve is the default") };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crashloop_exporter::serve(args, clock, async {
        let _ = stopped.await;
    }));

    let l = labels(ns, "flappy", "app");
    let looping = |v: u8| format!("crashloop_container_crashlooping{{{l}}} {v}");
    let terminations =
        |reason: &str, v: u64| format!("crashloop_container_terminations_total{{{l},reason=\"{reason}\"}} {v}");

    // The first list must have seen the pod with no restarts: they are the baseline.
    scrape_until(&addr, "the pod", |o| o.contains(&format!("crashloop_container_restarts_total{{{l}}} 0"))).await;

    // First crash: restartCount 1, OOMKilled (a jump of 1).
    let oom = Terminated::new("OOMKilled", 137, testbed::ago(40), testbed::ago(30));
    let running = |restarts, since: i64, last: &Terminated| {
        testbed::pod_status(
            &pod,
            "Running",
            vec![testbed::running_status("app", restarts, &testbed::ago(since), Some(last))],
        )
    };
    testbed::patch_status(&client, ns, "flappy", &running(1, 29, &oom)).await.expect("status");
    let out = scrape_until(&addr, "one OOM termination", |o| o.contains(&terminations("OOMKilled", 1))).await;
    assert!(out.contains(&looping(0)), "a single restart is not a loop yet\n{out}");

    // CrashLoopBackOff after three more crashes at once (a jump of 3, attributed to Error).
    let err = Terminated::new("Error", 1, testbed::ago(12), testbed::ago(10));
    let status = testbed::pod_status(&pod, "Running", vec![testbed::crashloop_status(&pod, "app", 4, "40s", &err)]);
    testbed::patch_status(&client, ns, "flappy", &status).await.expect("status");
    let out = scrape_until(&addr, "crash-looping", |o| o.contains(&looping(1))).await;
    assert!(out.contains(&terminations("Error", 3)), "{out}");
    assert!(out.contains(&terminations("OOMKilled", 1)), "{out}");
    assert!(samples(&out, "crashloop_container_crashloop_start_timestamp_seconds").len() == 1);

    // Running again: the gap between crashes keeps the state at 1.
    testbed::patch_status(&client, ns, "flappy", &running(5, 1, &err)).await.expect("status");
    scrape_until(&addr, "running", |o| o.contains(&format!("crashloop_container_state{{{l},state=\"running\"}} 1")))
        .await;
    offset.store(300, Ordering::Relaxed);
    assert!(scrape(&addr).await.contains(&looping(1)), "still 1 five minutes into the run");

    // Ten simulated minutes of running without a restart: 0, with no new watch event.
    offset.store(601, Ordering::Relaxed);
    let out = scrape(&addr).await;
    assert!(out.contains(&looping(0)), "{out}");
    assert!(samples(&out, "crashloop_container_crashloop_start_timestamp_seconds").is_empty());

    // It crashes again: 1 again.
    let again = Terminated::new("Error", 1, testbed::ago(5), testbed::ago(1));
    let status = testbed::pod_status(&pod, "Running", vec![testbed::crashloop_status(&pod, "app", 6, "10s", &again)]);
    testbed::patch_status(&client, ns, "flappy", &status).await.expect("status");
    let out = scrape_until(&addr, "looping again", |o| o.contains(&looping(1))).await;
    assert!(out.contains(&terminations("Error", 5)), "3 + the restart into Running + this one\n{out}");

    let _ = stop.send(());
    server.await.expect("serve task").expect("serve ends cleanly");
}

/// Creates pods in each state the demo knows, in a namespace of their own.
async fn populate(client: &kube::Client, ns: &str) {
    testbed::ensure_namespace(client, ns).await.expect("namespace");
    let make =
        |name: &str| testbed::deployment_pod(ns, name, "5f6d7c8b9", "abcde", vec![testbed::container("app", "x:1")]);
    let oom = testbed::create_pod(client, ns, &make("oom")).await.expect("pod");
    let last = Terminated::new("OOMKilled", 137, testbed::ago(100), testbed::timestamp(1_795_000_000));
    let status = testbed::pod_status(&oom, "Running", vec![testbed::crashloop_status(&oom, "app", 5, "2m40s", &last)]);
    testbed::patch_status(client, ns, "oom-5f6d7c8b9-abcde", &status).await.expect("status");

    let cfg = testbed::create_pod(client, ns, &make("cfg")).await.expect("pod");
    let status = testbed::pod_status(
        &cfg,
        "Pending",
        vec![testbed::waiting_status("app", "CreateContainerConfigError", "secret \"db-creds\" not found", 0, None)],
    );
    testbed::patch_status(client, ns, "cfg-5f6d7c8b9-abcde", &status).await.expect("status");

    let ok = testbed::create_pod(client, ns, &make("ok")).await.expect("pod");
    let status =
        testbed::pod_status(&ok, "Running", vec![testbed::running_status("app", 0, &testbed::ago(3600), None)]);
    testbed::patch_status(client, ns, "ok-5f6d7c8b9-abcde", &status).await.expect("status");
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_and_diagnose_report_exact_fields() {
    let cluster = testbed::shared().expect("testbed cluster");
    let client = cluster.client().await.expect("client");
    let ns = "it-scan";
    populate(&client, ns).await;
    let kubeconfig = cluster.kubeconfig_path();
    let kc = kubeconfig.to_str().expect("utf-8 path");

    let (code, stdout, stderr) = run(&["scan", "--kubeconfig", kc, "-n", ns, "-o", "json", "--log-level", "error"]);
    assert_eq!(code, 1, "exit 1: something is crash-looping\n{stderr}");
    let rows: Vec<Value> = serde_json::from_str(&stdout).expect("json");
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(
        rows[0],
        json!({"namespace": ns, "pod": "cfg-5f6d7c8b9-abcde", "container": "app", "container_type": "regular",
            "workload": "Deployment/cfg", "restarts": 0, "state": "CreateContainerConfigError", "crashlooping": false,
            "last_exit_code": null, "signal": null, "last_reason": null, "cause": "missing_config",
            "backoff_seconds": null, "next_restart": null, "memory_limit_bytes": null, "log": null, "rollout": null})
    );
    assert_eq!(
        rows[1],
        json!({"namespace": ns, "pod": "oom-5f6d7c8b9-abcde", "container": "app", "container_type": "regular",
            "workload": "Deployment/oom", "restarts": 5, "state": "CrashLoopBackOff", "crashlooping": true,
            "last_exit_code": 137, "signal": 9, "last_reason": "OOMKilled", "cause": "oom_killed",
            "backoff_seconds": 160.0, "next_restart": "2026-11-18T11:09:20Z", "memory_limit_bytes": null,
            "log": "skipped", "rollout": null})
    );
    // With --logs, the log of the container that failed is asked for; no kubelet stands
    // behind this apiserver, and the row says so, with the same cause.
    let (code, stdout, stderr) =
        run(&["scan", "--kubeconfig", kc, "-n", ns, "--logs", "-o", "json", "--log-level", "error"]);
    assert_eq!(code, 1, "{stderr}");
    let with_logs: Vec<Value> = serde_json::from_str(&stdout).expect("json");
    let brief = |r: &Value| (r["pod"].clone(), r["cause"].clone(), r["log"].clone());
    assert_eq!(
        with_logs.iter().map(brief).collect::<Vec<_>>(),
        [
            (json!("cfg-5f6d7c8b9-abcde"), json!("missing_config"), Value::Null),
            (json!("oom-5f6d7c8b9-abcde"), json!("oom_killed"), json!("not_found"))
        ]
    );

    // --fail-on: never exits 0 over a crash loop; any exits 1 on it too.
    let exit = |fail_on: &str| run(&["scan", "--kubeconfig", kc, "-n", ns, "--fail-on", fail_on, "-o", "json"]).0;
    assert_eq!((exit("never"), exit("any"), exit("crashloop")), (0, 1, 1));

    let (code, table, _) = run(&["scan", "--kubeconfig", kc, "-n", ns, "--log-level", "error"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert_eq!(
        lines[4],
        "Causes from the pods' status and Events only: --logs also reads the previous logs, as the server does with --logs."
    );
    assert!(lines[0].starts_with("NAMESPACE  POD"));
    let cells: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "it-scan",
            "oom-5f6d7c8b9-abcde",
            "app",
            "Deployment/oom",
            "5",
            "CrashLoopBackOff",
            "137",
            "SIGKILL",
            "oom_killed",
            "160s",
            "2026-11-18T11:09:20Z"
        ]
    );

    // -o wide: the type, the loop, the last reason and the memory limit.
    let (code, wide, _) = run(&["scan", "--kubeconfig", kc, "-n", ns, "-o", "wide", "--log-level", "error"]);
    assert_eq!(code, 1);
    let wide: Vec<&str> = wide.lines().collect();
    assert!(wide[0].ends_with("NEXT-RESTART          TYPE     LOOPING  LAST-REASON  MEMORY-LIMIT"), "{}", wide[0]);
    assert_eq!(wide[2].split_whitespace().skip(11).collect::<Vec<_>>(), ["regular", "true", "OOMKilled", "-"]);

    // Exit codes and filters: 0 when nothing is crash-looping (a selector that leaves only
    // the missing Secret, or only the healthy pod), 1 on a crash loop, 2 on an error.
    let scan = |args: &[&str]| {
        let (code, stdout, stderr) =
            run(&[&["scan", "--kubeconfig", kc, "-o", "json", "--log-level", "error"], args].concat());
        let rows: Vec<Value> =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout} {stderr}"));
        let pods: Vec<String> =
            rows.iter().filter(|r| r["namespace"] == ns).map(|r| r["pod"].as_str().unwrap_or("").to_string()).collect();
        (code, pods)
    };
    assert_eq!(scan(&["-n", ns, "-l", "app=oom"]), (1, vec!["oom-5f6d7c8b9-abcde".to_string()]));
    assert_eq!(scan(&["-n", ns, "--selector", "app=cfg"]), (0, vec!["cfg-5f6d7c8b9-abcde".to_string()]));
    assert_eq!(scan(&["-n", ns, "-l", "app=cfg", "--fail-on", "any"]).0, 1);
    assert_eq!(scan(&["-n", ns, "-l", "app=ok"]), (0, vec![]));
    let (code, text, _) = run(&["scan", "--kubeconfig", kc, "-n", ns, "-l", "app=ok"]);
    assert_eq!((code, text.as_str()), (0, "No troubled containers.\n"));
    // --exclude-namespace takes every other namespace: this one's rows are gone.
    assert_eq!(scan(&["-A"]).1.len(), 2, "every namespace holds this one's two");
    assert_eq!(scan(&["--exclude-namespace", ns]).1, Vec::<String>::new());
    assert_eq!(scan(&["-A", "--exclude-namespace", ns]).1, Vec::<String>::new());
    let (code, _, stderr) = run(&["scan", "--kubeconfig", "/nonexistent/kubeconfig", "-n", ns]);
    assert_eq!(code, 2, "a kubeconfig that does not exist: {stderr}");

    let (code, stdout, stderr) =
        run(&["diagnose", "oom-5f6d7c8b9-abcde", "-n", ns, "--kubeconfig", kc, "-o", "json", "--log-level", "error"]);
    assert_eq!(code, 0, "{stderr}");
    let d: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(d["workload"], "Deployment/oom");
    assert_eq!(d["node"], "node-1");
    let c = &d["containers"][0];
    assert_eq!(c["cause"], "oom_killed");
    assert_eq!(c["last_exit_code"], 137);
    assert_eq!(
        c["exit_code_meaning"],
        "SIGKILL: an OOM kill, a liveness/startup kill after the grace period, or kill -9: not proof of OOM"
    );
    assert_eq!(c["checks"][0], json!({"name": "oom_killed", "failed": true, "detail": "memory limit - (none)"}));
    // No kubelet behind this apiserver: the previous log can't be had, and that is said.
    assert_eq!((&c["previous_log"]["result"], &c["log"]), (&json!("not_found"), &json!("not_found")));
    // No limit of its own here: the fix names no number, and no runtime flag for an image
    // that shows none.
    assert!(c["fix"].as_str().is_some_and(|f| f.contains("no memory limit, its own or its pod's")), "{c}");
    assert_eq!((&c["fix_patch"], &d["patch"]), (&Value::Null, &Value::Null), "no number made up, nothing to patch");
    assert_eq!(
        c["fix_yaml"],
        "resources:\n  requests: {memory: <its use>}\n  limits: {memory: <its use plus headroom>}"
    );

    let (code, text, _) =
        run(&["diagnose", "cfg-5f6d7c8b9-abcde", "-n", ns, "--kubeconfig", kc, "--log-level", "error"]);
    assert_eq!(code, 0);
    assert!(text.contains("probable cause: missing_config"), "{text}");
    assert!(text.contains("FAIL missing_config  secret db-creds"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when stdout is not a terminal");

    let (code, _, stderr) = run(&["diagnose", "nope", "-n", ns, "--kubeconfig", kc, "--log-level", "error"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not found"), "{stderr}");

    // A workload's worst pod, by kubectl's short name and by a selector; none: a clear error.
    let picked = |args: &[&str]| {
        let (code, stdout, stderr) =
            run(&[&["diagnose", "-n", ns, "--kubeconfig", kc, "-o", "json", "--log-level", "error"], args].concat());
        assert_eq!(code, 0, "{args:?}: {stderr}");
        serde_json::from_str::<Value>(&stdout).expect("json")["pod"].clone()
    };
    assert_eq!(picked(&["deploy/oom"]), json!("oom-5f6d7c8b9-abcde"));
    assert_eq!(picked(&["-l", "app=oom"]), json!("oom-5f6d7c8b9-abcde"));
    let (code, _, stderr) = run(&["diagnose", "deploy/absent", "-n", ns, "--kubeconfig", kc]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no pod of Deployment absent in namespace it-scan"), "{stderr}");

    // --as: the API sees the other user, who may list nothing here.
    let (code, _, stderr) = run(&["scan", "--kubeconfig", kc, "-n", ns, "--as", "nobody", "--log-level", "error"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("forbidden") && stderr.contains("\"nobody\""), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_fetch_fails_gracefully_without_a_kubelet() {
    let cluster = testbed::shared().expect("testbed cluster");
    let client = cluster.client().await.expect("client");
    let ns = "it-logs";
    populate(&client, ns).await;
    let exporter = Exporter::start(
        EXPORTER,
        &cluster.kubeconfig_path(),
        &["--namespace", ns, "--logs", "--logs-per-second", "20"],
    )
    .await;
    let out = exporter
        .metrics_until("a log fetch", |o| o.contains(r#"crashloop_exporter_log_fetches_total{result="not_found"} 1"#))
        .await;
    let cause = format!(
        "crashloop_container_probable_cause{{{},cause=\"oom_killed\"}} 1",
        labels(ns, "oom-5f6d7c8b9-abcde", "app")
    );
    assert!(out.contains(&cause), "{out}");
    let (status, _) = exporter.get("/healthz", &[]).await.expect("healthz");
    assert_eq!(status, 200);
}

/// The binary as a kubectl plugin: symlinked as `kubectl-crashloop` on PATH, `kubectl
/// crashloop scan` and `kubectl crashloop diagnose POD` run it, named so in its help. The
/// kubeconfig is two files in `KUBECONFIG`, merged as kubectl merges them: the first sets
/// the context (with a namespace), the second the cluster and the user (and a context of
/// the same name, which loses). Without `-n`, both commands look in the context's namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_it_as_a_plugin() {
    let cluster = testbed::shared().expect("testbed cluster");
    let client = cluster.client().await.expect("client");
    let ns = "it-plugin";
    populate(&client, ns).await;
    // Another namespace's crash loop, which a scan of the context's namespace leaves out.
    populate(&client, "it-plugin-other").await;
    let dir = crate::common::TempDir::new();
    let bin = dir.0.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_crashloop-exporter"), bin.join("kubectl-crashloop"))
        .expect("symlink");
    let context = dir.0.join("context.yaml");
    std::fs::write(
        &context,
        format!(
            "apiVersion: v1\nkind: Config\ncontexts:\n- name: testbed\n  context:\n    cluster: testbed\n    user: admin\n    namespace: {ns}\ncurrent-context: testbed\n"
        ),
    )
    .expect("context file");
    let kubeconfig = format!("{}:{}", context.display(), cluster.kubeconfig_path().display());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .expect("kubectl runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };

    let (code, stdout, stderr) = kubectl(&["crashloop", "scan", "-o", "json", "--log-level", "error"]);
    assert_eq!(code, 1, "exit 1: something is crash-looping\n{stdout}\n{stderr}");
    let rows: Vec<Value> = serde_json::from_str(&stdout).expect("json");
    let pods: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["namespace"].as_str().unwrap_or(""), r["pod"].as_str().unwrap_or(""))).collect();
    assert_eq!(pods, [(ns, "cfg-5f6d7c8b9-abcde"), (ns, "oom-5f6d7c8b9-abcde")], "{stdout}");

    // -A: every namespace, this test's two among them.
    let (code, stdout, _) = kubectl(&["crashloop", "scan", "-A", "-o", "json", "--log-level", "error"]);
    assert_eq!(code, 1);
    let rows: Vec<Value> = serde_json::from_str(&stdout).expect("json");
    for n in [ns, "it-plugin-other"] {
        assert_eq!(rows.iter().filter(|r| r["namespace"] == n).count(), 2, "{n}: {stdout}");
    }

    let (code, stdout, stderr) =
        kubectl(&["crashloop", "diagnose", "oom-5f6d7c8b9-abcde", "--no-logs", "-o", "json", "--log-level", "error"]);
    assert_eq!(code, 0, "{stderr}");
    let diagnosis: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(diagnosis["namespace"], ns, "{stdout}");

    let (code, help, _) = kubectl(&["crashloop", "scan", "--help"]);
    assert_eq!(code, 0);
    assert!(help.contains("Usage: kubectl crashloop scan"), "{help}");
}

/// `diagnose --prometheus-url`: a real Prometheus, scraping cAdvisor-shaped series of the
/// OOM-killed container (served on loopback: this apiserver has no kubelet), gives its
/// peak working set, and the fix for a container without a limit is sized from it. A
/// Prometheus that does not answer leaves the fix as it is without one; only http:// is
/// spoken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_sizes_the_oom_fix_from_the_peak_in_prometheus() {
    use std::time::Duration;
    let cluster = testbed::shared().expect("testbed cluster");
    let client = cluster.client().await.expect("client");
    let ns = "it-peak";
    populate(&client, ns).await;
    let kubeconfig = cluster.kubeconfig_path();
    let kc = kubeconfig.to_str().expect("utf-8 path");

    // cAdvisor's shape: the container's working set (900Mi), and the pod's own cgroup
    // (container="", more), which the query leaves out.
    let body = format!(
        "container_memory_working_set_bytes{{namespace=\"{ns}\",pod=\"oom-5f6d7c8b9-abcde\",container=\"app\",image=\"x:1\"}} 943718400\n\
         container_memory_working_set_bytes{{namespace=\"{ns}\",pod=\"oom-5f6d7c8b9-abcde\",container=\"\",image=\"\"}} 2147483648\n"
    );
    let cadvisor = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let cadvisor_addr = cadvisor.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = cadvisor.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body.as_bytes()).await;
            });
        }
    });
    let tmp = crate::common::TempDir::new();
    let config = tmp.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: cadvisor\n    static_configs:\n      - targets: ['{cadvisor_addr}']\n"),
    )
    .expect("prometheus.yml");
    let (mut prometheus, prom) = crate::common::Proc::prometheus(&tmp.0, &config);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while crate::common::query(&prom, "container_memory_working_set_bytes", None).await.map_or(true, |r| r.is_empty()) {
        prometheus.assert_running();
        assert!(std::time::Instant::now() < deadline, "Prometheus did not scrape:\n{}", prometheus.tail());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The OOM-killed pod's report, asking the Prometheus at `url`.
    let diagnose_asking = |url: &str| {
        run(&[
            "diagnose",
            "oom-5f6d7c8b9-abcde",
            "-n",
            ns,
            "--kubeconfig",
            kc,
            "--no-logs",
            "-o",
            "json",
            "--prometheus-url",
            url,
        ])
    };
    let (code, stdout, stderr) = diagnose_asking(&format!("http://{prom}"));
    assert_eq!(code, 0, "{stderr}");
    let d: Value = serde_json::from_str(&stdout).expect("json");
    let c = &d["containers"][0];
    assert_eq!(c["fix_evidence"]["peak_bytes"], json!(943718400u64), "{c:#}");
    assert_eq!(c["fix_yaml"], "resources:\n  requests: {memory: 1152Mi}\n  limits: {memory: 1152Mi}");
    assert!(
        c["fix"].as_str().is_some_and(|f| f.contains("Its peak working set in the last 1h was 900Mi (Prometheus).")),
        "{c:#}"
    );

    // Nobody at the URL: a warning, and the fix without a number.
    let (code, stdout, stderr) = diagnose_asking(&format!("http://127.0.0.1:{}", crate::common::free_port()));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cannot ask Prometheus for the peak working set"), "{stderr}");
    let d: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(d["containers"][0]["fix_patch"], Value::Null);

    let (code, _, stderr) = diagnose_asking("https://prometheus:9090");
    assert_eq!(code, 2);
    assert!(stderr.contains("only http:// is spoken"), "{stderr}");
}

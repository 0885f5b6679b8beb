//! Bad input end to end, through the real apiserver, the exporter binary, promtool and a
//! real Prometheus:
//! - label values with quotes, backslashes, newlines and non-ASCII characters (pod names
//!   can't have them, but owner reference names can) are escaped in both exposition
//!   formats, accepted by `promtool check metrics`, and read back from Prometheus exactly as
//!   they were written; the object names that waiting messages and Events mention never
//!   become labels unless Kubernetes would accept them as names;
//! - a 1 MiB Event message and a 512 KiB waiting message give the right series.

use std::convert::Infallible;
use std::fs;
use std::time::Duration;

use crate::common::{EXPORTER, Exporter, Proc, TempDir, free_port, http_get, promtool_check_metrics, query, wait_for};
use bytes::Bytes;
use crashloop_testbed::{self as testbed, EventSpec, Terminated};
use http_body_util::Full;
use hyper::Response;
use serde_json::Value;

const NS: &str = "it-escaping";
const HUGE_NS: &str = "it-huge-input";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";
const TEXT: &str = "text/plain; version=0.0.4";
/// What Prometheus 2.42 asks for when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// An owner reference name (not validated by the apiserver) with every character the
/// formats escape, and one they carry as it is.
const OWNER: &str = "we\"ird\\name\nü";
/// A ConfigMap named in `couldn't find key K in ConfigMap ns/NAME`: no ConfigMap can be
/// named so, and no label gets it.
const KEY_CONFIGMAP: &str = "we\"ird\\name-ü";
/// A ConfigMap named in a FailedMount Event, `configmap "NAME" not found`: the same.
const MOUNT_CONFIGMAP: &str = "we\\ird\\name\nü";

/// Each label value, escaped as the exposition formats want it, in the exact line; and the
/// Event that named a ConfigMap no ConfigMap can be, counted as left out.
const EXPECTED: [(&str, &str); 2] = [
    (
        "crashloop_pod_workload_info",
        r#"{namespace="it-escaping",pod="owned-0",workload_kind="StatefulSet",workload="we\"ird\\name\nü",template=""} 1"#,
    ),
    ("crashloop_exporter_events_ignored_total", r#"{reason="invalid_name"} 1"#),
];

fn has_every_line(out: &str) -> bool {
    EXPECTED.iter().all(|(family, labels)| out.lines().any(|l| l == format!("{family}{labels}")))
        && !out.lines().any(|l| l.starts_with("crashloop_pod_missing_object{"))
}

/// promtool (2.42) reads OpenMetrics with the text format's parser: it parses the whole
/// exposition, but takes a counter's `_total` samples for a family without help, because
/// OpenMetrics names the family without the suffix. True when those are all it reports.
fn only_openmetrics_counter_names(exposition: &str, report: &str) -> bool {
    report.lines().all(|line| {
        line.strip_suffix("_total no help text")
            .is_some_and(|family| exposition.lines().any(|l| l == format!("# TYPE {family} counter")))
    })
}

/// Serves `/metrics` on `addr` as the exporter's text format (whatever the client asks
/// for), so that Prometheus, which prefers OpenMetrics, parses the text format too.
async fn serve_text_only(addr: String, exporter: String) {
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind the text-format proxy");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let exporter = exporter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let exporter = exporter.clone();
                    async move {
                        let (status, headers, body) = http_get(&exporter, "/metrics", &[("Accept", TEXT)])
                            .await
                            .unwrap_or((502, Vec::new(), Vec::new()));
                        let content_type =
                            headers.iter().find(|(k, _)| k == "content-type").map_or(String::new(), |(_, v)| v.clone());
                        let response = Response::builder()
                            .status(status)
                            .header("content-type", content_type)
                            .body(Full::new(Bytes::from(body)));
                        Ok::<_, Infallible>(response.expect("a valid response"))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_values_are_escaped_and_read_back_exactly() {
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");
    let app = || vec![testbed::container("app", "registry.example/app:1")];

    // A StatefulSet's pod, as far as its owner reference says.
    let owned = testbed::create_pod(
        &client,
        NS,
        &testbed::owned_by(testbed::pod(NS, "owned-0", app()), "apps/v1", "StatefulSet", OWNER),
    )
    .await
    .expect("create owned-0");
    let status =
        testbed::pod_status(&owned, "Running", vec![testbed::running_status("app", 0, &testbed::ago(60), None)]);
    testbed::patch_status(&client, NS, "owned-0", &status).await.expect("owned-0 running");

    // A container waiting for a key of a ConfigMap.
    let config = testbed::create_pod(&client, NS, &testbed::pod(NS, "config-0", app())).await.expect("create config-0");
    let message = format!("couldn't find key DATABASE_URL in ConfigMap {NS}/{KEY_CONFIGMAP}");
    let status = testbed::pod_status(
        &config,
        "Pending",
        vec![testbed::waiting_status("app", "CreateContainerConfigError", &message, 0, None)],
    );
    testbed::patch_status(&client, NS, "config-0", &status).await.expect("config-0 waiting");

    // A pod whose volume can't be mounted: the name comes from the kubelet's Event.
    let mount = testbed::create_pod(&client, NS, &testbed::pod(NS, "mount-0", app())).await.expect("create mount-0");
    let status =
        testbed::pod_status(&mount, "Pending", vec![testbed::waiting_status("app", "ContainerCreating", "", 0, None)]);
    testbed::patch_status(&client, NS, "mount-0", &status).await.expect("mount-0 creating");
    let message = format!("MountVolume.SetUp failed for volume \"cfg\" : configmap \"{MOUNT_CONFIGMAP}\" not found");
    testbed::post_event(&client, NS, &EventSpec::for_pod(&mount, true, "FailedMount", &message))
        .await
        .expect("post FailedMount");

    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;
    exporter.metrics_until("the escaped series, and no missing object", has_every_line).await;

    // Both formats: the exact lines, and promtool accepts the whole exposition.
    for accept in [TEXT, OPENMETRICS] {
        let (status, headers, body) =
            http_get(&exporter.addr, "/metrics", &[("Accept", accept)]).await.expect("scrape");
        assert_eq!(status, 200);
        let content_type = headers.iter().find(|(k, _)| k == "content-type").map_or("", |(_, v)| v.as_str());
        assert!(
            content_type.starts_with(accept.split(';').next().unwrap_or_default()),
            "asked for {accept}, got {content_type}"
        );
        let out = String::from_utf8(body).expect("UTF-8");
        assert!(has_every_line(&out), "{accept}: the escaped lines are missing:\n{out}");
        let (ok, report) = promtool_check_metrics(&out);
        if accept == OPENMETRICS {
            assert!(only_openmetrics_counter_names(&out, &report), "promtool check metrics on {accept}:\n{report}");
        } else {
            assert!(ok, "promtool check metrics on {accept}:\n{report}");
        }
    }

    // Prometheus' own parser, once per format: it scrapes the exporter (OpenMetrics, which it
    // prefers) and the text-only proxy, and the label values come back exactly.
    let (_, headers, _) = http_get(&exporter.addr, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)]).await.expect("scrape");
    assert!(
        headers.iter().any(|(k, v)| k == "content-type" && v.starts_with("application/openmetrics-text")),
        "{headers:?}"
    );
    let proxy = format!("127.0.0.1:{}", free_port());
    serve_text_only(proxy.clone(), exporter.addr.clone()).await;
    let tmp = TempDir::new();
    let config = tmp.0.join("prometheus.yml");
    let job = |name: &str, target: &str| {
        format!("  - job_name: {name}\n    static_configs:\n      - targets: ['{target}']\n")
    };
    let yaml = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}",
        job("openmetrics", &exporter.addr),
        job("text", &proxy)
    );
    fs::write(&config, yaml).expect("prometheus.yml");
    let (mut prometheus, prom) = Proc::prometheus(&tmp.0, &config);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        prometheus.assert_running();
        let targets = crate::common::api(&prom, "/api/v1/targets").await.unwrap_or_default();
        let active = targets["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
        if active.len() == 2 && active.iter().all(|t| t["health"] == "up") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus did not scrape both targets:\n{targets:#}\n{}",
            prometheus.tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    for job in ["openmetrics", "text"] {
        let workload = format!(r#"crashloop_pod_workload_info{{job="{job}",namespace="{NS}",pod="owned-0"}}"#);
        let series = wait_for(&format!("the {job} job's series in Prometheus"), Duration::from_secs(60), || {
            prometheus.assert_running();
            let (prom, q) = (prom.clone(), workload.clone());
            async move { query(&prom, &q, None).await.ok().filter(|r| r.len() == 1) }
        })
        .await;
        assert_eq!(series[0]["metric"]["workload"], OWNER, "{job}: {series:?}");

        let missing = query(&prom, &format!(r#"crashloop_pod_missing_object{{job="{job}",namespace="{NS}"}}"#), None)
            .await
            .expect("query");
        assert!(missing.is_empty(), "{job}: names no object can have became labels: {missing:?}");

        // PromQL escapes strings as the exposition does: the escaped value selects the series.
        let exact = format!(r#"crashloop_pod_workload_info{{job="{job}",workload="we\"ird\\name\nü"}}"#);
        assert_eq!(query(&prom, &exact, None).await.expect("query").len(), 1, "{exact}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_messages_give_the_right_series() {
    const KIB: usize = 1024;
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, HUGE_NS).await.expect("namespace");
    let pod = testbed::create_pod(
        &client,
        HUGE_NS,
        &testbed::pod(HUGE_NS, "huge-0", vec![testbed::container("app", "registry.example/app:1")]),
    )
    .await
    .expect("create huge-0");

    // CrashLoopBackOff with a 512 KiB waiting message and a 256 KiB termination message.
    let mut status = testbed::crashloop_status(
        &pod,
        "app",
        3,
        "40s",
        &Terminated::new("Error", 1, testbed::ago(60), testbed::ago(30)),
    );
    let waiting = status["state"]["waiting"]["message"].as_str().expect("the kubelet's message").to_string();
    status["state"]["waiting"]["message"] = Value::from(format!("{waiting} {}", "w".repeat(512 * KIB)));
    status["lastState"]["terminated"]["message"] = Value::from("t".repeat(256 * KIB));
    testbed::patch_status(&client, HUGE_NS, "huge-0", &testbed::pod_status(&pod, "Running", vec![status]))
        .await
        .expect("huge status");

    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", HUGE_NS]).await;
    let labels = r#"namespace="it-huge-input",pod="huge-0",container="app",container_type="regular""#;
    let delay = format!(r#"crashloop_container_backoff_delay_seconds{{{labels},source="kubelet"}} 40"#);
    // Once the Events' first list is done, new Events count (the list itself is the baseline).
    let listed = r#"crashloop_exporter_watch_events_total{resource="events",type="init_done"} 1"#;
    exporter
        .metrics_until("the delay from the 512 KiB message", |o| {
            o.lines().any(|l| l.starts_with(&delay)) && o.contains(listed)
        })
        .await;

    // Two 1 MiB Event messages: a back-off, and a missing ConfigMap with a 1 MiB name, which
    // no object can have: counted as left out, no label.
    let backoff =
        format!("Back-off restarting failed container app in pod huge-0_{HUGE_NS}(uid) {}", "b".repeat(1024 * KIB));
    testbed::post_event(&client, HUGE_NS, &EventSpec::for_pod(&pod, true, "BackOff", &backoff).container("app"))
        .await
        .expect("post 1 MiB BackOff");
    let name = "c".repeat(1024 * KIB);
    let mount = format!("MountVolume.SetUp failed for volume \"cfg\" : configmap \"{name}\" not found");
    testbed::post_event(&client, HUGE_NS, &EventSpec::for_pod(&pod, true, "FailedMount", &mount))
        .await
        .expect("post 1 MiB FailedMount");

    let backoffs = format!("crashloop_container_backoff_events_total{{{labels}}} 1");
    let ignored = r#"crashloop_exporter_events_ignored_total{reason="invalid_name"} 1"#;
    let out = exporter
        .metrics_until("the series of the 1 MiB Events", |o| {
            o.lines().any(|l| l == backoffs) && o.lines().any(|l| l == ignored)
        })
        .await;
    assert_eq!(crate::common::samples(&out, "crashloop_pod_missing_object"), Vec::<&str>::new());
    let (ok, report) = promtool_check_metrics(&out);
    assert!(ok, "promtool check metrics:\n{report}");
    assert!(out.len() < 64 * KIB, "the exposition is {} bytes", out.len());
}

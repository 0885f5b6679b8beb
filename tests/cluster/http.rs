//! The HTTP server under hostile clients, against the real exporter binary on a real
//! kube-apiserver: a slowloris flood, oversized headers, concurrent scrapes, idle and
//! trickling connections, a reader that never reads. Timings are reported on stderr; only
//! the server's own limits (10 s, 30 s) are asserted, with a margin.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{EXPORTER, Exporter, http_get, pod_lines, report, running_pod};
use crashloop_testbed::{self as testbed, Terminated};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The inodes of the sockets process `pid` holds: its listener, its API connections and its
/// clients.
fn socket_inodes(pid: u32) -> BTreeSet<String> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the exporter's /proc fd dir");
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| Some(target.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_string()))
        .collect()
}

/// How many sockets the exporter process holds.
fn open_sockets(pid: u32) -> usize {
    socket_inodes(pid).len()
}

/// Whether process `pid` holds a TCP connection (IPv4) whose peer is local port `port`.
fn holds_connection_from(pid: u32, port: u16) -> bool {
    let inodes = socket_inodes(pid);
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let peer = format!(":{port:04X}");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(2).is_some_and(|remote| remote.ends_with(&peer))
            && fields.get(9).is_some_and(|i| inodes.contains(*i))
    })
}

/// One slowloris client: opens a connection, sends a request line, then one header byte
/// every 100 ms, forever; when the server closes it, opens another after a second.
async fn slowloris(addr: String, stop: Arc<AtomicBool>, closed: Arc<AtomicUsize>) {
    let trickle = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut stream) = TcpStream::connect(&addr).await {
            let mut alive = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: flood\r\n").await.is_ok();
            let mut i = 0;
            while alive && !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                alive = stream.write_all(&trickle[i % trickle.len()..][..1]).await.is_ok();
                let mut probe = [0u8; 512];
                if let Ok(read) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
                    alive &= matches!(read, Ok(n) if n > 0);
                }
                i += 1;
            }
            if !stop.load(Ordering::Relaxed) {
                closed.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_flood_neither_locks_out_scrapes_nor_stops_the_watch() {
    const NS: &str = "it-http-flood";
    const MAX: usize = 32;
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    let pod = running_pod(NS, "fl00d").await;
    let max = MAX.to_string();
    let exporter =
        Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS, "--web.max-connections", &max])
            .await;
    exporter.metrics_until("the pod", |out| !pod_lines(out, "app-6c8f7d9b5-fl00d").is_empty()).await;
    let idle_sockets = open_sockets(exporter.pid());
    let mut quiet = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        exporter.metrics().await;
        quiet.push(started.elapsed());
    }
    quiet.sort();

    let stop = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicUsize::new(0));
    let flood: Vec<_> =
        (0..200).map(|_| tokio::spawn(slowloris(exporter.addr.clone(), stop.clone(), closed.clone()))).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Scrapes get through, each on a new connection.
    let mut latencies = Vec::new();
    let mut sockets = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let (status, body) = exporter.get("/metrics", &[]).await.expect("a scrape during the flood");
        latencies.push(started.elapsed());
        assert_eq!(status, 200);
        let body = String::from_utf8(body).expect("utf-8");
        assert!(
            body.contains(r#"crashloop_container_restarts_total{namespace="it-http-flood",pod="app-6c8f7d9b5-fl00d",container="main",container_type="regular"} 0"#),
            "{body}"
        );
        sockets.push(open_sockets(exporter.pid()));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The watch goes on: the pod crash-loops during the flood, and the scrape shows it.
    let last = Terminated::new("Error", 1, testbed::ago(20), testbed::ago(10));
    let status = testbed::pod_status(&pod, "Running", vec![testbed::crashloop_status(&pod, "main", 3, "40s", &last)]);
    testbed::patch_status(&client, NS, "app-6c8f7d9b5-fl00d", &status).await.expect("crash-loop status");
    let changed = Instant::now();
    exporter
        .metrics_until("the crash loop during the flood", |out| {
            out.contains(r#"crashloop_container_restarts_total{namespace="it-http-flood",pod="app-6c8f7d9b5-fl00d",container="main",container_type="regular"} 3"#)
        })
        .await;
    let seen_after = changed.elapsed();
    sockets.push(open_sockets(exporter.pid()));
    sockets.sort();
    let (typical_sockets, most_sockets) = (sockets[sockets.len() / 2], sockets[sockets.len() - 1]);

    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.abort();
    }
    // The listener and the API connections come on top of the clients' sockets.
    // A new connection that evicts a slow one is served only once that one's socket has
    // closed, so at most the one just accepted is over the limit; one more for an API
    // connection the client may open meanwhile. (Before the wait, 10 over were seen.)
    assert!(
        typical_sockets <= MAX + idle_sockets && most_sockets <= MAX + idle_sockets + 2,
        "the exporter held {typical_sockets} sockets (median of {}; at most {most_sockets}) with 200 slow clients (limit {MAX}, {idle_sockets} when idle)",
        sockets.len()
    );
    latencies.sort();
    report(&format!(
        "http: 200 slowloris clients, --web.max-connections {MAX}: scrape latency min {:?} median {:?} max {:?} (without them: median {:?}); \
         exporter sockets at most {most_sockets} ({idle_sockets} idle); slow connections closed by the server: {}; \
         pod change seen after {seen_after:?}",
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        quiet[quiet.len() / 2],
        closed.load(Ordering::Relaxed),
    ));
}

/// Sends raw request bytes and reads until the server closes: the status, or None when the
/// connection ended without a response.
async fn raw_status(addr: &str, request: Vec<u8>) -> Option<u16> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&request).await;
        write
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), read.read_to_end(&mut response)).await;
    drop(writer.await);
    let head = String::from_utf8_lossy(&response);
    head.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_get_431_and_the_exporter_keeps_serving() {
    const NS: &str = "it-http-headers";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    running_pod(NS, "h3adr").await;
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;

    // The limit is 64 KiB of headers, by bytes: ten headers of 6 KiB (60 KiB) are served,
    // eleven of 6.5 KiB (71.5 KiB, far below the count limit of 100 headers) are not. The
    // server answers 431 and closes while the client may still be sending, which can reset
    // the connection before the client reads the 431: of three tries, one 431 is enough, and
    // no other answer is allowed.
    let headers = |n: usize, size: usize| {
        let mut request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
        for i in 0..n {
            request.extend(format!("X-Pad-{i}: ").as_bytes());
            request.extend(std::iter::repeat_n(b'p', size));
            request.extend(b"\r\n");
        }
        request.extend(b"\r\n");
        request
    };
    assert_eq!(raw_status(&exporter.addr, headers(10, 6 * 1024)).await, Some(200), "60 KiB of headers");
    let mut over = Vec::new();
    for _ in 0..3 {
        over.push(raw_status(&exporter.addr, headers(11, 6656)).await);
    }
    assert!(
        over.contains(&Some(431)) && over.iter().all(|s| matches!(s, Some(431) | None)),
        "71.5 KiB of headers: {over:?}"
    );
    // One header of 100 KiB.
    let mut big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 100 * 1024));
    big.extend(b"\r\n\r\n");
    let status = raw_status(&exporter.addr, big).await;
    assert!(matches!(status, Some(431) | None), "a 100 KiB header got {status:?}");
    report(&format!("http: 71.5 KiB of headers: {over:?}; a 100 KiB header: {status:?}"));

    // 200 small headers: more than the server takes.
    let mut many = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
    for i in 0..200 {
        many.extend(format!("X-Header-{i}: v\r\n").as_bytes());
    }
    many.extend(b"\r\n");
    assert_eq!(raw_status(&exporter.addr, many).await, Some(431));

    // Only GET and HEAD.
    for method in ["POST", "PUT", "DELETE"] {
        let request =
            format!("{method} /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(raw_status(&exporter.addr, request.into_bytes()).await, Some(405), "{method}");
    }

    // A header within bounds is served.
    let (status, _) = exporter.get("/metrics", &[("X-Padding", &"b".repeat(8 * 1024))]).await.expect("scrape");
    assert_eq!(status, 200);
    let out = exporter.metrics().await;
    assert!(!pod_lines(&out, "app-6c8f7d9b5-h3adr").is_empty(), "{out}");
}

/// Every series of an exposition: the sample lines without their values.
fn series(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_scrapes_see_the_same_series() {
    const NS: &str = "it-http-concurrent";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    for suffix in ["c0nc1", "c0nc2", "c0nc3"] {
        running_pod(NS, suffix).await;
    }
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;
    let first = exporter
        .metrics_until("three pods", |out| {
            ["c0nc1", "c0nc2", "c0nc3"].iter().all(|s| !pod_lines(out, &format!("app-6c8f7d9b5-{s}")).is_empty())
        })
        .await;
    let expected = series(&first);

    let started = Instant::now();
    let scrapes: Vec<_> = (0..20)
        .map(|_| {
            let addr = exporter.addr.clone();
            tokio::spawn(async move { http_get(&addr, "/metrics", &[]).await })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for scrape in scrapes {
        let (status, _, body) = scrape.await.expect("scrape task").expect("scrape");
        slowest = slowest.max(started.elapsed());
        assert_eq!(status, 200);
        let got = series(&String::from_utf8(body).expect("utf-8"));
        let differ: Vec<_> = got.symmetric_difference(&expected).collect();
        assert!(differ.is_empty(), "a concurrent scrape saw other series: {differ:#?}");
    }
    report(&format!("http: 20 concurrent scrapes of {} series all done after {slowest:?}", expected.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_closed() {
    const NS: &str = "it-http-idle";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;

    // Kept alive after one request, then silent.
    let idle = {
        let addr = exporter.addr.clone();
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("request");
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"ok\n") {
                let n = stream.read(&mut buf).await.expect("response");
                assert!(n > 0, "closed before the response: {}", String::from_utf8_lossy(&got));
                got.extend(&buf[..n]);
            }
            assert!(got.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
            let since = Instant::now();
            let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await;
            assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "the idle connection was not closed: {n:?}");
            since.elapsed()
        })
    };
    // Headers one byte every 200 ms, never finished.
    let trickling = {
        let addr = exporter.addr.clone();
        tokio::spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            let since = Instant::now();
            stream.write_all(b"GET /metrics HTTP/1.1\r\n").await.expect("request line");
            for byte in b"X-Slow: ".iter().cycle() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                let mut buf = [0u8; 256];
                if let Ok(n) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
                    && !matches!(n, Ok(n) if n > 0)
                {
                    break;
                }
                assert!(since.elapsed() < Duration::from_secs(30), "the trickling connection was not closed");
            }
            since.elapsed()
        })
    };
    let idle = idle.await.expect("idle client");
    let trickling = trickling.await.expect("trickling client");
    report(&format!(
        "http: an idle kept-alive connection was closed after {idle:?}, a trickling one after {trickling:?}"
    ));
    // Both by the 10 s header timeout, not by the 30 s request timeout.
    let ten = Duration::from_secs(9)..Duration::from_secs(14);
    assert!(ten.contains(&idle), "the idle kept-alive connection was closed after {idle:?}, not 10 s");
    assert!(ten.contains(&trickling), "the trickling connection was closed after {trickling:?}, not 10 s");
    assert!(exporter.get("/healthz", &[]).await.is_ok_and(|(s, _)| s == 200));
}

/// SIGTERM and SIGINT stop the exporter cleanly: exit status 0 within the 5 s it gives open
/// requests, and its port closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_it_cleanly() {
    const NS: &str = "it-http-signals";
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");
    for signal in ["TERM", "INT"] {
        let mut exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;
        assert!(exporter.get("/healthz", &[]).await.is_ok_and(|(s, _)| s == 200));
        let kill = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(exporter.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(kill.success());
        let status = exporter.exited_within(Duration::from_secs(10)).await;
        assert!(status.is_some_and(|s| s.success()), "SIG{signal}: {status:?}");
        assert!(TcpStream::connect(&exporter.addr).await.is_err(), "SIG{signal}: the port is still open");
    }
}

/// A client that reads its answer too slowly is let go 30 s after its request began: it
/// holds none of the exporter's connections longer, however little it reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_let_go_after_30_s() {
    const NS: &str = "it-http-slow";
    const PODS: usize = 200;
    const CONTAINERS: usize = 10;
    let cluster = testbed::shared().expect("testbed cluster (run .ci/install)");
    let client = cluster.client().await.expect("client");
    testbed::ensure_namespace(&client, NS).await.expect("namespace");
    // Enough containers that the answer (about 7 MB) outgrows what the kernel buffers for a
    // connection (net.ipv4.tcp_wmem's 4 MiB at most), so the server must wait for the
    // reader; each restarted once, so every family has its series.
    let names: Vec<String> = (0..CONTAINERS).map(|c| format!("app{c}")).collect();
    let manifests: Vec<serde_json::Value> = (0..PODS)
        .map(|i| {
            let containers = names.iter().map(|c| testbed::container(c, "img:1")).collect();
            testbed::deployment_pod(NS, "slow", "5d4f8c7b9", &format!("s{i:04}"), containers)
        })
        .collect();
    cluster.create_objects(NS, &manifests).expect("pods");
    let last = Terminated::new("Error", 1, testbed::ago(120), testbed::ago(60));
    let created = kube::Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .expect("the pods");
    futures::StreamExt::for_each_concurrent(futures::stream::iter(&created.items), 8, |pod| {
        let statuses = names.iter().map(|c| testbed::crashloop_status(pod, c, 1, "10s", &last)).collect();
        let status = testbed::pod_status(pod, "Running", statuses);
        let (client, name) = (client.clone(), pod.metadata.name.clone().unwrap_or_default());
        async move {
            testbed::patch_status(&client, NS, &name, &status).await.expect("status");
        }
    })
    .await;
    let exporter = Exporter::start(EXPORTER, &cluster.kubeconfig_path(), &["--namespace", NS]).await;
    let body = loop {
        let (_, body) = exporter.get("/metrics", &[]).await.expect("scrape");
        let body = String::from_utf8_lossy(&body).into_owned();
        if body.matches("crashloop_container_restarts_total{").count() == PODS * CONTAINERS {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    // A client that asks and never reads: the server can write only what the sockets'
    // buffers take, then must wait.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("a small receive buffer");
    let stream = socket.connect(exporter.addr.parse().expect("an address")).await.expect("connect");
    let port = stream.local_addr().expect("the client's port").port();
    let mut stream = stream;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("request");
    let since = Instant::now();
    while !holds_connection_from(exporter.pid(), port) {
        assert!(since.elapsed() < Duration::from_secs(5), "the exporter did not take the connection");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // What the exporter holds is what counts: once it lets go, the kernel may still hold the
    // unread answer for the client.
    while holds_connection_from(exporter.pid(), port) {
        assert!(since.elapsed() < Duration::from_secs(45), "the exporter still holds the slow reader's connection");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let cut = since.elapsed();
    report(&format!("http: a reader that never reads was let go after {cut:?} (a {} byte answer)", body.len()));
    let thirty = Duration::from_secs(29)..Duration::from_secs(34);
    assert!(thirty.contains(&cut), "the slow reader was let go after {cut:?}, not 30 s");
    drop(stream);
    assert!(exporter.get("/healthz", &[]).await.is_ok_and(|(s, _)| s == 200));
}

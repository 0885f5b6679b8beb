//! `--web.config.file` with real TLS clients: the exporter binary on a real kube-apiserver,
//! certificates made by `openssl`, requests by `curl`, and a real Prometheus scraping over
//! TLS with basic auth. Timings are reported on stderr, never asserted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    EXPORTER, Exporter, Proc, TempDir, api, free_port, http_get, query, report, running_pod, wait_for,
};
use crashloop_testbed as testbed;
use crashloop_testbed::measure::median;
use crashloop_testbed::pki;

const USER: &str = "prometheus";
const PASSWORD: &str = "correct horse battery staple";

/// A CA `<ca>.pem`/`<ca>.key` in `dir`.
fn make_ca(dir: &Path, ca: &str) {
    let extensions = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];
    pki::ca(dir, ca, &format!("/CN={ca}"), &extensions).expect("a CA (openssl: .ci/install)");
}

/// A leaf `<name>.pem`/`<name>.key` signed by `<ca>`, for `usage` (serverAuth or clientAuth).
fn make_leaf(dir: &Path, ca: &str, name: &str, usage: &str) {
    let usage = format!("extendedKeyUsage={usage}");
    #[rustfmt::skip]
    let extensions = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", &usage,
                      "subjectAltName=IP:127.0.0.1,DNS:localhost"];
    pki::issue(dir, ca, name, &format!("/CN={name}"), &extensions).expect("a certificate (openssl: .ci/install)");
}

/// A CA, a server certificate for 127.0.0.1, a client certificate of the same CA, and one
/// of another CA.
fn make_pki(dir: &Path) {
    make_ca(dir, "ca");
    make_leaf(dir, "ca", "server", "serverAuth");
    make_leaf(dir, "ca", "client", "clientAuth");
    make_ca(dir, "other-ca");
    make_leaf(dir, "other-ca", "stranger", "clientAuth");
}

/// What curl got: its exit code, the HTTP status (0 when none), the headers and the body.
struct Curl {
    exit: i32,
    status: u16,
    headers: String,
    body: String,
    seconds: f64,
    /// What `-v` wrote: the TLS handshake's outcome among it.
    verbose: String,
}

fn curl(dir: &Path, url: &str, extra: &[&str]) -> Curl {
    let (headers, body) = (dir.join("curl-headers"), dir.join("curl-body"));
    let _ = fs::remove_file(&headers);
    let _ = fs::remove_file(&body);
    let out = Command::new("curl")
        .args(["-sSv", "--max-time", "10", "-w", "%{http_code} %{time_total}", "-D"])
        .arg(&headers)
        .arg("-o")
        .arg(&body)
        .args(extra)
        .arg(url)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("curl runs (.ci/install)");
    let written = String::from_utf8_lossy(&out.stdout).to_string();
    let mut fields = written.split_whitespace();
    let status = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let seconds = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    Curl {
        exit: out.status.code().unwrap_or(-1),
        status,
        headers: fs::read_to_string(&headers).unwrap_or_default().to_ascii_lowercase(),
        body: fs::read_to_string(&body).unwrap_or_default(),
        seconds,
        verbose: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash(password, 10).expect("bcrypt hash")
}

/// Starts the exporter with `--web.config.file config` and waits until `ready` holds.
async fn start_with_config(
    cluster: &testbed::Cluster,
    ns: &str,
    config: &Path,
    ready: impl Fn(&str) -> bool,
) -> Exporter {
    let config = config.to_string_lossy().to_string();
    let exporter = Exporter::spawn(
        EXPORTER,
        &cluster.kubeconfig_path(),
        &["--namespace", ns, "--web.config.file", &config],
        Stdio::inherit(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready(&exporter.addr) {
        assert!(Instant::now() < deadline, "the exporter did not become ready within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    exporter
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_with_curl() {
    const NS: &str = "it-web-curl";
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    make_pki(&dir);
    // Relative paths: the file's own directory anchors them.
    fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS12\n\
             http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n\
             basic_auth_users:\n  {USER}: '{}'\n",
            bcrypt_hash(PASSWORD)
        ),
    )
    .expect("web.yml");
    running_pod(NS, "cur1s").await;
    let cluster = testbed::shared().expect("testbed cluster");
    let auth = format!("{USER}:{PASSWORD}");
    let exporter = start_with_config(cluster, NS, &dir.join("web.yml"), |addr| {
        curl(&dir, &format!("https://{addr}/readyz"), &["--cacert", "ca.pem", "-u", &auth]).status == 200
    })
    .await;
    let url = |path: &str| format!("https://{}{path}", exporter.addr);

    // The right user: metrics, with the configured header.
    let ok = curl(&dir, &url("/metrics"), &["--cacert", "ca.pem", "-u", &auth]);
    assert_eq!((ok.exit, ok.status), (0, 200), "{}", ok.body);
    assert!(
        ok.body.contains(r#"crashloop_container_restarts_total{namespace="it-web-curl",pod="app-6c8f7d9b5-cur1s",container="main",container_type="regular"} 0"#),
        "{}",
        ok.body
    );
    assert!(ok.headers.contains("x-content-type-options: nosniff"), "{}", ok.headers);

    // A wrong password, an unknown user, no credentials: 401 with the Basic challenge, on every path.
    for (path, credentials) in [
        ("/metrics", Some(format!("{USER}:wrong"))),
        ("/metrics", Some(format!("nobody:{PASSWORD}"))),
        ("/healthz", None),
        ("/", None),
    ] {
        let mut args = vec!["--cacert", "ca.pem"];
        if let Some(c) = &credentials {
            args.extend(["-u", c.as_str()]);
        }
        let denied = curl(&dir, &url(path), &args);
        assert_eq!(denied.status, 401, "{path} with {credentials:?}");
        assert!(denied.headers.contains("www-authenticate: basic"), "{}", denied.headers);
        assert!(!denied.body.contains("crashloop_"), "{}", denied.body);
    }

    // Certificate checks: an unknown CA is refused by curl (exit 60: the peer's certificate
    // failed verification); plain HTTP gets no HTTP answer (1: the TLS alert, which is no
    // HTTP; 52: an empty reply; 56: a reset).
    // Exact codes, so a server that hangs (curl's timeout, 28) fails.
    let untrusted = curl(&dir, &url("/metrics"), &["-u", &auth]);
    assert_eq!((untrusted.exit, untrusted.status), (60, 0), "a server certificate of an unknown CA");
    let plain = curl(&dir, &format!("http://{}/metrics", exporter.addr), &["-u", &auth]);
    assert!(
        matches!((plain.exit, plain.status), (1 | 52 | 56, 0)),
        "plain HTTP: exit {}: {}",
        plain.exit,
        plain.verbose
    );
    assert!(http_get(&exporter.addr, "/metrics", &[]).await.is_err(), "plain HTTP got a response");
    // TLS 1.2 and 1.3 both work.
    for version in ["--tlsv1.2", "--tlsv1.3"] {
        let max = version.replace("--tlsv", "--tls-max ");
        let args: Vec<&str> =
            [&["--cacert", "ca.pem", "-u", &auth, version][..], max.split(' ').collect::<Vec<_>>().as_slice()].concat();
        assert_eq!(curl(&dir, &url("/healthz"), &args).status, 200, "{version}");
    }

    // The password is checked with bcrypt once, then remembered.
    let times: Vec<f64> =
        (0..10).map(|_| curl(&dir, &url("/healthz"), &["--cacert", "ca.pem", "-u", &auth]).seconds).collect();
    let wrong: Vec<f64> = (0..3)
        .map(|_| curl(&dir, &url("/healthz"), &["--cacert", "ca.pem", "-u", &format!("{USER}:wrong")]).seconds)
        .collect();
    // A rotated certificate is served from the next handshake on: here, one of another CA.
    make_leaf(&dir, "other-ca", "rotated", "serverAuth");
    fs::copy(dir.join("rotated.key"), dir.join("server.key")).expect("rotate key");
    fs::copy(dir.join("rotated.pem"), dir.join("server.pem")).expect("rotate cert");
    let rotated = curl(&dir, &url("/healthz"), &["--cacert", "other-ca.pem", "-u", &auth]);
    assert_eq!(rotated.status, 200, "the rotated certificate is not served (curl exit {})", rotated.exit);
    assert_eq!(
        curl(&dir, &url("/healthz"), &["--cacert", "ca.pem", "-u", &auth]).status,
        0,
        "the old certificate is still served"
    );

    report(&format!(
        "webconfig: curl over TLS with basic auth (bcrypt cost 10): remembered password {:.1} ms median, wrong password (bcrypt every time) {:.1} ms median",
        median(times) * 1000.0,
        median(wrong) * 1000.0
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_and_verified() {
    const NS: &str = "it-web-mtls";
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    make_pki(&dir);
    fs::write(
        dir.join("web.yml"),
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
    )
    .expect("web.yml");
    running_pod(NS, "mt1s0").await;
    let cluster = testbed::shared().expect("testbed cluster");
    let with_cert = ["--cacert", "ca.pem", "--cert", "client.pem", "--key", "client.key"];
    let exporter = start_with_config(cluster, NS, &dir.join("web.yml"), |addr| {
        curl(&dir, &format!("https://{addr}/readyz"), &with_cert).status == 200
    })
    .await;
    let url = format!("https://{}/metrics", exporter.addr);

    let ok = curl(&dir, &url, &with_cert);
    assert_eq!((ok.exit, ok.status), (0, 200));
    assert!(ok.body.contains(r#"pod="app-6c8f7d9b5-mt1s0""#), "{}", ok.body);
    // Refused in the handshake: curl sees the server's alert in it (35), or while sending
    // (55) or receiving (56) under TLS 1.3; never its timeout (28).
    let refused = |c: &Curl| matches!((c.exit, c.status), (35 | 55 | 56, 0));
    let without = curl(&dir, &url, &["--cacert", "ca.pem"]);
    assert!(refused(&without), "a client without a certificate: exit {}, status {}", without.exit, without.status);
    let stranger = curl(&dir, &url, &["--cacert", "ca.pem", "--cert", "stranger.pem", "--key", "stranger.key"]);
    assert!(refused(&stranger), "a certificate of another CA: exit {}, status {}", stranger.exit, stranger.status);
    // The refusals did not disturb the server.
    assert_eq!(curl(&dir, &url, &with_cert).status, 200);
}

/// The TLS version, suite and key exchange curl negotiated (`-v`'s "SSL connection using"
/// line, e.g. `TLSv1.2 / ECDHE-ECDSA-AES256-GCM-SHA384`), or curl's exit code when the
/// handshake failed.
fn negotiated(dir: &Path, url: &str, extra: &[&str]) -> Result<String, i32> {
    let answer = curl(dir, url, &[&["--cacert", "ca.pem"][..], extra].concat());
    match answer.verbose.lines().find_map(|l| l.strip_prefix("* SSL connection using ")) {
        Some(line) if answer.exit == 0 => Ok(line.trim().to_string()),
        _ => Err(answer.exit),
    }
}

/// min_version, max_version, cipher_suites, prefer_server_cipher_suites and
/// curve_preferences as a client sees them: what is left out is refused in the handshake,
/// and the server's order wins only when asked to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_versions_suites_and_curves_are_the_configs() {
    const NS: &str = "it-web-tls";
    // curl's exit code for a handshake the server refused.
    const HANDSHAKE_FAILED: i32 = 35;
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    make_pki(&dir);
    running_pod(NS, "tls0v").await;
    let cluster = testbed::shared().expect("testbed cluster");
    let start = |name: &str, settings: &str| {
        let path = dir.join(name);
        fs::write(&path, format!("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n{settings}"))
            .expect("web config");
        let dir = dir.clone();
        async move {
            start_with_config(cluster, NS, &path, |addr| {
                curl(&dir, &format!("https://{addr}/readyz"), &["--cacert", "ca.pem"]).status == 200
            })
            .await
        }
    };
    let (aes128, aes256) = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384");
    let tls12 = ["--tlsv1.2", "--tls-max", "1.2"];

    // TLS 1.3 only: a TLS 1.2 client is refused.
    let exporter = start("tls13.yml", "  min_version: TLS13\n").await;
    let url = format!("https://{}/healthz", exporter.addr);
    assert_eq!(negotiated(&dir, &url, &tls12), Err(HANDSHAKE_FAILED), "a TLS 1.2 client under min_version TLS13");
    let tls13 = negotiated(&dir, &url, &["--tlsv1.3"]).expect("a TLS 1.3 client");
    assert!(tls13.starts_with("TLSv1.3 / "), "{tls13}");
    drop(exporter);

    // TLS 1.2 only, two suites in the server's order, one curve.
    let settings = "  max_version: TLS12\n  prefer_server_cipher_suites: true\n  curve_preferences: [CurveP256]\n\
                    \x20 cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n";
    let exporter = start("tls12.yml", settings).await;
    let url = format!("https://{}/healthz", exporter.addr);
    let both = format!("{aes128}:{aes256}");
    assert_eq!(negotiated(&dir, &url, &["--ciphers", &both]), Ok(format!("TLSv1.2 / {aes256}")), "the server's order");
    assert_eq!(negotiated(&dir, &url, &["--ciphers", aes128]), Ok(format!("TLSv1.2 / {aes128}")));
    #[rustfmt::skip]
    let refused = [
        (&["--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305"][..], "a suite left out of cipher_suites"),
        (&["--curves", "X25519"][..], "a curve left out of curve_preferences"),
        (&["--tlsv1.3"][..], "TLS 1.3 above max_version"),
    ];
    for (args, what) in refused {
        assert_eq!(negotiated(&dir, &url, args), Err(HANDSHAKE_FAILED), "{what}");
    }
    assert_eq!(negotiated(&dir, &url, &["--curves", "P-256"]), Ok(format!("TLSv1.2 / {aes256}")));
    drop(exporter);

    // The client's order when the server is told not to prefer its own.
    let settings = settings.replace("prefer_server_cipher_suites: true", "prefer_server_cipher_suites: false");
    let exporter = start("tls12-client-order.yml", &settings).await;
    let url = format!("https://{}/healthz", exporter.addr);
    assert_eq!(negotiated(&dir, &url, &["--ciphers", &both]), Ok(format!("TLSv1.2 / {aes128}")), "the client's order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_over_tls_with_basic_auth() {
    const NS: &str = "it-web-prometheus";
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    make_pki(&dir);
    fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  {USER}: '{}'\n",
            bcrypt_hash(PASSWORD)
        ),
    )
    .expect("web.yml");
    running_pod(NS, "pr0m1").await;
    let cluster = testbed::shared().expect("testbed cluster");
    let auth = format!("{USER}:{PASSWORD}");
    let exporter = start_with_config(cluster, NS, &dir.join("web.yml"), |addr| {
        curl(&dir, &format!("https://{addr}/readyz"), &["--cacert", "ca.pem", "-u", &auth]).status == 200
    })
    .await;

    // Three jobs on the same target: the right credentials, a wrong password, plain HTTP.
    let ca = dir.join("ca.pem");
    let job = |name: &str, scheme: &str, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: {scheme}\n    tls_config:\n      ca_file: {}\n    basic_auth:\n      username: {USER}\n      password: '{password}'\n    static_configs:\n      - targets: ['{}']\n",
            ca.display(),
            exporter.addr
        )
    };
    let config = dir.join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
            job("tls-auth", "https", PASSWORD),
            job("tls-wrong-password", "https", "wrong"),
            job("plain-http", "http", PASSWORD)
        ),
    )
    .expect("prometheus.yml");
    let (mut prometheus, prom_addr) = Proc::prometheus(&dir, &config);
    let started = Instant::now();
    let up = wait_for("`up` of all three jobs", Duration::from_secs(60), || {
        prometheus.assert_running();
        let prom = prom_addr.clone();
        async move {
            let result = query(&prom, "up", None).await.ok()?;
            let up: Vec<(String, String)> = result
                .iter()
                .map(|s| {
                    (
                        s["metric"]["job"].as_str().unwrap_or("").to_owned(),
                        s["value"][1].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            (up.len() == 3 && up.iter().any(|(job, v)| job == "tls-auth" && v == "1")).then_some(up)
        }
    })
    .await;
    let up: std::collections::BTreeMap<String, String> = up.into_iter().collect();
    assert_eq!(up["tls-auth"], "1");
    assert_eq!(up["tls-wrong-password"], "0");
    assert_eq!(up["plain-http"], "0");
    report(&format!("webconfig: Prometheus up == 1 over TLS with basic auth after {:?}", started.elapsed()));

    // Scraped data arrives, and the wrong password is reported as 401.
    let series = wait_for("the pod's series in Prometheus", Duration::from_secs(30), || {
        let prom = prom_addr.clone();
        async move {
            let q = format!(
                r#"crashloop_container_restarts_total{{job="tls-auth",namespace="{NS}",pod="app-6c8f7d9b5-pr0m1"}}"#
            );
            let r = query(&prom, &q, None).await.ok()?;
            (!r.is_empty()).then_some(r)
        }
    })
    .await;
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["value"][1], "0");
    let targets = api(&prom_addr, "/api/v1/targets").await.expect("targets");
    let errors: Vec<(String, String)> = targets["data"]["activeTargets"]
        .as_array()
        .expect("active targets")
        .iter()
        .map(|t| {
            (t["labels"]["job"].as_str().unwrap_or("").to_owned(), t["lastError"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let wrong = errors.iter().find(|(job, _)| job == "tls-wrong-password").expect("the wrong-password job");
    assert!(wrong.1.contains("401"), "{errors:?}");
    drop(exporter);
}

fn run_with_config(text: &str) -> (i32, String) {
    let tmp = TempDir::new();
    let path: PathBuf = tmp.0.join("web.yml");
    fs::write(&path, text).expect("web.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_crashloop-exporter"))
        .args(["--listen-address", &format!("127.0.0.1:{}", free_port()), "--kubeconfig", "/nonexistent"])
        .arg("--web.config.file")
        .arg(&path)
        .output()
        .expect("the exporter runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn a_bad_web_config_stops_the_exporter_with_what_to_fix() {
    let (code, err) = run_with_config("tls_server_config:\n  cert_file: server.pem\n  keyfile: server.key\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web.yml") && err.contains("unknown field `keyfile`") && err.contains("key_file"), "{err}");
    let (code, err) = run_with_config("tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.pem") && err.contains("No such file"), "{err}");
    let (code, err) = run_with_config("basic_auth_users:\n  prometheus: hunter2\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("basic_auth_users.prometheus: not a bcrypt hash") && err.contains("htpasswd"), "{err}");
    assert!(!err.contains("hunter2"), "the error repeats the secret: {err}");
}

#[tokio::test]
async fn the_example_web_config_loads_and_its_user_is_changeme() {
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    make_pki(&dir);
    fs::create_dir_all(dir.join("tls")).expect("tls dir");
    fs::copy(dir.join("server.pem"), dir.join("tls/tls.crt")).expect("cert");
    fs::copy(dir.join("server.key"), dir.join("tls/tls.key")).expect("key");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/web-config.example.yml");
    fs::copy(&example, dir.join("web.yml")).expect("example");
    let config = match crashloop_exporter::internals::load_web_config(&dir.join("web.yml")) {
        Ok(config) => config,
        Err(e) => panic!("docs/web-config.example.yml does not load: {e}"),
    };
    assert!(config.tls.is_some());
    assert_eq!(config.headers.len(), 2);
    let users = config.users.expect("basic_auth_users");
    use base64::Engine;
    let basic = |s: &str| {
        hyper::header::HeaderValue::from_str(&format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s)))
            .expect("header")
    };
    use crashloop_exporter::internals::AuthCheck;
    assert_eq!(users.check(Some(&basic("prometheus:changeme"))).await, AuthCheck::Allowed);
    assert_eq!(users.check(Some(&basic("prometheus:changeMe"))).await, AuthCheck::Denied);
}

/// Clients sending wrong passwords, as fast as they are answered, each on a kept-alive
/// connection of its own, every password new (so none is answered from the memory of
/// failures): `(answers by status, connections refused)` once `stop` is set.
fn flood(
    addr: String,
    clients: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(std::collections::BTreeMap<u16, u64>, u64)> {
    use base64::Engine as _;
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let mut tasks = Vec::new();
            for client in 0..clients {
                let (addr, stop) = (addr.clone(), stop.clone());
                tasks.push(tokio::spawn(async move {
                    let mut answers = std::collections::BTreeMap::<u16, u64>::new();
                    let mut refused = 0u64;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(mut conn) = tokio::net::TcpStream::connect(&addr).await else {
                            refused += 1;
                            continue;
                        };
                        loop {
                            n += 1;
                            let credentials =
                                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:wrong-{client}-{n}"));
                            let request = format!(
                                "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n\r\n"
                            );
                            if conn.write_all(request.as_bytes()).await.is_err() {
                                refused += 1;
                                break;
                            }
                            // The answers to wrong passwords are small: one read holds one.
                            let mut buf = vec![0u8; 4096];
                            match tokio::time::timeout(Duration::from_secs(15), conn.read(&mut buf)).await {
                                Ok(Ok(read)) if read > 12 => {
                                    let status = std::str::from_utf8(&buf[9..12]).ok().and_then(|s| s.parse().ok());
                                    *answers.entry(status.unwrap_or(0)).or_default() += 1;
                                }
                                _ => {
                                    refused += 1;
                                    break;
                                }
                            }
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    }
                    (answers, refused)
                }));
            }
            let mut total = (std::collections::BTreeMap::<u16, u64>::new(), 0u64);
            for task in tasks {
                if let Ok((answers, refused)) = task.await {
                    for (status, count) in answers {
                        *total.0.entry(status).or_default() += count;
                    }
                    total.1 += refused;
                }
            }
            total
        })
    })
}

/// No number of clients sending wrong passwords keeps out a scraper that has authenticated
/// once: 150 of them on loopback (more than `--web.max-connections`, 64), each password new,
/// while a real client with the right password scrapes 15 times on new connections: every
/// scrape is answered within 2 s. (A first check competes for bcrypt's bounded line and may
/// be told 503, to retry.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_passwords_never_locks_out_a_scraper() {
    const NS: &str = "it-web-flood";
    let tmp = TempDir::new();
    let dir = tmp.0.clone();
    fs::write(
        dir.join("web.yml"),
        format!("basic_auth_users:\n  {USER}: '{}'\n  second: '{}'\n", bcrypt_hash(PASSWORD), bcrypt_hash("later")),
    )
    .expect("web.yml");
    running_pod(NS, "fl00d").await;
    let cluster = testbed::shared().expect("testbed cluster");
    let auth = format!("{USER}:{PASSWORD}");
    let exporter = start_with_config(cluster, NS, &dir.join("web.yml"), |addr| {
        curl(&dir, &format!("http://{addr}/readyz"), &["-u", &auth]).status == 200
    })
    .await;
    // The scraper has authenticated once (as Prometheus has, scraping every 30 s).
    let url = format!("http://{}/metrics", exporter.addr);
    assert_eq!(curl(&dir, &url, &["-u", &auth]).status, 200);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attackers = flood(exporter.addr.clone(), 150, stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut slow = Vec::new();
    let mut seconds = Vec::new();
    for i in 0..15 {
        let (dir, url, auth) = (dir.clone(), url.clone(), auth.clone());
        let scrape = tokio::task::spawn_blocking(move || curl(&dir, &url, &["-u", &auth, "--max-time", "2"]))
            .await
            .expect("curl");
        seconds.push(scrape.seconds);
        if scrape.exit != 0 || scrape.status != 200 || !scrape.body.contains("crashloop_container_restarts_total{") {
            slow.push(format!(
                "scrape {i}: curl exit {}, status {}, {:.2} s",
                scrape.exit, scrape.status, scrape.seconds
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answers, refused) =
        tokio::task::spawn_blocking(move || attackers.join().expect("the flood")).await.expect("join");
    report(&format!(
        "flood of wrong passwords: attackers' answers {answers:?}, their connections closed {refused}; scrapes {seconds:?} s"
    ));
    assert!(slow.is_empty(), "scrapes with the right password failed under the flood: {slow:#?}");
    // The flood was real: hundreds of wrong passwords answered 401 or 503.
    let denied = answers.get(&401).copied().unwrap_or(0) + answers.get(&503).copied().unwrap_or(0);
    assert!(denied >= 100, "the flood was too weak to prove anything: {answers:?}");
    assert_eq!(answers.get(&200), None, "a wrong password was let in: {answers:?}");
    // Once the flood is over nothing of it is left in line: a wrong password is told 401,
    // and a user never checked before gets in.
    let after = curl(&dir, &url, &["-u", &format!("{USER}:still-wrong")]);
    assert_eq!(after.status, 401, "after the flood, a wrong password: {} {}", after.status, after.body);
    let first = curl(&dir, &url, &["-u", "second:later"]);
    assert_eq!(first.status, 200, "after the flood, a first check: {} {}", first.status, first.body);
}

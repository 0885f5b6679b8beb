//! etcd + kube-apiserver as child processes on loopback.

use std::collections::hash_map::RandomState;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::etcd::EtcdClient;
use super::kubelet::client_from_yaml;
use super::pki;
use super::process::{Guardian, block_on, free_ports, is_executable, locate_in_cache, run, spawn_logged, stop};
use super::{Error, Result, io};

/// How long `start()` / `start_apiserver()` wait for `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The same on stored data: the apiserver's informers list every object before it is
/// ready (at 100,000 pods on 2 busy cores, over a minute).
const READY_TIMEOUT_WITH_DATA: Duration = Duration::from_secs(600);

/// Kills the components (by the pid files in the directory) and removes the directory
/// unless told to keep it; run by the cluster's [`Guardian`] if its process dies first.
/// Arguments: the directory, keep|remove.
const STOP_SCRIPT: &str = r#"for f in "$1"/*.pid; do [ -f "$f" ] && kill -KILL "-$(cat "$f")" 2>/dev/null; done
[ "$2" = keep ] || rm -rf "$1""#;

/// A user of the token file: (name, groups).
const USERS: [(&str, &str); 2] = [("admin", "system:masters"), ("limited", "")];

/// A running etcd + kube-apiserver pair, private to its owner, in its own directory.
///
/// Processes are started with `std::process`, so a `Cluster` does not belong to any tokio
/// runtime and can be shared by the tests of a binary (see [`shared`]); create a
/// [`kube::Client`] per test with [`Cluster::client`].
///
/// Dropping it stops both components; its directory is removed unless it was made with
/// [`Cluster::start_in`] or `CRASHLOOP_KEEP_TESTBED` is set. Logs are `etcd.log` and
/// `kube-apiserver.log` in [`Cluster::dir`].
pub struct Cluster {
    dir: PathBuf,
    keep: bool,
    etcd_bin: PathBuf,
    apiserver_bin: PathBuf,
    etcd_port: u16,
    etcd_peer_port: u16,
    api_port: u16,
    /// Tokens of [`USERS`], in the same order.
    tokens: Vec<String>,
    /// Flags added to the apiserver's own ([`Cluster::start_with_apiserver_flags`]).
    extra_apiserver_flags: Vec<String>,
    ready_timeout: Duration,
    etcd: Mutex<Option<Child>>,
    apiserver: Mutex<Option<Child>>,
    guardian: Option<Guardian>,
}

/// One cluster for the whole test binary, started on first use.
///
/// It is never dropped: its processes are killed and its directory removed by a guardian
/// process about a second after the test binary exits. Give each test its own namespace.
pub fn shared() -> Result<&'static Cluster> {
    static SHARED: OnceLock<std::result::Result<Cluster, String>> = OnceLock::new();
    SHARED.get_or_init(|| Cluster::start().map_err(|e| e.to_string())).as_ref().map_err(|e| Error::Shared(e.clone()))
}

impl Cluster {
    /// Starts a cluster in a new directory under the system temp dir and waits until the
    /// apiserver is ready. Blocking (up to about a minute); fine to call from async tests.
    pub fn start() -> Result<Self> {
        Self::start_fresh(&[])
    }

    /// As [`Cluster::start`], with more apiserver flags, e.g. `--watch-cache=false` so that
    /// watches are served by etcd and an etcd compaction answers an old watch with 410 Gone.
    pub fn start_with_apiserver_flags(flags: &[&str]) -> Result<Self> {
        Self::start_fresh(&flags.iter().map(|f| f.to_string()).collect::<Vec<_>>())
    }

    /// As [`Cluster::start`], with etcd's data first copied from `etcd_data` (a data directory
    /// saved by [`Cluster::save_etcd_data`]), so the cluster starts holding what was stored
    /// then. The copy is removed with the cluster; `etcd_data` is left as it is.
    pub fn start_from_etcd_data(etcd_data: &Path) -> Result<Self> {
        Self::start_fresh_from(&[], Some(etcd_data))
    }

    fn start_fresh(extra_apiserver_flags: &[String]) -> Result<Self> {
        Self::start_fresh_from(extra_apiserver_flags, None)
    }

    fn start_fresh_from(extra_apiserver_flags: &[String], etcd_data: Option<&Path>) -> Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let name = format!(
            "crashloop-testbed-{}-{}-{:x}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            nanos.subsec_nanos()
        );
        let keep = std::env::var_os("CRASHLOOP_KEEP_TESTBED").is_some();
        let cluster = Self::launch(std::env::temp_dir().join(name), keep, extra_apiserver_flags, etcd_data)?;
        if keep {
            eprintln!("testbed: keeping {}", cluster.dir.display());
        }
        Ok(cluster)
    }

    /// Starts a cluster in `dir` (created if needed, kept afterwards; etcd data in it is
    /// reused) and waits until the apiserver is ready.
    pub fn start_in(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::launch(dir.into(), true, &[], None)
    }

    fn launch(dir: PathBuf, keep: bool, extra_apiserver_flags: &[String], etcd_data: Option<&Path>) -> Result<Self> {
        let (etcd_bin, apiserver_bin) = locate_binaries()?;
        crate::process::private_dir(&dir)?;
        let dir = dir.canonicalize().map_err(io(format!("resolving {}", dir.display())))?;
        if let Some(data) = etcd_data {
            // etcd keeps its member and data on a restart with other ports (one member).
            if let Err(e) = copy_dir(data, &dir.join("etcd")) {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        }
        let [etcd_port, etcd_peer_port, api_port] = free_ports()?;
        let tokens: Vec<String> = USERS.iter().map(|_| random_hex()).collect();
        // From here on, the guardian or Drop cleans up whatever was started.
        let keep_arg = OsStr::new(if keep { "keep" } else { "remove" });
        let guardian = Guardian::spawn("testbed-guardian", STOP_SCRIPT, &[dir.as_os_str(), keep_arg])?;
        let cluster = Cluster {
            dir,
            keep,
            etcd_bin,
            apiserver_bin,
            etcd_port,
            etcd_peer_port,
            api_port,
            tokens,
            extra_apiserver_flags: extra_apiserver_flags.to_vec(),
            ready_timeout: if etcd_data.is_some() { READY_TIMEOUT_WITH_DATA } else { READY_TIMEOUT },
            etcd: Mutex::new(None),
            apiserver: Mutex::new(None),
            guardian: Some(guardian),
        };
        cluster.write_credentials()?;
        cluster.start_etcd()?;
        cluster.start_apiserver()?;
        let kubeconfig = cluster.kubeconfig_yaml("admin")?;
        write_atomically(&cluster.kubeconfig_path(), &kubeconfig)?;
        Ok(cluster)
    }

    /// The cluster's directory (logs, keys, kubeconfigs, etcd data).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    /// `https://127.0.0.1:<port>`: etcd's client URL. etcd admits only clients with a
    /// certificate of the cluster's etcd CA: the apiserver's, and [`Cluster::etcd_client`].
    pub fn etcd_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.etcd_port)
    }

    /// A client of etcd's JSON gateway with the apiserver's certificate, for what a test or
    /// a benchmark writes or does to etcd directly.
    pub fn etcd_client(&self) -> Result<EtcdClient> {
        let (cert, key) = self.etcd_client_certificate();
        EtcdClient::new(self.etcd_port, &self.etcd_ca(), &cert, &key)
    }

    /// The CA etcd trusts, the one that issued its serving certificate: for a test that
    /// knocks on etcd without a client certificate.
    pub fn etcd_ca(&self) -> PathBuf {
        self.dir.join(pki::pem(ETCD_CA))
    }

    /// The certificate and key etcd admits (the apiserver's), for a client other than
    /// [`Cluster::etcd_client`].
    pub fn etcd_client_certificate(&self) -> (PathBuf, PathBuf) {
        (self.dir.join(pki::pem(APISERVER_ETCD_CLIENT)), self.dir.join(pki::key(APISERVER_ETCD_CLIENT)))
    }

    /// Kubeconfig of user `admin` (group `system:masters`), context `testbed`. It is written
    /// only once the apiserver is ready, so its existence means "ready".
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// Writes (if needed) and returns the kubeconfig of a testbed user: `admin` or `limited`.
    pub fn kubeconfig_for(&self, user: &str) -> Result<PathBuf> {
        if user == "admin" {
            return Ok(self.kubeconfig_path());
        }
        let path = self.dir.join(format!("kubeconfig-{user}"));
        write_atomically(&path, &self.kubeconfig_yaml(user)?)?;
        Ok(path)
    }

    /// The apiserver's address, for a [`Proxy`](super::Proxy) to forward to.
    pub fn api_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.api_port))
    }

    /// Writes and returns a kubeconfig of a testbed user that reaches the apiserver through
    /// `proxy` (a [`Proxy`](super::Proxy) in front of [`Cluster::api_addr`]).
    pub fn kubeconfig_through(&self, user: &str, proxy: std::net::SocketAddr) -> Result<PathBuf> {
        let yaml = self.kubeconfig_yaml(user)?.replace(&self.server_url(), &format!("https://{proxy}"));
        let path = self.dir.join(format!("kubeconfig-{user}-via-{}", proxy.port()));
        write_atomically(&path, &yaml)?;
        Ok(path)
    }

    /// Compacts etcd at its current revision, as the apiserver's periodic compaction does,
    /// and returns that revision: a watch resumed from an older resourceVersion is then
    /// answered with 410 Gone (when the apiserver serves it from etcd, `--watch-cache=false`).
    /// Uses etcd's JSON gateway, so no `etcdctl` is needed.
    pub fn compact_etcd(&self) -> Result<i64> {
        let etcd = self.etcd_client()?;
        // Any key will do: every answer carries the store's current revision.
        let range = etcd.post_json("/v3/kv/range", r#"{"key":"Lw=="}"#)?;
        let revision = range["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse::<i64>().ok())
            .ok_or_else(|| Error::Startup(format!("etcd range answered without a revision: {range}")))?;
        let body = format!(r#"{{"revision":"{revision}","physical":true}}"#);
        etcd.post_json("/v3/kv/compaction", &body)?;
        Ok(revision)
    }

    /// Bearer token of `admin`, a member of `system:masters`.
    pub fn admin_token(&self) -> &str {
        &self.tokens[0]
    }

    /// Bearer token of `limited`, a user in no group: it may do only what RBAC grants it.
    pub fn limited_token(&self) -> &str {
        &self.tokens[1]
    }

    /// A client authenticated as `admin`.
    pub async fn client(&self) -> Result<kube::Client> {
        self.client_for("admin").await
    }

    /// A client authenticated as a testbed user (`admin` or `limited`).
    pub async fn client_for(&self, user: &str) -> Result<kube::Client> {
        client_from_yaml(&self.kubeconfig_yaml(user)?).await
    }

    /// Starts etcd (no-op when it runs) and waits until it accepts connections.
    pub fn start_etcd(&self) -> Result<()> {
        let mut slot = lock(&self.etcd);
        if running(&mut slot) {
            return Ok(());
        }
        let (client, peer) = (self.etcd_url(), format!("https://127.0.0.1:{}", self.etcd_peer_port));
        let d = |file: &str| self.dir.join(file).display().to_string();
        #[rustfmt::skip]
        let args = [
            "--name=testbed".to_string(),
            format!("--data-dir={}", d("etcd")),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster=testbed={peer}"),
            // Clients and peers alike need a certificate of the cluster's etcd CA.
            format!("--cert-file={}", d(&pki::pem(ETCD_SERVER))), format!("--key-file={}", d(&pki::key(ETCD_SERVER))),
            "--client-cert-auth".into(), format!("--trusted-ca-file={}", d(&pki::pem(ETCD_CA))),
            format!("--peer-cert-file={}", d(&pki::pem(ETCD_SERVER))), format!("--peer-key-file={}", d(&pki::key(ETCD_SERVER))),
            "--peer-client-cert-auth".into(), format!("--peer-trusted-ca-file={}", d(&pki::pem(ETCD_CA))),
            "--logger=zap".into(), "--log-outputs=stderr".into(), "--log-level=warn".into(),
        ];
        *slot = Some(self.spawn("etcd", &self.etcd_bin, &args)?);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.etcd_port)).is_err() {
            self.check_alive("etcd", &mut slot)?;
            if Instant::now() > deadline {
                return Err(self.startup_error("etcd", "does not accept connections after 15 s"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Saves etcd's data directory to `to` (replacing what is there), for
    /// [`Cluster::start_from_etcd_data`]: stops the apiserver and etcd so the copy is
    /// consistent, then starts both again (the apiserver on the same port, waited for).
    pub fn save_etcd_data(&self, to: &Path) -> Result<()> {
        self.stop_apiserver();
        self.stop_etcd();
        let tmp = to.with_extension("partial");
        let _ = fs::remove_dir_all(&tmp);
        let copied = copy_dir(&self.dir.join("etcd"), &tmp).and_then(|()| {
            let _ = fs::remove_dir_all(to);
            fs::rename(&tmp, to).map_err(io(format!("renaming {} to {}", tmp.display(), to.display())))
        });
        if copied.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        self.start_etcd()?;
        self.start_apiserver_within(READY_TIMEOUT_WITH_DATA)?;
        copied
    }

    /// Stops etcd (SIGTERM, then SIGKILL after 5 s). The apiserver keeps running, unready.
    pub fn stop_etcd(&self) {
        stop(&self.dir, "etcd", &mut lock(&self.etcd));
    }

    /// Starts kube-apiserver with the same port and flags as before (no-op when it runs) and
    /// waits until `/readyz` answers 200 (up to a minute; 10 on stored data).
    pub fn start_apiserver(&self) -> Result<()> {
        self.start_apiserver_within(self.ready_timeout)
    }

    fn start_apiserver_within(&self, ready_timeout: Duration) -> Result<()> {
        {
            let mut slot = lock(&self.apiserver);
            if running(&mut slot) {
                return Ok(());
            }
            let d = |file: &str| self.dir.join(file).display().to_string();
            #[rustfmt::skip]
            let args = [
                format!("--etcd-servers={}", self.etcd_url()),
                format!("--etcd-cafile={}", d(&pki::pem(ETCD_CA))),
                format!("--etcd-certfile={}", d(&pki::pem(APISERVER_ETCD_CLIENT))),
                format!("--etcd-keyfile={}", d(&pki::key(APISERVER_ETCD_CLIENT))),
                format!("--secure-port={}", self.api_port),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                "--insecure-port=0".into(),
                format!("--cert-dir={}", d("certs")),
                format!("--token-auth-file={}", d("tokens.csv")),
                "--authorization-mode=RBAC".into(),
                // What the apiserver shows a kubelet, which admits nothing anonymous.
                format!("--kubelet-client-certificate={}", d(&pki::pem(APISERVER_KUBELET_CLIENT))),
                format!("--kubelet-client-key={}", d(&pki::key(APISERVER_KUBELET_CLIENT))),
                format!("--service-account-key-file={}", d("sa.key")),
                format!("--service-account-signing-key-file={}", d("sa.key")),
                "--service-account-issuer=https://kubernetes.default.svc".into(),
                "--service-cluster-ip-range=10.0.0.0/24".into(),
                "--disable-admission-plugins=ServiceAccount".into(),
                // No Endpoints object for the `kubernetes` Service: nothing here needs it.
                "--endpoint-reconciler-type=none".into(),
                "--allow-privileged=true".into(),
                // Events live 1 h (the default), longer than any test.
                "--event-ttl=1h".into(),
                // `kubectl debug`'s ephemeral containers (alpha in 1.20; the node's kubelet too).
                "--feature-gates=EphemeralContainers=true".into(),
            ];
            let args = [&args[..], &self.extra_apiserver_flags].concat();
            *slot = Some(self.spawn("kube-apiserver", &self.apiserver_bin, &args)?);
        }
        self.wait_ready(ready_timeout)
    }

    /// Stops kube-apiserver (SIGTERM, then SIGKILL after 5 s).
    pub fn stop_apiserver(&self) {
        stop(&self.dir, "kube-apiserver", &mut lock(&self.apiserver));
    }

    /// Creates `objects` in `ns` with `kubectl create` (it knows every kind of the API).
    pub fn create_objects(&self, ns: &str, objects: &[serde_json::Value]) -> Result<()> {
        use std::io::Write;
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig_path())
            .args(["-n", ns, "create", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io("running kubectl"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(list.to_string().as_bytes()).map_err(io("writing to kubectl"))?;
        }
        let out = child.wait_with_output().map_err(io("running kubectl"))?;
        if !out.status.success() {
            return Err(Error::Startup(format!("kubectl create in {ns}: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(())
    }

    /// Runs `kubectl` with this cluster's admin kubeconfig; its stdout.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        run(Command::new("kubectl").arg("--kubeconfig").arg(self.kubeconfig_path()).args(args))
    }

    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let yaml = self.kubeconfig_yaml("admin")?;
        let deadline = Instant::now() + timeout;
        block_on(async {
            let client = client_from_yaml(&yaml).await?;
            loop {
                let request =
                    hyper::Request::get("/readyz").body(Vec::new()).map_err(|e| Error::Startup(e.to_string()))?;
                let last = match client.request_text(request).await {
                    Ok(_) => return Ok(()),
                    Err(e) => e,
                };
                self.check_alive("kube-apiserver", &mut lock(&self.apiserver))?;
                if Instant::now() > deadline {
                    let why = format!("not ready after {timeout:?} (last /readyz: {last})");
                    return Err(self.startup_error("kube-apiserver", &why));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })?
    }

    fn spawn(&self, name: &str, bin: &Path, args: &[String]) -> Result<Child> {
        spawn_logged(&self.dir, name, bin, args)
    }

    /// Token file, service-account key, the directory for serving certificates, and the
    /// certificates that let the apiserver, and only it, into a node's kubelet.
    fn write_credentials(&self) -> Result<()> {
        let tokens: String = USERS
            .iter()
            .zip(&self.tokens)
            .map(|((user, groups), token)| format!("{token},{user},{user},\"{groups}\"\n"))
            .collect();
        fs::write(self.dir.join("tokens.csv"), tokens).map_err(io("writing tokens.csv"))?;
        fs::create_dir_all(self.dir.join("certs")).map_err(io("creating certs/"))?;
        pki::rsa_key(&self.dir, "sa.key")?;
        // A CA that the kubelet trusts for its clients, and the apiserver's client
        // certificate from it: the kubelet admits no anonymous request, so no other local
        // user reaches exec or logs through its port.
        pki::ca(&self.dir, KUBELET_CA, "/CN=testbed kubelet client CA", &[])?;
        #[rustfmt::skip]
        pki::issue(&self.dir, KUBELET_CA, APISERVER_KUBELET_CLIENT,
            "/O=system:masters/CN=kube-apiserver-kubelet-client", &["extendedKeyUsage = clientAuth"])?;
        // etcd's CA, its serving (and peer) certificate, and the apiserver's client
        // certificate: etcd admits no client without one.
        pki::ca(&self.dir, ETCD_CA, "/CN=testbed etcd CA", &[])?;
        #[rustfmt::skip]
        pki::issue(&self.dir, ETCD_CA, ETCD_SERVER, "/CN=testbed etcd",
            &["subjectAltName = IP:127.0.0.1", "extendedKeyUsage = serverAuth, clientAuth"])?;
        #[rustfmt::skip]
        pki::issue(&self.dir, ETCD_CA, APISERVER_ETCD_CLIENT, "/CN=kube-apiserver-etcd-client",
            &["extendedKeyUsage = clientAuth"])?;
        Ok(())
    }

    /// The CA a node's kubelet trusts for its clients (only the apiserver has a certificate
    /// from it).
    pub fn kubelet_client_ca(&self) -> PathBuf {
        self.dir.join(pki::pem(KUBELET_CA))
    }

    fn kubeconfig_yaml(&self, user: &str) -> Result<String> {
        let i = USERS.iter().position(|(u, _)| *u == user).ok_or_else(|| Error::UnknownUser(user.into()))?;
        Ok(format!(
            "apiVersion: v1\nkind: Config\n\
             clusters:\n- name: testbed\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: {user}\n  user:\n    token: {token}\n\
             contexts:\n- name: testbed\n  context:\n    cluster: testbed\n    user: {user}\n\
             current-context: testbed\n",
            server = self.server_url(),
            token = self.tokens[i],
        ))
    }

    /// Fails with the log's tail if the component in `slot` has exited.
    fn check_alive(&self, name: &str, slot: &mut Option<Child>) -> Result<()> {
        match slot.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(self.startup_error(name, &format!("exited ({status})"))),
            Some(Err(e)) => Err(io(format!("checking {name}"))(e)),
            None => Err(self.startup_error(name, "was stopped")),
        }
    }

    fn startup_error(&self, name: &str, why: &str) -> Error {
        let log = self.dir.join(format!("{name}.log"));
        let text = fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        Error::Startup(format!("{name} {why}; log {}:\n{tail}", log.display()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_apiserver();
        self.stop_etcd();
        drop(self.guardian.take());
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Copies directory `from` to `to` (created, with its parents), files and subdirectories.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(io(format!("creating {}", to.display())))?;
    for entry in fs::read_dir(from).map_err(io(format!("reading {}", from.display())))? {
        let entry = entry.map_err(io(format!("reading {}", from.display())))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(io(format!("reading {}", src.display())))?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(io(format!("copying {} to {}", src.display(), dst.display())))?;
        }
    }
    Ok(())
}

fn lock(m: &Mutex<Option<Child>>) -> MutexGuard<'_, Option<Child>> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The cluster's certificates ([`pki`] names their files).
const KUBELET_CA: &str = "kubelet-ca";
const APISERVER_KUBELET_CLIENT: &str = "apiserver-kubelet-client";
const ETCD_CA: &str = "etcd-ca";
const ETCD_SERVER: &str = "etcd-server";
const APISERVER_ETCD_CLIENT: &str = "apiserver-etcd-client";

fn running(slot: &mut Option<Child>) -> bool {
    matches!(slot.as_mut().map(Child::try_wait), Some(Ok(None)))
}

fn random_hex() -> String {
    let word = || RandomState::new().build_hasher().finish();
    format!("{:016x}{:016x}", word(), word())
}

fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(io(format!("writing {}", tmp.display())))?;
    File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(format!("syncing {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(io(format!("writing {}", path.display())))
}

/// (etcd, kube-apiserver): `$KUBEBUILDER_ASSETS` if it holds both, else cache bin, else PATH.
fn locate_binaries() -> Result<(PathBuf, PathBuf)> {
    if let Some(assets) = std::env::var_os("KUBEBUILDER_ASSETS").map(PathBuf::from) {
        let (etcd, apiserver) = (assets.join("etcd"), assets.join("kube-apiserver"));
        if is_executable(&etcd) && is_executable(&apiserver) {
            return Ok((etcd, apiserver));
        }
    }
    let find = |name| {
        locate_in_cache(name).map_err(|e| match e {
            Error::MissingBinary { name, looked_in } => {
                Error::MissingBinary { name, looked_in: format!("$KUBEBUILDER_ASSETS, {looked_in}") }
            }
            other => other,
        })
    };
    Ok((find("etcd")?, find("kube-apiserver")?))
}

//! A real node beside a [`Cluster`]: kube-scheduler, kube-controller-manager, containerd,
//! runc and a kubelet, with images made on this machine and two registries on loopback.
//!
//! Everything runs from the node's own directory (configs, roots, states, sockets, logs),
//! so it never touches a containerd, CNI or kubelet set up on the machine. The kubelet is
//! named `localhost`, so the apiserver reaches it on 127.0.0.1 for `kubectl logs`. Traps of
//! this machine that the settings below answer (see `shared/reference/real-node.md`):
//! - a negative `oom_score_adj` is refused, so containerd runs with
//!   `restrict_oom_score_adj = true` (else runc fails and no pod starts);
//! - a short image name is normalised to `docker.io/…` and pulled from outside when it is
//!   not found: every image here is `localhost/NAME:testbed`, and test containers take
//!   `imagePullPolicy: Never` ([`Node::BUSYBOX`]);
//! - the bridge is no gateway and nothing masquerades: pods live in network namespaces
//!   that this node's containerd makes, and no packet of theirs leaves them.
//!
//! Pull failures stay on loopback: [`Node::registry`] answers "not found", the
//! [`Node::auth_registry`] "unauthorized", and [`Node::closed_registry`] refuses
//! connections.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node as NodeObject;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::cluster::Cluster;
use super::oci::{ImageConfig, oci_archive};
use super::process::{
    Guardian, block_on, free_ports, is_executable, locate_in_cache, run, spawn_logged, spawn_logged_with, which,
};
use super::{Error, Result, io};

/// How long [`Node::start`] waits for the node to be Ready and schedulable.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Stops everything the node started and removes its directory; run by [`Node`]'s `Drop`
/// and, if the process that started the node dies first, by its [`Guardian`]. It is passed
/// inline (`sh -c`), never read from the directory it removes.
/// Arguments: the node's directory, keep|remove, the bridge's name.
const STOP_SCRIPT: &str = r#"dir=$1
for c in kubelet kube-controller-manager kube-scheduler; do
  [ -f "$dir/$c.pid" ] && kill -TERM "-$(cat "$dir/$c.pid")" 2>/dev/null
done
sleep 1
for c in kubelet kube-controller-manager kube-scheduler; do
  [ -f "$dir/$c.pid" ] && kill -KILL "-$(cat "$dir/$c.pid")" 2>/dev/null
done
# The containers: runc's state of this containerd only.
for id in $(runc --root "$dir/runc/k8s.io" list -q 2>/dev/null); do
  runc --root "$dir/runc/k8s.io" kill --all "$id" KILL 2>/dev/null
  runc --root "$dir/runc/k8s.io" delete -f "$id" 2>/dev/null
done
for c in containerd registry auth-registry; do
  [ -f "$dir/$c.pid" ] && kill -KILL "-$(cat "$dir/$c.pid")" 2>/dev/null
done
# Whatever else names the directory: the shims (`-address $dir/containerd.sock`), and any
# part whose pid file is gone.
pkill -KILL -f -- "$dir/" 2>/dev/null
sleep 0.5
# Mounts under the directory (overlay snapshots, volumes, the sandboxes' shm), deepest first.
awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done
ip link del "$3" 2>/dev/null
[ "$2" = keep ] || rm -rf "$dir"
true"#;

/// A real node registered as `localhost`, with the control-plane controllers that make
/// Deployments, Jobs and CronJobs real.
pub struct Node {
    dir: PathBuf,
    keep: bool,
    registry_port: u16,
    auth_registry_port: u16,
    closed_port: u16,
    bridge: String,
    /// Each part it started, by the name of its log and pid files.
    children: Mutex<Vec<(String, Child)>>,
    /// How each part was started, to start it again ([`Node::restart`]).
    launches: Mutex<Vec<Launch>>,
    healthz_port: u16,
    kubelet_port: u16,
    guardian: Option<Guardian>,
}

/// How a part of the node was started.
#[derive(Clone)]
struct Launch {
    name: String,
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// The name of this process's node bridge: its own, so that the stop of another run's node
/// (which deletes its bridge) never takes this one's down. The bridge has no address, so two
/// of them route nothing and never conflict.
fn bridge_name() -> String {
    format!("cltb{}", std::process::id() % 100_000)
}

/// One cluster with a real node for the whole test binary, started on first use and
/// stopped by guardians when the binary exits. Give each test its own namespace.
pub fn shared_node() -> Result<&'static (Cluster, Node)> {
    static SHARED: OnceLock<std::result::Result<(Cluster, Node), String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let started = Instant::now();
            let cluster = Cluster::start().map_err(|e| e.to_string())?;
            // One more try if a part fails at start-up: the error (with its log's tail) is
            // printed, so that a flaky start is seen, not hidden.
            let node = Node::start(&cluster).or_else(|first| {
                eprintln!("testbed: the node did not start, trying once more: {first}");
                Node::start(&cluster)
            });
            let node = node.map_err(|e| e.to_string())?;
            eprintln!("testbed: cluster and real node Ready in {:.1} s", started.elapsed().as_secs_f64());
            Ok((cluster, node))
        })
        .as_ref()
        .map_err(|e| Error::Shared(e.clone()))
}

impl Node {
    /// The image test containers run: busybox-static, `imagePullPolicy: Never`.
    pub const BUSYBOX: &'static str = "localhost/busybox:testbed";
    /// The same files under another name: a rollout that changes the image.
    pub const BUSYBOX_NEXT: &'static str = "localhost/busybox:next";
    /// The sandbox image.
    pub const PAUSE: &'static str = "localhost/pause:testbed";

    /// Starts the node's parts against `cluster` and waits until the node is Ready and
    /// schedulable (about 20 s once the binaries are cached).
    pub fn start(cluster: &Cluster) -> Result<Node> {
        let bins = NodeBinaries::locate()?;
        // Beside the cluster's directory, not in it: the cluster's guardian removes its own
        // directory, and this node's guardian must still find the state of its containers.
        let mut name = cluster.dir().file_name().unwrap_or_default().to_os_string();
        name.push("-node");
        let dir = cluster.dir().with_file_name(name);
        crate::process::private_dir(&dir)?;
        let [registry_port, auth_registry_port, closed_port, kubelet_port, healthz_port] = free_ports()?;
        let keep = std::env::var_os("CRASHLOOP_KEEP_TESTBED").is_some();
        let bridge = bridge_name();
        let keep_arg = OsStr::new(if keep { "keep" } else { "remove" });
        let guardian = Guardian::spawn("node-guardian", STOP_SCRIPT, &[dir.as_os_str(), keep_arg, bridge.as_ref()])?;
        let node = Node {
            dir,
            keep,
            registry_port,
            auth_registry_port,
            closed_port,
            bridge,
            children: Mutex::new(Vec::new()),
            launches: Mutex::new(Vec::new()),
            healthz_port,
            kubelet_port,
            guardian: Some(guardian),
        };
        node.start_containerd(&bins)?;
        node.import_base_images(&bins)?;
        node.start_registries()?;
        let kubeconfig = cluster.kubeconfig_path();
        let k = kubeconfig.display().to_string();
        #[rustfmt::skip]
        node.spawn("kube-scheduler", &bins.scheduler, &[
            format!("--kubeconfig={k}"), "--leader-elect=false".into(), "--port=0".into(),
            "--secure-port=0".into(), "--v=1".into(),
        ])?;
        #[rustfmt::skip]
        node.spawn("kube-controller-manager", &bins.controller_manager, &[
            format!("--kubeconfig={k}"), "--leader-elect=false".into(), "--port=0".into(),
            "--secure-port=0".into(),
            format!("--service-account-private-key-file={}", cluster.dir().join("sa.key").display()),
            format!("--root-ca-file={}", cluster.dir().join("certs/apiserver.crt").display()),
            // podgc would delete the API-only tests' pods, bound to nodes that do not exist.
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service,-route,-podgc".into(),
            "--v=1".into(),
        ])?;
        node.start_kubelet(&bins, &kubeconfig, &cluster.kubelet_client_ca(), kubelet_port, healthz_port)?;
        node.wait_ready(cluster)?;
        Ok(node)
    }

    /// The node's directory: configs, logs (`kubelet.log`, `containerd.log`, …).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `127.0.0.1:PORT` of a plain-HTTP registry holding no image: pulls end "not found".
    pub fn registry(&self) -> String {
        format!("127.0.0.1:{}", self.registry_port)
    }

    /// `127.0.0.1:PORT` of a registry that wants a password: pulls end "unauthorized".
    pub fn auth_registry(&self) -> String {
        format!("127.0.0.1:{}", self.auth_registry_port)
    }

    /// `127.0.0.1:PORT` where nothing listens: pulls end "connection refused".
    pub fn closed_registry(&self) -> String {
        format!("127.0.0.1:{}", self.closed_port)
    }

    /// `127.0.0.1:PORT` of the kubelet's API (HTTPS; only the apiserver's client
    /// certificate gets in).
    pub fn kubelet_addr(&self) -> String {
        format!("127.0.0.1:{}", self.kubelet_port)
    }

    /// The containerd socket, for `ctr -a`.
    pub fn containerd_socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    /// Makes an OCI image named `name` (`localhost/…:tag`) from the files of `rootfs` with
    /// `entrypoint`, and imports it into the node's containerd.
    pub fn import_image(&self, name: &str, rootfs: &Path, entrypoint: &[&str]) -> Result<()> {
        let config = ImageConfig {
            entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
            env: vec!["PATH=/bin:/usr/bin:/usr/local/bin".into()],
            ..ImageConfig::default()
        };
        let archive = oci_archive(&self.dir.join("images"), name, rootfs, &config)?.path;
        let socket = self.containerd_socket();
        run(Command::new("ctr").arg("-a").arg(&socket).args(["-n", "k8s.io", "images", "import"]).arg(&archive))
            .map(|_| ())
    }

    /// Imports an OCI archive into the node's containerd as a user would on a node without
    /// a registry: `ctr -n k8s.io images import --base-name REPOSITORY --digests`, which names
    /// the image by its tag and by its digest (`REPOSITORY@sha256:…`, what a manifest that
    /// pins the digest asks the kubelet for).
    pub fn import_archive(&self, archive: &Path, repository: &str) -> Result<()> {
        let socket = self.containerd_socket();
        run(Command::new("ctr")
            .arg("-a")
            .arg(&socket)
            .args(["-n", "k8s.io", "images", "import", "--base-name", repository, "--digests"])
            .arg(archive))
        .map(|_| ())
    }

    fn start_containerd(&self, bins: &NodeBinaries) -> Result<()> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        let cni_dir = self.dir.join("cni");
        fs::create_dir_all(&cni_dir).map_err(io("creating cni/"))?;
        let conflist = json!({
            "cniVersion": "0.4.0",
            "name": "testbed",
            "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": false, "ipMasq": false,
                 "ipam": {"type": "host-local", "dataDir": d("cni-ipam"),
                          "ranges": [[{"subnet": "10.88.0.0/16"}]]}},
                {"type": "loopback"}
            ]
        });
        fs::write(cni_dir.join("10-testbed.conflist"), conflist.to_string()).map_err(io("writing the CNI config"))?;
        let mirror = |port: u16| {
            format!(
                "  [plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"127.0.0.1:{port}\"]\n    endpoint = [\"http://127.0.0.1:{port}\"]\n"
            )
        };
        let config = format!(
            r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{ttrpc}"
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  # The pods' network namespaces under the state dir, so that the stop script's unmount of
  # the node's directory removes them (and their veths) with everything else.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
{mirrors}"#,
            root = d("containerd/root"),
            state = d("containerd/state"),
            socket = d("containerd.sock"),
            ttrpc = d("containerd-ttrpc.sock"),
            pause = Self::PAUSE,
            runc = d("runc"),
            cni_bin = bins.cni.display(),
            cni_conf = cni_dir.display(),
            mirrors = mirror(self.registry_port) + &mirror(self.auth_registry_port) + &mirror(self.closed_port),
        );
        let path = self.dir.join("containerd.toml");
        fs::write(&path, config).map_err(io("writing containerd.toml"))?;
        self.spawn("containerd", &bins.containerd, &["--config".into(), path.display().to_string()])?;
        self.wait_for("containerd", Duration::from_secs(20), || self.containerd_answers())
    }

    /// `ctr version` gets an answer from the node's containerd.
    fn containerd_answers(&self) -> bool {
        Command::new("ctr")
            .arg("-a")
            .arg(self.containerd_socket())
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `localhost/busybox:testbed` (busybox-static and its applet links) and the sandbox image
    /// (the pause binary `.ci/install` compiles from the Kubernetes tree).
    fn import_base_images(&self, bins: &NodeBinaries) -> Result<()> {
        let busybox = self.dir.join("images/rootfs-busybox");
        fs::create_dir_all(busybox.join("bin")).map_err(io("creating the busybox rootfs"))?;
        fs::create_dir_all(busybox.join("tmp")).map_err(io("creating the busybox rootfs"))?;
        fs::copy(&bins.busybox, busybox.join("bin/busybox")).map_err(io("copying busybox"))?;
        let applets = run(Command::new(&bins.busybox).arg("--list"))?;
        for applet in applets.lines().map(str::trim).filter(|a| !a.is_empty() && *a != "busybox") {
            let link = busybox.join("bin").join(applet);
            if !link.exists() {
                std::os::unix::fs::symlink("busybox", &link).map_err(io(format!("linking {applet}")))?;
            }
        }
        self.import_image(Self::BUSYBOX, &busybox, &["/bin/sh"])?;
        self.import_image(Self::BUSYBOX_NEXT, &busybox, &["/bin/sh"])?;
        let pause = self.dir.join("images/rootfs-pause");
        fs::create_dir_all(&pause).map_err(io("creating the pause rootfs"))?;
        fs::copy(&bins.pause, pause.join("pause")).map_err(io("copying pause"))?;
        self.import_image(Self::PAUSE, &pause, &["/pause"])
    }

    fn start_registries(&self) -> Result<()> {
        let registry_config = |name: &str, port: u16, auth: &str| {
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                self.dir.join(format!("{name}-data")).display()
            )
        };
        let htpasswd = self.dir.join("htpasswd");
        let entry = run(Command::new("htpasswd").args(["-Bbn", "testbed", "testbed"]))?;
        fs::write(&htpasswd, entry).map_err(io("writing htpasswd"))?;
        let auth = format!("auth:\n  htpasswd:\n    realm: testbed\n    path: {}\n", htpasswd.display());
        for (name, port, auth) in
            [("registry", self.registry_port, ""), ("auth-registry", self.auth_registry_port, auth.as_str())]
        {
            let path = self.dir.join(format!("{name}.yml"));
            fs::write(&path, registry_config(name, port, auth)).map_err(io(format!("writing {name}.yml")))?;
            let bin = which("docker-registry")?;
            self.spawn(name, &bin, &["serve".into(), path.display().to_string()])?;
            self.wait_for(name, Duration::from_secs(15), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())?;
        }
        Ok(())
    }

    fn start_kubelet(
        &self,
        bins: &NodeBinaries,
        kubeconfig: &Path,
        client_ca: &Path,
        port: u16,
        healthz_port: u16,
    ) -> Result<()> {
        let config = json!({
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": "127.0.0.1",
            "port": port,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": healthz_port,
            "cgroupDriver": "cgroupfs",
            "cgroupsPerQOS": false,
            "enforceNodeAllocatable": [],
            "failSwapOn": false,
            // Only clients with a certificate of the cluster's kubelet CA, the apiserver
            // alone, get in (logs and exec go through the apiserver and its RBAC); once in,
            // they may do anything, as the apiserver may.
            "authentication": {"anonymous": {"enabled": false}, "webhook": {"enabled": false},
                               "x509": {"clientCAFile": client_ca.display().to_string()}},
            "authorization": {"mode": "AlwaysAllow"},
            "evictionHard": {},
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            // The host's firewall is left alone, and pods get no resolver: nothing of theirs
            // looks a name up.
            "makeIPTablesUtilChains": false,
            "resolvConf": "",
            // The Event rate limit of current kubelets (1.20's 5 per second and a burst of 10
            // delay the scenarios' Events by minutes when they all start at once).
            "eventRecordQPS": 50,
            "eventBurst": 100,
            // `kubectl debug`'s ephemeral containers (alpha in 1.20; the apiserver's too).
            "featureGates": {"EphemeralContainers": true},
        });
        let path = self.dir.join("kubelet.json");
        fs::write(&path, config.to_string()).map_err(io("writing kubelet.json"))?;
        let d = |p: &str| self.dir.join(p).display().to_string();
        #[rustfmt::skip]
        let args = [
            format!("--config={}", path.display()),
            format!("--kubeconfig={}", kubeconfig.display()),
            "--container-runtime=remote".into(),
            format!("--container-runtime-endpoint=unix://{}", d("containerd.sock")),
            format!("--root-dir={}", d("kubelet")),
            format!("--cert-dir={}", d("kubelet/pki")),
            "--hostname-override=localhost".into(),
            format!("--pod-infra-container-image={}", Self::PAUSE),
            "--v=1".into(),
        ];
        // The kubelet's in-tree AWS credential provider would ask the EC2 metadata address
        // (169.254.169.254) for credentials: nothing here may leave loopback.
        let env = [("AWS_EC2_METADATA_DISABLED", "true")];
        let child = spawn_logged_with(&self.dir, "kubelet", &bins.kubelet, &args, &env)?;
        self.children.lock().unwrap_or_else(|p| p.into_inner()).push(("kubelet".to_string(), child));
        self.remember("kubelet", &bins.kubelet, &args, &env);
        Ok(())
    }

    fn remember(&self, name: &str, bin: &Path, args: &[String], env: &[(&str, &str)]) {
        let env = env.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        let launch = Launch { name: name.to_string(), bin: bin.to_path_buf(), args: args.to_vec(), env };
        self.launches.lock().unwrap_or_else(|p| p.into_inner()).push(launch);
    }

    /// Stops the node's `kubelet` or `containerd` (SIGTERM, as systemd would, and SIGKILL
    /// after 10 s) and starts it again with the same flags, as a node's restart of that
    /// service does: the containers go on running in their shims. Returns once it answers
    /// again (the kubelet's healthz, containerd's `ctr version`).
    pub fn restart(&self, name: &str) -> Result<()> {
        let launch = self
            .launches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|l| l.name == name)
            .cloned()
            .ok_or_else(|| Error::Startup(format!("{name} is no part of the node that can be restarted")))?;
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        let Some(slot) = children.iter_mut().find(|(n, _)| n == name) else {
            return Err(Error::Startup(format!("{name} was not started")));
        };
        let _ = Command::new("kill").args(["-TERM", &slot.1.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while slot.1.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = slot.1.kill();
        let _ = slot.1.wait();
        let env: Vec<(&str, &str)> = launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        slot.1 = spawn_logged_with(&self.dir, name, &launch.bin, &launch.args, &env)?;
        drop(children);
        match name {
            "kubelet" => {
                let port = self.healthz_port;
                self.wait_for(name, Duration::from_secs(60), || {
                    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                })
            }
            _ => self.wait_for(name, Duration::from_secs(30), || self.containerd_answers()),
        }
    }

    /// Waits until node `localhost` is Ready, then clears the taints it registered with.
    fn wait_ready(&self, cluster: &Cluster) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        block_on(async {
            let client = cluster.client().await?;
            let nodes: Api<NodeObject> = Api::all(client);
            loop {
                if let Ok(node) = nodes.get("localhost").await {
                    let ready = node
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                    let tainted = node.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|t| !t.is_empty());
                    if ready && !tainted {
                        return Ok(());
                    }
                    if ready {
                        let patch = json!({"spec": {"taints": null}});
                        let _ = nodes.patch("localhost", &PatchParams::default(), &Patch::Merge(&patch)).await;
                    }
                }
                self.check_alive()?;
                if Instant::now() > deadline {
                    return Err(self.startup_error("kubelet", "node localhost not Ready and untainted after 90 s"));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })?
    }

    fn spawn(&self, name: &str, bin: &Path, args: &[String]) -> Result<()> {
        let child = spawn_logged(&self.dir, name, bin, args)?;
        self.children.lock().unwrap_or_else(|p| p.into_inner()).push((name.to_string(), child));
        self.remember(name, bin, args, &[]);
        Ok(())
    }

    fn wait_for(&self, name: &str, timeout: Duration, ready: impl Fn() -> bool) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !ready() {
            self.check_alive()?;
            if Instant::now() > deadline {
                return Err(self.startup_error(name, &format!("not ready after {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Fails with the log's tail of the first part that has exited.
    fn check_alive(&self) -> Result<()> {
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        for (name, child) in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(self.startup_error(name, &format!("exited ({status})")));
            }
        }
        Ok(())
    }

    fn startup_error(&self, name: &str, why: &str) -> Error {
        let log = self.dir.join(format!("{name}.log"));
        let text = fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        Error::Startup(format!("{name} {why}; log {}:\n{tail}", log.display()))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.guardian.take());
        let _ = Command::new("sh")
            .args(["-c", STOP_SCRIPT, "node-stop"])
            .arg(&self.dir)
            .arg(if self.keep { "keep" } else { "remove" })
            .arg(&self.bridge)
            .status();
        for (_, mut child) in self.children.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = child.wait();
        }
    }
}

/// Where the node's binaries are: the Kubernetes ones in the cache `.ci/install` fills, the
/// rest from Debian's packages.
struct NodeBinaries {
    kubelet: PathBuf,
    scheduler: PathBuf,
    controller_manager: PathBuf,
    pause: PathBuf,
    containerd: PathBuf,
    busybox: PathBuf,
    cni: PathBuf,
}

impl NodeBinaries {
    fn locate() -> Result<Self> {
        let cni = PathBuf::from("/usr/lib/cni");
        if !is_executable(&cni.join("bridge")) {
            return Err(Error::MissingBinary { name: "CNI bridge plugin", looked_in: cni.display().to_string() });
        }
        Ok(NodeBinaries {
            kubelet: locate_in_cache("kubelet")?,
            scheduler: locate_in_cache("kube-scheduler")?,
            controller_manager: locate_in_cache("kube-controller-manager")?,
            pause: locate_in_cache("pause")?,
            containerd: which("containerd")?,
            busybox: which("busybox")?,
            cni,
        })
    }
}

/// A container of the node's busybox image, never pulled, running `command`.
pub fn busybox(name: &str, command: &[&str]) -> serde_json::Value {
    json!({"name": name, "image": Node::BUSYBOX, "imagePullPolicy": "Never", "command": command})
}

/// A busybox container running `sh -c script`. The kubelet expands `$(VAR)` and turns `$$`
/// into `$` in commands, so a script's `$$` is written `$$$$`.
pub fn busybox_sh(name: &str, script: &str) -> serde_json::Value {
    busybox(name, &["sh", "-c", script])
}

/// A Deployment of one replica whose pod has `containers` (labels `app: NAME`) and a grace
/// period of 1 s, so a rollout replaces a crashing pod at once.
pub fn deployment(name: &str, containers: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": containers, "terminationGracePeriodSeconds": 1}}}})
}

//! Command-line flags, each with an environment-variable twin.

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Default listen address. Prometheus' exporter port range (9100-9999) is fully
/// allocated, so the port sits outside it, clear of the Kubernetes components (10249-10259).
pub(crate) const DEFAULT_LISTEN: &str = "0.0.0.0:10743";

/// The server-side timeout of a watch, kube's default: the API server ends each watch
/// after this many seconds and the watcher resumes it.
pub(crate) const DEFAULT_WATCH_TIMEOUT: u32 = 290;

/// How long past the watch timeout a silent connection is taken for a stall.
pub(crate) const STALL_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Parser)]
#[command(
    name = "crashloop-exporter",
    version,
    about = "Tells which Kubernetes containers are crash-looping, and most likely why, as Prometheus metrics.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, the default subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the cluster and serve metrics on /metrics (the default).
    Serve(ServeArgs),
    /// List troubled containers once, in the current context's namespace (-n to name others, -A for all). Exits 1 when something is crash-looping (--fail-on chooses).
    Scan(ScanArgs),
    /// The whole report for one pod: status, exit codes, limits, events, previous log, cause and fix.
    Diagnose(DiagnoseArgs),
}

/// When `scan` exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A container is crash-looping.
    Crashloop,
    /// Any container is troubled (an image that cannot be pulled, a missing ConfigMap...).
    Any,
    /// Never: 0 unless an error stops it (2).
    Never,
}

/// Output format of `scan` and `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Wide,
    Json,
    Yaml,
}

/// Output format of `diagnose`: `patch` prints the fixes as `kubectl patch` commands of
/// the pod's workload (and the undo of a rollout to blame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnoseOutput {
    Table,
    Wide,
    Json,
    Yaml,
    Patch,
}

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Every namespace, as `kubectl get -A` (without -n or -A: the context's namespace).
    #[arg(short = 'A', long, conflicts_with = "namespaces")]
    pub all_namespaces: bool,

    /// Also read the previous log of each troubled container whose latest termination
    /// failed, and classify it, as the server does with --logs (needs `get` on
    /// `pods/log`). Without it, causes come from the pods' status and Events only.
    #[arg(long)]
    pub logs: bool,

    /// When to exit 1: a container crash-loops (`crashloop`), any container is troubled
    /// (`any`: image pulls and missing objects too), or `never`.
    #[arg(long, value_enum, default_value_t = FailOn::Crashloop)]
    pub fail_on: FailOn,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

impl ScanArgs {
    /// The scopes `scan` lists, with the namespaces chosen as kubectl chooses them: those
    /// named with `-n`; all with `-A` or `--exclude-namespace` (which applies to all); else
    /// `context_namespace`, the kubeconfig context's (or `default`). Every shard.
    pub fn scopes(&self, context_namespace: &str) -> Vec<crate::watch::Scope> {
        let mut cluster = self.cluster.clone();
        let all = self.all_namespaces || !cluster.exclude_namespaces.is_empty();
        if cluster.namespaces.is_empty() && !all {
            cluster.namespaces = vec![context_namespace.to_string()];
        }
        cluster.scopes(crate::store::Shard::default())
    }
}

#[derive(Debug, Clone, Args)]
pub struct DiagnoseArgs {
    /// A pod (`NAME` or `pod/NAME`), or a workload (`deploy/NAME`, `sts/NAME`, `ds/NAME`,
    /// `job/NAME`, `cronjob/NAME`, `rollout/NAME`, with kubectl's long names too), whose
    /// worst pod is diagnosed: crash-looping first, then troubled, then by restarts.
    #[arg(value_name = "POD|KIND/NAME", required_unless_present = "selector")]
    pub pod: Option<String>,

    /// Diagnose the worst pod among those this label selector picks (as kubectl's `-l`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// The pod's namespace. Default: the kubeconfig context's namespace, as kubectl's.
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub namespace: Option<String>,

    /// Output format (`table` and `wide` both print the text report; `patch` the fixes as
    /// commands).
    #[arg(short = 'o', long, value_enum, default_value_t = DiagnoseOutput::Table)]
    pub output: DiagnoseOutput,

    /// Don't read the previous log (it needs `get` on `pods/log`).
    #[arg(long)]
    pub no_logs: bool,

    /// A Prometheus that scrapes cAdvisor (`http://HOST:PORT`, e.g. through `kubectl
    /// port-forward`): an OOM fix then starts from the container's peak working set in the
    /// last hour. One query per OOM-killed container; nothing is sent without the flag.
    #[arg(long, env = "CRASHLOOP_PROMETHEUS_URL", value_name = "URL")]
    pub prometheus_url: Option<String>,

    /// Kubeconfig file(s), separated by `:` as in $KUBECONFIG and merged as kubectl merges them.
    #[arg(long, env = "KUBECONFIG", value_name = "PATH[:PATH…]")]
    pub kubeconfig: Option<OsString>,

    /// Kubeconfig context.
    #[arg(long, env = "CRASHLOOP_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,

    #[command(flatten)]
    pub impersonation: Impersonation,

    #[command(flatten)]
    pub log: LogArgs,
}

impl DiagnoseArgs {
    /// The cluster flags that apply to one pod.
    pub fn cluster(&self) -> ClusterArgs {
        ClusterArgs {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespaces: self.namespace.iter().cloned().collect(),
            exclude_namespaces: vec![],
            selector: None,
            watch_timeout: DEFAULT_WATCH_TIMEOUT,
            impersonation: self.impersonation.clone(),
        }
    }
}

impl Cli {
    /// Parses the process's arguments, its help and errors naming the command `name`
    /// ([`display_name`]).
    pub fn parse_as(name: &str) -> Self {
        Self::try_parse_as(name, std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_as`] on given arguments.
    pub fn try_parse_as(
        name: &str,
        args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    ) -> Result<Self, clap::Error> {
        let mut command = Self::command().bin_name(name.to_string());
        let matches = command.try_get_matches_from_mut(args)?;
        Self::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
    }

    /// The subcommand to run, `serve` when none is named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// The name the command goes by, from the path it was run as (`argv[0]`): kubectl runs a
/// plugin `kubectl-crashloop` for `kubectl crashloop`, so that is what its help shows.
pub fn display_name(argv0: Option<&OsStr>) -> String {
    let stem = argv0.map(std::path::Path::new).and_then(|p| p.file_stem()).and_then(OsStr::to_str).unwrap_or("");
    match stem.strip_prefix("kubectl-") {
        Some(plugin) if !plugin.is_empty() => format!("kubectl {}", plugin.replace('_', "-")),
        _ if !stem.is_empty() => stem.to_string(),
        _ => "crashloop-exporter".to_string(),
    }
}

/// The kubeconfig files a `--kubeconfig` or `$KUBECONFIG` value names: separated as
/// `$PATH` is (`:`), empty entries left out, as kubectl reads `$KUBECONFIG`.
pub(crate) fn kubeconfig_paths(value: &OsStr) -> Vec<PathBuf> {
    std::env::split_paths(value).filter(|p| !p.as_os_str().is_empty()).collect()
}

/// Kubeconfigs merged as kubectl merges the files of `$KUBECONFIG`: the first to set a
/// value or a named cluster, user or context wins, and what later files say of it is
/// dropped (kube's [`Kubeconfig::merge`](kube::config::Kubeconfig::merge) keeps the rules).
pub(crate) fn merge_kubeconfigs(
    configs: impl IntoIterator<Item = kube::config::Kubeconfig>,
) -> Result<kube::config::Kubeconfig, crate::Error> {
    configs
        .into_iter()
        .try_fold(kube::config::Kubeconfig::default(), kube::config::Kubeconfig::merge)
        .map_err(|e| crate::Error::Kubeconfig(format!("merging the kubeconfig files: {e}")))
}

/// Reads and merges the kubeconfig files of `value`. As kubectl, a file that does not
/// exist is skipped; none existing is an error.
fn read_kubeconfigs(value: &OsStr) -> Result<kube::config::Kubeconfig, crate::Error> {
    let mut configs = Vec::new();
    for path in kubeconfig_paths(value) {
        if !path.exists() {
            continue;
        }
        let config = kube::config::Kubeconfig::read_from(&path)
            .map_err(|e| crate::Error::Kubeconfig(format!("cannot read {}: {e}", path.display())))?;
        configs.push(config);
    }
    if configs.is_empty() {
        return Err(crate::Error::Kubeconfig(format!("no kubeconfig file found in {}", value.to_string_lossy())));
    }
    merge_kubeconfigs(configs)
}

/// How to reach the cluster and which pods to look at.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Kubeconfig file(s), separated by `:` as in $KUBECONFIG and merged as kubectl merges
    /// them; without it: ~/.kube/config, then the in-cluster config.
    #[arg(long, env = "KUBECONFIG", value_name = "PATH[:PATH…]")]
    pub kubeconfig: Option<OsString>,

    /// Kubeconfig context to use instead of the current one.
    #[arg(long, env = "CRASHLOOP_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,

    /// Only watch this namespace (repeatable, or comma-separated in the env var). Default: all
    /// namespaces for `serve`; for `scan`, the kubeconfig context's namespace, as kubectl (`-A`:
    /// all).
    #[arg(short = 'n', long = "namespace", env = "CRASHLOOP_NAMESPACES", value_delimiter = ',', value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Skip this namespace (repeatable), e.g. kube-system. Applies when watching all namespaces.
    #[arg(
        long = "exclude-namespace",
        env = "CRASHLOOP_EXCLUDE_NAMESPACES",
        value_delimiter = ',',
        value_name = "NS",
        conflicts_with = "namespaces"
    )]
    pub exclude_namespaces: Vec<String>,

    /// Only watch pods matching this label selector, e.g. `team=payments,tier!=batch`.
    #[arg(short = 'l', long = "selector", env = "CRASHLOOP_SELECTOR", value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Seconds the API server keeps a watch open before it is renewed. A watch or request
    /// that stays silent 3 s longer than this is a stall: dropped, counted as an API error of
    /// kind `timeout`, and retried.
    #[arg(long, env = "CRASHLOOP_WATCH_TIMEOUT", default_value_t = DEFAULT_WATCH_TIMEOUT,
          value_parser = clap::value_parser!(u32).range(1..), value_name = "SECONDS")]
    pub watch_timeout: u32,

    #[command(flatten)]
    pub impersonation: Impersonation,
}

/// kubectl's impersonation: act as another user or group (the kubeconfig's user needs the
/// `impersonate` verb on them), to see what they may see.
#[derive(Debug, Clone, Default, Args)]
pub struct Impersonation {
    /// Act as this user, as `kubectl --as`.
    #[arg(long = "as", env = "CRASHLOOP_AS", value_name = "USER")]
    pub user: Option<String>,

    /// Act as this group (repeatable), as `kubectl --as-group`.
    #[arg(long = "as-group", env = "CRASHLOOP_AS_GROUP", value_delimiter = ',', value_name = "GROUP")]
    pub groups: Vec<String>,
}

/// Logging flags.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(long, env = "CRASHLOOP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter in RUST_LOG syntax, e.g. `info` or `info,crashloop_exporter=debug`.
    #[arg(long, env = "CRASHLOOP_LOG_LEVEL", default_value = "info", value_name = "FILTER")]
    pub log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to serve /metrics, /healthz and /readyz on.
    #[arg(long, env = "CRASHLOOP_LISTEN_ADDRESS", default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen_address: SocketAddr,
    /// Web config file in the Prometheus exporter-toolkit format: TLS, client certificates,
    /// basic auth (bcrypt) and response headers, for every path.
    #[arg(long = "web.config.file", env = "CRASHLOOP_WEB_CONFIG_FILE", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    /// Open HTTP connections at most. When all are taken, the one longest without a request
    /// in progress is closed for a new one; when all are serving, the new one is closed.
    #[arg(long = "web.max-connections", env = "CRASHLOOP_WEB_MAX_CONNECTIONS", default_value_t = crate::http::DEFAULT_MAX_CONNECTIONS,
          value_parser = parse_max_connections, value_name = "N")]
    pub web_max_connections: usize,

    /// Also export detail series (state, reasons, back-off…) for running containers that never
    /// restarted. Off by default: they get only the restart counter, which keeps series low.
    #[arg(long, env = "CRASHLOOP_HEALTHY_CONTAINER_DETAILS")]
    pub healthy_container_details: bool,

    /// Export nothing for a container with nothing to report (no restart, no detail series,
    /// no Event counted, no termination counted), and no workload line for a pod all of whose
    /// containers are so: for running beside kube-state-metrics without duplicate series.
    #[arg(long, env = "CRASHLOOP_SKIP_QUIET_CONTAINERS", conflicts_with = "healthy_container_details")]
    pub skip_quiet_containers: bool,

    /// Pod labels to copy onto `crashloop_pod_workload_info` as `label_<name>` (and so onto
    /// every alert), as kube-state-metrics' `--metric-labels-allowlist` does for
    /// `kube_pod_labels`: e.g. `team,owner,tier`. Each adds one label to one series per pod.
    #[arg(long, env = "CRASHLOOP_POD_LABELS", value_delimiter = ',', value_name = "LABEL,...")]
    pub pod_labels: Vec<String>,

    /// Read the previous instance's log tail once per termination and classify it (needs
    /// `get` on `pods/log`). The text is never kept or exported.
    #[arg(long, env = "CRASHLOOP_LOGS")]
    pub logs: bool,

    /// Cluster-wide limit of previous-log fetches per second, with --logs.
    #[arg(long, env = "CRASHLOOP_LOGS_PER_SECOND", default_value_t = 1.0, value_name = "N")]
    pub logs_per_second: f64,

    /// This replica's shard: a number, or a StatefulSet pod name ending in `-N` (autosharding,
    /// `--shard=$(POD_NAME)`). Pods are split by the hash of their UID, as kube-state-metrics does.
    #[arg(long, env = "CRASHLOOP_SHARD", default_value = "0", value_parser = parse_shard, value_name = "N|POD_NAME")]
    pub shard: u32,

    /// How many shards there are.
    #[arg(long, env = "CRASHLOOP_TOTAL_SHARDS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub total_shards: u32,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    #[command(flatten)]
    pub log: LogArgs,
}

fn parse_max_connections(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{value:?} is not a number of connections of 1 or more")),
    }
}

/// `3`, or a StatefulSet pod name such as `crashloop-exporter-3`.
fn parse_shard(value: &str) -> Result<u32, String> {
    let digits = value.rsplit('-').next().unwrap_or(value);
    digits.parse().map_err(|_| format!("{value:?} is neither a shard number nor a pod name ending in -N"))
}

impl ServeArgs {
    /// The shard, checked against the total.
    pub fn shard(&self) -> Result<crate::store::Shard, crate::Error> {
        if self.shard >= self.total_shards {
            return Err(crate::Error::Usage(format!(
                "--shard {} is out of range for --total-shards {}: shards are numbered from 0",
                self.shard, self.total_shards
            )));
        }
        Ok(crate::store::Shard { index: self.shard, total: self.total_shards })
    }
}

impl ClusterArgs {
    /// The scopes of the watches and lists, with `shard`: one per namespace, or one for
    /// all namespaces; each with the label selector and the excluded namespaces.
    pub fn scopes(&self, shard: crate::store::Shard) -> Vec<crate::watch::Scope> {
        let mut namespaces: Vec<Option<String>> = self.namespaces.iter().cloned().map(Some).collect();
        namespaces.sort();
        namespaces.dedup();
        if namespaces.is_empty() {
            namespaces.push(None);
        }
        namespaces
            .into_iter()
            .map(|namespace| crate::watch::Scope {
                namespace,
                label_selector: self.selector.clone(),
                field_selector: self.field_selector(),
                shard,
                watch_timeout: Some(self.watch_timeout),
            })
            .collect()
    }

    /// The server-side field selector that leaves out the excluded namespaces.
    pub fn field_selector(&self) -> Option<String> {
        let parts: Vec<String> = self.exclude_namespaces.iter().map(|ns| format!("metadata.namespace!={ns}")).collect();
        (!parts.is_empty()).then(|| parts.join(","))
    }

    /// Builds a client from the flags.
    pub async fn client(&self) -> Result<kube::Client, crate::Error> {
        use kube::config::KubeConfigOptions;
        let options = KubeConfigOptions { context: self.context.clone(), ..Default::default() };
        let config = match &self.kubeconfig {
            Some(value) => {
                let kubeconfig = read_kubeconfigs(value)?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| crate::Error::Kubeconfig(format!("{}: {e}", value.to_string_lossy())))?
            }
            None if self.context.is_some() => {
                kube::Config::from_kubeconfig(&options).await.map_err(|e| crate::Error::Kubeconfig(e.to_string()))?
            }
            None => kube::Config::infer().await.map_err(|e| crate::Error::Kubeconfig(e.to_string()))?,
        };
        let mut config = config;
        if let Some(user) = &self.impersonation.user {
            config.auth_info.impersonate = Some(user.clone());
        }
        if !self.impersonation.groups.is_empty() {
            config.auth_info.impersonate_groups = Some(self.impersonation.groups.clone());
        }
        // kube sets no read timeout: a stalled connection would hold a list, a watch start or
        // a log fetch forever, and a stalled watch stream is dropped silently after its idle
        // timeout (the watch timeout + 5 s). This one fires first and is reported.
        let stall = std::time::Duration::from_secs(u64::from(self.watch_timeout)) + STALL_MARGIN;
        config.read_timeout = Some(stall);
        config.reset_reader_on_write = true;
        // A connection (TCP and TLS) gets no longer than a silent read.
        config.connect_timeout = config.connect_timeout.map(|t| t.min(stall));
        kube::Client::try_from(config).map_err(|e| crate::Error::Kubeconfig(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_from_number_or_pod_name() {
        assert_eq!(parse_shard("3"), Ok(3));
        assert_eq!(parse_shard("crashloop-exporter-2"), Ok(2));
        assert!(parse_shard("crashloop-exporter").is_err());
        let args = |a: &[&str]| match Cli::try_parse_from([&["crashloop-exporter"], a].concat()).map(Cli::into_command)
        {
            Ok(Command::Serve(s)) => s.shard().map(|s| (s.index, s.total)).map_err(|e| e.to_string()),
            other => Err(format!("{other:?}")),
        };
        assert_eq!(args(&["--shard", "exporter-1", "--total-shards", "3"]), Ok((1, 3)));
        assert!(args(&["--shard", "3", "--total-shards", "3"]).is_err_and(|e| e.contains("out of range")));
        assert!(args(&["--total-shards", "0"]).is_err());
    }

    #[test]
    fn the_name_follows_argv0() {
        let name = |s: &str| display_name(Some(OsStr::new(s)));
        assert_eq!(name("/usr/local/bin/kubectl-crashloop"), "kubectl crashloop");
        assert_eq!(name("kubectl-crash_loop"), "kubectl crash-loop");
        assert_eq!(name("target/release/crashloop-exporter"), "crashloop-exporter");
        assert_eq!(name("kubectl-"), "kubectl-");
        assert_eq!(display_name(None), "crashloop-exporter");
        let help = Cli::try_parse_as("kubectl crashloop", ["kubectl-crashloop", "scan", "--help"]).map(|_| ());
        let help = help.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(help.contains("Usage: kubectl crashloop scan"), "{help}");
    }

    /// Without `-n` or `-A`, `scan` looks in the context's namespace, as kubectl does;
    /// `diagnose` likewise leaves the namespace to the context.
    #[test]
    fn one_shot_commands_default_to_the_contexts_namespace() {
        let scopes = |a: &[&str]| match Cli::try_parse_from([&["crashloop-exporter", "scan"], a].concat())
            .map(Cli::into_command)
        {
            Ok(Command::Scan(s)) => Ok(s.scopes("team-a").into_iter().map(|s| s.namespace).collect()),
            other => Err(format!("{other:?}")),
        };
        let some = |v: &[&str]| Ok(v.iter().map(|n| Some(n.to_string())).collect::<Vec<_>>());
        assert_eq!(scopes(&[]), some(&["team-a"]));
        assert_eq!(scopes(&["-n", "b", "-n", "a"]), some(&["a", "b"]));
        assert_eq!(scopes(&["-A"]), Ok(vec![None]));
        assert_eq!(scopes(&["--all-namespaces"]), Ok(vec![None]));
        assert_eq!(scopes(&["--exclude-namespace", "kube-system"]), Ok(vec![None]));
        assert!(scopes(&["-A", "-n", "a"]).is_err(), "-A and -n conflict");
        let diagnose = |a: &[&str]| match Cli::try_parse_from([&["crashloop-exporter", "diagnose", "p"], a].concat())
            .map(Cli::into_command)
        {
            Ok(Command::Diagnose(d)) => d.namespace,
            _ => Some("error".into()),
        };
        assert_eq!(diagnose(&[]), None);
        assert_eq!(diagnose(&["-n", "shop"]), Some("shop".into()));
        // `serve` still watches every namespace without -n.
        let serve = Cli::try_parse_from(["crashloop-exporter"]).map(Cli::into_command);
        let namespaces = |s: Vec<crate::watch::Scope>| s.into_iter().map(|s| s.namespace).collect::<Vec<_>>();
        assert!(
            matches!(serve, Ok(Command::Serve(s)) if namespaces(s.cluster.scopes(crate::store::Shard::default())) == [None])
        );
    }

    #[test]
    fn kubeconfig_lists_split_as_kubectl_splits_them() {
        assert_eq!(kubeconfig_paths(OsStr::new("/a/one::/b/two:")), [PathBuf::from("/a/one"), PathBuf::from("/b/two")]);
        assert_eq!(kubeconfig_paths(OsStr::new("")), Vec::<PathBuf>::new());
    }

    /// Two kubeconfig files as `$KUBECONFIG` gives them: the first names the context (and
    /// its namespace), the second holds the cluster and the user, and a context and a
    /// current-context of its own, which lose to the first file's.
    #[tokio::test]
    async fn kubeconfigs_merge_as_kubectl_merges_them() {
        use kube::config::{KubeConfigOptions, Kubeconfig};
        let first = Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: work\ncontexts:\n- name: work\n  context: {cluster: prod, user: alice, namespace: payments}\n",
        )
        .expect("first file");
        let second = Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: prod\n  cluster: {server: 'https://prod.example:6443'}\n- name: other\n  cluster: {server: 'https://other.example'}\nusers:\n- name: alice\n  user: {token: secret}\ncontexts:\n- name: work\n  context: {cluster: other, user: alice}\n- name: other\n  context: {cluster: other, user: alice}\n",
        )
        .expect("second file");
        let merged = merge_kubeconfigs([first, second]).expect("merges");
        assert_eq!(merged.current_context.as_deref(), Some("work"), "the first current-context wins");
        let work = merged.contexts.iter().find(|c| c.name == "work").and_then(|c| c.context.clone()).expect("work");
        assert_eq!(
            (work.cluster.as_str(), work.namespace.as_deref()),
            ("prod", Some("payments")),
            "the first work wins"
        );
        assert_eq!(merged.contexts.len(), 2);
        let config = kube::Config::from_custom_kubeconfig(merged, &KubeConfigOptions::default()).await.expect("config");
        assert_eq!(config.cluster_url.to_string(), "https://prod.example:6443/");
        assert_eq!(config.default_namespace, "payments");
    }

    #[test]
    fn skip_quiet_containers_conflicts_with_healthy_details() {
        let serve = |a: &[&str]| match Cli::try_parse_from([&["crashloop-exporter"], a].concat()).map(Cli::into_command)
        {
            Ok(Command::Serve(s)) => Ok((s.healthy_container_details, s.skip_quiet_containers)),
            other => Err(format!("{other:?}")),
        };
        assert_eq!(serve(&[]), Ok((false, false)));
        assert_eq!(serve(&["--skip-quiet-containers"]), Ok((false, true)));
        assert!(serve(&["--skip-quiet-containers", "--healthy-container-details"]).is_err());
    }
}

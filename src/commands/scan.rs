//! `scan`: every troubled container of the cluster, one row each.

use serde::Serialize;

use super::read::{list_all, read_logs};
use super::snapshot::{Logs, Snapshot, container_key};
use super::table::{human_bytes, opt, printable, rfc3339, table};
use crate::config::{FailOn, Output};
use crate::log_fetch::worth_reading;
use crate::parse::signal_name;
use crate::rollout::RolloutFailure;
use crate::verdict::{Cause, ContainerReport};
use crate::view::{SlimContainer, SlimEvent, SlimPod, State, Timestamp};
use crate::watch::{Scope, scoped_api};

/// One troubled container, as `scan` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The container's name.
    pub container: String,
    /// `regular`, `init`, `sidecar` or `ephemeral`.
    pub container_type: &'static str,
    /// `Kind/name` of the pod's owner (a ReplicaSet's Deployment, a Job's CronJob), or `Pod/name`.
    pub workload: String,
    /// The container's restart count.
    pub restarts: u32,
    /// The waiting reason, `Terminated:<reason>`, `running` or `unknown`.
    pub state: String,
    /// Crash-looping, with hysteresis: from the first back-off until it ran 10 minutes.
    pub crashlooping: bool,
    /// The exit code of the latest termination.
    pub last_exit_code: Option<i32>,
    /// The signal that ended it, where the exit code says one (128 + n).
    pub signal: Option<i32>,
    /// The reason of the latest termination (`OOMKilled`, `Error`, ...).
    pub last_reason: Option<&'static str>,
    /// `None` for a container that is not troubled.
    pub cause: Option<&'static str>,
    /// The kubelet's current back-off delay, where it is known.
    pub backoff_seconds: Option<f64>,
    /// When the back-off ends (RFC 3339).
    pub next_restart: Option<String>,
    /// The container's memory limit.
    pub memory_limit_bytes: Option<u64>,
    /// The previous log, as evidence: `ok`, `not_found`, `forbidden` or `error` when it
    /// was read, `skipped` when it was not (`scan` without `--logs`, `diagnose --no-logs`);
    /// `None` when the latest termination did not fail, and no log would be read.
    pub log: Option<&'static str>,
    /// The rollout to blame, for the pods of a workload's newest template that fail while
    /// an older template serves; `None` otherwise.
    pub rollout: Option<Rollout>,
}

/// A rollout to blame, as `scan` and `diagnose` show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rollout {
    /// The newest template, where every failing pod of the workload is.
    pub template: String,
    /// When its first pod was created (RFC 3339).
    pub since: Option<String>,
    /// How many of the workload's pods fail, all of this template.
    pub failing_pods: usize,
    /// The older template that serves, and its ready pods.
    pub serving_template: String,
    pub serving_ready_pods: usize,
    /// The containers whose image the template changed.
    pub images: Vec<ImageChange>,
    /// The containers whose memory limit the template lowered.
    pub lowered_limits: Vec<LimitChange>,
    /// What happened, in one line.
    pub summary: String,
    /// The command that rolls the workload back.
    pub undo: String,
}

/// A container's memory limit, before and after the rollout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LimitChange {
    pub container: String,
    pub was_bytes: u64,
    pub now_bytes: u64,
}

/// A container's image, before and after the rollout.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageChange {
    pub container: String,
    /// `None` when the serving template has no such container.
    pub was: Option<String>,
    pub now: String,
}

impl Rollout {
    pub(super) fn of(f: &RolloutFailure, now: Timestamp) -> Self {
        Rollout {
            template: f.template.clone(),
            since: (f.since > 0).then(|| rfc3339(f.since as f64)),
            failing_pods: f.failing_pods,
            serving_template: f.serving.clone(),
            serving_ready_pods: f.serving_ready,
            images: f
                .images
                .iter()
                .map(|i| ImageChange {
                    container: i.container.to_string(),
                    was: i.was.as_deref().map(|w| w.to_string()),
                    now: i.now.to_string(),
                })
                .collect(),
            lowered_limits: f
                .lowered_limits
                .iter()
                .map(|l| LimitChange { container: l.container.to_string(), was_bytes: l.was, now_bytes: l.now })
                .collect(),
            summary: f.summary(now),
            undo: f.undo_command(),
        }
    }
}

fn state_text(c: &SlimContainer) -> String {
    match &c.state {
        State::Waiting(w) => w.reason.as_str().to_string(),
        State::Terminated(t) => format!("Terminated:{}", t.reason.as_str()),
        other => other.label().to_string(),
    }
}

/// Builds a row from a report and the logs read.
pub(super) fn row(pod: &SlimPod, r: &ContainerReport, logs: &Logs) -> Row {
    let c = r.container;
    let last = c.latest_termination();
    Row {
        namespace: pod.namespace().into(),
        pod: pod.name().into(),
        container: c.name.to_string(),
        container_type: c.container_type.as_str(),
        workload: format!("{}/{}", pod.workload.kind, pod.workload.name),
        restarts: c.restart_count,
        state: state_text(c),
        crashlooping: r.crashlooping,
        last_exit_code: last.map(|t| t.exit_code),
        signal: last.and_then(|t| t.signal()),
        last_reason: last.map(|t| t.reason.as_str()),
        cause: r.cause.map(Cause::as_str),
        backoff_seconds: r.backoff.delay_seconds(),
        next_restart: r.backoff.next_restart.map(rfc3339),
        memory_limit_bytes: c.memory_limit_bytes,
        log: worth_reading(pod, c).then(|| logs.get(&container_key(pod, c)).map_or("skipped", |l| l.result)),
        rollout: None,
    }
}

/// Lists the pods and their Events once in each scope, reads the previous logs of the
/// troubled containers that failed when `logs` is set, and returns the troubled containers.
pub async fn scan(
    client: &kube::Client,
    scopes: &[Scope],
    logs: bool,
    now: Timestamp,
) -> Result<Vec<Row>, kube::Error> {
    let mut pods = Vec::new();
    let mut events = Vec::new();
    for scope in scopes {
        let ns = scope.namespace.as_deref();
        pods.extend(list_all(&scoped_api::<SlimPod>(client.clone(), ns), scope.pod_list_params()).await?);
        // Events only sharpen the causes: without permission to list them, carry on.
        match list_all(&scoped_api::<SlimEvent>(client.clone(), ns), scope.event_list_params()).await {
            Ok(list) => events.extend(list),
            Err(e) => tracing::warn!(error = %e, "cannot list events; causes rely on pod status only"),
        }
    }
    let snapshot = Snapshot::of(pods, &events, now);
    let read = if logs { read_logs(client, snapshot.logs_to_read(now)).await } else { Logs::new() };
    Ok(rows(&snapshot, &read, now))
}

/// Whether `scan` fails (exits 1) on these rows.
pub fn fails(rows: &[Row], fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Crashloop => rows.iter().any(|r| r.crashlooping),
        FailOn::Any => !rows.is_empty(),
        FailOn::Never => false,
    }
}

/// The troubled containers of a snapshot, one row each.
pub(super) fn rows(snapshot: &Snapshot, logs: &Logs, now: Timestamp) -> Vec<Row> {
    let rollouts = snapshot.rollouts(now);
    let mut rows = Vec::new();
    for pod in snapshot.pods() {
        let rollout = rollout_of(&rollouts, pod).map(|f| Rollout::of(f, now));
        for r in snapshot.assess(pod, logs, now, false).iter().filter(|r| r.cause.is_some()) {
            rows.push(Row { rollout: rollout.clone(), ..row(pod, r, logs) });
        }
    }
    rows
}

/// The rollout to blame that `pod` is of: its workload's, and its template the newest.
pub(super) fn rollout_of<'r>(rollouts: &'r [RolloutFailure], pod: &SlimPod) -> Option<&'r RolloutFailure> {
    let template = pod.shown.as_ref().and_then(|s| s.template.as_deref())?;
    rollouts.iter().find(|f| {
        f.namespace == pod.namespace()
            && f.workload_kind == pod.workload.kind
            && f.workload == pod.workload.name
            && f.template == template
    })
}

/// Renders `scan`'s output; the table says when the logs were not read.
pub fn render_scan(rows: &[Row], output: Output) -> String {
    match output {
        Output::Json => {
            return serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")) + "\n";
        }
        Output::Yaml => return serde_saphyr::to_string(&rows).unwrap_or_else(|e| format!("error: {e}\n")),
        Output::Table | Output::Wide => {}
    }
    if rows.is_empty() {
        return "No troubled containers.\n".into();
    }
    let mut out = rows_table(rows, output == Output::Wide);
    out.push_str(&rollouts_text(rows));
    if rows.iter().any(|r| r.log == Some("skipped")) {
        out.push_str(
            "\nCauses from the pods' status and Events only: --logs also reads the previous logs, as the server does with --logs.\n",
        );
    }
    out
}

/// The rollouts to blame among the rows, once per workload, with the undo command.
pub(super) fn rollouts_text(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        let Some(rollout) = &r.rollout else { continue };
        if seen.contains(&(&r.namespace, &r.workload)) {
            continue;
        }
        seen.push((&r.namespace, &r.workload));
        if out.is_empty() {
            out.push_str("\nRollouts to blame:\n");
        }
        out.push_str(&format!(
            "  {} {}: {}.\n    undo: {}\n",
            r.namespace,
            r.workload,
            printable(&rollout.summary),
            printable(&rollout.undo)
        ));
    }
    out
}

/// The rows as aligned columns; `wide` adds the type, the loop, the last reason and the
/// memory limit.
pub(super) fn rows_table(rows: &[Row], wide: bool) -> String {
    let mut headers = vec![
        "NAMESPACE",
        "POD",
        "CONTAINER",
        "WORKLOAD",
        "RESTARTS",
        "STATE",
        "EXIT",
        "SIGNAL",
        "CAUSE",
        "BACKOFF",
        "NEXT-RESTART",
    ];
    if wide {
        headers.extend(["TYPE", "LOOPING", "LAST-REASON", "MEMORY-LIMIT"]);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![
                r.namespace.clone(),
                r.pod.clone(),
                r.container.clone(),
                r.workload.clone(),
                r.restarts.to_string(),
                r.state.clone(),
                opt(r.last_exit_code),
                opt(r.signal.map(signal_name)),
                opt(r.cause),
                opt(r.backoff_seconds.map(|s| format!("{s}s"))),
                opt(r.next_restart.clone()),
            ];
            if wide {
                cells.extend([
                    r.container_type.to_string(),
                    r.crashlooping.to_string(),
                    opt(r.last_reason),
                    opt(r.memory_limit_bytes.map(human_bytes)),
                ]);
            }
            cells
        })
        .collect();
    table(&headers, &cells)
}

// The settings of the crashloop-exporter mixin: the one place to change selectors,
// thresholds, durations and severities of the alerts, and the look of the dashboards.
//
// Override any field from your own jsonnet:
//
//   (import 'crashloop-exporter-mixin/mixin.libsonnet') + {
//     _config+:: { exporterSelector: 'job="crashloop"', crashLoopingFor: '15m' },
//   }
//
// The rendered files in the repository (alerts/crashloop-exporter.rules.yaml,
// deploy/base/prometheusrule.yaml, dashboards/*.json, the Grafana ConfigMap of
// deploy/components/kube-prometheus-stack) are these defaults; `.ci/gen-mixin` writes
// them and `.ci/gen-mixin --check` fails in CI when they are out of date.
{
  _config+:: {
    // The version whose runbooks the alerts link to; .ci/checks/rules keeps it equal to
    // Cargo.toml's version.
    version: '0.1.0',
    // Each alert links to this pattern with %s replaced by the alert's name.
    runbookURLPattern: 'https://github.com/crashloop-exporter/crashloop-exporter/blob/v%s/docs/runbooks/%%s.md' % self.version,

    // Each alert's dashboard_url links to the workload dashboard at this Grafana address
    // (e.g. 'https://grafana.example.com'). Empty: a path alone (/d/...), which Grafana's
    // own alert list resolves but a chat message does not.
    grafanaURL: '',
    // The pod labels the exporter copies onto crashloop_pod_workload_info (its --pod-labels,
    // e.g. ['team', 'tier']): every alert then carries them as label_team, label_tier, and
    // Alertmanager can route by owner (alerts/alertmanager.example.yml).
    podLabels: [],

    // Label matchers of the exporter's scrape job (the Service's name under
    // prometheus-operator, `job_name` in deploy/prometheus/scrape-config.yaml).
    exporterSelector: 'job="crashloop-exporter"',
    // Extra matchers for every container and pod alert, e.g. 'namespace!~"dev-.*"';
    // empty: every namespace.
    namespaceSelector: '',
    // The label that tells clusters apart (Thanos, federation); kept by every aggregation.
    clusterLabel: 'cluster',

    // Alerts (names in alerts.libsonnet; why each value, in docs/alerts.md). A duration
    // is a Prometheus duration; a `for` of '0s' means none. Severities: critical pages,
    // warning goes to a ticket or chat, info is a notice.

    // CrashloopContainerCrashLooping: crashloop_container_crashlooping is 1 and the container both
    // restarted crashLoopingMinRestarts times in crashLoopingRestartsWindow and was in
    // back-off within crashLoopingBackoffWindow, for crashLoopingFor.
    crashLoopingMinRestarts: 3,  // a rollout's two quick restarts (a dependency starting) stay quiet
    crashLoopingRestartsWindow: '30m',  // holds 3 restarts even at the 5-minute maximum back-off
    crashLoopingBackoffWindow: '5m',  // the kubelet's maximum back-off: no back-off for longer means it runs
    crashLoopingFor: '2m',  // fires about 4 minutes into a loop; KubePodCrashLooping needs 15
    crashLoopingSeverity: 'warning',  // one container; CrashloopWorkloadCrashLooping pages

    // CrashloopContainerOOMKilled / CrashloopContainerOOMKilledRepeatedly: OOM kills of one container in oomWindow.
    oomWindow: '30m',  // how long one kill stays visible
    oomPeakWindow: '15m',  // the description's peak working set (cAdvisor, where scraped) is over this
    oomRepeatedCount: 2,  // this many kills or more is Repeatedly (and a pod CrashloopWorkloadOOMKilled counts)
    oomKilledRepeatedlySeverity: 'warning',  // one container; CrashloopWorkloadOOMKilled pages
    oomKilledSeverity: 'info',  // one kill of a long-running container can be a one-off peak
    oomKilledBatchSeverity: 'warning',  // one kill of a batch container loses the run's work
    batchWorkloadKinds: 'Job|CronJob',  // workload_kind values (a regex) that are batch

    // CrashloopContainerProbeKilled: liveness or startup probe kills in probeKillWindow.
    probeKillWindow: '30m',  // how long one kill stays visible
    probeKilledRepeatedCount: 2,  // this many kills or more warn
    probeKilledOnceSeverity: 'info',  // one kill can be a GC pause or a noisy neighbour
    probeKilledSeverity: 'warning',

    // CrashloopContainerCannotStart: a probable cause of cannotStartCauses (a regex) for
    // cannotStartFor.
    cannotStartCauses: 'security_context|invalid_config|sandbox_failed|volume_mount|stuck_init|runtime_error|command_not_found',
    cannotStartFor: '5m',  // a sandbox or a volume that fails for 5 minutes is not a hiccup
    cannotStartSeverity: 'warning',

    // CrashloopPodUnschedulable: no node fits the pod for unschedulableSeconds (from when
    // the scheduler said so).
    unschedulableSeconds: 900,  // longer than a cluster autoscaler takes to add a node
    unschedulableSeverity: 'warning',

    // CrashloopContainerImagePullFailing: waiting on an image it cannot pull for imagePullFor.
    imagePullFor: '10m',  // longer than a slow registry's retries
    imagePullSeverity: 'warning',

    // CrashloopPodMissingConfigObject: waiting for a missing ConfigMap, Secret or PVC for missingObjectFor.
    missingObjectFor: '3m',  // covers objects created a moment after the pod (one `kubectl apply`)
    missingObjectSeverity: 'warning',

    // CrashloopContainerRestartingOften: restartsCount or more restarts in restartsWindow.
    restartsWindow: '1h',
    restartsCount: 5,  // catches restarts too slow (over 10 minutes apart) to count as a loop
    restartingOftenSeverity: 'warning',

    // CrashloopWorkloadRestartingSlowly: restartsSlowCount or more failures of a workload's
    // containers after runs of 10 minutes or more, in restartsSlowWindow, across its pods.
    restartsSlowWindow: '3h',  // a crash every 60 minutes fires at the third, after 2 to 3 hours
    restartsSlowCount: 3,
    restartingSlowlySeverity: 'warning',

    // CrashloopWorkloadPodsRefused: the controller's refusals (FailedCreate) span at least
    // refusedSpanSeconds within refusedWindow (refusedWindowSeconds, the same duration).
    refusedWindow: '20m',  // longer than the controller's longest retry back-off (1000 s)
    refusedWindowSeconds: 1200,
    refusedSpanSeconds: 300,  // a refusal that a freed quota ends within minutes stays quiet
    refusedSeverity: 'warning',

    // CrashloopPodsDisrupted: disruptedCount pods or more of one namespace disrupted (one
    // kind) in disruptedWindow.
    disruptedWindow: '30m',
    disruptedCount: 3,
    disruptedSeverity: 'warning',

    // CrashloopWorkloadCrashLooping / CrashloopWorkloadOOMKilled: at least workloadAffectedRatio of a
    // workload's pods (crashloop_workload_pods) crash-loop, or were OOM-killed
    // oomRepeatedCount times in oomWindow.
    workloadAffectedRatio: 0.5,  // half the replicas or more: the workload itself is down or degraded
    workloadKindsExcluded: 'Job|CronJob|Pod',  // batch runs are retried (warned per container); bare pods have no controller
    workloadCrashLoopingFor: '2m',  // as CrashloopContainerCrashLooping
    workloadCrashLoopingSeverity: 'critical',
    workloadOOMKilledSeverity: 'critical',  // no `for`: kills are counted over oomWindow
    // CrashloopWorkloadRolloutStuck: the loop is confined to one template while another serves.
    rolloutStuckSeverity: 'warning',  // the mixin's KubeDeploymentRolloutStuck is a warning too

    // CrashloopExporterDown: one replica (or every target) unscrapable for exporterDownFor.
    exporterDownFor: '5m',
    exporterDownSeverity: 'warning',  // a ticket: KSM and the mixin still see crash loops

    // The exporter's API-error alerts count errors in apiErrorsWindow. A failing watch retries
    // at least every 30s, so a lasting failure adds errors in every window; each `for` below
    // is longer than the window, so that one transient error alone never fires.
    apiErrorsWindow: '5m',
    // CrashloopExporterWatchStale: not in sync for watchStaleSeconds while API errors go on, for watchStaleFor.
    watchStaleSeconds: 900,
    watchStaleFor: '10m',
    watchStaleSeverity: 'warning',
    // CrashloopExporterAPIErrors: errors other than 403/401 and 410 Gone, for apiErrorsFor.
    apiErrorsFor: '15m',
    apiErrorsSeverity: 'warning',
    // CrashloopExporterForbidden: the API refuses the exporter (403/401) for forbiddenFor.
    forbiddenFor: '10m',
    forbiddenSeverity: 'warning',  // as exporterDownSeverity; with only Events refused, pod metrics still work

    // Dashboards (dashboards.libsonnet): crashloop-overview.json and crashloop-workload.json.
    // Their variables: datasource, the clusterLabel one (`cluster`), namespace, workload_kind,
    // workload, and pod and container on the workload dashboard; the exporter-health panels
    // select exporterSelector.
    dashboardUIDs: { overview: 'crashloop-overview', workload: 'crashloop-workload' },
    dashboardTags: ['crashloop-exporter'],
    dashboardRefresh: '1m',
    dashboardTimezone: '',  // the browser's; or 'utc', or an IANA zone such as 'Europe/Berlin'
    dashboardGraphTooltip: 1,  // 0 no sharing, 1 shared crosshair, 2 shared tooltip
    // null, or a URL template for a "Logs" data link on each container row of the tables,
    // e.g. a Grafana Explore URL for Loki (URL-encoded where it holds JSON). ${namespace},
    // ${pod} and ${container} become the row's values; ${__url_time_range} (from=...&to=...)
    // and the dashboard's variables work as in any Grafana data link.
    logsLink: null,
    // Show the clusterLabel variable (as the kubernetes-mixin's showMultiCluster); hidden,
    // it stays All, and legends leave the cluster out.
    showMultiCluster: false,
    // The Grafana folder of the ConfigMaps (deploy/components/kube-prometheus-stack): the
    // sidecar reads the annotation named by its sidecar.dashboards.folderAnnotation (and
    // needs provider.foldersFromFilesStructure: true); null: no annotation.
    grafanaFolder: 'crashloop-exporter',
    grafanaFolderAnnotation: 'grafana_folder',
    // Rollout annotations (workload dashboard): a template (pod-template-hash, ...) counts
    // as new when the workload had no pod of it in this window before.
    dashboardRolloutLookback: '1h',
  },
}

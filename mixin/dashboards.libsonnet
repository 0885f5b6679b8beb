// The Grafana dashboards of the mixin (grafanaDashboards, one object per file name),
// built in mixin/dashboards/:
//
//   overview.libsonnet   crashloop-overview.json   across namespaces
//   workload.libsonnet   crashloop-workload.json   one workload's (or pod's) containers
//   common.libsonnet     their titles, variables and row links
//   queries.libsonnet    the PromQL builders (the first-kill correction, the workload join)
//   grafana.libsonnet    the panel, table and layout builders
//
// Configured by _config (config.libsonnet, under "Dashboards"); .ci/gen-mixin renders them
// into dashboards/*.json and the Grafana ConfigMap.
local overview = import 'dashboards/overview.libsonnet';
local workload = import 'dashboards/workload.libsonnet';

// The alerts the "Firing alerts" tables show: those of this mixin (alerts.libsonnet),
// or, should it have none, the names the alert rules had when the dashboards were written.
local fallbackAlertNames = [
  'CrashloopContainerCrashLooping',
  'CrashloopContainerOOMKilledRepeatedly',
  'CrashloopContainerOOMKilled',
  'CrashloopContainerProbeKilled',
  'CrashloopContainerImagePullFailing',
  'CrashloopPodMissingConfigObject',
  'CrashloopContainerRestartingOften',
  'CrashloopWorkloadCrashLooping',
  'CrashloopWorkloadOOMKilled',
  'CrashloopExporterDown',
  'CrashloopExporterWatchStale',
  'CrashloopExporterAPIErrors',
  'CrashloopExporterForbidden',
];

{
  local alertNames =
    local alerts = if std.objectHasAll($, 'prometheusAlerts') then $.prometheusAlerts else {};
    local groups = if std.objectHasAll(alerts, 'groups') then alerts.groups else [];
    local names = std.set([r.alert for group in groups for r in group.rules if std.objectHas(r, 'alert')]);
    if names == [] then std.set(fallbackAlertNames) else names,

  grafanaDashboards+:: {
    'crashloop-overview.json': overview($._config, alertNames),
    'crashloop-workload.json': workload($._config, alertNames),
  },
}

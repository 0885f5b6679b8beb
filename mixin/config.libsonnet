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

    // Label matchers of the exporter's scrape job (the Service's name under
    // prometheus-operator, `job_name` in deploy/prometheus/scrape-config.yaml).
    exporterSelector: 'job="crashloop-exporter"',
    // Extra matchers for every container and pod alert, e.g. 'namespace!~"dev-.*"';
    // empty: every namespace.
    namespaceSelector: '',
    // The label that tells clusters apart (Thanos, federation); kept by every aggregation.
    clusterLabel: 'cluster',

    // Alerts (names in alerts.libsonnet); the helper of each section says what it tunes.

    // Dashboards (dashboards.libsonnet): crashloop-overview.json and crashloop-workload.json.
    // Their variables: datasource, the clusterLabel one (`cluster`), namespace, workload,
    // and pod on the workload dashboard; the exporter-health panels select exporterSelector.
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
  },
}

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
  },
}

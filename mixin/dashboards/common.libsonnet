// What both dashboards share: titles and URLs, the variables, and the data links of the
// table rows (to the workload dashboard, and to the logs where _config.logsLink is set).
local g = import 'grafana.libsonnet';

// Grafana's slug of a title: lower case, every run of other characters one '-'.
local slug(title) =
  local alnum(c) = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  local dashed = std.join('', [if alnum(c) then c else '-' for c in std.stringChars(std.asciiLower(title))]);
  local squeeze(s) = if std.length(std.findSubstr('--', s)) == 0 then s else squeeze(std.strReplace(s, '--', '-'));
  squeeze(dashed);

function(config)
  local cl = config.clusterLabel;
  local info(matchers) = 'crashloop_pod_workload_info{%s}' % std.join(', ', matchers);
  local clusterMatcher = '%s=~"$%s"' % [cl, cl];
  local workloadKind = 'workload_kind=~"$workload_kind"';
  {
    overviewTitle:: 'crashloop-exporter / Overview',
    workloadTitle:: 'crashloop-exporter / Workload',
    overviewURL:: '/d/%s/%s' % [config.dashboardUIDs.overview, slug(self.overviewTitle)],
    workloadURL:: '/d/%s/%s' % [config.dashboardUIDs.workload, slug(self.workloadTitle)],

    // --- variables ---------------------------------------------------------------------
    // Hidden (hide: 2) unless _config.showMultiCluster, as in the kubernetes-mixin; All
    // (`.*`) also matches series without the label.
    clusterVariable:: g.queryVariable(
      cl,
      'Cluster',
      'label_values(crashloop_exporter_build_info{%s}, %s)' % [config.exporterSelector, cl],
      'Only where series carry a %s label (Thanos, federation); empty otherwise.' % cl,
    ) + { hide: if config.showMultiCluster then 0 else 2 },
    namespaceVariable:: g.queryVariable('namespace', 'Namespace', 'label_values(%s, namespace)' % info([clusterMatcher])),
    // The kind and the name of a workload are two variables, and every query that selects
    // the name selects the kind too: a Deployment and a StatefulSet `web` stay apart.
    workloadKindVariable:: g.queryVariable(
      'workload_kind',
      'Kind',
      'label_values(%s, workload_kind)' % info([clusterMatcher, 'namespace=~"$namespace"']),
    ),
    workloadVariable:: g.queryVariable(
      'workload',
      'Workload',
      'label_values(%s, workload)' % info([clusterMatcher, 'namespace=~"$namespace"', workloadKind]),
    ),
    podVariable:: g.queryVariable(
      'pod',
      'Pod',
      'label_values(%s, pod)' % info([clusterMatcher, 'namespace=~"$namespace"', workloadKind, 'workload=~"$workload"']),
    ),
    // The containers of the selected pods that have series in the time range (a healthy
    // container of a quiet exporter has none): query_result, as label_values cannot join.
    containerVariable:: g.queryVariable(
      'container',
      'Container',
      'query_result(count by (container) (present_over_time(crashloop_container_restarts_total{%s}[$__range]) and on (%s, namespace, pod) present_over_time(%s[$__range])))'
      % [std.join(', ', [clusterMatcher, 'namespace=~"$namespace"', 'pod=~"$pod"']), cl, info([clusterMatcher, 'namespace=~"$namespace"', workloadKind, 'workload=~"$workload"', 'pod=~"$pod"'])],
      regex='/container="([^"]+)"/',
    ),

    // --- the cluster in legends and tables, where it is shown ------------------------------
    legend(format):: if config.showMultiCluster then '{{%s}} %s' % [cl, format] else format,
    clusterColumn:: if config.showMultiCluster then [cl] else [],
    clusterHidden:: if config.showMultiCluster then [] else [cl],

    // --- data links of table rows --------------------------------------------------------
    // To the workload dashboard with the row's namespace, workload kind and workload (and
    // pod), keeping the data source, the cluster and the time range.
    local toWorkload = '%s?${datasource:queryparam}&${%s:queryparam}&var-namespace=${__data.fields.namespace}&var-workload_kind=${__data.fields.workload_kind}&var-workload=${__data.fields.workload}' % [self.workloadURL, cl],
    podColumn:: g.links('pod', [{
      title: 'Workload dashboard: pod ${__data.fields.pod}',
      url: toWorkload + '&var-pod=${__data.fields.pod}&${__url_time_range}',
    }]),
    workloadColumn:: g.links('workload', [{
      title: 'Workload dashboard: ${__data.fields.workload_kind} ${__data.fields.workload}, all pods',
      url: toWorkload + '&${__url_time_range}',
    }]),
    // The "Logs" link on the container column: [] without _config.logsLink.
    logsColumn:: if config.logsLink == null then [] else [g.links('container', [{
      title: 'Logs',
      url: std.foldl(
        function(url, label) std.strReplace(url, '${%s}' % label, '${__data.fields.%s}' % label),
        ['namespace', 'pod', 'container'],
        config.logsLink,
      ),
      targetBlank: true,
    }])],
  }

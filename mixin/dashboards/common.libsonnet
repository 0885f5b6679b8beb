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
  {
    overviewTitle:: 'crashloop-exporter / Overview',
    workloadTitle:: 'crashloop-exporter / Workload',
    overviewURL:: '/d/%s/%s' % [config.dashboardUIDs.overview, slug(self.overviewTitle)],
    workloadURL:: '/d/%s/%s' % [config.dashboardUIDs.workload, slug(self.workloadTitle)],

    // --- variables ---------------------------------------------------------------------
    clusterVariable:: g.queryVariable(
      cl,
      'Cluster',
      'label_values(crashloop_exporter_build_info{%s}, %s)' % [config.exporterSelector, cl],
      'Only where series carry a %s label (Thanos, federation); empty otherwise.' % cl,
    ),
    namespaceVariable:: g.queryVariable('namespace', 'Namespace', 'label_values(%s, namespace)' % info([clusterMatcher])),
    workloadVariable:: g.queryVariable(
      'workload',
      'Workload',
      'label_values(%s, workload)' % info([clusterMatcher, 'namespace=~"$namespace"']),
    ),
    podVariable:: g.queryVariable(
      'pod',
      'Pod',
      'label_values(%s, pod)' % info([clusterMatcher, 'namespace=~"$namespace"', 'workload=~"$workload"']),
    ),

    // --- data links of table rows --------------------------------------------------------
    // To the workload dashboard with the row's namespace and workload (and pod), keeping the
    // data source, the cluster and the time range.
    local toWorkload = '%s?${datasource:queryparam}&${%s:queryparam}&var-namespace=${__data.fields.namespace}&var-workload=${__data.fields.workload}' % [self.workloadURL, cl],
    podColumn:: g.links('pod', [{
      title: 'Workload dashboard: pod ${__data.fields.pod}',
      url: toWorkload + '&var-pod=${__data.fields.pod}&${__url_time_range}',
    }]),
    workloadColumn:: g.links('workload', [{
      title: 'Workload dashboard: ${__data.fields.workload}, all pods',
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

// crashloop-exporter / Overview: which containers are crash-looping and why, across
// namespaces. Every panel honours $cluster, $namespace, $workload_kind and $workload, and
// every `by` keeps the cluster; the container tables link each row to the workload
// dashboard (the row's namespace, workload kind, workload and pod).
local g = import 'grafana.libsonnet';
local common = import 'common.libsonnet';

function(config, alertNames)
  local q = (import 'queries.libsonnet')(config);
  local l = common(config);
  local cl = config.clusterLabel;
  local sel = q.sel;
  local exporter(metric) = '%s{%s, %s=~"$%s"}' % [metric, config.exporterSelector, cl, cl];

  // A count of containers (or pods) right now; 0 rather than no data.
  local count(expr) = 'count(%s) or vector(0)' % q.inWorkload(expr);

  // The links of a container table's rows: the pod, the workload, the logs.
  local rowLinks = [l.podColumn, l.workloadColumn] + l.logsColumn;

  local now = [
    g.stat(
      'Crash-looping containers',
      'Containers whose crashloop_container_crashlooping is 1 (with hysteresis: stays 1 through the Running gaps between crashes).',
      count(q.perContainer(sel('crashloop_container_crashlooping') + ' == 1')),
      w=4,
    ),
    g.stat(
      'Troubled containers',
      'Crash-looping, waiting with an error reason, evicted, or ended for good with a failure: the containers with a probable cause (crashloop_container_probable_cause).',
      count(q.perContainer(q.troubled)),
      w=4,
    ),
    g.stat(
      'In CrashLoopBackOff',
      'Containers waiting in CrashLoopBackOff right now.',
      count(q.perContainer(sel('crashloop_container_waiting_reason', 'reason="CrashLoopBackOff"') + ' == 1')),
      w=4,
    ),
    g.stat(
      'OOM kills in range',
      "OOM kills counted by the exporter over the dashboard's time range (a container's first kill included).",
      'round(sum(%s)) or vector(0)' % q.inWorkload(q.oomKillsInRange()),
      w=4,
    ),
    g.stat(
      'Probe kills in range',
      "Liveness and startup probe kills over the dashboard's time range (from Killing events: a lower bound).",
      'round(sum(%s)) or vector(0)' % q.inWorkload(q.probeKillsInRange),
      w=4,
    ),
    g.stat(
      'Pods blocked on a missing object',
      'Pods waiting for a ConfigMap, Secret or PVC that does not exist.',
      count('max by (%s) (%s == 1)' % [q.podKey, sel('crashloop_pod_missing_object')]),
      w=4,
    ),
  ];

  local byNamespace = [
    g.timeseries(
      'Crash-looping containers by namespace',
      'Crash-looping containers per namespace over time.',
      [g.target(
        'sum by (%s, namespace) (%s)' % [cl, q.inWorkload(q.perContainer(sel('crashloop_container_crashlooping') + ' == 1'))],
        l.legend('{{namespace}}'),
      )],
      w=12,
      stacked=true,
    ),
    g.piechart(
      'Troubled containers by cause',
      'Troubled containers by probable cause (crashloop_container_probable_cause).',
      [g.instant('count by (%s, cause) (%s)' % [cl, q.inWorkload(q.perContainer(q.troubled, ['cause']))], l.legend('{{cause}}'))],
      w=6,
    ),
    g.bargauge(
      'Troubled containers by namespace',
      'Troubled containers (with a probable cause) per namespace.',
      [g.instant('sort_desc(count by (%s, namespace) (%s))' % [cl, q.inWorkload(q.perContainer(q.troubled))], l.legend('{{namespace}}'))],
      w=6,
    ),
  ];

  // Troubled containers, one row each: the probable cause (A, with the workload) and,
  // merged into the row, what the other series say about the same containers.
  local troubledOnly(expr) = q.inWorkload('%s and on (%s) %s' % [expr, q.containerKey, q.troubled]);
  local tables = [
    g.table(
      'Troubled containers and their probable cause',
      'Troubled containers (crash-looping, waiting with an error, evicted, ended with a failure) with their probable cause, since when they crash-loop, their last termination, how long that instance ran (under 2 s: a command or config error; the probe budget: a probe), its exit code, and their restarts. A row links to the workload dashboard (pod, workload).',
      g.lettered(g.tableTarget, [
        q.withWorkload(q.perContainer(q.troubled, ['cause'])),
        troubledOnly(q.perContainer(sel('crashloop_container_crashloop_start_timestamp_seconds')) + ' * 1000'),
        troubledOnly(q.perContainer(sel('crashloop_container_last_terminated_timestamp_seconds')) + ' * 1000'),
        troubledOnly(q.perContainer(sel('crashloop_container_last_terminated_exit_code'))),
        troubledOnly(q.perContainer(sel('crashloop_container_restarts_total'))),
        troubledOnly(q.perContainer(sel('crashloop_container_last_run_seconds'))),
      ]),
      w=12,
      columns=l.clusterColumn + [
        'namespace',
        'workload_kind',
        'workload',
        'pod',
        'container',
        'cause',
        ['Value #B', 'crash-looping since'],
        ['Value #C', 'last termination'],
        ['Value #F', 'last run'],
        ['Value #D', 'exit code'],
        ['Value #E', 'restarts'],
      ],
      hidden=l.clusterHidden + ['Value #A'],
      overrides=rowLinks + [
        g.age('crash-looping since'),
        g.age('last termination'),
        g.byName('last run', { unit: 's' }),
        g.integer('exit code'),
        g.integer('restarts'),
      ],
      sortBy=['restarts', true],
    ),
    g.table(
      'Top restarters',
      "The 15 containers with the most restarts over the dashboard's time range.",
      [g.tableTarget(
        'topk(15, %s > 0)' % q.withWorkload(
          q.perContainer('increase(%s[$__range])' % sel('crashloop_container_restarts_total'))
        )
      )],
      w=12,
      columns=l.clusterColumn + ['namespace', 'workload_kind', 'workload', 'pod', 'container', ['Value', 'Restarts']],
      hidden=l.clusterHidden,
      overrides=rowLinks + [g.integer('Restarts')],
      sortBy=['Restarts', true],
    ),
  ];

  local alerts = [
    g.table(
      'Firing alerts',
      "The mixin's alerts firing now (Prometheus' ALERTS), with the time each became active (pending).",
      [g.tableTarget(q.firingAlerts(alertNames))],
      w=24,
      h=7,
      columns=l.clusterColumn + [
        'alertname',
        'severity',
        'namespace',
        'workload_kind',
        'workload',
        'pod',
        'container',
        'instance',
        ['Value', 'active since'],
      ],
      hidden=l.clusterHidden,
      overrides=[l.podColumn, l.workloadColumn, g.age('active since')],
      sortBy=['active since', true],
    ),
  ];

  local overTime = [
    [
      g.timeseries(
        'OOM kills',
        'OOM kills per workload, per $__rate_interval (a container\'s first kill included).',
        [g.target(
          'sum by (%s) (%s) > 0'
          % [q.workloadKey, q.withWorkload(q.countPerInterval('crashloop_container_terminations_total', 'reason="OOMKilled"'))],
          l.legend('{{namespace}}/{{workload}} ({{workload_kind}})'),
        )],
        w=12,
        bars=true,
      ),
      g.timeseries(
        'Terminations by reason',
        'Terminations by reason, per $__rate_interval: counted from restartCount increases, and the failed end of a container that will not run again (a restartPolicy Never pod, a failed Job pod).',
        [g.target(
          'sum by (%s, reason) (%s) > 0'
          % [cl, q.inWorkload(q.countPerInterval('crashloop_container_terminations_total', labels=['reason']))],
          l.legend('{{reason}}'),
        )],
        w=12,
        bars=true,
      ),
    ],
    [
      // Both counts per $__rate_interval (a first value included): one unit, no per-second
      // rate beside a count. Kills are few, failures many: kills on their own axis.
      g.timeseries(
        'Probe failures and kills by probe, per interval',
        'Failed probe runs (Unhealthy events; lines, left axis) and kills (Killing events; bars, right axis) per $__rate_interval, by probe; a first value included.',
        [
          g.target(
            'sum by (%s, probe) (%s)' % [cl, q.inWorkload(q.countPerInterval('crashloop_container_probe_failures_total', labels=['probe']))],
            l.legend('failures {{probe}}'),
            'A',
          ),
          g.target(
            'sum by (%s, probe) (%s)' % [cl, q.inWorkload(q.countPerInterval('crashloop_container_probe_kills_total', labels=['probe']))],
            l.legend('kills {{probe}}'),
            'B',
          ),
        ],
        w=12,
        overrides=[g.byQuery('B', {
          'custom.drawStyle': 'bars',
          'custom.fillOpacity': 60,
          'custom.axisPlacement': 'right',
        })],
      ),
      g.timeseries(
        'Back-off delays (top 20)',
        "The kubelet's current CrashLoopBackOff delay (10 s doubling to 5 min) of containers in back-off: the 20 with the longest delay in the time range.",
        [g.target(
          '%s and on (%s) %s' % [
            q.inWorkload(q.perContainer(sel('crashloop_container_backoff_delay_seconds'))),
            q.containerKey,
            q.topOverRange(20, 'crashloop_container_backoff_delay_seconds'),
          ],
          l.legend('{{namespace}}/{{pod}}/{{container}}'),
        )],
        w=12,
        unit='s',
      ),
    ],
  ];

  local blockers = [
    [
      g.table(
        'Image pull failures',
        'Containers waiting on an image they cannot pull, with the category of the last pull error.',
        [g.tableTarget(q.withWorkload(q.perContainer(sel('crashloop_container_image_pull_failure') + ' == 1', ['category'])))],
        w=12,
        columns=l.clusterColumn + ['namespace', 'workload_kind', 'workload', 'pod', 'container', ['category', 'last error']],
        hidden=l.clusterHidden + ['Value'],
        overrides=rowLinks,
      ),
      g.table(
        'Missing ConfigMaps, Secrets and PVCs',
        'Objects pods wait for and the cluster lacks: create them.',
        [g.tableTarget(q.withWorkload('max by (%s, kind, name) (%s == 1)' % [q.podKey, sel('crashloop_pod_missing_object')]))],
        w=12,
        columns=l.clusterColumn + ['namespace', 'kind', ['name', 'missing object'], 'workload_kind', 'workload', 'pod'],
        hidden=l.clusterHidden + ['Value'],
        overrides=[l.podColumn, l.workloadColumn],
      ),
    ],
    [
      g.timeseries(
        'Waiting containers by reason',
        'Waiting containers by reason (crashloop_container_waiting_reason).',
        [g.target(
          'count by (%s, reason) (%s)' % [cl, q.inWorkload(q.perContainer(sel('crashloop_container_waiting_reason') + ' == 1', ['reason']))],
          l.legend('{{reason}}'),
        )],
        w=24,
        h=7,
        stacked=true,
      ),
    ],
  ];

  local exporterHealth = [
    g.timeseries(
      'Seconds since the pod cache was in sync',
      'Grows in a quiet cluster (no pod events); alarming only with API errors.',
      [g.target(
        'time() - max by (%s, job, instance) (%s)' % [cl, exporter('crashloop_exporter_last_sync_timestamp_seconds')],
        l.legend('{{instance}}'),
      )],
      w=8,
      h=7,
      unit='s',
    ),
    g.timeseries(
      'Kubernetes API errors',
      'Errors from the Kubernetes API per second, by replica, resource and kind.',
      [g.target(
        'sum by (%s, instance, resource, kind) (rate(%s[$__rate_interval]))' % [cl, exporter('crashloop_exporter_api_errors_total')],
        l.legend('{{instance}} {{resource}} {{kind}}'),
      )],
      w=8,
      h=7,
      unit='ops',
    ),
    g.timeseries(
      'Cached objects',
      "Pods in each replica's cache, and Event records.",
      [g.target(
        'sum by (%s, instance, resource) (%s)' % [cl, exporter('crashloop_exporter_cached_objects')],
        l.legend('{{instance}} {{resource}}'),
      )],
      w=8,
      h=7,
    ),
  ];

  g.dashboard(
    config,
    config.dashboardUIDs.overview,
    l.overviewTitle,
    'Which containers are crash-looping and why, across namespaces.',
    [
      g.datasourceVariable,
      l.clusterVariable,
      l.namespaceVariable,
      l.workloadKindVariable,
      l.workloadVariable,
    ],
    g.layout(
      [[g.row('Now')], now, byNamespace, tables, alerts]
      + [[g.row('Over time')]] + overTime
      + [[g.row('Blockers')]] + blockers
      + [[g.row('Exporter')], exporterHealth]
    ),
    [g.dashboardLink('Workload', l.workloadURL)],
  )

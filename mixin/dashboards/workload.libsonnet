// crashloop-exporter / Workload: one workload's containers (or one pod's: $pod, one
// container's: $container) in detail. Every panel honours $cluster, $namespace,
// $workload_kind, $workload and $pod, every per-container one $container (the per-workload
// history counters have neither pod nor container), and every `by` keeps the cluster.
local g = import 'grafana.libsonnet';
local common = import 'common.libsonnet';

function(config, alertNames)
  local q = (import 'queries.libsonnet')(config, pod=true, container=true);
  local l = common(config);
  local cl = config.clusterLabel;
  local sel = q.sel;
  // A per-container series of the selected pods, by container (and `labels`).
  local each(metric, labels=[]) = q.inWorkload(q.perContainer(sel(metric), labels));
  // The same for a 0/1 series with a label (reason, state, ...): the one that is 1.
  local current(expr, labels) = q.inWorkload(q.perContainer(expr + ' == 1', labels));
  // A label renamed, so that the merged table keeps reason columns apart.
  local renamed(metric, from, to) = 'label_replace(%s, "%s", "$1", "%s", "(.+)")' % [sel(metric), to, from];

  local stats = [
    g.stat(
      'Crash-looping containers',
      "Containers of the workload whose crashloop_container_crashlooping is 1.",
      'count(%s) or vector(0)' % current(sel('crashloop_container_crashlooping'), []),
      w=6,
    ),
    g.stat(
      'Restarts in range',
      "Restarts of the workload's containers over the dashboard's time range.",
      'round(sum(%s)) or vector(0)' % q.inWorkload(
        q.perContainer('increase(%s[$__range])' % sel('crashloop_container_restarts_total'))
      ),
      w=6,
      thresholds=[['green', null], ['orange', 1], ['red', 5]],
    ),
    g.stat(
      'OOM kills in range',
      "OOM kills over the dashboard's time range (a container's first kill included).",
      'round(sum(%s)) or vector(0)' % q.inWorkload(q.oomKillsInRange()),
      w=6,
    ),
    g.stat(
      'Probe kills in range',
      "Liveness and startup probe kills over the dashboard's time range (a container's first kill included).",
      'round(sum(%s)) or vector(0)' % q.inWorkload(q.probeKillsInRange),
      w=6,
    ),
  ];

  local containers = g.table(
    'Containers',
    'One row per container: workload, restarts, state, waiting reason, last exit code, signal and reason, when it last terminated and how long that instance ran, probable cause, crash-looping and since when, back-off delay, next restart and memory limit (merged instant queries).',
    g.lettered(g.tableTarget, [
      q.withWorkload(q.perContainer(sel('crashloop_container_restarts_total'), ['container_type'])),  // A
      current(sel('crashloop_container_state'), ['state']),  // B
      current(renamed('crashloop_container_waiting_reason', 'reason', 'waiting_reason'), ['waiting_reason']),  // C
      each('crashloop_container_last_terminated_exit_code'),  // D
      each('crashloop_container_last_terminated_signal'),  // E
      current(renamed('crashloop_container_last_terminated_reason', 'reason', 'last_reason'), ['last_reason']),  // F
      current(sel('crashloop_container_probable_cause'), ['cause']),  // G
      each('crashloop_container_crashlooping'),  // H
      each('crashloop_container_backoff_delay_seconds'),  // I
      q.inWorkload(q.perContainer(sel('crashloop_container_next_restart_timestamp_seconds')) + ' * 1000'),  // J
      each('crashloop_container_memory_limit_bytes'),  // K
      q.inWorkload(q.perContainer(sel('crashloop_container_crashloop_start_timestamp_seconds')) + ' * 1000'),  // L
      q.inWorkload(q.perContainer(sel('crashloop_container_last_terminated_timestamp_seconds')) + ' * 1000'),  // M
      each('crashloop_container_last_run_seconds'),  // N
    ]),
    w=24,
    h=9,
    columns=l.clusterColumn + [
      'namespace',
      'workload_kind',
      'workload',
      'pod',
      'container',
      ['container_type', 'type'],
      ['Value #A', 'restarts'],
      'state',
      ['waiting_reason', 'waiting'],
      ['Value #D', 'exit code'],
      ['Value #E', 'signal'],
      ['last_reason', 'last termination'],
      ['Value #M', 'last terminated'],
      ['Value #N', 'last run'],
      'cause',
      ['Value #H', 'crash-looping'],
      ['Value #L', 'crash-looping since'],
      ['Value #I', 'back-off'],
      ['Value #J', 'next restart'],
      ['Value #K', 'memory limit'],
    ],
    hidden=l.clusterHidden + ['Value #B', 'Value #C', 'Value #F', 'Value #G'],
    overrides=l.logsColumn + [
      g.integer('restarts'),
      g.integer('exit code'),
      g.integer('signal'),
      g.byName('crash-looping', {
        mappings: [{ type: 'value', options: { '0': { text: 'no', color: 'green' }, '1': { text: 'yes', color: 'red' } } }],
        'custom.cellOptions': { type: 'color-text' },
      }),
      g.age('last terminated'),
      g.age('crash-looping since'),
      g.byName('back-off', { unit: 's' }),
      g.byName('last run', { unit: 's' }),
      g.age('next restart'),
      g.byName('memory limit', { unit: 'bytes' }),
    ],
    sortBy=['restarts', true],
  );

  local alerts = g.table(
    'Firing alerts',
    "The mixin's alerts about these pods firing now (Prometheus' ALERTS), with the time each became active (pending).",
    [g.tableTarget(q.firingAlerts(alertNames))],
    w=24,
    h=6,
    columns=l.clusterColumn + ['alertname', 'severity', 'namespace', 'workload_kind', 'workload', 'pod', 'container', 'instance', ['Value', 'active since']],
    hidden=l.clusterHidden,
    overrides=[g.age('active since')],
    sortBy=['active since', true],
  );

  local byPod(expr) = 'sum by (%s) (%s) > 0' % [q.containerKey, expr];
  local perContainerLegend = l.legend('{{pod}}/{{container}}');
  local graphs = [
    [
      g.timeseries(
        'Restarts',
        'Restarts per container (restartCount increases), per $__rate_interval.',
        [g.target(
          byPod(q.inWorkload(q.perContainer('increase(%s[$__rate_interval])' % sel('crashloop_container_restarts_total')))),
          perContainerLegend,
        )],
        w=12,
        bars=true,
      ),
      g.timeseries(
        'Terminations by reason',
        'Terminations by reason (OOMKilled, Error, Completed, ...), per $__rate_interval: each restart, and the failed end of a container that will not run again (a restartPolicy Never pod, a failed Job pod); a first termination included.',
        [g.target(
          'sum by (%s, reason) (%s) > 0'
          % [cl, q.inWorkload(q.countPerInterval('crashloop_container_terminations_total', labels=['reason']))],
          l.legend('{{reason}}'),
        )],
        w=12,
        bars=true,
      ),
    ],
    // The workload's own counters, which outlive its pods (a rollout or a deleted pod
    // loses none), where a container's series end with its pod. Summed over the exporter
    // replicas (shards split the pods), as crashloop_workload_pods; no $pod, no $container.
    [
      g.timeseries(
        'Terminations across pod replacements, by reason',
        "The workload's terminations by reason (bars; a first termination included) and restarts (line; a first restart included) per $__rate_interval, from the per-workload counters that survive pod deletions and rollouts. Ignores $pod and $container.",
        [
          g.target(
            'sum by (%s, reason) (%s) > 0'
            % [q.workloadKey, q.increaseWithFirst(q.wsel('crashloop_workload_terminations_total'), '$__rate_interval')],
            l.legend('{{workload}} {{reason}}'),
            'A',
          ),
          g.target(
            'sum by (%s) (%s) > 0' % [q.workloadKey, q.increaseWithFirst(q.wsel('crashloop_workload_restarts_total'), '$__rate_interval')],
            l.legend('{{workload}} restarts'),
            'B',
          ),
        ],
        w=24,
        h=7,
        bars=true,
        overrides=[g.byQuery('B', {
          'custom.drawStyle': 'line',
          'custom.fillOpacity': 0,
          'custom.lineWidth': 2,
          'custom.stacking': { mode: 'none', group: 'A' },
        })],
      ),
    ],
    [
      g.stateTimeline(
        'Crash-looping',
        'crashloop_container_crashlooping per container: 1 from the first back-off until it ran 10 minutes.',
        [g.target('max by (%s) (%s)' % [q.containerKey, each('crashloop_container_crashlooping')], perContainerLegend)],
        w=12,
        mappings=[{
          type: 'value',
          options: { '0': { text: 'ok', color: 'green' }, '1': { text: 'crash-looping', color: 'red' } },
        }],
        thresholds=[['green', null], ['red', 1]],
      ),
      g.timeseries(
        'Back-off delay',
        "The kubelet's current CrashLoopBackOff delay.",
        [g.target('max by (%s) (%s)' % [q.containerKey, each('crashloop_container_backoff_delay_seconds')], perContainerLegend)],
        w=12,
        unit='s',
      ),
    ],
    [
      g.timeseries(
        'Probe failures',
        'Failed probe runs (Unhealthy events) per $__rate_interval, by probe; a first failure included.',
        [g.target(
          'sum by (%s, probe) (%s) > 0'
          % [q.containerKey, q.inWorkload(q.countPerInterval('crashloop_container_probe_failures_total', labels=['probe']))],
          l.legend('{{pod}}/{{container}} {{probe}}'),
        )],
        w=12,
        bars=true,
      ),
      g.timeseries(
        'Probe kills',
        'Kills for a failed liveness or startup probe (Killing events), per $__rate_interval; a first kill included.',
        [g.target(
          'sum by (%s, probe) (%s) > 0'
          % [q.containerKey, q.inWorkload(q.countPerInterval('crashloop_container_probe_kills_total', labels=['probe']))],
          l.legend('{{pod}}/{{container}} {{probe}}'),
        )],
        w=12,
        bars=true,
      ),
    ],
    [
      g.table(
        'Image pull failures',
        'Containers waiting on an image they cannot pull.',
        [g.tableTarget(current(sel('crashloop_container_image_pull_failure'), ['category']))],
        w=12,
        h=6,
        columns=l.clusterColumn + ['namespace', 'pod', 'container', ['category', 'last error']],
        hidden=l.clusterHidden + ['Value'],
        overrides=l.logsColumn,
      ),
      g.table(
        'Missing ConfigMaps, Secrets and PVCs',
        "Objects the workload's pods wait for and the cluster lacks.",
        [g.tableTarget(q.inWorkload('max by (%s, kind, name) (%s == 1)' % [q.podKey, sel('crashloop_pod_missing_object')]))],
        w=12,
        h=6,
        columns=l.clusterColumn + ['namespace', 'kind', ['name', 'missing object'], 'pod'],
        hidden=l.clusterHidden + ['Value'],
      ),
    ],
    [
      // What each template of a workload in a rollout is: its containers' images, and when
      // its first pod came (the min across shards); the newest is the rollout's.
      g.table(
        'Templates and their images',
        'For a workload with pods of two templates or more (a rollout, or one stuck): the image of each container of each template, and when its first pod was created. The newest template is the rollout; an image that differs is what it changed.',
        [g.tableTarget(
          '1000 * (max by (%(k)s, template, container, image) (%(i)s) * on (%(k)s, template) group_left () min by (%(k)s, template) (%(c)s))'
          % { k: q.workloadKey, i: q.wsel('crashloop_workload_template_image_info'), c: q.wsel('crashloop_workload_template_created_timestamp_seconds') },
        )],
        w=24,
        h=6,
        columns=l.clusterColumn + ['namespace', 'workload', 'template', 'container', 'image', ['Value', 'first pod']],
        hidden=l.clusterHidden + ['workload_kind'],
        overrides=[g.age('first pod')],
        sortBy=['first pod', true],
      ),
    ],
  ];

  // cAdvisor's working set (container_memory_working_set_bytes, scraped from the kubelet;
  // container!="" and image!="" leave out the pod's cgroup and the pause container, as the
  // kubernetes-mixin does) and the exporter's memory limit, of the containers OOM-killed
  // in the dashboard's range (one set for the whole graph: @ end()). One query, the two
  // told apart by the label `series`, so that the limits still show where cAdvisor is not
  // scraped.
  local memory = g.timeseries(
    'Memory of OOM-killed containers',
    "Working set (cAdvisor's container_memory_working_set_bytes) against the memory limit, of the containers OOM-killed in the time range.",
    [g.target(
      '(%s or %s) and on (%s) %s > 0 and on (%s) %s' % [
        'label_replace(%s, "series", "working set", "", "")'
        % q.perContainer(sel('container_memory_working_set_bytes', 'container!="", image!=""')),
        'label_replace(%s, "series", "limit", "", "")' % q.perContainer(sel('crashloop_container_memory_limit_bytes')),
        q.containerKey,
        q.oomKillsInRange(' @ end()'),
        q.podKey,
        q.workloadInfo,
      ],
      l.legend('{{pod}}/{{container}} {{series}}'),
    )],
    w=24,
    unit='bytes',
    overrides=[g.byRegexp('/ limit$/', {
      'custom.lineStyle': { fill: 'dash', dash: [10, 10] },
      'custom.fillOpacity': 0,
    })],
  );

  g.dashboard(
    config,
    config.dashboardUIDs.workload,
    l.workloadTitle,
    "One workload's containers: restarts, state, last termination, cause, back-off; restart and termination timelines (and the workload's own, across pod replacements); rollouts; firing alerts; memory against the limit.",
    [
      g.datasourceVariable,
      l.clusterVariable,
      l.namespaceVariable,
      l.workloadKindVariable,
      l.workloadVariable,
      l.podVariable,
      l.containerVariable,
    ],
    g.layout([stats, [containers], [alerts]] + graphs + [[memory]]),
    [g.dashboardLink('Overview', l.overviewURL)],
    // On every graph: when the selected workloads' pods of a new template appeared.
    [g.promAnnotation(
      'Rollouts',
      q.newTemplates(config.dashboardRolloutLookback),
      'Rollout',
      '{{workload_kind}} {{namespace}}/{{workload}}: first pods of template {{template}}',
      tagKeys=['workload', 'template'],
    )],
  )

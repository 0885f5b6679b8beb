// The alerting rules of crashloop-exporter (prometheusAlerts). Every selector, `for`,
// window, threshold and severity comes from _config (config.libsonnet); which situations
// page, warn or stay quiet, and why, is docs/alerts.md.
//
// How the container alerts are built (every one follows the same pattern):
//
// - The condition is aggregated with `max by (cluster, namespace, pod, container,
//   container_type)`. Exporter replicas may each watch a share of the pods (sharding),
//   and during a hand-over two replicas may briefly export the same container: `max`
//   keeps one value per container whichever replica it came from, drops job/instance
//   (so a pod moving between replicas keeps the same alert), and drops the target labels
//   prometheus-operator adds. `cluster` (_config.clusterLabel) is kept where it exists
//   (Thanos, federation) and is harmless where it does not.
//
// - `* on (cluster, namespace, pod) group_left (workload_kind, workload)` with
//   crashloop_pod_workload_info adds the owning workload (Deployment, StatefulSet,
//   CronJob, ...), exported for every pod in the same scrape as its containers, so that
//   Alertmanager can group by workload. `topk by (...) (1, ...)` keeps the right-hand
//   side unique when two replicas export the same pod. With --skip-quiet-containers a pod
//   whose containers are all quiet has no workload line, but such a pod has nothing to
//   alert on either: a container with a restart or a problem keeps restarts_total and its
//   pod's workload_info, so no join below loses an alert in that mode.
//
// - `* on (cluster, namespace, pod, container) group_left (cause)` adds the probable
//   cause from crashloop_container_probable_cause == 1. That series exists only for
//   "troubled" containers (crash-looping, waiting with an error, evicted), so the
//   right-hand side falls back to one series per container without a `cause` label
//   (`or on (...) group by (...) (crashloop_container_restarts_total)`, exported for
//   every container that can alert): the join never drops an alert, and the annotation
//   then prints a default. The rule label `cause: ""` removes the label from the alert
//   itself (an empty label is no label): annotations still read it, but a change of
//   verdict during an incident neither restarts the `for` nor resolves and re-fires the
//   alert.
//
// - The last exit code (and the memory limit, the workload's pod count) are looked up at
//   evaluation time with `query` in the description.
//
// - Counters that start at a non-zero value when their series appears lose that first
//   step in increase(): a container's terminations_total appears at its first restart
//   (or at the failed end of a `restartPolicy: Never` pod) already at 1, and with
//   --skip-quiet-containers restarts_total appears at the first restart, at 1. The
//   counting alerts therefore add the series' first value when the series did not exist
//   one window earlier (the "first-value trick", counted() below):
//     increase(c[W]) + (min_over_time(c[W]) unless present_over_time(c[W] offset W)
//                       or increase(c[W]) * 0)
//   (a counter reset by an exporter restart keeps its series, and increase() handles it).
//   CrashloopContainerRestartingOften keeps a plain increase(): it needs 5 restarts, and missing
//   the first one of a new series only delays it by one restart.
//
// The workload alerts divide by crashloop_workload_pods, the number of pods of the
// workload in the exporter's cache (per replica: summed across shards). Jobs, CronJobs
// and bare pods are left out of them (_config.workloadKindsExcluded): a batch run is
// retried by its controller and warned about per container, and a bare pod is a workload
// of one with nobody's controller behind it.
{
  prometheusAlerts+:: {
    local cfg = $._config,
    local C = cfg.clusterLabel,

    // metric{matchers}, with _config.namespaceSelector first; no braces when empty.
    local sel(metric, matchers=[]) =
      local ms = std.filter(function(m) m != '', [cfg.namespaceSelector] + matchers);
      if ms == [] then metric else '%s{%s}' % [metric, std.join(', ', ms)],
    // The exporter's own series: _config.exporterSelector, never the namespace selector.
    local exporterSel(metric, matchers=[]) =
      '%s{%s}' % [metric, std.join(', ', std.filter(function(m) m != '', [cfg.exporterSelector] + matchers))],
    // A by/on label list, led by the cluster label.
    local by(labels) = std.join(', ', [C] + labels),
    local containerKey = by(['namespace', 'pod', 'container']),
    local podKey = by(['namespace', 'pod']),
    local workloadKey = by(['namespace', 'workload_kind', 'workload']),

    // Indents every line but the first by n spaces, to nest an expression in another.
    local indent(s, n) = std.join('\n' + std.repeat(' ', n), std.split(std.rstripChars(s, '\n'), '\n')),
    // A text block as one line (annotations are written as blocks below for reading).
    local fold(s) = std.join(' ', std.filter(function(l) l != '', std.split(s, '\n'))),
    local runbook(name) = std.format(cfg.runbookURLPattern, name),
    local pct(r) = '%d%%' % std.floor(r * 100 + 0.5),

    // The first-value trick (see the top of this file): how much a counter rose in the
    // window, counting its first value when the series appeared in the window.
    local counted(s, w) = |||
      increase(%(s)s[%(w)s])
      + (
          min_over_time(%(s)s[%(w)s])
          unless present_over_time(%(s)s[%(w)s] offset %(w)s)
          or increase(%(s)s[%(w)s]) * 0
        )
    ||| % { s: s, w: w },

    // Adds `cause` and the workload to a per-container expression.
    local withCauseAndWorkload(expr, workloadMatchers=[]) = |||
      %(expr)s
      * on (%(ck)s) group_left (cause) (
          topk by (%(ck)s) (1, %(cause)s == 1)
          or on (%(ck)s)
          group by (%(ck)s) (%(restarts)s)
        )
      * on (%(pk)s) group_left (workload_kind, workload)
        topk by (%(pk)s) (1, %(info)s)
    ||| % {
      expr: indent(expr, 0),
      ck: containerKey,
      pk: podKey,
      cause: sel('crashloop_container_probable_cause'),
      restarts: sel('crashloop_container_restarts_total'),
      info: sel('crashloop_pod_workload_info', workloadMatchers),
    },
    local withWorkload(expr, workloadMatchers=[]) = |||
      %(expr)s
      * on (%(pk)s) group_left (workload_kind, workload)
        topk by (%(pk)s) (1, %(info)s)
    ||| % { expr: indent(expr, 0), pk: podKey, info: sel('crashloop_pod_workload_info', workloadMatchers) },

    // Annotation lookups, at evaluation time, of the alert's own container.
    local containerQuery(metric) =
      'printf `max(%s{%s="%%s",namespace="%%s",pod="%%s",container="%%s"})` $labels.%s $labels.namespace $labels.pod $labels.container'
      % [metric, C, C],
    local lastExitCode =
      'Last exit code: {{ with %s | query }}{{ . | first | value | printf "%%.0f" }}{{ else }}none{{ end }}.'
      % containerQuery('crashloop_container_last_terminated_exit_code'),
    local memoryLimit =
      'Memory limit: {{ with %s | query }}{{ . | first | value | humanize1024 }}B{{ else }}none{{ end }}.'
      % containerQuery('crashloop_container_memory_limit_bytes'),
    local workloadPods =
      '{{ with printf `sum(crashloop_workload_pods{%s="%%s",namespace="%%s",workload_kind="%%s",workload="%%s"})` $labels.%s $labels.namespace $labels.workload_kind $labels.workload | query }}{{ . | first | value | printf "%%.0f" }}{{ else }}?{{ end }}'
      % [C, C],
    local causeOr(default) = '{{ with $labels.cause }}{{ . }}{{ else }}%s{{ end }}' % default,
    local containerOfPod = fold(|||
      Container {{ $labels.container }} ({{ $labels.container_type }}) of pod
      {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})
    |||),

    // A container in a crash loop now, one series per container (value 1). The hysteresis
    // gauge alone is not enough: it stays 1 for 10 minutes after the last restart, so it
    // is 1 for a rollout's two quick restarts (its first CrashLoopBackOff sets it) and for
    // a container that has recovered. So the container must also have restarted
    // crashLoopingMinRestarts times in crashLoopingRestartsWindow (two restarts while a
    // dependency starts are ordinary; a real loop restarts at 10 s, 30 s, 70 s, ... and
    // still 6 times in 30 minutes at the 5-minute maximum back-off), and have been in
    // CrashLoopBackOff within crashLoopingBackoffWindow (the maximum back-off: a container
    // that has not waited in back-off for that long has run that long, and the alert
    // resolves then, not 10 minutes after the last restart). restarts_total is counted
    // with the first-value trick, for --skip-quiet-containers, where it appears at 1.
    local crashLooping = |||
      max by (%(ck)s, container_type) (%(crashlooping)s == 1)
      and on (%(ck)s)
        max by (%(ck)s) (max_over_time(%(backoff)s[%(bw)s])) == 1
      and on (%(ck)s)
        max by (%(ck)s) (
          %(restarts)s
        ) >= %(min)d
    ||| % {
      ck: containerKey,
      crashlooping: sel('crashloop_container_crashlooping'),
      backoff: sel('crashloop_container_in_backoff'),
      bw: cfg.crashLoopingBackoffWindow,
      restarts: indent(counted(sel('crashloop_container_restarts_total'), cfg.crashLoopingRestartsWindow), 4),
      min: cfg.crashLoopingMinRestarts,
    },

    // OOM kills of each container in oomWindow (first-value trick: terminations_total
    // appears at 1).
    local oomKills = |||
      max by (%(ck)s, container_type) (
        %(n)s
      )
    ||| % {
      ck: containerKey,
      n: indent(counted(sel('crashloop_container_terminations_total', ['reason="OOMKilled"']), cfg.oomWindow), 2),
    },

    local oomKilled(severity, kinds) = {
      alert: 'CrashloopContainerOOMKilled',
      expr: withCauseAndWorkload(oomKills, [kinds]) + '>= 1 < %d\n' % cfg.oomRepeatedCount,
      labels: { severity: severity, cause: '' },
      annotations: {
        summary: '{{ $labels.namespace }}/{{ $labels.pod }}: container {{ $labels.container }} was OOM-killed',
        description: std.join(' ', [
          containerOfPod,
          'was killed for exceeding its memory limit in the last %s.' % cfg.oomWindow,
          'Probable cause: %s.' % causeOr('oom_killed'),
          lastExitCode,
          memoryLimit,
        ]),
        runbook_url: runbook('CrashloopContainerOOMKilled'),
      },
    },

    // A workload's pods of which at least workloadAffectedRatio satisfy podCondition (one
    // series per pod), as the number of such pods.
    local workloadAffected(podCondition) =
      local kinds = 'workload_kind!~"%s"' % cfg.workloadKindsExcluded;
      |||
        count by (%(wk)s) (
          group by (%(pk)s) (
            %(cond)s
          )
          * on (%(pk)s) group_left (workload_kind, workload)
            topk by (%(pk)s) (1, %(info)s)
        )
        >= on (%(wk)s)
          %(ratio)s * sum by (%(wk)s) (%(pods)s)
      ||| % {
        wk: workloadKey,
        pk: podKey,
        cond: indent(podCondition, 4),
        info: sel('crashloop_pod_workload_info', [kinds]),
        ratio: std.toString(cfg.workloadAffectedRatio),
        pods: sel('crashloop_workload_pods', [kinds]),
      },

    groups+: [
      {
        name: 'crashloop-exporter.containers',
        rules: [
          {
            alert: 'CrashloopContainerCrashLooping',
            expr: withCauseAndWorkload('(\n  %s\n)' % indent(crashLooping, 2)),
            'for': cfg.crashLoopingFor,
            labels: { severity: cfg.crashLoopingSeverity, cause: '' },
            annotations: {
              summary: '{{ $labels.namespace }}/{{ $labels.pod }}: container {{ $labels.container }} is crash-looping (%s)' % causeOr('unknown'),
              description: std.join(' ', [
                containerOfPod,
                'has been crash-looping for more than %s.' % cfg.crashLoopingFor,
                'Probable cause: %s.' % causeOr('unknown'),
                lastExitCode,
              ]),
              runbook_url: runbook('CrashloopContainerCrashLooping'),
            },
          },
          {
            alert: 'CrashloopContainerOOMKilledRepeatedly',
            expr: withCauseAndWorkload(oomKills) + '>= %d\n' % cfg.oomRepeatedCount,
            labels: { severity: cfg.oomKilledRepeatedlySeverity, cause: '' },
            annotations: {
              summary: '{{ $labels.namespace }}/{{ $labels.pod }}: container {{ $labels.container }} was OOM-killed {{ $value | printf "%%.0f" }} times in %s' % cfg.oomWindow,
              description: std.join(' ', [
                containerOfPod,
                'was killed for exceeding its memory limit {{ $value | printf "%%.0f" }} times in the last %s.' % cfg.oomWindow,
                'Probable cause: %s.' % causeOr('oom_killed'),
                lastExitCode,
                memoryLimit,
              ]),
              runbook_url: runbook('CrashloopContainerOOMKilledRepeatedly'),
            },
          },
          // One OOM kill (fewer than oomRepeatedCount) in the window; Repeatedly takes over
          // from the next kill on. Two rules of one name, split by workload_kind: a single
          // kill of a long-running container can be a one-off peak (info), but a batch
          // container killed once has lost its run (a `restartPolicy: Never` pod ends
          // there): warning.
          oomKilled(cfg.oomKilledSeverity, 'workload_kind!~"%s"' % cfg.batchWorkloadKinds),
          oomKilled(cfg.oomKilledBatchSeverity, 'workload_kind=~"%s"' % cfg.batchWorkloadKinds),
          {
            // The kubelet killed the container because its liveness or startup probe failed
            // (from Killing events; `probe` says which).
            alert: 'CrashloopContainerProbeKilled',
            expr: withCauseAndWorkload(|||
              max by (%(ck)s, container_type, probe) (
                %(n)s
              )
            ||| % { ck: containerKey, n: indent(counted(sel('crashloop_container_probe_kills_total'), cfg.probeKillWindow), 2) }) + '> 0\n',
            labels: { severity: cfg.probeKilledSeverity, cause: '' },
            annotations: {
              summary: '{{ $labels.namespace }}/{{ $labels.pod }}: container {{ $labels.container }} was killed by its {{ $labels.probe }} probe',
              description: std.join(' ', [
                'The kubelet killed container {{ $labels.container }} ({{ $labels.container_type }}) of pod',
                '{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})',
                'because its {{ $labels.probe }} probe failed ({{ $value | printf "%%.0f" }} in the last %s).' % cfg.probeKillWindow,
                'Probable cause: %s.' % causeOr('{{ $labels.probe }}_probe'),
                lastExitCode,
              ]),
              runbook_url: runbook('CrashloopContainerProbeKilled'),
            },
          },
          {
            // `category` (not_found, unauthorized, unreachable, other) comes from the last
            // `Failed to pull image` event and may change while the alert is pending, so it
            // is named in the annotations and kept out of the alert's labels.
            alert: 'CrashloopContainerImagePullFailing',
            expr: withCauseAndWorkload(|||
              max by (%(ck)s, container_type) (%(pull)s == 1)
              * on (%(ck)s) group_left (category)
                topk by (%(ck)s) (1, %(pull)s == 1)
            ||| % { ck: containerKey, pull: sel('crashloop_container_image_pull_failure') }),
            'for': cfg.imagePullFor,
            labels: { severity: cfg.imagePullSeverity, cause: '', category: '' },
            annotations: {
              summary: '{{ $labels.namespace }}/{{ $labels.pod }}: container {{ $labels.container }} cannot pull its image ({{ $labels.category }})',
              description: std.join(' ', [
                containerOfPod,
                'has been waiting for its image for more than %s; the last pull error was {{ $labels.category }}.' % cfg.imagePullFor,
                'Probable cause: %s.' % causeOr('image_pull'),
                lastExitCode,
              ]),
              runbook_url: runbook('CrashloopContainerImagePullFailing'),
            },
          },
          {
            // A pod-level series (no container label): the pod waits for a ConfigMap, Secret
            // or PVC that does not exist. One alert per missing object.
            alert: 'CrashloopPodMissingConfigObject',
            expr: withWorkload('max by (%s, kind, name) (%s == 1)' % [podKey, sel('crashloop_pod_missing_object')]),
            'for': cfg.missingObjectFor,
            labels: { severity: cfg.missingObjectSeverity },
            annotations: {
              summary: '{{ $labels.namespace }}/{{ $labels.pod }} waits for missing {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }}',
              description: fold(|||
                Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})
                cannot start its containers: {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} does not exist
                (or lacks a key the pod uses), for more than %s.
                Probable cause: missing_config.
                Create the {{ $labels.kind }} or fix the reference in the pod template.
              ||| % cfg.missingObjectFor),
              runbook_url: runbook('CrashloopPodMissingConfigObject'),
            },
          },
          {
            // Catches containers that restart regularly but too slowly to count as
            // crash-looping (more than 10 minutes between crashes). restarts_total is the
            // kubelet's restartCount: it starts at 0 with the container and is not reset by
            // an exporter restart, so a plain increase() is right here.
            alert: 'CrashloopContainerRestartingOften',
            expr: withCauseAndWorkload(|||
              max by (%s, container_type) (
                increase(%s[%s])
              )
            ||| % [containerKey, sel('crashloop_container_restarts_total'), cfg.restartsWindow]) + '>= %d\n' % cfg.restartsCount,
            labels: { severity: cfg.restartingOftenSeverity, cause: '' },
            annotations: {
              summary: '{{ $labels.namespace }}/{{ $labels.pod }}: container {{ $labels.container }} restarted {{ $value | printf "%%.0f" }} times in %s' % cfg.restartsWindow,
              description: std.join(' ', [
                containerOfPod,
                'restarted {{ $value | printf "%%.0f" }} times in the last %s.' % cfg.restartsWindow,
                'Probable cause: %s.' % causeOr('unknown'),
                lastExitCode,
              ]),
              runbook_url: runbook('CrashloopContainerRestartingOften'),
            },
          },
        ],
      },
      {
        // Critical: a workload broadly affected, not one replica. Labels: namespace,
        // workload_kind, workload (no pod, no container); the container alerts of its pods
        // carry the causes.
        name: 'crashloop-exporter.workloads',
        rules: [
          {
            alert: 'CrashloopWorkloadCrashLooping',
            expr: workloadAffected(crashLooping),
            'for': cfg.workloadCrashLoopingFor,
            labels: { severity: cfg.workloadCrashLoopingSeverity },
            annotations: {
              summary: '{{ $labels.workload_kind }} {{ $labels.namespace }}/{{ $labels.workload }}: {{ $value | printf "%.0f" }} of its pods are crash-looping',
              description: fold(|||
                {{ $value | printf "%%.0f" }} of the %s pods of {{ $labels.workload_kind }} {{ $labels.namespace }}/{{ $labels.workload }}
                have a crash-looping container (at least %s of its pods, for more than %s): the workload is down or
                badly degraded, not one replica. The CrashloopContainerCrashLooping alerts of its pods (inhibited by this one in
                alerts/alertmanager.example.yml) name the containers and causes.
              ||| % [workloadPods, pct(cfg.workloadAffectedRatio), cfg.workloadCrashLoopingFor]),
              runbook_url: runbook('CrashloopWorkloadCrashLooping'),
            },
          },
          {
            alert: 'CrashloopWorkloadOOMKilled',
            expr: workloadAffected(|||
              max by (%(ck)s) (
                %(n)s
              ) >= %(count)d
            ||| % {
              ck: containerKey,
              n: indent(counted(sel('crashloop_container_terminations_total', ['reason="OOMKilled"']), cfg.oomWindow), 2),
              count: cfg.oomRepeatedCount,
            }),
            labels: { severity: cfg.workloadOOMKilledSeverity },
            annotations: {
              summary: '{{ $labels.workload_kind }} {{ $labels.namespace }}/{{ $labels.workload }}: {{ $value | printf "%.0f" }} of its pods are OOM-killed repeatedly',
              description: fold(|||
                {{ $value | printf "%%.0f" }} of the %s pods of {{ $labels.workload_kind }} {{ $labels.namespace }}/{{ $labels.workload }}
                have a container OOM-killed %d times or more in the last %s (at least %s of its pods): the memory limit
                is too low for the workload, not for one replica. The CrashloopContainerOOMKilledRepeatedly alerts of its pods (inhibited by
                this one in alerts/alertmanager.example.yml) name the containers.
              ||| % [workloadPods, cfg.oomRepeatedCount, cfg.oomWindow, pct(cfg.workloadAffectedRatio)]),
              runbook_url: runbook('CrashloopWorkloadOOMKilled'),
            },
          },
        ],
      },
      {
        name: 'crashloop-exporter.exporter',
        rules: [
          {
            // One replica down (up == 0), or no target at all (absent; the alert then
            // carries the selector's labels): with sharded replicas, each replica down is a
            // share of the pods nobody watches.
            alert: 'CrashloopExporterDown',
            expr: |||
              %(up)s == 0
              or
              absent(%(up)s)
            ||| % { up: exporterSel('up') },
            'for': cfg.exporterDownFor,
            labels: { severity: cfg.exporterDownSeverity },
            annotations: {
              summary: '{{ with $labels.instance }}crashloop-exporter {{ . }} is down{{ else }}no crashloop-exporter target is up{{ end }}',
              description: fold(|||
                {{ with $labels.instance }}Prometheus has failed to scrape crashloop-exporter at {{ . }}{{ else }}Prometheus has no crashloop-exporter target that is up{{ end }}
                for more than %s: crash-looping containers go unreported and the other crashloop alerts cannot fire.
              ||| % cfg.exporterDownFor),
              runbook_url: runbook('CrashloopExporterDown'),
            },
          },
          {
            // crashloop_exporter_last_sync_timestamp_seconds moves when a list completes or
            // a watch event arrives. A quiet cluster sends no pod events for hours, and the
            // watch resumes after its server-side timeout without any, so an old timestamp
            // alone means nothing: the alert needs an old timestamp AND API errors that go
            // on (some in every apiErrorsWindow for watchStaleFor: the watch is failing,
            // not idle). 410 Gone is left out: it is answered by a relist, which refreshes
            // the timestamp. Also fires when an exporter has never completed its first
            // list (no timestamp at all) for watchStaleFor, e.g. when the list is refused.
            alert: 'CrashloopExporterWatchStale',
            expr: |||
              (
                  time() - max by (%(k)s, resource) (%(sync)s)
                  > %(secs)d
                and on (%(k)s, resource)
                  sum by (%(k)s, resource) (increase(%(errors)s[%(w)s]))
                  > 0
              )
              or
              (
                  group by (%(k)s) (%(build)s)
                unless on (%(k)s)
                  %(sync)s
              )
            ||| % {
              k: by(['job', 'instance']),
              sync: exporterSel('crashloop_exporter_last_sync_timestamp_seconds'),
              secs: cfg.watchStaleSeconds,
              errors: exporterSel('crashloop_exporter_api_errors_total', ['kind!="gone"']),
              w: cfg.apiErrorsWindow,
              build: exporterSel('crashloop_exporter_build_info'),
            },
            'for': cfg.watchStaleFor,
            labels: { severity: cfg.watchStaleSeverity },
            annotations: {
              summary: 'crashloop-exporter {{ $labels.instance }}: the pod watch is stale',
              description: fold(|||
                crashloop-exporter {{ $labels.instance }} (job {{ $labels.job }}) has
                {{ with printf `time() - max(crashloop_exporter_last_sync_timestamp_seconds{%s="%%s",job="%%s",instance="%%s"})` $labels.%s $labels.job $labels.instance | query }}not been in sync with the Kubernetes API for {{ . | first | value | humanizeDuration }}
                while the API keeps returning errors{{ else }}never completed its first list of pods{{ end }}:
                its crashloop_ metrics are out of date or missing.
              ||| % [C, C]),
              runbook_url: runbook('CrashloopExporterWatchStale'),
            },
          },
          {
            // Sustained errors other than RBAC (CrashloopExporterForbidden) and 410 Gone (an
            // expired watch, answered by a relist: routine).
            alert: 'CrashloopExporterAPIErrors',
            expr: |||
              sum by (%s) (
                increase(%s[%s])
              ) > 0
            ||| % [by(['job', 'instance', 'resource', 'kind']), exporterSel('crashloop_exporter_api_errors_total', ['kind!~"gone|forbidden|unauthorized"']), cfg.apiErrorsWindow],
            'for': cfg.apiErrorsFor,
            labels: { severity: cfg.apiErrorsSeverity },
            annotations: {
              summary: 'crashloop-exporter {{ $labels.instance }}: Kubernetes API errors ({{ $labels.kind }}) on {{ $labels.resource }}',
              description: fold(|||
                crashloop-exporter {{ $labels.instance }} (job {{ $labels.job }}) got {{ $value | printf "%%.0f" }}
                {{ $labels.kind }} errors from the Kubernetes API watching {{ $labels.resource }} in the last %s,
                and has kept getting them for more than %s. The watch retries with back-off; its metrics may be stale.
              ||| % [cfg.apiErrorsWindow, cfg.apiErrorsFor]),
              runbook_url: runbook('CrashloopExporterAPIErrors'),
            },
          },
          {
            // 403/401: the ServiceAccount lacks RBAC (list/watch pods and events) or its
            // credentials are refused. The exporter sees nothing until fixed.
            alert: 'CrashloopExporterForbidden',
            expr: |||
              sum by (%s) (
                increase(%s[%s])
              ) > 0
            ||| % [by(['job', 'instance', 'resource', 'kind']), exporterSel('crashloop_exporter_api_errors_total', ['kind=~"forbidden|unauthorized"']), cfg.apiErrorsWindow],
            'for': cfg.forbiddenFor,
            labels: { severity: cfg.forbiddenSeverity },
            annotations: {
              summary: 'crashloop-exporter {{ $labels.instance }}: the Kubernetes API refuses to let it watch {{ $labels.resource }} ({{ $labels.kind }})',
              description: fold(|||
                crashloop-exporter {{ $labels.instance }} (job {{ $labels.job }}) got {{ $value | printf "%%.0f" }}
                {{ $labels.kind }} answers from the Kubernetes API for {{ $labels.resource }} in the last %s:
                its ServiceAccount needs list and watch on pods and events (deploy/base/clusterrole.yaml), or its credentials are refused.
              ||| % cfg.apiErrorsWindow),
              runbook_url: runbook('CrashloopExporterForbidden'),
            },
          },
        ],
      },
    ],
  },
}

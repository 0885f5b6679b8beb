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

    // The label names the exporter gives the pod labels of --pod-labels (_config.podLabels),
    // as it sanitizes them: every alert carries them, for routing by owner.
    local podLabelNames = [
      'label_' + std.join('', [
        if std.member('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_', c) then c else '_'
        for c in std.stringChars(l)
      ])
      for l in cfg.podLabels
    ],
    local workloadLabels = std.join(', ', ['workload_kind', 'workload'] + podLabelNames),

    // Adds `cause` and the workload (and the pod labels) to a per-container expression.
    local withCauseAndWorkload(expr, workloadMatchers=[]) = |||
      %(expr)s
      * on (%(ck)s) group_left (cause) (
          topk by (%(ck)s) (1, %(cause)s == 1)
          or on (%(ck)s)
          group by (%(ck)s) (%(restarts)s)
        )
      * on (%(pk)s) group_left (%(wl)s)
        topk by (%(pk)s) (1, %(info)s)
    ||| % {
      expr: indent(expr, 0),
      ck: containerKey,
      pk: podKey,
      wl: workloadLabels,
      cause: sel('crashloop_container_probable_cause'),
      restarts: sel('crashloop_container_restarts_total'),
      info: sel('crashloop_pod_workload_info', workloadMatchers),
    },
    local withWorkload(expr, workloadMatchers=[]) = |||
      %(expr)s
      * on (%(pk)s) group_left (%(wl)s)
        topk by (%(pk)s) (1, %(info)s)
    ||| % { expr: indent(expr, 0), pk: podKey, wl: workloadLabels, info: sel('crashloop_pod_workload_info', workloadMatchers) },

    // A per-workload expression with the pod labels of its pods (one pod's, where they
    // differ), and the label the kubernetes-mixin's workload alerts carry for the same
    // workload (`deployment`, `statefulset` or `daemonset`, from workload_kind and
    // workload), so that Alertmanager can inhibit them with `equal`.
    local forWorkload(expr) =
      local withLabels = if podLabelNames == [] then expr else |||
        (
          %(expr)s
        )
        * on (%(wk)s) group_left (%(labels)s)
          topk by (%(wk)s) (1, max by (%(wk)s, %(labels)s) (%(info)s))
      ||| % { expr: indent(expr, 2), wk: workloadKey, labels: std.join(', ', podLabelNames), info: sel('crashloop_pod_workload_info') };
      local replace(e, label, kind) = 'label_replace(\n  %s,\n  "%s", "$1", "kind_workload", "%s;(.*)"\n)' % [indent(e, 2), label, kind];
      local joined = 'label_join(\n  %s,\n  "kind_workload", ";", "workload_kind", "workload"\n)' % indent(withLabels, 2);
      'label_replace(\n  %s,\n  "kind_workload", "", "kind_workload", ".*"\n)\n' % indent(
        replace(replace(replace(joined, 'deployment', 'Deployment'), 'statefulset', 'StatefulSet'), 'daemonset', 'DaemonSet'), 2
      ),

    // Annotation lookups, at evaluation time, of the alert's own container. Each runs one
    // query per firing alert per evaluation: only where the value is worth it (not for a
    // container that never ran, such as one waiting for its image), see docs/alerts.md.
    local containerQuery(metric) =
      'printf `max(%s{%s="%%s",namespace="%%s",pod="%%s",container="%%s"})` $labels.%s $labels.namespace $labels.pod $labels.container'
      % [metric, C, C],
    local exitCode =
      '{{ with %s | query }}{{ . | first | value | printf "%%.0f" }}{{ else }}none{{ end }}'
      % containerQuery('crashloop_container_last_terminated_exit_code'),
    local memoryLimit =
      'Memory limit: {{ with %s | query }}{{ . | first | value | humanize1024 }}B{{ else }}none{{ end }}.'
      % containerQuery('crashloop_container_memory_limit_bytes'),
    local workloadPods =
      '{{ with printf `sum(crashloop_workload_pods{%s="%%s",namespace="%%s",workload_kind="%%s",workload="%%s"})` $labels.%s $labels.namespace $labels.workload_kind $labels.workload | query }}{{ . | first | value | printf "%%.0f" }}{{ else }}?{{ end }}'
      % [C, C],
    // The rollout's template: when its first pod came, the images it changed (and what
    // they were), and the command that undoes it.
    local templateSel = '%s="%%s",namespace="%%s",workload_kind="%%s",workload="%%s"' % C,
    local templateArgs = '$labels.%s $labels.namespace $labels.workload_kind $labels.workload' % C,
    local templateFirstPod =
      '{{ with printf `min(crashloop_workload_template_created_timestamp_seconds{%s,template="%%s"})` %s $labels.template | query }} The first pod of the template was created at {{ . | first | value | humanizeTimestamp }}.{{ end }}'
      % [templateSel, templateArgs],
    local templateImages =
      '{{ range printf `group by (container, image) (crashloop_workload_template_image_info{%(s)s,template="%%s"}) unless on (container, image) crashloop_workload_template_image_info{%(s)s,template!="%%s"}` %(a)s $labels.template %(a)s $labels.template | query }} Container {{ .Labels.container }} runs {{ .Labels.image }}{{ with printf `crashloop_workload_template_image_info{%(s)s,template!="%%s",container="%%s"}` %(a)s $labels.template .Labels.container | query }}, was {{ . | first | label "image" }}{{ end }}.{{ end }}'
      % { s: templateSel, a: templateArgs },
    local undo =
      '{{ if eq $labels.workload_kind "Rollout" }}kubectl argo rollouts undo {{ $labels.workload }} -n {{ $labels.namespace }}{{ else }}kubectl rollout undo {{ $labels.workload_kind | toLower }}/{{ $labels.workload }} -n {{ $labels.namespace }}{{ end }}',
    // What an OOM kill hit: the container's own limit, the pod's, or none (the node's
    // memory ran out), from crashloop_container_last_oom_kill_limit.
    local oomKilledWords =
      '{{ with printf `max by (limit) (crashloop_container_last_oom_kill_limit{%s="%%s",namespace="%%s",pod="%%s",container="%%s"})` $labels.%s $labels.namespace $labels.pod $labels.container | query }}{{ if eq (. | first | label "limit") "none" }}was OOM-killed with no memory limit of its own or its pod (the node ran out of memory: a limit is not the fix, a request that matches its use is){{ else if eq (. | first | label "limit") "pod" }}was OOM-killed at its pod-level memory limit (shared by its containers){{ else }}was killed for exceeding its memory limit{{ end }}{{ else }}was killed for exceeding its memory limit{{ end }}'
      % [C, C],
    // The container's peak working set before the kill, from cAdvisor
    // (container_memory_working_set_bytes, container!="" and image!="" as the dashboards and
    // the kubernetes-mixin take it) where Prometheus scrapes it; nothing where it does not.
    // An annotation query, not a recording rule (rules.libsonnet says why): the same
    // answer, no series, no delay. After an OOM kill the series of the killed instance ends,
    // so its peak is in the last oomPeakWindow.
    local oomPeak =
      '{{ with printf `max(max_over_time(container_memory_working_set_bytes{%s="%%s",namespace="%%s",pod="%%s",container="%%s",image!=""}[%s]))` $labels.%s $labels.namespace $labels.pod $labels.container | query }} Peak working set in the last %s: {{ . | first | value | humanize1024 }}B (cAdvisor).{{ end }}'
      % [C, cfg.oomPeakWindow, C, cfg.oomPeakWindow],
    local causeOr(default) = '{{ with $labels.cause }}{{ . }}{{ else }}%s{{ end }}' % default,
    local inCluster = '{{ with $labels.%s }} in cluster {{ . }}{{ end }}' % C,
    local containerOfPod = fold(|||
      Container {{ $labels.container }} ({{ $labels.container_type }}) of pod
      {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})%s
    ||| % inCluster),
    local ofWorkload = '{{ $labels.workload_kind }} {{ $labels.namespace }}/{{ $labels.workload }}',
    // The summary of an alert on containers or pods: the same for every alert of a group
    // (Alertmanager groups by alert name, namespace and workload), so it names the workload.
    local workloadSummary(what) = '%s in %s.' % [what, ofWorkload],
    // The workload dashboard, for the alert's workload (and pod, where it has one).
    local dashboardURL(withPod) = '%s/d/%s/?{{ with $labels.%s }}var-%s={{ . }}&{{ end }}var-namespace={{ $labels.namespace }}&var-workload_kind={{ $labels.workload_kind }}&var-workload={{ $labels.workload }}%s' % [
      cfg.grafanaURL,
      cfg.dashboardUIDs.workload,
      C,
      C,
      if withPod then '{{ with $labels.pod }}&var-pod={{ . }}{{ end }}' else '',
    ],
    // The annotations of a container alert: its summary, description and runbook, the
    // dashboard, and the fields a notification template prints in its line (cause,
    // restarts, exit code), each only where it has a value.
    local containerAnnotations(name, summary, description, cause, restarts=null, withExitCode=true) = {
      summary: workloadSummary(summary),
      description: std.join(' ', description),
      runbook_url: runbook(name),
      dashboard_url: dashboardURL(true),
      cause: causeOr(cause),
    } + (if restarts != null then { restarts: restarts } else {})
      + (if withExitCode then { exit_code: exitCode } else {}),

    // A container in a crash loop now, one series per container, valued by its restarts.
    // The hysteresis gauge alone is not enough: it stays 1 for 10 minutes after the last
    // restart, so it is 1 for a rollout's two quick restarts (its first CrashLoopBackOff
    // sets it) and for a container that has recovered. So the container must also have
    // restarted crashLoopingMinRestarts times in crashLoopingRestartsWindow (two restarts
    // while a dependency starts are ordinary; a real loop restarts at 10 s, 30 s, 70 s, ...
    // and still 6 times in 30 minutes at the 5-minute maximum back-off), and have been in
    // CrashLoopBackOff within crashLoopingBackoffWindow (the maximum back-off: a container
    // that has not waited in back-off for that long has run that long, and the alert
    // resolves then, not 10 minutes after the last restart). restarts_total is counted
    // with the first-value trick, for --skip-quiet-containers, where it appears at 1.
    local crashLooping = |||
      max by (%(ck)s, container_type) (%(total)s)
      and on (%(ck)s)
        max by (%(ck)s) (%(crashlooping)s) == 1
      and on (%(ck)s)
        max by (%(ck)s) (max_over_time(%(backoff)s[%(bw)s])) == 1
      and on (%(ck)s)
        max by (%(ck)s) (
          %(restarts)s
        ) >= %(min)d
    ||| % {
      ck: containerKey,
      total: sel('crashloop_container_restarts_total'),
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
    local oomKilledRepeatedly = '%s>= %d\n' % [oomKills, cfg.oomRepeatedCount],

    local oomKilled(severity, kinds) = {
      alert: 'CrashloopContainerOOMKilled',
      expr: withCauseAndWorkload(oomKills, [kinds]) + '>= 1 < %d\n' % cfg.oomRepeatedCount,
      labels: { severity: severity, cause: '' },
      annotations: containerAnnotations('CrashloopContainerOOMKilled', 'OOM-killed containers', [
        containerOfPod,
        '%s in the last %s.' % [oomKilledWords, cfg.oomWindow],
        'Probable cause: %s.' % causeOr('oom_killed'),
        memoryLimit + oomPeak,
      ], 'oom_killed'),
    },

    // Probe kills of each container in probeKillWindow, by probe (Killing Events).
    local probeKills = |||
      max by (%(ck)s, container_type, probe) (
        %(n)s
      )
    ||| % { ck: containerKey, n: indent(counted(sel('crashloop_container_probe_kills_total'), cfg.probeKillWindow), 2) },
    local probeKilled(severity, condition) = {
      alert: 'CrashloopContainerProbeKilled',
      expr: withCauseAndWorkload(probeKills) + condition + '\n',
      labels: { severity: severity, cause: '' },
      annotations: containerAnnotations('CrashloopContainerProbeKilled', 'Containers killed by a failing probe', [
        'The kubelet killed container {{ $labels.container }} ({{ $labels.container_type }}) of pod',
        '{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})%s' % inCluster,
        'because its {{ $labels.probe }} probe failed ({{ $value | printf "%%.0f" }} in the last %s).' % cfg.probeKillWindow,
        'Probable cause: %s.' % causeOr('{{ $labels.probe }}_probe'),
      ], '{{ $labels.probe }}_probe'),
    },

    // A workload's pods of which at least workloadAffectedRatio satisfy podCondition (one
    // series per container or pod), as the number of such pods.
    local kinds = 'workload_kind!~"%s"' % cfg.workloadKindsExcluded,
    local workloadAffected(podCondition) = |||
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

    // A stuck rollout: the pods that satisfy podCondition are all of one template, and
    // enough pods of other templates of the same workload are ready (they serve): at
    // least 1 - workloadAffectedRatio of its pods, so that 9 looping pods of 10 beside one
    // old ready pod still page. One series per workload and that template, valued by its
    // pods that satisfy podCondition. Whichever template is newer, the workload is not
    // down: the other one serves.
    local confinedToOneTemplate(podCondition) =
      local byTemplate = |||
        count by (%(wk)s, template) (
          group by (%(pk)s) (
            %(cond)s
          )
          * on (%(pk)s) group_left (workload_kind, workload, template)
            topk by (%(pk)s) (1, %(info)s)
        )
      ||| % {
        wk: workloadKey,
        pk: podKey,
        cond: indent(podCondition, 4),
        info: sel('crashloop_pod_workload_info', [kinds, 'template!=""']),
      };
      |||
        (
          (
            %(byTemplate)s
            and on (%(wk)s)
              count by (%(wk)s) (
                %(byTemplate2)s
              ) == 1
          )
          and on (%(wk)s, template)
            (
              sum by (%(wk)s) (%(ready)s)
              - on (%(wk)s) group_right
              sum by (%(wk)s, template) (%(ready)s)
            )
            >= on (%(wk)s) group_left
              %(serving)s * sum by (%(wk)s) (%(pods)s)
        )
      ||| % {
        byTemplate: indent(byTemplate, 4),
        byTemplate2: indent(byTemplate, 8),
        wk: workloadKey,
        ready: sel('crashloop_workload_ready_pods', [kinds]),
        serving: std.toString(1 - cfg.workloadAffectedRatio),
        pods: sel('crashloop_workload_pods', [kinds]),
      },

    // Each workload's failed ends after runs of 10 minutes or more in a window
    // (crashloop_workload_long_run_failures_total), summed across the exporter's shards;
    // the first-value trick, as the series appears at the workload's first counted restart.
    // Fast ends (a crash loop, a rollout's restarts while a dependency starts) are not in
    // it: they have their own alerts, or none.
    local longRunFailures(w) = |||
      sum by (%(wk)s) (
        %(n)s
      )
    ||| % {
      wk: workloadKey,
      n: indent(counted(sel('crashloop_workload_long_run_failures_total'), w), 2),
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
            annotations: containerAnnotations('CrashloopContainerCrashLooping', 'Crash-looping containers', [
              containerOfPod,
              'has been crash-looping for more than %s.' % cfg.crashLoopingFor,
              'Probable cause: %s.' % causeOr('unknown'),
            ], 'unknown', restarts='{{ $value | printf "%.0f" }}'),
          },
          {
            alert: 'CrashloopContainerOOMKilledRepeatedly',
            expr: withCauseAndWorkload(oomKills) + '>= %d\n' % cfg.oomRepeatedCount,
            labels: { severity: cfg.oomKilledRepeatedlySeverity, cause: '' },
            annotations: containerAnnotations('CrashloopContainerOOMKilledRepeatedly', 'Containers OOM-killed repeatedly', [
              containerOfPod,
              '%s {{ $value | printf "%%.0f" }} times in the last %s.' % [oomKilledWords, cfg.oomWindow],
              'Probable cause: %s.' % causeOr('oom_killed'),
              memoryLimit + oomPeak,
            ], 'oom_killed'),
          },
          // One OOM kill (fewer than oomRepeatedCount) in the window; Repeatedly takes over
          // from the next kill on. Two rules of one name, split by workload_kind: a single
          // kill of a long-running container can be a one-off peak (info), but a batch
          // container killed once has lost its run (a `restartPolicy: Never` pod ends
          // there): warning.
          oomKilled(cfg.oomKilledSeverity, 'workload_kind!~"%s"' % cfg.batchWorkloadKinds),
          oomKilled(cfg.oomKilledBatchSeverity, 'workload_kind=~"%s"' % cfg.batchWorkloadKinds),
          // The kubelet killed the container because its liveness or startup probe failed
          // (from Killing Events; `probe` says which). Two rules of one name: one kill in
          // the window (a GC pause, a noisy neighbour) is information, repeated kills warn.
          probeKilled(cfg.probeKilledOnceSeverity, '> 0 < %d' % cfg.probeKilledRepeatedCount),
          probeKilled(cfg.probeKilledSeverity, '>= %d' % cfg.probeKilledRepeatedCount),
          {
            // `category` (not_found, unauthorized, unreachable, other) comes from the last
            // `Failed to pull image` event and may change while the alert is pending, so it
            // is named in the annotations and kept out of the alert's labels. No exit code:
            // the container never ran (and a registry outage fires thousands of these).
            alert: 'CrashloopContainerImagePullFailing',
            expr: withCauseAndWorkload(|||
              max by (%(ck)s, container_type) (%(pull)s == 1)
              * on (%(ck)s) group_left (category)
                topk by (%(ck)s) (1, %(pull)s == 1)
            ||| % { ck: containerKey, pull: sel('crashloop_container_image_pull_failure') }),
            'for': cfg.imagePullFor,
            labels: { severity: cfg.imagePullSeverity, cause: '', category: '' },
            annotations: containerAnnotations('CrashloopContainerImagePullFailing', 'Containers that cannot pull their image', [
              containerOfPod,
              'has been waiting for its image for more than %s; the last pull error was {{ $labels.category }}.' % cfg.imagePullFor,
              'Probable cause: %s.' % causeOr('image_pull'),
            ], 'image_pull', withExitCode=false),
          },
          {
            // A container that cannot start for a reason other than a missing object or an
            // image: the kubelet refuses its securityContext or its config, the runtime
            // cannot create it, the pod's sandbox or a volume cannot be set up, or an init
            // container has run for long (the causes of _config.cannotStartCauses), and it
            // has not waited in CrashLoopBackOff (a loop is CrashloopContainerCrashLooping's).
            // The kubernetes-mixin's KubeContainerWaiting needs an hour.
            alert: 'CrashloopContainerCannotStart',
            expr: withCauseAndWorkload(|||
              (
                max by (%(ck)s, container_type) (%(cause)s == 1)
                unless on (%(ck)s)
                  max by (%(ck)s) (max_over_time(%(backoff)s[%(bw)s])) == 1
              )
            ||| % {
              ck: containerKey,
              cause: sel('crashloop_container_probable_cause', ['cause=~"%s"' % cfg.cannotStartCauses]),
              backoff: sel('crashloop_container_in_backoff'),
              bw: cfg.crashLoopingBackoffWindow,
            }),
            'for': cfg.cannotStartFor,
            labels: { severity: cfg.cannotStartSeverity, cause: '' },
            annotations: containerAnnotations('CrashloopContainerCannotStart', 'Containers that cannot start', [
              containerOfPod,
              'has not been able to start for more than %s.' % cfg.cannotStartFor,
              'Probable cause: %s.' % causeOr('unknown'),
            ], 'unknown', withExitCode=false),
          },
          {
            // A pod-level series (no container label): the pod waits for a ConfigMap, Secret
            // or PVC that does not exist. One alert per missing object.
            alert: 'CrashloopPodMissingConfigObject',
            expr: withWorkload('max by (%s, kind, name) (%s == 1)' % [podKey, sel('crashloop_pod_missing_object')]),
            'for': cfg.missingObjectFor,
            labels: { severity: cfg.missingObjectSeverity },
            annotations: {
              summary: workloadSummary('Pods waiting for a missing ConfigMap, Secret or PVC'),
              description: fold(|||
                Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})%s
                cannot start its containers: {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} does not exist
                (or lacks a key the pod uses), for more than %s.
                Probable cause: missing_config.
                Create the {{ $labels.kind }} or fix the reference in the pod template.
              ||| % [inCluster, cfg.missingObjectFor]),
              runbook_url: runbook('CrashloopPodMissingConfigObject'),
              dashboard_url: dashboardURL(true),
              cause: 'missing_config',
            },
          },
          {
            // No node fits the pod (its PodScheduled condition), for unschedulableSeconds
            // from the time the scheduler said so (an exporter restart does not delay it):
            // longer than a cluster autoscaler takes to add a node.
            alert: 'CrashloopPodUnschedulable',
            expr: withWorkload(
              '(time() - max by (%s) (%s) >= %d)' % [podKey, sel('crashloop_pod_unschedulable_since_timestamp_seconds'), cfg.unschedulableSeconds]
            ),
            labels: { severity: cfg.unschedulableSeverity },
            annotations: {
              summary: workloadSummary('Pods that no node can run'),
              description: fold(|||
                Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.workload_kind }} {{ $labels.workload }})%s has
                not been scheduled for {{ $value | humanizeDuration }}: no node fits it (its resources, node selector,
                affinity, taints or volumes). Probable cause: unschedulable.
              ||| % inCluster),
              runbook_url: runbook('CrashloopPodUnschedulable'),
              dashboard_url: dashboardURL(true),
              cause: 'unschedulable',
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
            annotations: containerAnnotations('CrashloopContainerRestartingOften', 'Containers restarting often', [
              containerOfPod,
              'restarted {{ $value | printf "%%.0f" }} times in the last %s.' % cfg.restartsWindow,
              'Probable cause: %s.' % causeOr('unknown'),
            ], 'unknown', restarts='{{ $value | printf "%.0f" }}'),
          },
        ],
      },
      {
        // A workload broadly affected, not one replica (critical), and what a workload's
        // pods show together (warnings). Labels: namespace, workload_kind, workload (no
        // pod, no container), and the kubernetes-mixin's deployment, statefulset or
        // daemonset; the container alerts of its pods carry the causes.
        name: 'crashloop-exporter.workloads',
        rules: [
          {
            // Half of the pods or more crash-loop, unless the loop is confined to one
            // template while another template's pods serve: a stuck rollout
            // (CrashloopWorkloadRolloutStuck), not a workload down.
            alert: 'CrashloopWorkloadCrashLooping',
            expr: forWorkload(|||
              %s
              unless on (%s)
                %s
            ||| % [indent(workloadAffected(crashLooping), 0), workloadKey, indent(confinedToOneTemplate(crashLooping), 2)]),
            'for': cfg.workloadCrashLoopingFor,
            labels: { severity: cfg.workloadCrashLoopingSeverity },
            annotations: {
              summary: '%s: {{ $value | printf "%%.0f" }} of its pods are crash-looping.' % ofWorkload,
              description: fold(|||
                {{ $value | printf "%%.0f" }} of the %s pods of %s%s
                have a crash-looping container (at least %s of its pods, for more than %s), and no other template's
                pods serve in their place: the workload is down or badly degraded, not one replica. The
                CrashloopContainerCrashLooping alerts of its pods (inhibited by this one in
                alerts/alertmanager.example.yml) name the containers and causes.
              ||| % [workloadPods, ofWorkload, inCluster, pct(cfg.workloadAffectedRatio), cfg.workloadCrashLoopingFor]),
              runbook_url: runbook('CrashloopWorkloadCrashLooping'),
              dashboard_url: dashboardURL(false),
            },
          },
          {
            alert: 'CrashloopWorkloadOOMKilled',
            expr: forWorkload(|||
              %s
              unless on (%s)
                %s
            ||| % [indent(workloadAffected(oomKilledRepeatedly), 0), workloadKey, indent(confinedToOneTemplate(oomKilledRepeatedly), 2)]),
            labels: { severity: cfg.workloadOOMKilledSeverity },
            annotations: {
              summary: '%s: {{ $value | printf "%%.0f" }} of its pods are OOM-killed repeatedly.' % ofWorkload,
              description: fold(|||
                {{ $value | printf "%%.0f" }} of the %s pods of %s%s
                have a container OOM-killed %d times or more in the last %s (at least %s of its pods), and no other
                template's pods serve in their place: the memory limit is too low for the workload, not for one
                replica. The CrashloopContainerOOMKilledRepeatedly alerts of its pods (inhibited by this one in
                alerts/alertmanager.example.yml) name the containers.
              ||| % [workloadPods, ofWorkload, inCluster, cfg.oomRepeatedCount, cfg.oomWindow, pct(cfg.workloadAffectedRatio)]),
              runbook_url: runbook('CrashloopWorkloadOOMKilled'),
              dashboard_url: dashboardURL(false),
            },
          },
          {
            // The crash loop is confined to the pods of one template while another
            // template's pods are ready: a rollout that cannot finish (or a template that
            // broke while the other serves). `template` names it.
            alert: 'CrashloopWorkloadRolloutStuck',
            expr: forWorkload(confinedToOneTemplate(crashLooping)),
            'for': cfg.workloadCrashLoopingFor,
            labels: { severity: cfg.rolloutStuckSeverity },
            annotations: {
              summary: '%s: the pods of template {{ $labels.template }} are crash-looping while others serve.' % ofWorkload,
              description: fold(|||
                {{ $value | printf "%%.0f" }} pods of template {{ $labels.template }} of %s%s crash-loop, and no pod
                of another template does; the pods of another template are ready and serve.%s%s The rollout to (or
                from) that template cannot finish: roll back (`%s`) or fix the template. The
                CrashloopContainerCrashLooping alerts of its pods name the containers and causes.
              ||| % [ofWorkload, inCluster, templateFirstPod, templateImages, undo]),
              runbook_url: runbook('CrashloopWorkloadRolloutStuck'),
              dashboard_url: dashboardURL(false),
            },
          },
          {
            // Failures of the workload's containers after runs of 10 minutes or more,
            // counted across its pods (a replaced pod's too), at least restartsSlowCount
            // in restartsSlowWindow: a container that crashes every 15 to 60 minutes
            // never enters back-off (the kubelet resets it after 10 minutes of running),
            // so it never crash-loops, and CrashloopContainerRestartingOften needs 5
            // restarts in an hour.
            alert: 'CrashloopWorkloadRestartingSlowly',
            expr: forWorkload(longRunFailures(cfg.restartsSlowWindow) + '>= %d\n' % cfg.restartsSlowCount),
            labels: { severity: cfg.restartingSlowlySeverity },
            annotations: {
              summary: '%s: containers failed {{ $value | printf "%%.0f" }} times in %s, each after running 10 minutes or more.' % [ofWorkload, cfg.restartsSlowWindow],
              description: fold(|||
                The containers of %s%s failed {{ $value | printf "%%.0f" }} times in the last %s, each after running
                10 minutes or more (counted across its pods, replaced ones included). Not a crash loop: the kubelet
                restarts a container that ran 10 minutes at once, without back-off. Each end drops the work in flight.
                crashloop_workload_terminations_total says by which reason; the workload dashboard shows which pods.
              ||| % [ofWorkload, inCluster, cfg.restartsSlowWindow]),
              runbook_url: runbook('CrashloopWorkloadRestartingSlowly'),
              dashboard_url: dashboardURL(false),
            },
          },
          {
            // The workload's controller keeps failing to create pods (its FailedCreate
            // Event: quota, PodSecurity, a webhook, ...): refusals at least refusedSpan
            // apart within refusedWindow, the last one within it. A refusal that passes
            // (a quota freed a moment later) stays quiet. Such pods never exist, so no
            // other alert here can see it.
            alert: 'CrashloopWorkloadPodsRefused',
            expr: forWorkload(|||
              (
                  max by (%(k)s) (max_over_time(%(t)s[%(w)s]))
                - max by (%(k)s) (min_over_time(%(t)s[%(w)s]))
                >= %(span)d
              )
              and
                time() - max by (%(k)s) (%(t)s) < %(window)d
            ||| % {
              k: by(['namespace', 'workload_kind', 'workload', 'reason']),
              t: sel('crashloop_workload_pod_refused_timestamp_seconds'),
              w: cfg.refusedWindow,
              span: cfg.refusedSpanSeconds,
              window: cfg.refusedWindowSeconds,
            }),
            labels: { severity: cfg.refusedSeverity },
            annotations: {
              summary: '%s: its controller cannot create pods ({{ $labels.reason }}).' % ofWorkload,
              description: fold(|||
                The controller of %s%s has kept failing to create pods for at least %d minutes ({{ $labels.reason }}:
                its FailedCreate Events say why, `kubectl describe` the ReplicaSet, StatefulSet, DaemonSet or Job).
                The pods never exist, so nothing else here reports them.
              ||| % [ofWorkload, inCluster, cfg.refusedSpanSeconds / 60]),
              runbook_url: runbook('CrashloopWorkloadPodsRefused'),
              dashboard_url: dashboardURL(false),
            },
          },
          {
            // Pods the node or the control plane ended (evictions under node pressure, a
            // drain, a node shutdown, preemption; not app failures): one alert per
            // namespace and kind with the count, when disruptedCount pods or more were
            // disrupted in disruptedWindow (seen in any scrape of it: a drained or
            // preempted pod is deleted within its grace period), and not already before
            // it. One pod is ordinary; the container alerts stay quiet for disrupted pods.
            alert: 'CrashloopPodsDisrupted',
            expr: |||
              count by (%(nk)s, disruption) (
                group by (%(pk)s, disruption) (max_over_time(%(d)s[%(w)s]))
                unless on (%(pk)s)
                  group by (%(pk)s) (%(d)s offset %(w)s)
              ) >= %(n)d
            ||| % {
              nk: by(['namespace']),
              pk: podKey,
              d: sel('crashloop_pod_disruption'),
              w: cfg.disruptedWindow,
              n: cfg.disruptedCount,
            },
            labels: { severity: cfg.disruptedSeverity },
            annotations: {
              summary: 'Pods disrupted ({{ $labels.disruption }}) in namespace {{ $labels.namespace }}.',
              description: fold(|||
                {{ $value | printf "%%.0f" }} pods of namespace {{ $labels.namespace }}%s were ended by the node or
                the control plane ({{ $labels.disruption }}) in the last %s: not an app failure. Node pressure, a drain,
                a node shutdown or preemption; crashloop_pod_disruption names the pods and, for an eviction, the resource.
              ||| % [inCluster, cfg.disruptedWindow]),
              runbook_url: runbook('CrashloopPodsDisrupted'),
              dashboard_url: '%s/d/%s/?{{ with $labels.%s }}var-%s={{ . }}&{{ end }}var-namespace={{ $labels.namespace }}' % [cfg.grafanaURL, cfg.dashboardUIDs.overview, C, C],
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

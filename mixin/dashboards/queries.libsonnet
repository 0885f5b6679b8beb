// PromQL builders shared by the dashboards, for one dashboard's scope: its variables
// ($cluster, $namespace, $workload_kind, $workload, $pod where `pod` is true, and
// $container where `container` is true).
//
//   local q = (import 'queries.libsonnet')(config, pod=true, container=true);
//   q.inWorkload(q.perContainer(q.sel('crashloop_container_crashlooping') + ' == 1'))
//
// The conventions are the alert rules' (mixin/alerts.libsonnet):
//
// - Every container series is first reduced with `max by (cluster, namespace, pod,
//   container[, ...])`: exporter replicas (shards, a hand-over) may export the same
//   container, and max keeps one value per container, without job/instance.
// - Only per-container and per-pod series are used, never the per-namespace totals
//   (crashloop_troubled_containers, ..._crashloopbackoff_containers, ..._waiting_containers):
//   those cannot honour $workload or $pod. Each query joins crashloop_pod_workload_info
//   {workload_kind=~"$workload_kind", workload=~"$workload"} on (cluster, namespace, pod):
//   `and` to keep the selected workloads' pods, `* ... group_left (workload_kind,
//   workload)` to add the workload to a table row (`topk by (pod) (1, ...)` keeps that side
//   unique when two replicas export the pod).
// - Every `by` keeps the cluster label, so that an "All clusters" view merges none.
// - The helpers take and return single terms (a function call or a selector), or
//   expressions whose operators bind tighter than the one the helper adds: mind the
//   parentheses when combining with `or`.
function(config, pod=false, container=false) {
  local q = self,
  local cl = config.clusterLabel,

  // The label sets of a pod and of a container, for `by` and `on`.
  podKey:: '%s, namespace, pod' % cl,
  containerKey:: q.podKey + ', container',
  workloadKey:: '%s, namespace, workload_kind, workload' % cl,

  // The variables' matchers for any crashloop_ container or pod series...
  matchers:: '%s=~"$%s", namespace=~"$namespace"' % [cl, cl] + (if pod then ', pod=~"$pod"' else ''),
  // ... and a selector with them (and $container for a container series: crashloop_container_*,
  // cAdvisor's container_*; pod series have no container label), plus `extra` matchers.
  local containerSeries(metric) = std.startsWith(metric, 'crashloop_container_') || std.startsWith(metric, 'container_'),
  sel(metric, extra=null)::
    local c = if container && containerSeries(metric) then ['container=~"$container"'] else [];
    '%s{%s}' % [metric, std.join(', ', [q.matchers] + c + (if extra == null then [] else [extra]))],

  // The workload variables' matchers: the kind with the name, always.
  workloadMatchers:: 'workload_kind=~"$workload_kind", workload=~"$workload"',
  workloadInfo:: q.sel('crashloop_pod_workload_info', q.workloadMatchers),
  // A selector of a per-workload series (crashloop_workload_*: no pod, no container).
  wsel(metric, extra=null)::
    '%s{%s}' % [metric, std.join(', ', ['%s=~"$%s", namespace=~"$namespace"' % [cl, cl], q.workloadMatchers] + (if extra == null then [] else [extra]))],

  // max by (cluster, namespace, pod, container, <labels>) (expr)
  perContainer(expr, labels=[]):: 'max by (%s) (%s)' % [std.join(', ', [q.containerKey] + labels), expr],
  // Only the pods of the selected workloads.
  inWorkload(expr):: '%s and on (%s) %s' % [expr, q.podKey, q.workloadInfo],
  // The same, with the labels workload_kind and workload added.
  withWorkload(expr)::
    '%s * on (%s) group_left (workload_kind, workload) topk by (%s) (1, %s)' % [expr, q.podKey, q.podKey, q.workloadInfo],

  // The containers that are troubled now (crash-looping, waiting on an error, evicted or
  // ended for good with a failure): crashloop_container_probable_cause has a series (1)
  // exactly for them, which is what crashloop_troubled_containers counts.
  troubled:: q.sel('crashloop_container_probable_cause') + ' == 1',

  // The increase of a counter over `window`, counting the first value of a series that
  // appeared in the window.
  //
  // crashloop_container_terminations_total and ..._probe_kills_total get their series at
  // the first termination or Event counted (already at 1, or more), and increase() cannot
  // see that first step: it needs two samples (..._probe_failures_total too, for a
  // container without detail series). As the alert rules do, the series' first value is
  // added when the series did not exist one window earlier:
  //
  //   increase(c[W]) + (min_over_time(c[W]) unless present_over_time(c[W] offset W)
  //                     or increase(c[W]) * 0)
  //
  // That first value is all new: the exporter counts nothing from before it started
  // (restarts and Events of its first list are a baseline), so a series that reappears
  // after an exporter restart starts at 0 and adds nothing. (restarts_total is not such a
  // counter: it is the kubelet's restartCount, the old restarts included, and is always
  // exported from the pod's first scrape on.)
  //
  // With W = $__range in an instant query (the "in range" stats), it is the count over the
  // dashboard's range. In a range query with W = $__rate_interval, each point is the count
  // in the W before it: increase() counts every increment in each window that holds it,
  // and the correction adds the first value at exactly the points whose window holds the
  // series' first sample (the one window before, (t-2W, t-W], then has no sample of it).
  // The offset must be W itself: $__range there would look at the wrong window. With
  // $__rate_interval >= step + scrape interval the windows overlap, so no increment, and no
  // first sample, falls between two points.
  //
  // One addition to the rules' form: `or <the first value>` where the window holds a
  // single sample of the series (its first scrape is the window's last sample), for which
  // increase() returns nothing, and so would the sum: the kill is counted from the point
  // it appears at, like any other.
  //
  // `at` is an @ modifier for both windows, e.g. ' @ end()'.
  increaseWithFirst(selector, window, at='')::
    local now = '%s[%s]%s' % [selector, window, at];
    local before = '%s[%s] offset %s%s' % [selector, window, window, at];
    local first = 'min_over_time(%s) unless present_over_time(%s)' % [now, before];
    'increase(%s) + (%s or increase(%s) * 0) or (%s)' % [now, first, now, first],

  // The OOM kills and probe kills over the dashboard's range, per container (and probe).
  oomKillsInRange(at='')::
    q.perContainer(q.increaseWithFirst(q.sel('crashloop_container_terminations_total', 'reason="OOMKilled"'), '$__range', at)),
  probeKillsInRange::
    q.perContainer(q.increaseWithFirst(q.sel('crashloop_container_probe_kills_total'), '$__range'), ['probe']),

  // Per container (and `labels`), the counter's count per $__rate_interval, for graphs.
  countPerInterval(metric, extra=null, labels=[])::
    q.perContainer(q.increaseWithFirst(q.sel(metric, extra), '$__rate_interval'), labels),

  // The `n` containers with the highest maximum of `metric` over the whole dashboard
  // range, for `expr and on (container) <this>`: one set for every point of a graph
  // (topk over a range query would pick a new top n at each step).
  topOverRange(n, metric)::
    'topk(%d, max by (%s) (max_over_time(%s[$__range] @ end())) and on (%s) present_over_time(%s[$__range] @ end()))'
    % [n, q.containerKey, q.sel(metric), q.podKey, q.workloadInfo],

  // Rollout annotations: the templates (pod-template-hash, controller-revision-hash,
  // rollouts-pod-template-hash; Jobs and bare pods have none) of the selected workloads
  // that have pods now (crashloop_workload_ready_pods has a series per template with pods,
  // 0 Ready included) and had none in the `lookback` before the previous step. In a range
  // query $__interval is the step, so a new template is one point, at the first step that
  // sees it. The earlier side is a range selector, which skips staleness markers: an
  // exporter restart or a failed scrape shorter than `lookback` is no rollout (an instant
  // `offset` would see the gap). A template back after `lookback` (a rollback to an old
  // ReplicaSet, a scale-up from 0) is annotated too: its pods are new.
  newTemplates(lookback)::
    local by = 'group by (%s, template)' % q.workloadKey;
    local s = q.wsel('crashloop_workload_ready_pods', 'template!=""');
    '%s (%s) unless %s (present_over_time(%s[%s] offset $__interval))' % [by, s, by, s, lookback],

  // Firing alerts of the mixin (alertname=~names) in the scope, one row per alert, its
  // value the time (in ms) it became active: ALERTS_FOR_STATE, which Prometheus writes
  // beside ALERTS for every active alert, `for:` or not.
  firingAlerts(names)::
    local labels = 'alertname, severity, %s, namespace, workload_kind, workload, pod, container, instance' % cl;
    local c = if container then ', container=~"$container"' else '';
    local scope = 'alertname=~"%s", %s%s, %s' % [std.join('|', names), q.matchers, c, q.workloadMatchers];
    'max by (%s) (ALERTS_FOR_STATE{%s}) * 1000 and on (%s) ALERTS{alertstate="firing", %s}' % [labels, scope, labels, scope],
}

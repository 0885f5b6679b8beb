// Recording rules (prometheusRules): none. The alerts share their joins through the
// jsonnet helpers of alerts.libsonnet instead: a recording rule would add an evaluation
// interval of delay to every alert and series of its own, for expressions that are cheap
// over the exporter's troubled containers. The same holds for cAdvisor's working set
// before an OOM kill: an annotation query of the OOM alerts (oomPeak) reads it where
// Prometheus scrapes cAdvisor, and the alerts work the same without it.
{ prometheusRules+:: { groups+: [] } }

# Shared by .ci/demo and .ci/soak (sourced): build the release binaries, start a testbed
# cluster with `crashloop-sim cluster`, and stop every child process on exit.
#
# The sourcing script sets $tmp (a work directory) and $prefix (for log lines) first.

# shellcheck source=.ci/lib.sh
source .ci/lib.sh
bin="$CARGO_TARGET_DIR/release"
pids=()

log() { printf '[%s] %s\n' "$prefix" "$*" >&2; }

# Stops the children started with `started`, newest first.
stop_children() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# started: records the last background job as a child to stop.
started() { pids+=($!); }

# wait_for SECONDS PID DESCRIPTION LOG COMMAND...: polls COMMAND while PID lives.
wait_for() {
  local seconds=$1 pid=$2 what=$3 logfile=$4 i
  shift 4
  for ((i = 0; i < seconds * 4; i++)); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { log "$what exited; its log:"; tail -n 30 "$logfile" >&2; exit 1; }
    sleep 0.25
  done
  log "$what not ready after ${seconds}s; its log:"; tail -n 30 "$logfile" >&2; exit 1
}

build_release() {
  .ci/install
  log "cargo build --release --workspace --bins"
  cargo build --release --workspace --bins
}

# start_cluster [--node]: etcd + kube-apiserver in $tmp/cluster (and, with --node, a real
# node: kubelet, containerd, runc, scheduler, controller-manager); sets $kubeconfig.
start_cluster() {
  log "starting etcd + kube-apiserver${1:+ and a real node} in $tmp/cluster"
  "$bin/crashloop-sim" cluster --dir "$tmp/cluster" "$@" >"$tmp/cluster.out" 2>"$tmp/cluster.err" &
  started
  wait_for 90 "$!" "crashloop-sim cluster" "$tmp/cluster.err" grep -qs '^KUBECONFIG=' "$tmp/cluster.out"
  kubeconfig=$(sed -n 's/^KUBECONFIG=//p' "$tmp/cluster.out")
}

# start_exporter ADDRESS [ARGS...]: the release exporter on ADDRESS, logging to
# $tmp/exporter.log; sets $exporter_pid once /readyz answers.
start_exporter() {
  local addr=$1
  shift
  log "starting crashloop-exporter on $addr"
  "$bin/crashloop-exporter" --kubeconfig "$kubeconfig" --listen-address "$addr" "$@" >"$tmp/exporter.log" 2>&1 &
  started
  exporter_pid=$!
  wait_for 60 "$exporter_pid" "crashloop-exporter" "$tmp/exporter.log" curl -fs -o /dev/null "http://$addr/readyz"
}

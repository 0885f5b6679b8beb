# What the scripts of .ci/ (and benches/compare) share; sourced, after `cd` to the root:
#   crashloop_cache    the cache of built and installed parts: $CRASHLOOP_CACHE, default
#                      ${XDG_CACHE_HOME:-~/.cache}/crashloop-exporter (.ci/install fills it);
#   CARGO_TARGET_DIR   exported, default $crashloop_cache/target: the demo, the tests and
#                      the benches build into one directory, and a new clone builds only
#                      what changed;
#   need TOOL...       fails, naming .ci/install, when a tool is not on PATH;
#   usage              prints the calling script's header comment (its --help).

crashloop_cache="${CRASHLOOP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crashloop-exporter}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$crashloop_cache/target}"

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool not found: run .ci/install" >&2; exit 1; }
  done
}

# The header: the comment lines after the shebang, up to the first line of code.
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

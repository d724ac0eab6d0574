#!/usr/bin/env bash
# Runs chosen test cases of one check executable N times in a row and
# counts how many runs passed: the figures behind "50 of 50".
#   tools/cycles.sh [--runs N] [--build DIR] [--gdb] TEST_EXECUTABLE CASE[,CASE...]
# --gdb runs each in gdb without Check's fork: a crash leaves every
# thread's backtrace in the run's log.
# e.g. tools/cycles.sh --runs 50 pipelines_webrtc_tunnel test_stop_mid_transfer
# Exits non-zero if any run failed; each failed run's log is kept in
# DIR/cycles/.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=50
builddir=build
gdb=()
while [ $# -gt 2 ]; do
  case "$1" in
    --gdb) gdb=(gdb -batch -nx -ex run -ex 'thread apply all bt' --args)
      export CK_FORK=no; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --build) builddir="$2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { sed -n 2,9p "$0"; exit 2; }
exe="$builddir/tests/check/$1"
cases="$2"
ninja -C "$builddir" >/dev/null || exit 2

export GST_PLUGIN_SYSTEM_PATH_1_0=
export GST_PLUGIN_PATH_1_0="$PWD/$builddir/gst/wrtcframe:$PWD/$builddir/ext:$PWD/$builddir/tests/check/system-plugins"
export GST_REGISTRY="$PWD/$builddir/tests/check/registry.bin"
export GST_DEBUG="${GST_DEBUG:-*:1}"
export GST_CHECKS="$cases"
logs="$builddir/cycles/$1-${cases//,/-}"
mkdir -p "$logs"

passed=0 failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  timeout 600 "${gdb[@]}" "$exe" > "$logs/run-$i.log" 2>&1
  if grep -q "100%: Checks: " "$logs/run-$i.log" &&
      ! grep -q "received signal SIG" "$logs/run-$i.log"; then
    passed=$((passed + 1))
    rm -f "$logs/run-$i.log"
  else
    failed=$((failed + 1))
    echo "run $i failed: $logs/run-$i.log"
    grep -E ":[EF]:" "$logs/run-$i.log" | head -3
  fi
  echo "run $i: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
echo "$1 $cases: $passed of $runs runs passed"
[ "$failed" -eq 0 ]

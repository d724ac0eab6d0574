#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs the whole test suite.
#   tools/run-tests.sh             normal build in ./build
#   tools/run-tests.sh --sanitize  ASan + UBSan (+ LeakSanitizer) build in ./build-asan
#   tools/run-tests.sh --valgrind  memcheck over the suite (build-valgrind); fails
#                                  on any invalid access or "definitely lost"
#                                  not in tests/valgrind.supp
#   tools/run-tests.sh --tsan      ThreadSanitizer (build-tsan) over the threaded
#                                  element tests (framemux, framedemux, roundtrip)
# Ends with "N passed, N failed" (test cases) and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh

builddir=build
opts=()
wrapper=()
tests=()
mode=${1:-}
if [ "$mode" = "--valgrind" ]; then
  builddir=build-valgrind
  opts=(-Dbenchmarks=disabled)
  vglogs="$PWD/$builddir/valgrind"
  rm -rf "$vglogs"
  mkdir -p "$vglogs"
  # Check forks a child per test case: each process writes its own log.
  wrapper=(--wrapper "valgrind --tool=memcheck --leak-check=full
      --show-leak-kinds=definite --errors-for-leak-kinds=definite
      --error-exitcode=33 --num-callers=40 --track-origins=no
      --suppressions=$PWD/tests/valgrind.supp
      --suppressions=/usr/share/glib-2.0/valgrind/glib.supp
      --gen-suppressions=all --log-file=$vglogs/%p.log"
      --timeout-multiplier 10)
  export G_SLICE=always-malloc G_DEBUG=gc-friendly CK_TIMEOUT_MULTIPLIER=10
  # gst-inspect/gst-launch run from python: nothing of ours to check there
  suites=(--no-suite docs --no-suite web)
elif [ "$mode" = "--tsan" ]; then
  builddir=build-tsan
  opts=(-Db_sanitize=thread -Db_lundef=false -Dbenchmarks=disabled)
  mkdir -p "$builddir"
  # GLib's futex locks are invisible to TSan: see tools/tsan-glib-sync.c
  cc -shared -fPIC -O1 -g -fsanitize=thread $(pkg-config --cflags glib-2.0) \
      tools/tsan-glib-sync.c -o "$builddir/tsan-glib-sync.so" -ldl
  wrapper=(--wrapper "env LD_PRELOAD=$PWD/$builddir/tsan-glib-sync.so"
      --timeout-multiplier 5)
  export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=0:exitcode=66:second_deadlock_stack=1"
  export GST_REGISTRY_FORK=no
  # GSlice hands out chunks of slabs through locks TSan cannot see
  export G_SLICE=always-malloc
  suites=()
  # the element tests that run streaming threads
  tests=(elements_framemux elements_framedemux pipelines_roundtrip)
elif [ "$mode" = "--sanitize" ]; then
  builddir=build-asan
  opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled
        -Dc_args=-fno-sanitize-recover=undefined)
  supp="$PWD/tests/check/lsan.supp"
  export ASAN_OPTIONS="detect_leaks=1:exitcode=23:fast_unwind_on_malloc=0"
  export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  # The plugin scanner helper is not instrumented and cannot load an
  # instrumented plugin: scan in-process instead.
  export GST_REGISTRY_FORK=no
  # gst-inspect-1.0 is not instrumented either; the docs test needs it.
  # Neither is python3: it cannot load instrumented plugins (the ASan
  # runtime must come first), so the PyGObject test runs in the normal
  # build only. The "launch" suite runs gst-launch-1.0 processes with the
  # plugin: the same problem.
  # The "perf" suite counts instructions under callgrind: in the normal
  # build only (ASan's own instructions would be counted too).
  # The "forward" suite runs wrtcframe-forward processes from python3,
  # with the normal build's plugins only; "web" runs gst-launch-1.0 from
  # Node.
  suites=(--no-suite docs --no-suite python --no-suite launch --no-suite perf
    --no-suite forward --no-suite web)
  # ASan makes GStreamer and webrtcbin several times slower: give every
  # bounded wait (Check's, meson's and the tests' own) three times longer.
  wrapper=(--timeout-multiplier 3)
  export CK_TIMEOUT_MULTIPLIER=3
else
  suites=()
fi

if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" "${opts[@]}" >/dev/null
else
  meson setup "$builddir" "${opts[@]}" >/dev/null
fi
ninja -C "$builddir"

rc=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 \
    "${wrapper[@]}" "${suites[@]}" "${tests[@]}" || rc=$?
if [ "$mode" = "--valgrind" ]; then
  # a per-case child's valgrind exit code may not reach meson: read the logs
  bad=$(grep -lE "ERROR SUMMARY: [1-9]" "$vglogs"/*.log || true)
  if [ -n "$bad" ]; then
    echo "valgrind found errors, see:" $bad
    rc=1
  fi
  echo "valgrind: $(ls "$vglogs" | wc -l) processes checked"
fi
# meson names the log after the wrapper program
testlog=testlog.json
[ "$mode" = "--valgrind" ] && testlog=testlog-valgrind.json
[ "$mode" = "--tsan" ] && testlog=testlog-env.json
python3 tools/count-cases.py "$builddir/meson-logs/$testlog" \
    --out "$builddir/case-counts.txt"
exit $rc

#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs the whole test suite.
#   tools/run-tests.sh             normal build in ./build
#   tools/run-tests.sh --sanitize  ASan + UBSan (+ LeakSanitizer) build in ./build-asan
# Ends with "N passed, N failed" (test cases) and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh

builddir=build
opts=()
if [ "${1:-}" = "--sanitize" ]; then
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
  # build only.
  suites=(--no-suite docs --no-suite python)
else
  suites=()
fi

if [ -d "$builddir" ]; then
  meson setup --reconfigure "$builddir" "${opts[@]}" >/dev/null
else
  meson setup "$builddir" "${opts[@]}" >/dev/null
fi
ninja -C "$builddir"

rc=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 "${suites[@]}" || rc=$?
python3 tools/count-cases.py "$builddir/meson-logs/testlog.json" \
    --out "$builddir/case-counts.txt"
exit $rc

#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, coverage-instrumented
# libraries) in ./build-fuzz and runs one of them.
#   tools/fuzz.sh codec|parser|framedemux [seconds] [more libFuzzer options]
# The working corpus is build-fuzz/corpus-<target>, seeded from
# fuzz/corpus/<target> and fuzz/regressions/<target> (parser: framedemux's); crashes land in
# build-fuzz/artifacts-<target>/. Copy a crash into fuzz/regressions/<target>
# once fixed: the replay tests then run it in every build.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: tools/fuzz.sh codec|parser|framedemux [seconds] [libFuzzer options]}
secs=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))

builddir=build-fuzz
if [ ! -d "$builddir" ]; then
  CC=clang meson setup "$builddir" -Dfuzzing=enabled -Dbenchmarks=disabled \
      -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" \
      >/dev/null
fi
ninja -C "$builddir" "fuzz/fuzz-$target"

corpus="$builddir/corpus-$target"
artifacts="$builddir/artifacts-$target"
mkdir -p "$corpus" "$artifacts"
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tests/check/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# framedemux inputs reach the 64 KiB rescan threshold only above it.
# GStreamer keeps caches across inputs, so libFuzzer's per-input leak check
# would run a full LeakSanitizer scan after almost every input (70% of the
# time): leaks are left to the corpus replay tests, which run LSan (ASan
# build) and memcheck (--valgrind) over the whole corpus at exit.
maxlen=4096
leaks=1
seeds=$target
if [ "$target" = parser ]; then
  seeds=framedemux
  maxlen=150000
fi
if [ "$target" = framedemux ]; then
  maxlen=150000
  leaks=0
fi
exec "$builddir/fuzz/fuzz-$target" -max_total_time="$secs" -max_len="$maxlen" \
    -dict=fuzz/wrtcframe.dict -print_final_stats=1 -detect_leaks="$leaks" \
    -artifact_prefix="$artifacts/" "$@" \
    "$corpus" "fuzz/corpus/$seeds" "fuzz/regressions/$seeds"

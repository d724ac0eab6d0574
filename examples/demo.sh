#!/usr/bin/env bash
# Demo: two connections through framemux ! framedemux in one gst-launch-1.0
# pipeline. Connection 1 carries a file of random bytes (compared byte for
# byte afterwards), connection 2 raw video frames bigger than one
# data-channel message, so they are split and joined again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

export GST_PLUGIN_PATH="$PWD/build/gst/wrtcframe${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c $((32 * 1024 * 1024)) /dev/urandom > "$work/in.bin"

set -x
gst-launch-1.0 -e \
  framemux name=mux max-message-size=65536 ! queue ! framedemux name=demux \
  filesrc location="$work/in.bin" blocksize=4096 ! mux.sink_1 \
  videotestsrc num-buffers=300 ! video/x-raw,width=320,height=240 ! mux.sink_2 \
  demux.src_1 ! queue ! filesink async=false location="$work/out.bin" \
  demux.src_2 ! queue ! fakesink async=false
{ set +x; } 2>/dev/null

in_sum=$(sha256sum < "$work/in.bin" | cut -d' ' -f1)
out_sum=$(sha256sum < "$work/out.bin" | cut -d' ' -f1)
echo "connection 1: sent $(stat -c %s "$work/in.bin") bytes, received $(stat -c %s "$work/out.bin") bytes"
echo "connection 1: sha256 in  $in_sum"
echo "connection 1: sha256 out $out_sum"
if [ "$in_sum" = "$out_sum" ]; then
  echo "connection 1: byte-exact"
else
  echo "connection 1: MISMATCH"; exit 1
fi

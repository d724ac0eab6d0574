#!/usr/bin/env bash
# Demo: two WebRTC peers in one process, connected over 127.0.0.1, tunnel a
# live VP8/RTP video stream, a live Opus/RTP audio stream and a 32 MiB bulk
# transfer over one data channel (framemux ! datachannelsink -> webrtcbin ->
# webrtcbin -> datachannelsrc ! framedemux). Prints progress every second,
# then per-connection bytes, SHA-256 sent vs received, and throughput.
# Exits non-zero on any mismatch, error or timeout.
#   bash examples/demo.sh [--seconds S] [--bulk-mib N]
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
if [ ! -x build/examples/wrtcframe-demo ]; then
  echo "build/examples/wrtcframe-demo was not built: gstreamer-webrtc-1.0" \
       "(libgstreamer-plugins-bad1.0-dev) missing?" >&2
  exit 1
fi

export GST_PLUGIN_PATH="$PWD/build/gst/wrtcframe:$PWD/build/ext${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
# The program bounds every wait itself; this is a last resort.
exec timeout --kill-after=10 300 build/examples/wrtcframe-demo "$@"

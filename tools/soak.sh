#!/usr/bin/env bash
# Soak run: two frametunnel endpoints over real webrtcbin on 127.0.0.1,
# a bulk connection each way plus short-lived connections opened and closed
# continuously, every byte checked; RSS / fd / thread figures printed.
#   tools/soak.sh [--minutes N] [other wrtcframe-soak options]   (default 30)
# Builds ./build (or $WRTC_SOAK_BUILD) if needed; exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=30
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

b=${WRTC_SOAK_BUILD:-build}
[ -d "$b" ] || meson setup "$b" >/dev/null
ninja -C "$b" tests/soak/wrtcframe-soak ext/webrtc/libgstwrtcframewebrtc.so \
  gst/wrtcframe/libgstwrtcframe.so >/dev/null

export GST_PLUGIN_SYSTEM_PATH_1_0=
export GST_PLUGIN_PATH_1_0="$PWD/$b/gst/wrtcframe:$PWD/$b/ext:$PWD/$b/tests/check/system-plugins${WRTC_EXTRA_PLUGINS:+:$WRTC_EXTRA_PLUGINS}"
export GST_REGISTRY="$PWD/$b/tests/soak/registry.bin"
export GST_DEBUG="${GST_DEBUG:-*:1}"
exec "$b/tests/soak/wrtcframe-soak" --seconds $((minutes * 60)) "${args[@]}"

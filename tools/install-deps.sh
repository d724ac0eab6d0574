#!/usr/bin/env bash
# Installs everything needed to build, test, benchmark and demo gst-wrtcframe
# on Debian bookworm. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config python3
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  # webrtcbin's ICE transport (webrtc tests, demo, benchmark)
  gstreamer1.0-nice
  # the Python embedding test (tests/python/): PyGObject and the typelibs
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  gir1.2-gst-plugins-bad-1.0
  # signalling (client and server): WebSocket + JSON; TLS test certificates
  libsoup-3.0-dev libjson-glib-dev openssl
  # TURN relay and network namespaces with a rate-limited link (tests)
  coturn iproute2
  # callgrind: the instruction-count gate (meson suite "perf"), and
  # tools/run-tests.sh --valgrind
  valgrind
  # wrtcframe-forward's test: a real SOCKS5 client
  curl
  # web/wrtcframe.js, the browser module: its tests run in Node, and in
  # Chromium (tests/web/browser-test.mjs)
  nodejs chromium
)

# playwright-core drives Chromium in tests/web (pinned; into .npm-deps/ of
# the checkout, never a browser download). Without the npm registry the
# browser test is skipped, and says so.
npm_deps() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/.npm-deps"
  [ -d "$dir/node_modules/playwright-core" ] && return 0
  command -v npm >/dev/null || return 0
  mkdir -p "$dir"
  timeout 300 npm install --prefix "$dir" --no-audit --no-fund --no-save \
      --loglevel=error playwright-core@1.65.2 ||
    echo "warning: npm could not install playwright-core: the browser test will be skipped"
}

# Skip apt entirely when everything is already there (fast re-runs).
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_deps
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
npm_deps

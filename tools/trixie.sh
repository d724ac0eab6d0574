#!/usr/bin/env bash
# Builds gst-wrtcframe against GStreamer 1.26 (Debian 13 "trixie") and runs
# its tests there, in a chroot. Root only; network: the Debian mirror.
#   tools/trixie.sh                 setup (cached), build, the test suite
#   tools/trixie.sh --soak MINUTES  then the soak (tools/soak.sh) there too
#   tools/trixie.sh --shell         a shell in the chroot, at the checkout
#   tools/trixie.sh --run 'CMD'     CMD (bash) in the chroot, at the checkout
# The root file system is made once with debootstrap --variant=minbase and
# the packages of tools/install-deps.sh, in $WRTC_TRIXIE_ROOT (default
# /var/cache/gst-wrtcframe/trixie); delete it to start over. The checkout is
# bind-mounted at /src; the build goes to build-trixie/. The build must not
# warn (--werror). Ends with "N passed, N failed" like tools/run-tests.sh.
# The perf suite's instruction limits are per GStreamer version (see
# benchmarks/bench-instructions.c).
set -euo pipefail
cd "$(dirname "$0")/.."

root=${WRTC_TRIXIE_ROOT:-/var/cache/gst-wrtcframe/trixie}
mirror=${WRTC_TRIXIE_MIRROR:-http://deb.debian.org/debian}
soak=0
shell=0
run=
while [ $# -gt 0 ]; do
  case "$1" in
    --soak) soak=${2:?--soak needs minutes}; shift 2 ;;
    --shell) shell=1; shift ;;
    --run) run=${2:?--run needs a command}; shift 2 ;;
    *) echo "usage: tools/trixie.sh [--soak MINUTES] [--shell] [--run CMD]" >&2
       exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "tools/trixie.sh: needs root (chroot)" >&2; exit 2; }

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      debootstrap
fi

mounts=()
cleanup() {
  local i
  umount -l "$root/run/netns" 2>/dev/null || true   # ip netns's own mount
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
bind() {  # bind <what> <where inside the root>
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  mounts+=("$root$2")
}

if [ ! -f "$root/.wrtc-ready" ]; then
  t0=$(date +%s)
  rm -rf "$root"
  mkdir -p "$root"
  debootstrap --variant=minbase trixie "$root" "$mirror"
  echo "debootstrap: $(( $(date +%s) - t0 )) s"
fi

# the root is a mount point of its own: ip netns (the netns and browser
# tests) remounts / as a slave, which fails on a plain directory
mount --bind "$root" "$root"
mounts+=("$root")
bind /proc /proc
bind /sys /sys
bind /dev /dev
bind /dev/pts /dev/pts
bind "$PWD" /src
mkdir -p "$root/run/netns"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

if [ ! -f "$root/.wrtc-ready" ]; then
  t0=$(date +%s)
  in_root bash -c 'cd /src && bash tools/install-deps.sh'
  touch "$root/.wrtc-ready"
  echo "packages: $(( $(date +%s) - t0 )) s"
fi

if [ "$shell" -eq 1 ]; then
  in_root bash -c 'cd /src && exec bash -i'
  exit $?
fi
if [ -n "$run" ]; then
  in_root bash -c "cd /src && $run"
  exit $?
fi

in_root bash -c 'gst-launch-1.0 --version | head -2'
# the same steps as tools/run-tests.sh, in build-trixie/
in_root bash -c '
  set -euo pipefail
  cd /src
  bash tools/install-deps.sh
  [ -d build-trixie ] || meson setup build-trixie --werror
  ninja -C build-trixie
  rc=0
  meson test -C build-trixie --print-errorlogs || rc=1
  python3 tools/count-cases.py build-trixie/meson-logs/testlog.json \
      --out build-trixie/case-counts.txt
  exit $rc
' && rc=0 || rc=$?

if [ "$soak" -gt 0 ]; then
  in_root bash -c "cd /src && WRTC_SOAK_BUILD=build-trixie bash tools/soak.sh --minutes $soak" ||
    rc=1
fi
exit $rc

#!/usr/bin/env bash
# Demo: two gst-launch-1.0 processes find each other through the signalling
# server (wrtcframe-signalling-server) and tunnel, over one WebRTC data
# channel on 127.0.0.1 (webrtctunnel):
#   A -> B  connection 1: 32 MiB file, connection 3: live VP8/RTP video
#   B -> A  connection 2: 8 MiB file
# Each process ends by itself once everything went across; the script then
# compares SHA-256 sent vs received per connection and prints the rates.
# Exits 0 all byte-exact, 1 a mismatch, 2 an error, 3 a timeout.
#   bash examples/demo.sh [--bulk-mib N] [--seconds S]
#   bash examples/demo.sh --in-process [...]   both peers in one program
#                                              (build/examples/wrtcframe-demo)
set -uo pipefail
cd "$(dirname "$0")/.."

bulk_mib=32
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --in-process) shift; in_process=1; break ;;
    --bulk-mib) bulk_mib="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done

bash tools/install-deps.sh || exit 2
[ -d build ] || meson setup build >/dev/null || exit 2
ninja -C build >/dev/null || exit 2
export GST_PLUGIN_PATH="$PWD/build/gst/wrtcframe:$PWD/build/ext${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

if [ -n "${in_process:-}" ]; then
  # The program bounds every wait itself; this is a last resort.
  exec timeout --kill-after=10 300 build/examples/wrtcframe-demo "$@"
fi

server=build/signalling/wrtcframe-signalling-server
if [ ! -x "$server" ] || ! gst-inspect-1.0 webrtctunnel >/dev/null 2>&1; then
  echo "webrtctunnel or $server was not built (libsoup-3.0-dev," \
       "libjson-glib-dev, libgstreamer-plugins-bad1.0-dev missing?)" >&2
  exit 2
fi

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

head -c $((bulk_mib * 1024 * 1024)) /dev/urandom > "$dir/a-to-b"
head -c $((8 * 1024 * 1024)) /dev/urandom > "$dir/b-to-a"
# 30 frames/s for --seconds, VP8 if the encoder is there, raw video if not
frames=$((seconds * 30))
if gst-inspect-1.0 vp8enc >/dev/null 2>&1; then
  video="videotestsrc is-live=true num-buffers=$frames ! video/x-raw,width=640,height=360,framerate=30/1 ! vp8enc deadline=1 ! rtpvp8pay"
  video_name="video (VP8/RTP)"
else
  video="videotestsrc is-live=true num-buffers=$frames ! video/x-raw,width=320,height=180,framerate=30/1"
  video_name="video (raw)"
fi

"$server" --host 127.0.0.1 --port 0 > "$dir/server.out" 2> "$dir/server.log" &
pids+=($!)
for _ in $(seq 100); do
  uri=$(sed -n 's/^listening on \(ws:[^ ]*\).*/\1/p' "$dir/server.out")
  [ -n "$uri" ] && break
  sleep 0.05
done
if [ -z "$uri" ]; then
  echo "the signalling server did not start:" >&2
  cat "$dir/server.log" >&2
  exit 2
fi

# The same lines work across two machines: see the end of the output.
common="local-addresses=127.0.0.1 signaller::uri=$uri"
start=$(date +%s%N)
timeout 120 gst-launch-1.0 -q \
  filesrc location="$dir/a-to-b" blocksize=65536 ! t.sink_1 \
  $video ! tee name=v ! queue ! t.sink_3 \
  v. ! queue ! filesink location="$dir/video-sent" \
  webrtctunnel name=t $common signaller::meta=meta,name=demo-a \
  t.src_2 ! filesink location="$dir/b-to-a.received" \
  > "$dir/a.log" 2>&1 &
a=$!
pids+=($a)
timeout 120 gst-launch-1.0 -q \
  filesrc location="$dir/b-to-a" blocksize=65536 ! t.sink_2 \
  webrtctunnel name=t $common signaller::role=consumer \
  signaller::producer-name=demo-a \
  t.src_1 ! filesink location="$dir/a-to-b.received" \
  t.src_3 ! filesink location="$dir/video-received" \
  > "$dir/b.log" 2>&1 &
b=$!
pids+=($b)

status=0
wait $a; ra=$?
wait $b; rb=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
for side in a:$ra b:$rb; do
  name=${side%%:*} rc=${side##*:}
  if [ "$rc" -ne 0 ]; then
    echo "process $name ended with status $rc:" >&2
    tail -20 "$dir/$name.log" >&2
    [ "$rc" -eq 124 ] && status=3 || status=2
  fi
done

printf '\n%-5s %-18s %12s %12s  %s\n' conn stream "sent B" "recv B" \
  "sha256 (sent = received?)"
row() {
  local conn=$1 what=$2 sent=$3 recv=$4 s r verdict=MATCH
  s=$(sha256sum < "$sent" | cut -c1-16)
  r=$( [ -f "$recv" ] && sha256sum < "$recv" | cut -c1-16 || echo missing)
  [ "$s" = "$r" ] || { verdict=DIFFERENT; [ $status -eq 0 ] && status=1; }
  printf '%-5s %-18s %12d %12d  %s... %s\n' "$conn" "$what" \
    "$(stat -c %s "$sent")" "$( [ -f "$recv" ] && stat -c %s "$recv" || echo 0)" \
    "$s" "$verdict"
}
row 1 "file A -> B" "$dir/a-to-b" "$dir/a-to-b.received"
row 2 "file B -> A" "$dir/b-to-a" "$dir/b-to-a.received"
row 3 "$video_name" "$dir/video-sent" "$dir/video-received"
total=$(( $(stat -c %s "$dir/a-to-b") + $(stat -c %s "$dir/b-to-a") ))
awk -v b="$total" -v ms="$elapsed_ms" 'BEGIN { printf "\n%d bytes of files in %d ms, start-up included, alongside the live video (%.1f MB/s)\n", b, ms, b / ms / 1000 }'
case $status in
  0) echo "RESULT: all connections byte-exact" ;;
  1) echo "RESULT: MISMATCH" ;;
  *) echo "RESULT: ERROR" ;;
esac

cat <<EOF

Across two machines (a server both reach, here on SERVER):
  SERVER$ build/signalling/wrtcframe-signalling-server --port 8443
  A$ gst-launch-1.0 filesrc location=in1 ! t.sink_1 webrtctunnel name=t \\
       signaller::uri=ws://SERVER:8443 signaller::meta=meta,name=tunnel-a \\
       t.src_2 ! filesink location=out2
  B$ gst-launch-1.0 filesrc location=in2 ! t.sink_2 webrtctunnel name=t \\
       signaller::uri=ws://SERVER:8443 signaller::role=consumer \\
       signaller::producer-name=tunnel-a t.src_1 ! filesink location=out1
EOF
exit $status

#!/usr/bin/env python3
"""wrtcframe-forward throughput, latency and CPU, next to its baselines.

One bulk TCP download and small echo round trips through a listen/serve
pair on 127.0.0.1, the same straight to the target (no tunnel), and the raw
data channel of `wrtcframe-bench e2e` (65507 B messages), all in this run.

Usage: forward-bench.py [BUILD_DIR] [--bytes N] [--round-trips N]
"""
import importlib.util
import os
import re
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "forward_test", os.path.join(HERE, "..", "tests", "forward",
                                 "forward-test.py"))
ft = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ft)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(procs):
    total = 0
    for p in procs:
        with open("/proc/%d/stat" % p.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])     # utime + stime
    return total / TICKS


def download(port, n, procs):
    """MB/s and CPU ms per MB of one n-byte transfer, first byte to last."""
    s = ft.connect(port)
    s.sendall(b"S" + struct.pack(">Q", n))
    first = s.recv(1 << 20)
    ft.check(first, "no data")
    t0, cpu0 = time.monotonic(), cpu_seconds(procs)
    got = len(first)
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        got += len(d)
    t1, cpu1 = time.monotonic(), cpu_seconds(procs)
    s.close()
    ft.check(got == n, "downloaded %d of %d bytes" % (got, n))
    mb = (got - len(first)) / 1e6
    return mb / (t1 - t0), (cpu1 - cpu0) * 1e3 / mb if procs else 0


def round_trips(port, n):
    """p50 and p99 in ms of n 64-byte echo round trips on one connection."""
    s = ft.connect(port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"E")
    ft.check(s.recv(1) == b"E", "no echo")
    msg = os.urandom(64)
    rtts = []
    for _ in range(n):
        t0 = time.monotonic()
        s.sendall(msg)
        ft.check(ft.Target._read_exact(s, 64) == msg, "echo differs")
        rtts.append((time.monotonic() - t0) * 1e3)
    s.close()
    rtts.sort()
    return rtts[len(rtts) // 2], rtts[min(len(rtts) - 1, len(rtts) * 99 // 100)]


def raw_channel(build):
    """MB/s and CPU ms/MB of the raw data channel, from wrtcframe-bench e2e
    (the median of its runs: one short window can fall into an SCTP stall)."""
    out = subprocess.run(
        [os.path.join(build, "benchmarks", "wrtcframe-bench"), "e2e",
         "--size=65507"], capture_output=True, text=True,
        timeout=300).stdout
    # summary row: size ours-f/s ours-MB/s raw-msgs/s raw-MB/s ratio ours-cpu raw-cpu
    m = re.search(r"^\s*65507\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s+\S+\s+(\S+)",
                  out, re.M)
    ft.check(m, "no summary from wrtcframe-bench e2e:\n" + out)
    return float(m.group(1)), float(m.group(2))


def main():
    args = sys.argv[1:]
    build = os.path.abspath("build")
    n_bytes, n_rtt = 256 << 20, 2000
    while args:
        a = args.pop(0)
        if a == "--bytes":
            n_bytes = int(args.pop(0))
        elif a == "--round-trips":
            n_rtt = int(args.pop(0))
        else:
            build = os.path.abspath(a)
    os.environ.setdefault("GST_PLUGIN_PATH_1_0", ":".join(
        os.path.join(build, d) for d in ("gst/wrtcframe", "ext")))
    os.environ.setdefault("GST_DEBUG", "*:1")

    t = ft.Test(os.path.join(build, "signalling",
                             "wrtcframe-signalling-server"),
                os.path.join(build, "tools", "forward", "wrtcframe-forward"))
    target = ft.Target()
    try:
        pair = ft.Pair(t, "bench", "%s:%d" % (ft.LOOPBACK, target.port),
                       ["--local", "%s:0" % ft.LOOPBACK, "--remote-target",
                        "%s:%d" % (ft.LOOPBACK, target.port)])
        ft.check(ft.exchange(pair.port, b"E") == b"E", "no tunnel")
        procs = [pair.serve, pair.listen]
        fwd_mbs, fwd_cpu = download(pair.port, n_bytes, procs)
        fwd_p50, fwd_p99 = round_trips(pair.port, n_rtt)
        tcp_mbs, _ = download(target.port, n_bytes, [])
        tcp_p50, tcp_p99 = round_trips(target.port, n_rtt)
    finally:
        t.cleanup(keep_logs=False)
    raw_mbs, raw_cpu = raw_channel(build)

    print("\nwrtcframe-forward on 127.0.0.1: one %d MiB download, %d echo "
          "round trips of 64 B" % (n_bytes >> 20, n_rtt))
    print("%-34s %10s %12s %10s %10s" % ("", "MB/s", "CPU ms/MB", "p50 ms",
                                         "p99 ms"))
    print("%-34s %10.2f %12.1f %10.3f %10.3f" % (
        "wrtcframe-forward (listen+serve)", fwd_mbs, fwd_cpu, fwd_p50,
        fwd_p99))
    print("%-34s %10.2f %12.1f %10s %10s" % (
        "raw data channel (bench e2e)", raw_mbs, raw_cpu, "", ""))
    print("%-34s %10.2f %12s %10.3f %10.3f" % (
        "TCP straight to the target", tcp_mbs, "", tcp_p50, tcp_p99))
    if raw_mbs > 0 and raw_cpu > 0:
        print("forward / raw data channel: %.2fx MB/s, %.2fx CPU per MB" % (
            fwd_mbs / raw_mbs, fwd_cpu / raw_cpu))
    else:
        print("forward / raw data channel: no ratio, the raw channel stalled "
              "in every run")
    print("(CPU: both wrtcframe-forward processes, all threads; raw: both "
          "peers of bench e2e, one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""wrtcframe-forward end to end, on 127.0.0.1 only.

Starts a signalling server, serve/listen pairs of wrtcframe-forward (one
session each: port forwarding to a scripted TCP target, port forwarding to
a port nothing listens on, a SOCKS5 proxy), an HTTP server, and drives them
with raw sockets and curl. Every wait is bounded.

Usage: forward-test.py SIGNALLING_SERVER WRTCFRAME_FORWARD
Last line: "Checks: N, Failures: F, Errors: 0"; exit status 1 on a failure.
"""
import hashlib
import http.server
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

LOOPBACK = "127.0.0.1"
SOCKET_TIMEOUT = 60          # no single socket operation may block longer
BLOCK = os.urandom(1 << 20)  # the scripted target's payload pattern


def pattern(n):
    reps = n // len(BLOCK) + 1
    return (BLOCK * reps)[:n]


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# ---- processes ----

class Proc:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, name, args, logdir):
        self.name = name
        self.log = open(os.path.join(logdir, name + ".log"), "w")
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  errors="replace")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.log.write(line)
            self.log.flush()
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)      # end of output
            self.cond.notify_all()

    def count(self, regex):
        r = re.compile(regex)
        with self.cond:
            return sum(1 for l in self.lines if l is not None and r.search(l))

    def wait_line(self, regex, timeout, at_least=1):
        """The match of the at_least-th line matching regex."""
        r = re.compile(regex)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for m in (r.search(l) for l in self.lines
                                     if l is not None) if m]
                if len(found) >= at_least:
                    return found[at_least - 1]
                left = end - time.monotonic()
                if left <= 0 or (self.lines and self.lines[-1] is None):
                    raise Failure("%s: no line matching %r within %d s "
                                  "(exit %s)" % (self.name, regex, timeout,
                                                 self.p.poll()))
                self.cond.wait(left)

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("%s did not exit within %d s" % (self.name, timeout))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)


class Pair:
    """One serve and one listen process: one tunnel session."""

    def __init__(self, t, name, allow, listen_args):
        self.serve = t.start("serve-" + name, [
            t.forward, "serve", "--signaller", t.uri, "--name", name,
            "--allow", allow, "--local-addresses", LOOPBACK])
        self.serve.wait_line(r"^serving " + name, 30)
        # the consumer asks for the producer by name: it must be registered
        t.signalling.wait_line(r"registered as producer", 30,
                               at_least=t.producers + 1)
        t.producers += 1
        self.listen = t.start("listen-" + name, [
            t.forward, "listen", "--signaller", t.uri, "--name", name,
            "--local-addresses", LOOPBACK] + listen_args)
        m = self.listen.wait_line(r"^listening on 127\.0\.0\.1:(\d+)", 30)
        self.port = int(m.group(1))


# ---- the scripted TCP target (port forwarding's far end) ----

class Target:
    """Each connection's first byte picks what it does:
    (none) the client closes at once: EOF back;
    A      accumulate until EOF, then send it all back and half-close;
    E      echo as it comes, half-close on EOF;
    S n    send n pattern bytes, half-close, read until EOF;
    H tok  send 64 KiB, half-close, then read until EOF and record it;
    R n    read n bytes, then reset the connection;
    P tok  read 16 KiB, wait for resume(), then read until EOF and record.
    n and tok are 8 bytes, big-endian."""

    def __init__(self, host=LOOPBACK):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else
                                  socket.AF_INET)
        self.sock.bind((host, 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.records = {}
        self.cond = threading.Condition()
        self.resume_event = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(s,),
                             daemon=True).start()

    @staticmethod
    def _read_exact(s, n):
        buf = bytearray()
        while len(buf) < n:
            d = s.recv(n - len(buf))
            if not d:
                break
            buf += d
        return bytes(buf)

    @staticmethod
    def _read_all(s):
        buf = bytearray()
        while True:
            d = s.recv(1 << 16)
            if not d:
                return bytes(buf)
            buf += d

    def _record(self, tok, data):
        with self.cond:
            self.records[tok] = data
            self.cond.notify_all()

    def wait_record(self, tok, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while tok not in self.records:
                left = end - time.monotonic()
                if left <= 0:
                    raise Failure("the target never recorded %d" % tok)
                self.cond.wait(left)
            return self.records[tok]

    def _serve(self, s):
        s.settimeout(SOCKET_TIMEOUT)
        try:
            mode = s.recv(1)
            if mode == b"A":
                s.sendall(b"A" + self._read_all(s))
            elif mode == b"E":
                s.sendall(b"E")
                while True:
                    d = s.recv(1 << 16)
                    if not d:
                        break
                    s.sendall(d)
            elif mode in (b"S", b"H", b"R", b"P"):
                arg = struct.unpack(">Q", self._read_exact(s, 8))[0]
                if mode == b"S":
                    s.sendall(pattern(arg))
                elif mode == b"H":
                    s.sendall(pattern(65536))
                elif mode == b"R":
                    self._read_exact(s, arg)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    s.close()
                    return
                elif mode == b"P":
                    head = self._read_exact(s, 16384)
                    self.resume_event.wait(SOCKET_TIMEOUT)
                    self._record(arg, head + self._read_all(s))
                    s.close()
                    return
                s.shutdown(socket.SHUT_WR)
                rest = self._read_all(s)
                if mode == b"H":
                    self._record(arg, rest)
            if mode != b"":
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            s.close()


# ---- clients ----

def connect(port, host=LOOPBACK):
    s = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT)
    s.settimeout(SOCKET_TIMEOUT)
    return s


def read_to_eof(s, limit=None):
    buf = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            return bytes(buf)
        buf += d
        check(limit is None or len(buf) <= limit, "more data than was sent")


def exchange(port, payload, shut=True):
    """Sends payload (from a thread, so both directions flow at once), then
    half-closes, and returns everything read until EOF."""
    s = connect(port)
    err = []

    def send():
        try:
            s.sendall(payload)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        got = read_to_eof(s)
    finally:
        t.join(SOCKET_TIMEOUT)
        s.close()
    check(not err, "sending failed: %r" % err)
    return got


def expect_reset(s, what):
    """Reads s until it ends: a reset is expected, not an EOF."""
    try:
        while s.recv(1 << 20):
            pass
    except ConnectionResetError:
        return
    except socket.timeout:
        raise Failure("%s: the socket stayed open" % what)
    raise Failure("%s: an EOF instead of a reset" % what)


def socks_connect(port, atyp, addr, dport):
    """A raw SOCKS5 CONNECT: (the socket, the reply code)."""
    s = connect(port)
    s.sendall(b"\x05\x01\x00")
    check(s.recv(2) == b"\x05\x00", "no-auth greeting refused")
    if atyp == 1:
        a = socket.inet_aton(addr)
    elif atyp == 4:
        a = socket.inet_pton(socket.AF_INET6, addr)
    else:
        a = bytes([len(addr)]) + addr.encode()
    s.sendall(bytes([5, 1, 0, atyp]) + a + struct.pack(">H", dport))
    rep = Target._read_exact(s, 10)
    check(len(rep) == 10 and rep[0] == 5, "short SOCKS5 reply %r" % rep)
    return s, rep[1]


class Test:
    def __init__(self, server_exe, forward_exe):
        self.forward = forward_exe
        self.tmp = tempfile.mkdtemp(prefix="wrtcframe-forward-test-")
        self.procs = []
        self.producers = 0
        self.checks = self.failures = 0
        self.signalling = self.start("signalling", [
            server_exe, "--host", LOOPBACK, "--port", "0", "--verbose"])
        port = int(self.signalling.wait_line(r"\(port (\d+)\)", 20).group(1))
        self.uri = "ws://%s:%d" % (LOOPBACK, port)

    def start(self, name, args):
        p = Proc(name, args, self.tmp)
        self.procs.append(p)
        return p

    def case(self, name, fn, *args):
        self.checks += 1
        t0 = time.monotonic()
        try:
            fn(*args)
            print("ok   %s (%.1f s)" % (name, time.monotonic() - t0))
        except Exception as e:
            self.failures += 1
            print("FAIL %s: %s" % (name, e))
            if not isinstance(e, Failure):
                traceback.print_exc()
        sys.stdout.flush()

    def cleanup(self, keep_logs):
        for p in self.procs:
            p.stop()
        if keep_logs:
            for p in self.procs:
                p.log.close()
                with open(p.log.name) as f:
                    tail = f.readlines()[-30:]
                print("---- %s (last %d lines) ----" % (p.name, len(tail)))
                sys.stdout.write("".join(tail))
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- port forwarding cases ----

def case_echo(port, size):
    data = os.urandom(size)
    got = exchange(port, b"E" + data)
    check(got == b"E" + data, "echo of %d bytes: %d came back%s" % (
        size, len(got) - 1, "" if len(got) != size + 1 else ", different"))


def case_empty(port):
    got = exchange(port, b"")
    check(got == b"", "an empty connection got %d bytes" % len(got))


def case_half_close_client_first(port):
    # the target answers only after our EOF reached it
    data = os.urandom(1 << 20)
    got = exchange(port, b"A" + data)
    check(got == b"A" + data, "after our half-close: %d of %d bytes back" % (
        len(got) - 1, len(data)))


def case_half_close_target_first(port, target):
    s = connect(port)
    s.sendall(b"H" + struct.pack(">Q", 1))
    got = read_to_eof(s)
    check(got == pattern(65536), "before the target's EOF: %d bytes" %
          len(got))
    data = os.urandom(1 << 20)
    s.sendall(data)            # our direction still open after its EOF
    s.shutdown(socket.SHUT_WR)
    rec = target.wait_record(1, 30)
    s.close()
    check(rec == data, "after the target's half-close it got %d of %d "
          "bytes" % (len(rec), len(data)))


def case_bulk_and_200(port):
    bulk = os.urandom(32 << 20)
    result = {}

    def run_bulk():
        try:
            result["got"] = exchange(port, b"E" + bulk)
        except Exception as e:
            result["err"] = e
    tb = threading.Thread(target=run_bulk, daemon=True)
    tb.start()
    errors = []
    done = [0]
    lock = threading.Lock()

    def short_ones(k):
        for i in range(20):
            data = os.urandom(1 + (k * 7919 + i * 104729) % 20000)
            try:
                got = exchange(port, b"E" + data)
                ok = got == b"E" + data
            except Exception as e:
                ok, got = False, repr(e)
            with lock:
                done[0] += 1
                if not ok:
                    errors.append((k, i, len(data), got if isinstance(
                        got, str) else len(got)))
    workers = [threading.Thread(target=short_ones, args=(k,), daemon=True)
               for k in range(10)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(180)
    check(done[0] == 200, "only %d of 200 connections finished" % done[0])
    check(not errors, "%d of 200 connections wrong, first %r" % (
        len(errors), errors[:1]))
    tb.join(180)
    check("err" not in result, "bulk: %r" % result.get("err"))
    check(result.get("got") == b"E" + bulk, "bulk: %d of %d bytes back" % (
        len(result.get("got", b"")) - 1, len(bulk)))


def case_reset_mid_stream(port):
    s = connect(port)
    # More than the target reads before its reset, all sent before reading:
    # a send still running would take the ECONNRESET and leave the read an
    # EOF (the kernel reports a socket's error to one call only).
    s.sendall(b"R" + struct.pack(">Q", 100000) + os.urandom(100000 + 1000))
    s.settimeout(20)
    expect_reset(s, "a target that resets")
    s.close()


def timed_read(port, n):
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(b"S" + struct.pack(">Q", n))
    got = read_to_eof(s)
    s.close()
    check(got == pattern(n), "read %d of %d bytes" % (len(got), n))
    return n / (time.monotonic() - t0)


def case_slow_reader(port):
    n = 16 << 20
    alone = timed_read(port, n)
    slow = connect(port)
    slow.sendall(b"S" + struct.pack(">Q", n))
    head = Target._read_exact(slow, 65536)      # then it stops reading
    beside = timed_read(port, n)
    # the slow one was stuck the whole time; now it takes the rest
    rest = read_to_eof(slow)
    slow.close()
    check(head + rest == pattern(n), "the slow reader got %d of %d bytes" %
          (len(head) + len(rest), n))
    print("     fast reader: %.1f MB/s alone, %.1f MB/s beside a stalled "
          "one (%.2f)" % (alone / 1e6, beside / 1e6, beside / alone))


def rss_mb(proc):
    with open("/proc/%d/status" % proc.p.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def case_slow_target(pair, target):
    # more than every socket buffer on the way can hold
    port = pair.port
    target.resume_event.clear()
    data = os.urandom(64 << 20)
    rss0 = rss_mb(pair.serve), rss_mb(pair.listen)
    s = connect(port)
    s.sendall(b"P" + struct.pack(">Q", 2))
    err = []

    def send():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    # the target reads 16 KiB of it and stalls; others flow meanwhile
    case_echo(port, 8 << 20)
    check(t.is_alive(), "64 MiB into a stalled target did not block")
    rss1 = rss_mb(pair.serve), rss_mb(pair.listen)
    print("     RSS while stalled: serve %.0f -> %.0f MB, listen %.0f -> "
          "%.0f MB" % (rss0[0], rss1[0], rss0[1], rss1[1]))
    check(rss1[0] - rss0[0] < 32 and rss1[1] - rss0[1] < 32,
          "a stalled connection grew a process by more than 32 MB")
    target.resume_event.set()
    rec = target.wait_record(2, 60)
    t.join(SOCKET_TIMEOUT)
    s.close()
    check(not err, "sending to the slow target: %r" % err)
    check(rec == data, "the slow target got %d of %d bytes" % (len(rec),
                                                             len(data)))


def case_far_side_gone(pair, target):
    socks = []
    for _ in range(3):
        s = connect(pair.port)
        s.sendall(b"E")
        check(s.recv(1) == b"E", "no echo before the far side went")
        socks.append(s)
    t0 = time.monotonic()
    pair.serve.p.kill()
    for s in socks:
        s.settimeout(30)
        try:
            while s.recv(1 << 16):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise Failure("a local socket stayed open 30 s after the far "
                          "side went")
        s.close()
    closed = time.monotonic() - t0
    code = pair.listen.wait_exit(30)
    check(code == 2, "listen exited %s, not 2, when the far side went" %
          code)
    check(pair.listen.count(r"^wrtcframe-forward: ") > 0,
          "listen exited without saying why")
    print("     local sockets closed %.2f s after the far side was killed"
          % closed)


def case_refused_target(pair):
    s = connect(pair.port)
    s.sendall(b"hello")
    s.settimeout(20)
    expect_reset(s, "a refused target")
    s.close()
    pair.serve.wait_line(r"connection \d+: 127\.0\.0\.1:\d+: .*[Rr]efused",
                         10)


def case_sigterm(pair):
    pair.listen.p.send_signal(signal.SIGTERM)
    code = pair.listen.wait_exit(20)
    check(code == 0, "listen exited %s on SIGTERM" % code)


# ---- SOCKS5 cases ----

def curl(socks_port, url, out, hostname=False):
    return subprocess.Popen(
        ["curl", "-sS", "--fail", "--max-time", "180", "--noproxy", "",
         "--socks5-hostname" if hostname else "--socks5",
         "%s:%d" % (LOOPBACK, socks_port), "-o", out, url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def curl_file(t, socks_port, host, http_port, name, hostname=False):
    out = os.path.join(t.tmp, "got-%s-%d" % (name, time.monotonic_ns()))
    p = curl(socks_port, "http://%s:%d/%s" % (host, http_port, name), out,
             hostname)
    try:
        _, err = p.communicate(timeout=200)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Failure("curl of %s did not finish" % name)
    check(p.returncode == 0, "curl of %s: exit %d: %s" % (
        name, p.returncode, err.strip()))
    with open(os.path.join(t.www, name), "rb") as f:
        want = f.read()
    with open(out, "rb") as f:
        got = f.read()
    os.unlink(out)
    check(got == want, "%s: %d of %d bytes, %s" % (
        name, len(got), len(want), "same" if got == want else "different"))


def case_socks_concurrent(t, socks_port, http_port):
    procs = []
    for i in range(50):
        out = os.path.join(t.tmp, "conc-%d" % i)
        procs.append((out, curl(socks_port, "http://%s:%d/f1M" % (
            LOOPBACK, http_port), out)))
    end = time.monotonic() + 240
    bad = []
    with open(os.path.join(t.www, "f1M"), "rb") as f:
        want = f.read()
    for out, p in procs:
        try:
            _, err = p.communicate(timeout=max(1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            bad.append("timeout")
            continue
        if p.returncode != 0:
            bad.append("exit %d: %s" % (p.returncode, err.strip()))
            continue
        with open(out, "rb") as f:
            if f.read() != want:
                bad.append("different bytes")
        os.unlink(out)
    check(not bad, "%d of 50 transfers failed, first: %s" % (len(bad),
                                                             bad[:1]))


def case_socks_refused(socks_port, dead_port):
    s, rep = socks_connect(socks_port, 1, LOOPBACK, dead_port)
    s.close()
    check(rep == 5, "a refused target: reply %d, not 5" % rep)


def case_allow_refusal(pair, socks_port, target):
    before = target.accepted
    s, rep = socks_connect(socks_port, 1, LOOPBACK, target.port)
    s.close()
    check(rep == 2, "a target outside --allow: reply %d, not 2" % rep)
    pair.serve.wait_line(r"127\.0\.0\.1:%d refused: not in --allow" %
                         target.port, 10)
    check(target.accepted == before, "a refused target was connected")


def case_socks_ipv6(socks_port, port6):
    s, rep = socks_connect(socks_port, 4, "::1", port6)
    check(rep == 0, "CONNECT [::1]:%d: reply %d" % (port6, rep))
    data = os.urandom(100000)
    s.sendall(b"E" + data)
    s.shutdown(socket.SHUT_WR)
    got = read_to_eof(s)
    s.close()
    check(got == b"E" + data, "through [::1]: %d of %d bytes back" % (
        len(got) - 1, len(data)))


def case_command_line(t):
    """Exit codes of the documented failures that need no peer."""
    def run(args):
        return subprocess.run([t.forward] + args, capture_output=True,
                              text=True, timeout=60)
    r = run([])
    check(r.returncode == 1, "no arguments: exit %d, not 1" % r.returncode)
    r = run(["serve", "-s", t.uri])
    check(r.returncode == 1, "serve without --allow: exit %d" % r.returncode)
    busy = socket.socket()
    busy.bind((LOOPBACK, 0))
    busy.listen()
    r = run(["listen", "-s", t.uri, "--local", "%s:%d" % (
        LOOPBACK, busy.getsockname()[1]), "--remote-target", "127.0.0.1:9"])
    busy.close()
    check(r.returncode == 3 and "cannot listen" in r.stderr,
          "a busy local port: exit %d (%s)" % (r.returncode, r.stderr))
    dead = socket.socket()
    dead.bind((LOOPBACK, 0))
    uri = "ws://%s:%d" % (LOOPBACK, dead.getsockname()[1])
    dead.close()
    r = run(["serve", "-s", uri, "--allow", "*:*"])
    check(r.returncode == 2 and "signalling server" in r.stderr,
          "no signalling server: exit %d (%s)" % (r.returncode, r.stderr))


def case_socks_garbage(socks_port):
    def ends(s, what):
        s.settimeout(20)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise Failure("%s: the proxy kept the connection" % what)
        s.close()

    s = connect(socks_port)                      # not SOCKS at all
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(200))
    ends(s, "HTTP instead of SOCKS5")
    s = connect(socks_port)                      # no acceptable method
    s.sendall(b"\x05\x01\x02")
    check(s.recv(2) == b"\x05\xff", "user/password only: not refused")
    ends(s, "no acceptable method")
    s = connect(socks_port)                      # BIND
    s.sendall(b"\x05\x01\x00")
    check(s.recv(2) == b"\x05\x00", "greeting")
    s.sendall(b"\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50")
    rep = s.recv(10)
    check(rep[:2] == b"\x05\x07", "BIND: reply %r, not 7" % rep)
    ends(s, "BIND")
    s = connect(socks_port)                      # unknown address type
    s.sendall(b"\x05\x01\x00")
    check(s.recv(2) == b"\x05\x00", "greeting")
    s.sendall(b"\x05\x01\x00\x09" + os.urandom(20))
    rep = s.recv(10)
    check(rep[:2] == b"\x05\x08", "address type 9: reply %r, not 8" % rep)
    ends(s, "address type 9")
    s = connect(socks_port)                      # truncated request
    s.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x20abc")
    s.shutdown(socket.SHUT_WR)
    ends(s, "a truncated request")


def main():
    server_exe, forward_exe = sys.argv[1], sys.argv[2]
    if not shutil.which("curl"):
        print("curl is missing")
        print("Checks: 1, Failures: 1, Errors: 0")
        return 1
    t = Test(server_exe, forward_exe)
    target = Target()
    try:
        target6 = Target("::1")
    except OSError:
        target6 = None                           # no IPv6 loopback here
    dead = socket.socket()
    dead.bind((LOOPBACK, 0))
    dead_port = dead.getsockname()[1]
    dead.close()                                 # nothing listens there

    t.www = os.path.join(t.tmp, "www")
    os.mkdir(t.www)
    for name, size in (("f0", 0), ("f1", 1), ("f1M", 1 << 20),
                       ("f64M", 64 << 20)):
        with open(os.path.join(t.www, name), "wb") as f:
            f.write(pattern(size))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=t.www, **kw)

        def log_message(self, *a):
            pass
    httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Quiet)
    httpd.daemon_threads = True
    http_port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    try:
        t.case("exit codes without a peer", case_command_line, t)
        fwd = Pair(t, "fwd", "%s:%d" % (LOOPBACK, target.port),
                   ["--local", "%s:0" % LOOPBACK, "--remote-target",
                    "%s:%d" % (LOOPBACK, target.port)])
        t.case("echo 1 MiB", case_echo, fwd.port, 1 << 20)
        t.case("an empty connection", case_empty, fwd.port)
        t.case("half-close, client first", case_half_close_client_first,
               fwd.port)
        t.case("half-close, target first", case_half_close_target_first,
               fwd.port, target)
        t.case("200 connections beside a 32 MiB transfer",
               case_bulk_and_200, fwd.port)
        t.case("a target that resets mid-stream", case_reset_mid_stream,
               fwd.port)
        t.case("a slow reader beside a fast one", case_slow_reader,
               fwd.port)
        t.case("a slow target beside a fast one", case_slow_target,
               fwd, target)

        refused = Pair(t, "refused", "%s:*" % LOOPBACK,
                       ["--local", "%s:0" % LOOPBACK, "--remote-target",
                        "%s:%d" % (LOOPBACK, dead_port)])
        t.case("a target that refuses", case_refused_target, refused)
        t.case("listen exits 0 on SIGTERM", case_sigterm, refused)

        allow = ",".join("%s:%d" % (h, p) for h, p in (
            (LOOPBACK, http_port), ("localhost", http_port),
            (LOOPBACK, dead_port)) + ((("[::1]", target6.port),)
                                      if target6 else ()))
        socks = Pair(t, "socks", allow, ["--socks5", "%s:0" % LOOPBACK])
        for name in ("f0", "f1", "f1M", "f64M"):
            t.case("SOCKS5 curl %s" % name, curl_file, t, socks.port,
                   LOOPBACK, http_port, name)
        t.case("SOCKS5 curl by name (localhost)", curl_file, t, socks.port,
               "localhost", http_port, "f1M", True)
        t.case("SOCKS5 50 concurrent transfers", case_socks_concurrent, t,
               socks.port, http_port)
        t.case("SOCKS5 a refused target", case_socks_refused, socks.port,
               dead_port)
        t.case("SOCKS5 a target outside --allow", case_allow_refusal, socks,
               socks.port, target)
        if target6:
            t.case("SOCKS5 CONNECT to an IPv6 address", case_socks_ipv6,
                   socks.port, target6.port)
        else:
            print("skipped SOCKS5 IPv6: ::1 cannot be bound here")
        t.case("SOCKS5 garbage from the client", case_socks_garbage,
               socks.port)
        t.case("SOCKS5 still serves after all that", curl_file, t,
               socks.port, LOOPBACK, http_port, "f1M")

        t.case("the far side disappears", case_far_side_gone, fwd, target)
    except Failure as e:                 # a pair did not come up
        t.checks += 1
        t.failures += 1
        print("FAIL setup: %s" % e)
    finally:
        httpd.shutdown()
        t.cleanup(keep_logs=t.failures > 0)
    print("Checks: %d, Failures: %d, Errors: 0" % (t.checks, t.failures))
    return 1 if t.failures else 0


if __name__ == "__main__":
    sys.exit(main())

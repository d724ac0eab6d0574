#!/usr/bin/env python3
# gst-wrtcframe
# Copyright (C) 2026 gst-wrtcframe authors
# SPDX-License-Identifier: LGPL-2.0-or-later
"""Embedding from Python (PyGObject): two webrtcbins in this process,
connected over 127.0.0.1 with in-process signalling written here, carry two
connections through framemux ! datachannelsink -> datachannelsrc !
framedemux. Each connection's bytes are random with a fixed, printed seed
and must arrive byte-exact (length and SHA-256).

Prints a Check-style "Checks: N, Failures: F, Errors: E" line. Exits 77
(skipped) only when PyGObject or the Gst / GstWebRTC typelibs are missing.
"""
import hashlib
import os
import random
import sys
import threading
import time
import traceback

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    from gi.repository import Gst, GstWebRTC  # noqa: F401 (types for GI)
except (ImportError, ValueError) as e:
    print("SKIP: PyGObject with the Gst 1.0 and GstWebRTC 1.0 typelibs is "
          "needed (python3-gi, gir1.2-gstreamer-1.0, "
          "gir1.2-gst-plugins-bad-1.0): %s" % e)
    sys.exit(77)

WAIT_S = 60         # any single wait; fails loudly past it
STATE_WAIT_S = 20
LABEL = "py-tunnel"
SEED = 20261128


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# ---------- signalling: the few lines common/webrtc-loopback.c has in C ----

def ice_agent(webrtc):
    """webrtcbin's "ice-agent". webrtcbin 1.22 never sinks the agent's
    floating reference, and PyGObject sinks a floating object it wraps: the
    wrapper then owns webrtcbin's only reference and frees the agent under
    webrtcbin when it goes away. Give webrtcbin its reference back (raw
    g_object_ref: Object.ref() is a no-op in PyGObject)."""
    ice = webrtc.get_property("ice-agent")
    if ice.__grefcount__ == 1:
        ice._ref()
    return ice


class Loopback:
    """Connects two webrtcbins: offer/answer handed over in-process, ICE
    candidates crossed, ICE restricted to 127.0.0.1. Every callback runs on
    a webrtcbin thread and only emits asynchronous action signals."""

    def __init__(self, offerer, answerer):
        self.offerer, self.answerer = offerer, answerer
        self.error = None
        for w in (offerer, answerer):
            ice = ice_agent(w)
            check(ice.emit("add-local-ip-address", "127.0.0.1"),
                  "add-local-ip-address 127.0.0.1 refused")
            w.connect("on-ice-candidate", self.on_ice_candidate)
        offerer.connect("on-negotiation-needed", self.on_negotiation_needed)

    def on_ice_candidate(self, webrtc, mline, candidate):
        other = self.answerer if webrtc is self.offerer else self.offerer
        other.emit("add-ice-candidate", mline, candidate)

    def take(self, promise, field):
        """The promise's reply, or None after recording why. Without
        gst-python, the description read from the reply points into the
        reply's memory: callers keep the reply until they are done."""
        if promise.wait() != Gst.PromiseResult.REPLIED:
            self.error = self.error or "%s: promise not replied" % field
            return None
        reply = promise.get_reply()
        if reply is None or not reply.has_field(field):
            self.error = self.error or "%s failed: %s" % (field, reply)
            return None
        return reply

    def on_negotiation_needed(self, webrtc):
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.offerer.emit("create-offer", None, promise)

    def on_offer(self, promise, _data):
        reply = self.take(promise, "offer")
        if reply is None:
            return
        offer = reply.get_value("offer")
        self.offerer.emit("set-local-description", offer, None)
        self.answerer.emit("set-remote-description", offer, None)
        promise = Gst.Promise.new_with_change_func(self.on_answer, None)
        self.answerer.emit("create-answer", None, promise)

    def on_answer(self, promise, _data):
        reply = self.take(promise, "answer")
        if reply is None:
            return
        answer = reply.get_value("answer")
        self.answerer.emit("set-local-description", answer, None)
        self.offerer.emit("set-remote-description", answer, None)


def set_state_bounded(element, state, timeout_s=STATE_WAIT_S):
    """set_state and the wait for it in a thread: webrtcbin 1.22 can hang
    in a state change, which must fail the test, not hang it."""
    result = []

    def run():
        element.set_state(state)
        result.append(element.get_state(Gst.CLOCK_TIME_NONE)[0])

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout_s)
    check(result and result[0] != Gst.StateChangeReturn.FAILURE,
          "%s: change to %s %s within %d s" % (
              element.get_name(), state.value_nick,
              "failed" if result else "did not complete", timeout_s))


# ---------- sending side ----------

class Sender:
    """appsrc per connection, fed from a pre-made random payload."""

    def __init__(self, pipeline, mux, conn, data, chunk):
        self.data, self.chunk, self.offset = data, chunk, 0
        self.appsrc = Gst.ElementFactory.make("appsrc", "src%d" % conn)
        self.appsrc.set_property("max-bytes", 512 * 1024)
        self.appsrc.connect("need-data", self.on_need_data)
        pipeline.add(self.appsrc)
        sinkpad = mux.request_pad_simple("sink_%d" % conn)
        check(self.appsrc.get_static_pad("src").link(sinkpad)
              == Gst.PadLinkReturn.OK, "linking appsrc to " +
              sinkpad.get_name())

    def on_need_data(self, appsrc, _length):
        if self.offset >= len(self.data):
            appsrc.emit("end-of-stream")
            return
        piece = self.data[self.offset:self.offset + self.chunk]
        self.offset += len(piece)
        appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(piece))


# ---------- receiving side ----------

class Receiver:
    """A fakesink per framedemux pad hashes what arrives."""

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.cond = threading.Condition()
        self.received = {}
        self.sha = {}
        self.unexpected = []

    def on_pad_added(self, demux, pad):
        name = pad.get_name()
        try:
            conn = int(name[len("src_"):])
        except ValueError:
            conn = -1
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        sink.set_property("async", False)
        sink.set_property("signal-handoffs", True)
        sink.connect("handoff", self.on_handoff, conn)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

    def on_handoff(self, sink, buf, pad, conn):
        data = buf.extract_dup(0, buf.get_size())
        with self.cond:
            if conn not in self.received:
                self.received[conn] = 0
                self.sha[conn] = hashlib.sha256()
            self.received[conn] += len(data)
            self.sha[conn].update(data)
            self.cond.notify_all()

    def wait_for(self, sizes, timeout_s):
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while any(self.received.get(c, 0) < n for c, n in sizes.items()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return dict(self.received)


def make_peer(name):
    pipeline = Gst.Pipeline.new(name)
    # webrtcbin's own sinks never see EOS, so the pipeline never posts it:
    # the datachannelsink's EOS comes as a forwarded message.
    pipeline.set_property("message-forward", True)
    webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
    check(webrtc is not None, "no webrtcbin (gstreamer1.0-plugins-bad)")
    webrtc.set_property("bundle-policy",
                        GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    pipeline.add(webrtc)
    return pipeline, webrtc


def raise_on_error(pipeline, msg):
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        raise Failure("%s: error from %s: %s (%s)" % (
            pipeline.get_name(), msg.src.get_name(), err.message, dbg))


def wait_sink_eos(pipeline, sink, timeout_s):
    bus = pipeline.get_bus()
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "%s: no EOS from %s within %d s" % (
            pipeline.get_name(), sink.get_name(), timeout_s))
        msg = bus.timed_pop_filtered(
            int(left * Gst.SECOND),
            Gst.MessageType.ERROR | Gst.MessageType.ELEMENT)
        check(msg is not None, "%s: no EOS from %s within %d s" % (
            pipeline.get_name(), sink.get_name(), timeout_s))
        raise_on_error(pipeline, msg)
        s = msg.get_structure()
        if s and s.get_name() == "GstBinForwarded":
            inner = s.get_value("message")
            if inner.type == Gst.MessageType.EOS and inner.src == sink:
                return


def no_bus_errors(pipeline):
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if msg:
        raise_on_error(pipeline, msg)


def stat(element, field):
    s = element.get_property("stats")
    ok, value = s.get_uint64(field)
    check(ok, "%s stats lack %s: %s" % (element.get_name(), field,
                                        s.to_string()))
    return value


# ---------- tests ----------

def test_plugins_from_build_tree():
    """The elements load, from this project's build tree."""
    build = os.environ.get("WRTCFRAME_BUILD_ROOT")
    for name in ("framemux", "framedemux", "datachannelsink",
                 "datachannelsrc", "webrtcbin"):
        factory = Gst.ElementFactory.find(name)
        check(factory is not None, "element %s not found" % name)
        if build and name != "webrtcbin":
            filename = factory.get_plugin().get_filename()
            check(filename.startswith(build), "%s comes from %s, not the "
                  "build tree %s" % (name, filename, build))


def test_tunnel_two_connections():
    """2 connections (4 MiB in 64 KiB buffers, 2 MiB in 1500-byte
    buffers) over real webrtcbin, byte-exact."""
    plan = {1: (4 * 1024 * 1024, 65536), 2: (2 * 1024 * 1024, 1500)}
    print("seed %d" % SEED)
    payloads = {c: random.Random(SEED + c).randbytes(n)
                for c, (n, _) in plan.items()}
    expected = {c: hashlib.sha256(p).hexdigest() for c, p in payloads.items()}

    tx, tx_webrtc = make_peer("py-sender")
    mux = Gst.ElementFactory.make("framemux")
    dcsink = Gst.ElementFactory.make("datachannelsink")
    dcsink.set_property("webrtcbin", "webrtc")
    dcsink.set_property("label", LABEL)
    dcsink.set_property("create-channel", True)
    # webrtcbin 1.22 can drop the last messages of a channel closed right
    # behind them: keep it open, end on byte counts.
    dcsink.set_property("close-on-eos", False)
    tx.add(mux)
    tx.add(dcsink)
    check(mux.link(dcsink), "framemux ! datachannelsink")
    senders = [Sender(tx, mux, c, payloads[c], plan[c][1]) for c in plan]

    rx, rx_webrtc = make_peer("py-receiver")
    dcsrc = Gst.ElementFactory.make("datachannelsrc")
    dcsrc.set_property("webrtcbin", "webrtc")
    dcsrc.set_property("label", LABEL)
    demux = Gst.ElementFactory.make("framedemux")
    rx.add(dcsrc)
    rx.add(demux)
    check(dcsrc.link(demux), "datachannelsrc ! framedemux")
    receiver = Receiver(rx)
    demux.connect("pad-added", receiver.on_pad_added)

    loopback = Loopback(tx_webrtc, rx_webrtc)
    started = False
    try:
        # The answerer first: it listens for the channel the offerer
        # announces.
        set_state_bounded(rx, Gst.State.PLAYING)
        set_state_bounded(tx, Gst.State.PLAYING)
        started = True
        wait_sink_eos(tx, dcsink, WAIT_S)
        got = receiver.wait_for({c: n for c, (n, _) in plan.items()}, WAIT_S)
        check(loopback.error is None, "signalling: %s" % loopback.error)
        no_bus_errors(rx)
        for c, (n, _) in plan.items():
            check(got.get(c, 0) == n, "connection %d: %d of %d bytes "
                  "within %d s" % (c, got.get(c, 0), n, WAIT_S))
            got_sha = receiver.sha[c].hexdigest()
            check(got_sha == expected[c], "connection %d: sha256 %s, sent "
                  "%s" % (c, got_sha, expected[c]))
            print("connection %d: %d bytes, sha256 %s matches" % (
                c, n, expected[c]))
        check(sorted(receiver.received) == sorted(plan),
              "connections seen: %s" % sorted(receiver.received))
        check(stat(dcsink, "bytes-sent") == stat(dcsrc, "bytes-received"),
              "bytes-sent != bytes-received")
        check(sum(s.offset for s in senders) == sum(n for n, _ in
                                                   plan.values()),
              "not every byte was fed")
    finally:
        if started:
            # Let the channel drain before webrtcbin goes down (1.22 can
            # hang in READY with its SCTP encoder full); best effort.
            deadline = time.monotonic() + 5
            while (stat(dcsink, "buffered-amount") > 0
                   and time.monotonic() < deadline):
                time.sleep(0.01)
        # Sending side first.
        set_state_bounded(tx, Gst.State.NULL)
        set_state_bounded(rx, Gst.State.NULL)


class Announced:
    """Keeps the channel the peer announces (on-data-channel runs on the
    webrtcbin thread: only store and notify there)."""

    def __init__(self, webrtc):
        self.cond = threading.Condition()
        self.channel = None
        webrtc.connect("on-data-channel", self.on_data_channel)

    def on_data_channel(self, webrtc, channel):
        with self.cond:
            self.channel = self.channel or channel
            self.cond.notify_all()

    def wait(self, timeout_s):
        with self.cond:
            self.cond.wait_for(lambda: self.channel is not None, timeout_s)
            check(self.channel is not None, "the peer announced no data "
                  "channel within %d s" % timeout_s)
            return self.channel


def make_tunnel(name, channel, plan):
    """An application-side pipeline on a channel it owns: framemux !
    datachannelsink for @plan's connections, datachannelsrc ! framedemux
    for what the peer sends back."""
    pipeline = Gst.Pipeline.new(name)
    # The receiving branch never ends: the sink's EOS comes forwarded.
    pipeline.set_property("message-forward", True)
    mux = Gst.ElementFactory.make("framemux")
    dcsink = Gst.ElementFactory.make("datachannelsink")
    dcsink.set_property("channel", channel)
    dcsink.set_property("close-on-eos", False)
    dcsrc = Gst.ElementFactory.make("datachannelsrc")
    dcsrc.set_property("channel", channel)
    demux = Gst.ElementFactory.make("framedemux")
    for e in (mux, dcsink, dcsrc, demux):
        pipeline.add(e)
    check(mux.link(dcsink) and dcsrc.link(demux), "linking " + name)
    senders = [Sender(pipeline, mux, c, data, chunk)
               for c, (data, chunk) in plan.items()]
    receiver = Receiver(pipeline)
    demux.connect("pad-added", receiver.on_pad_added)
    return pipeline, dcsink, receiver, senders


def test_app_channel_both_ways():
    """The application owns the channel: it creates it on webrtcbin A,
    takes the one B announces, and hands both to the elements ("channel"
    property) in pipelines of their own. Both directions at once, two
    connections each, byte-exact."""
    print("seed %d" % (SEED + 100))
    rnd = random.Random(SEED + 100)
    a_plan = {1: (rnd.randbytes(1536 * 1024), 4096),
              7: (rnd.randbytes(512 * 1024), 333)}
    b_plan = {2: (rnd.randbytes(1024 * 1024), 16384),
              9: (rnd.randbytes(256 * 1024), 100)}

    a, a_webrtc = make_peer("py-peer-a")
    b, b_webrtc = make_peer("py-peer-b")
    announced = Announced(b_webrtc)
    loopback = Loopback(a_webrtc, b_webrtc)
    tunnels = []
    try:
        set_state_bounded(b, Gst.State.PLAYING)
        # A channel created before the offer is negotiated with it.
        set_state_bounded(a, Gst.State.READY)
        a_channel = a_webrtc.emit("create-data-channel", LABEL, None)
        check(a_channel is not None, "create-data-channel failed")
        set_state_bounded(a, Gst.State.PLAYING)
        b_channel = announced.wait(WAIT_S)
        check(b_channel.get_property("label") == LABEL,
              "announced label %s" % b_channel.get_property("label"))

        tunnels = [make_tunnel("py-tunnel-a", a_channel, a_plan),
                   make_tunnel("py-tunnel-b", b_channel, b_plan)]
        # A message arriving before the receiving datachannelsrc has
        # started (READY->PAUSED) has no one to take it: start both
        # receivers before either side sends (sinks send in PLAYING only).
        for t in tunnels:
            set_state_bounded(t[0], Gst.State.PAUSED)
        for t in tunnels:
            set_state_bounded(t[0], Gst.State.PLAYING)
        for (pipeline, dcsink, _, _), plan in zip(tunnels, (a_plan, b_plan)):
            wait_sink_eos(pipeline, dcsink, WAIT_S)
        # What A sent arrives at B's tunnel and the other way round.
        for (pipeline, _, receiver, _), plan in zip(tunnels,
                                                    (b_plan, a_plan)):
            got = receiver.wait_for({c: len(d) for c, (d, _) in
                                     plan.items()}, WAIT_S)
            no_bus_errors(pipeline)
            for c, (data, _) in plan.items():
                check(got.get(c, 0) == len(data), "%s connection %d: %d "
                      "of %d bytes within %d s" % (pipeline.get_name(), c,
                                                   got.get(c, 0), len(data),
                                                   WAIT_S))
                check(receiver.sha[c].hexdigest()
                      == hashlib.sha256(data).hexdigest(),
                      "%s connection %d: sha256 differs" % (
                          pipeline.get_name(), c))
            check(sorted(receiver.received) == sorted(plan),
                  "%s: connections seen %s" % (pipeline.get_name(),
                                                sorted(receiver.received)))
            print("%s: connections %s byte-exact" % (pipeline.get_name(),
                                                     sorted(plan)))
        check(loopback.error is None, "signalling: %s" % loopback.error)
    finally:
        for pipeline, dcsink, _, _ in tunnels:
            deadline = time.monotonic() + 5
            while (stat(dcsink, "buffered-amount") > 0
                   and time.monotonic() < deadline):
                time.sleep(0.01)
        for t in tunnels:
            set_state_bounded(t[0], Gst.State.NULL)
        set_state_bounded(a, Gst.State.NULL)
        set_state_bounded(b, Gst.State.NULL)


TESTS = [test_plugins_from_build_tree, test_tunnel_two_connections,
         test_app_channel_both_ways]


def main():
    Gst.init(None)
    failures = errors = 0
    for t in TESTS:
        start = time.monotonic()
        try:
            t()
            print("%s: Passed (%.1f s)" % (t.__name__,
                                           time.monotonic() - start))
        except Failure as e:
            failures += 1
            print("%s: Failure: %s" % (t.__name__, e))
        except Exception:
            errors += 1
            print("%s: Error:" % t.__name__)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    n = len(TESTS)
    print("%d%%: Checks: %d, Failures: %d, Errors: %d" % (
        100 * (n - failures - errors) // n, n, failures, errors))
    sys.stdout.flush()
    # A webrtcbin state change left hanging must not keep the process alive.
    os._exit(1 if failures or errors else 0)


if __name__ == "__main__":
    main()

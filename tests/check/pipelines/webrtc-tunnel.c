/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * End to end over real WebRTC: framemux ! datachannelsink -> webrtcbin A
 * -> (DTLS/SCTP over libnice on 127.0.0.1) -> webrtcbin B ->
 * datachannelsrc ! framedemux, both peers in this process, each in its own
 * pipeline. Every connection carries a deterministic byte pattern that the
 * receiving side checks byte for byte.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/app/gstappsrc.h>
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

#include "webrtc-loopback.h"

#define MAX_CONNS 65
#define LABEL "tunnel"
#define WAIT_S 60               /* any single wait; fails loudly past it */

/* ---------- the byte pattern: byte @offset of connection @conn ---------- */

static inline guint64
pattern_word (guint conn, guint64 index)
{
  guint64 z = ((guint64) conn << 48) ^ index ^ 0x9e3779b97f4a7c15ULL;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void
pattern_fill (guint conn, guint64 offset, guint8 * data, gsize size)
{
  gsize i;

  for (i = 0; i < size; i++) {
    guint64 pos = offset + i;

    data[i] = pattern_word (conn, pos >> 3) >> ((pos & 7) * 8);
  }
}

/* ---------- sending side: appsrc per connection ---------- */

typedef struct
{
  guint conn;
  guint64 total;                /* G_MAXUINT64: until stopped */
  guint64 sent;
  guint chunk;
} Source;

static void
source_need_data (GstAppSrc * appsrc, guint length, gpointer user_data)
{
  Source *s = user_data;
  GstBuffer *buf;
  GstMapInfo map;
  gsize size;

  if (s->sent >= s->total) {
    gst_app_src_end_of_stream (appsrc);
    return;
  }
  size = MIN (s->chunk, s->total - s->sent);
  buf = gst_buffer_new_allocate (NULL, size, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  pattern_fill (s->conn, s->sent, map.data, size);
  gst_buffer_unmap (buf, &map);
  s->sent += size;
  gst_app_src_push_buffer (appsrc, buf);
}

/* ---------- receiving side: a checking fakesink per connection ---------- */

typedef struct
{
  GMutex lock;
  GCond cond;
  guint64 received[MAX_CONNS];
  gboolean eos[MAX_CONNS];
  gchar *mismatch;              /* first byte that differed */
  gboolean stall;               /* handoffs block while set */
  gboolean stalled;             /* a handoff is blocked now */
} Receiver;

static void
receiver_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad,
    Receiver * rx)
{
  guint conn = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (sink), "conn"));
  GstMapInfo map;
  guint8 *expected;
  guint64 offset;

  g_mutex_lock (&rx->lock);
  while (rx->stall) {
    rx->stalled = TRUE;
    g_cond_broadcast (&rx->cond);
    g_cond_wait (&rx->cond, &rx->lock);
  }
  rx->stalled = FALSE;
  offset = rx->received[conn];
  g_mutex_unlock (&rx->lock);

  gst_buffer_map (buf, &map, GST_MAP_READ);
  expected = g_malloc (map.size);
  pattern_fill (conn, offset, expected, map.size);
  g_mutex_lock (&rx->lock);
  if (memcmp (expected, map.data, map.size) != 0 && !rx->mismatch) {
    gsize i = 0;

    while (expected[i] == map.data[i])
      i++;
    rx->mismatch = g_strdup_printf ("connection %u: byte %" G_GUINT64_FORMAT
        " is 0x%02x, expected 0x%02x", conn, offset + i, map.data[i],
        expected[i]);
  }
  rx->received[conn] += map.size;
  g_cond_broadcast (&rx->cond);
  g_mutex_unlock (&rx->lock);
  g_free (expected);
  gst_buffer_unmap (buf, &map);
}

static gboolean
receiver_sink_event (GstPad * pad, GstPadProbeInfo * info, Receiver * rx)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstElement *sink;

  if (GST_EVENT_TYPE (event) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  sink = gst_pad_get_parent_element (pad);
  g_mutex_lock (&rx->lock);
  rx->eos[GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (sink), "conn"))] =
      TRUE;
  g_cond_broadcast (&rx->cond);
  g_mutex_unlock (&rx->lock);
  gst_object_unref (sink);
  return GST_PAD_PROBE_OK;
}

static void
demux_pad_added (GstElement * demux, GstPad * pad, Receiver * rx)
{
  GstElement *bin, *sink;
  GstPad *sinkpad;
  guint conn;

  if (GST_PAD_IS_SINK (pad))    /* frametunnel's own request pads */
    return;
  bin = GST_ELEMENT (gst_element_get_parent (demux));
  sink = gst_element_factory_make ("fakesink", NULL);

  fail_unless (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) == 1);
  fail_unless (conn > 0 && conn < MAX_CONNS);
  g_object_set_data (G_OBJECT (sink), "conn", GUINT_TO_POINTER (conn));
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE,
      NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (receiver_handoff), rx);
  gst_bin_add (GST_BIN (bin), sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) receiver_sink_event, rx, NULL);
  gst_element_sync_state_with_parent (sink);
  fail_unless_equals_int (gst_pad_link (pad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref (sinkpad);
  gst_object_unref (bin);
}

/* ---------- one peer: its own pipeline with its webrtcbin ---------- */

typedef struct
{
  GstElement *pipeline;
  GstElement *webrtc;
  GstElement *sink;             /* datachannelsink, when sending */
  GstElement *src;              /* datachannelsrc, when receiving */
  Source sources[MAX_CONNS];
  guint n_sources;
  Receiver rx;
  GstWebRTCDataChannel *announced;      /* channel the peer announced */
  gboolean acked[MAX_CONNS];    /* frametunnel: ConnectionOpened seen */
} Peer;

static void
on_data_channel (GstElement * webrtc, GstWebRTCDataChannel * channel,
    Peer * peer)
{
  /* pc thread: only keep it; the test thread uses it. */
  g_mutex_lock (&peer->rx.lock);
  if (!peer->announced)
    peer->announced = g_object_ref (channel);
  g_cond_broadcast (&peer->rx.cond);
  g_mutex_unlock (&peer->rx.lock);
}

static void
peer_init (Peer * peer, const gchar * name)
{
  memset (peer, 0, sizeof (*peer));
  g_mutex_init (&peer->rx.lock);
  g_cond_init (&peer->rx.cond);
  peer->pipeline = gst_pipeline_new (name);
  g_object_set (peer->pipeline, "message-forward", TRUE, NULL);
  peer->webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  fail_unless (peer->webrtc != NULL);
  g_object_set (peer->webrtc, "bundle-policy", 3 /* max-bundle */ , NULL);
  gst_bin_add (GST_BIN (peer->pipeline), peer->webrtc);
  g_signal_connect (peer->webrtc, "on-data-channel",
      G_CALLBACK (on_data_channel), peer);
}

/* framemux with @n connections of @bytes each (@chunk per buffer) into a
 * datachannelsink. */
static void
peer_add_sender (Peer * peer, guint n, guint64 bytes, guint chunk,
    gboolean create)
{
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  guint i;

  peer->sink = gst_element_factory_make ("datachannelsink", NULL);
  fail_unless (mux && peer->sink);
  g_object_set (peer->sink, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", create, NULL);
  gst_bin_add_many (GST_BIN (peer->pipeline), mux, peer->sink, NULL);
  fail_unless (gst_element_link (mux, peer->sink));

  for (i = 0; i < n; i++) {
    Source *s = &peer->sources[i];
    GstAppSrcCallbacks cb = { source_need_data, NULL, NULL };
    GstElement *appsrc = gst_element_factory_make ("appsrc", NULL);
    gchar *padname;
    GstPad *srcpad, *sinkpad;

    s->conn = i + 1;
    s->total = bytes;
    s->chunk = chunk;
    g_object_set (appsrc, "max-bytes", (guint64) 512 * 1024, NULL);
    gst_app_src_set_callbacks (GST_APP_SRC (appsrc), &cb, s, NULL);
    gst_bin_add (GST_BIN (peer->pipeline), appsrc);
    padname = g_strdup_printf ("sink_%u", s->conn);
    sinkpad = gst_element_request_pad_simple (mux, padname);
    srcpad = gst_element_get_static_pad (appsrc, "src");
    fail_unless_equals_int (gst_pad_link (srcpad, sinkpad), GST_PAD_LINK_OK);
    gst_object_unref (srcpad);
    gst_object_unref (sinkpad);
    g_free (padname);
  }
  peer->n_sources = n;
}

static void
peer_add_receiver (Peer * peer, gboolean create)
{
  GstElement *demux = gst_element_factory_make ("framedemux", NULL);

  peer->src = gst_element_factory_make ("datachannelsrc", NULL);
  fail_unless (demux && peer->src);
  g_object_set (peer->src, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", create, NULL);
  gst_bin_add_many (GST_BIN (peer->pipeline), peer->src, demux, NULL);
  fail_unless (gst_element_link (peer->src, demux));
  g_signal_connect (demux, "pad-added", G_CALLBACK (demux_pad_added),
      &peer->rx);
}

static void
peer_clear (Peer * peer)
{
  fail_unless (wrtc_set_state_bounded (peer->pipeline, GST_STATE_NULL,
          WAIT_S), "%s did not reach NULL", GST_ELEMENT_NAME (peer->pipeline));
  g_clear_object (&peer->announced);
  gst_object_unref (peer->pipeline);
  g_free (peer->rx.mismatch);
  g_mutex_clear (&peer->rx.lock);
  g_cond_clear (&peer->rx.cond);
}

/* Bus message of @types from @peer, or fail after WAIT_S. */
static GstMessage *
peer_wait_message (Peer * peer, GstMessageType types)
{
  GstBus *bus = gst_element_get_bus (peer->pipeline);
  GstMessage *msg;

  msg = gst_bus_timed_pop_filtered (bus, WAIT_S * GST_SECOND, types);
  gst_object_unref (bus);
  fail_unless (msg != NULL, "%s: no %s message within %d s",
      GST_ELEMENT_NAME (peer->pipeline),
      types & GST_MESSAGE_ELEMENT ? "EOS" : "error", WAIT_S);
  return msg;
}

static void
fail_on_error (Peer * peer, GstMessage * msg)
{
  GError *err;
  gchar *dbg;

  gst_message_parse_error (msg, &err, &dbg);
  fail ("%s: error from %s: %s (%s)", GST_ELEMENT_NAME (peer->pipeline),
      GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message, dbg);
}

/* webrtcbin holds sinks of its own that never get EOS, so a pipeline with
 * one never posts EOS: the datachannelsink's own EOS is taken from the
 * messages the pipeline forwards (message-forward). */
static void
peer_expect_sink_eos (Peer * peer)
{
  for (;;) {
    GstMessage *msg = peer_wait_message (peer,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    const GstStructure *s = gst_message_get_structure (msg);
    GstMessage *inner = NULL;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      fail_on_error (peer, msg);
    if (gst_structure_has_name (s, "GstBinForwarded"))
      gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
    if (inner && GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS
        && GST_MESSAGE_SRC (inner) == GST_OBJECT (peer->sink)) {
      gst_message_unref (inner);
      gst_message_unref (msg);
      return;
    }
    if (inner)
      gst_message_unref (inner);
    gst_message_unref (msg);
  }
}

/* Every connection 1..@n of @peer's receiver got EOS. */
static void
peer_expect_receiver_eos (Peer * peer, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  GstBus *bus = gst_element_get_bus (peer->pipeline);
  GstMessage *msg;
  guint i;

  g_mutex_lock (&peer->rx.lock);
  for (i = 1; i <= n; i++) {
    while (!peer->rx.eos[i])
      if (!g_cond_wait_until (&peer->rx.cond, &peer->rx.lock, deadline))
        break;
    fail_unless (peer->rx.eos[i], "%s connection %u: no EOS within %d s "
        "(%" G_GUINT64_FORMAT " bytes received)",
        GST_ELEMENT_NAME (peer->pipeline), i, WAIT_S, peer->rx.received[i]);
  }
  g_mutex_unlock (&peer->rx.lock);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (msg)
    fail_on_error (peer, msg);
  gst_object_unref (bus);
}

/* The error message from @peer's pipeline; its text must contain @what. */
static void
peer_expect_error (Peer * peer, GstElement * from, const gchar * what)
{
  GstMessage *msg = peer_wait_message (peer, GST_MESSAGE_ERROR);
  GError *err;

  gst_message_parse_error (msg, &err, NULL);
  GST_INFO ("expected error: %s", err->message);
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (from),
      "error came from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
      err->message);
  fail_unless (strstr (err->message, what) != NULL, "error \"%s\" lacks "
      "\"%s\"", err->message, what);
  g_error_free (err);
  gst_message_unref (msg);
}

/* Waits until connections 1..@n of @peer's receiver have @bytes each. */
static void
peer_wait_received (Peer * peer, guint n, guint64 bytes)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  guint i;

  g_mutex_lock (&peer->rx.lock);
  for (i = 1; i <= n; i++) {
    while (peer->rx.received[i] < bytes && !peer->rx.mismatch)
      if (!g_cond_wait_until (&peer->rx.cond, &peer->rx.lock, deadline))
        break;
    fail_if (peer->rx.mismatch, "%s", peer->rx.mismatch);
    fail_unless (peer->rx.received[i] >= bytes, "%s connection %u: %"
        G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes within %d s",
        GST_ELEMENT_NAME (peer->pipeline), i, peer->rx.received[i], bytes,
        WAIT_S);
  }
  g_mutex_unlock (&peer->rx.lock);
}

static void
peer_check_received (Peer * peer, guint n, guint64 bytes, gboolean eos)
{
  guint i;

  fail_if (peer->rx.mismatch, "%s", peer->rx.mismatch);
  for (i = 1; i < MAX_CONNS; i++) {
    guint64 expected = i <= n ? bytes : 0;

    fail_unless_equals_uint64 (peer->rx.received[i], expected);
    if (eos && i <= n)
      fail_unless (peer->rx.eos[i], "connection %u got no EOS", i);
  }
}

static void
peers_start (Peer * a, Peer * b, WrtcLoopback ** lb)
{
  *lb = wrtc_loopback_new (a->webrtc, b->webrtc);
  /* The answerer first: it must be listening for the channel before the
   * offerer announces it. */
  fail_unless (wrtc_set_state_bounded (b->pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (wrtc_set_state_bounded (a->pipeline, GST_STATE_PLAYING,
          WAIT_S));
}

static GstStructure *get_stats (GstElement * element);
static guint64 stat (const GstStructure * s, const gchar * field);

/* webrtcbin 1.22 can hang going to READY while its SCTP encoder retries a
 * full send buffer (fixed upstream later): give the channel up to 5 s to
 * drain first. Best effort: a channel the peer no longer reads cannot. */
static void
peer_wait_drained (Peer * peer)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

  while (peer->sink && g_get_monotonic_time () < deadline) {
    GstStructure *s = get_stats (peer->sink);
    guint64 amount = stat (s, "buffered-amount");

    gst_structure_free (s);
    if (amount == 0)
      return;
    g_usleep (10 * 1000);
  }
  if (peer->sink)
    GST_WARNING ("%s: channel not drained", GST_ELEMENT_NAME (peer->pipeline));
}

static void
peers_stop (Peer * a, Peer * b, WrtcLoopback * lb)
{
  gchar *error = wrtc_loopback_dup_error (lb);

  fail_if (error, "signalling: %s", error);
  peer_wait_drained (a);
  peer_wait_drained (b);
  peer_clear (a);
  peer_clear (b);
  wrtc_loopback_free (lb);
}

static GstStructure *
get_stats (GstElement * element)
{
  GstStructure *stats = NULL;

  g_object_get (element, "stats", &stats, NULL);
  fail_unless (stats != NULL);
  return stats;
}

static guint64
stat (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s in %"
      GST_PTR_FORMAT, field, s);
  return v;
}

/* ---------- tests ---------- */

static const struct
{
  guint conns;
  guint64 bytes;                /* per connection */
  guint chunk;
} one_way_configs[] = {
  {1, 64 * 1024 * 1024, 65536},         /* 64 MiB in one test */
  {8, 2 * 1024 * 1024, 1500},
  {64, 128 * 1024, 200},
};

GST_START_TEST (test_one_way)
{
  guint conns = one_way_configs[__i__].conns;
  guint64 bytes = one_way_configs[__i__].bytes;
  guint chunk = one_way_configs[__i__].chunk;
  GstStructure *sink_stats, *src_stats;
  guint64 high, msg_size, peak, blocked_ns, cpu_ns;
  WrtcLoopback *lb;
  Peer a, b;

  GST_INFO ("%u connections x %" G_GUINT64_FORMAT " bytes, %u per buffer",
      conns, bytes, chunk);
  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, conns, bytes, chunk, TRUE);
  peer_add_receiver (&b, FALSE);
  peers_start (&a, &b, &lb);

  /* See test_close_on_eos for why the channel stays open here. */
  g_object_set (a.sink, "close-on-eos", FALSE, NULL);
  peer_expect_sink_eos (&a);
  peer_wait_received (&b, conns, bytes);
  peer_check_received (&b, conns, bytes, FALSE);

  sink_stats = get_stats (a.sink);
  src_stats = get_stats (b.src);
  GST_INFO ("sink %" GST_PTR_FORMAT, sink_stats);
  GST_INFO ("src %" GST_PTR_FORMAT, src_stats);
  g_object_get (a.sink, "buffered-amount-high", &high, NULL);
  msg_size = 65536;
  peak = stat (sink_stats, "peak-buffered-amount");
  fail_unless (peak <= high + msg_size, "peak buffered-amount %"
      G_GUINT64_FORMAT " above high-water %" G_GUINT64_FORMAT " + one message",
      peak, high);
  fail_unless_equals_uint64 (stat (sink_stats, "bytes-sent"),
      stat (src_stats, "bytes-received"));
  fail_unless_equals_uint64 (stat (sink_stats, "messages-sent"),
      stat (src_stats, "messages-received"));
  fail_unless_equals_uint64 (stat (sink_stats, "buffered-amount"), 0);

  if (bytes * conns >= 32 * 1024 * 1024) {
    /* This much data outruns the channel: the sink must have waited, and
     * waited without burning CPU (no polling). */
    blocked_ns = stat (sink_stats, "time-blocked");
    cpu_ns = stat (sink_stats, "cpu-time-blocked");
    fail_unless (stat (sink_stats, "times-blocked") > 0);
    fail_unless (blocked_ns > 100 * GST_MSECOND);
    fail_unless (cpu_ns * 50 < blocked_ns, "%" G_GUINT64_FORMAT " ns CPU in %"
        G_GUINT64_FORMAT " ns blocked: more than 2%%", cpu_ns, blocked_ns);
  }
  gst_structure_free (sink_stats);
  gst_structure_free (src_stats);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* EOS with close-on-eos: the sender drains the channel and closes it, the
 * receiver ends with EOS. webrtcbin 1.22 can drop the last messages at the
 * receiver when a channel closes right behind them, so here the data is
 * small and only what arrives is checked (an exact prefix); byte-exact
 * transfers end connections in the tunnel's own protocol instead. */
GST_START_TEST (test_close_on_eos)
{
  WrtcLoopback *lb;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 1, 256 * 1024, 4096, TRUE);
  peer_add_receiver (&b, FALSE);
  peers_start (&a, &b, &lb);

  peer_expect_sink_eos (&a);
  peer_expect_receiver_eos (&b, 1);
  fail_if (b.rx.mismatch, "%s", b.rx.mismatch);
  GST_INFO ("received %" G_GUINT64_FORMAT " of %u bytes before the close",
      b.rx.received[1], 256 * 1024);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* A tunnel is bidirectional: each peer sends and receives on the one
 * channel (datachannelsink and datachannelsrc share it). Channels stay open
 * (close-on-eos=false) as the other direction still uses them. */
GST_START_TEST (test_both_ways)
{
  const guint conns = 8;
  const guint64 bytes = 2 * 1024 * 1024;
  WrtcLoopback *lb;
  Peer a, b;

  peer_init (&a, "peer-a");
  peer_init (&b, "peer-b");
  peer_add_sender (&a, conns, bytes, 4000, TRUE);
  peer_add_receiver (&a, FALSE);
  peer_add_sender (&b, conns, bytes, 3000, FALSE);
  peer_add_receiver (&b, FALSE);
  g_object_set (a.sink, "close-on-eos", FALSE, NULL);
  g_object_set (b.sink, "close-on-eos", FALSE, NULL);
  peers_start (&a, &b, &lb);

  peer_wait_received (&a, conns, bytes);
  peer_wait_received (&b, conns, bytes);
  peer_check_received (&a, conns, bytes, FALSE);
  peer_check_received (&b, conns, bytes, FALSE);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* The receiving peer closes the channel mid-stream: the sender ends with an
 * error saying so, the receiver with EOS after the data it got. */
GST_START_TEST (test_peer_closes)
{
  WrtcLoopback *lb;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 2, G_MAXUINT64, 16384, TRUE);
  peer_add_receiver (&b, FALSE);
  peers_start (&a, &b, &lb);

  peer_wait_received (&b, 2, 1024 * 1024);
  fail_unless (b.announced != NULL);
  gst_webrtc_data_channel_close (b.announced);

  peer_expect_error (&a, a.sink, "closed");
  peer_expect_receiver_eos (&b, 2);
  fail_if (b.rx.mismatch, "%s", b.rx.mismatch);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* PLAYING -> NULL while the sink waits for the channel to drain. The
 * sending elements are a pipeline of their own, given the channel object
 * (the "channel" property): webrtcbin 1.22 itself can hang going down
 * while its SCTP encoder is full, which is not what this test is about. */
GST_START_TEST (test_null_while_blocked)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  GstWebRTCDataChannel *channel = NULL;
  GstElement *sender;
  guint64 blocked = 0;
  WrtcLoopback *lb;
  Peer a, b;

  peer_init (&a, "webrtc-a");
  peer_init (&b, "receiver");
  peer_add_receiver (&b, FALSE);
  lb = wrtc_loopback_new (a.webrtc, b.webrtc);
  fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_READY, WAIT_S));
  g_signal_emit_by_name (a.webrtc, "create-data-channel", LABEL, NULL,
      &channel);
  fail_unless (channel != NULL);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));

  /* The sending half: the Peer helpers build it in a second Peer's
   * pipeline, minus the webrtcbin. */
  sender = gst_parse_launch ("appsrc name=src ! framemux name=m "
      "! datachannelsink name=sink", NULL);
  fail_unless (sender != NULL);
  {
    GstElement *appsrc = gst_bin_get_by_name (GST_BIN (sender), "src");
    GstElement *sink = gst_bin_get_by_name (GST_BIN (sender), "sink");
    GstAppSrcCallbacks cb = { source_need_data, NULL, NULL };
    Source *src = &a.sources[0];

    src->conn = 1;
    src->total = G_MAXUINT64;
    src->chunk = 65536;
    gst_app_src_set_callbacks (GST_APP_SRC (appsrc), &cb, src, NULL);
    g_object_set (sink, "channel", channel, NULL);
    a.sink = sink;
    gst_object_unref (appsrc);
  }
  fail_unless (wrtc_set_state_bounded (sender, GST_STATE_PLAYING, WAIT_S));

  /* Unbounded input outruns the channel within a second or so. */
  while (blocked == 0 && g_get_monotonic_time () < deadline) {
    GstStructure *s = get_stats (a.sink);

    blocked = stat (s, "times-blocked");
    gst_structure_free (s);
    g_usleep (10 * 1000);
  }
  fail_unless (blocked > 0, "the sink never blocked within %d s", WAIT_S);
  fail_unless (wrtc_set_state_bounded (sender, GST_STATE_NULL, 20),
      "sender pipeline hung going to NULL while blocked");
  fail_if (b.rx.mismatch, "%s", b.rx.mismatch);

  /* Let what was sent leave before webrtcbin goes down. */
  fail_unless (wrtc_set_state_bounded (sender, GST_STATE_READY, WAIT_S));
  peer_wait_drained (&a);
  gst_object_unref (a.sink);
  a.sink = NULL;
  gst_object_unref (sender);
  g_object_unref (channel);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* Downstream of datachannelsrc stops consuming: the receive queue hits
 * max-queue-bytes and the source fails loudly at once, instead of growing
 * or dropping. */
GST_START_TEST (test_receiver_stalls)
{
  WrtcLoopback *lb;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 1, 8 * 1024 * 1024, 65536, TRUE);
  g_object_set (a.sink, "close-on-eos", FALSE, NULL);
  peer_add_receiver (&b, FALSE);
  g_object_set (b.src, "max-queue-bytes", (guint64) 2 * 1024 * 1024, NULL);
  b.rx.stall = TRUE;
  peers_start (&a, &b, &lb);

  peer_expect_error (&b, b.src, "max-queue-bytes (2097152)");
  /* The peer's webrtcbin still takes everything in: the sender finishes. */
  peer_expect_sink_eos (&a);
  g_mutex_lock (&b.rx.lock);
  fail_unless (b.rx.stalled);
  b.rx.stall = FALSE;
  g_cond_broadcast (&b.rx.cond);
  g_mutex_unlock (&b.rx.lock);
  fail_if (b.rx.mismatch, "%s", b.rx.mismatch);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* No network needed: configuration errors are clear errors at start. */
static void
expect_start_error (const gchar * launch, const gchar * what)
{
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  GstBus *bus;
  GstMessage *msg;
  GError *err;

  fail_unless (pipeline != NULL);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error for %s", launch);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, what) != NULL, "\"%s\" lacks \"%s\"",
      err->message, what);
  g_error_free (err);
  gst_message_unref (msg);
  fail_unless (wrtc_set_state_bounded (pipeline, GST_STATE_NULL, WAIT_S));
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_START_TEST (test_settings_errors)
{
  expect_start_error ("fakesrc ! datachannelsink", "No data channel");
  expect_start_error ("fakesrc ! datachannelsink webrtcbin=nope",
      "No element named \"nope\"");
  expect_start_error ("fakesrc ! datachannelsink webrtcbin=f  fakesink name=f",
      "is not a webrtcbin");
  expect_start_error ("datachannelsrc ! fakesink", "No data channel");
}

GST_END_TEST;

/* An unordered channel carries no byte stream unless told it may. */
GST_START_TEST (test_unreliable_refused)
{
  WrtcLoopback *lb;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 1, 1024, 1024, TRUE);
  g_object_set (a.sink, "ordered", FALSE, NULL);
  peer_add_receiver (&b, FALSE);
  peers_start (&a, &b, &lb);
  peer_expect_error (&a, a.sink, "unordered");
  peer_expect_error (&b, b.src, "unordered");
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* ---------- frametunnel: one endpoint per side ---------- */

static void
on_acknowledged (GstElement * tunnel, guint conn, Peer * peer)
{
  g_mutex_lock (&peer->rx.lock);
  peer->acked[conn] = TRUE;
  g_cond_broadcast (&peer->rx.cond);
  g_mutex_unlock (&peer->rx.lock);
}

/* A frametunnel opening @n connections (sink_%u requests without a number)
 * of @bytes each. */
static GstElement *
peer_add_tunnel (Peer * peer, gboolean create, guint n, guint64 bytes)
{
  GstElement *tunnel = gst_element_factory_make ("frametunnel", NULL);
  guint i;

  fail_unless (tunnel != NULL);
  g_object_set (tunnel, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", create, "ping-interval", 50, NULL);
  gst_bin_add (GST_BIN (peer->pipeline), tunnel);
  g_signal_connect (tunnel, "pad-added", G_CALLBACK (demux_pad_added),
      &peer->rx);
  g_signal_connect (tunnel, "connection-acknowledged",
      G_CALLBACK (on_acknowledged), peer);

  for (i = 0; i < n; i++) {
    Source *s = &peer->sources[i];
    GstAppSrcCallbacks cb = { source_need_data, NULL, NULL };
    GstElement *appsrc = gst_element_factory_make ("appsrc", NULL);
    GstPad *srcpad, *sinkpad;

    sinkpad = gst_element_request_pad_simple (tunnel, "sink_%u");
    fail_unless (sinkpad != NULL);
    fail_unless (sscanf (GST_PAD_NAME (sinkpad), "sink_%u", &s->conn) == 1);
    s->total = bytes;
    s->chunk = 1000 + 517 * i;
    gst_app_src_set_callbacks (GST_APP_SRC (appsrc), &cb, s, NULL);
    gst_bin_add (GST_BIN (peer->pipeline), appsrc);
    srcpad = gst_element_get_static_pad (appsrc, "src");
    fail_unless_equals_int (gst_pad_link (srcpad, sinkpad), GST_PAD_LINK_OK);
    gst_object_unref (srcpad);
    gst_object_unref (sinkpad);
  }
  peer->n_sources = n;
  return tunnel;
}

/* @peer received every connection @other opened, byte-exact and ended
 * (SendEOF inside the tunnel), and @other's openings were acknowledged. */
static void
peer_wait_tunnel_received (Peer * peer, Peer * other, guint64 bytes)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  guint i;

  for (i = 0; i < other->n_sources; i++) {
    guint conn = other->sources[i].conn;

    g_mutex_lock (&peer->rx.lock);
    while ((peer->rx.received[conn] < bytes || !peer->rx.eos[conn])
        && !peer->rx.mismatch)
      if (!g_cond_wait_until (&peer->rx.cond, &peer->rx.lock, deadline))
        break;
    fail_if (peer->rx.mismatch, "%s", peer->rx.mismatch);
    fail_unless_equals_uint64 (peer->rx.received[conn], bytes);
    fail_unless (peer->rx.eos[conn], "connection %u: no EOS", conn);
    g_mutex_unlock (&peer->rx.lock);

    g_mutex_lock (&other->rx.lock);
    while (!other->acked[conn])
      if (!g_cond_wait_until (&other->rx.cond, &other->rx.lock, deadline))
        break;
    fail_unless (other->acked[conn], "%s: connection %u never acknowledged",
        GST_ELEMENT_NAME (other->pipeline), conn);
    g_mutex_unlock (&other->rx.lock);
  }
}

/* Two endpoints, connections opened from both sides at once: the numbers
 * never collide (client odd, server even), every connection arrives
 * byte-exact and ends with EOS, openings are acknowledged, and pings
 * measure a round-trip time. */
GST_START_TEST (test_tunnel_endpoints)
{
  const guint64 bytes = 512 * 1024;
  gint64 deadline;
  GstElement *ta, *tb;
  GstStructure *stats;
  guint64 pongs = 0, rtt_min = 0, rtt_mean = 0;
  WrtcLoopback *lb;
  Peer a, b;
  guint i;

  peer_init (&a, "client");
  peer_init (&b, "server");
  ta = peer_add_tunnel (&a, TRUE, 3, bytes);
  tb = peer_add_tunnel (&b, FALSE, 2, bytes);
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (a.sources[i].conn, 2 * i + 1);
  for (i = 0; i < 2; i++)
    fail_unless_equals_int (b.sources[i].conn, 2 * i + 2);
  peers_start (&a, &b, &lb);

  peer_wait_tunnel_received (&b, &a, bytes);
  peer_wait_tunnel_received (&a, &b, bytes);
  for (i = 1; i < MAX_CONNS; i++) {     /* and nothing else arrived */
    fail_unless_equals_uint64 (a.rx.received[i], (i == 2 || i == 4) ?
        bytes : 0);
    fail_unless_equals_uint64 (b.rx.received[i], (i % 2 && i <= 5) ?
        bytes : 0);
  }

  deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  while (pongs < 3 && g_get_monotonic_time () < deadline) {
    stats = get_stats (ta);
    pongs = stat (stats, "pongs-received");
    rtt_min = stat (stats, "rtt-min");
    rtt_mean = stat (stats, "rtt-mean");
    gst_structure_free (stats);
    g_usleep (10 * 1000);
  }
  GST_INFO ("rtt min %" GST_TIME_FORMAT " mean %" GST_TIME_FORMAT,
      GST_TIME_ARGS (rtt_min), GST_TIME_ARGS (rtt_mean));
  fail_unless (pongs >= 3, "only %" G_GUINT64_FORMAT " pongs", pongs);
  fail_unless (rtt_min > 0 && rtt_mean >= rtt_min);
  stats = get_stats (tb);
  fail_unless (stat (stats, "pings-answered") >= 3);
  gst_structure_free (stats);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

static Suite *
webrtc_tunnel_suite (void)
{
  Suite *s = suite_create ("webrtc-tunnel");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_settings_errors);
  tcase_add_loop_test (tc, test_one_way, 0, G_N_ELEMENTS (one_way_configs));
  tcase_add_test (tc, test_close_on_eos);
  tcase_add_test (tc, test_both_ways);
  tcase_add_test (tc, test_peer_closes);
  tcase_add_test (tc, test_null_while_blocked);
  tcase_add_test (tc, test_receiver_stalls);
  tcase_add_test (tc, test_unreliable_refused);
  tcase_add_test (tc, test_tunnel_endpoints);
  return s;
}

GST_CHECK_MAIN (webrtc_tunnel);

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Two-peer fixture of the WebRTC pipeline tests (webrtc-tunnel.c,
 * webrtc-faults.c): each peer is a pipeline of its own with its webrtcbin,
 * senders feed a deterministic byte pattern per connection, receivers check
 * it byte for byte. Every wait is bounded (WAIT_S) and fails the test.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc-fixture.h"

/* ---------- the byte pattern: byte @offset of connection @conn ---------- */

static inline guint64
pattern_word (guint conn, guint64 index)
{
  guint64 z = ((guint64) conn << 48) ^ index ^ 0x9e3779b97f4a7c15ULL;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
pattern_fill (guint conn, guint64 offset, guint8 * data, gsize size)
{
  gsize i;

  for (i = 0; i < size; i++) {
    guint64 pos = offset + i;

    data[i] = pattern_word (conn, pos >> 3) >> ((pos & 7) * 8);
  }
}

/* ---------- sending side: appsrc per connection ---------- */

void
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

static void
receiver_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad,
    Receiver * rx)
{
  guint conn = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (sink), "conn"));
  GstMapInfo map;
  guint8 *expected;
  guint64 offset;
  gint64 now;
  guint rate;

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
  now = g_get_monotonic_time ();
  if (!rx->first_us[conn])
    rx->first_us[conn] = now;
  else
    rx->max_gap_us[conn] = MAX (rx->max_gap_us[conn], now - rx->last_us[conn]);
  rx->last_us[conn] = now;
  rate = rx->rate[conn];
  g_cond_broadcast (&rx->cond);
  g_mutex_unlock (&rx->lock);
  g_free (expected);
  /* a slow application: it takes this long over every buffer */
  if (rate)
    g_usleep (map.size * G_USEC_PER_SEC / rate);
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

void
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

void
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
void
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

void
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

void
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

gint
wrtc_test_wait_s (void)
{
  const gchar *m = g_getenv ("CK_TIMEOUT_MULTIPLIER");
  gint scale = m ? atoi (m) : 1;

  return 60 * CLAMP (scale, 1, 20);
}

/* Bus message of @types from @peer, or fail after WAIT_S. */
GstMessage *
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

void
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
void
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
void
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
void
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
void
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

void
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

void
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


/* Shared with the probes, which may outlive a wait that gave up. */
typedef struct
{
  gint refcount;
  gint pending;
} IdleWait;

static void
idle_wait_unref (IdleWait * w)
{
  if (g_atomic_int_dec_and_test (&w->refcount))
    g_free (w);
}

static GstPadProbeReturn
encoder_idle (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  IdleWait *w = user_data;

  g_atomic_int_add (&w->pending, -1);
  return GST_PAD_PROBE_REMOVE;
}

/* webrtcbin 1.22 hangs going to READY when its SCTP encoder is retrying a
 * full send buffer (fixed upstream later). Safe once nothing is buffered in
 * the channel and every encoder input pad is idle. Best effort, bounded:
 * a channel the peer no longer reads cannot drain. */
void
peer_wait_drained (Peer * peer)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  IdleWait *w = g_new0 (IdleWait, 1);
  GValue item = G_VALUE_INIT;
  GstIterator *it;

  w->refcount = 1;
  while (peer->sink && g_get_monotonic_time () < deadline) {
    GstStructure *s = get_stats (peer->sink);
    guint64 amount = stat_u64 (s, "buffered-amount");

    gst_structure_free (s);
    if (amount == 0)
      break;
    g_usleep (10 * 1000);
  }

  it = gst_bin_iterate_all_by_element_factory_name (GST_BIN (peer->webrtc),
      "sctpenc");
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstIterator *pads =
        gst_element_iterate_sink_pads (g_value_get_object (&item));
    GValue pad = G_VALUE_INIT;

    while (gst_iterator_next (pads, &pad) == GST_ITERATOR_OK) {
      g_atomic_int_inc (&w->pending);
      g_atomic_int_inc (&w->refcount);
      gst_pad_add_probe (g_value_get_object (&pad), GST_PAD_PROBE_TYPE_IDLE,
          encoder_idle, w, (GDestroyNotify) idle_wait_unref);
      g_value_unset (&pad);
    }
    gst_iterator_free (pads);
    g_value_unset (&item);
  }
  gst_iterator_free (it);
  while (g_atomic_int_get (&w->pending) > 0
      && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  if (g_atomic_int_get (&w->pending) > 0)
    GST_WARNING ("%s: SCTP encoder still busy",
        GST_ELEMENT_NAME (peer->pipeline));
  idle_wait_unref (w);
}

void
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

GstStructure *
get_stats (GstElement * element)
{
  GstStructure *stats = NULL;

  g_object_get (element, "stats", &stats, NULL);
  fail_unless (stats != NULL);
  return stats;
}

guint64
stat_u64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s in %"
      GST_PTR_FORMAT, field, s);
  return v;
}

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
GstElement *
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
void
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

/* The framemux feeding @peer's datachannelsink (a new reference). */
static GstElement *
peer_get_mux (Peer * peer)
{
  GstPad *pad = gst_element_get_static_pad (peer->sink, "sink");
  GstPad *up = gst_pad_get_peer (pad);
  GstObject *mux = gst_pad_get_parent (up);

  fail_unless (mux != NULL);
  gst_object_unref (up);
  gst_object_unref (pad);
  return GST_ELEMENT (mux);
}

void
peer_set_flow_control (Peer * peer, gboolean on)
{
  GstElement *mux = peer_get_mux (peer);

  g_object_set (mux, "flow-control", on, NULL);
  gst_object_unref (mux);
}

gboolean
peer_flow_control_active (Peer * peer)
{
  GstElement *mux = peer_get_mux (peer);
  GstStructure *stats = get_stats (mux);
  gboolean active = FALSE;

  gst_structure_get_boolean (stats, "flow-control", &active);
  gst_structure_free (stats);
  gst_object_unref (mux);
  return active;
}

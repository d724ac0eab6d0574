/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * The channel side of credit flow control (docs/wire-format.md), over real
 * webrtcbin on 127.0.0.1 (the two-peer fixture): the feedback events
 * datachannelsrc takes from upstream and where they come out, close-on-eos
 * per GStreamer version, the warning when neither side creates the channel,
 * and the EOS drain ending when the channel goes away under it.
 *
 * framemux and framedemux do not emit or take these events here: the tests
 * push hand-built events into datachannelsrc and catch what leaves the
 * datachannelsink upstream with pad probes.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "webrtc-fixture.h"
#include "frame-codec.h"
#include "wrtcframe-events.h"

/* datachannel-link.h: ANNOUNCE_WARN_S */
#define ANNOUNCE_WARN_S 5

/* ---------- catching the events that leave a sink upstream ---------- */

typedef struct
{
  GMutex lock;
  GCond cond;
  GPtrArray *events;            /* GstEvent, in arrival order */
} Catcher;

static GstPadProbeReturn
catch_event (GstPad * pad, GstPadProbeInfo * info, Catcher * c)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM
      || !g_str_has_prefix (gst_structure_get_name (gst_event_get_structure
              (event)), "wrtcframe-"))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->events, gst_event_ref (event));
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

/* Catches the wrtcframe-* events arriving at the element before @element
 * (on the pad linked to its sink pad). */
static void
catcher_init (Catcher * c, GstElement * element)
{
  GstPad *sinkpad = gst_element_get_static_pad (element, "sink");
  GstPad *peer = gst_pad_get_peer (sinkpad);

  fail_unless (peer != NULL, "%s is not linked", GST_ELEMENT_NAME (element));
  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
  c->events = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_mini_object_unref);
  gst_pad_add_probe (peer, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      (GstPadProbeCallback) catch_event, c, NULL);
  gst_object_unref (peer);
  gst_object_unref (sinkpad);
}

static void
catcher_clear (Catcher * c)
{
  g_ptr_array_unref (c->events);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
}

static guint
catcher_count (Catcher * c)
{
  guint n;

  g_mutex_lock (&c->lock);
  n = c->events->len;
  g_mutex_unlock (&c->lock);
  return n;
}

/* Waits (bounded) for event number @index; it must be named @name and
 * carry @payload (u16 code + data). */
static void
catcher_expect (Catcher * c, guint index, const gchar * name,
    const guint8 * payload, gsize size)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  gboolean found = FALSE;
  guint i = 0;

  /* the elements' own flow control travels the same way: look for ours
   * among everything caught (@index is where it would be alone) */
  g_mutex_lock (&c->lock);
  while (!found) {
    for (; i < c->events->len && !found; i++) {
      GBytes *got = wrtc_control_event_payload (g_ptr_array_index (c->events,
              i), name);

      if (got != NULL) {
        gsize got_size;
        const guint8 *p = g_bytes_get_data (got, &got_size);

        found = got_size == size && memcmp (p, payload, size) == 0;
        g_bytes_unref (got);
      }
    }
    if (!found && !g_cond_wait_until (&c->cond, &c->lock, deadline))
      break;
  }
  g_mutex_unlock (&c->lock);
  fail_unless (found, "event %u (%s, code %u) did not arrive upstream "
      "within %d s (%u other events caught)", index, name,
      payload[0] << 8 | payload[1], WAIT_S, i);
}

/* Sends the event @name with @payload upstream into @src's src pad, as a
 * framedemux linked to it would. */
static gboolean
send_into_src (GstElement * src, const gchar * name, const guint8 * payload,
    gsize size)
{
  GstPad *pad = gst_element_get_static_pad (src, "src");
  gboolean ok = gst_pad_send_event (pad,
      wrtc_control_event_new (name, payload, size));

  gst_object_unref (pad);
  return ok;
}

static guint64
stat_of (GstElement * element, const gchar * field)
{
  GstStructure *s = get_stats (element);
  guint64 v = stat_u64 (s, field);

  gst_structure_free (s);
  return v;
}

static gboolean
flow_control_of (GstElement * sink)
{
  GstStructure *s = get_stats (sink);
  gboolean v = FALSE;

  fail_unless (gst_structure_get_boolean (s, "flow-control", &v));
  gst_structure_free (s);
  return v;
}

/* The counters and flag change once the push upstream has returned, just
 * after the catcher saw the event: wait for them (bounded). */
static void
wait_stat (GstElement * element, const gchar * field, guint64 value)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  while (stat_of (element, field) != value
      && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  fail_unless_equals_uint64 (stat_of (element, field), value);
}

static void
wait_flow_control (GstElement * sink)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  while (!flow_control_of (sink) && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  fail_unless (flow_control_of (sink), "FlowGrant taken upstream, but "
      "flow-control is not set");
}

/* The next WARNING on @peer's bus within @timeout_s, or NULL. Other
 * messages before it are discarded. */
static GstMessage *
pop_warning (Peer * peer, guint timeout_s)
{
  GstBus *bus = gst_element_get_bus (peer->pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, timeout_s * GST_SECOND,
      GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);

  gst_object_unref (bus);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    fail_on_error (peer, msg);
  return msg;
}

static GstMessage *
pop_error (Peer * peer)
{
  GstBus *bus = gst_element_get_bus (peer->pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  gst_object_unref (bus);
  return msg;
}

static gchar *warning_text (GstMessage * msg);

/* The sink's EOS (forwarded by the pipeline), with no warning from the
 * sink before it. */
static void
expect_sink_eos_no_warning (Peer * peer)
{
  GstBus *bus = gst_element_get_bus (peer->pipeline);

  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, WAIT_S * GST_SECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    const GstStructure *s;
    GstMessage *inner = NULL;
    gboolean done;

    fail_unless (msg != NULL, "no EOS from the sink within %d s", WAIT_S);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      fail_on_error (peer, msg);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      gchar *text = warning_text (msg);

      fail_if (GST_MESSAGE_SRC (msg) == GST_OBJECT (peer->sink),
          "warning from the sink: %s", text);
      g_free (text);
      gst_message_unref (msg);
      continue;
    }
    s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "GstBinForwarded"))
      gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
    done = inner && GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS
        && GST_MESSAGE_SRC (inner) == GST_OBJECT (peer->sink);
    if (inner)
      gst_message_unref (inner);
    gst_message_unref (msg);
    if (done)
      break;
  }
  gst_object_unref (bus);
}

static gchar *
warning_text (GstMessage * msg)
{
  GError *err;
  gchar *text;

  gst_message_parse_warning (msg, &err, NULL);
  text = g_strdup (err->message);
  g_error_free (err);
  GST_INFO ("warning from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
      text);
  return text;
}

static GstWebRTCDataChannel *
wait_announced (Peer * b)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  GstWebRTCDataChannel *remote;

  g_mutex_lock (&b->rx.lock);
  while (!b->announced)
    if (!g_cond_wait_until (&b->rx.cond, &b->rx.lock, deadline))
      break;
  remote = b->announced ? g_object_ref (b->announced) : NULL;
  g_mutex_unlock (&b->rx.lock);
  fail_unless (remote != NULL, "channel not announced within %d s", WAIT_S);
  return remote;
}

static GstWebRTCDataChannelState
ready_state (GstWebRTCDataChannel * channel)
{
  GstWebRTCDataChannelState state;

  g_object_get (channel, "ready-state", &state, NULL);
  return state;
}

static GstPadProbeReturn
note_eos (GstPad * pad, GstPadProbeInfo * info, gint * seen)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    g_atomic_int_set (seen, 1);
  return GST_PAD_PROBE_OK;
}

/* Sets *@seen when EOS passes @element's pad @name. */
static void
watch_eos (GstElement * element, const gchar * name, gint * seen)
{
  GstPad *pad = gst_element_get_static_pad (element, name);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) note_eos, seen, NULL);
  gst_object_unref (pad);
}

/* Waits (bounded) for datachannelsrc's own EOS: its channel closed (the
 * fixture's per-connection EOS also comes from SendEOF, in the stream). */
static void
wait_src_eos (gint * seen)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  while (!g_atomic_int_get (seen) && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  fail_unless (g_atomic_int_get (seen), "datachannelsrc: no EOS (channel "
      "not closed) within %d s", WAIT_S);
}

/* The closing bugs of webrtcbin 1.22.0 .. 1.22.2 (see datachannelsink.md). */
static gboolean
close_can_lose_data (void)
{
  guint major, minor, micro, nano;

  gst_version (&major, &minor, &micro, &nano);
  return major == 1 && minor == 22 && micro <= 2;
}

static gsize
grant (guint8 * buf, gsize size)
{
  gsize n = wrtc_flow_encode_grant (buf, size, 256 * 1024, 1024 * 1024);

  fail_unless (n == 2 + WRTC_FLOW_GRANT_SIZE);
  return n;
}

static gsize
credit (guint8 * buf, gsize size, guint32 conn, guint64 delivered)
{
  gsize n = wrtc_flow_encode_credit (buf, size, conn, delivered);

  fail_unless (n == 2 + WRTC_FLOW_CREDIT_SIZE);
  return n;
}

/* ---------- (a) one way: the receiver's datachannelsrc sends ---------- */

/* framemux ! datachannelsink on A, datachannelsrc ! framedemux on B, no
 * reverse stream: B's datachannelsrc sends the feedback as whole control
 * frames, A's datachannelsink reads them and sends them upstream as
 * WRTC_EVENT_FEEDBACK, same code, same data. The first is sent right
 * after the start, most likely before the channel opened (queued then).
 * Junk and other control frames from the peer are ignored, with one
 * warning for the junk. */
GST_START_TEST (test_feedback_one_way)
{
  guint8 g[32], c1[32], c2[32], ping[64];
  gsize gn, c1n, c2n, pn;
  GstWebRTCDataChannel *remote;
  GError *err = NULL;
  WrtcLoopback *lb;
  GstMessage *msg;
  Catcher catcher;
  GBytes *junk;
  Peer a, b;
  gchar *text;
  guint8 ping_payload[10] = { 0, WRTC_CONTROL_PING, 1, 2, 3, 4, 5, 6, 7, 8 };

  gn = grant (g, sizeof (g));
  c1n = credit (c1, sizeof (c1), 1, 65536);
  c2n = credit (c2, sizeof (c2), 1, 131072);
  pn = wrtc_frame_encode (ping, sizeof (ping), 0, wrtc_frame_now_ms (),
      ping_payload, sizeof (ping_payload));
  fail_unless (pn > 0);

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 1, 256 * 1024, 4096, TRUE);
  /* hand-made feedback only: the elements' own credit stays off */
  peer_set_flow_control (&a, FALSE);
  g_object_set (a.sink, "close-on-eos", FALSE, NULL);
  peer_add_receiver (&b, FALSE);
  catcher_init (&catcher, a.sink);
  peers_start (&a, &b, &lb);

  fail_unless (send_into_src (b.src, WRTC_EVENT_FEEDBACK, g, gn));
  catcher_expect (&catcher, 0, WRTC_EVENT_FEEDBACK, g, gn);
  wait_flow_control (a.sink);

  peer_wait_received (&b, 1, 256 * 1024);
  fail_unless (send_into_src (b.src, WRTC_EVENT_FEEDBACK, c1, c1n));
  catcher_expect (&catcher, 1, WRTC_EVENT_FEEDBACK, c1, c1n);

  /* The peer's application sends junk, then a Ping frame: one warning,
   * no event; what follows is still read. */
  remote = wait_announced (&b);
  junk = g_bytes_new_static ("not a frame", 11);
  fail_unless (gst_webrtc_data_channel_send_data_full (remote, junk, &err),
      "%s", err ? err->message : "?");
  fail_unless (gst_webrtc_data_channel_send_data_full (remote, junk, &err),
      "%s", err ? err->message : "?");
  g_bytes_unref (junk);
  junk = g_bytes_new (ping, pn);
  fail_unless (gst_webrtc_data_channel_send_data_full (remote, junk, &err),
      "%s", err ? err->message : "?");
  g_bytes_unref (junk);
  fail_unless (send_into_src (b.src, WRTC_EVENT_FEEDBACK, c2, c2n));
  catcher_expect (&catcher, 2, WRTC_EVENT_FEEDBACK, c2, c2n);
  fail_unless_equals_int (catcher_count (&catcher), 3);

  msg = pop_warning (&a, WAIT_S);
  fail_unless (msg != NULL, "no warning about the junk");
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (a.sink));
  text = warning_text (msg);
  fail_unless (strstr (text, "whole frames") != NULL, "%s", text);
  g_free (text);
  gst_message_unref (msg);
  msg = pop_warning (&a, 1);
  fail_if (msg != NULL, "a second warning about the junk");

  wait_stat (a.sink, "feedback-read", 3);
  fail_unless_equals_uint64 (stat_of (a.sink, "feedback-relayed"), 0);
  wait_stat (b.src, "feedback-sent", 3);
  fail_unless_equals_uint64 (stat_of (b.src, "feedback-relayed"), 0);

  /* The peer's own feedback has no sink to go to on B: dropped. */
  fail_unless (send_into_src (b.src, WRTC_EVENT_PEER_FEEDBACK, g, gn));
  fail_unless_equals_uint64 (stat_of (b.src, "feedback-dropped"), 1);
  fail_unless_equals_uint64 (stat_of (b.src, "feedback-sent"), 3);

  g_object_unref (remote);
  peers_stop (&a, &b, lb);
  catcher_clear (&catcher);
}

GST_END_TEST;

/* ---------- (b) both ways: the relay on one channel ---------- */

/* Both peers send and receive on the one channel. B's datachannelsrc
 * hands what it gets to B's datachannelsink: WRTC_EVENT_FEEDBACK comes
 * out upstream of the sink as WRTC_EVENT_SEND_CONTROL (for framemux to
 * send in its stream), WRTC_EVENT_PEER_FEEDBACK as WRTC_EVENT_FEEDBACK.
 * Nothing is sent on the channel by the sources themselves, and the sinks
 * do not read the channel (their source does). */
GST_START_TEST (test_feedback_relay)
{
  const guint64 bytes = 256 * 1024;
  guint8 g[32], c1[32];
  gsize gn, c1n;
  Catcher ca, cb;
  WrtcLoopback *lb;
  Peer a, b;

  gn = grant (g, sizeof (g));
  c1n = credit (c1, sizeof (c1), 3, 12345);

  peer_init (&a, "peer-a");
  peer_init (&b, "peer-b");
  peer_add_sender (&a, 1, bytes, 4000, TRUE);
  /* hand-made feedback only: the elements' own credit stays off */
  peer_set_flow_control (&a, FALSE);
  peer_add_receiver (&a, FALSE);
  peer_add_sender (&b, 1, bytes, 3000, FALSE);
  /* hand-made feedback only: the elements' own credit stays off */
  peer_set_flow_control (&b, FALSE);
  peer_add_receiver (&b, FALSE);
  g_object_set (a.sink, "close-on-eos", FALSE, NULL);
  g_object_set (b.sink, "close-on-eos", FALSE, NULL);
  catcher_init (&ca, a.sink);
  catcher_init (&cb, b.sink);
  peers_start (&a, &b, &lb);

  peer_wait_received (&a, 1, bytes);
  peer_wait_received (&b, 1, bytes);

  fail_unless (send_into_src (b.src, WRTC_EVENT_FEEDBACK, c1, c1n));
  catcher_expect (&cb, 0, WRTC_EVENT_SEND_CONTROL, c1, c1n);
  fail_unless (send_into_src (b.src, WRTC_EVENT_PEER_FEEDBACK, g, gn));
  catcher_expect (&cb, 1, WRTC_EVENT_FEEDBACK, g, gn);
  wait_flow_control (b.sink);
  fail_if (flow_control_of (a.sink));

  wait_stat (b.sink, "controls-relayed", 1);
  wait_stat (b.sink, "feedback-relayed", 1);
  fail_unless_equals_uint64 (stat_of (b.src, "feedback-relayed"), 2);
  /* once B's stream has ended (framemux EOS) framemux refuses to send, and
   * the source sends the frame whole on the channel itself */
  fail_unless (stat_of (b.src, "feedback-sent") <= 1);

  /* A's side the same way round. */
  fail_unless (send_into_src (a.src, WRTC_EVENT_FEEDBACK, g, gn));
  catcher_expect (&ca, 0, WRTC_EVENT_SEND_CONTROL, g, gn);
  fail_unless (stat_of (a.src, "feedback-sent") <= 1);

  peer_check_received (&a, 1, bytes, FALSE);
  peer_check_received (&b, 1, bytes, FALSE);
  fail_unless_equals_uint64 (stat_of (a.sink, "feedback-read"), 0);
  fail_unless_equals_uint64 (stat_of (b.sink, "feedback-read"), 0);
  /* at least ours (a refused one may be counted again) */
  fail_unless (catcher_count (&ca) >= 1);
  fail_unless (catcher_count (&cb) >= 2);
  peers_stop (&a, &b, lb);
  catcher_clear (&ca);
  catcher_clear (&cb);
}

GST_END_TEST;

/* The elements of @factory inside @bin (one expected). */
static GstElement *
child_by_factory (GstElement * bin, const gchar * factory)
{
  GstIterator *it = gst_bin_iterate_all_by_element_factory_name (GST_BIN
      (bin), factory);
  GValue v = G_VALUE_INIT;
  GstElement *e = NULL;

  fail_unless (gst_iterator_next (it, &v) == GST_ITERATOR_OK);
  e = gst_object_ref (g_value_get_object (&v));
  g_value_unset (&v);
  gst_iterator_free (it);
  return e;
}

/* frametunnel holds both elements on its channel: the relay works inside. */
GST_START_TEST (test_feedback_tunnel)
{
  const guint64 bytes = 64 * 1024;
  GstElement *ta, *tb, *src, *sink;
  guint8 g[32], c1[32];
  gsize gn, c1n;
  WrtcLoopback *lb;
  Catcher c;
  Peer a, b;

  gn = grant (g, sizeof (g));
  c1n = credit (c1, sizeof (c1), 2, 777);
  peer_init (&a, "client");
  peer_init (&b, "server");
  ta = peer_add_tunnel (&a, TRUE, 1, bytes);
  tb = peer_add_tunnel (&b, FALSE, 1, bytes);
  src = child_by_factory (tb, "datachannelsrc");
  sink = child_by_factory (tb, "datachannelsink");
  catcher_init (&c, sink);
  peers_start (&a, &b, &lb);
  peer_wait_tunnel_received (&b, &a, bytes);
  peer_wait_tunnel_received (&a, &b, bytes);

  fail_unless (send_into_src (src, WRTC_EVENT_FEEDBACK, c1, c1n));
  catcher_expect (&c, 0, WRTC_EVENT_SEND_CONTROL, c1, c1n);
  fail_unless (send_into_src (src, WRTC_EVENT_PEER_FEEDBACK, g, gn));
  catcher_expect (&c, 1, WRTC_EVENT_FEEDBACK, g, gn);
  wait_flow_control (sink);
  fail_unless_equals_uint64 (stat_of (src, "feedback-sent"), 0);
  {
    GstElement *asink = child_by_factory (ta, "datachannelsink");

    fail_unless_equals_uint64 (stat_of (asink, "feedback-read"), 0);
    gst_object_unref (asink);
  }

  gst_object_unref (src);
  gst_object_unref (sink);
  peers_stop (&a, &b, lb);
  catcher_clear (&c);
}

GST_END_TEST;

/* ---------- (c) close-on-eos per version ---------- */

/* Raw framemux output, no credit: on the GStreamer versions whose close
 * can lose the last messages (1.22.0 .. 1.22.2) the channel is left open
 * with one warning and EOS completes; every byte arrives, and the
 * receiver sees no close. On fixed versions the channel is closed: the
 * receiver ends with EOS. */
GST_START_TEST (test_close_on_eos_no_credit)
{
  const guint64 bytes = 512 * 1024;
  GstWebRTCDataChannel *remote;
  WrtcLoopback *lb;
  GstMessage *msg;
  gint src_eos = 0;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 1, bytes, 4096, TRUE);
  /* hand-made feedback only: the elements' own credit stays off */
  peer_set_flow_control (&a, FALSE);
  peer_add_receiver (&b, FALSE);
  watch_eos (b.src, "src", &src_eos);
  peers_start (&a, &b, &lb);
  remote = wait_announced (&b);

  if (close_can_lose_data ()) {
    gchar *text;

    GST_INFO ("GStreamer %s: the channel must stay open",
        gst_version_string ());
    msg = pop_warning (&a, WAIT_S);
    fail_unless (msg != NULL, "no warning that the channel is left open");
    fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (a.sink));
    text = warning_text (msg);
    fail_unless (strstr (text, "left open") != NULL, "%s", text);
    fail_unless (strstr (text, "flow control") != NULL, "%s", text);
    g_free (text);
    gst_message_unref (msg);
    peer_expect_sink_eos (&a);
    /* framemux's SendEOF still ends the connection in the stream. */
    peer_expect_receiver_eos (&b, 1);
    peer_check_received (&b, 1, bytes, TRUE);
    g_usleep (G_USEC_PER_SEC / 2);
    fail_if (g_atomic_int_get (&src_eos), "the channel was closed");
    fail_unless_equals_int (ready_state (remote),
        GST_WEBRTC_DATA_CHANNEL_STATE_OPEN);
  } else {
    GST_INFO ("GStreamer %s: the channel must be closed",
        gst_version_string ());
    expect_sink_eos_no_warning (&a);
    wait_src_eos (&src_eos);
    peer_expect_receiver_eos (&b, 1);
    peer_check_received (&b, 1, bytes, TRUE);
  }
  g_object_unref (remote);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* EOS before anything was sent (an empty stream into a bare sink, default
 * close-on-eos): from 1.22.3 on the channel is closed, so the receiver
 * ends with EOS; on 1.22.0 .. 1.22.2, where closing a channel that sent
 * nothing can deadlock, it is left open. EOS completes either way. */
GST_START_TEST (test_close_on_eos_nothing_sent)
{
  GstWebRTCDataChannel *remote;
  GstElement *appsrc;
  WrtcLoopback *lb;
  gint src_eos = 0;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  appsrc = gst_element_factory_make ("appsrc", NULL);
  a.sink = gst_element_factory_make ("datachannelsink", NULL);
  g_object_set (a.sink, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", TRUE, NULL);
  gst_bin_add_many (GST_BIN (a.pipeline), appsrc, a.sink, NULL);
  fail_unless (gst_element_link (appsrc, a.sink));
  peer_add_receiver (&b, FALSE);
  watch_eos (b.src, "src", &src_eos);
  /* Before the start: the sink prerolls on EOS. */
  fail_unless_equals_int (gst_app_src_end_of_stream (GST_APP_SRC (appsrc)),
      GST_FLOW_OK);
  peers_start (&a, &b, &lb);
  remote = wait_announced (&b);
  expect_sink_eos_no_warning (&a);
  if (close_can_lose_data ()) {
    g_usleep (G_USEC_PER_SEC / 2);
    fail_if (g_atomic_int_get (&src_eos), "the unused channel was closed");
    fail_unless_equals_int (ready_state (remote),
        GST_WEBRTC_DATA_CHANNEL_STATE_OPEN);
  } else {
    wait_src_eos (&src_eos);
    fail_unless_equals_uint64 (stat_of (a.sink, "messages-sent"), 0);
  }
  g_object_unref (remote);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* Holds EOS in front of the sink until released (the test's stand-in for
 * framemux holding EOS until every byte is acknowledged). */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean at_eos, release;
} EosGate;

static GstPadProbeReturn
gate_eos (GstPad * pad, GstPadProbeInfo * info, EosGate * g)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&g->lock);
  g->at_eos = TRUE;
  g_cond_broadcast (&g->cond);
  while (!g->release)
    if (!g_cond_wait_until (&g->cond, &g->lock, deadline))
      break;
  g_mutex_unlock (&g->lock);
  return GST_PAD_PROBE_OK;      /* after WAIT_S at most: the test fails */
}

/* With credit active (a FlowGrant went upstream) the channel is closed on
 * EOS on every version: EOS then means the peer acknowledged everything. */
GST_START_TEST (test_close_on_eos_credit)
{
  const guint64 bytes = 512 * 1024;
  EosGate gate = { 0 };
  WrtcLoopback *lb;
  Catcher catcher;
  GstPad *pad;
  guint8 g[32];
  gsize gn;
  gint src_eos = 0;
  Peer a, b;

  gn = grant (g, sizeof (g));
  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 1, bytes, 4096, TRUE);
  peer_add_receiver (&b, FALSE);
  catcher_init (&catcher, a.sink);
  pad = gst_element_get_static_pad (a.sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) gate_eos, &gate, NULL);
  gst_object_unref (pad);
  watch_eos (b.src, "src", &src_eos);
  peers_start (&a, &b, &lb);

  peer_wait_received (&b, 1, bytes);
  fail_if (g_atomic_int_get (&src_eos));
  fail_unless (send_into_src (b.src, WRTC_EVENT_FEEDBACK, g, gn));
  catcher_expect (&catcher, 0, WRTC_EVENT_FEEDBACK, g, gn);
  wait_flow_control (a.sink);

  g_mutex_lock (&gate.lock);
  gate.release = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);

  expect_sink_eos_no_warning (&a);
  wait_src_eos (&src_eos);
  peer_expect_receiver_eos (&b, 1);
  peer_check_received (&b, 1, bytes, TRUE);
  peers_stop (&a, &b, lb);
  catcher_clear (&catcher);
  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
}

GST_END_TEST;

/* ---------- (d) neither side creates the channel ---------- */

/* Both peers wait for the other to announce the channel. Each pipeline
 * warns once, naming the label and the fix, about 5 s after its elements
 * started waiting (A has a sink and a source waiting: still one warning),
 * and keeps waiting; then both stop cleanly. */
GST_START_TEST (test_nobody_creates)
{
  const gint64 t0 = g_get_monotonic_time ();
  WrtcLoopback *lb;
  GstMessage *msg;
  Peer a, b;
  Peer *peers[2] = { &a, &b };
  guint i;

  peer_init (&a, "peer-a");
  peer_init (&b, "peer-b");
  peer_add_sender (&a, 1, 64 * 1024, 4096, FALSE);
  peer_add_receiver (&a, FALSE);
  peer_add_receiver (&b, FALSE);
  peers_start (&a, &b, &lb);

  for (i = 0; i < 2; i++) {
    gdouble after;
    gchar *text;

    msg = pop_warning (peers[i], ANNOUNCE_WARN_S + WAIT_S);
    after = (g_get_monotonic_time () - t0) / 1e6;
    fail_unless (msg != NULL, "%s: no warning within %d s",
        GST_ELEMENT_NAME (peers[i]->pipeline), 5 + WAIT_S);
    text = warning_text (msg);
    GST_INFO ("%s warned after %.1f s", GST_ELEMENT_NAME
        (peers[i]->pipeline), after);
    fail_unless (strstr (text, "\"" LABEL "\"") != NULL, "%s", text);
    fail_unless (strstr (text, "create-channel=true on one side") != NULL,
        "%s", text);
    fail_unless (after >= ANNOUNCE_WARN_S - 0.5, "warned after %.1f s",
        after);
    g_free (text);
    gst_message_unref (msg);
  }
  /* Only one per channel, though two elements wait on A. */
  msg = pop_warning (&a, 2);
  fail_if (msg != NULL, "a second warning for the same channel");
  fail_if (a.announced || b.announced);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* The same with two frametunnels, neither creating the channel: the
 * elements inside warn, once per side. */
GST_START_TEST (test_nobody_creates_tunnel)
{
  WrtcLoopback *lb;
  GstMessage *msg;
  Peer a, b;
  Peer *peers[2] = { &a, &b };
  guint i;

  peer_init (&a, "peer-a");
  peer_init (&b, "peer-b");
  peer_add_tunnel (&a, FALSE, 0, 0);
  peer_add_tunnel (&b, FALSE, 0, 0);
  peers_start (&a, &b, &lb);
  for (i = 0; i < 2; i++) {
    gchar *text;

    msg = pop_warning (peers[i], ANNOUNCE_WARN_S + WAIT_S);
    fail_unless (msg != NULL, "%s: no warning within %d s",
        GST_ELEMENT_NAME (peers[i]->pipeline), 5 + WAIT_S);
    text = warning_text (msg);
    fail_unless (strstr (text, "\"" LABEL "\"") != NULL, "%s", text);
    fail_unless (strstr (text, "create-channel=true on one side") != NULL,
        "%s", text);
    g_free (text);
    gst_message_unref (msg);
  }
  msg = pop_warning (&a, 1);
  fail_if (msg != NULL, "a second warning for the same channel");
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

/* ---------- (e) the drain ends when the channel goes away ---------- */

static gint drop_incoming;

static GstPadProbeReturn
maybe_drop (GstPad * pad, GstPadProbeInfo * info, gpointer u)
{
  return g_atomic_int_get (&drop_incoming) ? GST_PAD_PROBE_DROP :
      GST_PAD_PROBE_OK;
}

/* Everything B's webrtcbin receives from the network, at will: B then
 * acknowledges nothing and A's SCTP send buffer fills. */
static void
add_drop_probes (GstElement * webrtc)
{
  GstIterator *it = gst_bin_iterate_all_by_element_factory_name (GST_BIN
      (webrtc), "nicesrc");
  GValue v = G_VALUE_INIT;
  guint n = 0;

  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    GstPad *pad = gst_element_get_static_pad (g_value_get_object (&v), "src");

    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_BUFFER_LIST, maybe_drop, NULL, NULL);
    gst_object_unref (pad);
    g_value_unset (&v);
    n++;
  }
  gst_iterator_free (it);
  fail_unless (n > 0, "no nicesrc in %s", GST_ELEMENT_NAME (webrtc));
}

static void
push_pattern (GstElement * appsrc, Source * s, guint64 bytes)
{
  guint64 end = s->sent + bytes;

  while (s->sent < end) {
    gsize size = MIN (s->chunk, end - s->sent);
    GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    pattern_fill (s->conn, s->sent, map.data, size);
    gst_buffer_unmap (buf, &map);
    s->sent += size;
    fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (appsrc),
            buf), GST_FLOW_OK);
  }
}

/* A's sink reaches EOS with data its webrtcbin cannot get rid of (B
 * receives nothing any more, so nothing is acknowledged): the drain waits.
 * Then the peer goes away from the channel (B's application closes it):
 * the drain must end with an error saying so, in bounded time, not wait
 * for ever, and no EOS is posted. */
GST_START_TEST (test_drain_ends_on_close)
{
  Source *s;
  GstElement *mux, *appsrc;
  GstWebRTCDataChannel *remote;
  GstPad *srcpad, *sinkpad;
  gint eos_seen = 0;
  gint64 deadline, t0;
  WrtcLoopback *lb;
  GstMessage *msg;
  Peer a, b;

  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  mux = gst_element_factory_make ("framemux", NULL);
  /* the drain itself is tested: no credit holding EOS back */
  g_object_set (mux, "flow-control", FALSE, NULL);
  appsrc = gst_element_factory_make ("appsrc", NULL);
  a.sink = gst_element_factory_make ("datachannelsink", NULL);
  g_object_set (a.sink, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", TRUE, "close-on-eos", FALSE,
      "buffered-amount-high", (guint64) 16 * 1024 * 1024, NULL);
  gst_bin_add_many (GST_BIN (a.pipeline), appsrc, mux, a.sink, NULL);
  fail_unless (gst_element_link (mux, a.sink));
  sinkpad = gst_element_request_pad_simple (mux, "sink_1");
  srcpad = gst_element_get_static_pad (appsrc, "src");
  fail_unless_equals_int (gst_pad_link (srcpad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref (srcpad);
  gst_object_unref (sinkpad);
  watch_eos (a.sink, "sink", &eos_seen);
  s = &a.sources[0];
  s->conn = 1;
  s->chunk = 65536;
  peer_add_receiver (&b, FALSE);
  /* Before the start: the sink prerolls on the first buffer. */
  push_pattern (appsrc, s, 256 * 1024);
  peers_start (&a, &b, &lb);
  remote = wait_announced (&b);

  peer_wait_received (&b, 1, 256 * 1024);
  add_drop_probes (b.webrtc);

  /* B goes deaf; 4 MiB more (more than usrsctp's 1 MiB send buffer takes,
   * less than buffered-amount-high), then EOS: the drain starts and
   * cannot finish. */
  g_atomic_int_set (&drop_incoming, 1);
  push_pattern (appsrc, s, 4 * 1024 * 1024);
  fail_unless_equals_int (gst_app_src_end_of_stream (GST_APP_SRC (appsrc)),
      GST_FLOW_OK);
  deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  while (!g_atomic_int_get (&eos_seen) && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  fail_unless (g_atomic_int_get (&eos_seen), "EOS never reached the sink");
  g_usleep (G_USEC_PER_SEC);
  fail_unless (stat_of (a.sink, "buffered-amount") > 0,
      "the channel drained although the peer receives nothing");
  msg = pop_error (&a);
  fail_if (msg != NULL, "error before the peer went away");

  t0 = g_get_monotonic_time ();
  gst_webrtc_data_channel_close (remote);
  peer_expect_error (&a, a.sink, "closed");
  GST_INFO ("drain ended %.2f s after the close",
      (g_get_monotonic_time () - t0) / 1e6);

  /* Let A's webrtcbin get rid of its data before it goes down (see
   * peer_wait_drained). */
  g_atomic_int_set (&drop_incoming, 0);
  g_object_unref (remote);
  peers_stop (&a, &b, lb);
}

GST_END_TEST;

static Suite *
webrtc_feedback_suite (void)
{
  Suite *s = suite_create ("webrtc-feedback");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_feedback_one_way);
  tcase_add_test (tc, test_feedback_relay);
  tcase_add_test (tc, test_feedback_tunnel);
  tcase_add_test (tc, test_close_on_eos_no_credit);
  tcase_add_test (tc, test_close_on_eos_credit);
  tcase_add_test (tc, test_close_on_eos_nothing_sent);
  tcase_add_test (tc, test_nobody_creates);
  tcase_add_test (tc, test_nobody_creates_tunnel);
  tcase_add_test (tc, test_drain_ends_on_close);
  return s;
}

GST_CHECK_MAIN (webrtc_feedback);

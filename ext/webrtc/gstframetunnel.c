/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/**
 * SECTION:element-frametunnel
 * @title: frametunnel
 * @see_also: framemux, framedemux, datachannelsink, datachannelsrc
 *
 * frametunnel is one side of a tunnel: many byte streams ("connections")
 * in both directions over one WebRTC data channel. It holds framemux !
 * datachannelsink for what it sends and datachannelsrc ! framedemux for
 * what it receives, both on the same channel (the `webrtcbin` + `label`
 * or `channel` properties, as on datachannelsink).
 *
 * Request a `sink_%u` pad for each outgoing connection and link what it
 * carries; a `src_%u` pad appears for each connection the peer opens.
 * Releasing a sink pad closes its connection (CloseConnection); EOS on it
 * half-closes it (SendEOF). The tunnel itself stays open: framemux runs
 * with forward-eos=false and the channel is not closed on EOS.
 *
 * The datachannelsink and datachannelsrc inside share the channel, so the
 * credit flow-control feedback (docs/wire-format.md) is relayed between
 * them: framedemux's `wrtcframe-feedback` reaches framemux as
 * `wrtcframe-send-control` (sent in-band), its `wrtcframe-peer-feedback`
 * as `wrtcframe-feedback` (enforced).
 *
 * What needs both directions is done here:
 *
 * - Ping is answered with Pong carrying the same data. With
 *   #GstFrameTunnel:ping-interval set, the element pings the peer itself
 *   (8 bytes of its monotonic clock) and measures the round-trip time from
 *   the Pong: `rtt-last`, `rtt-min`, `rtt-mean` in #GstFrameTunnel:stats.
 * - OpenConnection from the peer is answered with ConnectionOpened; the
 *   peer's ConnectionOpened for one of ours emits
 *   #GstFrameTunnel::connection-acknowledged.
 *
 * ## Ending by itself
 *
 * With #GstFrameTunnel:end-when-done the tunnel ends (EOS, so a pipeline
 * ends by itself) once both sides are done: this side is done when every
 * `sink_%u` pad has had EOS, and it then tells the peer so with a
 * TunnelFin control message listing the connections it opened; the peer
 * answers TunnelFinAck once each of them has ended on its side
 * (docs/wire-format.md). When this side has both sent its TunnelFin and
 * received the peer's, and has answered and been answered, framemux
 * forwards EOS after its last message, the data channel drains and the
 * element posts EOS. A side without sink pads is done at once.
 *
 * ## Connection numbers
 *
 * Whichever side opens a connection picks its number. To avoid collisions
 * the two sides use disjoint numbers: the client side (the one that creates
 * the channel, by default) numbers `sink_%u` requests without a number 1,
 * 3, 5, ..., the server side 2, 4, 6, ... (#GstFrameTunnel:role). Connection
 * 1 is therefore the client's first connection, as in the reference
 * implementation's two-connection pattern. A pad requested by name
 * (`sink_7`) gets that number: keeping to the parity is then the
 * application's part.
 *
 * ## Example pipeline
 * |[
 * webrtcbin name=w  videotestsrc is-live=true ! vp8enc ! rtpvp8pay ! t.sink_1 \
 *   frametunnel name=t webrtcbin=w label=tunnel create-channel=true
 * ]| For gst_parse_launch() in an application that does the signalling
 * (webrtcbin needs it; gst-launch-1.0 cannot).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstframetunnel.h"
#include "frame-codec.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdio.h>

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_frame_tunnel_debug);
#define GST_CAT_DEFAULT gst_frame_tunnel_debug

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_WEBRTCBIN,
  PROP_LABEL,
  PROP_CREATE_CHANNEL,
  PROP_ROLE,
  PROP_PING_INTERVAL,
  PROP_END_WHEN_DONE,
  PROP_ANSWER_OPEN,
  PROP_STATS,
};

/* Ending both sides together (end-when-done), codes the reference skips:
 * TunnelFin (u32 count, then that many u32 connection numbers: those this
 * side opened) and TunnelFinAck (no data: all of them ended here). */
#define CONTROL_TUNNEL_FIN 1101
#define CONTROL_TUNNEL_FIN_ACK 1102
#define MAX_FIN_CONNS 65536

enum
{
  SIGNAL_CONNECTION_ACKNOWLEDGED,
  N_SIGNALS
};

static guint tunnel_signals[N_SIGNALS];

struct _GstFrameTunnel
{
  GstBin parent;

  GstElement *mux, *sink, *src, *demux;

  /* Under the object lock. */
  GstFrameTunnelRole role;
  guint ping_interval;          /* ms, 0: off */
  guint32 next_conn;
  GstClockID ping_id;
  guint64 pings_sent, pongs_received, pings_answered;
  GstClockTime rtt_last, rtt_min, rtt_sum;

  /* end-when-done, under the object lock */
  gboolean end_when_done;
  gboolean answer_open;
  gboolean running;             /* between READY->PAUSED and PAUSED->READY */
  guint n_sinks, n_sinks_eos;
  GArray *opened;               /* guint32: our connections with data */
  GHashTable *ended;            /* peer connections that ended here */
  GArray *peer_fin;             /* guint32: the peer's TunnelFin, or NULL */
  gboolean fin_sent, ack_sent, ack_received, finished;
  GstPad *end_pad;              /* framemux pad that ends a tunnel without
                                 * sink pads */
  GMutex end_lock;              /* orders what update_ending () queues */
};

#define SINK_EOS_KEY "frametunnel-eos"
#define SINK_OPENED_KEY "frametunnel-opened"

#define gst_frame_tunnel_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstFrameTunnel, gst_frame_tunnel, GST_TYPE_BIN,
    GST_DEBUG_CATEGORY_INIT (gst_frame_tunnel_debug, "frametunnel", 0,
        "Bidirectional tunnel endpoint on a WebRTC data channel"));
GST_ELEMENT_REGISTER_DEFINE (frametunnel, "frametunnel", GST_RANK_NONE,
    GST_TYPE_FRAME_TUNNEL);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src_%u",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);

GType
gst_frame_tunnel_role_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_FRAME_TUNNEL_ROLE_AUTO, "Client if it creates the channel, else "
          "server", "auto"},
    {GST_FRAME_TUNNEL_ROLE_CLIENT, "Opens odd-numbered connections",
        "client"},
    {GST_FRAME_TUNNEL_ROLE_SERVER, "Opens even-numbered connections",
        "server"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstFrameTunnelRole", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void update_ending (GstFrameTunnel * self);
static void on_peer_fin (GstFrameTunnel * self, const guint8 * p,
    gsize size);

static gboolean
send_control (GstFrameTunnel * self, guint code, const guint8 * data,
    gsize size)
{
  GBytes *bytes = g_bytes_new (data, size);
  gboolean ok = FALSE;

  g_signal_emit_by_name (self->mux, "send-control", code, bytes, &ok);
  g_bytes_unref (bytes);
  if (!ok)
    GST_WARNING_OBJECT (self, "could not queue control message %u", code);
  return ok;
}

static void
record_rtt (GstFrameTunnel * self, GBytes * data)
{
  const guint8 *p;
  gsize size;
  gint64 sent, now = g_get_monotonic_time ();
  GstClockTime rtt;

  /* Only our own pings carry our clock; a peer's Pong to anything else is
   * not a measurement. */
  p = g_bytes_get_data (data, &size);
  if (size != 8)
    return;
  sent = (gint64) GST_READ_UINT64_BE (p);
  if (sent <= 0 || sent > now)
    return;
  rtt = (now - sent) * GST_USECOND;

  GST_OBJECT_LOCK (self);
  self->pongs_received++;
  self->rtt_last = rtt;
  self->rtt_min = self->pongs_received == 1 ? rtt : MIN (self->rtt_min, rtt);
  self->rtt_sum += rtt;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "round trip %" GST_TIME_FORMAT, GST_TIME_ARGS (rtt));
}

/* framedemux's streaming thread. */
static void
on_control_message (GstElement * demux, guint code, GBytes * data,
    GstFrameTunnel * self)
{
  const guint8 *p;
  gsize size;

  p = g_bytes_get_data (data, &size);
  switch (code) {
    case WRTC_CONTROL_PING:
      if (send_control (self, WRTC_CONTROL_PONG, p, size)) {
        GST_OBJECT_LOCK (self);
        self->pings_answered++;
        GST_OBJECT_UNLOCK (self);
      }
      break;
    case WRTC_CONTROL_PONG:
      record_rtt (self, data);
      break;
    case WRTC_CONTROL_OPEN_CONNECTION:{
      gboolean answer;

      GST_OBJECT_LOCK (self);
      answer = self->answer_open;
      GST_OBJECT_UNLOCK (self);
      if (answer && size >= 4)  /* answer with the bare number */
        send_control (self, WRTC_CONTROL_CONNECTION_OPENED, p, 4);
      break;
    }
    case CONTROL_TUNNEL_FIN:
      on_peer_fin (self, p, size);
      break;
    case CONTROL_TUNNEL_FIN_ACK:
      GST_DEBUG_OBJECT (self, "the peer has all our connections");
      GST_OBJECT_LOCK (self);
      self->ack_received = TRUE;
      GST_OBJECT_UNLOCK (self);
      update_ending (self);
      break;
    case WRTC_CONTROL_CONNECTION_OPENED:
      if (size >= 4) {
        guint conn = GST_READ_UINT32_BE (p);

        GST_DEBUG_OBJECT (self, "peer acknowledged connection %u", conn);
        g_signal_emit (self, tunnel_signals[SIGNAL_CONNECTION_ACKNOWLEDGED],
            0, conn);
        gst_element_post_message (GST_ELEMENT (self),
            gst_message_new_element (GST_OBJECT (self),
                gst_structure_new ("frametunnel-connection-acknowledged",
                    "conn", G_TYPE_UINT, conn, NULL)));
      }
      break;
    default:
      break;
  }
}

static gboolean
on_ping_timer (GstClock * clock, GstClockTime time, GstClockID id,
    gpointer user_data)
{
  GstFrameTunnel *self = user_data;
  guint8 stamp[8];

  GST_WRITE_UINT64_BE (stamp, (guint64) g_get_monotonic_time ());
  if (send_control (self, WRTC_CONTROL_PING, stamp, sizeof (stamp))) {
    GST_OBJECT_LOCK (self);
    self->pings_sent++;
    GST_OBJECT_UNLOCK (self);
  }
  return TRUE;
}

static void
start_pinging (GstFrameTunnel * self)
{
  GstClock *clock = gst_system_clock_obtain ();
  GstClockID id = NULL;

  GST_OBJECT_LOCK (self);
  if (self->ping_interval > 0 && !self->ping_id) {
    GstClockTime interval = self->ping_interval * GST_MSECOND;

    id = self->ping_id = gst_clock_new_periodic_id (clock,
        gst_clock_get_time (clock) + interval, interval);
  }
  GST_OBJECT_UNLOCK (self);
  /* The callback runs on the clock's thread and only queues a message. */
  if (id)
    gst_clock_id_wait_async (id, on_ping_timer, gst_object_ref (self),
        (GDestroyNotify) gst_object_unref);
  gst_object_unref (clock);
}

static void
stop_pinging (GstFrameTunnel * self)
{
  GstClockID id;

  GST_OBJECT_LOCK (self);
  id = self->ping_id;
  self->ping_id = NULL;
  GST_OBJECT_UNLOCK (self);
  if (id) {
    gst_clock_id_unschedule (id);
    gst_clock_id_unref (id);
  }
}

/* ---- end-when-done ---- */

static void
finish (GstFrameTunnel * self)
{
  GstPad *pad = NULL;

  GST_INFO_OBJECT (self, "both sides are done: ending the tunnel");
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new_empty ("frametunnel-done")));
  g_object_set (self->mux, "forward-eos", TRUE, NULL);
  /* framemux forwards EOS once it has pads and all of them are EOS */
  GST_OBJECT_LOCK (self->mux);
  if (GST_ELEMENT (self->mux)->numsinkpads == 0) {
    GST_OBJECT_UNLOCK (self->mux);
    pad = gst_element_request_pad_simple (self->mux, "sink_%u");
  } else {
    GST_OBJECT_UNLOCK (self->mux);
  }
  if (pad) {
    gst_pad_send_event (pad, gst_event_new_stream_start ("frametunnel-end"));
    gst_pad_send_event (pad, gst_event_new_eos ());
    GST_OBJECT_LOCK (self);
    self->end_pad = pad;
    GST_OBJECT_UNLOCK (self);
  }
}

/* After anything the ending depends on changed; any thread. end_lock keeps
 * TunnelFin and TunnelFinAck queued in this order, and both before the
 * final EOS (finished is set once, under it). */
static void
update_ending (GstFrameTunnel * self)
{
  GArray *fin = NULL;
  gboolean ack = FALSE, done = FALSE;
  guint i;

  g_mutex_lock (&self->end_lock);
  GST_OBJECT_LOCK (self);
  if (!self->end_when_done || !self->running || self->finished) {
    GST_OBJECT_UNLOCK (self);
    g_mutex_unlock (&self->end_lock);
    return;
  }
  if (!self->fin_sent && self->n_sinks_eos == self->n_sinks) {
    self->fin_sent = TRUE;
    fin = g_array_copy (self->opened);
  }
  if (self->peer_fin && !self->ack_sent) {
    ack = TRUE;
    for (i = 0; i < self->peer_fin->len; i++)
      if (!g_hash_table_contains (self->ended, GUINT_TO_POINTER
              (g_array_index (self->peer_fin, guint32, i))))
        ack = FALSE;
    self->ack_sent = ack;
  }
  if (self->fin_sent && self->ack_sent && self->ack_received)
    self->finished = done = TRUE;
  GST_OBJECT_UNLOCK (self);

  if (fin) {
    gsize size = 4 + 4 * (gsize) fin->len;
    guint8 *data = g_malloc (size);

    GST_DEBUG_OBJECT (self, "all sink pads are EOS: TunnelFin, %u "
        "connections", fin->len);
    GST_WRITE_UINT32_BE (data, fin->len);
    for (i = 0; i < fin->len; i++)
      GST_WRITE_UINT32_BE (data + 4 + 4 * i, g_array_index (fin, guint32, i));
    send_control (self, CONTROL_TUNNEL_FIN, data, size);
    g_free (data);
    g_array_unref (fin);
  }
  if (ack) {
    GST_DEBUG_OBJECT (self, "every connection of the peer ended here");
    send_control (self, CONTROL_TUNNEL_FIN_ACK, NULL, 0);
  }
  g_mutex_unlock (&self->end_lock);
  /* once, and after every message above is queued */
  if (done)
    finish (self);
}

static void
on_peer_fin (GstFrameTunnel * self, const guint8 * p, gsize size)
{
  guint32 n = size >= 4 ? GST_READ_UINT32_BE (p) : 0;
  GArray *conns;
  guint i;

  if (size < 4 || n > MAX_FIN_CONNS || size != 4 + 4 * (gsize) n) {
    GST_ELEMENT_WARNING (self, STREAM, DEMUX, ("Malformed TunnelFin from "
            "the peer ignored."), ("%" G_GSIZE_FORMAT " bytes", size));
    return;
  }
  conns = g_array_sized_new (FALSE, FALSE, sizeof (guint32), n);
  for (i = 0; i < n; i++) {
    guint32 conn = GST_READ_UINT32_BE (p + 4 + 4 * i);

    g_array_append_val (conns, conn);
  }
  GST_DEBUG_OBJECT (self, "peer is done after %u connections", n);
  GST_OBJECT_LOCK (self);
  if (self->peer_fin)
    g_array_unref (self->peer_fin);
  self->peer_fin = conns;
  GST_OBJECT_UNLOCK (self);
  update_ending (self);
}

static guint
pad_conn (GstPad * pad)
{
  guint conn = 0;

  sscanf (GST_PAD_NAME (pad), "%*[a-z]_%u", &conn);
  return conn;
}

/* First buffer on a sink pad: framemux opens the connection. */
static GstPadProbeReturn
on_sink_data (GstPad * pad, GstPadProbeInfo * info, GstFrameTunnel * self)
{
  guint32 conn = pad_conn (pad);

  GST_OBJECT_LOCK (self);
  if (!g_object_get_data (G_OBJECT (pad), SINK_OPENED_KEY)) {
    g_object_set_data (G_OBJECT (pad), SINK_OPENED_KEY, GINT_TO_POINTER (1));
    g_array_append_val (self->opened, conn);
  }
  GST_OBJECT_UNLOCK (self);
  return GST_PAD_PROBE_REMOVE;
}

static GstPadProbeReturn
on_sink_event (GstPad * pad, GstPadProbeInfo * info, GstFrameTunnel * self)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  gboolean eos = FALSE;

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS)
    on_sink_data (pad, info, self);
  if (GST_EVENT_TYPE (event) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  GST_OBJECT_LOCK (self);
  if (!g_object_get_data (G_OBJECT (pad), SINK_EOS_KEY)) {
    g_object_set_data (G_OBJECT (pad), SINK_EOS_KEY, GINT_TO_POINTER (1));
    self->n_sinks_eos++;
    eos = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (eos)
    update_ending (self);
  return GST_PAD_PROBE_OK;
}

static void
watch_sink_pad (GstFrameTunnel * self, GstPad * pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) on_sink_event, self, NULL);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, (GstPadProbeCallback) on_sink_data,
      self, NULL);
}

static void
peer_conn_ended (GstFrameTunnel * self, GstPad * pad)
{
  GST_OBJECT_LOCK (self);
  g_hash_table_add (self->ended, GUINT_TO_POINTER (pad_conn (pad)));
  GST_OBJECT_UNLOCK (self);
  update_ending (self);
}

static GstPadProbeReturn
on_src_event (GstPad * pad, GstPadProbeInfo * info, GstFrameTunnel * self)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    peer_conn_ended (self, pad);
  return GST_PAD_PROBE_OK;
}

/* READY->PAUSED: a new run of the tunnel. */
static void
reset_ending (GstFrameTunnel * self)
{
  GList *l;

  GST_OBJECT_LOCK (self);
  self->running = TRUE;
  self->fin_sent = self->ack_sent = self->ack_received = FALSE;
  self->finished = FALSE;
  g_array_set_size (self->opened, 0);
  g_hash_table_remove_all (self->ended);
  g_clear_pointer (&self->peer_fin, g_array_unref);
  self->n_sinks_eos = 0;
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next) {
    GstPad *pad = l->data;

    g_object_set_data (G_OBJECT (pad), SINK_EOS_KEY, NULL);
    if (g_object_get_data (G_OBJECT (pad), SINK_OPENED_KEY)) {
      g_object_set_data (G_OBJECT (pad), SINK_OPENED_KEY, NULL);
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
          GST_PAD_PROBE_TYPE_BUFFER_LIST, (GstPadProbeCallback) on_sink_data,
          self, NULL);
    }
  }
  GST_OBJECT_UNLOCK (self);
}

static void
stop_ending (GstFrameTunnel * self)
{
  GstPad *pad;

  GST_OBJECT_LOCK (self);
  self->running = FALSE;
  pad = self->end_pad;
  self->end_pad = NULL;
  GST_OBJECT_UNLOCK (self);
  if (pad) {
    gst_element_release_request_pad (self->mux, pad);
    gst_object_unref (pad);
  }
  g_object_set (self->mux, "forward-eos", FALSE, NULL);
}

void
gst_frame_tunnel_get_ending (GstFrameTunnel * self,
    GstFrameTunnelEnding * ending)
{
  GST_OBJECT_LOCK (self);
  ending->sink_pads = self->n_sinks;
  ending->sink_pads_eos = self->n_sinks_eos;
  ending->fin_sent = self->fin_sent;
  ending->fin_received = self->peer_fin != NULL;
  ending->fin_ack_sent = self->ack_sent;
  ending->fin_ack_received = self->ack_received;
  GST_OBJECT_UNLOCK (self);
}

static gboolean
is_client (GstFrameTunnel * self)
{
  gboolean create = FALSE;

  if (self->role != GST_FRAME_TUNNEL_ROLE_AUTO)
    return self->role == GST_FRAME_TUNNEL_ROLE_CLIENT;
  g_object_get (self->sink, "create-channel", &create, NULL);
  return create;
}

static GstPad *
gst_frame_tunnel_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstFrameTunnel *self = GST_FRAME_TUNNEL (element);
  GstPad *target, *ghost;
  gchar *pad_name;
  guint conn;

  if (name && sscanf (name, "sink_%u", &conn) == 1 && conn > 0) {
    pad_name = g_strdup (name);
  } else {
    gboolean client = is_client (self);

    /* The next free number of this side's parity. */
    GST_OBJECT_LOCK (self);
    if (self->next_conn == 0 || (self->next_conn & 1) != (guint) client)
      self->next_conn = client ? 1 : 2;
    for (;;) {
      pad_name = g_strdup_printf ("sink_%u", self->next_conn);
      self->next_conn += 2;
      target = gst_element_get_static_pad (self->mux, pad_name);
      if (!target)
        break;
      gst_object_unref (target);
      g_free (pad_name);
    }
    GST_OBJECT_UNLOCK (self);
  }

  target = gst_element_request_pad_simple (self->mux, pad_name);
  if (!target) {
    GST_WARNING_OBJECT (self, "framemux refused %s", pad_name);
    g_free (pad_name);
    return NULL;
  }
  ghost = gst_ghost_pad_new_from_template (pad_name, target, templ);
  gst_object_unref (target);
  g_free (pad_name);
  watch_sink_pad (self, ghost);
  GST_OBJECT_LOCK (self);
  self->n_sinks++;
  GST_OBJECT_UNLOCK (self);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (element, ghost);
  return ghost;
}

static void
gst_frame_tunnel_release_pad (GstElement * element, GstPad * pad)
{
  GstFrameTunnel *self = GST_FRAME_TUNNEL (element);
  GstPad *target = gst_ghost_pad_get_target (GST_GHOST_PAD (pad));

  GST_OBJECT_LOCK (self);
  self->n_sinks--;
  if (g_object_get_data (G_OBJECT (pad), SINK_EOS_KEY))
    self->n_sinks_eos--;
  GST_OBJECT_UNLOCK (self);
  gst_element_remove_pad (element, pad);
  if (target) {
    /* framemux sends CloseConnection once the pad's data is out. */
    gst_element_release_request_pad (self->mux, target);
    gst_object_unref (target);
  }
  update_ending (self);
}

static void
on_demux_pad_added (GstElement * demux, GstPad * pad, GstFrameTunnel * self)
{
  GstPadTemplate *templ =
      gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self),
      "src_%u");
  GstPad *ghost;

  ghost = gst_ghost_pad_new_from_template (GST_PAD_NAME (pad), pad, templ);
  gst_pad_add_probe (ghost, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) on_src_event, self, NULL);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

static void
on_demux_pad_removed (GstElement * demux, GstPad * pad, GstFrameTunnel * self)
{
  GstPad *ghost = gst_element_get_static_pad (GST_ELEMENT (self),
      GST_PAD_NAME (pad));

  peer_conn_ended (self, pad);
  if (ghost) {
    gst_pad_set_active (ghost, FALSE);
    gst_element_remove_pad (GST_ELEMENT (self), ghost);
    gst_object_unref (ghost);
  }
}

static GstStateChangeReturn
gst_frame_tunnel_change_state (GstElement * element, GstStateChange transition)
{
  GstFrameTunnel *self = GST_FRAME_TUNNEL (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    stop_pinging (self);
    /* framedemux removes its pads now: that is no ending */
    GST_OBJECT_LOCK (self);
    self->running = FALSE;
    GST_OBJECT_UNLOCK (self);
  }
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    reset_ending (self);

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
          ret == GST_STATE_CHANGE_FAILURE))
    stop_ending (self);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && ret != GST_STATE_CHANGE_FAILURE) {
    GST_OBJECT_LOCK (self);
    self->pings_sent = self->pongs_received = self->pings_answered = 0;
    self->rtt_last = self->rtt_min = self->rtt_sum = 0;
    GST_OBJECT_UNLOCK (self);
    start_pinging (self);
    /* a side without sink pads is done at once */
    update_ending (self);
  }
  return ret;
}

static GstStructure *
child_stats (GstElement * child)
{
  GstStructure *s = NULL;

  g_object_get (child, "stats", &s, NULL);
  return s;
}

static GstStructure *
gst_frame_tunnel_get_stats (GstFrameTunnel * self)
{
  GstStructure *s, *mux, *demux, *sink, *src;

  mux = child_stats (self->mux);
  demux = child_stats (self->demux);
  sink = child_stats (self->sink);
  src = child_stats (self->src);
  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-frametunnel-stats",
      "pings-sent", G_TYPE_UINT64, self->pings_sent,
      "pongs-received", G_TYPE_UINT64, self->pongs_received,
      "pings-answered", G_TYPE_UINT64, self->pings_answered,
      "rtt-last", G_TYPE_UINT64, self->rtt_last,
      "rtt-min", G_TYPE_UINT64, self->rtt_min,
      "rtt-mean", G_TYPE_UINT64, self->pongs_received ?
      self->rtt_sum / self->pongs_received : (guint64) 0,
      "fin-sent", G_TYPE_BOOLEAN, self->fin_sent,
      "fin-received", G_TYPE_BOOLEAN, self->peer_fin != NULL,
      "fin-ack-sent", G_TYPE_BOOLEAN, self->ack_sent,
      "fin-ack-received", G_TYPE_BOOLEAN, self->ack_received,
      "finished", G_TYPE_BOOLEAN, self->finished,
      "sink-pads", G_TYPE_UINT, self->n_sinks,
      "sink-pads-eos", G_TYPE_UINT, self->n_sinks_eos, NULL);
  GST_OBJECT_UNLOCK (self);
  gst_structure_set (s, "framemux", GST_TYPE_STRUCTURE, mux,
      "framedemux", GST_TYPE_STRUCTURE, demux,
      "datachannelsink", GST_TYPE_STRUCTURE, sink,
      "datachannelsrc", GST_TYPE_STRUCTURE, src, NULL);
  gst_structure_free (mux);
  gst_structure_free (demux);
  gst_structure_free (sink);
  gst_structure_free (src);
  return s;
}

static void
gst_frame_tunnel_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFrameTunnel *self = GST_FRAME_TUNNEL (object);

  switch (prop_id) {
    case PROP_CHANNEL:
    case PROP_WEBRTCBIN:
    case PROP_LABEL:
      /* Both directions use the same channel. */
      g_object_set_property (G_OBJECT (self->sink), pspec->name, value);
      g_object_set_property (G_OBJECT (self->src), pspec->name, value);
      break;
    case PROP_CREATE_CHANNEL:
      /* The sink creates it; the source shares it. */
      g_object_set_property (G_OBJECT (self->sink), pspec->name, value);
      break;
    case PROP_ROLE:
      GST_OBJECT_LOCK (self);
      self->role = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PING_INTERVAL:
      GST_OBJECT_LOCK (self);
      self->ping_interval = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_END_WHEN_DONE:
      GST_OBJECT_LOCK (self);
      self->end_when_done = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ANSWER_OPEN:
      GST_OBJECT_LOCK (self);
      self->answer_open = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_tunnel_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFrameTunnel *self = GST_FRAME_TUNNEL (object);

  switch (prop_id) {
    case PROP_CHANNEL:
    case PROP_WEBRTCBIN:
    case PROP_LABEL:
    case PROP_CREATE_CHANNEL:
      g_object_get_property (G_OBJECT (self->sink), pspec->name, value);
      break;
    case PROP_ROLE:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->role);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PING_INTERVAL:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->ping_interval);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_END_WHEN_DONE:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->end_when_done);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ANSWER_OPEN:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->answer_open);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_frame_tunnel_get_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_tunnel_finalize (GObject * object)
{
  GstFrameTunnel *self = GST_FRAME_TUNNEL (object);

  g_array_unref (self->opened);
  g_hash_table_unref (self->ended);
  if (self->peer_fin)
    g_array_unref (self->peer_fin);
  g_mutex_clear (&self->end_lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_frame_tunnel_class_init (GstFrameTunnelClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_frame_tunnel_set_property;
  gobject_class->get_property = gst_frame_tunnel_get_property;
  gobject_class->finalize = gst_frame_tunnel_finalize;

  g_object_class_install_property (gobject_class, PROP_CHANNEL,
      g_param_spec_object ("channel", "Channel", "The data channel to use "
          "in both directions (for applications); when set, \"webrtcbin\" "
          "is ignored", GST_TYPE_WEBRTC_DATA_CHANNEL, flags));
  g_object_class_install_property (gobject_class, PROP_WEBRTCBIN,
      g_param_spec_string ("webrtcbin", "webrtcbin", "Name of a webrtcbin in "
          "the same pipeline whose data channel \"label\" carries the "
          "tunnel", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_LABEL,
      g_param_spec_string ("label", "Label", "Label of the data channel on "
          "\"webrtcbin\"", "wrtcframe", flags));
  g_object_class_install_property (gobject_class, PROP_CREATE_CHANNEL,
      g_param_spec_boolean ("create-channel", "Create channel", "Create the "
          "channel (one side of the tunnel does, before the offer); FALSE: "
          "wait for the peer to announce it", FALSE, flags));
  g_object_class_install_property (gobject_class, PROP_ROLE,
      g_param_spec_enum ("role", "Role", "Which connection numbers this "
          "side gives to sink_%u requests without a number: client 1, 3, "
          "5, ...; server 2, 4, 6, ...; auto: client if create-channel",
          GST_TYPE_FRAME_TUNNEL_ROLE, GST_FRAME_TUNNEL_ROLE_AUTO, flags));
  g_object_class_install_property (gobject_class, PROP_PING_INTERVAL,
      g_param_spec_uint ("ping-interval", "Ping interval", "Send a Ping "
          "every this many milliseconds and measure the round trip from the "
          "Pong (0: never)", 0, G_MAXUINT, 0, flags));
  g_object_class_install_property (gobject_class, PROP_END_WHEN_DONE,
      g_param_spec_boolean ("end-when-done", "End when done", "Post EOS "
          "once every sink pad of both sides had EOS and the peer has all "
          "the data (TunnelFin / TunnelFinAck; a peer must do the same): "
          "a pipeline of finite inputs then ends by itself", FALSE, flags));
  g_object_class_install_property (gobject_class, PROP_ANSWER_OPEN,
      g_param_spec_boolean ("answer-open", "Answer open", "Answer the "
          "peer's OpenConnection with ConnectionOpened at once; FALSE leaves "
          "that to the application (framemux's send-control), e.g. after it "
          "connected the connection's target", TRUE, flags));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Pings sent, pongs "
          "received, pings answered, round-trip time (last, min, mean, ns), "
          "the end-when-done state and the statistics of the four elements "
          "inside",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameTunnel::connection-acknowledged:
   * @frametunnel: the element
   * @conn: the connection number
   *
   * The peer answered this side's OpenConnection for @conn with
   * ConnectionOpened. Emitted from the receiving streaming thread; also
   * posted as an element message `frametunnel-connection-acknowledged`.
   */
  tunnel_signals[SIGNAL_CONNECTION_ACKNOWLEDGED] =
      g_signal_new ("connection-acknowledged", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "WebRTC tunnel endpoint", "Generic/Bin/Network/WebRTC",
      "One side of a bidirectional tunnel of many byte streams over a "
      "webrtcbin data channel", "gst-wrtcframe authors");

  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_frame_tunnel_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_frame_tunnel_release_pad);
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_frame_tunnel_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_FRAME_TUNNEL_ROLE, 0);
}

static GstElement *
make_child (GstFrameTunnel * self, const gchar * factory)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (!e) {
    /* Without its parts the bin cannot work: say which is missing. */
    g_critical ("frametunnel: element \"%s\" is not available", factory);
    return NULL;
  }
  gst_bin_add (GST_BIN (self), e);
  return e;
}

static void
gst_frame_tunnel_init (GstFrameTunnel * self)
{
  self->answer_open = TRUE;
  self->opened = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->ended = g_hash_table_new (NULL, NULL);
  g_mutex_init (&self->end_lock);

  self->mux = make_child (self, "framemux");
  self->sink = make_child (self, "datachannelsink");
  self->src = make_child (self, "datachannelsrc");
  self->demux = make_child (self, "framedemux");
  g_return_if_fail (self->mux && self->sink && self->src && self->demux);

  /* A tunnel outlives its connections: EOS on every sink pad ends those
   * connections (SendEOF), not the tunnel. */
  g_object_set (self->mux, "forward-eos", FALSE, NULL);
  g_object_set (self->sink, "close-on-eos", FALSE, NULL);
  gst_element_link (self->mux, self->sink);
  gst_element_link (self->src, self->demux);

  g_signal_connect (self->demux, "control-message",
      G_CALLBACK (on_control_message), self);
  g_signal_connect (self->demux, "pad-added",
      G_CALLBACK (on_demux_pad_added), self);
  g_signal_connect (self->demux, "pad-removed",
      G_CALLBACK (on_demux_pad_removed), self);
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/**
 * SECTION:element-datachannelsink
 * @title: datachannelsink
 * @see_also: datachannelsrc, framemux, webrtcbin
 *
 * datachannelsink sends its input over a WebRTC data channel of a
 * webrtcbin: each buffer becomes one message, and a buffer above
 * #GstDataChannelSink:max-message-size (webrtcbin 1.22 accepts at most
 * 65536 bytes per message) is split into consecutive messages, never
 * dropped.
 *
 * ## Which channel
 *
 * Applications can hand over a channel object with the `channel` property.
 * Otherwise `webrtcbin` names a webrtcbin in the same pipeline and `label`
 * the channel: with `create-channel=true` the element creates it (when the
 * element goes to READY->PAUSED, so before the pipeline's first offer if it
 * is created after that), else it takes the channel of that label the peer
 * announces (webrtcbin's `on-data-channel`). A datachannelsrc on the same
 * webrtcbin and label shares the same channel, so one channel carries a
 * tunnel in both directions. Channels created here use the options
 * `ordered`, `max-retransmits`, `max-packet-lifetime`, `negotiated`, `id`
 * and `protocol`. A byte stream such as framemux's needs an ordered,
 * reliable channel: any other channel is refused with an error unless
 * `message-aligned=true`.
 *
 * Rendering waits until the channel is open; every wait ends at once on a
 * flush or when the element leaves PAUSED.
 *
 * ## Backpressure
 *
 * While the channel's buffered-amount is above
 * #GstDataChannelSink:buffered-amount-high, rendering blocks on a
 * condition that the channel's `on-buffered-amount-low` signal (threshold
 * #GstDataChannelSink:buffered-amount-low) wakes: upstream is paced by the
 * channel itself, with no polling, sleeping or timers. The peak
 * buffered-amount therefore stays below buffered-amount-high plus one
 * message. After each such wait the element sends the custom upstream
 * event `wrtc-backpressure`, on which framemux packs the frames that follow
 * into full messages.
 *
 * ## Flow-control feedback
 *
 * With credit flow control (docs/wire-format.md) the element sends two
 * custom upstream events to the framemux in front of it (fields `code`,
 * the u16 control code, and `data`, a GBytes): `wrtcframe-feedback`, the
 * peer's FlowGrant, FlowCredit or CloseConnection about the stream sent
 * here, and `wrtcframe-send-control`, a message framemux is to send in its
 * stream. With a datachannelsrc on the same channel (same webrtcbin and
 * label, or the same channel object; frametunnel) both come from that
 * source, which relays its framedemux's `wrtcframe-peer-feedback` and
 * `wrtcframe-feedback`. Without one, the element reads the channel's
 * incoming messages itself (the peer's datachannelsrc sends whole control
 * frames) and sends FlowGrant, FlowCredit and CloseConnection upstream as
 * `wrtcframe-feedback`. Credit is active once a FlowGrant was taken
 * upstream (`flow-control` in the statistics).
 *
 * ## End of stream
 *
 * On EOS the element waits until buffered-amount is back to 0, so nothing
 * queued is lost, and then (#GstDataChannelSink:close-on-eos) closes the
 * channel before posting EOS. On GStreamer 1.22.0 to 1.22.2, where closing
 * can lose the last messages, it closes only with credit active (framemux
 * then sends EOS once everything was acknowledged); otherwise it leaves
 * the channel open, posts one warning and completes EOS. There, a channel
 * that never sent anything is left alone too (closing it can deadlock);
 * from 1.22.3 on EOS waits for it to open, as a buffer would, and closes
 * it, so the peer sees the (empty) stream end. A channel closed
 * by the peer, or failing, or a failed connection, ends rendering and the
 * drain with an error that says so. A channel awaited from the peer that
 * has not come after 5 s makes the element warn once (set
 * create-channel=true on one side); it keeps waiting.
 *
 * ## Statistics
 *
 * The #GstDataChannelSink:stats structure `application/x-datachannelsink-stats`
 * has `messages-sent`, `bytes-sent` (guint64), `times-blocked` (guint64,
 * waits for the channel to drain), `time-blocked` (guint64 ns),
 * `cpu-time-blocked` (guint64 ns of the streaming thread's CPU time spent
 * in those waits: near zero, as nothing polls), `peak-buffered-amount`
 * (guint64 bytes), `buffered-amount` (guint64, now), `flow-control`
 * (boolean, credit active), `feedback-read`, `feedback-relayed` and
 * `controls-relayed` (guint64, events sent upstream).
 *
 * ## Example pipeline
 * |[
 * webrtcbin name=w  filesrc location=in.bin ! m.sink_1 \
 *   framemux name=m ! datachannelsink webrtcbin=w label=tunnel create-channel=true
 * ]| The sending side of a tunnel, for gst_parse_launch() in an application:
 * webrtcbin needs signalling (offer, answer, ICE candidates), which
 * gst-launch-1.0 cannot do. examples/wrtcframe-demo.c is a complete program
 * with two peers.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdatachannelsink.h"
#include "datachannel-link.h"
#include "frame-codec.h"
#include "wrtcframe-events.h"

#include <time.h>

GST_DEBUG_CATEGORY_STATIC (gst_data_channel_sink_debug);
#define GST_CAT_DEFAULT gst_data_channel_sink_debug

#define DEFAULT_MAX_MESSAGE_SIZE 65536
#define DEFAULT_HIGH (1024 * 1024)
#define DEFAULT_LOW (256 * 1024)
#define DEFAULT_CLOSE_ON_EOS TRUE

enum
{
  PROP_0,
  PROP_CHANNEL_FIRST,
  PROP_MAX_MESSAGE_SIZE = PROP_CHANNEL_FIRST + WRTC_CHANNEL_N_PROPS,
  PROP_HIGH,
  PROP_LOW,
  PROP_CLOSE_ON_EOS,
  PROP_STATS,
};

struct _GstDataChannelSink
{
  GstBaseSink parent;

  /* Properties, under the object lock. */
  WrtcChannelSettings settings;
  guint max_message_size;
  guint64 high;
  guint64 low;
  gboolean close_on_eos;

  /* Between start and stop; the pointer under the object lock. */
  WrtcChannelLink *link;
  gboolean opened;              /* streaming thread only */

  /* Statistics, under the object lock. */
  guint64 messages_sent;
  guint64 bytes_sent;
  guint64 times_blocked;
  guint64 time_blocked;
  guint64 cpu_time_blocked;
  guint64 peak_buffered;

  /* Flow-control feedback, under the object lock (also written from
   * webrtcbin's pc thread and from datachannelsrc's callers). */
  gboolean flow_control;        /* a FlowGrant went upstream (accepted) */
  guint64 feedback_read;        /* read from the channel by this element */
  guint64 feedback_relayed;     /* handed over by the datachannelsrc */
  guint64 controls_relayed;     /* WRTC_EVENT_SEND_CONTROL pushed */
  gboolean malformed_warned;
  gboolean close_warned;        /* lifetime of the element */
};

#define gst_data_channel_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstDataChannelSink, gst_data_channel_sink,
    GST_TYPE_BASE_SINK, GST_DEBUG_CATEGORY_INIT (gst_data_channel_sink_debug,
        "datachannelsink", 0, "WebRTC data channel sink"));
GST_ELEMENT_REGISTER_DEFINE (datachannelsink, "datachannelsink",
    GST_RANK_NONE, GST_TYPE_DATA_CHANNEL_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static guint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * GST_SECOND + ts.tv_nsec;
}

static guint64
buffered_amount (GstWebRTCDataChannel * channel)
{
  guint64 amount;

  g_object_get (channel, "buffered-amount", &amount, NULL);
  return amount;
}

/* Blocks while the channel holds more than @limit bytes. The low-signal
 * count is read before the amount, so a signal that fires in between makes
 * the wait return at once instead of being lost. */
static GstFlowReturn
wait_buffered_at_most (GstDataChannelSink * self, guint64 limit)
{
  WrtcChannelLink *link = self->link;
  GstFlowReturn ret = GST_FLOW_OK;

  for (;;) {
    guint64 count, amount, t0, cpu0;

    g_mutex_lock (&link->lock);
    count = link->low_count;
    g_mutex_unlock (&link->lock);

    amount = buffered_amount (link->channel);
    if (amount <= limit)
      return GST_FLOW_OK;

    GST_LOG_OBJECT (self, "buffered-amount %" G_GUINT64_FORMAT " > %"
        G_GUINT64_FORMAT ": waiting", amount, limit);
    t0 = g_get_monotonic_time ();
    cpu0 = thread_cpu_ns ();
    g_mutex_lock (&link->lock);
    while (link->low_count == count && !link->flushing && !link->closed
        && !link->error)
      g_cond_wait (&link->cond, &link->lock);
    if (link->flushing)
      ret = GST_FLOW_FLUSHING;
    else if (link->closed || link->error)
      ret = GST_FLOW_ERROR;
    g_mutex_unlock (&link->lock);

    GST_OBJECT_LOCK (self);
    self->times_blocked++;
    self->time_blocked += (g_get_monotonic_time () - t0) * GST_USECOND;
    self->cpu_time_blocked += thread_cpu_ns () - cpu0;
    GST_OBJECT_UNLOCK (self);
    if (ret != GST_FLOW_OK)
      return ret;
    /* Tell upstream it is being paced: framemux then packs the frames that
     * follow into full messages instead of one message each. Sent after
     * the wait, as a wait can outlast framemux's hold time. */
    if (limit > 0)
      gst_pad_push_event (GST_BASE_SINK_PAD (self),
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new_empty ("wrtc-backpressure")));
  }
}

/* GstBaseSink unlocks a blocked render (and a serialized event) not only
 * to flush or stop but also on PLAYING->PAUSED. Returning FLUSHING then
 * would stop upstream for good, and the next PAUSED could never preroll:
 * wait in preroll instead and carry on once PLAYING again. A real flush or
 * READY makes the preroll wait return FLUSHING. With the PREROLL_LOCK
 * held, as in render and serialized events. */
static GstFlowReturn
wait_buffered_playing (GstDataChannelSink * self, guint64 limit)
{
  GstFlowReturn ret;

  while ((ret = wait_buffered_at_most (self, limit)) == GST_FLOW_FLUSHING) {
    GST_DEBUG_OBJECT (self, "unlocked while waiting: waiting in preroll");
    ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
    if (ret != GST_FLOW_OK)
      break;
  }
  return ret;
}

static GstFlowReturn
post_channel_gone (GstDataChannelSink * self)
{
  WrtcChannelLink *link = self->link;
  gchar *why;

  g_mutex_lock (&link->lock);
  why = link->error ? g_strdup_printf ("Data channel failed: %s",
      link->error->message) : g_strdup ("Data channel was closed by the "
      "peer (or webrtcbin) while data was still being sent");
  g_mutex_unlock (&link->lock);
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("%s", why), (NULL));
  g_free (why);
  return GST_FLOW_ERROR;
}

static GstFlowReturn
ensure_open (GstDataChannelSink * self)
{
  GError *error = NULL;
  GstFlowReturn ret;
  gboolean aligned;
  guint64 low;

  if (G_LIKELY (self->opened))
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  aligned = self->settings.message_aligned;
  low = self->low;
  GST_OBJECT_UNLOCK (self);

  GST_DEBUG_OBJECT (self, "waiting for the data channel to open");
  while ((ret = wrtc_channel_link_wait_open (self->link, !aligned,
              &error)) == GST_FLOW_FLUSHING) {
    /* as in wait_buffered_playing () */
    ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
    if (ret != GST_FLOW_OK)
      break;
  }
  if (ret == GST_FLOW_ERROR) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("%s", error->message),
        (NULL));
    g_error_free (error);
  }
  if (ret != GST_FLOW_OK)
    return ret;

  g_object_set (self->link->channel, "buffered-amount-low-threshold", low,
      NULL);
  GST_DEBUG_OBJECT (self, "data channel open");
  self->opened = TRUE;
  /* Each message costs tens of us (SCTP, DTLS, a datagram) even when the
   * channel never fills: ask framemux to pack frames for good, not only
   * after a wait. */
  gst_pad_push_event (GST_BASE_SINK_PAD (self),
      gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
          gst_structure_new ("wrtc-backpressure", "persistent",
              G_TYPE_BOOLEAN, TRUE, NULL)));
  return GST_FLOW_OK;
}

/* --- flow-control feedback (docs/wire-format.md, "Credit flow control") ---
 *
 * Upstream event pushes are not serialized and do not wait for the
 * streaming thread, so these run from any thread: datachannelsrc's callers
 * (relay) and webrtcbin's pc thread (the reader below). */

static gboolean
push_control_event (GstDataChannelSink * self, const gchar * name,
    const guint8 * payload, gsize size, gboolean read_here)
{
  guint code = payload[0] << 8 | payload[1];
  gboolean is_feedback = g_str_equal (name, WRTC_EVENT_FEEDBACK);
  gboolean ok;

  ok = gst_pad_push_event (GST_BASE_SINK_PAD (self),
      wrtc_control_event_new (name, payload, size));
  GST_DEBUG_OBJECT (self, "%s %s (%u, %" G_GSIZE_FORMAT " bytes) upstream: "
      "%s", read_here ? "read" : "relayed", name, code, size,
      ok ? "taken" : "refused");
  GST_OBJECT_LOCK (self);
  if (!is_feedback)
    self->controls_relayed++;
  else if (read_here)
    self->feedback_read++;
  else
    self->feedback_relayed++;
  if (ok && is_feedback && code == WRTC_CONTROL_FLOW_GRANT
      && !self->flow_control) {
    GST_INFO_OBJECT (self, "credit flow control active (FlowGrant taken "
        "upstream)");
    self->flow_control = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  return ok;
}

gboolean
gst_data_channel_sink_relay (GstDataChannelSink * sink,
    const gchar * event_name, GBytes * payload)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);

  g_return_val_if_fail (GST_IS_DATA_CHANNEL_SINK (sink), FALSE);
  if (size < 2)
    return FALSE;
  return push_control_event (sink, event_name, data, size, FALSE);
}

static void
warn_malformed (GstDataChannelSink * self, const gchar * what)
{
  gboolean first;

  GST_OBJECT_LOCK (self);
  first = !self->malformed_warned;
  self->malformed_warned = TRUE;
  GST_OBJECT_UNLOCK (self);
  if (first)
    GST_ELEMENT_WARNING (self, STREAM, DECODE, ("The peer sent something "
            "other than whole frames on this sending channel (%s): ignored. "
            "Without a datachannelsrc on the channel, only the peer's "
            "flow-control messages are read here.", what), (NULL));
  else
    GST_DEBUG_OBJECT (self, "malformed input ignored: %s", what);
}

/* webrtcbin's pc thread, its PC lock held: parse and push upstream only.
 * Without a datachannelsrc on the channel the peer's direction carries
 * only its datachannelsrc's whole control frames, one or more per
 * message. */
static void
read_peer_message (GstElement * element, GBytes * data)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (element);
  gsize size, offset = 0;
  const guint8 *p = g_bytes_get_data (data, &size);

  while (offset < size) {
    WrtcFrameHeader header;
    WrtcControlMessage msg;
    WrtcFrameStatus status;
    const guint8 *payload;

    status = wrtc_frame_parse (p + offset, size - offset,
        65536 - WRTC_FRAME_OVERHEAD, &header);
    if (status != WRTC_FRAME_OK) {
      warn_malformed (self, status == WRTC_FRAME_NEED_MORE ?
          "a frame cut at the message end" : status == WRTC_FRAME_TOO_LONG ?
          "a frame length out of range" : "a bad frame terminator");
      return;
    }
    payload = p + offset + WRTC_FRAME_HEADER_SIZE;
    offset += WRTC_FRAME_OVERHEAD + header.length;
    if (header.conn_no != WRTC_FRAME_CONTROL_CONN) {
      GST_LOG_OBJECT (self, "ignoring a frame of connection %u",
          header.conn_no);
      continue;
    }
    if (wrtc_control_parse (payload, header.length, &msg)
        != WRTC_CONTROL_PARSE_OK) {
      GST_LOG_OBJECT (self, "ignoring a control frame we cannot parse");
      continue;
    }
    switch (msg.code) {
      case WRTC_CONTROL_FLOW_GRANT:
      case WRTC_CONTROL_FLOW_CREDIT:
      case WRTC_CONTROL_CLOSE_CONNECTION:
        push_control_event (self, WRTC_EVENT_FEEDBACK, payload,
            header.length, TRUE);
        break;
      default:
        GST_LOG_OBJECT (self, "ignoring control message %u", msg.code);
        break;
    }
  }
}

/* 1.22.0 .. 1.22.2 can lose a channel's last messages when it is closed
 * right behind them, and can deadlock closing a channel that never sent
 * data (both fixed in 1.22.3). Checked on the library in use. */
static gboolean
runtime_has_close_bugs (void)
{
  guint major, minor, micro, nano;

  gst_version (&major, &minor, &micro, &nano);
  return major == 1 && minor == 22 && micro <= 2;
}

typedef struct
{
  GstBuffer *buffer;
  GstMapInfo map;
} MappedBuffer;

static void
mapped_buffer_free (MappedBuffer * m)
{
  gst_buffer_unmap (m->buffer, &m->map);
  gst_buffer_unref (m->buffer);
  g_free (m);
}

static GstFlowReturn
gst_data_channel_sink_render (GstBaseSink * sink, GstBuffer * buffer)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (sink);
  GstWebRTCDataChannel *channel;
  MappedBuffer *m;
  GBytes *whole;
  GstFlowReturn ret;
  guint64 high;
  gsize offset = 0, max_size;

  ret = ensure_open (self);
  if (ret != GST_FLOW_OK)
    return ret;
  channel = self->link->channel;

  GST_OBJECT_LOCK (self);
  max_size = self->max_message_size;
  high = self->high;
  GST_OBJECT_UNLOCK (self);

  /* The messages reference the mapped buffer: no copy here. */
  m = g_new (MappedBuffer, 1);
  m->buffer = gst_buffer_ref (buffer);
  if (!gst_buffer_map (buffer, &m->map, GST_MAP_READ)) {
    gst_buffer_unref (buffer);
    g_free (m);
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL),
        ("Could not map input buffer"));
    return GST_FLOW_ERROR;
  }
  whole = g_bytes_new_with_free_func (m->map.data, m->map.size,
      (GDestroyNotify) mapped_buffer_free, m);

  while (offset < m->map.size) {
    gsize size = MIN (max_size, m->map.size - offset);
    GError *error = NULL;
    GBytes *message;
    guint64 amount;

    ret = wait_buffered_playing (self, high);
    if (ret == GST_FLOW_ERROR)
      ret = post_channel_gone (self);
    if (ret != GST_FLOW_OK)
      break;

    message = g_bytes_new_from_bytes (whole, offset, size);
    if (!gst_webrtc_data_channel_send_data_full (channel, message, &error)) {
      GstWebRTCDataChannelState state;

      g_bytes_unref (message);
      /* The peer's close can reach the channel before its on-close signal
       * reaches us: say which of the two happened. */
      g_object_get (channel, "ready-state", &state, NULL);
      if (state != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Data channel was closed "
                "by the peer (or webrtcbin) while data was still being sent"),
            ("send failed: %s", error ? error->message : "unknown error"));
      else
        GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
            ("Could not send a %" G_GSIZE_FORMAT "-byte data-channel "
                "message: %s", size, error ? error->message : "unknown error"),
            (NULL));
      g_clear_error (&error);
      ret = GST_FLOW_ERROR;
      break;
    }
    g_bytes_unref (message);
    offset += size;

    amount = buffered_amount (channel);
    GST_OBJECT_LOCK (self);
    self->messages_sent++;
    self->bytes_sent += size;
    self->peak_buffered = MAX (self->peak_buffered, amount);
    GST_OBJECT_UNLOCK (self);
  }
  g_bytes_unref (whole);
  return ret;
}

/* EOS: let everything sent leave the channel first. A threshold of 0 makes
 * on-buffered-amount-low fire exactly when the amount reaches 0. */
static gboolean
drain_and_close (GstDataChannelSink * self)
{
  GstWebRTCDataChannel *channel = self->link->channel;
  GstFlowReturn ret;
  gboolean close, credit, warn = FALSE;
  guint64 sent;

  if (!self->opened) {
    /* Nothing was sent. Closing still tells the peer that the stream has
     * ended (an empty one), except where closing an unused channel can
     * deadlock. */
    GST_OBJECT_LOCK (self);
    close = self->close_on_eos;
    GST_OBJECT_UNLOCK (self);
    if (!close || runtime_has_close_bugs ()) {
      GST_DEBUG_OBJECT (self, "EOS before anything was sent: the channel "
          "is left as it is");
      return TRUE;
    }
    if (ensure_open (self) != GST_FLOW_OK)
      return FALSE;
  }

  GST_DEBUG_OBJECT (self, "EOS: draining");
  g_object_set (channel, "buffered-amount-low-threshold", (guint64) 0, NULL);
  ret = wait_buffered_playing (self, 0);
  GST_OBJECT_LOCK (self);
  g_object_set (channel, "buffered-amount-low-threshold", self->low, NULL);
  close = self->close_on_eos;
  sent = self->messages_sent;
  credit = self->flow_control;
  /* With credit, framemux sends EOS only once the peer's framedemux has
   * acknowledged every byte: closing after the drain loses nothing. */
  if (close && sent > 0 && !credit && runtime_has_close_bugs ()) {
    close = FALSE;
    warn = !self->close_warned;
    self->close_warned = TRUE;
  }
  GST_OBJECT_UNLOCK (self);

  if (ret == GST_FLOW_ERROR) {
    post_channel_gone (self);
    return FALSE;
  }
  if (ret != GST_FLOW_OK)
    return FALSE;

  if (warn) {
    gchar *version = gst_version_string ();

    GST_ELEMENT_WARNING (self, RESOURCE, CLOSE, ("close-on-eos: the data "
            "channel is left open: closing it could lose the last messages "
            "on GStreamer %s (fixed in 1.22.3). framemux's credit flow "
            "control (both peers ours) makes closing safe.", version),
        (NULL));
    g_free (version);
  }

  if (close && sent == 0 && runtime_has_close_bugs ()) {
    GST_DEBUG_OBJECT (self, "nothing sent: the channel is left open (closing "
        "it can deadlock before 1.22.3)");
    close = FALSE;
  }
  if (close) {
    while (sent > 0 && (ret = wrtc_channel_link_wait_sent (self->link))
        == GST_FLOW_FLUSHING) {
      ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
      if (ret != GST_FLOW_OK)
        break;
    }
    if (ret == GST_FLOW_ERROR)
      post_channel_gone (self);
    if (ret != GST_FLOW_OK)
      return FALSE;
    GST_DEBUG_OBJECT (self, "drained, closing the channel");
    /* our own close: not an error */
    g_mutex_lock (&self->link->lock);
    self->link->close_reported = TRUE;
    g_mutex_unlock (&self->link->lock);
    gst_webrtc_data_channel_close (channel);
  }
  return TRUE;
}

static gboolean
gst_data_channel_sink_event (GstBaseSink * sink, GstEvent * event)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (sink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && !drain_and_close (self)) {
    gst_event_unref (event);
    return FALSE;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (sink, event);
}

/* Bound in READY->PAUSED rather than in GstBaseSink::start (NULL->READY):
 * the sink changes state before the webrtcbin, which refuses channels until
 * it is READY itself. */
static gboolean
bind_channel (GstDataChannelSink * self)
{
  WrtcChannelLink *link;
  GError *error = NULL;

  /* The counters first: the reader may run as soon as the link exists. */
  GST_OBJECT_LOCK (self);
  self->flow_control = FALSE;
  self->feedback_read = self->feedback_relayed = self->controls_relayed = 0;
  self->malformed_warned = FALSE;
  GST_OBJECT_UNLOCK (self);
  link = wrtc_channel_link_start (GST_ELEMENT (self), &self->settings,
      FALSE, read_peer_message, 0, &error);
  if (!link) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    g_error_free (error);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->link = link;
  self->opened = FALSE;
  self->messages_sent = self->bytes_sent = 0;
  self->times_blocked = self->time_blocked = self->cpu_time_blocked = 0;
  self->peak_buffered = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static GstStateChangeReturn
gst_data_channel_sink_change_state (GstElement * element,
    GstStateChange transition)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !bind_channel (self))
    return GST_STATE_CHANGE_FAILURE;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
          ret == GST_STATE_CHANGE_FAILURE))
    wrtc_channel_link_release_slot (GST_OBJECT (self), &self->link);
  return ret;
}

static gboolean
gst_data_channel_sink_unlock (GstBaseSink * sink)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (sink);

  wrtc_channel_link_flush_slot (GST_OBJECT (self), &self->link, TRUE);
  return TRUE;
}

static gboolean
gst_data_channel_sink_unlock_stop (GstBaseSink * sink)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (sink);

  wrtc_channel_link_flush_slot (GST_OBJECT (self), &self->link, FALSE);
  return TRUE;
}

static GstStructure *
gst_data_channel_sink_get_stats (GstDataChannelSink * self)
{
  GstWebRTCDataChannel *channel = NULL;
  GstStructure *s;
  guint64 amount = 0;

  GST_OBJECT_LOCK (self);
  if (self->link) {
    g_mutex_lock (&self->link->lock);
    if (self->link->channel)
      channel = g_object_ref (self->link->channel);
    g_mutex_unlock (&self->link->lock);
  } else if (self->settings.channel) {
    channel = g_object_ref (self->settings.channel);
  }
  s = gst_structure_new ("application/x-datachannelsink-stats",
      "messages-sent", G_TYPE_UINT64, self->messages_sent,
      "bytes-sent", G_TYPE_UINT64, self->bytes_sent,
      "times-blocked", G_TYPE_UINT64, self->times_blocked,
      "time-blocked", G_TYPE_UINT64, self->time_blocked,
      "cpu-time-blocked", G_TYPE_UINT64, self->cpu_time_blocked,
      "peak-buffered-amount", G_TYPE_UINT64, self->peak_buffered,
      "flow-control", G_TYPE_BOOLEAN, self->flow_control,
      "feedback-read", G_TYPE_UINT64, self->feedback_read,
      "feedback-relayed", G_TYPE_UINT64, self->feedback_relayed,
      "controls-relayed", G_TYPE_UINT64, self->controls_relayed, NULL);
  GST_OBJECT_UNLOCK (self);
  if (channel) {
    amount = buffered_amount (channel);
    g_object_unref (channel);
  }
  gst_structure_set (s, "buffered-amount", G_TYPE_UINT64, amount, NULL);
  return s;
}

static void
gst_data_channel_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (object);

  GST_OBJECT_LOCK (self);
  if (prop_id >= PROP_CHANNEL_FIRST &&
      wrtc_channel_settings_set (&self->settings,
          prop_id - PROP_CHANNEL_FIRST, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint (value);
      break;
    case PROP_HIGH:
      self->high = g_value_get_uint64 (value);
      break;
    case PROP_LOW:
      self->low = g_value_get_uint64 (value);
      break;
    case PROP_CLOSE_ON_EOS:
      self->close_on_eos = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_data_channel_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_data_channel_sink_get_stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  if (prop_id >= PROP_CHANNEL_FIRST &&
      wrtc_channel_settings_get (&self->settings,
          prop_id - PROP_CHANNEL_FIRST, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_HIGH:
      g_value_set_uint64 (value, self->high);
      break;
    case PROP_LOW:
      g_value_set_uint64 (value, self->low);
      break;
    case PROP_CLOSE_ON_EOS:
      g_value_set_boolean (value, self->close_on_eos);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_data_channel_sink_finalize (GObject * object)
{
  GstDataChannelSink *self = GST_DATA_CHANNEL_SINK (object);

  wrtc_channel_settings_clear (&self->settings);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_data_channel_sink_class_init (GstDataChannelSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *base_sink_class = GST_BASE_SINK_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_data_channel_sink_set_property;
  gobject_class->get_property = gst_data_channel_sink_get_property;
  gobject_class->finalize = gst_data_channel_sink_finalize;

  wrtc_channel_settings_install (gobject_class, PROP_CHANNEL_FIRST);

  g_object_class_install_property (gobject_class, PROP_MAX_MESSAGE_SIZE,
      g_param_spec_uint ("max-message-size", "Max message size",
          "Largest data-channel message in bytes; larger buffers are split "
          "into consecutive messages (webrtcbin 1.22 refuses more than "
          "65536)", 1, G_MAXINT, DEFAULT_MAX_MESSAGE_SIZE, flags));
  g_object_class_install_property (gobject_class, PROP_HIGH,
      g_param_spec_uint64 ("buffered-amount-high", "Buffered amount high",
          "Rendering blocks while the channel's buffered-amount is above "
          "this many bytes", 0, G_MAXUINT64, DEFAULT_HIGH, flags));
  g_object_class_install_property (gobject_class, PROP_LOW,
      g_param_spec_uint64 ("buffered-amount-low", "Buffered amount low",
          "The channel's buffered-amount-low-threshold: a blocked render "
          "resumes when the buffered amount falls to this many bytes", 0,
          G_MAXUINT64, DEFAULT_LOW, flags));
  g_object_class_install_property (gobject_class, PROP_CLOSE_ON_EOS,
      g_param_spec_boolean ("close-on-eos", "Close on EOS",
          "Close the data channel on EOS, once everything sent has left it. "
          "On GStreamer 1.22.0-1.22.2 (closing can lose the last messages) "
          "only with credit flow control active; otherwise the channel is "
          "left open with a warning",
          DEFAULT_CLOSE_ON_EOS, flags));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Messages and bytes sent, times and time blocked by backpressure, "
          "CPU time spent blocked, peak and current buffered-amount, "
          "whether credit flow control is active, feedback messages read "
          "and relayed",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "WebRTC data channel sink", "Sink/Network/WebRTC",
      "Sends buffers as messages on a webrtcbin data channel, paced by its "
      "buffered amount", "gst-wrtcframe authors");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_data_channel_sink_change_state);
  base_sink_class->unlock = GST_DEBUG_FUNCPTR (gst_data_channel_sink_unlock);
  base_sink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_data_channel_sink_unlock_stop);
  base_sink_class->render = GST_DEBUG_FUNCPTR (gst_data_channel_sink_render);
  base_sink_class->event = GST_DEBUG_FUNCPTR (gst_data_channel_sink_event);
}

static void
gst_data_channel_sink_init (GstDataChannelSink * self)
{
  wrtc_channel_settings_init (&self->settings);
  self->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  self->high = DEFAULT_HIGH;
  self->low = DEFAULT_LOW;
  self->close_on_eos = DEFAULT_CLOSE_ON_EOS;
  /* Messages are paced by the channel, not by the clock. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}

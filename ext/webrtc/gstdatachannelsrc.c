/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/**
 * SECTION:element-datachannelsrc
 * @title: datachannelsrc
 * @see_also: datachannelsink, framedemux, webrtcbin
 *
 * datachannelsrc is a live source that outputs every message received on
 * a WebRTC data channel of a webrtcbin as one buffer, in order. Binary
 * messages are wrapped without copying; string messages are output as
 * their bytes (without the terminating NUL).
 *
 * The channel is chosen as for datachannelsink: the `channel` property, or
 * `webrtcbin` (the name of a webrtcbin in the same pipeline) and `label`,
 * either created here (`create-channel=true`) or awaited from the peer. A
 * datachannelsink on the same webrtcbin and label shares the channel. An
 * unordered or partially reliable channel is refused unless
 * `message-aligned=true`.
 *
 * webrtcbin delivers messages on its own thread and gives the receiving
 * side no backpressure, so they are queued here until the streaming thread
 * pushes them. The queue is bounded by #GstDataChannelSrc:max-queue-bytes:
 * if downstream falls so far behind that the bound is reached, the element
 * posts an error naming the bound and stops. Data is never dropped
 * silently.
 *
 * When the channel closes, the element pushes whatever is still queued
 * and then EOS. A channel error ends the stream with an error.
 *
 * ## Flow-control feedback
 *
 * The element takes two custom upstream events from the framedemux after
 * it (docs/wire-format.md, "Credit flow control"; fields `code` and
 * `data`). `wrtcframe-feedback`, framedemux's FlowGrant, FlowCredit or
 * CloseConnection for the peer: with a datachannelsink on the same channel
 * (same webrtcbin and label, or channel object; frametunnel) that sink
 * sends it upstream as `wrtcframe-send-control` for its framemux to send
 * in-band; otherwise the element sends it as one whole control frame
 * (connection 0) in one message, once the channel is open (up to 16 are
 * kept until then). `wrtcframe-peer-feedback`, the peer's feedback found
 * in its stream: the datachannelsink on the channel sends it upstream as
 * `wrtcframe-feedback`; without one it is dropped. A channel awaited from
 * the peer that has not come after 5 s makes the element warn once (set
 * create-channel=true on one side); it keeps waiting.
 *
 * Buffers are timestamped with the pipeline's running time at arrival
 * (`do-timestamp`, on by default); caps are those of the #GstDataChannelSrc:caps
 * property, or whatever downstream accepts when it is unset.
 *
 * ## Statistics
 *
 * The #GstDataChannelSrc:stats structure `application/x-datachannelsrc-stats`
 * has `messages-received`, `bytes-received`, `queued-bytes`,
 * `peak-queued-bytes`, `feedback-sent`, `feedback-relayed`,
 * `feedback-dropped` (all guint64).
 *
 * ## Example pipeline
 * |[
 * webrtcbin name=w  datachannelsrc webrtcbin=w label=tunnel ! \
 *   framedemux name=d  d.src_1 ! queue ! filesink location=out.bin async=false
 * ]| The receiving side of a tunnel, for gst_parse_launch() in an
 * application: webrtcbin needs signalling (offer, answer, ICE candidates),
 * which gst-launch-1.0 cannot do. examples/wrtcframe-demo.c is a complete
 * program with two peers.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdatachannelsrc.h"
#include "gstdatachannelsink.h"
#include "datachannel-link.h"
#include "wrtcframe-events.h"

GST_DEBUG_CATEGORY_STATIC (gst_data_channel_src_debug);
#define GST_CAT_DEFAULT gst_data_channel_src_debug

#define DEFAULT_MAX_QUEUE_BYTES (64 * 1024 * 1024)

enum
{
  PROP_0,
  PROP_CHANNEL_FIRST,
  PROP_MAX_QUEUE_BYTES = PROP_CHANNEL_FIRST + WRTC_CHANNEL_N_PROPS,
  PROP_CAPS,
  PROP_STATS,
};

struct _GstDataChannelSrc
{
  GstPushSrc parent;

  /* Properties, under the object lock. */
  WrtcChannelSettings settings;
  guint64 max_queue_bytes;
  GstCaps *caps;

  /* Between start and stop; the pointer under the object lock. */
  WrtcChannelLink *link;
  gboolean opened;              /* streaming thread only */

  /* Under the object lock. */
  guint64 feedback_relayed;     /* handed to the datachannelsink */
  guint64 peer_feedback_dropped;        /* no datachannelsink to take it */
};

#define gst_data_channel_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstDataChannelSrc, gst_data_channel_src,
    GST_TYPE_PUSH_SRC, GST_DEBUG_CATEGORY_INIT (gst_data_channel_src_debug,
        "datachannelsrc", 0, "WebRTC data channel source"));
GST_ELEMENT_REGISTER_DEFINE (datachannelsrc, "datachannelsrc",
    GST_RANK_NONE, GST_TYPE_DATA_CHANNEL_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstFlowReturn
ensure_open (GstDataChannelSrc * self)
{
  GError *error = NULL;
  GstFlowReturn ret;
  gboolean aligned;

  if (G_LIKELY (self->opened))
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  aligned = self->settings.message_aligned;
  GST_OBJECT_UNLOCK (self);

  GST_DEBUG_OBJECT (self, "waiting for the data channel to open");
  ret = wrtc_channel_link_wait_open (self->link, !aligned, &error);
  if (ret == GST_FLOW_ERROR) {
    /* A channel that closed before opening still ends the stream cleanly
     * when it delivered messages first. */
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", error->message),
        (NULL));
    g_error_free (error);
  }
  if (ret == GST_FLOW_OK) {
    GST_DEBUG_OBJECT (self, "data channel open");
    self->opened = TRUE;
  }
  return ret;
}

static GstFlowReturn
gst_data_channel_src_create (GstPushSrc * src, GstBuffer ** buf)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);
  WrtcChannelLink *link = self->link;
  GstFlowReturn ret;
  GstBuffer *buffer;
  guint64 overrun;
  gchar *why = NULL;

  ret = ensure_open (self);
  if (ret != GST_FLOW_OK)
    return ret;

  g_mutex_lock (&link->lock);
  while (g_queue_is_empty (&link->queue) && !link->flushing
      && !link->closed && !link->error && !link->overrun_bytes)
    g_cond_wait (&link->cond, &link->lock);
  if (link->flushing) {
    g_mutex_unlock (&link->lock);
    return GST_FLOW_FLUSHING;
  }
  /* An overrun fails at once: what is queued was followed by a loss. */
  overrun = link->overrun_bytes;
  buffer = overrun ? NULL : g_queue_pop_head (&link->queue);
  if (buffer) {
    link->queued_bytes -= gst_buffer_get_size (buffer);
  } else if (!overrun && link->error) {
    why = g_strdup (link->error->message);
  }
  g_mutex_unlock (&link->lock);

  if (buffer) {
    *buf = buffer;
    return GST_FLOW_OK;
  }
  if (overrun)                  /* the error is posted already */
    return GST_FLOW_ERROR;
  if (why) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Data channel failed: %s",
            why), (NULL));
    g_free (why);
    return GST_FLOW_ERROR;
  }
  GST_DEBUG_OBJECT (self, "data channel closed: EOS");
  return GST_FLOW_EOS;
}

/* The link, referenced, or NULL when not started. */
static WrtcChannelLink *
get_link (GstDataChannelSrc * self)
{
  WrtcChannelLink *link = NULL;

  GST_OBJECT_LOCK (self);
  if (self->link)
    link = wrtc_channel_link_ref (self->link);
  GST_OBJECT_UNLOCK (self);
  return link;
}

/* WRTC_EVENT_FEEDBACK (framedemux's feedback for the sender of what we
 * receive) and WRTC_EVENT_PEER_FEEDBACK (the peer's feedback about what we
 * send), from framedemux's threads. A datachannelsink on the same channel
 * sends the first in its framemux's stream and hands the second to its
 * framemux; without one, feedback goes out as a whole control frame of
 * its own, and peer feedback has nobody to go to. Never blocks. */
/* After the framemux feeding @sink refused a control message (it does
 * so only once its stream has ended), or after @sink's EOS, whole frames
 * may follow on the channel. Never for other upstream elements: raw data
 * must not get frames mixed in. */
static gboolean
framed_stream_ended (GstElement * sink)
{
  GstPad *pad = GST_BASE_SINK_PAD (GST_BASE_SINK (sink));
  GstPad *peer;
  gboolean framemux = FALSE;

  if (GST_PAD_IS_EOS (pad))
    return TRUE;
  peer = gst_pad_get_peer (pad);
  if (peer != NULL) {
    GstObject *up = gst_pad_get_parent (peer);

    framemux = up != NULL && g_str_equal (G_OBJECT_TYPE_NAME (up),
        "GstFrameMux");
    if (up)
      gst_object_unref (up);
    gst_object_unref (peer);
  }
  return framemux;
}

static gboolean
handle_feedback (GstDataChannelSrc * self, GstEvent * event,
    gboolean from_peer)
{
  const gchar *name = from_peer ? WRTC_EVENT_PEER_FEEDBACK :
      WRTC_EVENT_FEEDBACK;
  GBytes *payload = wrtc_control_event_payload (event, name);
  WrtcChannelLink *link = get_link (self);
  GstElement *sink = NULL;
  gboolean ok = FALSE;

  if (!payload) {
    GST_WARNING_OBJECT (self, "malformed %s event: %" GST_PTR_FORMAT, name,
        event);
    goto done;
  }
  if (!link) {
    GST_DEBUG_OBJECT (self, "%s while stopped: dropped", name);
    goto done;
  }
  sink = wrtc_channel_link_get_partner (link);
  if (sink && GST_IS_DATA_CHANNEL_SINK (sink)) {
    ok = gst_data_channel_sink_relay (GST_DATA_CHANNEL_SINK (sink),
        from_peer ? WRTC_EVENT_FEEDBACK : WRTC_EVENT_SEND_CONTROL, payload);
    if (!ok)
      GST_DEBUG_OBJECT (self, "%s: %s refused upstream of %s", name,
          from_peer ? WRTC_EVENT_FEEDBACK : WRTC_EVENT_SEND_CONTROL,
          GST_OBJECT_NAME (sink));
    if (!ok && !from_peer && framed_stream_ended (sink)) {
      /* framemux refuses once its stream has ended: whole frames may
       * follow its EOS, so send this one ourselves */
      gsize size;
      const guint8 *p = g_bytes_get_data (payload, &size);

      ok = wrtc_channel_link_send_control (link, p, size);
    }
    GST_OBJECT_LOCK (self);
    self->feedback_relayed++;
    GST_OBJECT_UNLOCK (self);
  } else if (from_peer) {
    GST_DEBUG_OBJECT (self, "%s with no datachannelsink on the channel: "
        "dropped", name);
    GST_OBJECT_LOCK (self);
    self->peer_feedback_dropped++;
    GST_OBJECT_UNLOCK (self);
    ok = TRUE;
  } else {
    gsize size;
    const guint8 *p = g_bytes_get_data (payload, &size);

    ok = wrtc_channel_link_send_control (link, p, size);
  }

done:
  if (sink)
    gst_object_unref (sink);
  if (link)
    wrtc_channel_link_unref (link);
  if (payload)
    g_bytes_unref (payload);
  gst_event_unref (event);
  return ok;
}

static gboolean
gst_data_channel_src_event (GstBaseSrc * src, GstEvent * event)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM) {
    if (gst_event_has_name (event, WRTC_EVENT_FEEDBACK))
      return handle_feedback (self, gst_event_ref (event), FALSE);
    if (gst_event_has_name (event, WRTC_EVENT_PEER_FEEDBACK))
      return handle_feedback (self, gst_event_ref (event), TRUE);
  }
  return GST_BASE_SRC_CLASS (parent_class)->event (src, event);
}

static GstCaps *
gst_data_channel_src_get_caps (GstBaseSrc * src, GstCaps * filter)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);
  GstCaps *caps;

  GST_OBJECT_LOCK (self);
  caps = self->caps ? gst_caps_ref (self->caps) : gst_caps_new_any ();
  GST_OBJECT_UNLOCK (self);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

static gboolean
gst_data_channel_src_start (GstBaseSrc * src)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);
  WrtcChannelLink *link;
  GError *error = NULL;
  guint64 max;

  GST_OBJECT_LOCK (self);
  max = self->max_queue_bytes;
  GST_OBJECT_UNLOCK (self);

  GST_OBJECT_LOCK (self);
  self->feedback_relayed = self->peer_feedback_dropped = 0;
  GST_OBJECT_UNLOCK (self);
  link = wrtc_channel_link_start (GST_ELEMENT (self), &self->settings,
      TRUE, NULL, max, &error);
  if (!link) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", error->message),
        (NULL));
    g_error_free (error);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->link = link;
  self->opened = FALSE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_data_channel_src_stop (GstBaseSrc * src)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);

  wrtc_channel_link_release_slot (GST_OBJECT (self), &self->link);
  return TRUE;
}

static gboolean
gst_data_channel_src_unlock (GstBaseSrc * src)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);

  wrtc_channel_link_flush_slot (GST_OBJECT (self), &self->link, TRUE);
  return TRUE;
}

static gboolean
gst_data_channel_src_unlock_stop (GstBaseSrc * src)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (src);

  wrtc_channel_link_flush_slot (GST_OBJECT (self), &self->link, FALSE);
  return TRUE;
}

static GstStructure *
gst_data_channel_src_get_stats (GstDataChannelSrc * self)
{
  guint64 messages = 0, bytes = 0, queued = 0, peak = 0, sent = 0;
  guint64 dropped = 0, relayed, peer_dropped;

  GST_OBJECT_LOCK (self);
  if (self->link) {
    g_mutex_lock (&self->link->lock);
    messages = self->link->messages_received;
    bytes = self->link->bytes_received;
    queued = self->link->queued_bytes;
    peak = self->link->peak_queued_bytes;
    sent = self->link->control_sent;
    dropped = self->link->control_dropped;
    g_mutex_unlock (&self->link->lock);
  }
  relayed = self->feedback_relayed;
  peer_dropped = self->peer_feedback_dropped;
  GST_OBJECT_UNLOCK (self);
  return gst_structure_new ("application/x-datachannelsrc-stats",
      "messages-received", G_TYPE_UINT64, messages,
      "bytes-received", G_TYPE_UINT64, bytes,
      "queued-bytes", G_TYPE_UINT64, queued,
      "peak-queued-bytes", G_TYPE_UINT64, peak,
      "feedback-sent", G_TYPE_UINT64, sent,
      "feedback-dropped", G_TYPE_UINT64, dropped + peer_dropped,
      "feedback-relayed", G_TYPE_UINT64, relayed, NULL);
}

static void
gst_data_channel_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (object);

  GST_OBJECT_LOCK (self);
  if (prop_id >= PROP_CHANNEL_FIRST &&
      wrtc_channel_settings_set (&self->settings,
          prop_id - PROP_CHANNEL_FIRST, value)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_MAX_QUEUE_BYTES:
      self->max_queue_bytes = g_value_get_uint64 (value);
      break;
    case PROP_CAPS:
      gst_caps_replace (&self->caps, (GstCaps *) gst_value_get_caps (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_data_channel_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_data_channel_src_get_stats (self));
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
    case PROP_MAX_QUEUE_BYTES:
      g_value_set_uint64 (value, self->max_queue_bytes);
      break;
    case PROP_CAPS:
      gst_value_set_caps (value, self->caps);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_data_channel_src_finalize (GObject * object)
{
  GstDataChannelSrc *self = GST_DATA_CHANNEL_SRC (object);

  wrtc_channel_settings_clear (&self->settings);
  gst_caps_replace (&self->caps, NULL);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_data_channel_src_class_init (GstDataChannelSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *base_src_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *push_src_class = GST_PUSH_SRC_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_data_channel_src_set_property;
  gobject_class->get_property = gst_data_channel_src_get_property;
  gobject_class->finalize = gst_data_channel_src_finalize;

  wrtc_channel_settings_install (gobject_class, PROP_CHANNEL_FIRST);

  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE_BYTES,
      g_param_spec_uint64 ("max-queue-bytes", "Max queue bytes",
          "Bytes received but not yet pushed downstream above which the "
          "element fails with an error (webrtcbin gives no receive "
          "backpressure)", 1, G_MAXUINT64, DEFAULT_MAX_QUEUE_BYTES, flags));
  g_object_class_install_property (gobject_class, PROP_CAPS,
      g_param_spec_boxed ("caps", "Caps",
          "Caps of the output (NULL: whatever downstream accepts)",
          GST_TYPE_CAPS, flags));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Messages and bytes received, bytes queued now and at peak, "
          "flow-control feedback sent on the channel, relayed to the "
          "datachannelsink on it, and dropped",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "WebRTC data channel source", "Source/Network/WebRTC",
      "Outputs the messages received on a webrtcbin data channel",
      "gst-wrtcframe authors");

  base_src_class->start = GST_DEBUG_FUNCPTR (gst_data_channel_src_start);
  base_src_class->stop = GST_DEBUG_FUNCPTR (gst_data_channel_src_stop);
  base_src_class->unlock = GST_DEBUG_FUNCPTR (gst_data_channel_src_unlock);
  base_src_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_data_channel_src_unlock_stop);
  base_src_class->get_caps = GST_DEBUG_FUNCPTR (gst_data_channel_src_get_caps);
  base_src_class->event = GST_DEBUG_FUNCPTR (gst_data_channel_src_event);
  push_src_class->create = GST_DEBUG_FUNCPTR (gst_data_channel_src_create);
}

static void
gst_data_channel_src_init (GstDataChannelSrc * self)
{
  wrtc_channel_settings_init (&self->settings);
  self->max_queue_bytes = DEFAULT_MAX_QUEUE_BYTES;
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_do_timestamp (GST_BASE_SRC (self), TRUE);
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "datachannel-link.h"
#include <gst/base/gstbasesink.h>
#include "frame-codec.h"

#include <string.h>

/* Channels this process knows per webrtcbin, by label, so that a sink and a
 * source on the same webrtcbin and label share one channel (a tunnel is
 * bidirectional), whichever of them arrives first and whether the channel
 * was created here or announced by the peer. Kept as data on the webrtcbin,
 * freed with it. */
typedef struct
{
  GMutex lock;
  GCond cond;
  GHashTable *channels;         /* label -> GstWebRTCDataChannel (ref) */
  GHashTable *creating;         /* labels being created right now */
  GList *waiters;               /* WrtcChannelLink (ref) awaiting a label */
  GHashTable *warned;           /* labels warned about as never announced */
} ChannelRegistry;

/* Which datachannelsink (0) and datachannelsrc (1) of this process use a
 * channel object, so that the two can relay the flow-control feedback
 * between them (docs/wire-format.md, "Credit flow control"). Kept as data
 * on the channel, freed with it. Each entry is the element's link (a
 * reference, dropped when the link unbinds); the element itself is the
 * link's weak reference. */
typedef struct
{
  GMutex lock;
  WrtcChannelLink *owner[2];
} ChannelPeers;

#define PEERS_KEY "wrtcframe-channel-peers"
G_LOCK_DEFINE_STATIC (peers_create);

GST_DEBUG_CATEGORY_STATIC (wrtc_channel_link_debug);
#define GST_CAT_DEFAULT wrtc_channel_link_debug

#define REGISTRY_KEY "wrtcframe-channel-registry"
G_LOCK_DEFINE_STATIC (registry_create);

WrtcChannelLink *
wrtc_channel_link_new (gboolean receives, WrtcChannelMessageFunc on_message,
    guint64 max_queue_bytes)
{
  WrtcChannelLink *link = g_new0 (WrtcChannelLink, 1);

  GST_DEBUG_CATEGORY_INIT (wrtc_channel_link_debug, "datachannellink", 0,
      "Data channel binding shared by datachannelsink and datachannelsrc");
  link->refcount = 1;
  g_weak_ref_init (&link->element, NULL);
  g_mutex_init (&link->lock);
  g_cond_init (&link->cond);
  g_queue_init (&link->queue);
  g_queue_init (&link->control_out);
  link->receives = receives;
  link->on_message = on_message;
  link->max_queue_bytes = max_queue_bytes;
  return link;
}

WrtcChannelLink *
wrtc_channel_link_ref (WrtcChannelLink * link)
{
  g_atomic_int_inc (&link->refcount);
  return link;
}

void
wrtc_channel_link_unref (WrtcChannelLink * link)
{
  if (!g_atomic_int_dec_and_test (&link->refcount))
    return;
  g_queue_clear_full (&link->queue, (GDestroyNotify) gst_mini_object_unref);
  g_queue_clear_full (&link->control_out, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&link->channel);
  g_clear_error (&link->error);
  g_free (link->label);
  g_weak_ref_clear (&link->element);
  g_mutex_clear (&link->lock);
  g_cond_clear (&link->cond);
  g_free (link);
}

static void
link_unref_closure (gpointer data, GClosure * closure)
{
  wrtc_channel_link_unref (data);
}

/* --- the sink and source attached to a channel --- */

static void
channel_peers_free (ChannelPeers * peers)
{
  /* Links detach when they unbind, and hold the channel until then. */
  if (peers->owner[0])
    wrtc_channel_link_unref (peers->owner[0]);
  if (peers->owner[1])
    wrtc_channel_link_unref (peers->owner[1]);
  g_mutex_clear (&peers->lock);
  g_free (peers);
}

static ChannelPeers *
channel_peers_get (GstWebRTCDataChannel * channel, gboolean create)
{
  ChannelPeers *peers;

  G_LOCK (peers_create);
  peers = g_object_get_data (G_OBJECT (channel), PEERS_KEY);
  if (!peers && create) {
    peers = g_new0 (ChannelPeers, 1);
    g_mutex_init (&peers->lock);
    g_object_set_data_full (G_OBJECT (channel), PEERS_KEY, peers,
        (GDestroyNotify) channel_peers_free);
  }
  G_UNLOCK (peers_create);
  return peers;
}

static void
channel_peers_attach (WrtcChannelLink * link, GstWebRTCDataChannel * channel)
{
  ChannelPeers *peers = channel_peers_get (channel, TRUE);
  WrtcChannelLink *old;
  guint role = link->receives ? 1 : 0;

  g_mutex_lock (&peers->lock);
  old = peers->owner[role];
  peers->owner[role] = wrtc_channel_link_ref (link);
  g_mutex_unlock (&peers->lock);
  if (old)
    wrtc_channel_link_unref (old);
  GST_DEBUG ("%s attached to channel %p", role ? "source" : "sink", channel);
}

static void
channel_peers_detach (WrtcChannelLink * link, GstWebRTCDataChannel * channel)
{
  ChannelPeers *peers = channel_peers_get (channel, FALSE);
  guint role = link->receives ? 1 : 0;
  gboolean mine = FALSE;

  if (!peers)
    return;
  g_mutex_lock (&peers->lock);
  if (peers->owner[role] == link) {
    peers->owner[role] = NULL;
    mine = TRUE;
  }
  g_mutex_unlock (&peers->lock);
  if (mine)
    wrtc_channel_link_unref (link);
}

/* The element of the other role on @channel (a new reference), or NULL. */
static GstElement *
channel_peers_partner (GstWebRTCDataChannel * channel, gboolean receives)
{
  ChannelPeers *peers = channel_peers_get (channel, FALSE);
  WrtcChannelLink *other = NULL;
  GstElement *partner;

  if (!peers)
    return NULL;
  g_mutex_lock (&peers->lock);
  if (peers->owner[receives ? 0 : 1])
    other = wrtc_channel_link_ref (peers->owner[receives ? 0 : 1]);
  g_mutex_unlock (&peers->lock);
  if (!other)
    return NULL;
  partner = g_weak_ref_get (&other->element);
  wrtc_channel_link_unref (other);
  return partner;
}

/* Whether an element of the other role is attached to @channel: no weak
 * reference taken (the sink's reader asks for every message, on the pc
 * thread). */
static gboolean
channel_peers_has_partner (GstWebRTCDataChannel * channel, gboolean receives)
{
  ChannelPeers *peers = channel_peers_get (channel, FALSE);
  gboolean attached;

  if (!peers)
    return FALSE;
  g_mutex_lock (&peers->lock);
  attached = peers->owner[receives ? 0 : 1] != NULL;
  g_mutex_unlock (&peers->lock);
  return attached;
}

GstElement *
wrtc_channel_link_get_partner (WrtcChannelLink * link)
{
  GstWebRTCDataChannel *channel = NULL;
  GstElement *partner;

  g_mutex_lock (&link->lock);
  if (link->wired)
    channel = g_object_ref (link->channel);
  g_mutex_unlock (&link->lock);
  if (!channel)
    return NULL;
  partner = channel_peers_partner (channel, link->receives);
  g_object_unref (channel);
  return partner;
}

/* --- control frames datachannelsrc sends itself --- */

/* Sends what is queued once the channel is open. Whoever finds no other
 * thread sending takes the queue until it is empty, so frames leave in the
 * order they were queued. send_data_full is safe on the pc thread too
 * (this runs from on-open). */
static void
flush_control (WrtcChannelLink * link)
{
  g_mutex_lock (&link->lock);
  if (link->control_busy || !link->wired || !link->open) {
    g_mutex_unlock (&link->lock);
    return;
  }
  link->control_busy = TRUE;
  for (;;) {
    GBytes *frame;
    GError *error = NULL;
    gboolean ok;

    if (link->closed || link->error) {
      link->control_dropped += link->control_out.length;
      g_queue_clear_full (&link->control_out, (GDestroyNotify) g_bytes_unref);
    }
    frame = g_queue_pop_head (&link->control_out);
    if (!frame)
      break;
    g_mutex_unlock (&link->lock);
    ok = gst_webrtc_data_channel_send_data_full (link->channel, frame,
        &error);
    if (!ok) {
      GST_WARNING ("could not send a control frame: %s",
          error ? error->message : "unknown error");
      g_clear_error (&error);
    }
    g_bytes_unref (frame);
    g_mutex_lock (&link->lock);
    if (ok)
      link->control_sent++;
    else
      link->control_dropped++;
  }
  link->control_busy = FALSE;
  g_mutex_unlock (&link->lock);
}

gboolean
wrtc_channel_link_send_control (WrtcChannelLink * link,
    const guint8 * payload, gsize size)
{
  gsize frame_size = WRTC_FRAME_OVERHEAD + size;
  guint8 *frame = g_malloc (frame_size);
  gboolean queued = FALSE;

  if (size < 2 || wrtc_frame_encode (frame, frame_size,
          WRTC_FRAME_CONTROL_CONN, wrtc_frame_now_ms (), payload,
          size) != frame_size) {
    g_free (frame);
    return FALSE;
  }
  g_mutex_lock (&link->lock);
  if (link->closed || link->error) {
    GST_DEBUG ("channel closed or failed: control frame dropped");
    link->control_dropped++;
  } else if (link->control_out.length >= WRTC_MAX_PENDING_CONTROL) {
    GST_WARNING ("channel not open yet and %u control frames waiting: "
        "control frame dropped", WRTC_MAX_PENDING_CONTROL);
    link->control_dropped++;
  } else {
    g_queue_push_tail (&link->control_out,
        g_bytes_new_take (frame, frame_size));
    frame = NULL;
    queued = TRUE;
  }
  g_mutex_unlock (&link->lock);
  g_free (frame);
  if (queued)
    flush_control (link);
  return queued;
}

/* --- handlers: webrtcbin's pc thread, its PC lock held; never block --- */

static void
on_open (GstWebRTCDataChannel * channel, WrtcChannelLink * link)
{
  g_mutex_lock (&link->lock);
  link->open = TRUE;
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
  flush_control (link);
}

static void
on_close (GstWebRTCDataChannel * channel, WrtcChannelLink * link)
{
  GstElement *element;
  gboolean report;

  g_mutex_lock (&link->lock);
  link->closed = TRUE;
  link->control_dropped += link->control_out.length;
  g_queue_clear_full (&link->control_out, (GDestroyNotify) g_bytes_unref);
  g_cond_broadcast (&link->cond);
  report = !link->receives && !link->close_reported;
  link->close_reported = TRUE;
  g_mutex_unlock (&link->lock);

  if (!report || !(element = g_weak_ref_get (&link->element)))
    return;
  /* A sink that is not sending right now (flow control holds its framemux)
   * would never notice: say it here, unless the close is our own (after
   * EOS) or the element is stopping. Posting does not block. */
  if (GST_IS_BASE_SINK (element)) {
    GstPad *pad = GST_BASE_SINK_PAD (element);

    if (!GST_PAD_IS_EOS (pad) && !GST_PAD_IS_FLUSHING (pad) &&
        GST_STATE (element) >= GST_STATE_PAUSED)
      GST_ELEMENT_ERROR (element, RESOURCE, WRITE,
          ("The data channel was closed by the peer."),
          ("on-close while streaming, before EOS"));
  }
  gst_object_unref (element);
}

/* Closing starts (locally, or on the peer's stream reset) before on-close,
 * and webrtcbin 1.22 does not always emit on-close when data was in
 * flight: the state change is what ends the stream. Emitted outside the
 * channel's lock, so reading the state is safe here. */
static void
on_ready_state (GstWebRTCDataChannel * channel, GParamSpec * pspec,
    WrtcChannelLink * link)
{
  GstWebRTCDataChannelState state;

  g_object_get (channel, "ready-state", &state, NULL);
  if (state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSING
      || state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED)
    on_close (channel, link);
}

static void
on_error (GstWebRTCDataChannel * channel, GError * error,
    WrtcChannelLink * link)
{
  g_mutex_lock (&link->lock);
  if (!link->error)
    link->error = g_error_copy (error);
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
}

static void
on_buffered_amount_low (GstWebRTCDataChannel * channel,
    WrtcChannelLink * link)
{
  g_mutex_lock (&link->lock);
  link->low_count++;
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
}

/* Posted from here, not from the streaming thread, which may be the very
 * thing that is stuck downstream. */
static void
post_overrun (WrtcChannelLink * link, gsize size, guint64 max)
{
  GstElement *element = g_weak_ref_get (&link->element);

  if (!element)
    return;
  GST_ELEMENT_ERROR (element, STREAM, FAILED, ("Receive queue overrun: "
          "more than max-queue-bytes (%" G_GUINT64_FORMAT ") received and "
          "not yet consumed downstream; a %" G_GSIZE_FORMAT "-byte message "
          "did not fit. webrtcbin gives the receiver no backpressure: raise "
          "max-queue-bytes or consume faster.", max, size), (NULL));
  gst_object_unref (element);
}

/* Takes ownership of @buffer. The queue bound is checked here because
 * webrtcbin 1.22 has no receive backpressure: past the bound the element
 * fails loudly instead of growing without limit or dropping. */
static void
queue_message (WrtcChannelLink * link, GstBuffer * buffer)
{
  gsize size = gst_buffer_get_size (buffer);
  guint64 max = link->max_queue_bytes;

  g_mutex_lock (&link->lock);
  if (link->overrun_bytes) {
    g_mutex_unlock (&link->lock);
    gst_buffer_unref (buffer);
    return;
  }
  if (link->queued_bytes + size > max) {
    link->overrun_bytes = MAX (size, 1);
    g_cond_broadcast (&link->cond);
    g_mutex_unlock (&link->lock);
    gst_buffer_unref (buffer);
    post_overrun (link, size, max);
    return;
  } else {
    g_queue_push_tail (&link->queue, buffer);
    link->queued_bytes += size;
    link->peak_queued_bytes = MAX (link->peak_queued_bytes,
        link->queued_bytes);
    link->messages_received++;
    link->bytes_received += size;
  }
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
}

static void
on_message_data (GstWebRTCDataChannel * channel, GBytes * data,
    WrtcChannelLink * link)
{
  if (data)                     /* wraps, no copy */
    queue_message (link, gst_buffer_new_wrapped_bytes (data));
}

static void
on_message_string (GstWebRTCDataChannel * channel, const gchar * str,
    WrtcChannelLink * link)
{
  if (str)                      /* the string is the emitter's: copy it */
    queue_message (link, gst_buffer_new_memdup (str, strlen (str)));
}

/* datachannelsink: what the peer sends is read here only while no
 * datachannelsrc is attached to the channel (that one delivers it then). */
static void
on_message_data_reader (GstWebRTCDataChannel * channel, GBytes * data,
    WrtcChannelLink * link)
{
  GstElement *element;

  if (!data || !link->on_message || channel_peers_has_partner (channel, FALSE))
    return;
  element = g_weak_ref_get (&link->element);
  if (!element)
    return;
  link->on_message (element, data);
  gst_object_unref (element);
}

#define CONNECT(i, name, cb) \
  link->handler_ids[i] = g_signal_connect_data (channel, name, \
      G_CALLBACK (cb), wrtc_channel_link_ref (link), link_unref_closure, 0)

/* Connects the handlers as soon as the channel is known (on the pc thread
 * when the peer announces it), so no message is emitted before they are
 * in place; the state is read after connecting, so an on-open that fires
 * in between is not missed either. Takes a reference to @channel. */
static void
wire_channel (WrtcChannelLink * link, GstWebRTCDataChannel * channel)
{
  GstWebRTCDataChannelState state;

  CONNECT (0, "on-open", on_open);
  CONNECT (1, "on-close", on_close);
  CONNECT (2, "on-error", on_error);
  CONNECT (6, "notify::ready-state", on_ready_state);
  if (link->receives) {
    CONNECT (3, "on-message-data", on_message_data);
    CONNECT (4, "on-message-string", on_message_string);
  } else {
    CONNECT (5, "on-buffered-amount-low", on_buffered_amount_low);
    if (link->on_message)
      CONNECT (3, "on-message-data", on_message_data_reader);
  }

  g_object_get (channel, "ready-state", &state, NULL);
  g_mutex_lock (&link->lock);
  link->channel = g_object_ref (channel);
  link->wired = TRUE;
  link->awaiting = FALSE;
  if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
    link->open = TRUE;
  else if (state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSING
      || state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED)
    link->closed = TRUE;
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
  channel_peers_attach (link, channel);
  flush_control (link);
}

#undef CONNECT

static ChannelRegistry *
registry_get (GstElement * webrtcbin)
{
  ChannelRegistry *reg;

  G_LOCK (registry_create);
  reg = g_object_get_data (G_OBJECT (webrtcbin), REGISTRY_KEY);
  G_UNLOCK (registry_create);
  return reg;
}

/* Under reg->lock: @channel is now the one for @label; elements waiting
 * for that label take it. */
static void
registry_offer (ChannelRegistry * reg, const gchar * label,
    GstWebRTCDataChannel * channel)
{
  GList *l, *next;

  g_hash_table_replace (reg->channels, g_strdup (label),
      g_object_ref (channel));
  g_hash_table_remove (reg->warned, label);
  for (l = reg->waiters; l; l = next) {
    WrtcChannelLink *link = l->data;

    next = l->next;
    if (g_strcmp0 (link->label, label) != 0)
      continue;
    wire_channel (link, channel);
    reg->waiters = g_list_delete_link (reg->waiters, l);
    wrtc_channel_link_unref (link);
  }
}

static void
on_data_channel (GstElement * webrtcbin, GstWebRTCDataChannel * channel,
    gpointer unused)
{
  ChannelRegistry *reg = registry_get (webrtcbin);
  gchar *label = NULL;

  if (!reg)
    return;
  g_object_get (channel, "label", &label, NULL);
  if (!label)
    return;

  g_mutex_lock (&reg->lock);
  registry_offer (reg, label, channel);
  g_mutex_unlock (&reg->lock);
  g_free (label);
}

static void
registry_free (ChannelRegistry * reg)
{
  g_hash_table_unref (reg->channels);
  g_hash_table_unref (reg->creating);
  g_hash_table_unref (reg->warned);
  g_list_free_full (reg->waiters, (GDestroyNotify) wrtc_channel_link_unref);
  g_mutex_clear (&reg->lock);
  g_cond_clear (&reg->cond);
  g_free (reg);
}

static ChannelRegistry *
registry_ensure (GstElement * webrtcbin)
{
  ChannelRegistry *reg;

  G_LOCK (registry_create);
  reg = g_object_get_data (G_OBJECT (webrtcbin), REGISTRY_KEY);
  if (!reg) {
    reg = g_new0 (ChannelRegistry, 1);
    g_mutex_init (&reg->lock);
    g_cond_init (&reg->cond);
    reg->channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        g_object_unref);
    reg->creating = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
    reg->warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
    g_object_set_data_full (G_OBJECT (webrtcbin), REGISTRY_KEY, reg,
        (GDestroyNotify) registry_free);
    g_signal_connect (webrtcbin, "on-data-channel",
        G_CALLBACK (on_data_channel), NULL);
  }
  G_UNLOCK (registry_create);
  return reg;
}

static gboolean
channel_is_closed (GstWebRTCDataChannel * channel)
{
  GstWebRTCDataChannelState state;

  g_object_get (channel, "ready-state", &state, NULL);
  return state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSING
      || state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
}

static GstWebRTCDataChannel *
create_channel (GstElement * webrtcbin, const WrtcChannelOptions * o)
{
  GstWebRTCDataChannel *channel = NULL;
  GstStructure *s;

  s = gst_structure_new ("options", "ordered", G_TYPE_BOOLEAN, o->ordered,
      "negotiated", G_TYPE_BOOLEAN, o->negotiated, NULL);
  if (o->max_retransmits >= 0)
    gst_structure_set (s, "max-retransmits", G_TYPE_INT, o->max_retransmits,
        NULL);
  if (o->max_packet_lifetime >= 0)
    gst_structure_set (s, "max-packet-lifetime", G_TYPE_INT,
        o->max_packet_lifetime, NULL);
  if (o->id >= 0)
    gst_structure_set (s, "id", G_TYPE_INT, o->id, NULL);
  if (o->protocol && *o->protocol)
    gst_structure_set (s, "protocol", G_TYPE_STRING, o->protocol, NULL);
  g_signal_emit_by_name (webrtcbin, "create-data-channel", o->label, s,
      &channel);
  gst_structure_free (s);
  return channel;
}

gboolean
wrtc_channel_link_bind (WrtcChannelLink * link, GstElement * webrtcbin,
    const WrtcChannelOptions * options, gboolean create, GError ** error)
{
  ChannelRegistry *reg = registry_ensure (webrtcbin);
  GstWebRTCDataChannel *channel = NULL;
  const gchar *label = options->label;

  create = create || options->negotiated;
  link->webrtcbin = gst_object_ref (webrtcbin);
  link->label = g_strdup (label);

  for (;;) {
    gboolean stale;

    g_mutex_lock (&reg->lock);
    /* Another element may be creating this label right now: use its
     * channel rather than make a second one. */
    while (g_hash_table_contains (reg->creating, label))
      g_cond_wait (&reg->cond, &reg->lock);
    channel = g_hash_table_lookup (reg->channels, label);
    if (channel) {
      channel = g_object_ref (channel);
    } else if (!create) {
      g_mutex_lock (&link->lock);
      link->awaiting = TRUE;
      g_mutex_unlock (&link->lock);
      reg->waiters = g_list_prepend (reg->waiters,
          wrtc_channel_link_ref (link));
    } else {
      g_hash_table_add (reg->creating, g_strdup (label));
    }
    g_mutex_unlock (&reg->lock);

    /* A closed channel is left over from an earlier run: forget it. Its
     * state is read outside reg->lock (lock order: channel, then reg). */
    stale = channel && channel_is_closed (channel);
    if (!stale)
      break;
    g_mutex_lock (&reg->lock);
    if (g_hash_table_lookup (reg->channels, label) == channel)
      g_hash_table_remove (reg->channels, label);
    g_mutex_unlock (&reg->lock);
    g_object_unref (channel);
  }

  if (channel) {
    wire_channel (link, channel);
    g_object_unref (channel);
    return TRUE;
  }
  if (!create)
    return TRUE;

  /* Not under reg->lock: create-data-channel takes webrtcbin's PC lock, and
   * the pc thread takes reg->lock in on-data-channel. */
  channel = create_channel (webrtcbin, options);

  g_mutex_lock (&reg->lock);
  g_hash_table_remove (reg->creating, label);
  if (channel)
    registry_offer (reg, label, channel);
  g_cond_broadcast (&reg->cond);
  g_mutex_unlock (&reg->lock);

  if (!channel) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
        "webrtcbin refused to create data channel \"%s\" (closed, or an "
        "invalid option such as a duplicate id)", label);
    return FALSE;
  }
  wire_channel (link, channel);
  g_object_unref (channel);
  return TRUE;
}

void
wrtc_channel_link_use_channel (WrtcChannelLink * link,
    GstWebRTCDataChannel * channel)
{
  wire_channel (link, channel);
}


static gboolean
check_reliable (GstWebRTCDataChannel * channel, GError ** error)
{
  gboolean ordered;
  gint max_retransmits, max_packet_lifetime;

  g_object_get (channel, "ordered", &ordered, "max-retransmits",
      &max_retransmits, "max-packet-lifetime", &max_packet_lifetime, NULL);
  if (ordered && max_retransmits < 0 && max_packet_lifetime < 0)
    return TRUE;
  g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
      "Data channel is %s (max-retransmits %d, max-packet-lifetime %d): a "
      "byte stream such as framemux's needs an ordered, reliable channel. "
      "Set message-aligned=true only if every buffer stands on its own.",
      ordered ? "partially reliable" : "unordered", max_retransmits,
      max_packet_lifetime);
  return FALSE;
}

/* Once per webrtcbin and label (until the channel arrives): TRUE when the
 * caller is the one to warn. */
static gboolean
claim_announce_warning (WrtcChannelLink * link)
{
  ChannelRegistry *reg;
  gboolean first = FALSE;

  if (!link->webrtcbin || !(reg = registry_get (link->webrtcbin)))
    return FALSE;
  g_mutex_lock (&reg->lock);
  if (!g_hash_table_contains (reg->channels, link->label)
      && !g_hash_table_contains (reg->warned, link->label)) {
    g_hash_table_add (reg->warned, g_strdup (link->label));
    first = TRUE;
  }
  g_mutex_unlock (&reg->lock);
  return first;
}

static void
warn_not_announced (WrtcChannelLink * link)
{
  GstElement *element;

  if (!claim_announce_warning (link))
    return;
  element = g_weak_ref_get (&link->element);
  if (!element)
    return;
  GST_ELEMENT_WARNING (element, RESOURCE, NOT_FOUND,
      ("No data channel \"%s\" announced by the peer of %s within %d s. "
          "If neither side creates it, it never comes: set "
          "create-channel=true on one side. Still waiting.", link->label,
          GST_OBJECT_NAME (link->webrtcbin), WRTC_ANNOUNCE_WARN_S),
      ("channel awaited from on-data-channel (create-channel=false)"));
  gst_object_unref (element);
}

GstFlowReturn
wrtc_channel_link_wait_open (WrtcChannelLink * link,
    gboolean need_reliable, GError ** error)
{
  GstFlowReturn ret = GST_FLOW_ERROR;

  g_mutex_lock (&link->lock);
  /* A failed connection ends the wait even before the channel is known
   * (the peer can no longer announce it). While the peer has not announced
   * the channel, the wait is timed: past WRTC_ANNOUNCE_WARN_S the element
   * warns (once), then waits on without a timeout. wait_start survives
   * the preroll waits in between, so the time counts from the first. */
  while (!(link->wired && (link->open || link->closed)) && !link->error
      && !link->flushing) {
    if (link->awaiting && !link->wired) {
      gint64 deadline;

      if (link->wait_start == 0)
        link->wait_start = g_get_monotonic_time ();
      deadline = link->wait_start + WRTC_ANNOUNCE_WARN_S * G_TIME_SPAN_SECOND;
      if (g_cond_wait_until (&link->cond, &link->lock, deadline))
        continue;
      if (!link->awaiting || link->wired || link->flushing || link->error)
        continue;
      link->awaiting = FALSE;   /* warn once; the wait goes on untimed */
      g_mutex_unlock (&link->lock);
      warn_not_announced (link);
      g_mutex_lock (&link->lock);
      continue;
    }
    g_cond_wait (&link->cond, &link->lock);
  }
  if (link->flushing) {
    g_mutex_unlock (&link->lock);
    return GST_FLOW_FLUSHING;
  }
  if (link->error) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
        "Data channel failed: %s", link->error->message);
  } else if (!link->open) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_CLOSE,
        "Data channel closed before it opened");
  } else {
    ret = GST_FLOW_OK;
  }
  g_mutex_unlock (&link->lock);

  if (ret == GST_FLOW_OK && need_reliable
      && !check_reliable (link->channel, error))
    ret = GST_FLOW_ERROR;
  return ret;
}

static GstPadProbeReturn
on_encoder_idle (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  WrtcChannelLink *link = user_data;

  g_mutex_lock (&link->lock);
  link->encoder_idle = TRUE;
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
  return GST_PAD_PROBE_REMOVE;
}

/* The SCTP encoder input pad of this channel inside webrtcbin. */
static GstPad *
find_encoder_pad (WrtcChannelLink * link)
{
  GstIterator *it;
  GValue item = G_VALUE_INIT;
  GstPad *pad = NULL;
  gchar *name;
  gint id = -1;

  if (!link->webrtcbin)
    return NULL;
  g_object_get (link->channel, "id", &id, NULL);
  if (id < 0)
    return NULL;
  name = g_strdup_printf ("sink_%d", id);
  it = gst_bin_iterate_all_by_element_factory_name (GST_BIN
      (link->webrtcbin), "sctpenc");
  if (it && gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    pad = gst_element_get_static_pad (g_value_get_object (&item), name);
    g_value_unset (&item);
  }
  if (it)
    gst_iterator_free (it);
  g_free (name);
  return pad;
}

/* buffered-amount falls when a message enters webrtcbin's SCTP encoder,
 * but the encoder may still be holding it (usrsctp says EAGAIN and it
 * retries), and closing the channel in 1.22 releases the encoder's pad and
 * drops it. An idle probe on that pad fires once the encoder has let go:
 * only then is closing safe for the data sent. */
GstFlowReturn
wrtc_channel_link_wait_sent (WrtcChannelLink * link)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstPad *pad = find_encoder_pad (link);

  if (!pad) {
    GST_DEBUG ("SCTP encoder pad not found: not waiting for it");
    return GST_FLOW_OK;
  }
  g_mutex_lock (&link->lock);
  link->encoder_idle = FALSE;
  g_mutex_unlock (&link->lock);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_IDLE, on_encoder_idle,
      wrtc_channel_link_ref (link),
      (GDestroyNotify) wrtc_channel_link_unref);
  g_mutex_lock (&link->lock);
  while (!link->encoder_idle && !link->flushing && !link->closed
      && !link->error)
    g_cond_wait (&link->cond, &link->lock);
  if (link->flushing)
    ret = GST_FLOW_FLUSHING;
  else if (!link->encoder_idle)
    ret = GST_FLOW_ERROR;       /* closed or failed: the data may be lost */
  g_mutex_unlock (&link->lock);
  gst_object_unref (pad);
  return ret;
}

void
wrtc_channel_link_set_flushing (WrtcChannelLink * link, gboolean flushing)
{
  g_mutex_lock (&link->lock);
  link->flushing = flushing;
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
}

void
wrtc_channel_link_flush_slot (GstObject * owner, WrtcChannelLink ** slot,
    gboolean flushing)
{
  GST_OBJECT_LOCK (owner);
  if (*slot)
    wrtc_channel_link_set_flushing (*slot, flushing);
  GST_OBJECT_UNLOCK (owner);
}

void
wrtc_channel_link_release_slot (GstObject * owner, WrtcChannelLink ** slot)
{
  WrtcChannelLink *link;

  GST_OBJECT_LOCK (owner);
  link = g_steal_pointer (slot);
  GST_OBJECT_UNLOCK (owner);
  if (link) {
    wrtc_channel_link_unbind (link);
    wrtc_channel_link_unref (link);
  }
}

void
wrtc_channel_link_unbind (WrtcChannelLink * link)
{
  guint i;

  /* First leave the waiters, so the pc thread cannot wire this link while
   * it is being unwired. */
  if (link->webrtcbin) {
    ChannelRegistry *reg = registry_get (link->webrtcbin);

    if (reg) {
      GList *l;

      g_mutex_lock (&reg->lock);
      l = g_list_find (reg->waiters, link);
      if (l) {
        reg->waiters = g_list_delete_link (reg->waiters, l);
        wrtc_channel_link_unref (link);
      }
      g_mutex_unlock (&reg->lock);
    }
    for (i = 0; i < G_N_ELEMENTS (link->pc_handler_ids); i++) {
      if (link->pc_handler_ids[i])
        g_signal_handler_disconnect (link->webrtcbin,
            link->pc_handler_ids[i]);
      link->pc_handler_ids[i] = 0;
    }
    gst_clear_object (&link->webrtcbin);
  }
  for (i = 0; i < G_N_ELEMENTS (link->handler_ids); i++) {
    if (link->handler_ids[i])
      g_signal_handler_disconnect (link->channel, link->handler_ids[i]);
    link->handler_ids[i] = 0;
  }
  if (link->channel)
    channel_peers_detach (link, link->channel);
  g_mutex_lock (&link->lock);
  g_queue_clear_full (&link->control_out, (GDestroyNotify) g_bytes_unref);
  g_mutex_unlock (&link->lock);
}

/* The webrtcbin named @name in the same top-level bin as @self. */
static GstElement *
find_webrtcbin (GstElement * self, const gchar * name)
{
  GstObject *top = gst_object_ref (GST_OBJECT (self)), *parent;
  GstElement *found = NULL;

  while ((parent = gst_object_get_parent (top))) {
    gst_object_unref (top);
    top = parent;
  }
  if (GST_IS_BIN (top))
    found = gst_bin_get_by_name (GST_BIN (top), name);
  gst_object_unref (top);
  return found;
}

/* A channel never opens (and a full one never drains) once the
 * connection under it has failed, and webrtcbin 1.22 does not close or
 * fail the channel then: without this, an ICE failure before the channel
 * opens leaves the element waiting forever. webrtcbin emits these notifies
 * on its pc thread with its PC lock released, so reading the state here is
 * safe. */
static void
on_pc_state (GstElement * webrtcbin, GParamSpec * pspec,
    WrtcChannelLink * link)
{
  GstWebRTCICEConnectionState ice = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
  GstWebRTCPeerConnectionState pc = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  const gchar *what;

  g_object_get (webrtcbin, "ice-connection-state", &ice, "connection-state",
      &pc, NULL);
  GST_DEBUG ("%s: ICE connection state %d, connection state %d",
      GST_OBJECT_NAME (webrtcbin), ice, pc);
  if (ice == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
    what = "ICE connection state \"failed\": no candidate pair works";
  else if (pc == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    what = "connection state \"failed\"";
  else
    return;

  g_mutex_lock (&link->lock);
  if (!link->error) {
    GST_DEBUG ("%s: %s", GST_OBJECT_NAME (webrtcbin), what);
    link->error = g_error_new (GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
        "the WebRTC connection of %s failed (%s); check the ICE candidates "
        "the peers exchange and the network path between them",
        GST_OBJECT_NAME (webrtcbin), what);
  }
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->lock);
}

static void
watch_connection (WrtcChannelLink * link)
{
  link->pc_handler_ids[0] = g_signal_connect_data (link->webrtcbin,
      "notify::ice-connection-state", G_CALLBACK (on_pc_state),
      wrtc_channel_link_ref (link), link_unref_closure, 0);
  link->pc_handler_ids[1] = g_signal_connect_data (link->webrtcbin,
      "notify::connection-state", G_CALLBACK (on_pc_state),
      wrtc_channel_link_ref (link), link_unref_closure, 0);
  /* It may have failed before we looked. */
  on_pc_state (link->webrtcbin, NULL, link);
}

WrtcChannelLink *
wrtc_channel_link_start (GstElement * element,
    WrtcChannelSettings * settings, gboolean receives,
    WrtcChannelMessageFunc on_message, guint64 max_queue_bytes,
    GError ** error)
{
  WrtcChannelLink *link = wrtc_channel_link_new (receives, on_message,
      max_queue_bytes);
  GstWebRTCDataChannel *channel;
  WrtcChannelOptions options;
  GstElement *webrtcbin = NULL;
  gchar *name;
  gboolean create, ok = TRUE;

  GST_OBJECT_LOCK (element);
  channel = settings->channel ? g_object_ref (settings->channel) : NULL;
  name = g_strdup (settings->webrtcbin);
  options = settings->options;
  options.label = g_strdup (options.label);
  options.protocol = g_strdup (options.protocol);
  create = settings->create;
  GST_OBJECT_UNLOCK (element);
  g_weak_ref_set (&link->element, element);

  if (channel) {
    wrtc_channel_link_use_channel (link, channel);
  } else if (!name) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "No data channel: set the \"channel\" property, or \"webrtcbin\" "
        "(and \"label\")");
    ok = FALSE;
  } else if (!(webrtcbin = find_webrtcbin (element, name))) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "No element named \"%s\" in this pipeline", name);
    ok = FALSE;
  } else if (!g_signal_lookup ("create-data-channel",
          G_OBJECT_TYPE (webrtcbin))) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Element \"%s\" is not a webrtcbin", name);
    ok = FALSE;
  } else {
    ok = wrtc_channel_link_bind (link, webrtcbin, &options, create, error);
    if (ok)
      watch_connection (link);
  }

  g_clear_object (&channel);
  gst_clear_object (&webrtcbin);
  g_free (name);
  g_free (options.label);
  g_free (options.protocol);
  if (!ok) {
    wrtc_channel_link_unbind (link);
    wrtc_channel_link_unref (link);
    return NULL;
  }
  return link;
}

void
wrtc_channel_settings_init (WrtcChannelSettings * settings)
{
  memset (settings, 0, sizeof (*settings));
  settings->options.label = g_strdup ("wrtcframe");
  settings->options.ordered = TRUE;
  settings->options.max_retransmits = -1;
  settings->options.max_packet_lifetime = -1;
  settings->options.id = -1;
}

void
wrtc_channel_settings_clear (WrtcChannelSettings * settings)
{
  g_clear_object (&settings->channel);
  g_clear_pointer (&settings->webrtcbin, g_free);
  g_clear_pointer (&settings->options.label, g_free);
  g_clear_pointer (&settings->options.protocol, g_free);
}

void
wrtc_channel_settings_install (GObjectClass * klass, guint first_id)
{
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  GParamSpec *specs[WRTC_CHANNEL_N_PROPS];
  guint i;

  specs[WRTC_CHANNEL_PROP_CHANNEL] = g_param_spec_object ("channel",
      "Channel", "The data channel to use (for applications); when set, "
      "\"webrtcbin\" and the channel options are ignored",
      GST_TYPE_WEBRTC_DATA_CHANNEL, flags);
  specs[WRTC_CHANNEL_PROP_WEBRTCBIN] = g_param_spec_string ("webrtcbin",
      "webrtcbin", "Name of a webrtcbin in the same pipeline whose data "
      "channel \"label\" to use", NULL, flags);
  specs[WRTC_CHANNEL_PROP_LABEL] = g_param_spec_string ("label", "Label",
      "Label of the data channel on \"webrtcbin\"", "wrtcframe", flags);
  specs[WRTC_CHANNEL_PROP_CREATE] = g_param_spec_boolean ("create-channel",
      "Create channel", "Create the channel on \"webrtcbin\" when this "
      "process does not know one with this label yet (do it before the "
      "offer is made). FALSE: wait for the peer to announce it "
      "(on-data-channel). Negotiated channels are always created",
      FALSE, flags);
  specs[WRTC_CHANNEL_PROP_ORDERED] = g_param_spec_boolean ("ordered",
      "Ordered", "Option of a channel this element creates: ordered "
      "delivery", TRUE, flags);
  specs[WRTC_CHANNEL_PROP_MAX_RETRANSMITS] =
      g_param_spec_int ("max-retransmits", "Max retransmits",
      "Option of a channel this element creates: retransmissions before a "
      "message is given up (-1: reliable)", -1, 65535, -1, flags);
  specs[WRTC_CHANNEL_PROP_MAX_PACKET_LIFETIME] =
      g_param_spec_int ("max-packet-lifetime", "Max packet lifetime",
      "Option of a channel this element creates: ms before a message is "
      "given up (-1: reliable)", -1, 65535, -1, flags);
  specs[WRTC_CHANNEL_PROP_NEGOTIATED] = g_param_spec_boolean ("negotiated",
      "Negotiated", "Option of a channel this element creates: negotiated "
      "out of band (both peers create it with the same \"id\"; no "
      "announcement)", FALSE, flags);
  specs[WRTC_CHANNEL_PROP_ID] = g_param_spec_int ("id", "ID",
      "Option of a channel this element creates: SCTP stream id (-1: "
      "chosen by webrtcbin; required when negotiated)", -1, 65534, -1, flags);
  specs[WRTC_CHANNEL_PROP_PROTOCOL] = g_param_spec_string ("protocol",
      "Protocol", "Option of a channel this element creates: "
      "sub-protocol name", NULL, flags);
  specs[WRTC_CHANNEL_PROP_MESSAGE_ALIGNED] =
      g_param_spec_boolean ("message-aligned", "Message aligned",
      "Every buffer stands on its own, so an unordered or partially "
      "reliable channel is acceptable. FALSE (byte streams such as "
      "framemux's): such a channel is refused with an error", FALSE, flags);

  for (i = 0; i < WRTC_CHANNEL_N_PROPS; i++)
    g_object_class_install_property (klass, first_id + i, specs[i]);
}

gboolean
wrtc_channel_settings_set (WrtcChannelSettings * s, guint id,
    const GValue * value)
{
  switch (id) {
    case WRTC_CHANNEL_PROP_CHANNEL:
      g_clear_object (&s->channel);
      s->channel = g_value_dup_object (value);
      break;
    case WRTC_CHANNEL_PROP_WEBRTCBIN:
      g_free (s->webrtcbin);
      s->webrtcbin = g_value_dup_string (value);
      break;
    case WRTC_CHANNEL_PROP_LABEL:
      g_free (s->options.label);
      s->options.label = g_value_dup_string (value);
      if (!s->options.label)
        s->options.label = g_strdup ("");
      break;
    case WRTC_CHANNEL_PROP_CREATE:
      s->create = g_value_get_boolean (value);
      break;
    case WRTC_CHANNEL_PROP_ORDERED:
      s->options.ordered = g_value_get_boolean (value);
      break;
    case WRTC_CHANNEL_PROP_MAX_RETRANSMITS:
      s->options.max_retransmits = g_value_get_int (value);
      break;
    case WRTC_CHANNEL_PROP_MAX_PACKET_LIFETIME:
      s->options.max_packet_lifetime = g_value_get_int (value);
      break;
    case WRTC_CHANNEL_PROP_NEGOTIATED:
      s->options.negotiated = g_value_get_boolean (value);
      break;
    case WRTC_CHANNEL_PROP_ID:
      s->options.id = g_value_get_int (value);
      break;
    case WRTC_CHANNEL_PROP_PROTOCOL:
      g_free (s->options.protocol);
      s->options.protocol = g_value_dup_string (value);
      break;
    case WRTC_CHANNEL_PROP_MESSAGE_ALIGNED:
      s->message_aligned = g_value_get_boolean (value);
      break;
    default:
      return FALSE;
  }
  return TRUE;
}

gboolean
wrtc_channel_settings_get (WrtcChannelSettings * s, guint id, GValue * value)
{
  switch (id) {
    case WRTC_CHANNEL_PROP_CHANNEL:
      g_value_set_object (value, s->channel);
      break;
    case WRTC_CHANNEL_PROP_WEBRTCBIN:
      g_value_set_string (value, s->webrtcbin);
      break;
    case WRTC_CHANNEL_PROP_LABEL:
      g_value_set_string (value, s->options.label);
      break;
    case WRTC_CHANNEL_PROP_CREATE:
      g_value_set_boolean (value, s->create);
      break;
    case WRTC_CHANNEL_PROP_ORDERED:
      g_value_set_boolean (value, s->options.ordered);
      break;
    case WRTC_CHANNEL_PROP_MAX_RETRANSMITS:
      g_value_set_int (value, s->options.max_retransmits);
      break;
    case WRTC_CHANNEL_PROP_MAX_PACKET_LIFETIME:
      g_value_set_int (value, s->options.max_packet_lifetime);
      break;
    case WRTC_CHANNEL_PROP_NEGOTIATED:
      g_value_set_boolean (value, s->options.negotiated);
      break;
    case WRTC_CHANNEL_PROP_ID:
      g_value_set_int (value, s->options.id);
      break;
    case WRTC_CHANNEL_PROP_PROTOCOL:
      g_value_set_string (value, s->options.protocol);
      break;
    case WRTC_CHANNEL_PROP_MESSAGE_ALIGNED:
      g_value_set_boolean (value, s->message_aligned);
      break;
    default:
      return FALSE;
  }
  return TRUE;
}

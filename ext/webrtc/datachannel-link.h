/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __WRTC_DATACHANNEL_LINK_H__
#define __WRTC_DATACHANNEL_LINK_H__

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

G_BEGIN_DECLS

/* What datachannelsink and datachannelsrc share: how they find their
 * channel, and the state that webrtcbin's "<name>:pc" thread reports to the
 * element's streaming thread.
 *
 * webrtcbin emits every channel signal on its pc thread with its PC lock
 * held, so the handlers here only record what happened under link->lock and
 * signal link->cond; every wait happens on the element's own thread. The
 * handlers hold a reference to the link (not to the element), so a signal
 * that is still running while the element stops touches only live memory. */

typedef struct _WrtcChannelOptions
{
  gchar *label;
  gboolean ordered;
  gint max_retransmits;         /* -1: unlimited */
  gint max_packet_lifetime;     /* -1: unlimited */
  gboolean negotiated;
  gint id;                      /* -1: chosen by webrtcbin */
  gchar *protocol;
} WrtcChannelOptions;

/* The channel-selection properties both elements share, installed by
 * wrtc_channel_settings_install () with ids from @first_id on. */
typedef struct _WrtcChannelSettings
{
  GstWebRTCDataChannel *channel;
  gchar *webrtcbin;
  gboolean create;
  gboolean message_aligned;
  WrtcChannelOptions options;
} WrtcChannelSettings;

enum
{
  WRTC_CHANNEL_PROP_CHANNEL,
  WRTC_CHANNEL_PROP_WEBRTCBIN,
  WRTC_CHANNEL_PROP_LABEL,
  WRTC_CHANNEL_PROP_CREATE,
  WRTC_CHANNEL_PROP_ORDERED,
  WRTC_CHANNEL_PROP_MAX_RETRANSMITS,
  WRTC_CHANNEL_PROP_MAX_PACKET_LIFETIME,
  WRTC_CHANNEL_PROP_NEGOTIATED,
  WRTC_CHANNEL_PROP_ID,
  WRTC_CHANNEL_PROP_PROTOCOL,
  WRTC_CHANNEL_PROP_MESSAGE_ALIGNED,
  WRTC_CHANNEL_N_PROPS
};

void wrtc_channel_settings_init (WrtcChannelSettings * settings);
void wrtc_channel_settings_clear (WrtcChannelSettings * settings);
void wrtc_channel_settings_install (GObjectClass * klass, guint first_id);
/* Return FALSE when @id is not one of the shared properties. */
gboolean wrtc_channel_settings_set (WrtcChannelSettings * settings,
    guint id, const GValue * value);
gboolean wrtc_channel_settings_get (WrtcChannelSettings * settings,
    guint id, GValue * value);

typedef struct _WrtcChannelLink WrtcChannelLink;

/* How long an element waits for a peer-announced channel before it warns
 * (once per webrtcbin and label) that neither side may be creating it. */
#define WRTC_ANNOUNCE_WARN_S 5

/* A datachannelsink's reader of incoming messages (when no datachannelsrc
 * is attached to its channel): runs on webrtcbin's pc thread with its PC
 * lock held, so it must not block. */
typedef void (*WrtcChannelMessageFunc) (GstElement * element, GBytes * data);

/* Most control frames a datachannelsrc keeps while its channel is not open
 * yet; more are dropped with a warning. */
#define WRTC_MAX_PENDING_CONTROL 16

struct _WrtcChannelLink
{
  gint refcount;
  GMutex lock;
  GCond cond;

  gboolean receives;            /* datachannelsrc: queue the messages */
  WrtcChannelMessageFunc on_message;    /* datachannelsink: read them */

  /* Set once under lock together with @wired (possibly on the pc thread,
   * when the peer announces the channel), then read without lock. */
  GstWebRTCDataChannel *channel;
  gulong handler_ids[7];

  /* Under lock. */
  gboolean wired;
  gboolean open;
  gboolean closed;
  gboolean close_reported;      /* a sink's "closed by the peer" error */
  gboolean flushing;
  GError *error;
  guint64 low_count;            /* on-buffered-amount-low emissions */
  gboolean encoder_idle;

  /* Receive queue (datachannelsrc), under lock. */
  GQueue queue;
  guint64 queued_bytes;
  guint64 max_queue_bytes;
  guint64 peak_queued_bytes;
  guint64 overrun_bytes;        /* size of the message that did not fit */
  guint64 messages_received;
  guint64 bytes_received;

  /* Control frames datachannelsrc sends itself (no datachannelsink on the
   * channel), under lock: waiting for the channel to open, and whether a
   * thread is sending them now (which keeps them in order). */
  GQueue control_out;
  gboolean control_busy;
  guint64 control_sent;
  guint64 control_dropped;

  /* Waiting for a peer-announced channel, under lock. */
  gboolean awaiting;
  gint64 wait_start;            /* monotonic us, 0: not waiting yet */

  GWeakRef element;             /* for errors posted from the pc thread */

  /* Owned by the element's thread. */
  GstElement *webrtcbin;        /* while bound by name */
  gulong pc_handler_ids[2];     /* its connection-state notifies */
  gchar *label;                 /* awaited label */
};

WrtcChannelLink *wrtc_channel_link_new (gboolean receives,
    WrtcChannelMessageFunc on_message, guint64 max_queue_bytes);
WrtcChannelLink *wrtc_channel_link_ref (WrtcChannelLink * link);
void wrtc_channel_link_unref (WrtcChannelLink * link);

/* Use @channel (the "channel" property). */
void wrtc_channel_link_use_channel (WrtcChannelLink * link,
    GstWebRTCDataChannel * channel);

/* Find or create the channel on @webrtcbin: a channel with this label that
 * this process already knows on that webrtcbin (created locally by another
 * element, or announced by the peer) is taken; otherwise it is created when
 * @create (or negotiated) is set, else awaited from "on-data-channel".
 * Must not be called from webrtcbin's signal handlers. */
gboolean wrtc_channel_link_bind (WrtcChannelLink * link,
    GstElement * webrtcbin, const WrtcChannelOptions * options,
    gboolean create, GError ** error);

/* Waits (interruptibly) until the channel is open. While the channel is
 * awaited from the peer, a GST_ELEMENT_WARNING is posted after
 * WRTC_ANNOUNCE_WARN_S (once per webrtcbin and label) and the wait goes on. Returns GST_FLOW_OK,
 * GST_FLOW_FLUSHING, or GST_FLOW_ERROR with @error set (closed or failed
 * before opening, or the channel's reliability does not fit). */
GstFlowReturn wrtc_channel_link_wait_open (WrtcChannelLink * link,
    gboolean need_reliable, GError ** error);

/* After buffered-amount reached 0: waits until webrtcbin's SCTP encoder has
 * taken the last message (see the .c for why). GST_FLOW_ERROR when the
 * channel closes or fails, or the connection fails, before that. */
GstFlowReturn wrtc_channel_link_wait_sent (WrtcChannelLink * link);

void wrtc_channel_link_set_flushing (WrtcChannelLink * link,
    gboolean flushing);

/* For the elements, whose link pointer (@slot) lives under @owner's object
 * lock: flush the link if there is one (unlock / unlock_stop), or take it
 * away, unbind and drop it (stopping). */
void wrtc_channel_link_flush_slot (GstObject * owner, WrtcChannelLink ** slot,
    gboolean flushing);
void wrtc_channel_link_release_slot (GstObject * owner,
    WrtcChannelLink ** slot);

/* Disconnects every handler and forgets the channel (the registry keeps its
 * own reference for other elements). */
void wrtc_channel_link_unbind (WrtcChannelLink * link);

/* The element of the other kind (datachannelsrc for a sink's link, and the
 * reverse) attached to the same channel object in this process, or NULL.
 * A new reference. Thread-safe. */
GstElement *wrtc_channel_link_get_partner (WrtcChannelLink * link);

/* datachannelsrc without a datachannelsink on its channel: sends the
 * control message @payload (u16 code + data) as one whole frame (conn 0)
 * in one message; queued (at most WRTC_MAX_PENDING_CONTROL) until the
 * channel opens. FALSE when it was dropped: channel closed or failed,
 * queue full, or the send failed. */
gboolean wrtc_channel_link_send_control (WrtcChannelLink * link,
    const guint8 * payload, gsize size);

/* Binds a new link as @settings say (the element's object lock is taken to
 * read them). Returns NULL with @error set when no channel can be had. */
WrtcChannelLink *wrtc_channel_link_start (GstElement * element,
    WrtcChannelSettings * settings, gboolean receives,
    WrtcChannelMessageFunc on_message, guint64 max_queue_bytes,
    GError ** error);

G_END_DECLS

#endif /* __WRTC_DATACHANNEL_LINK_H__ */

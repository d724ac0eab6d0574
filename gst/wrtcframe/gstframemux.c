/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/**
 * SECTION:element-framemux
 * @title: framemux
 * @see_also: framedemux
 *
 * framemux multiplexes many independent byte streams ("connections") into
 * one framed byte stream, in the wire format of the WebRTC tunnel (see
 * wire-format.md): every input buffer on request pad `sink_N` becomes one
 * frame with connection number N, the sender's wall clock in milliseconds
 * (taken when the buffer arrives), the payload length, the payload and a
 * ';' terminator. Connection 0 is reserved for control messages and cannot
 * be requested. A zero-size input buffer becomes a zero-length frame (valid
 * on the wire). Output buffers carry no timestamps: the output is a byte
 * stream meant for a data channel.
 *
 * ## Control connection
 *
 * With #GstFrameMux:announce-connections (the default) framemux announces
 * its connections on connection 0: OpenConnection when a pad's first caps
 * or first buffer arrives, SendEOF on its EOS and CloseConnection (reason
 * Normal, u16) when it is released. These messages are queued on the pad
 * itself, so they are always in order with its data. A released pad's
 * number can be requested again at once; the new pad's frames wait until
 * the old pad's close is out. #GstFrameMux:send-caps adds the pad's caps to
 * OpenConnection (for a framedemux peer). The #GstFrameMux::send-control
 * action signal queues any control message; those go out ahead of queued
 * connection data.
 *
 * ## Design
 *
 * The connections are independent, untimed byte streams, so GstAggregator
 * (which waits for data on every pad and orders by running time) does not
 * fit; framemux is a plain element in the style of sctpenc:
 *
 * * Exactly one thread at a time is the "pusher" and pushes downstream,
 *   never with the element lock held.
 * * Fast path: a chain function that finds nothing queued and nobody
 *   pushing becomes the pusher and pushes its frame itself, from its own
 *   streaming thread. When downstream keeps up, a lone frame therefore goes
 *   out at once, without any timer or thread hand-off.
 * * Except under backpressure: a downstream element that paces the stream
 *   can send the custom upstream event `wrtc-backpressure` (datachannelsink
 *   does each time it had to wait for its channel to drain). For the next 0.5 s,
 *   renewed by each such event, chains then always queue, and the task
 *   packs the frames into full output buffers: a single upstream thread,
 *   blocked in its own push, would otherwise never coalesce anything.
 *   With the field "persistent" (boolean TRUE) the fast path stays off
 *   until READY: for a downstream whose every buffer is costly.
 * * Otherwise the frame is queued on its pad and a task on the source pad
 *   drains the queues: it takes one frame from each pad with queued data in
 *   turn (round-robin, so no connection can starve another and an idle
 *   connection never delays a busy one) and packs them into one output
 *   buffer of at most #GstFrameMux:max-message-size bytes. Each output
 *   buffer is filled up to that size; a frame that does not fit is split
 *   and its remainder starts the next output buffer (the stream is a byte
 *   stream, frames of one connection are never reordered). A chain that
 *   finishes a fast-path push while others queued data meanwhile wakes the
 *   task instead of draining itself, so its own upstream is not held back.
 * * Each pad queues at most #GstFrameMux:max-queue-bytes payload bytes; a
 *   chain that would exceed this waits (backpressure) until the task has
 *   taken enough out, until the pad is flushed or released, or until the
 *   element goes to READY. A single buffer larger than the bound is still
 *   accepted when the pad's queue is empty.
 * * Payloads are copied exactly once, straight into the contiguous output
 *   buffer, outside the element lock.
 *
 * Events: stream-start, caps and segment of the sink pads are consumed (the
 * caps are remembered per pad); the source pad gets its own stream-start,
 * `application/x-wrtcframe` caps and a TIME segment. EOS on a sink pad ends
 * that connection after its queued data; EOS goes downstream once every sink
 * pad is EOS and everything queued is out (a pad requested later reopens
 * this). Flush-start/stop on a sink pad drops only that pad's queued data
 * and unblocks its chain; it is not forwarded, the other connections are not
 * affected. A chain that is itself pushing downstream at that moment returns
 * when downstream returns (a frame that is partly sent is always completed,
 * to keep the byte stream intact). Releasing a pad while playing is safe:
 * data already accepted from it is still sent. Seeks are refused.
 *
 * When downstream returns an error, not-linked, flushing or EOS, every
 * chain returns that value until the next flush or state change.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e framemux name=m ! filesink location=tunnel.bin \
 *     videotestsrc num-buffers=100 ! m.sink_1 \
 *     audiotestsrc num-buffers=100 ! m.sink_2
 * ]| Writes the raw video and audio buffers as connections 1 and 2 of one
 * framed byte stream into tunnel.bin.
 *
 * |[
 * gst-launch-1.0 -e framemux name=m ! framedemux name=d \
 *     d.src_1 ! queue ! fakesink async=false  d.src_2 ! queue ! fakesink async=false \
 *     videotestsrc num-buffers=100 ! m.sink_1 \
 *     audiotestsrc num-buffers=100 ! m.sink_2
 * ]| A round trip through framedemux.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <stdlib.h>

#include <gst/base/gstqueuearray.h>

#include "gstframemux.h"
#include "framemux-pad.h"
#include "gstwrtcframeelements.h"
#include "frame-codec.h"
#include "wrtcframe-events.h"

GST_DEBUG_CATEGORY_STATIC (gst_frame_mux_debug);
#define GST_CAT_DEFAULT gst_frame_mux_debug

#define DEFAULT_MAX_MESSAGE_SIZE 65536
#define MIN_MAX_MESSAGE_SIZE 64
#define DEFAULT_MAX_QUEUE_BYTES (1024 * 1024)
#define DEFAULT_FLOW_CONTROL TRUE
/* Below what usrsctp's send buffer takes, so sctpenc never meets EAGAIN:
 * it charges every DATA chunk an overhead, and 768 KiB of 16 KiB messages
 * already filled it under load (measured: sctpenc's "Sent only" retries). */
#define DEFAULT_MAX_IN_FLIGHT (512 * 1024)
#define DEFAULT_ACK_TIMEOUT 60000
/* Before the receiver's FlowGrant: at most this much outstanding per
 * connection and in all, for at most grant-timeout after the offer went
 * out; then the peer is taken for one without flow control. Generous: a
 * grant that comes late means a burst without limits first, which can
 * fill usrsctp's buffer (and so hang webrtcbin 1.22 at shutdown). */
#define PREGRANT_WINDOW (64 * 1024)
#define PREGRANT_TUNNEL (256 * 1024)
#define DEFAULT_GRANT_TIMEOUT 5000

/* How long after downstream last signalled backpressure frames keep
 * queueing (and so coalescing) instead of taking the fast path. */
#define BACKPRESSURE_HOLD_US (500 * 1000)

/* ---- GstFrameMux ---- */

/* One piece of a frame placed into the output buffer being built. */
typedef struct
{
  GstBuffer *buf;               /* payload */
  guint64 ts;
  guint32 conn;
  gsize off;                    /* offset inside the frame's wire bytes */
  gsize n;                      /* bytes of the frame to copy */
  gboolean done;                /* last piece: drop buf afterwards */
} MuxPiece;

struct _GstFrameMux
{
  GstElement parent;

  GstPad *srcpad;

  GMutex lock;
  GCond task_cond;

  /* protected by lock */
  GHashTable *pads;             /* conn -> GstFrameMuxPad (one ref) */
  GHashTable *draining;         /* conn -> released pad still in the ring */
  guint32 next_auto;            /* no free number below this for sink_%u */
  guint n_pads;
  guint n_eos;
  GQueue ring;                  /* pads with queued frames (embedded links) */
  GstQueueArray *control;       /* MuxFrame: send-control messages */
  guint64 control_bytes;
  guint64 pending_frames;       /* queued in all queues, control included */
  guint64 pending_data;         /* of those, frames of connections */
  gboolean send_caps;
  gboolean announce;
  gboolean forward_eos;
  gboolean pushing;             /* someone is the pusher */
  gint64 coalesce_until;        /* monotonic us; 0: fast path allowed,
                                 * G_MAXINT64: never (until READY) */
  gboolean stopping;            /* going to READY, or src inactive */
  gboolean task_waiting;
  gboolean eos_sent;
  GstFlowReturn last_flow;
  guint max_message_size;
  guint max_queue_bytes;
  GSList *dead_pads;            /* released pads to unref outside the lock */

  /* Flow control (wire-format.md), under lock. */
  gboolean flow_control;        /* property: offer it */
  guint max_in_flight;
  guint ack_timeout;            /* ms, 0: never */
  guint grant_timeout;          /* ms */
  gboolean need_offer;          /* FlowOffer not queued yet */
  gint64 offer_sent_at;         /* monotonic us the offer's push returned */
  gboolean no_grant;            /* none came: a peer without flow control */
  gboolean flow_active;         /* the peer granted windows */
  guint32 flow_window;
  guint32 flow_tunnel;
  guint64 outstanding;          /* sent - acked over the live pads */
  gint64 last_progress;         /* monotonic us of the last ack */
  guint64 stat_credit_waits;
  guint64 stat_credits;

  /* A frame partly sent: its remainder must start the next message. Only
   * the pusher touches it (with the lock held in gather). */
  gboolean have_split;
  MuxFrame split;
  gsize split_off;

  /* Only touched by the pusher. */
  GArray *pieces;
  gboolean need_headers;
  gboolean discont;

  /* stats, protected by lock */
  guint64 stat_frames;
  guint64 stat_bytes;
  guint64 stat_messages;
  guint64 stat_bytes_out;
  guint64 stat_frames_split;
  guint64 stat_blocked;
  guint64 stat_control;
};

enum
{
  PROP_0,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_QUEUE_BYTES,
  PROP_STATS,
  PROP_SEND_CAPS,
  PROP_ANNOUNCE,
  PROP_FORWARD_EOS,
  PROP_FLOW_CONTROL,
  PROP_MAX_IN_FLIGHT,
  PROP_ACK_TIMEOUT,
  PROP_GRANT_TIMEOUT,
};

enum
{
  SIGNAL_SEND_CONTROL,
  LAST_SIGNAL
};

static guint mux_signals[LAST_SIGNAL];

/* send-control refuses messages beyond this many queued bytes: the control
 * connection carries small messages, a backlog this large means the
 * downstream is stuck and the caller must not be blocked by it */
#define MAX_CONTROL_BYTES (1024 * 1024)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK,
    GST_PAD_REQUEST,
    GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (WRTC_FRAME_CAPS));

#define gst_frame_mux_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstFrameMux, gst_frame_mux, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_frame_mux_debug, "framemux", 0,
        "framemux element"));
GST_ELEMENT_REGISTER_DEFINE (framemux, "framemux", GST_RANK_NONE,
    GST_TYPE_FRAME_MUX);

#define HAS_DATA(m) ((m)->pending_frames > 0 || (m)->have_split)
/* with flow control, EOS waits until the peer has everything: only then
 * may the channel close without loss */
#define NEED_EOS(m) ((m)->n_pads > 0 && (m)->n_eos == (m)->n_pads && \
    !(m)->eos_sent && (m)->forward_eos && \
    (!(m)->flow_active || (m)->outstanding == 0))

static inline gsize
frame_wire_size (gsize len)
{
  return len + WRTC_FRAME_OVERHEAD;
}

/* Copies bytes [off, off + n) of the frame's wire representation to @dest.
 * The payload goes straight from the input buffer into @dest. */
static void
copy_frame_bytes (guint8 * dest, guint32 conn, guint64 ts, GstBuffer * buf,
    gsize len, gsize off, gsize n)
{
  gsize end = off + n;

  if (off < WRTC_FRAME_HEADER_SIZE) {
    if (off == 0 && n >= WRTC_FRAME_HEADER_SIZE) {
      wrtc_frame_write_header (dest, conn, ts, len);
    } else {
      guint8 hdr[WRTC_FRAME_HEADER_SIZE];
      gsize h = MIN (end, WRTC_FRAME_HEADER_SIZE) - off;

      wrtc_frame_write_header (hdr, conn, ts, len);
      memcpy (dest, hdr + off, h);
    }
    dest += MIN (end, WRTC_FRAME_HEADER_SIZE) - off;
    off = MIN (end, WRTC_FRAME_HEADER_SIZE);
  }
  if (off < end && off < WRTC_FRAME_HEADER_SIZE + len) {
    gsize p = MIN (end, WRTC_FRAME_HEADER_SIZE + len) - off;

    gst_buffer_extract (buf, off - WRTC_FRAME_HEADER_SIZE, dest, p);
    dest += p;
    off += p;
  }
  if (off < end)
    *dest = WRTC_FRAME_TERMINATOR;
}

static void
wake_task (GstFrameMux * mux)
{
  if (mux->task_waiting)
    g_cond_signal (&mux->task_cond);
}

static void
wake_all_chains (GstFrameMux * mux)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, mux->pads);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    GstFrameMuxPad *p = value;

    if (p->waiting)
      g_cond_broadcast (&p->space_cond);
  }
}

/* Records a downstream flow result; called with the lock held. */
static void
record_flow (GstFrameMux * mux, GstFlowReturn ret)
{
  if (ret == GST_FLOW_OK || mux->last_flow != GST_FLOW_OK)
    return;
  GST_DEBUG_OBJECT (mux, "downstream returned %s", gst_flow_get_name (ret));
  mux->last_flow = ret;
  wake_all_chains (mux);
}

/* Sticky events for the source pad; only the pusher calls this. */
static void
push_headers (GstFrameMux * mux)
{
  gchar *stream_id;
  GstEvent *ev;
  GstCaps *caps;
  GstSegment segment;

  if (G_LIKELY (!mux->need_headers))
    return;
  mux->need_headers = FALSE;

  /* gst_pad_create_stream_id() wants at most one sink pad; a muxer's
   * output is a new stream anyway */
  stream_id = g_strdup_printf ("framemux-%08x%08x%08x%08x", g_random_int (),
      g_random_int (), g_random_int (), g_random_int ());
  ev = gst_event_new_stream_start (stream_id);
  gst_event_set_group_id (ev, gst_util_group_id_next ());
  g_free (stream_id);
  gst_pad_push_event (mux->srcpad, ev);

  caps = gst_caps_new_empty_simple (WRTC_FRAME_CAPS);
  gst_pad_push_event (mux->srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps);

  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (mux->srcpad, gst_event_new_segment (&segment));
}

static GstFlowReturn
push_buffer (GstFrameMux * mux, GstBuffer * out)
{
  if (G_UNLIKELY (mux->discont)) {
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
    mux->discont = FALSE;
  }
  return gst_pad_push (mux->srcpad, out);
}

/* ---- flow control ---- */

static void flush_pad_queue (GstFrameMux * mux, GstFrameMuxPad * mpad,
    gboolean keep_control);
static gboolean gst_frame_mux_send_control (GstFrameMux * mux, guint code,
    GBytes * data);
static void unref_dead_pads (GSList * dead);

/* May @mpad send a frame of @size now (wire-format.md's sender rules)?
 * Lock held. */
static gboolean
credit_allows (GstFrameMux * mux, GstFrameMuxPad * mpad, guint64 size)
{
  guint64 out = mpad->sent - mpad->acked;

  if (out >= mux->flow_window / 4 && out + size > mux->flow_window)
    return FALSE;
  return mux->outstanding < mux->flow_tunnel / 4 ||
      mux->outstanding + size <= mux->flow_tunnel;
}

static inline gint64
grant_deadline (GstFrameMux * mux)
{
  return mux->offer_sent_at + (gint64) mux->grant_timeout * 1000;
}

/* Before the grant: must @mpad wait for it? Sets no_grant once the wait
 * for a grant is over. Lock held. */
static gboolean
pregrant_must_wait (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  if (G_LIKELY (mux->flow_active || mux->no_grant || !mux->flow_control ||
          !mux->announce))
    return FALSE;
  if (mpad->sent - mpad->acked < PREGRANT_WINDOW &&
      mux->outstanding < PREGRANT_TUNNEL)
    return FALSE;
  if (mux->offer_sent_at != 0 &&
      g_get_monotonic_time () >= grant_deadline (mux)) {
    GST_INFO_OBJECT (mux, "no FlowGrant within %u ms of the offer: the peer "
        "has no flow control", mux->grant_timeout);
    mux->no_grant = TRUE;
    return FALSE;
  }
  return TRUE;
}

/* Takes @size payload bytes of @mpad into account. Lock held. */
static inline void
credit_take (GstFrameMux * mux, GstFrameMuxPad * mpad, guint64 size)
{
  mpad->sent += size;
  mux->outstanding += size;
}

/* Stops counting what @mpad has unacknowledged. Lock held. */
static void
credit_forget (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  mux->outstanding -= mpad->sent - mpad->acked;
  mpad->sent = mpad->acked = 0;
}

/* TRUE when the peer has acknowledged nothing for ack-timeout while data
 * is outstanding: the channel stalled or the peer stopped reading. */
static gboolean
credit_stalled (GstFrameMux * mux)
{
  return mux->flow_active && mux->ack_timeout > 0 && mux->outstanding > 0 &&
      g_get_monotonic_time () - mux->last_progress >=
      (gint64) mux->ack_timeout * 1000;
}

static void
post_stalled (GstFrameMux * mux, guint64 outstanding, guint timeout)
{
  GST_ELEMENT_ERROR (mux, STREAM, FAILED,
      ("The peer acknowledged nothing for %u ms while %" G_GUINT64_FORMAT
          " bytes are outstanding: the data channel has stalled, or the "
          "receiving side stopped reading.", timeout, outstanding),
      ("flow control: no FlowCredit within ack-timeout"));
}

/* Waits on @cond until woken, or until the ack timeout would expire.
 * Lock held. */
static void
credit_wait (GstFrameMux * mux, GCond * cond)
{
  /* timed only until the stall has been reported */
  if (mux->flow_active && mux->ack_timeout > 0 && mux->outstanding > 0 &&
      mux->last_flow == GST_FLOW_OK)
    g_cond_wait_until (cond, &mux->lock, mux->last_progress +
        (gint64) mux->ack_timeout * 1000 + 1000);
  else
    g_cond_wait (cond, &mux->lock);
}

/* The first frame of a stream that offers credit, queued with the first
 * control message (an idle framemux stays silent). Lock held. */
static void
queue_flow_offer (GstFrameMux * mux)
{
  GstBuffer *buf;
  GstMapInfo map;
  MuxFrame f;

  if (G_LIKELY (!mux->need_offer))
    return;
  mux->need_offer = FALSE;
  if (!mux->flow_control || !mux->announce)
    return;
  buf = gst_buffer_new_allocate (NULL, 2 + WRTC_FLOW_OFFER_SIZE, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  wrtc_flow_encode_offer (map.data, map.size);
  gst_buffer_unmap (buf, &map);
  f.buf = buf;
  f.ts = wrtc_frame_now_ms ();
  f.conn = WRTC_FRAME_CONTROL_CONN;
  gst_queue_array_push_tail_struct (mux->control, &f);
  mux->control_bytes += map.size;
  mux->pending_frames++;
  mux->stat_control++;
}

/* A control message from the receiver of our stream (framedemux, directly
 * or through the data channel). */
static void
apply_feedback (GstFrameMux * mux, GBytes * payload)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);
  WrtcControlMessage msg;
  GstFrameMuxPad *mpad;
  guint32 failed_conn = 0;
  GSList *dead = NULL;

  if (wrtc_control_parse (data, size, &msg) != WRTC_CONTROL_PARSE_OK) {
    GST_DEBUG_OBJECT (mux, "ignoring malformed feedback of %" G_GSIZE_FORMAT
        " bytes", size);
    return;
  }
  g_mutex_lock (&mux->lock);
  switch (msg.code) {
    case WRTC_CONTROL_FLOW_GRANT:{
      guint32 window, tunnel;

      if (!mux->flow_control || !mux->announce || mux->flow_active)
        break;
      wrtc_flow_read_grant (&msg, &window, &tunnel);
      mux->flow_window = MAX (window, 1);
      mux->flow_tunnel = MAX (tunnel, 1);
      if (mux->max_in_flight > 0)
        mux->flow_tunnel = MIN (mux->flow_tunnel, mux->max_in_flight);
      mux->flow_active = TRUE;
      mux->last_progress = g_get_monotonic_time ();
      GST_INFO_OBJECT (mux, "flow control on: window %u per connection, %u "
          "in all", mux->flow_window, mux->flow_tunnel);
      break;
    }
    case WRTC_CONTROL_FLOW_CREDIT:{
      guint64 delivered = wrtc_flow_read_credit (&msg);

      mpad = g_hash_table_lookup (mux->pads, GUINT_TO_POINTER (msg.conn_no));
      mux->stat_credits++;
      if (mpad == NULL || !mux->flow_active)
        break;
      delivered = MIN (delivered, mpad->sent);
      if (delivered > mpad->acked) {
        mux->outstanding -= delivered - mpad->acked;
        mpad->acked = delivered;
        mux->last_progress = g_get_monotonic_time ();
        wake_all_chains (mux);
        if (NEED_EOS (mux))
          wake_task (mux);
      }
      break;
    }
    case WRTC_CONTROL_CLOSE_CONNECTION:
      mpad = g_hash_table_lookup (mux->pads, GUINT_TO_POINTER (msg.conn_no));
      if (mpad == NULL || mpad->peer_closed || msg.reason != 1)
        break;
      mpad->peer_closed = TRUE;
      failed_conn = msg.conn_no;
      flush_pad_queue (mux, mpad, TRUE);
      credit_forget (mux, mpad);
      wake_all_chains (mux);
      dead = mux->dead_pads;
      mux->dead_pads = NULL;
      break;
    default:
      break;
  }
  g_mutex_unlock (&mux->lock);
  unref_dead_pads (dead);
  if (failed_conn != 0)
    GST_ELEMENT_WARNING (mux, STREAM, FAILED,
        ("The peer closed connection %u: its receiving branch failed. The "
            "connection's sink pad takes no more data; the others go on.",
            failed_conn), ("CloseConnection with reason Error"));
}

/* @mpad left the ring (its queue is empty). A released pad lived on only
 * for its queued frames; its successor with the same number may go now.
 * Lock held. */
static void
pad_left_ring (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  GstFrameMuxPad *next = mpad->successor;

  mpad->in_ring = FALSE;
  if (!mpad->released)
    return;
  if (g_hash_table_lookup (mux->draining, GUINT_TO_POINTER (mpad->conn)) ==
      mpad)
    g_hash_table_remove (mux->draining, GUINT_TO_POINTER (mpad->conn));
  if (next != NULL) {
    mpad->successor = NULL;
    next->pred = NULL;
    if (next->parked) {
      next->parked = FALSE;
      next->in_ring = TRUE;
      g_queue_push_tail_link (&mux->ring, &next->ring_link);
    }
  }
  mux->dead_pads = g_slist_prepend (mux->dead_pads, mpad);
}

static void
ring_remove (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  if (mpad->parked) {
    /* held behind its predecessor: dropping its frames unparks it */
    mpad->parked = FALSE;
    if (mpad->released) {
      if (g_hash_table_lookup (mux->draining,
              GUINT_TO_POINTER (mpad->conn)) == mpad)
        g_hash_table_remove (mux->draining, GUINT_TO_POINTER (mpad->conn));
      if (mpad->pred != NULL) {
        mpad->pred->successor = NULL;
        mpad->pred = NULL;
      }
      mux->dead_pads = g_slist_prepend (mux->dead_pads, mpad);
    }
    return;
  }
  if (!mpad->in_ring)
    return;
  g_queue_unlink (&mux->ring, &mpad->ring_link);
  pad_left_ring (mux, mpad);
}

/* Queues a frame on @mpad (its data, or a control frame describing its
 * connection: either way in order with its data). Lock held. */
static void
pad_enqueue (GstFrameMux * mux, GstFrameMuxPad * mpad, GstBuffer * buf,
    guint32 conn, guint64 ts)
{
  MuxFrame f;

  f.buf = buf;
  f.ts = ts;
  f.conn = conn;
  gst_queue_array_push_tail_struct (mpad->queue, &f);
  /* queued-bytes bounds and reports the connection's own payload */
  if (conn != WRTC_FRAME_CONTROL_CONN) {
    mpad->queued_bytes += gst_buffer_get_size (buf);
    mux->pending_data++;
  }
  mux->pending_frames++;
  if (mpad->in_ring || mpad->parked)
    return;
  if (mpad->pred != NULL) {
    mpad->parked = TRUE;
  } else {
    g_queue_push_tail_link (&mux->ring, &mpad->ring_link);
    mpad->in_ring = TRUE;
  }
}

/* Payload of a control message: u16 code, u32 conn_no, @extra. */
static GstBuffer *
control_buffer (guint16 code, guint32 conn, guint16 reason,
    const guint8 * extra, gsize extra_len)
{
  WrtcControlMessage msg = { 0, };
  gsize size = 2 + 4 + 2 + extra_len;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;

  msg.code = code;
  msg.conn_no = conn;
  msg.reason = reason;
  msg.data = extra;
  msg.data_len = extra_len;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  size = wrtc_control_encode (map.data, map.size, &msg);
  gst_buffer_unmap (buf, &map);
  gst_buffer_set_size (buf, size);
  return buf;
}

/* Connection-specific data of OpenConnection carrying caps (send-caps):
 * the 8 bytes "GSTCAPS1", a u32 big-endian length, then that many bytes of
 * gst_caps_to_string() text (no NUL). The magic keeps a peer that expects
 * its own data there from taking ours for it. */
#define CAPS_MAGIC "GSTCAPS1"
#define CAPS_MAGIC_LEN 8

static void
pad_queue_open (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  GstBuffer *buf;
  GBytes *open_data;

  if (!mpad->opened)
    credit_forget (mux, mpad);  /* the peer counts anew from here */
  mpad->opened = TRUE;
  if (!mux->announce)
    return;
  queue_flow_offer (mux);
  GST_OBJECT_LOCK (mpad);
  open_data = mpad->open_data ? g_bytes_ref (mpad->open_data) : NULL;
  GST_OBJECT_UNLOCK (mpad);
  if (open_data) {
    gsize len;
    const guint8 *d = g_bytes_get_data (open_data, &len);

    buf = control_buffer (WRTC_CONTROL_OPEN_CONNECTION, mpad->conn, 0, d,
        len);
    g_bytes_unref (open_data);
  } else if (mux->send_caps && mpad->caps != NULL) {
    gchar *str = gst_caps_to_string (mpad->caps);
    gsize len = strlen (str);
    guint8 *extra = g_malloc (CAPS_MAGIC_LEN + 4 + len);

    memcpy (extra, CAPS_MAGIC, CAPS_MAGIC_LEN);
    extra[CAPS_MAGIC_LEN] = (guint8) (len >> 24);
    extra[CAPS_MAGIC_LEN + 1] = (guint8) (len >> 16);
    extra[CAPS_MAGIC_LEN + 2] = (guint8) (len >> 8);
    extra[CAPS_MAGIC_LEN + 3] = (guint8) len;
    memcpy (extra + CAPS_MAGIC_LEN + 4, str, len);
    buf = control_buffer (WRTC_CONTROL_OPEN_CONNECTION, mpad->conn, 0, extra,
        CAPS_MAGIC_LEN + 4 + len);
    g_free (extra);
    g_free (str);
  } else {
    buf = control_buffer (WRTC_CONTROL_OPEN_CONNECTION, mpad->conn, 0, NULL,
        0);
  }
  GST_DEBUG_OBJECT (mpad, "queueing OpenConnection %u", mpad->conn);
  mux->stat_control++;
  pad_enqueue (mux, mpad, buf, WRTC_FRAME_CONTROL_CONN, wrtc_frame_now_ms ());
  if (!mux->pushing)
    wake_task (mux);
}

static void
pad_queue_control (GstFrameMux * mux, GstFrameMuxPad * mpad, guint16 code)
{
  GstBuffer *buf = control_buffer (code, mpad->conn, 0, NULL, 0);

  GST_DEBUG_OBJECT (mpad, "queueing %s %u", wrtc_control_code_name (code),
      mpad->conn);
  mux->stat_control++;
  pad_enqueue (mux, mpad, buf, WRTC_FRAME_CONTROL_CONN, wrtc_frame_now_ms ());
  if (!mux->pushing)
    wake_task (mux);
}

/* Adds (the start of) frame @f to the message being gathered. */
static void
take_piece (GstFrameMux * mux, MuxFrame * f, gsize * budget, gsize * total)
{
  gsize wire = frame_wire_size (gst_buffer_get_size (f->buf));
  MuxPiece piece;

  piece.buf = f->buf;
  piece.ts = f->ts;
  piece.conn = f->conn;
  piece.off = 0;
  piece.n = MIN (wire, *budget);
  piece.done = piece.n == wire;
  g_array_append_val (mux->pieces, piece);
  if (!piece.done) {
    mux->have_split = TRUE;
    mux->split = *f;
    mux->split_off = piece.n;
    mux->stat_frames_split++;
  }
  *budget -= piece.n;
  *total += piece.n;
}

/* Takes the next message's worth of frames out of the queues, round-robin.
 * Called by the pusher with the lock held. Returns the message size. */
static gsize
gather (GstFrameMux * mux)
{
  gsize budget = mux->max_message_size;
  gsize total = 0;
  MuxPiece piece;

  g_array_set_size (mux->pieces, 0);

  if (mux->have_split) {
    gsize remain = frame_wire_size (gst_buffer_get_size (mux->split.buf)) -
        mux->split_off;

    piece.buf = mux->split.buf;
    piece.ts = mux->split.ts;
    piece.conn = mux->split.conn;
    piece.off = mux->split_off;
    piece.n = MIN (remain, budget);
    piece.done = piece.n == remain;
    g_array_append_val (mux->pieces, piece);
    mux->split_off += piece.n;
    if (piece.done) {
      mux->have_split = FALSE;
      mux->split.buf = NULL;
    }
    budget -= piece.n;
    total += piece.n;
  }

  /* control messages first: they are small and must not wait behind
   * bulk data (Pong answers measure round-trip time) */
  while (budget > 0 && !gst_queue_array_is_empty (mux->control)) {
    MuxFrame *f = gst_queue_array_pop_head_struct (mux->control);
    gsize len = gst_buffer_get_size (f->buf);

    take_piece (mux, f, &budget, &total);
    mux->pending_frames--;
    mux->control_bytes -= len;
  }

  while (budget > 0 && mux->ring.head) {
    GstFrameMuxPad *mpad = mux->ring.head->data;
    MuxFrame *f = gst_queue_array_pop_head_struct (mpad->queue);
    gsize len = gst_buffer_get_size (f->buf);
    guint32 piece_conn = f->conn;

    take_piece (mux, f, &budget, &total);

    mux->pending_frames--;
    if (piece_conn != WRTC_FRAME_CONTROL_CONN) {
      mpad->queued_bytes -= len;
      mux->pending_data--;
    }
    if (mpad->waiting)
      g_cond_signal (&mpad->space_cond);

    /* round-robin: this pad goes to the back of the ring */
    g_queue_unlink (&mux->ring, &mpad->ring_link);
    if (gst_queue_array_is_empty (mpad->queue))
      pad_left_ring (mux, mpad);
    else
      g_queue_push_tail_link (&mux->ring, &mpad->ring_link);
  }

  return total;
}

/* Builds the output buffer from the gathered pieces; no lock held. */
static GstBuffer *
build_message (GstFrameMux * mux, gsize total)
{
  GstBuffer *out = gst_buffer_new_allocate (NULL, total, NULL);
  GstMapInfo map;
  guint8 *dest;
  guint i;

  gst_buffer_map (out, &map, GST_MAP_WRITE);
  dest = map.data;
  for (i = 0; i < mux->pieces->len; i++) {
    MuxPiece *p = &g_array_index (mux->pieces, MuxPiece, i);

    copy_frame_bytes (dest, p->conn, p->ts, p->buf,
        gst_buffer_get_size (p->buf), p->off, p->n);
    dest += p->n;
    if (p->done)
      gst_buffer_unref (p->buf);
  }
  gst_buffer_unmap (out, &map);
  return out;
}

static void
unref_dead_pads (GSList * dead)
{
  g_slist_free_full (dead, gst_object_unref);
}

/* Gathers and pushes one message; the pusher, lock held (released during
 * the push). */
static void
push_message (GstFrameMux * mux)
{
  gsize total = gather (mux);
  GSList *dead = mux->dead_pads;
  GstBuffer *out;
  GstFlowReturn ret;

  mux->dead_pads = NULL;
  /* counted before the push: whoever has received the message must see it
   * in "stats" (counting after let a fast reader miss it) */
  mux->stat_messages++;
  mux->stat_bytes_out += total;
  g_mutex_unlock (&mux->lock);

  unref_dead_pads (dead);
  out = build_message (mux, total);
  push_headers (mux);
  ret = push_buffer (mux, out);

  g_mutex_lock (&mux->lock);
  record_flow (mux, ret);
  /* the offer is in the first message: the grant's wait starts now */
  if (G_UNLIKELY (mux->offer_sent_at == 0 && !mux->need_offer)) {
    mux->offer_sent_at = g_get_monotonic_time ();
    wake_all_chains (mux);
  }
}

/* Downstream signalled backpressure a moment ago: frames queue, so the
 * task packs them into full messages. Lock held. */
static inline gboolean
coalescing (GstFrameMux * mux)
{
  if (G_LIKELY (mux->coalesce_until == 0))
    return FALSE;
  if (mux->coalesce_until == G_MAXINT64 ||
      g_get_monotonic_time () < mux->coalesce_until)
    return TRUE;
  GST_DEBUG_OBJECT (mux, "no backpressure for a while: fast path again");
  mux->coalesce_until = 0;
  return FALSE;
}

/* Only control frames wait (a pad's OpenConnection, the offer), perhaps
 * with the rest of a split one, and nobody pushes? Lock held. */
static inline gboolean
control_backlog (GstFrameMux * mux)
{
  return !mux->pushing && HAS_DATA (mux) && mux->pending_data == 0 &&
      !coalescing (mux);
}

/* Sends a control backlog from a chain, which is the pusher meanwhile: a
 * message or two. Left to the task, the chain's frame would queue behind it
 * and the task would stay the pusher, packing the next frames split across
 * messages (which framedemux must join), for as long as upstream outpaces
 * it. Stops once data frames queue. Lock held. */
static void
push_control_backlog (GstFrameMux * mux)
{
  mux->pushing = TRUE;
  while (HAS_DATA (mux) && mux->pending_data == 0 &&
      mux->last_flow == GST_FLOW_OK && !mux->stopping)
    push_message (mux);
  mux->pushing = FALSE;
  if (HAS_DATA (mux))
    wake_task (mux);
}

static void
gst_frame_mux_loop (GstFrameMux * mux)
{
  g_mutex_lock (&mux->lock);
  for (;;) {
    if (mux->stopping)
      goto stop;
    if (!mux->pushing && mux->last_flow == GST_FLOW_OK) {
      if (HAS_DATA (mux))
        break;
      if (NEED_EOS (mux)) {
        mux->pushing = TRUE;
        mux->eos_sent = TRUE;
        g_mutex_unlock (&mux->lock);
        GST_DEBUG_OBJECT (mux, "all sink pads EOS, pushing EOS");
        push_headers (mux);
        gst_pad_push_event (mux->srcpad, gst_event_new_eos ());
        g_mutex_lock (&mux->lock);
        mux->pushing = FALSE;
        continue;
      }
    }
    if (G_UNLIKELY (credit_stalled (mux) && mux->last_flow == GST_FLOW_OK &&
            !HAS_DATA (mux))) {
      guint64 outstanding = mux->outstanding;

      /* EOS waits for the last acknowledgement, which does not come */
      mux->last_flow = GST_FLOW_ERROR;
      wake_all_chains (mux);
      g_mutex_unlock (&mux->lock);
      post_stalled (mux, outstanding, mux->ack_timeout);
      g_mutex_lock (&mux->lock);
      continue;
    }
    mux->task_waiting = TRUE;
    credit_wait (mux, &mux->task_cond);
    mux->task_waiting = FALSE;
  }

  /* keep the pusher role until the backlog is empty */
  mux->pushing = TRUE;
  while (HAS_DATA (mux) && mux->last_flow == GST_FLOW_OK && !mux->stopping)
    push_message (mux);
  mux->pushing = FALSE;
  g_mutex_unlock (&mux->lock);
  return;

stop:
  GST_DEBUG_OBJECT (mux, "pausing task");
  g_mutex_unlock (&mux->lock);
  gst_pad_pause_task (mux->srcpad);
}

/* Fast path: the chain is the pusher and sends its own frame, split into
 * pieces of at most max-message-size. */
static GstFlowReturn
push_own_frame (GstFrameMux * mux, guint32 conn, guint64 ts, GstBuffer * buf,
    gsize max_msg)
{
  gsize len = gst_buffer_get_size (buf);
  gsize wire = frame_wire_size (len);
  gsize off = 0;
  guint64 messages = 0;
  GstFlowReturn ret = GST_FLOW_OK;

  push_headers (mux);
  while (off < wire) {
    gsize n = MIN (wire - off, max_msg);
    GstBuffer *out = gst_buffer_new_allocate (NULL, n, NULL);
    GstMapInfo map;

    gst_buffer_map (out, &map, GST_MAP_WRITE);
    copy_frame_bytes (map.data, conn, ts, buf, len, off, n);
    gst_buffer_unmap (out, &map);
    off += n;
    messages++;
    ret = push_buffer (mux, out);
    /* once downstream failed, the rest of a split frame is moot */
    if (ret != GST_FLOW_OK)
      break;
  }
  gst_buffer_unref (buf);

  g_mutex_lock (&mux->lock);
  mux->pushing = FALSE;
  mux->stat_messages += messages;
  mux->stat_bytes_out += MIN (off, wire);
  if (messages > 1)
    mux->stat_frames_split++;
  record_flow (mux, ret);
  /* others queued meanwhile: hand them to the task, so that this
   * connection's upstream is not held hostage by theirs */
  if (HAS_DATA (mux) || NEED_EOS (mux))
    wake_task (mux);
  g_mutex_unlock (&mux->lock);

  return ret;
}

static GstFlowReturn
gst_frame_mux_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstFrameMux *mux = GST_FRAME_MUX (parent);
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (pad);
  gsize size = gst_buffer_get_size (buf);
  guint64 ts = wrtc_frame_now_ms ();
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean counted_block = FALSE, counted_credit = FALSE;

  if (G_UNLIKELY (size > G_MAXUINT32)) {
    GST_ELEMENT_ERROR (mux, STREAM, FAILED,
        ("Buffer of %" G_GSIZE_FORMAT " bytes on %s is too large for one "
            "frame (at most 4294967295 bytes)", size, GST_PAD_NAME (pad)),
        (NULL));
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }

  g_mutex_lock (&mux->lock);
  for (;;) {
    if (G_UNLIKELY (mux->stopping || mpad->flushing || mpad->released)) {
      ret = GST_FLOW_FLUSHING;
      goto drop;
    }
    if (G_UNLIKELY (mux->last_flow != GST_FLOW_OK)) {
      ret = mux->last_flow;
      goto drop;
    }
    if (G_UNLIKELY (mpad->eos || mpad->peer_closed)) {
      ret = GST_FLOW_EOS;
      goto drop;
    }
    /* the peer learns of the connection before its first data */
    if (G_UNLIKELY (!mpad->opened))
      pad_queue_open (mux, mpad);
    if (G_UNLIKELY (pregrant_must_wait (mux, mpad))) {
      GST_LOG_OBJECT (pad, "waiting for the receiver's FlowGrant");
      mpad->waiting = TRUE;
      if (mux->offer_sent_at != 0)
        g_cond_wait_until (&mpad->space_cond, &mux->lock,
            grant_deadline (mux));
      else
        g_cond_wait (&mpad->space_cond, &mux->lock);
      mpad->waiting = FALSE;
      continue;
    }
    if (G_UNLIKELY (mux->flow_active && !credit_allows (mux, mpad, size))) {
      if (credit_stalled (mux)) {
        guint64 outstanding = mux->outstanding;
        guint timeout = mux->ack_timeout;

        mux->last_flow = GST_FLOW_ERROR;
        wake_all_chains (mux);
        g_mutex_unlock (&mux->lock);
        post_stalled (mux, outstanding, timeout);
        gst_buffer_unref (buf);
        return GST_FLOW_ERROR;
      }
      if (!counted_credit) {
        mux->stat_credit_waits++;
        counted_credit = TRUE;
      }
      GST_LOG_OBJECT (pad, "no credit (%" G_GUINT64_FORMAT " outstanding, "
          "%" G_GUINT64_FORMAT " in all), waiting", mpad->sent - mpad->acked,
          mux->outstanding);
      mpad->waiting = TRUE;
      credit_wait (mux, &mpad->space_cond);
      mpad->waiting = FALSE;
      continue;
    }
    if (G_UNLIKELY (control_backlog (mux))) {
      push_control_backlog (mux);
      continue;
    }
    if (!mux->pushing && !HAS_DATA (mux) && !coalescing (mux)) {
      gsize max_msg = mux->max_message_size;

      mux->pushing = TRUE;
      mux->stat_frames++;
      mux->stat_bytes += size;
      mpad->frames++;
      mpad->bytes += size;
      credit_take (mux, mpad, size);
      g_mutex_unlock (&mux->lock);
      return push_own_frame (mux, mpad->conn, ts, buf, max_msg);
    }
    if (mpad->queued_bytes == 0 ||
        mpad->queued_bytes + size <= mux->max_queue_bytes)
      break;
    if (!counted_block) {
      mux->stat_blocked++;
      counted_block = TRUE;
    }
    GST_LOG_OBJECT (pad, "queue full (%" G_GUINT64_FORMAT " bytes), waiting",
        mpad->queued_bytes);
    mpad->waiting = TRUE;
    g_cond_wait (&mpad->space_cond, &mux->lock);
    mpad->waiting = FALSE;
  }

  pad_enqueue (mux, mpad, buf, mpad->conn, ts);
  credit_take (mux, mpad, size);
  mpad->frames++;
  mpad->bytes += size;
  mux->stat_frames++;
  mux->stat_bytes += size;
  if (!mux->pushing)
    wake_task (mux);
  g_mutex_unlock (&mux->lock);
  return GST_FLOW_OK;

drop:
  g_mutex_unlock (&mux->lock);
  GST_DEBUG_OBJECT (pad, "refusing buffer: %s", gst_flow_get_name (ret));
  gst_buffer_unref (buf);
  return ret;
}

/* Drops a pad's queued frames; lock held. With @keep_control, the control
 * frames describing its connection stay (a flush must not make the peer
 * miss an OpenConnection or CloseConnection). */
static void
flush_pad_queue (GstFrameMux * mux, GstFrameMuxPad * mpad,
    gboolean keep_control)
{
  guint n = gst_queue_array_get_length (mpad->queue);
  MuxFrame *f;

  while (n-- > 0) {
    MuxFrame copy;

    f = gst_queue_array_pop_head_struct (mpad->queue);
    if (keep_control && f->conn == WRTC_FRAME_CONTROL_CONN) {
      copy = *f;
      gst_queue_array_push_tail_struct (mpad->queue, &copy);
      continue;
    }
    if (f->conn != WRTC_FRAME_CONTROL_CONN) {
      mpad->queued_bytes -= gst_buffer_get_size (f->buf);
      mux->pending_data--;
    }
    gst_buffer_unref (f->buf);
    mux->pending_frames--;
  }
  if (gst_queue_array_is_empty (mpad->queue))
    ring_remove (mux, mpad);
}

static gboolean
gst_frame_mux_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstFrameMux *mux = GST_FRAME_MUX (parent);
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (pad);
  GSList *dead = NULL;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      g_mutex_lock (&mux->lock);
      if (mpad->released || mux->eos_sent) {
        /* nothing more goes out for this pad */
      } else if (!mpad->opened) {
        gst_caps_replace (&mpad->caps, caps);
        pad_queue_open (mux, mpad);
      } else if (mux->announce && mux->send_caps && !mpad->eos && (mpad->caps == NULL ||
              !gst_caps_is_equal (mpad->caps, caps))) {
        /* new caps mid-stream: announced by repeating OpenConnection, in
         * order with the data, so framedemux switches caps right there */
        gst_caps_replace (&mpad->caps, caps);
        pad_queue_open (mux, mpad);
      } else {
        gst_caps_replace (&mpad->caps, caps);
      }
      g_mutex_unlock (&mux->lock);
      break;
    }
    case GST_EVENT_EOS:
      g_mutex_lock (&mux->lock);
      if (!mpad->eos && !mpad->released) {
        mpad->eos = TRUE;
        mux->n_eos++;
        /* half-close, after everything the pad queued; a connection that
         * ended before any data is still one: the peer gets it, empty */
        if (!mpad->opened && mux->announce && !mux->eos_sent)
          pad_queue_open (mux, mpad);
        if (mpad->opened && mux->announce && !mux->eos_sent)
          pad_queue_control (mux, mpad, WRTC_CONTROL_SEND_EOF);
        if (NEED_EOS (mux))
          wake_task (mux);
      }
      g_mutex_unlock (&mux->lock);
      break;
    case GST_EVENT_FLUSH_START:
      g_mutex_lock (&mux->lock);
      mpad->flushing = TRUE;
      flush_pad_queue (mux, mpad, TRUE);
      if (mpad->waiting)
        g_cond_broadcast (&mpad->space_cond);
      dead = mux->dead_pads;
      mux->dead_pads = NULL;
      g_mutex_unlock (&mux->lock);
      break;
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&mux->lock);
      mpad->flushing = FALSE;
      if (mpad->eos) {
        mpad->eos = FALSE;
        mux->n_eos--;
      }
      if (mux->last_flow != GST_FLOW_OK) {
        mux->last_flow = GST_FLOW_OK;
        wake_task (mux);
      }
      g_mutex_unlock (&mux->lock);
      break;
    default:
      /* stream-start, segment, tags, gaps...: per-connection stream
       * metadata that has no place in the byte stream */
      break;
  }
  unref_dead_pads (dead);
  gst_event_unref (event);
  return TRUE;
}

static gboolean
gst_frame_mux_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:{
      GstCaps *filter, *caps;

      gst_query_parse_caps (query, &filter);
      caps = filter ? gst_caps_ref (filter) : gst_caps_new_any ();
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS:
      gst_query_set_accept_caps_result (query, TRUE);
      return TRUE;
    case GST_QUERY_ALLOCATION:
      /* the payload is copied into our own buffers: no proposal */
      return FALSE;
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_frame_mux_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstFrameMux *mux = GST_FRAME_MUX (parent);
  GBytes *payload;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEEK:
      GST_DEBUG_OBJECT (pad, "refusing seek: the stream is not seekable");
      gst_event_unref (event);
      return FALSE;
    case GST_EVENT_CUSTOM_UPSTREAM:
      /* A sink that paces the stream (datachannelsink, which had to wait
       * for its channel to drain) tells us so. With a single upstream
       * thread, blocked in its own push meanwhile, nothing could queue:
       * stop taking the fast path for a while, so frames pile up while the
       * task pushes and leave packed into full messages. */
      if ((payload = wrtc_control_event_payload (event,
                  WRTC_EVENT_FEEDBACK))) {
        apply_feedback (mux, payload);
        g_bytes_unref (payload);
      } else if ((payload = wrtc_control_event_payload (event,
                  WRTC_EVENT_SEND_CONTROL))) {
        gsize n;
        const guint8 *d = g_bytes_get_data (payload, &n);
        GBytes *rest = g_bytes_new_from_bytes (payload, 2, n - 2);

        gboolean sent = gst_frame_mux_send_control (mux,
            (guint) (d[0] << 8 | d[1]), rest);

        g_bytes_unref (rest);
        g_bytes_unref (payload);
        if (!sent) {
          /* after our EOS the sender of the event may append the message
           * as a whole frame itself: say so */
          g_mutex_lock (&mux->lock);
          sent = !mux->eos_sent;
          g_mutex_unlock (&mux->lock);
          gst_event_unref (event);
          return sent;
        }
      } else if (gst_event_has_name (event, "wrtc-backpressure")) {
        gboolean persistent = FALSE;

        gst_structure_get_boolean (gst_event_get_structure (event),
            "persistent", &persistent);
        g_mutex_lock (&mux->lock);
        if (mux->coalesce_until == 0)
          GST_DEBUG_OBJECT (mux, "downstream backpressure%s: coalescing",
              persistent ? " (persistent)" : "");
        if (persistent)
          mux->coalesce_until = G_MAXINT64;
        else if (mux->coalesce_until != G_MAXINT64)
          mux->coalesce_until = g_get_monotonic_time () +
              BACKPRESSURE_HOLD_US;
        g_mutex_unlock (&mux->lock);
      }
      gst_event_unref (event);
      return TRUE;
    default:
      /* upstream events (QoS, latency, navigation...) do not map to any
       * single connection */
      gst_event_unref (event);
      return TRUE;
  }
}

static gboolean
gst_frame_mux_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  GstFrameMux *mux = GST_FRAME_MUX (parent);

  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;

  if (active) {
    g_mutex_lock (&mux->lock);
    mux->stopping = FALSE;
    g_mutex_unlock (&mux->lock);
    return gst_pad_start_task (pad, (GstTaskFunction) gst_frame_mux_loop,
        mux, NULL);
  }

  g_mutex_lock (&mux->lock);
  mux->stopping = TRUE;
  g_cond_broadcast (&mux->task_cond);
  wake_all_chains (mux);
  g_mutex_unlock (&mux->lock);
  return gst_pad_stop_task (pad);
}

/* ---- pads ---- */

static gboolean
parse_conn_name (const gchar * name, guint64 * conn)
{
  const gchar *digits;
  gchar *end = NULL;

  if (!g_str_has_prefix (name, "sink_"))
    return FALSE;
  digits = name + 5;
  if (!g_ascii_isdigit (digits[0]))
    return FALSE;
  *conn = g_ascii_strtoull (digits, &end, 10);
  return end && *end == '\0' && *conn <= G_MAXUINT32;
}

static GstPad *
gst_frame_mux_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstFrameMux *mux = GST_FRAME_MUX (element);
  GstFrameMuxPad *mpad, *pred;
  guint64 conn = 0;
  gchar *pad_name;

  if (templ->direction != GST_PAD_SINK)
    return NULL;

  g_mutex_lock (&mux->lock);
  if (name == NULL || strcmp (name, "sink_%u") == 0) {
    /* lowest free number >= 1; next_auto skips the numbers known to be
     * taken, so requesting N pads in a row stays linear */
    conn = MAX (mux->next_auto, 1);
    while (g_hash_table_contains (mux->pads, GUINT_TO_POINTER (conn))) {
      if (conn == G_MAXUINT32)
        goto no_free;
      conn++;
    }
    mux->next_auto = conn + 1;
  } else {
    if (!parse_conn_name (name, &conn))
      goto bad_name;
    if (conn == 0)
      goto reserved;
    if (g_hash_table_contains (mux->pads, GUINT_TO_POINTER (conn)))
      goto duplicate;
  }

  pad_name = g_strdup_printf ("sink_%u", (guint) conn);
  mpad = g_object_new (GST_TYPE_FRAME_MUX_PAD, "name", pad_name,
      "direction", GST_PAD_SINK, "template", templ, NULL);
  g_free (pad_name);
  mpad->conn = conn;
  gst_object_ref_sink (mpad);
  g_hash_table_insert (mux->pads, GUINT_TO_POINTER (conn), mpad);
  mux->n_pads++;
  /* the previous pad with this number may still be sending */
  pred = g_hash_table_lookup (mux->draining, GUINT_TO_POINTER (conn));
  if (pred != NULL) {
    g_assert (pred->successor == NULL);
    pred->successor = mpad;
    mpad->pred = pred;
  }
  g_mutex_unlock (&mux->lock);

  gst_pad_set_chain_function (GST_PAD (mpad), gst_frame_mux_chain);
  gst_pad_set_event_function (GST_PAD (mpad), gst_frame_mux_sink_event);
  gst_pad_set_query_function (GST_PAD (mpad), gst_frame_mux_sink_query);

  GST_DEBUG_OBJECT (mux, "new pad for connection %u", mpad->conn);
  gst_element_add_pad (element, GST_PAD (mpad));
  return GST_PAD (mpad);

reserved:
  g_mutex_unlock (&mux->lock);
  GST_ELEMENT_WARNING (mux, CORE, PAD,
      ("Connection 0 is reserved for control messages and cannot be "
          "requested as pad sink_0; request sink_1 or higher, or sink_%%u "
          "for the lowest free number."),
      ("refused request for pad %s", name));
  return NULL;
duplicate:
  g_mutex_unlock (&mux->lock);
  GST_ELEMENT_WARNING (mux, CORE, PAD,
      ("Connection %u is already in use; release pad %s first or request "
          "another number.", (guint) conn, name),
      ("refused duplicate request for pad %s", name));
  return NULL;
bad_name:
  g_mutex_unlock (&mux->lock);
  GST_ELEMENT_WARNING (mux, CORE, PAD,
      ("Invalid pad name '%s': use sink_N with N between 1 and 4294967295.",
          name), (NULL));
  return NULL;
no_free:
  g_mutex_unlock (&mux->lock);
  GST_ELEMENT_WARNING (mux, CORE, PAD,
      ("No free connection number left."), (NULL));
  return NULL;
}

static void
gst_frame_mux_release_pad (GstElement * element, GstPad * pad)
{
  GstFrameMux *mux = GST_FRAME_MUX (element);
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (pad);
  gboolean drop_ref = FALSE;

  g_mutex_lock (&mux->lock);
  if (g_hash_table_lookup (mux->pads, GUINT_TO_POINTER (mpad->conn)) != mpad) {
    g_mutex_unlock (&mux->lock);
    return;
  }
  g_hash_table_steal (mux->pads, GUINT_TO_POINTER (mpad->conn));
  mux->n_pads--;
  if (mpad->conn < mux->next_auto)
    mux->next_auto = mpad->conn;
  if (mpad->eos)
    mux->n_eos--;
  /* the close goes after everything the pad queued; after the element's
   * EOS nothing can be sent any more */
  if (mpad->opened && mux->announce && !mux->eos_sent) {
    GstBuffer *close = control_buffer (WRTC_CONTROL_CLOSE_CONNECTION,
        mpad->conn, 0 /* Normal */ , NULL, 0);

    GST_DEBUG_OBJECT (mpad, "queueing CloseConnection %u", mpad->conn);
    mux->stat_control++;
    pad_enqueue (mux, mpad, close, WRTC_FRAME_CONTROL_CONN,
        wrtc_frame_now_ms ());
    if (!mux->pushing)
      wake_task (mux);
  }
  mpad->released = TRUE;
  credit_forget (mux, mpad);
  /* a chain waiting for space gives up (its buffer was not accepted);
   * what is queued stays and is still sent, the ring keeps the pad alive */
  if (mpad->waiting)
    g_cond_broadcast (&mpad->space_cond);
  if (mpad->in_ring || mpad->parked) {
    /* a later pad with this number waits until this one is out */
    g_hash_table_insert (mux->draining, GUINT_TO_POINTER (mpad->conn), mpad);
  } else {
    drop_ref = TRUE;
    if (mpad->pred != NULL) {
      mpad->pred->successor = NULL;
      mpad->pred = NULL;
    }
  }
  if (NEED_EOS (mux))
    wake_task (mux);
  g_mutex_unlock (&mux->lock);

  GST_DEBUG_OBJECT (mux, "releasing pad for connection %u", mpad->conn);
  gst_element_remove_pad (element, pad);
  if (drop_ref)
    gst_object_unref (mpad);
}

/* ---- element ---- */

static void
drop_all_queued (GstFrameMux * mux)
{
  GHashTableIter iter;
  gpointer value;
  MuxFrame *f;
  GSList *dead;

  g_mutex_lock (&mux->lock);
  g_hash_table_iter_init (&iter, mux->pads);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    flush_pad_queue (mux, value, FALSE);
  /* released pads still queued: in the ring or parked behind one */
  while (mux->ring.head)
    flush_pad_queue (mux, mux->ring.head->data, FALSE);
  while ((f = gst_queue_array_pop_head_struct (mux->control))) {
    gst_buffer_unref (f->buf);
    mux->pending_frames--;
  }
  mux->control_bytes = 0;
  if (mux->have_split) {
    gst_buffer_unref (mux->split.buf);
    mux->split.buf = NULL;
    mux->have_split = FALSE;
  }
  dead = mux->dead_pads;
  mux->dead_pads = NULL;
  g_mutex_unlock (&mux->lock);
  unref_dead_pads (dead);
}

static GstStateChangeReturn
gst_frame_mux_change_state (GstElement * element, GstStateChange transition)
{
  GstFrameMux *mux = GST_FRAME_MUX (element);
  GstStateChangeReturn ret;
  GHashTableIter iter;
  gpointer value;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      g_mutex_lock (&mux->lock);
      mux->stopping = FALSE;
      mux->last_flow = GST_FLOW_OK;
      mux->eos_sent = FALSE;
      mux->coalesce_until = 0;
      mux->need_headers = TRUE;
      mux->discont = TRUE;
      mux->n_eos = 0;
      g_hash_table_iter_init (&iter, mux->pads);
      while (g_hash_table_iter_next (&iter, NULL, &value)) {
        GstFrameMuxPad *p = value;

        p->eos = FALSE;
        p->flushing = FALSE;
        /* a new session: the peer must hear of the connection again */
        p->opened = FALSE;
        p->frames = p->bytes = 0;
        p->sent = p->acked = 0;
        p->peer_closed = FALSE;
      }
      mux->flow_active = FALSE;
      mux->no_grant = FALSE;
      mux->offer_sent_at = 0;
      mux->outstanding = 0;
      mux->stat_credit_waits = mux->stat_credits = 0;
      mux->stat_control = 0;
      mux->stat_frames = mux->stat_bytes = mux->stat_messages = 0;
      mux->stat_bytes_out = mux->stat_frames_split = mux->stat_blocked = 0;
      mux->need_offer = TRUE;
      g_mutex_unlock (&mux->lock);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* wake blocked chains before the pads are deactivated: deactivation
       * waits for their stream locks */
      g_mutex_lock (&mux->lock);
      mux->stopping = TRUE;
      g_cond_broadcast (&mux->task_cond);
      wake_all_chains (mux);
      g_mutex_unlock (&mux->lock);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    drop_all_queued (mux);
    /* the session is over: a pad released now has nothing to close */
    g_mutex_lock (&mux->lock);
    g_hash_table_iter_init (&iter, mux->pads);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      ((GstFrameMuxPad *) value)->opened = FALSE;
    g_mutex_unlock (&mux->lock);
  }

  return ret;
}

static gint
compare_pad_conn (gconstpointer a, gconstpointer b)
{
  guint32 ca = (*(GstFrameMuxPad * const *) a)->conn;
  guint32 cb = (*(GstFrameMuxPad * const *) b)->conn;

  return ca < cb ? -1 : (ca > cb);
}

static GstStructure *
gst_frame_mux_get_stats (GstFrameMux * mux)
{
  GstStructure *s;
  GValue array = G_VALUE_INIT;
  GPtrArray *pads;
  GHashTableIter iter;
  gpointer value;
  guint i;

  g_value_init (&array, GST_TYPE_ARRAY);
  g_mutex_lock (&mux->lock);
  s = gst_structure_new ("application/x-framemux-stats",
      "frames", G_TYPE_UINT64, mux->stat_frames,
      "bytes", G_TYPE_UINT64, mux->stat_bytes,
      "messages", G_TYPE_UINT64, mux->stat_messages,
      "bytes-out", G_TYPE_UINT64, mux->stat_bytes_out,
      "frames-split", G_TYPE_UINT64, mux->stat_frames_split,
      "blocked", G_TYPE_UINT64, mux->stat_blocked,
      "control-frames", G_TYPE_UINT64, mux->stat_control,
      "flow-control", G_TYPE_BOOLEAN, mux->flow_active,
      "outstanding", G_TYPE_UINT64, mux->outstanding,
      "credit-waits", G_TYPE_UINT64, mux->stat_credit_waits,
      "credits", G_TYPE_UINT64, mux->stat_credits, NULL);
  pads = g_ptr_array_sized_new (g_hash_table_size (mux->pads));
  g_hash_table_iter_init (&iter, mux->pads);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (pads, value);
  g_ptr_array_sort (pads, compare_pad_conn);
  for (i = 0; i < pads->len; i++) {
    GstFrameMuxPad *p = g_ptr_array_index (pads, i);
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("connection",
            "conn", G_TYPE_UINT, p->conn,
            "frames", G_TYPE_UINT64, p->frames,
            "bytes", G_TYPE_UINT64, p->bytes,
            "queued-bytes", G_TYPE_UINT64, p->queued_bytes,
            "outstanding", G_TYPE_UINT64, p->sent - p->acked, NULL));
    gst_value_array_append_and_take_value (&array, &v);
  }
  g_mutex_unlock (&mux->lock);
  g_ptr_array_unref (pads);
  gst_structure_take_value (s, "connections", &array);
  return s;
}

static void
gst_frame_mux_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFrameMux *mux = GST_FRAME_MUX (object);

  switch (prop_id) {
    case PROP_MAX_MESSAGE_SIZE:
      g_mutex_lock (&mux->lock);
      mux->max_message_size = g_value_get_uint (value);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_MAX_QUEUE_BYTES:
      g_mutex_lock (&mux->lock);
      mux->max_queue_bytes = g_value_get_uint (value);
      /* a larger bound may let waiting chains go on */
      wake_all_chains (mux);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_SEND_CAPS:
      g_mutex_lock (&mux->lock);
      mux->send_caps = g_value_get_boolean (value);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_ANNOUNCE:
      g_mutex_lock (&mux->lock);
      mux->announce = g_value_get_boolean (value);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_FORWARD_EOS:
      g_mutex_lock (&mux->lock);
      mux->forward_eos = g_value_get_boolean (value);
      if (NEED_EOS (mux))
        wake_task (mux);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_FLOW_CONTROL:
      g_mutex_lock (&mux->lock);
      mux->flow_control = g_value_get_boolean (value);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_MAX_IN_FLIGHT:
      g_mutex_lock (&mux->lock);
      mux->max_in_flight = g_value_get_uint (value);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_ACK_TIMEOUT:
      g_mutex_lock (&mux->lock);
      mux->ack_timeout = g_value_get_uint (value);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_GRANT_TIMEOUT:
      g_mutex_lock (&mux->lock);
      mux->grant_timeout = g_value_get_uint (value);
      g_mutex_unlock (&mux->lock);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_mux_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstFrameMux *mux = GST_FRAME_MUX (object);

  switch (prop_id) {
    case PROP_MAX_MESSAGE_SIZE:
      g_mutex_lock (&mux->lock);
      g_value_set_uint (value, mux->max_message_size);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_MAX_QUEUE_BYTES:
      g_mutex_lock (&mux->lock);
      g_value_set_uint (value, mux->max_queue_bytes);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_SEND_CAPS:
      g_mutex_lock (&mux->lock);
      g_value_set_boolean (value, mux->send_caps);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_ANNOUNCE:
      g_mutex_lock (&mux->lock);
      g_value_set_boolean (value, mux->announce);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_FORWARD_EOS:
      g_mutex_lock (&mux->lock);
      g_value_set_boolean (value, mux->forward_eos);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_FLOW_CONTROL:
      g_mutex_lock (&mux->lock);
      g_value_set_boolean (value, mux->flow_control);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_MAX_IN_FLIGHT:
      g_mutex_lock (&mux->lock);
      g_value_set_uint (value, mux->max_in_flight);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_ACK_TIMEOUT:
      g_mutex_lock (&mux->lock);
      g_value_set_uint (value, mux->ack_timeout);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_GRANT_TIMEOUT:
      g_mutex_lock (&mux->lock);
      g_value_set_uint (value, mux->grant_timeout);
      g_mutex_unlock (&mux->lock);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_frame_mux_get_stats (mux));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_mux_finalize (GObject * object)
{
  GstFrameMux *mux = GST_FRAME_MUX (object);

  drop_all_queued (mux);
  g_hash_table_destroy (mux->pads);
  g_hash_table_destroy (mux->draining);
  gst_queue_array_free (mux->control);
  g_array_free (mux->pieces, TRUE);
  g_mutex_clear (&mux->lock);
  g_cond_clear (&mux->task_cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static gboolean
gst_frame_mux_send_control (GstFrameMux * mux, guint code, GBytes * data)
{
  gsize len = data ? g_bytes_get_size (data) : 0;
  WrtcControlMessage msg;
  GstBuffer *buf;
  GstMapInfo map;
  MuxFrame f;

  if (code > G_MAXUINT16 || len > G_MAXUINT32 - 2) {
    GST_WARNING_OBJECT (mux, "send-control: code %u or size %" G_GSIZE_FORMAT
        " out of range", code, len);
    return FALSE;
  }
  buf = gst_buffer_new_allocate (NULL, 2 + len, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  map.data[0] = (guint8) (code >> 8);
  map.data[1] = (guint8) code;
  if (len)
    memcpy (map.data + 2, g_bytes_get_data (data, NULL), len);
  /* the same check a receiver makes: never send what it would reject */
  if (wrtc_control_parse (map.data, map.size, &msg) ==
      WRTC_CONTROL_PARSE_TRUNCATED) {
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    GST_WARNING_OBJECT (mux, "send-control: %s (%u) needs more than %"
        G_GSIZE_FORMAT " bytes of data", wrtc_control_code_name (code), code,
        len);
    return FALSE;
  }
  gst_buffer_unmap (buf, &map);

  g_mutex_lock (&mux->lock);
  if (mux->last_flow != GST_FLOW_OK || mux->eos_sent ||
      mux->control_bytes + 2 + len > MAX_CONTROL_BYTES) {
    g_mutex_unlock (&mux->lock);
    GST_DEBUG_OBJECT (mux, "send-control: refusing %s (%u)",
        wrtc_control_code_name (code), code);
    gst_buffer_unref (buf);
    return FALSE;
  }
  queue_flow_offer (mux);
  f.buf = buf;
  f.ts = wrtc_frame_now_ms ();
  f.conn = WRTC_FRAME_CONTROL_CONN;
  gst_queue_array_push_tail_struct (mux->control, &f);
  mux->control_bytes += 2 + len;
  mux->pending_frames++;
  mux->stat_control++;
  if (!mux->pushing)
    wake_task (mux);
  g_mutex_unlock (&mux->lock);
  GST_DEBUG_OBJECT (mux, "queued %s (%u), %" G_GSIZE_FORMAT " bytes",
      wrtc_control_code_name (code), code, len);
  return TRUE;
}

static void
gst_frame_mux_class_init (GstFrameMuxClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_frame_mux_set_property;
  gobject_class->get_property = gst_frame_mux_get_property;
  gobject_class->finalize = gst_frame_mux_finalize;

  /**
   * GstFrameMux:max-message-size:
   *
   * Largest output buffer. Waiting frames are packed together up to this
   * size; larger frames are split across consecutive output buffers.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_MESSAGE_SIZE,
      g_param_spec_uint ("max-message-size", "Maximum message size",
          "Largest output buffer in bytes (one data-channel message): "
          "waiting frames are packed into buffers up to this size, larger "
          "frames are split across consecutive buffers",
          MIN_MAX_MESSAGE_SIZE, G_MAXUINT32, DEFAULT_MAX_MESSAGE_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstFrameMux:max-queue-bytes:
   *
   * Payload bytes queued per sink pad before its chain function blocks.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE_BYTES,
      g_param_spec_uint ("max-queue-bytes", "Maximum queued bytes per pad",
          "Payload bytes each sink pad may queue while downstream is busy "
          "before upstream of that pad blocks (a single larger buffer is "
          "still accepted when the pad's queue is empty)",
          0, G_MAXUINT32, DEFAULT_MAX_QUEUE_BYTES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstFrameMux:stats:
   *
   * Statistics since the last READY to PAUSED change: frames, bytes
   * (payload accepted), messages (output buffers), bytes-out, frames-split,
   * blocked (times a chain waited for queue space) and connections, an
   * array of "connection" structures with conn, frames, bytes and
   * queued-bytes.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Statistics (application/x-framemux-stats): frames, bytes, "
          "messages, bytes-out, frames-split, blocked and per-connection "
          "frames, bytes and queued-bytes",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameMux:send-caps:
   *
   * Sends each connection's caps inside its OpenConnection message (and
   * repeats OpenConnection when the caps change), for a framedemux peer.
   * Off by default: the reference implementation does not expect them.
   */
  g_object_class_install_property (gobject_class, PROP_SEND_CAPS,
      g_param_spec_boolean ("send-caps", "Send caps",
          "Send each connection's caps with its OpenConnection control "
          "message (and a new OpenConnection when they change) so that "
          "framedemux gives its source pad the same caps; only for peers "
          "running framedemux, the reference implementation does not "
          "expect them", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstFrameMux:announce-connections:
   *
   * Sends OpenConnection, SendEOF and CloseConnection on connection 0 for
   * the sink pads. Turn off only for a receiver that wants data frames
   * alone (a recording, a peer without a control connection).
   */
  g_object_class_install_property (gobject_class, PROP_ANNOUNCE,
      g_param_spec_boolean ("announce-connections", "Announce connections",
          "Send OpenConnection (on a pad's first data or caps), SendEOF (on "
          "its EOS, after its data) and CloseConnection (on its release) on "
          "the control connection 0; turn off to send data frames only",
          TRUE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstFrameMux:forward-eos:
   *
   * Whether the output ends (EOS downstream) once every sink pad is EOS.
   * A long-lived tunnel turns this off: connections then end with SendEOF
   * and CloseConnection only, and the stream stays open for new ones and
   * for control messages.
   */
  g_object_class_install_property (gobject_class, PROP_FORWARD_EOS,
      g_param_spec_boolean ("forward-eos", "Forward EOS",
          "Send EOS downstream once every sink pad is EOS and everything "
          "queued is out (after which nothing more can be sent); turn off "
          "for a long-lived tunnel where connections come and go",
          TRUE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstFrameMux:flow-control:
   *
   * Offer credit flow control (FlowOffer as the first frame) and, once the
   * receiver grants windows, keep to them: a connection without credit
   * blocks only its own sink pad, and EOS goes out only after the peer
   * acknowledged every byte. A reference peer skips the offer and grants
   * nothing, so it sees today's stream.
   */
  g_object_class_install_property (gobject_class, PROP_FLOW_CONTROL,
      g_param_spec_boolean ("flow-control", "Flow control",
          "Offer credit flow control and keep to the windows the receiver "
          "grants (per connection and for the whole tunnel); EOS then waits "
          "until the peer has acknowledged everything",
          DEFAULT_FLOW_CONTROL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstFrameMux:max-in-flight:
   *
   * Caps the receiver's tunnel window: unacknowledged bytes over all
   * connections stay below usrsctp's 1 MiB send buffer by default, so the
   * SCTP encoder never has to wait for buffer space.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_IN_FLIGHT,
      g_param_spec_uint ("max-in-flight", "Maximum in flight",
          "Most unacknowledged bytes over all connections with flow control "
          "(the lower of this and the receiver's tunnel window; 0: the "
          "receiver's alone)",
          0, G_MAXUINT32, DEFAULT_MAX_IN_FLIGHT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameMux:ack-timeout:
   *
   * With flow control on, an error is posted when the peer acknowledged
   * nothing for this long while data is outstanding (a stalled channel or
   * a receiver that stopped reading), instead of waiting for ever.
   */
  g_object_class_install_property (gobject_class, PROP_ACK_TIMEOUT,
      g_param_spec_uint ("ack-timeout", "Acknowledgement timeout",
          "Milliseconds without any acknowledgement while data is "
          "outstanding after which the stream fails with an error (flow "
          "control only; 0: wait for ever)",
          0, G_MAXUINT32, DEFAULT_ACK_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameMux:grant-timeout:
   *
   * With flow control on, how long after the FlowOffer went out the
   * receiver's FlowGrant is waited for (each connection may send its
   * first 64 KiB, 256 KiB in all, meanwhile). A receiver that has not
   * granted by then is taken for one without flow control (the reference
   * implementation) and gets the stream without limits. Against a known
   * reference peer set #GstFrameMux:flow-control to FALSE instead.
   */
  g_object_class_install_property (gobject_class, PROP_GRANT_TIMEOUT,
      g_param_spec_uint ("grant-timeout", "Grant timeout",
          "Milliseconds to wait for the receiver's FlowGrant before taking "
          "it for a peer without flow control", 1, G_MAXUINT32,
          DEFAULT_GRANT_TIMEOUT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameMux::send-control:
   * @framemux: the element
   * @code: control message code (see wire-format.md), 0..65535
   * @data: (nullable): the message data after the code (for codes 101..104
   *   starting with the u32 connection number)
   *
   * Action signal: queues one control message on connection 0. Callable
   * from any thread; never blocks. Control messages go out before any
   * queued connection data, in the order they were queued. Messages queued
   * before the element is PAUSED are sent when it starts; going to READY
   * drops the queue.
   *
   * Returns: %TRUE if queued; %FALSE if the message is malformed (a known
   * code with too little data), if downstream has failed or if more than
   * 1 MiB of control messages is already waiting.
   */
  mux_signals[SIGNAL_SEND_CONTROL] =
      g_signal_new_class_handler ("send-control", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_frame_mux_send_control), NULL, NULL, NULL,
      G_TYPE_BOOLEAN, 2, G_TYPE_UINT, G_TYPE_BYTES);

  gst_element_class_add_static_pad_template_with_gtype (element_class,
      &sink_template, GST_TYPE_FRAME_MUX_PAD);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  gst_element_class_set_static_metadata (element_class,
      "WebRTC tunnel frame muxer", "Codec/Muxer",
      "Multiplexes independent byte streams (one request pad per connection) "
      "into one framed byte stream for a WebRTC data channel",
      "gst-wrtcframe authors");

  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_frame_mux_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_frame_mux_release_pad);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_frame_mux_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_FRAME_MUX_PAD, 0);
}

static void
gst_frame_mux_init (GstFrameMux * mux)
{
  g_mutex_init (&mux->lock);
  g_cond_init (&mux->task_cond);
  g_queue_init (&mux->ring);
  mux->pads = g_hash_table_new_full (NULL, NULL, NULL, gst_object_unref);
  mux->draining = g_hash_table_new (NULL, NULL);
  mux->control = gst_queue_array_new_for_struct (sizeof (MuxFrame), 4);
  mux->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  mux->max_queue_bytes = DEFAULT_MAX_QUEUE_BYTES;
  mux->announce = TRUE;
  mux->forward_eos = TRUE;
  mux->flow_control = DEFAULT_FLOW_CONTROL;
  mux->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  mux->ack_timeout = DEFAULT_ACK_TIMEOUT;
  mux->grant_timeout = DEFAULT_GRANT_TIMEOUT;
  mux->last_flow = GST_FLOW_OK;
  mux->pieces = g_array_new (FALSE, FALSE, sizeof (MuxPiece));

  mux->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_event_function (mux->srcpad, gst_frame_mux_src_event);
  gst_pad_set_activatemode_function (mux->srcpad,
      gst_frame_mux_src_activate_mode);
  gst_pad_use_fixed_caps (mux->srcpad);
  gst_element_add_pad (GST_ELEMENT (mux), mux->srcpad);
}

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
#include "gstwrtcframeelements.h"
#include "frame-codec.h"

GST_DEBUG_CATEGORY_STATIC (gst_frame_mux_debug);
#define GST_CAT_DEFAULT gst_frame_mux_debug

#define DEFAULT_MAX_MESSAGE_SIZE 65536
#define MIN_MAX_MESSAGE_SIZE 64
#define DEFAULT_MAX_QUEUE_BYTES (1024 * 1024)

/* ---- GstFrameMuxPad ---- */

#define GST_TYPE_FRAME_MUX_PAD (gst_frame_mux_pad_get_type ())
G_DECLARE_FINAL_TYPE (GstFrameMuxPad, gst_frame_mux_pad, GST, FRAME_MUX_PAD,
    GstPad);

typedef struct
{
  GstBuffer *buf;
  guint64 ts;
} MuxFrame;

struct _GstFrameMuxPad
{
  GstPad parent;

  guint32 conn;                 /* fixed at creation */

  /* everything below is protected by the element's lock */
  GstQueueArray *queue;         /* of MuxFrame */
  guint64 queued_bytes;         /* payload bytes in queue */
  GList ring_link;              /* link in the element's round-robin ring */
  gboolean in_ring;
  gboolean eos;
  gboolean flushing;
  gboolean released;
  gboolean waiting;             /* a chain waits on space_cond */
  GCond space_cond;
  GstCaps *caps;                /* last caps received, for a later issue */
  guint64 frames;
  guint64 bytes;
};

enum
{
  PROP_PAD_0,
  PROP_PAD_CONNECTION,
};

G_DEFINE_TYPE (GstFrameMuxPad, gst_frame_mux_pad, GST_TYPE_PAD);

static void
gst_frame_mux_pad_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (object);

  switch (prop_id) {
    case PROP_PAD_CONNECTION:
      g_value_set_uint (value, mpad->conn);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_mux_pad_finalize (GObject * object)
{
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (object);
  MuxFrame *f;

  while ((f = gst_queue_array_pop_head_struct (mpad->queue)))
    gst_buffer_unref (f->buf);
  gst_queue_array_free (mpad->queue);
  gst_caps_replace (&mpad->caps, NULL);
  g_cond_clear (&mpad->space_cond);

  G_OBJECT_CLASS (gst_frame_mux_pad_parent_class)->finalize (object);
}

static void
gst_frame_mux_pad_class_init (GstFrameMuxPadClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->get_property = gst_frame_mux_pad_get_property;
  gobject_class->finalize = gst_frame_mux_pad_finalize;

  /**
   * GstFrameMuxPad:connection:
   *
   * The connection number this pad's buffers are framed with.
   */
  g_object_class_install_property (gobject_class, PROP_PAD_CONNECTION,
      g_param_spec_uint ("connection", "Connection",
          "Connection number written into every frame from this pad "
          "(the N of sink_N; 1..4294967295, 0 is the control connection)",
          1, G_MAXUINT32, 1, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_frame_mux_pad_init (GstFrameMuxPad * mpad)
{
  mpad->queue = gst_queue_array_new_for_struct (sizeof (MuxFrame), 16);
  mpad->ring_link.data = mpad;
  g_cond_init (&mpad->space_cond);
}

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
  GList *pads;                  /* GstFrameMuxPad, sorted by conn, one ref */
  guint n_pads;
  guint n_eos;
  GQueue ring;                  /* pads with queued frames (embedded links) */
  guint64 pending_frames;       /* queued in all pad queues */
  gboolean pushing;             /* someone is the pusher */
  gboolean stopping;            /* going to READY, or src inactive */
  gboolean task_waiting;
  gboolean eos_sent;
  GstFlowReturn last_flow;
  guint max_message_size;
  guint max_queue_bytes;
  GSList *dead_pads;            /* released pads to unref outside the lock */

  /* A frame partly sent: its remainder must start the next message. Only
   * the pusher touches it (with the lock held in gather). */
  gboolean have_split;
  MuxFrame split;
  guint32 split_conn;
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
};

enum
{
  PROP_0,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_QUEUE_BYTES,
  PROP_STATS,
};

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
#define NEED_EOS(m) ((m)->n_pads > 0 && (m)->n_eos == (m)->n_pads && \
    !(m)->eos_sent)

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
  GList *l;

  for (l = mux->pads; l; l = l->next) {
    GstFrameMuxPad *p = l->data;

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

static void
ring_remove (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  if (!mpad->in_ring)
    return;
  g_queue_unlink (&mux->ring, &mpad->ring_link);
  mpad->in_ring = FALSE;
  /* a released pad lived on only for its queued data */
  if (mpad->released)
    mux->dead_pads = g_slist_prepend (mux->dead_pads, mpad);
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
    piece.conn = mux->split_conn;
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

  while (budget > 0 && mux->ring.head) {
    GstFrameMuxPad *mpad = mux->ring.head->data;
    MuxFrame *f = gst_queue_array_pop_head_struct (mpad->queue);
    gsize len = gst_buffer_get_size (f->buf);
    gsize wire = frame_wire_size (len);

    piece.buf = f->buf;
    piece.ts = f->ts;
    piece.conn = mpad->conn;
    piece.off = 0;
    piece.n = MIN (wire, budget);
    piece.done = piece.n == wire;
    g_array_append_val (mux->pieces, piece);
    if (!piece.done) {
      mux->have_split = TRUE;
      mux->split = *f;
      mux->split_conn = mpad->conn;
      mux->split_off = piece.n;
      mux->stat_frames_split++;
    }
    budget -= piece.n;
    total += piece.n;

    mux->pending_frames--;
    mpad->queued_bytes -= len;
    if (mpad->waiting)
      g_cond_signal (&mpad->space_cond);

    /* round-robin: this pad goes to the back of the ring */
    g_queue_unlink (&mux->ring, &mpad->ring_link);
    if (gst_queue_array_is_empty (mpad->queue)) {
      mpad->in_ring = FALSE;
      if (mpad->released)
        mux->dead_pads = g_slist_prepend (mux->dead_pads, mpad);
    } else {
      g_queue_push_tail_link (&mux->ring, &mpad->ring_link);
    }
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

static void
gst_frame_mux_loop (GstFrameMux * mux)
{
  GstFlowReturn ret;
  GstBuffer *out;
  GSList *dead;
  gsize total;

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
    mux->task_waiting = TRUE;
    g_cond_wait (&mux->task_cond, &mux->lock);
    mux->task_waiting = FALSE;
  }

  /* keep the pusher role until the backlog is empty */
  mux->pushing = TRUE;
  while (HAS_DATA (mux) && mux->last_flow == GST_FLOW_OK && !mux->stopping) {
    total = gather (mux);
    dead = mux->dead_pads;
    mux->dead_pads = NULL;
    /* counted before the push: whoever has received the message must see
     * it in "stats" (counting after let a fast reader miss it) */
    mux->stat_messages++;
    mux->stat_bytes_out += total;
    g_mutex_unlock (&mux->lock);

    unref_dead_pads (dead);
    out = build_message (mux, total);
    push_headers (mux);
    ret = push_buffer (mux, out);

    g_mutex_lock (&mux->lock);
    record_flow (mux, ret);
  }
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
  gboolean counted_block = FALSE;
  MuxFrame f;

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
    if (G_UNLIKELY (mpad->eos)) {
      ret = GST_FLOW_EOS;
      goto drop;
    }
    if (!mux->pushing && !HAS_DATA (mux)) {
      gsize max_msg = mux->max_message_size;

      mux->pushing = TRUE;
      mux->stat_frames++;
      mux->stat_bytes += size;
      mpad->frames++;
      mpad->bytes += size;
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

  f.buf = buf;
  f.ts = ts;
  gst_queue_array_push_tail_struct (mpad->queue, &f);
  mpad->queued_bytes += size;
  mpad->frames++;
  mpad->bytes += size;
  mux->stat_frames++;
  mux->stat_bytes += size;
  mux->pending_frames++;
  if (!mpad->in_ring) {
    g_queue_push_tail_link (&mux->ring, &mpad->ring_link);
    mpad->in_ring = TRUE;
  }
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

/* Drops a pad's queued frames; lock held. */
static void
flush_pad_queue (GstFrameMux * mux, GstFrameMuxPad * mpad)
{
  MuxFrame *f;

  while ((f = gst_queue_array_pop_head_struct (mpad->queue))) {
    gst_buffer_unref (f->buf);
    mux->pending_frames--;
  }
  mpad->queued_bytes = 0;
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
      gst_caps_replace (&mpad->caps, caps);
      g_mutex_unlock (&mux->lock);
      break;
    }
    case GST_EVENT_EOS:
      g_mutex_lock (&mux->lock);
      if (!mpad->eos && !mpad->released) {
        mpad->eos = TRUE;
        mux->n_eos++;
        if (NEED_EOS (mux))
          wake_task (mux);
      }
      g_mutex_unlock (&mux->lock);
      break;
    case GST_EVENT_FLUSH_START:
      g_mutex_lock (&mux->lock);
      mpad->flushing = TRUE;
      flush_pad_queue (mux, mpad);
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
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEEK:
      GST_DEBUG_OBJECT (pad, "refusing seek: the stream is not seekable");
      gst_event_unref (event);
      return FALSE;
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

static gint
compare_pad_conn (gconstpointer a, gconstpointer b)
{
  guint32 ca = ((const GstFrameMuxPad *) a)->conn;
  guint32 cb = ((const GstFrameMuxPad *) b)->conn;

  return ca < cb ? -1 : (ca > cb);
}

static GstPad *
gst_frame_mux_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps)
{
  GstFrameMux *mux = GST_FRAME_MUX (element);
  GstFrameMuxPad *mpad;
  guint64 conn = 0;
  gchar *pad_name;
  GList *l;

  if (templ->direction != GST_PAD_SINK)
    return NULL;

  g_mutex_lock (&mux->lock);
  if (name == NULL || strcmp (name, "sink_%u") == 0) {
    /* lowest free number >= 1 (pads is sorted) */
    conn = 1;
    for (l = mux->pads; l; l = l->next) {
      GstFrameMuxPad *p = l->data;

      if (p->conn > conn)
        break;
      if (p->conn == conn) {
        if (conn == G_MAXUINT32)
          goto no_free;
        conn++;
      }
    }
  } else {
    if (!parse_conn_name (name, &conn))
      goto bad_name;
    if (conn == 0)
      goto reserved;
    for (l = mux->pads; l; l = l->next) {
      if (((GstFrameMuxPad *) l->data)->conn == conn)
        goto duplicate;
    }
  }

  pad_name = g_strdup_printf ("sink_%u", (guint) conn);
  mpad = g_object_new (GST_TYPE_FRAME_MUX_PAD, "name", pad_name,
      "direction", GST_PAD_SINK, "template", templ, NULL);
  g_free (pad_name);
  mpad->conn = conn;
  gst_object_ref_sink (mpad);
  mux->pads = g_list_insert_sorted (mux->pads, mpad, compare_pad_conn);
  mux->n_pads++;
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
  GList *l;

  g_mutex_lock (&mux->lock);
  l = g_list_find (mux->pads, mpad);
  if (l == NULL) {
    g_mutex_unlock (&mux->lock);
    return;
  }
  mux->pads = g_list_delete_link (mux->pads, l);
  mux->n_pads--;
  if (mpad->eos)
    mux->n_eos--;
  mpad->released = TRUE;
  /* a chain waiting for space gives up (its buffer was not accepted);
   * what is queued stays and is still sent, the ring keeps the pad alive */
  if (mpad->waiting)
    g_cond_broadcast (&mpad->space_cond);
  if (!mpad->in_ring)
    drop_ref = TRUE;
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
  GSList *dead;
  GList *l;

  g_mutex_lock (&mux->lock);
  for (l = mux->pads; l; l = l->next)
    flush_pad_queue (mux, l->data);
  while (mux->ring.head)
    flush_pad_queue (mux, mux->ring.head->data);
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
  GList *l;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      g_mutex_lock (&mux->lock);
      mux->stopping = FALSE;
      mux->last_flow = GST_FLOW_OK;
      mux->eos_sent = FALSE;
      mux->need_headers = TRUE;
      mux->discont = TRUE;
      mux->n_eos = 0;
      for (l = mux->pads; l; l = l->next) {
        GstFrameMuxPad *p = l->data;

        p->eos = FALSE;
        p->flushing = FALSE;
        p->frames = p->bytes = 0;
      }
      mux->stat_frames = mux->stat_bytes = mux->stat_messages = 0;
      mux->stat_bytes_out = mux->stat_frames_split = mux->stat_blocked = 0;
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

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    drop_all_queued (mux);

  return ret;
}

static GstStructure *
gst_frame_mux_get_stats (GstFrameMux * mux)
{
  GstStructure *s;
  GValue array = G_VALUE_INIT;
  GList *l;

  g_value_init (&array, GST_TYPE_ARRAY);
  g_mutex_lock (&mux->lock);
  s = gst_structure_new ("application/x-framemux-stats",
      "frames", G_TYPE_UINT64, mux->stat_frames,
      "bytes", G_TYPE_UINT64, mux->stat_bytes,
      "messages", G_TYPE_UINT64, mux->stat_messages,
      "bytes-out", G_TYPE_UINT64, mux->stat_bytes_out,
      "frames-split", G_TYPE_UINT64, mux->stat_frames_split,
      "blocked", G_TYPE_UINT64, mux->stat_blocked, NULL);
  for (l = mux->pads; l; l = l->next) {
    GstFrameMuxPad *p = l->data;
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("connection",
            "conn", G_TYPE_UINT, p->conn,
            "frames", G_TYPE_UINT64, p->frames,
            "bytes", G_TYPE_UINT64, p->bytes,
            "queued-bytes", G_TYPE_UINT64, p->queued_bytes, NULL));
    gst_value_array_append_and_take_value (&array, &v);
  }
  g_mutex_unlock (&mux->lock);
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
  g_list_free_full (mux->pads, gst_object_unref);
  g_array_free (mux->pieces, TRUE);
  g_mutex_clear (&mux->lock);
  g_cond_clear (&mux->task_cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
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
  mux->max_message_size = DEFAULT_MAX_MESSAGE_SIZE;
  mux->max_queue_bytes = DEFAULT_MAX_QUEUE_BYTES;
  mux->last_flow = GST_FLOW_OK;
  mux->pieces = g_array_new (FALSE, FALSE, sizeof (MuxPiece));

  mux->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_event_function (mux->srcpad, gst_frame_mux_src_event);
  gst_pad_set_activatemode_function (mux->srcpad,
      gst_frame_mux_src_activate_mode);
  gst_pad_use_fixed_caps (mux->srcpad);
  gst_element_add_pad (GST_ELEMENT (mux), mux->srcpad);
}

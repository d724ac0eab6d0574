/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* One connection's way out of framedemux: its source pad, a bounded queue
 * of buffers and serialized events, and the pad task that pushes them. The
 * parser thread only queues, so a slow or blocked branch holds up nothing
 * but its own queue. */

#ifndef __FRAMEDEMUX_OUTPUT_H__
#define __FRAMEDEMUX_OUTPUT_H__

#include <gst/gst.h>
#include <gst/base/gstqueuearray.h>

G_BEGIN_DECLS

typedef struct _FrameDemuxConn FrameDemuxConn;

/* What the task reports back to the element, from the task's thread. */
typedef struct
{
  /* @bytes of payload left the element (pushed OK, or dropped because the
   * branch does not want them: not linked, EOS). @final: the connection's
   * EOS went out after them. */
  void (*consumed) (GstElement * demux, FrameDemuxConn * conn, guint64 bytes,
      gboolean final);
  /* The branch failed (@ret); the connection is dead from now on. */
  void (*failed) (GstElement * demux, FrameDemuxConn * conn,
      GstFlowReturn ret);
  /* A closed connection pushed its last event: the pad can go. */
  void (*drained) (GstElement * demux, FrameDemuxConn * conn);
} FrameDemuxConnCallbacks;

struct _FrameDemuxConn
{
  guint32 conn_no;
  GstPad *pad;                  /* one ref */
  GstElement *demux;            /* not a ref: the element outlives its pads */
  const FrameDemuxConnCallbacks *cb;
  guint64 *total_dropped;       /* the element's counter */

  /* The queue, under lock. */
  GMutex lock;
  GCond cond;
  GstQueueArray *items;         /* GstBuffer or GstEvent */
  guint64 queued_bytes;
  gint flushing;                /* written under lock, read with atomics */
  gboolean closing;             /* the last item is queued */
  gboolean producer_waiting;
  gboolean task_waiting;
  gboolean busy;                /* the task pushes an item */
  gboolean drain_waiting;

  gboolean removing;            /* the element's object lock */
  guint close_reason;           /* CloseConnection's, for the signal */

  /* Parser thread only. */
  guint64 offset;               /* payload bytes queued so far */
  gboolean eos_sent;            /* SendEOF: the peer sends no more data */
  gboolean active;              /* got data since the last idle sweep */

  /* Task thread only. */
  gboolean warned_unlinked;
  gboolean unwanted;            /* downstream returned EOS / not-linked */

  /* Any thread (atomics). */
  gint dead;                    /* the branch failed */
  guint64 frames;
  guint64 bytes;
  guint64 dropped;
  guint64 delivered;            /* flow control, under the element's lock */
  guint64 acked;
};

FrameDemuxConn *frame_demux_conn_new (GstElement * demux, guint32 conn_no,
    GstPad * pad, const FrameDemuxConnCallbacks * cb);
/* Starts the task; the pad must be active. */
void frame_demux_conn_start (FrameDemuxConn * conn);

/* Queues a payload buffer (taken). Blocks while the queue is full by the
 * flow-control rule (less than @window / 4 queued, or all of it fitting in
 * @window). Returns FALSE when flushing (the buffer is dropped). */
gboolean frame_demux_conn_queue_buffer (FrameDemuxConn * conn,
    GstBuffer * buf, guint64 window);
/* Queues a serialized event (taken); @last: nothing follows it. */
void frame_demux_conn_queue_event (FrameDemuxConn * conn, GstEvent * event,
    gboolean last);
gboolean frame_demux_conn_is_idle (FrameDemuxConn * conn);
/* Waits until everything queued so far has been pushed (drain query).
 * FALSE when flushing. */
gboolean frame_demux_conn_wait_drained (FrameDemuxConn * conn);

/* Flush-start: drops what is queued, wakes the producer; the task pauses
 * itself. Never blocks. */
void frame_demux_conn_mark_flushing (FrameDemuxConn * conn);
/* Flush-stop: waits until the task has paused... */
void frame_demux_conn_wait_paused (FrameDemuxConn * conn);
/* ...then accepts data again and restarts it. */
void frame_demux_conn_resume (FrameDemuxConn * conn);
/* Stops the task for good (the caller then removes the pad)... */
void frame_demux_conn_stop (FrameDemuxConn * conn);
/* ...and frees @conn. */
void frame_demux_conn_free (FrameDemuxConn * conn);

G_END_DECLS

#endif

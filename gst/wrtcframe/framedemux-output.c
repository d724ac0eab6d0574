/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "framedemux-output.h"

GST_DEBUG_CATEGORY_EXTERN (gst_frame_demux_debug);
#define GST_CAT_DEFAULT gst_frame_demux_debug

/* Items the task takes out of the queue in one go: one lock round and at
 * most one wake-up for them all while the parser keeps ahead. */
#define MAX_BATCH 32

#define STAT_ADD(field, n) \
  __atomic_store_n (&(field), __atomic_load_n (&(field), __ATOMIC_RELAXED) \
      + (n), __ATOMIC_RELAXED)

static void conn_loop (gpointer data);

FrameDemuxConn *
frame_demux_conn_new (GstElement * demux, guint32 conn_no, GstPad * pad,
    const FrameDemuxConnCallbacks * cb)
{
  FrameDemuxConn *conn = g_new0 (FrameDemuxConn, 1);

  conn->conn_no = conn_no;
  conn->pad = gst_object_ref (pad);
  conn->demux = demux;
  conn->cb = cb;
  g_mutex_init (&conn->lock);
  g_cond_init (&conn->cond);
  conn->items = gst_queue_array_new (16);
  return conn;
}

void
frame_demux_conn_start (FrameDemuxConn * conn)
{
  gst_pad_start_task (conn->pad, conn_loop, conn, NULL);
}

static void
drop_queued (FrameDemuxConn * conn)
{
  GstMiniObject *item;

  while ((item = gst_queue_array_pop_head (conn->items)))
    gst_mini_object_unref (item);
  conn->queued_bytes = 0;
}

gboolean
frame_demux_conn_queue_buffer (FrameDemuxConn * conn, GstBuffer * buf,
    guint64 window)
{
  guint64 size = gst_buffer_get_size (buf);

  g_mutex_lock (&conn->lock);
  /* the rule a credit-honouring sender keeps to, so against such a sender
   * this never waits; without credit it is plain backpressure */
  while (!conn->flushing && conn->queued_bytes >= window / 4 &&
      conn->queued_bytes + size > window) {
    conn->producer_waiting = TRUE;
    g_cond_wait (&conn->cond, &conn->lock);
    conn->producer_waiting = FALSE;
  }
  if (conn->flushing) {
    g_mutex_unlock (&conn->lock);
    gst_buffer_unref (buf);
    return FALSE;
  }
  gst_queue_array_push_tail (conn->items, buf);
  conn->queued_bytes += size;
  if (conn->task_waiting)
    g_cond_broadcast (&conn->cond);
  g_mutex_unlock (&conn->lock);
  return TRUE;
}

void
frame_demux_conn_queue_event (FrameDemuxConn * conn, GstEvent * event,
    gboolean last)
{
  g_mutex_lock (&conn->lock);
  if (conn->closing) {
    g_mutex_unlock (&conn->lock);
    gst_event_unref (event);
    return;
  }
  gst_queue_array_push_tail (conn->items, event);
  conn->closing = last;
  if (conn->task_waiting)
    g_cond_broadcast (&conn->cond);
  g_mutex_unlock (&conn->lock);
}

gboolean
frame_demux_conn_is_idle (FrameDemuxConn * conn)
{
  gboolean idle;

  g_mutex_lock (&conn->lock);
  idle = gst_queue_array_is_empty (conn->items) && !conn->closing;
  g_mutex_unlock (&conn->lock);
  return idle;
}

gboolean
frame_demux_conn_wait_drained (FrameDemuxConn * conn)
{
  gboolean ok;

  g_mutex_lock (&conn->lock);
  while (!conn->flushing && (conn->busy ||
          !gst_queue_array_is_empty (conn->items))) {
    conn->drain_waiting = TRUE;
    g_cond_wait (&conn->cond, &conn->lock);
  }
  ok = !conn->flushing;
  g_mutex_unlock (&conn->lock);
  return ok;
}

void
frame_demux_conn_mark_flushing (FrameDemuxConn * conn)
{
  g_mutex_lock (&conn->lock);
  g_atomic_int_set (&conn->flushing, TRUE);
  drop_queued (conn);
  g_cond_broadcast (&conn->cond);
  g_mutex_unlock (&conn->lock);
}

void
frame_demux_conn_wait_paused (FrameDemuxConn * conn)
{
  /* takes the stream lock: returns once the task is between iterations */
  gst_pad_pause_task (conn->pad);
}

void
frame_demux_conn_resume (FrameDemuxConn * conn)
{
  g_mutex_lock (&conn->lock);
  g_atomic_int_set (&conn->flushing, FALSE);
  g_mutex_unlock (&conn->lock);
  conn->unwanted = FALSE;
  frame_demux_conn_start (conn);
}

void
frame_demux_conn_stop (FrameDemuxConn * conn)
{
  g_mutex_lock (&conn->lock);
  g_atomic_int_set (&conn->flushing, TRUE);
  drop_queued (conn);
  g_cond_broadcast (&conn->cond);
  g_mutex_unlock (&conn->lock);
  gst_pad_stop_task (conn->pad);
}

void
frame_demux_conn_free (FrameDemuxConn * conn)
{
  gst_object_unref (conn->pad);
  gst_queue_array_free (conn->items);
  g_mutex_clear (&conn->lock);
  g_cond_clear (&conn->cond);
  g_free (conn);
}

/* Pushes one payload buffer and judges the branch by its answer. */
static void
conn_push_buffer (FrameDemuxConn * conn, GstBuffer * buf)
{
  guint64 size = gst_buffer_get_size (buf);
  GstFlowReturn ret;
  gboolean ours;

  if (g_atomic_int_get (&conn->dead) || conn->unwanted) {
    gst_buffer_unref (buf);
    STAT_ADD (conn->dropped, 1);
    STAT_ADD (*conn->total_dropped, 1);
    conn->cb->consumed (conn->demux, conn, size, FALSE);
    return;
  }

  ret = gst_pad_push (conn->pad, buf);
  switch (ret) {
    case GST_FLOW_OK:
      break;
    case GST_FLOW_NOT_LINKED:
      STAT_ADD (conn->dropped, 1);
      STAT_ADD (*conn->total_dropped, 1);
      if (!conn->warned_unlinked) {
        GST_ELEMENT_WARNING (conn->demux, STREAM, DEMUX,
            ("Connection %u is not linked: its data is dropped.",
                conn->conn_no),
            ("link %s:%s to receive it; the \"stats\" property counts the "
                "dropped frames", GST_DEBUG_PAD_NAME (conn->pad)));
        conn->warned_unlinked = TRUE;
      }
      break;
    case GST_FLOW_EOS:
      GST_DEBUG_OBJECT (conn->pad, "downstream is EOS: dropping the rest");
      conn->unwanted = TRUE;
      break;
    default:
      g_mutex_lock (&conn->lock);
      ours = conn->flushing;
      g_mutex_unlock (&conn->lock);
      if (ours && ret == GST_FLOW_FLUSHING)
        return;
      g_atomic_int_set (&conn->dead, 1);
      conn->cb->failed (conn->demux, conn, ret);
      break;
  }
  /* not-linked or EOS downstream: the bytes are gone all the same, and the
   * sender must not wait for them */
  conn->cb->consumed (conn->demux, conn, size, FALSE);
}

static void
conn_loop (gpointer data)
{
  FrameDemuxConn *conn = data;
  GstMiniObject *batch[MAX_BATCH];
  guint n = 0, i;
  gboolean last;

  g_mutex_lock (&conn->lock);
  while (gst_queue_array_is_empty (conn->items) && !conn->flushing) {
    conn->task_waiting = TRUE;
    g_cond_wait (&conn->cond, &conn->lock);
    conn->task_waiting = FALSE;
  }
  if (conn->flushing) {
    g_mutex_unlock (&conn->lock);
    gst_pad_pause_task (conn->pad);
    return;
  }
  while (n < MAX_BATCH && !gst_queue_array_is_empty (conn->items)) {
    GstMiniObject *item = gst_queue_array_pop_head (conn->items);

    if (GST_IS_BUFFER (item))
      conn->queued_bytes -= MIN (conn->queued_bytes,
          gst_buffer_get_size (GST_BUFFER_CAST (item)));
    batch[n++] = item;
  }
  last = conn->closing && gst_queue_array_is_empty (conn->items);
  /* an empty queue holds nothing, whatever was counted on the way in */
  if (gst_queue_array_is_empty (conn->items))
    conn->queued_bytes = 0;
  conn->busy = TRUE;
  if (conn->producer_waiting)
    g_cond_broadcast (&conn->cond);
  g_mutex_unlock (&conn->lock);

  for (i = 0; i < n; i++) {
    /* a flush dropped what was queued: so is the rest of the batch */
    if (G_UNLIKELY (i > 0 && g_atomic_int_get (&conn->flushing))) {
      gst_mini_object_unref (batch[i]);
      continue;
    }
    if (GST_IS_BUFFER (batch[i])) {
      conn_push_buffer (conn, GST_BUFFER_CAST (batch[i]));
    } else {
      GstEvent *event = GST_EVENT_CAST (batch[i]);
      gboolean eos = GST_EVENT_TYPE (event) == GST_EVENT_EOS;

      gst_pad_push_event (conn->pad, event);
      if (eos)
        conn->cb->consumed (conn->demux, conn, 0, TRUE);
    }
  }

  g_mutex_lock (&conn->lock);
  conn->busy = FALSE;
  if (conn->drain_waiting) {
    conn->drain_waiting = FALSE;
    g_cond_broadcast (&conn->cond);
  }
  g_mutex_unlock (&conn->lock);

  if (last) {
    gst_pad_pause_task (conn->pad);
    conn->cb->drained (conn->demux, conn);
  }
}

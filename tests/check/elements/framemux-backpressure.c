/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * framemux and the wrtc-backpressure upstream event (sent by
 * datachannelsink before it waits for its channel to drain): while it is
 * recent, frames from a single upstream thread queue and leave packed into
 * one buffer, instead of one buffer each on the fast path.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#define WAIT_S 20
#define FRAME 64
#define WIRE (FRAME + 17)

/* A probe on framemux's source pad: notes which thread pushes, and holds
 * buffers pushed by other threads (the task) while "hold" is set. */
typedef struct
{
  GMutex lock;
  GCond cond;
  GThread *test_thread;
  gboolean hold;
  gboolean held;                /* the task waits in the probe now */
  guint from_test;              /* buffers pushed by the test thread */
  guint from_task;
} Probe;

static GstPadProbeReturn
src_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Probe *p = user_data;
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  g_mutex_lock (&p->lock);
  if (g_thread_self () == p->test_thread) {
    /* the fast path: never held, the test thread would wait for itself */
    p->from_test++;
  } else {
    p->from_task++;
    while (p->hold && g_get_monotonic_time () < deadline) {
      p->held = TRUE;
      g_cond_broadcast (&p->cond);
      g_cond_wait_until (&p->cond, &p->lock, deadline);
    }
    p->held = FALSE;
  }
  g_mutex_unlock (&p->lock);
  return GST_PAD_PROBE_OK;
}

static void
push_frame (GstHarness * h, guint8 fill)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, FRAME, NULL);

  gst_buffer_memset (buf, 0, fill, FRAME);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
}

/* Frames are packed back to back: fields are not aligned. */
static guint32
read_be32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | p[3];
}

/* @buf holds @n whole frames of connection 1 whose payloads are filled
 * with @first_fill, @first_fill + 1, ... */
static void
check_frames (GstBuffer * buf, guint n, guint8 first_fill)
{
  GstMapInfo map;
  guint i, j;

  fail_unless (buf != NULL, "no output buffer within the harness timeout");
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless_equals_int (map.size, n * WIRE);
  for (i = 0; i < n; i++) {
    const guint8 *f = map.data + i * WIRE;

    fail_unless_equals_int (read_be32 (f), 1);
    fail_unless_equals_int (read_be32 (f + 12), FRAME);
    for (j = 0; j < FRAME; j++)
      fail_unless_equals_int (f[16 + j], (guint8) (first_fill + i));
    fail_unless_equals_int (f[16 + FRAME], ';');
  }
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
}

static guint64
stat_messages (GstElement * mux)
{
  GstStructure *s = NULL;
  guint64 v = 0;

  g_object_get (mux, "stats", &s, NULL);
  fail_unless (gst_structure_get_uint64 (s, "messages", &v));
  gst_structure_free (s);
  return v;
}

GST_START_TEST (test_backpressure_coalesces)
{
  GstHarness *h = gst_harness_new_with_padnames ("framemux", "sink_1", "src");
  GstPad *srcpad = gst_element_get_static_pad (h->element, "src");
  gint64 deadline;
  Probe p;
  guint i;

  /* Data frames only: no control frames on connection 0 to count. */
  g_object_set (h->element, "announce-connections", FALSE, NULL);
  memset (&p, 0, sizeof (p));
  g_mutex_init (&p.lock);
  g_cond_init (&p.cond);
  p.test_thread = g_thread_self ();
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, src_probe, &p, NULL);
  gst_harness_set_src_caps_str (h, "application/octet-stream");

  /* No backpressure: the fast path, out by the time the push returns. */
  push_frame (h, 1);
  fail_unless_equals_int (p.from_test, 1);
  check_frames (gst_harness_try_pull (h), 1, 1);

  /* Downstream says it paces us; hold what the task pushes. */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new_empty ("wrtc-backpressure"))));
  g_mutex_lock (&p.lock);
  p.hold = TRUE;
  g_mutex_unlock (&p.lock);

  /* Nothing queued and nobody pushing, yet the frame goes to the task. */
  push_frame (h, 2);
  deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&p.lock);
  while (!p.held && g_get_monotonic_time () < deadline)
    g_cond_wait_until (&p.cond, &p.lock, deadline);
  fail_unless (p.held, "the task did not push the frame within %d s", WAIT_S);
  fail_unless_equals_int (p.from_test, 1);
  g_mutex_unlock (&p.lock);

  /* While the task is held, ten more frames queue ... */
  for (i = 0; i < 10; i++)
    push_frame (h, 3 + i);
  g_mutex_lock (&p.lock);
  p.hold = FALSE;
  g_cond_broadcast (&p.cond);
  g_mutex_unlock (&p.lock);

  /* ... and leave as one buffer. */
  check_frames (gst_harness_pull (h), 1, 2);
  check_frames (gst_harness_pull (h), 10, 3);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  fail_unless_equals_uint64 (stat_messages (h->element), 3);
  g_mutex_lock (&p.lock);
  fail_unless_equals_int (p.from_test, 1);
  fail_unless_equals_int (p.from_task, 2);
  g_mutex_unlock (&p.lock);

  /* The event holds for 0.5 s: after that, the fast path again. */
  g_usleep (600 * 1000);
  push_frame (h, 20);
  fail_unless_equals_int (p.from_test, 2);
  check_frames (gst_harness_try_pull (h), 1, 20);

  gst_object_unref (srcpad);
  gst_harness_teardown (h);
  g_mutex_clear (&p.lock);
  g_cond_clear (&p.cond);
}

GST_END_TEST;

/* "persistent": the task packs for good, a later plain event does not
 * shorten that to 0.5 s. */
GST_START_TEST (test_persistent_backpressure)
{
  GstHarness *h = gst_harness_new_with_padnames ("framemux", "sink_1", "src");
  GstPad *srcpad = gst_element_get_static_pad (h->element, "src");
  gint64 deadline;
  Probe p;
  guint i;

  g_object_set (h->element, "announce-connections", FALSE, NULL);
  memset (&p, 0, sizeof (p));
  g_mutex_init (&p.lock);
  g_cond_init (&p.cond);
  p.test_thread = g_thread_self ();
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, src_probe, &p, NULL);
  gst_harness_set_src_caps_str (h, "application/octet-stream");

  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new ("wrtc-backpressure", "persistent",
                  G_TYPE_BOOLEAN, TRUE, NULL))));
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new_empty ("wrtc-backpressure"))));
  g_usleep (600 * 1000);
  g_mutex_lock (&p.lock);
  p.hold = TRUE;
  g_mutex_unlock (&p.lock);

  /* past the 0.5 s of a plain event, the task still takes the frame */
  push_frame (h, 1);
  deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&p.lock);
  while (!p.held && g_get_monotonic_time () < deadline)
    g_cond_wait_until (&p.cond, &p.lock, deadline);
  fail_unless (p.held, "the task did not push the frame within %d s", WAIT_S);
  g_mutex_unlock (&p.lock);
  for (i = 0; i < 5; i++)
    push_frame (h, 2 + i);
  g_mutex_lock (&p.lock);
  p.hold = FALSE;
  g_cond_broadcast (&p.cond);
  g_mutex_unlock (&p.lock);
  check_frames (gst_harness_pull (h), 1, 1);
  check_frames (gst_harness_pull (h), 5, 2);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  g_mutex_lock (&p.lock);
  fail_unless_equals_int (p.from_test, 0);
  fail_unless_equals_int (p.from_task, 2);
  g_mutex_unlock (&p.lock);

  gst_object_unref (srcpad);
  gst_harness_teardown (h);
  g_mutex_clear (&p.lock);
  g_cond_clear (&p.cond);
}

GST_END_TEST;

/* Other custom upstream events change nothing. */
GST_START_TEST (test_other_events_ignored)
{
  GstHarness *h = gst_harness_new_with_padnames ("framemux", "sink_1", "src");

  /* Data frames only: no control frames on connection 0 to count. */
  g_object_set (h->element, "announce-connections", FALSE, NULL);

  gst_harness_set_src_caps_str (h, "application/octet-stream");
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new_empty ("something-else"))));
  push_frame (h, 7);
  check_frames (gst_harness_try_pull (h), 1, 7);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
framemux_backpressure_suite (void)
{
  Suite *s = suite_create ("framemux-backpressure");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_backpressure_coalesces);
  tcase_add_test (tc, test_persistent_backpressure);
  tcase_add_test (tc, test_other_events_ignored);
  return s;
}

GST_CHECK_MAIN (framemux_backpressure);

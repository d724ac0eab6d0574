/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Credit flow control between framemux (flow-control=true) and framedemux
 * linked directly: the acknowledgements travel as upstream events, the same
 * messages the data channel carries (docs/wire-format.md). */

#include <stdio.h>
#include <string.h>
#include <gst/check/gstcheck.h>

#define WAIT_S 20
#define CHUNK 4096
#define WINDOW (64 * 1024)

typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean blocked;             /* the chain waits until unblocked */
  guint64 received;
  guint8 expect;                /* next byte of the pattern */
  gboolean corrupt;
  gboolean eos;
} Branch;

static Branch branches[3];

static GstFlowReturn
branch_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  Branch *b = gst_pad_get_element_private (pad);
  GstMapInfo map;
  gsize i;

  g_mutex_lock (&b->lock);
  while (b->blocked)
    g_cond_wait (&b->cond, &b->lock);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  for (i = 0; i < map.size; i++)
    if (map.data[i] != b->expect++)
      b->corrupt = TRUE;
  b->received += map.size;
  gst_buffer_unmap (buf, &map);
  g_cond_broadcast (&b->cond);
  g_mutex_unlock (&b->lock);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static gboolean
branch_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  Branch *b = gst_pad_get_element_private (pad);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    g_mutex_lock (&b->lock);
    b->eos = TRUE;
    g_cond_broadcast (&b->cond);
    g_mutex_unlock (&b->lock);
  }
  gst_event_unref (event);
  return TRUE;
}

static void
pad_added (GstElement * demux, GstPad * pad, gpointer unused)
{
  guint conn;
  GstPad *sink;

  fail_unless (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) == 1);
  fail_unless (conn >= 1 && conn <= 2);
  sink = gst_pad_new ("branch", GST_PAD_SINK);
  gst_pad_set_element_private (sink, &branches[conn]);
  gst_pad_set_chain_function (sink, branch_chain);
  gst_pad_set_event_function (sink, branch_event);
  gst_pad_set_active (sink, TRUE);
  fail_unless_equals_int (gst_pad_link (pad, sink), GST_PAD_LINK_OK);
  g_object_set_data_full (G_OBJECT (pad), "branch", sink, gst_object_unref);
}

typedef struct
{
  GstPad *src;
  guint64 total;
  guint8 next;
  GstFlowReturn last;
} Feeder;

static gpointer
feed (Feeder * f)
{
  guint64 sent = 0;

  while (sent < f->total) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, CHUNK, NULL);
    GstMapInfo map;
    gsize i;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (i = 0; i < CHUNK; i++)
      map.data[i] = f->next++;
    gst_buffer_unmap (buf, &map);
    f->last = gst_pad_push (f->src, buf);
    if (f->last != GST_FLOW_OK)
      return NULL;
    sent += CHUNK;
  }
  gst_pad_push_event (f->src, gst_event_new_eos ());
  return NULL;
}

static GstPad *
feeder_pad (GstElement * mux, guint conn)
{
  gchar *name = g_strdup_printf ("sink_%u", conn);
  GstPad *sink = gst_element_request_pad_simple (mux, name);
  GstPad *src = gst_pad_new (name, GST_PAD_SRC);
  GstSegment seg;
  GstCaps *caps = gst_caps_new_empty_simple ("application/octet-stream");

  g_free (name);
  fail_unless (sink != NULL);
  gst_pad_set_active (src, TRUE);
  fail_unless_equals_int (gst_pad_link (src, sink), GST_PAD_LINK_OK);
  gst_object_unref (sink);
  gst_pad_push_event (src, gst_event_new_stream_start ("feed"));
  gst_pad_push_event (src, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_pad_push_event (src, gst_event_new_segment (&seg));
  return src;
}

static guint64
stat_u64 (GstElement * e, const gchar * field)
{
  GstStructure *s;
  guint64 v = G_MAXUINT64;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  gst_structure_free (s);
  return v;
}

static gboolean
stat_bool (GstElement * e, const gchar * field)
{
  GstStructure *s;
  gboolean v = FALSE;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (gst_structure_get_boolean (s, field, &v), "no %s", field);
  gst_structure_free (s);
  return v;
}

static void
wait_received (Branch * b, guint64 n, gboolean need_eos)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  g_mutex_lock (&b->lock);
  while ((b->received < n || (need_eos && !b->eos)) &&
      g_cond_wait_until (&b->cond, &b->lock, deadline));
  fail_unless (b->received >= n && (!need_eos || b->eos),
      "received %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " (eos %d) "
      "within %d s", b->received, n, b->eos, WAIT_S);
  g_mutex_unlock (&b->lock);
}

/* The outstanding bytes of framemux's connection @conn. */
static guint64
mux_conn_outstanding (GstElement * mux, guint conn)
{
  GstStructure *s;
  const GValue *arr;
  guint64 v = G_MAXUINT64;
  guint i;

  g_object_get (mux, "stats", &s, NULL);
  arr = gst_structure_get_value (s, "connections");
  for (i = 0; i < gst_value_array_get_size (arr); i++) {
    const GstStructure *cs =
        gst_value_get_structure (gst_value_array_get_value (arr, i));
    guint c;

    gst_structure_get_uint (cs, "conn", &c);
    if (c == conn)
      gst_structure_get_uint64 (cs, "outstanding", &v);
  }
  gst_structure_free (s);
  return v;
}

/* One blocked branch holds up only its own connection; the other carries
 * 16 windows' worth meanwhile. Unblocked, everything arrives byte-exact,
 * and EOS reaches the demuxer only when every byte was acknowledged. */
GST_START_TEST (test_blocked_branch_isolated)
{
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstElement *demux = gst_element_factory_make ("framedemux", NULL);
  GstElement *pipe = gst_pipeline_new (NULL);
  Feeder f1 = { 0, }, f2 = { 0, };
  GThread *t1, *t2;
  guint64 total = 16 * WINDOW;
  guint i;

  memset (branches, 0, sizeof (branches));
  for (i = 0; i < G_N_ELEMENTS (branches); i++) {
    g_mutex_init (&branches[i].lock);
    g_cond_init (&branches[i].cond);
  }
  branches[1].blocked = TRUE;

  g_object_set (mux, "flow-control", TRUE, "max-in-flight", 4 * WINDOW,
      NULL);
  g_object_set (demux, "window", WINDOW, "tunnel-window", 4 * WINDOW, NULL);
  gst_bin_add_many (GST_BIN (pipe), mux, demux, NULL);
  fail_unless (gst_element_link (mux, demux));
  g_signal_connect (demux, "pad-added", G_CALLBACK (pad_added), NULL);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  f1.src = feeder_pad (mux, 1);
  f2.src = feeder_pad (mux, 2);
  f1.total = f2.total = total;
  t1 = g_thread_new ("feed1", (GThreadFunc) feed, &f1);
  t2 = g_thread_new ("feed2", (GThreadFunc) feed, &f2);

  /* connection 2 completes while connection 1 cannot deliver anything */
  wait_received (&branches[2], total, TRUE);
  fail_unless (stat_bool (mux, "flow-control"));
  fail_unless (stat_bool (demux, "flow-control"));
  g_mutex_lock (&branches[1].lock);
  fail_unless_equals_uint64 (branches[1].received, 0);
  g_mutex_unlock (&branches[1].lock);
  /* the blocked connection has at most a window (plus one buffer) out */
  fail_unless (mux_conn_outstanding (mux, 1) <= WINDOW + CHUNK,
      "%" G_GUINT64_FORMAT " outstanding", mux_conn_outstanding (mux, 1));
  fail_unless (stat_u64 (mux, "credit-waits") > 0);
  fail_unless (stat_u64 (demux, "credits-sent") > 0);

  g_mutex_lock (&branches[1].lock);
  branches[1].blocked = FALSE;
  g_cond_broadcast (&branches[1].cond);
  g_mutex_unlock (&branches[1].lock);
  wait_received (&branches[1], total, TRUE);
  g_thread_join (t1);
  g_thread_join (t2);
  fail_unless_equals_int (f1.last, GST_FLOW_OK);
  fail_unless_equals_int (f2.last, GST_FLOW_OK);
  for (i = 1; i <= 2; i++) {
    fail_if (branches[i].corrupt, "connection %u corrupted", i);
    fail_unless_equals_uint64 (branches[i].received, total);
  }
  /* EOS went out after the last acknowledgement */
  fail_unless_equals_uint64 (stat_u64 (mux, "outstanding"), 0);

  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (f1.src);
  gst_object_unref (f2.src);
  gst_object_unref (pipe);
}

GST_END_TEST;

/* A receiver that never delivers: with ack-timeout the sender fails with
 * an error naming the stall instead of waiting for ever. */
GST_START_TEST (test_ack_timeout)
{
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstElement *demux = gst_element_factory_make ("framedemux", NULL);
  GstElement *pipe = gst_pipeline_new (NULL);
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg;
  Feeder f1 = { 0, };
  GThread *t1;
  guint i;

  memset (branches, 0, sizeof (branches));
  for (i = 0; i < G_N_ELEMENTS (branches); i++) {
    g_mutex_init (&branches[i].lock);
    g_cond_init (&branches[i].cond);
  }
  branches[1].blocked = TRUE;
  g_object_set (mux, "flow-control", TRUE, "ack-timeout", 500, NULL);
  g_object_set (demux, "window", WINDOW, NULL);
  gst_bin_add_many (GST_BIN (pipe), mux, demux, NULL);
  fail_unless (gst_element_link (mux, demux));
  g_signal_connect (demux, "pad-added", G_CALLBACK (pad_added), NULL);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  f1.src = feeder_pad (mux, 1);
  f1.total = 64 * WINDOW;
  t1 = g_thread_new ("feed1", (GThreadFunc) feed, &f1);

  msg = gst_bus_timed_pop_filtered (bus, WAIT_S * GST_SECOND,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error within %d s", WAIT_S);
  {
    GError *err = NULL;

    gst_message_parse_error (msg, &err, NULL);
    fail_unless (strstr (err->message, "acknowledged nothing") != NULL,
        "%s", err->message);
    g_error_free (err);
  }
  gst_message_unref (msg);
  g_thread_join (t1);
  fail_unless_equals_int (f1.last, GST_FLOW_ERROR);

  g_mutex_lock (&branches[1].lock);
  branches[1].blocked = FALSE;
  g_cond_broadcast (&branches[1].cond);
  g_mutex_unlock (&branches[1].lock);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (f1.src);
  gst_object_unref (bus);
  gst_object_unref (pipe);
}

GST_END_TEST;

/* A receiver that never grants (framedemux with flow-control=false stands
 * for the reference implementation): past the 256 KiB allowed before the
 * grant, framemux waits grant-timeout, then sends without limits. Bounded
 * below by that wait, and above by far less than the 5 s default, so an
 * ignored property fails too. */
#define GRANT_TIMEOUT_MS 300

GST_START_TEST (test_grant_timeout)
{
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstElement *demux = gst_element_factory_make ("framedemux", NULL);
  GstElement *pipe = gst_pipeline_new (NULL);
  Feeder f1 = { 0, };
  GThread *t1;
  gint64 start, took_ms;
  guint i;

  memset (branches, 0, sizeof (branches));
  for (i = 0; i < G_N_ELEMENTS (branches); i++) {
    g_mutex_init (&branches[i].lock);
    g_cond_init (&branches[i].cond);
  }
  g_object_set (mux, "grant-timeout", GRANT_TIMEOUT_MS, NULL);
  g_object_set (demux, "flow-control", FALSE, NULL);
  gst_bin_add_many (GST_BIN (pipe), mux, demux, NULL);
  fail_unless (gst_element_link (mux, demux));
  g_signal_connect (demux, "pad-added", G_CALLBACK (pad_added), NULL);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  f1.src = feeder_pad (mux, 1);
  f1.total = 1024 * 1024;
  start = g_get_monotonic_time ();
  t1 = g_thread_new ("feed1", (GThreadFunc) feed, &f1);
  wait_received (&branches[1], f1.total, TRUE);
  took_ms = (g_get_monotonic_time () - start) / 1000;
  g_thread_join (t1);

  GST_INFO ("1 MiB without a grant in %" G_GINT64_FORMAT " ms", took_ms);
  fail_unless_equals_int (f1.last, GST_FLOW_OK);
  fail_if (branches[1].corrupt);
  fail_if (stat_bool (mux, "flow-control"));
  fail_unless (took_ms >= GRANT_TIMEOUT_MS, "no wait for the grant (%"
      G_GINT64_FORMAT " ms)", took_ms);
  fail_unless (took_ms < 4000, "grant-timeout ignored: %" G_GINT64_FORMAT
      " ms", took_ms);
  fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (f1.src);
  gst_object_unref (pipe);
}

GST_END_TEST;

static Suite *
flowcontrol_suite (void)
{
  Suite *s = suite_create ("flowcontrol");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_blocked_branch_isolated);
  tcase_add_test (tc, test_ack_timeout);
  tcase_add_test (tc, test_grant_timeout);
  return s;
}

GST_CHECK_MAIN (flowcontrol);

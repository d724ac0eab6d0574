/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Whole-pipeline round trips: N appsrc -> framemux -> rechunker -> framedemux
 * -> one fakesink per connection, byte-exact per connection, with the muxed
 * stream cut into random pieces (down to single bytes) in between.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/app/gstappsrc.h>
#include <stdio.h>
#include <string.h>

#include "frame-codec.h"

#define WAIT_SECONDS 90

/* ---- a re-chunking element, local to this test ----
 * Cuts every buffer into pieces of random size in [1, max-chunk] (sub-buffers,
 * no copies), so framedemux sees frames split at every possible place. */

#define TEST_TYPE_RECHUNK (test_rechunk_get_type ())
G_DECLARE_FINAL_TYPE (TestRechunk, test_rechunk, TEST, RECHUNK, GstElement);

struct _TestRechunk
{
  GstElement parent;
  GstPad *sinkpad, *srcpad;
  GRand *rand;
  guint max_chunk;              /* 0: pass buffers through unchanged */
  guint max_seen;               /* largest buffer seen from upstream */
};

G_DEFINE_TYPE (TestRechunk, test_rechunk, GST_TYPE_ELEMENT);

static GstStaticPadTemplate any_sink = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate any_src = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstFlowReturn
test_rechunk_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  TestRechunk *self = TEST_RECHUNK (parent);
  gsize size = gst_buffer_get_size (buf), pos = 0;
  GstFlowReturn ret = GST_FLOW_OK;

  self->max_seen = MAX (self->max_seen, size);
  if (self->max_chunk == 0)
    return gst_pad_push (self->srcpad, buf);

  while (pos < size && ret == GST_FLOW_OK) {
    gsize len = g_rand_int_range (self->rand, 1, self->max_chunk + 1);

    len = MIN (len, size - pos);
    ret = gst_pad_push (self->srcpad,
        gst_buffer_copy_region (buf, GST_BUFFER_COPY_MEMORY, pos, len));
    pos += len;
  }
  gst_buffer_unref (buf);
  return ret;
}

static void
test_rechunk_finalize (GObject * object)
{
  g_rand_free (TEST_RECHUNK (object)->rand);
  G_OBJECT_CLASS (test_rechunk_parent_class)->finalize (object);
}

static void
test_rechunk_class_init (TestRechunkClass * klass)
{
  GstElementClass *eclass = GST_ELEMENT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_rechunk_finalize;
  gst_element_class_add_static_pad_template (eclass, &any_sink);
  gst_element_class_add_static_pad_template (eclass, &any_src);
  gst_element_class_set_static_metadata (eclass, "Rechunker", "Testing",
      "Cuts buffers into random pieces", "gst-wrtcframe tests");
}

static void
test_rechunk_init (TestRechunk * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&any_sink, "sink");
  gst_pad_set_chain_function (self->sinkpad, test_rechunk_chain);
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&any_src, "src");
  GST_PAD_SET_PROXY_CAPS (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  self->rand = g_rand_new_with_seed (1);
}

/* ---- the round trip ---- */

typedef struct
{
  guint conn;
  GByteArray *sent;
  GByteArray *received;
  guint64 buffers;
  gboolean eos;
  GstAppSrc *src;
  guint32 seed;
  guint n_buffers;
  guint max_payload;
  GThread *thread;
} Conn;

typedef struct
{
  GstElement *pipeline, *mux, *demux;
  TestRechunk *rechunk;
  Conn *conns;
  guint n_conns;
  GMutex lock;
  GCond cond;
  guint64 start_ms;
  gboolean bad_timestamp;
  gboolean control_surfaced;
} RoundTrip;

static Conn *
find_conn (RoundTrip * rt, guint conn)
{
  guint i;

  for (i = 0; i < rt->n_conns; i++)
    if (rt->conns[i].conn == conn)
      return &rt->conns[i];
  return NULL;
}

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, Conn * c)
{
  RoundTrip *rt = g_object_get_data (G_OBJECT (sink), "rt");
  GstCaps *ts_caps = gst_caps_new_empty_simple ("timestamp/x-unix");
  GstReferenceTimestampMeta *meta;
  GstMapInfo map;
  guint64 now_ms = wrtc_frame_now_ms ();

  meta = gst_buffer_get_reference_timestamp_meta (buf, ts_caps);
  gst_caps_unref (ts_caps);

  g_mutex_lock (&rt->lock);
  if (meta == NULL || meta->timestamp < rt->start_ms * GST_MSECOND ||
      meta->timestamp > now_ms * GST_MSECOND)
    rt->bad_timestamp = TRUE;
  gst_buffer_map (buf, &map, GST_MAP_READ);
  g_byte_array_append (c->received, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  c->buffers++;
  g_cond_broadcast (&rt->cond);
  g_mutex_unlock (&rt->lock);
}

static GstPadProbeReturn
on_sink_event (GstPad * pad, GstPadProbeInfo * info, Conn * c)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  RoundTrip *rt = g_object_get_data (G_OBJECT (pad), "rt");

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    g_mutex_lock (&rt->lock);
    c->eos = TRUE;
    g_cond_broadcast (&rt->cond);
    g_mutex_unlock (&rt->lock);
  }
  return GST_PAD_PROBE_OK;
}

static void
on_pad_added (GstElement * demux, GstPad * pad, RoundTrip * rt)
{
  GstElement *sink;
  GstPad *sinkpad;
  guint conn;
  Conn *c;

  if (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) != 1 ||
      (c = find_conn (rt, conn)) == NULL) {
    rt->control_surfaced = TRUE;  /* src_0 or a connection nobody sent */
    return;
  }
  sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE,
      NULL);
  g_object_set_data (G_OBJECT (sink), "rt", rt);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), c);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  g_object_set_data (G_OBJECT (sinkpad), "rt", rt);
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) on_sink_event, c, NULL);
  gst_bin_add (GST_BIN (rt->pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  fail_unless_equals_int (gst_pad_link (pad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref (sinkpad);
}

/* Payload sizes: mostly small, some around the message size, a few that
 * need splitting across several data-channel messages. */
static guint
random_size (GRand * r)
{
  switch (g_rand_int_range (r, 0, 8)) {
    case 0:
      return g_rand_int_range (r, 0, 2);
    case 1:
      return g_rand_int_range (r, 60000, 70000);
    default:
      return g_rand_int_range (r, 1, 2000);
  }
}

static gpointer
push_thread (Conn * c)
{
  GRand *r = g_rand_new_with_seed (c->seed);
  guint i;

  for (i = 0; i < c->n_buffers; i++) {
    guint size = MIN (random_size (r), c->max_payload);
    GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
    GstMapInfo map;
    guint j;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (j = 0; j < size; j++)
      map.data[j] = g_rand_int (r);
    g_byte_array_append (c->sent, map.data, size);
    gst_buffer_unmap (buf, &map);
    if (gst_app_src_push_buffer (c->src, buf) != GST_FLOW_OK)
      break;
  }
  gst_app_src_end_of_stream (c->src);
  g_rand_free (r);
  return NULL;
}

static void
round_trip_setup (RoundTrip * rt, guint n_conns, guint n_buffers,
    guint max_payload, guint max_chunk, guint max_message_size)
{
  GstElement *rechunk;
  guint i;

  memset (rt, 0, sizeof (*rt));
  g_mutex_init (&rt->lock);
  g_cond_init (&rt->cond);
  rt->start_ms = wrtc_frame_now_ms ();
  rt->pipeline = gst_pipeline_new (NULL);
  rt->mux = gst_check_setup_element ("framemux");
  rt->demux = gst_check_setup_element ("framedemux");
  rechunk = g_object_new (TEST_TYPE_RECHUNK, NULL);
  rt->rechunk = TEST_RECHUNK (rechunk);
  rt->rechunk->max_chunk = max_chunk;
  g_object_set (rt->mux, "max-message-size", max_message_size, NULL);
  gst_bin_add_many (GST_BIN (rt->pipeline), rt->mux, rechunk, rt->demux,
      NULL);
  fail_unless (gst_element_link_many (rt->mux, rechunk, rt->demux, NULL));
  g_signal_connect (rt->demux, "pad-added", G_CALLBACK (on_pad_added), rt);

  rt->n_conns = n_conns;
  rt->conns = g_new0 (Conn, n_conns);
  for (i = 0; i < n_conns; i++) {
    Conn *c = &rt->conns[i];
    GstElement *src = gst_element_factory_make ("appsrc", NULL);
    gchar *padname;

    /* sparse connection numbers, to exercise more than 1..N */
    c->conn = i == 0 ? 1 : 1 + i * 977;
    c->sent = g_byte_array_new ();
    c->received = g_byte_array_new ();
    c->seed = 0x5eed0000 + i;
    c->n_buffers = n_buffers;
    c->max_payload = max_payload;
    c->src = GST_APP_SRC (src);
    g_object_set (src, "block", TRUE, "max-bytes", (guint64) 256 * 1024,
        "format", GST_FORMAT_BYTES, NULL);
    gst_bin_add (GST_BIN (rt->pipeline), src);
    padname = g_strdup_printf ("sink_%u", c->conn);
    fail_unless (gst_element_link_pads (src, "src", rt->mux, padname));
    g_free (padname);
  }
}

static gboolean
all_eos (RoundTrip * rt)
{
  guint i;

  for (i = 0; i < rt->n_conns; i++)
    if (!rt->conns[i].eos)
      return FALSE;
  return TRUE;
}

static void
round_trip_run (RoundTrip * rt)
{
  gint64 deadline;
  guint i;
  GstBus *bus = gst_element_get_bus (rt->pipeline);
  GstMessage *msg;

  fail_if (gst_element_set_state (rt->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  for (i = 0; i < rt->n_conns; i++)
    rt->conns[i].thread = g_thread_new ("pusher",
        (GThreadFunc) push_thread, &rt->conns[i]);
  for (i = 0; i < rt->n_conns; i++)
    g_thread_join (rt->conns[i].thread);

  msg = gst_bus_timed_pop_filtered (bus, WAIT_SECONDS * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no EOS within %d s", WAIT_SECONDS);
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_EOS) {
    GError *err = NULL;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &err, NULL);
    else
      gst_message_parse_warning (msg, &err, NULL);
    fail ("unexpected %s from %s: %s", GST_MESSAGE_TYPE_NAME (msg),
        GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);

  /* The bus EOS means every sink had EOS; keep the check explicit. */
  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;
  g_mutex_lock (&rt->lock);
  while (!all_eos (rt))
    if (!g_cond_wait_until (&rt->cond, &rt->lock, deadline))
      break;
  g_mutex_unlock (&rt->lock);
  fail_unless (all_eos (rt), "EOS did not reach every connection");
}

static void
round_trip_check_and_free (RoundTrip * rt)
{
  guint i;

  fail_if (rt->control_surfaced, "a control or unknown connection surfaced");
  fail_if (rt->bad_timestamp, "missing or wrong reference timestamp meta");
  for (i = 0; i < rt->n_conns; i++) {
    Conn *c = &rt->conns[i];

    fail_unless_equals_uint64 ((guint64) c->received->len,
        (guint64) c->sent->len);
    fail_unless (memcmp (c->received->data, c->sent->data, c->sent->len) == 0,
        "connection %u: bytes differ", c->conn);
  }
  gst_element_set_state (rt->pipeline, GST_STATE_NULL);
  gst_object_unref (rt->pipeline);
  for (i = 0; i < rt->n_conns; i++) {
    g_byte_array_unref (rt->conns[i].sent);
    g_byte_array_unref (rt->conns[i].received);
  }
  g_free (rt->conns);
  g_mutex_clear (&rt->lock);
  g_cond_clear (&rt->cond);
}

/* connections, buffers each, max payload, max chunk (0 = none), message size */
static const guint configs[][5] = {
  {1, 300, 70000, 0, 65536},
  {1, 40, 70000, 1, 65536},
  {2, 100, 70000, 7, 65536},
  {8, 100, 70000, 0, 1500},
  {8, 100, 70000, 3000, 65536},
  {64, 20, 70000, 0, 65536},
  {64, 20, 70000, 333, 4096},
  {64, 4, 2000, 1, 100},
};

GST_START_TEST (test_round_trip)
{
  const guint *cfg = configs[__i__];
  RoundTrip rt;

  GST_INFO ("connections %u, buffers %u, chunk %u, message size %u",
      cfg[0], cfg[1], cfg[3], cfg[4]);
  round_trip_setup (&rt, cfg[0], cfg[1], cfg[2], cfg[3], cfg[4]);
  round_trip_run (&rt);
  /* framemux never produced a message above max-message-size */
  fail_unless (rt.rechunk->max_seen <= cfg[4], "message of %u bytes > %u",
      rt.rechunk->max_seen, cfg[4]);
  round_trip_check_and_free (&rt);
}

GST_END_TEST;

/* An idle connection never holds back a busy one, end to end: connection 1
 * stays silent while connection 2 streams everything through the demuxer. */
GST_START_TEST (test_idle_connection_does_not_block)
{
  RoundTrip rt;
  Conn *busy;
  gint64 deadline;

  round_trip_setup (&rt, 2, 500, 2000, 0, 65536);
  busy = &rt.conns[1];
  fail_if (gst_element_set_state (rt.pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  busy->thread = g_thread_new ("busy", (GThreadFunc) push_thread, busy);
  g_thread_join (busy->thread);

  /* Everything the busy connection sent arrives while the idle one has
   * sent nothing (EOS cannot come yet: framemux sends it once every
   * connection has ended). */
  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;
  g_mutex_lock (&rt.lock);
  while (busy->received->len < busy->sent->len)
    if (!g_cond_wait_until (&rt.cond, &rt.lock, deadline))
      break;
  g_mutex_unlock (&rt.lock);
  fail_unless_equals_uint64 ((guint64) busy->received->len,
      (guint64) busy->sent->len);
  fail_unless (memcmp (busy->received->data, busy->sent->data,
          busy->sent->len) == 0);
  fail_unless_equals_int (rt.conns[0].received->len, 0);

  /* now the idle one speaks and finishes too */
  rt.conns[0].n_buffers = 3;
  rt.conns[0].thread = g_thread_new ("idle", (GThreadFunc) push_thread,
      &rt.conns[0]);
  g_thread_join (rt.conns[0].thread);
  /* Not the bus EOS: the busy connection's SendEOF already ended its sink,
   * which was the only sink, so the pipeline may have posted EOS before the
   * idle connection's pad existed. Wait for EOS on every connection. */
  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;
  g_mutex_lock (&rt.lock);
  while (!all_eos (&rt))
    if (!g_cond_wait_until (&rt.cond, &rt.lock, deadline))
      break;
  g_mutex_unlock (&rt.lock);
  fail_unless (all_eos (&rt), "EOS did not reach every connection");
  round_trip_check_and_free (&rt);
}

GST_END_TEST;

static Suite *
roundtrip_suite (void)
{
  Suite *s = suite_create ("roundtrip");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 240);
  tcase_add_loop_test (tc, test_round_trip, 0, G_N_ELEMENTS (configs));
  tcase_add_test (tc, test_idle_connection_does_not_block);
  return s;
}

GST_CHECK_MAIN (roundtrip);

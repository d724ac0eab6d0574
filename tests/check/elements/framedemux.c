/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Element tests for framedemux. Input goes in through a GstHarness; every
 * source pad the element adds is linked to a collector pad of the test that
 * records bytes, buffers and events per connection. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "frame-codec.h"

#define TS_MS G_GUINT64_CONSTANT (1700000000123)

/* ---- stream building ---- */

static void
append_frame (GByteArray * stream, guint32 conn, guint64 ts,
    const guint8 * payload, guint32 len)
{
  guint old = stream->len;
  gsize written;

  g_byte_array_set_size (stream, old + len + WRTC_FRAME_OVERHEAD);
  written = wrtc_frame_encode (stream->data + old, len + WRTC_FRAME_OVERHEAD,
      conn, ts, payload, len);
  fail_unless_equals_int (written, len + WRTC_FRAME_OVERHEAD);
}

static void
append_control (GByteArray * stream, const WrtcControlMessage * msg)
{
  guint8 payload[256];
  gsize len = wrtc_control_encode (payload, sizeof (payload), msg);

  fail_unless (len > 0);
  append_frame (stream, 0, TS_MS, payload, len);
}

static void
append_random (GByteArray * stream, GRand * rand, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++) {
    guint8 b = g_rand_int_range (rand, 0, 256);
    g_byte_array_append (stream, &b, 1);
  }
}

/* ---- collectors ---- */

typedef struct
{
  guint32 conn;
  GstPad *pad;
  GByteArray *data;
  GPtrArray *buffers;           /* kept only when Ctx.keep_buffers */
  GArray *event_types;
  GPtrArray *events;            /* stream-start, caps, segment refs */
  guint buffers_seen;
  gboolean eos;
} Collector;

typedef struct
{
  GstHarness *h;
  GstElement *demux;
  GstBus *bus;
  GHashTable *collectors;       /* conn -> Collector */
  GHashTable *unlinked;         /* conns the test leaves unlinked */
  guint pads_added;
  gboolean keep_buffers;
} Ctx;

static Ctx *current_ctx;

static GstFlowReturn
collector_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  Collector *c = gst_pad_get_element_private (pad);
  GstReferenceTimestampMeta *meta;
  GstCaps *ts_caps;
  GstMapInfo map;

  fail_unless (!GST_BUFFER_PTS_IS_VALID (buf));
  fail_unless (!GST_BUFFER_DTS_IS_VALID (buf));
  fail_unless (!GST_BUFFER_DURATION_IS_VALID (buf));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), c->data->len);
  fail_unless (gst_buffer_get_size (buf) > 0, "empty buffer pushed");

  ts_caps = gst_caps_new_empty_simple ("timestamp/x-unix");
  meta = gst_buffer_get_reference_timestamp_meta (buf, ts_caps);
  gst_caps_unref (ts_caps);
  fail_unless (meta != NULL, "no timestamp/x-unix reference meta");
  fail_unless (meta->duration == GST_CLOCK_TIME_NONE);

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  g_byte_array_append (c->data, map.data, map.size);
  gst_buffer_unmap (buf, &map);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (buf), c->data->len);

  c->buffers_seen++;
  if (current_ctx->keep_buffers)
    g_ptr_array_add (c->buffers, buf);
  else
    gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static gboolean
collector_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  Collector *c = gst_pad_get_element_private (pad);
  GstEventType t = GST_EVENT_TYPE (event);

  g_array_append_val (c->event_types, t);
  if (t == GST_EVENT_EOS)
    c->eos = TRUE;
  if (t == GST_EVENT_STREAM_START || t == GST_EVENT_CAPS
      || t == GST_EVENT_SEGMENT)
    g_ptr_array_add (c->events, gst_event_ref (event));
  gst_event_unref (event);
  return TRUE;
}

static void
collector_free (Collector * c)
{
  gst_pad_set_active (c->pad, FALSE);
  gst_object_unref (c->pad);
  g_byte_array_unref (c->data);
  g_ptr_array_unref (c->buffers);
  g_ptr_array_unref (c->events);
  g_array_unref (c->event_types);
  g_free (c);
}

static void
pad_added_cb (GstElement * element, GstPad * pad, Ctx * ctx)
{
  Collector *c;
  guint conn;

  fail_unless (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) == 1);
  fail_if (conn == 0, "src_0 must never appear");
  fail_if (g_hash_table_contains (ctx->collectors, GUINT_TO_POINTER (conn)));
  ctx->pads_added++;
  if (g_hash_table_contains (ctx->unlinked, GUINT_TO_POINTER (conn)))
    return;

  c = g_new0 (Collector, 1);
  c->conn = conn;
  c->data = g_byte_array_new ();
  c->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  c->events = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_event_unref);
  c->event_types = g_array_new (FALSE, FALSE, sizeof (GstEventType));
  c->pad = gst_pad_new ("collector", GST_PAD_SINK);
  gst_pad_set_element_private (c->pad, c);
  gst_pad_set_chain_function (c->pad, collector_chain);
  gst_pad_set_event_function (c->pad, collector_event);
  gst_pad_set_active (c->pad, TRUE);
  fail_unless_equals_int (gst_pad_link (pad, c->pad), GST_PAD_LINK_OK);
  g_hash_table_insert (ctx->collectors, GUINT_TO_POINTER (conn), c);
}

static Ctx *
ctx_new_full (gboolean with_group_id, guint group_id)
{
  Ctx *ctx = g_new0 (Ctx, 1);
  GstSegment segment;
  GstEvent *ev;
  GstCaps *caps;

  ctx->h = gst_harness_new_with_padnames ("framedemux", "sink", NULL);
  ctx->demux = ctx->h->element;
  ctx->bus = gst_bus_new ();
  gst_element_set_bus (ctx->demux, ctx->bus);
  ctx->collectors = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) collector_free);
  ctx->unlinked = g_hash_table_new (NULL, NULL);
  g_signal_connect (ctx->demux, "pad-added", G_CALLBACK (pad_added_cb), ctx);
  current_ctx = ctx;

  gst_harness_play (ctx->h);
  ev = gst_event_new_stream_start ("muxed");
  if (with_group_id)
    gst_event_set_group_id (ev, group_id);
  fail_unless (gst_harness_push_event (ctx->h, ev));
  caps = gst_caps_from_string ("application/x-wrtcframe");
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  fail_unless (gst_harness_push_event (ctx->h,
          gst_event_new_segment (&segment)));
  return ctx;
}

static Ctx *
ctx_new (void)
{
  return ctx_new_full (FALSE, 0);
}

static void
ctx_free (Ctx * ctx)
{
  gst_harness_teardown (ctx->h);
  g_hash_table_destroy (ctx->collectors);
  g_hash_table_destroy (ctx->unlinked);
  gst_bus_set_flushing (ctx->bus, TRUE);
  gst_object_unref (ctx->bus);
  current_ctx = NULL;
  g_free (ctx);
}

static Collector *
get_collector (Ctx * ctx, guint conn)
{
  return g_hash_table_lookup (ctx->collectors, GUINT_TO_POINTER (conn));
}

/* Every pad pushes from its own thread: a drain query waits until all
 * that was queued has reached the collectors. */
static void
drain (Ctx * ctx)
{
  GstQuery *q = gst_query_new_drain ();

  gst_pad_peer_query (ctx->h->srcpad, q);
  gst_query_unref (q);
}

static GstFlowReturn
push_bytes (Ctx * ctx, const guint8 * data, gsize len)
{
  GstFlowReturn ret = gst_harness_push (ctx->h,
      gst_buffer_new_memdup (data, len));

  drain (ctx);
  return ret;
}

static void
push_all (Ctx * ctx, const GByteArray * stream)
{
  fail_unless_equals_int (push_bytes (ctx, stream->data, stream->len),
      GST_FLOW_OK);
}

static guint
count_messages (Ctx * ctx, GstMessageType type)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (ctx->bus, type))) {
    n++;
    gst_message_unref (msg);
  }
  return n;
}

/* Pops the first error and checks its domain/code. */
static void
expect_error (Ctx * ctx, const gchar * needle)
{
  GstMessage *msg = gst_bus_pop_filtered (ctx->bus, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (msg != NULL, "no error message posted");
  gst_message_parse_error (msg, &err, &dbg);
  GST_INFO ("error: %s (%s)", err->message, dbg);
  fail_unless (g_error_matches (err, GST_STREAM_ERROR,
          GST_STREAM_ERROR_DEMUX));
  if (needle)
    fail_unless (strstr (err->message, needle) != NULL, "'%s' not in '%s'",
        needle, err->message);
  g_clear_error (&err);
  g_free (dbg);
  gst_message_unref (msg);
}

static guint64
stat_u64 (Ctx * ctx, const gchar * field)
{
  GstStructure *s;
  guint64 v = G_MAXUINT64;

  g_object_get (ctx->demux, "stats", &s, NULL);
  fail_unless (gst_structure_has_name (s, "application/x-framedemux-stats"));
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no field %s", field);
  gst_structure_free (s);
  return v;
}

/* Returns the "connection" entry for @conn, or NULL. */
static GstStructure *
stat_conn (Ctx * ctx, guint conn)
{
  GstStructure *s, *res = NULL;
  const GValue *arr;
  guint i;

  g_object_get (ctx->demux, "stats", &s, NULL);
  arr = gst_structure_get_value (s, "connections");
  fail_unless (arr != NULL && GST_VALUE_HOLDS_ARRAY (arr));
  for (i = 0; i < gst_value_array_get_size (arr); i++) {
    const GstStructure *cs =
        gst_value_get_structure (gst_value_array_get_value (arr, i));
    guint n;

    fail_unless (gst_structure_has_name (cs, "connection"));
    fail_unless (gst_structure_get_uint (cs, "conn", &n));
    if (n == conn)
      res = gst_structure_copy (cs);
  }
  gst_structure_free (s);
  return res;
}

static guint64
conn_u64 (Ctx * ctx, guint conn, const gchar * field)
{
  GstStructure *cs = stat_conn (ctx, conn);
  guint64 v;

  fail_unless (cs != NULL, "no stats for connection %u", conn);
  fail_unless (gst_structure_get_uint64 (cs, field, &v));
  gst_structure_free (cs);
  return v;
}

static void
assert_bytes (Ctx * ctx, guint conn, const guint8 * data, gsize len)
{
  Collector *c;

  drain (ctx);
  c = get_collector (ctx, conn);

  fail_unless (c != NULL, "no pad for connection %u", conn);
  fail_unless_equals_int (c->data->len, len);
  fail_unless (memcmp (c->data->data, data, len) == 0,
      "connection %u payload differs", conn);
}

/* ---- tests ---- */

GST_START_TEST (test_single_frame)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  Collector *c1, *c2;
  GstReferenceTimestampMeta *meta;
  GstBuffer *buf;
  GstCaps *caps;
  const GstSegment *seg;
  guint g1, g2;
  static const GstEventType order[] = { GST_EVENT_STREAM_START,
    GST_EVENT_CAPS, GST_EVENT_SEGMENT
  };
  guint i;

  ctx->keep_buffers = TRUE;
  append_frame (s, 1, TS_MS, (const guint8 *) "hello", 5);
  push_all (ctx, s);

  c1 = get_collector (ctx, 1);
  assert_bytes (ctx, 1, (const guint8 *) "hello", 5);
  fail_unless_equals_int (c1->buffers->len, 1);
  buf = g_ptr_array_index (c1->buffers, 0);
  caps = gst_caps_new_empty_simple ("timestamp/x-unix");
  meta = gst_buffer_get_reference_timestamp_meta (buf, caps);
  gst_caps_unref (caps);
  fail_unless (meta != NULL);
  fail_unless_equals_uint64 (meta->timestamp, TS_MS * GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), 0);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (buf), 5);

  /* stream-start, caps, segment, then the buffer */
  fail_unless (c1->event_types->len >= 3);
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (g_array_index (c1->event_types, GstEventType, i),
        order[i]);
  gst_event_parse_caps (g_ptr_array_index (c1->events, 1), &caps);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "application/octet-stream"));
  gst_event_parse_segment (g_ptr_array_index (c1->events, 2), &seg);
  fail_unless_equals_int (seg->format, GST_FORMAT_TIME);
  fail_unless_equals_uint64 (seg->start, 0);
  fail_unless (gst_event_parse_group_id (g_ptr_array_index (c1->events, 0),
          &g1));

  /* a second connection shares the group id */
  g_byte_array_set_size (s, 0);
  append_frame (s, 7, TS_MS + 1, (const guint8 *) "x", 1);
  push_all (ctx, s);
  c2 = get_collector (ctx, 7);
  fail_unless (c2 != NULL);
  fail_unless_equals_int (g_array_index (c2->event_types, GstEventType, 0),
      GST_EVENT_STREAM_START);
  fail_unless (gst_event_parse_group_id (g_ptr_array_index (c2->events, 0),
          &g2));
  fail_unless_equals_int (g1, g2);
  fail_unless_equals_int (ctx->pads_added, 2);

  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_upstream_group_id)
{
  Ctx *ctx = ctx_new_full (TRUE, 4242);
  GByteArray *s = g_byte_array_new ();
  guint conn, gid;

  append_frame (s, 1, TS_MS, (const guint8 *) "a", 1);
  append_frame (s, 2, TS_MS, (const guint8 *) "b", 1);
  push_all (ctx, s);
  for (conn = 1; conn <= 2; conn++) {
    Collector *c = get_collector (ctx, conn);
    const gchar *sid;

    fail_unless (gst_event_parse_group_id (g_ptr_array_index (c->events, 0),
            &gid));
    fail_unless_equals_int (gid, 4242);
    gst_event_parse_stream_start (g_ptr_array_index (c->events, 0), &sid);
    fail_unless (g_str_has_suffix (sid, conn == 1 ? "/1" : "/2"), "%s", sid);
  }
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_caps_property)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GstCaps *caps = gst_caps_from_string ("application/x-test, a=(int)1");
  GstCaps *got;

  g_object_set (ctx->demux, "caps", caps, NULL);
  append_frame (s, 3, TS_MS, (const guint8 *) "abc", 3);
  push_all (ctx, s);
  gst_event_parse_caps (g_ptr_array_index (get_collector (ctx, 3)->events, 1),
      &got);
  fail_unless (gst_caps_is_equal (got, caps));
  gst_caps_unref (caps);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_many_frames_per_buffer)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  guint8 payload[300];
  guint i;

  for (i = 0; i < 100; i++) {
    guint len = (i * 7) % 300;

    memset (payload, i, len);
    append_frame (s, 1, TS_MS + i, payload, len);
    g_byte_array_append (exp, payload, len);
  }
  push_all (ctx, s);
  assert_bytes (ctx, 1, exp->data, exp->len);
  /* 100 frames, one of them empty (i = 0): not pushed but counted */
  fail_unless_equals_int (get_collector (ctx, 1)->buffers_seen, 99);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 100);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes"), exp->len);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_frame_split)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 payload[1000];
  gsize pos;
  guint i;

  for (i = 0; i < sizeof (payload); i++)
    payload[i] = (i % 5 == 0) ? ';' : i;
  append_frame (s, 1, TS_MS, payload, sizeof (payload));
  append_frame (s, 1, TS_MS, payload, sizeof (payload));

  /* first frame in 1-byte buffers, second frame in uneven pieces */
  for (pos = 0; pos < sizeof (payload) + WRTC_FRAME_OVERHEAD; pos++)
    fail_unless_equals_int (push_bytes (ctx, s->data + pos, 1), GST_FLOW_OK);
  fail_unless_equals_int (get_collector (ctx, 1)->data->len, sizeof (payload));
  while (pos < s->len) {
    gsize n = MIN (s->len - pos, 7 + pos % 300);

    fail_unless_equals_int (push_bytes (ctx, s->data + pos, n), GST_FLOW_OK);
    pos += n;
  }
  fail_unless_equals_int (get_collector (ctx, 1)->data->len,
      2 * sizeof (payload));
  fail_unless (memcmp (get_collector (ctx, 1)->data->data, payload,
          sizeof (payload)) == 0);
  fail_unless (memcmp (get_collector (ctx, 1)->data->data + sizeof (payload),
          payload, sizeof (payload)) == 0);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 2);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

/* [seed, max chunk] */
static const guint rechunk_params[][2] = {
  {1, 1}, {2, 3}, {3, 17}, {4, 64}, {5, 1000}, {6, 9000}, {7, 70000},
};

GST_START_TEST (test_random_rechunk)
{
  guint seed = rechunk_params[__i__][0];
  guint max_chunk = rechunk_params[__i__][1];
  GRand *rand = g_rand_new_with_seed (seed);
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GHashTable *exp = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) g_byte_array_unref);
  GHashTableIter iter;
  gpointer key, value;
  guint i, frames = 0, nframes = max_chunk == 1 ? 200 : 600;
  gsize pos;

  GST_INFO ("seed %u, max chunk %u", seed, max_chunk);
  for (i = 0; i < nframes; i++) {
    guint conn = g_rand_int_range (rand, 0, 10) < 6 ? 1 :
        g_rand_int_range (rand, 0, 9);
    guint len = g_rand_int_range (rand, 0, 10) < 8 ?
        g_rand_int_range (rand, 0, 200) : g_rand_int_range (rand, 0, 20000);
    guint8 *payload = g_malloc (len + 1);
    GByteArray *e;

    if (conn == 0) {
      WrtcControlMessage msg = { 0 };

      /* control traffic that does not affect the data connections */
      msg.code = WRTC_CONTROL_PING;
      msg.data = (const guint8 *) "ping";
      msg.data_len = 4;
      append_control (s, &msg);
      g_free (payload);
      continue;
    }
    g_rand_set_seed (rand, g_rand_int (rand));
    for (guint j = 0; j < len; j++)
      payload[j] = g_rand_int_range (rand, 0, 4) == 0 ? ';' :
          g_rand_int_range (rand, 0, 256);
    append_frame (s, conn, TS_MS + i, payload, len);
    e = g_hash_table_lookup (exp, GUINT_TO_POINTER (conn));
    if (e == NULL) {
      e = g_byte_array_new ();
      g_hash_table_insert (exp, GUINT_TO_POINTER (conn), e);
    }
    g_byte_array_append (e, payload, len);
    frames++;
    g_free (payload);
  }

  for (pos = 0; pos < s->len;) {
    gsize n = g_rand_int_range (rand, 1, max_chunk + 1);

    n = MIN (s->len - pos, n);

    fail_unless_equals_int (push_bytes (ctx, s->data + pos, n), GST_FLOW_OK);
    pos += n;
  }
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

  g_hash_table_iter_init (&iter, exp);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    GByteArray *e = value;
    guint conn = GPOINTER_TO_UINT (key);

    assert_bytes (ctx, conn, e->data, e->len);
    fail_unless (get_collector (ctx, conn)->eos);
    fail_unless_equals_uint64 (conn_u64 (ctx, conn, "bytes"), e->len);
  }
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), frames);
  fail_unless_equals_uint64 (stat_u64 (ctx, "control-frames"),
      nframes - frames);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"), 0);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 0);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);

  g_hash_table_destroy (exp);
  g_byte_array_unref (s);
  g_rand_free (rand);
  ctx_free (ctx);
}

GST_END_TEST;

/* One 70000-byte frame in one buffer (one memory), fed as 70017 one-byte
 * sub-buffers of it, as a sender cutting big messages into tiny pieces
 * would. Each piece shares the parent memory; had the element kept the
 * pieces until the frame was complete, the parent's 16-bit share count
 * would overflow (a critical) and each piece would cost a whole GstBuffer.
 * The pieces must be released as soon as they are pushed. */
GST_START_TEST (test_one_byte_sub_buffers)
{
  const guint len = 70000;
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 *payload = g_malloc (len);
  GstBuffer *parent;
  GstMemory *parent_mem;
  gsize pos;
  guint i;

  for (i = 0; i < len; i++)
    payload[i] = i % 7 == 0 ? ';' : (i * 31) & 0xff;
  append_frame (s, 1, TS_MS, payload, len);
  parent = gst_buffer_new_memdup (s->data, s->len);
  fail_unless_equals_int (gst_buffer_n_memory (parent), 1);
  parent_mem = gst_buffer_peek_memory (parent, 0);
  fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (parent_mem), 1);

  for (pos = 0; pos < s->len; pos++) {
    GstBuffer *piece = gst_buffer_copy_region (parent,
        GST_BUFFER_COPY_MEMORY, pos, 1);

    fail_unless (gst_buffer_peek_memory (piece, 0)->parent == parent_mem);
    fail_unless_equals_int (gst_harness_push (ctx->h, piece), GST_FLOW_OK);
    /* the piece is gone, so nothing refers to the parent memory but us */
    fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (parent_mem), 1);
    if (pos % 10000 == 0)
      fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), pos + 1);
  }
  assert_bytes (ctx, 1, payload, len);
  fail_unless_equals_int (get_collector (ctx, 1)->buffers_seen, 1);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 0);

  gst_buffer_unref (parent);
  g_free (payload);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

/* Neither a pending frame (header incomplete, then body incomplete) nor the
 * resync window keeps a reference to an input buffer or its memory. */
GST_START_TEST (test_pending_holds_no_input_refs)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 payload[200];
  /* [end of piece, bytes-pending after it] */
  guint steps[7][2] = { {5, 5}, {16, 16}, {17, 17}, {100, 100} };
  guint i, n = 4;
  gsize pos = 0;

  memset (payload, 'q', sizeof (payload));
  append_frame (s, 1, TS_MS, payload, sizeof (payload));
  /* a damaged frame, garbage, then a candidate the search cannot decide
   * yet: it keeps the bytes from that ';' on in the window */
  append_frame (s, 1, TS_MS, payload, 10);
  s->data[s->len - 1] = 'X';
  g_byte_array_append (s, (const guint8 *) "garbage;", 8);
  g_byte_array_set_size (s, s->len + WRTC_FRAME_HEADER_SIZE);
  wrtc_frame_write_header (s->data + s->len - WRTC_FRAME_HEADER_SIZE, 1,
      TS_MS, 100);
  steps[n][0] = s->len;
  steps[n++][1] = 1 + WRTC_FRAME_HEADER_SIZE;
  g_byte_array_append (s, payload, 5);
  steps[n][0] = s->len;
  steps[n++][1] = 1 + WRTC_FRAME_HEADER_SIZE + 5;

  for (i = 0; i < n; i++) {
    GstBuffer *in = gst_buffer_new_memdup (s->data + pos, steps[i][0] - pos);
    GstMemory *mem = gst_buffer_peek_memory (in, 0);

    fail_unless_equals_int (gst_harness_push (ctx->h, gst_buffer_ref (in)),
        GST_FLOW_OK);
    drain (ctx);
    fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (in), 1);
    fail_unless_equals_int (GST_MINI_OBJECT_REFCOUNT_VALUE (mem), 1);
    gst_buffer_unref (in);
    pos = steps[i][0];
    fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), steps[i][1]);
  }
  drain (ctx);
  fail_unless_equals_int (get_collector (ctx, 1)->data->len,
      sizeof (payload));
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

static gboolean
mem_inside (GstBuffer * out, const guint8 * start, gsize size)
{
  GstMapInfo map;
  gboolean inside;

  fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
  inside = map.data >= start && map.data + map.size <= start + size;
  gst_buffer_unmap (out, &map);
  return inside;
}

GST_START_TEST (test_zero_copy)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 payload[64];
  GstBuffer *in;
  GstMapInfo inmap;
  Collector *c;
  guint i;

  ctx->keep_buffers = TRUE;
  memset (payload, 0xab, sizeof (payload));
  for (i = 0; i < 10; i++)
    append_frame (s, 1, TS_MS, payload, sizeof (payload));

  /* push frames 0..9 whole, in one buffer we keep a mapping of */
  in = gst_buffer_new_memdup (s->data, s->len);
  fail_unless (gst_buffer_map (in, &inmap, GST_MAP_READ));
  fail_unless_equals_int (gst_harness_push (ctx->h, gst_buffer_ref (in)),
      GST_FLOW_OK);
  drain (ctx);
  c = get_collector (ctx, 1);
  fail_unless_equals_int (c->buffers->len, 10);
  for (i = 0; i < 10; i++) {
    GstBuffer *out = g_ptr_array_index (c->buffers, i);
    GstMemory *m = gst_buffer_peek_memory (out, 0);

    fail_unless_equals_int (gst_buffer_n_memory (out), 1);
    fail_unless (m->parent == gst_buffer_peek_memory (in, 0) ||
        m == gst_buffer_peek_memory (in, 0)->parent ||
        m->parent == gst_buffer_peek_memory (in, 0)->parent);
    fail_unless (mem_inside (out, inmap.data, inmap.size));
  }
  gst_buffer_unmap (in, &inmap);
  gst_buffer_unref (in);

  /* a frame split over two buffers is joined, then the frames after it in
   * the second buffer are zero-copy again */
  g_ptr_array_set_size (c->buffers, 0);
  fail_unless_equals_int (push_bytes (ctx, s->data, 40), GST_FLOW_OK);
  in = gst_buffer_new_memdup (s->data + 40, s->len - 40);
  fail_unless (gst_buffer_map (in, &inmap, GST_MAP_READ));
  fail_unless_equals_int (gst_harness_push (ctx->h, gst_buffer_ref (in)),
      GST_FLOW_OK);
  drain (ctx);
  fail_unless_equals_int (c->buffers->len, 10);
  fail_if (mem_inside (g_ptr_array_index (c->buffers, 0), inmap.data,
          inmap.size));
  for (i = 1; i < 10; i++)
    fail_unless (mem_inside (g_ptr_array_index (c->buffers, i), inmap.data,
            inmap.size));
  gst_buffer_unmap (in, &inmap);
  gst_buffer_unref (in);
  fail_unless_equals_int (c->data->len, 20 * sizeof (payload));

  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_control_frames)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  static const guint16 codes[] = { 1, 2, 101, 102, 103, 104, 301, 302, 303,
    7, 999, 65535
  };
  guint8 raw[8];
  guint i, n = 0;

  for (i = 0; i < G_N_ELEMENTS (codes); i++) {
    WrtcControlMessage msg = { 0 };

    msg.code = codes[i];
    /* connection 9 is opened, closed (reason 3), then half-closed after
     * its close, all of which leaves connection 1 alone */
    msg.conn_no = 9;
    msg.reason = 3;
    msg.data = (const guint8 *) "data";
    msg.data_len = 4;
    append_control (s, &msg);
    n++;
  }
  /* truncated: empty payload, 1 byte, OpenConnection without conn_no,
   * CloseConnection without reason */
  append_frame (s, 0, TS_MS, NULL, 0);
  raw[0] = 0;
  append_frame (s, 0, TS_MS, raw, 1);
  raw[0] = 0;
  raw[1] = 101;
  raw[2] = 0;
  append_frame (s, 0, TS_MS, raw, 3);
  raw[0] = 0;
  raw[1] = 102;
  raw[2] = raw[3] = raw[4] = 0;
  raw[5] = 1;
  append_frame (s, 0, TS_MS, raw, 6);
  n += 4;
  append_frame (s, 1, TS_MS, (const guint8 *) "data!", 5);
  push_all (ctx, s);

  fail_unless_equals_int (ctx->pads_added, 2);
  assert_bytes (ctx, 1, (const guint8 *) "data!", 5);
  fail_unless_equals_uint64 (stat_u64 (ctx, "control-frames"), n);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 4);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);
  fail_unless (stat_conn (ctx, 0) == NULL);

  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_only_control_then_eos)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  WrtcControlMessage msg = { 0 };

  msg.code = WRTC_CONTROL_PING;
  append_control (s, &msg);
  push_all (ctx, s);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  expect_error (ctx, "no data connections");
  fail_unless_equals_int (ctx->pads_added, 0);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_unlinked)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint i;

  g_hash_table_add (ctx->unlinked, GUINT_TO_POINTER (2));
  for (i = 0; i < 10; i++) {
    append_frame (s, 2, TS_MS, (const guint8 *) "lost", 4);
    append_frame (s, 1, TS_MS, (const guint8 *) "kept", 4);
  }
  push_all (ctx, s);
  fail_unless_equals_int (ctx->pads_added, 2);
  fail_unless_equals_int (get_collector (ctx, 1)->data->len, 40);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames-dropped"), 10);
  fail_unless_equals_uint64 (conn_u64 (ctx, 2, "dropped"), 10);
  fail_unless_equals_uint64 (conn_u64 (ctx, 2, "frames"), 10);
  fail_unless_equals_uint64 (conn_u64 (ctx, 1, "dropped"), 0);

  /* one warning names the unlinked connection, once */
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
  g_byte_array_set_size (s, 0);
  append_frame (s, 2, TS_MS, (const guint8 *) "lost", 4);
  fail_unless_equals_int (push_bytes (ctx, s->data, s->len), GST_FLOW_OK);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_all_unlinked)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();

  g_hash_table_add (ctx->unlinked, GUINT_TO_POINTER (2));
  append_frame (s, 2, TS_MS, (const guint8 *) "lost", 4);
  /* an unlinked pad never stops the stream, even when it is the only one:
   * the next connection may be the one somebody links */
  fail_unless_equals_int (push_bytes (ctx, s->data, s->len), GST_FLOW_OK);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames-dropped"), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
  g_byte_array_set_size (s, 0);
  append_frame (s, 1, TS_MS, (const guint8 *) "kept", 4);
  fail_unless_equals_int (push_bytes (ctx, s->data, s->len), GST_FLOW_OK);
  fail_unless_equals_int (get_collector (ctx, 1)->data->len, 4);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

/* [chunking, frame behind the damaged one recovered]. Chunking: 0 = the
 * whole stream in one buffer, 1 = split inside the damaged frame (it is
 * completed on the join path), else pieces of that many bytes. */
static const guint bad_term_params[][2] = { {0, 1}, {1, 1}, {13, 0} };

GST_START_TEST (test_bad_terminator_resync)
{
  guint chunk = bad_term_params[__i__][0];
  gboolean recovered = bad_term_params[__i__][1];
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  guint8 payload[100];
  guint i, bad_start, bad_len, next_len;

  GST_INFO ("chunking %u", chunk);
  for (i = 0; i < sizeof (payload); i++)
    payload[i] = i;
  append_frame (s, 1, TS_MS, payload, 10);
  g_byte_array_append (exp, payload, 10);
  bad_start = s->len;
  append_frame (s, 1, TS_MS, payload, 50);
  s->data[s->len - 1] = 'X';    /* broken terminator */
  bad_len = s->len - bad_start;
  /* No ';' precedes this frame, so the search cannot find it; only trying
   * the damaged frame's claimed end does, when this frame and the header
   * after it are in the buffered data at that moment. */
  append_frame (s, 1, TS_MS, payload, 20);
  next_len = s->len - bad_start - bad_len;
  if (recovered)
    g_byte_array_append (exp, payload, 20);
  for (i = 1; i < 5; i++) {
    append_frame (s, 1, TS_MS, payload, 20 + i);
    g_byte_array_append (exp, payload, 20 + i);
  }
  if (chunk == 0) {
    push_all (ctx, s);
  } else if (chunk == 1) {
    fail_unless_equals_int (push_bytes (ctx, s->data, bad_start + 30),
        GST_FLOW_OK);
    fail_unless_equals_int (push_bytes (ctx, s->data + bad_start + 30,
            s->len - bad_start - 30), GST_FLOW_OK);
  } else {
    for (i = 0; i < s->len; i += chunk)
      fail_unless_equals_int (push_bytes (ctx, s->data + i, MIN (chunk,
                  s->len - i)), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

  assert_bytes (ctx, 1, exp->data, exp->len);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"),
      recovered ? bad_len : bad_len + next_len);
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), recovered ? 6 : 5);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);
  fail_unless (get_collector (ctx, 1)->eos);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

/* The frame at the damaged frame's claimed end verifies, but the header
 * after it announces more than max-frame-size: the position is rejected
 * (as the search would reject it) and the search finds the next frame. */
GST_START_TEST (test_resume_candidate_rejected)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 payload[100];
  guint i, bad_start, good_start;

  g_object_set (ctx->demux, "max-frame-size", 1000, NULL);
  for (i = 0; i < sizeof (payload); i++)
    payload[i] = i;
  append_frame (s, 1, TS_MS, (const guint8 *) "pre", 3);
  bad_start = s->len;
  append_frame (s, 1, TS_MS, payload, 50);
  s->data[s->len - 1] = 'X';
  append_frame (s, 2, TS_MS, (const guint8 *) "fake", 4);
  g_byte_array_set_size (s, s->len + WRTC_FRAME_HEADER_SIZE);
  wrtc_frame_write_header (s->data + s->len - WRTC_FRAME_HEADER_SIZE, 1,
      TS_MS, 5000);
  g_byte_array_append (s, (const guint8 *) ";", 1);
  good_start = s->len;
  for (i = 0; i < 3; i++)
    append_frame (s, 1, TS_MS, (const guint8 *) "good", 4);
  push_all (ctx, s);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

  assert_bytes (ctx, 1, (const guint8 *) "pregoodgoodgood", 15);
  fail_unless (get_collector (ctx, 2) == NULL, "the rejected frame came out");
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"),
      good_start - bad_start);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 4);
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

/* Garbage containing ';' followed by a plausible header whose length would
 * reach far beyond the valid frames that follow: those must still come out. */
GST_START_TEST (test_false_length_in_garbage)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  guint8 garbage[40];
  guint8 payload[30];
  guint i, good_start;

  memset (payload, 'p', sizeof (payload));
  append_frame (s, 1, TS_MS, payload, 5);
  g_byte_array_append (exp, payload, 5);
  /* a frame header with a lying length: terminator check fails */
  memset (garbage, 0x11, sizeof (garbage));
  wrtc_frame_write_header (garbage, 1, TS_MS, 8);
  garbage[20] = ';';
  /* after this ';', a header claiming 100000 bytes (under max) */
  wrtc_frame_write_header (garbage + 21, 1, TS_MS, 100000);
  garbage[37] = ';';
  g_byte_array_append (s, garbage, 38);
  good_start = s->len;
  for (i = 0; i < 8; i++) {
    append_frame (s, 2, TS_MS, payload, 10 + i);
    g_byte_array_append (exp, payload, 10 + i);
  }
  for (i = 0; i < s->len; i += 9)
    fail_unless_equals_int (push_bytes (ctx, s->data + i, MIN (9,
                s->len - i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

  assert_bytes (ctx, 1, exp->data, 5);
  assert_bytes (ctx, 2, exp->data + 5, exp->len - 5);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"),
      good_start - (5 + WRTC_FRAME_OVERHEAD));
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_too_long_resync)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 payload[200];
  guint bad;

  memset (payload, 'z', sizeof (payload));
  g_object_set (ctx->demux, "max-frame-size", 100, NULL);
  append_frame (s, 1, TS_MS, payload, 100);
  bad = s->len;
  append_frame (s, 1, TS_MS, payload, 101);
  bad = s->len - bad;
  append_frame (s, 1, TS_MS, payload, 3);
  append_frame (s, 1, TS_MS, payload, 4);
  push_all (ctx, s);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  fail_unless_equals_int (get_collector (ctx, 1)->data->len, 107);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"), bad);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_too_long_error)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint8 payload[200];

  memset (payload, 'z', sizeof (payload));
  g_object_set (ctx->demux, "max-frame-size", 100,
      "corruption-policy", 1 /* error */ , NULL);
  append_frame (s, 1, TS_MS, payload, 10);
  append_frame (s, 1, TS_MS, payload, 101);
  fail_unless_equals_int (push_bytes (ctx, s->data, s->len), GST_FLOW_ERROR);
  expect_error (ctx, "max-frame-size");
  fail_unless_equals_int (get_collector (ctx, 1)->data->len, 10);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_bad_terminator_error)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();

  g_object_set (ctx->demux, "corruption-policy", 1, NULL);
  append_frame (s, 1, TS_MS, (const guint8 *) "abc", 3);
  s->data[s->len - 1] = 0;
  /* split so the failure is found on the joined path */
  fail_unless_equals_int (push_bytes (ctx, s->data, 10), GST_FLOW_OK);
  fail_unless_equals_int (push_bytes (ctx, s->data + 10, s->len - 10),
      GST_FLOW_ERROR);
  expect_error (ctx, "terminator");
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_truncated_at_eos)
{
  guint policy;

  for (policy = 0; policy < 2; policy++) {
    Ctx *ctx = ctx_new ();
    GByteArray *s = g_byte_array_new ();

    g_object_set (ctx->demux, "corruption-policy", policy, NULL);
    append_frame (s, 1, TS_MS, (const guint8 *) "whole", 5);
    append_frame (s, 1, TS_MS, (const guint8 *) "truncated", 9);
    fail_unless_equals_int (push_bytes (ctx, s->data, s->len - 4),
        GST_FLOW_OK);
    fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"),
        WRTC_FRAME_OVERHEAD + 9 - 4);
    fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
    assert_bytes (ctx, 1, (const guint8 *) "whole", 5);
    fail_unless (get_collector (ctx, 1)->eos);
    fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"),
        WRTC_FRAME_OVERHEAD + 9 - 4);
    fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);
    if (policy == 0) {
      fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
      fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);
    } else {
      expect_error (ctx, "middle of a frame");
    }
    g_byte_array_unref (s);
    ctx_free (ctx);
  }
}

GST_END_TEST;

static const guint garbage_seeds[] = { 11, 12, 13, 14, 15 };

/* Random garbage with many injected ';' + plausible header (length within
 * max-frame-size, terminator deliberately wrong): nothing may come out,
 * the held bytes stay bounded, and EOS gives an error. */
GST_START_TEST (test_garbage_only)
{
  guint seed = garbage_seeds[__i__];
  GRand *rand = g_rand_new_with_seed (seed);
  Ctx *ctx = ctx_new ();
  const guint max = 1024;
  GByteArray *s = g_byte_array_new ();
  gsize pos, at;

  GST_INFO ("seed %u", seed);
  g_object_set (ctx->demux, "max-frame-size", max, NULL);
  append_random (s, rand, 200000);
  for (at = 100; at + 2 * max < s->len; at += g_rand_int_range (rand,
          max + 40, 3 * max)) {
    guint32 len = g_rand_int_range (rand, 0, max + 1);

    s->data[at] = ';';
    wrtc_frame_write_header (s->data + at + 1, g_rand_int (rand), 0, len);
    s->data[at + 1 + WRTC_FRAME_HEADER_SIZE + len] = 'X';
  }

  for (pos = 0; pos < s->len;) {
    gsize n = g_rand_int_range (rand, 1, 3000);
    guint64 pending;

    n = MIN (s->len - pos, n);

    fail_unless_equals_int (push_bytes (ctx, s->data + pos, n), GST_FLOW_OK);
    pos += n;
    pending = stat_u64 (ctx, "bytes-pending");
    fail_unless (pending <= max + WRTC_FRAME_OVERHEAD + 1,
        "%" G_GUINT64_FORMAT " bytes pending", pending);
  }
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  expect_error (ctx, "No valid frame");
  fail_unless_equals_int (ctx->pads_added, 0);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"), s->len);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);
  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 0);
  g_byte_array_unref (s);
  g_rand_free (rand);
  ctx_free (ctx);
}

GST_END_TEST;

/* Bytes lost in the middle of a frame (a dropped message): the damaged
 * frame's length runs into the next frames, its terminator check fails,
 * and sync comes back right after its (surviving) terminator. */
GST_START_TEST (test_lost_bytes_resync)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  guint8 payload[100];
  guint i, cut_at;

  for (i = 0; i < sizeof (payload); i++)
    payload[i] = i;
  append_frame (s, 1, TS_MS, payload, 10);
  g_byte_array_append (exp, payload, 10);
  cut_at = s->len + WRTC_FRAME_HEADER_SIZE + 10;
  append_frame (s, 1, TS_MS, payload, 50);
  for (i = 0; i < 5; i++) {
    append_frame (s, 1, TS_MS, payload, 20 + i);
    g_byte_array_append (exp, payload, 20 + i);
  }
  g_byte_array_remove_range (s, cut_at, 30);

  for (i = 0; i < s->len; i += 5)
    fail_unless_equals_int (push_bytes (ctx, s->data + i, MIN (5,
                s->len - i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  assert_bytes (ctx, 1, exp->data, exp->len);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"),
      WRTC_FRAME_OVERHEAD + 50 - 30);
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

/* A false candidate with a large plausible length, followed by a long run
 * of garbage, then valid frames, all in small buffers: the search window
 * grows to about the false length (searches are then spaced out), memory
 * stays bounded, and every valid frame still comes out, at the latest at
 * EOS. */
GST_START_TEST (test_large_false_candidate)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  GRand *rand = g_rand_new_with_seed (77);
  const guint max = 1024 * 1024, chunk = 4096;
  guint8 payload[300];
  gsize pos, garbage_start, garbage_end;
  guint64 pending_max = 0;
  guint i;

  g_object_set (ctx->demux, "max-frame-size", max, NULL);
  memset (payload, 'v', sizeof (payload));
  append_frame (s, 1, TS_MS, payload, 8);
  garbage_start = s->len;
  g_byte_array_append (s, (const guint8 *) "junkjunkjunkjunkjunk", 20);
  g_byte_array_append (s, (const guint8 *) ";", 1);
  g_byte_array_set_size (s, s->len + WRTC_FRAME_HEADER_SIZE);
  wrtc_frame_write_header (s->data + s->len - WRTC_FRAME_HEADER_SIZE, 3, 0,
      900000);
  append_random (s, rand, 600000);
  for (pos = garbage_start + 40; pos < s->len; pos++)
    if (s->data[pos] == ';')
      s->data[pos] = ':';
  s->data[s->len - 1] = ';';
  garbage_end = s->len;
  for (i = 0; i < 50; i++) {
    append_frame (s, 2, TS_MS, payload, 100 + i);
    g_byte_array_append (exp, payload, 100 + i);
  }

  for (pos = 0; pos < s->len; pos += chunk) {
    guint64 pending;

    fail_unless_equals_int (push_bytes (ctx, s->data + pos, MIN (chunk,
                s->len - pos)), GST_FLOW_OK);
    pending = stat_u64 (ctx, "bytes-pending");
    pending_max = MAX (pending_max, pending);
    fail_unless (pending <= (max + WRTC_FRAME_OVERHEAD + 1) * 9 / 8 + chunk,
        "%" G_GUINT64_FORMAT " bytes pending", pending);
  }
  GST_INFO ("at most %" G_GUINT64_FORMAT " bytes pending", pending_max);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  assert_bytes (ctx, 1, payload, 8);
  assert_bytes (ctx, 2, exp->data, exp->len);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"),
      garbage_end - garbage_start);
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  g_rand_free (rand);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_empty_stream)
{
  Ctx *ctx = ctx_new ();

  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  expect_error (ctx, "No valid frame");
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_flush_mid_frame)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  Collector *c;
  guint n_segments = 0, i;

  append_frame (s, 1, TS_MS, (const guint8 *) "first", 5);
  append_frame (s, 1, TS_MS, (const guint8 *) "halfway", 7);
  fail_unless_equals_int (push_bytes (ctx, s->data, s->len - 5), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (ctx->h,
          gst_event_new_flush_stop (TRUE)));
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);
  {
    GstSegment segment;

    gst_segment_init (&segment, GST_FORMAT_BYTES);
    fail_unless (gst_harness_push_event (ctx->h,
            gst_event_new_segment (&segment)));
  }

  g_byte_array_set_size (s, 0);
  append_frame (s, 1, TS_MS, (const guint8 *) "after", 5);
  push_all (ctx, s);
  assert_bytes (ctx, 1, (const guint8 *) "firstafter", 10);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"), 0);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 0);

  c = get_collector (ctx, 1);
  for (i = 0; i < c->event_types->len; i++) {
    GstEventType t = g_array_index (c->event_types, GstEventType, i);

    if (t == GST_EVENT_SEGMENT)
      n_segments++;
    if (t == GST_EVENT_FLUSH_STOP) {
      /* a fresh segment follows the flush */
      fail_unless (i + 1 < c->event_types->len);
      fail_unless_equals_int (g_array_index (c->event_types, GstEventType,
              i + 1), GST_EVENT_SEGMENT);
    }
  }
  fail_unless_equals_int (n_segments, 2);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_eos_all_pads)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  guint conn;

  for (conn = 1; conn <= 64; conn++)
    append_frame (s, conn * 1000, TS_MS, (const guint8 *) "x", 1);
  push_all (ctx, s);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  for (conn = 1; conn <= 64; conn++)
    fail_unless (get_collector (ctx, conn * 1000)->eos);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_renegotiation)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GstCaps *caps;

  append_frame (s, 1, TS_MS, (const guint8 *) "renego", 6);
  fail_unless_equals_int (push_bytes (ctx, s->data, 10), GST_FLOW_OK);
  caps = gst_caps_from_string ("application/x-wrtcframe, x=(int)2");
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  fail_unless_equals_int (push_bytes (ctx, s->data + 10, s->len - 10),
      GST_FLOW_OK);
  assert_bytes (ctx, 1, (const guint8 *) "renego", 6);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  GstElement *demux = gst_element_factory_make ("framedemux", NULL);
  GstPad *src = gst_pad_new ("src", GST_PAD_SRC);
  GstPad *sink = gst_element_get_static_pad (demux, "sink");
  GByteArray *s = g_byte_array_new ();
  GstSegment segment;
  guint cycle;

  append_frame (s, 1, TS_MS, (const guint8 *) "a", 1);
  append_frame (s, 2, TS_MS, (const guint8 *) "b", 1);
  append_frame (s, 3, TS_MS, (const guint8 *) "c", 2);   /* truncated below */
  fail_unless_equals_int (gst_pad_link (src, sink), GST_PAD_LINK_OK);
  gst_segment_init (&segment, GST_FORMAT_BYTES);

  for (cycle = 0; cycle < 5; cycle++) {
    GstStructure *st;
    guint64 frames;

    fail_unless_equals_int (gst_element_set_state (demux, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    gst_pad_set_active (src, TRUE);
    gst_pad_push_event (src, gst_event_new_stream_start ("x"));
    gst_pad_push_event (src, gst_event_new_segment (&segment));
    /* nothing linked downstream: dropped, counted, the stream goes on */
    fail_unless_equals_int (gst_pad_push (src, gst_buffer_new_memdup (s->data,
                s->len - 3)), GST_FLOW_OK);
    fail_unless_equals_int (demux->numsrcpads, 2);
    g_object_get (demux, "stats", &st, NULL);
    fail_unless (gst_structure_get_uint64 (st, "frames", &frames));
    fail_unless_equals_uint64 (frames, 2);
    gst_structure_free (st);
    gst_pad_set_active (src, FALSE);
    fail_unless_equals_int (gst_element_set_state (demux, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int (demux->numsrcpads, 0);
  }
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (demux);
  g_byte_array_unref (s);
}

GST_END_TEST;

GST_START_TEST (test_stats_fields)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  WrtcControlMessage msg = { 0 };
  GstStructure *st;
  const gchar *fields[] = { "frames", "bytes", "control-frames",
    "bytes-skipped", "resyncs", "frames-dropped", "bytes-pending"
  };
  guint i;

  msg.code = WRTC_CONTROL_PONG;
  append_control (s, &msg);
  append_frame (s, 5, TS_MS, (const guint8 *) "12345", 5);
  append_frame (s, 5, TS_MS, NULL, 0);
  append_frame (s, 9, TS_MS, (const guint8 *) "123", 3);
  push_all (ctx, s);

  g_object_get (ctx->demux, "stats", &st, NULL);
  for (i = 0; i < G_N_ELEMENTS (fields); i++)
    fail_unless (gst_structure_has_field_typed (st, fields[i], G_TYPE_UINT64),
        "%s", fields[i]);
  fail_unless_equals_int (gst_value_array_get_size (gst_structure_get_value
          (st, "connections")), 2);
  gst_structure_free (st);

  fail_unless_equals_uint64 (stat_u64 (ctx, "frames"), 3);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes"), 8);
  fail_unless_equals_uint64 (stat_u64 (ctx, "control-frames"), 1);
  fail_unless_equals_uint64 (conn_u64 (ctx, 5, "frames"), 2);
  fail_unless_equals_uint64 (conn_u64 (ctx, 5, "bytes"), 5);
  fail_unless_equals_uint64 (conn_u64 (ctx, 9, "frames"), 1);
  fail_unless_equals_uint64 (conn_u64 (ctx, 9, "bytes"), 3);
  fail_unless_equals_uint64 (conn_u64 (ctx, 9, "dropped"), 0);
  g_byte_array_unref (s);
  ctx_free (ctx);
}

GST_END_TEST;

/* ---- resynchronisation after a garbage burst (issue 9) ---- */

/* [garbage kind, chunking]: kind 0 = uniform random bytes, 1 = bytes drawn
 * from { 0x00, 0x01, ';', 0xFF } (false headers then often claim lengths up
 * to max-frame-size and pass terminator checks); chunking 0 = the whole
 * stream in one buffer, 1 = 1-byte buffers, 2 = random sizes 1 .. 4000. */
static const guint burst_params[][2] = {
  {0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2},
};
/* Seeds for which the search without context lost every frame after the
 * burst (1000, 1001: 4-byte alphabet; 1014: uniform). */
static const guint32 burst_seeds[] = { 1000, 1001, 1014 };

#define BURST_AFTER 500

/* First occurrence of @needle (@nlen > 0 bytes) in @hay, or NULL. */
static const guint8 *
find_bytes (const guint8 * hay, gsize hlen, const guint8 * needle, gsize nlen)
{
  gsize i;

  for (i = 0; i + nlen <= hlen; i++)
    if (hay[i] == needle[0] && memcmp (hay + i, needle, nlen) == 0)
      return hay + i;
  return NULL;
}

/* Finds the expected payloads of @conn in order in what came out (other
 * bytes in between, such as a false frame, are skipped over); returns how
 * many were found. */
static guint
count_in_order (Ctx * ctx, guint conn, GPtrArray * expected)
{
  Collector *c = get_collector (ctx, conn);
  gsize pos = 0;
  guint i, found = 0;

  if (c == NULL)
    return 0;
  for (i = 0; i < expected->len; i++) {
    GBytes *b = g_ptr_array_index (expected, i);
    gsize len;
    const guint8 *p = g_bytes_get_data (b, &len);
    const guint8 *hit = find_bytes (c->data->data + pos, c->data->len - pos,
        p, len);

    if (hit != NULL) {
      found++;
      pos = hit - c->data->data + len;
    }
  }
  return found;
}

static void
append_test_frame (GByteArray * s, GRand * rand, guint32 conn, guint64 ts,
    guint32 seq, GPtrArray * expected)
{
  guint32 len = g_rand_int_range (rand, 8, 300);
  guint8 *payload = g_malloc (len);
  guint32 i;

  /* a sequence number makes every payload unique */
  payload[0] = seq >> 24;
  payload[1] = seq >> 16;
  payload[2] = seq >> 8;
  payload[3] = seq;
  for (i = 4; i < len; i++)
    payload[i] = g_rand_int_range (rand, 0, 256);
  append_frame (s, conn, ts, payload, len);
  if (expected != NULL)
    g_ptr_array_add (expected, g_bytes_new_take (payload, len));
  else
    g_free (payload);
}

/* Valid frames, a garbage burst, 500 valid frames: at least 90% of those
 * come out byte-exact and in order, in any chunking, and bytes-pending
 * stays within the bound framedemux.md documents. */
GST_START_TEST (test_garbage_burst_recovery)
{
  static const guint8 alpha4[] = { 0x00, 0x01, ';', 0xFF };
  /* odd runs with a small max-frame-size, where the bound is tight */
  gboolean small_max = __i__ % 2;
  guint run = __i__ / 2;
  guint kind = burst_params[run / G_N_ELEMENTS (burst_seeds)][0];
  guint chunking = burst_params[run / G_N_ELEMENTS (burst_seeds)][1];
  guint32 seed = burst_seeds[run % G_N_ELEMENTS (burst_seeds)];
  GRand *rand = g_rand_new_with_seed (seed);
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GPtrArray *before[3], *after[3];
  WrtcControlMessage msg = { 0 };
  guint64 ts = TS_MS, pending_max = 0, bound;
  guint max, i, burst, found, chunk_max = 1;
  gsize pos;

  for (i = 1; i < 3; i++) {
    before[i] = g_ptr_array_new_with_free_func ((GDestroyNotify)
        g_bytes_unref);
    after[i] = g_ptr_array_new_with_free_func ((GDestroyNotify)
        g_bytes_unref);
  }
  if (small_max)
    g_object_set (ctx->demux, "max-frame-size", 4096, NULL);
  g_object_get (ctx->demux, "max-frame-size", &max, NULL);

  msg.code = WRTC_CONTROL_OPEN_CONNECTION;
  for (msg.conn_no = 1; msg.conn_no < 3; msg.conn_no++)
    append_control (s, &msg);
  for (i = 0; i < 40; i++) {
    guint32 conn = g_rand_int_range (rand, 1, 3);

    ts += g_rand_int_range (rand, 0, 20);
    append_test_frame (s, rand, conn, ts, i, before[conn]);
  }
  burst = g_rand_int_range (rand, 300, 4097);
  for (i = 0; i < burst; i++) {
    guint8 b = kind == 0 ? g_rand_int_range (rand, 0, 256) :
        alpha4[g_rand_int_range (rand, 0, 4)];

    g_byte_array_append (s, &b, 1);
  }
  for (i = 0; i < BURST_AFTER; i++) {
    guint32 conn = g_rand_int_range (rand, 1, 3);

    ts += g_rand_int_range (rand, 0, 20);
    append_test_frame (s, rand, conn, ts, 1000 + i, after[conn]);
  }

  for (pos = 0; pos < s->len;) {
    gsize n = chunking == 0 ? s->len : chunking == 1 ? 1 :
        (gsize) g_rand_int_range (rand, 1, 4001);
    guint64 pending;

    n = MIN (n, s->len - pos);
    chunk_max = MAX (chunk_max, n);
    fail_unless_equals_int (push_bytes (ctx, s->data + pos, n), GST_FLOW_OK);
    pos += n;
    pending = stat_u64 (ctx, "bytes-pending");
    pending_max = MAX (pending_max, pending);
  }
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);

  /* the frames before the burst are untouched */
  for (i = 1; i < 3; i++)
    fail_unless_equals_int (count_in_order (ctx, i, before[i]),
        before[i]->len);
  found = 0;
  for (i = 1; i < 3; i++) {
    Collector *c = get_collector (ctx, i);
    gsize len = 0;
    guint j;

    /* drop what came out before the burst, then count in order */
    for (j = 0; j < before[i]->len; j++)
      len += g_bytes_get_size (g_ptr_array_index (before[i], j));
    g_byte_array_remove_range (c->data, 0, len);
    found += count_in_order (ctx, i, after[i]);
  }
  /* documented bound: (max-frame-size + 18) * 9 / 8 + one input buffer */
  bound = ((guint64) max + WRTC_FRAME_OVERHEAD + 1) * 9 / 8 + chunk_max;
  g_print ("garbage burst: %s garbage, %u bytes, %s input, seed %u, "
      "max-frame-size %u: "
      "%u/%u frames after it recovered (%.1f%%), %" G_GUINT64_FORMAT
      " bytes pending at most, %" G_GUINT64_FORMAT " resyncs\n",
      kind == 0 ? "uniform" : "4-byte alphabet", burst,
      chunking == 0 ? "whole" : chunking == 1 ? "1-byte" : "random-size",
      seed, max, found, BURST_AFTER, 100.0 * found / BURST_AFTER, pending_max,
      stat_u64 (ctx, "resyncs"));
  fail_unless (found * 10 >= BURST_AFTER * 9, "only %u of %u frames "
      "recovered", found, BURST_AFTER);
  fail_unless (pending_max <= bound, "%" G_GUINT64_FORMAT " bytes pending, "
      "bound %" G_GUINT64_FORMAT, pending_max, bound);
  fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-pending"), 0);

  for (i = 1; i < 3; i++) {
    g_ptr_array_unref (before[i]);
    g_ptr_array_unref (after[i]);
  }
  g_byte_array_unref (s);
  g_rand_free (rand);
  ctx_free (ctx);
}

GST_END_TEST;

/* After damage the search accepts a short false frame because the data
 * ends right after the long header behind it (a chain of one frame: weak
 * evidence). That long frame is then pending on probation: the bytes
 * behind its start are searched while it waits, and the valid frames there
 * come out long before its claimed length has arrived. Same loss of sync:
 * one warning, one resync. */
GST_START_TEST (test_weak_resync_long_pending)
{
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  guint8 payload[64];
  gsize cut, i;

  memset (payload, 'v', sizeof (payload));
  append_frame (s, 1, TS_MS, payload, 20);
  g_byte_array_append (exp, payload, 20);
  /* damage: a header whose length is above max-frame-size */
  g_byte_array_set_size (s, s->len + WRTC_FRAME_HEADER_SIZE);
  wrtc_frame_write_header (s->data + s->len - WRTC_FRAME_HEADER_SIZE, 1,
      TS_MS, 0x7fffffff);
  g_byte_array_append (s, (const guint8 *) "xx;", 3);
  /* a false frame that fits, then a false header announcing 1 MB */
  append_frame (s, 1, TS_MS, (const guint8 *) "FALSE", 5);
  g_byte_array_set_size (s, s->len + WRTC_FRAME_HEADER_SIZE);
  wrtc_frame_write_header (s->data + s->len - WRTC_FRAME_HEADER_SIZE, 1,
      TS_MS, 1000000);
  cut = s->len;
  g_byte_array_append (s, (const guint8 *) "zz;", 3);
  for (i = 0; i < 20; i++) {
    payload[0] = i;
    append_frame (s, 2, TS_MS + i, payload, 30 + i);
    g_byte_array_append (exp, payload, 30 + i);
  }

  /* the first input ends right after the false long header */
  fail_unless_equals_int (push_bytes (ctx, s->data, cut), GST_FLOW_OK);
  fail_unless (stat_u64 (ctx, "bytes-pending") <= WRTC_FRAME_HEADER_SIZE);
  fail_unless_equals_int (get_collector (ctx, 1)->data->len, 25);
  for (i = cut; i < s->len; i++)
    fail_unless_equals_int (push_bytes (ctx, s->data + i, 1), GST_FLOW_OK);
  /* all but what was still being checked are out before EOS */
  fail_unless (get_collector (ctx, 2) != NULL);
  fail_unless (get_collector (ctx, 2)->data->len >= exp->len - 20 - 49);
  fail_unless (stat_u64 (ctx, "bytes-pending") < 100);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

  /* "FALSE" came out (it verified); everything valid is there */
  assert_bytes (ctx, 2, exp->data + 20, exp->len - 20);
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
  fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_ERROR), 0);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

/* In sync, right after valid frames, a header whose timestamp is far from
 * theirs announces a length that would swallow everything behind it, and
 * (whole input) even its terminator is in place. The valid frames inside
 * are found: the false frame is damage, whatever the chunking. */
GST_START_TEST (test_unfitting_frame_hides_frames)
{
  guint chunk;

  for (chunk = 0; chunk < 3; chunk++) {
    Ctx *ctx = ctx_new ();
    GByteArray *s = g_byte_array_new ();
    GByteArray *exp = g_byte_array_new ();
    guint8 payload[64];
    gsize bad, inner, i, step = chunk == 0 ? G_MAXSIZE : chunk == 1 ? 1 : 7;

    memset (payload, 'q', sizeof (payload));
    for (i = 0; i < 3; i++) {
      append_frame (s, 1, TS_MS + i, payload, 10);
      g_byte_array_append (exp, payload, 10);
    }
    bad = s->len;
    g_byte_array_set_size (s, s->len + WRTC_FRAME_HEADER_SIZE);
    g_byte_array_append (s, (const guint8 *) "\x01\xff;", 3);
    inner = s->len;
    for (i = 0; i < 10; i++) {
      payload[0] = i;
      append_frame (s, 1, TS_MS + 100 + i, payload, 20);
      g_byte_array_append (exp, payload, 20);
    }
    /* the false frame ends exactly on the last ';' */
    wrtc_frame_write_header (s->data + bad, 0x3b01ff00,
        G_GUINT64_CONSTANT (0x3b3b00ff013b0000),
        s->len - bad - WRTC_FRAME_OVERHEAD);
    for (i = 0; i < s->len; i += step)
      fail_unless_equals_int (push_bytes (ctx, s->data + i, MIN (step,
                  s->len - i)), GST_FLOW_OK);
    fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

    assert_bytes (ctx, 1, exp->data, exp->len);
    fail_unless_equals_int (ctx->pads_added, 1);
    fail_unless_equals_uint64 (stat_u64 (ctx, "bytes-skipped"), inner - bad);
    fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
    fail_unless_equals_int (count_messages (ctx, GST_MESSAGE_WARNING), 1);
    g_byte_array_unref (s);
    g_byte_array_unref (exp);
    ctx_free (ctx);
  }
}

GST_END_TEST;

/* A sender clock step (a day forward) is no damage: frames that do not fit
 * the old timestamp but hide no verified frames come out unchanged, the
 * new clock is adopted after two frames, and a later resync works with
 * it. */
GST_START_TEST (test_clock_step)
{
  const guint64 day = G_GUINT64_CONSTANT (24) * 3600 * 1000;
  Ctx *ctx = ctx_new ();
  GByteArray *s = g_byte_array_new ();
  GByteArray *exp = g_byte_array_new ();
  GRand *rand = g_rand_new_with_seed (5);
  guint8 payload[100];
  guint i;

  for (i = 0; i < 4; i++) {
    append_frame (s, 1, TS_MS + i, (const guint8 *) "old clock;", 10);
    g_byte_array_append (exp, (const guint8 *) "old clock;", 10);
  }
  for (i = 0; i < 4; i++) {
    memset (payload, ';', sizeof (payload));
    append_frame (s, 1, TS_MS + day + i, payload, 40 + i);
    g_byte_array_append (exp, payload, 40 + i);
  }
  g_byte_array_append (s, (const guint8 *) "\x00\x00\x00\x01;;", 6);
  append_random (s, rand, 900);
  for (i = 0; i < 30; i++) {
    payload[0] = i;
    append_frame (s, 1, TS_MS + day + 10 + i, payload, 30);
  }
  for (i = 0; i < s->len; i += 3)
    fail_unless_equals_int (push_bytes (ctx, s->data + i, MIN (3,
                s->len - i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (ctx->h, gst_event_new_eos ()));

  {
    Collector *c = get_collector (ctx, 1);
    guint found = 0;

    fail_unless (c->data->len >= exp->len);
    fail_unless (memcmp (c->data->data, exp->data, exp->len) == 0);
    /* the frames after the garbage, with the new clock, came back */
    for (i = 0; i < 30; i++) {
      payload[0] = i;
      if (find_bytes (c->data->data + exp->len, c->data->len - exp->len,
              payload, 30) != NULL)
        found++;
    }
    fail_unless (found >= 28, "%u of 30", found);
  }
  fail_unless_equals_uint64 (stat_u64 (ctx, "resyncs"), 1);
  g_rand_free (rand);
  g_byte_array_unref (s);
  g_byte_array_unref (exp);
  ctx_free (ctx);
}

GST_END_TEST;

static Suite *
framedemux_suite (void)
{
  Suite *s = suite_create ("framedemux");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_single_frame);
  tcase_add_test (tc, test_upstream_group_id);
  tcase_add_test (tc, test_caps_property);
  tcase_add_test (tc, test_many_frames_per_buffer);
  tcase_add_test (tc, test_frame_split);
  tcase_add_loop_test (tc, test_random_rechunk, 0,
      G_N_ELEMENTS (rechunk_params));
  tcase_add_test (tc, test_zero_copy);
  tcase_add_test (tc, test_control_frames);
  tcase_add_test (tc, test_only_control_then_eos);
  tcase_add_test (tc, test_unlinked);
  tcase_add_test (tc, test_all_unlinked);
  tcase_add_test (tc, test_one_byte_sub_buffers);
  tcase_add_test (tc, test_pending_holds_no_input_refs);
  tcase_add_loop_test (tc, test_bad_terminator_resync, 0,
      G_N_ELEMENTS (bad_term_params));
  tcase_add_test (tc, test_resume_candidate_rejected);
  tcase_add_test (tc, test_lost_bytes_resync);
  tcase_add_test (tc, test_false_length_in_garbage);
  tcase_add_test (tc, test_too_long_resync);
  tcase_add_test (tc, test_too_long_error);
  tcase_add_test (tc, test_bad_terminator_error);
  tcase_add_test (tc, test_truncated_at_eos);
  tcase_add_loop_test (tc, test_garbage_only, 0, G_N_ELEMENTS (garbage_seeds));
  tcase_add_test (tc, test_large_false_candidate);
  tcase_add_test (tc, test_empty_stream);
  tcase_add_test (tc, test_flush_mid_frame);
  tcase_add_test (tc, test_eos_all_pads);
  tcase_add_test (tc, test_renegotiation);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_stats_fields);
  tcase_add_loop_test (tc, test_garbage_burst_recovery, 0,
      2 * G_N_ELEMENTS (burst_params) * G_N_ELEMENTS (burst_seeds));
  tcase_add_test (tc, test_weak_resync_long_pending);
  tcase_add_test (tc, test_unfitting_frame_hides_frames);
  tcase_add_test (tc, test_clock_step);
  return s;
}

GST_CHECK_MAIN (framedemux);

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Element tests for framemux. The output is decoded with the frame codec
 * (wrtc_frame_parse), so every check is on the exact wire bytes. Inputs are
 * plain source pads linked to requested sink pads; "downstream blocked" is a
 * blocking probe on the mux's source pad (flushing wakes it, as it would
 * wake a real sink going to READY). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "frame-codec.h"

#define WAIT_SECONDS 20

static GstElement *mux;
static GstHarness *h;

/* ---- inputs ---- */

typedef struct
{
  GstPad *src;
  GstPad *sink;
  guint conn;
  guint64 off;                  /* pattern offset of the next byte */
} Input;

static guint8
pattern (guint conn, guint64 k)
{
  return (guint8) (conn * 131 + k * 7 + (k >> 9));
}

static GstBuffer *
make_buffer (guint conn, guint64 off, gsize size)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < size; i++)
    map.data[i] = pattern (conn, off + i);
  gst_buffer_unmap (buf, &map);
  return buf;
}

static void
input_push_headers (Input * in)
{
  GstSegment seg;
  gchar *id = g_strdup_printf ("test-input-%u", in->conn);
  GstCaps *caps = gst_caps_new_empty_simple ("application/octet-stream");

  fail_unless (gst_pad_push_event (in->src, gst_event_new_stream_start (id)));
  g_free (id);
  fail_unless (gst_pad_push_event (in->src, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  fail_unless (gst_pad_push_event (in->src, gst_event_new_segment (&seg)));
}

static Input *
input_new (const gchar * name)
{
  Input *in = g_new0 (Input, 1);

  in->sink = gst_element_request_pad_simple (mux, name);
  fail_unless (in->sink != NULL, "request for %s failed", name);
  g_object_get (in->sink, "connection", &in->conn, NULL);
  in->src = gst_pad_new ("testsrc", GST_PAD_SRC);
  fail_unless_equals_int (gst_pad_link (in->src, in->sink), GST_PAD_LINK_OK);
  gst_pad_set_active (in->src, TRUE);
  input_push_headers (in);
  return in;
}

static GstFlowReturn
input_push (Input * in, gsize size)
{
  GstFlowReturn ret;

  ret = gst_pad_push (in->src, make_buffer (in->conn, in->off, size));
  if (ret == GST_FLOW_OK)
    in->off += size;
  return ret;
}

static void
input_free (Input * in, gboolean release)
{
  if (release)
    gst_element_release_request_pad (mux, in->sink);
  gst_object_unref (in->sink);
  gst_pad_set_active (in->src, FALSE);
  gst_object_unref (in->src);
  g_free (in);
}

/* ---- pushing threads ---- */

static GMutex job_lock;
static GCond job_cond;

typedef struct
{
  Input *in;
  guint n;
  gsize size;                   /* fixed size, or 0 with rand_seed */
  guint32 rand_seed;
  gsize max_size;
  GArray *sizes;                /* sizes accepted (pushes that returned OK) */
  guint returned;
  GstFlowReturn last;
  gboolean done;
  GThread *thread;
} Job;

static gpointer
job_func (gpointer data)
{
  Job *job = data;
  GRand *rand = g_rand_new_with_seed (job->rand_seed);
  guint i;

  for (i = 0; i < job->n; i++) {
    gsize size = job->max_size ?
        (gsize) g_rand_int_range (rand, 0, job->max_size + 1) : job->size;
    GstFlowReturn ret = input_push (job->in, size);

    g_mutex_lock (&job_lock);
    job->returned++;
    job->last = ret;
    if (ret == GST_FLOW_OK)
      g_array_append_val (job->sizes, size);
    g_cond_broadcast (&job_cond);
    g_mutex_unlock (&job_lock);
    if (ret != GST_FLOW_OK)
      break;
  }
  g_rand_free (rand);
  g_mutex_lock (&job_lock);
  job->done = TRUE;
  g_cond_broadcast (&job_cond);
  g_mutex_unlock (&job_lock);
  return NULL;
}

static Job *
job_start (Input * in, guint n, gsize size, gsize max_size, guint32 seed)
{
  Job *job = g_new0 (Job, 1);

  job->in = in;
  job->n = n;
  job->size = size;
  job->max_size = max_size;
  job->rand_seed = seed;
  job->sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  job->thread = g_thread_new ("pusher", job_func, job);
  return job;
}

/* Waits until the job's pushes returned @n times (or it finished). */
static void
job_wait_returned (Job * job, guint n)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;

  g_mutex_lock (&job_lock);
  while (job->returned < n && !job->done) {
    if (!g_cond_wait_until (&job_cond, &job_lock, end)) {
      g_mutex_unlock (&job_lock);
      fail ("timeout: pusher returned %u times, wanted %u", job->returned, n);
    }
  }
  g_mutex_unlock (&job_lock);
}

static guint
job_returned (Job * job)
{
  guint r;

  g_mutex_lock (&job_lock);
  r = job->returned;
  g_mutex_unlock (&job_lock);
  return r;
}

static void
job_join (Job * job)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;

  g_mutex_lock (&job_lock);
  while (!job->done) {
    if (!g_cond_wait_until (&job_cond, &job_lock, end)) {
      g_mutex_unlock (&job_lock);
      fail ("timeout: pusher thread did not finish");
    }
  }
  g_mutex_unlock (&job_lock);
  g_thread_join (job->thread);
}

static guint64
job_bytes (Job * job)
{
  guint64 total = 0;
  guint i;

  for (i = 0; i < job->sizes->len; i++)
    total += g_array_index (job->sizes, gsize, i);
  return total;
}

static void
job_free (Job * job)
{
  g_array_free (job->sizes, TRUE);
  g_free (job);
}

/* ---- blocking downstream ---- */

static GMutex block_lock;
static GCond block_cond;
static guint block_hits;
static gulong block_id;

static GstPadProbeReturn
block_cb (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  g_mutex_lock (&block_lock);
  block_hits++;
  g_cond_broadcast (&block_cond);
  g_mutex_unlock (&block_lock);
  return GST_PAD_PROBE_OK;
}

static void
block_downstream (void)
{
  GstPad *src = gst_element_get_static_pad (mux, "src");

  block_hits = 0;
  block_id = gst_pad_add_probe (src,
      GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER, block_cb, NULL,
      NULL);
  gst_object_unref (src);
}

static void
wait_blocked (void)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;

  g_mutex_lock (&block_lock);
  while (block_hits == 0) {
    if (!g_cond_wait_until (&block_cond, &block_lock, end)) {
      g_mutex_unlock (&block_lock);
      fail ("timeout: nothing reached the blocked source pad");
    }
  }
  g_mutex_unlock (&block_lock);
}

static void
unblock_downstream (void)
{
  GstPad *src = gst_element_get_static_pad (mux, "src");

  if (block_id)
    gst_pad_remove_probe (src, block_id);
  block_id = 0;
  gst_object_unref (src);
}

/* ---- stats ---- */

static guint64
stat (const gchar * field)
{
  GstStructure *s;
  guint64 v = G_MAXUINT64;

  g_object_get (mux, "stats", &s, NULL);
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  gst_structure_free (s);
  return v;
}

static void
wait_stat (const gchar * field, guint64 val)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;

  /* a bounded poll of a condition, not a guess at timing */
  while (stat (field) < val) {
    fail_if (g_get_monotonic_time () > end, "timeout waiting for %s >= %"
        G_GUINT64_FORMAT, field, val);
    g_usleep (500);
  }
}

static const GstStructure *
conn_stats (const GstStructure * s, guint conn)
{
  const GValue *arr = gst_structure_get_value (s, "connections");
  guint i;

  fail_unless (arr != NULL && GST_VALUE_HOLDS_ARRAY (arr));
  for (i = 0; i < gst_value_array_get_size (arr); i++) {
    const GstStructure *c =
        gst_value_get_structure (gst_value_array_get_value (arr, i));
    guint n;

    fail_unless (gst_structure_has_name (c, "connection"));
    fail_unless (gst_structure_get_uint (c, "conn", &n));
    if (n == conn)
      return c;
  }
  return NULL;
}

static guint64
conn_stat (guint conn, const gchar * field)
{
  GstStructure *s;
  const GstStructure *c;
  guint64 v = G_MAXUINT64;

  g_object_get (mux, "stats", &s, NULL);
  c = conn_stats (s, conn);
  fail_unless (c != NULL, "no stats for connection %u", conn);
  fail_unless (gst_structure_get_uint64 (c, field, &v));
  gst_structure_free (s);
  return v;
}

/* ---- output ---- */

typedef struct
{
  guint32 conn;
  guint64 ts;
  gsize off;                    /* payload offset in the collected bytes */
  gsize len;
} Frame;

typedef struct
{
  GByteArray *bytes;
  GArray *msg_sizes;            /* gsize per output buffer */
  GArray *frames;               /* Frame */
  GArray *msg_frames;           /* frames starting in each message (guint) */
} Output;

/* Pulls output buffers until @total bytes arrived, then decodes them. */
static Output *
pull_output (gsize total)
{
  Output *o = g_new0 (Output, 1);
  gsize pos = 0;

  o->bytes = g_byte_array_new ();
  o->msg_sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  o->frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  o->msg_frames = g_array_new (FALSE, FALSE, sizeof (guint));

  while (o->bytes->len < total) {
    GstBuffer *buf = gst_harness_pull (h);
    GstMapInfo map;
    gsize size;

    fail_unless (buf != NULL, "timeout: have %u of %" G_GSIZE_FORMAT " bytes",
        o->bytes->len, total);
    fail_unless_equals_int (gst_buffer_n_memory (buf), 1);
    fail_if (GST_BUFFER_PTS_IS_VALID (buf));
    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_byte_array_append (o->bytes, map.data, map.size);
    size = map.size;
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    g_array_append_val (o->msg_sizes, size);
  }
  fail_unless_equals_uint64 (o->bytes->len, total);

  /* decode, and note which message each frame starts in */
  {
    gsize msg_end = 0;
    guint msg = 0, count = 0;

    if (o->msg_sizes->len)
      msg_end = g_array_index (o->msg_sizes, gsize, 0);
    while (pos < o->bytes->len) {
      WrtcFrameHeader hdr;
      Frame f;

      fail_unless_equals_int (wrtc_frame_parse (o->bytes->data + pos,
              o->bytes->len - pos, G_MAXUINT32, &hdr), WRTC_FRAME_OK);
      while (pos >= msg_end) {
        g_array_append_val (o->msg_frames, count);
        count = 0;
        msg++;
        msg_end += g_array_index (o->msg_sizes, gsize, msg);
      }
      count++;
      f.conn = hdr.conn_no;
      f.ts = hdr.timestamp_ms;
      f.off = pos + WRTC_FRAME_HEADER_SIZE;
      f.len = hdr.length;
      g_array_append_val (o->frames, f);
      pos += WRTC_FRAME_OVERHEAD + hdr.length;
    }
    g_array_append_val (o->msg_frames, count);
    while (o->msg_frames->len < o->msg_sizes->len) {
      count = 0;
      g_array_append_val (o->msg_frames, count);
    }
  }
  return o;
}

static void
output_free (Output * o)
{
  g_byte_array_free (o->bytes, TRUE);
  g_array_free (o->msg_sizes, TRUE);
  g_array_free (o->frames, TRUE);
  g_array_free (o->msg_frames, TRUE);
  g_free (o);
}

/* The frames of @conn carry exactly pattern bytes 0..total, and (when
 * @sizes is given) one frame per accepted buffer, in order. */
static void
check_conn_from (Output * o, guint conn, guint64 start, guint64 total,
    GArray * sizes)
{
  guint64 k = start;
  guint i, n = 0;

  for (i = 0; i < o->frames->len; i++) {
    Frame *f = &g_array_index (o->frames, Frame, i);
    gsize j;

    if (f->conn != conn)
      continue;
    if (sizes) {
      fail_unless (n < sizes->len, "conn %u: too many frames", conn);
      fail_unless_equals_uint64 (f->len, g_array_index (sizes, gsize, n));
    }
    for (j = 0; j < f->len; j++) {
      if (o->bytes->data[f->off + j] != pattern (conn, k + j))
        fail ("conn %u: wrong byte at stream offset %" G_GUINT64_FORMAT,
            conn, k + j);
    }
    k += f->len;
    n++;
  }
  fail_unless_equals_uint64 (k - start, total);
  if (sizes)
    fail_unless_equals_int (n, sizes->len);
}

static void
check_conn (Output * o, guint conn, guint64 total, GArray * sizes)
{
  check_conn_from (o, conn, 0, total, sizes);
}

static guint
count_conn_frames (Output * o, guint conn)
{
  guint i, n = 0;

  for (i = 0; i < o->frames->len; i++)
    if (g_array_index (o->frames, Frame, i).conn == conn)
      n++;
  return n;
}

static void
assert_no_more_output (void)
{
  GstBuffer *buf = gst_harness_try_pull (h);

  if (buf) {
    gst_buffer_unref (buf);
    fail ("unexpected extra output buffer");
  }
}

/* ---- fixtures ---- */

static void
setup (void)
{
  mux = gst_element_factory_make ("framemux", NULL);
  fail_unless (mux != NULL);
  /* these tests check the data path byte for byte; the control messages
   * framemux adds by default are tested in elements/control.c */
  g_object_set (mux, "announce-connections", FALSE, NULL);
  h = gst_harness_new_with_element (mux, NULL, "src");
  gst_harness_play (h);
}

/* Every test ends with this: GST_END_TEST joins all task threads, so the
 * source pad task must be stopped inside the test. */
static void
stop_mux (void)
{
  unblock_downstream ();
  fail_unless_equals_int (gst_element_set_state (mux, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
}

static void
teardown (void)
{
  unblock_downstream ();
  gst_element_set_state (mux, GST_STATE_NULL);
  gst_harness_teardown (h);
  h = NULL;
  gst_object_unref (mux);
  mux = NULL;
}

/* ---- tests ---- */

GST_START_TEST (test_single_frame)
{
  Input *in = input_new ("sink_1");
  static const guint8 payload[] = { 'h', 'e', 'l', 'l', 'o' };
  guint8 *d;
  guint i;
  guint64 before, after, ts;
  GstBuffer *buf;
  GstMapInfo map;
  GstEvent *ev;
  GstCaps *caps;

  before = wrtc_frame_now_ms ();
  fail_unless_equals_int (gst_pad_push (in->src,
          gst_buffer_new_memdup (payload, sizeof (payload))), GST_FLOW_OK);
  after = wrtc_frame_now_ms ();

  buf = gst_harness_pull (h);
  fail_unless (buf != NULL);
  fail_unless_equals_int (gst_buffer_n_memory (buf), 1);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  fail_unless_equals_int (map.size, 16 + 5 + 1);
  d = map.data;
  /* conn_no 1, big-endian */
  fail_unless (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1);
  ts = 0;
  for (i = 4; i < 12; i++)
    ts = (ts << 8) | d[i];
  fail_unless (ts >= before && ts <= after,
      "timestamp %" G_GUINT64_FORMAT " not in [%" G_GUINT64_FORMAT ", %"
      G_GUINT64_FORMAT "]", ts, before, after);
  /* length 5, big-endian */
  fail_unless (d[12] == 0 && d[13] == 0 && d[14] == 0 && d[15] == 5);
  fail_unless (memcmp (d + 16, payload, 5) == 0);
  fail_unless_equals_int (d[21], ';');
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  assert_no_more_output ();

  /* sticky events on src: stream-start, caps, segment (TIME) */
  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_STREAM_START);
  gst_event_unref (ev);
  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_CAPS);
  gst_event_parse_caps (ev, &caps);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "application/x-wrtcframe"));
  gst_event_unref (ev);
  ev = gst_harness_pull_event (h);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_SEGMENT);
  {
    const GstSegment *seg;

    gst_event_parse_segment (ev, &seg);
    fail_unless_equals_int (seg->format, GST_FORMAT_TIME);
  }
  gst_event_unref (ev);
  fail_unless (gst_harness_try_pull_event (h) == NULL);

  input_free (in, TRUE);
  stop_mux ();
}

GST_END_TEST;

GST_START_TEST (test_zero_size_buffer)
{
  Input *in = input_new ("sink_7");
  Output *o;

  fail_unless_equals_int (input_push (in, 0), GST_FLOW_OK);
  o = pull_output (17);
  fail_unless_equals_int (o->frames->len, 1);
  fail_unless_equals_int (g_array_index (o->frames, Frame, 0).conn, 7);
  fail_unless_equals_int (g_array_index (o->frames, Frame, 0).len, 0);
  output_free (o);
  input_free (in, TRUE);
  stop_mux ();
}

GST_END_TEST;

static GstMessage *
pop_warning (GstBus * bus)
{
  return gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
}

GST_START_TEST (test_pad_requests)
{
  GstBus *bus = gst_bus_new ();
  GstPad *p0, *p1, *p3, *p2, *p4, *again, *dup;
  GstMessage *msg;
  GError *err = NULL;
  guint conn;

  gst_element_set_bus (mux, bus);

  /* connection 0 is refused, with a warning the user can read */
  p0 = gst_element_request_pad_simple (mux, "sink_0");
  fail_unless (p0 == NULL);
  msg = pop_warning (bus);
  fail_unless (msg != NULL);
  gst_message_parse_warning (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_CORE_ERROR, GST_CORE_ERROR_PAD));
  fail_unless (strstr (err->message, "reserved") != NULL, "%s", err->message);
  g_clear_error (&err);
  gst_message_unref (msg);

  /* automatic numbering starts at 1 */
  p1 = gst_element_request_pad_simple (mux, "sink_%u");
  fail_unless (p1 != NULL);
  fail_unless_equals_string (GST_PAD_NAME (p1), "sink_1");
  g_object_get (p1, "connection", &conn, NULL);
  fail_unless_equals_int (conn, 1);

  p3 = gst_element_request_pad_simple (mux, "sink_3");
  fail_unless_equals_string (GST_PAD_NAME (p3), "sink_3");

  /* duplicates are refused */
  /* core complains about the existing name before asking the element */
  ASSERT_CRITICAL (dup = gst_element_request_pad_simple (mux, "sink_3"));
  fail_unless (dup == NULL);
  msg = pop_warning (bus);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  /* lowest free number */
  p2 = gst_element_request_pad_simple (mux, "sink_%u");
  fail_unless_equals_string (GST_PAD_NAME (p2), "sink_2");
  p4 = gst_element_request_pad (mux,
      gst_element_get_pad_template (mux, "sink_%u"), NULL, NULL);
  fail_unless_equals_string (GST_PAD_NAME (p4), "sink_4");

  /* a released number is free again */
  gst_element_release_request_pad (mux, p2);
  gst_object_unref (p2);
  again = gst_element_request_pad_simple (mux, "sink_%u");
  fail_unless_equals_string (GST_PAD_NAME (again), "sink_2");

  /* the largest number works, garbage does not */
  p2 = gst_element_request_pad_simple (mux, "sink_4294967295");
  fail_unless (p2 != NULL);
  g_object_get (p2, "connection", &conn, NULL);
  fail_unless_equals_int64 (conn, G_MAXUINT32);
  fail_unless (gst_element_request_pad_simple (mux, "sink_4294967296") == NULL);
  fail_unless (gst_element_request_pad_simple (mux, "sink_x") == NULL);
  while ((msg = pop_warning (bus)))
    gst_message_unref (msg);

  gst_element_release_request_pad (mux, p1);
  gst_element_release_request_pad (mux, p2);
  gst_element_release_request_pad (mux, p3);
  gst_element_release_request_pad (mux, p4);
  gst_element_release_request_pad (mux, again);
  gst_object_unref (p1);
  gst_object_unref (p2);
  gst_object_unref (p3);
  gst_object_unref (p4);
  gst_object_unref (again);
  gst_element_set_bus (mux, NULL);
  gst_object_unref (bus);
  stop_mux ();
}

GST_END_TEST;

/* 1..64 connections, each pushing from its own thread: decoded output is
 * byte-exact per connection, one frame per buffer, in order. */
GST_START_TEST (test_many_connections_threads)
{
  const guint n_conn = 1 + __i__ * 21;  /* 1, 22, 43, 64 */
  const guint n_buf = 150;
  const guint32 seed = 0x5eed0000 + __i__;
  Input **in = g_new0 (Input *, n_conn);
  Job **jobs = g_new0 (Job *, n_conn);
  guint64 total = 0;
  Output *o;
  guint i;

  GST_INFO ("connections %u, random seed 0x%08x", n_conn, seed);
  g_object_set (mux, "max-message-size", 4096, "max-queue-bytes", 8192, NULL);
  for (i = 0; i < n_conn; i++)
    in[i] = input_new ("sink_%u");
  for (i = 0; i < n_conn; i++)
    jobs[i] = job_start (in[i], n_buf, 0, 3000, seed + i);
  for (i = 0; i < n_conn; i++) {
    job_join (jobs[i]);
    fail_unless_equals_int (jobs[i]->last, GST_FLOW_OK);
    fail_unless_equals_int (jobs[i]->sizes->len, n_buf);
    total += job_bytes (jobs[i]) + (guint64) n_buf * WRTC_FRAME_OVERHEAD;
  }
  o = pull_output (total);
  for (i = 0; i < o->msg_sizes->len; i++)
    fail_unless (g_array_index (o->msg_sizes, gsize, i) <= 4096);
  for (i = 0; i < n_conn; i++)
    check_conn (o, in[i]->conn, job_bytes (jobs[i]), jobs[i]->sizes);
  fail_unless_equals_uint64 (stat ("frames"), (guint64) n_conn * n_buf);
  fail_unless_equals_uint64 (stat ("bytes-out"), total);
  fail_unless_equals_uint64 (stat ("messages"), o->msg_sizes->len);
  output_free (o);
  assert_no_more_output ();

  for (i = 0; i < n_conn; i++) {
    job_free (jobs[i]);
    input_free (in[i], TRUE);
  }
  g_free (jobs);
  g_free (in);
  stop_mux ();
}

GST_END_TEST;

/* Downstream blocked: waiting frames are packed into as few buffers as
 * max-message-size allows. */
GST_START_TEST (test_coalescing)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Input *c = input_new ("sink_3");
  Job *blocker;
  Output *o;
  guint i, multi = 0;

  g_object_set (mux, "max-message-size", 1000, NULL);
  block_downstream ();
  blocker = job_start (a, 1, 10, 0, 0);
  wait_blocked ();
  for (i = 0; i < 50; i++) {
    fail_unless_equals_int (input_push (b, 20), GST_FLOW_OK);
    fail_unless_equals_int (input_push (c, 20), GST_FLOW_OK);
  }
  fail_unless_equals_uint64 (conn_stat (2, "queued-bytes"), 1000);
  unblock_downstream ();
  job_join (blocker);

  /* 27 bytes blocker, then 100 frames of 37 bytes = 3700 bytes: exactly 4
   * messages when every buffer is filled up to 1000 bytes */
  o = pull_output (27 + 3700);
  fail_unless_equals_int (o->msg_sizes->len, 5);
  fail_unless_equals_int (g_array_index (o->msg_sizes, gsize, 0), 27);
  for (i = 1; i < o->msg_sizes->len; i++) {
    gsize s = g_array_index (o->msg_sizes, gsize, i);

    fail_unless (s <= 1000, "message of %" G_GSIZE_FORMAT " bytes", s);
    if (g_array_index (o->msg_frames, guint, i) > 1)
      multi++;
  }
  fail_unless_equals_int (multi, 4);
  check_conn (o, 1, 10, NULL);
  check_conn (o, 2, 1000, NULL);
  check_conn (o, 3, 1000, NULL);
  fail_unless_equals_uint64 (stat ("messages"), 5);
  fail_unless_equals_uint64 (stat ("frames"), 101);
  output_free (o);
  assert_no_more_output ();

  job_free (blocker);
  input_free (a, TRUE);
  input_free (b, TRUE);
  input_free (c, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* A buffer of 3x max-message-size leaves as consecutive buffers that each
 * fit and reassemble exactly; on the fast path and from the queue. */
GST_START_TEST (test_splitting)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Input *c = input_new ("sink_3");
  Job *blocker;
  Output *o;
  guint i;

  g_object_set (mux, "max-message-size", 1000, NULL);

  /* fast path */
  fail_unless_equals_int (input_push (a, 3000), GST_FLOW_OK);
  o = pull_output (3017);
  fail_unless_equals_int (o->msg_sizes->len, 4);
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (g_array_index (o->msg_sizes, gsize, i), 1000);
  fail_unless_equals_int (g_array_index (o->msg_sizes, gsize, 3), 17);
  fail_unless_equals_int (o->frames->len, 1);
  check_conn (o, 1, 3000, NULL);
  output_free (o);
  fail_unless_equals_uint64 (stat ("frames-split"), 1);

  /* from the queue: the split remainder comes blocker, before any other
   * connection's frame */
  block_downstream ();
  blocker = job_start (c, 1, 5, 0, 0);
  wait_blocked ();
  fail_unless_equals_int (input_push (a, 3000), GST_FLOW_OK);
  fail_unless_equals_int (input_push (b, 100), GST_FLOW_OK);
  fail_unless_equals_int (input_push (a, 50), GST_FLOW_OK);
  unblock_downstream ();
  job_join (blocker);
  o = pull_output (22 + 3017 + 117 + 67);
  for (i = 0; i < o->msg_sizes->len; i++)
    fail_unless (g_array_index (o->msg_sizes, gsize, i) <= 1000);
  fail_unless_equals_int (o->frames->len, 4);
  check_conn_from (o, 1, 3000, 3050, NULL);
  check_conn (o, 2, 100, NULL);
  check_conn (o, 3, 5, NULL);
  /* the split frame's pieces are consecutive: frames in order c, a, b, a */
  fail_unless_equals_int (g_array_index (o->frames, Frame, 0).conn, 3);
  fail_unless_equals_int (g_array_index (o->frames, Frame, 1).conn, 1);
  fail_unless_equals_int (g_array_index (o->frames, Frame, 2).conn, 2);
  fail_unless_equals_int (g_array_index (o->frames, Frame, 3).conn, 1);
  fail_unless_equals_uint64 (stat ("frames-split"), 2);
  output_free (o);
  assert_no_more_output ();

  job_free (blocker);
  input_free (a, TRUE);
  input_free (b, TRUE);
  input_free (c, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* With a fast downstream a lone frame is out by the time the push
 * returns: no timer, no other input needed. */
GST_START_TEST (test_lone_frame_immediate)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  guint i;

  for (i = 0; i < 100; i++) {
    Input *in = (i % 2) ? b : a;
    GstBuffer *buf;

    fail_unless_equals_int (input_push (in, 64), GST_FLOW_OK);
    buf = gst_harness_try_pull (h);
    fail_unless (buf != NULL, "frame %u not out after its push returned", i);
    fail_unless_equals_int (gst_buffer_get_size (buf), 64 + 17);
    gst_buffer_unref (buf);
  }
  fail_unless_equals_uint64 (stat ("messages"), 100);
  input_free (a, TRUE);
  input_free (b, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* An idle pad (linked, never any data) does not hold back another one. */
GST_START_TEST (test_idle_pad)
{
  Input *idle = input_new ("sink_1");
  GstPad *silent = gst_element_request_pad_simple (mux, "sink_5");
  Input *busy = input_new ("sink_2");
  Job *job;
  guint64 total = 0;
  Output *o;
  guint i;

  job = job_start (busy, 1000, 0, 700, 42);
  job_join (job);
  fail_unless_equals_int (job->sizes->len, 1000);
  for (i = 0; i < 1000; i++)
    total += g_array_index (job->sizes, gsize, i) + 17;
  o = pull_output (total);
  check_conn (o, 2, job_bytes (job), job->sizes);
  fail_unless_equals_int (count_conn_frames (o, 1), 0);
  output_free (o);
  job_free (job);

  gst_element_release_request_pad (mux, silent);
  gst_object_unref (silent);
  input_free (idle, TRUE);
  input_free (busy, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* Downstream blocked with two full queues: after release the output
 * alternates between the connections (round-robin), neither waits for the
 * other to finish. */
GST_START_TEST (test_fairness)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Input *c = input_new ("sink_3");
  Job *blocker;
  Output *o;
  guint i;

  g_object_set (mux, "max-message-size", 200, NULL);
  block_downstream ();
  blocker = job_start (c, 1, 50, 0, 0);
  wait_blocked ();
  for (i = 0; i < 30; i++)
    fail_unless_equals_int (input_push (a, 50), GST_FLOW_OK);
  for (i = 0; i < 30; i++)
    fail_unless_equals_int (input_push (b, 50), GST_FLOW_OK);
  unblock_downstream ();
  job_join (blocker);

  o = pull_output (61 * 67);
  fail_unless_equals_int (o->frames->len, 61);
  fail_unless_equals_int (g_array_index (o->frames, Frame, 0).conn, 3);
  for (i = 1; i < 61; i++) {
    guint want = (i % 2) ? 1 : 2;

    fail_unless_equals_int (g_array_index (o->frames, Frame, i).conn, want);
  }
  for (i = 0; i < o->msg_sizes->len; i++)
    fail_unless (g_array_index (o->msg_sizes, gsize, i) <= 200);
  check_conn (o, 1, 30 * 50, NULL);
  check_conn (o, 3, 50, NULL);
  check_conn (o, 2, 30 * 50, NULL);
  output_free (o);

  job_free (blocker);
  input_free (a, TRUE);
  input_free (b, TRUE);
  input_free (c, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* Common start of the backpressure tests: downstream blocked by a frame
 * of connection 1, connection 2's pusher blocked on a full queue (two
 * 400-byte buffers queued, the third waits). */
static Job *
start_blocked_pusher (Input * a, Input * b, Job ** blocker)
{
  Job *job;

  g_object_set (mux, "max-queue-bytes", 1000, NULL);
  block_downstream ();
  *blocker = job_start (a, 1, 10, 0, 0);
  wait_blocked ();
  job = job_start (b, 10, 400, 0, 0);
  wait_stat ("blocked", 1);
  /* the third push has not returned and does not return on its own */
  fail_unless_equals_int (job_returned (job), 2);
  fail_unless_equals_uint64 (conn_stat (b->conn, "queued-bytes"), 800);
  return job;
}

GST_START_TEST (test_backpressure)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Job *blocker, *job;
  Output *o;

  job = start_blocked_pusher (a, b, &blocker);
  unblock_downstream ();
  job_join (job);
  job_join (blocker);
  fail_unless_equals_int (job->last, GST_FLOW_OK);
  fail_unless_equals_int (job->sizes->len, 10);
  o = pull_output (27 + 10 * 417);
  check_conn (o, 1, 10, NULL);
  check_conn (o, 2, 4000, job->sizes);
  output_free (o);
  fail_unless (stat ("blocked") >= 1);

  job_free (blocker);
  job_free (job);

  /* a single buffer larger than the bound is queued when the queue is
   * empty */
  block_downstream ();
  blocker = job_start (a, 1, 10, 0, 0);
  wait_blocked ();
  job = job_start (b, 1, 5000, 0, 0);
  job_wait_returned (job, 1);
  fail_unless_equals_int (job->last, GST_FLOW_OK);
  fail_unless_equals_uint64 (conn_stat (2, "queued-bytes"), 5000);
  unblock_downstream ();
  job_join (blocker);
  job_join (job);
  o = pull_output (27 + 5017);
  output_free (o);
  job_free (blocker);
  job_free (job);
  input_free (a, TRUE);
  input_free (b, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* Flushing one pad unblocks its chain and drops only its queued data. */
GST_START_TEST (test_flush_one_pad)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Input *c = input_new ("sink_3");
  Job *blocker, *job;
  GstSegment seg;
  Output *o;
  guint i;

  g_object_set (mux, "max-queue-bytes", 1000, NULL);
  block_downstream ();
  blocker = job_start (a, 1, 10, 0, 0);
  wait_blocked ();
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (input_push (c, 100), GST_FLOW_OK);
  job = job_start (b, 10, 400, 0, 0);
  wait_stat ("blocked", 1);
  fail_unless_equals_int (job_returned (job), 2);

  fail_unless (gst_pad_push_event (b->src, gst_event_new_flush_start ()));
  job_join (job);
  fail_unless_equals_int (job->last, GST_FLOW_FLUSHING);
  fail_unless (gst_pad_push_event (b->src, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  fail_unless (gst_pad_push_event (b->src, gst_event_new_segment (&seg)));
  fail_unless_equals_uint64 (conn_stat (2, "queued-bytes"), 0);
  fail_unless_equals_uint64 (conn_stat (3, "queued-bytes"), 300);

  unblock_downstream ();
  job_join (blocker);
  o = pull_output (27 + 3 * 117);
  check_conn (o, 1, 10, NULL);
  check_conn (o, 3, 300, NULL);
  fail_unless_equals_int (count_conn_frames (o, 2), 0);
  output_free (o);
  assert_no_more_output ();

  /* the flushed pad works again */
  fail_unless_equals_int (input_push (b, 33), GST_FLOW_OK);
  o = pull_output (50);
  check_conn_from (o, 2, 800, 33, NULL);
  output_free (o);

  job_free (blocker);
  job_free (job);
  input_free (a, TRUE);
  input_free (b, TRUE);
  input_free (c, TRUE);
  stop_mux ();
}

GST_END_TEST;

static GstEventType
next_event_type (void)
{
  GstEvent *ev = gst_harness_try_pull_event (h);
  GstEventType t;

  if (ev == NULL)
    return GST_EVENT_UNKNOWN;
  t = GST_EVENT_TYPE (ev);
  gst_event_unref (ev);
  return t;
}

/* EOS goes out once every pad is EOS and all data is out; a pad requested
 * later reopens the condition. */
GST_START_TEST (test_eos)
{
  Input *z = input_new ("sink_9");
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Input *c;
  Job *blocker;
  Output *o;
  GstEvent *ev;
  guint i;

  /* connection 9's push blocks downstream; a and b queue and end */
  block_downstream ();
  blocker = job_start (z, 1, 10, 0, 0);
  wait_blocked ();
  for (i = 0; i < 5; i++) {
    fail_unless_equals_int (input_push (a, 100), GST_FLOW_OK);
    fail_unless_equals_int (input_push (b, 100), GST_FLOW_OK);
  }
  fail_unless (gst_pad_push_event (a->src, gst_event_new_eos ()));
  /* pad 3 appears before the others end: it must end too */
  c = input_new ("sink_3");
  fail_unless (gst_pad_push_event (b->src, gst_event_new_eos ()));
  unblock_downstream ();
  job_join (blocker);
  fail_unless (gst_pad_push_event (z->src, gst_event_new_eos ()));

  o = pull_output (27 + 10 * 117);
  check_conn (o, 9, 10, NULL);
  check_conn (o, 1, 500, NULL);
  check_conn (o, 2, 500, NULL);
  output_free (o);

  fail_unless_equals_int (next_event_type (), GST_EVENT_STREAM_START);
  fail_unless_equals_int (next_event_type (), GST_EVENT_CAPS);
  fail_unless_equals_int (next_event_type (), GST_EVENT_SEGMENT);
  fail_unless_equals_int (next_event_type (), GST_EVENT_UNKNOWN);

  /* data after EOS on a pad is refused */
  fail_unless_equals_int (gst_pad_push (a->src, gst_buffer_new ()),
      GST_FLOW_EOS);

  fail_unless_equals_int (input_push (c, 7), GST_FLOW_OK);
  fail_unless (gst_pad_push_event (c->src, gst_event_new_eos ()));
  o = pull_output (24);
  check_conn (o, 3, 7, NULL);
  output_free (o);
  ev = gst_harness_pull_event (h);
  fail_unless (ev != NULL);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_EOS);
  gst_event_unref (ev);
  assert_no_more_output ();

  job_free (blocker);
  input_free (z, TRUE);
  input_free (a, TRUE);
  input_free (b, TRUE);
  input_free (c, TRUE);
  stop_mux ();
}

GST_END_TEST;

/* Releasing a pad whose chain is blocked: the chain returns, the data it
 * had queued is still sent. */
GST_START_TEST (test_release_while_blocked)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_2");
  Job *blocker, *job;
  Output *o;

  job = start_blocked_pusher (a, b, &blocker);
  gst_element_release_request_pad (mux, b->sink);
  job_join (job);
  fail_if (job->last == GST_FLOW_OK);
  fail_unless_equals_int (job->sizes->len, 2);

  unblock_downstream ();
  job_join (blocker);
  o = pull_output (27 + 2 * 417);
  check_conn (o, 1, 10, NULL);
  check_conn (o, 2, 800, job->sizes);
  output_free (o);
  assert_no_more_output ();

  job_free (blocker);
  job_free (job);
  input_free (a, TRUE);
  input_free (b, FALSE);
  stop_mux ();
}

GST_END_TEST;

/* Releasing pads while their threads stream: no crash, every buffer whose
 * push returned OK is in the output, byte-exact. */
GST_START_TEST (test_release_while_flowing)
{
  const guint n = 8;
  Input *in[8];
  Job *jobs[8];
  guint64 total = 0;
  Output *o;
  guint i;

  GST_INFO ("random seed 0x%08x", 0xfeed0000);
  g_object_set (mux, "max-message-size", 2000, "max-queue-bytes", 4000,
      NULL);
  for (i = 0; i < n; i++)
    in[i] = input_new ("sink_%u");
  for (i = 0; i < n; i++)
    jobs[i] = job_start (in[i], 100000, 0, 500, 0xfeed0000 + i);
  for (i = 0; i < n; i++) {
    /* let each pad stream a while, then pull the rug */
    job_wait_returned (jobs[i], 50 + i * 10);
    gst_element_release_request_pad (mux, in[i]->sink);
    job_join (jobs[i]);
    fail_if (jobs[i]->last == GST_FLOW_OK);
    total += job_bytes (jobs[i]) + jobs[i]->sizes->len * 17;
  }
  o = pull_output (total);
  for (i = 0; i < n; i++)
    check_conn (o, in[i]->conn, job_bytes (jobs[i]), jobs[i]->sizes);
  output_free (o);
  assert_no_more_output ();

  for (i = 0; i < n; i++) {
    job_free (jobs[i]);
    input_free (in[i], FALSE);
  }
  stop_mux ();
}

GST_END_TEST;

/* NULL <-> PLAYING with a chain blocked in downstream and another one
 * blocked on a full queue: no deadlock, the chains return FLUSHING. */
GST_START_TEST (test_state_cycles)
{
  guint cycle;
  Output *o;
  Input *a;

  for (cycle = 0; cycle < 10; cycle++) {
    Input *x = input_new ("sink_1");
    Input *y = input_new ("sink_2");
    Job *blocker, *job;

    job = start_blocked_pusher (x, y, &blocker);
    fail_unless_equals_int (gst_element_set_state (mux, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    job_join (job);
    job_join (blocker);
    fail_unless_equals_int (job->last, GST_FLOW_FLUSHING);
    fail_unless_equals_int (blocker->last, GST_FLOW_FLUSHING);
    unblock_downstream ();
    job_free (blocker);
    job_free (job);
    input_free (x, TRUE);
    input_free (y, TRUE);
    fail_unless_equals_int (gst_element_set_state (mux, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_uint64 (stat ("blocked"), 0);
    /* drop what reached the harness */
    while (gst_harness_buffers_in_queue (h))
      gst_buffer_unref (gst_harness_pull (h));
  }

  /* still works */
  a = input_new ("sink_1");
  fail_unless_equals_int (input_push (a, 10), GST_FLOW_OK);
  o = pull_output (27);
  check_conn (o, 1, 10, NULL);
  output_free (o);
  input_free (a, TRUE);
  stop_mux ();
}

GST_END_TEST;

GST_START_TEST (test_stats)
{
  Input *a = input_new ("sink_1");
  Input *b = input_new ("sink_9");
  GstStructure *s;
  const GstStructure *c;
  guint64 v;
  Output *o;

  g_object_set (mux, "max-message-size", 100, NULL);
  fail_unless_equals_int (input_push (a, 10), GST_FLOW_OK);
  fail_unless_equals_int (input_push (a, 20), GST_FLOW_OK);
  fail_unless_equals_int (input_push (b, 0), GST_FLOW_OK);
  fail_unless_equals_int (input_push (b, 200), GST_FLOW_OK);
  o = pull_output (27 + 37 + 17 + 217);
  output_free (o);

  g_object_get (mux, "stats", &s, NULL);
  fail_unless (gst_structure_has_name (s, "application/x-framemux-stats"));
  fail_unless (gst_structure_get_uint64 (s, "frames", &v));
  fail_unless_equals_uint64 (v, 4);
  fail_unless (gst_structure_get_uint64 (s, "bytes", &v));
  fail_unless_equals_uint64 (v, 230);
  fail_unless (gst_structure_get_uint64 (s, "messages", &v));
  fail_unless_equals_uint64 (v, 3 + 3);     /* 217 bytes = 100+100+17 */
  fail_unless (gst_structure_get_uint64 (s, "bytes-out", &v));
  fail_unless_equals_uint64 (v, 230 + 4 * 17);
  fail_unless (gst_structure_get_uint64 (s, "frames-split", &v));
  fail_unless_equals_uint64 (v, 1);
  fail_unless (gst_structure_get_uint64 (s, "blocked", &v));
  fail_unless_equals_uint64 (v, 0);
  fail_unless_equals_int (gst_value_array_get_size (gst_structure_get_value
          (s, "connections")), 2);
  c = conn_stats (s, 1);
  fail_unless (c != NULL);
  fail_unless (gst_structure_get_uint64 (c, "frames", &v));
  fail_unless_equals_uint64 (v, 2);
  fail_unless (gst_structure_get_uint64 (c, "bytes", &v));
  fail_unless_equals_uint64 (v, 30);
  fail_unless (gst_structure_get_uint64 (c, "queued-bytes", &v));
  fail_unless_equals_uint64 (v, 0);
  c = conn_stats (s, 9);
  fail_unless (c != NULL);
  fail_unless (gst_structure_get_uint64 (c, "frames", &v));
  fail_unless_equals_uint64 (v, 2);
  fail_unless (gst_structure_get_uint64 (c, "bytes", &v));
  fail_unless_equals_uint64 (v, 200);
  gst_structure_free (s);

  input_free (a, TRUE);
  input_free (b, TRUE);
  stop_mux ();
}

GST_END_TEST;

GST_START_TEST (test_src_events_queries)
{
  GstPad *src = gst_element_get_static_pad (mux, "src");
  Input *a = input_new ("sink_1");
  GstCaps *caps;

  fail_if (gst_pad_send_event (src, gst_event_new_seek (1.0, GST_FORMAT_TIME,
              GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET, 0, GST_SEEK_TYPE_NONE,
              -1)));
  caps = gst_pad_query_caps (a->sink, NULL);
  fail_unless (gst_caps_is_any (caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("video/x-raw");
  fail_unless (gst_pad_query_accept_caps (a->sink, caps));
  gst_caps_unref (caps);
  caps = gst_pad_query_caps (src, NULL);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "application/x-wrtcframe"));
  gst_caps_unref (caps);
  gst_object_unref (src);
  input_free (a, TRUE);
  stop_mux ();
}

GST_END_TEST;

static Suite *
framemux_suite (void)
{
  Suite *s = suite_create ("framemux");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_single_frame);
  tcase_add_test (tc, test_zero_size_buffer);
  tcase_add_test (tc, test_pad_requests);
  tcase_add_loop_test (tc, test_many_connections_threads, 0, 4);
  tcase_add_test (tc, test_coalescing);
  tcase_add_test (tc, test_splitting);
  tcase_add_test (tc, test_lone_frame_immediate);
  tcase_add_test (tc, test_idle_pad);
  tcase_add_test (tc, test_fairness);
  tcase_add_test (tc, test_backpressure);
  tcase_add_test (tc, test_flush_one_pad);
  tcase_add_test (tc, test_eos);
  tcase_add_test (tc, test_release_while_blocked);
  tcase_add_test (tc, test_release_while_flowing);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_stats);
  tcase_add_test (tc, test_src_events_queries);
  return s;
}

GST_CHECK_MAIN (framemux);

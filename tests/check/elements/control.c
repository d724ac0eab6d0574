/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The control connection (connection 0) in framemux and framedemux, and
 * interoperability with the reference implementation through golden
 * vectors. The golden frames below were written by hand from
 * wire-format.md, field by field (conn_no, timestamp, length, payload,
 * terminator), and are never produced by this project's encoder. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#define WAIT_SECONDS 20

/* ---- golden vectors ---- */

/* One frame per string: conn_no (4) | timestamp (8) | length (4) | payload |
 * terminator. Timestamp 0x0000018bcfe56800 = 1700000000000 ms. */
#define G_PING_ABC \
  "00000000 0000018bcfe56800 00000005 0001 616263 3b"
#define G_PONG_ABC \
  "00000000 0000018bcfe56800 00000005 0002 616263 3b"
#define G_OPEN_7 \
  "00000000 0000018bcfe56800 00000006 0065 00000007 3b"
#define G_DATA_7_HELLO \
  "00000007 0000018bcfe56800 00000005 68656c6c6f 3b"
/* a payload full of ';' */
#define G_DATA_7_SEMIS \
  "00000007 0000018bcfe56800 00000006 3b3b3b3b3b3b 3b"
#define G_SEND_EOF_7 \
  "00000000 0000018bcfe56800 00000006 0068 00000007 3b"
#define G_DATA_7_LATE \
  "00000007 0000018bcfe56800 00000004 6c617465 3b"
/* CloseConnection, reason Normal as u16 */
#define G_CLOSE_7_U16_NORMAL \
  "00000000 0000018bcfe56800 00000008 0066 00000007 0000 3b"
#define G_DATA_7_X \
  "00000007 0000018bcfe56800 00000001 78 3b"
/* data on a connection nobody announced, ';' at both ends of the payload */
#define G_DATA_1_SEMI_HELLO \
  "00000001 0000018bcfe56800 00000007 3b68656c6c6f3b 3b"
#define G_OPEN_8 \
  "00000000 0000018bcfe56800 00000006 0065 00000008 3b"
#define G_CONNECTION_OPENED_8 \
  "00000000 0000018bcfe56800 00000006 0067 00000008 3b"
/* CloseConnection, reason ConnectionLost (9) as a single byte */
#define G_CLOSE_8_U8_LOST \
  "00000000 0000018bcfe56800 00000007 0066 00000008 09 3b"
#define G_METRICS_REQUEST \
  "00000000 0000018bcfe56800 00000003 012d 6d 3b"
#define G_METRICS_RESPONSE \
  "00000000 0000018bcfe56800 00000004 012e 7b7d 3b"
#define G_METRICS_CONFIG \
  "00000000 0000018bcfe56800 00000002 012f 3b"
/* an unknown code (999) must be skipped */
#define G_UNKNOWN_999 \
  "00000000 0000018bcfe56800 00000003 03e7 78 3b"
/* the number 7 reused after its close */
#define G_DATA_7_AGAIN \
  "00000007 0000018bcfe56800 00000005 616761696e 3b"
/* a control message whose data is all ';' */
#define G_PING_SEMIS \
  "00000000 0000018bcfe56800 00000006 0001 3b3b3b3b 3b"

static const gchar *demux_golden[] = {
  G_PING_ABC, G_OPEN_7, G_DATA_7_HELLO, G_DATA_7_SEMIS, G_SEND_EOF_7,
  G_DATA_7_LATE, G_CLOSE_7_U16_NORMAL, G_DATA_7_X, G_DATA_1_SEMI_HELLO,
  G_OPEN_8, G_CONNECTION_OPENED_8, G_CLOSE_8_U8_LOST, G_PONG_ABC,
  G_METRICS_REQUEST, G_METRICS_RESPONSE, G_METRICS_CONFIG, G_UNKNOWN_999,
  G_OPEN_7, G_DATA_7_AGAIN, G_PING_SEMIS,
};

/* What framedemux must make of demux_golden, in this order. */
static const gchar *demux_expected[] = {
  "ctrl 1 616263",
  "opened 7 -",
  "ctrl 101 00000007",
  "caps 7 application/octet-stream",
  "data 7 68656c6c6f",
  "data 7 3b3b3b3b3b3b",
  "eos 7",
  "ctrl 104 00000007",
  /* late data dropped: nothing */
  "removed 7",
  "closed 7 0",
  "ctrl 102 000000070000",
  /* data after the close dropped: nothing */
  "opened 1 -",
  "caps 1 application/octet-stream",
  "data 1 3b68656c6c6f3b",
  "opened 8 -",
  "ctrl 101 00000008",
  "ctrl 103 00000008",
  /* sticky events reach a linked peer with the next data or EOS */
  "caps 8 application/octet-stream",
  /* closed without SendEOF: why, before the EOS */
  "closing 8 9",
  "eos 8",
  "removed 8",
  "closed 8 9",
  "ctrl 102 0000000809",
  "ctrl 2 616263",
  "ctrl 301 6d",
  "ctrl 302 7b7d",
  "ctrl 303 ",
  "ctrl 999 78",
  "opened 7 -",
  "ctrl 101 00000007",
  "caps 7 application/octet-stream",
  "data 7 616761696e",
  "ctrl 1 3b3b3b3b",
};

/* Big-endian integer of @n bytes at any alignment. */
static guint64
read_be (guint n, const guint8 * p)
{
  guint64 v = 0;

  while (n--)
    v = v << 8 | *p++;
  return v;
}

static GByteArray *
hex_to_bytes (const gchar * hex)
{
  GByteArray *out = g_byte_array_new ();
  const gchar *p;
  gint hi = -1;

  for (p = hex; *p; p++) {
    gint v = g_ascii_xdigit_value (*p);

    if (*p == ' ')
      continue;
    fail_unless (v >= 0, "bad hex character '%c' in %s", *p, hex);
    if (hi < 0) {
      hi = v;
    } else {
      guint8 b = (guint8) (hi << 4 | v);

      g_byte_array_append (out, &b, 1);
      hi = -1;
    }
  }
  fail_unless (hi < 0, "odd number of hex digits in %s", hex);
  return out;
}

static gchar *
bytes_to_hex (const guint8 * data, gsize len)
{
  GString *s = g_string_sized_new (len * 2 + 1);
  gsize i;

  for (i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static GByteArray *
golden_stream (const gchar ** frames, guint n)
{
  GByteArray *s = g_byte_array_new ();
  guint i;

  for (i = 0; i < n; i++) {
    GByteArray *f = hex_to_bytes (frames[i]);

    g_byte_array_append (s, f->data, f->len);
    g_byte_array_unref (f);
  }
  return s;
}

/* ---- event log of a framedemux ---- */

static GMutex log_lock;
static GCond log_cond;
static GPtrArray *event_log;    /* gchar *, in order */
static GPtrArray *recv_pads;    /* test pads linked to demux source pads */

static void
log_event (const gchar * format, ...) G_GNUC_PRINTF (1, 2);

static void
log_event (const gchar * format, ...)
{
  va_list args;
  gchar *s;

  va_start (args, format);
  s = g_strdup_vprintf (format, args);
  va_end (args);
  g_mutex_lock (&log_lock);
  g_ptr_array_add (event_log, s);
  g_cond_broadcast (&log_cond);
  g_mutex_unlock (&log_lock);
}

static guint
pad_conn (GstPad * pad)
{
  return GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (pad), "conn"));
}

static GstFlowReturn
log_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstMapInfo map;
  gchar *hex;

  gst_buffer_map (buf, &map, GST_MAP_READ);
  hex = bytes_to_hex (map.data, map.size);
  gst_buffer_unmap (buf, &map);
  log_event ("data %u %s", pad_conn (pad), hex);
  g_free (hex);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static gboolean
log_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      log_event ("eos %u", pad_conn (pad));
      break;
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gchar *str;

      gst_event_parse_caps (event, &caps);
      str = gst_caps_to_string (caps);
      log_event ("caps %u %s", pad_conn (pad), str);
      g_free (str);
      break;
    }
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      if (gst_event_has_name (event, "framedemux-connection-closed")) {
        guint conn = 0, reason = 0;

        gst_structure_get (gst_event_get_structure (event), "conn",
            G_TYPE_UINT, &conn, "reason", G_TYPE_UINT, &reason, NULL);
        fail_unless_equals_int (conn, pad_conn (pad));
        log_event ("closing %u %u", conn, reason);
      }
      break;
    default:
      break;
  }
  gst_event_unref (event);
  return TRUE;
}

/* A test sink without template: accepts whatever caps come */
static gboolean
any_caps_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_ACCEPT_CAPS:
      gst_query_set_accept_caps_result (query, TRUE);
      return TRUE;
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static void
log_pad_added (GstElement * demux, GstPad * pad, gpointer unused)
{
  GstPad *sink = gst_pad_new ("recv", GST_PAD_SINK);
  guint conn;

  fail_unless (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) == 1);
  g_object_set_data (G_OBJECT (sink), "conn", GUINT_TO_POINTER (conn));
  gst_pad_set_chain_function (sink, log_chain);
  gst_pad_set_event_function (sink, log_sink_event);
  gst_pad_set_query_function (sink, any_caps_query);
  gst_pad_set_active (sink, TRUE);
  fail_unless_equals_int (gst_pad_link (pad, sink), GST_PAD_LINK_OK);
  g_mutex_lock (&log_lock);
  g_ptr_array_add (recv_pads, sink);
  g_mutex_unlock (&log_lock);
}

static void
log_pad_removed (GstElement * demux, GstPad * pad, gpointer unused)
{
  guint conn;

  if (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) == 1)
    log_event ("removed %u", conn);
}

static void
log_opened (GstElement * demux, guint conn, GstCaps * caps, gpointer unused)
{
  gchar *str = caps ? gst_caps_to_string (caps) : g_strdup ("-");

  log_event ("opened %u %s", conn, str);
  g_free (str);
}

static void
log_closed (GstElement * demux, guint conn, guint reason, gpointer unused)
{
  log_event ("closed %u %u", conn, reason);
}

static void
log_control (GstElement * demux, guint code, GBytes * data, gpointer unused)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (data, &len);
  gchar *hex = bytes_to_hex (d, len);

  log_event ("ctrl %u %s", code, hex);
  g_free (hex);
}

static void
log_reset (void)
{
  if (event_log)
    g_ptr_array_unref (event_log);
  event_log = g_ptr_array_new_with_free_func (g_free);
  if (recv_pads)
    g_ptr_array_unref (recv_pads);
  recv_pads = g_ptr_array_new_with_free_func (gst_object_unref);
}

/* Which ordered sequence a log entry belongs to. Each source pad pushes
 * from its own thread, so only these orders are defined: everything of
 * one connection (its pad's caps, data and EOS, then its removal and the
 * connection-closed signal), and the element's own signals
 * (connection-opened, control-message) in stream order. */
static gchar *
log_sequence (const gchar * entry)
{
  guint conn;
  gchar kind[16];

  if (sscanf (entry, "%15s %u", kind, &conn) == 2 &&
      (strcmp (kind, "caps") == 0 || strcmp (kind, "data") == 0 ||
          strcmp (kind, "eos") == 0 || strcmp (kind, "removed") == 0 ||
          strcmp (kind, "closing") == 0 ||
          strcmp (kind, "closed") == 0))
    return g_strdup_printf ("connection %u", conn);
  return g_strdup ("element");
}

static void
log_check (const gchar ** expected, guint n)
{
  GHashTable *seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) g_ptr_array_unref);
  GHashTableIter iter;
  gpointer key, value;
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  guint i;

  /* pads push, and closed pads go, from other threads: wait (bounded) */
  g_mutex_lock (&log_lock);
  while (event_log->len < n && g_cond_wait_until (&log_cond, &log_lock,
          deadline));
  g_mutex_unlock (&log_lock);

  for (i = 0; i < n; i++) {
    gchar *seq = log_sequence (expected[i]);
    GPtrArray *a = g_hash_table_lookup (seqs, seq);

    if (a == NULL) {
      a = g_ptr_array_new ();
      g_hash_table_insert (seqs, g_strdup (seq), a);
    }
    g_ptr_array_add (a, (gpointer) expected[i]);
    g_free (seq);
  }
  /* every entry logged must come next in its sequence */
  for (i = 0; i < event_log->len; i++) {
    const gchar *got = g_ptr_array_index (event_log, i);
    gchar *seq = log_sequence (got);
    GPtrArray *a = g_hash_table_lookup (seqs, seq);
    const gchar *want = a && a->len ? g_ptr_array_index (a, 0) : "(nothing)";

    fail_unless (strcmp (got, want) == 0, "%s, entry %u of the log: got "
        "'%s', expected '%s'", seq, i, got, want);
    g_ptr_array_remove_index (a, 0);
    g_free (seq);
  }
  g_hash_table_iter_init (&iter, seqs);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    GPtrArray *a = value;

    fail_unless (a->len == 0, "%s: '%s' never came", (gchar *) key,
        a->len ? (gchar *) g_ptr_array_index (a, 0) : "");
  }
  g_hash_table_destroy (seqs);
}

static GstHarness *
demux_harness (GstBus ** bus)
{
  GstHarness *h = gst_harness_new_with_padnames ("framedemux", "sink", NULL);
  GstCaps *caps = gst_caps_new_empty_simple ("application/x-wrtcframe");

  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  g_signal_connect (h->element, "pad-added", G_CALLBACK (log_pad_added),
      NULL);
  g_signal_connect (h->element, "pad-removed", G_CALLBACK (log_pad_removed),
      NULL);
  g_signal_connect (h->element, "connection-opened", G_CALLBACK (log_opened),
      NULL);
  g_signal_connect (h->element, "connection-closed", G_CALLBACK (log_closed),
      NULL);
  g_signal_connect (h->element, "control-message", G_CALLBACK (log_control),
      NULL);
  gst_harness_set_src_caps (h, caps);
  return h;
}

static void
demux_harness_free (GstHarness * h, GstBus * bus)
{
  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
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

/* ---- framedemux on golden vectors ---- */

/* The connection number in "framedemux-connection-<what> <conn> ..." */
static guint
msg_conn (const gchar * msg)
{
  guint conn = 0;

  sscanf (strchr (msg, ' ') + 1, "%u", &conn);
  return conn;
}

static const gchar *
nth_msg_of (const gchar ** msgs, guint n_msgs, guint conn, guint nth)
{
  guint i;

  for (i = 0; i < n_msgs; i++)
    if (msg_conn (msgs[i]) == conn && nth-- == 0)
      return msgs[i];
  return "(none)";
}

/* How the golden stream is cut: 0 = one buffer, 1 = in two at every byte
 * position, 2 = one byte per buffer. */
static void
run_demux_golden (guint cut, gsize split_at)
{
  GByteArray *s = golden_stream (demux_golden, G_N_ELEMENTS (demux_golden));
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  GPtrArray *msgs = g_ptr_array_new_with_free_func (g_free);
  static const gchar *expected_msgs[] = {
    "framedemux-connection-opened 7", "framedemux-connection-closed 7 0",
    "framedemux-connection-opened 1", "framedemux-connection-opened 8",
    "framedemux-connection-closed 8 9", "framedemux-connection-opened 7",
  };
  gsize pos;
  guint i;

  log_reset ();
  h = demux_harness (&bus);
  if (cut == 0) {
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_memdup (s->data, s->len)), GST_FLOW_OK);
  } else if (cut == 1) {
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_memdup (s->data, split_at)), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_memdup (s->data + split_at, s->len - split_at)),
        GST_FLOW_OK);
  } else {
    for (pos = 0; pos < s->len; pos++)
      fail_unless_equals_int (gst_harness_push (h,
              gst_buffer_new_memdup (s->data + pos, 1)), GST_FLOW_OK);
  }

  log_check (demux_expected, G_N_ELEMENTS (demux_expected));
  /* Pings, the opens, closes, EOF, ConnectionOpened, metrics, unknown */
  fail_unless_equals_uint64 (stat_u64 (h->element, "control-frames"), 14);
  fail_unless_equals_uint64 (stat_u64 (h->element, "frames-after-close"), 2);
  fail_unless_equals_uint64 (stat_u64 (h->element, "frames-dropped"), 0);
  fail_unless_equals_uint64 (stat_u64 (h->element, "bytes-skipped"), 0);
  /* src_1 and the second src_7 remain */
  fail_unless_equals_int (h->element->numsrcpads, 2);

  while ((msg = gst_bus_pop (bus))) {
    const GstStructure *st = gst_message_get_structure (msg);
    guint conn = 0, reason = 0;

    fail_if (GST_MESSAGE_TYPE (msg) & (GST_MESSAGE_WARNING |
            GST_MESSAGE_ERROR), "unexpected %s message",
        GST_MESSAGE_TYPE_NAME (msg));
    if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT) {
      gst_message_unref (msg);
      continue;
    }

    fail_unless (gst_structure_get_uint (st, "conn", &conn));
    if (gst_structure_get_uint (st, "reason", &reason))
      g_ptr_array_add (msgs, g_strdup_printf ("%s %u %u",
              gst_structure_get_name (st), conn, reason));
    else
      g_ptr_array_add (msgs, g_strdup_printf ("%s %u",
              gst_structure_get_name (st), conn));
    gst_message_unref (msg);
  }
  /* closed connections are removed from another thread: only the order
   * of each connection's messages is defined */
  fail_unless_equals_int (msgs->len, G_N_ELEMENTS (expected_msgs));
  for (i = 0; i < msgs->len; i++) {
    const gchar *got = g_ptr_array_index (msgs, i);
    guint k, j, conn = msg_conn (got);

    /* the n-th message about a connection is the n-th expected one */
    for (k = 0, j = 0; j < i; j++)
      if (msg_conn (g_ptr_array_index (msgs, j)) == conn)
        k++;
    fail_unless_equals_string (got, nth_msg_of (expected_msgs,
            G_N_ELEMENTS (expected_msgs), conn, k));
  }

  g_ptr_array_unref (msgs);
  demux_harness_free (h, bus);
  g_byte_array_unref (s);
}

GST_START_TEST (test_demux_golden_one_buffer)
{
  run_demux_golden (0, 0);
}

GST_END_TEST;

GST_START_TEST (test_demux_golden_split_everywhere)
{
  GByteArray *s = golden_stream (demux_golden, G_N_ELEMENTS (demux_golden));
  gsize at;

  for (at = 1; at < s->len; at++)
    run_demux_golden (1, at);
  g_byte_array_unref (s);
}

GST_END_TEST;

GST_START_TEST (test_demux_golden_byte_by_byte)
{
  run_demux_golden (2, 0);
}

GST_END_TEST;

/* OpenConnection with the reference's own connection-specific data (not
 * our caps encoding) opens the pad with the caps property; caps in our
 * encoding but broken are refused with a warning. */
GST_START_TEST (test_demux_open_data)
{
  static const gchar *frames[] = {
    /* OpenConnection 5 + opaque "host:22" */
    "00000000 0000018bcfe56800 0000000d 0065 00000005 686f73743a3232 3b",
    /* OpenConnection 6 + "GSTCAPS1" + length 100 (longer than the data) */
    "00000000 0000018bcfe56800 00000012 0065 00000006"
        " 4753544341505331 00000064 3b",
    /* OpenConnection 9 + "GSTCAPS1" + length 12 + "video/x-h264" */
    "00000000 0000018bcfe56800 0000001e 0065 00000009"
        " 4753544341505331 0000000c 766964656f2f782d68323634 3b",
  };
  static const gchar *expected[] = {
    "opened 5 -",
    "caps 5 application/octet-stream",
    "ctrl 101 00000005686f73743a3232",
    "opened 6 -",
    "caps 6 application/octet-stream",
    "caps 9 video/x-h264",
    "ctrl 101 00000006475354434150533100000064",
    "opened 9 video/x-h264",
    "ctrl 101 000000094753544341505331" "0000000c766964656f2f782d68323634",
  };
  static const gchar *pad_caps[][2] = {
    {"src_5", "application/octet-stream"},
    {"src_6", "application/octet-stream"},
    {"src_9", "video/x-h264"},
  };
  GByteArray *s = golden_stream (frames, G_N_ELEMENTS (frames));
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  guint i;

  log_reset ();
  h = demux_harness (&bus);
  fail_unless_equals_int (gst_harness_push (h,
          gst_buffer_new_memdup (s->data, s->len)), GST_FLOW_OK);
  log_check (expected, G_N_ELEMENTS (expected));
  for (i = 0; i < G_N_ELEMENTS (pad_caps); i++) {
    GstPad *pad = gst_element_get_static_pad (h->element, pad_caps[i][0]);
    GstCaps *caps;
    gchar *str;

    fail_unless (pad != NULL, "no pad %s", pad_caps[i][0]);
    caps = gst_pad_get_current_caps (pad);
    fail_unless (caps != NULL);
    str = gst_caps_to_string (caps);
    fail_unless_equals_string (str, pad_caps[i][1]);
    g_free (str);
    gst_caps_unref (caps);
    gst_object_unref (pad);
  }
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "bad caps encoding: no warning");
  gst_message_unref (msg);
  fail_if (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING |
          GST_MESSAGE_ERROR));
  demux_harness_free (h, bus);
  g_byte_array_unref (s);
}

GST_END_TEST;

/* ---- framemux against golden vectors ---- */

typedef struct
{
  GstPad *src;
  GstPad *sink;
} Input;

static Input *
input_new (GstElement * mux, const gchar * name, const gchar * caps_str)
{
  Input *in = g_new0 (Input, 1);
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstSegment seg;

  in->sink = gst_element_request_pad_simple (mux, name);
  fail_unless (in->sink != NULL, "request for %s failed", name);
  in->src = gst_pad_new ("testsrc", GST_PAD_SRC);
  fail_unless_equals_int (gst_pad_link (in->src, in->sink), GST_PAD_LINK_OK);
  gst_pad_set_active (in->src, TRUE);
  fail_unless (gst_pad_push_event (in->src,
          gst_event_new_stream_start (name)));
  fail_unless (gst_pad_push_event (in->src, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  fail_unless (gst_pad_push_event (in->src, gst_event_new_segment (&seg)));
  return in;
}

static GstFlowReturn
input_push_str (Input * in, const gchar * data)
{
  return gst_pad_push (in->src, gst_buffer_new_memdup (data, strlen (data)));
}

static void
input_free (GstElement * mux, Input * in, gboolean release)
{
  if (release)
    gst_element_release_request_pad (mux, in->sink);
  gst_object_unref (in->sink);
  gst_pad_set_active (in->src, FALSE);
  gst_object_unref (in->src);
  g_free (in);
}

/* Pulls @n frames (of any chunking) from @h into one array. */
static GByteArray *
pull_frames (GstHarness * h, guint n)
{
  GByteArray *out = g_byte_array_new ();
  guint frames = 0;
  gsize pos = 0;

  while (frames < n) {
    GstBuffer *buf = gst_harness_pull (h);
    GstMapInfo map;

    fail_unless (buf != NULL, "timeout: %u of %u frames", frames, n);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    /* count the complete frames (lengths read by hand, not the codec) */
    while (out->len - pos >= 16) {
      guint32 len = read_be (4, out->data + pos + 12);

      if (out->len - pos < 17 + (gsize) len)
        break;
      pos += 17 + len;
      frames++;
    }
  }
  fail_unless_equals_int (out->len, pos);
  return out;
}

/* @got must equal the golden frames except for each frame's timestamp,
 * which must be the wall clock in ms, between @t0 and @t1. */
static void
check_against_golden (GByteArray * got, const gchar ** golden, guint n,
    guint64 t0, guint64 t1)
{
  GByteArray *want = golden_stream (golden, n);
  gsize pos = 0;
  guint i = 0;

  fail_unless_equals_int (got->len, want->len);
  while (pos < want->len) {
    guint32 len = read_be (4, want->data + pos + 12);
    guint64 ts = read_be (8, got->data + pos + 4);
    gsize size = 17 + (gsize) len;

    fail_unless (memcmp (got->data + pos, want->data + pos, 4) == 0,
        "frame %u: conn_no differs", i);
    fail_unless (memcmp (got->data + pos + 12, want->data + pos + 12,
            size - 12) == 0, "frame %u: differs from %s", i, golden[i]);
    /* 1 ms slack each side for the rounding of two clock reads */
    fail_unless (ts + 1 >= t0 && ts <= t1 + 1, "frame %u: timestamp %"
        G_GUINT64_FORMAT " not within [%" G_GUINT64_FORMAT ", %"
        G_GUINT64_FORMAT "]", i, ts, t0, t1);
    pos += size;
    i++;
  }
  fail_unless_equals_int (i, n);
  g_byte_array_unref (want);
}

static guint64
now_ms (void)
{
  return (guint64) g_get_real_time () / 1000;
}

GST_START_TEST (test_mux_golden)
{
  static const gchar *golden[] = {
    /* the default stream starts with FlowOffer (version 1) */
    "00000000 0000000000000000 00000006 03e9 00000001 3b",
    /* caps arrive first: OpenConnection 7 */
    "00000000 0000000000000000 00000006 0065 00000007 3b",
    "00000007 0000000000000000 00000005 68656c6c6f 3b",
    "00000007 0000000000000000 00000006 3b3b3b3b3b3b 3b",
    /* send-control Ping "abc" */
    "00000000 0000000000000000 00000005 0001 616263 3b",
    /* EOS: SendEOF 7 */
    "00000000 0000000000000000 00000006 0068 00000007 3b",
    /* release: CloseConnection 7, reason Normal as u16 */
    "00000000 0000000000000000 00000008 0066 00000007 0000 3b",
    /* the number reused: a new OpenConnection 7 */
    "00000000 0000000000000000 00000006 0065 00000007 3b",
    "00000007 0000000000000000 00000005 616761696e 3b",
    /* send-control ConnectionOpened 8, Pong with ';' data, MetricsConfig */
    "00000000 0000000000000000 00000006 0067 00000008 3b",
    "00000000 0000000000000000 00000004 0002 3b3b 3b",
    "00000000 0000000000000000 00000002 012f 3b",
  };
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstHarness *h = gst_harness_new_with_element (mux, NULL, "src");
  GBytes *abc = g_bytes_new_static ("abc", 3);
  GBytes *semis = g_bytes_new_static (";;", 2);
  GBytes *conn8 = g_bytes_new_static ("\0\0\0\10", 4);
  gboolean ok = FALSE;
  GByteArray *got;
  guint64 t0, t1;
  Input *in;

  /* a tunnel: the stream outlives its connections */
  g_object_set (mux, "forward-eos", FALSE, NULL);
  gst_harness_play (h);
  t0 = now_ms ();
  in = input_new (mux, "sink_7", "application/octet-stream");
  fail_unless_equals_int (input_push_str (in, "hello"), GST_FLOW_OK);
  fail_unless_equals_int (input_push_str (in, ";;;;;;"), GST_FLOW_OK);
  /* pulled before the Ping is queued: control overtakes queued data */
  got = pull_frames (h, 4);
  g_signal_emit_by_name (mux, "send-control", 1, abc, &ok);
  fail_unless (ok);
  {
    GByteArray *more = pull_frames (h, 1);

    g_byte_array_append (got, more->data, more->len);
    g_byte_array_unref (more);
  }
  fail_unless (gst_pad_push_event (in->src, gst_event_new_eos ()));
  input_free (mux, in, TRUE);
  in = input_new (mux, "sink_7", "application/octet-stream");
  fail_unless_equals_int (input_push_str (in, "again"), GST_FLOW_OK);
  {
    GByteArray *more = pull_frames (h, 4);

    g_byte_array_append (got, more->data, more->len);
    g_byte_array_unref (more);
  }
  g_signal_emit_by_name (mux, "send-control", 103, conn8, &ok);
  g_signal_emit_by_name (mux, "send-control", 2, semis, &ok);
  g_signal_emit_by_name (mux, "send-control", 303, NULL, &ok);
  {
    GByteArray *more = pull_frames (h, 3);

    g_byte_array_append (got, more->data, more->len);
    g_byte_array_unref (more);
  }
  t1 = now_ms ();
  check_against_golden (got, golden, G_N_ELEMENTS (golden), t0, t1);
  g_byte_array_unref (got);

  /* malformed: CloseConnection without reason, OpenConnection short */
  g_signal_emit_by_name (mux, "send-control", 102, conn8, &ok);
  fail_if (ok);
  g_signal_emit_by_name (mux, "send-control", 101, abc, &ok);
  fail_if (ok);
  g_signal_emit_by_name (mux, "send-control", 70000, NULL, &ok);
  fail_if (ok);

  input_free (mux, in, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (mux);
  g_bytes_unref (abc);
  g_bytes_unref (semis);
  g_bytes_unref (conn8);
}

GST_END_TEST;

/* ---- ordering under backpressure ---- */

static GMutex gate_lock;
static GCond gate_cond;
static gboolean gate_open, gate_entered;

static GstPadProbeReturn
gate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer unused)
{
  g_mutex_lock (&gate_lock);
  gate_entered = TRUE;
  g_cond_broadcast (&gate_cond);
  while (!gate_open)
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);
  return GST_PAD_PROBE_OK;
}

/* Frame list "conn:hexpayload" of a byte array of whole frames. */
static gchar *
describe_frames (GByteArray * a)
{
  GString *s = g_string_new (NULL);
  gsize pos = 0;

  while (pos < a->len) {
    guint32 len = read_be (4, a->data + pos + 12);
    gchar *hex = bytes_to_hex (a->data + pos + 16, len);

    fail_unless_equals_int (a->data[pos + 16 + len], ';');
    g_string_append_printf (s, "%s%u:%s", s->len ? " " : "",
        (guint) read_be (4, a->data + pos), hex);
    g_free (hex);
    pos += 17 + len;
  }
  return g_string_free (s, FALSE);
}

/* While downstream is blocked: a released pad's queued data and close are
 * sent before anything of a new pad with the same number, and a control
 * message queued last overtakes all queued connection data. */
GST_START_TEST (test_mux_reuse_and_priority)
{
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstHarness *h = gst_harness_new_with_element (mux, NULL, "src");
  GstPad *srcpad = gst_element_get_static_pad (mux, "src");
  GBytes *ping = g_bytes_new_static ("p", 1);
  gint64 deadline;
  gboolean ok = FALSE;
  Input *in2, *in5, *in5b;
  GByteArray *got;
  gchar *desc;

  gate_open = gate_entered = FALSE;
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, gate_probe, NULL,
      NULL);
  gst_harness_play (h);

  /* the task pushes OpenConnection 2 and stays stuck downstream */
  in2 = input_new (mux, "sink_2", "application/octet-stream");
  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_TIME_SPAN_SECOND;
  g_mutex_lock (&gate_lock);
  while (!gate_entered)
    fail_unless (g_cond_wait_until (&gate_cond, &gate_lock, deadline),
        "the first frame never reached downstream");
  g_mutex_unlock (&gate_lock);

  in5 = input_new (mux, "sink_5", "application/octet-stream");
  fail_unless_equals_int (input_push_str (in5, "a5"), GST_FLOW_OK);
  fail_unless_equals_int (input_push_str (in2, "b2"), GST_FLOW_OK);
  fail_unless (gst_pad_push_event (in5->src, gst_event_new_eos ()));
  input_free (mux, in5, TRUE);
  in5b = input_new (mux, "sink_5", "application/octet-stream");
  fail_unless_equals_int (input_push_str (in5b, "c5"), GST_FLOW_OK);
  g_signal_emit_by_name (mux, "send-control", 1, ping, &ok);
  fail_unless (ok);

  g_mutex_lock (&gate_lock);
  gate_open = TRUE;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);

  got = pull_frames (h, 10);
  desc = describe_frames (got);
  /* round-robin between sink_2 and the old sink_5; the new sink_5 only
   * after the old one's close */
  fail_unless_equals_string (desc,
      "0:03e900000001 0:006500000002 0:0001" "70 "
      "0:006500000005 2:6232 5:6135 0:006800000005 0:0066000000050000 "
      "0:006500000005 5:6335");
  g_free (desc);
  g_byte_array_unref (got);

  input_free (mux, in2, TRUE);
  input_free (mux, in5b, TRUE);
  gst_object_unref (srcpad);
  gst_harness_teardown (h);
  gst_object_unref (mux);
  g_bytes_unref (ping);
}

GST_END_TEST;

/* ---- caps across the tunnel ---- */

GST_START_TEST (test_send_caps)
{
  static const gchar *caps1 =
      "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au";
  static const gchar *caps2 =
      "video/x-h264, stream-format=(string)byte-stream, alignment=(string)nal";
  static const gchar *expected[] = {
    "opened 3 video/x-h264, stream-format=(string)byte-stream, "
        "alignment=(string)au",
    "ctrl 101 (caps)",
    "caps 3 video/x-h264, stream-format=(string)byte-stream, "
        "alignment=(string)au",
    "data 3 6f6e65",
    /* control-message comes after framedemux acted on the message */
    "caps 3 video/x-h264, stream-format=(string)byte-stream, "
        "alignment=(string)nal",
    "ctrl 101 (caps)",
    "data 3 74776f",
    "eos 3",
    "ctrl 104 00000003",
  };
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstHarness *mh, *dh;
  GstBus *bus;
  GByteArray *got, *want_open;
  GstCaps *caps;
  Input *in;
  guint i;

  /* the OpenConnection layout, byte for byte: no FlowOffer before it */
  g_object_set (mux, "send-caps", TRUE, "flow-control", FALSE, NULL);
  mh = gst_harness_new_with_element (mux, NULL, "src");
  gst_harness_play (mh);
  in = input_new (mux, "sink_3", caps1);
  fail_unless_equals_int (input_push_str (in, "one"), GST_FLOW_OK);
  got = pull_frames (mh, 2);
  /* OpenConnection 3 with "GSTCAPS1", u32 length 69 and the caps string */
  want_open = hex_to_bytes ("00000000 0000000000000000 00000057 0065 00000003"
      " 4753544341505331 00000045");
  g_byte_array_append (want_open, (const guint8 *) caps1, strlen (caps1));
  fail_unless_equals_int (strlen (caps1), 0x45);
  fail_unless_equals_int (got->len, want_open->len + 1 + 17 + 3);
  fail_unless (memcmp (got->data, want_open->data, 4) == 0);
  fail_unless (memcmp (got->data + 12, want_open->data + 12,
          want_open->len - 12) == 0);
  g_byte_array_unref (want_open);

  /* a caps change mid-stream repeats OpenConnection with the new caps */
  caps = gst_caps_from_string (caps2);
  fail_unless (gst_pad_push_event (in->src, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  /* the same caps again: nothing is sent */
  caps = gst_caps_from_string (caps2);
  fail_unless (gst_pad_push_event (in->src, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  fail_unless_equals_int (input_push_str (in, "two"), GST_FLOW_OK);
  fail_unless (gst_pad_push_event (in->src, gst_event_new_eos ()));
  {
    GByteArray *more = pull_frames (mh, 3);

    g_byte_array_append (got, more->data, more->len);
    g_byte_array_unref (more);
  }

  log_reset ();
  dh = demux_harness (&bus);
  fail_unless_equals_int (gst_harness_push (dh,
          gst_buffer_new_memdup (got->data, got->len)), GST_FLOW_OK);
  /* the OpenConnection data holds the caps string: shorten it */
  for (i = 0; i < event_log->len; i++) {
    gchar *e = g_ptr_array_index (event_log, i);

    if (g_str_has_prefix (e, "ctrl 101 00000003") && strlen (e) > 40) {
      g_free (e);
      g_ptr_array_index (event_log, i) = g_strdup ("ctrl 101 (caps)");
    }
  }
  log_check (expected, G_N_ELEMENTS (expected));
  fail_if (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING |
          GST_MESSAGE_ERROR));

  demux_harness_free (dh, bus);
  g_byte_array_unref (got);
  input_free (mux, in, TRUE);
  gst_harness_teardown (mh);
  gst_object_unref (mux);
}

GST_END_TEST;

/* ---- the reference's two-connection pattern ---- */

#define N_SHORT 10              /* short-lived connections 3..12 */
#define FIRST_SHORT 3

typedef struct
{
  guint64 len;
  guint64 hash;                 /* FNV-1a of the bytes */
  gboolean done;                /* the sender sent EOS */
} Expect;

typedef struct
{
  GMutex lock;
  GCond cond;
  GHashTable *expect;           /* conn -> GQueue of Expect, oldest first */
  guint64 opened, closed, verified, pings_sent, pings_seen, max_pads;
  gchar *failure;               /* first mismatch seen by a receiver */
  GRand *rand;                  /* rechunking, pusher thread only */
  gboolean rechunk;
  GstPad *rsrc;                 /* rechunker output, into framedemux */
} Pattern;

static Pattern pat;

static guint64
fnv1a (guint64 h, const guint8 * d, gsize n)
{
  gsize i;

  for (i = 0; i < n; i++)
    h = (h ^ d[i]) * G_GUINT64_CONSTANT (0x100000001b3);
  return h;
}

#define FNV_INIT G_GUINT64_CONSTANT (0xcbf29ce484222325)

typedef struct
{
  guint conn;
  guint64 len;
  guint64 hash;
} Received;

static GstFlowReturn
pattern_recv_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  Received *r = g_object_get_data (G_OBJECT (pad), "received");
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_READ);
  r->hash = fnv1a (r->hash, map.data, map.size);
  r->len += map.size;
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static gboolean
pattern_recv_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    Received *r = g_object_get_data (G_OBJECT (pad), "received");
    GQueue *q;
    Expect *e;

    g_mutex_lock (&pat.lock);
    q = g_hash_table_lookup (pat.expect, GUINT_TO_POINTER (r->conn));
    e = q ? g_queue_pop_head (q) : NULL;
    if (e == NULL || !e->done || e->len != r->len || e->hash != r->hash) {
      if (pat.failure == NULL)
        pat.failure = g_strdup_printf ("connection %u: got %" G_GUINT64_FORMAT
            " bytes (hash %016" G_GINT64_MODIFIER "x), expected %"
            G_GUINT64_FORMAT " (hash %016" G_GINT64_MODIFIER "x)%s",
            r->conn, r->len, r->hash, e ? e->len : 0, e ? e->hash : 0,
            e && !e->done ? " not finished" : "");
    } else {
      pat.verified++;
    }
    g_free (e);
    g_cond_broadcast (&pat.cond);
    g_mutex_unlock (&pat.lock);
  }
  gst_event_unref (event);
  return TRUE;
}

static void
pattern_pad_added (GstElement * demux, GstPad * pad, gpointer unused)
{
  GstPad *sink = gst_pad_new ("recv", GST_PAD_SINK);
  Received *r = g_new0 (Received, 1);

  fail_unless (sscanf (GST_PAD_NAME (pad), "src_%u", &r->conn) == 1);
  r->hash = FNV_INIT;
  g_object_set_data_full (G_OBJECT (sink), "received", r, g_free);
  gst_pad_set_chain_function (sink, pattern_recv_chain);
  gst_pad_set_event_function (sink, pattern_recv_event);
  gst_pad_set_active (sink, TRUE);
  fail_unless_equals_int (gst_pad_link (pad, sink), GST_PAD_LINK_OK);
  /* the demux pad holds the only reference to its peer from now on */
  g_object_set_data_full (G_OBJECT (pad), "recv", sink, gst_object_unref);
  g_mutex_lock (&pat.lock);
  pat.max_pads = MAX (pat.max_pads, (guint64) demux->numsrcpads);
  g_mutex_unlock (&pat.lock);
}

static void
pattern_opened (GstElement * demux, guint conn, GstCaps * caps, gpointer u)
{
  g_mutex_lock (&pat.lock);
  pat.opened++;
  g_mutex_unlock (&pat.lock);
}

static void
pattern_closed (GstElement * demux, guint conn, guint reason, gpointer u)
{
  g_mutex_lock (&pat.lock);
  if (reason != 0 && pat.failure == NULL)
    pat.failure = g_strdup_printf ("connection %u closed with reason %u",
        conn, reason);
  pat.closed++;
  g_cond_broadcast (&pat.cond);
  g_mutex_unlock (&pat.lock);
}

static void
pattern_control (GstElement * demux, guint code, GBytes * data, gpointer u)
{
  if (code != 1)
    return;
  g_mutex_lock (&pat.lock);
  pat.pings_seen++;
  g_cond_broadcast (&pat.cond);
  g_mutex_unlock (&pat.lock);
}

/* Between framemux and framedemux: passes buffers on as they are, or cut
 * into random pieces (a data channel may deliver any chunking). */
static GstFlowReturn
rechunk_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  gsize size = gst_buffer_get_size (buf), pos = 0;
  GstFlowReturn ret = GST_FLOW_OK;

  static gint busy;

  fail_unless (g_atomic_int_add (&busy, 1) == 0, "concurrent pushes");
  if (!pat.rechunk) {
    ret = gst_pad_push (pat.rsrc, buf);
    g_atomic_int_add (&busy, -1);
    return ret;
  }
  while (pos < size && ret == GST_FLOW_OK) {
    gsize n = (gsize) g_rand_int_range (pat.rand, 1, 3000);

    n = MIN (n, size - pos);

    ret = gst_pad_push (pat.rsrc, gst_buffer_copy_region (buf,
            GST_BUFFER_COPY_MEMORY, pos, n));
    pos += n;
  }
  gst_buffer_unref (buf);
  g_atomic_int_add (&busy, -1);
  return ret;
}

static gboolean
rechunk_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  return gst_pad_push_event (pat.rsrc, event);
}

typedef struct
{
  Input *in;
  Expect *expect;
  guint conn;
} Sender;

static void
sender_open (GstElement * mux, Sender * s, guint conn)
{
  gchar *name = g_strdup_printf ("sink_%u", conn);
  GQueue *q;

  s->conn = conn;
  s->expect = g_new0 (Expect, 1);
  s->expect->hash = FNV_INIT;
  g_mutex_lock (&pat.lock);
  q = g_hash_table_lookup (pat.expect, GUINT_TO_POINTER (conn));
  if (q == NULL) {
    q = g_queue_new ();
    g_hash_table_insert (pat.expect, GUINT_TO_POINTER (conn), q);
  }
  g_queue_push_tail (q, s->expect);
  g_mutex_unlock (&pat.lock);
  s->in = input_new (mux, name, "application/octet-stream");
  g_free (name);
}

static void
sender_push (Sender * s, GRand * rand, guint max)
{
  gsize n = g_rand_int_range (rand, 1, max);
  guint8 *d = g_malloc (n);
  gsize i;

  for (i = 0; i < n; i++)
    d[i] = g_rand_int_range (rand, 0, 4) == 0 ? ';' : g_rand_int (rand);
  g_mutex_lock (&pat.lock);
  s->expect->hash = fnv1a (s->expect->hash, d, n);
  s->expect->len += n;
  g_mutex_unlock (&pat.lock);
  fail_unless_equals_int (gst_pad_push (s->in->src, gst_buffer_new_wrapped (d,
              n)), GST_FLOW_OK);
}

/* Half-close (EOS: SendEOF) then close (release: CloseConnection), or
 * close without EOS. */
static void
sender_close (GstElement * mux, Sender * s, gboolean eos)
{
  g_mutex_lock (&pat.lock);
  s->expect->done = TRUE;
  g_mutex_unlock (&pat.lock);
  if (eos)
    fail_unless (gst_pad_push_event (s->in->src, gst_event_new_eos ()));
  input_free (mux, s->in, TRUE);
  s->in = NULL;
}

static volatile gint pinger_stop;

/* send-control from a thread of its own, while data flows */
static gpointer
pinger (GstElement * mux)
{
  GBytes *data = g_bytes_new_static ("12345678", 8);

  while (!g_atomic_int_get (&pinger_stop)) {
    gboolean ok = FALSE;

    g_signal_emit_by_name (mux, "send-control", 1, data, &ok);
    fail_unless (ok);
    g_mutex_lock (&pat.lock);
    pat.pings_sent++;
    g_mutex_unlock (&pat.lock);
    g_usleep (200);
  }
  g_bytes_unref (data);
  return NULL;
}

static void
wait_pattern (guint64 * counter, guint64 target, const gchar * what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS *
      G_TIME_SPAN_SECOND;

  g_mutex_lock (&pat.lock);
  while (*counter < target && pat.failure == NULL)
    if (!g_cond_wait_until (&pat.cond, &pat.lock, deadline))
      break;
  g_mutex_unlock (&pat.lock);
  fail_if (pat.failure, "%s", pat.failure);
  fail_unless (*counter >= target, "timeout: %s %" G_GUINT64_FORMAT " of %"
      G_GUINT64_FORMAT, what, *counter, target);
}

static void
run_two_connection_pattern (gboolean rechunk, guint cycles)
{
  GstElement *mux = gst_element_factory_make ("framemux", NULL);
  GstElement *demux = gst_element_factory_make ("framedemux", NULL);
  GstPad *muxsrc = gst_element_get_static_pad (mux, "src");
  GstPad *demuxsink = gst_element_get_static_pad (demux, "sink");
  GstPad *rsink = gst_pad_new ("rsink", GST_PAD_SINK);
  guint32 seed = 0xc0ffee + rechunk;
  GRand *rand = g_rand_new_with_seed (seed);
  Sender bulk, shorts[N_SHORT];
  GThread *ping_thread;
  guint64 instances = 0;
  guint i;

  GST_INFO ("seed %u, rechunk %d, %u cycles", seed, rechunk, cycles);
  memset (&pat, 0, sizeof (pat));
  memset (shorts, 0, sizeof (shorts));
  g_mutex_init (&pat.lock);
  g_cond_init (&pat.cond);
  pat.expect = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) g_queue_free);
  pat.rand = g_rand_new_with_seed (seed ^ 0x5a5a5a5a);
  pat.rechunk = rechunk;
  pat.rsrc = gst_pad_new ("rsrc", GST_PAD_SRC);

  gst_pad_set_chain_function (rsink, rechunk_chain);
  gst_pad_set_event_function (rsink, rechunk_event);
  fail_unless_equals_int (gst_pad_link (muxsrc, rsink), GST_PAD_LINK_OK);
  fail_unless_equals_int (gst_pad_link (pat.rsrc, demuxsink),
      GST_PAD_LINK_OK);
  gst_pad_set_active (rsink, TRUE);
  gst_pad_set_active (pat.rsrc, TRUE);
  g_signal_connect (demux, "pad-added", G_CALLBACK (pattern_pad_added), NULL);
  g_signal_connect (demux, "connection-opened", G_CALLBACK (pattern_opened),
      NULL);
  g_signal_connect (demux, "connection-closed", G_CALLBACK (pattern_closed),
      NULL);
  g_signal_connect (demux, "control-message", G_CALLBACK (pattern_control),
      NULL);
  fail_unless (gst_element_set_state (demux, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_element_set_state (mux, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_SUCCESS);

  ping_thread = g_thread_new ("pinger", (GThreadFunc) pinger, mux);
  sender_open (mux, &bulk, 1);
  instances++;
  for (i = 0; i < cycles; i++) {
    Sender *s = &shorts[i % N_SHORT];
    guint k, n = g_rand_int_range (rand, 0, 4);

    /* the bulk connection carries most of the data */
    sender_push (&bulk, rand, 4000);
    if (s->in != NULL)
      sender_close (mux, s, g_rand_int_range (rand, 0, 4) != 0);
    sender_open (mux, s, FIRST_SHORT + i % N_SHORT);
    instances++;
    /* some short-lived connections never send data: open and close only */
    for (k = 0; k < n; k++)
      sender_push (s, rand, 300);
  }
  for (i = 0; i < N_SHORT; i++)
    if (shorts[i].in != NULL)
      sender_close (mux, &shorts[i], TRUE);
  /* no EOS on the last pad: framemux would end the whole stream (EOS
   * downstream once every pad is EOS), after which nothing, not even
   * CloseConnection, can be sent */
  sender_close (mux, &bulk, FALSE);
  g_atomic_int_set (&pinger_stop, 1);
  g_thread_join (ping_thread);
  g_atomic_int_set (&pinger_stop, 0);

  wait_pattern (&pat.closed, instances, "connections closed");
  wait_pattern (&pat.verified, instances, "connections verified");
  wait_pattern (&pat.pings_seen, pat.pings_sent, "pings");
  fail_unless_equals_uint64 (pat.opened, instances);
  fail_unless_equals_uint64 (pat.closed, instances);
  fail_unless_equals_uint64 (pat.pings_seen, pat.pings_sent);
  GST_INFO ("%" G_GUINT64_FORMAT " connections, %" G_GUINT64_FORMAT
      " pings, at most %" G_GUINT64_FORMAT " demux pads at once", instances,
      pat.pings_sent, pat.max_pads);
  fail_unless (pat.max_pads <= N_SHORT + 1);
  fail_unless (pat.pings_sent > 0);

  /* nothing left behind: pads back to the baseline, nothing dropped */
  fail_unless_equals_int (mux->numsinkpads, 0);
  fail_unless_equals_int (demux->numsrcpads, 0);
  fail_unless_equals_uint64 (stat_u64 (demux, "frames-after-close"), 0);
  fail_unless_equals_uint64 (stat_u64 (demux, "frames-dropped"), 0);
  fail_unless_equals_uint64 (stat_u64 (demux, "bytes-skipped"), 0);
  {
    GstStructure *st;
    const GValue *conns;

    g_object_get (mux, "stats", &st, NULL);
    conns = gst_structure_get_value (st, "connections");
    fail_unless_equals_int (gst_value_array_get_size (conns), 0);
    gst_structure_free (st);
  }

  fail_unless (gst_element_set_state (mux, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_element_set_state (demux, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  gst_pad_set_active (rsink, FALSE);
  gst_pad_set_active (pat.rsrc, FALSE);
  gst_object_unref (rsink);
  gst_object_unref (pat.rsrc);
  gst_object_unref (muxsrc);
  gst_object_unref (demuxsink);
  gst_object_unref (mux);
  gst_object_unref (demux);
  g_hash_table_destroy (pat.expect);
  g_rand_free (pat.rand);
  g_rand_free (rand);
  g_free (pat.failure);
  g_mutex_clear (&pat.lock);
  g_cond_clear (&pat.cond);
}

GST_START_TEST (test_two_connection_pattern)
{
  /* 0: framemux ! framedemux, 1: with a random rechunker in between */
  run_two_connection_pattern (__i__ == 1, 3000);
}

GST_END_TEST;

static Suite *
control_suite (void)
{
  Suite *s = suite_create ("control");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_demux_golden_one_buffer);
  tcase_add_test (tc, test_demux_golden_split_everywhere);
  tcase_add_test (tc, test_demux_golden_byte_by_byte);
  tcase_add_test (tc, test_demux_open_data);
  tcase_add_test (tc, test_mux_golden);
  tcase_add_test (tc, test_mux_reuse_and_priority);
  tcase_add_test (tc, test_send_caps);
  tcase_add_loop_test (tc, test_two_connection_pattern, 0, 2);
  return s;
}

GST_CHECK_MAIN (control);

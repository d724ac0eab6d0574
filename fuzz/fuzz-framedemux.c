/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Fuzz target: framedemux fed through a GstHarness in chunks the input
 * decides. The element is compiled into this program and registered
 * statically, so no plugin loading is involved.
 *
 * Input layout (FUZZ_DEMUX_HEADER bytes, then the tunnel stream):
 *   0    flags, see FLAG_*
 *   1    bits 0-3: max-frame-size index (max_sizes[]); bit 4: switch to the
 *        index in bits 5-7 halfway through
 *   2    bits 0-6: largest chunk is 1 << (value % 18) bytes (raised for big
 *        inputs so that there are at most about 2000 chunks); bit 7: inputs
 *        carry a PTS, a flag and a meta the outputs must not inherit
 *   3-6  seed of the chunk-size generator
 *
 * Oracles besides the sanitizers:
 *  - every output buffer is non-empty, carries the sender-clock meta, no
 *    timestamps, and continues its connection's byte offsets exactly;
 *  - a GST_FLOW_ERROR return always comes with an error message, and an
 *    error message (before EOS) only with the "error" policy;
 *  - the bytes held between inputs (stats bytes-pending) stay within the
 *    documented bound of max-frame-size + 18, plus an eighth;
 *  - per-connection byte counts in "stats" match what arrived downstream;
 *  - when the stream is undamaged (checked with the codec in one pass) and
 *    every header fits the resynchronisation context of the one before it
 *    (frame-resync.h), the chunked output is byte-identical to that
 *    one-pass parse. */

#include <stdio.h>
#include <string.h>
#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "frame-codec.h"
#include "frame-resync.h"
#include "gstwrtcframeelements.h"
#include "fuzz-common.h"

#define FUZZ_DEMUX_HEADER 7

enum
{
  FLAG_POLICY_ERROR = 1 << 0,
  FLAG_EOS = 1 << 1,
  FLAG_EXTRA_REF = 1 << 2,      /* inputs not writable: no buffer reuse */
  FLAG_TWO_MEMORIES = 1 << 3,
  FLAG_DEBUG_LOG = 1 << 4,      /* format every debug message */
  FLAG_FLUSH = 1 << 5,          /* flush-start/stop halfway */
  FLAG_UNLINKED = 1 << 6,       /* connections with conn % 3 == 2 unlinked */
  FLAG_EOS_PADS = 1 << 7,       /* connections with conn % 5 == 4 return EOS */
};

static const guint max_sizes[] = {
  16 * 1024 * 1024, 0, 1, 2, 8, 16, 17, 64, 100, 1000, 4096, 65535, 65536,
  70000, 255, 256,
};

typedef struct
{
  guint32 conn_no;
  GstPad *pad;
  guint64 bytes;
  GByteArray *data;             /* kept only when comparing with the model */
  gboolean return_eos;
  gboolean eos;                 /* got EOS: no buffer may follow */
  gboolean retired;             /* a newer pad of the same connection came */
} Collector;

typedef struct
{
  GPtrArray *collectors;
  guint8 flags;
  gboolean keep_data;
} Run;

static Run *current;
static GstDebugCategory *demux_cat;
static GstCaps *unix_caps;

static GstFlowReturn
collector_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  Collector *c = gst_pad_get_element_private (pad);
  GstReferenceTimestampMeta *meta;
  gsize size = gst_buffer_get_size (buf);
  gpointer state = NULL;
  guint n_metas;

  FUZZ_CHECK (size > 0);
  FUZZ_CHECK (!c->eos);
  FUZZ_CHECK (!GST_BUFFER_PTS_IS_VALID (buf));
  FUZZ_CHECK (!GST_BUFFER_DTS_IS_VALID (buf));
  FUZZ_CHECK (GST_BUFFER_OFFSET (buf) == c->bytes);
  FUZZ_CHECK (GST_BUFFER_OFFSET_END (buf) == c->bytes + size);
  FUZZ_CHECK (!GST_BUFFER_DURATION_IS_VALID (buf));
  FUZZ_CHECK (!GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT));
  meta = gst_buffer_get_reference_timestamp_meta (buf, unix_caps);
  FUZZ_CHECK (meta != NULL);
  /* exactly one: an input's own meta must not come along */
  FUZZ_CHECK (meta->duration == GST_CLOCK_TIME_NONE);
  n_metas = 0;
  while (gst_buffer_iterate_meta (buf, &state) != NULL)
    n_metas++;
  FUZZ_CHECK (n_metas == 1);
  c->bytes += size;

  if (c->data) {
    GstMapInfo map;

    FUZZ_CHECK (gst_buffer_map (buf, &map, GST_MAP_READ));
    g_byte_array_append (c->data, map.data, map.size);
    gst_buffer_unmap (buf, &map);
  }
  gst_buffer_unref (buf);
  return c->return_eos ? GST_FLOW_EOS : GST_FLOW_OK;
}

static gboolean
collector_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  Collector *c = gst_pad_get_element_private (pad);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    c->eos = TRUE;
  else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    c->eos = FALSE;
  gst_event_unref (event);
  return TRUE;
}

static void
pad_added (GstElement * demux, GstPad * pad, gpointer unused)
{
  Collector *c;
  guint conn_no, i;

  FUZZ_CHECK (sscanf (GST_PAD_NAME (pad), "src_%u", &conn_no) == 1);
  FUZZ_CHECK (conn_no != 0);
  if ((current->flags & FLAG_UNLINKED) && conn_no % 3 == 2)
    return;

  /* CloseConnection removes a pad; a reopened connection gets a new one */
  for (i = 0; i < current->collectors->len; i++) {
    Collector *old = g_ptr_array_index (current->collectors, i);

    if (old->conn_no == conn_no)
      old->retired = TRUE;
  }

  c = g_new0 (Collector, 1);
  c->conn_no = conn_no;
  c->return_eos = (current->flags & FLAG_EOS_PADS) && conn_no % 5 == 4;
  if (current->keep_data)
    c->data = g_byte_array_new ();
  c->pad = gst_pad_new ("collector", GST_PAD_SINK);
  gst_pad_set_element_private (c->pad, c);
  gst_pad_set_chain_function (c->pad, collector_chain);
  gst_pad_set_event_function (c->pad, collector_event);
  gst_pad_set_active (c->pad, TRUE);
  FUZZ_CHECK (gst_pad_link (pad, c->pad) == GST_PAD_LINK_OK);
  g_ptr_array_add (current->collectors, c);
}

static void
collector_free (Collector * c)
{
  gst_pad_set_active (c->pad, FALSE);
  gst_object_unref (c->pad);
  if (c->data)
    g_byte_array_unref (c->data);
  g_free (c);
}

static void
init_once (void)
{
  static gboolean done = FALSE;
  GSList *cats, *l;

  if (done)
    return;
  done = TRUE;
  /* nothing to scan: the element under test is registered statically */
  g_setenv ("GST_PLUGIN_SYSTEM_PATH_1_0", "", TRUE);
  g_setenv ("GST_PLUGIN_PATH_1_0", "", TRUE);
  g_setenv ("GST_REGISTRY_FORK", "no", TRUE);
  g_setenv ("GST_REGISTRY_UPDATE", "no", TRUE);
  /* FLAG_DEBUG_LOG: the default log function formats every message (and
   * with it every format string and argument) into nothing */
  g_setenv ("GST_DEBUG_FILE", "/dev/null", TRUE);
  gst_init (NULL, NULL);
  FUZZ_CHECK (GST_ELEMENT_REGISTER (framedemux, NULL));

  gst_debug_set_active (TRUE);
  cats = gst_debug_get_all_categories ();
  for (l = cats; l != NULL; l = l->next)
    if (strcmp (gst_debug_category_get_name (l->data), "framedemux") == 0)
      demux_cat = l->data;
  g_slist_free (cats);
  FUZZ_CHECK (demux_cat != NULL);
  gst_debug_category_set_threshold (demux_cat, GST_LEVEL_NONE);

  unix_caps = gst_caps_new_empty_simple ("timestamp/x-unix");
}

/* SendEOF and CloseConnection end a connection's byte stream early (and
 * a later OpenConnection may start it again): the byte-exact model below
 * only covers streams without them. */
static gboolean
lifecycle_message (const guint8 * payload, gsize size)
{
  WrtcControlMessage msg;

  if (wrtc_control_parse (payload, size, &msg) != WRTC_CONTROL_PARSE_OK)
    return FALSE;
  return msg.code == WRTC_CONTROL_CLOSE_CONNECTION ||
      msg.code == WRTC_CONTROL_SEND_EOF;
}

/* One-pass parse of an undamaged stream. Returns FALSE if it is damaged
 * or ends a connection;
 * otherwise fills @model (conn -> GByteArray) with each connection's bytes. */
static gboolean
model_parse (const guint8 * data, gsize size, guint max, GHashTable * model)
{
  gsize pos = 0;
  gboolean have_ts = FALSE;
  guint64 ref_ts = 0;
  guint32 max_conn = 0;

  while (pos < size) {
    WrtcFrameHeader h;
    GByteArray *arr;
    WrtcFrameStatus st = wrtc_frame_parse (data + pos, size - pos, max, &h);

    /* A header that does not fit the resynchronisation context (timestamp
     * far from the previous frame's, connection far above all seen) makes
     * framedemux look for verified frames inside the frame, which is
     * damage handling: such streams are not compared. */
    if (st != WRTC_FRAME_NEED_MORE || size - pos >= WRTC_FRAME_HEADER_SIZE) {
      if (have_ts && (!wrtc_resync_ts_close (ref_ts, h.timestamp_ms) ||
              (guint64) h.conn_no > (guint64) max_conn +
              WRTC_RESYNC_CONN_AHEAD))
        return FALSE;
      have_ts = TRUE;
      ref_ts = h.timestamp_ms;
      max_conn = MAX (max_conn, h.conn_no);
    }
    switch (st) {
      case WRTC_FRAME_OK:
        if (h.conn_no == WRTC_FRAME_CONTROL_CONN && lifecycle_message (data +
                pos + WRTC_FRAME_HEADER_SIZE, h.length))
          return FALSE;
        break;
      case WRTC_FRAME_NEED_MORE:
        return TRUE;            /* truncated tail: dropped at EOS */
      default:
        return FALSE;
    }
    if (h.conn_no != WRTC_FRAME_CONTROL_CONN) {
      arr = g_hash_table_lookup (model, GUINT_TO_POINTER (h.conn_no));
      if (arr == NULL) {
        arr = g_byte_array_new ();
        g_hash_table_insert (model, GUINT_TO_POINTER (h.conn_no), arr);
      }
      g_byte_array_append (arr, data + pos + WRTC_FRAME_HEADER_SIZE,
          h.length);
    }
    pos += WRTC_FRAME_OVERHEAD + (gsize) h.length;
  }
  return TRUE;
}

static guint32
xorshift (guint32 * s)
{
  guint32 x = *s;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static GstBuffer *
make_input (const guint8 * data, gsize n, guint8 flags, guint32 * rng)
{
  GstBuffer *buf;

  if ((flags & FLAG_TWO_MEMORIES) && n >= 2) {
    gsize cut = 1 + xorshift (rng) % (n - 1);
    guint8 *rest = g_memdup2 (data + cut, n - cut);

    buf = gst_buffer_new_memdup (data, cut);
    gst_buffer_append_memory (buf, gst_memory_new_wrapped (0, rest, n - cut,
            0, n - cut, rest, g_free));
  } else {
    buf = gst_buffer_new_memdup (data, n);
  }
  return buf;
}

/* Pops all error and warning messages; returns the number of errors. */
static guint
drain_bus (GstBus * bus)
{
  GstMessage *msg;
  guint errors = 0;

  while ((msg = gst_bus_pop_filtered (bus,
              GST_MESSAGE_ERROR | GST_MESSAGE_WARNING)) != NULL) {
    GError *err = NULL;
    gchar *dbg = NULL;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &err, &dbg);
      errors++;
    } else {
      gst_message_parse_warning (msg, &err, &dbg);
    }
    /* a user-facing text, never an empty one */
    FUZZ_CHECK (err != NULL && err->message != NULL && *err->message);
    g_clear_error (&err);
    g_free (dbg);
    gst_message_unref (msg);
  }
  return errors;
}

static guint64
stat_u64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  FUZZ_CHECK (gst_structure_get_uint64 (s, field, &v));
  return v;
}

static void
check_stats (GstElement * demux, guint max_bound, gboolean check_pending)
{
  GstStructure *s = NULL;
  const GValue *conns;
  guint i, j;

  g_object_get (demux, "stats", &s, NULL);
  FUZZ_CHECK (s != NULL);
  if (check_pending)
    FUZZ_CHECK (stat_u64 (s, "bytes-pending") <=
        (guint64) max_bound + 18 + ((guint64) max_bound + 18) / 8);

  conns = gst_structure_get_value (s, "connections");
  FUZZ_CHECK (conns != NULL);
  for (i = 0; i < gst_value_array_get_size (conns); i++) {
    const GstStructure *cs =
        gst_value_get_structure (gst_value_array_get_value (conns, i));
    guint conn_no = 0;

    FUZZ_CHECK (gst_structure_get_uint (cs, "conn", &conn_no));
    for (j = 0; j < current->collectors->len; j++) {
      Collector *c = g_ptr_array_index (current->collectors, j);

      if (c->conn_no == conn_no && !c->retired)
        FUZZ_CHECK (stat_u64 (cs, "bytes") == c->bytes);
    }
  }
  gst_structure_free (s);
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t input_size)
{
  GstHarness *h;
  GstElement *demux;
  GstBus *bus;
  GHashTable *model = NULL;
  Run run;
  const guint8 *data;
  gsize size, pos = 0, half;
  guint8 flags;
  guint max, max2, chunk_max, i;
  guint32 rng;
  gboolean halfway_done = FALSE, stopped = FALSE, decorate;
  guint errors = 0, pushes = 0;
  GstFlowReturn ret = GST_FLOW_OK;

  if (input_size < FUZZ_DEMUX_HEADER)
    return 0;
  init_once ();

  flags = input[0];
  max = max_sizes[input[1] & 0x0f];
  max2 = (input[1] & 0x10) ? max_sizes[input[1] >> 5] : max;
  chunk_max = 1u << ((input[2] & 0x7f) % 18);
  decorate = (input[2] & 0x80) != 0;
  rng = ((guint32) input[3] << 24 | (guint32) input[4] << 16 |
      (guint32) input[5] << 8 | input[6]) | 1;
  data = input + FUZZ_DEMUX_HEADER;
  size = input_size - FUZZ_DEMUX_HEADER;
  half = size / 2;
  /* at most ~2000 pushes: fine cuts of a 100 KiB input would otherwise run
   * at a few inputs per second */
  if (size / chunk_max > 2048)
    chunk_max = size / 1024 + 1;

  run.collectors = g_ptr_array_new_with_free_func ((GDestroyNotify)
      collector_free);
  run.flags = flags;
  /* without a flush or a max change the output must equal a clean
   * one-pass parse whenever the stream is undamaged */
  if (!(flags & FLAG_FLUSH) && max2 == max) {
    model = g_hash_table_new_full (NULL, NULL, NULL,
        (GDestroyNotify) g_byte_array_unref);
    if (!model_parse (data, size, max, model))
      g_clear_pointer (&model, g_hash_table_unref);
  }
  run.keep_data = model != NULL;
  current = &run;

  gst_debug_category_set_threshold (demux_cat, (flags & FLAG_DEBUG_LOG) ?
      GST_LEVEL_LOG : GST_LEVEL_NONE);

  demux = gst_element_factory_make ("framedemux", NULL);
  FUZZ_CHECK (demux != NULL);
  g_object_set (demux, "max-frame-size", max, "corruption-policy",
      (flags & FLAG_POLICY_ERROR) ? 1 : 0, NULL);
  g_signal_connect (demux, "pad-added", G_CALLBACK (pad_added), NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (demux, bus);

  h = gst_harness_new_with_element (demux, "sink", NULL);
  gst_harness_set_src_caps_str (h, "application/x-wrtcframe");

  while (pos < size && !stopped) {
    /* not inside MIN (): it would draw twice */
    gsize n = 1 + xorshift (&rng) % chunk_max;
    GstBuffer *buf, *extra;
    guint new_errors;

    n = MIN (n, size - pos);
    buf = make_input (data + pos, n, flags, &rng);
    if (decorate) {
      GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = pos * GST_MSECOND;
      GST_BUFFER_DURATION (buf) = GST_MSECOND;
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
      gst_buffer_add_reference_timestamp_meta (buf, unix_caps, 42, 1);
    }
    extra = (flags & FLAG_EXTRA_REF) ? gst_buffer_ref (buf) : NULL;

    ret = gst_harness_push (h, buf);
    {
      /* pads push from their own threads: let them catch up */
      GstQuery *q = gst_query_new_drain ();

      gst_pad_peer_query (h->srcpad, q);
      gst_query_unref (q);
    }
    if (extra)
      gst_buffer_unref (extra);
    pos += n;

    new_errors = drain_bus (bus);
    errors += new_errors;
    if (ret == GST_FLOW_ERROR)
      FUZZ_CHECK (new_errors > 0);
    if (new_errors > 0) {
      FUZZ_CHECK (flags & FLAG_POLICY_ERROR);
      FUZZ_CHECK (ret == GST_FLOW_ERROR);
    }
    /* upstream stops on errors and EOS, as a real source would */
    if (ret == GST_FLOW_ERROR || ret == GST_FLOW_EOS)
      stopped = TRUE;
    else
      FUZZ_CHECK (ret == GST_FLOW_OK);

    /* "stats" builds a structure: every push early on, then sampled, or
     * byte-by-byte chunkings of large inputs would crawl */
    if (++pushes <= 32 || pushes % 128 == 0)
      check_stats (demux, MAX (max, max2), !stopped);

    if (!halfway_done && pos >= half) {
      halfway_done = TRUE;
      if (max2 != max)
        g_object_set (demux, "max-frame-size", max2, NULL);
      if (flags & FLAG_FLUSH) {
        GstSegment seg;

        /* the results only say whether some pad took the event: with
         * nothing but unlinked pads they are FALSE, and that is fine */
        gst_harness_push_event (h, gst_event_new_flush_start ());
        gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
        gst_segment_init (&seg, GST_FORMAT_BYTES);
        gst_harness_push_event (h, gst_event_new_segment (&seg));
      }
    }
  }

  check_stats (demux, MAX (max, max2), !stopped);
  if ((flags & FLAG_EOS) && !stopped) {
    gst_harness_push_event (h, gst_event_new_eos ());
    errors += drain_bus (bus);
    check_stats (demux, MAX (max, max2), TRUE);
  }

  if (model != NULL && !stopped) {
    GHashTableIter iter;
    gpointer key, value;

    for (i = 0; i < run.collectors->len; i++) {
      Collector *c = g_ptr_array_index (run.collectors, i);
      GByteArray *want = g_hash_table_lookup (model,
          GUINT_TO_POINTER (c->conn_no));

      /* OpenConnection makes a pad before (or without) any data */
      if (want == NULL) {
        FUZZ_CHECK (c->data->len == 0);
        continue;
      }
      FUZZ_CHECK (c->data->len == want->len);
      FUZZ_CHECK (want->len == 0 ||
          memcmp (c->data->data, want->data, want->len) == 0);
    }
    /* every connection with data got a pad (frames of length 0 do not
     * create one; model entries of length 0 are allowed to be missing) */
    g_hash_table_iter_init (&iter, model);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
      gchar name[32];
      GstPad *pad;

      g_snprintf (name, sizeof (name), "src_%u", GPOINTER_TO_UINT (key));
      pad = gst_element_get_static_pad (demux, name);
      if (((GByteArray *) value)->len > 0)
        FUZZ_CHECK (pad != NULL);
      if (pad)
        gst_object_unref (pad);
    }
  }

  gst_harness_teardown (h);
  gst_object_unref (demux);     /* the harness took its own reference */
  drain_bus (bus);
  gst_object_unref (bus);
  g_ptr_array_unref (run.collectors);
  if (model)
    g_hash_table_unref (model);
  current = NULL;
  (void) errors;
  return 0;
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Soak: two frametunnel endpoints over real webrtcbin on 127.0.0.1, both in
 * this process. Each side keeps one bulk connection busy for the whole run
 * (the reference's two-connection pattern: the client's bulk is connection
 * 1) and opens and closes short-lived connections continuously (request a
 * pad, send a random-size payload, EOS, release the pad). Every connection
 * instance starts with an 8-byte header (u32 instance id, u32 payload size,
 * big endian) followed by a payload that is a deterministic function of the
 * instance id and offset, so the receiver checks each byte and each length
 * without any shared bookkeeping. RSS, open fds and threads are sampled
 * every few seconds; the run fails on any mismatch, on lost instances, on
 * RSS growth beyond the tolerance after warm-up, or on fd/thread growth.
 *
 *   wrtcframe-soak [--seconds N] [--seed S] [--rss-tolerance-mb M]
 *
 * Prints "Checks: N, Failures: F, Errors: 0" at the end (Check style, so
 * the test counter picks it up) and exits non-zero on any failure.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc-loopback.h"

#define LABEL "soak"
#define MAX_SHORT 4             /* short connections open at once per side */
#define MAX_SHORT_SIZE (256 * 1024)
#define BULK_SIZE 0xffffffffu   /* header size of the endless connection */
#define HEADER 8
#define DRAIN_S 120             /* bound on the final drain */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ---------- payload pattern: byte @pos of instance @inst ---------- */

static inline guint64
pattern_word (guint32 inst, guint64 index)
{
  guint64 z = ((guint64) inst << 40) ^ index ^ 0x9e3779b97f4a7c15ULL;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline guint8
pattern_byte (guint32 inst, guint64 pos)
{
  return pattern_word (inst, pos >> 3) >> ((pos & 7) * 8);
}

static void
pattern_fill (guint32 inst, guint64 pos, guint8 * data, gsize size)
{
  gsize i = 0;

  /* byte-wise up to a word boundary, then a word at a time */
  while (i < size && ((pos + i) & 7))
    data[i] = pattern_byte (inst, pos + i), i++;
  while (i + 8 <= size) {
    guint64 w = GUINT64_TO_LE (pattern_word (inst, (pos + i) >> 3));

    memcpy (data + i, &w, 8);
    i += 8;
  }
  while (i < size)
    data[i] = pattern_byte (inst, pos + i), i++;
}

/* ---------- shared state ---------- */

typedef struct _Side Side;

typedef struct
{
  Side *side;                   /* receiving side */
  guint conn;
  guint8 hdr[HEADER];
  guint hdr_len;
  guint32 inst;
  guint32 size;
  guint64 received;
  gboolean eos;
  guint8 *expect;               /* scratch for the expected bytes */
  gsize expect_size;
} RxConn;

struct _Side
{
  const gchar *name;
  GstElement *pipeline, *webrtc, *tunnel;
  Side *other;
  guint32 inst_flag;            /* top bit: which side made an instance */
  GRand *rand;

  /* sending (feeder thread only, counters read under lock) */
  GThread *feeder;
  guint32 next_inst;

  /* everything below under lock */
  GMutex lock;
  GCond cond;
  gboolean feeder_done;
  guint64 sent_instances;       /* short instances sent completely + EOS */
  guint64 sent_bytes;           /* payload bytes of those */
  guint64 bulk_sent;            /* payload bytes of the bulk connection */
  gboolean bulk_sent_eos;
  /* what this side received (from the other side) */
  guint64 rx_instances;         /* short instances verified complete */
  guint64 rx_bytes;
  guint64 rx_bulk;              /* bulk bytes verified */
  gboolean rx_bulk_eos;
  GHashTable *last_inst;        /* conn -> last instance id seen */
};

static GMutex fail_lock;
static gchar *first_failure;
static volatile gint stop_feeding;

static void
record_failure (const gchar * format, ...) G_GNUC_PRINTF (1, 2);

static void
record_failure (const gchar * format, ...)
{
  va_list args;
  gchar *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("FAILURE: %s\n", msg);
  g_mutex_lock (&fail_lock);
  if (!first_failure)
    first_failure = msg;
  else
    g_free (msg);
  g_mutex_unlock (&fail_lock);
  g_atomic_int_set (&stop_feeding, 1);
}

static gboolean
failed (void)
{
  gboolean ret;

  g_mutex_lock (&fail_lock);
  ret = first_failure != NULL;
  g_mutex_unlock (&fail_lock);
  return ret;
}

/* ---------- receiving: one sink pad of ours per tunnel src pad ---------- */

static void
rx_payload (RxConn * rc, const guint8 * data, gsize size)
{
  if (size == 0)
    return;
  if (rc->size != BULK_SIZE && rc->received + size > rc->size) {
    record_failure ("%s: connection %u instance %08x: %" G_GUINT64_FORMAT
        " bytes, more than its %u", rc->side->name, rc->conn, rc->inst,
        rc->received + size, rc->size);
    return;
  }
  if (rc->expect_size < size) {
    g_free (rc->expect);
    rc->expect_size = MAX (size, 65536);
    rc->expect = g_malloc (rc->expect_size);
  }
  pattern_fill (rc->inst, rc->received, rc->expect, size);
  if (memcmp (rc->expect, data, size) != 0) {
    gsize i = 0;

    while (rc->expect[i] == data[i])
      i++;
    record_failure ("%s: connection %u instance %08x: byte %" G_GUINT64_FORMAT
        " is 0x%02x, expected 0x%02x", rc->side->name, rc->conn, rc->inst,
        rc->received + i, data[i], rc->expect[i]);
  }
  rc->received += size;
  if (rc->size == BULK_SIZE) {
    g_mutex_lock (&rc->side->lock);
    rc->side->rx_bulk = rc->received;
    g_mutex_unlock (&rc->side->lock);
  }
}

static void
rx_header (RxConn * rc)
{
  Side *side = rc->side;
  gpointer last;

  rc->inst = GST_READ_UINT32_BE (rc->hdr);
  rc->size = GST_READ_UINT32_BE (rc->hdr + 4);
  if ((rc->inst & 0x80000000u) != side->other->inst_flag)
    record_failure ("%s: connection %u: instance %08x was not made by %s",
        side->name, rc->conn, rc->inst, side->other->name);
  g_mutex_lock (&side->lock);
  last = g_hash_table_lookup (side->last_inst, GUINT_TO_POINTER (rc->conn));
  g_hash_table_insert (side->last_inst, GUINT_TO_POINTER (rc->conn),
      GUINT_TO_POINTER (rc->inst));
  g_mutex_unlock (&side->lock);
  if (last && GPOINTER_TO_UINT (last) >= rc->inst)
    record_failure ("%s: connection %u: instance %08x after %08x",
        side->name, rc->conn, rc->inst, GPOINTER_TO_UINT (last));
}

static GstFlowReturn
rx_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  RxConn *rc = gst_pad_get_element_private (pad);
  GstMapInfo map;
  const guint8 *data;
  gsize size;

  gst_buffer_map (buf, &map, GST_MAP_READ);
  data = map.data;
  size = map.size;
  if (rc->eos)
    record_failure ("%s: connection %u: data after EOS", rc->side->name,
        rc->conn);
  if (rc->hdr_len < HEADER) {
    gsize n = MIN (size, HEADER - rc->hdr_len);

    memcpy (rc->hdr + rc->hdr_len, data, n);
    rc->hdr_len += n;
    data += n;
    size -= n;
    if (rc->hdr_len == HEADER)
      rx_header (rc);
  }
  if (rc->hdr_len == HEADER)
    rx_payload (rc, data, size);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static gboolean
rx_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  RxConn *rc = gst_pad_get_element_private (pad);
  Side *side = rc->side;

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    rc->eos = TRUE;
    if (rc->hdr_len < HEADER) {
      record_failure ("%s: connection %u: EOS after %u header bytes",
          side->name, rc->conn, rc->hdr_len);
    } else if (rc->size == BULK_SIZE) {
      g_mutex_lock (&side->lock);
      side->rx_bulk_eos = TRUE;
      g_cond_broadcast (&side->cond);
      g_mutex_unlock (&side->lock);
    } else if (rc->received != rc->size) {
      record_failure ("%s: connection %u instance %08x: EOS after %"
          G_GUINT64_FORMAT " of %u bytes", side->name, rc->conn, rc->inst,
          rc->received, rc->size);
    } else {
      g_mutex_lock (&side->lock);
      side->rx_instances++;
      side->rx_bytes += rc->size;
      g_cond_broadcast (&side->cond);
      g_mutex_unlock (&side->lock);
    }
  }
  gst_event_unref (event);
  return TRUE;
}

static void
rx_conn_free (RxConn * rc)
{
  g_free (rc->expect);
  g_free (rc);
}

static void
tunnel_pad_added (GstElement * tunnel, GstPad * pad, Side * side)
{
  GstPad *sinkpad;
  RxConn *rc;

  if (!GST_PAD_IS_SRC (pad))    /* our own requests */
    return;
  rc = g_new0 (RxConn, 1);
  rc->side = side;
  if (sscanf (GST_PAD_NAME (pad), "src_%u", &rc->conn) != 1)
    record_failure ("%s: unexpected pad %s", side->name, GST_PAD_NAME (pad));
  sinkpad = gst_pad_new ("check", GST_PAD_SINK);
  gst_pad_set_element_private (sinkpad, rc);
  gst_pad_set_chain_function (sinkpad, rx_chain);
  gst_pad_set_event_function (sinkpad, rx_event);
  gst_pad_set_active (sinkpad, TRUE);
  g_object_set_data_full (G_OBJECT (pad), "soak-rx", sinkpad,
      gst_object_unref);
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    record_failure ("%s: cannot link %s", side->name, GST_PAD_NAME (pad));
}

static void
tunnel_pad_removed (GstElement * tunnel, GstPad * pad, Side * side)
{
  GstPad *sinkpad = g_object_get_data (G_OBJECT (pad), "soak-rx");
  RxConn *rc;

  if (!sinkpad)
    return;
  gst_pad_unlink (pad, sinkpad);
  rc = gst_pad_get_element_private (sinkpad);
  /* Instances end with EOS before their pad is released. */
  if (!rc->eos && !g_atomic_int_get (&stop_feeding))
    record_failure ("%s: connection %u instance %08x closed without EOS "
        "after %" G_GUINT64_FORMAT " bytes", side->name, rc->conn, rc->inst,
        rc->received);
  gst_pad_set_active (sinkpad, FALSE);
  gst_pad_set_element_private (sinkpad, NULL);
  rx_conn_free (rc);
  g_object_set_data (G_OBJECT (pad), "soak-rx", NULL);
}

/* ---------- sending: a feeder thread per side, pads of our own ---------- */

typedef struct
{
  GstPad *src;                  /* ours */
  GstPad *tunnel_pad;           /* frametunnel's sink_%u */
  guint32 inst;
  guint32 size;
  guint64 sent;                 /* payload bytes */
} TxConn;

static TxConn *
tx_open (Side * side, guint32 size)
{
  TxConn *tc = g_new0 (TxConn, 1);
  GstSegment segment;
  gchar *id;

  tc->inst = side->inst_flag | ++side->next_inst;
  tc->size = size;
  tc->tunnel_pad = gst_element_request_pad_simple (side->tunnel, "sink_%u");
  if (!tc->tunnel_pad) {
    record_failure ("%s: no sink pad from frametunnel", side->name);
    g_free (tc);
    return NULL;
  }
  tc->src = gst_pad_new ("feed", GST_PAD_SRC);
  gst_pad_set_active (tc->src, TRUE);
  if (gst_pad_link (tc->src, tc->tunnel_pad) != GST_PAD_LINK_OK)
    record_failure ("%s: cannot link to %s", side->name,
        GST_PAD_NAME (tc->tunnel_pad));
  id = g_strdup_printf ("soak/%08x", tc->inst);
  gst_pad_push_event (tc->src, gst_event_new_stream_start (id));
  g_free (id);
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  gst_pad_push_event (tc->src, gst_event_new_segment (&segment));
  return tc;
}

/* Pushes up to @max payload bytes (the header first). FALSE on a flow
 * error, which fails the run unless it is stopping anyway. */
static gboolean
tx_push (Side * side, TxConn * tc, guint max)
{
  guint64 left = tc->size == BULK_SIZE ? G_MAXUINT64 : tc->size - tc->sent;
  gsize n = MIN (max, left), hdr = tc->sent == 0 ? HEADER : 0;
  GstBuffer *buf;
  GstMapInfo map;
  GstFlowReturn ret;

  if (n == 0 && !hdr)
    return TRUE;
  buf = gst_buffer_new_allocate (NULL, hdr + n, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  if (hdr) {
    GST_WRITE_UINT32_BE (map.data, tc->inst);
    GST_WRITE_UINT32_BE (map.data + 4, tc->size);
  }
  pattern_fill (tc->inst, tc->sent, map.data + hdr, n);
  gst_buffer_unmap (buf, &map);
  ret = gst_pad_push (tc->src, buf);
  if (ret != GST_FLOW_OK) {
    record_failure ("%s: push on %s: %s", side->name,
        GST_PAD_NAME (tc->tunnel_pad), gst_flow_get_name (ret));
    return FALSE;
  }
  tc->sent += n;
  if (tc->size == BULK_SIZE) {
    g_mutex_lock (&side->lock);
    side->bulk_sent = tc->sent;
    g_mutex_unlock (&side->lock);
  }
  return TRUE;
}

/* EOS (SendEOF to the peer), then release (CloseConnection). */
static void
tx_close (Side * side, TxConn * tc)
{
  gboolean eos = gst_pad_push_event (tc->src, gst_event_new_eos ());

  if (!eos && !failed ())
    record_failure ("%s: EOS refused on %s", side->name,
        GST_PAD_NAME (tc->tunnel_pad));
  g_mutex_lock (&side->lock);
  if (eos && tc->size == BULK_SIZE) {
    side->bulk_sent_eos = TRUE;
  } else if (eos) {
    side->sent_instances++;
    side->sent_bytes += tc->size;
  }
  g_mutex_unlock (&side->lock);
  gst_element_release_request_pad (side->tunnel, tc->tunnel_pad);
  gst_object_unref (tc->tunnel_pad);
  gst_pad_set_active (tc->src, FALSE);
  gst_object_unref (tc->src);
  g_free (tc);
}

static guint
random_chunk (GRand * rand)
{
  /* log-uniform: many small writes, some up to 64 KiB */
  return g_rand_int_range (rand, 1, (1 << g_rand_int_range (rand, 1, 17)) + 1);
}

static guint32
random_short_size (GRand * rand)
{
  switch (g_rand_int_range (rand, 0, 8)) {
    case 0:
      return 0;                 /* header only */
    case 1:
      return g_rand_int_range (rand, 1, 64);
    default:
      return g_rand_int_range (rand, 1, MAX_SHORT_SIZE + 1);
  }
}

static gpointer
feeder_thread (gpointer data)
{
  Side *side = data;
  TxConn *bulk, *shorts[MAX_SHORT] = { NULL, };
  gboolean ok = TRUE;
  guint i;

  bulk = tx_open (side, BULK_SIZE);
  ok = bulk != NULL;
  while (ok && !g_atomic_int_get (&stop_feeding)) {
    guint pick = g_rand_int_range (side->rand, 0, 2 * MAX_SHORT);

    if (pick >= MAX_SHORT) {    /* half of the writes go to the bulk */
      ok = tx_push (side, bulk, random_chunk (side->rand));
      continue;
    }
    if (!shorts[pick]) {
      shorts[pick] = tx_open (side, random_short_size (side->rand));
      ok = shorts[pick] != NULL;
      continue;
    }
    ok = tx_push (side, shorts[pick], random_chunk (side->rand));
    if (ok && shorts[pick]->sent == shorts[pick]->size) {
      tx_close (side, shorts[pick]);
      shorts[pick] = NULL;
    }
  }
  /* Finish what is open so that every instance can be checked. */
  for (i = 0; i < MAX_SHORT; i++) {
    if (!shorts[i])
      continue;
    while (ok && shorts[i]->sent < shorts[i]->size)
      ok = tx_push (side, shorts[i], 65536);
    if (ok && shorts[i]->sent == 0)
      ok = tx_push (side, shorts[i], 0);        /* the header */
    tx_close (side, shorts[i]);
  }
  if (bulk)
    tx_close (side, bulk);

  g_mutex_lock (&side->lock);
  side->feeder_done = TRUE;
  g_cond_broadcast (&side->cond);
  g_mutex_unlock (&side->lock);
  return NULL;
}

/* ---------- process figures ---------- */

static guint64
proc_status_kb (const gchar * field)
{
  gchar *contents = NULL, *line;
  guint64 value = 0;

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL))
    return 0;
  line = strstr (contents, field);
  if (line)
    value = g_ascii_strtoull (line + strlen (field), NULL, 10);
  g_free (contents);
  return value;
}

static guint
count_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *e;
  guint n = 0;

  if (!dir)
    return 0;
  while ((e = readdir (dir)))
    if (e->d_name[0] != '.')
      n++;
  closedir (dir);
  return n - 1;                 /* the one opendir holds */
}

typedef struct
{
  guint64 rss_kb;
  guint fds, threads;
} Sample;

static void
sample (Sample * s)
{
  s->rss_kb = proc_status_kb ("VmRSS:");
  s->fds = count_fds ();
  s->threads = proc_status_kb ("Threads:");
}

static void
print_sample (gdouble t, const Sample * s, Side * a, Side * b)
{
  guint64 ai, ab, bi, bb, abulk, bbulk;

  g_mutex_lock (&b->lock);
  ai = b->rx_instances;
  ab = b->rx_bytes;
  abulk = b->rx_bulk;
  g_mutex_unlock (&b->lock);
  g_mutex_lock (&a->lock);
  bi = a->rx_instances;
  bb = a->rx_bytes;
  bbulk = a->rx_bulk;
  g_mutex_unlock (&a->lock);
  g_print ("t=%6.0fs rss=%" G_GUINT64_FORMAT " KiB fds=%u threads=%u | "
      "client->server %" G_GUINT64_FORMAT " conns %" G_GUINT64_FORMAT
      " B + bulk %" G_GUINT64_FORMAT " B | server->client %" G_GUINT64_FORMAT
      " conns %" G_GUINT64_FORMAT " B + bulk %" G_GUINT64_FORMAT " B\n", t,
      s->rss_kb, s->fds, s->threads, ai, ab, abulk, bi, bb, bbulk);
}

/* ---------- peers ---------- */

static void
side_init (Side * side, const gchar * name, gboolean client, guint32 seed)
{
  memset (side, 0, sizeof (*side));
  side->name = name;
  g_mutex_init (&side->lock);
  g_cond_init (&side->cond);
  side->inst_flag = client ? 0 : 0x80000000u;
  side->rand = g_rand_new_with_seed (seed);
  side->last_inst = g_hash_table_new (NULL, NULL);
  side->pipeline = gst_pipeline_new (name);
  side->webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  side->tunnel = gst_element_factory_make ("frametunnel", "tunnel");
  if (!side->webrtc || !side->tunnel) {
    g_printerr ("webrtcbin or frametunnel missing\n");
    exit (2);
  }
  g_object_set (side->webrtc, "bundle-policy", 3 /* max-bundle */ , NULL);
  g_object_set (side->tunnel, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", client, "ping-interval", 1000, NULL);
  gst_bin_add_many (GST_BIN (side->pipeline), side->webrtc, side->tunnel,
      NULL);
  g_signal_connect (side->tunnel, "pad-added", G_CALLBACK (tunnel_pad_added),
      side);
  g_signal_connect (side->tunnel, "pad-removed",
      G_CALLBACK (tunnel_pad_removed), side);
}

static void
side_clear (Side * side)
{
  if (!wrtc_set_state_bounded (side->pipeline, GST_STATE_NULL, 60))
    record_failure ("%s: pipeline hung going to NULL", side->name);
  else
    gst_object_unref (side->pipeline);
  g_rand_free (side->rand);
  g_hash_table_unref (side->last_inst);
}

static void
check_bus (Side * side)
{
  GstBus *bus = gst_element_get_bus (side->pipeline);
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR |
              GST_MESSAGE_WARNING))) {
    GError *err;
    gchar *dbg;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &err, &dbg);
      record_failure ("%s: error from %s: %s (%s)", side->name,
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message, dbg);
    } else {
      gst_message_parse_warning (msg, &err, &dbg);
      g_printerr ("%s: warning from %s: %s (%s)\n", side->name,
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message, dbg);
    }
    g_error_free (err);
    g_free (dbg);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
}

/* Waits until @rx received everything @tx sent (bounded). */
static gboolean
wait_delivered (Side * tx, Side * rx, gint64 deadline)
{
  guint64 sent_i, sent_b, bulk;
  gboolean bulk_eos, ok = FALSE;

  g_mutex_lock (&tx->lock);
  while (!tx->feeder_done)
    if (!g_cond_wait_until (&tx->cond, &tx->lock, deadline))
      break;
  sent_i = tx->sent_instances;
  sent_b = tx->sent_bytes;
  bulk = tx->bulk_sent;
  bulk_eos = tx->bulk_sent_eos;
  if (!tx->feeder_done) {
    g_mutex_unlock (&tx->lock);
    record_failure ("%s: feeder still blocked after %d s", tx->name,
        DRAIN_S);
    return FALSE;
  }
  g_mutex_unlock (&tx->lock);

  g_mutex_lock (&rx->lock);
  while ((rx->rx_instances < sent_i || (bulk_eos && !rx->rx_bulk_eos))
      && !failed ())
    if (!g_cond_wait_until (&rx->cond, &rx->lock, deadline))
      break;
  if (rx->rx_instances != sent_i || rx->rx_bytes != sent_b)
    record_failure ("%s -> %s: %" G_GUINT64_FORMAT " instances (%"
        G_GUINT64_FORMAT " B) sent, %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
        " B) received complete", tx->name, rx->name, sent_i, sent_b,
        rx->rx_instances, rx->rx_bytes);
  else if (rx->rx_bulk != bulk || rx->rx_bulk_eos != bulk_eos)
    record_failure ("%s -> %s: bulk %" G_GUINT64_FORMAT " B sent, %"
        G_GUINT64_FORMAT " B received (EOS %d/%d)", tx->name, rx->name, bulk,
        rx->rx_bulk, bulk_eos, rx->rx_bulk_eos);
  else
    ok = TRUE;
  g_mutex_unlock (&rx->lock);
  return ok;
}

int
main (int argc, char **argv)
{
  gint seconds = 1800, rss_tol_mb = 32;
  gint64 seed = -1;
  GOptionEntry entries[] = {
    {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Run time (default 1800)",
        "N"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (default: time)",
        "S"},
    {"rss-tolerance-mb", 0, 0, G_OPTION_ARG_INT, &rss_tol_mb,
        "Allowed RSS growth after warm-up, MiB (default 32)", "M"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- wrtcframe soak run");
  GError *err = NULL;
  Side a, b;
  WrtcLoopback *lb;
  Sample s, warm = { 0, }, end;
  gint64 start, now, warm_at, stop_at, next_print;
  gint interval, checks = 0, failures = 0;
  gboolean warmed = FALSE, rss_ok, fds_ok, threads_ok, data_ok;
  guint warm_threads_max = 0;
  const guint THREAD_SLACK = 8;
  gchar *error;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (seed < 0)
    seed = g_get_real_time () % 1000000;
  g_print ("wrtcframe-soak: %d s, seed %" G_GINT64_FORMAT
      ", RSS tolerance %d MiB after warm-up\n", seconds, seed, rss_tol_mb);

  side_init (&a, "client", TRUE, seed);
  side_init (&b, "server", FALSE, seed + 1);
  a.other = &b;
  b.other = &a;
  lb = wrtc_loopback_new (a.webrtc, b.webrtc);
  if (!wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING, 60)
      || !wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING, 60)) {
    g_printerr ("peers did not start\n");
    return 1;
  }
  a.feeder = g_thread_new ("feed-client", feeder_thread, &a);
  b.feeder = g_thread_new ("feed-server", feeder_thread, &b);

  /* Warm-up: a sixth of the run, 5 s to 3 min. */
  interval = seconds >= 300 ? 10 : 2;
  start = g_get_monotonic_time ();
  warm_at = start + CLAMP (seconds / 6, 5, 180) * G_TIME_SPAN_SECOND;
  stop_at = start + (gint64) seconds *G_TIME_SPAN_SECOND;
  next_print = start;
  while ((now = g_get_monotonic_time ()) < stop_at && !failed ()) {
    check_bus (&a);
    check_bus (&b);
    error = wrtc_loopback_dup_error (lb);
    if (error) {
      record_failure ("signalling: %s", error);
      g_free (error);
    }
    if (now >= next_print) {
      sample (&s);
      print_sample ((now - start) / 1e6, &s, &a, &b);
      if (!warmed && now >= warm_at) {
        warm = s;
        warmed = TRUE;
        g_print ("warm-up done: rss=%" G_GUINT64_FORMAT " KiB fds=%u "
            "threads=%u\n", warm.rss_kb, warm.fds, warm.threads);
      }
      if (!warmed)
        warm_threads_max = MAX (warm_threads_max, s.threads);
      next_print += interval * G_TIME_SPAN_SECOND;
    }
    g_usleep (100 * 1000);
  }

  /* End figures while everything still runs, then drain and compare. */
  sample (&end);
  print_sample ((g_get_monotonic_time () - start) / 1e6, &end, &a, &b);
  g_atomic_int_set (&stop_feeding, 1);
  {
    gint64 deadline = g_get_monotonic_time () + DRAIN_S * G_TIME_SPAN_SECOND;
    gboolean ab = wait_delivered (&a, &b, deadline);
    gboolean ba = wait_delivered (&b, &a, deadline);

    data_ok = ab && ba && !failed ();
  }
  check_bus (&a);
  check_bus (&b);
  g_print ("client->server: %" G_GUINT64_FORMAT " short connections, %"
      G_GUINT64_FORMAT " B, bulk %" G_GUINT64_FORMAT " B\n", b.rx_instances,
      b.rx_bytes, b.rx_bulk);
  g_print ("server->client: %" G_GUINT64_FORMAT " short connections, %"
      G_GUINT64_FORMAT " B, bulk %" G_GUINT64_FORMAT " B\n", a.rx_instances,
      a.rx_bytes, a.rx_bulk);

  if (!warmed)
    warm = end;
  g_print ("RSS after warm-up %" G_GUINT64_FORMAT " KiB, at end %"
      G_GUINT64_FORMAT " KiB (%+" G_GINT64_FORMAT " KiB); fds %u -> %u; "
      "threads %u -> %u (max during warm-up %u)\n", warm.rss_kb, end.rss_kb,
      (gint64) end.rss_kb - (gint64) warm.rss_kb, warm.fds, end.fds,
      warm.threads, end.threads, warm_threads_max);
#ifdef UNDER_ASAN
  /* ASan's quarantine holds freed memory: RSS says nothing there. */
  rss_ok = TRUE;
  g_print ("RSS check skipped (AddressSanitizer build)\n");
#else
  rss_ok = end.rss_kb <= warm.rss_kb + (guint64) rss_tol_mb * 1024;
#endif
  fds_ok = end.fds <= warm.fds;
  /* every connection's framedemux pad has a task from GStreamer's thread
   * pool, so the count follows how many connections are open at the
   * moment; growth is what matters, not a few pooled threads more */
  threads_ok = end.threads <= MAX (warm.threads, warm_threads_max) +
      THREAD_SLACK;
  checks = 4;
  failures = !data_ok + !rss_ok + !fds_ok + !threads_ok;
  if (!data_ok)
    g_print ("FAIL: data: %s\n", first_failure ? first_failure : "?");
  if (!rss_ok)
    g_print ("FAIL: RSS grew by more than %d MiB after warm-up\n", rss_tol_mb);
  if (!fds_ok)
    g_print ("FAIL: fd count grew\n");
  if (!threads_ok)
    g_print ("FAIL: thread count grew\n");

  if (data_ok) {
    /* Only a drained channel lets webrtcbin 1.22 go down without hanging. */
    g_thread_join (a.feeder);
    g_thread_join (b.feeder);
    side_clear (&a);
    side_clear (&b);
    wrtc_loopback_free (lb);
    if (failed ())
      failures++;
    /* the leaks tracer (GST_TRACERS=leaks) reports here */
    gst_deinit ();
  }
  g_print ("Checks: %d, Failures: %d, Errors: 0\n", checks, failures);
  return failures ? 1 : 0;
}

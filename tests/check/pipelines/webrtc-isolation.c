/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Isolation with the default credit flow control, over real webrtcbin on
 * 127.0.0.1: one connection read by a slow application must cost the
 * others nothing, in both directions at once.
 */

#include "webrtc-fixture.h"

#define SLOW_RATE (100 * 1000)  /* bytes/s the slow reader takes */
#define SLOW_BYTES (400 * 1000) /* four seconds of it */
#define FAST_BYTES (16 * 1024 * 1024)
#define FAST_CHUNK (16 * 1024)
/* framedemux's default window, and what one message may add to it */
#define WINDOW (256 * 1024)
#define MAX_MESSAGE (64 * 1024)
#define MAX_IN_FLIGHT (512 * 1024)

typedef struct
{
  gdouble fast_rate[2];         /* MB/s, a->b and b->a */
  gint64 fast_gap_us[2];        /* longest pause on the fast connection */
  guint64 max_slow_queued[2];   /* in the receiving framedemux */
  guint64 max_outstanding[2];   /* in the sending framemux */
  guint64 credit_waits[2];      /* framemux waited for the slow window */
} PhaseResult;

static GstElement *
find_in_bin (GstElement * bin, const gchar * factory)
{
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (bin));
  GValue v = G_VALUE_INIT;
  GstElement *found = NULL;

  while (!found && gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    GstElement *e = g_value_get_object (&v);

    if (g_str_equal (GST_OBJECT_NAME (gst_element_get_factory (e)), factory))
      found = gst_object_ref (e);
    g_value_reset (&v);
  }
  g_value_unset (&v);
  gst_iterator_free (it);
  fail_unless (found != NULL, "no %s in %s", factory, GST_OBJECT_NAME (bin));
  return found;
}

static guint64
conn_queued (GstElement * demux, guint conn)
{
  GstStructure *stats = get_stats (demux);
  const GValue *conns = gst_structure_get_value (stats, "connections");
  guint64 queued = 0;
  guint i;

  for (i = 0; i < gst_value_array_get_size (conns); i++) {
    const GstStructure *c =
        gst_value_get_structure (gst_value_array_get_value (conns, i));
    guint no = 0;

    gst_structure_get_uint (c, "conn", &no);
    if (no == conn)
      queued = stat_u64 (c, "queued-bytes");
  }
  gst_structure_free (stats);
  return queued;
}

static gboolean
all_received (Peer * rx, Peer * tx)
{
  gboolean done = TRUE;
  guint i;

  g_mutex_lock (&rx->rx.lock);
  fail_if (rx->rx.mismatch, "%s", rx->rx.mismatch);
  for (i = 0; i < tx->n_sources; i++) {
    guint conn = tx->sources[i].conn;

    done &= rx->rx.received[conn] == tx->sources[i].total && rx->rx.eos[conn];
  }
  g_mutex_unlock (&rx->rx.lock);
  return done;
}

static gboolean
fast_done (Peer * rx, guint conn)
{
  gboolean done;

  g_mutex_lock (&rx->rx.lock);
  done = rx->rx.received[conn] >= FAST_BYTES;
  g_mutex_unlock (&rx->rx.lock);
  return done;
}

static gdouble
rate_mb_s (Peer * rx, guint conn)
{
  gint64 us;

  g_mutex_lock (&rx->rx.lock);
  us = rx->rx.last_us[conn] - rx->rx.first_us[conn];
  g_mutex_unlock (&rx->rx.lock);
  return us > 0 ? (gdouble) FAST_BYTES / us : 0;
}

static void
fail_on_bus_trouble (Peer * peer)
{
  GstBus *bus = gst_element_get_bus (peer->pipeline);
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus,
              GST_MESSAGE_ERROR | GST_MESSAGE_WARNING))) {
    GError *err;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      fail_on_error (peer, msg);
    gst_message_parse_warning (msg, &err, NULL);
    fail ("%s: warning from %s: %s", GST_ELEMENT_NAME (peer->pipeline),
        GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
  }
  gst_object_unref (bus);
}

/* Both directions at once: each side sends a fast connection and, with
 * @slow, first a connection the other side reads at SLOW_RATE. */
static void
run_phase (gboolean slow, PhaseResult * res)
{
  Peer p[2];
  GstElement *tunnel[2], *demux[2], *mux[2];
  guint fast_conn[2];
  WrtcLoopback *lb;
  gint64 deadline;
  guint d, n = slow ? 2 : 1;

  memset (res, 0, sizeof (*res));
  peer_init (&p[0], "client");
  peer_init (&p[1], "server");
  for (d = 0; d < 2; d++) {
    Source *fast;

    tunnel[d] = peer_add_tunnel (&p[d], d == 0, n, FAST_BYTES);
    fast = &p[d].sources[n - 1];
    fast->chunk = FAST_CHUNK;
    fast_conn[d] = fast->conn;
    if (slow) {
      p[d].sources[0].total = SLOW_BYTES;
      /* the other side reads this side's first connection slowly */
      p[!d].rx.rate[p[d].sources[0].conn] = SLOW_RATE;
    }
    demux[d] = find_in_bin (tunnel[d], "framedemux");
    mux[d] = find_in_bin (tunnel[d], "framemux");
  }
  peers_start (&p[0], &p[1], &lb);

  /* the fast connections, with the queues sampled while they run */
  deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  while (!fast_done (&p[1], fast_conn[0]) || !fast_done (&p[0], fast_conn[1])) {
    fail_unless (g_get_monotonic_time () < deadline, "fast connections: "
        "%" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " of %d bytes in %d s",
        p[1].rx.received[fast_conn[0]], p[0].rx.received[fast_conn[1]],
        FAST_BYTES, WAIT_S);
    for (d = 0; d < 2; d++) {
      GstStructure *stats = get_stats (mux[d]);

      res->max_outstanding[d] = MAX (res->max_outstanding[d],
          stat_u64 (stats, "outstanding"));
      gst_structure_free (stats);
      if (slow)
        res->max_slow_queued[d] = MAX (res->max_slow_queued[d],
            conn_queued (demux[!d], p[d].sources[0].conn));
    }
    g_usleep (20 * 1000);
  }
  for (d = 0; d < 2; d++) {
    res->fast_rate[d] = rate_mb_s (&p[!d], fast_conn[d]);
    res->fast_gap_us[d] = p[!d].rx.max_gap_us[fast_conn[d]];
  }

  /* the slow ones finish at their reader's pace, every byte */
  deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  while (!all_received (&p[1], &p[0]) || !all_received (&p[0], &p[1])) {
    fail_unless (g_get_monotonic_time () < deadline, "slow connections "
        "incomplete after %d s: %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT
        " of %d bytes", WAIT_S, p[1].rx.received[p[0].sources[0].conn],
        p[0].rx.received[p[1].sources[0].conn], SLOW_BYTES);
    g_usleep (20 * 1000);
  }
  for (d = 0; d < 2; d++) {
    GstStructure *stats = get_stats (mux[d]);

    res->credit_waits[d] = stat_u64 (stats, "credit-waits");
    gst_structure_free (stats);
    fail_on_bus_trouble (&p[d]);
    gst_object_unref (demux[d]);
    gst_object_unref (mux[d]);
  }
  peers_stop (&p[0], &p[1], lb);
}

GST_START_TEST (test_slow_consumer)
{
  PhaseResult alone, shared, r;
  guint d, round;

  /* Each setting twice, alternating, the better run of each kept: on
   * loopback a dropped SCTP packet stalls a transfer for usrsctp's 1 s
   * minimum retransmission timeout, whichever setting it hits (the
   * longest pause is printed). */
  memset (&alone, 0, sizeof (alone));
  memset (&shared, 0, sizeof (shared));
  for (round = 0; round < 4; round++) {
    PhaseResult *keep = round % 2 ? &shared : &alone;

    run_phase (round % 2, &r);
    for (d = 0; d < 2; d++) {
      g_print ("  %s run: %s fast %.2f MB/s, longest pause %" G_GINT64_FORMAT
          " ms\n", round % 2 ? "shared" : "alone", d ? "server->client" :
          "client->server", r.fast_rate[d], r.fast_gap_us[d] / 1000);
      if (r.fast_rate[d] > keep->fast_rate[d])
        keep->fast_rate[d] = r.fast_rate[d];
      keep->max_slow_queued[d] = MAX (keep->max_slow_queued[d],
          r.max_slow_queued[d]);
      keep->max_outstanding[d] = MAX (keep->max_outstanding[d],
          r.max_outstanding[d]);
      /* every shared run must have hit the slow connection's window */
      if (round % 2)
        fail_unless (r.credit_waits[d] > 0, "no credit wait");
    }
  }
  for (d = 0; d < 2; d++) {
    gdouble ratio = shared.fast_rate[d] / alone.fast_rate[d];
    const gchar *dir = d == 0 ? "client->server" : "server->client";

    /* the figure this test exists for */
    g_print ("slow consumer %s: fast connection %.2f MB/s alone, %.2f MB/s "
        "next to one read at %d KB/s (%.2fx); slow connection's framedemux "
        "queue peaked at %" G_GUINT64_FORMAT " B, framemux outstanding at %"
        G_GUINT64_FORMAT " B\n", dir, alone.fast_rate[d],
        shared.fast_rate[d], SLOW_RATE / 1000, ratio,
        shared.max_slow_queued[d], shared.max_outstanding[d]);
    fail_unless (ratio >= 0.8, "%s: the fast connection kept only %.2f of "
        "its throughput", dir, ratio);
    fail_unless (shared.max_slow_queued[d] <= WINDOW + MAX_MESSAGE,
        "%s: %" G_GUINT64_FORMAT " B queued for the slow connection", dir,
        shared.max_slow_queued[d]);
    fail_unless (shared.max_outstanding[d] <= MAX_IN_FLIGHT + MAX_MESSAGE,
        "%s: %" G_GUINT64_FORMAT " B outstanding", dir,
        shared.max_outstanding[d]);
  }
}

GST_END_TEST;

/* sctpenc logs this (TRACE) each time usrsctp's send buffer is full and it
 * waits to retry: the EAGAIN loop behind webrtcbin 1.22's shutdown hang. */
#define SCTP_BUFFER_FULL "Sent only "

static gint sctp_buffer_full;

static void
count_sctp_buffer_full (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  if (level == GST_LEVEL_TRACE
      && g_str_equal (gst_debug_category_get_name (category), "sctpenc")
      && g_str_has_prefix (gst_debug_message_get (message), SCTP_BUFFER_FULL))
    g_atomic_int_inc (&sctp_buffer_full);
}

static gint
bulk_transfer_sctp_buffer_full (gboolean flow_control)
{
  const guint64 bytes = 8 * 1024 * 1024;
  WrtcLoopback *lb;
  Peer a, b;

  g_atomic_int_set (&sctp_buffer_full, 0);
  peer_init (&a, "sender");
  peer_init (&b, "receiver");
  peer_add_sender (&a, 3, bytes, 65536, TRUE);
  peer_add_receiver (&b, FALSE);
  g_object_set (a.sink, "close-on-eos", FALSE, NULL);
  peer_set_flow_control (&a, flow_control);
  peers_start (&a, &b, &lb);
  peer_wait_received (&b, 3, bytes);
  peer_check_received (&b, 3, bytes, FALSE);
  peers_stop (&a, &b, lb);
  return g_atomic_int_get (&sctp_buffer_full);
}

/* With credit the unacknowledged bytes stay below what usrsctp buffers,
 * so sctpenc never finds its send buffer full; without (a reference
 * peer's mode) it does, which shows the count can see it. */
GST_START_TEST (test_sctp_buffer_never_full)
{
  gint with_credit, without_credit;

  gst_debug_set_threshold_for_name ("sctpenc", GST_LEVEL_TRACE);
  gst_debug_add_log_function (count_sctp_buffer_full, NULL, NULL);
  with_credit = bulk_transfer_sctp_buffer_full (TRUE);
  without_credit = bulk_transfer_sctp_buffer_full (FALSE);
  gst_debug_remove_log_function (count_sctp_buffer_full);
  g_print ("sctpenc found usrsctp's send buffer full %d times with credit "
      "flow control, %d times without (3 x 8 MiB)\n", with_credit,
      without_credit);
  fail_unless_equals_int (with_credit, 0);
  fail_unless (without_credit > 0, "the buffer never filled without credit: "
      "the count sees nothing");
}

GST_END_TEST;

static Suite *
webrtc_isolation_suite (void)
{
  Suite *s = suite_create ("webrtc-isolation");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_slow_consumer);
  tcase_add_test (tc, test_sctp_buffer_never_full);
  return s;
}

GST_CHECK_MAIN (webrtc_isolation);

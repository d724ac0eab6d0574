/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * webrtctunnel through a real TURN relay: the test starts coturn
 * (turnserver, Debian package coturn) on 127.0.0.1 with a free port and a
 * static long-term credential, and two endpoints in this process, both with
 * turn-server=turn://u:p@127.0.0.1:PORT and ice-transport-policy=relay,
 * signalled through the embedded server. Byte-exact both ways at once, and
 * the relay proven used twice: the local candidate libnice selected on
 * each side is a relayed one (so the pair is relay to relay), and coturn's
 * log shows the allocations. Prints the throughput through the relay.
 *
 * Exits 77 (skipped) when turnserver is not installed. coturn gets
 * PR_SET_PDEATHSIG: it dies with the test process even if a check fails.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "webrtc-fixture.h"
#include "signalling-server.h"

#define TURN_USER "u"
#define TURN_PASSWORD "p"
#define TURN_REALM "wrtcframe"
/* producer to consumer, and back at the same time */
#define BYTES_A (8 * 1024 * 1024)
#define BYTES_B (4 * 1024 * 1024)

typedef struct
{
  GSubprocess *proc;
  gchar *dir;
  guint16 port;
} Turn;

typedef struct
{
  GstElement *pipeline;
  GstElement *tunnel;
  Source source;
  Receiver rx;
  GObject *agent;               /* libnice's */
  GList *candidates;            /* local ones webrtcbin gave out */
  gchar *selected;              /* foundation of the selected local one */
} Side;

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static guint16
free_udp_port (void)
{
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *any = g_inet_socket_address_new (lo, 0), *bound;
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, NULL);
  GError *err = NULL;
  guint16 port;

  fail_unless (sock != NULL);
  fail_unless (g_socket_bind (sock, any, FALSE, &err), "bind: %s",
      err ? err->message : "?");
  bound = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (sock);
  g_object_unref (any);
  g_object_unref (lo);
  return port;
}

static gchar *
turn_path (Turn * turn, const gchar * name)
{
  return g_build_filename (turn->dir, name, NULL);
}

static gchar *
turn_log (Turn * turn)
{
  gchar *path = turn_path (turn, "turn.log"), *log = NULL;

  if (!g_file_get_contents (path, &log, NULL, NULL))
    log = g_strdup ("(no log)");
  g_free (path);
  return log;
}

/* A STUN Binding request (RFC 5389) every 100 ms until coturn answers one
 * on its UDP listener: then it is serving. Fails after WAIT_S, or at once
 * when turnserver exits. */
static void
turn_wait_ready (Turn * turn)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *to = g_inet_socket_address_new (lo, turn->port);
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, NULL);
  guint8 req[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
  guint8 resp[512];
  gboolean ready = FALSE;
  gchar *log;
  guint i;

  for (i = 8; i < 20; i++)
    req[i] = g_random_int_range (0, 256);
  fail_unless (sock != NULL);
  g_socket_set_blocking (sock, FALSE);
  while (!ready && g_get_monotonic_time () < deadline &&
      g_subprocess_get_identifier (turn->proc) != NULL) {
    gint64 until = g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND;

    g_socket_send_to (sock, to, (const gchar *) req, sizeof (req), NULL, NULL);
    while (!ready && g_socket_condition_timed_wait (sock, G_IO_IN,
            until - g_get_monotonic_time (), NULL, NULL)) {
      gssize n = g_socket_receive (sock, (gchar *) resp, sizeof (resp), NULL,
          NULL);

      /* a Binding success response to this transaction */
      ready = n >= 20 && resp[0] == 0x01 && resp[1] == 0x01 &&
          memcmp (resp + 4, req + 4, 16) == 0;
    }
  }
  log = turn_log (turn);
  fail_unless (ready, "turnserver did not answer a STUN Binding request on "
      "127.0.0.1:%u within %d s (%s); its log:\n%s", turn->port, WAIT_S,
      g_subprocess_get_identifier (turn->proc) ? "running" : "it exited",
      log);
  g_free (log);
  g_object_unref (sock);
  g_object_unref (to);
  g_object_unref (lo);
}

static void
turn_start (Turn * turn)
{
  GSubprocessLauncher *l =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  gchar *port, *log, *pid, *db, *out;
  GError *err = NULL;

  turn->dir = g_dir_make_tmp ("wrtc-turn-XXXXXX", NULL);
  fail_unless (turn->dir != NULL);
  turn->port = free_udp_port ();
  port = g_strdup_printf ("%u", turn->port);
  log = turn_path (turn, "turn.log");
  pid = turn_path (turn, "turn.pid");
  db = turn_path (turn, "turndb");
  out = turn_path (turn, "turn.out");
  g_subprocess_launcher_set_stdout_file_path (l, out);
  g_subprocess_launcher_set_child_setup (l, die_with_parent, NULL, NULL);
  /* -n: no configuration file; loopback only; --allow-loopback-peers, or
   * coturn refuses to relay to 127.0.0.1; --simple-log: the log at exactly
   * this path */
  turn->proc = g_subprocess_launcher_spawn (l, &err, "turnserver", "-n",
      "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
      "--listening-port", port, "--lt-cred-mech",
      "--user", TURN_USER ":" TURN_PASSWORD, "--realm", TURN_REALM,
      "--no-tls", "--no-dtls", "--allow-loopback-peers", "--no-cli",
      "--verbose", "--simple-log", "--log-file", log, "--pidfile", pid,
      "--userdb", db, NULL);
  fail_unless (turn->proc != NULL, "turnserver: %s", err ? err->message : "?");
  turn_wait_ready (turn);
  g_free (out);
  g_free (db);
  g_free (pid);
  g_free (log);
  g_free (port);
  g_object_unref (l);
}

static void
on_exited (GObject * source, GAsyncResult * result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  g_main_loop_quit (user_data);
}

static gboolean
on_timeout (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
turn_stop (Turn * turn)
{
  const gchar *names[] = { "turn.log", "turn.pid", "turndb", "turn.out" };
  GMainContext *ctx = g_main_context_new ();
  GMainLoop *loop = g_main_loop_new (ctx, FALSE);
  GSource *timeout = g_timeout_source_new_seconds (WAIT_S);
  guint i;

  /* SIGTERM, and SIGKILL if it is still there WAIT_S later */
  g_main_context_push_thread_default (ctx);
  g_source_set_callback (timeout, on_timeout, loop, NULL);
  g_source_attach (timeout, ctx);
  g_subprocess_send_signal (turn->proc, SIGTERM);
  g_subprocess_wait_async (turn->proc, NULL, on_exited, loop);
  g_main_loop_run (loop);
  if (g_subprocess_get_identifier (turn->proc)) {
    g_subprocess_force_exit (turn->proc);
    g_subprocess_wait (turn->proc, NULL, NULL);
  }
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_pop_thread_default (ctx);
  g_main_loop_unref (loop);
  g_main_context_unref (ctx);
  g_object_unref (turn->proc);
  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    gchar *p = turn_path (turn, names[i]);

    g_remove (p);
    g_free (p);
  }
  g_rmdir (turn->dir);
  g_free (turn->dir);
}

/* A local candidate webrtcbin gave out ("candidate:FOUNDATION COMPONENT
 * TRANSPORT PRIORITY ADDRESS PORT typ TYPE ...") */
static void
on_ice_candidate (GstElement * webrtc, guint mline, const gchar * candidate,
    Side * side)
{
  g_mutex_lock (&side->rx.lock);
  side->candidates = g_list_prepend (side->candidates, g_strdup (candidate));
  g_mutex_unlock (&side->rx.lock);
}

/* libnice's NiceAgent: the pair it selected, by the candidates'
 * foundations (the signal without NiceCandidate: no libnice headers) */
static void
on_selected_pair (GObject * agent, guint stream, guint component,
    const gchar * local, const gchar * remote, Side * side)
{
  g_mutex_lock (&side->rx.lock);
  g_free (side->selected);
  side->selected = g_strdup (local);
  g_mutex_unlock (&side->rx.lock);
}

/* Watches what ICE does in @side's webrtcbin, before it starts. */
static void
side_watch_ice (Side * side)
{
  GstIterator *it = gst_bin_iterate_all_by_element_factory_name (GST_BIN
      (side->tunnel), "webrtcbin");
  GValue item = G_VALUE_INIT;
  GObject *ice = NULL, *agent = NULL;

  fail_unless_equals_int (gst_iterator_next (it, &item), GST_ITERATOR_OK);
  gst_iterator_free (it);
  g_signal_connect (g_value_get_object (&item), "on-ice-candidate",
      G_CALLBACK (on_ice_candidate), side);
  g_object_get (g_value_get_object (&item), "ice-agent", &ice, NULL);
  fail_unless (ice != NULL);
  /* GstWebRTCNice, webrtcbin's only ICE implementation in 1.22 */
  fail_unless (g_object_class_find_property (G_OBJECT_GET_CLASS (ice),
          "agent") != NULL, "%s has no libnice agent",
      G_OBJECT_TYPE_NAME (ice));
  g_object_get (ice, "agent", &agent, NULL);
  fail_unless (agent != NULL);
  g_signal_connect (agent, "new-selected-pair", G_CALLBACK (on_selected_pair),
      side);
  side->agent = agent;
  gst_object_unref (ice);
  g_value_unset (&item);
}

static void
side_init (Side * side, const gchar * launch, guint conn, guint64 bytes)
{
  GstAppSrcCallbacks cb = { source_need_data, NULL, NULL };
  GstElement *appsrc;
  GstPad *srcpad, *sinkpad;
  GError *err = NULL;
  gchar *name;

  memset (side, 0, sizeof (*side));
  g_mutex_init (&side->rx.lock);
  g_cond_init (&side->rx.cond);
  side->pipeline = gst_pipeline_new (NULL);
  /* a lone element comes back as itself */
  side->tunnel = gst_parse_launch (launch, &err);
  fail_unless (side->tunnel != NULL, "%s: %s", launch,
      err ? err->message : "?");
  fail_unless_equals_string (G_OBJECT_TYPE_NAME (side->tunnel),
      "GstWebRTCTunnel");
  gst_bin_add (GST_BIN (side->pipeline), gst_object_ref_sink (side->tunnel));
  g_signal_connect (side->tunnel, "pad-added", G_CALLBACK (demux_pad_added),
      &side->rx);
  side_watch_ice (side);

  side->source.conn = conn;
  side->source.total = bytes;
  side->source.chunk = 16384;
  appsrc = gst_element_factory_make ("appsrc", NULL);
  gst_app_src_set_callbacks (GST_APP_SRC (appsrc), &cb, &side->source, NULL);
  gst_bin_add (GST_BIN (side->pipeline), appsrc);
  name = g_strdup_printf ("sink_%u", conn);
  sinkpad = gst_element_request_pad_simple (side->tunnel, name);
  fail_unless (sinkpad != NULL, "no %s", name);
  srcpad = gst_element_get_static_pad (appsrc, "src");
  fail_unless_equals_int (gst_pad_link (srcpad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref (srcpad);
  gst_object_unref (sinkpad);
  g_free (name);
}

static void
side_expect_eos (Side * side)
{
  GstBus *bus = gst_element_get_bus (side->pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, WAIT_S * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (msg != NULL, "no EOS within %d s", WAIT_S);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, &dbg);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        err->message, dbg);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

static void
side_check_received (Side * side, Side * other)
{
  guint conn = other->source.conn;

  fail_if (side->rx.mismatch, "%s", side->rx.mismatch);
  fail_unless_equals_uint64 (side->rx.received[conn], other->source.total);
  fail_unless (side->rx.eos[conn], "connection %u: no EOS", conn);
}

static void
side_clear (Side * side)
{
  fail_unless (wrtc_set_state_bounded (side->pipeline, GST_STATE_NULL,
          WAIT_S));
  g_signal_handlers_disconnect_by_data (side->agent, side);
  g_object_unref (side->agent);
  gst_object_unref (side->tunnel);
  gst_object_unref (side->pipeline);
  g_list_free_full (side->candidates, g_free);
  g_free (side->selected);
  g_free (side->rx.mismatch);
  g_mutex_clear (&side->rx.lock);
  g_cond_clear (&side->rx.cond);
}

/* webrtcbin 1.22 does not report the selected pair of a data channel's
 * transport (its get-stats covers RTP transceivers only): the local
 * candidate libnice selected, found by its foundation among those
 * webrtcbin gave out, must be a relayed one on 127.0.0.1, an allocation on
 * coturn (not its listening port). */
static void
check_relayed (Side * side, const gchar * name, guint16 turn_port)
{
  gchar *prefix, *cand = NULL, **f;
  GList *l;

  g_mutex_lock (&side->rx.lock);
  fail_unless (side->selected != NULL, "%s: libnice selected no pair", name);
  prefix = g_strdup_printf ("candidate:%s ", side->selected);
  for (l = side->candidates; l && !cand; l = l->next)
    if (g_str_has_prefix (l->data, prefix))
      cand = g_strdup (l->data);
  g_mutex_unlock (&side->rx.lock);
  fail_unless (cand != NULL, "%s: the selected local candidate (foundation "
      "%s) was never given out", name, side->selected);
  g_print ("%s: selected local candidate %s\n", name, cand);
  f = g_strsplit (cand, " ", -1);
  fail_unless (g_strv_length (f) >= 8, "%s", cand);
  fail_unless_equals_string (f[6], "typ");
  fail_unless_equals_string (f[7], "relay");
  fail_unless_equals_string (f[4], "127.0.0.1");
  fail_if (atoi (f[5]) == turn_port, "%s", cand);
  g_strfreev (f);
  g_free (cand);
  g_free (prefix);
}

static gdouble
rate_mb_s (Receiver * rx, guint conn)
{
  return rx->received[conn] / 1e6 / ((rx->last_us[conn] -
          rx->first_us[conn]) / 1e6);
}

GST_START_TEST (test_turn_relay)
{
  WrtcSignallingServerOptions opts;
  WrtcSignallingServer *server;
  gchar *uri, *turn_uri, *launch, *log, **lines;
  guint allocations = 0, i;
  gint64 start, end;
  Turn turn = { 0, };
  Side a, b;

  turn_start (&turn);
  wrtc_signalling_server_options_init (&opts);
  opts.host = "127.0.0.1";
  opts.port = 0;
  server = wrtc_signalling_server_new (&opts, NULL);
  fail_unless (server != NULL);
  uri = wrtc_signalling_server_dup_uri (server);
  turn_uri = g_strdup_printf ("turn://" TURN_USER ":" TURN_PASSWORD
      "@127.0.0.1:%u", turn.port);

  /* local-addresses=127.0.0.1: libnice reaches the TURN server from
   * loopback only (it never gathers it by default); relay: no host
   * candidate is offered, only the relayed ones */
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "turn-server=%s ice-transport-policy=relay signaller::uri=%s "
      "signaller::meta=\"meta,name=turn-a\"", turn_uri, uri);
  side_init (&a, launch, 1, BYTES_A);
  g_free (launch);
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "turn-server=%s ice-transport-policy=relay signaller::uri=%s "
      "signaller::role=consumer signaller::producer-name=turn-a", turn_uri,
      uri);
  side_init (&b, launch, 2, BYTES_B);
  g_free (launch);

  start = g_get_monotonic_time ();
  fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  side_expect_eos (&a);
  side_expect_eos (&b);
  end = g_get_monotonic_time ();
  side_check_received (&b, &a);
  side_check_received (&a, &b);

  check_relayed (&a, "producer", turn.port);
  check_relayed (&b, "consumer", turn.port);

  /* coturn's side of it: an allocation per peer, by our user */
  log = turn_log (&turn);
  lines = g_strsplit (log, "\n", -1);
  for (i = 0; lines[i]; i++)
    if (strstr (lines[i], "ALLOCATE processed, success"))
      allocations++;
  fail_unless (allocations >= 2, "coturn logged %u successful allocations; "
      "its log:\n%s", allocations, log);
  g_strfreev (lines);
  g_free (log);

  g_print ("through the TURN relay (coturn, %u allocations): %.1f MiB "
      "producer->consumer at %.1f MB/s and %.1f MiB back at %.1f MB/s at "
      "the same time (after each first byte); all ended %.2f s after "
      "PLAYING\n", allocations, BYTES_A / 1048576.0, rate_mb_s (&b.rx, 1),
      BYTES_B / 1048576.0, rate_mb_s (&a.rx, 2), (end - start) / 1e6);

  side_clear (&a);
  side_clear (&b);
  wrtc_signalling_server_free (server);
  turn_stop (&turn);
  g_free (turn_uri);
  g_free (uri);
}

GST_END_TEST;

static Suite *
webrtc_turn_suite (void)
{
  Suite *s = suite_create ("webrtc-turn");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_turn_relay);
  return s;
}

int
main (int argc, char **argv)
{
  gchar *turnserver = g_find_program_in_path ("turnserver");

  if (!turnserver) {
    g_print ("turnserver (Debian package coturn) not installed: skipped\n");
    return 77;
  }
  g_free (turnserver);
  gst_check_init (&argc, &argv);
  return gst_check_run_suite (webrtc_turn_suite (), "webrtc-turn", __FILE__);
}

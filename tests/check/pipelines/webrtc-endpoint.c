/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * webrtctunnel with real signalling: the embedded wrtcframe signalling
 * server on 127.0.0.1 (a free port), two endpoints made with
 * gst_parse_launch () in this process, real webrtcbin and libnice on
 * loopback; and hostile signalling from raw WebSockets (a fake server, fake
 * peers of the real server). Every wait is bounded (WAIT_S) and fails.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>
#include <string.h>

#include "webrtc-fixture.h"
#include "fake-ws.h"
#include "signalling-server.h"

typedef struct
{
  GstElement *pipeline;
  GstElement *tunnel;
  Source sources[4];
  guint n_sources;
  Receiver rx;
} Side;

static WrtcSignallingServer *
server_start (gchar ** uri)
{
  WrtcSignallingServerOptions opts;
  WrtcSignallingServer *server;
  GError *err = NULL;

  wrtc_signalling_server_options_init (&opts);
  opts.host = "127.0.0.1";
  opts.port = 0;
  server = wrtc_signalling_server_new (&opts, &err);
  fail_unless (server != NULL, "server: %s", err ? err->message : "?");
  *uri = wrtc_signalling_server_dup_uri (server);
  return server;
}

/* @launch: the webrtctunnel named "t" and its settings. */
static void
side_init (Side * side, const gchar * launch)
{
  GError *err = NULL;

  memset (side, 0, sizeof (*side));
  g_mutex_init (&side->rx.lock);
  g_cond_init (&side->rx.cond);
  side->pipeline = gst_parse_launch (launch, &err);
  fail_unless (side->pipeline != NULL, "%s: %s", launch,
      err ? err->message : "?");
  /* a lone element comes back as itself */
  if (!GST_IS_PIPELINE (side->pipeline)) {
    GstElement *element = side->pipeline;

    side->pipeline = gst_pipeline_new (NULL);
    gst_bin_add (GST_BIN (side->pipeline), element);
  }
  side->tunnel = gst_bin_get_by_name (GST_BIN (side->pipeline), "t");
  fail_unless (side->tunnel != NULL);
  g_signal_connect (side->tunnel, "pad-added", G_CALLBACK (demux_pad_added),
      &side->rx);
}

/* A connection numbered @conn from this side: @bytes of its pattern. */
static void
side_add_source (Side * side, guint conn, guint64 bytes, guint chunk)
{
  GstAppSrcCallbacks cb = { source_need_data, NULL, NULL };
  Source *s = &side->sources[side->n_sources++];
  GstElement *appsrc = gst_element_factory_make ("appsrc", NULL);
  gchar *name = g_strdup_printf ("sink_%u", conn);
  GstPad *srcpad, *sinkpad;

  s->conn = conn;
  s->total = bytes;
  s->chunk = chunk;
  gst_app_src_set_callbacks (GST_APP_SRC (appsrc), &cb, s, NULL);
  gst_bin_add (GST_BIN (side->pipeline), appsrc);
  sinkpad = gst_element_request_pad_simple (side->tunnel, name);
  fail_unless (sinkpad != NULL, "no %s", name);
  srcpad = gst_element_get_static_pad (appsrc, "src");
  fail_unless_equals_int (gst_pad_link (srcpad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref (srcpad);
  gst_object_unref (sinkpad);
  g_free (name);
}

/* The next error on @side's bus within WAIT_S, which must contain @what;
 * warnings on the way are collected into @warnings (if not NULL). */
static void
side_expect_error (Side * side, const gchar * what, GString * warnings)
{
  GstBus *bus = gst_element_get_bus (side->pipeline);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *msg = gst_bus_timed_pop_filtered (bus,
        MAX (left, 0) * GST_USECOND, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING |
        GST_MESSAGE_EOS);
    GError *err = NULL;

    fail_unless (msg != NULL, "no error \"%s\" within %d s", what, WAIT_S);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "EOS instead of "
        "error \"%s\"", what);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      gst_message_parse_warning (msg, &err, NULL);
      GST_INFO ("warning: %s", err->message);
      if (warnings)
        g_string_append_printf (warnings, "%s\n", err->message);
      g_error_free (err);
      gst_message_unref (msg);
      continue;
    }
    gst_message_parse_error (msg, &err, NULL);
    GST_INFO ("error: %s", err->message);
    fail_unless (strstr (err->message, what) != NULL, "error \"%s\" lacks "
        "\"%s\"", err->message, what);
    g_error_free (err);
    gst_message_unref (msg);
    break;
  }
  gst_object_unref (bus);
}

static void
side_expect_eos (Side * side)
{
  GstBus *bus = gst_element_get_bus (side->pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, WAIT_S * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  GError *err = NULL;
  gchar *dbg = NULL;

  if (msg == NULL) {
    GstStructure *stats = NULL;
    guint64 got[4];
    gchar *text;

    /* what the tunnel saw, so that a failure here can be read */
    g_mutex_lock (&side->rx.lock);
    memcpy (got, side->rx.received, sizeof (got));
    g_mutex_unlock (&side->rx.lock);
    g_object_get (side->tunnel, "stats", &stats, NULL);
    text = stats ? gst_structure_to_string (stats) : g_strdup ("no stats");
    fail ("%s: no EOS within %d s; received %" G_GUINT64_FORMAT "/%"
        G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " on connections 1/2/3; %s",
        GST_ELEMENT_NAME (side->pipeline), WAIT_S, got[1], got[2], got[3],
        text);
  }
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, &dbg);
    fail ("%s: error from %s: %s (%s)", GST_ELEMENT_NAME (side->pipeline),
        GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message, dbg);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

/* Everything @other sent arrived at @side, byte-exact and ended. */
static void
side_check_received (Side * side, Side * other)
{
  guint i;

  fail_if (side->rx.mismatch, "%s", side->rx.mismatch);
  for (i = 0; i < other->n_sources; i++) {
    Source *s = &other->sources[i];

    fail_unless_equals_uint64 (side->rx.received[s->conn], s->total);
    fail_unless (side->rx.eos[s->conn], "connection %u: no EOS", s->conn);
  }
}

static void
side_clear (Side * side)
{
  fail_unless (wrtc_set_state_bounded (side->pipeline, GST_STATE_NULL,
          WAIT_S));
  gst_object_unref (side->tunnel);
  gst_object_unref (side->pipeline);
  g_free (side->rx.mismatch);
  g_mutex_clear (&side->rx.lock);
  g_cond_clear (&side->rx.cond);
}

static GstStructure *
tunnel_stats (Side * side)
{
  GstStructure *s = NULL;

  g_object_get (side->tunnel, "stats", &s, NULL);
  fail_unless (s != NULL);
  return s;
}

/* ---------- two endpoints through the real server ---------- */

GST_START_TEST (test_two_endpoints)
{
  const guint64 bytes = 1024 * 1024;
  WrtcSignallingServer *server;
  GstStructure *stats;
  guint64 connect_ns = 0;
  gchar *uri, *launch, *id = NULL;
  gint64 start, end;
  Side a, b;

  server = server_start (&uri);
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::meta=\"meta,name=side-a\"", uri);
  side_init (&a, launch);
  g_free (launch);
  /* the consumer finds the producer by its meta name, whichever starts
   * first */
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::role=consumer "
      "signaller::producer-name=side-a", uri);
  side_init (&b, launch);
  g_free (launch);

  /* producer: odd numbers, consumer: even ones */
  side_add_source (&a, 1, bytes, 1000);
  side_add_source (&a, 3, bytes / 2, 65536);
  side_add_source (&b, 2, bytes, 1500);
  side_add_source (&b, 4, bytes / 4, 7000);

  start = g_get_monotonic_time ();
  fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));

  /* end-when-done: both pipelines end by themselves */
  side_expect_eos (&a);
  side_expect_eos (&b);
  end = g_get_monotonic_time ();
  side_check_received (&b, &a);
  side_check_received (&a, &b);

  stats = tunnel_stats (&b);
  GST_INFO ("consumer %" GST_PTR_FORMAT, stats);
  fail_unless (gst_structure_get_uint64 (stats, "time-to-connect",
          &connect_ns));
  fail_unless (connect_ns > 0);
  fail_unless (gst_structure_get (stats, "peer-id", G_TYPE_STRING, &id,
          NULL));
  fail_unless (id != NULL);
  gst_structure_free (stats);
  {
    gchar *producer_id = NULL;

    gst_child_proxy_get (GST_CHILD_PROXY (a.tunnel), "signaller::client-id",
        &producer_id, NULL);
    fail_unless_equals_string (id, producer_id);
    g_free (producer_id);
  }
  g_free (id);
  g_print ("two endpoints in one process: connected %.0f ms after the "
      "session started, all %.2f MiB moved and both ended %.0f ms after "
      "PLAYING\n", connect_ns / 1e6, (2.75 * bytes) / 1048576.0,
      (end - start) / 1e3);

  side_clear (&a);
  side_clear (&b);
  wrtc_signalling_server_free (server);
  g_free (uri);
}

GST_END_TEST;

static void
on_client_id (GObject * signaller, GParamSpec * pspec, Side * side)
{
  g_mutex_lock (&side->rx.lock);
  g_cond_broadcast (&side->rx.cond);
  g_mutex_unlock (&side->rx.lock);
}

/* The consumer names the producer by the id the server gave it
 * (signaller::producer-peer-id, read from its signaller::client-id). */
GST_START_TEST (test_producer_peer_id)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  WrtcSignallingServer *server;
  GObject *signaller = NULL;
  gchar *uri, *launch, *id = NULL;
  Side a, b;

  server = server_start (&uri);
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s", uri);
  side_init (&a, launch);
  g_free (launch);
  side_add_source (&a, 1, 256 * 1024, 4096);
  g_object_get (a.tunnel, "signaller", &signaller, NULL);
  fail_unless (signaller != NULL);
  g_signal_connect (signaller, "notify::client-id",
      G_CALLBACK (on_client_id), &a);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  g_mutex_lock (&a.rx.lock);
  for (;;) {
    g_object_get (signaller, "client-id", &id, NULL);
    if (id || !g_cond_wait_until (&a.rx.cond, &a.rx.lock, deadline))
      break;
  }
  g_mutex_unlock (&a.rx.lock);
  fail_unless (id != NULL, "the producer got no id within %d s", WAIT_S);

  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::role=consumer "
      "signaller::producer-peer-id=%s", uri, id);
  side_init (&b, launch);
  g_free (launch);
  side_add_source (&b, 2, 128 * 1024, 3000);
  fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  side_expect_eos (&a);
  side_expect_eos (&b);
  side_check_received (&b, &a);
  side_check_received (&a, &b);

  g_signal_handlers_disconnect_by_data (signaller, &a);
  g_object_unref (signaller);
  side_clear (&a);
  side_clear (&b);
  wrtc_signalling_server_free (server);
  g_free (id);
  g_free (uri);
}

GST_END_TEST;

/* end-when-done with one side that sends nothing: it is done at once, and
 * both still end only once the other side's data is across. */
GST_START_TEST (test_one_way_ends)
{
  WrtcSignallingServer *server;
  GstStructure *stats, *ft = NULL;
  gboolean finished = FALSE;
  gchar *uri, *launch;
  Side a, b;

  server = server_start (&uri);
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s", uri);
  side_init (&a, launch);
  g_free (launch);
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::role=consumer", uri);
  side_init (&b, launch);
  g_free (launch);
  side_add_source (&b, 2, 512 * 1024, 8192);
  side_add_source (&b, 4, 1, 1);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  side_expect_eos (&a);
  side_expect_eos (&b);
  side_check_received (&a, &b);
  stats = tunnel_stats (&a);
  fail_unless (gst_structure_get (stats, "frametunnel", GST_TYPE_STRUCTURE,
          &ft, NULL));
  fail_unless (gst_structure_get_boolean (ft, "finished", &finished));
  fail_unless (finished);
  gst_structure_free (ft);
  gst_structure_free (stats);
  side_clear (&a);
  side_clear (&b);
  wrtc_signalling_server_free (server);
  g_free (uri);
}

GST_END_TEST;

/* @side received at least @bytes on connection @conn, within WAIT_S. */
static void
side_wait_bytes (Side * side, guint conn, guint64 bytes)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

  g_mutex_lock (&side->rx.lock);
  while (side->rx.received[conn] < bytes && !side->rx.mismatch)
    if (!g_cond_wait_until (&side->rx.cond, &side->rx.lock, deadline))
      break;
  fail_if (side->rx.mismatch, "%s", side->rx.mismatch);
  fail_unless (side->rx.received[conn] >= bytes, "connection %u: %"
      G_GUINT64_FORMAT " bytes within %d s", conn, side->rx.received[conn],
      WAIT_S);
  g_mutex_unlock (&side->rx.lock);
}

/* The consumer leaves (endSession): with nothing in flight the producer
 * ends with EOS (without end-when-done, so the session's end is what ends
 * it); with a connection still sending, with an error. */
GST_START_TEST (test_end_session)
{
  WrtcSignallingServer *server;
  gchar *uri, *launch;
  Side a, b;
  guint round;

  server = server_start (&uri);
  for (round = 0; round < 2; round++) {
    gboolean in_flight = round == 1;

    launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
        "end-when-done=false signaller::uri=%s", uri);
    side_init (&a, launch);
    g_free (launch);
    launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
        "end-when-done=false signaller::uri=%s signaller::role=consumer",
        uri);
    side_init (&b, launch);
    g_free (launch);
    side_add_source (&a, 1, in_flight ? G_MAXUINT64 : 64 * 1024, 4096);
    /* something to send, or without end-when-done the consumer's inner
     * sink never prerolls (docs) */
    side_add_source (&b, 2, 1024, 1024);
    fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
            WAIT_S));
    fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
            WAIT_S));
    side_wait_bytes (&b, 1, 64 * 1024);
    if (!in_flight) {
      gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;

      /* the connection ended at the consumer: nothing is in flight */
      g_mutex_lock (&b.rx.lock);
      while (!b.rx.eos[1])
        if (!g_cond_wait_until (&b.rx.cond, &b.rx.lock, deadline))
          break;
      fail_unless (b.rx.eos[1], "no EOS on connection 1 within %d s",
          WAIT_S);
      g_mutex_unlock (&b.rx.lock);
    }
    side_clear (&b);
    if (in_flight)
      side_expect_error (&a, "while connections were open", NULL);
    else
      side_expect_eos (&a);
    side_clear (&a);
  }
  wrtc_signalling_server_free (server);
  g_free (uri);
}

GST_END_TEST;

/* ---------- hostile signalling ---------- */

/* A fake server talks to a producer: garbage and unknown messages are
 * warnings, the 1.22-era welcome ("peer_id") works, a second consumer is
 * refused, and an answer that is not SDP is a clear error. */
GST_START_TEST (test_fake_server)
{
  GString *warnings = g_string_new (NULL);
  FakeWs *fake = fake_ws_new_server ();
  gchar *uri = fake_ws_dup_uri (fake), *launch, *msg, *s, *id = NULL;
  gchar *pad;
  Side a;

  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::meta=\"meta,name=hostile\"", uri);
  side_init (&a, launch);
  g_free (launch);
  side_add_source (&a, 1, 1024, 1024);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (fake_ws_wait_open (fake, WAIT_S), "the element never "
      "connected");

  fake_ws_send (fake, "this is { not JSON");
  fake_ws_send (fake, "[1, 2, 3]");
  fake_ws_send (fake, "{\"no\": \"type\"}");
  fake_ws_send (fake, "{\"type\": \"fromTheFuture\", \"x\": [1]}");
  fake_ws_send (fake, "{\"type\": \"welcome\", \"peer_id\": \"old-style\", "
      "\"extra\": {\"ignored\": true}}");
  msg = fake_ws_pop_type (fake, "setPeerStatus", WAIT_S);
  fail_unless (msg != NULL, "no setPeerStatus after the welcome");
  fail_unless (strstr (msg, "\"producer\"") != NULL, "%s", msg);
  s = json_dup_string (msg, "meta.name");
  fail_unless_equals_string (s, "hostile");
  g_free (s);
  g_free (msg);
  gst_child_proxy_get (GST_CHILD_PROXY (a.tunnel), "signaller::client-id",
      &id, NULL);
  fail_unless_equals_string (id, "old-style");
  g_free (id);

  fake_ws_send (fake, "{\"type\": \"startSession\", \"peerId\": \"c1\", "
      "\"sessionId\": \"s1\"}");
  msg = fake_ws_pop_type (fake, "peer", WAIT_S);
  fail_unless (msg != NULL, "no offer");
  s = json_dup_string (msg, "sdp.type");
  fail_unless_equals_string (s, "offer");
  g_free (s);
  s = json_dup_string (msg, "sdp.sdp");
  fail_unless (s && g_str_has_prefix (s, "v=0"), "offer: %s", s);
  g_free (s);
  s = json_dup_string (msg, "sessionId");
  fail_unless_equals_string (s, "s1");
  g_free (s);
  g_free (msg);

  /* one session at a time */
  fake_ws_send (fake, "{\"type\": \"startSession\", \"peerId\": \"c2\", "
      "\"sessionId\": \"s2\"}");
  msg = fake_ws_pop_type (fake, "endSession", WAIT_S);
  fail_unless (msg != NULL, "second consumer not refused");
  s = json_dup_string (msg, "sessionId");
  fail_unless_equals_string (s, "s2");
  g_free (s);
  g_free (msg);

  /* messages for other sessions and a huge unknown one are ignored */
  fake_ws_send (fake, "{\"type\": \"peer\", \"sessionId\": \"other\", "
      "\"sdp\": {\"type\": \"answer\", \"sdp\": \"x\"}}");
  pad = g_strnfill (100 * 1024, 'x');
  s = g_strdup_printf ("{\"type\": \"huge\", \"data\": \"%s\"}", pad);
  fake_ws_send (fake, s);
  g_free (s);
  g_free (pad);
  fake_ws_send (fake, "{\"type\": \"peer\", \"sessionId\": \"s1\", "
      "\"sdp\": {\"type\": \"answer\", \"sdp\": \"hello, I am no SDP\"}}");
  side_expect_error (&a, "not an SDP", warnings);
  GST_INFO ("warnings:\n%s", warnings->str);
  fail_unless (strstr (warnings->str, "malformed JSON") != NULL);
  fail_unless (strstr (warnings->str, "not an object with a \"type\"") !=
      NULL);
  msg = fake_ws_pop_type (fake, "endSession", WAIT_S);
  fail_unless (msg != NULL, "the element did not end the session");
  g_free (msg);

  side_clear (&a);
  fake_ws_free (fake);
  g_free (uri);
  g_string_free (warnings, TRUE);
}

GST_END_TEST;

/* A message above the WebSocket's limit closes the connection: a clear
 * error, not a hang. */
GST_START_TEST (test_oversized_message)
{
  FakeWs *fake = fake_ws_new_server ();
  gchar *uri = fake_ws_dup_uri (fake), *launch, *pad, *s;
  Side a;

  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::role=consumer", uri);
  side_init (&a, launch);
  g_free (launch);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  fail_unless (fake_ws_wait_open (fake, WAIT_S));
  fake_ws_send (fake, "{\"type\": \"welcome\", \"peerId\": \"x\"}");
  pad = g_strnfill (1024 * 1024, 'x');
  s = g_strdup_printf ("{\"type\": \"list\", \"producers\": [], "
      "\"pad\": \"%s\"}", pad);
  fake_ws_send (fake, s);
  g_free (s);
  g_free (pad);
  side_expect_error (&a, "at most 131072 bytes per message", NULL);
  side_clear (&a);
  fake_ws_free (fake);
  g_free (uri);
}

GST_END_TEST;

/* The producer id of a fake peer's "list" answer whose meta name is
 * @name, or NULL. */
static gchar *
list_find (FakeWs * peer, const gchar * name)
{
  gchar *msg, *found = NULL, *needle;

  fake_ws_send (peer, "{\"type\": \"list\"}");
  msg = fake_ws_pop_type (peer, "list", WAIT_S);
  fail_unless (msg != NULL, "no answer to list");
  needle = g_strdup_printf ("\"name\":\"%s\"", name);
  if (strstr (msg, needle)) {
    /* {"id":"...","meta":{"name":"..."}} in some order: the id nearest
     * before or after the name */
    gchar *p = strstr (msg, needle), *q = g_strrstr_len (msg, p - msg,
        "\"id\":\"");

    if (!q)
      q = strstr (p, "\"id\":\"");
    if (q) {
      q += 6;
      found = g_strndup (q, strchr (q, '"') - q);
    }
  }
  g_free (needle);
  g_free (msg);
  return found;
}

static FakeWs *
fake_peer (const gchar * uri)
{
  FakeWs *peer = fake_ws_new_client (uri);
  gchar *msg;

  fail_unless (fake_ws_wait_open (peer, WAIT_S), "fake peer: no connection");
  msg = fake_ws_pop_type (peer, "welcome", WAIT_S);
  fail_unless (msg != NULL, "fake peer: no welcome");
  g_free (msg);
  return peer;
}

/* A consumer meets a fake producer through the real server: garbage sent
 * to the server, a huge message and unknown types do not disturb it; the
 * fake producer's offer that is not SDP ends the consumer with a clear
 * error; the server keeps serving. */
GST_START_TEST (test_fake_producer)
{
  WrtcSignallingServer *server;
  FakeWs *producer, *noise, *other;
  gchar *uri, *launch, *msg, *s, *session, *big, *pad;
  Side b;

  server = server_start (&uri);
  producer = fake_peer (uri);
  fake_ws_send (producer, "{\"type\": \"setPeerStatus\", \"roles\": "
      "[\"producer\"], \"meta\": {\"name\": \"fake\"}}");

  /* noise at the server from another peer */
  noise = fake_peer (uri);
  fake_ws_send (noise, "{{{ not json");
  fake_ws_send (noise, "{\"type\": \"noSuchType\"}");
  fake_ws_send (noise, "{\"type\": \"startSession\", \"peerId\": \"nobody\"}");
  pad = g_strnfill (4 * 1024 * 1024, 'x');
  big = g_strdup_printf ("{\"type\": \"list\", \"pad\": \"%s\"}", pad);
  fake_ws_send (noise, big);
  g_free (big);
  g_free (pad);

  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::role=consumer "
      "signaller::producer-name=fake", uri);
  side_init (&b, launch);
  g_free (launch);
  side_add_source (&b, 2, 1024, 1024);
  fail_unless (wrtc_set_state_bounded (b.pipeline, GST_STATE_PLAYING,
          WAIT_S));

  msg = fake_ws_pop_type (producer, "startSession", WAIT_S);
  fail_unless (msg != NULL, "the consumer never started a session");
  session = json_dup_string (msg, "sessionId");
  fail_unless (session != NULL);
  g_free (msg);
  s = g_strdup_printf ("{\"type\": \"peer\", \"sessionId\": \"%s\", "
      "\"sdp\": {\"type\": \"offer\", \"sdp\": \"<html>not sdp</html>\"}}",
      session);
  fake_ws_send (producer, s);
  g_free (s);
  side_expect_error (&b, "not an SDP", NULL);
  side_clear (&b);

  /* the server still serves: a new peer is welcomed and finds the fake
   * producer */
  other = fake_peer (uri);
  s = list_find (other, "fake");
  fail_unless (s != NULL, "the fake producer is gone from the list");
  g_free (s);

  fake_ws_free (other);
  fake_ws_free (noise);
  fake_ws_free (producer);
  g_free (session);
  wrtc_signalling_server_free (server);
  g_free (uri);
}

GST_END_TEST;

/* A fake consumer starts a session with a real producer and vanishes once
 * it has the offer: the producer ends with a clear error in bounded time
 * (the server's endSession), and the server keeps serving. */
GST_START_TEST (test_peer_vanishes)
{
  WrtcSignallingServer *server;
  FakeWs *consumer, *other;
  gchar *uri, *launch, *msg, *s, *id;
  Side a;

  server = server_start (&uri);
  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=%s signaller::meta=\"meta,name=real\"", uri);
  side_init (&a, launch);
  g_free (launch);
  side_add_source (&a, 1, 1024, 1024);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));

  /* a listener first, then the list: the producer is in the list or is
   * announced afterwards (peerStatusChanged) */
  consumer = fake_peer (uri);
  fake_ws_send (consumer, "{\"type\": \"setPeerStatus\", \"roles\": "
      "[\"listener\"], \"meta\": null}");
  id = list_find (consumer, "real");
  if (!id) {
    msg = fake_ws_pop_type (consumer, "peerStatusChanged", WAIT_S);
    fail_unless (msg != NULL, "the producer never registered");
    id = json_dup_string (msg, "peerId");
    g_free (msg);
  }
  fail_unless (id != NULL, "no producer id");
  s = g_strdup_printf ("{\"type\": \"startSession\", \"peerId\": \"%s\"}",
      id);
  fake_ws_send (consumer, s);
  g_free (s);
  msg = fake_ws_pop_type (consumer, "peer", WAIT_S);
  fail_unless (msg != NULL, "no offer");
  g_free (msg);
  fake_ws_close (consumer);
  side_expect_error (&a, "before the connection was established", NULL);
  side_clear (&a);

  other = fake_peer (uri);
  fake_ws_send (other, "{\"type\": \"list\"}");
  msg = fake_ws_pop_type (other, "list", WAIT_S);
  fail_unless (msg != NULL, "the server stopped answering");
  g_free (msg);

  fake_ws_free (other);
  fake_ws_free (consumer);
  g_free (id);
  wrtc_signalling_server_free (server);
  g_free (uri);
}

GST_END_TEST;

/* Nothing listens: a clear error at once. */
GST_START_TEST (test_no_server)
{
  GSocket *sock;
  GSocketAddress *addr, *bound;
  gchar *launch;
  guint port;
  Side a;

  /* a port that was free a moment ago */
  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  addr = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  fail_unless (g_socket_bind (sock, addr, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (addr);
  g_object_unref (sock);

  launch = g_strdup_printf ("webrtctunnel name=t local-addresses=127.0.0.1 "
      "signaller::uri=ws://127.0.0.1:%u", port);
  side_init (&a, launch);
  g_free (launch);
  fail_unless (wrtc_set_state_bounded (a.pipeline, GST_STATE_PLAYING,
          WAIT_S));
  side_expect_error (&a, "could not connect to the signalling server", NULL);
  side_clear (&a);
}

GST_END_TEST;

static Suite *
webrtc_endpoint_suite (void)
{
  Suite *s = suite_create ("webrtc-endpoint");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_two_endpoints);
  tcase_add_test (tc, test_producer_peer_id);
  tcase_add_test (tc, test_one_way_ends);
  tcase_add_test (tc, test_end_session);
  tcase_add_test (tc, test_fake_server);
  tcase_add_test (tc, test_oversized_message);
  tcase_add_test (tc, test_fake_producer);
  tcase_add_test (tc, test_peer_vanishes);
  tcase_add_test (tc, test_no_server);
  return s;
}

GST_CHECK_MAIN (webrtc_endpoint);

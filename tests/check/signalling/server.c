/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * The signalling server's protocol (signalling/) against real libsoup-3
 * WebSocket clients on 127.0.0.1: session order, relays, errors, garbage,
 * listeners. Limits, TLS and the program: server-limits.c.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ws-client.h"

#include <string.h>
#include <glib/gstdio.h>

/* ---------- the protocol ---------- */

GST_START_TEST (test_session_order)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c;
  JsonArray *producers;
  JsonObject *entry, *m;
  gchar *sid, *text, *relay;
  const gchar *offer_fmt = "{\"type\":\"peer\",\"sessionId\":\"%s\","
      "\"sdp\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 1 IN IP4 "
      "127.0.0.1\\r\\n\"},\"x-unknown\":[1,{\"deep\":true}]}";

  register_producer (p, "camera");
  c = client_connect (server);
  fail_if (g_strcmp0 (p->id, c->id) == 0);
  fail_unless_equals_int (wrtc_signalling_server_get_n_peers (server), 2);

  producers = sync_list (c);
  fail_unless_equals_int (json_array_get_length (producers), 1);
  entry = json_array_get_object_element (producers, 0);
  fail_unless_equals_string (str_member (entry, "id"), p->id);
  fail_unless_equals_string (json_object_get_string_member
      (json_object_get_object_member (entry, "meta"), "name"), "camera");

  sid = start_session (p, c);
  fail_unless_equals_int (wrtc_signalling_server_get_n_sessions (server), 1);

  /* offer, answer and candidates reach the other side byte for byte */
  text = g_strdup_printf (offer_fmt, sid);
  client_send (p, text);
  relay = client_next_text (c);
  fail_unless_equals_string (relay, text);
  g_free (relay);
  g_free (text);
  text = g_strdup_printf ("{\"type\":\"peer\",\"sessionId\":\"%s\",\"sdp\":"
      "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}}", sid);
  client_send (c, text);
  relay = client_next_text (p);
  fail_unless_equals_string (relay, text);
  g_free (relay);
  g_free (text);
  text = g_strdup_printf ("{\"type\":\"peer\",\"sessionId\":\"%s\",\"ice\":"
      "{\"candidate\":\"candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ "
      "host\",\"sdpMLineIndex\":0}}", sid);
  client_send (p, text);
  relay = client_next_text (c);
  fail_unless_equals_string (relay, text);
  g_free (relay);
  g_free (text);
  text = g_strdup_printf ("{\"sdpMLineIndex\":0,\"ice\":{\"candidate\":"
      "\"candidate:2 1 UDP 1 127.0.0.1 40001 typ host\",\"sdpMLineIndex\":0},"
      "\"sessionId\":\"%s\",\"type\":\"peer\"}", sid);
  client_send (c, text);
  relay = client_next_text (p);
  fail_unless_equals_string (relay, text);
  g_free (relay);
  g_free (text);

  /* the consumer ends it */
  client_sendf (c, "{\"type\":\"endSession\",\"sessionId\":\"%s\"}", sid);
  m = expect (p, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), sid);
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 1);
  fail_unless_equals_int (wrtc_signalling_server_get_n_sessions (server), 0);
  /* a candidate trickled after the end crosses it: dropped, no error */
  client_sendf (p, "{\"type\":\"peer\",\"sessionId\":\"%s\",\"ice\":"
      "{\"candidate\":\"x\",\"sdpMLineIndex\":0}}", sid);
  fail_unless_equals_int (json_array_get_length (sync_list (p)), 1);
  g_free (sid);

  /* a second session, ended by the producer */
  sid = start_session (p, c);
  client_sendf (p, "{\"type\":\"endSession\",\"sessionId\":\"%s\"}", sid);
  m = expect (c, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), sid);
  g_free (sid);

  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* The 0.14+ variant: the consumer's offer rides on startSession. */
GST_START_TEST (test_offer_in_start_session)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c = client_connect (server);
  JsonObject *m;

  register_producer (p, "p");
  sync_list (p);
  client_sendf (c, "{\"type\":\"startSession\",\"peerId\":\"%s\","
      "\"offer\":\"v=0\\r\\n\"}", p->id);
  expect (c, "sessionStarted");
  m = expect (p, "startSession");
  fail_unless_equals_string (str_member (m, "offer"), "v=0\r\n");
  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

GST_START_TEST (test_disconnect_mid_session)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server);
  Client *c1, *c2, *l;
  gchar *s1, *s2, *s3;
  JsonObject *m;

  l = client_connect (server);
  client_send (l, "{\"type\":\"setPeerStatus\",\"roles\":[\"listener\"]}");
  expect (l, "peerStatusChanged");      /* its own */
  register_producer (p, "p");
  expect (l, "peerStatusChanged");
  c1 = client_connect (server);
  c2 = client_connect (server);
  s1 = start_session (p, c1);
  s2 = start_session (p, c2);

  /* a consumer vanishes: the producer hears endSession for its session */
  client_free (c1);
  m = expect (p, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), s1);

  /* the producer vanishes with two sessions: each consumer gets its own */
  c1 = client_connect (server);
  s3 = start_session (p, c1);
  client_free (p);
  m = expect (c1, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), s3);
  m = expect (c2, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), s2);
  m = expect (l, "peerStatusChanged");
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (m, "roles")), 0);
  fail_unless_equals_int (json_array_get_length (sync_list (c1)), 0);
  fail_unless_equals_int (wrtc_signalling_server_get_n_sessions (server), 0);
  fail_unless_equals_int (wrtc_signalling_server_get_n_peers (server), 3);

  g_free (s1);
  g_free (s2);
  g_free (s3);
  client_free (c1);
  client_free (c2);
  client_free (l);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

GST_START_TEST (test_errors)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c = client_connect (server);
  Client *x = client_connect (server);
  gchar *sid, *text;

  register_producer (p, "p");
  sync_list (p);

  client_send (c, "{\"type\":\"startSession\",\"peerId\":\"no-such-peer\"}");
  expect_error (c, "no-such-peer");
  client_sendf (c, "{\"type\":\"startSession\",\"peerId\":\"%s\"}", x->id);
  expect_error (c, "Missing a producer or a consumer");
  client_sendf (p, "{\"type\":\"startSession\",\"peerId\":\"%s\"}", p->id);
  expect_error (p, "itself");
  client_send (c, "{\"type\":\"peer\",\"sessionId\":\"nope\",\"ice\":"
      "{\"candidate\":\"x\",\"sdpMLineIndex\":0}}");
  expect_error (c, "Unknown session nope");
  client_send (c, "{\"type\":\"endSession\",\"sessionId\":\"nope\"}");
  expect_error (c, "Unknown session nope");
  client_send (x, "{\"type\":\"setPeerStatus\",\"roles\":[\"producer\","
      "\"consumer\"]}");
  expect_error (x, "both producer and passive consumer");
  client_send (x, "{\"type\":\"setProtocolVersion\",\"version\":\"v1_1\"}");
  expect_error (x, "must be first message");

  sid = start_session (p, c);
  /* a peer outside the session may neither talk into it nor end it */
  client_sendf (x, "{\"type\":\"peer\",\"sessionId\":\"%s\",\"ice\":"
      "{\"candidate\":\"x\",\"sdpMLineIndex\":0}}", sid);
  expect_error (x, "not part of");
  client_sendf (x, "{\"type\":\"endSession\",\"sessionId\":\"%s\"}", sid);
  expect_error (x, "not part of");
  /* offers come from the producer only */
  client_sendf (c, "{\"type\":\"peer\",\"sessionId\":\"%s\",\"sdp\":"
      "{\"type\":\"offer\",\"sdp\":\"v=0\"}}", sid);
  expect_error (c, "is not the producer");

  /* the session survived all of that */
  fail_unless_equals_int (wrtc_signalling_server_get_n_sessions (server), 1);
  text = g_strdup_printf ("{\"type\":\"peer\",\"sessionId\":\"%s\",\"sdp\":"
      "{\"type\":\"answer\",\"sdp\":\"v=0\"}}", sid);
  client_send (c, text);
  g_free (text);
  expect (p, "peer");
  fail_unless (g_queue_is_empty (&p->texts));

  g_free (sid);
  client_free (x);
  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

GST_START_TEST (test_garbage_dropped)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c = client_connect (server);
  const gchar *garbage[] = {
    "not json at all", "{\"type\":\"list\"", "[1,2,3]", "42", "\"list\"",
    "null", "{}", "{\"type\":17}", "{\"type\":\"bogus\",\"peerId\":\"x\"}",
    "{\"type\":\"startSession\"}", "{\"type\":\"startSession\",\"peerId\":5}",
    "{\"type\":\"setPeerStatus\",\"roles\":\"producer\"}",
    "{\"type\":\"setPeerStatus\",\"roles\":[\"director\"]}",
    "{\"type\":\"peer\",\"sessionId\":\"s\"}",
    "{\"type\":\"peer\",\"ice\":{}}", "{\"type\":\"endSession\"}",
    "{\"type\":\"setProtocolVersion\",\"version\":\"v9\"}",
  };
  GBytes *binary = g_bytes_new_static ("\x00\x01", 2);
  guint i;
  gchar *sid, *deep;

  register_producer (p, "p");
  for (i = 0; i < G_N_ELEMENTS (garbage); i++)
    client_send (c, garbage[i]);
  soup_websocket_connection_send_message (c->conn, SOUP_WEBSOCKET_DATA_BINARY,
      binary);
  g_bytes_unref (binary);
  /* nesting that would take a recursive parser through its stack */
  deep = g_strnfill (400000, '[');
  client_send (c, deep);
  g_free (deep);
  client_sendf (c, "{\"type\":\"list\",\"x\":%s1%s}", "[[[[[[[[", "]]]]]]]]");
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (expect (c, "list"), "producers")), 1);
  /* no reply to any of it, the connection works, and so does another's */
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 1);
  fail_unless (soup_websocket_connection_get_state (c->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN);
  /* unknown fields are ignored */
  client_sendf (c, "{\"type\":\"startSession\",\"peerId\":\"%s\","
      "\"future\":{\"a\":[]}}", p->id);
  sid = g_strdup (str_member (expect (c, "sessionStarted"), "sessionId"));
  expect (p, "startSession");
  g_free (sid);
  fail_unless_equals_int (wrtc_signalling_server_get_n_peers (server), 2);

  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

GST_START_TEST (test_listener)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *old = client_connect (server), *now = client_connect (server);
  Client *p, *k;
  JsonObject *m;
  JsonArray *roles;
  gchar *sid, *pid;

  /* "old" is a 1.22-era listener, "now" knows the consumer role */
  client_send (old, "{\"type\":\"setPeerStatus\",\"roles\":[\"listener\"],"
      "\"meta\":null}");
  client_send (now, "{\"type\":\"listConsumers\"}");
  m = expect (now, "listConsumers");
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (m, "consumers")), 0);
  client_send (now, "{\"type\":\"setPeerStatus\",\"roles\":[\"listener\"]}");
  /* listeners hear about every listener, themselves included */
  m = expect (old, "peerStatusChanged");
  fail_unless_equals_string (str_member (m, "peerId"), old->id);
  m = expect (old, "peerStatusChanged");
  fail_unless_equals_string (str_member (m, "peerId"), now->id);
  m = expect (now, "peerStatusChanged");
  fail_unless_equals_string (str_member (m, "peerId"), now->id);

  p = client_connect (server);
  register_producer (p, "cam");
  m = expect (old, "peerStatusChanged");
  fail_unless_equals_string (str_member (m, "peerId"), p->id);
  roles = json_object_get_array_member (m, "roles");
  fail_unless_equals_int (json_array_get_length (roles), 1);
  fail_unless_equals_string (json_array_get_string_element (roles, 0),
      "producer");
  fail_unless_equals_string (json_object_get_string_member
      (json_object_get_object_member (m, "meta"), "name"), "cam");
  expect (now, "peerStatusChanged");

  /* a passive consumer: only "now" is told */
  k = client_connect (server);
  client_send (k, "{\"type\":\"setPeerStatus\",\"roles\":[\"consumer\"],"
      "\"meta\":{\"n\":1}}");
  m = expect (now, "peerStatusChanged");
  fail_unless_equals_string (str_member (m, "peerId"), k->id);
  fail_unless_equals_string (json_array_get_string_element
      (json_object_get_array_member (m, "roles"), 0), "consumer");
  sync_list (old);
  fail_unless (g_queue_is_empty (&old->texts));

  /* the producer offers it a session it did not ask for */
  client_sendf (p, "{\"type\":\"startSession\",\"peerId\":\"%s\"}", k->id);
  m = expect (k, "sessionStarted");
  fail_unless_equals_string (str_member (m, "peerId"), p->id);
  sid = g_strdup (str_member (m, "sessionId"));
  m = expect (p, "startSession");
  fail_unless_equals_string (str_member (m, "peerId"), k->id);
  fail_unless_equals_string (str_member (m, "sessionId"), sid);
  g_free (sid);

  /* unchanged status: no news */
  register_producer (p, "cam");
  sync_list (now);
  fail_unless (g_queue_is_empty (&now->texts));

  /* the consumer-only peer leaves unseen by "old", the producer does not */
  pid = g_strdup (p->id);
  client_free (k);
  client_free (p);
  m = expect (old, "peerStatusChanged");
  fail_unless_equals_string (str_member (m, "peerId"), pid);
  g_free (pid);
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (m, "roles")), 0);
  client_free (old);
  client_free (now);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* Dropping a role ends the sessions the peer has in that role. */
GST_START_TEST (test_status_change_ends_sessions)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c = client_connect (server);
  JsonObject *m;
  gchar *sid;

  register_producer (p, "p");
  sid = start_session (p, c);
  client_send (p, "{\"type\":\"setPeerStatus\",\"roles\":[\"listener\"]}");
  m = expect (c, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), sid);
  /* it hears about itself as a listener, and is no producer any more */
  expect (p, "peerStatusChanged");
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 0);
  fail_unless_equals_int (wrtc_signalling_server_get_n_sessions (server), 0);
  g_free (sid);

  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* ---------- the browser page (web_root) ---------- */

/* GET @path from @server: the status, and the body and Content-Type when
 * wanted. */
static guint
http_get (WrtcSignallingServer * server, const gchar * path, gchar ** body,
    gchar ** type)
{
  SoupSession *session = soup_session_new_with_options ("timeout", 10, NULL);
  gchar *uri = g_strdup_printf ("http://127.0.0.1:%u%s",
      wrtc_signalling_server_get_port (server), path);
  SoupMessage *msg = soup_message_new ("GET", uri);
  GBytes *bytes;
  guint status;

  fail_unless (msg != NULL, "bad URI %s", uri);
  bytes = soup_session_send_and_read (session, msg, NULL, NULL);
  status = soup_message_get_status (msg);
  if (body)
    *body = bytes ? g_strndup (g_bytes_get_data (bytes, NULL),
        g_bytes_get_size (bytes)) : NULL;
  if (type)
    *type = g_strdup (soup_message_headers_get_content_type
        (soup_message_get_response_headers (msg), NULL));
  if (bytes)
    g_bytes_unref (bytes);
  g_object_unref (msg);
  g_object_unref (session);
  g_free (uri);
  return status;
}

/* Plain GETs get the files of web_root by plain name, and nothing else:
 * no other type, no hidden file, nothing below or above the folder. */
GST_START_TEST (test_web_root)
{
  WrtcSignallingServerOptions opts = { 0, };
  WrtcSignallingServer *server;
  gchar *dir = g_dir_make_tmp ("wrtc-web-XXXXXX", NULL), *sub, *f;
  gchar *body = NULL, *type = NULL;
  const gchar *names[] = { "index.html", "app.js", ".hidden.js", "notes.txt" };
  guint i;

  fail_unless (dir != NULL);
  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    f = g_build_filename (dir, names[i], NULL);
    fail_unless (g_file_set_contents (f, names[i], -1, NULL));
    g_free (f);
  }
  sub = g_build_filename (dir, "sub", NULL);
  fail_unless (g_mkdir (sub, 0700) == 0);
  f = g_build_filename (sub, "x.js", NULL);
  fail_unless (g_file_set_contents (f, "x", -1, NULL));

  opts.host = "127.0.0.1";
  opts.web_root = dir;
  server = wrtc_signalling_server_new (&opts, NULL);
  fail_unless (server != NULL);
  fail_unless_equals_int (http_get (server, "/", &body, &type), 200);
  fail_unless_equals_string (body, "index.html");
  fail_unless_equals_string (type, "text/html");
  g_free (body);
  g_free (type);
  fail_unless_equals_int (http_get (server, "/app.js", &body, &type), 200);
  fail_unless_equals_string (body, "app.js");
  fail_unless_equals_string (type, "text/javascript");
  g_free (body);
  g_free (type);
  fail_unless_equals_int (http_get (server, "/missing.js", NULL, NULL), 404);
  fail_unless_equals_int (http_get (server, "/.hidden.js", NULL, NULL), 404);
  fail_unless_equals_int (http_get (server, "/notes.txt", NULL, NULL), 404);
  fail_unless_equals_int (http_get (server, "/sub/x.js", NULL, NULL), 404);
  fail_unless_equals_int (http_get (server, "/%2e%2e/README.md", NULL, NULL),
      404);
  wrtc_signalling_server_free (server);

  /* without web_root a plain GET is what it always was */
  opts.web_root = NULL;
  server = wrtc_signalling_server_new (&opts, NULL);
  fail_unless (server != NULL);
  fail_unless_equals_int (http_get (server, "/index.html", NULL, NULL), 400);
  wrtc_signalling_server_free (server);

  fail_unless (g_remove (f) == 0 && g_rmdir (sub) == 0);
  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    g_free (f);
    f = g_build_filename (dir, names[i], NULL);
    g_remove (f);
  }
  g_rmdir (dir);
  g_free (f);
  g_free (sub);
  g_free (dir);
}

GST_END_TEST;

static Suite *
signalling_server_suite (void)
{
  Suite *s = suite_create ("signalling_server");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_session_order);
  tcase_add_test (tc, test_offer_in_start_session);
  tcase_add_test (tc, test_disconnect_mid_session);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_garbage_dropped);
  tcase_add_test (tc, test_listener);
  tcase_add_test (tc, test_status_change_ends_sessions);
  tcase_add_test (tc, test_web_root);
  return s;
}

GST_CHECK_MAIN (signalling_server);

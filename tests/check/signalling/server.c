/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * The signalling server (signalling/) against real WebSocket clients on
 * 127.0.0.1: libsoup-3 clients for the protocol, a hand-made client on a
 * plain socket where a well-behaved library cannot misbehave (a peer that
 * never reads, a message sent in fragments, pings left unanswered), and the
 * wrtcframe-signalling-server program as a subprocess. Every wait is
 * bounded and fails the test with what it waited for.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "signalling-server.h"

#define WAIT_MS 10000

/* ---------- bounded waits ---------- */

static guint
scaled (guint ms)
{
  const gchar *m = g_getenv ("CK_TIMEOUT_MULTIPLIER");

  return m ? ms * MAX (1, atoi (m)) : ms;
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the default context until @done (*@flag or @check) or the
 * deadline; fails the test naming @what on timeout. */
#define WAIT_FOR(cond, what) G_STMT_START {                               \
    gboolean expired_ = FALSE;                                            \
    GSource *t_ = g_timeout_source_new (scaled (WAIT_MS));                \
    g_source_set_callback (t_, on_deadline, &expired_, NULL);             \
    g_source_attach (t_, NULL);                                           \
    while (!(cond) && !expired_)                                          \
      g_main_context_iteration (NULL, TRUE);                              \
    g_source_destroy (t_);                                                \
    g_source_unref (t_);                                                  \
    fail_unless (cond, "timed out waiting for %s", what);                 \
  } G_STMT_END

/* ---------- libsoup client ---------- */

typedef struct
{
  SoupSession *session;
  SoupWebsocketConnection *conn;
  GError *error;
  gboolean done;
  GQueue texts;                 /* gchar *, oldest first */
  gboolean closed;
  JsonNode *last;               /* the message expect() returned */
  gchar *id;                    /* from the welcome */
} Client;

static void
on_client_message (SoupWebsocketConnection * conn, gint type, GBytes * data,
    Client * c)
{
  fail_unless (type == SOUP_WEBSOCKET_DATA_TEXT);
  g_queue_push_tail (&c->texts, g_strndup (g_bytes_get_data (data, NULL),
          g_bytes_get_size (data)));
}

static void
on_client_closed (SoupWebsocketConnection * conn, Client * c)
{
  c->closed = TRUE;
}

static void
on_connected (GObject * source, GAsyncResult * res, gpointer data)
{
  Client *c = data;

  c->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source),
      res, &c->error);
  c->done = TRUE;
}

/* Connects without waiting for the welcome; NULL on failure (@error set). */
static Client *
client_try_connect (const gchar * uri, GTlsDatabase * db, GError ** error)
{
  Client *c = g_new0 (Client, 1);
  SoupMessage *msg = soup_message_new ("GET", uri);

  c->session = soup_session_new ();
  if (db)
    g_object_set (c->session, "tls-database", db, NULL);
  g_queue_init (&c->texts);
  soup_session_websocket_connect_async (c->session, msg, NULL, NULL,
      G_PRIORITY_DEFAULT, NULL, on_connected, c);
  g_object_unref (msg);
  WAIT_FOR (c->done, "the WebSocket handshake");
  if (c->conn == NULL) {
    g_propagate_error (error, c->error);
    g_object_unref (c->session);
    g_free (c);
    return NULL;
  }
  soup_websocket_connection_set_max_incoming_payload_size (c->conn,
      4 * 1024 * 1024);
  g_signal_connect (c->conn, "message", G_CALLBACK (on_client_message), c);
  g_signal_connect (c->conn, "closed", G_CALLBACK (on_client_closed), c);
  return c;
}

static JsonObject *expect (Client * c, const gchar * type);

static const gchar *
str_member (JsonObject * obj, const gchar * name)
{
  fail_unless (json_object_has_member (obj, name), "no member %s", name);
  return json_object_get_string_member (obj, name);
}

/* Connects and reads the welcome, which must carry the id both ways. */
static Client *
client_connect_tls (const gchar * uri, GTlsDatabase * db)
{
  GError *err = NULL;
  Client *c = client_try_connect (uri, db, &err);
  JsonObject *welcome;

  fail_unless (c != NULL, "connect %s: %s", uri, err ? err->message : "?");
  welcome = expect (c, "welcome");
  c->id = g_strdup (str_member (welcome, "peerId"));
  fail_unless (strlen (c->id) == 36, "peer id %s is no UUID", c->id);
  fail_unless_equals_string (str_member (welcome, "peer_id"), c->id);
  return c;
}

static Client *
client_connect (WrtcSignallingServer * server)
{
  gchar *uri = wrtc_signalling_server_dup_uri (server);
  Client *c = client_connect_tls (uri, NULL);

  g_free (uri);
  return c;
}

static void
client_send (Client * c, const gchar * text)
{
  soup_websocket_connection_send_text (c->conn, text);
}

static void G_GNUC_PRINTF (2, 3)
    client_sendf (Client * c, const gchar * format, ...)
{
  va_list args;
  gchar *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  client_send (c, text);
  g_free (text);
}

/* The next message, as text (owned by the caller). */
static gchar *
client_next_text (Client * c)
{
  WAIT_FOR (!g_queue_is_empty (&c->texts) || c->closed, "a message");
  fail_if (g_queue_is_empty (&c->texts), "closed while waiting for a message");
  return g_queue_pop_head (&c->texts);
}

/* The next message, which must be of @type; valid until the next call. */
static JsonObject *
expect (Client * c, const gchar * type)
{
  gchar *text = client_next_text (c);
  GError *err = NULL;
  JsonObject *obj;

  g_clear_pointer (&c->last, json_node_unref);
  c->last = json_from_string (text, &err);
  fail_unless (c->last != NULL, "server sent no JSON: %s", text);
  fail_unless (JSON_NODE_HOLDS_OBJECT (c->last), "not an object: %s", text);
  obj = json_node_get_object (c->last);
  fail_unless (g_strcmp0 (json_object_get_string_member_with_default (obj,
              "type", ""), type) == 0, "expected %s, got %s", type, text);
  g_free (text);
  return obj;
}

/* Nothing arrived before the reply to a "list" sent now: the server
 * answers in order, so this proves the earlier messages got no reply. */
static JsonArray *
sync_list (Client * c)
{
  client_send (c, "{\"type\":\"list\"}");
  return json_object_get_array_member (expect (c, "list"), "producers");
}

static void
expect_error (Client * c, const gchar * contains)
{
  const gchar *details = str_member (expect (c, "error"), "details");

  fail_unless (strstr (details, contains) != NULL,
      "error \"%s\" does not mention \"%s\"", details, contains);
}

static void
client_close (Client * c)
{
  if (!c->closed) {
    soup_websocket_connection_close (c->conn, SOUP_WEBSOCKET_CLOSE_NORMAL,
        NULL);
    WAIT_FOR (c->closed, "the close handshake");
  }
}

static void
client_free (Client * c)
{
  client_close (c);
  g_signal_handlers_disconnect_by_data (c->conn, c);
  g_object_unref (c->conn);
  g_object_unref (c->session);
  g_queue_clear_full (&c->texts, g_free);
  g_clear_pointer (&c->last, json_node_unref);
  g_free (c->id);
  g_free (c);
}

static WrtcSignallingServer *
server_start (guint64 max_message_size, guint max_queue, guint ping)
{
  WrtcSignallingServerOptions opts = { 0, };
  GError *err = NULL;
  WrtcSignallingServer *server;

  opts.host = "127.0.0.1";
  opts.max_message_size = max_message_size;
  opts.max_queue = max_queue;
  opts.ping_interval = ping;
  server = wrtc_signalling_server_new (&opts, &err);
  fail_unless (server != NULL, "server: %s", err ? err->message : "?");
  fail_unless (wrtc_signalling_server_get_port (server) != 0);
  return server;
}

/* A producer with @meta_json (a JSON text) and a consumer with a session
 * between them; returns the session id. */
static gchar *
start_session (Client * producer, Client * consumer)
{
  JsonObject *m;
  gchar *session_id;

  client_sendf (consumer, "{\"type\":\"startSession\",\"peerId\":\"%s\"}",
      producer->id);
  m = expect (consumer, "sessionStarted");
  fail_unless_equals_string (str_member (m, "peerId"), producer->id);
  session_id = g_strdup (str_member (m, "sessionId"));
  m = expect (producer, "startSession");
  fail_unless_equals_string (str_member (m, "peerId"), consumer->id);
  fail_unless_equals_string (str_member (m, "sessionId"), session_id);
  fail_if (json_object_has_member (m, "offer"));
  return session_id;
}

static void
register_producer (Client * c, const gchar * name)
{
  client_sendf (c, "{\"type\":\"setPeerStatus\",\"roles\":[\"producer\"],"
      "\"meta\":{\"name\":\"%s\"},\"peerId\":\"ignored\"}", name);
}

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
  gchar *sid;

  register_producer (p, "p");
  for (i = 0; i < G_N_ELEMENTS (garbage); i++)
    client_send (c, garbage[i]);
  soup_websocket_connection_send_message (c->conn, SOUP_WEBSOCKET_DATA_BINARY,
      binary);
  g_bytes_unref (binary);
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

/* ---------- a hand-made WebSocket client ---------- */

typedef struct
{
  GSocket *socket;
  gchar *id;
} Raw;

static void
raw_write (Raw * r, const void *data, gsize len)
{
  gsize done = 0;

  while (done < len) {
    GError *err = NULL;
    gssize n = g_socket_send (r->socket, (const gchar *) data + done,
        len - done, NULL, &err);

    fail_unless (n > 0, "send: %s", err ? err->message : "?");
    done += n;
  }
}

static gboolean
on_readable (GSocket * socket, GIOCondition cond, gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits iterating the default context, so the libsoup clients of the test
 * keep answering the server meanwhile. */
static void
raw_wait_readable (Raw * r)
{
  gboolean readable = FALSE;
  GSource *source = g_socket_create_source (r->socket,
      G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);

  g_source_set_callback (source, G_SOURCE_FUNC (on_readable), &readable, NULL);
  g_source_attach (source, NULL);
  WAIT_FOR (readable, "data on the raw socket");
  g_source_destroy (source);
  g_source_unref (source);
}

/* Reads exactly @len bytes; FALSE at EOF or on an error (not a timeout). */
static gboolean
raw_read (Raw * r, void *data, gsize len)
{
  gsize got = 0;

  while (got < len) {
    GError *err = NULL;
    gssize n;

    raw_wait_readable (r);
    n = g_socket_receive (r->socket, (gchar *) data + got, len - got, NULL,
        &err);
    if (n <= 0) {
      g_clear_error (&err);
      return FALSE;
    }
    got += n;
  }
  return TRUE;
}

/* A masked client frame. */
static void
raw_send_frame (Raw * r, guint8 opcode, gboolean fin, const gchar * payload,
    gsize len)
{
  guint8 header[14];
  gsize h = 0, i;
  const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  guint8 *masked = g_malloc (len + 1);

  header[h++] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) {
    header[h++] = 0x80 | len;
  } else if (len <= G_MAXUINT16) {
    header[h++] = 0x80 | 126;
    header[h++] = len >> 8;
    header[h++] = len & 0xff;
  } else {
    header[h++] = 0x80 | 127;
    for (i = 0; i < 8; i++)
      header[h++] = ((guint64) len >> (56 - 8 * i)) & 0xff;
  }
  memcpy (header + h, mask, 4);
  h += 4;
  for (i = 0; i < len; i++)
    masked[i] = payload[i] ^ mask[i % 4];
  raw_write (r, header, h);
  raw_write (r, masked, len);
  g_free (masked);
}

/* The next frame's payload (NULL at EOF); *@opcode gets its opcode. */
static gchar *
raw_read_frame (Raw * r, guint8 * opcode)
{
  guint8 h[8];
  guint64 len;
  gchar *payload;
  guint i;

  if (!raw_read (r, h, 2))
    return NULL;
  *opcode = h[0] & 0x0f;
  len = h[1] & 0x7f;
  if (len == 126) {
    fail_unless (raw_read (r, h, 2));
    len = (h[0] << 8) | h[1];
  } else if (len == 127) {
    fail_unless (raw_read (r, h, 8));
    for (len = 0, i = 0; i < 8; i++)
      len = (len << 8) | h[i];
  }
  payload = g_malloc (len + 1);
  fail_unless (raw_read (r, payload, len));
  payload[len] = '\0';
  return payload;
}

/* Handshake, welcome; @rcvbuf > 0 shrinks the receive buffer first. */
static Raw *
raw_connect (WrtcSignallingServer * server, gint rcvbuf)
{
  Raw *r = g_new0 (Raw, 1);
  GError *err = NULL;
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new (lo,
      wrtc_signalling_server_get_port (server));
  GString *response = g_string_new (NULL);
  gchar *req, *welcome, c;
  guint8 opcode;
  JsonNode *node;

  r->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, &err);
  fail_unless (r->socket != NULL);
  if (rcvbuf > 0)
    fail_unless (g_socket_set_option (r->socket, SOL_SOCKET, SO_RCVBUF,
            rcvbuf, NULL));
  fail_unless (g_socket_connect (r->socket, addr, NULL, &err), "connect: %s",
      err ? err->message : "?");
  g_object_unref (addr);
  g_object_unref (lo);

  req = g_strdup_printf ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      wrtc_signalling_server_get_port (server));
  raw_write (r, req, strlen (req));
  g_free (req);
  while (!g_str_has_suffix (response->str, "\r\n\r\n")) {
    fail_unless (raw_read (r, &c, 1), "EOF in the handshake");
    g_string_append_c (response, c);
  }
  fail_unless (g_str_has_prefix (response->str, "HTTP/1.1 101"), "%s",
      response->str);
  fail_unless (strstr (response->str, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);
  g_string_free (response, TRUE);

  welcome = raw_read_frame (r, &opcode);
  fail_unless (welcome != NULL && opcode == 1);
  node = json_from_string (welcome, NULL);
  fail_unless (node != NULL);
  r->id = g_strdup (json_object_get_string_member (json_node_get_object
          (node), "peerId"));
  json_node_unref (node);
  g_free (welcome);
  return r;
}

/* TRUE if the server closed: a close frame with @code (0: any) or EOF. */
static gboolean
raw_wait_closed (Raw * r, gushort code)
{
  guint8 opcode = 0;
  gchar *payload;

  while ((payload = raw_read_frame (r, &opcode)) != NULL) {
    if (opcode == 8) {
      gushort got = ((guint8) payload[0] << 8) | (guint8) payload[1];

      g_free (payload);
      fail_unless (code == 0 || got == code, "close code %u, not %u", got,
          code);
      return TRUE;
    }
    g_free (payload);
  }
  return TRUE;
}

static void
raw_free (Raw * r)
{
  g_socket_close (r->socket, NULL);
  g_object_unref (r->socket);
  g_free (r->id);
  g_free (r);
}

/* ---------- limits ---------- */

GST_START_TEST (test_message_too_big)
{
  WrtcSignallingServer *server = server_start (4096, 0, 0);
  Client *p = client_connect (server), *big = client_connect (server);
  Client *c = client_connect (server);
  gchar *text, *sid, *filler = g_strnfill (6000, 'a');
  Raw *r;
  guint i;

  register_producer (p, "p");
  sid = start_session (p, big);
  g_free (sid);

  /* one frame over the limit: libsoup's own check, code 1009 */
  text = g_strdup_printf ("{\"type\":\"list\",\"pad\":\"%s\"}", filler);
  client_send (big, text);
  g_free (text);
  WAIT_FOR (soup_websocket_connection_get_close_code (big->conn) != 0,
      "the oversized peer's close");
  fail_unless_equals_int (soup_websocket_connection_get_close_code
      (big->conn), SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  expect (p, "endSession");

  /* the same in 100-byte fragments: the server's own count, code 1009 */
  r = raw_connect (server, 0);
  raw_send_frame (r, 1, FALSE, filler, 100);
  for (i = 1; i < 59; i++)
    raw_send_frame (r, 0, FALSE, filler, 100);
  raw_send_frame (r, 0, TRUE, filler, 100);
  fail_unless (raw_wait_closed (r, SOUP_WEBSOCKET_CLOSE_TOO_BIG));
  raw_free (r);

  /* a message just under the limit is fine, and the others never noticed */
  g_free (filler);
  filler = g_strnfill (3900, 'b');
  text = g_strdup_printf ("{\"type\":\"list\",\"pad\":\"%s\"}", filler);
  client_send (c, text);
  g_free (text);
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (expect (c, "list"), "producers")), 1);
  sync_list (p);
  WAIT_FOR (wrtc_signalling_server_get_n_peers (server) == 2, "2 peers");

  g_free (filler);
  client_free (big);
  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* A producer that never reads while its consumer keeps sending: once 16
 * messages wait for it, it is disconnected, and only it. */
GST_START_TEST (test_queue_bound)
{
  WrtcSignallingServer *server = server_start (0, 16, 0);
  Client *c = client_connect (server);
  Raw *p = raw_connect (server, 4096);
  const gchar *status = "{\"type\":\"setPeerStatus\",\"roles\":[\"producer\"]}";
  gchar *filler = g_strnfill (60000, 'c'), *sid, *text;
  JsonObject *m;
  guint sent = 0;

  raw_send_frame (p, 1, TRUE, status, strlen (status));
  WAIT_FOR (json_array_get_length (sync_list (c)) == 1, "the producer");
  client_sendf (c, "{\"type\":\"startSession\",\"peerId\":\"%s\"}", p->id);
  sid = g_strdup (str_member (expect (c, "sessionStarted"), "sessionId"));
  text = g_strdup_printf ("{\"type\":\"peer\",\"sessionId\":\"%s\",\"ice\":"
      "{\"candidate\":\"%s\",\"sdpMLineIndex\":0}}", sid, filler);

  /* loopback buffers take a few MB before the server's queue grows */
  while (g_queue_is_empty (&c->texts) && sent < 2000) {
    client_send (c, text);
    sent++;
    while (g_main_context_iteration (NULL, FALSE));
  }
  m = expect (c, "endSession");
  fail_unless_equals_string (str_member (m, "sessionId"), sid);
  GST_INFO ("producer disconnected after %u messages of 60 kB", sent);
  fail_unless (sent > 16);
  WAIT_FOR (wrtc_signalling_server_get_n_peers (server) == 1, "1 peer");
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 0);
  fail_unless (soup_websocket_connection_get_state (c->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN);

  g_free (text);
  g_free (sid);
  g_free (filler);
  raw_free (p);
  client_free (c);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* Pings every second; a peer that answers none is gone after 2 s + 5 s. */
GST_START_TEST (test_unanswered_pings)
{
  WrtcSignallingServer *server = server_start (0, 0, 1);
  Raw *r = raw_connect (server, 0);
  Client *c = client_connect (server);
  guint8 opcode = 0;
  gchar *payload;
  gint64 start = g_get_monotonic_time ();

  /* libsoup answers pings by itself: that client stays */
  payload = raw_read_frame (r, &opcode);
  fail_unless (payload != NULL);
  fail_unless_equals_int (opcode, 9);   /* ping */
  g_free (payload);
  fail_unless (raw_wait_closed (r, 0));
  fail_unless (g_get_monotonic_time () - start >= 6 * G_USEC_PER_SEC);
  WAIT_FOR (wrtc_signalling_server_get_n_peers (server) == 1, "1 peer");
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 0);

  raw_free (r);
  client_free (c);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* ---------- TLS ---------- */

static gboolean
run_quietly (const gchar * const *argv)
{
  GError *err = NULL;
  gint status = -1;

  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
          G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &err),
      "%s: %s", argv[0], err ? err->message : "?");
  return g_spawn_check_wait_status (status, NULL);
}

/* A throwaway self-signed certificate for 127.0.0.1 in @dir. */
static void
make_cert (const gchar * dir, gchar ** cert, gchar ** key)
{
  *cert = g_build_filename (dir, "cert.pem", NULL);
  *key = g_build_filename (dir, "key.pem", NULL);
  {
    const gchar *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048",
      "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
      "subjectAltName=IP:127.0.0.1", "-keyout", *key, "-out", *cert, NULL
    };
    fail_unless (run_quietly (argv), "openssl could not make a certificate");
  }
}

static void
remove_dir (gchar * dir, gchar * cert, gchar * key)
{
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
  g_free (cert);
  g_free (key);
  g_free (dir);
}

GST_START_TEST (test_tls)
{
  gchar *dir = g_dir_make_tmp ("wrtc-signalling-XXXXXX", NULL);
  gchar *cert, *key, *uri;
  WrtcSignallingServerOptions opts = { 0, };
  WrtcSignallingServer *server;
  GTlsDatabase *db;
  GError *err = NULL;
  Client *p, *c, *untrusting;
  gchar *sid;

  fail_unless (dir != NULL);
  make_cert (dir, &cert, &key);
  opts.host = "127.0.0.1";
  opts.cert_file = cert;
  opts.key_file = key;
  server = wrtc_signalling_server_new (&opts, &err);
  fail_unless (server != NULL, "%s", err ? err->message : "?");
  uri = wrtc_signalling_server_dup_uri (server);
  fail_unless (g_str_has_prefix (uri, "wss://127.0.0.1:"), "%s", uri);

  db = g_tls_file_database_new (cert, &err);
  fail_unless (db != NULL, "%s", err ? err->message : "?");
  p = client_connect_tls (uri, db);
  c = client_connect_tls (uri, db);
  register_producer (p, "secure");
  sid = start_session (p, c);
  g_free (sid);

  /* without the certificate in its database a client refuses the server */
  untrusting = client_try_connect (uri, NULL, &err);
  fail_unless (untrusting == NULL);
  fail_unless (err != NULL);
  g_clear_error (&err);

  /* a plain ws:// client gets nowhere either */
  {
    gchar *plain = g_strdup_printf ("ws://127.0.0.1:%u",
        wrtc_signalling_server_get_port (server));

    fail_unless (client_try_connect (plain, NULL, &err) == NULL);
    g_clear_error (&err);
    g_free (plain);
  }

  client_free (c);
  client_free (p);
  g_object_unref (db);
  g_free (uri);
  wrtc_signalling_server_free (server);

  /* a key that does not exist: a clear error, no server */
  opts.key_file = "/nonexistent/key.pem";
  fail_unless (wrtc_signalling_server_new (&opts, &err) == NULL);
  fail_unless (g_error_matches (err, WRTC_SIGNALLING_ERROR,
          WRTC_SIGNALLING_ERROR_TLS), "%s", err->message);
  g_clear_error (&err);
  remove_dir (dir, cert, key);
}

GST_END_TEST;

/* free() with peers that do not answer the close: bounded, and they see
 * 1001 when they look again. */
GST_START_TEST (test_shutdown_with_peers)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c = client_connect (server);
  gint64 start;
  gchar *sid;

  register_producer (p, "p");
  sid = start_session (p, c);
  g_free (sid);
  start = g_get_monotonic_time ();
  wrtc_signalling_server_free (server);
  fail_unless (g_get_monotonic_time () - start < 5 * G_USEC_PER_SEC);
  WAIT_FOR (p->closed && c->closed, "the clients to see the close");
  fail_unless_equals_int (soup_websocket_connection_get_close_code (p->conn),
      SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  client_free (c);
  client_free (p);
}

GST_END_TEST;

/* ---------- the program ---------- */

typedef struct
{
  gboolean done;
  gchar *line;
} LineRead;

static void
on_line (GObject * source, GAsyncResult * res, gpointer data)
{
  LineRead *lr = data;

  lr->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM
      (source), res, NULL, NULL);
  lr->done = TRUE;
}

static void
on_exited (GObject * source, GAsyncResult * res, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  *(gboolean *) data = TRUE;
}

static gint
run_program (const gchar * const *args, gchar ** out)
{
  GError *err = NULL;
  GPtrArray *argv = g_ptr_array_new ();
  GSubprocess *proc;
  gboolean exited = FALSE;
  gint status;

  g_ptr_array_add (argv, (gpointer) SIGNALLING_SERVER_EXE);
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) * args);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const gchar * const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &err);
  fail_unless (proc != NULL, "%s", err ? err->message : "?");
  g_ptr_array_free (argv, TRUE);
  g_subprocess_wait_async (proc, NULL, on_exited, &exited);
  WAIT_FOR (exited, "the program to exit");
  if (out) {
    GInputStream *s = g_subprocess_get_stdout_pipe (proc);
    gchar buf[16384];
    gsize n = 0;

    g_input_stream_read_all (s, buf, sizeof (buf) - 1, &n, NULL, NULL);
    buf[n] = '\0';
    *out = g_strdup (buf);
  }
  fail_unless (g_subprocess_get_if_exited (proc));
  status = g_subprocess_get_exit_status (proc);
  g_object_unref (proc);
  return status;
}

GST_START_TEST (test_program)
{
  const gchar *help[] = { "--help", NULL };
  const gchar *bad[] = { "--no-such-option", NULL };
  const gchar *range[] = { "--port", "70000", NULL };
  GSubprocess *proc;
  GDataInputStream *out;
  LineRead lr = { FALSE, NULL };
  gboolean exited = FALSE;
  GError *err = NULL;
  gchar *text, *uri, *log;
  guint port = 0;
  Client *c;
  WrtcSignallingServer *taken;

  fail_unless_equals_int (run_program (help, &text), 0);
  fail_unless (strstr (text, "--port") && strstr (text, "--host") &&
      strstr (text, "--cert") && strstr (text, "--key") &&
      strstr (text, "--max-message-size") && strstr (text, "--max-queue") &&
      strstr (text, "--verbose") && strstr (text, "Exit status"), "%s", text);
  g_free (text);
  fail_unless_equals_int (run_program (bad, NULL), 2);
  fail_unless_equals_int (run_program (range, NULL), 2);

  /* a port already taken: exit status 1 */
  taken = server_start (0, 0, 0);
  text = g_strdup_printf ("%u", wrtc_signalling_server_get_port (taken));
  {
    const gchar *busy[] = { "--host", "127.0.0.1", "--port", text, NULL };
    fail_unless_equals_int (run_program (busy, NULL), 1);
  }
  g_free (text);
  wrtc_signalling_server_free (taken);

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE, &err, SIGNALLING_SERVER_EXE,
      "--host", "127.0.0.1", "--port", "0", NULL);
  fail_unless (proc != NULL, "%s", err ? err->message : "?");
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL,
      on_line, &lr);
  WAIT_FOR (lr.done, "the program's \"listening on\" line");
  fail_unless (lr.line && sscanf (lr.line, "listening on ws://127.0.0.1:%u",
          &port) == 1, "%s", lr.line);
  uri = g_strdup_printf ("ws://127.0.0.1:%u", port);
  c = client_connect_tls (uri, NULL);
  sync_list (c);
  client_free (c);

  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait_async (proc, NULL, on_exited, &exited);
  WAIT_FOR (exited, "the program to stop on SIGTERM");
  fail_unless (g_subprocess_get_if_exited (proc));
  fail_unless_equals_int (g_subprocess_get_exit_status (proc), 0);
  {
    gchar buf[8192];
    gsize n = 0;

    g_input_stream_read_all (g_subprocess_get_stderr_pipe (proc), buf,
        sizeof (buf) - 1, &n, NULL, NULL);
    buf[n] = '\0';
    log = buf;
    fail_unless (strstr (log, "connected from 127.0.0.1") != NULL, "%s", log);
    fail_unless (strstr (log, "disconnected") != NULL, "%s", log);
  }

  g_free (lr.line);
  g_free (uri);
  g_object_unref (out);
  g_object_unref (proc);
}

GST_END_TEST;

static Suite *
signalling_server_suite (void)
{
  Suite *s = suite_create ("signalling-server");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_session_order);
  tcase_add_test (tc, test_offer_in_start_session);
  tcase_add_test (tc, test_disconnect_mid_session);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_garbage_dropped);
  tcase_add_test (tc, test_listener);
  tcase_add_test (tc, test_message_too_big);
  tcase_add_test (tc, test_queue_bound);
  tcase_add_test (tc, test_unanswered_pings);
  tcase_add_test (tc, test_tls);
  tcase_add_test (tc, test_shutdown_with_peers);
  tcase_add_test (tc, test_program);
  return s;
}

GST_CHECK_MAIN (signalling_server);

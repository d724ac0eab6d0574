/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ws-client.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---------- bounded waits ---------- */

guint
scaled (guint ms)
{
  const gchar *m = g_getenv ("CK_TIMEOUT_MULTIPLIER");

  return m ? ms * MAX (1, atoi (m)) : ms;
}

gboolean
wait_on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* ---------- libsoup client ---------- */

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
Client *
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

const gchar *
str_member (JsonObject * obj, const gchar * name)
{
  fail_unless (json_object_has_member (obj, name), "no member %s", name);
  return json_object_get_string_member (obj, name);
}

/* Connects and reads the welcome, which must carry the id both ways. */
Client *
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

Client *
client_connect (WrtcSignallingServer * server)
{
  gchar *uri = wrtc_signalling_server_dup_uri (server);
  Client *c = client_connect_tls (uri, NULL);

  g_free (uri);
  return c;
}

void
client_send (Client * c, const gchar * text)
{
  soup_websocket_connection_send_text (c->conn, text);
}

void
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
gchar *
client_next_text (Client * c)
{
  WAIT_FOR (!g_queue_is_empty (&c->texts) || c->closed, "a message");
  fail_if (g_queue_is_empty (&c->texts), "closed while waiting for a message");
  return g_queue_pop_head (&c->texts);
}

/* The next message, which must be of @type; valid until the next call. */
JsonObject *
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
JsonArray *
sync_list (Client * c)
{
  client_send (c, "{\"type\":\"list\"}");
  return json_object_get_array_member (expect (c, "list"), "producers");
}

void
expect_error (Client * c, const gchar * contains)
{
  const gchar *details = str_member (expect (c, "error"), "details");

  fail_unless (strstr (details, contains) != NULL,
      "error \"%s\" does not mention \"%s\"", details, contains);
}

void
client_close (Client * c)
{
  if (!c->closed) {
    soup_websocket_connection_close (c->conn, SOUP_WEBSOCKET_CLOSE_NORMAL,
        NULL);
    WAIT_FOR (c->closed, "the close handshake");
  }
}

void
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

WrtcSignallingServer *
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
gchar *
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

void
register_producer (Client * c, const gchar * name)
{
  client_sendf (c, "{\"type\":\"setPeerStatus\",\"roles\":[\"producer\"],"
      "\"meta\":{\"name\":\"%s\"},\"peerId\":\"ignored\"}", name);
}

/* ---------- a hand-made WebSocket client ---------- */

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
void
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
gchar *
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
Raw *
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
gboolean
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

void
raw_free (Raw * r)
{
  g_socket_close (r->socket, NULL);
  g_object_unref (r->socket);
  g_free (r->id);
  g_free (r);
}


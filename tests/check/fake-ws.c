/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include "fake-ws.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

struct _FakeWs
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  gchar *uri;                   /* client: where to; server: ours */

  /* Thread only. */
  SoupServer *server;
  SoupSession *session;
  SoupWebsocketConnection *ws;

  GMutex lock;
  GCond cond;
  /* Under lock. */
  gboolean ready;               /* the thread has set up */
  gboolean open, closed;
  GQueue messages;
};

static void
on_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    FakeWs * fw)
{
  gsize size;
  const gchar *data = g_bytes_get_data (message, &size);

  g_mutex_lock (&fw->lock);
  g_queue_push_tail (&fw->messages, g_strndup (data, size));
  g_cond_broadcast (&fw->cond);
  g_mutex_unlock (&fw->lock);
}

static void
on_closed (SoupWebsocketConnection * ws, FakeWs * fw)
{
  g_mutex_lock (&fw->lock);
  fw->closed = TRUE;
  g_cond_broadcast (&fw->cond);
  g_mutex_unlock (&fw->lock);
}

static void
take_ws (FakeWs * fw, SoupWebsocketConnection * ws)
{
  if (fw->ws) {                 /* one at a time */
    soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
        NULL);
    g_object_unref (ws);
    return;
  }
  fw->ws = ws;
  soup_websocket_connection_set_max_incoming_payload_size (ws, 0);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), fw);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), fw);
  g_mutex_lock (&fw->lock);
  fw->open = TRUE;
  g_cond_broadcast (&fw->cond);
  g_mutex_unlock (&fw->lock);
}

static void
on_server_ws (SoupServer * server, SoupServerMessage * msg, const char *path,
    SoupWebsocketConnection * ws, gpointer user_data)
{
  take_ws (user_data, g_object_ref (ws));
}

static void
on_connected (GObject * source, GAsyncResult * result, gpointer user_data)
{
  FakeWs *fw = user_data;
  SoupWebsocketConnection *ws;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
      NULL);
  if (ws) {
    take_ws (fw, ws);
    return;
  }
  on_closed (NULL, fw);
}

static gpointer
fake_thread (gpointer data)
{
  FakeWs *fw = data;

  g_main_context_push_thread_default (fw->context);
  if (!fw->uri) {
    GSocketAddress *addr = g_inet_socket_address_new_from_string ("127.0.0.1",
        0);
    GSList *uris;

    fw->server = soup_server_new (NULL, NULL);
    soup_server_add_websocket_handler (fw->server, NULL, NULL, NULL,
        on_server_ws, fw, NULL);
    if (soup_server_listen (fw->server, addr, 0, NULL)) {
      uris = soup_server_get_uris (fw->server);
      fw->uri = g_strdup_printf ("ws://127.0.0.1:%d",
          g_uri_get_port (uris->data));
      g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
    }
    g_object_unref (addr);
  } else {
    SoupMessage *msg = soup_message_new (SOUP_METHOD_GET, fw->uri);

    fw->session = soup_session_new ();
    soup_session_websocket_connect_async (fw->session, msg, NULL, NULL,
        G_PRIORITY_DEFAULT, NULL, on_connected, fw);
    g_object_unref (msg);
  }
  g_mutex_lock (&fw->lock);
  fw->ready = TRUE;
  g_cond_broadcast (&fw->cond);
  g_mutex_unlock (&fw->lock);

  g_main_loop_run (fw->loop);

  if (fw->ws) {
    g_signal_handlers_disconnect_by_data (fw->ws, fw);
    g_clear_object (&fw->ws);
  }
  if (fw->server)
    soup_server_disconnect (fw->server);
  g_clear_object (&fw->server);
  g_clear_object (&fw->session);
  while (g_main_context_iteration (fw->context, FALSE));
  g_main_context_pop_thread_default (fw->context);
  return NULL;
}

static FakeWs *
fake_ws_new (const gchar * uri)
{
  FakeWs *fw = g_new0 (FakeWs, 1);

  g_mutex_init (&fw->lock);
  g_cond_init (&fw->cond);
  g_queue_init (&fw->messages);
  fw->uri = g_strdup (uri);
  fw->context = g_main_context_new ();
  fw->loop = g_main_loop_new (fw->context, FALSE);
  fw->thread = g_thread_new ("fake-ws", fake_thread, fw);
  g_mutex_lock (&fw->lock);
  while (!fw->ready)
    g_cond_wait (&fw->cond, &fw->lock);
  g_mutex_unlock (&fw->lock);
  return fw;
}

FakeWs *
fake_ws_new_server (void)
{
  return fake_ws_new (NULL);
}

FakeWs *
fake_ws_new_client (const gchar * uri)
{
  return fake_ws_new (uri);
}

gchar *
fake_ws_dup_uri (FakeWs * fw)
{
  return g_strdup (fw->uri);
}

static gboolean
wait_flag (FakeWs * fw, gboolean * flag, guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;
  gboolean set;

  g_mutex_lock (&fw->lock);
  while (!*flag && !(flag == &fw->open && fw->closed))
    if (!g_cond_wait_until (&fw->cond, &fw->lock, deadline))
      break;
  set = *flag;
  g_mutex_unlock (&fw->lock);
  return set;
}

gboolean
fake_ws_wait_open (FakeWs * fw, guint timeout_s)
{
  return wait_flag (fw, &fw->open, timeout_s);
}

gboolean
fake_ws_wait_closed (FakeWs * fw, guint timeout_s)
{
  return wait_flag (fw, &fw->closed, timeout_s);
}

typedef struct
{
  FakeWs *fw;
  gchar *text;                  /* NULL: drop the connection */
} Send;

static gboolean
do_send (gpointer data)
{
  Send *s = data;
  FakeWs *fw = s->fw;

  if (!fw->ws || soup_websocket_connection_get_state (fw->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN)
    return G_SOURCE_REMOVE;
  if (s->text)
    soup_websocket_connection_send_text (fw->ws, s->text);
  else
    g_io_stream_close (soup_websocket_connection_get_io_stream (fw->ws),
        NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
send_free (gpointer data)
{
  Send *s = data;

  g_free (s->text);
  g_free (s);
}

static void
queue_send (FakeWs * fw, const gchar * text)
{
  Send *s = g_new0 (Send, 1);

  s->fw = fw;
  s->text = g_strdup (text);
  g_main_context_invoke_full (fw->context, G_PRIORITY_DEFAULT, do_send, s,
      send_free);
}

void
fake_ws_send (FakeWs * fw, const gchar * text)
{
  queue_send (fw, text);
}

void
fake_ws_close (FakeWs * fw)
{
  queue_send (fw, NULL);
}

gchar *
fake_ws_pop (FakeWs * fw, guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;
  gchar *text;

  g_mutex_lock (&fw->lock);
  while (g_queue_is_empty (&fw->messages) && !fw->closed)
    if (!g_cond_wait_until (&fw->cond, &fw->lock, deadline))
      break;
  text = g_queue_pop_head (&fw->messages);
  g_mutex_unlock (&fw->lock);
  return text;
}

gchar *
fake_ws_pop_type (FakeWs * fw, const gchar * type, guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;

  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();
    gchar *text, *t;

    if (left <= 0)
      return NULL;
    text = fake_ws_pop (fw, (left + G_TIME_SPAN_SECOND - 1) /
        G_TIME_SPAN_SECOND);
    if (!text)
      return NULL;
    t = json_dup_string (text, "type");
    if (g_strcmp0 (t, type) == 0) {
      g_free (t);
      return text;
    }
    g_free (t);
    g_free (text);
  }
}

static gboolean
do_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
fake_ws_free (FakeWs * fw)
{
  g_main_context_invoke (fw->context, do_quit, fw->loop);
  g_thread_join (fw->thread);
  g_main_loop_unref (fw->loop);
  g_main_context_unref (fw->context);
  g_queue_clear_full (&fw->messages, g_free);
  g_mutex_clear (&fw->lock);
  g_cond_clear (&fw->cond);
  g_free (fw->uri);
  g_free (fw);
}

gchar *
json_dup_string (const gchar * text, const gchar * name)
{
  JsonParser *parser = json_parser_new ();
  gchar **path = g_strsplit (name, ".", -1);
  gchar *value = NULL;
  JsonNode *node;
  guint i;

  if (!json_parser_load_from_data (parser, text, -1, NULL))
    goto out;
  node = json_parser_get_root (parser);
  for (i = 0; path[i] && node; i++) {
    if (!JSON_NODE_HOLDS_OBJECT (node)) {
      node = NULL;
      break;
    }
    node = json_object_get_member (json_node_get_object (node), path[i]);
  }
  if (node && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    value = g_strdup (json_node_get_string (node));
out:
  g_strfreev (path);
  g_object_unref (parser);
  return value;
}

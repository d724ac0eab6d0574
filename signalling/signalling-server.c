/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The signalling server's connections, thread and public API (the protocol
 * is in signalling-protocol.c). Everything runs on the server's own thread
 * except the public entry points, which only start and stop that thread
 * and read atomics. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "signalling-private.h"

#include <string.h>

/* How long free() waits for peers to answer the close, then for the
 * sockets to finish closing. */
#define CLOSE_GRACE_MS 2000
#define DISPOSE_GRACE_MS 1000
/* How long a disconnected peer has to answer the close before its socket is
 * shut down: below libsoup's own 5 s, whose expiry leaks a GSource. */
#define KICK_GRACE_MS 1000

G_DEFINE_QUARK (wrtc-signalling-error-quark, wrtc_signalling_error);

/* ---------- connections ---------- */

/* A peer that neither reads nor closes: libsoup sees the end of the
 * stream and closes the connection. */
static gboolean
on_kick_grace_over (gpointer data)
{
  Peer *peer = data;

  g_clear_pointer (&peer->shutdown, g_source_unref);
  g_socket_shutdown (peer->socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

void
wrtc_sig_peer_kick (Peer * peer, gushort code, const gchar * why)
{
  if (!peer->registered)
    return;
  g_info ("peer %s (%s) disconnected by the server: %s", peer->id,
      peer->remote, why);
  wrtc_sig_peer_unregister (peer, TRUE);
  /* nothing it sends matters any more, and nothing of it is buffered */
  wrtc_counting_stream_block (peer->stream);
  if (soup_websocket_connection_get_state (peer->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (peer->conn, code, why);
  peer->shutdown = g_timeout_source_new (KICK_GRACE_MS);
  g_source_set_callback (peer->shutdown, on_kick_grace_over, peer, NULL);
  g_source_attach (peer->shutdown, peer->server->context);
}

static void
on_message (SoupWebsocketConnection * conn, gint type, GBytes * message,
    Peer * peer)
{
  /* a peer being disconnected has no say any more */
  if (!peer->registered)
    return;
  wrtc_counting_stream_mark_message (peer->stream);
  if (g_bytes_get_size (message) > peer->server->max_message_size) {
    wrtc_sig_peer_kick (peer, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
    return;
  }
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    g_info ("peer %s: binary message dropped", peer->id);
    return;
  }
  wrtc_sig_peer_handle_text (peer, message);
}

static void
on_error (SoupWebsocketConnection * conn, GError * error, Peer * peer)
{
  g_info ("peer %s (%s): %s", peer->id, peer->remote, error->message);
}

static void
peer_free (Peer * peer)
{
  if (peer->kick) {
    g_source_destroy (peer->kick);
    g_source_unref (peer->kick);
  }
  if (peer->shutdown) {
    g_source_destroy (peer->shutdown);
    g_source_unref (peer->shutdown);
  }
  g_object_unref (peer->socket);
  g_signal_handlers_disconnect_by_data (peer->conn, peer);
  g_object_unref (peer->conn);
  g_signal_handlers_disconnect_by_data (peer->stream, peer);
  g_object_unref (peer->stream);
  g_hash_table_unref (peer->sessions);
  g_queue_clear_full (&peer->ended, g_free);
  g_queue_clear_full (&peer->queued_ends, g_free);
  if (peer->meta)
    json_node_unref (peer->meta);
  g_free (peer->remote);
  g_free (peer->id);
  g_free (peer);
}

static void
on_closed (SoupWebsocketConnection * conn, Peer * peer)
{
  WrtcSignallingServer *server = peer->server;

  if (peer->registered) {
    gushort code = soup_websocket_connection_get_close_code (conn);

    if (code)
      g_info ("peer %s (%s) disconnected (close code %u)", peer->id,
          peer->remote, code);
    else
      g_info ("peer %s (%s) disconnected (connection lost)", peer->id,
          peer->remote);
  }
  wrtc_sig_peer_unregister (peer, TRUE);
  g_hash_table_remove (server->conns, peer);
  if (server->stopping && g_hash_table_size (server->conns) == 0)
    g_main_loop_quit (server->loop);
}

static void
on_stream_idle (WrtcCountingStream * stream, Peer * peer)
{
  wrtc_sig_peer_kick (peer, CLOSE_GOING_AWAY, "no answer to keep-alive pings");
}

static void
on_stream_overflow (WrtcCountingStream * stream, Peer * peer)
{
  wrtc_sig_peer_kick (peer, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
}

static void
conn_finalized (gpointer data, GObject * where_the_object_was)
{
  WrtcSignallingServer *server = data;

  server->live_conns--;
}

static void
on_websocket (WrtcSignallingServer * server, SoupServerMessage * msg,
    GSocket * socket, WrtcCountingStream * stream,
    SoupWebsocketConnection * conn)
{
  GSocketAddress *addr = soup_server_message_get_remote_address (msg);
  Peer *peer;

  server->live_conns++;
  g_object_weak_ref (G_OBJECT (conn), conn_finalized, server);
  if (server->stopping) {
    soup_websocket_connection_close (conn, CLOSE_GOING_AWAY,
        "server shutting down");
    g_object_unref (conn);
    g_object_unref (stream);
    g_object_unref (socket);
    return;
  }

  peer = g_new0 (Peer, 1);
  peer->server = server;
  peer->id = g_uuid_string_random ();
  if (G_IS_INET_SOCKET_ADDRESS (addr)) {
    GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (addr);
    gchar *ip = g_inet_address_to_string (g_inet_socket_address_get_address
        (inet));

    peer->remote = g_strdup_printf (strchr (ip, ':') ? "[%s]:%u" : "%s:%u",
        ip, g_inet_socket_address_get_port (inet));
    g_free (ip);
  } else {
    peer->remote = g_strdup ("?");
  }
  peer->conn = conn;
  peer->stream = stream;
  peer->socket = socket;
  peer->sessions = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&peer->ended);
  g_queue_init (&peer->queued_ends);
  peer->registered = TRUE;

  g_signal_connect (conn, "message", G_CALLBACK (on_message), peer);
  g_signal_connect (conn, "error", G_CALLBACK (on_error), peer);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), peer);
  g_signal_connect (stream, "idle", G_CALLBACK (on_stream_idle), peer);
  g_signal_connect (stream, "overflow", G_CALLBACK (on_stream_overflow),
      peer);
  g_hash_table_add (server->conns, peer);
  g_hash_table_insert (server->peers, peer->id, peer);
  g_atomic_int_inc (&server->n_peers);
  g_info ("peer %s connected from %s", peer->id, peer->remote);
  wrtc_sig_peer_welcome (peer);
}

/* ---------- the upgrade ---------- */

/* The upgrade is done here rather than by soup_server_add_websocket_handler
 * so the connection runs over a WrtcCountingStream: libsoup 3.2 neither
 * bounds a fragmented message nor says how much it has queued to send. */
static void
on_upgrade_written (SoupServerMessage * msg, WrtcSignallingServer * server)
{
  GSocket *socket = g_object_ref (soup_server_message_get_socket (msg));
  GIOStream *base = soup_server_message_steal_connection (msg);
  WrtcCountingStream *stream;
  SoupWebsocketConnection *conn;
  GUri *uri = soup_server_message_get_uri (msg);

  g_signal_handlers_disconnect_by_data (msg, server);
  if (base == NULL) {
    g_object_unref (socket);
    return;
  }
  /* a little above the limit for frame headers and the 1 KiB libsoup reads
   * past the end of a message */
  stream = wrtc_counting_stream_new (base, server->max_message_size + 16384,
      server->ping_interval ? server->ping_interval * 2 + 5 : 0);
  g_object_unref (base);
  conn = soup_websocket_connection_new (G_IO_STREAM (stream), uri,
      SOUP_WEBSOCKET_CONNECTION_SERVER,
      soup_message_headers_get_one (soup_server_message_get_request_headers
          (msg), "Origin"), NULL, NULL);
  /* not libsoup's limit: it drops the connection without a close frame;
   * the stream's and on_message()'s close with 1009 */
  soup_websocket_connection_set_max_incoming_payload_size (conn, 0);
  soup_websocket_connection_set_keepalive_interval (conn,
      server->ping_interval);
  on_websocket (server, msg, socket, stream, conn);
}

/* A GET with web_root set: a file of web_root by its plain name ("/" is
 * index.html), never one with a '/' or a leading '.' inside, so nothing
 * outside the folder; anything else is 404. */
static gboolean
serve_file (WrtcSignallingServer * server, SoupServerMessage * msg,
    const char *path)
{
  static const struct
  {
    const gchar *suffix, *type;
  } types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
  };
  const gchar *name = path[0] == '/' ? path + 1 : path;
  const gchar *type = NULL;
  gchar *file, *data = NULL;
  gsize len = 0;
  guint i;

  if (server->web_root == NULL || soup_server_message_get_method (msg) !=
      SOUP_METHOD_GET)
    return FALSE;
  if (*name == '\0')
    name = "index.html";
  for (i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (name, types[i].suffix))
      type = types[i].type;
  if (type == NULL || strchr (name, '/') != NULL || name[0] == '.') {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return TRUE;
  }
  file = g_build_filename (server->web_root, name, NULL);
  if (!g_file_get_contents (file, &data, &len, NULL)) {
    g_free (file);
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return TRUE;
  }
  g_free (file);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_TAKE, data, len);
  return TRUE;
}

/* Any path: clients of the reference server use "/" or nothing. */
static void
on_request (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer user_data)
{
  WrtcSignallingServer *server = user_data;
  GError *err = NULL;

  if (server->stopping) {
    soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
        NULL);
    return;
  }
  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &err)) {
    if (serve_file (server, msg, path)) {
      g_clear_error (&err);
      return;
    }
    g_debug ("not a WebSocket request for %s: %s", path, err->message);
    g_clear_error (&err);
    soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC,
        "WebRTC signalling server: connect with a WebSocket client\n", 58);
    return;
  }
  if (!soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    return;
  g_signal_connect (msg, "wrote-informational",
      G_CALLBACK (on_upgrade_written), server);
}

/* ---------- the thread ---------- */

static gboolean
start_listening (WrtcSignallingServer * server, GError ** error)
{
  GInetAddress *inet;
  GSocketAddress *addr;
  GSList *listeners;
  GTlsCertificate *cert = NULL;
  gboolean ok;

  inet = g_inet_address_new_from_string (server->host);
  if (inet == NULL) {
    GResolver *resolver = g_resolver_get_default ();
    GList *addrs = g_resolver_lookup_by_name (resolver, server->host, NULL,
        NULL);

    g_object_unref (resolver);
    if (addrs == NULL) {
      g_set_error (error, WRTC_SIGNALLING_ERROR,
          WRTC_SIGNALLING_ERROR_ADDRESS, "cannot resolve host '%s'",
          server->host);
      return FALSE;
    }
    inet = g_object_ref (addrs->data);
    g_resolver_free_addresses (addrs);
  }

  if (server->cert_file) {
    GError *err = NULL;

    if (server->key_file)
      cert = g_tls_certificate_new_from_files (server->cert_file,
          server->key_file, &err);
    else
      cert = g_tls_certificate_new_from_file (server->cert_file, &err);
    if (cert == NULL) {
      g_set_error (error, WRTC_SIGNALLING_ERROR, WRTC_SIGNALLING_ERROR_TLS,
          "TLS certificate %s: %s", server->cert_file, err->message);
      g_error_free (err);
      g_object_unref (inet);
      return FALSE;
    }
    server->tls = TRUE;
  }

  server->soup = soup_server_new ("tls-certificate", cert,
      "server-header", "wrtcframe-signalling-server", NULL);
  g_clear_object (&cert);
  soup_server_add_handler (server->soup, NULL, on_request, server, NULL);

  /* "::" means both families, as it does for a dual-stack socket */
  if (g_inet_address_get_is_any (inet) &&
      g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6) {
    ok = soup_server_listen_all (server->soup, server->req_port,
        server->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error);
  } else {
    addr = g_inet_socket_address_new (inet, server->req_port);
    ok = soup_server_listen (server->soup, addr,
        server->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error);
    g_object_unref (addr);
  }
  g_object_unref (inet);
  if (!ok)
    return FALSE;

  listeners = soup_server_get_listeners (server->soup);
  addr = g_socket_get_local_address (listeners->data, NULL);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr));
  g_object_unref (addr);
  g_slist_free (listeners);
  return TRUE;
}

static gboolean
on_close_grace_over (gpointer data)
{
  WrtcSignallingServer *server = data;

  g_main_loop_quit (server->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stop (gpointer data)
{
  WrtcSignallingServer *server = data;
  GList *peers, *l;
  GSource *timeout;

  server->stopping = TRUE;
  soup_server_disconnect (server->soup);
  /* a copy: nothing here may close a connection at once, but if libsoup
   * ever did, on_closed() would change the table under the walk */
  peers = g_hash_table_get_keys (server->conns);
  for (l = peers; l; l = l->next) {
    Peer *peer = l->data;

    wrtc_sig_peer_unregister (peer, FALSE);
    if (soup_websocket_connection_get_state (peer->conn) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (peer->conn, CLOSE_GOING_AWAY,
          "server shutting down");
  }
  g_list_free (peers);
  if (g_hash_table_size (server->conns) == 0) {
    g_main_loop_quit (server->loop);
    return G_SOURCE_REMOVE;
  }
  timeout = g_timeout_source_new (CLOSE_GRACE_MS);
  g_source_set_callback (timeout, on_close_grace_over, server, NULL);
  g_source_attach (timeout, server->context);
  g_source_unref (timeout);
  return G_SOURCE_REMOVE;
}

static gboolean
on_dispose_grace_over (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
server_thread (gpointer data)
{
  WrtcSignallingServer *server = data;
  GError *err = NULL;
  gboolean ok, expired = FALSE;
  GSource *timeout;

  g_main_context_push_thread_default (server->context);
  ok = start_listening (server, &err);

  g_mutex_lock (&server->lock);
  server->start_error = err;
  server->started = TRUE;
  g_cond_signal (&server->cond);
  g_mutex_unlock (&server->lock);

  if (ok)
    g_main_loop_run (server->loop);

  /* Connections that did not close in time are dropped: libsoup closes
   * their sockets asynchronously, on this context. */
  g_hash_table_remove_all (server->conns);
  g_clear_object (&server->soup);
  timeout = g_timeout_source_new (DISPOSE_GRACE_MS);
  g_source_set_callback (timeout, on_dispose_grace_over, &expired, NULL);
  g_source_attach (timeout, server->context);
  while (server->live_conns > 0 && !expired)
    g_main_context_iteration (server->context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  while (g_main_context_iteration (server->context, FALSE));
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

/* ---------- public ---------- */

void
wrtc_signalling_server_options_init (WrtcSignallingServerOptions * opts)
{
  memset (opts, 0, sizeof (*opts));
  opts->host = WRTC_SIGNALLING_DEFAULT_HOST;
  opts->port = 0;
  opts->max_message_size = WRTC_SIGNALLING_DEFAULT_MAX_MESSAGE_SIZE;
  opts->max_queue = WRTC_SIGNALLING_DEFAULT_MAX_QUEUE;
  opts->max_queue_bytes = WRTC_SIGNALLING_DEFAULT_MAX_QUEUE_BYTES;
  opts->ping_interval = WRTC_SIGNALLING_DEFAULT_PING_INTERVAL;
}

static void
server_destroy (WrtcSignallingServer * server)
{
  g_hash_table_unref (server->conns);
  g_hash_table_unref (server->peers);
  g_hash_table_unref (server->sessions);
  g_main_loop_unref (server->loop);
  g_main_context_unref (server->context);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->cond);
  g_free (server->host);
  g_free (server->cert_file);
  g_free (server->key_file);
  g_free (server->web_root);
  g_free (server);
}

WrtcSignallingServer *
wrtc_signalling_server_new (const WrtcSignallingServerOptions * opts,
    GError ** error)
{
  WrtcSignallingServerOptions defaults;
  WrtcSignallingServer *server;
  GError *err;

  wrtc_signalling_server_options_init (&defaults);
  if (opts == NULL)
    opts = &defaults;

  server = g_new0 (WrtcSignallingServer, 1);
  server->host = g_strdup (opts->host ? opts->host : defaults.host);
  server->req_port = opts->port;
  server->cert_file = g_strdup (opts->cert_file);
  server->key_file = g_strdup (opts->key_file);
  server->web_root = g_strdup (opts->web_root);
  server->max_message_size = opts->max_message_size ?
      opts->max_message_size : defaults.max_message_size;
  server->max_queue = opts->max_queue ? opts->max_queue : defaults.max_queue;
  server->max_queue_bytes = opts->max_queue_bytes ?
      opts->max_queue_bytes : defaults.max_queue_bytes;
  server->ping_interval = opts->ping_interval ?
      opts->ping_interval : defaults.ping_interval;

  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  g_mutex_init (&server->lock);
  g_cond_init (&server->cond);
  server->peers = g_hash_table_new (g_str_hash, g_str_equal);
  server->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) wrtc_sig_session_free);
  server->conns = g_hash_table_new_full (NULL, NULL,
      (GDestroyNotify) peer_free, NULL);

  server->thread = g_thread_new ("wrtc-signalling", server_thread, server);
  g_mutex_lock (&server->lock);
  while (!server->started)
    g_cond_wait (&server->cond, &server->lock);
  err = server->start_error;
  server->start_error = NULL;
  g_mutex_unlock (&server->lock);

  if (err) {
    g_thread_join (server->thread);
    server_destroy (server);
    g_propagate_error (error, err);
    return NULL;
  }
  g_info ("listening on %s://%s:%u", server->tls ? "wss" : "ws",
      server->host, server->port);
  return server;
}

guint16
wrtc_signalling_server_get_port (WrtcSignallingServer * server)
{
  return server->port;
}

gchar *
wrtc_signalling_server_dup_uri (WrtcSignallingServer * server)
{
  const gchar *scheme = server->tls ? "wss" : "ws";
  GInetAddress *inet = g_inet_address_new_from_string (server->host);
  gchar *uri;

  if (inet && g_inet_address_get_is_any (inet))
    uri = g_strdup_printf ("%s://%s:%u", scheme,
        g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6 ?
        "[::1]" : "127.0.0.1", server->port);
  else if (inet && g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    uri = g_strdup_printf ("%s://[%s]:%u", scheme, server->host,
        server->port);
  else
    uri = g_strdup_printf ("%s://%s:%u", scheme, server->host, server->port);
  g_clear_object (&inet);
  return uri;
}

guint
wrtc_signalling_server_get_n_peers (WrtcSignallingServer * server)
{
  return g_atomic_int_get (&server->n_peers);
}

guint
wrtc_signalling_server_get_n_sessions (WrtcSignallingServer * server)
{
  return g_atomic_int_get (&server->n_sessions);
}

void
wrtc_signalling_server_free (WrtcSignallingServer * server)
{
  if (server == NULL)
    return;
  g_main_context_invoke (server->context, on_stop, server);
  g_thread_join (server->thread);
  server_destroy (server);
}

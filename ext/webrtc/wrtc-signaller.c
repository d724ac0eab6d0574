/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The signalling client of webrtctunnel: the protocol of gst-plugins-rs
 * (webrtcsink / webrtcsrc and their server), as a producer (registers,
 * waits for a consumer's session, offers) or a consumer (finds a producer,
 * starts a session, answers). One session at a time.
 *
 * Threads: everything that touches the WebSocket runs on the signaller's
 * thread, which owns its GMainContext. Sends from other threads (webrtcbin's
 * promise callbacks and ICE signals run on its pc thread) are queued there
 * with g_main_context_invoke, so they never block their caller. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "wrtc-signaller.h"
#include "wrtc-json.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

GST_DEBUG_CATEGORY_STATIC (wrtc_signaller_debug);
#define GST_CAT_DEFAULT wrtc_signaller_debug

#define DEFAULT_URI "ws://127.0.0.1:8443"
/* Bound on the WebSocket close handshake when stopping. */
#define CLOSE_TIMEOUT_MS 2000

enum
{
  PROP_0,
  PROP_URI,
  PROP_ROLE,
  PROP_PRODUCER_PEER_ID,
  PROP_PRODUCER_NAME,
  PROP_CLIENT_ID,
  PROP_CAFILE,
  PROP_INSECURE_TLS,
  PROP_META,
};

enum
{
  SIGNAL_SESSION_STARTED,
  SIGNAL_SESSION_DESCRIPTION,
  SIGNAL_ICE_CANDIDATE,
  SIGNAL_SESSION_ENDED,
  SIGNAL_ERROR,
  SIGNAL_WARNING,
  N_SIGNALS
};

static guint signaller_signals[N_SIGNALS];

struct _WrtcSignaller
{
  GstObject parent;

  /* Settings, under the object lock. */
  gchar *uri;
  WrtcSignallerRole role;
  gchar *producer_peer_id;
  gchar *producer_name;
  gchar *client_id;
  gchar *cafile;
  gboolean insecure_tls;
  GstStructure *meta;

  /* The thread and its context; set by start/stop only. */
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;

  /* Signaller thread only. */
  SoupSession *session;
  SoupWebsocketConnection *ws;
  GCancellable *cancellable;
  gchar *session_id;
  gboolean ended;               /* the session ended or was refused */
  gboolean stopping;
  GSource *close_timeout;
  gchar *ws_error;              /* the WebSocket's last error */
};

G_DEFINE_TYPE_WITH_CODE (WrtcSignaller, wrtc_signaller, GST_TYPE_OBJECT,
    GST_DEBUG_CATEGORY_INIT (wrtc_signaller_debug, "wrtcsignaller", 0,
        "webrtctunnel signalling client"));

GType
wrtc_signaller_role_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {WRTC_SIGNALLER_ROLE_PRODUCER, "Registers as a producer and offers to "
          "the consumer that starts a session", "producer"},
    {WRTC_SIGNALLER_ROLE_CONSUMER, "Starts a session with a producer and "
          "answers its offer", "consumer"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("WrtcSignallerRole", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- helpers (signaller thread) ---- */

static void
report (WrtcSignaller * self, guint signal, const gchar * format, ...)
    G_GNUC_PRINTF (3, 4);

static void
report (WrtcSignaller * self, guint signal, const gchar * format, ...)
{
  va_list args;
  gchar *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  GST_INFO_OBJECT (self, "%s: %s", signal == SIGNAL_ERROR ? "error" :
      "warning", message);
  g_signal_emit (self, signaller_signals[signal], 0, message);
  g_free (message);
}


static void
send_object (WrtcSignaller * self, JsonBuilder * builder)
{
  JsonNode *root = json_builder_get_root (builder);
  gchar *text = json_to_string (root, FALSE);

  if (self->ws && soup_websocket_connection_get_state (self->ws) ==
      SOUP_WEBSOCKET_STATE_OPEN) {
    GST_LOG_OBJECT (self, "sending %s", text);
    soup_websocket_connection_send_text (self->ws, text);
  } else {
    GST_DEBUG_OBJECT (self, "not connected, dropping %s", text);
  }
  g_free (text);
  json_node_unref (root);
  g_object_unref (builder);
}


static void
send_end (WrtcSignaller * self, JsonBuilder * b)
{
  json_builder_end_object (b);
  send_object (self, b);
}

static void
send_end_session (WrtcSignaller * self, const gchar * session_id)
{
  JsonBuilder *b = wrtc_json_begin ("endSession");

  json_builder_set_member_name (b, "sessionId");
  json_builder_add_string_value (b, session_id);
  send_end (self, b);
}


static void
set_peer_status (WrtcSignaller * self, const gchar * role)
{
  JsonBuilder *b = wrtc_json_begin ("setPeerStatus");
  GstStructure *meta;

  json_builder_set_member_name (b, "roles");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, role);
  json_builder_end_array (b);
  GST_OBJECT_LOCK (self);
  meta = self->meta ? gst_structure_copy (self->meta) : NULL;
  GST_OBJECT_UNLOCK (self);
  wrtc_json_add_meta (b, meta);
  if (meta)
    gst_structure_free (meta);
  send_end (self, b);
}

static void
start_session (WrtcSignaller * self, const gchar * producer)
{
  JsonBuilder *b = wrtc_json_begin ("startSession");

  GST_INFO_OBJECT (self, "starting a session with producer %s", producer);
  json_builder_set_member_name (b, "peerId");
  json_builder_add_string_value (b, producer);
  send_end (self, b);
  /* Until sessionStarted: no other producer is asked. */
  g_free (self->session_id);
  self->session_id = g_strdup ("");
}



/* ---- consumer: which producer ---- */


/* A producer entry (of "list", or a "peerStatusChanged"): TRUE if it is the
 * one to connect to. */
static gboolean
producer_matches (WrtcSignaller * self, JsonObject * entry)
{
  JsonObject *meta = wrtc_json_member_object (entry, "meta");
  const gchar *name = meta ? wrtc_json_member_string (meta, "name") : NULL;
  gboolean match;

  GST_OBJECT_LOCK (self);
  match = !self->producer_name || g_strcmp0 (name, self->producer_name) == 0;
  GST_OBJECT_UNLOCK (self);
  return match;
}

static void
consider_producer (WrtcSignaller * self, JsonObject * entry,
    const gchar * id_field)
{
  const gchar *id = wrtc_json_member_string (entry, id_field);

  if (self->session_id || self->ended || !id || !producer_matches (self,
          entry))
    return;
  start_session (self, id);
}

static void
on_list (WrtcSignaller * self, JsonObject * msg)
{
  JsonNode *n = json_object_get_member (msg, "producers");
  JsonArray *a;
  guint i;

  if (!n || !JSON_NODE_HOLDS_ARRAY (n)) {
    report (self, SIGNAL_WARNING, "\"list\" without a \"producers\" array");
    return;
  }
  a = json_node_get_array (n);
  for (i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);

    if (JSON_NODE_HOLDS_OBJECT (e))
      consider_producer (self, json_node_get_object (e), "id");
  }
  if (!self->session_id)
    GST_INFO_OBJECT (self, "no matching producer yet, waiting for one");
}

/* ---- incoming messages ---- */

static void
on_welcome (WrtcSignaller * self, JsonObject * msg)
{
  /* "peerId" today, "peer_id" in the GStreamer 1.22 era (0.10.x) */
  const gchar *id = wrtc_json_member_string (msg, "peerId");
  gchar *producer;

  if (!id)
    id = wrtc_json_member_string (msg, "peer_id");
  if (!id) {
    report (self, SIGNAL_ERROR, "\"welcome\" from the signalling server "
        "carries no peer id (\"peerId\" or \"peer_id\")");
    return;
  }
  GST_OBJECT_LOCK (self);
  g_free (self->client_id);
  self->client_id = g_strdup (id);
  producer = g_strdup (self->producer_peer_id);
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "welcome, our id is %s", id);
  g_object_notify (G_OBJECT (self), "client-id");

  if (self->role == WRTC_SIGNALLER_ROLE_PRODUCER) {
    set_peer_status (self, "producer");
  } else if (producer) {
    start_session (self, producer);
  } else {
    /* A listener hears of producers that register later. */
    set_peer_status (self, "listener");
    send_end (self, wrtc_json_begin ("list"));
  }
  g_free (producer);
}

static void
on_start_session (WrtcSignaller * self, JsonObject * msg, gboolean started)
{
  const gchar *peer = wrtc_json_member_string (msg, "peerId");
  const gchar *session = wrtc_json_member_string (msg, "sessionId");

  if (!session || !peer) {
    report (self, SIGNAL_WARNING, "\"%s\" without \"peerId\" and "
        "\"sessionId\" ignored", started ? "sessionStarted" :
        "startSession");
    return;
  }
  /* producer: startSession from a consumer; consumer: sessionStarted, the
   * answer to its own startSession (session_id is "" until then) */
  if (started ? g_strcmp0 (self->session_id, "") != 0 : self->session_id !=
      NULL) {
    GST_INFO_OBJECT (self, "refusing session %s with %s: one session at a "
        "time", session, peer);
    send_end_session (self, session);
    return;
  }
  g_free (self->session_id);
  self->session_id = g_strdup (session);
  GST_INFO_OBJECT (self, "session %s with %s", session, peer);
  g_signal_emit (self, signaller_signals[SIGNAL_SESSION_STARTED], 0, peer,
      session);
}

static gboolean
is_our_session (WrtcSignaller * self, JsonObject * msg)
{
  const gchar *session = wrtc_json_member_string (msg, "sessionId");

  if (!self->session_id || g_strcmp0 (session, self->session_id) != 0) {
    GST_DEBUG_OBJECT (self, "message for session %s, ours is %s",
        GST_STR_NULL (session), GST_STR_NULL (self->session_id));
    return FALSE;
  }
  return TRUE;
}

static void
on_peer (WrtcSignaller * self, JsonObject * msg)
{
  JsonObject *sdp, *ice;

  if (!is_our_session (self, msg))
    return;
  if ((sdp = wrtc_json_member_object (msg, "sdp"))) {
    const gchar *type = wrtc_json_member_string (sdp, "type");
    const gchar *text = wrtc_json_member_string (sdp, "sdp");
    const gchar *want = self->role == WRTC_SIGNALLER_ROLE_PRODUCER ?
        "answer" : "offer";

    if (g_strcmp0 (type, want) != 0 || !text) {
      report (self, SIGNAL_ERROR, "the peer sent an SDP of type \"%s\" "
          "where an \"%s\" with an \"sdp\" string was expected",
          GST_STR_NULL (type), want);
      return;
    }
    g_signal_emit (self, signaller_signals[SIGNAL_SESSION_DESCRIPTION], 0,
        type, text);
  } else if ((ice = wrtc_json_member_object (msg, "ice"))) {
    const gchar *cand = wrtc_json_member_string (ice, "candidate");
    JsonNode *n = json_object_get_member (ice, "sdpMLineIndex");
    gint64 mline;

    if (!cand || !n || !JSON_NODE_HOLDS_VALUE (n) ||
        json_node_get_value_type (n) != G_TYPE_INT64 ||
        (mline = json_node_get_int (n)) < 0 || mline > G_MAXUINT16) {
      report (self, SIGNAL_WARNING, "ICE candidate without a \"candidate\" "
          "string and a valid \"sdpMLineIndex\" ignored");
      return;
    }
    /* an empty candidate marks the end of the peer's candidates */
    if (*cand)
      g_signal_emit (self, signaller_signals[SIGNAL_ICE_CANDIDATE], 0,
          (guint) mline, cand);
  } else {
    GST_DEBUG_OBJECT (self, "\"peer\" message with neither sdp nor ice");
  }
}

static void
on_end_session (WrtcSignaller * self, JsonObject * msg)
{
  if (!is_our_session (self, msg))
    return;
  GST_INFO_OBJECT (self, "the peer ended session %s", self->session_id);
  g_clear_pointer (&self->session_id, g_free);
  self->ended = TRUE;
  g_signal_emit (self, signaller_signals[SIGNAL_SESSION_ENDED], 0,
      "the peer ended the session (endSession)");
}

static void
on_text (WrtcSignaller * self, const gchar * text, gsize size)
{
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  JsonNode *root;
  JsonObject *msg;
  const gchar *type;
  gchar *ex;

  if (!json_parser_load_from_data (parser, text, size, &err)) {
    ex = wrtc_json_excerpt (text, size);
    report (self, SIGNAL_WARNING, "malformed JSON from the signalling "
        "server ignored (%s): %s", err->message, ex);
    g_free (ex);
    g_error_free (err);
    goto done;
  }
  root = json_parser_get_root (parser);
  msg = root && JSON_NODE_HOLDS_OBJECT (root) ?
      json_node_get_object (root) : NULL;
  if (!msg || !(type = wrtc_json_member_string (msg, "type"))) {
    ex = wrtc_json_excerpt (text, size);
    report (self, SIGNAL_WARNING, "signalling message that is not an object "
        "with a \"type\" ignored: %s", ex);
    g_free (ex);
    goto done;
  }
  GST_LOG_OBJECT (self, "received %s", type);

  if (g_str_equal (type, "welcome"))
    on_welcome (self, msg);
  else if (g_str_equal (type, "startSession") &&
      self->role == WRTC_SIGNALLER_ROLE_PRODUCER)
    on_start_session (self, msg, FALSE);
  else if (g_str_equal (type, "sessionStarted") &&
      self->role == WRTC_SIGNALLER_ROLE_CONSUMER)
    on_start_session (self, msg, TRUE);
  else if (g_str_equal (type, "peer"))
    on_peer (self, msg);
  else if (g_str_equal (type, "endSession"))
    on_end_session (self, msg);
  else if (g_str_equal (type, "list") &&
      self->role == WRTC_SIGNALLER_ROLE_CONSUMER)
    on_list (self, msg);
  else if (g_str_equal (type, "peerStatusChanged") &&
      self->role == WRTC_SIGNALLER_ROLE_CONSUMER && wrtc_json_has_role (msg,
          "producer"))
    consider_producer (self, msg, "peerId");
  else if (g_str_equal (type, "error"))
    report (self, SIGNAL_ERROR, "the signalling server reported an error: "
        "%s", GST_STR_NULL (wrtc_json_member_string (msg, "details")));
  else
    GST_DEBUG_OBJECT (self, "ignoring message of type %s", type);

done:
  g_object_unref (parser);
}

static void
on_ws_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    WrtcSignaller * self)
{
  gsize size;
  const gchar *data = g_bytes_get_data (message, &size);

  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    report (self, SIGNAL_WARNING, "binary WebSocket message of %"
        G_GSIZE_FORMAT " bytes from the signalling server ignored", size);
    return;
  }
  on_text (self, data, size);
}

static void
finish_stop (WrtcSignaller * self)
{
  if (self->close_timeout) {
    g_source_destroy (self->close_timeout);
    g_clear_pointer (&self->close_timeout, g_source_unref);
  }
  g_main_loop_quit (self->loop);
}

static void
on_ws_closed (SoupWebsocketConnection * ws, WrtcSignaller * self)
{
  gushort code = soup_websocket_connection_get_close_code (ws);

  GST_INFO_OBJECT (self, "WebSocket closed, code %u", code);
  if (self->stopping) {
    finish_stop (self);
    return;
  }
  if (self->ws_error)
    report (self, SIGNAL_ERROR, "the signalling connection failed: %s "
        "(at most %" G_GUINT64_FORMAT " bytes per message)", self->ws_error,
        soup_websocket_connection_get_max_incoming_payload_size (ws));
  else
    report (self, SIGNAL_ERROR, "the signalling server closed the "
        "connection (code %u)", code);
}

static void
on_ws_error (SoupWebsocketConnection * ws, GError * error,
    WrtcSignaller * self)
{
  GST_WARNING_OBJECT (self, "WebSocket error: %s", error->message);
  g_free (self->ws_error);
  self->ws_error = g_strdup (error->message);
}

static gboolean
on_accept_certificate (SoupMessage * msg, GTlsCertificate * cert,
    GTlsCertificateFlags errors, WrtcSignaller * self)
{
  GST_WARNING_OBJECT (self, "accepting an unverified certificate "
      "(insecure-tls)");
  return TRUE;
}

static void
on_connected (GObject * source, GAsyncResult * result, gpointer user_data)
{
  WrtcSignaller *self = user_data;
  GError *err = NULL;
  SoupWebsocketConnection *ws;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
      &err);
  if (!ws) {
    if (!g_error_matches (err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      report (self, SIGNAL_ERROR, "could not connect to the signalling "
          "server %s: %s", self->uri, err->message);
    g_error_free (err);
    gst_object_unref (self);
    return;
  }
  if (self->stopping) {
    g_object_unref (ws);
    gst_object_unref (self);
    return;
  }
  GST_INFO_OBJECT (self, "connected to %s", self->uri);
  self->ws = ws;
  /* libsoup answers the server's pings itself */
  soup_websocket_connection_set_keepalive_interval (ws, 0);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), self);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), self);
  gst_object_unref (self);
}

static gboolean
connect_ws (gpointer user_data)
{
  WrtcSignaller *self = user_data;
  SoupMessage *msg;
  gchar *uri, *cafile;
  gboolean insecure;
  GError *err = NULL;

  GST_OBJECT_LOCK (self);
  uri = g_strdup (self->uri);
  cafile = g_strdup (self->cafile);
  insecure = self->insecure_tls;
  GST_OBJECT_UNLOCK (self);

  self->session = soup_session_new ();
  if (cafile) {
    GTlsDatabase *db = g_tls_file_database_new (cafile, &err);

    if (!db) {
      report (self, SIGNAL_ERROR, "cannot use cafile %s: %s", cafile,
          err->message);
      g_error_free (err);
      goto out;
    }
    g_object_set (self->session, "tls-database", db, NULL);
    g_object_unref (db);
  }
  msg = soup_message_new (SOUP_METHOD_GET, uri);
  if (!msg) {
    report (self, SIGNAL_ERROR, "invalid signalling server URI \"%s\"",
        GST_STR_NULL (uri));
    goto out;
  }
  if (insecure)
    g_signal_connect (msg, "accept-certificate",
        G_CALLBACK (on_accept_certificate), self);
  GST_INFO_OBJECT (self, "connecting to %s", uri);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL,
      G_PRIORITY_DEFAULT, self->cancellable, on_connected,
      gst_object_ref (self));
  g_object_unref (msg);
out:
  g_free (uri);
  g_free (cafile);
  return G_SOURCE_REMOVE;
}

static gpointer
signaller_thread (gpointer user_data)
{
  WrtcSignaller *self = user_data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  if (self->ws) {
    g_signal_handlers_disconnect_by_data (self->ws, self);
    g_clear_object (&self->ws);
  }
  g_clear_object (&self->session);
  g_clear_pointer (&self->ws_error, g_free);
  /* what the cancelled connect or the closed WebSocket still had queued */
  while (g_main_context_iteration (self->context, FALSE));
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/* ---- public API ---- */

static void
invoke (WrtcSignaller * self, GSourceFunc func, gpointer data,
    GDestroyNotify notify)
{
  GMainContext *context = NULL;

  GST_OBJECT_LOCK (self);
  if (self->context)
    context = g_main_context_ref (self->context);
  GST_OBJECT_UNLOCK (self);
  if (!context) {
    if (notify)
      notify (data);
    return;
  }
  g_main_context_invoke_full (context, G_PRIORITY_DEFAULT, func, data,
      notify);
  g_main_context_unref (context);
}

gboolean
wrtc_signaller_start (WrtcSignaller * self)
{
  GMainContext *context;

  if (self->thread)
    return FALSE;
  context = g_main_context_new ();
  self->loop = g_main_loop_new (context, FALSE);
  self->cancellable = g_cancellable_new ();
  self->stopping = self->ended = FALSE;
  g_clear_pointer (&self->session_id, g_free);
  GST_OBJECT_LOCK (self);
  self->context = context;
  g_clear_pointer (&self->client_id, g_free);
  GST_OBJECT_UNLOCK (self);
  self->thread = g_thread_new ("wrtc-signaller", signaller_thread, self);
  invoke (self, connect_ws, self, NULL);
  return TRUE;
}

static gboolean
close_timed_out (gpointer user_data)
{
  WrtcSignaller *self = user_data;

  GST_WARNING_OBJECT (self, "no WebSocket close handshake within %d ms",
      CLOSE_TIMEOUT_MS);
  g_clear_pointer (&self->close_timeout, g_source_unref);
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
do_stop (gpointer user_data)
{
  WrtcSignaller *self = user_data;

  self->stopping = TRUE;
  g_cancellable_cancel (self->cancellable);
  if (!self->ws || soup_websocket_connection_get_state (self->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN) {
    g_main_loop_quit (self->loop);
    return G_SOURCE_REMOVE;
  }
  if (self->session_id && *self->session_id)
    send_end_session (self, self->session_id);
  g_clear_pointer (&self->session_id, g_free);
  /* the queued messages go out before the close frame */
  soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL,
      NULL);
  self->close_timeout = g_timeout_source_new (CLOSE_TIMEOUT_MS);
  g_source_set_callback (self->close_timeout, close_timed_out, self, NULL);
  g_source_attach (self->close_timeout, self->context);
  return G_SOURCE_REMOVE;
}

void
wrtc_signaller_stop (WrtcSignaller * self)
{
  GMainContext *context;

  if (!self->thread)
    return;
  invoke (self, do_stop, self, NULL);
  g_thread_join (self->thread);
  self->thread = NULL;
  GST_OBJECT_LOCK (self);
  context = self->context;
  self->context = NULL;
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->session_id, g_free);
  g_main_context_unref (context);
}

typedef struct
{
  WrtcSignaller *self;
  gchar *type;                  /* sdp type, or NULL for ICE */
  gchar *text;
  guint mline;
} Outgoing;

static void
outgoing_free (gpointer data)
{
  Outgoing *o = data;

  gst_object_unref (o->self);
  g_free (o->type);
  g_free (o->text);
  g_free (o);
}

static gboolean
do_send_peer (gpointer data)
{
  Outgoing *o = data;
  WrtcSignaller *self = o->self;
  JsonBuilder *b;

  if (!self->session_id || !*self->session_id) {
    GST_DEBUG_OBJECT (self, "no session, dropping our %s",
        o->type ? o->type : "ICE candidate");
    return G_SOURCE_REMOVE;
  }
  b = wrtc_json_begin ("peer");
  json_builder_set_member_name (b, "sessionId");
  json_builder_add_string_value (b, self->session_id);
  json_builder_set_member_name (b, o->type ? "sdp" : "ice");
  json_builder_begin_object (b);
  if (o->type) {
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, o->type);
    json_builder_set_member_name (b, "sdp");
    json_builder_add_string_value (b, o->text);
  } else {
    json_builder_set_member_name (b, "candidate");
    json_builder_add_string_value (b, o->text);
    json_builder_set_member_name (b, "sdpMLineIndex");
    json_builder_add_int_value (b, o->mline);
  }
  json_builder_end_object (b);
  send_end (self, b);
  return G_SOURCE_REMOVE;
}

static void
queue_peer (WrtcSignaller * self, const gchar * type, const gchar * text,
    guint mline)
{
  Outgoing *o = g_new0 (Outgoing, 1);

  o->self = gst_object_ref (self);
  o->type = g_strdup (type);
  o->text = g_strdup (text);
  o->mline = mline;
  invoke (self, do_send_peer, o, outgoing_free);
}

void
wrtc_signaller_send_sdp (WrtcSignaller * self, const gchar * type,
    const gchar * sdp)
{
  queue_peer (self, type, sdp, 0);
}

void
wrtc_signaller_send_ice (WrtcSignaller * self, guint mline,
    const gchar * candidate)
{
  queue_peer (self, NULL, candidate, mline);
}

static gboolean
do_end_session (gpointer data)
{
  WrtcSignaller *self = data;

  if (self->session_id && *self->session_id)
    send_end_session (self, self->session_id);
  g_clear_pointer (&self->session_id, g_free);
  self->ended = TRUE;
  return G_SOURCE_REMOVE;
}

void
wrtc_signaller_end_session (WrtcSignaller * self)
{
  invoke (self, do_end_session, gst_object_ref (self), gst_object_unref);
}

/* ---- GObject ---- */

static void
wrtc_signaller_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  WrtcSignaller *self = WRTC_SIGNALLER (object);
  const GstStructure *meta;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_URI:
      g_free (self->uri);
      self->uri = g_value_dup_string (value);
      break;
    case PROP_ROLE:
      self->role = g_value_get_enum (value);
      break;
    case PROP_PRODUCER_PEER_ID:
      g_free (self->producer_peer_id);
      self->producer_peer_id = g_value_dup_string (value);
      break;
    case PROP_PRODUCER_NAME:
      g_free (self->producer_name);
      self->producer_name = g_value_dup_string (value);
      break;
    case PROP_CAFILE:
      g_free (self->cafile);
      self->cafile = g_value_dup_string (value);
      break;
    case PROP_INSECURE_TLS:
      self->insecure_tls = g_value_get_boolean (value);
      break;
    case PROP_META:
      if (self->meta)
        gst_structure_free (self->meta);
      meta = gst_value_get_structure (value);
      self->meta = meta ? gst_structure_copy (meta) : NULL;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
wrtc_signaller_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WrtcSignaller *self = WRTC_SIGNALLER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case PROP_PRODUCER_PEER_ID:
      g_value_set_string (value, self->producer_peer_id);
      break;
    case PROP_PRODUCER_NAME:
      g_value_set_string (value, self->producer_name);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_CAFILE:
      g_value_set_string (value, self->cafile);
      break;
    case PROP_INSECURE_TLS:
      g_value_set_boolean (value, self->insecure_tls);
      break;
    case PROP_META:
      gst_value_set_structure (value, self->meta);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
wrtc_signaller_finalize (GObject * object)
{
  WrtcSignaller *self = WRTC_SIGNALLER (object);

  wrtc_signaller_stop (self);
  g_free (self->uri);
  g_free (self->producer_peer_id);
  g_free (self->producer_name);
  g_free (self->client_id);
  g_free (self->cafile);
  if (self->meta)
    gst_structure_free (self->meta);
  G_OBJECT_CLASS (wrtc_signaller_parent_class)->finalize (object);
}

static void
wrtc_signaller_class_init (WrtcSignallerClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = wrtc_signaller_set_property;
  gobject_class->get_property = wrtc_signaller_get_property;
  gobject_class->finalize = wrtc_signaller_finalize;

  g_object_class_install_property (gobject_class, PROP_URI,
      g_param_spec_string ("uri", "URI", "WebSocket URI of the signalling "
          "server (ws:// or wss://)", DEFAULT_URI, flags));
  g_object_class_install_property (gobject_class, PROP_ROLE,
      g_param_spec_enum ("role", "Role", "producer: register and offer to "
          "the first consumer; consumer: connect to a producer",
          WRTC_TYPE_SIGNALLER_ROLE, WRTC_SIGNALLER_ROLE_PRODUCER, flags));
  g_object_class_install_property (gobject_class, PROP_PRODUCER_PEER_ID,
      g_param_spec_string ("producer-peer-id", "Producer peer id",
          "Consumer: the id of the producer to connect to; unset: the first "
          "producer whose meta \"name\" is producer-name (any producer if "
          "that is unset), waiting for one to register", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_PRODUCER_NAME,
      g_param_spec_string ("producer-name", "Producer name", "Consumer "
          "without producer-peer-id: connect to the producer whose meta "
          "field \"name\" is this", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_CLIENT_ID,
      g_param_spec_string ("client-id", "Client id", "The id the "
          "signalling server gave this peer (its \"welcome\")", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_CAFILE,
      g_param_spec_string ("cafile", "CA file", "PEM file of the "
          "certificate authorities to trust for wss://", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_INSECURE_TLS,
      g_param_spec_boolean ("insecure-tls", "Insecure TLS", "Accept any "
          "certificate from a wss:// server", FALSE, flags));
  g_object_class_install_property (gobject_class, PROP_META,
      g_param_spec_boxed ("meta", "Meta", "Sent in setPeerStatus as the "
          "peer's \"meta\" object (e.g. \"meta,name=cam1\")",
          GST_TYPE_STRUCTURE, flags));

  signaller_signals[SIGNAL_SESSION_STARTED] =
      g_signal_new ("session-started", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
      G_TYPE_STRING);
  signaller_signals[SIGNAL_SESSION_DESCRIPTION] =
      g_signal_new ("session-description", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING,
      G_TYPE_STRING);
  signaller_signals[SIGNAL_ICE_CANDIDATE] =
      g_signal_new ("ice-candidate", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
      G_TYPE_STRING);
  signaller_signals[SIGNAL_SESSION_ENDED] =
      g_signal_new ("session-ended", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signaller_signals[SIGNAL_ERROR] =
      g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
      NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signaller_signals[SIGNAL_WARNING] =
      g_signal_new ("warning", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gst_type_mark_as_plugin_api (WRTC_TYPE_SIGNALLER_ROLE, 0);
  gst_type_mark_as_plugin_api (WRTC_TYPE_SIGNALLER, 0);
}

static void
wrtc_signaller_init (WrtcSignaller * self)
{
  self->uri = g_strdup (DEFAULT_URI);
  self->role = WRTC_SIGNALLER_ROLE_PRODUCER;
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The signalling server: peers, sessions and the relay between them, after
 * the behaviour of gst-plugins-rs's gst-webrtc-signalling-server. Everything
 * below runs on the server's own thread except the public entry points,
 * which only start/stop that thread and read atomics. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "signalling-server.h"
#include "signalling-stream.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

/* How long free() waits for peers to answer the close, then for the
 * sockets to finish closing. */
#define CLOSE_GRACE_MS 2000
#define DISPOSE_GRACE_MS 1000
/* Session ids a peer was part of and that ended lately: a message for one of
 * them is a harmless race (endSession crossing a trickled candidate) and is
 * dropped; any other unknown session is answered with "error". */
#define ENDED_SESSIONS_KEPT 64
/* WebSocket close codes (RFC 6455) */
#define CLOSE_GOING_AWAY 1001
#define CLOSE_POLICY_VIOLATION 1008

typedef enum
{
  ROLE_PRODUCER = 1 << 0,
  ROLE_CONSUMER = 1 << 1,
  ROLE_LISTENER = 1 << 2,
} Roles;

static const struct
{
  const gchar *name;
  Roles role;
} role_names[] = {
  {"producer", ROLE_PRODUCER},
  {"consumer", ROLE_CONSUMER},
  {"listener", ROLE_LISTENER},
};

typedef struct _Peer Peer;

typedef struct
{
  gchar *id;
  Peer *producer;
  Peer *consumer;
} Session;

struct _Peer
{
  WrtcSignallingServer *server;
  gchar *id;
  gchar *remote;
  SoupWebsocketConnection *conn;
  WrtcCountingStream *stream;
  /* in server->peers: FALSE once it is gone or being disconnected */
  gboolean registered;
  gboolean has_status;          /* sent a setPeerStatus */
  guint roles;
  JsonNode *meta;               /* NULL for JSON null / absent */
  /* Declared the "consumer" role or used another 0.14+ message: only such
   * peers hear about consumers (older clients reject unknown roles). */
  gboolean knows_consumer;
  gboolean got_message;
  GHashTable *sessions;         /* id (owned by the Session) -> Session */
  GQueue ended;                 /* gchar * session ids, newest last */
  /* outgoing accounting: stream offset at which each queued message ends */
  GQueue queued_ends;
  guint64 queued_total;         /* bytes handed to libsoup so far */
};

struct _WrtcSignallingServer
{
  gchar *host;
  guint16 req_port;
  gchar *cert_file;
  gchar *key_file;
  guint64 max_message_size;
  guint max_queue;
  guint64 max_queue_bytes;
  guint ping_interval;

  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GMutex lock;
  GCond cond;
  gboolean started;
  GError *start_error;

  SoupServer *soup;
  guint16 port;
  gboolean tls;

  GHashTable *peers;            /* id -> Peer, registered ones */
  GHashTable *sessions;         /* id -> Session (owned) */
  GHashTable *conns;            /* Peer set (owned): every open connection */
  gboolean stopping;
  guint live_conns;             /* SoupWebsocketConnection objects alive */

  gint n_peers;                 /* atomic */
  gint n_sessions;              /* atomic */
};

typedef enum
{
  HANDLED,
  MALFORMED,                    /* dropped without reply, logged */
  FAILED,                       /* answered with "error" */
} Outcome;

G_DEFINE_QUARK (wrtc-signalling-error-quark, wrtc_signalling_error);

/* ---------- JSON helpers ---------- */

/* The string value of member @name, NULL if absent or not a string. */
static const gchar *
get_string (JsonObject * obj, const gchar * name)
{
  JsonNode *node = json_object_get_member (obj, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonBuilder *
msg_begin (const gchar * type)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  return b;
}

static void
msg_add_string (JsonBuilder * b, const gchar * name, const gchar * value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
msg_add_meta (JsonBuilder * b, JsonNode * meta)
{
  json_builder_set_member_name (b, "meta");
  if (meta)
    json_builder_add_value (b, json_node_copy (meta));
  else
    json_builder_add_null_value (b);
}

static void
msg_add_roles (JsonBuilder * b, guint roles)
{
  guint i;

  json_builder_set_member_name (b, "roles");
  json_builder_begin_array (b);
  for (i = 0; i < G_N_ELEMENTS (role_names); i++)
    if (roles & role_names[i].role)
      json_builder_add_string_value (b, role_names[i].name);
  json_builder_end_array (b);
}

static gchar *
roles_to_string (guint roles)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (role_names); i++)
    if (roles & role_names[i].role)
      g_string_append_printf (s, "%s%s", s->len ? "," : "",
          role_names[i].name);
  if (s->len == 0)
    g_string_append (s, "no role");
  return g_string_free (s, FALSE);
}

/* ---------- sending ---------- */

static void peer_kick (Peer * peer, gushort code, const gchar * why);

/* Drops the accounting of messages libsoup has written out completely. */
static void
peer_update_queue (Peer * peer)
{
  guint64 written = wrtc_counting_stream_get_written (peer->stream);

  while (!g_queue_is_empty (&peer->queued_ends)) {
    guint64 *end = g_queue_peek_head (&peer->queued_ends);

    if (*end > written)
      break;
    g_free (g_queue_pop_head (&peer->queued_ends));
  }
}

/* The size of the unmasked frame libsoup makes of a @len byte message. */
static guint64
frame_size (gsize len)
{
  return len + (len < 126 ? 2 : len <= G_MAXUINT16 ? 4 : 10);
}

/* Takes @text. A peer that lets too much pile up is disconnected: a
 * client that does not read must not grow the server without bound. */
static void
peer_send_text (Peer * peer, gchar * text)
{
  WrtcSignallingServer *server = peer->server;
  gsize len = strlen (text);
  guint64 *end;

  if (!peer->registered ||
      soup_websocket_connection_get_state (peer->conn) !=
      SOUP_WEBSOCKET_STATE_OPEN) {
    g_free (text);
    return;
  }
  peer_update_queue (peer);
  /* written never passes queued_total: both count the same data frames */
  if (g_queue_get_length (&peer->queued_ends) >= server->max_queue ||
      peer->queued_total + frame_size (len) -
      wrtc_counting_stream_get_written (peer->stream) >
      server->max_queue_bytes) {
    g_free (text);
    peer_kick (peer, CLOSE_POLICY_VIOLATION, "outgoing queue full");
    return;
  }
  peer->queued_total += frame_size (len);
  end = g_new (guint64, 1);
  *end = peer->queued_total;
  g_queue_push_tail (&peer->queued_ends, end);
  soup_websocket_connection_send_text (peer->conn, text);
  g_free (text);
}

static void
msg_send (Peer * peer, JsonBuilder * b)
{
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;

  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  peer_send_text (peer, json_generator_to_data (gen, NULL));
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
}

static void
send_error (Peer * peer, const gchar * details)
{
  JsonBuilder *b = msg_begin ("error");

  msg_add_string (b, "details", details);
  msg_send (peer, b);
}

/* peerStatusChanged about @subject to every listener. Listeners that never
 * showed they know the "consumer" role do not see it, nor hear about peers
 * whose only role it is. */
static void
notify_listeners (WrtcSignallingServer * server, Peer * subject,
    guint old_roles, guint new_roles)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, server->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Peer *p = value;
    guint roles = new_roles;
    JsonBuilder *b;

    if (!(p->roles & ROLE_LISTENER))
      continue;
    if (!p->knows_consumer) {
      roles &= ~ROLE_CONSUMER;
      if (roles == 0 && (old_roles & ~ROLE_CONSUMER) == 0 &&
          (old_roles | new_roles) != 0)
        continue;
    }
    b = msg_begin ("peerStatusChanged");
    msg_add_roles (b, roles);
    msg_add_meta (b, subject->meta);
    msg_add_string (b, "peerId", subject->id);
    msg_send (p, b);
  }
}

/* ---------- sessions ---------- */

static void
session_free (Session * session)
{
  g_free (session->id);
  g_free (session);
}

static void
peer_remember_ended (Peer * peer, const gchar * session_id)
{
  g_queue_push_tail (&peer->ended, g_strdup (session_id));
  if (g_queue_get_length (&peer->ended) > ENDED_SESSIONS_KEPT)
    g_free (g_queue_pop_head (&peer->ended));
}

static gboolean
peer_ended_lately (Peer * peer, const gchar * session_id)
{
  return g_queue_find_custom (&peer->ended, session_id,
      (GCompareFunc) g_strcmp0) != NULL;
}

/* Ends @session on behalf of @by (one of its two peers): the other one gets
 * endSession. */
static void
session_end (WrtcSignallingServer * server, Session * session, Peer * by,
    const gchar * why)
{
  Peer *other = session->producer == by ? session->consumer :
      session->producer;
  JsonBuilder *b;

  g_info ("session %s ended (%s %s): producer %s, consumer %s",
      session->id, why, by->id, session->producer->id, session->consumer->id);
  peer_remember_ended (session->producer, session->id);
  peer_remember_ended (session->consumer, session->id);
  g_hash_table_remove (session->producer->sessions, session->id);
  g_hash_table_remove (session->consumer->sessions, session->id);

  b = msg_begin ("endSession");
  msg_add_string (b, "sessionId", session->id);
  msg_send (other, b);

  g_hash_table_remove (server->sessions, session->id);
  g_atomic_int_add (&server->n_sessions, -1);
}

/* Ends the sessions in which @peer has @role (0: any). */
static void
peer_end_sessions (Peer * peer, Roles role, const gchar * why)
{
  GList *sessions = g_hash_table_get_values (peer->sessions);
  GList *l;

  for (l = sessions; l; l = l->next) {
    Session *session = l->data;

    if (role == 0 || (role == ROLE_PRODUCER && session->producer == peer) ||
        (role == ROLE_CONSUMER && session->consumer == peer))
      session_end (peer->server, session, peer, why);
  }
  g_list_free (sessions);
}

/* Takes @peer out of the protocol: its sessions end, listeners hear it is
 * gone. Its connection lives on until it closes. */
static void
peer_unregister (Peer * peer, gboolean notify)
{
  WrtcSignallingServer *server = peer->server;

  if (!peer->registered)
    return;
  peer_end_sessions (peer, 0, "peer left:");
  peer->registered = FALSE;
  g_hash_table_remove (server->peers, peer->id);
  g_atomic_int_add (&server->n_peers, -1);
  if (notify && peer->has_status)
    notify_listeners (server, peer, peer->roles, 0);
}

static void
peer_kick (Peer * peer, gushort code, const gchar * why)
{
  if (!peer->registered)
    return;
  g_info ("peer %s (%s) disconnected by the server: %s", peer->id,
      peer->remote, why);
  peer_unregister (peer, TRUE);
  /* nothing it sends matters any more, and nothing of it is buffered */
  wrtc_counting_stream_block (peer->stream);
  if (soup_websocket_connection_get_state (peer->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (peer->conn, code, why);
}

/* ---------- the messages ---------- */

static Outcome
handle_set_peer_status (Peer * peer, JsonObject * msg, gchar ** why)
{
  WrtcSignallingServer *server = peer->server;
  JsonNode *roles_node = json_object_get_member (msg, "roles");
  JsonNode *meta = json_object_get_member (msg, "meta");
  guint roles = 0, old_roles = peer->roles;
  gchar *desc;

  if (roles_node && !JSON_NODE_HOLDS_NULL (roles_node)) {
    JsonArray *array;
    guint i, j;

    if (!JSON_NODE_HOLDS_ARRAY (roles_node)) {
      *why = g_strdup ("\"roles\" is not an array");
      return MALFORMED;
    }
    array = json_node_get_array (roles_node);
    for (i = 0; i < json_array_get_length (array); i++) {
      JsonNode *r = json_array_get_element (array, i);
      const gchar *name = NULL;

      if (JSON_NODE_HOLDS_VALUE (r) &&
          json_node_get_value_type (r) == G_TYPE_STRING)
        name = json_node_get_string (r);
      for (j = 0; j < G_N_ELEMENTS (role_names); j++)
        if (g_strcmp0 (name, role_names[j].name) == 0)
          break;
      if (j == G_N_ELEMENTS (role_names)) {
        *why = g_strdup_printf ("unknown role %s", name ? name : "(no string)");
        return MALFORMED;
      }
      roles |= role_names[j].role;
    }
  }
  if (meta && JSON_NODE_HOLDS_NULL (meta))
    meta = NULL;

  if (peer->has_status && roles == old_roles &&
      (meta == NULL ? peer->meta == NULL :
          peer->meta != NULL && json_node_equal (meta, peer->meta)))
    return HANDLED;
  if ((roles & ROLE_PRODUCER) && (roles & ROLE_CONSUMER)) {
    *why = g_strdup_printf ("Cannot register peer %s as both producer and "
        "passive consumer", peer->id);
    return FAILED;
  }
  if (roles & ROLE_CONSUMER)
    peer->knows_consumer = TRUE;

  if ((old_roles & ROLE_PRODUCER) && !(roles & ROLE_PRODUCER))
    peer_end_sessions (peer, ROLE_PRODUCER, "no longer producer:");
  else if ((old_roles & ROLE_CONSUMER) && !(roles & ROLE_CONSUMER))
    peer_end_sessions (peer, ROLE_CONSUMER, "no longer consumer:");

  peer->has_status = TRUE;
  peer->roles = roles;
  g_clear_pointer (&peer->meta, json_node_unref);
  if (meta)
    peer->meta = json_node_copy (meta);
  notify_listeners (server, peer, old_roles, roles);

  desc = roles_to_string (roles);
  g_info ("peer %s registered as %s", peer->id, desc);
  g_free (desc);
  return HANDLED;
}

static Outcome
handle_start_session (Peer * peer, JsonObject * msg, gchar ** why)
{
  WrtcSignallingServer *server = peer->server;
  const gchar *to_id = get_string (msg, "peerId");
  JsonNode *offer_node = json_object_get_member (msg, "offer");
  const gchar *offer = NULL;
  Peer *to, *producer, *consumer;
  Session *session;
  JsonBuilder *b;

  if (to_id == NULL) {
    *why = g_strdup ("startSession without a \"peerId\" string");
    return MALFORMED;
  }
  if (offer_node && !JSON_NODE_HOLDS_NULL (offer_node)) {
    offer = get_string (msg, "offer");
    if (offer == NULL) {
      *why = g_strdup ("\"offer\" is not a string");
      return MALFORMED;
    }
    peer->knows_consumer = TRUE;
  }

  to = g_hash_table_lookup (server->peers, to_id);
  if (to == NULL) {
    *why = g_strdup_printf ("Peer with ID '%s' not found", to_id);
    return FAILED;
  }
  if (to == peer) {
    *why = g_strdup_printf ("Peer '%s' cannot start a session with itself",
        to_id);
    return FAILED;
  }
  if (to->roles & ROLE_PRODUCER) {
    producer = to;
    consumer = peer;
  } else if (to->roles & ROLE_CONSUMER) {
    producer = peer;
    consumer = to;
  } else {
    gchar *from_roles = roles_to_string (peer->roles);
    gchar *to_roles = roles_to_string (to->roles);

    *why = g_strdup_printf ("Missing a producer or a consumer: id %s roles "
        "%s, id %s roles %s", peer->id, from_roles, to->id, to_roles);
    g_free (from_roles);
    g_free (to_roles);
    return FAILED;
  }

  session = g_new0 (Session, 1);
  session->id = g_uuid_string_random ();
  session->producer = producer;
  session->consumer = consumer;
  g_hash_table_insert (server->sessions, session->id, session);
  g_hash_table_insert (producer->sessions, session->id, session);
  g_hash_table_insert (consumer->sessions, session->id, session);
  g_atomic_int_inc (&server->n_sessions);
  g_info ("session %s started by %s: producer %s, consumer %s%s",
      session->id, peer->id, producer->id, consumer->id,
      offer ? " (offer from the consumer)" : "");

  b = msg_begin ("sessionStarted");
  msg_add_string (b, "peerId", producer->id);
  msg_add_string (b, "sessionId", session->id);
  msg_send (consumer, b);

  /* the consumer may have vanished meanwhile (queue full) */
  if (!g_hash_table_contains (server->sessions, session->id))
    return HANDLED;
  b = msg_begin ("startSession");
  msg_add_string (b, "peerId", consumer->id);
  msg_add_string (b, "sessionId", session->id);
  if (offer)
    msg_add_string (b, "offer", offer);
  msg_send (producer, b);
  return HANDLED;
}

/* The session @msg names, if @peer is in it. Otherwise sets the outcome:
 * HANDLED (a session of its that just ended: drop), MALFORMED or FAILED. */
static Session *
lookup_session (Peer * peer, JsonObject * msg, Outcome * outcome,
    gchar ** why)
{
  const gchar *id = get_string (msg, "sessionId");
  Session *session;

  if (id == NULL) {
    *why = g_strdup ("no \"sessionId\" string");
    *outcome = MALFORMED;
    return NULL;
  }
  session = g_hash_table_lookup (peer->server->sessions, id);
  if (session == NULL) {
    if (peer_ended_lately (peer, id)) {
      g_debug ("peer %s: message for ended session %s dropped", peer->id, id);
      *outcome = HANDLED;
    } else {
      *why = g_strdup_printf ("Unknown session %s", id);
      *outcome = FAILED;
    }
    return NULL;
  }
  if (session->producer != peer && session->consumer != peer) {
    *why = g_strdup_printf ("Peer %s is not part of session %s", peer->id, id);
    *outcome = FAILED;
    return NULL;
  }
  return session;
}

/* Relayed verbatim: fields this server does not know pass through. */
static Outcome
handle_peer (Peer * peer, JsonObject * msg, GBytes * text, gchar ** why)
{
  JsonNode *sdp = json_object_get_member (msg, "sdp");
  JsonNode *ice = json_object_get_member (msg, "ice");
  Outcome outcome = HANDLED;
  Session *session;
  Peer *other;

  if (!(sdp && JSON_NODE_HOLDS_OBJECT (sdp)) &&
      !(ice && JSON_NODE_HOLDS_OBJECT (ice))) {
    *why = g_strdup ("peer message with neither \"sdp\" nor \"ice\" object");
    return MALFORMED;
  }
  session = lookup_session (peer, msg, &outcome, why);
  if (session == NULL)
    return outcome;
  if (sdp && JSON_NODE_HOLDS_OBJECT (sdp) && peer == session->consumer &&
      g_strcmp0 (get_string (json_node_get_object (sdp), "type"),
          "offer") == 0) {
    *why = g_strdup_printf ("cannot forward offer from \"%s\" to \"%s\" as "
        "\"%s\" is not the producer", peer->id, session->producer->id,
        peer->id);
    return FAILED;
  }
  other = session->producer == peer ? session->consumer : session->producer;
  peer_send_text (other, g_strndup (g_bytes_get_data (text, NULL),
          g_bytes_get_size (text)));
  return HANDLED;
}

static Outcome
handle_end_session (Peer * peer, JsonObject * msg, gchar ** why)
{
  Outcome outcome = HANDLED;
  Session *session = lookup_session (peer, msg, &outcome, why);

  if (session)
    session_end (peer->server, session, peer, "by");
  return outcome;
}

static Outcome
handle_list (Peer * peer, const gchar * type, Roles role)
{
  GHashTableIter iter;
  gpointer value;
  JsonBuilder *b = msg_begin (type);

  json_builder_set_member_name (b,
      role == ROLE_PRODUCER ? "producers" : "consumers");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&iter, peer->server->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Peer *p = value;

    if (!(p->roles & role))
      continue;
    json_builder_begin_object (b);
    msg_add_string (b, "id", p->id);
    msg_add_meta (b, p->meta);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  msg_send (peer, b);
  return HANDLED;
}

static Outcome
handle_set_protocol_version (Peer * peer, JsonObject * msg, gchar ** why)
{
  const gchar *version = get_string (msg, "version");

  if (g_strcmp0 (version, "v1_0") != 0 && g_strcmp0 (version, "v1_1") != 0) {
    *why = g_strdup_printf ("unknown protocol version %s",
        version ? version : "(no string)");
    return MALFORMED;
  }
  if (peer->got_message) {
    *why = g_strdup_printf ("Protocol version selection for peer '%s' must "
        "be first message", peer->id);
    return FAILED;
  }
  peer->knows_consumer = TRUE;
  return HANDLED;
}

static void
handle_text (Peer * peer, GBytes * text)
{
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  JsonNode *root;
  JsonObject *msg;
  const gchar *type;
  Outcome outcome = MALFORMED;
  gchar *why = NULL;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (text, NULL),
          g_bytes_get_size (text), &err)) {
    why = g_strdup_printf ("not JSON: %s", err->message);
    g_clear_error (&err);
    goto done;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    why = g_strdup ("not a JSON object");
    goto done;
  }
  msg = json_node_get_object (root);
  type = get_string (msg, "type");
  if (type == NULL) {
    why = g_strdup ("no \"type\" string");
  } else if (strcmp (type, "setPeerStatus") == 0) {
    outcome = handle_set_peer_status (peer, msg, &why);
  } else if (strcmp (type, "startSession") == 0) {
    outcome = handle_start_session (peer, msg, &why);
  } else if (strcmp (type, "peer") == 0) {
    outcome = handle_peer (peer, msg, text, &why);
  } else if (strcmp (type, "endSession") == 0) {
    outcome = handle_end_session (peer, msg, &why);
  } else if (strcmp (type, "list") == 0) {
    outcome = handle_list (peer, "list", ROLE_PRODUCER);
  } else if (strcmp (type, "listConsumers") == 0) {
    peer->knows_consumer = TRUE;
    outcome = handle_list (peer, "listConsumers", ROLE_CONSUMER);
  } else if (strcmp (type, "setProtocolVersion") == 0) {
    outcome = handle_set_protocol_version (peer, msg, &why);
  } else {
    why = g_strdup_printf ("unknown message type \"%s\"", type);
  }
  if (outcome != MALFORMED)
    peer->got_message = TRUE;

done:
  if (outcome == MALFORMED) {
    g_info ("peer %s: message dropped, %s", peer->id, why);
  } else if (outcome == FAILED && peer->registered) {
    g_info ("peer %s: request failed: %s", peer->id, why);
    send_error (peer, why);
  }
  g_free (why);
  g_object_unref (parser);
}

/* ---------- connections ---------- */

static void
on_message (SoupWebsocketConnection * conn, gint type, GBytes * message,
    Peer * peer)
{
  /* a peer being disconnected has no say any more */
  if (!peer->registered)
    return;
  wrtc_counting_stream_mark_message (peer->stream);
  if (g_bytes_get_size (message) > peer->server->max_message_size) {
    peer_kick (peer, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
    return;
  }
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    g_info ("peer %s: binary message dropped", peer->id);
    return;
  }
  handle_text (peer, message);
}

static void
on_error (SoupWebsocketConnection * conn, GError * error, Peer * peer)
{
  g_info ("peer %s (%s): %s", peer->id, peer->remote, error->message);
}

static void
peer_free (Peer * peer)
{
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

  if (peer->registered)
    g_info ("peer %s (%s) disconnected (close code %u)", peer->id,
        peer->remote, soup_websocket_connection_get_close_code (conn));
  peer_unregister (peer, TRUE);
  g_hash_table_remove (server->conns, peer);
  if (server->stopping && g_hash_table_size (server->conns) == 0)
    g_main_loop_quit (server->loop);
}

static void
on_stream_idle (WrtcCountingStream * stream, Peer * peer)
{
  peer_kick (peer, CLOSE_GOING_AWAY, "no answer to keep-alive pings");
}

static void
on_stream_overflow (WrtcCountingStream * stream, Peer * peer)
{
  peer_kick (peer, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "message too big");
}

static void
conn_finalized (gpointer data, GObject * where_the_object_was)
{
  WrtcSignallingServer *server = data;

  server->live_conns--;
}

static void
on_websocket (WrtcSignallingServer * server, SoupServerMessage * msg,
    WrtcCountingStream * stream, SoupWebsocketConnection * conn)
{
  GSocketAddress *addr = soup_server_message_get_remote_address (msg);
  Peer *peer;
  JsonBuilder *b;

  server->live_conns++;
  g_object_weak_ref (G_OBJECT (conn), conn_finalized, server);
  if (server->stopping) {
    soup_websocket_connection_close (conn, CLOSE_GOING_AWAY,
        "server shutting down");
    g_object_unref (conn);
    g_object_unref (stream);
    return;
  }

  peer = g_new0 (Peer, 1);
  peer->server = server;
  peer->id = g_uuid_string_random ();
  if (G_IS_INET_SOCKET_ADDRESS (addr)) {
    GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (addr);
    gchar *ip = g_inet_address_to_string (g_inet_socket_address_get_address
        (inet));

    peer->remote = g_strdup_printf ("%s:%u", ip,
        g_inet_socket_address_get_port (inet));
    g_free (ip);
  } else {
    peer->remote = g_strdup ("?");
  }
  peer->conn = conn;
  peer->stream = stream;
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

  /* "peer_id" for the 0.10 clients of GStreamer 1.22, "peerId" for later */
  b = msg_begin ("welcome");
  msg_add_string (b, "peerId", peer->id);
  msg_add_string (b, "peer_id", peer->id);
  msg_send (peer, b);
}

/* ---------- the upgrade ---------- */

/* The upgrade is done here rather than by soup_server_add_websocket_handler
 * so the connection runs over a WrtcCountingStream: libsoup 3.2 neither
 * bounds a fragmented message nor says how much it has queued to send. */
static void
on_upgrade_written (SoupServerMessage * msg, WrtcSignallingServer * server)
{
  GIOStream *base = soup_server_message_steal_connection (msg);
  WrtcCountingStream *stream;
  SoupWebsocketConnection *conn;
  GUri *uri = soup_server_message_get_uri (msg);

  g_signal_handlers_disconnect_by_data (msg, server);
  if (base == NULL)
    return;
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
  on_websocket (server, msg, stream, conn);
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
    GList *addrs = g_resolver_lookup_by_name (g_resolver_get_default (),
        server->host, NULL, NULL);

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

  addr = g_inet_socket_address_new (inet, server->req_port);
  g_object_unref (inet);
  ok = soup_server_listen (server->soup, addr,
      server->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error);
  g_object_unref (addr);
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
  GHashTableIter iter;
  gpointer key;
  GSource *timeout;

  server->stopping = TRUE;
  soup_server_disconnect (server->soup);
  g_hash_table_iter_init (&iter, server->conns);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    Peer *peer = key;

    peer_unregister (peer, FALSE);
    if (soup_websocket_connection_get_state (peer->conn) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (peer->conn, CLOSE_GOING_AWAY,
          "server shutting down");
  }
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
      (GDestroyNotify) session_free);
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

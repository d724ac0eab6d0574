/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The protocol of gst-plugins-rs's gst-webrtc-signalling-server: peers,
 * their status, sessions between a producer and a consumer, and the relay
 * between the two. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "signalling-private.h"

#include <string.h>

typedef enum
{
  HANDLED,
  MALFORMED,                    /* dropped without reply, logged */
  FAILED,                       /* answered with "error" */
} Outcome;

static const struct
{
  const gchar *name;
  Roles role;
} role_names[] = {
  {"producer", ROLE_PRODUCER},
  {"consumer", ROLE_CONSUMER},
  {"listener", ROLE_LISTENER},
};

/* ---------- JSON helpers ---------- */

/* json-glib parses recursively: some 100000 nested brackets (a 200 kB
 * message) exhaust a thread's stack. Signalling needs a handful of levels;
 * "meta" is the application's, so allow well beyond that. */
#define MAX_JSON_DEPTH 64

static gboolean
json_depth_ok (const gchar * data, gsize len)
{
  gboolean in_string = FALSE;
  guint depth = 0;
  gsize i;

  for (i = 0; i < len; i++) {
    gchar c = data[i];

    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_JSON_DEPTH)
        return FALSE;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

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

static gboolean
on_kick (gpointer data)
{
  Peer *peer = data;

  g_clear_pointer (&peer->kick, g_source_unref);
  wrtc_sig_peer_kick (peer, CLOSE_POLICY_VIOLATION, "outgoing queue full");
  return G_SOURCE_REMOVE;
}

/* Takes @text. A peer that lets too much pile up is disconnected: a
 * client that does not read must not grow the server without bound. The
 * disconnection waits for the main loop, so no handler ever sees peers and
 * sessions vanish while it walks them; what would be sent to the peer
 * meanwhile is dropped. */
static void
peer_send_text (Peer * peer, gchar * text)
{
  WrtcSignallingServer *server = peer->server;
  gsize len = strlen (text);
  guint64 *end;

  if (!peer->registered || peer->kick ||
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
    peer->kick = g_idle_source_new ();
    g_source_set_callback (peer->kick, on_kick, peer, NULL);
    g_source_attach (peer->kick, server->context);
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

void
wrtc_sig_session_free (Session * session)
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

void
wrtc_sig_peer_unregister (Peer * peer, gboolean notify)
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

void
wrtc_sig_peer_handle_text (Peer * peer, GBytes * text)
{
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  JsonNode *root;
  JsonObject *msg;
  const gchar *type;
  Outcome outcome = MALFORMED;
  gchar *why = NULL;

  if (!json_depth_ok (g_bytes_get_data (text, NULL), g_bytes_get_size (text))) {
    why = g_strdup_printf ("JSON nested deeper than %d levels",
        MAX_JSON_DEPTH);
    goto done;
  }
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


void
wrtc_sig_peer_welcome (Peer * peer)
{
  JsonBuilder *b = msg_begin ("welcome");

  /* "peer_id" for the 0.10 clients of GStreamer 1.22, "peerId" for later */
  msg_add_string (b, "peerId", peer->id);
  msg_add_string (b, "peer_id", peer->id);
  msg_send (peer, b);
}

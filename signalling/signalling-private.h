/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* What the two halves of the server share: signalling-protocol.c (peers,
 * sessions, the messages) and signalling-server.c (connections, the thread,
 * the public API). Everything here is used on the server's thread only,
 * except the atomics. */

#ifndef __WRTC_SIGNALLING_PRIVATE_H__
#define __WRTC_SIGNALLING_PRIVATE_H__

#include "signalling-server.h"
#include "signalling-stream.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

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
  GSocket *socket;
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
  GSource *kick;                /* queue overflowed: disconnect it soon */
  GSource *shutdown;            /* disconnected: shut its socket down soon */
};

struct _WrtcSignallingServer
{
  gchar *host;
  guint16 req_port;
  gchar *cert_file;
  gchar *key_file;
  gchar *web_root;
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

/* Sends the welcome to a peer just connected and registered. */
void wrtc_sig_peer_welcome (Peer * peer);

/* One text message from @peer. */
void wrtc_sig_peer_handle_text (Peer * peer, GBytes * text);

/* Takes @peer out of the protocol: its sessions end and, with @notify,
 * listeners hear it is gone. Its connection lives on until it closes. */
void wrtc_sig_peer_unregister (Peer * peer, gboolean notify);

/* Unregisters @peer and closes its connection with @code. */
void wrtc_sig_peer_kick (Peer * peer, gushort code, const gchar * why);

void wrtc_sig_session_free (Session * session);

G_END_DECLS

#endif /* __WRTC_SIGNALLING_PRIVATE_H__ */

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Helpers of the signalling server tests: bounded waits, a libsoup-3
 * WebSocket client reading JSON messages, and a hand-made client on a plain
 * socket for what a well-behaved library never does. Failures go through
 * Check (fail_unless), so only for use inside test cases. */

#ifndef __WRTC_TEST_WS_CLIENT_H__
#define __WRTC_TEST_WS_CLIENT_H__

#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "signalling-server.h"

G_BEGIN_DECLS

#define WAIT_MS 10000

/* Iterates the default context until @done (*@flag or @check) or the
 * deadline; fails the test naming @what on timeout. */
#define WAIT_FOR(cond, what) G_STMT_START {                               \
    gboolean expired_ = FALSE;                                            \
    GSource *t_ = g_timeout_source_new (scaled (WAIT_MS));                \
    g_source_set_callback (t_, wait_on_deadline, &expired_, NULL);        \
    g_source_attach (t_, NULL);                                           \
    while (!(cond) && !expired_)                                          \
      g_main_context_iteration (NULL, TRUE);                              \
    g_source_destroy (t_);                                                \
    g_source_unref (t_);                                                  \
    fail_unless (cond, "timed out waiting for %s", what);                 \
  } G_STMT_END

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

typedef struct
{
  GSocket *socket;
  gchar *id;
} Raw;

guint scaled (guint ms);      /* @ms times CK_TIMEOUT_MULTIPLIER */
gboolean wait_on_deadline (gpointer data);

/* A server on 127.0.0.1, any port; 0 selects a default. */
WrtcSignallingServer *server_start (guint64 max_message_size,
    guint max_queue, guint ping);

/* libsoup client */
Client *client_try_connect (const gchar * uri, GTlsDatabase * db,
    GError ** error);
Client *client_connect_tls (const gchar * uri, GTlsDatabase * db);
Client *client_connect (WrtcSignallingServer * server);
void client_send (Client * c, const gchar * text);
void client_sendf (Client * c, const gchar * format, ...)
    G_GNUC_PRINTF (2, 3);
gchar *client_next_text (Client * c);
JsonObject *expect (Client * c, const gchar * type);
const gchar *str_member (JsonObject * obj, const gchar * name);
JsonArray *sync_list (Client * c);
void expect_error (Client * c, const gchar * contains);
void client_close (Client * c);
void client_free (Client * c);
void register_producer (Client * c, const gchar * name);
gchar *start_session (Client * producer, Client * consumer);

/* hand-made client */
Raw *raw_connect (WrtcSignallingServer * server, gint rcvbuf);
void raw_send_frame (Raw * r, guint8 opcode, gboolean fin,
    const gchar * payload, gsize len);
gchar *raw_read_frame (Raw * r, guint8 * opcode);
gboolean raw_wait_closed (Raw * r, gushort code);
void raw_free (Raw * r);

G_END_DECLS

#endif /* __WRTC_TEST_WS_CLIENT_H__ */

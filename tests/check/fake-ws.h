/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __FAKE_WS_H__
#define __FAKE_WS_H__

#include <glib.h>

G_BEGIN_DECLS

/* One raw WebSocket for the signalling tests, on a thread of its own: a
 * fake signalling server (listening on 127.0.0.1, one client at a time) or
 * a fake peer (a client of a real server). Every text message received is
 * queued for the test; sends are queued to the WebSocket's thread. */
typedef struct _FakeWs FakeWs;

/* Listens on 127.0.0.1, a free port: fake_ws_dup_uri () gives ws://... */
FakeWs *fake_ws_new_server (void);
/* Connects to @uri; FALSE from fake_ws_wait_open () if it cannot. */
FakeWs *fake_ws_new_client (const gchar * uri);
gchar *fake_ws_dup_uri (FakeWs * ws);

/* TRUE once a connection is open (accepted or connected), within
 * @timeout_s. */
gboolean fake_ws_wait_open (FakeWs * ws, guint timeout_s);
void fake_ws_send (FakeWs * ws, const gchar * text);
/* The next message received within @timeout_s (g_free it), or NULL (also
 * once the connection closed and nothing is left). */
gchar *fake_ws_pop (FakeWs * ws, guint timeout_s);
/* The next message whose "type" is @type, skipping others; NULL as
 * fake_ws_pop (). */
gchar *fake_ws_pop_type (FakeWs * ws, const gchar * type, guint timeout_s);
/* TRUE once the connection closed, within @timeout_s. */
gboolean fake_ws_wait_closed (FakeWs * ws, guint timeout_s);
/* Closes the connection at once (no close handshake wait). */
void fake_ws_close (FakeWs * ws);
void fake_ws_free (FakeWs * ws);

/* The string member @name of the JSON object @text (g_free it), or NULL;
 * @name may be "a.b" for a member of a member object. */
gchar *json_dup_string (const gchar * text, const gchar * name);

G_END_DECLS

#endif /* __FAKE_WS_H__ */

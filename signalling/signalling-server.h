/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* A WebRTC signalling server speaking the protocol of gst-plugins-rs's
 * webrtcsink / webrtcsrc / gst-webrtc-signalling-server (see
 * docs/plugins/wrtcframe-signalling-server.md). GLib, GIO, libsoup-3 and
 * json-glib only, no GStreamer: the executable, the tests, the endpoint
 * element and the demo embed it.
 *
 * The server runs on a thread of its own with its own GMainContext, so the
 * caller needs no main loop. All functions here are thread-safe. */

#ifndef __WRTC_SIGNALLING_SERVER_H__
#define __WRTC_SIGNALLING_SERVER_H__

#include <glib.h>

G_BEGIN_DECLS

#define WRTC_SIGNALLING_DEFAULT_HOST              "0.0.0.0"
#define WRTC_SIGNALLING_DEFAULT_PORT              8443
#define WRTC_SIGNALLING_DEFAULT_MAX_MESSAGE_SIZE  (1024 * 1024)
#define WRTC_SIGNALLING_DEFAULT_MAX_QUEUE         1000
#define WRTC_SIGNALLING_DEFAULT_MAX_QUEUE_BYTES   (16 * 1024 * 1024)
#define WRTC_SIGNALLING_DEFAULT_PING_INTERVAL     30

/* Zero (or NULL) in any field selects its default. Initialise with
 * wrtc_signalling_server_options_init() or "= { 0, }" and set what you need:
 * fields may be added at the end, never changed. */
typedef struct
{
  const gchar *host;            /* IP address or name to listen on; "0.0.0.0" */
  guint16 port;                 /* 0: the system picks a free port */
  const gchar *cert_file;       /* PEM certificate (may hold the key): wss:// */
  const gchar *key_file;        /* PEM private key, when not in cert_file */
  guint64 max_message_size;     /* largest incoming message, bytes */
  guint max_queue;              /* messages waiting for one peer */
  guint64 max_queue_bytes;      /* bytes waiting for one peer */
  guint ping_interval;          /* seconds between keep-alive pings */
  const gchar *web_root;        /* folder of files served over plain HTTP GET
                                 * (the browser page); NULL: none */
} WrtcSignallingServerOptions;

typedef struct _WrtcSignallingServer WrtcSignallingServer;

#define WRTC_SIGNALLING_ERROR (wrtc_signalling_error_quark ())
typedef enum
{
  WRTC_SIGNALLING_ERROR_ADDRESS,        /* --host does not resolve */
  WRTC_SIGNALLING_ERROR_TLS,            /* certificate or key unusable */
} WrtcSignallingError;

GQuark wrtc_signalling_error_quark (void);

void wrtc_signalling_server_options_init (WrtcSignallingServerOptions * opts);

/* Starts listening before it returns (the port is bound). NULL @opts: all
 * defaults. On failure returns NULL and sets @error (G_IO_ERROR for the
 * socket, WRTC_SIGNALLING_ERROR otherwise). */
WrtcSignallingServer *wrtc_signalling_server_new (const
    WrtcSignallingServerOptions * opts, GError ** error);

/* The port actually bound (useful with port 0). */
guint16 wrtc_signalling_server_get_port (WrtcSignallingServer * server);

/* "ws://HOST:PORT" or "wss://HOST:PORT" for a client on this machine: a
 * wildcard host becomes 127.0.0.1. Free with g_free(). */
gchar *wrtc_signalling_server_dup_uri (WrtcSignallingServer * server);

/* Peers connected (welcomed and not yet gone), sessions open. */
guint wrtc_signalling_server_get_n_peers (WrtcSignallingServer * server);
guint wrtc_signalling_server_get_n_sessions (WrtcSignallingServer * server);

/* Closes every connection (close code 1001), stops the thread and joins it.
 * Waits at most about two seconds for peers to acknowledge the close. */
void wrtc_signalling_server_free (WrtcSignallingServer * server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WrtcSignallingServer,
    wrtc_signalling_server_free)

G_END_DECLS

#endif /* __WRTC_SIGNALLING_SERVER_H__ */

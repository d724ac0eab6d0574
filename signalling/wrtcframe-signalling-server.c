/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* wrtcframe-signalling-server: the signalling server as a program, with the
 * options of gst-webrtc-signalling-server (--host, --port, --cert). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "signalling-server.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

#define EXIT_USAGE 2

static gboolean verbose;

static void
log_handler (const gchar * domain, GLogLevelFlags level,
    const gchar * message, gpointer data)
{
  GDateTime *now;
  gchar *stamp;

  if ((level & G_LOG_LEVEL_DEBUG) && !verbose)
    return;
  now = g_date_time_new_now_utc ();
  stamp = g_date_time_format_iso8601 (now);
  fprintf (stderr, "%s %s\n", stamp, message);
  fflush (stderr);
  g_free (stamp);
  g_date_time_unref (now);
}

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  WrtcSignallingServerOptions opts;
  WrtcSignallingServer *server;
  gchar *host = NULL, *cert = NULL, *key = NULL, *web_root = NULL, *uri;
  gint port = WRTC_SIGNALLING_DEFAULT_PORT;
  gint64 max_message_size = WRTC_SIGNALLING_DEFAULT_MAX_MESSAGE_SIZE;
  gint max_queue = WRTC_SIGNALLING_DEFAULT_MAX_QUEUE;
  gint ping_interval = WRTC_SIGNALLING_DEFAULT_PING_INTERVAL;
  GOptionEntry entries[] = {
    {"host", 0, 0, G_OPTION_ARG_STRING, &host,
        "Address to listen on (default: " WRTC_SIGNALLING_DEFAULT_HOST ")",
        "HOST"},
    {"port", 'p', 0, G_OPTION_ARG_INT, &port,
        "Port to listen on, 0 for any free one (default: 8443)", "PORT"},
    {"cert", 'c', 0, G_OPTION_ARG_FILENAME, &cert,
          "TLS certificate (PEM; may also hold the key): serve wss://",
        "FILE"},
    {"key", 'k', 0, G_OPTION_ARG_FILENAME, &key,
        "TLS private key (PEM), when not in the --cert file", "FILE"},
    {"max-message-size", 0, 0, G_OPTION_ARG_INT64, &max_message_size,
          "Largest message accepted from a peer, in bytes; a peer sending a "
          "larger one is disconnected with close code 1009 (default: 1048576)",
        "BYTES"},
    {"max-queue", 0, 0, G_OPTION_ARG_INT, &max_queue,
          "Messages that may wait for one peer; a peer that falls further "
          "behind is disconnected (default: 1000)", "N"},
    {"ping-interval", 0, 0, G_OPTION_ARG_INT, &ping_interval,
          "Seconds between keep-alive pings; a peer silent for twice that "
          "plus 5 s is disconnected (default: 30)", "SECONDS"},
    {"web-root", 0, 0, G_OPTION_ARG_FILENAME, &web_root,
          "Serve the .html, .js and .css files of this folder over plain "
          "HTTP GET (\"/\" is index.html): the repository's web/ is the "
          "browser end of a tunnel", "DIR"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
        "Also log debug details (stale messages dropped, non-WebSocket "
          "requests) and libsoup's", NULL},
    {NULL}
  };
  GOptionContext *ctx;
  GMainLoop *loop;
  GError *err = NULL;
  int status = EXIT_SUCCESS;

  ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
      "WebRTC signalling server speaking the protocol of gst-plugins-rs's "
      "webrtcsink,\nwebrtcsrc and gst-webrtc-signalling-server, for the "
      "wrtcframe elements and\nthose. Logs a line per peer connecting or "
      "leaving and per session.");
  g_option_context_set_description (ctx,
      "Exit status: 0 stopped by SIGINT or SIGTERM, 1 could not start "
      "(address in use,\nunusable certificate, ...), 2 bad command line.\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    fprintf (stderr, "%s\nTry --help.\n", err->message);
    g_error_free (err);
    status = EXIT_USAGE;
  } else if (argc > 1 || port < 0 || port > 65535 || max_message_size <= 0 ||
      max_queue <= 0 || ping_interval <= 0 || (key && !cert)) {
    fprintf (stderr, "%s\nTry --help.\n", argc > 1 ? "unexpected argument" :
        key && !cert ? "--key needs --cert" : "value out of range");
    status = EXIT_USAGE;
  }
  g_option_context_free (ctx);
  if (status != EXIT_SUCCESS)
    goto done;

  g_log_set_handler (G_LOG_DOMAIN, G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR,
      log_handler, NULL);
  if (verbose)
    g_log_set_handler ("libsoup", G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR,
        log_handler, NULL);

  wrtc_signalling_server_options_init (&opts);
  if (host)
    opts.host = host;
  opts.port = port;
  opts.cert_file = cert;
  opts.key_file = key;
  opts.web_root = web_root;
  opts.max_message_size = max_message_size;
  opts.max_queue = max_queue;
  opts.ping_interval = ping_interval;

  server = wrtc_signalling_server_new (&opts, &err);
  if (server == NULL) {
    fprintf (stderr, "cannot start: %s\n", err->message);
    g_error_free (err);
    status = EXIT_FAILURE;
    goto done;
  }
  uri = wrtc_signalling_server_dup_uri (server);
  /* tests and scripts read the port from this line */
  printf ("listening on %s (port %u)\n", uri,
      wrtc_signalling_server_get_port (server));
  fflush (stdout);
  g_free (uri);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);

  g_info ("stopping");
  wrtc_signalling_server_free (server);

done:
  g_free (host);
  g_free (cert);
  g_free (key);
  g_free (web_root);
  return status;
}

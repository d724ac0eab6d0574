/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * The signalling server's limits and edges on 127.0.0.1: oversized and
 * fragmented messages, a peer that never reads, unanswered pings (with the
 * hand-made client of ws-client.c), TLS with a throwaway certificate,
 * shutdown with peers connected, and wrtcframe-signalling-server as a
 * subprocess. Every wait is bounded and fails the test with what it waited
 * for.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ws-client.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ---------- limits ---------- */

GST_START_TEST (test_message_too_big)
{
  WrtcSignallingServer *server = server_start (4096, 0, 0);
  Client *p = client_connect (server), *big = client_connect (server);
  Client *c = client_connect (server);
  gchar *text, *sid, *filler = g_strnfill (6000, 'a');
  Raw *r;
  guint i;

  register_producer (p, "p");
  sid = start_session (p, big);
  g_free (sid);

  /* one frame over the limit: code 1009 */
  text = g_strdup_printf ("{\"type\":\"list\",\"pad\":\"%s\"}", filler);
  client_send (big, text);
  g_free (text);
  WAIT_FOR (soup_websocket_connection_get_close_code (big->conn) != 0,
      "the oversized peer's close");
  fail_unless_equals_int (soup_websocket_connection_get_close_code
      (big->conn), SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  expect (p, "endSession");

  /* the same in 100-byte fragments, none of them over the limit */
  r = raw_connect (server, 0);
  raw_send_frame (r, 1, FALSE, filler, 100);
  for (i = 1; i < 59; i++)
    raw_send_frame (r, 0, FALSE, filler, 100);
  raw_send_frame (r, 0, TRUE, filler, 100);
  fail_unless (raw_wait_closed (r, SOUP_WEBSOCKET_CLOSE_TOO_BIG));
  raw_free (r);

  /* a message just under the limit is fine, and the others never noticed */
  g_free (filler);
  filler = g_strnfill (3900, 'b');
  text = g_strdup_printf ("{\"type\":\"list\",\"pad\":\"%s\"}", filler);
  client_send (c, text);
  g_free (text);
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (expect (c, "list"), "producers")), 1);
  sync_list (p);
  WAIT_FOR (wrtc_signalling_server_get_n_peers (server) == 2, "2 peers");

  g_free (filler);
  client_free (big);
  client_free (c);
  client_free (p);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* A message in fragments under the limit is put together and handled. */
GST_START_TEST (test_fragments_reassembled)
{
  WrtcSignallingServer *server = server_start (4096, 0, 0);
  Raw *r = raw_connect (server, 0);
  const gchar *list = "{\"type\":\"list\"}";
  guint8 opcode = 0;
  gchar *reply, *ping;
  guint i;

  raw_send_frame (r, 1, FALSE, list, 5);
  raw_send_frame (r, 9, TRUE, "hi", 2);   /* a ping may come in between */
  raw_send_frame (r, 0, FALSE, list + 5, 5);
  raw_send_frame (r, 0, TRUE, list + 10, strlen (list) - 10);
  reply = raw_read_frame (r, &opcode);
  fail_unless_equals_int (opcode, 10);  /* pong */
  fail_unless_equals_string (reply, "hi");
  g_free (reply);
  reply = raw_read_frame (r, &opcode);
  fail_unless_equals_int (opcode, 1);
  fail_unless_equals_string (reply, "{\"type\":\"list\",\"producers\":[]}");
  g_free (reply);

  /* control frames do not count towards a message: 30 kB of pings, more
   * than the limit and its slack, then a message */
  ping = g_strnfill (120, 'p');
  for (i = 0; i < 250; i++)
    raw_send_frame (r, 9, TRUE, ping, 120);
  raw_send_frame (r, 1, TRUE, list, strlen (list));
  for (i = 0; i < 250; i++) {
    reply = raw_read_frame (r, &opcode);
    fail_unless (reply != NULL, "closed after %u pongs", i);
    fail_unless_equals_int (opcode, 10);
    g_free (reply);
  }
  reply = raw_read_frame (r, &opcode);
  fail_unless (reply != NULL && opcode == 1);
  g_free (reply);
  g_free (ping);
  raw_free (r);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* Not a WebSocket request: 400 and a hint, and the server carries on. */
GST_START_TEST (test_plain_http)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  GSocketClient *sc = g_socket_client_new ();
  GSocketConnection *conn;
  GDataInputStream *in;
  const gchar *req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  GError *err = NULL;
  gchar *line;
  Client *c;

  conn = g_socket_client_connect_to_host (sc, "127.0.0.1",
      wrtc_signalling_server_get_port (server), NULL, &err);
  fail_unless (conn != NULL, "%s", err ? err->message : "?");
  fail_unless (g_output_stream_write_all (g_io_stream_get_output_stream
          (G_IO_STREAM (conn)), req, strlen (req), NULL, NULL, NULL));
  g_socket_set_timeout (g_socket_connection_get_socket (conn),
      scaled (WAIT_MS) / 1000);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM
          (conn)));
  line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  fail_unless (line && g_str_has_prefix (line, "HTTP/1.1 400"), "%s", line);
  g_free (line);
  g_object_unref (in);
  g_object_unref (conn);
  g_object_unref (sc);

  c = client_connect (server);
  sync_list (c);
  client_free (c);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* A producer that never reads while its consumer keeps sending: once 16
 * messages wait for it, it is disconnected, and only it. */
GST_START_TEST (test_queue_bound)
{
  WrtcSignallingServer *server = server_start (0, 16, 0);
  Client *c = client_connect (server);
  Raw *p = raw_connect (server, 4096);
  const gchar *status = "{\"type\":\"setPeerStatus\",\"roles\":[\"producer\"]}";
  gchar *filler = g_strnfill (60000, 'c'), *sid, *text;
  gboolean ended = FALSE;
  guint sent = 0;

  raw_send_frame (p, 1, TRUE, status, strlen (status));
  WAIT_FOR (json_array_get_length (sync_list (c)) == 1, "the producer");
  client_sendf (c, "{\"type\":\"startSession\",\"peerId\":\"%s\"}", p->id);
  sid = g_strdup (str_member (expect (c, "sessionStarted"), "sessionId"));
  text = g_strdup_printf ("{\"type\":\"peer\",\"sessionId\":\"%s\",\"ice\":"
      "{\"candidate\":\"%s\",\"sdpMLineIndex\":0}}", sid, filler);

  /* One at a time (the "list" reply says the server has relayed it), so
   * the count is exact and the test costs no more than it must. Loopback
   * socket buffers take a few MB before the server's queue grows; without
   * the bound this would reach 1000 (60 MB). */
  while (!ended && sent < 1000) {
    gboolean listed = FALSE;

    client_send (c, text);
    sent++;
    client_send (c, "{\"type\":\"list\"}");
    while (!listed) {
      gchar *reply = client_next_text (c);

      listed = strstr (reply, "\"type\":\"list\"") != NULL;
      if (strstr (reply, "\"type\":\"endSession\"")) {
        fail_unless (strstr (reply, sid) != NULL, "%s", reply);
        ended = TRUE;
      }
      g_free (reply);
    }
  }
  fail_unless (ended, "the producer was never disconnected");
  GST_INFO ("producer disconnected after %u messages of 60 kB", sent);
  fail_unless (sent > 16);
  WAIT_FOR (wrtc_signalling_server_get_n_peers (server) == 1, "1 peer");
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 0);
  fail_unless (soup_websocket_connection_get_state (c->conn) ==
      SOUP_WEBSOCKET_STATE_OPEN);

  g_free (text);
  g_free (sid);
  g_free (filler);
  raw_free (p);
  client_free (c);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* Pings every second; a peer that answers none is gone after 2 s + 5 s. */
GST_START_TEST (test_unanswered_pings)
{
  WrtcSignallingServer *server = server_start (0, 0, 1);
  Raw *r = raw_connect (server, 0);
  Client *c = client_connect (server);
  guint8 opcode = 0;
  gchar *payload;
  gint64 start = g_get_monotonic_time ();

  /* libsoup answers pings by itself: that client stays */
  payload = raw_read_frame (r, &opcode);
  fail_unless (payload != NULL);
  fail_unless_equals_int (opcode, 9);   /* ping */
  g_free (payload);
  fail_unless (raw_wait_closed (r, 0));
  fail_unless (g_get_monotonic_time () - start >= 6 * G_USEC_PER_SEC);
  WAIT_FOR (wrtc_signalling_server_get_n_peers (server) == 1, "1 peer");
  fail_unless_equals_int (json_array_get_length (sync_list (c)), 0);

  raw_free (r);
  client_free (c);
  wrtc_signalling_server_free (server);
}

GST_END_TEST;

/* ---------- the program as a subprocess ---------- */

typedef struct
{
  gboolean done;
  gchar *line;
} LineRead;

static void
on_line (GObject * source, GAsyncResult * res, gpointer data)
{
  LineRead *lr = data;

  lr->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM
      (source), res, NULL, NULL);
  lr->done = TRUE;
}

static void
on_exited (GObject * source, GAsyncResult * res, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL);
  *(gboolean *) data = TRUE;
}

static gint
run_program (const gchar * const *args, gchar ** out)
{
  GError *err = NULL;
  GPtrArray *argv = g_ptr_array_new ();
  GSubprocess *proc;
  gboolean exited = FALSE;
  gint status;

  g_ptr_array_add (argv, (gpointer) SIGNALLING_SERVER_EXE);
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) * args);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const gchar * const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &err);
  fail_unless (proc != NULL, "%s", err ? err->message : "?");
  g_ptr_array_free (argv, TRUE);
  g_subprocess_wait_async (proc, NULL, on_exited, &exited);
  WAIT_FOR (exited, "the program to exit");
  if (out) {
    GInputStream *s = g_subprocess_get_stdout_pipe (proc);
    gchar buf[16384];
    gsize n = 0;

    g_input_stream_read_all (s, buf, sizeof (buf) - 1, &n, NULL, NULL);
    buf[n] = '\0';
    *out = g_strdup (buf);
  }
  fail_unless (g_subprocess_get_if_exited (proc));
  status = g_subprocess_get_exit_status (proc);
  g_object_unref (proc);
  return status;
}

/* Starts the program with @args; returns once it printed its "listening
 * on URI (port N)" line, with *@uri set. */
static GSubprocess *
start_program (const gchar * const *args, gchar ** uri)
{
  GError *err = NULL;
  GPtrArray *argv = g_ptr_array_new ();
  GSubprocess *proc;
  GDataInputStream *out;
  LineRead lr = { FALSE, NULL };
  gchar text[128];
  guint port = 0;

  g_ptr_array_add (argv, (gpointer) SIGNALLING_SERVER_EXE);
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) * args);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const gchar * const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &err);
  fail_unless (proc != NULL, "%s", err ? err->message : "?");
  g_ptr_array_free (argv, TRUE);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL,
      on_line, &lr);
  WAIT_FOR (lr.done, "the program's \"listening on\" line");
  fail_unless (lr.line && sscanf (lr.line, "listening on %100s (port %u)",
          text, &port) == 2 && port > 0, "%s", lr.line);
  *uri = g_strdup (text);
  g_free (lr.line);
  g_object_unref (out);
  return proc;
}

/* Reads the program's log (stderr) until a line holding @needle; returns
 * the lines read (bounded: fails after the usual wait). */
static gchar *
wait_log_line (GSubprocess * proc, const gchar * needle)
{
  GDataInputStream *err = g_data_input_stream_new
      (g_subprocess_get_stderr_pipe (proc));
  GString *seen = g_string_new (NULL);
  gboolean found = FALSE;

  /* the pipe must not be closed with the stream: stop_program reads on */
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (err),
      FALSE);
  while (!found) {
    LineRead lr = { FALSE, NULL };

    g_data_input_stream_read_line_async (err, G_PRIORITY_DEFAULT, NULL,
        on_line, &lr);
    WAIT_FOR (lr.done, "the program's next log line");
    fail_unless (lr.line != NULL, "the log ended without \"%s\": %s",
        needle, seen->str);
    found = strstr (lr.line, needle) != NULL;
    g_string_append_printf (seen, "%s\n", lr.line);
    g_free (lr.line);
  }
  g_object_unref (err);
  return g_string_free (seen, FALSE);
}

/* SIGTERM: it must exit with 0. Returns what it logged. */
static gchar *
stop_program (GSubprocess * proc)
{
  gboolean exited = FALSE;
  gchar buf[16384];
  gsize n = 0;

  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait_async (proc, NULL, on_exited, &exited);
  WAIT_FOR (exited, "the program to stop on SIGTERM");
  fail_unless (g_subprocess_get_if_exited (proc));
  fail_unless_equals_int (g_subprocess_get_exit_status (proc), 0);
  g_input_stream_read_all (g_subprocess_get_stderr_pipe (proc), buf,
      sizeof (buf) - 1, &n, NULL, NULL);
  buf[n] = '\0';
  g_object_unref (proc);
  return g_strdup (buf);
}

/* ---------- TLS ---------- */

static gboolean
run_quietly (const gchar * const *argv)
{
  GError *err = NULL;
  gint status = -1;

  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
          G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &err),
      "%s: %s", argv[0], err ? err->message : "?");
  return g_spawn_check_wait_status (status, NULL);
}

/* A throwaway self-signed certificate for 127.0.0.1 in @dir. */
static void
make_cert (const gchar * dir, gchar ** cert, gchar ** key)
{
  *cert = g_build_filename (dir, "cert.pem", NULL);
  *key = g_build_filename (dir, "key.pem", NULL);
  {
    const gchar *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048",
      "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
      "subjectAltName=IP:127.0.0.1", "-keyout", *key, "-out", *cert, NULL
    };
    fail_unless (run_quietly (argv), "openssl could not make a certificate");
  }
}

static void
remove_dir (gchar * dir, gchar * cert, gchar * key)
{
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
  g_free (cert);
  g_free (key);
  g_free (dir);
}

GST_START_TEST (test_tls)
{
  gchar *dir = g_dir_make_tmp ("wrtc-signalling-XXXXXX", NULL);
  gchar *cert, *key, *uri;
  WrtcSignallingServerOptions opts = { 0, };
  WrtcSignallingServer *server;
  GTlsDatabase *db;
  GError *err = NULL;
  Client *p, *c, *untrusting;
  gchar *sid;

  fail_unless (dir != NULL);
  make_cert (dir, &cert, &key);
  opts.host = "127.0.0.1";
  opts.cert_file = cert;
  opts.key_file = key;
  server = wrtc_signalling_server_new (&opts, &err);
  fail_unless (server != NULL, "%s", err ? err->message : "?");
  uri = wrtc_signalling_server_dup_uri (server);
  fail_unless (g_str_has_prefix (uri, "wss://127.0.0.1:"), "%s", uri);

  db = g_tls_file_database_new (cert, &err);
  fail_unless (db != NULL, "%s", err ? err->message : "?");
  p = client_connect_tls (uri, db);
  c = client_connect_tls (uri, db);
  register_producer (p, "secure");
  sid = start_session (p, c);
  g_free (sid);

  /* without the certificate in its database a client refuses the server */
  untrusting = client_try_connect (uri, NULL, &err);
  fail_unless (untrusting == NULL);
  fail_unless (err != NULL);
  g_clear_error (&err);

  /* a plain ws:// client gets nowhere either */
  {
    gchar *plain = g_strdup_printf ("ws://127.0.0.1:%u",
        wrtc_signalling_server_get_port (server));

    fail_unless (client_try_connect (plain, NULL, &err) == NULL);
    g_clear_error (&err);
    g_free (plain);
  }

  client_free (c);
  client_free (p);
  g_free (uri);
  wrtc_signalling_server_free (server);

  /* the program, the same */
  {
    const gchar *args[] = { "--host", "127.0.0.1", "--port", "0", "--cert",
      cert, "--key", key, NULL
    };
    GSubprocess *proc = start_program (args, &uri);
    gchar *log;

    fail_unless (g_str_has_prefix (uri, "wss://127.0.0.1:"), "%s", uri);
    p = client_connect_tls (uri, db);
    sync_list (p);
    client_free (p);
    log = stop_program (proc);
    fail_unless (strstr (log, "connected from 127.0.0.1") != NULL, "%s", log);
    g_free (log);
    g_free (uri);
  }
  g_object_unref (db);

  /* a key that does not exist: a clear error, no server */
  opts.key_file = "/nonexistent/key.pem";
  fail_unless (wrtc_signalling_server_new (&opts, &err) == NULL);
  fail_unless (g_error_matches (err, WRTC_SIGNALLING_ERROR,
          WRTC_SIGNALLING_ERROR_TLS), "%s", err->message);
  g_clear_error (&err);
  remove_dir (dir, cert, key);
}

GST_END_TEST;

/* free() with peers that do not answer the close: bounded, and they see
 * 1001 when they look again. */
GST_START_TEST (test_shutdown_with_peers)
{
  WrtcSignallingServer *server = server_start (0, 0, 0);
  Client *p = client_connect (server), *c = client_connect (server);
  gint64 start;
  gchar *sid;

  register_producer (p, "p");
  sid = start_session (p, c);
  g_free (sid);
  start = g_get_monotonic_time ();
  wrtc_signalling_server_free (server);
  fail_unless (g_get_monotonic_time () - start < 5 * G_USEC_PER_SEC);
  WAIT_FOR (p->closed && c->closed, "the clients to see the close");
  fail_unless_equals_int (soup_websocket_connection_get_close_code (p->conn),
      SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
  client_free (c);
  client_free (p);
}

GST_END_TEST;

GST_START_TEST (test_program)
{
  const gchar *help[] = { "--help", NULL };
  const gchar *bad[] = { "--no-such-option", NULL };
  const gchar *range[] = { "--port", "70000", NULL };
  const gchar *local[] = { "--host", "127.0.0.1", "--port", "0", NULL };
  GSubprocess *proc;
  gchar *text, *uri, *log;
  Client *c;
  WrtcSignallingServer *taken;

  fail_unless_equals_int (run_program (help, &text), 0);
  fail_unless (strstr (text, "--port") && strstr (text, "--host") &&
      strstr (text, "--cert") && strstr (text, "--key") &&
      strstr (text, "--max-message-size") && strstr (text, "--max-queue") &&
      strstr (text, "--verbose") && strstr (text, "Exit status"), "%s", text);
  g_free (text);
  fail_unless_equals_int (run_program (bad, NULL), 2);
  fail_unless_equals_int (run_program (range, NULL), 2);

  /* a port already taken: exit status 1 */
  taken = server_start (0, 0, 0);
  text = g_strdup_printf ("%u", wrtc_signalling_server_get_port (taken));
  {
    const gchar *busy[] = { "--host", "127.0.0.1", "--port", text, NULL };
    fail_unless_equals_int (run_program (busy, NULL), 1);
  }
  g_free (text);
  wrtc_signalling_server_free (taken);

  proc = start_program (local, &uri);
  fail_unless (g_str_has_prefix (uri, "ws://127.0.0.1:"), "%s", uri);
  c = client_connect_tls (uri, NULL);
  sync_list (c);
  client_free (c);
  /* the close reaches the program some time after client_free */
  log = wait_log_line (proc, "disconnected");
  fail_unless (strstr (log, "connected from 127.0.0.1") != NULL, "%s", log);
  g_free (log);
  g_free (stop_program (proc));
  g_free (uri);
}

GST_END_TEST;

static Suite *
signalling_server_limits_suite (void)
{
  Suite *s = suite_create ("signalling_server_limits");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_message_too_big);
  tcase_add_test (tc, test_fragments_reassembled);
  tcase_add_test (tc, test_plain_http);
  tcase_add_test (tc, test_queue_bound);
  tcase_add_test (tc, test_unanswered_pings);
  tcase_add_test (tc, test_tls);
  tcase_add_test (tc, test_shutdown_with_peers);
  tcase_add_test (tc, test_program);
  return s;
}

GST_CHECK_MAIN (signalling_server_limits);

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Two gst-launch-1.0 processes and the embedded signalling server: one
 * file each way through webrtctunnel, described in gst-launch syntax only,
 * byte-exact, both processes ending by themselves with exit status 0.
 * Also measures the time to the first byte and the throughput (printed).
 *
 * gst-launch-1.0 is not instrumented, so this suite ("launch") cannot run
 * in the sanitizer build (tools/run-tests.sh --sanitize skips it).
 * WRTC_LAUNCH_MIB sets the size of the producer's file (default 8 MiB), and
 * WRTC_LAUNCH_BACK_KIB the consumer's (default half of that; at least
 * 1 KiB: a connection named in a launch line must carry data, or its
 * filesink is never linked and never ends).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "webrtc-fixture.h"
#include "signalling-server.h"

typedef struct
{
  GMainLoop *loop;
  guint running;
  gint64 first_byte;            /* monotonic us, 0: none yet */
  GFile *watched[2];
} Run;

static void
write_pattern (const gchar * path, guint conn, gsize size)
{
  guint8 *data = g_malloc (size);
  GError *err = NULL;

  pattern_fill (conn, 0, data, size);
  fail_unless (g_file_set_contents (path, (const gchar *) data, size, &err),
      "%s: %s", path, err ? err->message : "?");
  g_free (data);
}

static void
on_exited (GObject * source, GAsyncResult * result, gpointer user_data)
{
  Run *run = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  if (--run->running == 0)
    g_main_loop_quit (run->loop);
}

static gboolean
on_timeout (gpointer user_data)
{
  Run *run = user_data;

  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

/* inotify: the first output bytes of either file */
static void
on_changed (GFileMonitor * monitor, GFile * file, GFile * other,
    GFileMonitorEvent event, Run * run)
{
  GFileInfo *info;

  if (run->first_byte)
    return;
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
      G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info && g_file_info_get_size (info) > 0)
    run->first_byte = g_get_monotonic_time ();
  g_clear_object (&info);
}

static GSubprocess *
spawn (const gchar * dir, const gchar * name, const gchar * launch)
{
  GSubprocessLauncher *l =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  const gchar *gst_launch = g_getenv ("WRTC_GST_LAUNCH");
  gchar *out = g_strdup_printf ("%s/%s.log", dir, name);
  gchar **argv, *cmd;
  GSubprocess *p;
  GError *err = NULL;

  g_subprocess_launcher_set_stdout_file_path (l, out);
  cmd = g_strdup_printf ("%s %s", gst_launch ? gst_launch : "gst-launch-1.0",
      launch);
  GST_INFO ("%s: %s", name, cmd);
  fail_unless (g_shell_parse_argv (cmd, NULL, &argv, &err), "%s",
      err ? err->message : "?");
  p = g_subprocess_launcher_spawnv (l, (const gchar * const *) argv, &err);
  fail_unless (p != NULL, "%s: %s", cmd, err ? err->message : "?");
  g_strfreev (argv);
  g_free (cmd);
  g_free (out);
  g_object_unref (l);
  return p;
}

static void
check_exit (GSubprocess * p, const gchar * dir, const gchar * name)
{
  gchar *path = g_strdup_printf ("%s/%s.log", dir, name), *log = NULL;

  g_file_get_contents (path, &log, NULL, NULL);
  fail_unless (g_subprocess_get_if_exited (p), "%s did not exit by itself "
      "within %d s; its output:\n%s", name, WAIT_S, log);
  fail_unless (g_subprocess_get_exit_status (p) == 0, "%s exited with %d; "
      "its output:\n%s", name, g_subprocess_get_exit_status (p), log);
  g_free (log);
  g_free (path);
}

static void
check_same (const gchar * in, const gchar * out)
{
  gchar *a = NULL, *b = NULL;
  gsize na = 0, nb = 0;

  fail_unless (g_file_get_contents (in, &a, &na, NULL));
  fail_unless (g_file_get_contents (out, &b, &nb, NULL), "no %s", out);
  fail_unless_equals_uint64 (nb, na);
  fail_unless (memcmp (a, b, na) == 0, "%s differs from %s", out, in);
  g_free (a);
  g_free (b);
}

GST_START_TEST (test_two_processes)
{
  const gchar *mib_env = g_getenv ("WRTC_LAUNCH_MIB");
  const gchar *back_env = g_getenv ("WRTC_LAUNCH_BACK_KIB");
  gsize size_a = (mib_env ? atoi (mib_env) : 8) * (gsize) 1024 * 1024;
  gsize size_b = back_env ? MAX (atoi (back_env), 1) * (gsize) 1024 :
      size_a / 2;
  WrtcSignallingServerOptions opts;
  WrtcSignallingServer *server;
  GFileMonitor *monitors[2];
  GSubprocess *pa, *pb;
  gchar *dir, *uri, *launch, *in1, *in2, *out1, *out2;
  gint64 start, end;
  Run run = { 0, };
  guint timeout_id, i;
  gdouble secs;

  dir = g_dir_make_tmp ("wrtc-launch-XXXXXX", NULL);
  fail_unless (dir != NULL);
  in1 = g_build_filename (dir, "in1", NULL);
  in2 = g_build_filename (dir, "in2", NULL);
  out1 = g_build_filename (dir, "out1", NULL);
  out2 = g_build_filename (dir, "out2", NULL);
  write_pattern (in1, 1, size_a);
  write_pattern (in2, 2, size_b);

  wrtc_signalling_server_options_init (&opts);
  opts.host = "127.0.0.1";
  opts.port = 0;
  server = wrtc_signalling_server_new (&opts, NULL);
  fail_unless (server != NULL);
  uri = wrtc_signalling_server_dup_uri (server);

  run.loop = g_main_loop_new (NULL, FALSE);
  run.watched[0] = g_file_new_for_path (out1);
  run.watched[1] = g_file_new_for_path (out2);
  for (i = 0; i < 2; i++) {
    monitors[i] = g_file_monitor_file (run.watched[i], G_FILE_MONITOR_NONE,
        NULL, NULL);
    fail_unless (monitors[i] != NULL);
    g_file_monitor_set_rate_limit (monitors[i], 0);
    g_signal_connect (monitors[i], "changed", G_CALLBACK (on_changed), &run);
  }

  start = g_get_monotonic_time ();
  /* what a user types on the two machines, plus local-addresses to keep
   * ICE on loopback */
  launch = g_strdup_printf ("filesrc location=%s ! t.sink_1 "
      "webrtctunnel name=t local-addresses=127.0.0.1 signaller::uri=%s "
      "signaller::meta=meta,name=launch-a  t.src_2 ! filesink location=%s",
      in1, uri, out2);
  pa = spawn (dir, "producer", launch);
  g_free (launch);
  launch = g_strdup_printf ("filesrc location=%s ! t.sink_2 "
      "webrtctunnel name=t local-addresses=127.0.0.1 signaller::uri=%s "
      "signaller::role=consumer signaller::producer-name=launch-a  "
      "t.src_1 ! filesink location=%s", in2, uri, out1);
  pb = spawn (dir, "consumer", launch);
  g_free (launch);

  run.running = 2;
  g_subprocess_wait_async (pa, NULL, on_exited, &run);
  g_subprocess_wait_async (pb, NULL, on_exited, &run);
  timeout_id = g_timeout_add_seconds (WAIT_S, on_timeout, &run);
  g_main_loop_run (run.loop);
  end = g_get_monotonic_time ();
  if (run.running) {
    g_subprocess_force_exit (pa);
    g_subprocess_force_exit (pb);
  } else {
    g_source_remove (timeout_id);
  }
  check_exit (pa, dir, "producer");
  check_exit (pb, dir, "consumer");
  check_same (in1, out1);
  check_same (in2, out2);

  fail_unless (run.first_byte > 0, "no output was ever written");
  secs = (end - run.first_byte) / 1e6;
  g_print ("two gst-launch-1.0 processes: first byte after %.0f ms, "
      "%.1f MiB + %.1f MiB in %.2f s after it: %.1f MB/s (both directions), "
      "%.2f s in all\n", (run.first_byte - start) / 1e3,
      size_a / 1048576.0, size_b / 1048576.0, secs,
      (size_a + size_b) / 1e6 / secs, (end - start) / 1e6);

  for (i = 0; i < 2; i++) {
    g_object_unref (monitors[i]);
    g_object_unref (run.watched[i]);
  }
  g_object_unref (pa);
  g_object_unref (pb);
  g_main_loop_unref (run.loop);
  wrtc_signalling_server_free (server);
  {
    const gchar *names[] = { "in1", "in2", "out1", "out2", "producer.log",
      "consumer.log"
    };

    for (i = 0; i < G_N_ELEMENTS (names); i++) {
      gchar *p = g_build_filename (dir, names[i], NULL);

      g_remove (p);
      g_free (p);
    }
  }
  g_rmdir (dir);
  g_free (uri);
  g_free (in1);
  g_free (in2);
  g_free (out1);
  g_free (out2);
  g_free (dir);
}

GST_END_TEST;

static Suite *
webrtc_launch_suite (void)
{
  Suite *s = suite_create ("webrtc-launch");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_two_processes);
  return s;
}

GST_CHECK_MAIN (webrtc_launch);

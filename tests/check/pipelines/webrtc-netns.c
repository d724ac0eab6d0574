/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Two gst-launch-1.0 processes through webrtctunnel over a constrained
 * link: two network namespaces made by the test (wrtcns-PID-a, -b), a veth
 * pair between them (10.203.7.1/24 in a, 10.203.7.2/24 in b), each end
 * rate-limited by tc tbf (20 Mbit/s, burst 32 kbit, latency 50 ms). The
 * signalling server runs in a, the consumer in b reaches it over the veth;
 * each webrtctunnel has local-addresses= its namespace's veth address.
 * The producer sends a 96 MiB file (WRTC_NETNS_MIB sets the size), the
 * consumer 64 KiB back. Asserts: byte-exact both ways, both processes exit
 * 0; after the first byte the link carries at least 90 % of the tbf rate
 * (tbf's own byte counters) and the payload at least 85 % (headers take
 * about 9 %, see below); the sending process's peak RSS (VmHWM, sampled
 * every 100 ms) below half the file size and grown by less than 8 MiB
 * since the first byte: backpressure holds, the file is not buffered.
 * (96 MiB, not 64: gst-launch-1.0 with webrtcbin alone takes about 31 MiB,
 * too close to half of 64 MiB.) Prints the rates, tbf's packet and drop
 * counts and the memory.
 *
 * Root only: exits 77 (skipped) when `ip netns add` is not permitted.
 * main () deletes both namespaces (and with them the veth pair and the
 * qdiscs) after the test case, whatever its outcome; the processes the
 * test starts have PR_SET_PDEATHSIG, and namespaces left by a run that was
 * killed are removed by the next one. Suite "launch": gst-launch-1.0 is not
 * instrumented, so the sanitizer run skips it.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "webrtc-fixture.h"

#define NS_PREFIX "wrtcns-"
#define ADDR_A "10.203.7.1"
#define ADDR_B "10.203.7.2"
#define RATE_MBIT 20
/* RSS growth of the sender from the first byte to the end; its window of
 * credit is 512 KiB, usrsctp's send buffer up to 1 MiB */
#define MAX_GROWTH_KIB (8 * 1024)
#define TBF "tbf rate 20mbit burst 32kbit latency 50ms"

static gchar *ns_a, *ns_b;
static gint main_pid;

typedef struct
{
  GMainLoop *loop;
  guint running;
  GFile *out;
  guint64 total;
  gint64 first_byte;            /* monotonic us of out's first byte */
  gint64 complete;              /* ... and of its last */
  GPid sender;
  guint64 hwm_kib;              /* the sender's VmHWM, last sample */
  guint64 hwm_first_kib;        /* ... when the first byte arrived */
  gboolean sampled;             /* it was gst-launch-1.0 itself */
} Run;

/* Runs @cmd (no shell); its exit status, stderr into @err_out. */
static gint
run (const gchar * cmd, gchar ** err_out)
{
  gchar **argv = NULL;
  gint status = -1;
  GError *err = NULL;

  if (!g_shell_parse_argv (cmd, NULL, &argv, &err) ||
      !g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
          G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, err_out, &status,
          &err)) {
    if (err_out)
      *err_out = g_strdup (err->message);
    g_error_free (err);
    g_strfreev (argv);
    return -1;
  }
  g_strfreev (argv);
  return g_spawn_check_wait_status (status, NULL) ? 0 : MAX (status, 1);
}

static void
must_run (const gchar * format, ...) G_GNUC_PRINTF (1, 2);

static void
must_run (const gchar * format, ...)
{
  va_list args;
  gchar *cmd, *err = NULL;

  va_start (args, format);
  cmd = g_strdup_vprintf (format, args);
  va_end (args);
  GST_INFO ("%s", cmd);
  fail_unless (run (cmd, &err) == 0, "%s failed: %s", cmd, err);
  g_free (err);
  g_free (cmd);
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static GSubprocess *
spawn_in (const gchar * ns, const gchar * log, GSubprocessFlags flags,
    const gchar * cmd)
{
  GSubprocessLauncher *l = g_subprocess_launcher_new (flags);
  gchar **argv, *full;
  GSubprocess *p;
  GError *err = NULL;

  if (log)
    g_subprocess_launcher_set_stdout_file_path (l, log);
  g_subprocess_launcher_set_child_setup (l, die_with_parent, NULL, NULL);
  /* ip netns exec execs the command itself: the pid is the program's */
  full = g_strdup_printf ("ip netns exec %s %s", ns, cmd);
  GST_INFO ("%s", full);
  fail_unless (g_shell_parse_argv (full, NULL, &argv, &err), "%s",
      err ? err->message : "?");
  p = g_subprocess_launcher_spawnv (l, (const gchar * const *) argv, &err);
  fail_unless (p != NULL, "%s: %s", full, err ? err->message : "?");
  g_strfreev (argv);
  g_free (full);
  g_object_unref (l);
  return p;
}

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

static void
check_exit (GSubprocess * p, const gchar * log, const gchar * name)
{
  gchar *text = NULL;

  g_file_get_contents (log, &text, NULL, NULL);
  fail_unless (g_subprocess_get_if_exited (p), "%s did not exit by itself "
      "in time; its output:\n%s", name, text);
  fail_unless (g_subprocess_get_exit_status (p) == 0, "%s exited with %d; "
      "its output:\n%s", name, g_subprocess_get_exit_status (p), text);
  g_free (text);
}

static void
on_exited (GObject * source, GAsyncResult * result, gpointer user_data)
{
  Run *r = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  if (--r->running == 0)
    g_main_loop_quit (r->loop);
}

static gboolean
on_timeout (gpointer user_data)
{
  Run *r = user_data;

  g_main_loop_quit (r->loop);
  return G_SOURCE_REMOVE;
}

/* What tbf on @dev in @ns sent and dropped (tc -s): the bytes counted
 * there are whole Ethernet frames (IP, UDP, DTLS and SCTP headers too). */
static void
tbf_counters (const gchar * ns, const gchar * dev, guint64 * bytes,
    guint64 * packets, guint64 * dropped)
{
  gchar *cmd = g_strdup_printf ("ip netns exec %s tc -s qdisc show dev %s",
      ns, dev);
  gchar *out = NULL, *sent;

  fail_unless (g_spawn_command_line_sync (cmd, &out, NULL, NULL, NULL));
  sent = out ? strstr (out, "Sent ") : NULL;
  fail_unless (sent != NULL && sscanf (sent, "Sent %" G_GUINT64_FORMAT
          " bytes %" G_GUINT64_FORMAT " pkt (dropped %" G_GUINT64_FORMAT,
          bytes, packets, dropped) == 3, "%s: %s", cmd, out);
  g_free (out);
  g_free (cmd);
}

/* VmHWM of the sender while it runs (it only grows: the last sample is
 * the peak up to then) */
static gboolean
sample_memory (gpointer user_data)
{
  Run *r = user_data;
  gchar *path = g_strdup_printf ("/proc/%d/status", (gint) r->sender);
  gchar *status = NULL, *line;

  if (g_file_get_contents (path, &status, NULL, NULL) &&
      g_str_has_prefix (status, "Name:\tgst-launch-1.0\n") &&
      (line = strstr (status, "\nVmHWM:")) != NULL) {
    r->hwm_kib = MAX (r->hwm_kib, g_ascii_strtoull (line + 7, NULL, 10));
    r->sampled = TRUE;
  }
  g_free (status);
  g_free (path);
  return G_SOURCE_CONTINUE;
}

/* inotify: when the consumer's output got its first and its last byte */
static void
on_changed (GFileMonitor * monitor, GFile * file, GFile * other,
    GFileMonitorEvent event, Run * r)
{
  GFileInfo *info;
  guint64 size;

  if (r->complete)
    return;
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE,
      G_FILE_QUERY_INFO_NONE, NULL, NULL);
  size = info ? g_file_info_get_size (info) : 0;
  if (size > 0 && !r->first_byte) {
    r->first_byte = g_get_monotonic_time ();
    sample_memory (r);
    r->hwm_first_kib = r->hwm_kib;
  }
  if (size == r->total)
    r->complete = g_get_monotonic_time ();
  g_clear_object (&info);
}

typedef struct
{
  GMainLoop *loop;
  gchar *line;
} LineWait;

static gboolean
cancel_read (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_line (GObject * source, GAsyncResult * result, gpointer user_data)
{
  LineWait *w = user_data;

  w->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM
      (source), result, NULL, NULL);
  g_main_loop_quit (w->loop);
}

/* The signalling server in ns a on the veth address, its port from the
 * line it prints once listening (bounded by WAIT_S). */
static GSubprocess *
server_start (const gchar * exe, guint * port)
{
  gchar *cmd = g_strdup_printf ("%s --host " ADDR_A " --port 0", exe);
  GSubprocess *p = spawn_in (ns_a, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE, cmd);
  GDataInputStream *in =
      g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  GCancellable *cancel = g_cancellable_new ();
  LineWait w = { g_main_loop_new (NULL, FALSE), NULL };
  guint id;

  g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, cancel,
      on_line, &w);
  id = g_timeout_add_seconds (WAIT_S, cancel_read, cancel);
  g_main_loop_run (w.loop);
  g_source_remove (id);
  fail_unless (w.line != NULL, "%s printed no \"listening on\" line within "
      "%d s", cmd, WAIT_S);
  fail_unless (sscanf (w.line, "listening on %*s (port %u)", port) == 1,
      "%s: %s", cmd, w.line);
  g_free (w.line);
  g_main_loop_unref (w.loop);
  g_object_unref (cancel);
  g_object_unref (in);
  g_free (cmd);
  return p;
}

GST_START_TEST (test_tbf_link)
{
  const gchar *mib_env = g_getenv ("WRTC_NETNS_MIB");
  const gchar *gst_launch = g_getenv ("WRTC_GST_LAUNCH");
  const gchar *server_exe = g_getenv ("WRTC_SIGNALLING_SERVER");
  gsize size_a = (mib_env ? atoi (mib_env) : 96) * (gsize) 1024 * 1024;
  gsize size_b = 64 * 1024;
  gchar veth_a[16], veth_b[16];
  gchar *dir, *in1, *in2, *out1, *out2, *log_a, *log_b, *launch;
  GSubprocess *server, *pa, *pb;
  GFileMonitor *monitor;
  guint port, timeout_id, sample_id, limit_s;
  guint64 wire_bytes, wire_packets, dropped;
  gint64 start;
  gdouble secs, payload_mbit, wire_mbit;
  Run r = { 0, };

  fail_unless (gst_launch != NULL && server_exe != NULL);
  /* the veth pair, one end in each namespace, rate-limited both ways */
  g_snprintf (veth_a, sizeof (veth_a), "wva%d", main_pid);
  g_snprintf (veth_b, sizeof (veth_b), "wvb%d", main_pid);
  must_run ("ip netns add %s", ns_b);
  must_run ("ip link add %s netns %s type veth peer name %s netns %s",
      veth_a, ns_a, veth_b, ns_b);
  must_run ("ip -n %s link set lo up", ns_a);
  must_run ("ip -n %s link set lo up", ns_b);
  must_run ("ip -n %s addr add " ADDR_A "/24 dev %s", ns_a, veth_a);
  must_run ("ip -n %s addr add " ADDR_B "/24 dev %s", ns_b, veth_b);
  must_run ("ip -n %s link set %s up", ns_a, veth_a);
  must_run ("ip -n %s link set %s up", ns_b, veth_b);
  must_run ("ip netns exec %s tc qdisc add dev %s root " TBF, ns_a, veth_a);
  must_run ("ip netns exec %s tc qdisc add dev %s root " TBF, ns_b, veth_b);

  dir = g_dir_make_tmp ("wrtc-netns-XXXXXX", NULL);
  fail_unless (dir != NULL);
  in1 = g_build_filename (dir, "in1", NULL);
  in2 = g_build_filename (dir, "in2", NULL);
  out1 = g_build_filename (dir, "out1", NULL);
  out2 = g_build_filename (dir, "out2", NULL);
  log_a = g_build_filename (dir, "producer.log", NULL);
  log_b = g_build_filename (dir, "consumer.log", NULL);
  write_pattern (in1, 1, size_a);
  write_pattern (in2, 2, size_b);

  server = server_start (server_exe, &port);

  r.loop = g_main_loop_new (NULL, FALSE);
  r.total = size_a;
  r.out = g_file_new_for_path (out1);
  monitor = g_file_monitor_file (r.out, G_FILE_MONITOR_NONE, NULL, NULL);
  fail_unless (monitor != NULL);
  g_file_monitor_set_rate_limit (monitor, 0);
  g_signal_connect (monitor, "changed", G_CALLBACK (on_changed), &r);

  start = g_get_monotonic_time ();
  launch = g_strdup_printf ("%s filesrc location=%s ! t.sink_1 "
      "webrtctunnel name=t local-addresses=" ADDR_A " "
      "signaller::uri=ws://" ADDR_A ":%u signaller::meta=meta,name=netns-a "
      "t.src_2 ! filesink location=%s", gst_launch, in1, port, out2);
  pa = spawn_in (ns_a, log_a, G_SUBPROCESS_FLAGS_STDERR_MERGE, launch);
  g_free (launch);
  launch = g_strdup_printf ("%s filesrc location=%s ! t.sink_2 "
      "webrtctunnel name=t local-addresses=" ADDR_B " "
      "signaller::uri=ws://" ADDR_A ":%u signaller::role=consumer "
      "signaller::producer-name=netns-a t.src_1 ! filesink location=%s",
      gst_launch, in2, port, out1);
  pb = spawn_in (ns_b, log_b, G_SUBPROCESS_FLAGS_STDERR_MERGE, launch);
  g_free (launch);
  r.sender = atoi (g_subprocess_get_identifier (pa));

  /* the transfer takes size / rate; three times that plus WAIT_S */
  limit_s = WAIT_S + 3 * size_a * 8 / (RATE_MBIT * 1000000);
  r.running = 2;
  g_subprocess_wait_async (pa, NULL, on_exited, &r);
  g_subprocess_wait_async (pb, NULL, on_exited, &r);
  timeout_id = g_timeout_add_seconds (limit_s, on_timeout, &r);
  sample_id = g_timeout_add (100, sample_memory, &r);
  sample_memory (&r);
  g_main_loop_run (r.loop);
  g_source_remove (sample_id);
  if (r.running) {
    g_subprocess_force_exit (pa);
    g_subprocess_force_exit (pb);
  } else {
    g_source_remove (timeout_id);
  }
  g_subprocess_force_exit (server);
  check_exit (pa, log_a, "producer (ns a)");
  check_exit (pb, log_b, "consumer (ns b)");
  check_same (in1, out1);
  check_same (in2, out2);

  tbf_counters (ns_a, veth_a, &wire_bytes, &wire_packets, &dropped);
  fail_unless (r.first_byte > 0 && r.complete > r.first_byte);
  fail_unless (r.sampled, "no memory sample of the sender");
  secs = (r.complete - r.first_byte) / 1e6;
  payload_mbit = size_a * 8 / 1e6 / secs;
  wire_mbit = wire_bytes * 8 / 1e6 / secs;
  g_print ("tbf %u Mbit/s between two namespaces: %.1f MiB in %.2f s after "
      "the first byte (%.0f ms after the start): payload %.2f Mbit/s "
      "(%.2f MB/s), %.1f %% of the tbf rate; on the wire (tbf's counters) "
      "%.2f Mbit/s, %.1f %%, %" G_GUINT64_FORMAT " packets of %.0f bytes, %"
      G_GUINT64_FORMAT " dropped, payload / wire bytes %.3f\n", RATE_MBIT,
      size_a / 1048576.0, secs, (r.first_byte - start) / 1e3, payload_mbit,
      payload_mbit / 8, 100 * payload_mbit / RATE_MBIT, wire_mbit,
      100 * wire_mbit / RATE_MBIT, wire_packets,
      (gdouble) wire_bytes / wire_packets, dropped,
      (gdouble) size_a / wire_bytes);
  g_print ("sender (producer) peak RSS (VmHWM) %.1f MiB for a %.0f MiB file, "
      "%.1f MiB at the first byte\n", r.hwm_kib / 1024.0, size_a / 1048576.0,
      r.hwm_first_kib / 1024.0);
  /* The link is used to within 10 %: tbf counts whole Ethernet frames.
   * The payload cannot reach 90 % of the rate: every packet carries about
   * 107 bytes of headers (Ethernet 14, IPv4 20, UDP 8, DTLS record 13 +
   * AES-GCM 24, SCTP 12 + DATA chunk 16) on at most 1172 bytes of data,
   * 91.6 % at best with every packet full; measured 0.90 with filesrc's
   * 4 KiB blocks (each message's last fragment is short). 85 % for the
   * payload: what header overhead alone cannot explain falling below. */
  fail_unless (wire_mbit >= 0.9 * RATE_MBIT, "the link carried %.2f Mbit/s, "
      "below 90 %% of its %u Mbit/s", wire_mbit, RATE_MBIT);
  fail_unless (payload_mbit >= 0.85 * RATE_MBIT, "payload %.2f Mbit/s is "
      "below 85 %% of the link's %u Mbit/s", payload_mbit, RATE_MBIT);
  /* backpressure: the sender holds a bounded part of the file, and its
   * memory hardly grows while the file goes through */
  fail_unless (r.hwm_kib * 1024 < size_a / 2, "the sender's peak RSS %"
      G_GUINT64_FORMAT " KiB is not below half the file (%" G_GSIZE_FORMAT
      " KiB)", r.hwm_kib, size_a / 2048);
  fail_unless (r.hwm_kib - r.hwm_first_kib < MAX_GROWTH_KIB, "the sender's "
      "peak RSS grew by %" G_GUINT64_FORMAT " KiB during the transfer",
      r.hwm_kib - r.hwm_first_kib);

  g_object_unref (monitor);
  g_object_unref (r.out);
  g_object_unref (pa);
  g_object_unref (pb);
  g_subprocess_wait (server, NULL, NULL);
  g_object_unref (server);
  g_main_loop_unref (r.loop);
  {
    gchar *names[] = { in1, in2, out1, out2, log_a, log_b };
    guint i;

    for (i = 0; i < G_N_ELEMENTS (names); i++) {
      g_remove (names[i]);
      g_free (names[i]);
    }
  }
  g_rmdir (dir);
  g_free (dir);
}

GST_END_TEST;

/* Namespaces of earlier runs whose process is gone (killed before its
 * main () could delete them). */
static void
remove_stale_namespaces (void)
{
  GDir *d = g_dir_open ("/run/netns", 0, NULL);
  const gchar *name;

  if (!d)
    return;
  while ((name = g_dir_read_name (d))) {
    gint pid;
    gchar *cmd;

    if (!g_str_has_prefix (name, NS_PREFIX) ||
        sscanf (name, NS_PREFIX "%d-", &pid) != 1 ||
        (kill (pid, 0) == 0 || errno != ESRCH))
      continue;
    cmd = g_strdup_printf ("ip netns del %s", name);
    run (cmd, NULL);
    g_free (cmd);
  }
  g_dir_close (d);
}

static Suite *
webrtc_netns_suite (void)
{
  Suite *s = suite_create ("webrtc-netns");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 600);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_tbf_link);
  return s;
}

int
main (int argc, char **argv)
{
  gchar *cmd, *err = NULL;
  gint ret;

  remove_stale_namespaces ();
  main_pid = getpid ();
  ns_a = g_strdup_printf (NS_PREFIX "%d-a", main_pid);
  ns_b = g_strdup_printf (NS_PREFIX "%d-b", main_pid);
  /* the permission probe: ns a, kept for the test */
  cmd = g_strdup_printf ("ip netns add %s", ns_a);
  if (run (cmd, &err) != 0) {
    g_print ("skipped: %s: %s", cmd, err ? err : "?");
    return 77;
  }
  g_free (cmd);

  gst_check_init (&argc, &argv);
  ret = gst_check_run_suite (webrtc_netns_suite (), "webrtc-netns",
      __FILE__);

  cmd = g_strdup_printf ("ip netns del %s", ns_b);
  run (cmd, NULL);
  g_free (cmd);
  cmd = g_strdup_printf ("ip netns del %s", ns_a);
  run (cmd, NULL);
  g_free (cmd);
  g_free (ns_a);
  g_free (ns_b);
  return ret;
}

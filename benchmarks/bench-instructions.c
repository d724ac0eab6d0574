/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Instruction-count benchmark: the paths of bench-pipeline.c, with the
 * same buffers, counted by callgrind instead of timed, so that the figures
 * repeat on a loaded machine. The program runs itself under
 * valgrind --tool=callgrind; the child zeroes callgrind's counters once a
 * path is set up and warmed up, pushes the buffers, waits until the sink
 * has them all and dumps the counters (every thread of the process), so
 * setup, negotiation and teardown are not counted. The parent reads the
 * dumps and prints instructions per buffer and, per buffer size, the
 * instructions framemux ! framedemux adds over identity as a share of
 * what gdppay ! gdpdepay adds. With --check the ratios are held against
 * limits (Check's summary line, exit status 1 when one is crossed).
 *
 * Instructions are user space only: futex wake-ups, context switches and
 * the kernel's side of them are not counted (valgrind runs one thread at a
 * time), so thread hand-offs cost more in wall time than here. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include "bench.h"

static const guint sizes[] = { 64, 1500, 8192, 65507 };

/* --check limits on the added-instruction ratio, per buffer size, for the
 * GStreamer minor version they were calibrated on: gdppay ! gdpdepay and
 * the core's pad push cost differ between versions, so the ratio does too.
 * Issue 12's targets (0.25 at 64 B, 0.5 above) are in wall and CPU time,
 * and are not met in instructions. On 1.22 this tree measures 0.65, 0.65,
 * 0.69 and 0.54 (repeat runs differ by about 0.01), main before issue 12
 * 0.70, 0.70, 0.78 and 0.55 in steady state and 1.4 at 65507 B once
 * framemux's task packed and split every frame, issue 2's tree 0.38, 0.39,
 * 0.39 and 0.49. The 1.22 limits sit between this tree and main's
 * regression, which fails the 64 and 8192 B rows (1500 B by a small margin
 * only), and the split mode fails the 65507 B row. On 1.26.2 (Debian
 * trixie, tools/trixie.sh) the same tree measures 0.744, 0.722, 0.751 and
 * 0.541; its limits are those plus about 0.03. Other versions: figures
 * only, the test reports itself skipped. */
typedef struct
{
  guint minor;
  gdouble limits[G_N_ELEMENTS (sizes)];
} RatioLimits;

static const RatioLimits ratio_limits[] = {
  {22, {0.68, 0.68, 0.74, 0.60}},
  {26, {0.77, 0.75, 0.78, 0.58}},
};

static const gdouble *
limits_for_this_gstreamer (void)
{
  guint major, minor, micro, nano, i;

  gst_version (&major, &minor, &micro, &nano);
  for (i = 0; major == 1 && i < G_N_ELEMENTS (ratio_limits); i++)
    if (ratio_limits[i].minor == minor)
      return ratio_limits[i].limits;
  return NULL;
}

#define DEFAULT_BUFFERS 500
#define WARMUP_BUFFERS 200
#define DUMP_PREFIX "wrtcframe-bench"

typedef struct
{
  GMutex lock;
  GCond cond;
  gint arrived;
  gint target;
} Arrivals;

static GstPadProbeReturn
count_arrival (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Arrivals *a = user_data;

  if (g_atomic_int_add (&a->arrived, 1) + 1 >= g_atomic_int_get (&a->target)) {
    g_mutex_lock (&a->lock);
    g_cond_signal (&a->cond);
    g_mutex_unlock (&a->lock);
  }
  return GST_PAD_PROBE_OK;
}

/* Pushes @n buffers wrapping @data; FALSE on a flow error. */
static gboolean
push_buffers (GstPad * src, const guint8 * data, guint size, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        (gpointer) data, size, 0, size, NULL, NULL);
    GstFlowReturn ret = gst_pad_push (src, buf);

    if (ret != GST_FLOW_OK) {
      g_printerr ("push returned %s\n", gst_flow_get_name (ret));
      return FALSE;
    }
  }
  return TRUE;
}

/* Waits until @total buffers reached the sink. */
static gboolean
wait_arrivals (Arrivals * a, gint total)
{
  gint64 deadline = g_get_monotonic_time () + 600 * G_TIME_SPAN_SECOND;
  gboolean ok = TRUE;

  g_mutex_lock (&a->lock);
  g_atomic_int_set (&a->target, total);
  while (ok && g_atomic_int_get (&a->arrived) < total)
    ok = g_cond_wait_until (&a->cond, &a->lock, deadline);
  g_mutex_unlock (&a->lock);
  return ok;
}

/* The measured part of one path at one size, in the callgrind child. */
static gboolean
measure_one (BenchPath kind, guint size, guint n, const guint8 * data)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (bench_path_launch[kind], &err);
  GstElement *in, *out;
  GstPad *src, *sink, *out_pad;
  GstSegment segment;
  GstBus *bus;
  GstMessage *msg;
  Arrivals a = { 0, };
  gchar *label;
  gboolean ok;

  if (pipeline == NULL) {
    g_printerr ("cannot build '%s': %s\n", bench_path_launch[kind],
        err->message);
    g_clear_error (&err);
    return FALSE;
  }
  g_mutex_init (&a.lock);
  g_cond_init (&a.cond);
  a.target = G_MAXINT;
  in = gst_bin_get_by_name (GST_BIN (pipeline), "in");
  out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  out_pad = gst_element_get_static_pad (out, "sink");
  gst_pad_add_probe (out_pad, GST_PAD_PROBE_TYPE_BUFFER, count_arrival, &a,
      NULL);
  sink = kind == BENCH_FRAME ? gst_element_request_pad_simple (in, "sink_1")
      : gst_element_get_static_pad (in, "sink");
  src = gst_pad_new ("benchsrc", GST_PAD_SRC);
  gst_pad_link (src, sink);
  gst_pad_set_active (src, TRUE);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  gst_pad_push_event (src, gst_event_new_stream_start ("bench"));
  gst_pad_push_event (src, gst_event_new_caps (gst_caps_new_empty_simple
          ("application/octet-stream")));
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  gst_pad_push_event (src, gst_event_new_segment (&segment));
  /* framemux's task sends the OpenConnection the caps queued: wait until
   * it has, or the first buffers would race it and the warm-up would leave
   * the allocator in a different state from one run to the next */
  g_usleep (200 * 1000);

  /* pads, negotiation, flow-control handshake and first allocations are
   * done before counting starts */
  ok = push_buffers (src, data, size, WARMUP_BUFFERS) &&
      wait_arrivals (&a, WARMUP_BUFFERS);
  /* the sink has the last warm-up buffer before its pusher is done: let
   * every thread settle, or whether the first counted buffer finds
   * framemux's task still pushing (and queues) would depend on timing */
  g_usleep (200 * 1000);
  if (ok) {
    CALLGRIND_ZERO_STATS;
    ok = push_buffers (src, data, size, n) &&
        wait_arrivals (&a, WARMUP_BUFFERS + n);
    label = g_strdup_printf (DUMP_PREFIX " %d %u %u", kind, size, n);
    CALLGRIND_DUMP_STATS_AT (label);
    g_free (label);
  }
  if (!ok)
    g_printerr ("%s, %u B: %d of %u buffers arrived\n",
        bench_path_names[kind], size, g_atomic_int_get (&a.arrived),
        WARMUP_BUFFERS + n);

  gst_pad_push_event (src, gst_event_new_eos ());
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL || GST_MESSAGE_TYPE (msg) != GST_MESSAGE_EOS) {
    g_printerr ("%s: no EOS within 60 s\n", bench_path_names[kind]);
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (kind == BENCH_FRAME)
    gst_element_release_request_pad (in, sink);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (out_pad);
  gst_object_unref (out);
  gst_object_unref (in);
  gst_object_unref (pipeline);
  g_mutex_clear (&a.lock);
  g_cond_clear (&a.cond);
  return ok;
}

static int
run_child (guint n)
{
  guint8 *data = g_malloc (65536);
  guint s, k;
  int ret = 0;

  gst_init (NULL, NULL);
  if (!bench_plugins_available ())
    return 1;
  /* fixed bytes: the run must repeat exactly */
  for (s = 0; s < 65536; s++)
    data[s] = (guint8) (s * 131 + 7);
  for (s = 0; s < G_N_ELEMENTS (sizes) && ret == 0; s++)
    for (k = 0; k < BENCH_N_PATHS && ret == 0; k++)
      if (!measure_one (k, sizes[s], n, data))
        ret = 1;
  g_free (data);
  return ret;
}

/* Reads one callgrind dump: TRUE when it is one of ours, with its path,
 * size, buffer count and instruction total. */
static gboolean
read_dump (const gchar * path, guint * kind, guint * size, guint * n,
    guint64 * instructions)
{
  gchar *text = NULL, **lines, **l;
  gboolean have_label = FALSE, have_total = FALSE;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  for (l = lines; *l != NULL && !(have_label && have_total); l++) {
    if (g_str_has_prefix (*l, "desc: Trigger: Client Request: " DUMP_PREFIX))
      have_label = sscanf (*l + strlen ("desc: Trigger: Client Request: "
              DUMP_PREFIX), " %u %u %u", kind, size, n) == 3 &&
          *kind < BENCH_N_PATHS && *n > 0;
    else if (g_str_has_prefix (*l, "summary: "))
      have_total = sscanf (*l + strlen ("summary: "), "%" G_GUINT64_FORMAT,
          instructions) == 1;
  }
  g_strfreev (lines);
  return have_label && have_total;
}

static int
run_parent (guint n, gboolean check)
{
  gchar *valgrind = g_find_program_in_path ("valgrind");
  gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  gchar *dir, *out_opt, *n_arg, *name;
  gdouble per_buf[G_N_ELEMENTS (sizes)][BENCH_N_PATHS] = { {0,}, };
  GError *err = NULL;
  GDir *d;
  const gdouble *limits = limits_for_this_gstreamer ();
  gint status = 0;
  guint s, failures = 0, errors = 0;
  gint64 t0;

  if (valgrind == NULL || self == NULL) {
    g_printerr ("instructions: valgrind is not installed (package "
        "valgrind): nothing measured\n");
    g_free (self);
    g_free (valgrind);
    return 77;                  /* meson's "skipped" */
  }
  dir = g_dir_make_tmp ("wrtcframe-bench-XXXXXX", &err);
  if (dir == NULL) {
    g_printerr ("instructions: %s\n", err->message);
    g_clear_error (&err);
    g_free (self);
    g_free (valgrind);
    return 1;
  }
  out_opt = g_strdup_printf ("--callgrind-out-file=%s/callgrind.out",
      dir);
  n_arg = g_strdup_printf ("%u", n);
  {
    /* --fair-sched: threads take turns in a fixed order, so the counts
     * repeat; no cache or branch simulation, only instructions */
    gchar *argv[] = { valgrind, (gchar *) "--tool=callgrind", (gchar *) "-q",
      (gchar *) "--fair-sched=yes",
      out_opt, self, (gchar *) "instructions", (gchar *) "--measure", n_arg,
      NULL
    };

    t0 = g_get_monotonic_time ();
    if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL,
            NULL, NULL, NULL, &status, &err)) {
      g_printerr ("instructions: cannot run valgrind: %s\n", err->message);
      g_clear_error (&err);
      status = -1;
    }
  }
  if (status != 0)
    errors++;

  if ((d = g_dir_open (dir, 0, NULL)) != NULL) {
    const gchar *f;

    while ((f = g_dir_read_name (d)) != NULL) {
      guint kind, size, count;
      guint64 ir;

      name = g_build_filename (dir, f, NULL);
      if (read_dump (name, &kind, &size, &count, &ir))
        for (s = 0; s < G_N_ELEMENTS (sizes); s++)
          if (sizes[s] == size)
            per_buf[s][kind] = (gdouble) ir / count;
      g_unlink (name);
      g_free (name);
    }
    g_dir_close (d);
  }
  g_rmdir (dir);

  g_print ("\nInstructions per buffer (callgrind, all threads; %u buffers "
      "after %u not counted; %.0f s under valgrind)\n", n, WARMUP_BUFFERS,
      (g_get_monotonic_time () - t0) / 1e6);
  g_print ("%-8s %12s %20s %16s %11s %11s %7s\n", "buffer",
      bench_path_names[BENCH_IDENTITY], bench_path_names[BENCH_FRAME],
      bench_path_names[BENCH_GDP], "added mux", "added gdp", "ratio");
  for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
    gdouble *c = per_buf[s];
    gdouble limit = limits ? limits[s] : G_MAXDOUBLE;
    gdouble frame_added = c[BENCH_FRAME] - c[BENCH_IDENTITY];
    gdouble gdp_added = c[BENCH_GDP] - c[BENCH_IDENTITY];
    gdouble ratio;

    if (c[BENCH_IDENTITY] == 0 || c[BENCH_FRAME] == 0 || c[BENCH_GDP] == 0 ||
        gdp_added <= 0) {
      g_print ("%-8u not measured\n", sizes[s]);
      errors++;
      continue;
    }
    ratio = frame_added / gdp_added;
    g_print ("%-8u %12.0f %20.0f %16.0f %11.0f %11.0f %7.3f%s\n", sizes[s],
        c[BENCH_IDENTITY], c[BENCH_FRAME], c[BENCH_GDP], frame_added, gdp_added,
        ratio, check && limits ? (ratio <= limit ? "  ok" : "  OVER") : "");
    if (check && ratio > limit) {
      g_print ("%-8s added instructions of framemux!framedemux at %u B are "
          "%.3f of gdppay!gdpdepay's, the limit is %.2f\n", "", sizes[s],
          ratio, limit);
      failures++;
    }
  }
  if (check && limits == NULL && errors == 0) {
    gchar *version = gst_version_string ();

    g_print ("no limits calibrated for %s: figures only\n", version);
    g_free (version);
  } else if (check) {
    g_print ("%u%%: Checks: %u, Failures: %u, Errors: %u\n",
        (guint) ((G_N_ELEMENTS (sizes) - MIN (failures + errors,
                    G_N_ELEMENTS (sizes))) * 100 / G_N_ELEMENTS (sizes)),
        (guint) G_N_ELEMENTS (sizes), failures, errors);
  }

  g_free (n_arg);
  g_free (out_opt);
  g_free (dir);
  g_free (self);
  g_free (valgrind);
  if (failures + errors > 0)
    return 1;
  return check && limits == NULL ? 77 : 0;    /* 77: meson's "skipped" */
}

int
bench_instructions_run (int argc, char **argv)
{
  guint n = DEFAULT_BUFFERS;
  gboolean check = FALSE;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--measure") == 0 && i + 1 < argc)
      return run_child (MAX (atoi (argv[i + 1]), 1));
    if (strcmp (argv[i], "--check") == 0) {
      check = TRUE;
    } else if (strcmp (argv[i], "--buffers") == 0 && i + 1 < argc) {
      n = atoi (argv[++i]);
      n = MAX (n, 1);
    } else {
      g_printerr ("instructions: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  return run_parent (n, check);
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Pipeline benchmark: the same buffers through
 *   identity                 (baseline: what any element in the path costs)
 *   framemux ! framedemux    (this project)
 *   gdppay ! gdpdepay        (the stock way to serialise buffers into bytes)
 * Reports frames/s and MB/s for each, the per-buffer time each pair adds
 * over identity, and the ratios. Runs are interleaved and repeated and the
 * median is kept, because the machines this runs on are shared and noisy.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

const gchar *const bench_path_names[BENCH_N_PATHS] = {
  "identity", "framemux!framedemux", "gdppay!gdpdepay"
};

const gchar *const bench_path_launch[BENCH_N_PATHS] = {
  "identity name=in ! fakesink name=out sync=false async=false",
  "framemux name=in ! framedemux name=d d.src_1 ! "
      "fakesink name=out sync=false async=false",
  "gdppay name=in ! gdpdepay ! fakesink name=out sync=false async=false",
};

typedef struct
{
  gdouble wall_ns;              /* per buffer */
  gdouble cpu_ns;               /* per buffer, user + system, all threads */
} Sample;

static gdouble
cpu_time_ns (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

/* Pushes @n buffers of @size bytes from this thread into the path and waits
 * for EOS at the sink. Returns FALSE (after printing why) on failure. */
static gboolean
run_once (BenchPath kind, guint size, guint n, const guint8 * data,
    Sample * sample)
{
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (bench_path_launch[kind], &err);
  GstElement *in;
  GstPad *src, *sink;
  GstSegment segment;
  GstBus *bus;
  GstMessage *msg;
  gint64 t0, t1;
  gdouble c0, c1;
  guint i;
  gboolean ok = TRUE;

  if (pipeline == NULL) {
    g_printerr ("cannot build '%s': %s\n", bench_path_launch[kind],
        err->message);
    g_clear_error (&err);
    return FALSE;
  }
  in = gst_bin_get_by_name (GST_BIN (pipeline), "in");
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

  t0 = g_get_monotonic_time ();
  c0 = cpu_time_ns ();
  for (i = 0; i < n; i++) {
    /* a fresh buffer each time, wrapping the same bytes: what a real source
     * hands over, at the same cost for every path */
    GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        (gpointer) data, size, 0, size, NULL, NULL);
    GstFlowReturn ret = gst_pad_push (src, buf);

    if (ret != GST_FLOW_OK) {
      g_printerr ("%s: push returned %s\n", bench_path_names[kind],
          gst_flow_get_name (ret));
      ok = FALSE;
      break;
    }
  }
  gst_pad_push_event (src, gst_event_new_eos ());

  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  t1 = g_get_monotonic_time ();
  c1 = cpu_time_ns ();
  if (msg == NULL || GST_MESSAGE_TYPE (msg) != GST_MESSAGE_EOS) {
    g_printerr ("%s: no EOS within 60 s\n", bench_path_names[kind]);
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);

  sample->wall_ns = (t1 - t0) * 1000.0 / n;
  sample->cpu_ns = (c1 - c0) / n;

  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (kind == BENCH_FRAME)
    gst_element_release_request_pad (in, sink);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (in);
  gst_object_unref (pipeline);
  return ok;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median (gdouble * v, guint n)
{
  qsort (v, n, sizeof (gdouble), compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

gboolean
bench_plugins_available (void)
{
  GstElementFactory *f = gst_element_factory_find ("framemux");

  if (f == NULL) {
    /* Run from the build tree without installing: load the fresh plugin. */
    gst_registry_scan_path (gst_registry_get (), WRTCFRAME_PLUGIN_BUILD_DIR);
    f = gst_element_factory_find ("framemux");
  }
  if (f == NULL) {
    g_printerr ("framemux not found (looked in " WRTCFRAME_PLUGIN_BUILD_DIR
        " too)\n");
    return FALSE;
  }
  gst_object_unref (f);
  f = gst_element_factory_find ("gdppay");
  if (f == NULL) {
    g_printerr ("gdppay not found: install gstreamer1.0-plugins-bad\n");
    return FALSE;
  }
  gst_object_unref (f);
  return TRUE;
}

int
bench_pipeline_run (int argc, char **argv)
{
  static const guint sizes[] = { 64, 1500, 8192, 65507 };
  guint reps = 5, s, r, k;
  guint64 bytes_per_run = 64 * 1024 * 1024;
  guint8 *data;

  gst_init (NULL, NULL);
  if (!bench_plugins_available ())
    return 1;
  if (argc > 1 && g_strcmp0 (argv[1], "--quick") == 0) {
    reps = 3;
    bytes_per_run /= 8;
  }

  data = g_malloc (65536);
  for (s = 0; s < 65536; s++)
    data[s] = g_random_int ();

  g_print ("\nPipeline: the same buffers pushed through each path, "
      "median of %u interleaved runs\n", reps);
  g_print ("%-8s %-20s %12s %10s %13s %13s\n", "buffer", "path", "buffers/s",
      "MB/s", "wall ns/buf", "cpu ns/buf");

  for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
    guint size = sizes[s];
    guint n = CLAMP (bytes_per_run / size, 2000, 400000);
    gdouble wall[BENCH_N_PATHS][16], cpu[BENCH_N_PATHS][16];
    gdouble mw[BENCH_N_PATHS], mc[BENCH_N_PATHS];

    for (r = 0; r < reps; r++) {
      for (k = 0; k < BENCH_N_PATHS; k++) {
        Sample sample;

        if (!run_once (k, size, n, data, &sample)) {
          g_free (data);
          return 1;
        }
        wall[k][r] = sample.wall_ns;
        cpu[k][r] = sample.cpu_ns;
      }
    }
    for (k = 0; k < BENCH_N_PATHS; k++) {
      mw[k] = median (wall[k], reps);
      mc[k] = median (cpu[k], reps);
      g_print ("%-8u %-20s %12.0f %10.1f %13.0f %13.0f\n", size,
          bench_path_names[k], 1e9 / mw[k], size * 1e3 / mw[k], mw[k], mc[k]);
    }
    g_print ("%-8s framemux!framedemux vs gdppay!gdpdepay: %.2fx the "
        "throughput\n", "", mw[BENCH_GDP] / mw[BENCH_FRAME]);
    g_print ("%-8s added per buffer over identity: framemux!framedemux "
        "%.0f ns wall / %.0f ns cpu, gdppay!gdpdepay %.0f ns wall / %.0f ns "
        "cpu -> ratio %.2f wall, %.2f cpu%s\n", "",
        mw[BENCH_FRAME] - mw[BENCH_IDENTITY], mc[BENCH_FRAME] - mc[BENCH_IDENTITY],
        mw[BENCH_GDP] - mw[BENCH_IDENTITY], mc[BENCH_GDP] - mc[BENCH_IDENTITY],
        (mw[BENCH_FRAME] - mw[BENCH_IDENTITY]) / (mw[BENCH_GDP] -
            mw[BENCH_IDENTITY]),
        (mc[BENCH_FRAME] - mc[BENCH_IDENTITY]) / (mc[BENCH_GDP] -
            mc[BENCH_IDENTITY]), size == 64 ? " (target <= 0.33)" : "");
  }
  g_free (data);
  return 0;
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The parts of the wrtcframe-bench program. Each returns the process exit
 * status; argv[0] is the subcommand name. */

#ifndef __WRTC_BENCH_H__
#define __WRTC_BENCH_H__

#include <glib.h>

/* The paths the pipeline benchmarks compare (bench-pipeline.c): each a
 * gst-launch line with an element "in" to push into (framemux: request
 * pad sink_1) and a fakesink "out". */
typedef enum
{
  BENCH_IDENTITY,
  BENCH_FRAME,
  BENCH_GDP,
  BENCH_N_PATHS
} BenchPath;

extern const gchar *const bench_path_names[BENCH_N_PATHS];
extern const gchar *const bench_path_launch[BENCH_N_PATHS];

/* Loads the plugin from the build tree if needed; FALSE (after saying
 * why) when framemux or gdppay is missing. Call after gst_init (). */
gboolean bench_plugins_available (void);

int bench_codec_run (int argc, char **argv);
int bench_pipeline_run (int argc, char **argv);
int bench_scale_run (int argc, char **argv);
int bench_e2e_run (int argc, char **argv);
int bench_instructions_run (int argc, char **argv);

#endif

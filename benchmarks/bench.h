/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The parts of the wrtcframe-bench program. Each returns the process exit
 * status; argv[0] is the subcommand name. */

#ifndef __WRTC_BENCH_H__
#define __WRTC_BENCH_H__

int bench_codec_run (int argc, char **argv);
int bench_pipeline_run (int argc, char **argv);
int bench_scale_run (int argc, char **argv);

#endif

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* wrtcframe-bench [codec|pipeline|instructions|scale|e2e] [options]: runs one
 * benchmark, or codec and pipeline when no subcommand is given (e2e takes
 * minutes). Not a test: it only measures and prints. */

#include <stdio.h>
#include <string.h>

#include "bench.h"

static void
usage (const char *prog)
{
  fprintf (stderr, "usage: %s [codec|pipeline|instructions|scale|e2e] "
      "[options]\n"
      "  codec         frame codec ns/frame per implementation\n"
      "  pipeline      framemux ! framedemux vs gdppay ! gdpdepay [--quick]\n"
      "  instructions  the same, instructions per buffer under callgrind\n"
      "                [--check] [--buffers N]\n"
      "  scale         memory per connection, frames/s with 1..10000 "
      "connections [--quick]\n"
      "  e2e           framemux/framedemux over webrtcbin vs the raw data "
      "channel [--quick]\n"
      "  (none)        codec and pipeline\n", prog);
}

int
main (int argc, char **argv)
{
  static char codec_name[] = "codec", pipeline_name[] = "pipeline";
  char *only_codec[] = { codec_name, NULL };
  char *only_pipeline[] = { pipeline_name, NULL };
  int ret;

  if (argc < 2) {
    ret = bench_codec_run (1, only_codec);
    if (ret == 0)
      ret = bench_pipeline_run (1, only_pipeline);
    return ret;
  }
  if (strcmp (argv[1], "codec") == 0)
    return bench_codec_run (argc - 1, argv + 1);
  if (strcmp (argv[1], "pipeline") == 0)
    return bench_pipeline_run (argc - 1, argv + 1);
  if (strcmp (argv[1], "instructions") == 0) {
#ifdef HAVE_CALLGRIND_H
    return bench_instructions_run (argc - 1, argv + 1);
#else
    fprintf (stderr, "instructions: built without valgrind/callgrind.h "
        "(package valgrind)\n");
    return 77;
#endif
  }
  if (strcmp (argv[1], "scale") == 0)
    return bench_scale_run (argc - 1, argv + 1);
  if (strcmp (argv[1], "e2e") == 0) {
#ifdef HAVE_BENCH_E2E
    return bench_e2e_run (argc - 1, argv + 1);
#else
    fprintf (stderr, "e2e: built without gstreamer-webrtc-1.0\n");
    return 1;
#endif
  }
  usage (argv[0]);
  return strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ?
      0 : 2;
}

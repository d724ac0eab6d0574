/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Placeholder: the pipeline benchmark (framemux ! framedemux vs
 * gdppay ! gdpdepay) replaces this file. */

#include <stdio.h>

#include "bench.h"

int
bench_pipeline_run (int argc, char **argv)
{
  printf ("pipeline benchmark: not built yet\n");
  return 0;
}

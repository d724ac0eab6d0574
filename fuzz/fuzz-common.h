/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Shared by the fuzz targets. A failed check aborts: libFuzzer then saves
 * the input as a crash, and the corpus replay driver dies loudly. */

#ifndef __WRTC_FUZZ_COMMON_H__
#define __WRTC_FUZZ_COMMON_H__

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) G_STMT_START {                                   \
  if (G_UNLIKELY (!(cond))) {                                             \
    fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
        #cond);                                                           \
    abort ();                                                             \
  }                                                                       \
} G_STMT_END

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

#endif

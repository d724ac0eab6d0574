/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* SSSE3 kernels: the header decode is a single pshufb. Compiled with
 * -mssse3. The scan is SSE2's (SSSE3 adds nothing to it). */

#include "frame-codec-x86.h"

#include <tmmintrin.h>

/* Wire order: conn[0..3] ts[4..11] len[12..15], all big-endian.
 * WrtcFrameHeader (little-endian host): conn[0..3] len[4..7] ts[8..15]. */
void
wrtc_frame_ssse3_read_header (const guint8 * src, WrtcFrameHeader * header)
{
  const __m128i perm = _mm_setr_epi8 (3, 2, 1, 0, 15, 14, 13, 12,
      11, 10, 9, 8, 7, 6, 5, 4);
  __m128i v = _mm_loadu_si128 ((const __m128i *) src);

  _mm_storeu_si128 ((__m128i *) header, _mm_shuffle_epi8 (v, perm));
}

const WrtcFrameKernels wrtc_frame_kernels_ssse3 = {
  wrtc_frame_ssse3_read_header,
  wrtc_frame_sse2_find_terminator,
};

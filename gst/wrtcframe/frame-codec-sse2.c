/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* SSE2 kernels (baseline on x86-64). Compiled with -msse2. */

#include "frame-codec-x86.h"

static void
sse2_read_header (const guint8 * src, WrtcFrameHeader * header)
{
  x86_sse2_read_header (src, header);
}

/* 64 bytes per iteration: four compares OR-ed together, one branch.
 * Not static: the SSSE3 set reuses it (SSSE3 adds nothing to a scan). */
gsize
wrtc_frame_sse2_find_terminator (const guint8 * data, gsize size)
{
  const __m128i semi = _mm_set1_epi8 (WRTC_FRAME_TERMINATOR);
  gsize i = 0;

  if (size < 16)
    return wrtc_frame_scalar_find_terminator (data, size);

  for (; i + 64 <= size; i += 64) {
    __m128i a = _mm_cmpeq_epi8 (_mm_loadu_si128 ((const __m128i *) (data + i)),
        semi);
    __m128i b = _mm_cmpeq_epi8 (_mm_loadu_si128 ((const __m128i *) (data + i +
                16)), semi);
    __m128i c = _mm_cmpeq_epi8 (_mm_loadu_si128 ((const __m128i *) (data + i +
                32)), semi);
    __m128i d = _mm_cmpeq_epi8 (_mm_loadu_si128 ((const __m128i *) (data + i +
                48)), semi);

    if (_mm_movemask_epi8 (_mm_or_si128 (_mm_or_si128 (a, b),
                _mm_or_si128 (c, d)))) {
      guint64 m = (guint64) (guint) _mm_movemask_epi8 (a) |
          ((guint64) (guint) _mm_movemask_epi8 (b) << 16) |
          ((guint64) (guint) _mm_movemask_epi8 (c) << 32) |
          ((guint64) (guint) _mm_movemask_epi8 (d) << 48);

      return i + __builtin_ctzll (m);
    }
  }
  return x86_find_tail16 (data, size, i);
}

const WrtcFrameKernels wrtc_frame_kernels_sse2 = {
  sse2_read_header,
  wrtc_frame_sse2_find_terminator,
};

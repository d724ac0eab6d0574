/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* AVX2 kernels. Compiled with -mavx2; only called after the runtime check
 * (which includes the OS's YMM state support). The header decode is the
 * SSSE3 one: AVX2 has nothing wider to offer for 16 bytes (the compiler
 * ends every AVX function with vzeroupper, so mixing costs no transition). */

#include "frame-codec-x86.h"

#include <immintrin.h>

static inline guint
avx2_mask32 (const guint8 * p, __m256i semi)
{
  return (guint) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (
          _mm256_loadu_si256 ((const __m256i *) p), semi));
}

/* 64 bytes per iteration (two loads, one branch), then 32, then a last
 * 32-byte load that ends exactly at @size (overlapping bytes already known
 * to be ';'-free). Below 32 bytes the 16-byte code takes over. */
static gsize
avx2_find_terminator (const guint8 * data, gsize size)
{
  const __m256i semi = _mm256_set1_epi8 (WRTC_FRAME_TERMINATOR);
  gsize i = 0;
  guint m;

  if (size < 16)
    return wrtc_frame_scalar_find_terminator (data, size);
  if (size < 32)
    return x86_find_tail16 (data, size, 0);

  for (; i + 64 <= size; i += 64) {
    __m256i a = _mm256_cmpeq_epi8 (_mm256_loadu_si256 ((const __m256i *)
            (data + i)), semi);
    __m256i b = _mm256_cmpeq_epi8 (_mm256_loadu_si256 ((const __m256i *)
            (data + i + 32)), semi);

    if (!_mm256_testz_si256 (_mm256_or_si256 (a, b), _mm256_or_si256 (a, b))) {
      guint64 mm = (guint64) (guint) _mm256_movemask_epi8 (a) |
          ((guint64) (guint) _mm256_movemask_epi8 (b) << 32);

      return i + __builtin_ctzll (mm);
    }
  }
  if (i + 32 <= size) {
    m = avx2_mask32 (data + i, semi);
    if (m)
      return i + __builtin_ctz (m);
    i += 32;
  }
  if (i < size) {
    i = size - 32;
    m = avx2_mask32 (data + i, semi);
    if (m)
      return i + __builtin_ctz (m);
  }
  return size;
}

const WrtcFrameKernels wrtc_frame_kernels_avx2 = {
  wrtc_frame_ssse3_read_header,     /* AVX2 has no wider form of it */
  avx2_find_terminator,
};

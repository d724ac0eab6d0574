/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Internal: 128-bit x86 building blocks shared by the SSE2, SSSE3 and AVX2
 * files. Included by each of them, so every copy is compiled with that
 * file's -m flags (VEX-encoded in the AVX2 one: no SSE/AVX transitions). */

#ifndef __WRTC_FRAME_CODEC_X86_H__
#define __WRTC_FRAME_CODEC_X86_H__

#include "frame-codec-impl.h"

#include <emmintrin.h>

/* The pshufb header decoder (frame-codec-ssse3.c), shared by the SSSE3 and
 * AVX2 kernel sets. */
G_GNUC_INTERNAL void wrtc_frame_ssse3_read_header (const guint8 * src,
    WrtcFrameHeader * header);

static inline guint
x86_mask16 (const guint8 * p, __m128i semi)
{
  return (guint) _mm_movemask_epi8 (_mm_cmpeq_epi8 (
          _mm_loadu_si128 ((const __m128i *) p), semi));
}

/* 16 bytes per step from @i on; never loads outside data[0..size). The last
 * partial vector is handled by one load that ends exactly at @size and
 * overlaps bytes already known to hold no ';', so its first hit is the
 * answer. Requires size >= 16. */
static inline gsize
x86_find_tail16 (const guint8 * data, gsize size, gsize i)
{
  const __m128i semi = _mm_set1_epi8 (WRTC_FRAME_TERMINATOR);
  guint m;

  for (; i + 16 <= size; i += 16) {
    m = x86_mask16 (data + i, semi);
    if (m)
      return i + __builtin_ctz (m);
  }
  if (i < size) {
    i = size - 16;
    m = x86_mask16 (data + i, semi);
    if (m)
      return i + __builtin_ctz (m);
  }
  return size;
}

/* Decodes the header with SSE2 only (no pshufb): swap the bytes of each
 * 16-bit word, then the words of each dword, which byte-swaps the four
 * big-endian u32 fields [conn, ts_hi, ts_lo, len]; a final dword shuffle
 * puts them in WrtcFrameHeader order [conn, len, ts_lo, ts_hi]. */
static inline void
x86_sse2_read_header (const guint8 * src, WrtcFrameHeader * header)
{
  __m128i v = _mm_loadu_si128 ((const __m128i *) src);

  v = _mm_or_si128 (_mm_slli_epi16 (v, 8), _mm_srli_epi16 (v, 8));
  v = _mm_shufflelo_epi16 (v, _MM_SHUFFLE (2, 3, 0, 1));
  v = _mm_shufflehi_epi16 (v, _MM_SHUFFLE (2, 3, 0, 1));
  v = _mm_shuffle_epi32 (v, _MM_SHUFFLE (1, 2, 3, 0));
  _mm_storeu_si128 ((__m128i *) header, v);
}

#endif

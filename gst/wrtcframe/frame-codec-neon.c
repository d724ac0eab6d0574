/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* NEON kernels (baseline on aarch64, little-endian builds only). */

#include "frame-codec-impl.h"

#include <arm_neon.h>

/* Wire order: conn[0..3] ts[4..11] len[12..15], all big-endian.
 * WrtcFrameHeader (little-endian host): conn[0..3] len[4..7] ts[8..15]. */
static inline void
neon_read_header_inline (const guint8 * src, WrtcFrameHeader * header)
{
  static const guint8 perm_bytes[16] = {
    3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4
  };

  vst1q_u8 ((guint8 *) header, vqtbl1q_u8 (vld1q_u8 (src),
          vld1q_u8 (perm_bytes)));
}

static void
neon_read_header (const guint8 * src, WrtcFrameHeader * header)
{
  neon_read_header_inline (src, header);
}

/* NEON has no movemask: narrow the 0x00/0xff compare result by 4 bits per
 * byte (shrn), which leaves a 64-bit mask with a nibble per input byte. */
static inline guint64
neon_mask16 (const guint8 * p, uint8x16_t semi)
{
  uint8x16_t eq = vceqq_u8 (vld1q_u8 (p), semi);

  return vget_lane_u64 (vreinterpret_u64_u8 (vshrn_n_u16 (vreinterpretq_u16_u8
              (eq), 4)), 0);
}

static gsize
neon_find_terminator (const guint8 * data, gsize size)
{
  const uint8x16_t semi = vdupq_n_u8 (WRTC_FRAME_TERMINATOR);
  gsize i;
  guint64 m;

  if (size < 16)
    return wrtc_frame_scalar_find_terminator (data, size);
  for (i = 0; i + 16 <= size; i += 16) {
    m = neon_mask16 (data + i, semi);
    if (m)
      return i + (__builtin_ctzll (m) >> 2);
  }
  if (i < size) {
    /* Last load ends at @size; its overlap is known to be ';'-free. */
    i = size - 16;
    m = neon_mask16 (data + i, semi);
    if (m)
      return i + (__builtin_ctzll (m) >> 2);
  }
  return size;
}

const WrtcFrameKernels wrtc_frame_kernels_neon = {
  neon_read_header,
  neon_find_terminator,
};

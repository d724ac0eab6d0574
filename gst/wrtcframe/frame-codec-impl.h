/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Internal: the per-ISA kernels behind frame-codec.c's runtime dispatch.
 * Each ISA lives in its own file, compiled with its own -m flags, so the
 * rest of the code never needs more than the baseline instruction set.
 *
 * parse is a kernel of its own (not just read_header) so that each ISA file
 * gets a copy with its header decoder inlined: one indirect call per frame
 * instead of two. The frame logic itself is written once, below. */

#ifndef __WRTC_FRAME_CODEC_IMPL_H__
#define __WRTC_FRAME_CODEC_IMPL_H__

#include "frame-codec.h"

G_BEGIN_DECLS

typedef struct
{
  void  (*read_header)     (const guint8 * src, WrtcFrameHeader * header);
  WrtcFrameStatus (*parse) (const guint8 * data, gsize size,
                            guint32 max_length, WrtcFrameHeader * header);
  gsize (*find_terminator) (const guint8 * data, gsize size);
} WrtcFrameKernels;

G_GNUC_INTERNAL extern const WrtcFrameKernels wrtc_frame_kernels_scalar;
#if defined (WRTC_FRAME_HAVE_SSE2)
G_GNUC_INTERNAL extern const WrtcFrameKernels wrtc_frame_kernels_sse2;
#endif
#if defined (WRTC_FRAME_HAVE_SSE2)
G_GNUC_INTERNAL gsize wrtc_frame_sse2_find_terminator (const guint8 * data,
    gsize size);
#endif
#if defined (WRTC_FRAME_HAVE_SSSE3)
G_GNUC_INTERNAL extern const WrtcFrameKernels wrtc_frame_kernels_ssse3;
#endif
#if defined (WRTC_FRAME_HAVE_AVX2)
G_GNUC_INTERNAL extern const WrtcFrameKernels wrtc_frame_kernels_avx2;
#endif
#if defined (WRTC_FRAME_HAVE_NEON)
G_GNUC_INTERNAL extern const WrtcFrameKernels wrtc_frame_kernels_neon;
#endif

/* The parse rule of wire-format.md, shared by every ISA. @read_header is a
 * static inline function of the including file, so it is inlined here. */
static inline WrtcFrameStatus
wrtc_frame_parse_with (const guint8 * data, gsize size, guint32 max_length,
    WrtcFrameHeader * header,
    void (*read_header) (const guint8 *, WrtcFrameHeader *))
{
  if (G_UNLIKELY (size < WRTC_FRAME_HEADER_SIZE))
    return WRTC_FRAME_NEED_MORE;
  read_header (data, header);
  if (G_UNLIKELY (header->length > max_length))
    return WRTC_FRAME_TOO_LONG;
  /* size - 16 > length <=> the terminator byte is buffered; written this way
   * round so nothing can overflow, even with a 32-bit gsize. */
  if (G_UNLIKELY (size - WRTC_FRAME_HEADER_SIZE <= header->length))
    return WRTC_FRAME_NEED_MORE;
  if (G_UNLIKELY (data[WRTC_FRAME_HEADER_SIZE + (gsize) header->length] !=
          WRTC_FRAME_TERMINATOR))
    return WRTC_FRAME_BAD_TERMINATOR;
  return WRTC_FRAME_OK;
}

G_END_DECLS

#endif

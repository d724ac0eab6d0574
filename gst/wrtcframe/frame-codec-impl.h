/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Internal: the per-ISA kernels behind frame-codec.c's runtime dispatch.
 * Each ISA lives in its own file, compiled with its own -m flags, so the
 * rest of the code never needs more than the baseline instruction set.
 *
 * wrtc_frame_parse () is deliberately not dispatched: it decodes with
 * scalar bswap loads. In a parse loop the next frame's position depends on
 * this frame's length, so the loop is latency-bound, and the vector path
 * (vector load, shuffle, store, reload through memory or a vector-to-GPR
 * move) measured 1.5-2x slower per frame than load + bswap on x86-64
 * (see wrtcframe-bench). The SIMD decoders serve wrtc_frame_read_header (),
 * which has no such chain. */

#ifndef __WRTC_FRAME_CODEC_IMPL_H__
#define __WRTC_FRAME_CODEC_IMPL_H__

#include "frame-codec.h"

G_BEGIN_DECLS

typedef struct
{
  void  (*read_header)     (const guint8 * src, WrtcFrameHeader * header);
  gsize (*find_terminator) (const guint8 * data, gsize size);
} WrtcFrameKernels;

G_GNUC_INTERNAL extern const WrtcFrameKernels wrtc_frame_kernels_scalar;

/* The plain byte loop; the SIMD scanners use it for inputs shorter than
 * one vector. */
G_GNUC_INTERNAL gsize wrtc_frame_scalar_find_terminator (const guint8 * data,
    gsize size);
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

G_END_DECLS

#endif

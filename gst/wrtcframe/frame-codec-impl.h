/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Internal: the per-ISA kernels behind frame-codec.c's runtime dispatch.
 * Each ISA lives in its own file, compiled with its own -m flags, so the
 * rest of the code never needs more than the baseline instruction set. */

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

G_END_DECLS

#endif

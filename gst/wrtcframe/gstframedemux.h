/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_FRAME_DEMUX_H__
#define __GST_FRAME_DEMUX_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAME_DEMUX (gst_frame_demux_get_type ())
G_DECLARE_FINAL_TYPE (GstFrameDemux, gst_frame_demux, GST, FRAME_DEMUX, GstElement);

G_END_DECLS

#endif

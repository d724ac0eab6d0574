/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_FRAME_MUX_H__
#define __GST_FRAME_MUX_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAME_MUX (gst_frame_mux_get_type ())
G_DECLARE_FINAL_TYPE (GstFrameMux, gst_frame_mux, GST, FRAME_MUX, GstElement);

G_END_DECLS

#endif

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_WRTCFRAME_ELEMENTS_H__
#define __GST_WRTCFRAME_ELEMENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* Caps of the multiplexed byte stream between framemux and framedemux. */
#define WRTC_FRAME_CAPS "application/x-wrtcframe"

GST_ELEMENT_REGISTER_DECLARE (framemux);
GST_ELEMENT_REGISTER_DECLARE (framedemux);

G_END_DECLS

#endif

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_WEBRTC_TUNNEL_H__
#define __GST_WEBRTC_TUNNEL_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_WEBRTC_TUNNEL (gst_webrtc_tunnel_get_type ())
G_DECLARE_FINAL_TYPE (GstWebRTCTunnel, gst_webrtc_tunnel, GST, WEBRTC_TUNNEL,
    GstBin)

GST_ELEMENT_REGISTER_DECLARE (webrtctunnel);

G_END_DECLS

#endif /* __GST_WEBRTC_TUNNEL_H__ */

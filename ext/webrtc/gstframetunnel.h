/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_FRAME_TUNNEL_H__
#define __GST_FRAME_TUNNEL_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAME_TUNNEL (gst_frame_tunnel_get_type ())
G_DECLARE_FINAL_TYPE (GstFrameTunnel, gst_frame_tunnel, GST, FRAME_TUNNEL,
    GstBin)

#define GST_TYPE_FRAME_TUNNEL_ROLE (gst_frame_tunnel_role_get_type ())
GType gst_frame_tunnel_role_get_type (void);

typedef enum
{
  GST_FRAME_TUNNEL_ROLE_AUTO,
  GST_FRAME_TUNNEL_ROLE_CLIENT,
  GST_FRAME_TUNNEL_ROLE_SERVER,
} GstFrameTunnelRole;

/* For webrtctunnel (same plugin): where end-when-done stands, under the
 * object lock only (callable from any thread, webrtcbin's included). */
typedef struct
{
  guint sink_pads, sink_pads_eos;
  gboolean fin_sent, fin_received, fin_ack_sent, fin_ack_received;
} GstFrameTunnelEnding;

void gst_frame_tunnel_get_ending (GstFrameTunnel * tunnel,
    GstFrameTunnelEnding * ending);

GST_ELEMENT_REGISTER_DECLARE (frametunnel);

G_END_DECLS

#endif /* __GST_FRAME_TUNNEL_H__ */

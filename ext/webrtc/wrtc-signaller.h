/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __WRTC_SIGNALLER_H__
#define __WRTC_SIGNALLER_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* A client of the gst-plugins-rs signalling protocol (webrtcsink,
 * webrtcsrc, gst-webrtc-signalling-server; docs/plugins/webrtctunnel.md)
 * over a libsoup-3 WebSocket. The WebSocket lives on the signaller's own
 * thread and GMainContext: every signal below is emitted there, and the
 * send functions may be called from any thread (they queue to it). */

typedef enum
{
  WRTC_SIGNALLER_ROLE_PRODUCER,
  WRTC_SIGNALLER_ROLE_CONSUMER,
} WrtcSignallerRole;

#define WRTC_TYPE_SIGNALLER_ROLE (wrtc_signaller_role_get_type ())
GType wrtc_signaller_role_get_type (void);

#define WRTC_TYPE_SIGNALLER (wrtc_signaller_get_type ())
G_DECLARE_FINAL_TYPE (WrtcSignaller, wrtc_signaller, WRTC, SIGNALLER,
    GstObject)

/* Connects to the server (asynchronously). FALSE if the thread is already
 * running. */
gboolean wrtc_signaller_start (WrtcSignaller * self);
/* Ends the session (endSession), closes the WebSocket and joins the thread;
 * bounded (the close handshake is given 2 s). */
void wrtc_signaller_stop (WrtcSignaller * self);

/* Our SDP ("offer" or "answer") and ICE candidates, to the session's
 * peer. */
void wrtc_signaller_send_sdp (WrtcSignaller * self, const gchar * type,
    const gchar * sdp);
void wrtc_signaller_send_ice (WrtcSignaller * self, guint mline,
    const gchar * candidate);
/* Sends endSession for the current session, if any. */
void wrtc_signaller_end_session (WrtcSignaller * self);

G_END_DECLS

#endif /* __WRTC_SIGNALLER_H__ */

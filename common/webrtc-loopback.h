/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __WRTC_LOOPBACK_H__
#define __WRTC_LOOPBACK_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* Two webrtcbins of one process connected to each other: in-process
 * signalling, ICE restricted to 127.0.0.1. Used by the tests, the
 * benchmark and the demo. */
typedef struct _WrtcLoopback WrtcLoopback;

/* Call before the webrtcbins leave NULL. @offerer makes the offer whenever
 * it needs negotiation (e.g. when a data channel is created on it). */
WrtcLoopback *wrtc_loopback_new (GstElement * offerer, GstElement * answerer);

/* The first signalling failure, or NULL. */
gchar *wrtc_loopback_dup_error (WrtcLoopback * loopback);

/* Disconnects from both webrtcbins. */
void wrtc_loopback_free (WrtcLoopback * loopback);

/* gst_element_set_state () and the wait for it, bounded: FALSE (after
 * printing what hung) if it does not complete within @timeout_s. The
 * state change then keeps running in its thread. */
gboolean wrtc_set_state_bounded (GstElement * element, GstState state,
    guint timeout_s);

G_END_DECLS

#endif /* __WRTC_LOOPBACK_H__ */

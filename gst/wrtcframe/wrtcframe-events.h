/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The upstream events that carry control messages backwards through a
 * pipeline (docs/wire-format.md, "Credit flow control"). Each has the
 * fields "code" (guint, the u16 control code) and "data" (GBytes, the
 * message data after the code).
 *
 * WRTC_EVENT_FEEDBACK: from a framedemux to the sender of the stream it
 *   parses (FlowGrant, FlowCredit, CloseConnection with reason Error).
 *   framemux acts on it as if its peer had said it; datachannelsrc carries
 *   it over its channel to the peer.
 * WRTC_EVENT_PEER_FEEDBACK: from a framedemux that found such a message in
 *   its input (the peer's feedback about the stream this side sends).
 *   datachannelsrc hands it to the datachannelsink on the same channel,
 *   which sends it upstream as WRTC_EVENT_FEEDBACK.
 * WRTC_EVENT_SEND_CONTROL: asks framemux to send a control message in its
 *   stream (as its send-control action does): datachannelsink sends it when
 *   the datachannelsrc on its channel relays feedback for the peer. */

#ifndef __WRTCFRAME_EVENTS_H__
#define __WRTCFRAME_EVENTS_H__

#include <string.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define WRTC_EVENT_FEEDBACK "wrtcframe-feedback"
#define WRTC_EVENT_PEER_FEEDBACK "wrtcframe-peer-feedback"
#define WRTC_EVENT_SEND_CONTROL "wrtcframe-send-control"

/* A control-message event named @name; @payload is u16 code + data. */
static inline GstEvent *
wrtc_control_event_new (const gchar * name, const guint8 * payload,
    gsize size)
{
  GBytes *data = g_bytes_new (payload + 2, size - 2);
  GstEvent *event = gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
      gst_structure_new (name, "code", G_TYPE_UINT,
          (guint) (payload[0] << 8 | payload[1]), "data", G_TYPE_BYTES, data,
          NULL));

  g_bytes_unref (data);
  return event;
}

/* The control payload (u16 code + data) of such an event as a new GBytes,
 * or NULL when @event is not one named @name. */
static inline GBytes *
wrtc_control_event_payload (GstEvent * event, const gchar * name)
{
  const GstStructure *s = gst_event_get_structure (event);
  GBytes *data = NULL;
  guint code;
  guint8 *out;
  gsize len = 0;

  if (s == NULL || !gst_structure_has_name (s, name) ||
      !gst_structure_get_uint (s, "code", &code) || code > G_MAXUINT16 ||
      !gst_structure_get (s, "data", G_TYPE_BYTES, &data, NULL))
    return NULL;
  len = g_bytes_get_size (data);
  out = g_malloc (2 + len);
  out[0] = (guint8) (code >> 8);
  out[1] = (guint8) code;
  if (len)
    memcpy (out + 2, g_bytes_get_data (data, NULL), len);
  g_bytes_unref (data);
  return g_bytes_new_take (out, 2 + len);
}

G_END_DECLS

#endif

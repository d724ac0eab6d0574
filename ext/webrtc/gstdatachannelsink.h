/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_DATA_CHANNEL_SINK_H__
#define __GST_DATA_CHANNEL_SINK_H__

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_DATA_CHANNEL_SINK (gst_data_channel_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstDataChannelSink, gst_data_channel_sink,
    GST, DATA_CHANNEL_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (datachannelsink);

/* For datachannelsrc on the same channel: pushes the control message
 * @payload (u16 code + data) upstream as the custom event @event_name
 * (WRTC_EVENT_SEND_CONTROL: for framemux to send in its stream;
 * WRTC_EVENT_FEEDBACK: the peer's feedback about this side's stream).
 * Does not block. Returns what gst_pad_push_event returned. */
gboolean gst_data_channel_sink_relay (GstDataChannelSink * sink,
    const gchar * event_name, GBytes * payload);

G_END_DECLS

#endif /* __GST_DATA_CHANNEL_SINK_H__ */

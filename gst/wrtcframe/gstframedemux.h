/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_FRAME_DEMUX_H__
#define __GST_FRAME_DEMUX_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstFrameDemuxCorruptionPolicy:
 * @GST_FRAME_DEMUX_CORRUPTION_RESYNC: post a warning, skip the damaged bytes
 *   and carry on from the next verified frame
 * @GST_FRAME_DEMUX_CORRUPTION_ERROR: post an error and stop streaming
 *
 * What framedemux does when the muxed stream is damaged.
 */
typedef enum
{
  GST_FRAME_DEMUX_CORRUPTION_RESYNC,
  GST_FRAME_DEMUX_CORRUPTION_ERROR,
} GstFrameDemuxCorruptionPolicy;

#define GST_TYPE_FRAME_DEMUX_CORRUPTION_POLICY \
  (gst_frame_demux_corruption_policy_get_type ())
GType gst_frame_demux_corruption_policy_get_type (void);

#define GST_TYPE_FRAME_DEMUX (gst_frame_demux_get_type ())
G_DECLARE_FINAL_TYPE (GstFrameDemux, gst_frame_demux, GST, FRAME_DEMUX, GstElement);

G_END_DECLS

#endif

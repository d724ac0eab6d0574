/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __GST_DATA_CHANNEL_SRC_H__
#define __GST_DATA_CHANNEL_SRC_H__

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_DATA_CHANNEL_SRC (gst_data_channel_src_get_type ())
G_DECLARE_FINAL_TYPE (GstDataChannelSrc, gst_data_channel_src,
    GST, DATA_CHANNEL_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE (datachannelsrc);

G_END_DECLS

#endif /* __GST_DATA_CHANNEL_SRC_H__ */

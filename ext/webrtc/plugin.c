/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdatachannelsink.h"
#include "gstdatachannelsrc.h"
#include "gstframetunnel.h"
#ifdef HAVE_WEBRTCTUNNEL
#include "gstwebrtctunnel.h"
#endif

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (datachannelsink, plugin);
  ret |= GST_ELEMENT_REGISTER (datachannelsrc, plugin);
  ret |= GST_ELEMENT_REGISTER (frametunnel, plugin);
#ifdef HAVE_WEBRTCTUNNEL
  ret |= GST_ELEMENT_REGISTER (webrtctunnel, plugin);
#endif

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, wrtcframewebrtc,
    "Bridge byte streams to and from WebRTC data channels of webrtcbin",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

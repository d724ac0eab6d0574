/* placeholder: replaced by the real element */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "gstframedemux.h"
#include "gstwrtcframeelements.h"

struct _GstFrameDemux
{
  GstElement parent;
};

G_DEFINE_TYPE (GstFrameDemux, gst_frame_demux, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (framedemux, "framedemux", GST_RANK_NONE,
    GST_TYPE_FRAME_DEMUX);

static void
gst_frame_demux_class_init (GstFrameDemuxClass * klass)
{
  gst_element_class_set_static_metadata (GST_ELEMENT_CLASS (klass),
      "placeholder", "Generic", "placeholder", "x");
}

static void
gst_frame_demux_init (GstFrameDemux * self)
{
}

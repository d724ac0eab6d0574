/* placeholder: replaced by the real element */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "gstframemux.h"
#include "gstwrtcframeelements.h"

struct _GstFrameMux
{
  GstElement parent;
};

G_DEFINE_TYPE (GstFrameMux, gst_frame_mux, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (framemux, "framemux", GST_RANK_NONE,
    GST_TYPE_FRAME_MUX);

static void
gst_frame_mux_class_init (GstFrameMuxClass * klass)
{
  gst_element_class_set_static_metadata (GST_ELEMENT_CLASS (klass),
      "placeholder", "Generic", "placeholder", "x");
}

static void
gst_frame_mux_init (GstFrameMux * self)
{
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "framemux-pad.h"

enum
{
  PROP_PAD_0,
  PROP_PAD_CONNECTION,
  PROP_PAD_OPEN_DATA,
};

G_DEFINE_TYPE (GstFrameMuxPad, gst_frame_mux_pad, GST_TYPE_PAD);

static void
gst_frame_mux_pad_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (object);

  switch (prop_id) {
    case PROP_PAD_CONNECTION:
      g_value_set_uint (value, mpad->conn);
      break;
    case PROP_PAD_OPEN_DATA:
      GST_OBJECT_LOCK (mpad);
      g_value_set_boxed (value, mpad->open_data);
      GST_OBJECT_UNLOCK (mpad);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_mux_pad_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (object);

  switch (prop_id) {
    case PROP_PAD_OPEN_DATA:
      GST_OBJECT_LOCK (mpad);
      if (mpad->open_data)
        g_bytes_unref (mpad->open_data);
      mpad->open_data = g_value_dup_boxed (value);
      GST_OBJECT_UNLOCK (mpad);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_mux_pad_finalize (GObject * object)
{
  GstFrameMuxPad *mpad = GST_FRAME_MUX_PAD (object);
  MuxFrame *f;

  while ((f = gst_queue_array_pop_head_struct (mpad->queue)))
    gst_buffer_unref (f->buf);
  gst_queue_array_free (mpad->queue);
  gst_caps_replace (&mpad->caps, NULL);
  if (mpad->open_data)
    g_bytes_unref (mpad->open_data);
  g_cond_clear (&mpad->space_cond);

  G_OBJECT_CLASS (gst_frame_mux_pad_parent_class)->finalize (object);
}

static void
gst_frame_mux_pad_class_init (GstFrameMuxPadClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->get_property = gst_frame_mux_pad_get_property;
  gobject_class->set_property = gst_frame_mux_pad_set_property;
  gobject_class->finalize = gst_frame_mux_pad_finalize;

  /**
   * GstFrameMuxPad:connection:
   *
   * The connection number this pad's buffers are framed with.
   */
  g_object_class_install_property (gobject_class, PROP_PAD_CONNECTION,
      g_param_spec_uint ("connection", "Connection",
          "Connection number written into every frame from this pad "
          "(the N of sink_N; 1..4294967295, 0 is the control connection)",
          1, G_MAXUINT32, 1, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameMuxPad:open-data:
   *
   * Connection-specific data sent in this connection's OpenConnection, as
   * the reference implementation's own data (the target of a forwarded
   * connection, docs/wire-format.md). Set it before the connection's first
   * buffer or caps; it replaces the caps that #GstFrameMux:send-caps would
   * put there.
   */
  g_object_class_install_property (gobject_class, PROP_PAD_OPEN_DATA,
      g_param_spec_boxed ("open-data", "Open data",
          "Connection-specific data of this connection's OpenConnection "
          "(set before its first data; NULL: none, or the caps with "
          "send-caps)", G_TYPE_BYTES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

static void
gst_frame_mux_pad_init (GstFrameMuxPad * mpad)
{
  /* small: a pad's queue only grows while downstream is slower than it,
   * and per-connection memory matters with thousands of connections */
  mpad->queue = gst_queue_array_new_for_struct (sizeof (MuxFrame), 2);
  mpad->ring_link.data = mpad;
  g_cond_init (&mpad->space_cond);
}


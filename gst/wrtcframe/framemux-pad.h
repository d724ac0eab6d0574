/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* framemux's sink pad: one connection's number, its queue of frames and
 * its flow-control account. Its fields belong to the element, under the
 * element's lock (open-data under the pad's object lock). */

#ifndef __FRAMEMUX_PAD_H__
#define __FRAMEMUX_PAD_H__

#include <gst/gst.h>
#include <gst/base/gstqueuearray.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAME_MUX_PAD (gst_frame_mux_pad_get_type ())
G_DECLARE_FINAL_TYPE (GstFrameMuxPad, gst_frame_mux_pad, GST, FRAME_MUX_PAD,
    GstPad);

typedef struct
{
  GstBuffer *buf;
  guint64 ts;
  guint32 conn;                 /* the pad's number, or 0 for control */
} MuxFrame;

struct _GstFrameMuxPad
{
  GstPad parent;

  guint32 conn;                 /* fixed at creation */

  /* everything below is protected by the element's lock */
  GstQueueArray *queue;         /* of MuxFrame */
  guint64 queued_bytes;         /* payload bytes in queue */
  GList ring_link;              /* link in the element's round-robin ring */
  gboolean in_ring;
  /* A released pad whose frames are still queued holds back the next pad
   * with the same number (@successor, whose @pred it is), so the peer sees
   * CloseConnection of the old connection before anything of the new one.
   * A held pad with queued frames is "parked" instead of in the ring. */
  GstFrameMuxPad *pred;
  GstFrameMuxPad *successor;
  gboolean parked;
  gboolean opened;              /* OpenConnection queued */
  gboolean eos;
  gboolean flushing;
  gboolean released;
  gboolean waiting;             /* a chain waits on space_cond */
  GCond space_cond;
  GstCaps *caps;                /* last caps received */
  GBytes *open_data;            /* "open-data", under the pad's object lock */
  guint64 frames;
  guint64 bytes;
  /* flow control: payload bytes since OpenConnection, and the peer's last
   * acknowledgement of them */
  guint64 sent;
  guint64 acked;
  gboolean peer_closed;         /* the peer's branch failed */
};


G_END_DECLS

#endif

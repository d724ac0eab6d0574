/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * Scale benchmark: how framemux and framedemux behave with many concurrent
 * connections.
 *   memory   heap bytes per open connection (malloc statistics before and
 *            after opening N connections, divided by N; the GstPad, its
 *            sticky events and the element's bookkeeping included)
 *   mux      frames/s pushed into N sink pads in turn, downstream keeping
 *            up (each frame goes straight out: the common case)
 *   drain    frames/s of framemux's task draining frames queued on N pads
 *            while downstream was blocked (the round-robin over N pads)
 *   demux    frames/s through framedemux for frames spread over N
 *            connections, each source pad linked
 * Each figure is a median of repeated runs, and the 1-connection case is
 * measured again at the end of the same run: the ratio N/1 is the figure
 * that matters, the repeat shows how noisy the machine is.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "frame-codec.h"

#define PAYLOAD 64

static guint64 sink_frames;
static guint64 sink_bytes;      /* atomic: the drain waits on it */

static GstFlowReturn
count_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  sink_frames++;
  __atomic_add_fetch (&sink_bytes, gst_buffer_get_size (buf),
      __ATOMIC_RELAXED);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static GstFlowReturn
count_list_chain (GstPad * pad, GstObject * parent, GstBufferList * list)
{
  sink_frames += gst_buffer_list_length (list);
  gst_buffer_list_unref (list);
  return GST_FLOW_OK;
}

static gboolean
eat_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  gst_event_unref (event);
  return TRUE;
}

static GstPad *
counting_sink (void)
{
  GstPad *pad = gst_pad_new ("count", GST_PAD_SINK);

  gst_pad_set_chain_function (pad, count_chain);
  gst_pad_set_chain_list_function (pad, count_list_chain);
  gst_pad_set_event_function (pad, eat_event);
  gst_pad_set_active (pad, TRUE);
  return pad;
}

static gsize
heap_in_use (void)
{
  struct mallinfo2 mi = mallinfo2 ();

  return mi.uordblks + mi.hblkhd;
}

static gint
cmp_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median (gdouble * v, guint n)
{
  qsort (v, n, sizeof (gdouble), cmp_double);
  return v[n / 2];
}

/* ---- framemux ---- */

typedef struct
{
  GstElement *mux;
  GstPad *out;
  GstPad **pads;
  guint n;
  guint active;                 /* frames go to pads 0 .. active-1 */
} MuxRig;

static void
send_headers (GstPad * pad, guint i)
{
  gchar *id = g_strdup_printf ("bench-%u", i);
  GstCaps *caps = gst_caps_new_empty_simple ("application/octet-stream");
  GstSegment seg;

  gst_pad_send_event (pad, gst_event_new_stream_start (id));
  gst_pad_send_event (pad, gst_event_new_caps (caps));
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_pad_send_event (pad, gst_event_new_segment (&seg));
  gst_caps_unref (caps);
  g_free (id);
}

static MuxRig *
mux_rig_new (guint n, guint active)
{
  MuxRig *r = g_new0 (MuxRig, 1);
  GstPad *src;
  guint i;

  r->mux = gst_element_factory_make ("framemux", NULL);
  g_object_set (r->mux, "max-queue-bytes", G_MAXUINT32, "forward-eos", FALSE,
      NULL);
  r->out = counting_sink ();
  src = gst_element_get_static_pad (r->mux, "src");
  gst_pad_link (src, r->out);
  gst_object_unref (src);
  gst_element_set_state (r->mux, GST_STATE_PLAYING);
  r->n = n;
  r->active = active;
  /* one more: the pad whose frame blocks downstream in the drain test
   * (its streaming lock is then taken, nothing else can go through it) */
  r->pads = g_new0 (GstPad *, n + 1);
  for (i = 0; i <= n; i++) {
    r->pads[i] = gst_element_request_pad_simple (r->mux, "sink_%u");
    send_headers (r->pads[i], i);
  }
  return r;
}

static void
mux_rig_free (MuxRig * r)
{
  guint i;

  for (i = 0; i <= r->n; i++) {
    gst_element_release_request_pad (r->mux, r->pads[i]);
    gst_object_unref (r->pads[i]);
  }
  gst_element_set_state (r->mux, GST_STATE_NULL);
  gst_object_unref (r->mux);
  gst_pad_set_active (r->out, FALSE);
  gst_object_unref (r->out);
  g_free (r->pads);
  g_free (r);
}

/* Frames/s of @frames single-frame pushes over the pads in turn. */
static gdouble
mux_push_rate (MuxRig * r, guint frames, GstBuffer * payload)
{
  guint64 start = sink_frames;
  gint64 t0, t1;
  guint i;

  t0 = g_get_monotonic_time ();
  for (i = 0; i < frames; i++)
    gst_pad_chain (r->pads[i % r->active], gst_buffer_ref (payload));
  t1 = g_get_monotonic_time ();
  if (sink_frames - start < 1)
    g_printerr ("framemux produced nothing\n");
  return frames / ((t1 - t0) / 1e6);
}

/* Blocks the output, queues @frames frames over the pads in turn, then
 * measures how fast the task drains them. */
static GMutex gate_lock;
static GCond gate_cond;
static gboolean gate_open, gate_waiting;

static GstPadProbeReturn
gate_probe (GstPad * pad, GstPadProbeInfo * info, gpointer unused)
{
  g_mutex_lock (&gate_lock);
  gate_waiting = TRUE;
  g_cond_broadcast (&gate_cond);
  while (!gate_open)
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);
  return GST_PAD_PROBE_REMOVE;
}

typedef struct
{
  GstPad *pad;
  GstBuffer *buf;
} FirstPush;

static gpointer
first_push (FirstPush * fp)
{
  gst_pad_chain (fp->pad, gst_buffer_ref (fp->buf));
  return NULL;
}

static gdouble
mux_drain_rate (MuxRig * r, guint frames, GstBuffer * payload)
{
  FirstPush fp = { r->pads[r->n], payload };
  GThread *thread;
  GstPad *src = gst_element_get_static_pad (r->mux, "src");
  guint64 want = (guint64) frames * (PAYLOAD + WRTC_FRAME_OVERHEAD);
  guint64 before = __atomic_load_n (&sink_bytes, __ATOMIC_RELAXED);
  gint64 t0, t1;
  guint i;

  gate_open = gate_waiting = FALSE;
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, gate_probe, NULL, NULL);
  /* the first frame gets stuck downstream (in a thread of its own, the
   * pusher), the rest queue up */
  thread = g_thread_new ("first", (GThreadFunc) first_push, &fp);
  g_mutex_lock (&gate_lock);
  while (!gate_waiting)
    g_cond_wait (&gate_cond, &gate_lock);
  g_mutex_unlock (&gate_lock);
  for (i = 1; i < frames; i++)
    gst_pad_chain (r->pads[i % r->active], gst_buffer_ref (payload));

  t0 = g_get_monotonic_time ();
  g_mutex_lock (&gate_lock);
  gate_open = TRUE;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);
  /* (the stats property would cost O(connections) per look) */
  while (__atomic_load_n (&sink_bytes, __ATOMIC_RELAXED) - before < want)
    g_usleep (100);
  t1 = g_get_monotonic_time ();
  g_thread_join (thread);
  gst_object_unref (src);
  return (frames - 1) / ((t1 - t0) / 1e6);
}

/* ---- framedemux ---- */

typedef struct
{
  GstElement *demux;
  GstPad *in;
  GPtrArray *sinks;
} DemuxRig;

static void
demux_pad_added (GstElement * demux, GstPad * pad, DemuxRig * r)
{
  GstPad *sink;

  if (r->sinks == NULL)
    return;                     /* the memory figure: unlinked pads */
  sink = counting_sink ();
  gst_pad_link (pad, sink);
  g_ptr_array_add (r->sinks, sink);
}

static void
unref_sink (gpointer p)
{
  gst_pad_set_active (p, FALSE);
  gst_object_unref (p);
}

static DemuxRig *
demux_rig_new (gboolean link)
{
  DemuxRig *r = g_new0 (DemuxRig, 1);
  GstPad *sink;
  GstSegment seg;
  GstCaps *caps = gst_caps_new_empty_simple ("application/x-wrtcframe");

  r->demux = gst_element_factory_make ("framedemux", NULL);
  if (link)
    r->sinks = g_ptr_array_new_with_free_func (unref_sink);
  g_signal_connect (r->demux, "pad-added", G_CALLBACK (demux_pad_added), r);
  r->in = gst_pad_new ("in", GST_PAD_SRC);
  sink = gst_element_get_static_pad (r->demux, "sink");
  gst_pad_link (r->in, sink);
  gst_object_unref (sink);
  gst_pad_set_active (r->in, TRUE);
  gst_element_set_state (r->demux, GST_STATE_PLAYING);
  gst_pad_push_event (r->in, gst_event_new_stream_start ("bench"));
  gst_pad_push_event (r->in, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  gst_pad_push_event (r->in, gst_event_new_segment (&seg));
  return r;
}

static void
demux_rig_free (DemuxRig * r)
{
  gst_element_set_state (r->demux, GST_STATE_NULL);
  gst_object_unref (r->demux);
  gst_pad_set_active (r->in, FALSE);
  gst_object_unref (r->in);
  if (r->sinks)
    g_ptr_array_unref (r->sinks);
  g_free (r);
}

static GstBuffer *
open_messages (guint first, guint n)
{
  gsize frame = WRTC_FRAME_OVERHEAD + 6;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, frame * n, NULL);
  GstMapInfo map;
  guint i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < n; i++) {
    guint8 payload[6];
    WrtcControlMessage msg = { 0, };

    msg.code = WRTC_CONTROL_OPEN_CONNECTION;
    msg.conn_no = first + i;
    wrtc_control_encode (payload, sizeof (payload), &msg);
    wrtc_frame_encode (map.data + i * frame, frame, 0, 1700000000000, payload,
        6);
  }
  gst_buffer_unmap (buf, &map);
  return buf;
}

/* 64 KiB messages of 64-byte frames over connections 1..n in turn. */
static GPtrArray *
data_messages (guint n, guint frames)
{
  GPtrArray *msgs = g_ptr_array_new_with_free_func ((GDestroyNotify)
      gst_buffer_unref);
  gsize frame = WRTC_FRAME_OVERHEAD + PAYLOAD;
  guint per_msg = 65536 / frame, i = 0;
  guint8 payload[PAYLOAD];

  memset (payload, 0x5a, sizeof (payload));
  while (i < frames) {
    guint k = MIN (per_msg, frames - i), j;
    GstBuffer *buf = gst_buffer_new_allocate (NULL, k * frame, NULL);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (j = 0; j < k; j++, i++)
      wrtc_frame_encode (map.data + j * frame, frame, 1 + i % n,
          1700000000000, payload, PAYLOAD);
    gst_buffer_unmap (buf, &map);
    g_ptr_array_add (msgs, buf);
  }
  return msgs;
}

static gdouble
demux_rate (DemuxRig * r, GPtrArray * msgs, guint frames)
{
  guint64 start = sink_frames;
  gint64 t0, t1;
  guint i;

  t0 = g_get_monotonic_time ();
  for (i = 0; i < msgs->len; i++)
    gst_pad_push (r->in, gst_buffer_ref (g_ptr_array_index (msgs, i)));
  t1 = g_get_monotonic_time ();
  if (sink_frames - start != frames)
    g_printerr ("framedemux delivered %" G_GUINT64_FORMAT " of %u frames\n",
        sink_frames - start, frames);
  return frames / ((t1 - t0) / 1e6);
}

/* ---- driver ---- */

static void
measure_memory (guint n)
{
  GstBuffer *opens = open_messages (1, n);
  DemuxRig *dr;
  MuxRig *mr;
  GstElement *mux;
  GstPad **pads;
  gsize before, mid, after;
  guint i;

  /* framemux: requested pad with stream-start, caps and segment, and the
   * OpenConnection it queued (sent at once: downstream keeps up) */
  mr = mux_rig_new (1, 1);
  mux = mr->mux;
  pads = g_new0 (GstPad *, n);
  malloc_trim (0);
  before = heap_in_use ();
  for (i = 0; i < n; i++)
    pads[i] = gst_element_request_pad_simple (mux, "sink_%u");
  mid = heap_in_use ();
  for (i = 0; i < n; i++)
    send_headers (pads[i], i);
  after = heap_in_use ();
  printf ("  framemux   %8.0f bytes per open connection (%u connections): "
      "%.0f the pad, %.0f its sticky events (upstream's stream-start, caps, "
      "segment, each its own)\n", (gdouble) (after - before) / n, n,
      (gdouble) (mid - before) / n, (gdouble) (after - mid) / n);
  fflush (stdout);
  for (i = 0; i < n; i++) {
    gst_element_release_request_pad (mux, pads[i]);
    gst_object_unref (pads[i]);
  }
  g_free (pads);
  mux_rig_free (mr);

  /* framedemux: the source pad (unlinked) with its sticky events, and the
   * connection's entry, made by OpenConnection */
  dr = demux_rig_new (FALSE);
  malloc_trim (0);
  before = heap_in_use ();
  gst_pad_push (dr->in, opens);
  after = heap_in_use ();
  printf ("  framedemux %8.0f bytes per open connection (%u connections)\n",
      (gdouble) (after - before) / n, n);
  demux_rig_free (dr);
}

int
bench_scale_run (int argc, char **argv)
{
  /* open connections, and how many of them carry the frames */
  static const guint counts[] = { 1, 100, 10000, 10000, 1 };
  static const guint active[] = { 1, 100, 10000, 1, 1 };
  guint reps = 7, frames = 400000, c, k;
  gdouble mux_r[G_N_ELEMENTS (counts)], drain_r[G_N_ELEMENTS (counts)],
      demux_r[G_N_ELEMENTS (counts)];
  gdouble m[G_N_ELEMENTS (counts)][7], d[G_N_ELEMENTS (counts)][7],
      x[G_N_ELEMENTS (counts)][7];
  MuxRig *mrigs[G_N_ELEMENTS (counts)];
  DemuxRig *drigs[G_N_ELEMENTS (counts)];
  GPtrArray *msgs[G_N_ELEMENTS (counts)];
  GstBuffer *payload;
  GstElementFactory *f;

  gst_init (NULL, NULL);
  f = gst_element_factory_find ("framemux");
  if (f == NULL) {
    gst_registry_scan_path (gst_registry_get (), WRTCFRAME_PLUGIN_BUILD_DIR);
    f = gst_element_factory_find ("framemux");
  }
  if (f == NULL) {
    g_printerr ("framemux not found (looked in " WRTCFRAME_PLUGIN_BUILD_DIR
        " too)\n");
    return 1;
  }
  gst_object_unref (f);
  if (argc > 1 && g_strcmp0 (argv[1], "--quick") == 0) {
    reps = 3;
    frames /= 4;
  }

  printf ("Per-connection memory (heap delta / connections):\n");
  fflush (stdout);
  measure_memory (10000);

  payload = gst_buffer_new_allocate (NULL, PAYLOAD, NULL);
  gst_buffer_memset (payload, 0, 0x5a, PAYLOAD);

  printf ("\nFrames/s with N concurrent connections (%u-byte payloads, "
      "median of %u interleaved runs of %u frames):\n", PAYLOAD, reps, frames);
  printf ("  %6s %6s %14s %14s %14s\n", "open", "busy", "mux", "mux drain",
      "demux");
  /* all set up first, then measured in turns, so that a slow phase of a
   * shared machine hits every N alike */
  for (c = 0; c < G_N_ELEMENTS (counts); c++) {
    mrigs[c] = mux_rig_new (counts[c], active[c]);
    drigs[c] = demux_rig_new (TRUE);
    msgs[c] = data_messages (active[c], frames);
    gst_pad_push (drigs[c]->in, open_messages (1, counts[c]));
  }
  for (k = 0; k < reps; k++) {
    for (c = 0; c < G_N_ELEMENTS (counts); c++) {
      m[c][k] = mux_push_rate (mrigs[c], frames, payload);
      d[c][k] = mux_drain_rate (mrigs[c], MIN (frames, 200000), payload);
      x[c][k] = demux_rate (drigs[c], msgs[c], frames);
    }
  }
  for (c = 0; c < G_N_ELEMENTS (counts); c++) {
    mux_r[c] = median (m[c], reps);
    drain_r[c] = median (d[c], reps);
    demux_r[c] = median (x[c], reps);
    printf ("  %6u %6u %14.0f %14.0f %14.0f%s\n", counts[c], active[c],
        mux_r[c], drain_r[c], demux_r[c], c == G_N_ELEMENTS (counts) - 1 ?
        "  (1 again, a second rig)" : "");
    g_ptr_array_unref (msgs[c]);
    demux_rig_free (drigs[c]);
    mux_rig_free (mrigs[c]);
  }
  printf ("\nRatio 10000 / 1 connection, all busy (1.00 = no drop; "
      "target >= 0.50):\n");
  printf ("  mux %.2f   mux drain %.2f   demux %.2f\n", mux_r[2] / mux_r[0],
      drain_r[2] / drain_r[0], demux_r[2] / demux_r[0]);
  printf ("Ratio 10000 open, 1 busy / 1 connection (cost of open but idle "
      "connections):\n  mux %.2f   mux drain %.2f   demux %.2f\n",
      mux_r[3] / mux_r[0], drain_r[3] / drain_r[0], demux_r[3] / demux_r[0]);
  printf ("Ratio of the two 1-connection runs (noise): mux %.2f   "
      "mux drain %.2f   demux %.2f\n", mux_r[4] / mux_r[0],
      drain_r[4] / drain_r[0], demux_r[4] / demux_r[0]);
  gst_buffer_unref (payload);
  return 0;
}

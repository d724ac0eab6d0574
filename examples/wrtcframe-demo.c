/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * wrtcframe-demo: two WebRTC peers in this process, connected over
 * 127.0.0.1 (in-process signalling, loopback-only ICE), tunnel several
 * streams over one data channel:
 *
 *   sender:   [conn 1] videotestsrc ! vp8enc ! rtpvp8pay     \
 *             [conn 2] N MiB of deterministic bytes (appsrc) -+ framemux !
 *             [conn 3] audiotestsrc ! opusenc ! rtpopuspay   /
 *             datachannelsink -> webrtcbin A
 *   receiver: webrtcbin B -> datachannelsrc ! framedemux ! one fakesink per
 *             connection
 *
 * Every connection is hashed (SHA-256) as it enters framemux and as it
 * leaves framedemux. Prints a progress line per second and a summary;
 * exits non-zero on an error, a mismatch or a timeout.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webrtc-loopback.h"

#define LABEL "demo-tunnel"
#define N_CONNS 3
#define CONN_VIDEO 1
#define CONN_BULK 2
#define CONN_AUDIO 3
#define STATE_WAIT_S 20         /* any state change */
#define DRAIN_WAIT_S 30         /* data still in flight after the senders end */
#define IDLE_WAIT_S 10          /* sender done, nothing arrives: data lost */
#define BULK_CHUNK 16384

enum
{
  EXIT_OK = 0,
  EXIT_MISMATCH = 1,
  EXIT_ERROR = 2,
  EXIT_TIMEOUT = 3,
};

/* One end (sent or received) of one connection. Written by one streaming
 * thread; the main thread reads the counters for progress. */
typedef struct
{
  GMutex lock;
  GChecksum *sha;
  guint64 bytes;
  guint64 buffers;
  gint64 first_us, last_us;     /* monotonic time of first and last buffer */
  gchar *digest;                /* set once the end is finished */
} End;

typedef struct
{
  const gchar *name;
  End sent;
  End received;
} Conn;

typedef struct
{
  /* options */
  guint seconds;
  guint bulk_mib;

  Conn conns[N_CONNS + 1];      /* index = connection number */

  /* bulk source state: its appsrc streaming thread only */
  guint64 bulk_total;
  guint64 bulk_made;

  GstElement *tx, *rx;          /* pipelines */
  GstElement *tx_webrtc, *rx_webrtc;
  GstElement *dcsink, *dcsrc;
  GstElement *live_srcs[2];
  guint n_live;

  GMutex lock;
  GCond cond;
  gint64 first_rx_us, last_rx_us;       /* under lock */
} Demo;

/* ---------- deterministic bulk bytes (splitmix64 of the offset) ---------- */

static void
pattern_fill (guint64 offset, guint8 * data, gsize size)
{
  gsize i;

  for (i = 0; i < size; i++) {
    guint64 pos = offset + i;
    guint64 z = (pos >> 3) ^ 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    data[i] = z >> ((pos & 7) * 8);
  }
}

static void
bulk_need_data (GstAppSrc * appsrc, guint length, gpointer user_data)
{
  Demo *d = user_data;
  GstBuffer *buf;
  GstMapInfo map;
  gsize size;

  if (d->bulk_made >= d->bulk_total) {
    gst_app_src_end_of_stream (appsrc);
    return;
  }
  size = MIN (BULK_CHUNK, d->bulk_total - d->bulk_made);
  buf = gst_buffer_new_allocate (NULL, size, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  pattern_fill (d->bulk_made, map.data, size);
  gst_buffer_unmap (buf, &map);
  d->bulk_made += size;
  gst_app_src_push_buffer (appsrc, buf);
}

/* ---------- hashing both ends ---------- */

static void
end_init (End * e)
{
  g_mutex_init (&e->lock);
  e->sha = g_checksum_new (G_CHECKSUM_SHA256);
}

static void
end_clear (End * e)
{
  g_checksum_free (e->sha);
  g_free (e->digest);
  g_mutex_clear (&e->lock);
}

static gboolean
end_add_buffer (GstBuffer ** buf, guint idx, gpointer user_data)
{
  End *e = user_data;
  gint64 now = g_get_monotonic_time ();
  GstMapInfo map;

  if (!gst_buffer_map (*buf, &map, GST_MAP_READ))
    return TRUE;
  g_mutex_lock (&e->lock);
  if (!e->first_us)
    e->first_us = now;
  e->last_us = now;
  g_checksum_update (e->sha, map.data, map.size);
  e->bytes += map.size;
  e->buffers++;
  g_mutex_unlock (&e->lock);
  gst_buffer_unmap (*buf, &map);
  return TRUE;
}

static void
end_read (End * e, guint64 * bytes)
{
  g_mutex_lock (&e->lock);
  *bytes = e->bytes;
  g_mutex_unlock (&e->lock);
}

static const gchar *
end_finish (End * e)
{
  g_mutex_lock (&e->lock);
  if (!e->digest)
    e->digest = g_strdup (g_checksum_get_string (e->sha));
  g_mutex_unlock (&e->lock);
  return e->digest;
}

/* On the pad feeding each framemux sink pad: what enters the tunnel. RTP
 * payloaders push buffer lists. A source pad sees each push once; on the
 * sink pad a list would be seen again buffer by buffer when framemux has
 * no chain-list function. */
static GstPadProbeReturn
sent_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

    end_add_buffer (&buf, 0, user_data);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info),
        end_add_buffer, user_data);
  }
  return GST_PAD_PROBE_OK;
}

static void
received_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad,
    Demo * d)
{
  End *e = g_object_get_data (G_OBJECT (sink), "end");
  gint64 now = g_get_monotonic_time ();

  end_add_buffer (&buf, 0, e);
  g_mutex_lock (&d->lock);
  if (!d->first_rx_us)
    d->first_rx_us = now;
  d->last_rx_us = now;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->lock);
}

static void
demux_pad_added (GstElement * demux, GstPad * pad, Demo * d)
{
  GstElement *sink;
  GstPad *sinkpad;
  guint conn;

  if (sscanf (GST_PAD_NAME (pad), "src_%u", &conn) != 1 || conn < 1
      || conn > N_CONNS) {
    /* Not ours: still consume it so it cannot stall the demuxer. */
    g_printerr ("unexpected connection pad %s\n", GST_PAD_NAME (pad));
    conn = 0;
  }
  sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  if (conn) {
    g_object_set_data (G_OBJECT (sink), "end", &d->conns[conn].received);
    g_object_set (sink, "signal-handoffs", TRUE, NULL);
    g_signal_connect (sink, "handoff", G_CALLBACK (received_handoff), d);
  }
  gst_bin_add (GST_BIN (d->rx), sink);
  gst_element_sync_state_with_parent (sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    g_printerr ("could not link %s\n", GST_PAD_NAME (pad));
  gst_object_unref (sinkpad);
}

/* ---------- building the two pipelines ---------- */

static gboolean
have (const gchar * factory)
{
  GstElementFactory *f = gst_element_factory_find (factory);

  if (f)
    gst_object_unref (f);
  return f != NULL;
}

/* Parses @desc into a bin with a ghost "src" pad, adds it to the sender and
 * links it to framemux sink_@conn, hashing what goes in. */
static gboolean
add_connection (Demo * d, GstElement * mux, guint conn, const gchar * desc,
    const gchar * name)
{
  GError *err = NULL;
  GstElement *bin;
  GstPad *srcpad, *sinkpad;
  gchar *padname;
  gboolean ok;

  bin = gst_parse_bin_from_description (desc, TRUE, &err);
  if (!bin) {
    g_printerr ("connection %u (%s): %s\n", conn, desc, err->message);
    g_error_free (err);
    return FALSE;
  }
  gst_bin_add (GST_BIN (d->tx), bin);
  padname = g_strdup_printf ("sink_%u", conn);
  sinkpad = gst_element_request_pad_simple (mux, padname);
  g_free (padname);
  srcpad = gst_element_get_static_pad (bin, "src");
  ok = gst_pad_link (srcpad, sinkpad) == GST_PAD_LINK_OK;
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, sent_probe, &d->conns[conn].sent, NULL);
  gst_object_unref (srcpad);
  gst_object_unref (sinkpad);
  d->conns[conn].name = name;
  if (!ok)
    g_printerr ("connection %u: could not link to framemux\n", conn);
  return ok;
}

/* The live source inside a connection's bin, to stop it with EOS. */
static void
remember_live_src (Demo * d, const gchar * name)
{
  d->live_srcs[d->n_live++] = gst_bin_get_by_name (GST_BIN (d->tx), name);
}

static gboolean
build (Demo * d)
{
  GstElement *mux, *demux;
  GstElement *bulk;
  GstAppSrcCallbacks cb = { bulk_need_data, NULL, NULL };
  GstPad *srcpad, *sinkpad;
  const gchar *video, *audio;
  const gchar *video_name, *audio_name;

  /* sender */
  d->tx = gst_pipeline_new ("sender");
  d->tx_webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  mux = gst_element_factory_make ("framemux", NULL);
  d->dcsink = gst_element_factory_make ("datachannelsink", NULL);
  if (!d->tx_webrtc || !mux || !d->dcsink) {
    g_printerr ("missing element: webrtcbin (gstreamer1.0-plugins-bad, "
        "gstreamer1.0-nice), framemux or datachannelsink (this project's "
        "build; set GST_PLUGIN_PATH)\n");
    return FALSE;
  }
  /* webrtcbin holds sinks that never see EOS: take the datachannelsink's
   * own EOS from the messages the bin forwards. */
  g_object_set (d->tx, "message-forward", TRUE, NULL);
  g_object_set (d->tx_webrtc, "bundle-policy", 3 /* max-bundle */ , NULL);
  /* close-on-eos=false: webrtcbin 1.22 can drop the last messages of a
   * channel closed right behind them; the demo ends on byte counts. */
  g_object_set (d->dcsink, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", TRUE, "close-on-eos", FALSE, NULL);
  gst_bin_add_many (GST_BIN (d->tx), d->tx_webrtc, mux, d->dcsink, NULL);
  if (!gst_element_link (mux, d->dcsink))
    return FALSE;

  if (have ("vp8enc") && have ("rtpvp8pay")) {
    video = "videotestsrc name=vsrc is-live=true horizontal-speed=2 "
        "! video/x-raw,width=320,height=240,framerate=30/1 "
        "! vp8enc deadline=1 target-bitrate=1000000 ! rtpvp8pay";
    video_name = "video (VP8/RTP)";
  } else {
    video = "videotestsrc name=vsrc is-live=true horizontal-speed=2 "
        "! video/x-raw,format=I420,width=160,height=120,framerate=30/1";
    video_name = "video (raw I420)";
  }
  if (have ("opusenc") && have ("rtpopuspay")) {
    audio = "audiotestsrc name=asrc is-live=true wave=ticks "
        "! audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay";
    audio_name = "audio (Opus/RTP)";
  } else {
    audio = "audiotestsrc name=asrc is-live=true "
        "! audio/x-raw,format=S16LE,rate=48000,channels=2";
    audio_name = "audio (raw S16LE)";
  }
  if (!add_connection (d, mux, CONN_VIDEO, video, video_name)
      || !add_connection (d, mux, CONN_AUDIO, audio, audio_name))
    return FALSE;
  remember_live_src (d, "vsrc");
  remember_live_src (d, "asrc");

  bulk = gst_element_factory_make ("appsrc", "bulk");
  g_object_set (bulk, "max-bytes", (guint64) 512 * 1024, NULL);
  gst_app_src_set_callbacks (GST_APP_SRC (bulk), &cb, d, NULL);
  gst_bin_add (GST_BIN (d->tx), bulk);
  sinkpad = gst_element_request_pad_simple (mux, "sink_2");
  srcpad = gst_element_get_static_pad (bulk, "src");
  if (gst_pad_link (srcpad, sinkpad) != GST_PAD_LINK_OK)
    return FALSE;
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, sent_probe, &d->conns[CONN_BULK].sent,
      NULL);
  gst_object_unref (srcpad);
  gst_object_unref (sinkpad);
  d->conns[CONN_BULK].name = "bulk bytes";

  /* receiver */
  d->rx = gst_pipeline_new ("receiver");
  d->rx_webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
  d->dcsrc = gst_element_factory_make ("datachannelsrc", NULL);
  demux = gst_element_factory_make ("framedemux", NULL);
  if (!d->rx_webrtc || !d->dcsrc || !demux)
    return FALSE;
  g_object_set (d->rx_webrtc, "bundle-policy", 3, NULL);
  g_object_set (d->dcsrc, "webrtcbin", "webrtc", "label", LABEL,
      "create-channel", FALSE, NULL);
  gst_bin_add_many (GST_BIN (d->rx), d->rx_webrtc, d->dcsrc, demux, NULL);
  if (!gst_element_link (d->dcsrc, demux))
    return FALSE;
  g_signal_connect (demux, "pad-added", G_CALLBACK (demux_pad_added), d);
  return TRUE;
}

/* ---------- running ---------- */

static guint64
sink_buffered_amount (Demo * d)
{
  GstStructure *s = NULL;
  guint64 v = 0;

  g_object_get (d->dcsink, "stats", &s, NULL);
  if (s) {
    gst_structure_get_uint64 (s, "buffered-amount", &v);
    gst_structure_free (s);
  }
  return v;
}

/* An error on either bus ends the demo: prints it, returns TRUE. The
 * sender's datachannelsink EOS sets @tx_eos. */
static gboolean
check_buses (Demo * d, gboolean * tx_eos)
{
  GstElement *pipelines[2] = { d->tx, d->rx };
  guint i;

  for (i = 0; i < 2; i++) {
    GstBus *bus = gst_element_get_bus (pipelines[i]);
    GstMessage *msg;
    gboolean failed = FALSE;

    while (!failed && (msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR |
                GST_MESSAGE_ELEMENT))) {
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
        GError *err;
        gchar *dbg;

        gst_message_parse_error (msg, &err, &dbg);
        g_printerr ("ERROR from %s/%s: %s\n  (%s)\n",
            GST_ELEMENT_NAME (pipelines[i]), GST_OBJECT_NAME (msg->src),
            err->message, dbg ? dbg : "");
        g_error_free (err);
        g_free (dbg);
        failed = TRUE;
      } else {
        const GstStructure *s = gst_message_get_structure (msg);
        GstMessage *inner = NULL;

        if (gst_structure_has_name (s, "GstBinForwarded"))
          gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
        if (inner && GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS
            && GST_MESSAGE_SRC (inner) == GST_OBJECT (d->dcsink))
          *tx_eos = TRUE;
        if (inner)
          gst_message_unref (inner);
      }
      gst_message_unref (msg);
    }
    gst_object_unref (bus);
    if (failed)
      return TRUE;
  }
  return FALSE;
}

static void
print_progress (Demo * d, gdouble t, guint64 * last_total, gdouble * last_t)
{
  guint64 total = 0;
  guint c;

  printf ("[%5.1f s]", t);
  for (c = 1; c <= N_CONNS; c++) {
    guint64 sent, received;

    end_read (&d->conns[c].sent, &sent);
    end_read (&d->conns[c].received, &received);
    printf ("  conn %u: %.2f/%.2f MiB", c, sent / 1048576.0,
        received / 1048576.0);
    total += received;
  }
  if (t > *last_t)
    printf ("  |  %.1f MB/s", (total - *last_total) / (t - *last_t) / 1e6);
  printf ("\n");
  fflush (stdout);
  *last_total = total;
  *last_t = t;
}

static gboolean
all_received (Demo * d)
{
  guint c;

  for (c = 1; c <= N_CONNS; c++) {
    guint64 sent, received;

    end_read (&d->conns[c].sent, &sent);
    end_read (&d->conns[c].received, &received);
    if (received < sent)
      return FALSE;
  }
  return TRUE;
}

/* Progress once a second until the sender is done and every sent byte has
 * arrived. Returns an exit code. */
static gint
run (Demo * d)
{
  gint64 start = g_get_monotonic_time ();
  gint64 stop_live = start + d->seconds * G_TIME_SPAN_SECOND;
  /* generous: the bulk transfer alone at a pessimistic 2 MB/s */
  gint64 deadline = stop_live + (DRAIN_WAIT_S + d->bulk_mib / 2) *
      G_TIME_SPAN_SECOND;
  gint64 next_print = start + G_TIME_SPAN_SECOND;
  gboolean live_stopped = FALSE, tx_eos = FALSE;
  gint64 tx_eos_us = 0, last_rx_us;
  guint64 last_total = 0;
  gdouble last_t = 0;
  guint i;

  for (;;) {
    gint64 now = g_get_monotonic_time ();

    if (check_buses (d, &tx_eos))
      return EXIT_ERROR;
    if (!live_stopped && now >= stop_live) {
      printf ("stopping the live sources (EOS) after %u s\n", d->seconds);
      for (i = 0; i < d->n_live; i++)
        gst_element_send_event (d->live_srcs[i], gst_event_new_eos ());
      live_stopped = TRUE;
    }
    if (tx_eos && all_received (d))
      break;
    if (tx_eos && !tx_eos_us)
      tx_eos_us = now;
    g_mutex_lock (&d->lock);
    last_rx_us = MAX (d->last_rx_us, tx_eos_us);
    g_mutex_unlock (&d->lock);
    if (tx_eos && now - last_rx_us > IDLE_WAIT_S * G_TIME_SPAN_SECOND) {
      g_printerr ("TIMEOUT: the sender has finished and nothing arrived for "
          "%d s, yet some bytes sent are missing\n", IDLE_WAIT_S);
      return EXIT_TIMEOUT;
    }
    if (now >= deadline) {
      g_printerr ("TIMEOUT: %s after %.0f s\n", tx_eos ?
          "not everything sent has arrived" : "the sender did not finish",
          (now - start) / 1e6);
      return EXIT_TIMEOUT;
    }
    if (now >= next_print) {
      print_progress (d, (now - start) / 1e6, &last_total, &last_t);
      next_print += G_TIME_SPAN_SECOND;
    }
    /* Woken by every received buffer, at least every 100 ms for the bus. */
    g_mutex_lock (&d->lock);
    g_cond_wait_until (&d->cond, &d->lock, MIN (next_print,
            g_get_monotonic_time () + 100 * G_TIME_SPAN_MILLISECOND));
    g_mutex_unlock (&d->lock);
  }
  print_progress (d, (g_get_monotonic_time () - start) / 1e6, &last_total,
      &last_t);
  return EXIT_OK;
}

static gint
summary (Demo * d, gboolean timed_out)
{
  guint64 total = 0;
  gdouble secs;
  gint rc = EXIT_OK;
  guint c;

  g_mutex_lock (&d->lock);
  secs = (d->last_rx_us - d->first_rx_us) / 1e6;
  g_mutex_unlock (&d->lock);

  printf ("\n%-4s %-18s %10s %10s %8s %7s  %s\n", "conn", "stream",
      "sent B", "recv B", "buffers", "MB/s", "sha256 (sent = received?)");
  for (c = 1; c <= N_CONNS; c++) {
    Conn *conn = &d->conns[c];
    const gchar *in = end_finish (&conn->sent);
    const gchar *out = end_finish (&conn->received);
    gboolean ok = conn->sent.bytes == conn->received.bytes
        && strcmp (in, out) == 0;
    /* this connection's own rate: its first to last byte received */
    gdouble span = (conn->received.last_us - conn->received.first_us) / 1e6;

    printf ("%-4u %-18s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
        " %8" G_GUINT64_FORMAT " %7.3f  %.16s... %s\n", c, conn->name,
        conn->sent.bytes, conn->received.bytes, conn->sent.buffers,
        span > 0 ? conn->received.bytes / span / 1e6 : 0.0, in,
        ok ? "MATCH" : "MISMATCH");
    if (!ok) {
      printf ("       received sha256 %s\n", out);
      rc = EXIT_MISMATCH;
    }
    if (conn->sent.bytes == 0 && (c != CONN_BULK || d->bulk_total > 0)) {
      printf ("       nothing was sent on this connection\n");
      rc = EXIT_MISMATCH;
    }
    total += conn->received.bytes;
  }
  if (secs > 0)
    printf ("\n%" G_GUINT64_FORMAT " bytes in %.2f s (first to last byte "
        "received, all connections): %.1f MB/s\n", total, secs,
        total / secs / 1e6);
  printf ("%s\n", timed_out ? "RESULT: TIMEOUT (so far as above)" :
      rc == EXIT_OK ? "RESULT: all connections byte-exact" :
      "RESULT: MISMATCH");
  return rc;
}

/* Sending side first, once the channel has drained (webrtcbin 1.22 can
 * hang going down while its SCTP encoder still holds data). */
static gboolean
teardown (Demo * d)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  gboolean ok = TRUE;

  while (sink_buffered_amount (d) > 0 && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  ok &= wrtc_set_state_bounded (d->tx, GST_STATE_NULL, STATE_WAIT_S);
  ok &= wrtc_set_state_bounded (d->rx, GST_STATE_NULL, STATE_WAIT_S);
  return ok;
}

static gboolean
ensure_plugins (void)
{
  if (!have ("framemux") || !have ("datachannelsink")) {
    /* Run from the build tree without GST_PLUGIN_PATH. */
    GstRegistry *reg = gst_registry_get ();

    gst_registry_scan_path (reg, WRTCFRAME_BUILD_DIR "/gst/wrtcframe");
    gst_registry_scan_path (reg, WRTCFRAME_BUILD_DIR "/ext");
  }
  return have ("framemux") && have ("datachannelsink");
}

int
main (int argc, char **argv)
{
  Demo d = { 0, };
  gint seconds = 5, bulk_mib = 32;
  GOptionEntry entries[] = {
    {"seconds", 's', 0, G_OPTION_ARG_INT, &seconds,
        "Run the live video and audio streams this long (default 5)", "S"},
    {"bulk-mib", 'b', 0, G_OPTION_ARG_INT, &bulk_mib,
        "MiB of deterministic bytes on the bulk connection (default 32)",
        "N"},
    {NULL}
  };
  GOptionContext *ctx;
  GError *err = NULL;
  WrtcLoopback *lb;
  gchar *sig_error;
  gint rc;
  guint c, i;

  ctx = g_option_context_new ("- tunnel live streams and a bulk transfer "
      "over one WebRTC data channel between two local peers");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return EXIT_ERROR;
  }
  g_option_context_free (ctx);
  if (seconds < 1 || seconds > 3600 || bulk_mib < 0 || bulk_mib > 4096) {
    g_printerr ("--seconds must be 1..3600, --bulk-mib 0..4096\n");
    return EXIT_ERROR;
  }
  d.seconds = seconds;
  d.bulk_mib = bulk_mib;
  d.bulk_total = (guint64) bulk_mib * 1024 * 1024;
  g_mutex_init (&d.lock);
  g_cond_init (&d.cond);
  for (c = 1; c <= N_CONNS; c++) {
    end_init (&d.conns[c].sent);
    end_init (&d.conns[c].received);
  }

  if (!ensure_plugins () || !build (&d)) {
    g_printerr ("could not build the pipelines (see above)\n");
    return EXIT_ERROR;
  }
  printf ("wrtcframe-demo: two webrtcbin peers on 127.0.0.1, one data "
      "channel \"%s\"\n", LABEL);
  for (c = 1; c <= N_CONNS; c++)
    printf ("  connection %u: %s\n", c, d.conns[c].name);
  printf ("  live streams for %u s, bulk transfer of %u MiB\n\n", d.seconds,
      d.bulk_mib);
  fflush (stdout);

  lb = wrtc_loopback_new (d.tx_webrtc, d.rx_webrtc);
  /* The answerer first: it must listen for the channel before the
   * offerer announces it. */
  if (!wrtc_set_state_bounded (d.rx, GST_STATE_PLAYING, STATE_WAIT_S)
      || !wrtc_set_state_bounded (d.tx, GST_STATE_PLAYING, STATE_WAIT_S))
    rc = EXIT_TIMEOUT;
  else
    rc = run (&d);

  sig_error = wrtc_loopback_dup_error (lb);
  if (sig_error) {
    g_printerr ("signalling: %s\n", sig_error);
    g_free (sig_error);
    if (rc == EXIT_OK)
      rc = EXIT_ERROR;
  }
  if (rc == EXIT_OK || rc == EXIT_TIMEOUT) {
    /* after a timeout too: which connection lacks what */
    gint summary_rc = summary (&d, rc == EXIT_TIMEOUT);

    if (rc == EXIT_OK)
      rc = summary_rc;
  }
  if (!teardown (&d)) {
    /* A state change hung in webrtcbin: leave without finalizing. */
    g_printerr ("teardown hung\n");
    fflush (stdout);
    _exit (rc == EXIT_OK ? EXIT_TIMEOUT : rc);
  }
  wrtc_loopback_free (lb);
  for (i = 0; i < d.n_live; i++)
    gst_object_unref (d.live_srcs[i]);
  gst_object_unref (d.tx);
  gst_object_unref (d.rx);
  for (c = 1; c <= N_CONNS; c++) {
    end_clear (&d.conns[c].sent);
    end_clear (&d.conns[c].received);
  }
  g_mutex_clear (&d.lock);
  g_cond_clear (&d.cond);
  return rc;
}

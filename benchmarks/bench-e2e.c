/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 *
 * End-to-end benchmark over real webrtcbin: two peers in this process,
 * connected on 127.0.0.1 (common/webrtc-loopback), each in its own pipeline.
 *
 *   ours: appsrc ! framemux ! datachannelsink -> webrtcbin A -> webrtcbin B
 *         -> datachannelsrc ! framedemux ! fakesink
 *   raw:  the data channel itself, one message per frame, sent from a loop
 *         that pauses while buffered-amount is above the high-water mark and
 *         resumes on on-buffered-amount-low (no polling, no sleeps)
 *
 * Both use the same high/low marks. Payload throughput is counted at the
 * receiver over a fixed window after a warm-up; runs of the two paths are
 * interleaved and repeated and the median is kept, since the machines this
 * runs on are shared and noisy. Every wait is bounded, and a watchdog ends
 * the process with status 1 if a run hangs (webrtcbin 1.22 has shutdown
 * bugs that no timeout inside it can rescue).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/webrtc/webrtc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench.h"
#include "webrtc-loopback.h"

#define LABEL "bench"
#define HIGH_WATER (1024 * 1024)        /* datachannelsink's defaults */
#define LOW_WATER (256 * 1024)
#define WAIT_S 20               /* any single wait */
#define RUN_LIMIT_S 120         /* a whole run, enforced by the watchdog */

typedef enum
{
  PATH_RAW,
  PATH_OURS,
  N_PATHS
} PathKind;

static const gchar *path_names[N_PATHS] = { "raw", "ours" };

typedef struct
{
  gdouble warmup_s;
  gdouble window_s;
} Timing;

typedef struct
{
  gdouble frames_per_s;
  gdouble mb_per_s;
  gdouble cpu_ms_per_mb;        /* both peers: all threads of the process */
  gchar *detail;                /* ours: how the frames went out */
} Result;

/* Shared by both paths: what the receiver counted, what the sender sent. */
typedef struct
{
  const guint8 *data;
  guint size;

  GMutex lock;
  GCond cond;
  gint stop;                    /* atomic: the sender ends */
  gint full;                    /* atomic: appsrc's queue is full */
  guint64 rx_bytes;             /* atomic */
  guint64 tx_bytes;             /* atomic */

  /* raw path: the sending channel's state, under lock */
  GstWebRTCDataChannel *channel;
  gboolean open;
  gboolean closed;
  guint64 low_count;
  gchar *error;
} Run;

static void
run_fail (Run * run, const gchar * what)
{
  g_mutex_lock (&run->lock);
  if (!run->error)
    run->error = g_strdup (what);
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
}

static gboolean
run_failed (Run * run)
{
  gboolean failed;

  g_mutex_lock (&run->lock);
  failed = run->error != NULL;
  g_mutex_unlock (&run->lock);
  return failed;
}

/* ---------- watchdog: a hung run ends the process, loudly ---------- */

static void
watchdog_fired (int sig)
{
  static const char msg[] = "wrtcframe-bench e2e: a run did not finish "
      "within its time limit (hung): giving up\n";

  (void) !write (2, msg, sizeof (msg) - 1);
  _exit (1);
}

static void
watchdog_arm (guint seconds)
{
  signal (SIGALRM, watchdog_fired);
  alarm (seconds);
}

/* ---------- peers ---------- */

static GstElement *
peer_new (const gchar * name, const gchar * launch)
{
  GError *err = NULL;
  GstElement *pipeline, *webrtc;

  if (launch == NULL) {
    /* Just a webrtcbin: parse_launch would return the element itself. */
    pipeline = gst_pipeline_new (name);
    webrtc = gst_element_factory_make ("webrtcbin", "webrtc");
    g_object_set (webrtc, "bundle-policy", 3 /* max-bundle */ , NULL);
    gst_bin_add (GST_BIN (pipeline), webrtc);
  } else {
    pipeline = gst_parse_launch_full (launch, NULL,
        GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (pipeline == NULL) {
      g_printerr ("cannot build '%s': %s\n", launch, err->message);
      g_clear_error (&err);
      return NULL;
    }
    gst_object_set_name (GST_OBJECT (pipeline), name);
  }
  /* webrtcbin's own sinks never see EOS, so the pipeline never posts it:
   * the sink's EOS is taken from the forwarded messages. */
  g_object_set (pipeline, "message-forward", TRUE, NULL);
  return pipeline;
}

static GstElement *
peer_webrtc (GstElement * pipeline)
{
  return gst_bin_get_by_name (GST_BIN (pipeline), "webrtc");
}

static void
fail_on_error (Run * run, GstElement * pipeline, GstMessage * msg)
{
  GError *err = NULL;
  gchar *what;

  gst_message_parse_error (msg, &err, NULL);
  what = g_strdup_printf ("%s: error from %s: %s",
      GST_ELEMENT_NAME (pipeline), GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
      err->message);
  run_fail (run, what);
  g_free (what);
  g_error_free (err);
}

/* An error on either bus fails the run. */
static gboolean
check_bus (Run * run, GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

  gst_object_unref (bus);
  if (msg == NULL)
    return TRUE;
  fail_on_error (run, pipeline, msg);
  gst_message_unref (msg);
  return FALSE;
}

/* Waits (bounded) until the receiver has at least @bytes, checking both
 * buses. This is the controlling thread, not the data path: it looks every
 * few milliseconds. */
static gboolean
wait_received (Run * run, GstElement * a, GstElement * b, guint64 bytes,
    guint timeout_s, const gchar * what)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;

  while (__atomic_load_n (&run->rx_bytes, __ATOMIC_RELAXED) < bytes) {
    if (run_failed (run) || !check_bus (run, a) || !check_bus (run, b))
      return FALSE;
    if (g_get_monotonic_time () > deadline) {
      gchar *msg = g_strdup_printf ("%s: %" G_GUINT64_FORMAT " of %"
          G_GUINT64_FORMAT " bytes within %u s", what,
          __atomic_load_n (&run->rx_bytes, __ATOMIC_RELAXED), bytes,
          timeout_s);

      run_fail (run, msg);
      g_free (msg);
      return FALSE;
    }
    g_usleep (5 * 1000);
  }
  return TRUE;
}

static gdouble
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Warm-up, then the measuring window, both at the receiver. */
static gboolean
measure (Run * run, GstElement * a, GstElement * b, const Timing * t,
    Result * res)
{
  guint64 b0, b1;
  gint64 t0, t1;
  gdouble cpu0, cpu1;

  if (!wait_received (run, a, b, 1, WAIT_S, "first data"))
    return FALSE;
  g_usleep (t->warmup_s * G_USEC_PER_SEC);
  t0 = g_get_monotonic_time ();
  cpu0 = cpu_seconds ();
  b0 = __atomic_load_n (&run->rx_bytes, __ATOMIC_RELAXED);
  g_usleep (t->window_s * G_USEC_PER_SEC);
  t1 = g_get_monotonic_time ();
  cpu1 = cpu_seconds ();
  b1 = __atomic_load_n (&run->rx_bytes, __ATOMIC_RELAXED);
  if (run_failed (run) || !check_bus (run, a) || !check_bus (run, b))
    return FALSE;
  if (b1 == b0) {
    /* webrtcbin's SCTP stalls for a second or more now and then (a lost
     * datagram on the loopback waits for its retransmission timeout): a
     * real figure, kept; only a channel that never moves again fails. */
    if (!wait_received (run, a, b, b1 + 1, WAIT_S, "stalled channel"))
      return FALSE;
    res->detail = g_strdup ("(no data at all during the window: "
        "SCTP stall)");
  }
  res->mb_per_s = (b1 - b0) / ((t1 - t0) / 1e6) / 1e6;
  res->frames_per_s = (b1 - b0) / (gdouble) run->size / ((t1 - t0) / 1e6);
  res->cpu_ms_per_mb = b1 > b0 ? (cpu1 - cpu0) * 1e3 / ((b1 - b0) / 1e6) : 0;
  return TRUE;
}

static gboolean
stop_peer (Run * run, GstElement * pipeline)
{
  if (wrtc_set_state_bounded (pipeline, GST_STATE_NULL, WAIT_S))
    return TRUE;
  run_fail (run, "a pipeline did not reach NULL");
  return FALSE;
}

/* ---------- ours: appsrc ! framemux ! datachannelsink ---------- */

static void
ours_need_data (GstAppSrc * appsrc, guint length, gpointer user_data)
{
  Run *run = user_data;

  if (g_atomic_int_get (&run->stop)) {
    gst_app_src_end_of_stream (appsrc);
    return;
  }
  /* Fill appsrc's queue up to its bound: the same bytes wrapped in a fresh
   * buffer each time, which costs a source nothing per byte. */
  g_atomic_int_set (&run->full, FALSE);
  while (!g_atomic_int_get (&run->full) && !g_atomic_int_get (&run->stop)) {
    GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        (gpointer) run->data, run->size, 0, run->size, NULL, NULL);

    if (gst_app_src_push_buffer (appsrc, buf) != GST_FLOW_OK)
      return;
    __atomic_fetch_add (&run->tx_bytes, run->size, __ATOMIC_RELAXED);
  }
}

static void
ours_enough_data (GstAppSrc * appsrc, gpointer user_data)
{
  Run *run = user_data;

  g_atomic_int_set (&run->full, TRUE);
}

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Run *run = user_data;
  gsize size = 0;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    size = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    size = gst_buffer_list_calculate_size (GST_PAD_PROBE_INFO_BUFFER_LIST
        (info));
  __atomic_fetch_add (&run->rx_bytes, size, __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

/* The sink's EOS, forwarded by the pipeline: everything sent has left the
 * channel (buffered-amount 0). */
static gboolean
wait_sink_eos (Run * run, GstElement * pipeline, GstElement * sink)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  gboolean ok = FALSE;

  while (!ok) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *msg, *inner = NULL;
    const GstStructure *s;

    if (left <= 0) {
      run_fail (run, "datachannelsink did not drain and post EOS in time");
      break;
    }
    msg = gst_bus_timed_pop_filtered (bus, left * GST_USECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    if (msg == NULL)
      continue;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      fail_on_error (run, pipeline, msg);
      gst_message_unref (msg);
      break;
    }
    s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "GstBinForwarded"))
      gst_structure_get (s, "message", GST_TYPE_MESSAGE, &inner, NULL);
    if (inner && GST_MESSAGE_TYPE (inner) == GST_MESSAGE_EOS
        && GST_MESSAGE_SRC (inner) == GST_OBJECT (sink))
      ok = TRUE;
    if (inner)
      gst_message_unref (inner);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return ok;
}

static guint64
stat (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;

  gst_structure_get_uint64 (s, field, &v);
  return v;
}

/* Frames per message and how often/long the sink waited for the channel:
 * shows whether framemux coalesced and whether the channel paced us. */
static gchar *
ours_detail (GstElement * pipeline, GstElement * sink)
{
  GstElement *mux = gst_bin_get_by_name (GST_BIN (pipeline), "m");
  GstStructure *ms = NULL, *ss = NULL;
  gchar *detail;

  g_object_get (mux, "stats", &ms, NULL);
  g_object_get (sink, "stats", &ss, NULL);
  detail = g_strdup_printf ("%.1f frames/msg, sink blocked %" G_GUINT64_FORMAT
      "x %.2f s", stat (ms, "frames") / (gdouble) MAX (1, stat (ms,
              "messages")), stat (ss, "times-blocked"),
      stat (ss, "time-blocked") / 1e9);
  gst_structure_free (ms);
  gst_structure_free (ss);
  gst_object_unref (mux);
  return detail;
}

static gboolean
run_ours (Run * run, const Timing * t, Result * res)
{
  gchar *launch;
  GstElement *a, *b, *wa, *wb, *appsrc, *sink, *out;
  GstAppSrcCallbacks cb = { ours_need_data, ours_enough_data, NULL };
  GstCaps *caps;
  GstPad *pad;
  WrtcLoopback *lb;
  gboolean ok = FALSE;

  launch = g_strdup_printf ("webrtcbin name=webrtc bundle-policy=max-bundle "
      "appsrc name=src format=bytes max-bytes=262144 ! m.sink_1 "
      "framemux name=m ! datachannelsink name=sink webrtcbin=webrtc "
      "label=" LABEL " create-channel=true close-on-eos=false "
      "buffered-amount-high=%u buffered-amount-low=%u", HIGH_WATER,
      LOW_WATER);
  a = peer_new ("ours-sender", launch);
  g_free (launch);
  b = peer_new ("ours-receiver", "webrtcbin name=webrtc "
      "bundle-policy=max-bundle datachannelsrc webrtcbin=webrtc label="
      LABEL " ! framedemux name=d  d.src_1 ! fakesink name=out sync=false "
      "async=false");
  if (!a || !b) {
    g_clear_object (&a);
    g_clear_object (&b);
    return FALSE;
  }

  appsrc = gst_bin_get_by_name (GST_BIN (a), "src");
  sink = gst_bin_get_by_name (GST_BIN (a), "sink");
  caps = gst_caps_new_empty_simple ("application/octet-stream");
  g_object_set (appsrc, "caps", caps, NULL);
  gst_caps_unref (caps);
  gst_app_src_set_callbacks (GST_APP_SRC (appsrc), &cb, run, NULL);
  out = gst_bin_get_by_name (GST_BIN (b), "out");
  pad = gst_element_get_static_pad (out, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, count_probe, run, NULL);
  gst_object_unref (pad);
  gst_object_unref (out);

  wa = peer_webrtc (a);
  wb = peer_webrtc (b);
  lb = wrtc_loopback_new (wa, wb);
  /* The answerer first: it listens for the channel before it is offered. */
  if (!wrtc_set_state_bounded (b, GST_STATE_PLAYING, WAIT_S) ||
      !wrtc_set_state_bounded (a, GST_STATE_PLAYING, WAIT_S)) {
    run_fail (run, "a pipeline did not reach PLAYING");
    goto teardown;
  }
  if (!measure (run, a, b, t, res))
    goto teardown;

  /* Stop: appsrc sends EOS after what it holds, the sink drains the
   * channel to 0 before its EOS; then every byte must have arrived. */
  g_atomic_int_set (&run->stop, TRUE);
  gst_app_src_end_of_stream (GST_APP_SRC (appsrc));
  if (!wait_sink_eos (run, a, sink))
    goto teardown;
  if (!wait_received (run, a, b, __atomic_load_n (&run->tx_bytes,
              __ATOMIC_RELAXED), WAIT_S, "after EOS, receiver"))
    goto teardown;
  if (__atomic_load_n (&run->rx_bytes, __ATOMIC_RELAXED) !=
      __atomic_load_n (&run->tx_bytes, __ATOMIC_RELAXED)) {
    run_fail (run, "received more bytes than were sent");
    goto teardown;
  }
  {
    gchar *detail = ours_detail (a, sink);

    if (res->detail) {
      gchar *both = g_strconcat (detail, " ", res->detail, NULL);

      g_free (detail);
      detail = both;
    }
    g_free (res->detail);
    res->detail = detail;
  }
  ok = TRUE;

teardown:
  {
    gchar *error = wrtc_loopback_dup_error (lb);

    if (error)
      run_fail (run, error);
    g_free (error);
  }
  g_atomic_int_set (&run->stop, TRUE);
  /* The sender first, so nothing is left in webrtcbin A's SCTP encoder
   * once data has stopped flowing (the 1.22 shutdown hang). */
  ok = stop_peer (run, a) && ok;
  ok = stop_peer (run, b) && ok;
  wrtc_loopback_free (lb);
  gst_object_unref (wa);
  gst_object_unref (wb);
  gst_object_unref (appsrc);
  gst_object_unref (sink);
  gst_object_unref (a);
  gst_object_unref (b);
  return ok && !run_failed (run);
}

/* ---------- raw: one message per frame, paced by the channel ---------- */

/* These run on webrtcbin's pc thread: they only count and signal. */
static void
raw_on_message_data (GstWebRTCDataChannel * channel, GBytes * data,
    Run * run)
{
  __atomic_fetch_add (&run->rx_bytes, data ? g_bytes_get_size (data) : 0,
      __ATOMIC_RELAXED);
}

static void
raw_on_data_channel (GstElement * webrtc, GstWebRTCDataChannel * channel,
    Run * run)
{
  g_signal_connect (channel, "on-message-data",
      G_CALLBACK (raw_on_message_data), run);
}

static void
raw_on_open (GstWebRTCDataChannel * channel, Run * run)
{
  g_mutex_lock (&run->lock);
  run->open = TRUE;
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
}

static void
raw_on_close (GstWebRTCDataChannel * channel, Run * run)
{
  g_mutex_lock (&run->lock);
  run->closed = TRUE;
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
}

static void
raw_on_error (GstWebRTCDataChannel * channel, GError * error, Run * run)
{
  gchar *what = g_strdup_printf ("raw channel error: %s",
      error ? error->message : "?");

  run_fail (run, what);
  g_free (what);
}

static void
raw_on_low (GstWebRTCDataChannel * channel, Run * run)
{
  g_mutex_lock (&run->lock);
  run->low_count++;
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
}

static guint64
raw_buffered (Run * run)
{
  guint64 amount;

  g_object_get (run->channel, "buffered-amount", &amount, NULL);
  return amount;
}

/* Blocks while buffered-amount > @limit, woken by on-buffered-amount-low
 * (the count is read before the amount so a signal in between is not
 * lost). FALSE on stop, close, error or when no signal comes in WAIT_S. */
static gboolean
raw_wait_buffered_at_most (Run * run, guint64 limit, gboolean stoppable)
{
  for (;;) {
    gint64 deadline;
    guint64 count;
    gboolean ok = TRUE;

    g_mutex_lock (&run->lock);
    count = run->low_count;
    g_mutex_unlock (&run->lock);
    if (raw_buffered (run) <= limit)
      return TRUE;

    deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
    g_mutex_lock (&run->lock);
    while (run->low_count == count && !run->closed && !run->error &&
        !(stoppable && g_atomic_int_get (&run->stop)) && ok)
      ok = g_cond_wait_until (&run->cond, &run->lock, deadline);
    if (run->closed || run->error || (stoppable
            && g_atomic_int_get (&run->stop)))
      ok = FALSE;
    g_mutex_unlock (&run->lock);
    if (!ok) {
      if (!run_failed (run) && !(stoppable && g_atomic_int_get (&run->stop)))
        run_fail (run, "raw channel: buffered-amount did not go down");
      return FALSE;
    }
  }
}

static gpointer
raw_sender (gpointer user_data)
{
  Run *run = user_data;
  GError *error = NULL;

  while (!g_atomic_int_get (&run->stop)) {
    GBytes *msg;

    if (!raw_wait_buffered_at_most (run, HIGH_WATER, TRUE))
      break;
    msg = g_bytes_new_static (run->data, run->size);
    if (!gst_webrtc_data_channel_send_data_full (run->channel, msg, &error)) {
      gchar *what = g_strdup_printf ("raw send failed: %s", error->message);

      run_fail (run, what);
      g_free (what);
      g_clear_error (&error);
      g_bytes_unref (msg);
      break;
    }
    g_bytes_unref (msg);
    __atomic_fetch_add (&run->tx_bytes, run->size, __ATOMIC_RELAXED);
  }
  return NULL;
}

static gboolean
raw_wait_open (Run * run)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_TIME_SPAN_SECOND;
  gboolean open;

  g_mutex_lock (&run->lock);
  while (!run->open && !run->error && !run->closed)
    if (!g_cond_wait_until (&run->cond, &run->lock, deadline))
      break;
  open = run->open && !run->error && !run->closed;
  g_mutex_unlock (&run->lock);
  if (!open)
    run_fail (run, "raw channel did not open");
  return open;
}

static gboolean
run_raw (Run * run, const Timing * t, Result * res)
{
  GstElement *a, *b, *wa, *wb;
  GThread *sender = NULL;
  WrtcLoopback *lb;
  gboolean ok = FALSE;

  a = peer_new ("raw-sender", NULL);
  b = peer_new ("raw-receiver", NULL);
  if (!a || !b) {
    g_clear_object (&a);
    g_clear_object (&b);
    return FALSE;
  }
  wa = peer_webrtc (a);
  wb = peer_webrtc (b);
  g_signal_connect (wb, "on-data-channel", G_CALLBACK (raw_on_data_channel),
      run);
  lb = wrtc_loopback_new (wa, wb);

  if (!wrtc_set_state_bounded (b, GST_STATE_PLAYING, WAIT_S) ||
      !wrtc_set_state_bounded (a, GST_STATE_READY, WAIT_S)) {
    run_fail (run, "a pipeline did not start");
    goto teardown;
  }
  g_signal_emit_by_name (wa, "create-data-channel", LABEL, NULL,
      &run->channel);
  if (run->channel == NULL) {
    run_fail (run, "create-data-channel failed");
    goto teardown;
  }
  g_signal_connect (run->channel, "on-open", G_CALLBACK (raw_on_open), run);
  g_signal_connect (run->channel, "on-close", G_CALLBACK (raw_on_close), run);
  g_signal_connect (run->channel, "on-error", G_CALLBACK (raw_on_error), run);
  g_signal_connect (run->channel, "on-buffered-amount-low",
      G_CALLBACK (raw_on_low), run);
  g_object_set (run->channel, "buffered-amount-low-threshold",
      (guint64) LOW_WATER, NULL);
  if (!wrtc_set_state_bounded (a, GST_STATE_PLAYING, WAIT_S)) {
    run_fail (run, "the sender did not reach PLAYING");
    goto teardown;
  }
  if (!raw_wait_open (run))
    goto teardown;

  sender = g_thread_new ("raw-sender", raw_sender, run);
  if (!measure (run, a, b, t, res))
    goto teardown;

  /* Stop, let the channel drain to 0 (threshold 0 makes the signal fire
   * exactly then), then every byte must have arrived. */
  g_atomic_int_set (&run->stop, TRUE);
  g_mutex_lock (&run->lock);
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
  g_thread_join (sender);
  sender = NULL;
  g_object_set (run->channel, "buffered-amount-low-threshold", (guint64) 0,
      NULL);
  if (run_failed (run) || !raw_wait_buffered_at_most (run, 0, FALSE))
    goto teardown;
  if (!wait_received (run, a, b, __atomic_load_n (&run->tx_bytes,
              __ATOMIC_RELAXED), WAIT_S, "after drain, receiver"))
    goto teardown;
  ok = TRUE;

teardown:
  {
    gchar *error = wrtc_loopback_dup_error (lb);

    if (error)
      run_fail (run, error);
    g_free (error);
  }
  g_atomic_int_set (&run->stop, TRUE);
  if (sender) {
    g_mutex_lock (&run->lock);
    g_cond_broadcast (&run->cond);
    g_mutex_unlock (&run->lock);
    g_thread_join (sender);
  }
  ok = stop_peer (run, a) && ok;
  ok = stop_peer (run, b) && ok;
  if (run->channel) {
    g_signal_handlers_disconnect_by_data (run->channel, run);
    g_clear_object (&run->channel);
  }
  g_signal_handlers_disconnect_by_data (wb, run);
  wrtc_loopback_free (lb);
  gst_object_unref (wa);
  gst_object_unref (wb);
  gst_object_unref (a);
  gst_object_unref (b);
  return ok && !run_failed (run);
}

/* ---------- driver ---------- */

static gboolean
run_once (PathKind kind, const guint8 * data, guint size, const Timing * t,
    Result * res)
{
  Run run;
  gboolean ok;

  memset (&run, 0, sizeof (run));
  g_mutex_init (&run.lock);
  g_cond_init (&run.cond);
  run.data = data;
  run.size = size;

  watchdog_arm (RUN_LIMIT_S);
  ok = kind == PATH_RAW ? run_raw (&run, t, res) : run_ours (&run, t, res);
  alarm (0);
  if (!ok)
    g_printerr ("%s, %u-byte frames: run failed: %s\n", path_names[kind],
        size, run.error ? run.error : "unknown reason");
  g_free (run.error);
  g_mutex_clear (&run.lock);
  g_cond_clear (&run.cond);
  return ok;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median (const gdouble * v, guint n)
{
  gdouble s[16];

  memcpy (s, v, n * sizeof (gdouble));
  qsort (s, n, sizeof (gdouble), compare_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static glong
peak_rss_kib (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static gboolean
elements_available (void)
{
  static const gchar *dirs[] = { WRTCFRAME_PLUGIN_BUILD_DIR,
    WRTCFRAME_WEBRTC_PLUGIN_BUILD_DIR
  };
  static const gchar *needed[] = { "framemux", "framedemux",
    "datachannelsink", "datachannelsrc", "webrtcbin", "appsrc"
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (needed); i++) {
    GstElementFactory *f = gst_element_factory_find (needed[i]);

    if (f == NULL && i < 4) {
      /* Run from the build tree without installing: load the fresh
       * plugins. */
      gst_registry_scan_path (gst_registry_get (), dirs[i / 2]);
      f = gst_element_factory_find (needed[i]);
    }
    if (f == NULL) {
      g_printerr ("element %s not found (the project's plugins are looked "
          "for in %s and %s too)\n", needed[i], dirs[0], dirs[1]);
      return FALSE;
    }
    gst_object_unref (f);
  }
  return TRUE;
}

int
bench_e2e_run (int argc, char **argv)
{
  static const guint all_sizes[] = { 64, 1500, 16384, 65507 };
  guint sizes[G_N_ELEMENTS (all_sizes)], n_sizes = 0;
  Timing t = { 1.0, 3.0 };
  guint reps = 3, s, r, k, i;
  gdouble fps[N_PATHS][G_N_ELEMENTS (all_sizes)];
  gdouble mbs[N_PATHS][G_N_ELEMENTS (all_sizes)];
  gdouble cpus[N_PATHS][G_N_ELEMENTS (all_sizes)];
  guint8 *data;
  gboolean quick = FALSE, all_met = TRUE;

  for (i = 1; i < (guint) argc; i++) {
    guint only = 0;

    if (g_strcmp0 (argv[i], "--quick") == 0)
      quick = TRUE;
    else if (sscanf (argv[i], "--size=%u", &only) == 1 && n_sizes <
        G_N_ELEMENTS (sizes))
      sizes[n_sizes++] = only;
    else {
      g_printerr ("usage: wrtcframe-bench e2e [--quick] [--size=N]...\n");
      return 2;
    }
  }
  for (i = 0; n_sizes == 0 && i < G_N_ELEMENTS (all_sizes); i++)
    sizes[i] = all_sizes[i];
  if (n_sizes == 0)
    n_sizes = G_N_ELEMENTS (all_sizes);
  if (quick) {
    reps = 1;
    t.warmup_s = 0.3;
    t.window_s = 0.7;
  }

  gst_init (NULL, NULL);
  if (!elements_available ())
    return 1;

  data = g_malloc (65536);
  for (s = 0; s < 65536; s++)
    data[s] = g_random_int ();

  g_print ("\nEnd to end over webrtcbin on 127.0.0.1: appsrc ! framemux ! "
      "datachannelsink -> datachannelsrc ! framedemux (ours)\nvs the raw "
      "data channel, one message per frame (raw); both paced by "
      "buffered-amount %u/%u; %.1f s warm-up, %.1f s window,\nmedian of %u "
      "interleaved runs\n", HIGH_WATER, LOW_WATER, t.warmup_s, t.window_s,
      reps);

  for (s = 0; s < n_sizes; s++) {
    gdouble f[N_PATHS][16], m[N_PATHS][16], c[N_PATHS][16];

    for (r = 0; r < reps; r++) {
      for (k = 0; k < N_PATHS; k++) {
        /* alternate which path goes first */
        PathKind kind = (k + r) % N_PATHS;
        Result res = { 0, };

        if (!run_once (kind, data, sizes[s], &t, &res)) {
          g_free (data);
          return 1;
        }
        f[kind][r] = res.frames_per_s;
        m[kind][r] = res.mb_per_s;
        c[kind][r] = res.cpu_ms_per_mb;
        g_print ("  run %u %-4s %6u B: %10.0f frames/s %8.2f MB/s %7.1f "
            "CPU ms/MB  %s\n", r + 1, path_names[kind], sizes[s],
            res.frames_per_s, res.mb_per_s, res.cpu_ms_per_mb,
            res.detail ? res.detail : "");
        g_free (res.detail);
      }
    }
    for (k = 0; k < N_PATHS; k++) {
      fps[k][s] = median (f[k], reps);
      mbs[k][s] = median (m[k], reps);
      cpus[k][s] = median (c[k], reps);
    }
  }

  g_print ("\n%6s %14s %10s %14s %10s %8s %10s %10s  %s\n", "size",
      "ours frames/s", "ours MB/s", "raw msgs/s", "raw MB/s", "ratio",
      "ours CPU", "raw CPU", "target");
  for (s = 0; s < n_sizes; s++) {
    gdouble ratio = fps[PATH_OURS][s] / fps[PATH_RAW][s];
    const gchar *target = "";
    gboolean met = TRUE;

    if (sizes[s] == 64) {
      met = ratio >= 5.0;
      target = met ? ">= 5x msgs/s: met" : ">= 5x msgs/s: MISSED";
    } else if (sizes[s] == 65507) {
      met = ratio >= 0.9;
      target = met ? ">= 0.9x MB/s: met" : ">= 0.9x MB/s: MISSED";
    }
    all_met = all_met && met;
    g_print ("%6u %14.0f %10.2f %14.0f %10.2f %7.2fx %10.1f %10.1f  %s\n",
        sizes[s], fps[PATH_OURS][s], mbs[PATH_OURS][s], fps[PATH_RAW][s],
        mbs[PATH_RAW][s], ratio, cpus[PATH_OURS][s], cpus[PATH_RAW][s],
        target);
  }
  g_print ("(ratio = ours / raw; same frame size, so frames/s and MB/s "
      "ratios are equal; CPU: ms of CPU time, all threads of both peers, per "
      "MB received)\n");
  g_print ("peak RSS of the whole run: %.1f MiB\n", peak_rss_kib () / 1024.0);
  g_print ("targets: %s\n", all_met ? "all met" : "some MISSED");
  g_free (data);
  return 0;
}

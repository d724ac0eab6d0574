/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/**
 * SECTION:element-framedemux
 * @title: framedemux
 * @see_also: framemux
 *
 * framedemux splits the multiplexed tunnel stream made by framemux (or by
 * the reference WebRTC tunnelling library, see wire-format.md) back into
 * one byte stream per connection.
 *
 * The input is a plain byte stream (caps `application/x-wrtcframe`) chunked
 * in any way: a buffer may hold many frames and a frame may span many
 * buffers. A frame that lies inside one input buffer leaves as a zero-copy
 * sub-buffer of that input; only a frame that spans buffers is joined (one
 * copy). Bytes waiting for more input are always held as copies, never as
 * references to input buffers, so the memory held stays the size of those
 * bytes however finely the input is cut.
 *
 * ## Pads
 *
 * `sink` (always): `application/x-wrtcframe`.
 *
 * `src_%u` (sometimes): one pad per data connection, %u being the
 * connection number. A pad appears on the peer's OpenConnection, or on the
 * first frame of a connection the peer did not announce, with a stream-start
 * event (group id from upstream when it has one, else
 * one new group id shared by all pads), a caps event (caps the peer sent
 * with OpenConnection, else the #GstFrameDemux:caps property, default
 * `application/octet-stream`) and a TIME segment starting at 0. Connections can appear at any time, so no-more-pads is never
 * emitted. Output buffers carry no PTS/DTS/duration (connections are untimed
 * byte streams); their offset and offset-end are byte positions within the
 * connection, and each carries a #GstReferenceTimestampMeta with caps
 * `timestamp/x-unix` holding the sender's wall clock. Frames with an empty
 * payload are counted but not pushed.
 *
 * Connection 0 carries control messages, acted upon where they sit in the
 * stream (after the data before them), never output, never creating a
 * `src_0` pad: OpenConnection creates the connection's pad (with the caps
 * framemux's send-caps put in it, if any) and emits
 * #GstFrameDemux::connection-opened; SendEOF pushes EOS on the pad;
 * CloseConnection pushes EOS (if SendEOF did not, first the custom
 * downstream event `framedemux-connection-closed` with `conn` and
 * `reason`, so downstream tells a reset from an end), removes the pad and
 * emits #GstFrameDemux::connection-closed. Data for a connection after its
 * SendEOF or CloseConnection is dropped and counted (`frames-after-close`).
 * Both signals are also posted as element messages
 * (`framedemux-connection-opened` with `conn` and, if any, `caps`;
 * `framedemux-connection-closed` with `conn` and `reason`). Every
 * well-formed control message is then handed to the application with
 * #GstFrameDemux::control-message. Unknown control codes are skipped;
 * truncated ones are skipped with a warning.
 *
 * An unlinked source pad never stops the stream: connections come and go
 * in a tunnel, and one nobody links (or one that appears before the pad
 * the application wants) must not cut off the others. Its data is dropped,
 * counted in the statistics, and a warning names the connection once.
 * Errors and flushing propagate upstream through a GstFlowCombiner.
 *
 * ## Damaged input
 *
 * A wrong terminator, a length above #GstFrameDemux:max-frame-size or a
 * truncated frame at the end of the stream are handled as set by
 * #GstFrameDemux:corruption-policy. With `error` the element posts an error
 * message and stops. With `resync` (the default) it posts one warning per
 * loss of sync and searches forward, checking candidates (positions right
 * after a ';') against the stream's context: a header fits when its
 * timestamp lies between 10 minutes before and 60 minutes after the last
 * good frame's and its connection is 0, known (a pad, or recently closed)
 * or at most 64 above the highest one seen. A candidate is accepted when 4
 * consecutive frames verify there (length within bounds, terminator in
 * place, header fits), or at least one does and the buffered data ends
 * without contradicting the chain; in that case the next 4 frames are on
 * probation, and damage among them takes the resync back without a new
 * warning. Before the first frame there is no context and a candidate needs
 * one verified frame and a plausible successor. A later accepted candidate
 * wins over an earlier undecided one, so a plausible-looking length inside
 * garbage does not swallow the valid frames that follow. After a wrong
 * terminator it first tries the position right after the damaged frame's
 * claimed end, if that data is already buffered, so that only the damaged
 * frame is lost. In sync, a frame whose header does not fit (and any frame
 * on probation) is searched for verified frames inside its claimed length,
 * while it is still arriving too; if some are found it is damage and
 * parsing resumes there, so a false header after a garbage burst cannot
 * swallow the stream. Otherwise it is output as usual (a sender clock step
 * is adopted after two frames). Skipped bytes and resynchronisations are
 * counted. At most max-frame-size + 18 bytes are held between input buffers
 * (once the search window exceeds 64 KiB, searches are spaced out until it
 * has grown by an eighth, to stay linear in time, so up to an eighth more
 * plus one input buffer; searches inside a waiting frame are spaced out the
 * same way, which costs no memory). A stream
 * that ends without a single valid frame, or with valid frames but no data
 * connection, ends with an error instead of a bare EOS, so a pipeline never
 * waits forever.
 *
 * ## Statistics
 *
 * The read-only #GstFrameDemux:stats property returns a structure
 * `application/x-framedemux-stats` with the fields `frames`, `bytes`,
 * `control-frames`, `bytes-skipped`, `resyncs`, `frames-dropped`,
 * `bytes-pending`, `frames-after-close` (all #guint64) and `connections`,
 * an array of
 * `connection` structures with `conn` (#guint), `frames`, `bytes` and
 * `dropped` (#guint64).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=tunnel.bin ! framedemux name=d \
 *     d.src_1 ! filesink location=conn1.bin
 * ]| Writes the payload of connection 1 of a recorded tunnel stream to
 * conn1.bin.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/base/gstqueuearray.h>

#include "frame-codec.h"
#include "framedemux-output.h"
#include "wrtcframe-events.h"
#include "frame-parser.h"
#include "gstframedemux.h"
#include "gstwrtcframeelements.h"

GST_DEBUG_CATEGORY (gst_frame_demux_debug);
#define GST_CAT_DEFAULT gst_frame_demux_debug

#define DEFAULT_MAX_FRAME_SIZE (16 * 1024 * 1024)
#define DEFAULT_CORRUPTION_POLICY GST_FRAME_DEMUX_CORRUPTION_RESYNC
#define DEFAULT_FLOW_CONTROL TRUE
#define DEFAULT_WINDOW (256 * 1024)
#define DEFAULT_TUNNEL_WINDOW (512 * 1024)
#define DEFAULT_MAX_CONNECTIONS 65536
#define MIN_WINDOW 4096

/* A pad that got nothing for this long while others got data is sent a
 * GAP, so its sink prerolls (sparse streams, as in tsdemux). */
#define IDLE_GAP_US G_USEC_PER_SEC

/* Keeps 17 + max-frame-size well inside a gsize on 32-bit systems. */
#define MAX_MAX_FRAME_SIZE ((guint) G_MAXINT32)

enum
{
  PROP_0,
  PROP_MAX_FRAME_SIZE,
  PROP_CORRUPTION_POLICY,
  PROP_CAPS,
  PROP_FLOW_CONTROL,
  PROP_WINDOW,
  PROP_TUNNEL_WINDOW,
  PROP_MAX_CONNECTIONS,
  PROP_STATS,
};

/* Statistics have a single writer (the streaming thread, or the state change
 * thread while streaming is stopped) and readers in any thread. Relaxed
 * atomic loads and stores make that race-free without a lock per frame; on
 * common CPUs they are plain moves. */
#define STAT_GET(field) __atomic_load_n (&(field), __ATOMIC_RELAXED)
#define STAT_SET(field, v) __atomic_store_n (&(field), (v), __ATOMIC_RELAXED)
#define STAT_ADD(field, n) STAT_SET (field, (field) + (n))


struct _GstFrameDemux
{
  GstElement parent;

  GstPad *sinkpad;

  /* properties; the two integers are read with atomics in the hot path */
  guint max_frame_size;
  gint corruption_policy;
  GstCaps *caps;                /* GST_OBJECT_LOCK */
  /* Events every new pad gets, made once and shared (a reference per pad,
   * as a demuxer forwarding one upstream event does): with thousands of
   * connections a copy per pad would dominate their memory. */
  GstEvent *caps_event;         /* for self->caps; GST_OBJECT_LOCK */
  GstEvent *segment_event;      /* streaming thread */

  /* conn_no -> FrameDemuxConn. Changed only by the streaming thread (or the
   * state change thread when streaming is stopped), under GST_OBJECT_LOCK
   * because "stats" iterates it; the writer itself looks up without lock. */
  GHashTable *conns;
  FrameDemuxConn *last_conn;    /* one-entry cache: traffic is mostly conn 1 */
  gboolean seen_conn;           /* a data connection existed */
  /* Closed connections whose task still pushes what they had queued; the
   * pad is removed once it is out. GST_OBJECT_LOCK, closing_cond. */
  GList *closing;
  GCond closing_cond;
  gboolean flushing;            /* GST_OBJECT_LOCK */
  gint64 last_sweep;            /* streaming thread: idle-pad GAP sweep */
  gboolean warned_max_conns;

  /* Flow control (wire-format.md). Settings read with atomics; the
   * acknowledgement state under flow_lock (the pads' tasks update it). */
  gboolean flow_control;
  guint window_size;
  guint tunnel_window;
  guint max_connections;
  GMutex flow_lock;
  gboolean flow_active;         /* the peer offered: we grant and credit */
  guint32 active_window;        /* what was granted */
  guint32 active_tunnel_window;
  guint64 unacked_total;        /* delivered, not yet credited */

  /* Numbers the peer closed, so late data for them is dropped instead of
   * opening a new pad; an OpenConnection takes a number out again. Bounded
   * (oldest forgotten first): conn -> close sequence number, and the FIFO
   * of (conn, sequence) pairs in closing order. Streaming thread only. */
  GHashTable *closed;
  GstQueueArray *closed_order;
  guint64 close_seq;

  /* The parser and what its callbacks need, streaming thread only: the
   * input being parsed, the block of held bytes it handed over, and the
   * input's last frame, which takes over the input buffer once unmapped. */
  WrtcFrameParser parser;
  GstBuffer *in_buf;
  const guint8 *in_data;
  GstBuffer *adopted;
  const guint8 *adopted_data;
  FrameDemuxConn *reuse_conn;
  gsize reuse_offset;
  gsize reuse_size;
  guint64 reuse_ts_ms;
  GstFlowReturn parse_ret;      /* the push that stopped parsing */
  gboolean have_group_id;
  guint group_id;

  /* statistics, see STAT_GET */
  guint64 st_frames;
  guint64 st_bytes;
  guint64 st_control;
  guint64 st_skipped;
  guint64 st_resyncs;
  guint64 st_dropped;
  guint64 st_pending;
  guint64 st_after_close;
  guint64 st_credits;
  guint64 st_failed;
};

typedef struct
{
  guint32 conn_no;
  guint64 seq;
} ClosedEntry;

/* How many closed connection numbers are remembered. */
#define MAX_CLOSED 65536

enum
{
  SIGNAL_CONNECTION_OPENED,
  SIGNAL_CONNECTION_CLOSED,
  SIGNAL_CONTROL_MESSAGE,
  LAST_SIGNAL
};

static guint demux_signals[LAST_SIGNAL];

static const WrtcFrameParserCallbacks parser_callbacks;

/* Connection-specific data of an OpenConnection that carries caps (see
 * framemux's send-caps): "GSTCAPS1", u32 big-endian length, caps string. */
#define CAPS_MAGIC "GSTCAPS1"
#define CAPS_MAGIC_LEN 8

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (WRTC_FRAME_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src_%u",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);

static GstStaticCaps unix_ts_caps = GST_STATIC_CAPS ("timestamp/x-unix");
static GstCaps *unix_ts_caps_obj;       /* created once in class_init */

#define gst_frame_demux_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstFrameDemux, gst_frame_demux, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_frame_demux_debug, "framedemux", 0,
        "Tunnel stream demultiplexer"));
GST_ELEMENT_REGISTER_DEFINE (framedemux, "framedemux", GST_RANK_NONE,
    GST_TYPE_FRAME_DEMUX);

GType
gst_frame_demux_corruption_policy_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_FRAME_DEMUX_CORRUPTION_RESYNC,
        "Post a warning, skip to the next verified frame", "resync"},
    {GST_FRAME_DEMUX_CORRUPTION_ERROR,
        "Post an error and stop", "error"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstFrameDemuxCorruptionPolicy", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

static void gst_frame_demux_finalize (GObject * object);
static void gst_frame_demux_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_frame_demux_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static GstStateChangeReturn gst_frame_demux_change_state (GstElement * element,
    GstStateChange transition);
static GstFlowReturn gst_frame_demux_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf);
static gboolean gst_frame_demux_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event);
static gboolean gst_frame_demux_sink_query (GstPad * pad, GstObject * parent,
    GstQuery * query);
static gboolean gst_frame_demux_src_event (GstPad * pad, GstObject * parent,
    GstEvent * event);
static gboolean gst_frame_demux_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query);

static void
gst_frame_demux_class_init (GstFrameDemuxClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_frame_demux_finalize;
  gobject_class->set_property = gst_frame_demux_set_property;
  gobject_class->get_property = gst_frame_demux_get_property;

  /**
   * GstFrameDemux:max-frame-size:
   *
   * Largest accepted payload, in bytes. A frame announcing more is treated
   * as stream damage. It also bounds the memory held while resynchronising.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_FRAME_SIZE,
      g_param_spec_uint ("max-frame-size", "Maximum frame size",
          "Largest accepted frame payload in bytes; a frame announcing a "
          "longer payload is treated as stream damage (this also bounds the "
          "memory used while resynchronising)",
          0, MAX_MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:corruption-policy:
   *
   * What to do on a wrong terminator, an oversized frame or a truncated
   * frame at the end of the stream.
   */
  g_object_class_install_property (gobject_class, PROP_CORRUPTION_POLICY,
      g_param_spec_enum ("corruption-policy", "Corruption policy",
          "What to do when the stream is damaged (bad terminator, frame "
          "longer than max-frame-size, truncated frame at EOS): resync posts "
          "a warning and skips to the next verified frame, error posts an "
          "error and stops",
          GST_TYPE_FRAME_DEMUX_CORRUPTION_POLICY, DEFAULT_CORRUPTION_POLICY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:caps:
   *
   * Caps announced on every new source pad. Changing it affects only pads
   * created afterwards.
   */
  g_object_class_install_property (gobject_class, PROP_CAPS,
      g_param_spec_boxed ("caps", "Caps",
          "Caps set on each new source pad (NULL: application/octet-stream); "
          "pads that already exist keep their caps",
          GST_TYPE_CAPS, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:flow-control:
   *
   * Answer a sender's FlowOffer (framemux) with windows and acknowledge
   * delivered bytes (wire-format.md, credit flow control). A sender that
   * never offers (the reference implementation) sees nothing of it.
   */
  g_object_class_install_property (gobject_class, PROP_FLOW_CONTROL,
      g_param_spec_boolean ("flow-control", "Flow control",
          "Grant credit to a sender that offers flow control (framemux) and "
          "acknowledge the bytes each connection delivered downstream, so a "
          "slow connection holds up only itself",
          DEFAULT_FLOW_CONTROL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:window:
   *
   * Bytes a connection may have in flight towards this element: granted
   * to a credit-honouring sender, and the size of each source pad's queue.
   */
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_uint ("window", "Window",
          "Per-connection window in bytes: what a sender with flow control "
          "may have unacknowledged per connection, and how much each source "
          "pad queues before the input waits (without flow control)",
          MIN_WINDOW, G_MAXINT32, DEFAULT_WINDOW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:tunnel-window:
   *
   * Bytes all connections together may have in flight (granted to a
   * credit-honouring sender at its FlowOffer).
   */
  g_object_class_install_property (gobject_class, PROP_TUNNEL_WINDOW,
      g_param_spec_uint ("tunnel-window", "Tunnel window",
          "Window over all connections in bytes, granted to a sender with "
          "flow control (at least window)",
          MIN_WINDOW, G_MAXINT32, DEFAULT_TUNNEL_WINDOW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:max-connections:
   *
   * Most source pads open at once. Data of further connections is dropped
   * (one warning), so damaged input cannot create pads without end.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_CONNECTIONS,
      g_param_spec_uint ("max-connections", "Maximum connections",
          "Most connections (source pads) open at once; data of further "
          "connections is dropped with a warning",
          1, G_MAXUINT32, DEFAULT_MAX_CONNECTIONS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux:stats:
   *
   * Counters since the last READY to PAUSED change, see the element
   * description for the fields.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters (application/x-framedemux-stats): frames, bytes, "
          "control-frames, bytes-skipped, resyncs, frames-dropped, "
          "bytes-pending, and per-connection counts in connections",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstFrameDemux::connection-opened:
   * @framedemux: the element
   * @conn: the connection number
   * @caps: (nullable): the caps the peer sent with OpenConnection (framemux
   *   with send-caps), or %NULL
   *
   * A source pad for connection @conn was just added: on the peer's
   * OpenConnection, or on the first data of a connection the peer never
   * announced. Emitted from the streaming thread. The same content is
   * posted as an element message `framedemux-connection-opened`.
   */
  demux_signals[SIGNAL_CONNECTION_OPENED] =
      g_signal_new ("connection-opened", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
      GST_TYPE_CAPS);

  /**
   * GstFrameDemux::connection-closed:
   * @framedemux: the element
   * @conn: the connection number
   * @reason: the close reason from CloseConnection (0 Normal, see
   *   wire-format.md)
   *
   * The peer closed connection @conn: its source pad got EOS (if SendEOF
   * had not already caused one) and was removed. Emitted from the
   * streaming thread. The same content is posted as an element message
   * `framedemux-connection-closed`.
   */
  demux_signals[SIGNAL_CONNECTION_CLOSED] =
      g_signal_new ("connection-closed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
      G_TYPE_UINT);

  /**
   * GstFrameDemux::control-message:
   * @framedemux: the element
   * @code: the control message code
   * @data: the message data after the u16 code (for codes 101..104 it
   *   starts with the u32 connection number)
   *
   * Emitted from the streaming thread for every well-formed control
   * message on connection 0, known codes and unknown ones, after
   * framedemux has acted on it (so an application answers Ping with Pong,
   * or OpenConnection with ConnectionOpened, through framemux's
   * send-control). Malformed messages (a known code with too little data)
   * are not emitted. Only costs anything when a handler is connected.
   */
  demux_signals[SIGNAL_CONTROL_MESSAGE] =
      g_signal_new ("control-message", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
      G_TYPE_BYTES);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Tunnel stream demuxer", "Codec/Demuxer",
      "Splits a multiplexed tunnel stream (application/x-wrtcframe) into one "
      "byte stream per connection",
      "gst-wrtcframe authors");

  element_class->change_state = gst_frame_demux_change_state;

  unix_ts_caps_obj = gst_static_caps_get (&unix_ts_caps);
  GST_MINI_OBJECT_FLAG_SET (unix_ts_caps_obj,
      GST_MINI_OBJECT_FLAG_MAY_BE_LEAKED);

  gst_type_mark_as_plugin_api (GST_TYPE_FRAME_DEMUX_CORRUPTION_POLICY, 0);
}

static void
gst_frame_demux_init (GstFrameDemux * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_frame_demux_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_frame_demux_sink_event));
  gst_pad_set_query_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_frame_demux_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->conns = g_hash_table_new (g_direct_hash, g_direct_equal);
  wrtc_frame_parser_init (&self->parser, &parser_callbacks, self);
  self->closed = g_hash_table_new (NULL, NULL);
  self->closed_order = gst_queue_array_new_for_struct (sizeof (ClosedEntry),
      16);
  g_cond_init (&self->closing_cond);
  g_mutex_init (&self->flow_lock);
  self->max_frame_size = DEFAULT_MAX_FRAME_SIZE;
  self->corruption_policy = DEFAULT_CORRUPTION_POLICY;
  self->flow_control = DEFAULT_FLOW_CONTROL;
  self->window_size = DEFAULT_WINDOW;
  self->tunnel_window = DEFAULT_TUNNEL_WINDOW;
  self->max_connections = DEFAULT_MAX_CONNECTIONS;
}

static void
gst_frame_demux_finalize (GObject * object)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (object);

  g_hash_table_destroy (self->conns);
  g_hash_table_destroy (self->closed);
  gst_queue_array_free (self->closed_order);
  g_cond_clear (&self->closing_cond);
  g_mutex_clear (&self->flow_lock);
  gst_event_replace (&self->caps_event, NULL);
  gst_event_replace (&self->segment_event, NULL);
  wrtc_frame_parser_clear (&self->parser);
  gst_caps_replace (&self->caps, NULL);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* ---- parser state ---- */

/* Drops the bytes held between inputs (flushing, stopping). */
static void
gst_frame_demux_flush_parser (GstFrameDemux * self)
{
  wrtc_frame_parser_flush (&self->parser);
  STAT_SET (self->st_pending, 0);
}

static void
gst_frame_demux_reset (GstFrameDemux * self)
{
  wrtc_frame_parser_reset (&self->parser);
  STAT_SET (self->st_pending, 0);
  self->have_group_id = FALSE;
  self->last_conn = NULL;
  self->seen_conn = FALSE;
  self->warned_max_conns = FALSE;
  self->last_sweep = 0;
  g_hash_table_remove_all (self->closed);
  gst_queue_array_clear (self->closed_order);
  self->close_seq = 0;
  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->flow_lock);
  g_atomic_int_set (&self->flow_active, FALSE);
  self->unacked_total = 0;
  g_mutex_unlock (&self->flow_lock);

  STAT_SET (self->st_after_close, 0);
  STAT_SET (self->st_frames, 0);
  STAT_SET (self->st_bytes, 0);
  STAT_SET (self->st_control, 0);
  STAT_SET (self->st_skipped, 0);
  STAT_SET (self->st_resyncs, 0);
  STAT_SET (self->st_dropped, 0);
  STAT_SET (self->st_credits, 0);
  STAT_SET (self->st_failed, 0);
}

static GList *take_closing (GstFrameDemux * self);

/* Stops @conn's task and takes its pad out of the element; @conn stays
 * allocated (lists may still point at it): frame_demux_conn_free () it. */
static void
gst_frame_demux_unplug_conn (GstFrameDemux * self, FrameDemuxConn * conn)
{
  frame_demux_conn_stop (conn);
  gst_pad_set_active (conn->pad, FALSE);
  gst_element_remove_pad (GST_ELEMENT (self), conn->pad);
}

static void
gst_frame_demux_drop_conn (GstFrameDemux * self, FrameDemuxConn * conn)
{
  gst_frame_demux_unplug_conn (self, conn);
  frame_demux_conn_free (conn);
}

static void
gst_frame_demux_remove_pads (GstFrameDemux * self)
{
  GHashTable *old;
  GList *closing, *l;
  GHashTableIter iter;
  gpointer value;

  /* Swap the table under the lock so "stats" never sees a freed entry, then
   * remove the pads without it (gst_element_remove_pad takes it). */
  GST_OBJECT_LOCK (self);
  old = self->conns;
  self->conns = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->last_conn = NULL;
  closing = take_closing (self);
  g_cond_broadcast (&self->closing_cond);
  GST_OBJECT_UNLOCK (self);

  g_hash_table_iter_init (&iter, old);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    gst_frame_demux_drop_conn (self, value);
  g_hash_table_destroy (old);
  for (l = closing; l != NULL; l = l->next)
    gst_frame_demux_drop_conn (self, l->data);
  g_list_free (closing);
}

/* ---- flow control: acknowledgements, from the pads' tasks ---- */

/* Sends a control message upstream, towards the sender of our input. */
static void
gst_frame_demux_feedback (GstFrameDemux * self, const gchar * event_name,
    const guint8 * payload, gsize size)
{
  gst_pad_push_event (self->sinkpad, wrtc_control_event_new (event_name,
          payload, size));
}

static void
gst_frame_demux_send_credit (GstFrameDemux * self, guint32 conn_no,
    guint64 delivered)
{
  guint8 msg[2 + WRTC_FLOW_CREDIT_SIZE];
  gsize n = wrtc_flow_encode_credit (msg, sizeof (msg), conn_no, delivered);

  GST_LOG_OBJECT (self, "credit: connection %u delivered %" G_GUINT64_FORMAT,
      conn_no, delivered);
  STAT_ADD (self->st_credits, 1);
  gst_frame_demux_feedback (self, WRTC_EVENT_FEEDBACK, msg, n);
}

typedef struct
{
  guint32 conn_no;
  guint64 delivered;
} PendingCredit;

/* Records what one credit covers; flow_lock held. */
static void
take_credit (GstFrameDemux * self, FrameDemuxConn * conn, GArray * out)
{
  PendingCredit c = { conn->conn_no, conn->delivered };

  self->unacked_total -= conn->delivered - conn->acked;
  conn->acked = conn->delivered;
  g_array_append_val (out, c);
}

static void
on_consumed (GstElement * element, FrameDemuxConn * conn, guint64 bytes,
    gboolean final)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (element);
  GArray *credits = NULL;
  guint i;

  g_mutex_lock (&self->flow_lock);
  conn->delivered += bytes;
  self->unacked_total += bytes;
  if (self->flow_active) {
    if (self->unacked_total >= self->active_tunnel_window / 4) {
      /* the whole tunnel's window runs low: credit every connection */
      GHashTableIter iter;
      gpointer value;
      GList *l;

      credits = g_array_new (FALSE, FALSE, sizeof (PendingCredit));
      GST_OBJECT_LOCK (self);
      g_hash_table_iter_init (&iter, self->conns);
      while (g_hash_table_iter_next (&iter, NULL, &value)) {
        FrameDemuxConn *c = value;

        if (c->delivered > c->acked)
          take_credit (self, c, credits);
      }
      for (l = self->closing; l != NULL; l = l->next) {
        FrameDemuxConn *c = l->data;

        if (c->delivered > c->acked)
          take_credit (self, c, credits);
      }
      GST_OBJECT_UNLOCK (self);
      if (conn->delivered > conn->acked)
        take_credit (self, conn, credits);
    } else if (conn->delivered - conn->acked >= self->active_window / 4 ||
        (final && conn->delivered > conn->acked)) {
      credits = g_array_new (FALSE, FALSE, sizeof (PendingCredit));
      take_credit (self, conn, credits);
    }
  }
  g_mutex_unlock (&self->flow_lock);

  if (credits == NULL)
    return;
  for (i = 0; i < credits->len; i++) {
    PendingCredit *c = &g_array_index (credits, PendingCredit, i);

    gst_frame_demux_send_credit (self, c->conn_no, c->delivered);
  }
  g_array_free (credits, TRUE);
}

static void
on_failed (GstElement * element, FrameDemuxConn * conn, GstFlowReturn ret)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (element);
  WrtcControlMessage msg = { 0, };
  guint8 payload[8];
  gsize n;

  STAT_ADD (self->st_failed, 1);
  if (ret == GST_FLOW_FLUSHING) {
    GST_INFO_OBJECT (self, "connection %u: its branch is flushing (stopped); "
        "closing the connection", conn->conn_no);
  } else {
    GST_ELEMENT_WARNING (self, STREAM, DEMUX,
        ("Connection %u failed downstream (%s): it is closed, the other "
            "connections go on.", conn->conn_no, gst_flow_get_name (ret)),
        ("%s:%s returned %s; CloseConnection (reason Error) is sent to the "
            "peer and the connection's further data is dropped",
            GST_DEBUG_PAD_NAME (conn->pad), gst_flow_get_name (ret)));
  }
  msg.code = WRTC_CONTROL_CLOSE_CONNECTION;
  msg.conn_no = conn->conn_no;
  msg.reason = 1;               /* Error */
  n = wrtc_control_encode (payload, sizeof (payload), &msg);
  gst_frame_demux_feedback (self, WRTC_EVENT_FEEDBACK, payload, n);
}

static void
remove_closed_conn (GstElement * element, gpointer data)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (element);
  FrameDemuxConn *conn = data;
  guint32 conn_no;
  guint reason;

  GST_OBJECT_LOCK (self);
  if (g_list_find (self->closing, conn) == NULL) {
    /* the element stopped meanwhile and removed it */
    GST_OBJECT_UNLOCK (self);
    return;
  }
  /* stays listed until its pad is gone, so the number counts as busy */
  conn->removing = TRUE;
  GST_OBJECT_UNLOCK (self);

  conn_no = conn->conn_no;
  reason = conn->close_reason;
  gst_frame_demux_unplug_conn (self, conn);
  /* still before a new connection with this number can appear */
  gst_element_post_message (element,
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("framedemux-connection-closed",
              "conn", G_TYPE_UINT, conn_no, "reason", G_TYPE_UINT, reason,
              NULL)));
  g_signal_emit (self, demux_signals[SIGNAL_CONNECTION_CLOSED], 0, conn_no,
      reason);

  GST_OBJECT_LOCK (self);
  self->closing = g_list_remove (self->closing, conn);
  g_cond_broadcast (&self->closing_cond);
  GST_OBJECT_UNLOCK (self);
  frame_demux_conn_free (conn);
}

/* Takes the closed connections out of the list (for the caller to drop),
 * after waiting for those being removed right now. Object lock held. */
static GList *
take_closing (GstFrameDemux * self)
{
  GList *l, *taken;

  for (;;) {
    gboolean busy = FALSE;

    for (l = self->closing; l != NULL && !busy; l = l->next)
      busy = ((FrameDemuxConn *) l->data)->removing;
    if (!busy)
      break;
    g_cond_wait (&self->closing_cond, GST_OBJECT_GET_LOCK (self));
  }
  taken = self->closing;
  self->closing = NULL;
  return taken;
}

static void
on_drained (GstElement * element, FrameDemuxConn * conn)
{
  /* not from the pad's own task: removing the pad joins it */
  gst_element_call_async (element, remove_closed_conn, conn, NULL);
}

static const FrameDemuxConnCallbacks conn_callbacks = {
  on_consumed, on_failed, on_drained,
};

/* ---- source pads ---- */

/* The TIME segment from 0 that every source pad starts with. */
static GstEvent *
gst_frame_demux_segment (GstFrameDemux * self)
{
  if (self->segment_event == NULL) {
    GstSegment segment;

    gst_segment_init (&segment, GST_FORMAT_TIME);
    self->segment_event = gst_event_new_segment (&segment);
  }
  return self->segment_event;
}

/* A GAP lets a sink preroll on a connection that has not spoken yet. */
static GstEvent *
idle_gap (void)
{
  return gst_event_new_gap (0, GST_CLOCK_TIME_NONE);
}

/* Waits until the previous connection with @conn_no is gone (a number
 * reused while its last data still drains). FALSE when flushing. */
static gboolean
gst_frame_demux_wait_number_free (GstFrameDemux * self, guint32 conn_no)
{
  gboolean ok = TRUE;

  GST_OBJECT_LOCK (self);
  for (;;) {
    GList *l;
    gboolean busy = FALSE;

    if (self->flushing) {
      ok = FALSE;
      break;
    }
    for (l = self->closing; l != NULL && !busy; l = l->next)
      busy = ((FrameDemuxConn *) l->data)->conn_no == conn_no;
    if (!busy)
      break;
    GST_DEBUG_OBJECT (self, "connection %u reopened while its previous pad "
        "drains: waiting", conn_no);
    g_cond_wait (&self->closing_cond, GST_OBJECT_GET_LOCK (self));
  }
  GST_OBJECT_UNLOCK (self);
  return ok;
}

static FrameDemuxConn *
gst_frame_demux_create_conn (GstFrameDemux * self, guint32 conn_no,
    GstCaps * peer_caps)
{
  FrameDemuxConn *conn;
  GstPad *pad;
  GstEvent *event;
  gchar *name, *stream_id;
  guint live;

  GST_OBJECT_LOCK (self);
  live = g_hash_table_size (self->conns);
  GST_OBJECT_UNLOCK (self);
  if (live >= (guint) g_atomic_int_get (&self->max_connections)) {
    if (!self->warned_max_conns) {
      GST_ELEMENT_WARNING (self, STREAM, DEMUX,
          ("Too many connections: %u are open (max-connections); data of "
              "new connections is dropped.", live),
          ("connection %u refused; raise max-connections if the peer "
              "really opens this many", conn_no));
      self->warned_max_conns = TRUE;
    }
    return NULL;
  }
  if (!gst_frame_demux_wait_number_free (self, conn_no))
    return NULL;

  name = g_strdup_printf ("src_%u", conn_no);
  pad = gst_pad_new_from_static_template (&src_template, name);
  g_free (name);

  gst_pad_set_event_function (pad,
      GST_DEBUG_FUNCPTR (gst_frame_demux_src_event));
  gst_pad_set_query_function (pad,
      GST_DEBUG_FUNCPTR (gst_frame_demux_src_query));
  gst_pad_use_fixed_caps (pad);
  gst_pad_set_active (pad, TRUE);

  /* sticky events are stored on the pad now, before anyone links it */
  stream_id = gst_pad_create_stream_id_printf (pad, GST_ELEMENT (self), "%u",
      conn_no);
  event = gst_event_new_stream_start (stream_id);
  g_free (stream_id);
  if (!self->have_group_id) {
    self->group_id = gst_util_group_id_next ();
    self->have_group_id = TRUE;
  }
  gst_event_set_group_id (event, self->group_id);
  gst_pad_push_event (pad, event);

  if (peer_caps != NULL) {
    event = gst_event_new_caps (peer_caps);
  } else {
    GST_OBJECT_LOCK (self);
    if (self->caps_event == NULL) {
      GstCaps *caps = self->caps ? gst_caps_ref (self->caps) :
          gst_caps_new_empty_simple ("application/octet-stream");

      self->caps_event = gst_event_new_caps (caps);
      gst_caps_unref (caps);
    }
    event = gst_event_ref (self->caps_event);
    GST_OBJECT_UNLOCK (self);
  }
  gst_pad_push_event (pad, event);

  gst_pad_push_event (pad, gst_event_ref (gst_frame_demux_segment (self)));

  conn = frame_demux_conn_new (GST_ELEMENT (self), conn_no, pad,
      &conn_callbacks);
  conn->active = TRUE;
  conn->total_dropped = &self->st_dropped;
  frame_demux_conn_queue_event (conn, idle_gap (), FALSE);

  GST_OBJECT_LOCK (self);
  g_hash_table_insert (self->conns, GUINT_TO_POINTER (conn_no), conn);
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "new connection %u", conn_no);
  self->seen_conn = TRUE;
  gst_element_add_pad (GST_ELEMENT (self), conn->pad);
  frame_demux_conn_start (conn);

  {
    GstStructure *s = gst_structure_new ("framedemux-connection-opened",
        "conn", G_TYPE_UINT, conn_no, NULL);

    if (peer_caps != NULL)
      gst_structure_set (s, "caps", GST_TYPE_CAPS, peer_caps, NULL);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }
  g_signal_emit (self, demux_signals[SIGNAL_CONNECTION_OPENED], 0, conn_no,
      peer_caps);

  return conn;
}

/* Forgets that @conn_no was closed (the peer opens it again). */
static void
gst_frame_demux_unmark_closed (GstFrameDemux * self, guint32 conn_no)
{
  /* the FIFO entry stays; it no longer matches the table when it leaves */
  g_hash_table_remove (self->closed, GUINT_TO_POINTER (conn_no));
}

static void
gst_frame_demux_mark_closed (GstFrameDemux * self, guint32 conn_no)
{
  ClosedEntry e;

  e.conn_no = conn_no;
  e.seq = ++self->close_seq;
  /* the table stores the sequence number, of which 0 would be NULL */
  g_hash_table_insert (self->closed, GUINT_TO_POINTER (conn_no),
      GSIZE_TO_POINTER ((gsize) e.seq));
  gst_queue_array_push_tail_struct (self->closed_order, &e);
  while (gst_queue_array_get_length (self->closed_order) > MAX_CLOSED) {
    ClosedEntry *old = gst_queue_array_pop_head_struct (self->closed_order);

    if (GPOINTER_TO_SIZE (g_hash_table_lookup (self->closed,
                GUINT_TO_POINTER (old->conn_no))) == (gsize) old->seq)
      g_hash_table_remove (self->closed, GUINT_TO_POINTER (old->conn_no));
  }
}

/* CloseConnection: EOS unless SendEOF already gave one, then the pad goes
 * once its task has pushed everything queued before. */
static void
gst_frame_demux_close_conn (GstFrameDemux * self, FrameDemuxConn * conn)
{
  GST_OBJECT_LOCK (self);
  g_hash_table_steal (self->conns, GUINT_TO_POINTER (conn->conn_no));
  if (self->last_conn == conn)
    self->last_conn = NULL;
  self->closing = g_list_prepend (self->closing, conn);
  GST_OBJECT_UNLOCK (self);

  if (!conn->eos_sent) {
    /* downstream learns why before the EOS: a reset is not an EOF */
    frame_demux_conn_queue_event (conn, gst_event_new_custom
        (GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new
            ("framedemux-connection-closed", "conn", G_TYPE_UINT,
                conn->conn_no, "reason", G_TYPE_UINT, conn->close_reason,
                NULL)), FALSE);
    frame_demux_conn_queue_event (conn, gst_event_new_eos (), TRUE);
  } else
    frame_demux_conn_queue_event (conn, gst_event_new_custom
        (GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty
            ("framedemux-connection-closed")), TRUE);
}

static inline FrameDemuxConn *
gst_frame_demux_get_conn (GstFrameDemux * self, guint32 conn_no)
{
  FrameDemuxConn *conn = self->last_conn;

  if (G_LIKELY (conn != NULL && conn->conn_no == conn_no))
    return conn;

  conn = g_hash_table_lookup (self->conns, GUINT_TO_POINTER (conn_no));
  if (G_UNLIKELY (conn == NULL)) {
    /* late data of a connection the peer closed: not a new connection */
    if (g_hash_table_size (self->closed) > 0 &&
        g_hash_table_contains (self->closed, GUINT_TO_POINTER (conn_no)))
      return NULL;
    /* a peer that sends data without OpenConnection: the pad appears now */
    conn = gst_frame_demux_create_conn (self, conn_no, NULL);
    if (conn == NULL)
      return NULL;
  }
  self->last_conn = conn;
  return conn;
}

/* Once a second of input, a GAP for every pad that got nothing since the
 * last sweep, so its sink can preroll while other connections flow. */
static void
gst_frame_demux_sweep_idle (GstFrameDemux * self)
{
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;

  if (now - self->last_sweep < IDLE_GAP_US)
    return;
  self->last_sweep = now;
  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    FrameDemuxConn *conn = value;

    if (!conn->active && !conn->eos_sent && frame_demux_conn_is_idle (conn))
      frame_demux_conn_queue_event (conn, idle_gap (), FALSE);
    conn->active = FALSE;
  }
}

static GstFlowReturn
gst_frame_demux_push (GstFrameDemux * self, FrameDemuxConn * conn,
    GstBuffer * out)
{
  guint64 size = gst_buffer_get_size (out);

  conn->active = TRUE;
  if (G_UNLIKELY (g_atomic_int_get (&conn->dead))) {
    /* its branch failed: dropped, but the sender must not wait for it */
    STAT_ADD (conn->dropped, 1);
    STAT_ADD (self->st_dropped, 1);
    gst_buffer_unref (out);
    on_consumed (GST_ELEMENT (self), conn, size, FALSE);
    return GST_FLOW_OK;
  }
  /* with credit the sender keeps to the window (apart from what it had
   * queued before our grant reached it): never hold up the other
   * connections for one that is over */
  if (!frame_demux_conn_queue_buffer (conn, out,
          g_atomic_int_get (&self->flow_active) ? G_MAXUINT64 :
          (guint64) g_atomic_int_get (&self->window_size)))
    return GST_FLOW_FLUSHING;
  return GST_FLOW_OK;
}

/* ---- control connection ---- */

/* Caps from OpenConnection's connection-specific data, or NULL when it
 * holds none (or something of the peer's own, which we leave alone). */
static GstCaps *
gst_frame_demux_parse_caps (GstFrameDemux * self, const WrtcControlMessage *
    msg)
{
  GstCaps *caps;
  gchar *str;
  guint32 len;

  if (msg->data_len < CAPS_MAGIC_LEN + 4 ||
      memcmp (msg->data, CAPS_MAGIC, CAPS_MAGIC_LEN) != 0)
    return NULL;
  /* byte by byte: the data has no alignment */
  len = (guint32) msg->data[CAPS_MAGIC_LEN] << 24 |
      (guint32) msg->data[CAPS_MAGIC_LEN + 1] << 16 |
      (guint32) msg->data[CAPS_MAGIC_LEN + 2] << 8 |
      msg->data[CAPS_MAGIC_LEN + 3];
  if (len > msg->data_len - CAPS_MAGIC_LEN - 4)
    goto bad;
  str = g_strndup ((const gchar *) msg->data + CAPS_MAGIC_LEN + 4, len);
  caps = gst_caps_from_string (str);
  g_free (str);
  if (caps == NULL)
    goto bad;
  if (!gst_caps_is_fixed (caps)) {
    gst_caps_unref (caps);
    goto bad;
  }
  return caps;

bad:
  GST_ELEMENT_WARNING (self, STREAM, DEMUX,
      ("Connection %u was opened with caps that cannot be used; it gets "
          "the caps property instead.", msg->conn_no),
      ("OpenConnection data of %" G_GSIZE_FORMAT " bytes: bad length, "
          "unparsable or unfixed caps", msg->data_len));
  return NULL;
}

static void
gst_frame_demux_on_open (GstFrameDemux * self, const WrtcControlMessage * msg)
{
  FrameDemuxConn *conn;
  GstCaps *caps;

  if (msg->conn_no == WRTC_FRAME_CONTROL_CONN) {
    GST_DEBUG_OBJECT (self, "ignoring OpenConnection of connection 0");
    return;
  }
  caps = gst_frame_demux_parse_caps (self, msg);
  conn = g_hash_table_lookup (self->conns, GUINT_TO_POINTER (msg->conn_no));
  if (conn == NULL) {
    gst_frame_demux_unmark_closed (self, msg->conn_no);
    conn = gst_frame_demux_create_conn (self, msg->conn_no, caps);
    if (conn != NULL)
      self->last_conn = conn;
  } else if (caps != NULL && !conn->eos_sent) {
    GstCaps *cur = gst_pad_get_current_caps (conn->pad);

    /* the peer's caps changed mid-stream: in order with its data */
    if (cur == NULL || !gst_caps_is_equal (cur, caps)) {
      GST_INFO_OBJECT (self, "connection %u: new caps %" GST_PTR_FORMAT,
          msg->conn_no, caps);
      frame_demux_conn_queue_event (conn, gst_event_new_caps (caps), FALSE);
    }
    if (cur)
      gst_caps_unref (cur);
  } else {
    GST_DEBUG_OBJECT (self, "connection %u already open", msg->conn_no);
  }
  if (caps)
    gst_caps_unref (caps);
}

static void
gst_frame_demux_on_send_eof (GstFrameDemux * self,
    const WrtcControlMessage * msg)
{
  FrameDemuxConn *conn = g_hash_table_lookup (self->conns,
      GUINT_TO_POINTER (msg->conn_no));

  if (conn == NULL || conn->eos_sent) {
    GST_DEBUG_OBJECT (self, "SendEOF for connection %u without open pad",
        msg->conn_no);
    return;
  }
  GST_DEBUG_OBJECT (self, "connection %u: EOS from the peer", msg->conn_no);
  conn->eos_sent = TRUE;
  frame_demux_conn_queue_event (conn, gst_event_new_eos (), FALSE);
}

static void
gst_frame_demux_on_close (GstFrameDemux * self, const WrtcControlMessage * msg)
{
  FrameDemuxConn *conn = g_hash_table_lookup (self->conns,
      GUINT_TO_POINTER (msg->conn_no));

  if (msg->conn_no == WRTC_FRAME_CONTROL_CONN) {
    GST_DEBUG_OBJECT (self, "ignoring CloseConnection of connection 0");
    return;
  }
  gst_frame_demux_mark_closed (self, msg->conn_no);
  if (conn == NULL) {
    GST_DEBUG_OBJECT (self, "CloseConnection for connection %u without pad",
        msg->conn_no);
    return;
  }
  GST_DEBUG_OBJECT (self, "connection %u closed, reason %u", msg->conn_no,
      msg->reason);
  conn->close_reason = msg->reason;
  /* pad-removed and connection-closed follow once its data is out */
  gst_frame_demux_close_conn (self, conn);
}

/* The peer's sender honours credit: grant it windows, from now on
 * acknowledge what is delivered. */
static void
gst_frame_demux_on_flow_offer (GstFrameDemux * self)
{
  guint8 msg[2 + WRTC_FLOW_GRANT_SIZE];
  guint32 window, tunnel;
  gsize n;

  if (!g_atomic_int_get (&self->flow_control)) {
    GST_INFO_OBJECT (self, "peer offers flow control; flow-control=false");
    return;
  }
  window = g_atomic_int_get (&self->window_size);
  tunnel = MAX ((guint32) g_atomic_int_get (&self->tunnel_window), window);
  g_mutex_lock (&self->flow_lock);
  if (self->flow_active) {
    g_mutex_unlock (&self->flow_lock);
    return;
  }
  g_atomic_int_set (&self->flow_active, TRUE);
  self->active_window = window;
  self->active_tunnel_window = tunnel;
  g_mutex_unlock (&self->flow_lock);

  GST_INFO_OBJECT (self, "peer offers flow control: granting %u bytes per "
      "connection, %u in all", window, tunnel);
  n = wrtc_flow_encode_grant (msg, sizeof (msg), window, tunnel);
  gst_frame_demux_feedback (self, WRTC_EVENT_FEEDBACK, msg, n);
}

/* The one place control messages are acted upon. They are handled where
 * they sit in the stream, so each takes effect after the data before it. */
static void
gst_frame_demux_handle_control (GstFrameDemux * self, const guint8 * payload,
    gsize size)
{
  WrtcControlMessage msg;

  STAT_ADD (self->st_control, 1);

  switch (wrtc_control_parse (payload, size, &msg)) {
    case WRTC_CONTROL_PARSE_OK:
      GST_DEBUG_OBJECT (self, "control message %s (%u), conn %u, reason %u, "
          "%" G_GSIZE_FORMAT " bytes of data", wrtc_control_code_name (msg.code),
          msg.code, msg.conn_no, msg.reason, msg.data_len);
      switch (msg.code) {
        case WRTC_CONTROL_OPEN_CONNECTION:
          gst_frame_demux_on_open (self, &msg);
          break;
        case WRTC_CONTROL_SEND_EOF:
          gst_frame_demux_on_send_eof (self, &msg);
          break;
        case WRTC_CONTROL_CLOSE_CONNECTION:
          gst_frame_demux_on_close (self, &msg);
          /* the peer's branch of one of our connections failed: our
           * sender stops that connection */
          if (msg.reason == 1)
            gst_frame_demux_feedback (self, WRTC_EVENT_PEER_FEEDBACK,
                payload, size);
          break;
        case WRTC_CONTROL_FLOW_OFFER:
          gst_frame_demux_on_flow_offer (self);
          break;
        case WRTC_CONTROL_FLOW_GRANT:
        case WRTC_CONTROL_FLOW_CREDIT:
          /* about the stream this side sends: for our own sender */
          gst_frame_demux_feedback (self, WRTC_EVENT_PEER_FEEDBACK, payload,
              size);
          break;
        default:
          /* Ping, ConnectionOpened, metrics: for the application */
          break;
      }
      break;
    case WRTC_CONTROL_PARSE_UNKNOWN_CODE:
      GST_DEBUG_OBJECT (self, "skipping control message with unknown code %u",
          msg.code);
      break;
    case WRTC_CONTROL_PARSE_TRUNCATED:
      GST_ELEMENT_WARNING (self, STREAM, DEMUX,
          ("Malformed control message skipped."),
          ("control message %s (%u) truncated: %" G_GSIZE_FORMAT " bytes",
              wrtc_control_code_name (msg.code), msg.code, size));
      return;
  }

  if (g_signal_has_handler_pending (self,
          demux_signals[SIGNAL_CONTROL_MESSAGE], 0, FALSE)) {
    GBytes *data = g_bytes_new (payload + 2, size - 2);

    g_signal_emit (self, demux_signals[SIGNAL_CONTROL_MESSAGE], 0,
        (guint) msg.code, data);
    g_bytes_unref (data);
  }
}

/* ---- parsing (frame-parser.h reads the bytes) ---- */

static inline gboolean
resync_policy (GstFrameDemux * self)
{
  return g_atomic_int_get (&self->corruption_policy) ==
      GST_FRAME_DEMUX_CORRUPTION_RESYNC;
}

static inline gboolean
flow_stops (GstFlowReturn ret)
{
  /* not-linked and EOS only concern some pads: new connections may still
   * come in the same buffer */
  return ret == GST_FLOW_FLUSHING || ret <= GST_FLOW_NOT_NEGOTIATED;
}

/* Maps @buf for reading; on failure posts the error and drops @buf. */
static gboolean
map_input (GstFrameDemux * self, GstBuffer * buf, GstMapInfo * map)
{
  if (G_LIKELY (gst_buffer_map (buf, map, GST_MAP_READ)))
    return TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL),
      ("could not map input buffer"));
  gst_buffer_unref (buf);
  return FALSE;
}

static gboolean
remove_meta (GstBuffer * buf, GstMeta ** meta, gpointer unused)
{
  *meta = NULL;
  return TRUE;
}

/* Turns a buffer we own alone into a payload buffer: trimmed to the
 * payload, without the input's timestamps, flags or metas. */
static void
strip_buffer (GstBuffer * buf, gsize offset, gsize size)
{
  gpointer state = NULL;

  gst_buffer_resize (buf, offset, size);
  GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_FLAG_UNSET (buf, ~(GST_MINI_OBJECT_FLAG_LAST - 1));
  if (gst_buffer_iterate_meta (buf, &state) != NULL)
    gst_buffer_foreach_meta (buf, remove_meta, NULL);
}

/* Stamps a payload buffer (taken) with its connection offsets and the
 * sender's wall clock, and pushes it. */
static GstFlowReturn
gst_frame_demux_push_payload (GstFrameDemux * self, FrameDemuxConn * conn,
    GstBuffer * out, guint64 timestamp_ms)
{
  /* saturate instead of wrapping for absurd sender clocks */
  GstClockTime ts = timestamp_ms < G_MAXUINT64 / GST_MSECOND ?
      timestamp_ms * GST_MSECOND : G_MAXUINT64 - 1;

  GST_BUFFER_OFFSET (out) = conn->offset;
  conn->offset += gst_buffer_get_size (out);
  GST_BUFFER_OFFSET_END (out) = conn->offset;
  gst_buffer_add_reference_timestamp_meta (out, unix_ts_caps_obj, ts,
      GST_CLOCK_TIME_NONE);
  return gst_frame_demux_push (self, conn, out);
}

/* The parser's callbacks, all on the streaming thread. */

static gboolean
parser_conn_known (gpointer user_data, guint32 conn_no)
{
  GstFrameDemux *self = user_data;

  return g_hash_table_contains (self->conns, GUINT_TO_POINTER (conn_no))
      || g_hash_table_contains (self->closed, GUINT_TO_POINTER (conn_no));
}

static void
parser_damage (gpointer user_data, WrtcDamageKind kind, const gchar * what,
    const WrtcFrameHeader * h, guint64 at)
{
  GstFrameDemux *self = user_data;
  guint max = self->parser.max;

  switch (kind) {
    case WRTC_DAMAGE_FATAL:
      GST_ELEMENT_ERROR (self, STREAM, DEMUX,
          ("Damaged tunnel stream: %s.", what),
          ("at byte offset %" G_GUINT64_FORMAT " of the muxed stream: "
              "connection %u, length %u (max-frame-size %u)", at, h->conn_no,
              h->length, max));
      break;
    case WRTC_DAMAGE_NEW:
      GST_ELEMENT_WARNING (self, STREAM, DEMUX,
          ("Damaged tunnel stream: %s; skipping to the next valid frame.",
              what),
          ("at byte offset %" G_GUINT64_FORMAT " of the muxed stream: "
              "connection %u, length %u (max-frame-size %u)", at, h->conn_no,
              h->length, max));
      break;
    case WRTC_DAMAGE_AGAIN:
      GST_INFO_OBJECT (self, "the sync regained before byte offset %"
          G_GUINT64_FORMAT " was false (%s at byte offset %" G_GUINT64_FORMAT
          "): searching on", self->parser.offset, what, at);
      break;
  }
}

static void
parser_resynced (gpointer user_data, guint64 at)
{
  GstFrameDemux *self = user_data;

  GST_INFO_OBJECT (self, "regained sync at byte offset %" G_GUINT64_FORMAT
      ", skipped %" G_GUINT64_FORMAT " bytes since byte offset %"
      G_GUINT64_FORMAT, at, self->parser.episode_skipped,
      self->parser.lost_at);
}

static void
parser_adopt (gpointer user_data, guint8 * data, gsize size)
{
  GstFrameDemux *self = user_data;

  if (self->adopted != NULL)
    gst_buffer_unref (self->adopted);
  self->adopted = gst_buffer_new_wrapped (data, size);
  self->adopted_data = data;
}

static gboolean
parser_frame (gpointer user_data, const WrtcFrameHeader * h,
    const guint8 * payload, gboolean in_input, gboolean last)
{
  GstFrameDemux *self = user_data;
  FrameDemuxConn *conn;
  GstBuffer *block, *out;
  gsize offset;
  GstFlowReturn ret;

  if (G_UNLIKELY (h->conn_no == WRTC_FRAME_CONTROL_CONN)) {
    gst_frame_demux_handle_control (self, payload, h->length);
    return TRUE;
  }
  conn = gst_frame_demux_get_conn (self, h->conn_no);
  STAT_ADD (self->st_frames, 1);
  STAT_ADD (self->st_bytes, h->length);
  if (G_UNLIKELY (conn == NULL || conn->eos_sent)) {
    /* the peer said it sends nothing more on this connection */
    GST_LOG_OBJECT (self, "dropping frame of closed connection %u",
        h->conn_no);
    STAT_ADD (self->st_after_close, 1);
    return TRUE;
  }
  STAT_ADD (conn->frames, 1);
  STAT_ADD (conn->bytes, h->length);
  if (G_UNLIKELY (h->length == 0))
    return TRUE;

  block = in_input ? self->in_buf : self->adopted;
  offset = payload - (in_input ? self->in_data : self->adopted_data);
  /* The last frame of a block nobody else holds can take over the block's
   * GstBuffer itself, trimmed to its payload: no buffer or memory to
   * allocate for it. With one frame per message (framemux when downstream
   * keeps up) that is every frame. The input stays mapped until the
   * parser returns: its frame goes out then. */
  if (last && gst_buffer_is_writable (block) &&
      gst_buffer_n_memory (block) == 1) {
    if (in_input) {
      self->reuse_conn = conn;
      self->reuse_offset = offset;
      self->reuse_size = h->length;
      self->reuse_ts_ms = h->timestamp_ms;
      return TRUE;
    }
    self->adopted = NULL;
    strip_buffer (block, offset, h->length);
    out = block;
  } else {
    out = gst_buffer_copy_region (block, GST_BUFFER_COPY_MEMORY, offset,
        h->length);
  }
  ret = gst_frame_demux_push_payload (self, conn, out, h->timestamp_ms);
  if (G_UNLIKELY (flow_stops (ret))) {
    GST_DEBUG_OBJECT (self, "stopping: %s", gst_flow_get_name (ret));
    self->parse_ret = ret;
    return FALSE;
  }
  return TRUE;
}

static const WrtcFrameParserCallbacks parser_callbacks = {
  parser_frame, parser_adopt, parser_damage, parser_resynced,
  parser_conn_known,
};

/* After a parser call: drops the block it handed over, publishes its
 * counters, and turns @res into a flow return. */
static GstFlowReturn
gst_frame_demux_parsed (GstFrameDemux * self, WrtcParseResult res)
{
  g_clear_pointer (&self->adopted, gst_buffer_unref);
  self->adopted_data = NULL;
  STAT_SET (self->st_skipped, self->parser.bytes_skipped);
  STAT_SET (self->st_resyncs, self->parser.resyncs);
  STAT_SET (self->st_pending, wrtc_frame_parser_pending (&self->parser));
  switch (res) {
    case WRTC_PARSE_OK:
      return GST_FLOW_OK;
    case WRTC_PARSE_STOPPED:
      return self->parse_ret;
    default:
      return GST_FLOW_ERROR;
  }
}

static GstFlowReturn
gst_frame_demux_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (parent);
  FrameDemuxConn *conn;
  GstFlowReturn ret;
  GstMapInfo map;
  WrtcParseResult res;

  GST_LOG_OBJECT (self, "input of %" G_GSIZE_FORMAT " bytes at offset %"
      G_GUINT64_FORMAT ", %" G_GSIZE_FORMAT " pending",
      gst_buffer_get_size (buf), self->parser.offset,
      wrtc_frame_parser_pending (&self->parser));

  if (!map_input (self, buf, &map))
    return GST_FLOW_ERROR;
  self->in_buf = buf;
  self->in_data = map.data;
  res = wrtc_frame_parser_feed (&self->parser, map.data, map.size,
      g_atomic_int_get (&self->max_frame_size), resync_policy (self));
  self->in_buf = NULL;
  self->in_data = NULL;
  gst_buffer_unmap (buf, &map);
  ret = gst_frame_demux_parsed (self, res);

  conn = self->reuse_conn;
  if (conn != NULL) {
    self->reuse_conn = NULL;
    strip_buffer (buf, self->reuse_offset, self->reuse_size);
    ret = gst_frame_demux_push_payload (self, conn, buf, self->reuse_ts_ms);
    if (G_UNLIKELY (flow_stops (ret)))
      GST_DEBUG_OBJECT (self, "stopping: %s", gst_flow_get_name (ret));
  } else {
    gst_buffer_unref (buf);
  }

  gst_frame_demux_sweep_idle (self);
  return ret;
}

/* ---- events and queries ---- */

static void
gst_frame_demux_handle_eos (GstFrameDemux * self)
{
  gsize avail;
  gboolean error_posted = FALSE, have_pads;

  /* a search may have been postponed: valid frames may still be held */
  gst_frame_demux_parsed (self, wrtc_frame_parser_drain (&self->parser,
          g_atomic_int_get (&self->max_frame_size), resync_policy (self)));
  avail = wrtc_frame_parser_pending (&self->parser);

  if (avail > 0) {
    if (!self->parser.synced) {
      GST_INFO_OBJECT (self, "stream ended while resynchronising: skipping "
          "the last %" G_GSIZE_FORMAT " bytes (%" G_GUINT64_FORMAT
          " since byte offset %" G_GUINT64_FORMAT ")", avail,
          self->parser.episode_skipped + avail, self->parser.lost_at);
    } else if (!resync_policy (self)) {
      GST_ELEMENT_ERROR (self, STREAM, DEMUX,
          ("Tunnel stream ended in the middle of a frame."),
          ("%" G_GSIZE_FORMAT " bytes of an incomplete frame at byte offset %"
              G_GUINT64_FORMAT " of the muxed stream", avail,
              self->parser.offset));
      error_posted = TRUE;
    } else {
      GST_ELEMENT_WARNING (self, STREAM, DEMUX,
          ("Tunnel stream ended in the middle of a frame; its bytes are "
              "dropped."),
          ("%" G_GSIZE_FORMAT " bytes of an incomplete frame at byte offset %"
              G_GUINT64_FORMAT " of the muxed stream", avail,
              self->parser.offset));
    }
  }
  /* counted as skipped, then dropped */
  wrtc_frame_parser_discard (&self->parser);
  gst_frame_demux_parsed (self, WRTC_PARSE_OK);

  have_pads = self->seen_conn;

  if (error_posted)
    return;
  if (!self->parser.seen_valid) {
    GST_ELEMENT_ERROR (self, STREAM, DEMUX,
        ("No valid frame in stream."),
        ("the input is not a tunnel stream (application/x-wrtcframe), or is "
            "damaged beyond recovery: %" G_GUINT64_FORMAT " bytes skipped",
            STAT_GET (self->st_skipped)));
  } else if (!have_pads) {
    GST_ELEMENT_ERROR (self, STREAM, DEMUX,
        ("Stream contained no data connections."),
        ("only control frames (connection 0) were received, so no source "
            "pad was created"));
  }
}

static gboolean gst_frame_demux_wait_drained (GstFrameDemux * self);

/* Queues @event (taken) on every connection's pad, after its data. */
static void
gst_frame_demux_queue_to_all (GstFrameDemux * self, GstEvent * event)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    FrameDemuxConn *conn = value;

    if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
      if (conn->eos_sent)
        continue;
      conn->eos_sent = TRUE;
    }
    frame_demux_conn_queue_event (conn, gst_event_ref (event), FALSE);
  }
  gst_event_unref (event);
}

/* Marks every connection flushing (their queues dropped, chains and tasks
 * woken); no waiting, so it is safe from any thread. */
static void
gst_frame_demux_mark_flushing (GstFrameDemux * self)
{
  GHashTableIter iter;
  gpointer value;
  GList *l;

  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  g_cond_broadcast (&self->closing_cond);
  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    frame_demux_conn_mark_flushing (value);
  for (l = self->closing; l != NULL; l = l->next)
    frame_demux_conn_mark_flushing (l->data);
  GST_OBJECT_UNLOCK (self);
}

/* flush-stop (@event, taken), on the streaming thread: closed connections
 * lost their last events to the flush and go now; the others start again
 * with a fresh segment. */
static void
gst_frame_demux_flush_stop (GstFrameDemux * self, GstEvent * event)
{
  GstEvent *fwd = gst_event_new_flush_stop (TRUE);
  GHashTableIter iter;
  gpointer value;
  GList *closing, *l;

  GST_OBJECT_LOCK (self);
  closing = take_closing (self);
  GST_OBJECT_UNLOCK (self);
  for (l = closing; l != NULL; l = l->next)
    gst_frame_demux_drop_conn (self, l->data);
  g_list_free (closing);

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    frame_demux_conn_wait_paused (value);

  gst_event_set_seqnum (fwd, gst_event_get_seqnum (event));
  gst_event_unref (event);
  gst_pad_event_default (self->sinkpad, GST_OBJECT (self), fwd);

  GST_OBJECT_LOCK (self);
  self->flushing = FALSE;
  g_cond_broadcast (&self->closing_cond);
  GST_OBJECT_UNLOCK (self);
  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    frame_demux_conn_queue_event (value,
        gst_event_ref (gst_frame_demux_segment (self)), FALSE);
    frame_demux_conn_resume (value);
  }
}

static gboolean
gst_frame_demux_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      /* renegotiation does not change the framing: keep parsing as is */
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_STREAM_START:{
      guint group_id;

      if (gst_event_parse_group_id (event, &group_id)) {
        self->group_id = group_id;
        self->have_group_id = TRUE;
      }
      gst_event_unref (event);
      return TRUE;
    }
    case GST_EVENT_SEGMENT:
      /* describes the muxed stream, not the connections */
      gst_event_unref (event);
      return TRUE;
    case GST_EVENT_FLUSH_START:
      /* flags first, so a task sees FLUSHING from downstream as ours */
      gst_frame_demux_mark_flushing (self);
      return gst_pad_event_default (pad, parent, event);
    case GST_EVENT_FLUSH_STOP:
      gst_frame_demux_flush_parser (self);
      gst_frame_demux_flush_stop (self, event);
      return TRUE;
    case GST_EVENT_EOS:
      gst_frame_demux_handle_eos (self);
      gst_frame_demux_queue_to_all (self, event);
      /* the stream is over: return once every pad has sent its EOS, so
       * whoever sent ours knows the connections are complete */
      gst_frame_demux_wait_drained (self);
      return TRUE;
    default:
      /* tags, custom events: to every source pad, in order with its data */
      if (GST_EVENT_IS_SERIALIZED (event)) {
        gst_frame_demux_queue_to_all (self, event);
        return TRUE;
      }
      return gst_pad_event_default (pad, parent, event);
  }
}

/* Waits until every pad has pushed what it had queued; called from the
 * streaming thread (the table does not change meanwhile). */
static gboolean
gst_frame_demux_wait_drained (GstFrameDemux * self)
{
  GHashTableIter iter;
  gpointer value;
  gboolean ok = TRUE;

  g_hash_table_iter_init (&iter, self->conns);
  while (ok && g_hash_table_iter_next (&iter, NULL, &value))
    ok = frame_demux_conn_wait_drained (value);
  return ok;
}

/* A drain query (serialized) returns once every pad has pushed what it had
 * queued. */
static gboolean
gst_frame_demux_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_DRAIN)
    return gst_frame_demux_wait_drained (GST_FRAME_DEMUX (parent));
  return gst_pad_query_default (pad, parent, query);
}

static gboolean
gst_frame_demux_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEEK:
      /* a connection is an untimed byte stream with no index */
      GST_DEBUG_OBJECT (pad, "seeking is not supported");
      gst_event_unref (event);
      return FALSE;
    default:
      return gst_pad_event_default (pad, parent, event);
  }
}

static gboolean
gst_frame_demux_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_SEEKING:{
      GstFormat fmt;

      gst_query_parse_seeking (query, &fmt, NULL, NULL, NULL);
      gst_query_set_seeking (query, fmt, FALSE, -1, -1);
      return TRUE;
    }
    case GST_QUERY_POSITION:
    case GST_QUERY_DURATION:
      /* upstream would answer for the muxed stream, which is wrong here */
      return FALSE;
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

/* ---- state and properties ---- */

static GstStateChangeReturn
gst_frame_demux_change_state (GstElement * element, GstStateChange transition)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    gst_frame_demux_reset (self);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    /* wakes a chain waiting for queue space or for a number to be free */
    gst_frame_demux_mark_flushing (self);
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    gst_frame_demux_remove_pads (self);
    gst_frame_demux_flush_parser (self);
  }
  return ret;
}

static GstStructure *
gst_frame_demux_get_stats (GstFrameDemux * self)
{
  GstStructure *s;
  GValue array = G_VALUE_INIT;
  GList *conns, *l;

  s = gst_structure_new ("application/x-framedemux-stats",
      "frames", G_TYPE_UINT64, STAT_GET (self->st_frames),
      "bytes", G_TYPE_UINT64, STAT_GET (self->st_bytes),
      "control-frames", G_TYPE_UINT64, STAT_GET (self->st_control),
      "bytes-skipped", G_TYPE_UINT64, STAT_GET (self->st_skipped),
      "resyncs", G_TYPE_UINT64, STAT_GET (self->st_resyncs),
      "frames-dropped", G_TYPE_UINT64, STAT_GET (self->st_dropped),
      "bytes-pending", G_TYPE_UINT64, STAT_GET (self->st_pending),
      "frames-after-close", G_TYPE_UINT64, STAT_GET (self->st_after_close),
      "credits-sent", G_TYPE_UINT64, STAT_GET (self->st_credits),
      "connections-failed", G_TYPE_UINT64, STAT_GET (self->st_failed),
      NULL);
  g_mutex_lock (&self->flow_lock);
  gst_structure_set (s, "flow-control", G_TYPE_BOOLEAN, self->flow_active,
      NULL);
  g_mutex_unlock (&self->flow_lock);

  g_value_init (&array, GST_TYPE_ARRAY);
  GST_OBJECT_LOCK (self);
  conns = g_hash_table_get_values (self->conns);
  for (l = conns; l != NULL; l = l->next) {
    FrameDemuxConn *conn = l->data;
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("connection",
            "conn", G_TYPE_UINT, conn->conn_no,
            "frames", G_TYPE_UINT64, STAT_GET (conn->frames),
            "bytes", G_TYPE_UINT64, STAT_GET (conn->bytes),
            "dropped", G_TYPE_UINT64, STAT_GET (conn->dropped),
            "queued-bytes", G_TYPE_UINT64, STAT_GET (conn->queued_bytes),
            "failed", G_TYPE_BOOLEAN, g_atomic_int_get (&conn->dead) != 0,
            NULL));
    gst_value_array_append_and_take_value (&array, &v);
  }
  GST_OBJECT_UNLOCK (self);
  g_list_free (conns);

  gst_structure_take_value (s, "connections", &array);
  return s;
}

static void
gst_frame_demux_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (object);

  switch (prop_id) {
    case PROP_MAX_FRAME_SIZE:
      g_atomic_int_set (&self->max_frame_size, g_value_get_uint (value));
      break;
    case PROP_CORRUPTION_POLICY:
      g_atomic_int_set (&self->corruption_policy, g_value_get_enum (value));
      break;
    case PROP_FLOW_CONTROL:
      g_atomic_int_set (&self->flow_control, g_value_get_boolean (value));
      break;
    case PROP_WINDOW:
      g_atomic_int_set (&self->window_size, g_value_get_uint (value));
      break;
    case PROP_TUNNEL_WINDOW:
      g_atomic_int_set (&self->tunnel_window, g_value_get_uint (value));
      break;
    case PROP_MAX_CONNECTIONS:
      g_atomic_int_set (&self->max_connections, g_value_get_uint (value));
      break;
    case PROP_CAPS:
      GST_OBJECT_LOCK (self);
      gst_caps_replace (&self->caps, g_value_get_boxed (value));
      gst_event_replace (&self->caps_event, NULL);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_frame_demux_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstFrameDemux *self = GST_FRAME_DEMUX (object);

  switch (prop_id) {
    case PROP_MAX_FRAME_SIZE:
      g_value_set_uint (value, g_atomic_int_get (&self->max_frame_size));
      break;
    case PROP_CORRUPTION_POLICY:
      g_value_set_enum (value, g_atomic_int_get (&self->corruption_policy));
      break;
    case PROP_FLOW_CONTROL:
      g_value_set_boolean (value, g_atomic_int_get (&self->flow_control));
      break;
    case PROP_WINDOW:
      g_value_set_uint (value, g_atomic_int_get (&self->window_size));
      break;
    case PROP_TUNNEL_WINDOW:
      g_value_set_uint (value, g_atomic_int_get (&self->tunnel_window));
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, g_atomic_int_get (&self->max_connections));
      break;
    case PROP_CAPS:
      GST_OBJECT_LOCK (self);
      g_value_set_boxed (value, self->caps);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_frame_demux_get_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* wrtcframe-forward: TCP port forwarding and a SOCKS5 proxy through one
 * webrtctunnel. "listen" accepts local TCP connections; each becomes a
 * tunnel connection whose OpenConnection carries the target
 * (forward-target.h). "serve", on the far side, checks the target against
 * its allow-list, connects it and answers ConnectionOpened, or
 * CloseConnection with a reason. Both sides then copy bytes: the local
 * socket into an appsrc on the tunnel's sink_N, the tunnel's src_N into an
 * appsink writing the socket. A blocked socket blocks only its own
 * connection: framedemux has a thread per pad and the credit flow control
 * stops the sender of that connection alone.
 *
 * Threads: one per TCP connection (reads the socket, then tears the
 * connection down), framedemux's pad threads (write the sockets), the main
 * loop (bus, signals). Exit codes: 0 on SIGINT/SIGTERM, 1 usage, 2 the
 * tunnel failed or the far side went away, 3 the local address could not
 * be bound. */

#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/app/app.h>

#include "forward-connect.h"
#include "forward-socks5.h"

#define CODE_OPEN 101
#define CODE_CLOSE 102
#define CODE_OPENED 103

/* close reasons: forward-target.h */

#define READ_CHUNK 65536
#define SINK_KEY "wrtcframe-forward-sink"   /* on src_N: its appsink */
#define CONNECT_TIMEOUT_S 10       /* each address of a target */
#define HANDSHAKE_TIMEOUT_S 10
/* how long a connection done both ways waits for the peer's
 * CloseConnection before it is torn down anyway */
#define CLOSE_WAIT_US (10 * G_USEC_PER_SEC)

typedef struct _Forward Forward;

typedef struct
{
  gint ref;
  Forward *fw;
  guint32 no;
  GSocketConnection *sc;
  GstElement *appsrc;
  GstPad *sink_pad;             /* our request pad on the tunnel */
  ForwardTarget target;

  GMutex lock;
  GCond cond;
  /* protected by lock */
  gboolean opened;              /* target connected (ConnectionOpened) */
  gboolean failed;              /* the peer or we gave up on it */
  guint16 reason;               /* the peer's CloseConnection reason */
  gboolean peer_closed;         /* the peer's CloseConnection came */
  gboolean writer_done;         /* src_N had EOS */
  gboolean reader_done;         /* our EOS reached sink_N: all data in */
} Conn;

struct _Forward
{
  gboolean serve;
  gchar *signaller, *name, *allow, *local, *remote, *socks5, *addresses;
  gchar *stun, *turn;
  ForwardRules *rules;
  ForwardTarget remote_target;

  GstElement *pipeline, *tunnel, *mux, *demux;
  GMainLoop *loop;
  gint exit_code;

  GMutex lock;
  GHashTable *conns;            /* no -> Conn (one ref) */
  gboolean stopping;
};

static Conn *
conn_ref (Conn * c)
{
  g_atomic_int_inc (&c->ref);
  return c;
}

static void
conn_unref (Conn * c)
{
  if (!g_atomic_int_dec_and_test (&c->ref))
    return;
  g_clear_object (&c->sc);
  forward_target_clear (&c->target);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
  g_free (c);
}

static Conn *
conn_new (Forward * fw)
{
  Conn *c = g_new0 (Conn, 1);

  c->ref = 1;
  c->fw = fw;
  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
  return c;
}

/* The connection @no, created when @create and missing; a new ref. */
static Conn *
conn_lookup (Forward * fw, guint32 no, gboolean create)
{
  Conn *c;

  g_mutex_lock (&fw->lock);
  c = g_hash_table_lookup (fw->conns, GUINT_TO_POINTER (no));
  if (!c && create && !fw->stopping) {
    c = conn_new (fw);
    c->no = no;
    g_hash_table_insert (fw->conns, GUINT_TO_POINTER (no), c);
  }
  if (c)
    conn_ref (c);
  g_mutex_unlock (&fw->lock);
  return c;
}

static void
conn_forget (Conn * c)
{
  Forward *fw = c->fw;

  g_mutex_lock (&fw->lock);
  if (g_hash_table_lookup (fw->conns, GUINT_TO_POINTER (c->no)) == c)
    g_hash_table_remove (fw->conns, GUINT_TO_POINTER (c->no));
  g_mutex_unlock (&fw->lock);
}

static void
send_control (Forward * fw, guint code, guint32 no, gint reason)
{
  guint8 d[6];
  GBytes *b;
  gboolean ok = FALSE;

  GST_WRITE_UINT32_BE (d, no);
  if (reason >= 0)
    GST_WRITE_UINT16_BE (d + 4, reason);
  b = g_bytes_new (d, reason >= 0 ? 6 : 4);
  g_signal_emit_by_name (fw->mux, "send-control", code, b, &ok);
  g_bytes_unref (b);
  if (!ok)
    g_printerr ("wrtcframe-forward: could not send control %u for "
        "connection %u\n", code, no);
}

static GSocket *
conn_socket (Conn * c)
{
  return c->sc ? g_socket_connection_get_socket (c->sc) : NULL;
}

/* Blocking without a timeout, and no Nagle delay: the tunnel batches on
 * its own, and a small request must not wait for an earlier one's ack. */
static void
conn_socket_setup (Conn * c)
{
  GSocket *s = conn_socket (c);

  g_socket_set_timeout (s, 0);
  g_socket_set_option (s, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

/* Resets the socket at once (the local peer sees ECONNRESET, not an EOF
 * first) and wakes whatever blocks on it. Connecting to AF_UNSPEC is
 * Linux's way to abort a TCP connection; where it is refused, a shutdown
 * still wakes the blocked calls and the close (linger 0) resets. */
static void
conn_abort_socket (Conn * c)
{
  GSocket *s = conn_socket (c);
  struct linger lg = { 1, 0 };
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };

  if (!s)
    return;
  setsockopt (g_socket_get_fd (s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (connect (g_socket_get_fd (s), &unspec, sizeof unspec) != 0)
    shutdown (g_socket_get_fd (s), SHUT_RDWR);
}

/* Before the connection opened nothing uses its socket: the SOCKS5 side
 * still answers the client with the reason, and closes. */
static void
conn_fail (Conn * c, guint16 reason)
{
  gboolean in_use;

  g_mutex_lock (&c->lock);
  c->failed = TRUE;
  c->reason = reason;
  in_use = c->opened;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  if (in_use)
    conn_abort_socket (c);
}

/* The socket carries data from now on, unless the connection failed
 * meanwhile (then it is reset). */
static gboolean
conn_start_io (Conn * c)
{
  gboolean ok;

  g_mutex_lock (&c->lock);
  ok = !c->failed;
  if (ok) {
    c->opened = TRUE;
    if (c->writer_done)         /* SendEOF came while connecting */
      shutdown (g_socket_get_fd (conn_socket (c)), SHUT_WR);
  }
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  if (!ok)
    conn_abort_socket (c);
  return ok;
}

/* The socket failed (a reset, or a write error): CloseConnection with
 * reason ConnectionLost, once, queued before anything that follows (the
 * SendEOF of the reader that saw it too), then the socket is reset. */
static void
conn_lost (Conn * c)
{
  gboolean in_use;

  g_mutex_lock (&c->lock);
  if (c->failed) {
    g_mutex_unlock (&c->lock);
    return;
  }
  c->failed = TRUE;
  c->reason = REASON_CONNECTION_LOST;
  in_use = c->opened;
  /* framemux only queues it: nothing calls back into us */
  send_control (c->fw, CODE_CLOSE, c->no, REASON_CONNECTION_LOST);
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  if (in_use)
    conn_abort_socket (c);
}

/* Read an EOF: was it a reset? While our side still sends, the peer's FIN
 * leaves the connection in CLOSE_WAIT and a reset in CLOSED. (After our
 * own FIN, a FIN ends in CLOSED too: then it is taken as an EOF.) */
static gboolean
socket_was_reset (Conn * c)
{
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  gboolean sending;

  g_mutex_lock (&c->lock);
  sending = !c->writer_done;
  g_mutex_unlock (&c->lock);
  return sending && getsockopt (g_socket_get_fd (conn_socket (c)),
      IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_CLOSE;
}

/* ---- writing the socket: the tunnel's src_N ---- */

static GstFlowReturn
on_new_sample (GstAppSink * sink, gpointer user_data)
{
  Conn *c = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstMapInfo map;
  gboolean ok;

  if (!sample)
    return GST_FLOW_FLUSHING;
  /* the serving side gets data before its target is connected */
  g_mutex_lock (&c->lock);
  while (!c->opened && !c->failed)
    g_cond_wait (&c->cond, &c->lock);
  ok = !c->failed;
  g_mutex_unlock (&c->lock);
  buf = gst_sample_get_buffer (sample);
  if (ok && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c->sc));

    ok = g_output_stream_write_all (out, map.data, map.size, NULL, NULL,
        NULL);
    gst_buffer_unmap (buf, &map);
    if (!ok)
      conn_lost (c);            /* tell the far side, keep draining */
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void
on_sink_eos (GstAppSink * sink, gpointer user_data)
{
  Conn *c = user_data;

  g_mutex_lock (&c->lock);
  if (c->opened && !c->failed)
    shutdown (g_socket_get_fd (conn_socket (c)), SHUT_WR);      /* SendEOF */
  c->writer_done = TRUE;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
}

/* framedemux tells why the peer closed the connection before the EOS it
 * ends src_N with: a reset must not reach the socket as an EOF first (the
 * control-message signal comes later, from another thread). */
static GstPadProbeReturn
on_src_pad_event (GstPad * pad, GstPadProbeInfo * info, Conn * c)
{
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
  guint reason = REASON_NORMAL;

  if (GST_EVENT_TYPE (ev) == GST_EVENT_CUSTOM_DOWNSTREAM &&
      gst_event_has_name (ev, "framedemux-connection-closed") &&
      gst_structure_get_uint (gst_event_get_structure (ev), "reason",
          &reason) && reason != REASON_NORMAL)
    conn_fail (c, reason);
  return GST_PAD_PROBE_OK;
}

static void
on_tunnel_pad_added (GstElement * tunnel, GstPad * pad, Forward * fw)
{
  GstAppSinkCallbacks cb = { on_sink_eos, NULL, on_new_sample, };
  guint no;
  Conn *c;
  GstElement *sink;
  GstPad *sinkpad;

  if (sscanf (GST_PAD_NAME (pad), "src_%u", &no) != 1)
    return;
  /* serving: the peer's OpenConnection makes this pad first */
  c = conn_lookup (fw, no, fw->serve);
  if (!c) {
    g_printerr ("wrtcframe-forward: data for unknown connection %u "
        "dropped\n", no);
    sink = gst_element_factory_make ("fakesink", NULL);
    g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  } else {
    sink = gst_element_factory_make ("appsink", NULL);
    g_object_set (sink, "sync", FALSE, "async", FALSE,
        "enable-last-sample", FALSE, NULL);
    gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, conn_ref (c),
        (GDestroyNotify) conn_unref);
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        (GstPadProbeCallback) on_src_pad_event, conn_ref (c),
        (GDestroyNotify) conn_unref);
    conn_unref (c);
  }
  gst_bin_add (GST_BIN (fw->pipeline), sink);
  g_object_set_data_full (G_OBJECT (pad), SINK_KEY, gst_object_ref (sink),
      gst_object_unref);
  gst_element_sync_state_with_parent (sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    g_printerr ("wrtcframe-forward: cannot link %s\n", GST_PAD_NAME (pad));
  gst_object_unref (sinkpad);
}

static gboolean
remove_element (GstElement * e)
{
  GstObject *bin = gst_object_get_parent (GST_OBJECT (e));

  gst_element_set_state (e, GST_STATE_NULL);
  if (bin) {
    gst_bin_remove (GST_BIN (bin), e);
    gst_object_unref (bin);
  }
  return G_SOURCE_REMOVE;
}

/* framedemux removed src_N (the peer closed the connection): its sink goes,
 * from the main loop, not from a streaming thread */
static void
on_tunnel_pad_removed (GstElement * tunnel, GstPad * pad, Forward * fw)
{
  GstElement *sink = g_object_steal_data (G_OBJECT (pad), SINK_KEY);

  if (sink)
    g_idle_add_full (G_PRIORITY_DEFAULT, (GSourceFunc) remove_element, sink,
        gst_object_unref);
}

/* ---- the control connection ---- */

static gpointer serve_conn_thread (gpointer data);

static void
on_control_message (GstElement * demux, guint code, GBytes * data,
    Forward * fw)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (data, &len);
  guint32 no;
  Conn *c;

  if (len < 4)
    return;
  no = GST_READ_UINT32_BE (d);
  switch (code) {
    case CODE_OPEN:
      if (!fw->serve)
        break;                  /* the far side's reverse direction */
      c = conn_lookup (fw, no, TRUE);
      if (!c)
        break;
      if (c->target.host == NULL && !c->opened && !c->failed) {
        if (!forward_target_decode (d + 4, len - 4, &c->target)) {
          g_printerr ("wrtcframe-forward: connection %u: no target in its "
              "OpenConnection: refused\n", no);
          send_control (fw, CODE_CLOSE, no, REASON_CONFIGURATION_ERROR);
          conn_fail (c, REASON_CONFIGURATION_ERROR);
          conn_forget (c);
        } else {
          g_thread_unref (g_thread_new ("fwd-conn", serve_conn_thread,
                  conn_ref (c)));
        }
      }
      conn_unref (c);
      break;
    case CODE_OPENED:
      if ((c = conn_lookup (fw, no, FALSE))) {
        g_mutex_lock (&c->lock);
        c->opened = TRUE;
        g_cond_broadcast (&c->cond);
        g_mutex_unlock (&c->lock);
        conn_unref (c);
      }
      break;
    case CODE_CLOSE:
      if ((c = conn_lookup (fw, no, FALSE))) {
        guint16 reason = len >= 6 ? GST_READ_UINT16_BE (d + 4) :
            len == 5 ? d[4] : REASON_NORMAL;

        g_mutex_lock (&c->lock);
        c->peer_closed = TRUE;
        g_cond_broadcast (&c->cond);
        g_mutex_unlock (&c->lock);
        if (reason != REASON_NORMAL)
          conn_fail (c, reason);
        conn_unref (c);
      }
      break;
    default:
      break;
  }
}

/* ---- reading the socket: the tunnel's sink_N ---- */

static GstPadProbeReturn
on_sink_pad_event (GstPad * pad, GstPadProbeInfo * info, Conn * c)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS) {
    g_mutex_lock (&c->lock);
    c->reader_done = TRUE;
    g_cond_broadcast (&c->cond);
    g_mutex_unlock (&c->lock);
  }
  return GST_PAD_PROBE_OK;
}

/* Opens our direction of connection @c (sink_N, or a new number when @no
 * is 0) with @open_data in its OpenConnection. FALSE when stopping. */
static gboolean
conn_open_tunnel (Conn * c, guint32 no, GBytes * open_data)
{
  Forward *fw = c->fw;
  GstPad *pad, *inner, *srcpad;
  gchar *name = no ? g_strdup_printf ("sink_%u", no) : NULL;
  GstCaps *caps;

  pad = gst_element_request_pad_simple (fw->tunnel, name ? name : "sink_%u");
  g_free (name);
  if (!pad)
    return FALSE;
  if (!no) {
    sscanf (GST_PAD_NAME (pad), "sink_%u", &c->no);
    g_mutex_lock (&fw->lock);
    g_hash_table_insert (fw->conns, GUINT_TO_POINTER (c->no), conn_ref (c));
    g_mutex_unlock (&fw->lock);
  }
  if (open_data) {
    /* framemux's pad, behind the bins' ghost pads */
    inner = gst_object_ref (pad);
    while (GST_IS_GHOST_PAD (inner)) {
      GstPad *t = gst_ghost_pad_get_target (GST_GHOST_PAD (inner));

      gst_object_unref (inner);
      inner = t;
    }
    if (inner) {
      g_object_set (inner, "open-data", open_data, NULL);
      gst_object_unref (inner);
    }
  }
  c->sink_pad = pad;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      (GstPadProbeCallback) on_sink_pad_event, conn_ref (c),
      (GDestroyNotify) conn_unref);
  /* caps at once: framemux announces the connection before any data, so
   * a target that speaks first (ssh) is reached without waiting */
  caps = gst_caps_new_empty_simple ("application/octet-stream");
  c->appsrc = gst_element_factory_make ("appsrc", NULL);
  g_object_set (c->appsrc, "format", GST_FORMAT_BYTES, "block", TRUE,
      "max-bytes", (guint64) 256 * 1024, "caps", caps, NULL);
  gst_caps_unref (caps);
  gst_bin_add (GST_BIN (fw->pipeline), gst_object_ref (c->appsrc));
  srcpad = gst_element_get_static_pad (c->appsrc, "src");
  gst_pad_link (srcpad, pad);
  gst_object_unref (srcpad);
  gst_element_sync_state_with_parent (c->appsrc);
  return TRUE;
}

/* Socket -> tunnel until EOF (then SendEOF) or an error (then a
 * CloseConnection with reason ConnectionLost). */
static void
conn_pump (Conn * c)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->sc));

  for (;;) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, READ_CHUNK, NULL);
    GstMapInfo map;
    gssize n;
    GError *err = NULL;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    n = g_input_stream_read (in, map.data, READ_CHUNK, NULL, &err);
    gst_buffer_unmap (buf, &map);
    if (n <= 0) {
      gst_buffer_unref (buf);
      /* a reset that a write took the error of reads as an EOF here */
      if (n < 0 || socket_was_reset (c))
        conn_lost (c);
      g_clear_error (&err);
      gst_app_src_end_of_stream (GST_APP_SRC (c->appsrc));
      return;
    }
    gst_buffer_set_size (buf, n);
    if (gst_app_src_push_buffer (GST_APP_SRC (c->appsrc), buf) !=
        GST_FLOW_OK)
      return;
  }
}

/* Waits until both directions are done (or the connection failed) and
 * removes it: its elements, its sink pad (framemux then sends
 * CloseConnection), its socket. */
static void
conn_finish (Conn * c)
{
  Forward *fw = c->fw;
  gint64 end = g_get_monotonic_time () + CLOSE_WAIT_US;

  g_mutex_lock (&c->lock);
  while (!c->failed && !(c->writer_done && (c->reader_done ||
              !c->appsrc)) && !fw->stopping)
    g_cond_wait (&c->cond, &c->lock);
  g_mutex_unlock (&c->lock);
  /* stopped before its pad goes: a push into a released pad would be a
   * not-linked error (all its data is in when reader_done) */
  if (c->appsrc) {
    gst_element_set_state (c->appsrc, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (fw->pipeline), c->appsrc);
    gst_clear_object (&c->appsrc);
  }
  if (c->sink_pad) {
    gst_element_release_request_pad (fw->tunnel, c->sink_pad);
    gst_clear_object (&c->sink_pad);
  }
  /* the peer's src_N must be done before our appsink goes, else
   * framedemux sees a flushing branch and reports an error */
  g_mutex_lock (&c->lock);
  while (!c->peer_closed && !fw->stopping &&
      g_cond_wait_until (&c->cond, &c->lock, end));
  /* the appsink stays until its src_N goes (on_tunnel_pad_removed):
   * whatever still comes is taken and dropped, so it is acknowledged */
  c->failed = TRUE;
  g_mutex_unlock (&c->lock);
  conn_forget (c);
  if (c->sc)
    g_io_stream_close (G_IO_STREAM (c->sc), NULL, NULL);
}

/* ---- serve: connect the target ---- */

static gpointer
serve_conn_thread (gpointer data)
{
  Conn *c = data;
  Forward *fw = c->fw;
  guint16 reason = REASON_CONNECTION_FAILED;

  c->sc = forward_connect (&c->target, fw->rules, c->no, CONNECT_TIMEOUT_S,
      &reason);
  if (c->sc)
    conn_socket_setup (c);
  if (!c->sc) {
    send_control (fw, CODE_CLOSE, c->no, reason);
    conn_fail (c, reason);
  } else if (conn_open_tunnel (c, c->no, NULL)) {
    send_control (fw, CODE_OPENED, c->no, -1);
    if (conn_start_io (c))
      conn_pump (c);
  }
  conn_finish (c);
  conn_unref (c);
  return NULL;
}

/* ---- listen: local connections ---- */

static gboolean
on_local_connection (GThreadedSocketService * service,
    GSocketConnection * sc, GObject * source, Forward * fw)
{
  Conn *c = conn_new (fw);
  GSocket *s = g_socket_connection_get_socket (sc);
  GBytes *open_data;
  gboolean ok = TRUE;

  c->sc = g_object_ref (sc);
  conn_socket_setup (c);
  if (fw->socks5) {
    /* a client that stalls in its handshake does not keep a thread */
    g_socket_set_timeout (s, HANDSHAKE_TIMEOUT_S);
    ok = socks_handshake (sc, &c->target);
    g_socket_set_timeout (s, 0);
  } else {
    c->target.host = g_strdup (fw->remote_target.host);
    c->target.port = fw->remote_target.port;
  }
  if (!ok) {
    g_printerr ("wrtcframe-forward: not a SOCKS5 CONNECT request: closed\n");
    g_io_stream_close (G_IO_STREAM (sc), NULL, NULL);
    conn_unref (c);
    return TRUE;
  }
  open_data = forward_target_encode (&c->target);
  ok = conn_open_tunnel (c, 0, open_data);
  g_bytes_unref (open_data);
  if (ok) {
    gboolean opened;
    guint16 reason;

    /* SOCKS5 answers once the far side has connected the target; port
     * forwarding starts at once and resets the socket if it failed */
    g_mutex_lock (&c->lock);
    while (fw->socks5 && !c->opened && !c->failed && !fw->stopping)
      g_cond_wait (&c->cond, &c->lock);
    opened = c->opened;
    reason = c->failed ? c->reason : REASON_TUNNEL_CLOSED;
    g_mutex_unlock (&c->lock);
    if (fw->socks5) {
      socks_reply (g_io_stream_get_output_stream (G_IO_STREAM (sc)),
          opened ? 0 : socks_reply_code (reason));
    }
    if (!fw->socks5 || opened) {
      if (conn_start_io (c))
        conn_pump (c);
    } else {
      gst_app_src_end_of_stream (GST_APP_SRC (c->appsrc));
    }
    conn_finish (c);
  } else {
    g_io_stream_close (G_IO_STREAM (sc), NULL, NULL);
  }
  conn_unref (c);
  return TRUE;
}

/* ---- the process ---- */

static void
stop_all (Forward * fw)
{
  GHashTableIter it;
  gpointer value;

  g_mutex_lock (&fw->lock);
  fw->stopping = TRUE;
  g_hash_table_iter_init (&it, fw->conns);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Conn *c = value;

    g_mutex_lock (&c->lock);
    c->failed = TRUE;
    c->reason = REASON_TUNNEL_CLOSED;
    g_cond_broadcast (&c->cond);
    g_mutex_unlock (&c->lock);
    conn_abort_socket (c);
  }
  g_mutex_unlock (&fw->lock);
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, Forward * fw)
{
  GError *err = NULL;
  gchar *dbg = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &dbg);
      if (GST_MESSAGE_SRC (msg) != GST_OBJECT (fw->tunnel) &&
          !gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg),
              GST_OBJECT (fw->tunnel))) {
        /* one connection's element: that connection is gone already */
        g_printerr ("wrtcframe-forward: %s: %s\n",
            GST_MESSAGE_SRC_NAME (msg), err->message);
        g_clear_error (&err);
        g_free (dbg);
        break;
      }
      g_printerr ("wrtcframe-forward: tunnel failed: %s (%s)\n", err->message,
          dbg ? dbg : "");
      g_clear_error (&err);
      g_free (dbg);
      fw->exit_code = 2;
      g_main_loop_quit (fw->loop);
      break;
    case GST_MESSAGE_EOS:
      g_printerr ("wrtcframe-forward: the far side ended the tunnel\n");
      fw->exit_code = 2;
      g_main_loop_quit (fw->loop);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &err, &dbg);
      g_printerr ("wrtcframe-forward: warning: %s\n", err->message);
      g_clear_error (&err);
      g_free (dbg);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (Forward * fw)
{
  fw->exit_code = 0;
  g_main_loop_quit (fw->loop);
  return G_SOURCE_CONTINUE;
}

/* framemux and framedemux inside the tunnel, and the frametunnel */
static gboolean
find_children (Forward * fw)
{
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (fw->tunnel));
  GValue v = G_VALUE_INIT;

  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK) {
    GstElement *e = g_value_get_object (&v);
    const gchar *f = GST_OBJECT_NAME (gst_element_get_factory (e));

    if (g_str_equal (f, "framemux"))
      fw->mux = e;
    else if (g_str_equal (f, "framedemux"))
      fw->demux = e;
    else if (g_str_equal (f, "frametunnel"))
      g_object_set (e, "answer-open", FALSE, NULL);
    g_value_reset (&v);
  }
  g_value_unset (&v);
  gst_iterator_free (it);
  return fw->mux && fw->demux;
}

static gboolean
build_tunnel (Forward * fw)
{
  GObject *sig;
  gchar *meta;

  fw->pipeline = gst_pipeline_new ("wrtcframe-forward");
  fw->tunnel = gst_element_factory_make ("webrtctunnel", "tunnel");
  if (!fw->tunnel) {
    g_printerr ("wrtcframe-forward: the webrtctunnel element is missing "
        "(GST_PLUGIN_PATH?)\n");
    return FALSE;
  }
  gst_bin_add (GST_BIN (fw->pipeline), fw->tunnel);
  g_object_set (fw->tunnel, "end-when-done", FALSE, NULL);
  if (fw->addresses)
    g_object_set (fw->tunnel, "local-addresses", fw->addresses, NULL);
  if (fw->stun)
    g_object_set (fw->tunnel, "stun-server", fw->stun, NULL);
  if (fw->turn)
    g_object_set (fw->tunnel, "turn-server", fw->turn, NULL);
  sig = gst_child_proxy_get_child_by_name (GST_CHILD_PROXY (fw->tunnel),
      "signaller");
  g_object_set (sig, "uri", fw->signaller, NULL);
  if (fw->serve) {
    meta = g_strdup_printf ("meta, name=(string)\"%s\"", fw->name);
    gst_util_set_object_arg (sig, "meta", meta);
    g_free (meta);
  } else {
    gst_util_set_object_arg (sig, "role", "consumer");
    g_object_set (sig, "producer-name", fw->name, NULL);
  }
  g_object_unref (sig);
  if (!find_children (fw))
    return FALSE;
  g_signal_connect (fw->demux, "control-message",
      G_CALLBACK (on_control_message), fw);
  g_signal_connect (fw->tunnel, "pad-added",
      G_CALLBACK (on_tunnel_pad_added), fw);
  g_signal_connect (fw->tunnel, "pad-removed",
      G_CALLBACK (on_tunnel_pad_removed), fw);
  return TRUE;
}

static GSocketService *
start_listener (Forward * fw)
{
  ForwardTarget local = { 0, };
  GSocketService *svc;
  GSocketAddress *addr, *bound = NULL;
  GInetAddress *ia;
  GError *err = NULL;
  gchar *text;

  if (!forward_target_parse (fw->socks5 ? fw->socks5 : fw->local, &local)) {
    g_printerr ("wrtcframe-forward: bad local address\n");
    return NULL;
  }
  ia = g_inet_address_new_from_string (local.host);
  if (!ia) {
    g_printerr ("wrtcframe-forward: %s: the local address must be an IP "
        "address\n", local.host);
    forward_target_clear (&local);
    return NULL;
  }
  addr = g_inet_socket_address_new (ia, local.port);
  g_object_unref (ia);
  svc = g_threaded_socket_service_new (-1);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (svc), addr,
          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound, &err)) {
    g_printerr ("wrtcframe-forward: cannot listen on %s: %s\n",
        fw->socks5 ? fw->socks5 : fw->local, err->message);
    g_error_free (err);
    g_object_unref (addr);
    g_object_unref (svc);
    forward_target_clear (&local);
    return NULL;
  }
  text = g_inet_address_to_string (g_inet_socket_address_get_address
      (G_INET_SOCKET_ADDRESS (bound)));
  g_print ("listening on %s:%u\n", text,
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_free (text);
  g_object_unref (bound);
  g_object_unref (addr);
  forward_target_clear (&local);
  g_signal_connect (svc, "run", G_CALLBACK (on_local_connection), fw);
  g_socket_service_start (svc);
  return svc;
}

static const gchar *summary =
    "Forwards TCP connections through one WebRTC data channel to a peer\n"
    "found through a signalling server (wrtcframe-signalling-server, or\n"
    "gst-plugins-rs' gst-webrtc-signalling-server).\n"
    "\n"
    "  listen --local ADDR:PORT --remote-target HOST:PORT   (like ssh -L)\n"
    "  listen --socks5 ADDR:PORT                            (like ssh -D)\n"
    "  serve  --allow RULES                        (the far side, connects)\n"
    "\n"
    "RULES: comma-separated HOST:PORT; HOST an address, address/prefix\n"
    "(10.0.0.0/8), a name or *; PORT a number or *. Targets outside them\n"
    "are refused (CloseConnection reason ConfigurationError).\n"
    "A PORT of 0 in --local/--socks5 picks a free one; the line\n"
    "\"listening on ADDR:PORT\" tells which. serve prints \"serving NAME\".\n"
    "\n"
    "Exit status: 0 on SIGINT/SIGTERM, 1 usage error, 2 the tunnel failed\n"
    "or the far side went away (every local connection is then closed),\n"
    "3 the local address could not be bound.";

int
main (int argc, char **argv)
{
  Forward fw = { 0, };
  GOptionEntry entries[] = {
    {"signaller", 's', 0, G_OPTION_ARG_STRING, &fw.signaller,
        "Signalling server URI (ws:// or wss://)", "URI"},
    {"name", 'n', 0, G_OPTION_ARG_STRING, &fw.name,
        "serve: the name it registers as; listen: the name of the serve "
          "side to connect to (default wrtcframe-forward)", "NAME"},
    {"local", 'L', 0, G_OPTION_ARG_STRING, &fw.local,
        "listen: accept TCP connections on ADDR:PORT", "ADDR:PORT"},
    {"remote-target", 't', 0, G_OPTION_ARG_STRING, &fw.remote,
        "listen: where the far side connects them", "HOST:PORT"},
    {"socks5", 'D', 0, G_OPTION_ARG_STRING, &fw.socks5,
        "listen: a SOCKS5 proxy on ADDR:PORT (CONNECT; IPv4, IPv6, names)",
        "ADDR:PORT"},
    {"allow", 'a', 0, G_OPTION_ARG_STRING, &fw.allow,
        "serve: the targets it may connect", "RULES"},
    {"local-addresses", 0, 0, G_OPTION_ARG_STRING, &fw.addresses,
        "Only gather ICE candidates on these comma-separated addresses",
        "ADDRS"},
    {"stun-server", 0, 0, G_OPTION_ARG_STRING, &fw.stun,
        "STUN server (stun://host:port)", "URI"},
    {"turn-server", 0, 0, G_OPTION_ARG_STRING, &fw.turn,
        "TURN server (turn://user:password@host:port)", "URI"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("listen|serve - TCP through "
      "a WebRTC data channel");
  GError *err = NULL;
  GSocketService *svc = NULL;
  GstBus *bus;

  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("wrtcframe-forward: %s\n", err->message);
    return 1;
  }
  g_option_context_free (ctx);
  if (argc != 2 || (!g_str_equal (argv[1], "listen") &&
          !g_str_equal (argv[1], "serve"))) {
    g_printerr ("wrtcframe-forward: say listen or serve (--help)\n");
    return 1;
  }
  fw.serve = g_str_equal (argv[1], "serve");
  if (!fw.signaller) {
    g_printerr ("wrtcframe-forward: --signaller is needed\n");
    return 1;
  }
  if (!fw.name)
    fw.name = g_strdup ("wrtcframe-forward");
  if (fw.serve) {
    if (!fw.allow || fw.local || fw.socks5 || fw.remote) {
      g_printerr ("wrtcframe-forward: serve takes --allow (and no --local, "
          "--socks5 or --remote-target)\n");
      return 1;
    }
    if (!(fw.rules = forward_rules_parse (fw.allow, &err))) {
      g_printerr ("wrtcframe-forward: %s\n", err->message);
      return 1;
    }
  } else if (fw.allow || !((fw.local && fw.remote && !fw.socks5) ||
          (fw.socks5 && !fw.local && !fw.remote))) {
    g_printerr ("wrtcframe-forward: listen takes either --local and "
        "--remote-target, or --socks5\n");
    return 1;
  } else if (fw.remote && (!forward_target_parse (fw.remote,
              &fw.remote_target) || fw.remote_target.port == 0)) {
    g_printerr ("wrtcframe-forward: bad --remote-target %s (HOST:PORT)\n",
        fw.remote);
    return 1;
  }

  g_mutex_init (&fw.lock);
  fw.conns = g_hash_table_new_full (NULL, NULL, NULL,
      (GDestroyNotify) conn_unref);
  fw.loop = g_main_loop_new (NULL, FALSE);
  if (!build_tunnel (&fw))
    return 2;
  bus = gst_element_get_bus (fw.pipeline);
  gst_bus_add_watch (bus, (GstBusFunc) on_bus, &fw);
  gst_object_unref (bus);
  g_unix_signal_add (SIGINT, (GSourceFunc) on_signal, &fw);
  g_unix_signal_add (SIGTERM, (GSourceFunc) on_signal, &fw);
  if (!fw.serve && !(svc = start_listener (&fw)))
    return 3;
  if (gst_element_set_state (fw.pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_printerr ("wrtcframe-forward: the tunnel did not start\n");
    return 2;
  }
  if (fw.serve)
    g_print ("serving %s\n", fw.name);
  g_main_loop_run (fw.loop);

  /* every local connection closed now, whatever the pipeline does */
  if (svc)
    g_socket_service_stop (svc);
  stop_all (&fw);
  gst_element_set_state (fw.pipeline, GST_STATE_NULL);
  fflush (stdout);
  fflush (stderr);
  /* connection threads may still be unwinding: leave without joining */
  _exit (fw.exit_code);
}

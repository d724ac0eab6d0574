/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __WEBRTC_FIXTURE_H__
#define __WEBRTC_FIXTURE_H__

#include <gst/check/gstcheck.h>
#include <gst/app/gstappsrc.h>
#include <gst/webrtc/webrtc.h>

#include "webrtc-loopback.h"

G_BEGIN_DECLS

#define MAX_CONNS 65
#define LABEL "tunnel"
/* Any single wait, in seconds; fails loudly past it. 60, times Check's
 * CK_TIMEOUT_MULTIPLIER (the sanitizer run sets it: ASan is slow). */
#define WAIT_S (wrtc_test_wait_s ())
gint wrtc_test_wait_s (void);

typedef struct
{
  guint conn;
  guint64 total;                /* G_MAXUINT64: until stopped */
  guint64 sent;
  guint chunk;
} Source;

typedef struct
{
  GMutex lock;
  GCond cond;
  guint64 received[MAX_CONNS];
  gboolean eos[MAX_CONNS];
  gchar *mismatch;              /* first byte that differed */
  gboolean stall;               /* handoffs block while set */
  gboolean stalled;             /* a handoff is blocked now */
  guint rate[MAX_CONNS];        /* bytes/s a slow reader takes; 0: at once */
  gint64 first_us[MAX_CONNS];   /* monotonic time of the first byte */
  gint64 last_us[MAX_CONNS];    /* ... and of the latest */
  gint64 max_gap_us[MAX_CONNS]; /* longest time between two buffers */
} Receiver;

typedef struct
{
  GstElement *pipeline;
  GstElement *webrtc;
  GstElement *sink;             /* datachannelsink, when sending */
  GstElement *src;              /* datachannelsrc, when receiving */
  Source sources[MAX_CONNS];
  guint n_sources;
  Receiver rx;
  GstWebRTCDataChannel *announced;      /* channel the peer announced */
  gboolean acked[MAX_CONNS];    /* frametunnel: ConnectionOpened seen */
} Peer;

/* byte @offset of connection @conn's pattern, @size of them */
void pattern_fill (guint conn, guint64 offset, guint8 * data, gsize size);

/* GstAppSrc need-data callback feeding the Source in @user_data. */
void source_need_data (GstAppSrc * appsrc, guint length, gpointer user_data);

/* framedemux / frametunnel pad-added: a checking fakesink per src_%u. */
void demux_pad_added (GstElement * demux, GstPad * pad, Receiver * rx);

void peer_init (Peer * peer, const gchar * name);
void peer_add_sender (Peer * peer, guint n, guint64 bytes, guint chunk,
    gboolean create);
void peer_add_receiver (Peer * peer, gboolean create);
GstElement *peer_add_tunnel (Peer * peer, gboolean create, guint n,
    guint64 bytes);
void peer_clear (Peer * peer);

GstMessage *peer_wait_message (Peer * peer, GstMessageType types);
void fail_on_error (Peer * peer, GstMessage * msg);
void peer_expect_sink_eos (Peer * peer);
void peer_expect_receiver_eos (Peer * peer, guint n);
void peer_expect_error (Peer * peer, GstElement * from, const gchar * what);
void peer_wait_received (Peer * peer, guint n, guint64 bytes);
void peer_check_received (Peer * peer, guint n, guint64 bytes, gboolean eos);
void peer_wait_tunnel_received (Peer * peer, Peer * other, guint64 bytes);
void peer_wait_drained (Peer * peer);

void peers_start (Peer * a, Peer * b, WrtcLoopback ** lb);
void peers_stop (Peer * a, Peer * b, WrtcLoopback * lb);

GstStructure *get_stats (GstElement * element);
/* flow-control of the framemux feeding @peer's datachannelsink: tests of
 * the mode without credit (a reference peer) turn it off. */
void peer_set_flow_control (Peer * peer, gboolean on);
/* ... and whether the receiver granted credit (the stats say so) */
gboolean peer_flow_control_active (Peer * peer);
guint64 stat_u64 (const GstStructure * s, const gchar * field);

G_END_DECLS

#endif /* __WEBRTC_FIXTURE_H__ */

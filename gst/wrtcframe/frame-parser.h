/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The incremental tunnel-stream parser behind framedemux, GLib only: bytes
 * in any chunking go in, complete frames come out through callbacks, and
 * damage is resynchronised with frame-resync.h's context checks. The
 * fuzzers drive it directly.
 *
 * Zero-copy: a frame that lies inside the fed bytes is reported as a
 * pointer into them. Bytes that must wait for more input are copied (never
 * kept as references): the header of a frame that spans inputs goes into a
 * small stash, then the frame into a block allocated at its final size
 * (each byte copied once); out of sync, into the search window. When such
 * a block holds complete frames it is handed to the caller (adopt) before
 * its frames are reported, so they too can leave without a copy. */

#ifndef __WRTC_FRAME_PARSER_H__
#define __WRTC_FRAME_PARSER_H__

#include "frame-resync.h"

G_BEGIN_DECLS

typedef enum
{
  WRTC_PARSE_OK,                /* everything used or held */
  WRTC_PARSE_STOPPED,           /* the frame callback said stop */
  WRTC_PARSE_FAILED,            /* damage, and resync is off */
} WrtcParseResult;

typedef enum
{
  WRTC_DAMAGE_FATAL,            /* resync is off: parsing stops */
  WRTC_DAMAGE_NEW,              /* sync lost: a new episode starts */
  WRTC_DAMAGE_AGAIN,            /* the last resync was false: searching on */
} WrtcDamageKind;

typedef struct
{
  /* A complete frame was accepted. @payload (@header->length bytes) lies
   * in the fed bytes (@in_input) or in the block last adopted; @last: no
   * more frames follow in those bytes. FALSE stops parsing: the rest of
   * the bytes is dropped and the call returns WRTC_PARSE_STOPPED. */
  gboolean (*frame) (gpointer user_data, const WrtcFrameHeader * header,
      const guint8 * payload, gboolean in_input, gboolean last);
  /* Held bytes (g_malloc'd) whose frames come next: the callee owns @data
   * from now on and must keep it while frames point into it, that is
   * until the next adopt or the end of the call. */
  void (*adopt) (gpointer user_data, guint8 * data, gsize size);
  /* The stream is damaged at muxed-stream offset @at (@header: what was
   * read there); @what says how, in words. */
  void (*damage) (gpointer user_data, WrtcDamageKind kind,
      const gchar * what, const WrtcFrameHeader * header, guint64 at);
  /* Sync was regained at muxed-stream offset @at (may be NULL). */
  void (*resynced) (gpointer user_data, guint64 at);
  /* Whether connection @conn_no is known to the caller (open, or recently
   * closed); numbers up to WRTC_RESYNC_CONN_AHEAD above the highest seen
   * one are plausible anyway. NULL: every number is. */
  gboolean (*conn_known) (gpointer user_data, guint32 conn_no);
} WrtcFrameParserCallbacks;

/* Fields below "readable" may be read by the owner between calls; the rest
 * is the parser's. */
typedef struct
{
  const WrtcFrameParserCallbacks *cb;
  gpointer user_data;
  guint32 max;                  /* of the current call */
  gboolean resync;

  guint8 stash[WRTC_FRAME_HEADER_SIZE];
  gsize stash_len;
  guint8 *join;                 /* the frame spanning inputs, in sync */
  gsize join_len;
  gsize join_size;
  GByteArray *window;           /* out of sync: bytes being searched */
  gsize resume_at;              /* window offset to try first, or 0 */
  gsize scanned;                /* window bytes at the last fruitless scan */
  /* Resynchronisation context: the last good frame's timestamp and which
   * connections are plausible. A resync accepted on fewer than
   * WRTC_RESYNC_CHAIN frames (the data ended) is on probation for that
   * many frames. A pending frame (join) whose header does not fit the
   * context, or that is on probation, is suspect: the bytes behind its
   * start are searched for verified frames while it waits. */
  WrtcResyncHints hints;
  guint64 prev_ts;              /* timestamp of the previous frame */
  guint32 max_conn;             /* highest connection of a fitting frame */
  guint probation;
  gboolean pending_suspect;
  gsize pending_scan;           /* join offset where its search restarts */
  gsize pending_scanned;        /* join_len at its last fruitless search */

  /* readable */
  gboolean synced;
  guint64 offset;               /* muxed-stream offset of the first unused byte */
  guint64 lost_at;              /* where the current damage episode began */
  guint64 episode_skipped;      /* bytes skipped in it */
  gboolean seen_valid;          /* a frame was accepted */
  guint64 bytes_skipped;
  guint64 resyncs;              /* damage episodes */
} WrtcFrameParser;

void            wrtc_frame_parser_init    (WrtcFrameParser * parser,
                                           const WrtcFrameParserCallbacks * cb,
                                           gpointer user_data);
void            wrtc_frame_parser_clear   (WrtcFrameParser * parser);
/* Back to the start of a stream: nothing held, no context, counters 0. */
void            wrtc_frame_parser_reset   (WrtcFrameParser * parser);

/* Parses @size bytes that continue the stream. Frames longer than @max
 * are damage; @resync: search for sync after damage (else parsing fails
 * at the first damage). */
WrtcParseResult wrtc_frame_parser_feed    (WrtcFrameParser * parser,
                                           const guint8 * data, gsize size,
                                           guint32 max, gboolean resync);
/* At the end of the stream: runs the searches that were spaced out, so
 * held bytes that hold valid frames are parsed. */
WrtcParseResult wrtc_frame_parser_drain   (WrtcFrameParser * parser,
                                           guint32 max, gboolean resync);
/* Drops the held bytes uncounted (a flush), keeping the context. */
void            wrtc_frame_parser_flush   (WrtcFrameParser * parser);
/* Bytes held (a partial frame, or the search window). */
gsize           wrtc_frame_parser_pending (const WrtcFrameParser * parser);
/* Drops the held bytes, counting them as skipped; in sync afterwards. */
void            wrtc_frame_parser_discard (WrtcFrameParser * parser);

G_END_DECLS

#endif /* __WRTC_FRAME_PARSER_H__ */

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Resynchronisation with context: where wrtc_frame_find_sync only knows the
 * bytes, these functions also know what the stream looked like before the
 * damage (the last good frame's timestamp, which connections exist), and
 * accept a position only when a chain of frames that fit that context
 * starts there. Random garbage, even garbage made of a few byte values that
 * include ';', practically never forms such a chain. GLib only, no
 * GStreamer, like frame-codec.h. */

#ifndef __WRTC_FRAME_RESYNC_H__
#define __WRTC_FRAME_RESYNC_H__

#include "frame-codec.h"

G_BEGIN_DECLS

/* A timestamp fits the context when it lies between 10 minutes before and
 * 60 minutes after the reference (the last good frame's timestamp). The
 * sender's wall clock moves on while the stream is damaged, hence the wider
 * window forward; backward only clock corrections count. Even the whole
 * 70-minute window is a 2^-44 fraction of the 64-bit range. */
#define WRTC_RESYNC_TS_BEFORE_MS  (10 * 60 * 1000)
#define WRTC_RESYNC_TS_AFTER_MS   (60 * 60 * 1000)

/* Frames a chain must have before a position is accepted, unless the data
 * ends first. */
#define WRTC_RESYNC_CHAIN         4

/* Connection numbers above the highest seen one, up to this distance, are
 * plausible next connections. */
#define WRTC_RESYNC_CONN_AHEAD    64

typedef gboolean (*WrtcResyncConnFunc) (guint32 conn_no, gpointer user_data);

typedef struct
{
  /* FALSE: no good frame seen yet; the search then applies the rule of
   * wrtc_frame_find_sync (one verified frame, successor not contradicting) */
  gboolean have_ts;
  guint64 ts_ms;                /* timestamp of the last good frame */
  /* Whether a connection number is plausible (open, or a likely next one).
   * NULL: every number is. Connection 0 (control) is always plausible and
   * never passed. */
  WrtcResyncConnFunc conn_plausible;
  gpointer user_data;
  guint chain;                  /* frames required, 0 = WRTC_RESYNC_CHAIN */
} WrtcResyncHints;

/* TRUE if @ts_ms fits the reference @ref_ms (see WRTC_RESYNC_TS_*_MS). */
static inline gboolean
wrtc_resync_ts_close (guint64 ref_ms, guint64 ts_ms)
{
  /* ts in [ref - before, ref + after], without overflow at either end */
  if (ts_ms < ref_ms)
    return ref_ms - ts_ms <= WRTC_RESYNC_TS_BEFORE_MS;
  return ts_ms - ref_ms <= WRTC_RESYNC_TS_AFTER_MS;
}

/* TRUE if @header fits @hints (timestamp and connection). Always TRUE while
 * @hints has no timestamp. */
gboolean      wrtc_resync_header_plausible (const WrtcResyncHints * hints,
                                            const WrtcFrameHeader * header);

typedef enum
{
  WRTC_RESYNC_BAD,              /* no frame (chain) starts here */
  WRTC_RESYNC_UNDECIDED,        /* the first frame is not completely buffered */
  WRTC_RESYNC_GOOD,             /* accepted */
} WrtcResyncVerdict;

/* Judges the position @pos of @data as a frame start.
 *
 * With a timestamp in @hints: GOOD when hints->chain consecutive frames
 * verify there (length at most @max_length, terminator in place, header
 * plausible), or when at least one does and the buffered data ends inside
 * or right after the chain without contradicting it (a partial header is
 * checked as far as it goes). *n_frames is then the number of frames that
 * verified; when it is below the chain length the evidence is weaker and
 * the caller should keep checking what follows.
 *
 * Without (hints NULL or have_ts FALSE): wrtc_frame_find_sync's rule, one
 * verified frame whose successor, as far as it is buffered, is not
 * contradictory; *n_frames is 1 then.
 *
 * O(chain): only headers and terminators are read. */
WrtcResyncVerdict wrtc_resync_check (const guint8 * data, gsize size,
                                     gsize pos, guint32 max_length,
                                     const WrtcResyncHints * hints,
                                     guint * n_frames);

/* Searches @data for the first position right after a ';' that
 * wrtc_resync_check accepts, considering only candidates below
 * @candidate_end (which is at most @size; pass @size for all). The chain
 * may extend beyond @candidate_end. A later candidate that is accepted wins
 * over an earlier undecided one.
 *
 * FOUND: *offset is the accepted position, *n_frames as wrtc_resync_check.
 * NEED_MORE: *offset is how many leading bytes can never hold an accepted
 * candidate (the ';' before the earliest undecided one is kept), so a later
 * call may start there. Linear in @size. */
WrtcFrameSync wrtc_resync_find             (const guint8 * data, gsize size,
                                            gsize candidate_end,
                                            guint32 max_length,
                                            const WrtcResyncHints * hints,
                                            gsize * offset, guint * n_frames);

G_END_DECLS

#endif /* __WRTC_FRAME_RESYNC_H__ */

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Resynchronisation with context, see frame-resync.h. */

#include "frame-resync.h"

static inline guint32
be32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | p[3];
}

static inline gboolean
conn_plausible (const WrtcResyncHints * hints, guint32 conn_no)
{
  return conn_no == WRTC_FRAME_CONTROL_CONN || hints->conn_plausible == NULL
      || hints->conn_plausible (conn_no, hints->user_data);
}

gboolean
wrtc_resync_header_plausible (const WrtcResyncHints * hints,
    const WrtcFrameHeader * header)
{
  if (hints == NULL || !hints->have_ts)
    return TRUE;
  return wrtc_resync_ts_close (hints->ts_ms, header->timestamp_ms)
      && conn_plausible (hints, header->conn_no);
}

/* Checks the first @avail (< 16) bytes of a header as far as they go:
 * connection number (4 bytes) and the upper half of the timestamp
 * (8 bytes) or all of it (12 bytes). FALSE when they contradict @hints. */
static gboolean
partial_header_plausible (const WrtcResyncHints * hints, const guint8 * p,
    gsize avail)
{
  guint64 lo, hi;

  if (avail >= 4 && !conn_plausible (hints, be32 (p)))
    return FALSE;
  if (avail < 8)
    return TRUE;
  lo = hints->ts_ms >= WRTC_RESYNC_TS_BEFORE_MS ?
      hints->ts_ms - WRTC_RESYNC_TS_BEFORE_MS : 0;
  hi = hints->ts_ms <= G_MAXUINT64 - WRTC_RESYNC_TS_AFTER_MS ?
      hints->ts_ms + WRTC_RESYNC_TS_AFTER_MS : G_MAXUINT64;
  if (avail < 12) {
    guint32 top = be32 (p + 4);

    return top >= (guint32) (lo >> 32) && top <= (guint32) (hi >> 32);
  }
  return wrtc_resync_ts_close (hints->ts_ms,
      ((guint64) be32 (p + 4) << 32) | be32 (p + 8));
}

/* The context-free rule of wrtc_frame_find_sync. */
static WrtcResyncVerdict
check_plain (const guint8 * data, gsize size, gsize pos, guint32 max_length,
    guint * n_frames)
{
  WrtcFrameHeader h;

  switch (wrtc_frame_parse (data + pos, size - pos, max_length, &h)) {
    case WRTC_FRAME_OK:
      break;
    case WRTC_FRAME_NEED_MORE:
      return WRTC_RESYNC_UNDECIDED;
    default:
      return WRTC_RESYNC_BAD;
  }
  pos += (gsize) h.length + WRTC_FRAME_OVERHEAD;
  if (pos < size) {
    WrtcFrameStatus next = wrtc_frame_parse (data + pos, size - pos,
        max_length, &h);

    if (next != WRTC_FRAME_OK && next != WRTC_FRAME_NEED_MORE)
      return WRTC_RESYNC_BAD;
  }
  *n_frames = 1;
  return WRTC_RESYNC_GOOD;
}

WrtcResyncVerdict
wrtc_resync_check (const guint8 * data, gsize size, gsize pos,
    guint32 max_length, const WrtcResyncHints * hints, guint * n_frames)
{
  guint chain, n = 0;
  guint dummy;

  if (n_frames == NULL)
    n_frames = &dummy;
  *n_frames = 0;
  if (pos > size)
    return WRTC_RESYNC_UNDECIDED;
  if (hints == NULL || !hints->have_ts)
    return check_plain (data, size, pos, max_length, n_frames);

  chain = hints->chain ? hints->chain : WRTC_RESYNC_CHAIN;
  while (n < chain) {
    gsize avail = size - pos;
    WrtcFrameHeader h;
    WrtcFrameStatus st;

    if (avail < WRTC_FRAME_HEADER_SIZE) {
      if (!partial_header_plausible (hints, data + pos, avail))
        return WRTC_RESYNC_BAD;
      break;                    /* the data ends here */
    }
    st = wrtc_frame_parse (data + pos, avail, max_length, &h);
    if (st == WRTC_FRAME_TOO_LONG || st == WRTC_FRAME_BAD_TERMINATOR
        || !wrtc_resync_header_plausible (hints, &h))
      return WRTC_RESYNC_BAD;
    if (st == WRTC_FRAME_NEED_MORE)
      break;
    n++;
    pos += (gsize) h.length + WRTC_FRAME_OVERHEAD;
  }
  *n_frames = n;
  return n > 0 ? WRTC_RESYNC_GOOD : WRTC_RESYNC_UNDECIDED;
}

/* Same structure as wrtc_frame_find_sync: every ';' is visited once and
 * each candidate costs O(chain), so the search is linear in @size. */
WrtcFrameSync
wrtc_resync_find (const guint8 * data, gsize size, gsize candidate_end,
    guint32 max_length, const WrtcResyncHints * hints, gsize * offset,
    guint * n_frames)
{
  gsize first_undecided = G_MAXSIZE;
  gsize pos = 0;
  guint dummy;

  if (n_frames == NULL)
    n_frames = &dummy;
  *n_frames = 0;
  candidate_end = MIN (candidate_end, size);

  while (pos < candidate_end) {
    gsize cand;

    if (data[pos] != WRTC_FRAME_TERMINATOR) {
      pos += wrtc_frame_find_terminator (data + pos, candidate_end - pos);
      if (pos >= candidate_end)
        break;
    }
    cand = pos + 1;
    pos = cand;
    if (cand >= candidate_end)
      break;

    switch (wrtc_resync_check (data, size, cand, max_length, hints,
            n_frames)) {
      case WRTC_RESYNC_GOOD:
        *offset = cand;
        return WRTC_FRAME_SYNC_FOUND;
      case WRTC_RESYNC_UNDECIDED:
        if (first_undecided == G_MAXSIZE)
          first_undecided = cand;
        break;
      case WRTC_RESYNC_BAD:
        break;
    }
  }

  /* A ';' right before candidate_end: its candidate was not considered. */
  if (first_undecided == G_MAXSIZE && candidate_end == size && size > 0
      && data[size - 1] == WRTC_FRAME_TERMINATOR)
    first_undecided = size;
  *offset = first_undecided != G_MAXSIZE ? first_undecided - 1 : candidate_end;
  return WRTC_FRAME_SYNC_NEED_MORE;
}

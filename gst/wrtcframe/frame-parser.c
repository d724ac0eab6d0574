/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include <string.h>

#include "frame-parser.h"

/* Below this many held bytes every input triggers a new search for sync;
 * above, a search waits until the held bytes have grown by an eighth (a
 * plausible length inside garbage can stretch the window to max: searching
 * all of it for every small input would be quadratic). */
#define RESCAN_MIN_WINDOW (64 * 1024)

#define NOT_A_FRAME "a frame header does not fit the stream (timestamp or " \
  "connection) and verified frames start inside the frame"

static gboolean
conn_plausible (guint32 conn_no, gpointer user_data)
{
  WrtcFrameParser *p = user_data;

  return (guint64) conn_no <= (guint64) p->max_conn + WRTC_RESYNC_CONN_AHEAD
      || p->cb->conn_known == NULL
      || p->cb->conn_known (p->user_data, conn_no);
}

void
wrtc_frame_parser_init (WrtcFrameParser * p,
    const WrtcFrameParserCallbacks * cb, gpointer user_data)
{
  memset (p, 0, sizeof (*p));
  p->cb = cb;
  p->user_data = user_data;
  p->window = g_byte_array_new ();
  wrtc_frame_parser_reset (p);
}

void
wrtc_frame_parser_clear (WrtcFrameParser * p)
{
  g_clear_pointer (&p->join, g_free);
  g_clear_pointer (&p->window, g_byte_array_unref);
}

/* Drops what is held (not the context). */
static void
drop_held (WrtcFrameParser * p)
{
  p->stash_len = 0;
  g_clear_pointer (&p->join, g_free);
  p->join_len = p->join_size = 0;
  /* a new array also releases the memory of a large window */
  g_byte_array_unref (p->window);
  p->window = g_byte_array_new ();
  p->resume_at = 0;
  p->synced = TRUE;
  p->episode_skipped = 0;
  p->scanned = 0;
  p->probation = 0;
  p->pending_suspect = FALSE;
  p->pending_scan = p->pending_scanned = 0;
}

void
wrtc_frame_parser_flush (WrtcFrameParser * p)
{
  drop_held (p);
}

void
wrtc_frame_parser_reset (WrtcFrameParser * p)
{
  drop_held (p);
  p->offset = 0;
  p->seen_valid = FALSE;
  memset (&p->hints, 0, sizeof (p->hints));
  p->hints.conn_plausible = conn_plausible;
  p->hints.user_data = p;
  p->prev_ts = 0;
  p->max_conn = 0;
  p->bytes_skipped = 0;
  p->resyncs = 0;
}

gsize
wrtc_frame_parser_pending (const WrtcFrameParser * p)
{
  return p->synced ? p->stash_len + p->join_len : p->window->len;
}

void
wrtc_frame_parser_discard (WrtcFrameParser * p)
{
  gsize n = wrtc_frame_parser_pending (p);

  p->offset += n;
  p->bytes_skipped += n;
  drop_held (p);
}

/* Sync is lost at @at; the search is to try @resume (a window offset)
 * first, if not 0. FALSE when resync is off. When the previous resync was
 * still on probation it was wrong: the search goes on as part of the same
 * episode. */
static gboolean
lose_sync_at (WrtcFrameParser * p, const gchar * what,
    const WrtcFrameHeader * h, guint64 at, gsize resume)
{
  if (!p->resync) {
    p->cb->damage (p->user_data, WRTC_DAMAGE_FATAL, what, h, at);
    return FALSE;
  }
  if (p->probation > 0) {
    p->cb->damage (p->user_data, WRTC_DAMAGE_AGAIN, what, h, at);
  } else {
    p->cb->damage (p->user_data, WRTC_DAMAGE_NEW, what, h, at);
    p->lost_at = at;
    p->episode_skipped = 0;
    p->resyncs++;
  }
  p->synced = FALSE;
  p->scanned = 0;
  p->probation = 0;
  p->pending_suspect = FALSE;
  p->resume_at = resume;
  return TRUE;
}

static gboolean
lose_sync (WrtcFrameParser * p, WrtcFrameStatus status,
    const WrtcFrameHeader * h, guint64 at)
{
  const gchar *what = status == WRTC_FRAME_TOO_LONG ?
      "a frame is longer than max-frame-size" : "a frame terminator is missing";

  /* Only the terminator is wrong, so the length is probably right: the
   * next frame may start right at the claimed end, where no ';' precedes
   * it for the search to find. */
  return lose_sync_at (p, what, h, at, status == WRTC_FRAME_BAD_TERMINATOR ?
      (gsize) h->length + WRTC_FRAME_OVERHEAD : 0);
}

/* TRUE if @h fits the resynchronisation context (always before the first
 * frame). Cheap: two comparisons in the common case. */
static inline gboolean
frame_fits (WrtcFrameParser * p, const WrtcFrameHeader * h)
{
  if (!p->hints.have_ts)
    return TRUE;
  if (!wrtc_resync_ts_close (p->hints.ts_ms, h->timestamp_ms))
    return FALSE;
  return conn_plausible (h->conn_no, p);
}

/* A frame was accepted: it updates the context. A frame that does not fit
 * it updates the timestamp only when the frame before it had a close one
 * (a sender clock step is confirmed by two frames; a false frame inside
 * damage does not move the reference). */
static inline void
note_frame (WrtcFrameParser * p, const WrtcFrameHeader * h, gboolean fits)
{
  if (G_LIKELY (fits)) {
    p->hints.have_ts = TRUE;
    p->hints.ts_ms = h->timestamp_ms;
    if (h->conn_no > p->max_conn)
      p->max_conn = h->conn_no;
  } else if (wrtc_resync_ts_close (p->prev_ts, h->timestamp_ms)) {
    p->hints.ts_ms = h->timestamp_ms;
  }
  p->prev_ts = h->timestamp_ms;
  p->seen_valid = TRUE;
}

/* A complete frame at @data (@avail bytes buffered from its start) that
 * does not fit the context or is on probation: returns FALSE (sync is
 * dropped, or resync is off) when it contradicts a probation, or when
 * verified frames start inside it. @at: its muxed-stream offset. */
static gboolean
vet (WrtcFrameParser * p, const WrtcFrameHeader * h, gboolean fits,
    const guint8 * data, gsize avail, guint64 at)
{
  gsize off;

  if (!p->resync)
    return TRUE;
  if (p->probation > 0 && !fits) {
    lose_sync_at (p, "a frame after a resynchronisation does not fit the "
        "stream", h, at, 0);
    return FALSE;
  }
  if (wrtc_resync_find (data, avail, (gsize) h->length + WRTC_FRAME_OVERHEAD,
          p->max, &p->hints, &off, NULL) == WRTC_FRAME_SYNC_FOUND) {
    lose_sync_at (p, NOT_A_FRAME, h, at, off);
    return FALSE;
  }
  if (p->probation > 0)
    p->probation--;
  return TRUE;
}

/* Discards the first @n bytes of the search window. */
static void
skip (WrtcFrameParser * p, gsize n)
{
  g_byte_array_remove_range (p->window, 0, n);
  p->offset += n;
  p->episode_skipped += n;
  p->bytes_skipped += n;
}

/* Copies bytes of a frame that spans inputs (in sync). Returns how many
 * bytes of @data it took: all of them unless they complete the frame. The
 * frame is complete when join_len == join_size; when stash is full but
 * join is NULL the header announced more than max. */
static gsize
hold (WrtcFrameParser * p, const guint8 * data, gsize size)
{
  gsize used = 0, n;

  if (p->join == NULL) {
    WrtcFrameHeader h;

    n = MIN (WRTC_FRAME_HEADER_SIZE - p->stash_len, size);
    memcpy (p->stash + p->stash_len, data, n);
    p->stash_len += n;
    used = n;
    if (p->stash_len < WRTC_FRAME_HEADER_SIZE)
      return used;
    wrtc_frame_read_header (p->stash, &h);
    if (h.length > p->max)
      return used;
    p->join_size = (gsize) h.length + WRTC_FRAME_OVERHEAD;
    p->join = g_malloc (p->join_size);
    p->pending_suspect = p->resync && (p->probation > 0
        || !frame_fits (p, &h));
    p->pending_scan = p->pending_scanned = 0;
    memcpy (p->join, p->stash, WRTC_FRAME_HEADER_SIZE);
    p->join_len = WRTC_FRAME_HEADER_SIZE;
    p->stash_len = 0;
  }
  n = MIN (p->join_size - p->join_len, size - used);
  memcpy (p->join + p->join_len, data + used, n);
  p->join_len += n;
  return used + n;
}

/* Walks @data, which starts at a frame boundary, reporting every complete
 * frame. A partial frame at the end goes to stash/join, everything from a
 * damaged frame on to the window. */
static WrtcParseResult
walk (WrtcFrameParser * p, const guint8 * data, gsize size, gboolean in_input)
{
  WrtcParseResult res = WRTC_PARSE_OK;
  gboolean keep_rest = TRUE;
  gsize pos = 0;

  while (pos < size) {
    WrtcFrameHeader h;
    WrtcFrameStatus status;

    status = wrtc_frame_parse (data + pos, size - pos, p->max, &h);
    if (G_LIKELY (status == WRTC_FRAME_OK)) {
      gsize payload = pos + WRTC_FRAME_HEADER_SIZE;
      gboolean fits = frame_fits (p, &h);

      if (G_UNLIKELY (!fits || p->probation > 0)
          && !vet (p, &h, fits, data + pos, size - pos, p->offset + pos)) {
        if (!p->synced)
          break;
        res = WRTC_PARSE_FAILED;
        keep_rest = FALSE;
        break;
      }
      note_frame (p, &h, fits);
      pos = payload + h.length + 1;
      if (G_UNLIKELY (!p->cb->frame (p->user_data, &h, data + payload,
                  in_input, pos == size))) {
        res = WRTC_PARSE_STOPPED;
        keep_rest = FALSE;
        break;
      }
      continue;
    }
    if (status == WRTC_FRAME_NEED_MORE)
      break;
    if (!lose_sync (p, status, &h, p->offset + pos)) {
      res = WRTC_PARSE_FAILED;
      keep_rest = FALSE;
    }
    break;
  }

  p->offset += pos;
  if (keep_rest && pos < size) {
    if (p->synced)
      hold (p, data + pos, size - pos);
    else
      g_byte_array_append (p->window, data + pos, size - pos);
  }
  return res;
}

/* The pending frame is suspect: searches the bytes behind its start for a
 * chain of verified frames (spaced out like the window search). TRUE: one
 * was found, the pending frame is dropped as damage and its bytes became
 * the search window, to be resumed at that chain. */
static gboolean
check_pending (WrtcFrameParser * p, gboolean force)
{
  WrtcFrameHeader h;
  gsize from = p->pending_scan, off;

  if (!p->pending_suspect || p->join == NULL || !p->resync)
    return FALSE;
  if (!force && p->pending_scanned > RESCAN_MIN_WINDOW &&
      p->join_len - p->pending_scanned < p->pending_scanned / 8)
    return FALSE;
  if (wrtc_resync_find (p->join + from, p->join_len - from,
          p->join_len - from, p->max, &p->hints, &off, NULL) ==
      WRTC_FRAME_SYNC_NEED_MORE) {
    p->pending_scan = from + off;
    p->pending_scanned = p->join_len;
    return FALSE;
  }
  wrtc_frame_read_header (p->join, &h);
  lose_sync_at (p, NOT_A_FRAME, &h, p->offset, from + off);
  /* the window is empty while in sync: it takes over the bytes */
  g_byte_array_unref (p->window);
  p->window = g_byte_array_new_take (p->join, p->join_len);
  p->join = NULL;
  p->join_len = p->join_size = 0;
  return TRUE;
}

/* Parses @data (may be NULL), which continues the bytes held so far: walks
 * it when in sync, otherwise searches for sync and walks from there.
 * @force: search even if little data came since the last search. */
static WrtcParseResult
process (WrtcFrameParser * p, const guint8 * data, gsize size,
    gboolean force)
{
  WrtcParseResult res = WRTC_PARSE_OK;
  gboolean in_input = TRUE;

  for (;;) {
    GByteArray *win;
    guint8 *bytes;
    gsize off, len;
    guint n = 0;

    if (p->synced) {
      if (data != NULL) {
        res = walk (p, data, size, in_input);
        data = NULL;
        if (res != WRTC_PARSE_OK)
          return res;
      }
      /* a suspect pending frame may hide the frames behind it */
      if (p->synced && !check_pending (p, force))
        return res;
    } else if (data != NULL) {
      g_byte_array_append (p->window, data, size);
      data = NULL;
    }

    win = p->window;
    if (win->len == 0)
      return res;

    /* the position after the damaged frame is tried once, with the data
     * buffered now; if it cannot be decided the normal search takes over */
    off = p->resume_at;
    p->resume_at = 0;
    if (off == 0 || wrtc_resync_check (win->data, win->len, off, p->max,
            &p->hints, &n) != WRTC_RESYNC_GOOD) {
      if (!force && p->scanned > RESCAN_MIN_WINDOW &&
          win->len - p->scanned < p->scanned / 8)
        return res;
      if (wrtc_resync_find (win->data, win->len, win->len, p->max,
              &p->hints, &off, &n) == WRTC_FRAME_SYNC_NEED_MORE) {
        skip (p, off);
        p->scanned = win->len;
        return res;
      }
    }
    skip (p, off);
    p->scanned = 0;
    if (p->cb->resynced)
      p->cb->resynced (p->user_data, p->offset);
    p->synced = TRUE;
    /* a chain cut short by the end of the data is confirmed while walking */
    p->probation = p->hints.have_ts && n < WRTC_RESYNC_CHAIN ?
        WRTC_RESYNC_CHAIN : 0;
    /* the window's bytes are handed over and walked in place */
    bytes = g_byte_array_steal (win, &len);
    p->cb->adopt (p->user_data, bytes, len);
    data = bytes;
    size = len;
    in_input = FALSE;
  }
}

WrtcParseResult
wrtc_frame_parser_feed (WrtcFrameParser * p, const guint8 * data, gsize size,
    guint32 max, gboolean resync)
{
  WrtcParseResult res = WRTC_PARSE_OK;
  gsize start = 0;

  p->max = max;
  p->resync = resync;
  if (p->synced && (p->stash_len > 0 || p->join != NULL)) {
    /* Complete the pending frame with just the bytes it lacks; the rest of
     * @data is then walked in place. */
    start = hold (p, data, size);
    if (p->join != NULL && p->join_len == p->join_size) {
      guint8 *frame = p->join;
      gsize n = p->join_size;

      p->join = NULL;
      p->join_len = p->join_size = 0;
      p->cb->adopt (p->user_data, frame, n);
      res = walk (p, frame, n, FALSE);
    } else if (p->stash_len == WRTC_FRAME_HEADER_SIZE) {
      WrtcFrameHeader h;

      wrtc_frame_read_header (p->stash, &h);
      if (lose_sync (p, WRTC_FRAME_TOO_LONG, &h, p->offset))
        g_byte_array_append (p->window, p->stash, p->stash_len);
      else
        res = WRTC_PARSE_FAILED;
      p->stash_len = 0;
    } else {
      /* all of @data went into the pending frame */
      return process (p, NULL, 0, FALSE);
    }
    if (res != WRTC_PARSE_OK)
      return res;
  }
  /* after a damaged frame this searches, even if no bytes are left */
  if (start < size || !p->synced)
    return process (p, data + start, size - start, FALSE);
  return WRTC_PARSE_OK;
}

WrtcParseResult
wrtc_frame_parser_drain (WrtcFrameParser * p, guint32 max, gboolean resync)
{
  p->max = max;
  p->resync = resync;
  if (p->synced && !p->pending_suspect)
    return WRTC_PARSE_OK;
  return process (p, NULL, 0, TRUE);
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Fuzz target for the frame codec's parsing side, driven the way framedemux
 * drives it: parse frames one after the other, hand connection-0 payloads to
 * the control parser, and on damage search for sync and carry on.
 *
 * Input: byte 0 picks max_length (see max_lengths[]), the rest is the
 * stream. Besides the sanitizers, the oracles are:
 *  - find_terminator agrees with a plain loop at every alignment;
 *  - the header decode agrees with a byte-wise decode;
 *  - a found sync position really parses, and NEED_MORE never asks to drop
 *    more than it was given;
 *  - a control message that parses re-encodes to the same bytes (modulo the
 *    one-byte CloseConnection reason of old peers). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame-codec.h"
#include "fuzz-common.h"

static const guint32 max_lengths[] = {
  16 * 1024 * 1024, 0, 1, 2, 16, 17, 64, 1000, 65535, 65536, G_MAXUINT32,
  G_MAXINT32, 255, 4096, 6, 8,
};

typedef struct
{
  guint8 kind;                  /* 'F' frame, 'C' control, 'S' skip */
  guint8 status;
  guint32 conn_no;
  guint32 length;
  guint64 ts;
  gsize pos;
} WalkEvent;

static guint32
be32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | p[3];
}

static void
check_control (const guint8 * payload, gsize size)
{
  WrtcControlMessage msg;
  WrtcControlParseResult r = wrtc_control_parse (payload, size, &msg);
  guint8 *out;
  gsize n, fixed;

  if (r == WRTC_CONTROL_PARSE_TRUNCATED)
    return;
  FUZZ_CHECK (size >= 2);
  FUZZ_CHECK (msg.code == ((payload[0] << 8) | payload[1]));
  FUZZ_CHECK (msg.data >= payload && msg.data + msg.data_len == payload + size);
  FUZZ_CHECK (wrtc_control_code_name (msg.code) != NULL);

  fixed = (gsize) (msg.data - payload);
  out = g_malloc (size + 2);
  n = wrtc_control_encode (out, size + 2, &msg);
  if (msg.code == WRTC_CONTROL_CLOSE_CONNECTION && fixed == 7) {
    /* a one-byte reason is widened: the re-encoding is one byte longer */
    FUZZ_CHECK (n == size + 1);
    FUZZ_CHECK (memcmp (out, payload, 6) == 0);
    FUZZ_CHECK (out[6] == 0 && out[7] == payload[6]);
  } else {
    FUZZ_CHECK (n == size);
    FUZZ_CHECK (memcmp (out, payload, size) == 0);
  }
  /* one byte too small must be refused, not overrun */
  FUZZ_CHECK (wrtc_control_encode (out, n - 1, &msg) == 0);
  g_free (out);
}

/* The framedemux loop over a whole buffer, recorded in @events. */
static void
walk (const guint8 * data, gsize size, guint32 max, GArray * events)
{
  gsize pos = 0;

  while (pos < size) {
    WrtcFrameHeader h;
    WrtcFrameStatus st = wrtc_frame_parse (data + pos, size - pos, max, &h);
    WalkEvent ev;
    gsize off = 0;

    /* compared with memcmp: padding too must be zero */
    memset (&ev, 0, sizeof (ev));

    if (st == WRTC_FRAME_OK) {
      FUZZ_CHECK (h.length <= max);
      FUZZ_CHECK (h.length <= size - pos - WRTC_FRAME_OVERHEAD);
      FUZZ_CHECK (data[pos + WRTC_FRAME_HEADER_SIZE + h.length] == ';');
      FUZZ_CHECK (h.conn_no == be32 (data + pos));
      FUZZ_CHECK (h.length == be32 (data + pos + 12));
      ev.kind = h.conn_no == WRTC_FRAME_CONTROL_CONN ? 'C' : 'F';
      ev.conn_no = h.conn_no;
      ev.length = h.length;
      ev.ts = h.timestamp_ms;
      ev.pos = pos;
      g_array_append_val (events, ev);
      if (h.conn_no == WRTC_FRAME_CONTROL_CONN)
        check_control (data + pos + WRTC_FRAME_HEADER_SIZE, h.length);
      pos += WRTC_FRAME_OVERHEAD + (gsize) h.length;
      continue;
    }
    if (st == WRTC_FRAME_NEED_MORE) {
      FUZZ_CHECK (size - pos < WRTC_FRAME_HEADER_SIZE ||
          (gsize) h.length + WRTC_FRAME_OVERHEAD > size - pos);
      break;
    }
    FUZZ_CHECK (size - pos >= WRTC_FRAME_HEADER_SIZE);
    if (st == WRTC_FRAME_TOO_LONG)
      FUZZ_CHECK (h.length > max);
    else
      FUZZ_CHECK (st == WRTC_FRAME_BAD_TERMINATOR);

    /* damaged frame at pos: search for sync from there */
    if (wrtc_frame_find_sync (data + pos, size - pos, max, &off) ==
        WRTC_FRAME_SYNC_FOUND) {
      WrtcFrameHeader h2;

      FUZZ_CHECK (off > 0 && off < size - pos);
      FUZZ_CHECK (data[pos + off - 1] == ';');
      FUZZ_CHECK (wrtc_frame_parse (data + pos + off, size - pos - off, max,
              &h2) == WRTC_FRAME_OK);
      ev.kind = 'S';
      ev.status = st;
      ev.pos = pos;
      ev.length = off;
      g_array_append_val (events, ev);
      pos += off;
      continue;
    }
    FUZZ_CHECK (off <= size - pos);
    ev.kind = 'N';
    ev.pos = pos;
    ev.length = off;
    g_array_append_val (events, ev);
    break;
  }
}

static void
check_find_terminator (const guint8 * data, gsize size)
{
  gsize start;

  for (start = 0; start < MIN (size, 33); start++) {
    gsize i, want = size - start, got;

    for (i = start; i < size; i++)
      if (data[i] == ';') {
        want = i - start;
        break;
      }
    got = wrtc_frame_find_terminator (data + start, size - start);
    FUZZ_CHECK (got == want);
  }
}

static void
check_read_header (const guint8 * data, gsize size)
{
  WrtcFrameHeader h;
  gsize pos;

  for (pos = 0; pos + WRTC_FRAME_HEADER_SIZE <= size && pos < 64; pos++) {
    wrtc_frame_read_header (data + pos, &h);
    FUZZ_CHECK (h.conn_no == be32 (data + pos));
    FUZZ_CHECK (h.timestamp_ms == (((guint64) be32 (data + pos + 4) << 32) |
            be32 (data + pos + 8)));
    FUZZ_CHECK (h.length == be32 (data + pos + 12));
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t input_size)
{
  GArray *events;
  const guint8 *data;
  guint8 *copy;
  gsize size;
  guint32 max;

  if (input_size < 1)
    return 0;
  max = max_lengths[input[0] % G_N_ELEMENTS (max_lengths)];
  size = input_size - 1;
  /* an exact-size heap copy, so ASan sees any read past the end */
  copy = g_malloc (size ? size : 1);
  memcpy (copy, input + 1, size);
  data = copy;

  /* direct control parse of the raw bytes as well */
  check_control (data, size);

  check_find_terminator (data, size);
  check_read_header (data, size);
  events = g_array_new (FALSE, TRUE, sizeof (WalkEvent));
  walk (data, size, max, events);

  g_array_unref (events);
  g_free (copy);
  return 0;
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Fuzz target: the incremental parser (frame-parser.h) alone, GLib only,
 * fed in chunks the input decides. Same input layout as fuzz-framedemux.c,
 * whose corpus it replays: byte 0 flags (bit 0 resync off, bit 5 flush
 * halfway), byte 1 bits 0-3 the max-frame-size index, bit 4 a change of it
 * halfway (to the index in bits 5-7), byte 2 the largest chunk
 * (1 << (value % 18)), bytes 3-6 the chunk generator's seed.
 *
 * Oracles besides the sanitizers:
 *  - every frame reported is at most max long, its terminator follows its
 *    payload, and the payload lies inside the bytes it is said to be in (a
 *    "last" frame of the input ends exactly at the input's end);
 *  - the bytes held stay within max + 18, plus an eighth, plus the search
 *    window's first 64 KiB;
 *  - WRTC_PARSE_FAILED comes exactly with a fatal damage report, and only
 *    with resync off; damage is never fatal with resync on;
 *  - an undamaged stream whose every header fits the context of the one
 *    before it gives exactly the frames of a one-pass parse, in order, in
 *    any chunking. */

#include <string.h>
#include <glib.h>

#include "frame-parser.h"
#include "fuzz-common.h"

#define HEADER 7

static const guint max_sizes[] = {
  16 * 1024 * 1024, 0, 1, 2, 8, 16, 17, 64, 100, 1000, 4096, 65535, 65536,
  70000, 255, 256,
};

typedef struct
{
  const guint8 *input;          /* the chunk being fed */
  gsize input_size;
  const guint8 *block;          /* the adopted block */
  gsize block_size;
  guint max;
  gboolean resync;
  gboolean fatal;
  GByteArray *frames;           /* conn, ts, length, payload of each */
} Run;

static void
append_frame (GByteArray * out, guint32 conn, guint64 ts, const guint8 * p,
    guint32 len)
{
  guint8 h[WRTC_FRAME_HEADER_SIZE];

  wrtc_frame_write_header (h, conn, ts, len);
  g_byte_array_append (out, h, sizeof (h));
  g_byte_array_append (out, p, len);
}

static gboolean
on_frame (gpointer user_data, const WrtcFrameHeader * h,
    const guint8 * payload, gboolean in_input, gboolean last)
{
  Run *r = user_data;
  const guint8 *base = in_input ? r->input : r->block;
  gsize size = in_input ? r->input_size : r->block_size;

  FUZZ_CHECK (h->length <= r->max);
  FUZZ_CHECK (base != NULL && payload >= base);
  FUZZ_CHECK ((gsize) (payload - base) + h->length < size);
  FUZZ_CHECK (payload[h->length] == ';');
  if (last)
    FUZZ_CHECK ((gsize) (payload - base) + h->length + 1 == size);
  if (r->frames)
    append_frame (r->frames, h->conn_no, h->timestamp_ms, payload, h->length);
  return TRUE;
}

static void
on_adopt (gpointer user_data, guint8 * data, gsize size)
{
  Run *r = user_data;

  g_free ((gpointer) r->block);
  r->block = data;
  r->block_size = size;
}

static void
on_damage (gpointer user_data, WrtcDamageKind kind, const gchar * what,
    const WrtcFrameHeader * h, guint64 at)
{
  Run *r = user_data;

  FUZZ_CHECK (what != NULL && h != NULL);
  FUZZ_CHECK ((kind == WRTC_DAMAGE_FATAL) == !r->resync);
  if (kind == WRTC_DAMAGE_FATAL) {
    FUZZ_CHECK (!r->fatal);
    r->fatal = TRUE;
  }
}

static gboolean
on_conn_known (gpointer user_data, guint32 conn_no)
{
  return conn_no % 251 == 3;
}

static const WrtcFrameParserCallbacks callbacks = {
  on_frame, on_adopt, on_damage, NULL, on_conn_known,
};

/* The frames of @data parsed in one pass, or NULL when it is damaged or a
 * header does not fit the context of the one before (damage handling,
 * which depends on what is buffered). A truncated tail is left out. */
static GByteArray *
model_parse (const guint8 * data, gsize size, guint max)
{
  GByteArray *out = g_byte_array_new ();
  gboolean have_ts = FALSE;
  guint64 ref_ts = 0;
  guint32 max_conn = 0;
  gsize pos = 0;

  while (pos < size) {
    WrtcFrameHeader h;
    WrtcFrameStatus st = wrtc_frame_parse (data + pos, size - pos, max, &h);

    if (st != WRTC_FRAME_NEED_MORE || size - pos >= WRTC_FRAME_HEADER_SIZE) {
      if (have_ts && (!wrtc_resync_ts_close (ref_ts, h.timestamp_ms) ||
              (guint64) h.conn_no > (guint64) max_conn +
              WRTC_RESYNC_CONN_AHEAD))
        break;
      have_ts = TRUE;
      ref_ts = h.timestamp_ms;
      max_conn = MAX (max_conn, h.conn_no);
    }
    if (st == WRTC_FRAME_NEED_MORE)
      return out;
    if (st != WRTC_FRAME_OK)
      break;
    append_frame (out, h.conn_no, h.timestamp_ms,
        data + pos + WRTC_FRAME_HEADER_SIZE, h.length);
    pos += WRTC_FRAME_OVERHEAD + (gsize) h.length;
  }
  if (pos == size)
    return out;
  g_byte_array_unref (out);
  return NULL;
}

static guint32
xorshift (guint32 * s)
{
  guint32 x = *s;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static WrtcParseResult
checked (Run * r, WrtcFrameParser * p, WrtcParseResult res, gsize chunk_max)
{
  guint64 bound = (guint64) r->max + 18;

  FUZZ_CHECK (res != WRTC_PARSE_STOPPED);
  FUZZ_CHECK ((res == WRTC_PARSE_FAILED) == r->fatal);
  FUZZ_CHECK (wrtc_frame_parser_pending (p) <= bound + bound / 8 +
      64 * 1024 + chunk_max);
  g_clear_pointer ((gpointer *) & r->block, g_free);
  r->block_size = 0;
  return res;
}

int
LLVMFuzzerTestOneInput (const uint8_t * input, size_t input_size)
{
  WrtcFrameParser parser;
  WrtcParseResult res = WRTC_PARSE_OK;
  GByteArray *model = NULL;
  const guint8 *data;
  gsize size, pos = 0, chunk_max;
  guint max, max2, cur_max;
  guint32 rng;
  gboolean flush, halfway_done = FALSE;
  Run r = { 0 };

  if (input_size < HEADER)
    return 0;
  r.resync = !(input[0] & 1);
  flush = (input[0] & (1 << 5)) != 0;
  max = max_sizes[input[1] & 0x0f];
  max2 = (input[1] & 0x10) ? max_sizes[input[1] >> 5] : max;
  chunk_max = (gsize) 1 << ((input[2] & 0x7f) % 18);
  rng = ((guint32) input[3] << 24 | (guint32) input[4] << 16 |
      (guint32) input[5] << 8 | input[6]) | 1;
  data = input + HEADER;
  size = input_size - HEADER;
  if (!flush && max2 == max)
    model = model_parse (data, size, max);
  if (model)
    r.frames = g_byte_array_new ();
  r.max = cur_max = max;

  wrtc_frame_parser_init (&parser, &callbacks, &r);
  while (pos < size && res == WRTC_PARSE_OK) {
    gsize n = 1 + xorshift (&rng) % chunk_max;

    n = MIN (n, size - pos);
    r.input = data + pos;
    r.input_size = n;
    res = checked (&r, &parser, wrtc_frame_parser_feed (&parser, data + pos,
            n, cur_max, r.resync), chunk_max);
    r.input = NULL;
    pos += n;
    if (!halfway_done && pos >= size / 2) {
      halfway_done = TRUE;
      /* frames and held bytes are within the larger one from now on */
      cur_max = max2;
      r.max = MAX (max, max2);
      if (flush)
        wrtc_frame_parser_flush (&parser);
    }
  }
  if (res == WRTC_PARSE_OK)
    res = checked (&r, &parser, wrtc_frame_parser_drain (&parser, cur_max,
            r.resync), chunk_max);
  if (model != NULL && res == WRTC_PARSE_OK) {
    FUZZ_CHECK (r.frames->len == model->len);
    FUZZ_CHECK (model->len == 0 ||
        memcmp (r.frames->data, model->data, model->len) == 0);
  }
  wrtc_frame_parser_discard (&parser);
  FUZZ_CHECK (wrtc_frame_parser_pending (&parser) == 0);
  FUZZ_CHECK (parser.synced);
  wrtc_frame_parser_clear (&parser);
  if (model)
    g_byte_array_unref (model);
  if (r.frames)
    g_byte_array_unref (r.frames);
  return 0;
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Unit tests of the frame codec (frame-codec.h) against wire-format.md.
 *
 * The golden vectors below are typed by hand from the table in
 * wire-format.md, never produced by the encoder, so an error made the same
 * way in encoder and decoder cannot hide. */

#include <gst/check/gstcheck.h>
#include <string.h>

#include "frame-codec.h"
#include "frame-resync.h"

#define SEED 0x5eed2026
#define MAX_LEN_DEFAULT (16 * 1024 * 1024)

/* ---- helpers ---- */

/* Check's fail_unless () talks to the parent process on every call, even
 * when it passes; in loops of millions of checks only fail on a mismatch. */
#define EXPECT_EQ(a, b) G_STMT_START {                                     \
    guint64 _a = (guint64) (a), _b = (guint64) (b);                        \
    if (G_UNLIKELY (_a != _b))                                             \
      fail ("%s:%d: %s == %" G_GUINT64_FORMAT ", expected %"               \
          G_GUINT64_FORMAT, __FILE__, __LINE__, #a, _a, _b);               \
  } G_STMT_END

static guint8 *
random_bytes (GRand * rand, gsize n, gboolean allow_semi)
{
  guint8 *p = g_malloc (n ? n : 1);
  gsize i;

  for (i = 0; i < n; i++) {
    p[i] = (guint8) g_rand_int_range (rand, 0, 256);
    if (!allow_semi && p[i] == WRTC_FRAME_TERMINATOR)
      p[i] = 0xBB;              /* ';' | 0x80: catches sign-extension slips */
  }
  return p;
}

/* A heap copy of exactly @n bytes, so that ASan flags any read past it. */
static guint8 *
exact_copy (const guint8 * data, gsize n)
{
  guint8 *p = g_malloc (n ? n : 1);

  if (n)
    memcpy (p, data, n);
  return p;
}

static void
check_header (const WrtcFrameHeader * h, guint32 conn, guint64 ts, guint32 len)
{
  fail_unless_equals_uint64 (h->conn_no, conn);
  fail_unless_equals_uint64 (h->timestamp_ms, ts);
  fail_unless_equals_uint64 (h->length, len);
}

/* ---- golden vectors (typed from wire-format.md) ---- */

/* conn 1, ts 0x0000018C2A3B4C5D, payload "hi" */
static const guint8 golden_hi[] = {
  0x00, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x01, 0x8C, 0x2A, 0x3B, 0x4C, 0x5D,
  0x00, 0x00, 0x00, 0x02,
  'h', 'i',
  0x3B
};

/* conn 0 (control), ts 0x0000018C2A3B4C5D, OpenConnection (101) conn 7 */
static const guint8 golden_open[] = {
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x01, 0x8C, 0x2A, 0x3B, 0x4C, 0x5D,
  0x00, 0x00, 0x00, 0x06,
  0x00, 0x65, 0x00, 0x00, 0x00, 0x07,
  0x3B
};

/* control, ts 1, CloseConnection (102) conn 3, u16 reason 9 (ConnectionLost) */
static const guint8 golden_close16[] = {
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x08,
  0x00, 0x66, 0x00, 0x00, 0x00, 0x03, 0x00, 0x09,
  0x3B
};

/* control, ts 1, CloseConnection (102) conn 3, u8 reason 9 (older peers) */
static const guint8 golden_close8[] = {
  0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x07,
  0x00, 0x66, 0x00, 0x00, 0x00, 0x03, 0x09,
  0x3B
};

/* control, ts 0x0102030405060708, Ping (1) with data "abc" */
static const guint8 golden_ping[] = {
  0x00, 0x00, 0x00, 0x00,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x00, 0x00, 0x00, 0x05,
  0x00, 0x01, 'a', 'b', 'c',
  0x3B
};

/* conn G_MAXUINT32, ts G_MAXUINT64, empty payload */
static const guint8 golden_empty[] = {
  0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0x00, 0x00, 0x00, 0x00,
  0x3B
};

/* conn 2, ts 0x0102030405060708, payload ";;;" */
static const guint8 golden_semis[] = {
  0x00, 0x00, 0x00, 0x02,
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
  0x00, 0x00, 0x00, 0x03,
  0x3B, 0x3B, 0x3B,
  0x3B
};

typedef struct
{
  const guint8 *bytes;
  gsize size;
  guint32 conn;
  guint64 ts;
  const gchar *payload;
  guint32 len;
} Golden;

static const Golden goldens[] = {
  {golden_hi, sizeof (golden_hi), 1, G_GUINT64_CONSTANT (0x0000018C2A3B4C5D),
      "hi", 2},
  {golden_open, sizeof (golden_open), 0,
      G_GUINT64_CONSTANT (0x0000018C2A3B4C5D), "\x00\x65\x00\x00\x00\x07", 6},
  {golden_close16, sizeof (golden_close16), 0, 1,
      "\x00\x66\x00\x00\x00\x03\x00\x09", 8},
  {golden_close8, sizeof (golden_close8), 0, 1,
      "\x00\x66\x00\x00\x00\x03\x09", 7},
  {golden_ping, sizeof (golden_ping), 0,
      G_GUINT64_CONSTANT (0x0102030405060708), "\x00\x01" "abc", 5},
  {golden_empty, sizeof (golden_empty), G_MAXUINT32, G_MAXUINT64, "", 0},
  {golden_semis, sizeof (golden_semis), 2,
      G_GUINT64_CONSTANT (0x0102030405060708), ";;;", 3},
};

GST_START_TEST (test_golden_frames)
{
  guint i;


  for (i = 0; i < G_N_ELEMENTS (goldens); i++) {
    const Golden *g = &goldens[i];
    guint8 *in = exact_copy (g->bytes, g->size);
    guint8 out[64];
    WrtcFrameHeader h;

    fail_unless_equals_int (g->size, WRTC_FRAME_OVERHEAD + g->len);

    /* encode == golden */
    memset (out, 0xAA, sizeof (out));
    fail_unless_equals_uint64 (wrtc_frame_encode (out, g->size, g->conn,
            g->ts, (const guint8 *) g->payload, g->len), g->size);
    fail_unless (memcmp (out, g->bytes, g->size) == 0, "golden %u differs", i);
    fail_unless_equals_int (out[g->size], 0xAA);

    /* header alone */
    memset (out, 0, sizeof (out));
    wrtc_frame_write_header (out, g->conn, g->ts, g->len);
    fail_unless (memcmp (out, g->bytes, 16) == 0);
    memset (&h, 0, sizeof (h));
    wrtc_frame_read_header (in, &h);
    check_header (&h, g->conn, g->ts, g->len);

    /* parse(golden) == fields */
    memset (&h, 0, sizeof (h));
    fail_unless_equals_int (wrtc_frame_parse (in, g->size, MAX_LEN_DEFAULT,
            &h), WRTC_FRAME_OK);
    check_header (&h, g->conn, g->ts, g->len);
    fail_unless (memcmp (in + 16, g->payload, g->len) == 0);
    g_free (in);
  }
}

GST_END_TEST;

/* The golden control payloads decode to the right messages. */
GST_START_TEST (test_golden_control)
{
  WrtcControlMessage m;

  fail_unless_equals_int (wrtc_control_parse (golden_open + 16, 6, &m),
      WRTC_CONTROL_PARSE_OK);
  fail_unless_equals_int (m.code, WRTC_CONTROL_OPEN_CONNECTION);
  fail_unless_equals_int (m.conn_no, 7);
  fail_unless_equals_int (m.data_len, 0);

  fail_unless_equals_int (wrtc_control_parse (golden_close16 + 16, 8, &m),
      WRTC_CONTROL_PARSE_OK);
  fail_unless_equals_int (m.code, WRTC_CONTROL_CLOSE_CONNECTION);
  fail_unless_equals_int (m.conn_no, 3);
  fail_unless_equals_int (m.reason, 9);
  fail_unless_equals_int (m.data_len, 0);

  fail_unless_equals_int (wrtc_control_parse (golden_close8 + 16, 7, &m),
      WRTC_CONTROL_PARSE_OK);
  fail_unless_equals_int (m.code, WRTC_CONTROL_CLOSE_CONNECTION);
  fail_unless_equals_int (m.conn_no, 3);
  fail_unless_equals_int (m.reason, 9);
  fail_unless_equals_int (m.data_len, 0);

  fail_unless_equals_int (wrtc_control_parse (golden_ping + 16, 5, &m),
      WRTC_CONTROL_PARSE_OK);
  fail_unless_equals_int (m.code, WRTC_CONTROL_PING);
  fail_unless_equals_int (m.data_len, 3);
  fail_unless (m.data == golden_ping + 18);
  fail_unless (memcmp (m.data, "abc", 3) == 0);
}

GST_END_TEST;

/* ---- round trips ---- */

static const gsize rt_sizes[] = { 0, 1, 63, 64, 1500, 8192, 65507, 65537 };

static const guint32 rt_conns[] = { 0, 1, G_MAXUINT32 };

static const guint64 rt_ts[] = { 0, 1, G_MAXUINT64,
  G_GUINT64_CONSTANT (0x0102030405060708)
};

static void
round_trip (const guint8 * payload, guint32 len, guint32 conn, guint64 ts)
{
  gsize total = (gsize) len + WRTC_FRAME_OVERHEAD;
  guint8 *buf = g_malloc (total);
  WrtcFrameHeader h;

  /* one byte short: refused, nothing written past the end */
  fail_unless_equals_uint64 (wrtc_frame_encode (buf, total - 1, conn, ts,
          payload, len), 0);
  fail_unless_equals_uint64 (wrtc_frame_encode (buf, total, conn, ts,
          payload, len), total);
  fail_unless_equals_int (buf[total - 1], WRTC_FRAME_TERMINATOR);

  memset (&h, 0, sizeof (h));
  fail_unless_equals_int (wrtc_frame_parse (buf, total, len, &h),
      WRTC_FRAME_OK);
  check_header (&h, conn, ts, len);
  fail_unless (memcmp (buf + 16, payload, len) == 0);
  if (len > 0) {
    fail_unless_equals_int (wrtc_frame_parse (buf, total, len - 1, &h),
        WRTC_FRAME_TOO_LONG);
  }
  g_free (buf);
}

GST_START_TEST (test_round_trip_sizes)
{
  GRand *rand;
  guint s, c, t;

  g_print ("seed 0x%x\n", SEED);
  rand = g_rand_new_with_seed (SEED);

  for (s = 0; s < G_N_ELEMENTS (rt_sizes); s++) {
    guint32 len = (guint32) rt_sizes[s];
    guint8 *random = random_bytes (rand, len, TRUE);
    guint8 *semis = g_malloc (len ? len : 1);

    memset (semis, WRTC_FRAME_TERMINATOR, len);
    for (c = 0; c < G_N_ELEMENTS (rt_conns); c++) {
      for (t = 0; t < G_N_ELEMENTS (rt_ts); t++) {
        round_trip (random, len, rt_conns[c], rt_ts[t]);
        round_trip (semis, len, rt_conns[c], rt_ts[t]);
      }
    }
    g_free (random);
    g_free (semis);
  }
  g_rand_free (rand);
}

GST_END_TEST;

/* The length field at its maximum: header round trip, and parse says
 * TOO_LONG / NEED_MORE without reading the (absent) payload. */
GST_START_TEST (test_length_extremes)
{
  static const guint8 max_hdr[16] = {
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xFF, 0xFF, 0xFF, 0xFF
  };
  guint8 buf[16];
  guint8 *in = exact_copy (max_hdr, 16);
  WrtcFrameHeader h;
  guint8 small[WRTC_FRAME_OVERHEAD];

  wrtc_frame_write_header (buf, 1, 0, G_MAXUINT32);
  fail_unless (memcmp (buf, max_hdr, 16) == 0);
  wrtc_frame_read_header (in, &h);
  check_header (&h, 1, 0, G_MAXUINT32);

  fail_unless_equals_int (wrtc_frame_parse (in, 16, MAX_LEN_DEFAULT, &h),
      WRTC_FRAME_TOO_LONG);
  check_header (&h, 1, 0, G_MAXUINT32);
  fail_unless_equals_int (wrtc_frame_parse (in, 16, G_MAXUINT32, &h),
      WRTC_FRAME_NEED_MORE);
  check_header (&h, 1, 0, G_MAXUINT32);

  /* encode of a huge length into a small buffer must refuse, not wrap */
  fail_unless_equals_uint64 (wrtc_frame_encode (small, sizeof (small), 1, 0,
          small, G_MAXUINT32), 0);
  fail_unless_equals_uint64 (wrtc_frame_encode (small, sizeof (small), 1, 0,
          small, G_MAXUINT32 - 16), 0);
  fail_unless_equals_uint64 (wrtc_frame_encode (small, 16, 1, 0, NULL, 0), 0);
  fail_unless_equals_uint64 (wrtc_frame_encode (small, 0, 1, 0, NULL, 0), 0);
  g_free (in);
}

GST_END_TEST;

/* ---- parse statuses ---- */

/* NEED_MORE at every truncation point; header filled once 16
 * bytes are in. */
GST_START_TEST (test_parse_truncation)
{
  static const guint32 lens[] = { 0, 1, 3, 15, 16, 17, 100, 300 };
  GRand *rand;
  guint l;

  rand = g_rand_new_with_seed (SEED);

  for (l = 0; l < G_N_ELEMENTS (lens); l++) {
    guint32 len = lens[l];
    gsize total = len + WRTC_FRAME_OVERHEAD, n;
    guint8 *payload = random_bytes (rand, len, TRUE);
    guint8 *frame = g_malloc (total);

    if (l & 1)
      memset (payload, WRTC_FRAME_TERMINATOR, len);
    wrtc_frame_encode (frame, total, 0x3B3B3B3B,
        G_GUINT64_CONSTANT (0x3B3B3B3B3B3B3B3B), payload, len);
    for (n = 0; n < total; n++) {
      guint8 *part = exact_copy (frame, n);
      WrtcFrameHeader h;

      memset (&h, 0, sizeof (h));
      fail_unless_equals_int (wrtc_frame_parse (part, n, MAX_LEN_DEFAULT,
              &h), WRTC_FRAME_NEED_MORE);
      if (n >= 16)
        check_header (&h, 0x3B3B3B3B, G_GUINT64_CONSTANT (0x3B3B3B3B3B3B3B3B),
            len);
      g_free (part);
    }
    {
      WrtcFrameHeader h;

      fail_unless_equals_int (wrtc_frame_parse (frame, total,
              MAX_LEN_DEFAULT, &h), WRTC_FRAME_OK);
    }
    g_free (frame);
    g_free (payload);
  }
  g_rand_free (rand);
}

GST_END_TEST;

GST_START_TEST (test_parse_errors)
{
  /* "a;b" with its terminator damaged, followed by a ';': neither the ';'
   * inside the payload nor the one after the terminator slot may count. */
  static const guint8 bad_term[] = {
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x03,
    'a', ';', 'b',
    'x', ';'
  };
  /* payload ";;;;" but length says 3: the byte at 16+3 is ';' (payload),
   * so this one is OK with a 3-byte payload and the 4th ';' as terminator */
  static const guint8 semis_len3[] = {
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x03,
    ';', ';', ';', ';'
  };
  /* length 2 over payload ";;x;": terminator slot holds 'x' */
  static const guint8 semis_bad[] = {
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x02,
    ';', ';', 'x', ';'
  };
  /* length 1000 > max 999 */
  static const guint8 too_long[] = {
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x03, 0xE8,
  };
  WrtcFrameHeader h;
  guint8 *p;


  p = exact_copy (bad_term, sizeof (bad_term));
  fail_unless_equals_int (wrtc_frame_parse (p, sizeof (bad_term),
          MAX_LEN_DEFAULT, &h), WRTC_FRAME_BAD_TERMINATOR);
  check_header (&h, 1, 2, 3);
  fail_unless_equals_int (wrtc_frame_parse (p, 19, MAX_LEN_DEFAULT, &h),
      WRTC_FRAME_NEED_MORE);
  fail_unless_equals_int (wrtc_frame_parse (p, 20, MAX_LEN_DEFAULT, &h),
      WRTC_FRAME_BAD_TERMINATOR);
  g_free (p);

  p = exact_copy (semis_len3, sizeof (semis_len3));
  fail_unless_equals_int (wrtc_frame_parse (p, sizeof (semis_len3),
          MAX_LEN_DEFAULT, &h), WRTC_FRAME_OK);
  check_header (&h, 1, 2, 3);
  g_free (p);

  p = exact_copy (semis_bad, sizeof (semis_bad));
  fail_unless_equals_int (wrtc_frame_parse (p, sizeof (semis_bad),
          MAX_LEN_DEFAULT, &h), WRTC_FRAME_BAD_TERMINATOR);
  g_free (p);

  p = exact_copy (too_long, sizeof (too_long));
  fail_unless_equals_int (wrtc_frame_parse (p, 16, 999, &h),
      WRTC_FRAME_TOO_LONG);
  check_header (&h, 1, 2, 1000);
  fail_unless_equals_int (wrtc_frame_parse (p, 16, 1000, &h),
      WRTC_FRAME_NEED_MORE);
  fail_unless_equals_int (wrtc_frame_parse (p, 16, 0, &h),
      WRTC_FRAME_TOO_LONG);
  g_free (p);
}

GST_END_TEST;

/* ---- find_terminator ---- */

/* every position 0..size-1 in every size 0..200, at every
 * alignment 0..63; the buffer ends exactly at its allocation's end so ASan
 * catches a read past it. */
GST_START_TEST (test_find_terminator)
{
  GRand *rand;
  gsize size, align, pos;

  rand = g_rand_new_with_seed (SEED);

  for (size = 0; size <= 200; size++) {
    guint8 *pattern = random_bytes (rand, size, FALSE);

    for (align = 0; align < 64; align++) {
      guint8 *mem = g_malloc (MAX (align + size, 1));
      guint8 *buf = mem + align;

      /* the allocation ends right after @buf */
      memcpy (buf, pattern, size);
      EXPECT_EQ (wrtc_frame_find_terminator (buf, size),
          size);

      for (pos = 0; pos < size; pos++) {
        buf[pos] = WRTC_FRAME_TERMINATOR;
        EXPECT_EQ (wrtc_frame_find_terminator (buf, size),
            pos);
        /* a later ';' does not change the answer */
        if (pos + 1 < size) {
          buf[size - 1] = WRTC_FRAME_TERMINATOR;
          EXPECT_EQ (wrtc_frame_find_terminator (buf, size),
              pos);
          buf[size - 1] = pattern[size - 1];
        }
        /* the scan stops at @size even if a ';' follows in memory */
        EXPECT_EQ (wrtc_frame_find_terminator (buf, pos),
            pos);
        buf[pos] = pattern[pos];
      }

      memset (buf, WRTC_FRAME_TERMINATOR, size);
      EXPECT_EQ (wrtc_frame_find_terminator (buf, size), 0);
      g_free (mem);
    }
    g_free (pattern);
  }
  g_rand_free (rand);
}

GST_END_TEST;

/* Exact-size allocations: the allocator's redzone is right after @size. */
GST_START_TEST (test_find_terminator_exact_alloc)
{
  gsize size;


  for (size = 1; size <= 300; size++) {
    guint8 *buf = g_malloc (size);

    memset (buf, 'a', size);
    EXPECT_EQ (wrtc_frame_find_terminator (buf, size), size);
    buf[size - 1] = WRTC_FRAME_TERMINATOR;
    EXPECT_EQ (wrtc_frame_find_terminator (buf, size),
        size - 1);
    g_free (buf);
  }
}

GST_END_TEST;

/* ---- find_sync ---- */

typedef struct
{
  GByteArray *bytes;
  GArray *starts;               /* gsize offsets of each frame */
} Stream;

static void
stream_add (Stream * s, guint32 conn, guint64 ts, const guint8 * payload,
    guint32 len)
{
  gsize at = s->bytes->len;

  g_array_append_val (s->starts, at);
  g_byte_array_set_size (s->bytes, at + len + WRTC_FRAME_OVERHEAD);
  fail_unless_equals_uint64 (wrtc_frame_encode (s->bytes->data + at,
          len + WRTC_FRAME_OVERHEAD, conn, ts, payload, len),
      len + WRTC_FRAME_OVERHEAD);
}

/* A stream of @n frames with ';'-free headers and payloads, unless
 * @semi_payloads, where every payload is all ';'. */
static Stream
make_stream (GRand * rand, guint n, gboolean semi_payloads)
{
  Stream s;
  guint i;

  s.bytes = g_byte_array_new ();
  s.starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (i = 0; i < n; i++) {
    guint32 len = g_rand_int_range (rand, 20, 200);
    guint8 *p = random_bytes (rand, len, FALSE);

    if (semi_payloads)
      memset (p, WRTC_FRAME_TERMINATOR, len);
    /* conn 5, ts without a 0x3B byte, so the only ';' are the intended */
    stream_add (&s, 5, G_GUINT64_CONSTANT (0x0000018C2A1B4C5D), p, len);
    g_free (p);
  }
  return s;
}

static void
stream_free (Stream * s)
{
  g_byte_array_unref (s->bytes);
  g_array_unref (s->starts);
}

#define START(s, i) g_array_index ((s)->starts, gsize, (i))

static WrtcFrameSync
sync_exact (const guint8 * data, gsize size, guint32 max, gsize * offset)
{
  guint8 *copy = exact_copy (data, size);
  WrtcFrameSync r;

  *offset = G_MAXSIZE;
  r = wrtc_frame_find_sync (copy, size, max, offset);
  g_free (copy);
  return r;
}

GST_START_TEST (test_find_sync_corruptions)
{
  GRand *rand;
  guint round;

  rand = g_rand_new_with_seed (SEED);

  for (round = 0; round < 2; round++) {
    gboolean semis = round == 1;
    Stream s = make_stream (rand, 6, semis);
    guint8 *d = s.bytes->data;
    gsize size = s.bytes->len, off, b = START (&s, 2);
    WrtcFrameHeader h;

    /* 1. frame 2's terminator damaged: parsing at frame 2 fails; the ';'
     * before frame 3 is gone, so the first frame start after a ';' is
     * frame 4 (with ';' payloads, all candidates inside frame 2's and 3's
     * payload are rejected by their 0x3B3B3B3B length). */
    d[START (&s, 3) - 1] = 'x';
    fail_unless_equals_int (wrtc_frame_parse (d + b, size - b,
            MAX_LEN_DEFAULT, &h), WRTC_FRAME_BAD_TERMINATOR);
    fail_unless_equals_int (sync_exact (d + b, size - b, MAX_LEN_DEFAULT,
            &off), WRTC_FRAME_SYNC_FOUND);
    fail_unless_equals_uint64 (b + off, START (&s, 4));
    d[START (&s, 3) - 1] = ';';

    /* 2. bit flips in frame 2's length: the high one makes it too long,
     * the low one (length +- 1) moves the terminator slot onto a payload
     * byte (';'-free in round 0) or the next header's 0x00. Frame 2's own
     * terminator is intact, so frame 3 is found right after it. */
    d[b + 12] ^= 0x40;
    fail_unless_equals_int (wrtc_frame_parse (d + b, size - b,
            MAX_LEN_DEFAULT, &h), WRTC_FRAME_TOO_LONG);
    fail_unless_equals_int (sync_exact (d + b, size - b, MAX_LEN_DEFAULT,
            &off), WRTC_FRAME_SYNC_FOUND);
    fail_unless_equals_uint64 (b + off, START (&s, 3));
    d[b + 12] ^= 0x40;

    d[b + 15] ^= 0x01;
    if (!semis) {
      fail_unless_equals_int (wrtc_frame_parse (d + b, size - b,
              MAX_LEN_DEFAULT, &h), WRTC_FRAME_BAD_TERMINATOR);
    }
    fail_unless_equals_int (sync_exact (d + b, size - b, MAX_LEN_DEFAULT,
            &off), WRTC_FRAME_SYNC_FOUND);
    fail_unless_equals_uint64 (b + off, START (&s, 3));
    d[b + 15] ^= 0x01;

    /* 3. five bytes dropped from frame 2's payload */
    {
      GByteArray *cut = g_byte_array_new ();

      g_byte_array_append (cut, d, b + 20);
      g_byte_array_append (cut, d + b + 25, size - b - 25);
      fail_unless_equals_int (wrtc_frame_parse (cut->data + b,
              cut->len - b, MAX_LEN_DEFAULT, &h), WRTC_FRAME_BAD_TERMINATOR);
      fail_unless_equals_int (sync_exact (cut->data + b, cut->len - b,
              MAX_LEN_DEFAULT, &off), WRTC_FRAME_SYNC_FOUND);
      fail_unless_equals_uint64 (b + off, START (&s, 3) - 5);
      g_byte_array_unref (cut);
    }

    /* 4. leading garbage (no ';') then ';' then the intact stream */
    {
      GByteArray *g = g_byte_array_new ();
      guint8 *junk = random_bytes (rand, 77, FALSE);

      g_byte_array_append (g, junk, 77);
      g_byte_array_append (g, (const guint8 *) ";", 1);
      g_byte_array_append (g, d, size);
      fail_unless_equals_int (sync_exact (g->data, g->len, MAX_LEN_DEFAULT,
              &off), WRTC_FRAME_SYNC_FOUND);
      fail_unless_equals_uint64 (off, 78);
      g_free (junk);
      g_byte_array_unref (g);
    }
    stream_free (&s);
  }
  g_rand_free (rand);
}

GST_END_TEST;

/* a plausible false length inside garbage must not swallow the
 * valid frames after it. */
GST_START_TEST (test_find_sync_false_length)
{
  static const guint8 fake[] = {
    'x', 'y', ';',
    /* fake header: conn 9, ts 0, length 5000 (below max, not buffered) */
    0x00, 0x00, 0x00, 0x09,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x13, 0x88,
    'g', 'a', 'r', 'b', ';'
  };
  GRand *rand;
  Stream s;
  GByteArray *g;
  gsize off;

  rand = g_rand_new_with_seed (SEED);
  s = make_stream (rand, 4, FALSE);
  g = g_byte_array_new ();
  g_byte_array_append (g, fake, sizeof (fake));
  g_byte_array_append (g, s.bytes->data, s.bytes->len);

  fail_unless_equals_int (sync_exact (g->data, g->len, MAX_LEN_DEFAULT, &off),
      WRTC_FRAME_SYNC_FOUND);
  fail_unless_equals_uint64 (off, sizeof (fake));

  /* with only part of the first real frame buffered, nothing verifies:
   * keep everything from the fake candidate's ';' on */
  fail_unless_equals_int (sync_exact (g->data, sizeof (fake) + 10,
          MAX_LEN_DEFAULT, &off), WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 2);

  /* a too-long fake length is no candidate at all */
  g->data[15] = 0x7F;          /* length 0x7F001388 */
  fail_unless_equals_int (sync_exact (g->data, sizeof (fake) + 10,
          MAX_LEN_DEFAULT, &off), WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, sizeof (fake) - 1);

  g_byte_array_unref (g);
  stream_free (&s);
  g_rand_free (rand);
}

GST_END_TEST;

/* how much NEED_MORE allows to discard */
GST_START_TEST (test_find_sync_need_more)
{
  GRand *rand;
  guint8 *junk;
  guint8 buf[200];
  gsize off;

  rand = g_rand_new_with_seed (SEED);
  junk = random_bytes (rand, 100, FALSE);

  fail_unless_equals_int (sync_exact (junk, 0, MAX_LEN_DEFAULT, &off),
      WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 0);

  /* no ';': everything can go */
  fail_unless_equals_int (sync_exact (junk, 100, MAX_LEN_DEFAULT, &off),
      WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 100);

  /* a trailing ';' is kept: the frame after it may still come */
  memcpy (buf, junk, 100);
  buf[100] = ';';
  fail_unless_equals_int (sync_exact (buf, 101, MAX_LEN_DEFAULT, &off),
      WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 100);

  /* ';' + a partial header: kept from the ';' */
  memcpy (buf + 101, junk, 10);
  fail_unless_equals_int (sync_exact (buf, 111, MAX_LEN_DEFAULT, &off),
      WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 100);

  /* ';' + a header with a length above max: that candidate is dead */
  memset (buf + 101, 0xEE, 16);
  memcpy (buf + 117, junk, 30);
  fail_unless_equals_int (sync_exact (buf, 147, MAX_LEN_DEFAULT, &off),
      WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 147);

  /* same header with max = G_MAXUINT32: undecided, kept */
  fail_unless_equals_int (sync_exact (buf, 147, G_MAXUINT32, &off),
      WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 100);

  g_free (junk);
  g_rand_free (rand);
}

GST_END_TEST;

/* ';'-only data of 4 MiB, with every candidate undecided (max =
 * G_MAXUINT32) or dead (default max). A quadratic scan would time out. */
GST_START_TEST (test_find_sync_all_semis)
{
  gsize size = 4 * 1024 * 1024, off;
  guint8 *buf;

  buf = g_malloc (size);
  memset (buf, WRTC_FRAME_TERMINATOR, size);

  fail_unless_equals_int (wrtc_frame_find_sync (buf, size, MAX_LEN_DEFAULT,
          &off), WRTC_FRAME_SYNC_NEED_MORE);
  /* the last 16 candidates have no complete header: kept from the
   * ';' in front of the first of them */
  fail_unless_equals_uint64 (off, size - 16);
  fail_unless_equals_int (wrtc_frame_find_sync (buf, size, G_MAXUINT32,
          &off), WRTC_FRAME_SYNC_NEED_MORE);
  fail_unless_equals_uint64 (off, 0);
  g_free (buf);
}

GST_END_TEST;

/* ---- control messages ---- */

GST_START_TEST (test_control_round_trip)
{
  static const guint16 codes[] = { 1, 2, 101, 102, 103, 104, 301, 302, 303 };
  static const guint8 data[] = { 0xDE, 0xAD, ';', 0x00 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (codes); i++) {
    WrtcControlMessage m = { 0 }, back;
    guint8 buf[32];
    gsize fixed = 2, n, cut;

    m.code = codes[i];
    if (codes[i] >= 101 && codes[i] <= 104) {
      m.conn_no = 0x01020304;
      fixed += 4;
    }
    if (codes[i] == 102) {
      m.reason = 21;
      fixed += 2;
    }
    m.data = data;
    m.data_len = sizeof (data);

    fail_unless_equals_uint64 (wrtc_control_encode (buf, fixed + 3, &m), 0);
    n = wrtc_control_encode (buf, sizeof (buf), &m);
    fail_unless_equals_uint64 (n, fixed + sizeof (data));
    fail_unless_equals_int (buf[0], codes[i] >> 8);
    fail_unless_equals_int (buf[1], codes[i] & 0xFF);
    if (fixed >= 6) {
      fail_unless (memcmp (buf + 2, "\x01\x02\x03\x04", 4) == 0);
    }
    if (fixed == 8) {
      fail_unless (memcmp (buf + 6, "\x00\x15", 2) == 0);
    }

    fail_unless_equals_int (wrtc_control_parse (buf, n, &back),
        WRTC_CONTROL_PARSE_OK);
    fail_unless_equals_int (back.code, m.code);
    fail_unless_equals_int (back.conn_no, m.conn_no);
    fail_unless_equals_int (back.reason, m.reason);
    fail_unless_equals_uint64 (back.data_len, sizeof (data));
    fail_unless (back.data == buf + fixed);
    fail_if (g_str_equal (wrtc_control_code_name (codes[i]), "Unknown"));

    /* truncations: below the fixed part is TRUNCATED, except that
     * CloseConnection accepts a one-byte reason */
    for (cut = 0; cut < fixed; cut++) {
      guint8 *p = exact_copy (buf, cut);
      WrtcControlParseResult r = wrtc_control_parse (p, cut, &back);

      if (codes[i] == 102 && cut == 7) {
        fail_unless_equals_int (r, WRTC_CONTROL_PARSE_OK);
      } else {
        fail_unless_equals_int (r, WRTC_CONTROL_PARSE_TRUNCATED);
      }
      g_free (p);
    }
  }
}

GST_END_TEST;

GST_START_TEST (test_control_unknown)
{
  static const guint8 unknown[] = { 0x01, 0xF4, 'x', 'y' };     /* 500 */
  static const guint8 send_eof[] = { 0x00, 0x68, 0x00, 0x00, 0x00, 0x2A };
  WrtcControlMessage m;
  guint8 buf[8];

  fail_unless_equals_int (wrtc_control_parse (unknown, 4, &m),
      WRTC_CONTROL_PARSE_UNKNOWN_CODE);
  fail_unless_equals_int (m.code, 500);
  fail_unless_equals_uint64 (m.data_len, 2);
  fail_unless (m.data == unknown + 2);
  fail_unless_equals_string (wrtc_control_code_name (500), "Unknown");
  fail_unless_equals_int (wrtc_control_parse (unknown, 1, &m),
      WRTC_CONTROL_PARSE_TRUNCATED);

  fail_unless_equals_int (wrtc_control_parse (send_eof, 6, &m),
      WRTC_CONTROL_PARSE_OK);
  fail_unless_equals_int (m.code, WRTC_CONTROL_SEND_EOF);
  fail_unless_equals_int (m.conn_no, 42);
  fail_unless_equals_string (wrtc_control_code_name (m.code), "SendEOF");

  /* encoder of an unknown code: code + data only */
  m.code = 500;
  m.data = (const guint8 *) "xy";
  m.data_len = 2;
  fail_unless_equals_uint64 (wrtc_control_encode (buf, sizeof (buf), &m), 4);
  fail_unless (memcmp (buf, unknown, 4) == 0);
}

GST_END_TEST;

/* ---- resynchronisation with context (frame-resync.h) ---- */

#define RS_TS G_GUINT64_CONSTANT (1764620000000)

static gboolean
conns_up_to_8 (guint32 conn_no, gpointer user_data)
{
  return conn_no <= 8;
}

static void
rs_hints (WrtcResyncHints * hints, guint64 ts)
{
  memset (hints, 0, sizeof (*hints));
  hints->have_ts = TRUE;
  hints->ts_ms = ts;
  hints->conn_plausible = conns_up_to_8;
}

GST_START_TEST (test_resync_ts_window)
{
  fail_unless (wrtc_resync_ts_close (RS_TS, RS_TS));
  fail_unless (wrtc_resync_ts_close (RS_TS, RS_TS - WRTC_RESYNC_TS_BEFORE_MS));
  fail_if (wrtc_resync_ts_close (RS_TS, RS_TS - WRTC_RESYNC_TS_BEFORE_MS - 1));
  fail_unless (wrtc_resync_ts_close (RS_TS, RS_TS + WRTC_RESYNC_TS_AFTER_MS));
  fail_if (wrtc_resync_ts_close (RS_TS, RS_TS + WRTC_RESYNC_TS_AFTER_MS + 1));
  /* no wrap-around at either end of the range */
  fail_unless (wrtc_resync_ts_close (0, 0));
  fail_if (wrtc_resync_ts_close (0, G_MAXUINT64));
  fail_if (wrtc_resync_ts_close (G_MAXUINT64, 0));
  fail_unless (wrtc_resync_ts_close (G_MAXUINT64, G_MAXUINT64));
}

GST_END_TEST;

/* Chains of frames: counted up to the chain length, cut short by the end
 * of the data (GOOD with fewer frames), broken by a header that does not
 * fit (BAD), undecided while the first frame is incomplete. */
GST_START_TEST (test_resync_check_chain)
{
  GByteArray *b = g_byte_array_new ();
  WrtcResyncHints hints;
  WrtcFrameHeader h;
  gsize ends[6], cut;
  guint i, n;

  rs_hints (&hints, RS_TS);
  for (i = 0; i < 6; i++) {
    guint8 payload[10];

    memset (payload, ';', sizeof (payload));
    g_byte_array_set_size (b, b->len + 27);
    wrtc_frame_encode (b->data + b->len - 27, 27, i % 3, RS_TS + i * 1000,
        payload, 10);
    ends[i] = b->len;
  }

  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, &hints,
          &n), WRTC_RESYNC_GOOD);
  fail_unless_equals_int (n, WRTC_RESYNC_CHAIN);
  hints.chain = 6;
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, &hints,
          &n), WRTC_RESYNC_GOOD);
  fail_unless_equals_int (n, 6);
  hints.chain = 0;
  /* data ending after 2 frames, or inside the header / payload of the 3rd */
  for (cut = ends[1]; cut < ends[2]; cut++) {
    fail_unless_equals_int (wrtc_resync_check (b->data, cut, 0, 100, &hints,
            &n), WRTC_RESYNC_GOOD);
    fail_unless_equals_int (n, 2);
  }
  /* first frame incomplete */
  for (cut = 0; cut < ends[0]; cut++)
    fail_unless_equals_int (wrtc_resync_check (b->data, cut, 0, 100, &hints,
            &n), WRTC_RESYNC_UNDECIDED);
  /* length above the maximum */
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 9, &hints,
          &n), WRTC_RESYNC_BAD);

  /* timestamp of the 3rd frame far off: the chain breaks, also when only
   * part of that header is buffered */
  wrtc_frame_read_header (b->data + ends[1], &h);
  wrtc_frame_write_header (b->data + ends[1], h.conn_no,
      RS_TS + G_GUINT64_CONSTANT (1) * 1000 * 3600 * 24 * 365, h.length);
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, &hints,
          &n), WRTC_RESYNC_BAD);
  fail_unless_equals_int (wrtc_resync_check (b->data, ends[1] + 12, 0, 100,
          &hints, &n), WRTC_RESYNC_BAD);
  fail_unless_equals_int (wrtc_resync_check (b->data, ends[1] + 8, 0, 100,
          &hints, &n), WRTC_RESYNC_BAD);
  fail_unless_equals_int (wrtc_resync_check (b->data, ends[1] + 4, 0, 100,
          &hints, &n), WRTC_RESYNC_GOOD);
  /* without context the same bytes pass (one frame, sane successor) */
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, NULL,
          &n), WRTC_RESYNC_GOOD);
  fail_unless_equals_int (n, 1);
  hints.have_ts = FALSE;
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, &hints,
          &n), WRTC_RESYNC_GOOD);
  hints.have_ts = TRUE;
  wrtc_frame_write_header (b->data + ends[1], h.conn_no, h.timestamp_ms,
      h.length);

  /* a connection the callback refuses; connection 0 is always plausible */
  wrtc_frame_read_header (b->data + ends[0], &h);
  wrtc_frame_write_header (b->data + ends[0], 9, h.timestamp_ms, h.length);
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, &hints,
          &n), WRTC_RESYNC_BAD);
  fail_unless_equals_int (wrtc_resync_check (b->data, ends[0] + 4, 0, 100,
          &hints, &n), WRTC_RESYNC_BAD);
  hints.conn_plausible = NULL;
  fail_unless_equals_int (wrtc_resync_check (b->data, b->len, 0, 100, &hints,
          &n), WRTC_RESYNC_GOOD);
  fail_unless (wrtc_resync_header_plausible (&hints, &h));
  h.conn_no = 0;
  hints.conn_plausible = conns_up_to_8;
  hints.ts_ms = RS_TS + 1000;
  fail_unless (wrtc_resync_header_plausible (&hints, &h));
  h.timestamp_ms = 3;
  fail_if (wrtc_resync_header_plausible (&hints, &h));
  fail_unless (wrtc_resync_header_plausible (NULL, &h));
  g_byte_array_unref (b);
}

GST_END_TEST;

/* without a timestamp the search is wrtc_frame_find_sync's,
 * result and offset, on ';'-dense data with sprinkled valid frames. */
GST_START_TEST (test_resync_plain_matches_find_sync)
{
  GRand *rand;
  WrtcResyncHints no_ts = { 0 };
  guint round;

  rand = g_rand_new_with_seed (SEED + 9);
  for (round = 0; round < 400; round++) {
    gsize size = g_rand_int_range (rand, 0, 600), i;
    guint8 *buf = random_bytes (rand, size, TRUE);
    guint32 max = g_rand_boolean (rand) ? 64 : MAX_LEN_DEFAULT;
    gsize off_a = 7, off_b = 9, off_c = 11;
    WrtcFrameSync a, b, c;

    for (i = 0; i < size; i++)
      if (g_rand_int_range (rand, 0, 4) == 0)
        buf[i] = ';';
    for (i = 0; i + 40 < size; i += g_rand_int_range (rand, 20, 200))
      wrtc_frame_encode (buf + i, size - i, 1, RS_TS, buf, 10);
    a = wrtc_frame_find_sync (buf, size, max, &off_a);
    b = wrtc_resync_find (buf, size, size, max, NULL, &off_b, NULL);
    c = wrtc_resync_find (buf, size, size, max, &no_ts, &off_c, NULL);
    EXPECT_EQ (b, a);
    EXPECT_EQ (off_b, off_a);
    EXPECT_EQ (c, a);
    EXPECT_EQ (off_c, off_a);
    g_free (buf);
  }
  g_rand_free (rand);
}

GST_END_TEST;

/* candidate_end: candidates at or past it are not considered, but a chain
 * may run past it. */
GST_START_TEST (test_resync_find_candidate_end)
{
  GByteArray *b = g_byte_array_new ();
  WrtcResyncHints hints;
  gsize off, second_at = 0;
  guint i, n;

  rs_hints (&hints, RS_TS);
  g_byte_array_append (b, (const guint8 *) "xx;", 3);
  for (i = 0; i < 5; i++) {
    if (i == 1)
      second_at = b->len;
    g_byte_array_set_size (b, b->len + 22);
    wrtc_frame_encode (b->data + b->len - 22, 22, 1, RS_TS, (const guint8 *)
        "abcde", 5);
  }
  fail_unless_equals_int (wrtc_resync_find (b->data, b->len, b->len, 1000,
          &hints, &off, &n), WRTC_FRAME_SYNC_FOUND);
  fail_unless_equals_int (off, 3);
  fail_unless_equals_int (n, WRTC_RESYNC_CHAIN);
  fail_unless_equals_int (wrtc_resync_find (b->data, b->len, 4, 1000,
          &hints, &off, &n), WRTC_FRAME_SYNC_FOUND);
  fail_unless_equals_int (off, 3);
  fail_unless_equals_int (wrtc_resync_find (b->data, b->len, 3, 1000,
          &hints, &off, &n), WRTC_FRAME_SYNC_NEED_MORE);
  /* from inside the first frame: the next candidate is the second frame */
  fail_unless_equals_int (wrtc_resync_find (b->data + 4, b->len - 4,
          b->len - 4, 1000, &hints, &off, &n), WRTC_FRAME_SYNC_FOUND);
  fail_unless_equals_int (off + 4, second_at);
  g_byte_array_unref (b);
}

GST_END_TEST;

/* A small streaming parser on top of the codec, the way framedemux uses it:
 * frames are parsed in order; after damage wrtc_resync_find is asked with
 * the context of the last good frame; a frame whose header does not fit the
 * context, complete or pending, is dropped when verified frames start
 * inside it. Held bytes = everything not consumed yet. */
typedef struct
{
  GByteArray *held;
  gboolean synced;
  WrtcResyncHints hints;
  gboolean use_hints;
  guint32 max;
  GPtrArray *out;               /* GBytes payloads, in order */
} RsParser;

static void
rs_drop (RsParser * p, gsize n)
{
  g_byte_array_remove_range (p->held, 0, n);
}

static void
rs_feed (RsParser * p, const guint8 * data, gsize len)
{
  const WrtcResyncHints *hints = p->use_hints ? &p->hints : NULL;

  g_byte_array_append (p->held, data, len);
  for (;;) {
    WrtcFrameHeader h;
    WrtcFrameStatus st;
    gsize off;
    gboolean fits;

    if (!p->synced) {
      if (wrtc_resync_find (p->held->data, p->held->len, p->held->len,
              p->max, hints, &off, NULL) == WRTC_FRAME_SYNC_NEED_MORE) {
        rs_drop (p, off);
        return;
      }
      rs_drop (p, off);
      p->synced = TRUE;
    }
    st = wrtc_frame_parse (p->held->data, p->held->len, p->max, &h);
    if (st == WRTC_FRAME_TOO_LONG || st == WRTC_FRAME_BAD_TERMINATOR) {
      p->synced = FALSE;
      continue;
    }
    if (st == WRTC_FRAME_NEED_MORE && p->held->len < WRTC_FRAME_HEADER_SIZE)
      return;
    fits = !p->use_hints || wrtc_resync_header_plausible (&p->hints, &h);
    if (!fits && wrtc_resync_find (p->held->data, p->held->len,
            MIN (p->held->len, (gsize) h.length + WRTC_FRAME_OVERHEAD),
            p->max, hints, &off, NULL) == WRTC_FRAME_SYNC_FOUND) {
      rs_drop (p, off);         /* verified frames inside: not a frame */
      continue;
    }
    if (st == WRTC_FRAME_NEED_MORE)
      return;
    g_ptr_array_add (p->out, g_bytes_new (p->held->data +
            WRTC_FRAME_HEADER_SIZE, h.length));
    if (fits) {
      p->hints.have_ts = TRUE;
      p->hints.ts_ms = h.timestamp_ms;
    }
    rs_drop (p, (gsize) h.length + WRTC_FRAME_OVERHEAD);
  }
}

static const guint32 rs_seeds[] = { 1000, 1001, 1014 };

/* Valid frames, a garbage burst (uniform, or the 4-byte alphabet
 * 0x00 0x01 ';' 0xFF), 500 valid frames, fed whole, in 1-byte and in
 * random pieces: at least 90% of the 500 come out, byte-exact and in
 * order, and at most max + 18 bytes plus one piece are held. */
GST_START_TEST (test_resync_garbage_burst)
{
  static const guint8 alpha4[] = { 0x00, 0x01, ';', 0xFF };
  guint kind, chunking, m;
  guint32 maxes[] = { MAX_LEN_DEFAULT, 4096 };

  for (kind = 0; kind < 2; kind++)
    for (chunking = 0; chunking < 3; chunking++)
      for (m = 0; m < G_N_ELEMENTS (maxes); m++) {
        GRand *rand = g_rand_new_with_seed (rs_seeds[__i__]);
        GByteArray *s = g_byte_array_new ();
        GPtrArray *after = g_ptr_array_new_with_free_func ((GDestroyNotify)
            g_bytes_unref);
        RsParser p = { 0 };
        guint64 ts = RS_TS;
        gsize pos, held_max = 0, piece_max = 1;
        guint i, j, burst, found = 0;

        for (i = 0; i < 540; i++) {
          guint32 len = g_rand_int_range (rand, 8, 300);
          guint8 *payload = random_bytes (rand, len, TRUE);

          if (i == 40) {
            burst = g_rand_int_range (rand, 300, 4097);
            for (j = 0; j < burst; j++) {
              guint8 b = kind == 0 ? g_rand_int_range (rand, 0, 256) :
                  alpha4[g_rand_int_range (rand, 0, 4)];
              g_byte_array_append (s, &b, 1);
            }
          }
          memcpy (payload, &i, sizeof (i));     /* unique payloads */
          ts += g_rand_int_range (rand, 0, 20);
          g_byte_array_set_size (s, s->len + len + WRTC_FRAME_OVERHEAD);
          wrtc_frame_encode (s->data + s->len - len - WRTC_FRAME_OVERHEAD,
              len + WRTC_FRAME_OVERHEAD, g_rand_int_range (rand, 0, 3), ts,
              payload, len);
          if (i >= 40)
            g_ptr_array_add (after, g_bytes_new_take (payload, len));
          else
            g_free (payload);
        }

        p.held = g_byte_array_new ();
        p.synced = TRUE;
        p.use_hints = TRUE;
        p.hints.conn_plausible = conns_up_to_8;
        p.max = maxes[m];
        p.out = g_ptr_array_new_with_free_func ((GDestroyNotify)
            g_bytes_unref);
        for (pos = 0; pos < s->len;) {
          gsize n = chunking == 0 ? s->len : chunking == 1 ? 1 :
              (gsize) g_rand_int_range (rand, 1, 4001);

          n = MIN (n, s->len - pos);
          piece_max = MAX (piece_max, n);
          rs_feed (&p, s->data + pos, n);
          pos += n;
          held_max = MAX (held_max, p.held->len);
        }
        fail_unless (p.out->len >= 40);
        for (i = 0; i < 40; i++)
          EXPECT_EQ (*(const guint32 *) g_bytes_get_data
              (g_ptr_array_index (p.out, i), NULL), i);
        /* in order: each expected payload is looked for after the last */
        for (i = 40, j = 0; i < p.out->len && j < after->len; i++) {
          guint k;

          for (k = j; k < after->len; k++)
            if (g_bytes_equal (g_ptr_array_index (p.out, i),
                    g_ptr_array_index (after, k)))
              break;
          if (k < after->len) {
            found++;
            j = k + 1;
          }
        }
        g_print ("codec resync: %s garbage (%u bytes), %s pieces, "
            "max %u, seed %u: %u/500 recovered, %" G_GSIZE_FORMAT
            " bytes held at most\n", kind ? "4-byte alphabet" : "uniform",
            burst, chunking == 0 ? "whole" : chunking == 1 ? "1-byte" :
            "random", maxes[m], rs_seeds[__i__], found, held_max);
        fail_unless (found * 10 >= 500 * 9, "%u/500 recovered", found);
        fail_unless (held_max <= (gsize) maxes[m] + 18 + piece_max,
            "%" G_GSIZE_FORMAT " bytes held", held_max);

        g_ptr_array_unref (p.out);
        g_byte_array_unref (p.held);
        g_ptr_array_unref (after);
        g_byte_array_unref (s);
        g_rand_free (rand);
      }
}

GST_END_TEST;

static Suite *
framecodec_suite (void)
{
  Suite *s = suite_create ("framecodec");
  TCase *tc = tcase_create ("general");
  TCase *tf = tcase_create ("frames");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_golden_control);
  tcase_add_test (tc, test_length_extremes);
  tcase_add_test (tc, test_control_round_trip);
  tcase_add_test (tc, test_control_unknown);
  tcase_add_test (tc, test_resync_ts_window);
  tcase_add_test (tc, test_resync_check_chain);
  tcase_add_test (tc, test_resync_find_candidate_end);
  tcase_add_loop_test (tc, test_resync_garbage_burst, 0,
      G_N_ELEMENTS (rs_seeds));

  suite_add_tcase (s, tf);
  tcase_add_test (tf, test_golden_frames);
  tcase_add_test (tf, test_round_trip_sizes);
  tcase_add_test (tf, test_parse_truncation);
  tcase_add_test (tf, test_parse_errors);
  tcase_add_test (tf, test_find_terminator);
  tcase_add_test (tf, test_find_terminator_exact_alloc);
  tcase_add_test (tf, test_find_sync_corruptions);
  tcase_add_test (tf, test_find_sync_false_length);
  tcase_add_test (tf, test_find_sync_need_more);
  tcase_add_test (tf, test_find_sync_all_semis);
  tcase_add_test (tf, test_resync_plain_matches_find_sync);
  return s;
}

GST_CHECK_MAIN (framecodec);

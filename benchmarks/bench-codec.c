/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Codec benchmark: ns/frame for parse, encode and round trip, in the layout
 * of wire-format.md's reference table, plus the terminator scan (memchr,
 * next to a plain byte loop) and resynchronisation throughput.
 *
 * What is measured (all on data that stays in cache, ~2 MiB per stream):
 *  parse       wrtc_frame_parse () walking a buffer of consecutive frames,
 *              frame by frame, summing header fields. Zero-copy, like
 *              framedemux: the payload is not touched.
 *  encode      wrtc_frame_encode () of one payload into a stream buffer,
 *              frame after frame: header + memcpy of the payload + ';'.
 *  round trip  encode of a frame, then parse of that frame.
 *  parse+copy  parse, then memcpy of the payload out: what a decoder that
 *              hands out owned payload buffers pays (shown because the
 *              reference figures grow with size like a copy does).
 *  read_header wrtc_frame_read_header () over 4096 independent headers:
 *              the header decoder on its own, outside the parse loop.
 * Each figure is the median of several samples of >= 5 ms each, after a
 * warm-up pass, timed with CLOCK_MONOTONIC. */

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "frame-codec.h"

/* wire-format.md, "Reference implementation's published figures (ARM64
 * macOS, per frame)": parse, encode, round trip in ns. */
static const struct
{
  guint32 size;
  const char *label;
  double parse, encode, round_trip;
} reference[] = {
  {64, "64 B", 446, 467, 979},
  {1500, "1500 B", 426, 498, 983},
  {8192, "8192 B", 525, 770, 1387},
  {65507, "65507 B", 1448, 1827, 3419},
};

#define STREAM_BYTES (2 * 1024 * 1024)
#define MAX_LEN (16 * 1024 * 1024)

static gint64 sample_ns = 5000000;
static guint n_samples = 9;
static volatile guint64 sink;   /* keeps checksums alive */

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct
{
  guint32 len;
  guint n_frames;
  guint8 *payload;
  guint8 *stream;               /* n_frames encoded frames */
  gsize stream_size;
  guint8 *out;                  /* encode target, same size */
  guint8 *copy;                 /* parse+copy target */
} Ctx;

typedef guint64 (*PassFunc) (Ctx * c);

static guint64
pass_parse (Ctx * c)
{
  const guint8 *d = c->stream;
  gsize pos = 0, size = c->stream_size;
  guint64 sum = 0;
  WrtcFrameHeader h;

  while (pos < size) {
    if (wrtc_frame_parse (d + pos, size - pos, MAX_LEN, &h) != WRTC_FRAME_OK)
      abort ();
    sum += h.conn_no + h.length + h.timestamp_ms;
    pos += WRTC_FRAME_OVERHEAD + (gsize) h.length;
  }
  return sum;
}

static guint64
pass_parse_copy (Ctx * c)
{
  const guint8 *d = c->stream;
  gsize pos = 0, size = c->stream_size;
  guint64 sum = 0;
  WrtcFrameHeader h;

  while (pos < size) {
    if (wrtc_frame_parse (d + pos, size - pos, MAX_LEN, &h) != WRTC_FRAME_OK)
      abort ();
    memcpy (c->copy, d + pos + WRTC_FRAME_HEADER_SIZE, h.length);
    sum += h.conn_no + h.length + h.timestamp_ms + c->copy[0];
    pos += WRTC_FRAME_OVERHEAD + (gsize) h.length;
  }
  return sum;
}

static guint64
pass_encode (Ctx * c)
{
  gsize pos = 0;
  guint i;

  for (i = 0; i < c->n_frames; i++)
    pos += wrtc_frame_encode (c->out + pos, c->stream_size - pos, 1,
        G_GUINT64_CONSTANT (1700000000000) + i, c->payload, c->len);
  return pos + c->out[pos - 1];
}

static guint64
pass_round_trip (Ctx * c)
{
  gsize pos = 0, n;
  guint64 sum = 0;
  guint i;
  WrtcFrameHeader h;

  for (i = 0; i < c->n_frames; i++) {
    n = wrtc_frame_encode (c->out + pos, c->stream_size - pos, 1,
        G_GUINT64_CONSTANT (1700000000000) + i, c->payload, c->len);
    if (wrtc_frame_parse (c->out + pos, n, MAX_LEN, &h) != WRTC_FRAME_OK)
      abort ();
    sum += h.conn_no + h.length + h.timestamp_ms;
    pos += n;
  }
  return sum;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Median over n_samples of (time per sample / units per sample). */
static double
measure (PassFunc fn, Ctx * c, double units_per_pass)
{
  double samples[64];
  guint passes = 1, s;
  gint64 t0, t;

  sink += fn (c);               /* warm-up: caches, page faults */
  for (;;) {                    /* calibrate passes per sample */
    guint p;

    t0 = now_ns ();
    for (p = 0; p < passes; p++)
      sink += fn (c);
    t = now_ns () - t0;
    if (t >= sample_ns)
      break;
    passes *= 2;
  }
  for (s = 0; s < n_samples; s++) {
    guint p;

    t0 = now_ns ();
    for (p = 0; p < passes; p++)
      sink += fn (c);
    t = now_ns () - t0;
    samples[s] = (double) t / (passes * units_per_pass);
  }
  qsort (samples, n_samples, sizeof (double), cmp_double);
  return samples[n_samples / 2];
}

static void
ctx_init (Ctx * c, guint32 len)
{
  guint i;

  c->len = len;
  c->n_frames = MAX (16, STREAM_BYTES / (len + WRTC_FRAME_OVERHEAD));
  c->stream_size = (gsize) c->n_frames * (len + WRTC_FRAME_OVERHEAD);
  c->payload = g_malloc (len);
  for (i = 0; i < len; i++)
    c->payload[i] = (guint8) (i * 7 + 1);
  c->stream = g_malloc (c->stream_size);
  c->out = g_malloc (c->stream_size);
  c->copy = g_malloc (len);
  memset (c->out, 0, c->stream_size);
  /* the stream to parse, built once (with the scalar encoder: same bytes) */
  if (pass_encode (c) == 0)
    abort ();
  memcpy (c->stream, c->out, c->stream_size);
}

static void
ctx_clear (Ctx * c)
{
  g_free (c->payload);
  g_free (c->stream);
  g_free (c->out);
  g_free (c->copy);
}

typedef struct
{
  double parse[4], encode[4], round_trip[4], parse_copy[4];
  double term_gbs, loop_gbs, sync_mbs, read_header_ns;
} CodecResult;

static void
run_frames (CodecResult * r)
{
  guint s;

  printf ("| frame   | parse     | encode    | round trip | throughput "
      "(parse)  | vs reference (parse / encode / round trip)\n");
  printf ("|---------|-----------|-----------|------------|---------------"
      "------|-------------------------------------------\n");
  for (s = 0; s < G_N_ELEMENTS (reference); s++) {
    Ctx c;

    ctx_init (&c, reference[s].size);
    r->parse[s] = measure (pass_parse, &c, c.n_frames);
    r->encode[s] = measure (pass_encode, &c, c.n_frames);
    r->round_trip[s] = measure (pass_round_trip, &c, c.n_frames);
    r->parse_copy[s] = measure (pass_parse_copy, &c, c.n_frames);
    printf ("| %-7s | %6.1f ns | %6.1f ns | %7.1f ns | %8.1f M frames/s | "
        "%6.1fx / %5.1fx / %5.1fx faster\n", reference[s].label,
        r->parse[s], r->encode[s], r->round_trip[s], 1000.0 / r->parse[s],
        reference[s].parse / r->parse[s], reference[s].encode / r->encode[s],
        reference[s].round_trip / r->round_trip[s]);
    ctx_clear (&c);
  }
  printf ("  parse + payload copy:");
  for (s = 0; s < G_N_ELEMENTS (reference); s++)
    printf ("  %s %.1f ns (%.1fx ref parse)", reference[s].label,
        r->parse_copy[s], reference[s].parse / r->parse_copy[s]);
  printf ("\n");
}

static guint8 *scan_buf;
static gsize scan_size;

static guint64
pass_terminator (Ctx * c)
{
  return wrtc_frame_find_terminator (scan_buf, scan_size);
}

/* What memchr is measured against: the loop a plain C scan would be. */
static guint64
pass_terminator_loop (Ctx * c)
{
  const volatile guint8 *p = scan_buf;
  gsize i;

  for (i = 0; i < scan_size; i++)
    if (p[i] == WRTC_FRAME_TERMINATOR)
      return i;
  return scan_size;
}

#define N_HEADERS 4096
static guint8 *hdr_buf;

static guint64
pass_read_header (Ctx * c)
{
  guint64 sum = 0;
  guint i;
  WrtcFrameHeader h;

  for (i = 0; i < N_HEADERS; i++) {
    wrtc_frame_read_header (hdr_buf + i * WRTC_FRAME_HEADER_SIZE, &h);
    sum += h.conn_no ^ h.length ^ h.timestamp_ms;
  }
  return sum;
}

static guint8 *sync_buf;
static gsize sync_size;

static guint64
pass_sync (Ctx * c)
{
  gsize off;

  return wrtc_frame_find_sync (sync_buf, sync_size, MAX_LEN, &off) + off;
}

static void
run_scans (CodecResult * r)
{
  r->read_header_ns = measure (pass_read_header, NULL, N_HEADERS);
  r->term_gbs = 1.0 / measure (pass_terminator, NULL, scan_size);
  r->loop_gbs = 1.0 / measure (pass_terminator_loop, NULL, scan_size);
  r->sync_mbs = 1000.0 / measure (pass_sync, NULL, sync_size);
  printf ("  read_header (4096 independent headers): %.2f ns/header\n",
      r->read_header_ns);
  printf ("  find_terminator (1 MiB, no ';' until the end): %.2f GB/s "
      "(byte loop %.2f GB/s)\n", r->term_gbs, r->loop_gbs);
  printf ("  find_sync (1 MiB corrupt data, 1/8 bytes ';'): %.1f MB/s\n",
      r->sync_mbs);
}

int
bench_codec_run (int argc, char **argv)
{
  CodecResult result;
  GRand *rand;
  gsize i;
  int a;

  for (a = 1; a < argc; a++) {
    if (strcmp (argv[a], "--quick") == 0) {
      sample_ns = 1000000;
      n_samples = 3;
    } else {
      fprintf (stderr, "usage: wrtcframe-bench codec [--quick]\n");
      return 2;
    }
  }

  printf ("== codec benchmark ==\n");
  printf ("reference figures: wire-format.md (ARM64 macOS, Rust)\n");
  printf ("median of %u samples of >= %.0f ms; ns per frame; "
      "\"x faster\" = reference / measured\n\n", n_samples, sample_ns / 1e6);

  scan_size = 1024 * 1024;
  scan_buf = g_malloc (scan_size);
  memset (scan_buf, 'a', scan_size);
  scan_buf[scan_size - 1] = ';';
  sync_size = 1024 * 1024;
  sync_buf = g_malloc (sync_size);
  rand = g_rand_new_with_seed (2026);
  for (i = 0; i < sync_size; i++)
    sync_buf[i] = g_rand_int_range (rand, 0, 8) == 0 ? ';' :
        (guint8) g_rand_int_range (rand, 0, 256);
  hdr_buf = g_malloc (N_HEADERS * WRTC_FRAME_HEADER_SIZE);
  for (i = 0; i < N_HEADERS; i++)
    wrtc_frame_write_header (hdr_buf + i * WRTC_FRAME_HEADER_SIZE,
        g_rand_int (rand), ((guint64) g_rand_int (rand) << 32) | i,
        g_rand_int (rand));
  g_rand_free (rand);

  run_frames (&result);
  run_scans (&result);
  g_free (scan_buf);
  g_free (sync_buf);
  g_free (hdr_buf);
  return sink == 42 ? 1 : 0;
}

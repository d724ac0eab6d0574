/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include "frame-codec.h"
#include "frame-codec-impl.h"

#include <string.h>

/* ---- scalar kernels: the reference every SIMD path is tested against ---- */

static inline guint32
read_u32_be (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | (guint32) p[3];
}

static inline void
write_u32_be (guint8 * p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
scalar_read_header (const guint8 * src, WrtcFrameHeader * header)
{
  header->conn_no = read_u32_be (src);
  header->timestamp_ms =
      ((guint64) read_u32_be (src + 4) << 32) | read_u32_be (src + 8);
  header->length = read_u32_be (src + 12);
}

/* A plain byte loop on purpose (not memchr, which glibc vectorises): this is
 * the baseline the SIMD scanners are compared with. */
static gsize
scalar_find_terminator (const guint8 * data, gsize size)
{
  gsize i;

  for (i = 0; i < size; i++)
    if (data[i] == WRTC_FRAME_TERMINATOR)
      return i;
  return size;
}

const WrtcFrameKernels wrtc_frame_kernels_scalar = {
  scalar_read_header,
  scalar_find_terminator,
};

/* ---- runtime dispatch ---- */

static const WrtcFrameKernels *kernels = &wrtc_frame_kernels_scalar;
static WrtcFrameImpl current_impl = WRTC_FRAME_IMPL_SCALAR;

static const WrtcFrameKernels *
kernels_for (WrtcFrameImpl impl)
{
  switch (impl) {
    case WRTC_FRAME_IMPL_SCALAR:
      return &wrtc_frame_kernels_scalar;
    default:
      return NULL;
  }
}

static WrtcFrameImpl
best_impl (void)
{
  return WRTC_FRAME_IMPL_SCALAR;
}

gboolean
wrtc_frame_impl_supported (WrtcFrameImpl impl)
{
  if (impl == WRTC_FRAME_IMPL_AUTO)
    return TRUE;
  return kernels_for (impl) != NULL;
}

gboolean
wrtc_frame_set_impl (WrtcFrameImpl impl)
{
  const WrtcFrameKernels *k;

  if (impl == WRTC_FRAME_IMPL_AUTO)
    impl = best_impl ();
  k = kernels_for (impl);
  if (k == NULL)
    return FALSE;
  kernels = k;
  current_impl = impl;
  return TRUE;
}

WrtcFrameImpl
wrtc_frame_get_impl (void)
{
  return current_impl;
}

const gchar *
wrtc_frame_impl_name (WrtcFrameImpl impl)
{
  switch (impl) {
    case WRTC_FRAME_IMPL_AUTO:
      return "auto";
    case WRTC_FRAME_IMPL_SCALAR:
      return "scalar";
    case WRTC_FRAME_IMPL_SSE2:
      return "sse2";
    case WRTC_FRAME_IMPL_SSSE3:
      return "ssse3";
    case WRTC_FRAME_IMPL_AVX2:
      return "avx2";
    case WRTC_FRAME_IMPL_NEON:
      return "neon";
  }
  return "unknown";
}

/* ---- frames ---- */

guint64
wrtc_frame_now_ms (void)
{
  return (guint64) g_get_real_time () / 1000;
}

void
wrtc_frame_write_header (guint8 * dest, guint32 conn_no, guint64 timestamp_ms,
    guint32 length)
{
  write_u32_be (dest, conn_no);
  write_u32_be (dest + 4, (guint32) (timestamp_ms >> 32));
  write_u32_be (dest + 8, (guint32) timestamp_ms);
  write_u32_be (dest + 12, length);
}

void
wrtc_frame_read_header (const guint8 * src, WrtcFrameHeader * header)
{
  kernels->read_header (src, header);
}

gsize
wrtc_frame_encode (guint8 * dest, gsize dest_size, guint32 conn_no,
    guint64 timestamp_ms, const guint8 * payload, guint32 length)
{
  gsize total = (gsize) length + WRTC_FRAME_OVERHEAD;

  if (dest_size < total)
    return 0;
  wrtc_frame_write_header (dest, conn_no, timestamp_ms, length);
  if (length)
    memcpy (dest + WRTC_FRAME_HEADER_SIZE, payload, length);
  dest[WRTC_FRAME_HEADER_SIZE + length] = WRTC_FRAME_TERMINATOR;
  return total;
}

WrtcFrameStatus
wrtc_frame_parse (const guint8 * data, gsize size, guint32 max_length,
    WrtcFrameHeader * header)
{
  if (size < WRTC_FRAME_HEADER_SIZE)
    return WRTC_FRAME_NEED_MORE;
  kernels->read_header (data, header);
  if (header->length > max_length)
    return WRTC_FRAME_TOO_LONG;
  if (size - WRTC_FRAME_HEADER_SIZE <= header->length)
    return WRTC_FRAME_NEED_MORE;
  if (data[WRTC_FRAME_HEADER_SIZE + header->length] != WRTC_FRAME_TERMINATOR)
    return WRTC_FRAME_BAD_TERMINATOR;
  return WRTC_FRAME_OK;
}

gsize
wrtc_frame_find_terminator (const guint8 * data, gsize size)
{
  return kernels->find_terminator (data, size);
}

typedef enum
{
  CANDIDATE_BAD,
  CANDIDATE_UNCHECKED,          /* not enough data to decide */
  CANDIDATE_GOOD,
} Candidate;

/* Checks the frame at @pos alone: length within bounds and terminator. */
static Candidate
check_frame (const guint8 * data, gsize size, gsize pos, guint32 max_length,
    gsize * next)
{
  WrtcFrameHeader h;

  switch (wrtc_frame_parse (data + pos, size - pos, max_length, &h)) {
    case WRTC_FRAME_OK:
      *next = pos + WRTC_FRAME_OVERHEAD + h.length;
      return CANDIDATE_GOOD;
    case WRTC_FRAME_NEED_MORE:
      return CANDIDATE_UNCHECKED;
    default:
      return CANDIDATE_BAD;
  }
}

WrtcFrameSync
wrtc_frame_find_sync (const guint8 * data, gsize size, guint32 max_length,
    gsize * offset)
{
  gsize first_unchecked = G_MAXSIZE;
  gsize pos = 0;

  while (pos < size) {
    gsize semi = pos + wrtc_frame_find_terminator (data + pos, size - pos);
    gsize cand = semi + 1, next;

    if (semi >= size)
      break;
    pos = cand;

    switch (check_frame (data, size, cand, max_length, &next)) {
      case CANDIDATE_BAD:
        continue;
      case CANDIDATE_UNCHECKED:
        if (first_unchecked == G_MAXSIZE)
          first_unchecked = cand;
        continue;
      case CANDIDATE_GOOD:
        break;
    }

    /* The frame checks out; its successor must not contradict it. */
    if (check_frame (data, size, next, max_length, &next) != CANDIDATE_BAD) {
      *offset = cand;
      return WRTC_FRAME_SYNC_FOUND;
    }
  }

  /* Keep the ';' in front of the earliest undecided candidate so the next
   * call still sees it as a candidate. */
  *offset = first_unchecked != G_MAXSIZE ? first_unchecked - 1 : size;
  return WRTC_FRAME_SYNC_NEED_MORE;
}

/* ---- control messages ---- */

static gboolean
code_has_conn_no (guint16 code)
{
  return code >= WRTC_CONTROL_OPEN_CONNECTION && code <= WRTC_CONTROL_SEND_EOF;
}

WrtcControlParseResult
wrtc_control_parse (const guint8 * payload, gsize size,
    WrtcControlMessage * msg)
{
  gsize pos = 2;

  memset (msg, 0, sizeof (*msg));
  if (size < 2)
    return WRTC_CONTROL_PARSE_TRUNCATED;
  msg->code = ((guint16) payload[0] << 8) | payload[1];

  if (code_has_conn_no (msg->code)) {
    if (size < pos + 4)
      return WRTC_CONTROL_PARSE_TRUNCATED;
    msg->conn_no = read_u32_be (payload + pos);
    pos += 4;
  }
  if (msg->code == WRTC_CONTROL_CLOSE_CONNECTION) {
    /* u16 reason; some reference versions send a single byte. */
    if (size >= pos + 2) {
      msg->reason = ((guint16) payload[pos] << 8) | payload[pos + 1];
      pos += 2;
    } else if (size == pos + 1) {
      msg->reason = payload[pos];
      pos += 1;
    } else {
      return WRTC_CONTROL_PARSE_TRUNCATED;
    }
  }
  msg->data = payload + pos;
  msg->data_len = size - pos;

  switch (msg->code) {
    case WRTC_CONTROL_PING:
    case WRTC_CONTROL_PONG:
    case WRTC_CONTROL_OPEN_CONNECTION:
    case WRTC_CONTROL_CLOSE_CONNECTION:
    case WRTC_CONTROL_CONNECTION_OPENED:
    case WRTC_CONTROL_SEND_EOF:
    case WRTC_CONTROL_METRICS_REQUEST:
    case WRTC_CONTROL_METRICS_RESPONSE:
    case WRTC_CONTROL_METRICS_CONFIG:
      return WRTC_CONTROL_PARSE_OK;
    default:
      return WRTC_CONTROL_PARSE_UNKNOWN_CODE;
  }
}

gsize
wrtc_control_encode (guint8 * dest, gsize dest_size,
    const WrtcControlMessage * msg)
{
  gsize need = 2 + msg->data_len, pos = 2;

  if (code_has_conn_no (msg->code))
    need += 4;
  if (msg->code == WRTC_CONTROL_CLOSE_CONNECTION)
    need += 2;
  if (dest_size < need)
    return 0;

  dest[0] = msg->code >> 8;
  dest[1] = msg->code;
  if (code_has_conn_no (msg->code)) {
    write_u32_be (dest + pos, msg->conn_no);
    pos += 4;
  }
  if (msg->code == WRTC_CONTROL_CLOSE_CONNECTION) {
    dest[pos] = msg->reason >> 8;
    dest[pos + 1] = msg->reason;
    pos += 2;
  }
  if (msg->data_len)
    memcpy (dest + pos, msg->data, msg->data_len);
  return need;
}

const gchar *
wrtc_control_code_name (guint16 code)
{
  switch (code) {
    case WRTC_CONTROL_PING:
      return "Ping";
    case WRTC_CONTROL_PONG:
      return "Pong";
    case WRTC_CONTROL_OPEN_CONNECTION:
      return "OpenConnection";
    case WRTC_CONTROL_CLOSE_CONNECTION:
      return "CloseConnection";
    case WRTC_CONTROL_CONNECTION_OPENED:
      return "ConnectionOpened";
    case WRTC_CONTROL_SEND_EOF:
      return "SendEOF";
    case WRTC_CONTROL_METRICS_REQUEST:
      return "MetricsRequest";
    case WRTC_CONTROL_METRICS_RESPONSE:
      return "MetricsResponse";
    case WRTC_CONTROL_METRICS_CONFIG:
      return "MetricsConfig";
    default:
      return "Unknown";
  }
}

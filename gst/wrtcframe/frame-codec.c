/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The frame codec (see wire-format.md). Scalar throughout, by measurement
 * (README, "Where SIMD is used"): per-ISA SIMD kernels for the header decode
 * and the terminator scan existed and were dropped. The shuffle decoder was
 * 0.76-0.98x byte-swapped loads on its own and slower inside the parse loop,
 * which is latency-bound (the next frame's position depends on this frame's
 * length); the scanners were 4-18x a byte loop but no faster than glibc's
 * memchr, which the scan now uses.
 *
 * The header encode is scalar too: the compiler turns write_u32_be () into
 * bswap + store (movbe where available). */

#include "frame-codec.h"

#include <stdlib.h>
#include <string.h>

/* Byte-wise loads and stores: no unaligned access through a cast pointer,
 * and each byte is widened to guint32 before shifting, so nothing is ever
 * shifted into an int's sign bit. GCC and Clang fold these into bswap. */
static inline guint32
read_u32_be (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | (guint32) p[3];
}

static inline void
write_u32_be (guint8 * p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static inline void
read_header_inline (const guint8 * src, WrtcFrameHeader * header)
{
  header->conn_no = read_u32_be (src);
  header->timestamp_ms =
      ((guint64) read_u32_be (src + 4) << 32) | read_u32_be (src + 8);
  header->length = read_u32_be (src + 12);
}

/* The parse rule of wire-format.md. */
static inline WrtcFrameStatus
parse_inline (const guint8 * data, gsize size, guint32 max_length,
    WrtcFrameHeader * header)
{
  guint32 length;

  if (G_UNLIKELY (size < WRTC_FRAME_HEADER_SIZE))
    return WRTC_FRAME_NEED_MORE;
  read_header_inline (data, header);
  length = header->length;
  if (G_UNLIKELY (length > max_length))
    return WRTC_FRAME_TOO_LONG;
  /* size - 16 > length <=> the terminator byte is buffered; written this way
   * round so nothing can overflow, even with a 32-bit gsize. */
  if (G_UNLIKELY (size - WRTC_FRAME_HEADER_SIZE <= length))
    return WRTC_FRAME_NEED_MORE;
  if (G_UNLIKELY (data[WRTC_FRAME_HEADER_SIZE + (gsize) length] !=
          WRTC_FRAME_TERMINATOR))
    return WRTC_FRAME_BAD_TERMINATOR;
  return WRTC_FRAME_OK;
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
  read_header_inline (src, header);
}

gsize
wrtc_frame_encode (guint8 * dest, gsize dest_size, guint32 conn_no,
    guint64 timestamp_ms, const guint8 * payload, guint32 length)
{
  /* Compare without computing length + 17 first: with a 32-bit gsize that
   * sum wraps for lengths near G_MAXUINT32 and would pass the check. */
  if (dest_size < WRTC_FRAME_OVERHEAD
      || dest_size - WRTC_FRAME_OVERHEAD < length)
    return 0;
  wrtc_frame_write_header (dest, conn_no, timestamp_ms, length);
  if (length)
    memcpy (dest + WRTC_FRAME_HEADER_SIZE, payload, length);
  dest[WRTC_FRAME_HEADER_SIZE + (gsize) length] = WRTC_FRAME_TERMINATOR;
  return (gsize) length + WRTC_FRAME_OVERHEAD;
}

WrtcFrameStatus
wrtc_frame_parse (const guint8 * data, gsize size, guint32 max_length,
    WrtcFrameHeader * header)
{
  return parse_inline (data, size, max_length, header);
}

gsize
wrtc_frame_find_terminator (const guint8 * data, gsize size)
{
  const guint8 *p = size ? memchr (data, WRTC_FRAME_TERMINATOR, size) : NULL;

  return p != NULL ? (gsize) (p - data) : size;
}

typedef enum
{
  CANDIDATE_BAD,
  CANDIDATE_UNCHECKED,          /* not enough data to decide */
  CANDIDATE_GOOD,
} Candidate;

/* Checks the frame at @pos alone: length within bounds and terminator.
 * O(1): only the header and the terminator byte are read. */
static inline Candidate
check_frame (const guint8 * data, gsize size, gsize pos, guint32 max_length,
    gsize * next)
{
  WrtcFrameHeader h;

  switch (parse_inline (data + pos, size - pos, max_length, &h)) {
    case WRTC_FRAME_OK:
      *next = pos + WRTC_FRAME_OVERHEAD + h.length;
      return CANDIDATE_GOOD;
    case WRTC_FRAME_NEED_MORE:
      return CANDIDATE_UNCHECKED;
    default:
      return CANDIDATE_BAD;
  }
}

/* Every ';' is visited once and each candidate costs O(1) (a header decode
 * plus one byte), so a call is linear in @size even when the data is nothing
 * but ';'. The scan restarts right after each ';', never from the start. */
WrtcFrameSync
wrtc_frame_find_sync (const guint8 * data, gsize size, guint32 max_length,
    gsize * offset)
{
  gsize first_unchecked = G_MAXSIZE;
  gsize pos = 0;

  while (pos < size) {
    gsize cand, next;

    /* In ';'-dense data most positions are a ';': skip the call then. */
    if (data[pos] != WRTC_FRAME_TERMINATOR) {
      pos += wrtc_frame_find_terminator (data + pos, size - pos);
      if (pos >= size)
        break;
    }
    cand = pos + 1;
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
   * call still sees it as a candidate; everything before it can go. */
  *offset = first_unchecked != G_MAXSIZE ? first_unchecked - 1 : size;
  return WRTC_FRAME_SYNC_NEED_MORE;
}

/* ---- control messages ---- */

static gboolean
code_has_conn_no (guint16 code)
{
  return (code >= WRTC_CONTROL_OPEN_CONNECTION &&
      code <= WRTC_CONTROL_SEND_EOF) || code == WRTC_CONTROL_FLOW_CREDIT;
}

/* Data a flow-control message needs after its fixed fields. Only version 1
 * layouts are known; longer data (a later version's extra fields) is fine. */
static gsize
flow_min_data (guint16 code)
{
  switch (code) {
    case WRTC_CONTROL_FLOW_OFFER:
      return WRTC_FLOW_OFFER_SIZE;
    case WRTC_CONTROL_FLOW_GRANT:
      return WRTC_FLOW_GRANT_SIZE;
    case WRTC_CONTROL_FLOW_CREDIT:
      return WRTC_FLOW_CREDIT_SIZE - 4;   /* after the conn_no */
    default:
      return 0;
  }
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
    case WRTC_CONTROL_FLOW_OFFER:
    case WRTC_CONTROL_FLOW_GRANT:
    case WRTC_CONTROL_FLOW_CREDIT:
      return msg->data_len < flow_min_data (msg->code) ?
          WRTC_CONTROL_PARSE_TRUNCATED : WRTC_CONTROL_PARSE_OK;
    default:
      return WRTC_CONTROL_PARSE_UNKNOWN_CODE;
  }
}

gsize
wrtc_control_encode (guint8 * dest, gsize dest_size,
    const WrtcControlMessage * msg)
{
  gsize fixed = 2, pos = 2;

  if (code_has_conn_no (msg->code))
    fixed += 4;
  if (msg->code == WRTC_CONTROL_CLOSE_CONNECTION)
    fixed += 2;
  /* No fixed + data_len sum that could wrap. */
  if (dest_size < fixed || dest_size - fixed < msg->data_len)
    return 0;

  dest[0] = (guint8) (msg->code >> 8);
  dest[1] = (guint8) msg->code;
  if (code_has_conn_no (msg->code)) {
    write_u32_be (dest + pos, msg->conn_no);
    pos += 4;
  }
  if (msg->code == WRTC_CONTROL_CLOSE_CONNECTION) {
    dest[pos] = (guint8) (msg->reason >> 8);
    dest[pos + 1] = (guint8) msg->reason;
    pos += 2;
  }
  if (msg->data_len)
    memcpy (dest + pos, msg->data, msg->data_len);
  return fixed + msg->data_len;
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
    case WRTC_CONTROL_FLOW_OFFER:
      return "FlowOffer";
    case WRTC_CONTROL_FLOW_GRANT:
      return "FlowGrant";
    case WRTC_CONTROL_FLOW_CREDIT:
      return "FlowCredit";
    default:
      return "Unknown";
  }
}

static gsize
flow_encode (guint8 * dest, gsize dest_size, guint16 code,
    const guint32 * words, guint n_words)
{
  gsize size = 2 + 4 * (gsize) n_words;
  guint i;

  if (dest_size < size)
    return 0;
  dest[0] = (guint8) (code >> 8);
  dest[1] = (guint8) code;
  for (i = 0; i < n_words; i++)
    write_u32_be (dest + 2 + 4 * i, words[i]);
  return size;
}

gsize
wrtc_flow_encode_offer (guint8 * dest, gsize dest_size)
{
  const guint32 w[] = { WRTC_FLOW_VERSION };

  return flow_encode (dest, dest_size, WRTC_CONTROL_FLOW_OFFER, w, 1);
}

gsize
wrtc_flow_encode_grant (guint8 * dest, gsize dest_size, guint32 window,
    guint32 tunnel_window)
{
  const guint32 w[] = { WRTC_FLOW_VERSION, window, tunnel_window };

  return flow_encode (dest, dest_size, WRTC_CONTROL_FLOW_GRANT, w, 3);
}

gsize
wrtc_flow_encode_credit (guint8 * dest, gsize dest_size, guint32 conn_no,
    guint64 delivered)
{
  const guint32 w[] = { conn_no, (guint32) (delivered >> 32),
    (guint32) delivered
  };

  return flow_encode (dest, dest_size, WRTC_CONTROL_FLOW_CREDIT, w, 3);
}

void
wrtc_flow_read_grant (const WrtcControlMessage * msg, guint32 * window,
    guint32 * tunnel_window)
{
  *window = read_u32_be (msg->data + 4);
  *tunnel_window = read_u32_be (msg->data + 8);
}

guint64
wrtc_flow_read_credit (const WrtcControlMessage * msg)
{
  return (guint64) read_u32_be (msg->data) << 32 | read_u32_be (msg->data + 4);
}

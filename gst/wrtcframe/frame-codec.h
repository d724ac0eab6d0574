/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2 of the License, or (at your option) any later version.
 */

/* The frame codec: pure byte-level encoding and decoding of the multiplexed
 * tunnel stream described in wire-format.md. No GStreamer element code here,
 * only GLib types, so tests, benchmarks and fuzzers can use it directly. */

#ifndef __WRTC_FRAME_CODEC_H__
#define __WRTC_FRAME_CODEC_H__

#include <glib.h>

G_BEGIN_DECLS

#define WRTC_FRAME_HEADER_SIZE   16
#define WRTC_FRAME_OVERHEAD      17     /* header + terminator */
#define WRTC_FRAME_TERMINATOR    0x3B   /* ';' */
#define WRTC_FRAME_CONTROL_CONN  0

/* Decoded header in host byte order. The field order differs from the wire
 * order on purpose: it makes the struct exactly 16 bytes with no padding. */
typedef struct
{
  guint32 conn_no;
  guint32 length;
  guint64 timestamp_ms;
} WrtcFrameHeader;

G_STATIC_ASSERT (sizeof (WrtcFrameHeader) == 16);

typedef enum
{
  WRTC_FRAME_OK,                /* a complete frame with a verified terminator */
  WRTC_FRAME_NEED_MORE,         /* the frame is not completely buffered yet */
  WRTC_FRAME_TOO_LONG,          /* length above the caller's maximum */
  WRTC_FRAME_BAD_TERMINATOR,    /* byte at 16 + length is not ';' */
} WrtcFrameStatus;

/* Wall clock in milliseconds since the UNIX epoch, as the wire wants it. */
guint64       wrtc_frame_now_ms          (void);

/* Writes the 16-byte header at @dest. */
void          wrtc_frame_write_header    (guint8 * dest, guint32 conn_no,
                                          guint64 timestamp_ms, guint32 length);

/* Reads the 16-byte header at @src (which must hold 16 bytes). */
void          wrtc_frame_read_header     (const guint8 * src,
                                          WrtcFrameHeader * header);

/* Encodes one whole frame into @dest. Returns the bytes written
 * (WRTC_FRAME_OVERHEAD + @length), or 0 when @dest_size is too small. */
gsize         wrtc_frame_encode          (guint8 * dest, gsize dest_size,
                                          guint32 conn_no, guint64 timestamp_ms,
                                          const guint8 * payload, guint32 length);

/* Parses the frame at the start of @data. Fills @header whenever the 16 header
 * bytes are present (also on NEED_MORE, TOO_LONG and BAD_TERMINATOR). The
 * payload is at data + WRTC_FRAME_HEADER_SIZE; the whole frame takes
 * WRTC_FRAME_OVERHEAD + header->length bytes. */
WrtcFrameStatus wrtc_frame_parse         (const guint8 * data, gsize size,
                                          guint32 max_length,
                                          WrtcFrameHeader * header);

/* Index of the first terminator byte (';') in @data, or @size if none
 * (memchr: as fast as the SIMD scanners this replaced). */
gsize         wrtc_frame_find_terminator (const guint8 * data, gsize size);

typedef enum
{
  WRTC_FRAME_SYNC_FOUND,        /* *offset = start of a verified frame */
  WRTC_FRAME_SYNC_NEED_MORE,    /* *offset = bytes that may be discarded now */
} WrtcFrameSync;

/* Resynchronisation after stream damage. @data starts at the position where
 * parsing failed (that position is not a frame start). A candidate frame start
 * is any position right after a ';' byte, because in an intact stream every
 * frame follows its predecessor's terminator. A candidate is accepted only if
 * its length is at most @max_length, its terminator is in place, and its
 * successor (when its header is buffered) is plausible as well. A later
 * candidate that verifies this way wins over an earlier one that cannot be
 * checked yet, so a false length inside garbage cannot swallow the valid
 * frames behind it. */
WrtcFrameSync wrtc_frame_find_sync       (const guint8 * data, gsize size,
                                          guint32 max_length, gsize * offset);

/* Control connection (conn_no 0): payload = u16 code + data. */
typedef enum
{
  WRTC_CONTROL_PING = 1,
  WRTC_CONTROL_PONG = 2,
  WRTC_CONTROL_OPEN_CONNECTION = 101,
  WRTC_CONTROL_CLOSE_CONNECTION = 102,
  WRTC_CONTROL_CONNECTION_OPENED = 103,
  WRTC_CONTROL_SEND_EOF = 104,
  WRTC_CONTROL_METRICS_REQUEST = 301,
  WRTC_CONTROL_METRICS_RESPONSE = 302,
  WRTC_CONTROL_METRICS_CONFIG = 303,
  /* Credit flow control, beyond the reference (docs/wire-format.md). */
  WRTC_CONTROL_FLOW_OFFER = 1001,
  WRTC_CONTROL_FLOW_GRANT = 1002,
  WRTC_CONTROL_FLOW_CREDIT = 1003,
} WrtcControlCode;

/* Data sizes of the flow-control messages (after the u16 code). */
#define WRTC_FLOW_VERSION 1
#define WRTC_FLOW_OFFER_SIZE 4          /* u32 version */
#define WRTC_FLOW_GRANT_SIZE 12         /* u32 version, u32 window, u32 tunnel window */
#define WRTC_FLOW_CREDIT_SIZE 12        /* u32 conn_no, u64 delivered */

typedef enum
{
  WRTC_CONTROL_PARSE_OK,
  WRTC_CONTROL_PARSE_TRUNCATED,     /* shorter than its code requires */
  WRTC_CONTROL_PARSE_UNKNOWN_CODE,  /* well-formed, but a code we do not know */
} WrtcControlParseResult;

typedef struct
{
  guint16 code;
  guint32 conn_no;              /* codes 101..104 */
  guint16 reason;               /* CloseConnection: u16, or a u8 widened */
  const guint8 *data;           /* what follows the fields above */
  gsize data_len;
} WrtcControlMessage;

WrtcControlParseResult wrtc_control_parse (const guint8 * payload, gsize size,
                                           WrtcControlMessage * msg);

/* Writes code (+ conn_no for codes 101..104, + u16 reason for 102) + @data.
 * Returns bytes written, or 0 when @dest_size is too small. */
gsize         wrtc_control_encode        (guint8 * dest, gsize dest_size,
                                          const WrtcControlMessage * msg);

const gchar * wrtc_control_code_name     (guint16 code);

/* Flow-control messages. The encoders write the whole control payload
 * (u16 code + data) and return its size, or 0 when @dest_size is too small.
 * The readers take a message wrtc_control_parse() returned OK for. */
gsize         wrtc_flow_encode_offer     (guint8 * dest, gsize dest_size);
gsize         wrtc_flow_encode_grant     (guint8 * dest, gsize dest_size,
                                          guint32 window,
                                          guint32 tunnel_window);
gsize         wrtc_flow_encode_credit    (guint8 * dest, gsize dest_size,
                                          guint32 conn_no, guint64 delivered);
void          wrtc_flow_read_grant       (const WrtcControlMessage * msg,
                                          guint32 * window,
                                          guint32 * tunnel_window);
guint64       wrtc_flow_read_credit      (const WrtcControlMessage * msg);

G_END_DECLS

#endif /* __WRTC_FRAME_CODEC_H__ */

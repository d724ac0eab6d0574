/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* A GIOStream over another one that counts the bytes going through, for the
 * signalling server's per-peer limits that libsoup 3.2 has no knob for:
 *
 * - bytes of data frames written (the stream parses the frame headers
 *   going out; pings, pongs and closes do not count): the server knows how
 *   much of what it queued on a SoupWebsocketConnection has left, so the
 *   queue per peer is bounded;
 * - bytes read since the last mark (the last complete message): a message
 *   sent as many small fragments cannot grow past the limit ("overflow",
 *   after which the stream is blocked);
 * - time since the last byte read: with keep-alive pings going out, a peer
 *   that answers nothing for @idle_timeout seconds is dead ("idle").
 *
 * Both signals are emitted from the thread-default main context of the
 * caller of wrtc_counting_stream_new(), never from inside a read. */

#ifndef __WRTC_SIGNALLING_STREAM_H__
#define __WRTC_SIGNALLING_STREAM_H__

#include <gio/gio.h>

G_BEGIN_DECLS

#define WRTC_TYPE_COUNTING_STREAM (wrtc_counting_stream_get_type ())
G_DECLARE_FINAL_TYPE (WrtcCountingStream, wrtc_counting_stream, WRTC,
    COUNTING_STREAM, GIOStream)

/* @max_unmarked: bytes that may be read between two marks (0: no limit);
 * @idle_timeout: seconds (0: never idle). @base must be pollable. */
WrtcCountingStream *wrtc_counting_stream_new (GIOStream * base,
    guint64 max_unmarked, guint idle_timeout);

guint64 wrtc_counting_stream_get_written (WrtcCountingStream * stream);

/* A complete message was read: the limit counts from here. */
void wrtc_counting_stream_mark_message (WrtcCountingStream * stream);

/* From now on whatever is read is discarded; only the end of the stream
 * (the peer's answer to a close) or an error reaches the reader. */
void wrtc_counting_stream_block (WrtcCountingStream * stream);

G_END_DECLS

#endif /* __WRTC_SIGNALLING_STREAM_H__ */

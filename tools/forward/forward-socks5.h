/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The SOCKS5 side of wrtcframe-forward listen (RFC 1928: no
 * authentication, CONNECT), on a blocking GIO connection. */

#ifndef __FORWARD_SOCKS5_H__
#define __FORWARD_SOCKS5_H__

#include <gio/gio.h>
#include "forward-target.h"

G_BEGIN_DECLS

/* Close reasons (docs/wire-format.md) that have a SOCKS5 reply of their
 * own. */
#define REASON_NORMAL 0
#define REASON_TIMEOUT 2
#define REASON_CONNECTION_LOST 9
#define REASON_CONNECTION_FAILED 10
#define REASON_TUNNEL_CLOSED 11
#define REASON_RESOLUTION_FAILED 16
#define REASON_CONFIGURATION_ERROR 18

/* Reads the greeting and the CONNECT request into @target. FALSE, after
 * the reply the protocol asks for, when the client is not one. */
gboolean socks_handshake (GSocketConnection * sc, ForwardTarget * target);
/* The reply code for a close reason (0 for success is the caller's). */
guint8 socks_reply_code (guint16 reason);
void socks_reply (GOutputStream * out, guint8 code);

G_END_DECLS

#endif

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

/* Reads the greeting and the CONNECT request into @target. FALSE, after
 * the reply the protocol asks for, when the client is not one. */
gboolean socks_handshake (GSocketConnection * sc, ForwardTarget * target);
/* The reply code for a close reason (0 for success is the caller's). */
guint8 socks_reply_code (guint16 reason);
void socks_reply (GOutputStream * out, guint8 code);

G_END_DECLS

#endif

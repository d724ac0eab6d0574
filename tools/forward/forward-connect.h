/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* The serving side of wrtcframe-forward reaching a target, free of
 * GStreamer: resolve, check the allow-list, connect. */

#ifndef __FORWARD_CONNECT_H__
#define __FORWARD_CONNECT_H__

#include <gio/gio.h>
#include "forward-target.h"

G_BEGIN_DECLS

/* Connects the first address of @target the rules allow and that accepts
 * (@timeout_s each), or returns NULL with *@reason set to the close reason
 * (AddressResolutionFailed, ConfigurationError, Timeout, ConnectionFailed).
 * Every failure is a stderr line naming connection @no and the target. */
GSocketConnection *forward_connect (const ForwardTarget * target,
    const ForwardRules * rules, guint32 no, guint timeout_s,
    guint16 * reason);

G_END_DECLS

#endif

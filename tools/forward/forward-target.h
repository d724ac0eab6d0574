/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* What wrtcframe-forward carries in OpenConnection and checks on the serving
 * side, free of GStreamer: the target (SOCKS5's own address layout, see
 * docs/wire-format.md) and the allow-list. */

#ifndef __FORWARD_TARGET_H__
#define __FORWARD_TARGET_H__

#include <glib.h>

G_BEGIN_DECLS

/* CloseConnection reasons (docs/wire-format.md) that wrtcframe-forward
 * sends or answers. */
#define REASON_NORMAL 0
#define REASON_TIMEOUT 2
#define REASON_CONNECTION_LOST 9
#define REASON_CONNECTION_FAILED 10
#define REASON_TUNNEL_CLOSED 11
#define REASON_RESOLUTION_FAILED 16
#define REASON_CONFIGURATION_ERROR 18

typedef struct
{
  gchar *host;                  /* IPv4/IPv6 literal or a domain name */
  guint16 port;
} ForwardTarget;

typedef struct _ForwardRules ForwardRules;

/* "host:port" or "[v6]:port"; port 0 included */
gboolean forward_target_parse (const gchar * str, ForwardTarget * out);
void forward_target_clear (ForwardTarget * t);

/* u8 type (1 IPv4, 3 domain, 4 IPv6), address (4 bytes / u8 length +
 * name / 16 bytes), u16 port, big-endian. */
GBytes *forward_target_encode (const ForwardTarget * t);
/* Decodes @len bytes; FALSE when they are not exactly one target. */
gboolean forward_target_decode (const guint8 * data, gsize len,
    ForwardTarget * out);

/* "HOST:PORT,..."; HOST is an address, an address/prefix, a name or "*",
 * PORT a number or "*". NULL with @error set on a malformed rule. */
ForwardRules *forward_rules_parse (const gchar * str, GError ** error);
void forward_rules_free (ForwardRules * rules);
/* @addr: the resolved address text (NULL before resolving), @name: the
 * target host as asked for. */
gboolean forward_rules_allow (const ForwardRules * rules, const gchar * name,
    const gchar * addr, guint16 port);

G_END_DECLS

#endif

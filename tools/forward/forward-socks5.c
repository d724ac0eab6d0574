/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include "forward-socks5.h"

#include <string.h>

static gboolean
read_exact (GInputStream * in, guint8 * buf, gsize n)
{
  gsize got = 0;

  return g_input_stream_read_all (in, buf, n, &got, NULL, NULL) && got == n;
}

static gboolean
write_all (GOutputStream * out, const guint8 * buf, gsize n)
{
  return g_output_stream_write_all (out, buf, n, NULL, NULL, NULL);
}

/* The SOCKS5 reply code for a close reason. */
guint8
socks_reply_code (guint16 reason)
{
  switch (reason) {
    case REASON_CONNECTION_FAILED:
      return 0x05;              /* connection refused */
    case REASON_RESOLUTION_FAILED:
      return 0x04;              /* host unreachable */
    case REASON_CONFIGURATION_ERROR:
      return 0x02;              /* not allowed by ruleset */
    case REASON_TIMEOUT:
      return 0x06;              /* TTL expired */
    default:
      return 0x01;              /* general failure */
  }
}

void
socks_reply (GOutputStream * out, guint8 code)
{
  guint8 r[10] = { 5, code, 0, 1, 0, 0, 0, 0, 0, 0 };

  write_all (out, r, sizeof r);
}

/* The SOCKS5 greeting and CONNECT request (RFC 1928, no authentication).
 * FALSE, after the reply the protocol asks for, when the client is not
 * one. */
gboolean
socks_handshake (GSocketConnection * sc, ForwardTarget * target)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (sc));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (sc));
  guint8 b[262], addr[16];
  guint8 no_auth[2] = { 5, 0 }, refuse[2] = { 5, 0xff };
  GInetAddress *ia;

  if (!read_exact (in, b, 2) || b[0] != 5 || b[1] == 0 ||
      !read_exact (in, b + 2, b[1]))
    return FALSE;
  if (!memchr (b + 2, 0, b[1])) {
    write_all (out, refuse, 2);
    return FALSE;
  }
  if (!write_all (out, no_auth, 2) || !read_exact (in, b, 4) || b[0] != 5)
    return FALSE;
  if (b[1] != 1) {
    socks_reply (out, 0x07);    /* command not supported */
    return FALSE;
  }
  switch (b[3]) {
    case 1:
    case 4:
      if (!read_exact (in, addr, b[3] == 1 ? 4 : 16))
        return FALSE;
      ia = g_inet_address_new_from_bytes (addr, b[3] == 1 ?
          G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
      target->host = g_inet_address_to_string (ia);
      g_object_unref (ia);
      break;
    case 3:
      if (!read_exact (in, b, 1) || b[0] == 0 || !read_exact (in, b + 1,
              b[0]) || memchr (b + 1, 0, b[0]))
        return FALSE;
      target->host = g_strndup ((const gchar *) b + 1, b[0]);
      break;
    default:
      socks_reply (out, 0x08);  /* address type not supported */
      return FALSE;
  }
  if (!read_exact (in, b, 2) || (b[0] | b[1]) == 0) {
    forward_target_clear (target);
    return FALSE;
  }
  target->port = (guint16) (b[0] << 8 | b[1]);
  return TRUE;
}

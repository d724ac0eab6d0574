/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include "forward-target.h"

#include <string.h>
#include <gio/gio.h>

#define TYPE_IPV4 1
#define TYPE_DOMAIN 3
#define TYPE_IPV6 4

gboolean
forward_target_parse (const gchar * str, ForwardTarget * out)
{
  const gchar *colon;
  gchar *host, *end;
  guint64 port;

  if (str[0] == '[') {
    const gchar *close = strchr (str, ']');

    if (!close || close[1] != ':')
      return FALSE;
    host = g_strndup (str + 1, close - str - 1);
    colon = close + 1;
  } else {
    colon = strrchr (str, ':');
    if (!colon || colon == str)
      return FALSE;
    host = g_strndup (str, colon - str);
  }
  port = g_ascii_strtoull (colon + 1, &end, 10);
  if (*end || end == colon + 1 || port > 65535 || !*host ||
      strlen (host) > 255) {
    g_free (host);
    return FALSE;
  }
  out->host = host;
  out->port = (guint16) port;
  return TRUE;
}

void
forward_target_clear (ForwardTarget * t)
{
  g_clear_pointer (&t->host, g_free);
}

GBytes *
forward_target_encode (const ForwardTarget * t)
{
  GInetAddress *ia = g_inet_address_new_from_string (t->host);
  GByteArray *b = g_byte_array_new ();
  guint8 type, port[2] = { t->port >> 8, t->port & 0xff };

  if (ia) {
    gsize n = g_inet_address_get_native_size (ia);

    type = n == 4 ? TYPE_IPV4 : TYPE_IPV6;
    g_byte_array_append (b, &type, 1);
    g_byte_array_append (b, g_inet_address_to_bytes (ia), n);
    g_object_unref (ia);
  } else {
    guint8 len = (guint8) strlen (t->host);

    type = TYPE_DOMAIN;
    g_byte_array_append (b, &type, 1);
    g_byte_array_append (b, &len, 1);
    g_byte_array_append (b, (const guint8 *) t->host, len);
  }
  g_byte_array_append (b, port, 2);
  return g_byte_array_free_to_bytes (b);
}

gboolean
forward_target_decode (const guint8 * d, gsize len, ForwardTarget * out)
{
  gsize addr_len, off = 1;
  GInetAddress *ia;

  if (len < 1)
    return FALSE;
  switch (d[0]) {
    case TYPE_IPV4:
    case TYPE_IPV6:
      addr_len = d[0] == TYPE_IPV4 ? 4 : 16;
      if (len != 1 + addr_len + 2)
        return FALSE;
      ia = g_inet_address_new_from_bytes (d + 1, d[0] == TYPE_IPV4 ?
          G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
      out->host = g_inet_address_to_string (ia);
      g_object_unref (ia);
      off += addr_len;
      break;
    case TYPE_DOMAIN:
      if (len < 2 || d[1] == 0 || len != 2 + (gsize) d[1] + 2 ||
          memchr (d + 2, 0, d[1]))
        return FALSE;
      out->host = g_strndup ((const gchar *) d + 2, d[1]);
      off += 1 + d[1];
      break;
    default:
      return FALSE;
  }
  out->port = (guint16) (d[off] << 8 | d[off + 1]);
  if (out->port == 0) {
    forward_target_clear (out);
    return FALSE;
  }
  return TRUE;
}

typedef struct
{
  GInetAddressMask *mask;       /* NULL: a name, or "*" when name is NULL */
  gchar *name;
  guint port;                   /* 0: any */
} Rule;

struct _ForwardRules
{
  GArray *rules;                /* of Rule */
};

static void
rule_clear (Rule * r)
{
  g_clear_object (&r->mask);
  g_clear_pointer (&r->name, g_free);
}

ForwardRules *
forward_rules_parse (const gchar * str, GError ** error)
{
  ForwardRules *rules = g_new0 (ForwardRules, 1);
  gchar **items = g_strsplit (str, ",", -1);

  rules->rules = g_array_new (FALSE, TRUE, sizeof (Rule));
  g_array_set_clear_func (rules->rules, (GDestroyNotify) rule_clear);
  for (gchar ** it = items; *it; it++) {
    gchar *item = g_strstrip (*it), *colon = strrchr (item, ':'), *host,
        *end;
    Rule r = { 0, };

    if (!*item)
      continue;
    if (!colon || colon == item)
      goto bad;
    if (strcmp (colon + 1, "*") != 0) {
      guint64 p = g_ascii_strtoull (colon + 1, &end, 10);

      if (*end || end == colon + 1 || p == 0 || p > 65535)
        goto bad;
      r.port = (guint) p;
    }
    host = g_strndup (item, colon - item);
    if (host[0] == '[' && host[strlen (host) - 1] == ']') {
      memmove (host, host + 1, strlen (host));
      host[strlen (host) - 1] = '\0';
    }
    if (strcmp (host, "*") != 0) {
      r.mask = g_inet_address_mask_new_from_string (host, NULL);
      if (!r.mask)
        r.name = g_ascii_strdown (host, -1);
    }
    g_free (host);
    g_array_append_val (rules->rules, r);
    continue;
  bad:
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "bad allow rule \"%s\" (HOST:PORT, HOST an address, address/prefix, "
        "name or *, PORT a number or *)", item);
    g_strfreev (items);
    forward_rules_free (rules);
    return NULL;
  }
  g_strfreev (items);
  return rules;
}

void
forward_rules_free (ForwardRules * rules)
{
  g_array_unref (rules->rules);
  g_free (rules);
}

gboolean
forward_rules_allow (const ForwardRules * rules, const gchar * name,
    const gchar * addr, guint16 port)
{
  GInetAddress *ia = addr ? g_inet_address_new_from_string (addr) : NULL;
  gboolean ok = FALSE;

  for (guint i = 0; i < rules->rules->len && !ok; i++) {
    const Rule *r = &g_array_index (rules->rules, Rule, i);

    if (r->port && r->port != port)
      continue;
    if (r->mask)
      ok = ia && g_inet_address_mask_matches (r->mask, ia);
    else if (r->name)
      ok = g_ascii_strcasecmp (r->name, name) == 0;
    else
      ok = TRUE;
  }
  g_clear_object (&ia);
  return ok;
}

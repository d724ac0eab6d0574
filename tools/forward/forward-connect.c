/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include "forward-connect.h"

static guint16
reason_of (const GError * err)
{
  if (err->domain == G_RESOLVER_ERROR)
    return REASON_RESOLUTION_FAILED;
  if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return REASON_TIMEOUT;
  return REASON_CONNECTION_FAILED;
}

/* Resolves and checks the target: its allowed addresses, in the
 * resolver's order, or NULL with *reason set. */
static GList *
resolve_allowed (const ForwardTarget * t, const ForwardRules * rules,
    guint32 no, guint16 * reason)
{
  GResolver *resolver = g_resolver_get_default ();
  GError *err = NULL;
  GList *addrs = g_resolver_lookup_by_name (resolver, t->host, NULL,
      &err);
  GList *allowed = NULL;
  gboolean name_ok = forward_rules_allow (rules, t->host, NULL,
      t->port);

  g_object_unref (resolver);
  if (!addrs) {
    g_printerr ("wrtcframe-forward: connection %u: cannot resolve %s: %s\n",
        no, t->host, err->message);
    *reason = REASON_RESOLUTION_FAILED;
    g_error_free (err);
    return NULL;
  }
  for (GList * l = addrs; l; l = l->next) {
    gchar *text = g_inet_address_to_string (l->data);

    if (name_ok || forward_rules_allow (rules, t->host, text,
            t->port))
      allowed = g_list_prepend (allowed,
          g_inet_socket_address_new (l->data, t->port));
    g_free (text);
  }
  g_resolver_free_addresses (addrs);
  if (!allowed) {
    g_printerr ("wrtcframe-forward: connection %u: target %s:%u refused: "
        "not in --allow\n", no, t->host, t->port);
    *reason = REASON_CONFIGURATION_ERROR;
  }
  return g_list_reverse (allowed);
}

/* The first of @addrs that accepts a connection (a name such as localhost
 * may resolve to an address nothing listens on first). */
static GSocketConnection *
connect_first (const ForwardTarget * t, GList * addrs, guint32 no,
    guint timeout_s, guint16 * reason)
{
  GSocketClient *client = g_socket_client_new ();
  GSocketConnection *sc = NULL;

  g_socket_client_set_timeout (client, timeout_s);
  for (GList * l = addrs; l && !sc; l = l->next) {
    GError *err = NULL;

    sc = g_socket_client_connect (client, l->data, NULL, &err);
    if (!sc) {
      g_printerr ("wrtcframe-forward: connection %u: %s:%u: %s\n", no,
          t->host, t->port, err->message);
      *reason = reason_of (err);
      g_error_free (err);
    }
  }
  g_object_unref (client);
  return sc;
}

GSocketConnection *
forward_connect (const ForwardTarget * target, const ForwardRules * rules,
    guint32 no, guint timeout_s, guint16 * reason)
{
  GList *addrs = resolve_allowed (target, rules, no, reason);
  GSocketConnection *sc = NULL;

  if (addrs) {
    sc = connect_first (target, addrs, no, timeout_s, reason);
    g_list_free_full (addrs, g_object_unref);
  }
  return sc;
}

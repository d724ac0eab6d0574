/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "wrtc-json.h"

#define EXCERPT 80

gchar *
wrtc_json_excerpt (const gchar * text, gsize size)
{
  gchar *valid = g_utf8_make_valid (text, MIN (size, EXCERPT));
  gchar *out = g_strdup_printf ("%s%s", valid, size > EXCERPT ? "..." : "");

  g_free (valid);
  return out;
}

JsonBuilder *
wrtc_json_begin (const gchar * type)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  return b;
}

void
wrtc_json_add_meta (JsonBuilder * b, const GstStructure * meta)
{
  guint i, n = meta ? gst_structure_n_fields (meta) : 0;

  json_builder_set_member_name (b, "meta");
  if (!meta) {
    json_builder_add_null_value (b);
    return;
  }
  json_builder_begin_object (b);
  for (i = 0; i < n; i++) {
    const gchar *field = gst_structure_nth_field_name (meta, i);
    const GValue *v = gst_structure_get_value (meta, field);

    json_builder_set_member_name (b, field);
    if (G_VALUE_HOLDS_STRING (v)) {
      json_builder_add_string_value (b, g_value_get_string (v));
    } else if (G_VALUE_HOLDS_BOOLEAN (v)) {
      json_builder_add_boolean_value (b, g_value_get_boolean (v));
    } else if (G_VALUE_HOLDS_INT (v)) {
      json_builder_add_int_value (b, g_value_get_int (v));
    } else if (G_VALUE_HOLDS_UINT (v)) {
      json_builder_add_int_value (b, g_value_get_uint (v));
    } else if (G_VALUE_HOLDS_DOUBLE (v)) {
      json_builder_add_double_value (b, g_value_get_double (v));
    } else {
      gchar *s = gst_value_serialize (v);

      json_builder_add_string_value (b, s ? s : "");
      g_free (s);
    }
  }
  json_builder_end_object (b);
}

const gchar *
wrtc_json_member_string (JsonObject * o, const gchar * name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (!n || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

JsonObject *
wrtc_json_member_object (JsonObject * o, const gchar * name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

gboolean
wrtc_json_has_role (JsonObject * o, const gchar * role)
{
  JsonNode *n = json_object_get_member (o, "roles");
  JsonArray *a;
  guint i;

  if (!n || !JSON_NODE_HOLDS_ARRAY (n))
    return FALSE;
  a = json_node_get_array (n);
  for (i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);

    if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) ==
        G_TYPE_STRING && g_strcmp0 (json_node_get_string (e), role) == 0)
      return TRUE;
  }
  return FALSE;
}

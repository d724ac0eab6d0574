/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifndef __WRTC_JSON_H__
#define __WRTC_JSON_H__

#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* JSON helpers of the signalling client (wrtc-signaller.c). */

/* At most the first 80 characters of @text, valid UTF-8, for messages. */
gchar *wrtc_json_excerpt (const gchar * text, gsize size);
/* A builder inside an object whose "type" is @type. */
JsonBuilder *wrtc_json_begin (const gchar * type);
/* "meta": the fields of @meta (NULL: null) as JSON values. */
void wrtc_json_add_meta (JsonBuilder * b, const GstStructure * meta);
/* Member @name of @o if it is a string / an object, else NULL. */
const gchar *wrtc_json_member_string (JsonObject * o, const gchar * name);
JsonObject *wrtc_json_member_object (JsonObject * o, const gchar * name);
/* TRUE if the array member "roles" of @o holds the string @role. */
gboolean wrtc_json_has_role (JsonObject * o, const gchar * role);

G_END_DECLS

#endif /* __WRTC_JSON_H__ */

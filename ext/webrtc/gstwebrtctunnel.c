/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/**
 * SECTION:element-webrtctunnel
 * @title: webrtctunnel
 * @see_also: frametunnel, webrtcbin, webrtcsink, webrtcsrc
 *
 * webrtctunnel is a self-contained tunnel endpoint: many byte streams
 * ("connections") in both directions over one WebRTC data channel to a
 * peer found through a signalling server, so two gst-launch-1.0 processes
 * (on one machine or two) can be connected with nothing else. It owns a
 * webrtcbin, a frametunnel on a channel of that webrtcbin and a signalling
 * client, the child object "signaller" (GstChildProxy), which speaks the
 * protocol of gst-plugins-rs (webrtcsink, webrtcsrc,
 * gst-webrtc-signalling-server and wrtcframe-signalling-server).
 *
 * One side is the producer (signaller::role=producer, the default): it
 * registers with the server, and when a consumer starts a session it
 * creates the data channel and sends the offer. The other side is the
 * consumer (signaller::role=consumer): it connects to the producer given by
 * signaller::producer-peer-id, or else to the first producer whose meta
 * "name" is signaller::producer-name (any producer if that is unset,
 * waiting until one registers), and answers. The producer's connections
 * get odd numbers (1, 3, ...), the consumer's even ones (2, 4, ...).
 * One session at a time: the first consumer is served, later ones are
 * refused with endSession.
 *
 * Request a `sink_%u` pad per outgoing connection; a `src_%u` pad appears
 * for each connection the peer opens. With #GstWebRTCTunnel:end-when-done
 * (the default) the element posts EOS once every sink pad of both sides
 * had EOS and each side has all the other's data, so a pipeline with
 * files at both ends ends by itself. An endSession from the peer ends the
 * element with EOS when no data was in flight (every src pad gets EOS),
 * else with an error; so does an error from the signalling server, a
 * message that cannot be used, or no connection within
 * #GstWebRTCTunnel:timeout seconds of the session's start.
 *
 * ## Example launch lines
 * |[
 * wrtcframe-signalling-server --port 8443 &
 * gst-launch-1.0 filesrc location=in1 ! t.sink_1 \
 *   webrtctunnel name=t signaller::meta="meta,name=a" t.src_2 ! \
 *   filesink location=out2
 * gst-launch-1.0 filesrc location=in2 ! t.sink_2 \
 *   webrtctunnel name=t signaller::role=consumer \
 *   signaller::producer-name=a t.src_1 ! filesink location=out1
 * ]| Both end by themselves once the files went both ways.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwebrtctunnel.h"
#include "gstframetunnel.h"
#include "wrtc-signaller.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <gst/sdp/sdp.h>

GST_DEBUG_CATEGORY_STATIC (gst_webrtc_tunnel_debug);
#define GST_CAT_DEFAULT gst_webrtc_tunnel_debug

#define DEFAULT_LABEL "wrtcframe"
#define DEFAULT_TIMEOUT 30

enum
{
  PROP_0,
  PROP_SIGNALLER,
  PROP_STUN_SERVER,
  PROP_TURN_SERVER,
  PROP_ICE_TRANSPORT_POLICY,
  PROP_LABEL,
  PROP_LOCAL_ADDRESSES,
  PROP_TIMEOUT,
  PROP_END_WHEN_DONE,
  PROP_STATS,
};

struct _GstWebRTCTunnel
{
  GstBin parent;

  GstElement *webrtcbin, *tunnel;
  WrtcSignaller *signaller;

  /* Under the object lock. */
  gchar *local_addresses;
  gboolean addresses_added;
  guint timeout;
  gchar *peer_id;
  gboolean session;             /* a session started */
  gboolean connected;           /* webrtcbin's connection-state */
  gboolean ended;               /* EOS or an error was posted */
  gint64 session_start;         /* monotonic us */
  gint64 connect_time;          /* us from session start to connected */
  GstClockID timeout_id;
};

static void gst_webrtc_tunnel_child_proxy_init (GstChildProxyInterface *
    iface);

#define gst_webrtc_tunnel_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstWebRTCTunnel, gst_webrtc_tunnel, GST_TYPE_BIN,
    G_IMPLEMENT_INTERFACE (GST_TYPE_CHILD_PROXY,
        gst_webrtc_tunnel_child_proxy_init);
    GST_DEBUG_CATEGORY_INIT (gst_webrtc_tunnel_debug, "webrtctunnel", 0,
        "Self-contained WebRTC tunnel endpoint with signalling"));
GST_ELEMENT_REGISTER_DEFINE (webrtctunnel, "webrtctunnel", GST_RANK_NONE,
    GST_TYPE_WEBRTC_TUNNEL);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src_%u",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);

static GstChildProxyInterface *parent_child_proxy;

/* ---- ending ---- */

/* TRUE the first time: the caller posts the EOS or error. */
static gboolean
mark_ended (GstWebRTCTunnel * self)
{
  gboolean first;

  GST_OBJECT_LOCK (self);
  first = !self->ended;
  self->ended = TRUE;
  GST_OBJECT_UNLOCK (self);
  return first;
}

static void
post_eos (GstWebRTCTunnel * self)
{
  if (!mark_ended (self))
    return;
  GST_INFO_OBJECT (self, "done: EOS");
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_eos (GST_OBJECT (self)));
}

/* No data in flight either way: every sink pad had EOS and, when the peer
 * said it was done, each of its connections ended here. */
static gboolean
nothing_in_flight (GstWebRTCTunnel * self)
{
  GstFrameTunnelEnding e;

  gst_frame_tunnel_get_ending (GST_FRAME_TUNNEL (self->tunnel), &e);
  return e.sink_pads_eos == e.sink_pads && (!e.fin_received ||
      e.fin_ack_sent);
}

static void
eos_on_src_pads (GstWebRTCTunnel * self)
{
  GList *pads = NULL, *l;

  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->srcpads; l; l = l->next)
    pads = g_list_prepend (pads, gst_object_ref (l->data));
  GST_OBJECT_UNLOCK (self);
  for (l = pads; l; l = l->next)
    if (!GST_PAD_IS_EOS (l->data))
      gst_pad_push_event (l->data, gst_event_new_eos ());
  g_list_free_full (pads, gst_object_unref);
}

/* ---- the session timeout ---- */

static gboolean
on_timeout (GstClock * clock, GstClockTime time, GstClockID id,
    gpointer user_data)
{
  GstWebRTCTunnel *self = user_data;
  gboolean fire;
  guint timeout;

  GST_OBJECT_LOCK (self);
  fire = self->timeout_id == id && !self->connected && !self->ended;
  timeout = self->timeout;
  GST_OBJECT_UNLOCK (self);
  if (fire && mark_ended (self))
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("No WebRTC connection "
            "within %u s of the session's start.", timeout),
        ("the peer never completed the offer/answer or ICE failed to "
            "connect (timeout property)"));
  return TRUE;
}

static void
arm_timeout (GstWebRTCTunnel * self)
{
  GstClock *clock;
  GstClockID id;

  GST_OBJECT_LOCK (self);
  if (self->timeout == 0 || self->timeout_id) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  clock = gst_system_clock_obtain ();
  id = self->timeout_id = gst_clock_new_single_shot_id (clock,
      gst_clock_get_time (clock) + self->timeout * GST_SECOND);
  gst_clock_id_ref (id);
  GST_OBJECT_UNLOCK (self);
  gst_clock_id_wait_async (id, on_timeout, gst_object_ref (self),
      (GDestroyNotify) gst_object_unref);
  gst_clock_id_unref (id);
  gst_object_unref (clock);
}

static void
disarm_timeout (GstWebRTCTunnel * self)
{
  GstClockID id;

  GST_OBJECT_LOCK (self);
  id = self->timeout_id;
  self->timeout_id = NULL;
  GST_OBJECT_UNLOCK (self);
  if (id) {
    gst_clock_id_unschedule (id);
    gst_clock_id_unref (id);
  }
}

/* ---- webrtcbin: its handlers run on its pc thread and never wait ---- */

static gboolean
reply_ok (GstWebRTCTunnel * self, GstPromise * promise, const gchar * what)
{
  const GstStructure *reply;
  GError *err = NULL;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return FALSE;
  reply = gst_promise_get_reply (promise);
  if (reply && gst_structure_has_field (reply, "error")) {
    gst_structure_get (reply, "error", G_TYPE_ERROR, &err, NULL);
    if (mark_ended (self))
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("WebRTC %s failed: %s",
              what, err ? err->message : "?"), (NULL));
    g_clear_error (&err);
    return FALSE;
  }
  return TRUE;
}

static void
on_remote_set (GstPromise * promise, gpointer user_data)
{
  reply_ok (user_data, promise, "set-remote-description");
  gst_promise_unref (promise);
}

static void
on_description_created (GstPromise * promise, gpointer user_data)
{
  GstWebRTCTunnel *self = user_data;
  GstWebRTCSessionDescription *desc = NULL;
  const gchar *type;
  gchar *text;

  if (!reply_ok (self, promise, "create-offer/answer")) {
    gst_promise_unref (promise);
    return;
  }
  gst_structure_get (gst_promise_get_reply (promise), "offer",
      GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  type = "offer";
  if (!desc) {
    gst_structure_get (gst_promise_get_reply (promise), "answer",
        GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
    type = "answer";
  }
  gst_promise_unref (promise);
  if (!desc)
    return;
  g_signal_emit_by_name (self->webrtcbin, "set-local-description", desc,
      NULL);
  text = gst_sdp_message_as_text (desc->sdp);
  GST_DEBUG_OBJECT (self, "our %s:\n%s", type, text);
  wrtc_signaller_send_sdp (self->signaller, type, text);
  g_free (text);
  gst_webrtc_session_description_free (desc);
}

static void
on_ice_candidate (GstElement * webrtcbin, guint mline, const gchar * cand,
    GstWebRTCTunnel * self)
{
  wrtc_signaller_send_ice (self->signaller, mline, cand);
}

static void
on_connection_state (GstElement * webrtcbin, GParamSpec * pspec,
    GstWebRTCTunnel * self)
{
  GstWebRTCPeerConnectionState state;
  gboolean connected = FALSE;

  g_object_get (webrtcbin, "connection-state", &state, NULL);
  GST_DEBUG_OBJECT (self, "connection state %d", state);
  GST_OBJECT_LOCK (self);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED &&
      !self->connected) {
    self->connected = connected = TRUE;
    self->connect_time = g_get_monotonic_time () - self->session_start;
  }
  GST_OBJECT_UNLOCK (self);
  if (connected) {
    GST_INFO_OBJECT (self, "connected");
    disarm_timeout (self);
  }
}

/* ---- signaller: its handlers run on its thread ---- */

static void
on_session_started (WrtcSignaller * sig, const gchar * peer,
    const gchar * session, GstWebRTCTunnel * self)
{
  WrtcSignallerRole role;

  GST_OBJECT_LOCK (self);
  self->session = TRUE;
  self->session_start = g_get_monotonic_time ();
  g_free (self->peer_id);
  self->peer_id = g_strdup (peer);
  GST_OBJECT_UNLOCK (self);
  arm_timeout (self);
  g_object_get (sig, "role", &role, NULL);
  if (role == WRTC_SIGNALLER_ROLE_PRODUCER) {
    GST_INFO_OBJECT (self, "consumer %s joined: offering", peer);
    g_signal_emit_by_name (self->webrtcbin, "create-offer", NULL,
        gst_promise_new_with_change_func (on_description_created, self,
            NULL));
  }
}

static void
on_session_description (WrtcSignaller * sig, const gchar * type,
    const gchar * text, GstWebRTCTunnel * self)
{
  GstWebRTCSessionDescription *desc;
  GstSDPMessage *sdp = NULL;
  gboolean offer = g_str_equal (type, "offer");

  if (gst_sdp_message_new_from_text (text, &sdp) != GST_SDP_OK ||
      !gst_sdp_message_get_version (sdp) ||
      gst_sdp_message_medias_len (sdp) == 0) {
    if (sdp)
      gst_sdp_message_free (sdp);
    if (mark_ended (self))
      GST_ELEMENT_ERROR (self, STREAM, DECODE, ("The peer's %s is not an "
              "SDP session description with a media section.", type),
          ("%.80s", text));
    wrtc_signaller_end_session (sig);
    return;
  }
  GST_DEBUG_OBJECT (self, "the peer's %s:\n%s", type, text);
  desc = gst_webrtc_session_description_new (offer ?
      GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  g_signal_emit_by_name (self->webrtcbin, "set-remote-description", desc,
      gst_promise_new_with_change_func (on_remote_set, self, NULL));
  gst_webrtc_session_description_free (desc);
  /* webrtcbin runs its operations in order: the answer follows */
  if (offer)
    g_signal_emit_by_name (self->webrtcbin, "create-answer", NULL,
        gst_promise_new_with_change_func (on_description_created, self,
            NULL));
}

static void
on_remote_ice (WrtcSignaller * sig, guint mline, const gchar * cand,
    GstWebRTCTunnel * self)
{
  g_signal_emit_by_name (self->webrtcbin, "add-ice-candidate", mline, cand);
}

static void
on_session_ended (WrtcSignaller * sig, const gchar * why,
    GstWebRTCTunnel * self)
{
  gboolean connected;

  GST_OBJECT_LOCK (self);
  connected = self->connected;
  GST_OBJECT_UNLOCK (self);
  if (connected && nothing_in_flight (self)) {
    GST_INFO_OBJECT (self, "%s, nothing in flight: EOS", why);
    eos_on_src_pads (self);
    post_eos (self);
  } else if (mark_ended (self)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("%s %s.", why, connected ?
            "while connections were open" : "before the connection was "
            "established"), (NULL));
  }
}

static void
on_signaller_error (WrtcSignaller * sig, const gchar * message,
    GstWebRTCTunnel * self)
{
  gboolean connected;

  GST_OBJECT_LOCK (self);
  connected = self->connected;
  GST_OBJECT_UNLOCK (self);
  /* once connected the tunnel needs no signalling any more */
  if (connected)
    GST_ELEMENT_WARNING (self, RESOURCE, READ, ("Signalling: %s", message),
        ("the WebRTC connection goes on"));
  else if (mark_ended (self))
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Signalling: %s", message),
        (NULL));
}

static void
on_signaller_warning (WrtcSignaller * sig, const gchar * message,
    GstWebRTCTunnel * self)
{
  GST_ELEMENT_WARNING (self, RESOURCE, READ, ("Signalling: %s", message),
      (NULL));
}

/* ---- ICE restriction ---- */

static gboolean
add_local_addresses (GstWebRTCTunnel * self)
{
  GstWebRTCICE *ice = NULL;
  gchar **addrs, **a;
  gboolean ok = TRUE;

  GST_OBJECT_LOCK (self);
  if (!self->local_addresses || self->addresses_added) {
    GST_OBJECT_UNLOCK (self);
    return TRUE;
  }
  self->addresses_added = TRUE;
  addrs = g_strsplit (self->local_addresses, ",", -1);
  GST_OBJECT_UNLOCK (self);

  g_object_get (self->webrtcbin, "ice-agent", &ice, NULL);
  for (a = addrs; ok && *a; a++) {
    gchar *addr = g_strstrip (*a);

    if (!*addr)
      continue;
    g_signal_emit_by_name (ice, "add-local-ip-address", addr, &ok);
    if (!ok)
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Invalid local address "
              "\"%s\" in local-addresses.", addr), (NULL));
  }
  gst_object_unref (ice);
  g_strfreev (addrs);
  return ok;
}

/* ---- pads ---- */

static GstPad *
gst_webrtc_tunnel_request_new_pad (GstElement * element,
    GstPadTemplate * templ, const gchar * name, const GstCaps * caps)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (element);
  WrtcSignallerRole role;
  GstPad *target, *ghost;

  /* the numbers of this side's parity */
  g_object_get (self->signaller, "role", &role, NULL);
  g_object_set (self->tunnel, "role", role == WRTC_SIGNALLER_ROLE_PRODUCER ?
      GST_FRAME_TUNNEL_ROLE_CLIENT : GST_FRAME_TUNNEL_ROLE_SERVER, NULL);
  target = gst_element_request_pad_simple (self->tunnel, name ? name :
      "sink_%u");
  if (!target)
    return NULL;
  ghost = gst_ghost_pad_new_from_template (GST_PAD_NAME (target), target,
      templ);
  gst_object_unref (target);
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (element, ghost);
  return ghost;
}

static void
gst_webrtc_tunnel_release_pad (GstElement * element, GstPad * pad)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (element);
  GstPad *target = gst_ghost_pad_get_target (GST_GHOST_PAD (pad));

  gst_element_remove_pad (element, pad);
  if (target) {
    gst_element_release_request_pad (self->tunnel, target);
    gst_object_unref (target);
  }
}

static void
on_tunnel_pad_added (GstElement * tunnel, GstPad * pad,
    GstWebRTCTunnel * self)
{
  GstPad *ghost;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  ghost = gst_ghost_pad_new_from_template (GST_PAD_NAME (pad), pad,
      gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self),
          "src_%u"));
  gst_pad_set_active (ghost, TRUE);
  gst_element_add_pad (GST_ELEMENT (self), ghost);
}

static void
on_tunnel_pad_removed (GstElement * tunnel, GstPad * pad,
    GstWebRTCTunnel * self)
{
  GstPad *ghost;

  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  ghost = gst_element_get_static_pad (GST_ELEMENT (self), GST_PAD_NAME (pad));
  if (ghost) {
    gst_pad_set_active (ghost, FALSE);
    gst_element_remove_pad (GST_ELEMENT (self), ghost);
    gst_object_unref (ghost);
  }
}

/* ---- GstBin / GstElement ---- */

static void
gst_webrtc_tunnel_handle_message (GstBin * bin, GstMessage * msg)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (bin);

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      /* webrtcbin's sinks never end: the tunnel's EOS is ours */
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (self->tunnel))
        post_eos (self);
      gst_message_unref (msg);
      return;
    case GST_MESSAGE_ERROR:{
      GstFrameTunnelEnding e;

      /* Once both sides have all the data, a peer that goes away first
       * closes the channel: that is the end, not a failure. (Possibly on
       * webrtcbin's pc thread: only the tunnel's object lock here.) */
      gst_frame_tunnel_get_ending (GST_FRAME_TUNNEL (self->tunnel), &e);
      if (e.fin_sent && e.fin_ack_sent) {
        GST_INFO_OBJECT (self, "error after both sides were done: EOS "
            "instead (%" GST_PTR_FORMAT ")", msg);
        post_eos (self);
        gst_message_unref (msg);
        return;
      }
      mark_ended (self);
      break;
    }
    default:
      break;
  }
  GST_BIN_CLASS (parent_class)->handle_message (bin, msg);
}

static GstStateChangeReturn
gst_webrtc_tunnel_change_state (GstElement * element,
    GstStateChange transition)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (element);
  GstStateChangeReturn ret;
  WrtcSignallerRole role;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!add_local_addresses (self))
        return GST_STATE_CHANGE_FAILURE;
      /* the producer creates the channel and offers */
      g_object_get (self->signaller, "role", &role, NULL);
      g_object_set (self->tunnel, "create-channel",
          role == WRTC_SIGNALLER_ROLE_PRODUCER, "role",
          role == WRTC_SIGNALLER_ROLE_PRODUCER ?
          GST_FRAME_TUNNEL_ROLE_CLIENT : GST_FRAME_TUNNEL_ROLE_SERVER, NULL);
      GST_OBJECT_LOCK (self);
      self->session = self->connected = self->ended = FALSE;
      self->connect_time = 0;
      g_clear_pointer (&self->peer_id, g_free);
      GST_OBJECT_UNLOCK (self);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      wrtc_signaller_stop (self->signaller);
      disarm_timeout (self);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
      ret != GST_STATE_CHANGE_FAILURE)
    wrtc_signaller_start (self->signaller);
  return ret;
}

static GstStructure *
gst_webrtc_tunnel_get_stats (GstWebRTCTunnel * self)
{
  GstStructure *s, *tunnel = NULL;
  gchar *client_id = NULL;

  g_object_get (self->tunnel, "stats", &tunnel, NULL);
  g_object_get (self->signaller, "client-id", &client_id, NULL);
  GST_OBJECT_LOCK (self);
  s = gst_structure_new ("application/x-webrtctunnel-stats",
      "client-id", G_TYPE_STRING, client_id,
      "peer-id", G_TYPE_STRING, self->peer_id,
      "session-started", G_TYPE_BOOLEAN, self->session,
      "connected", G_TYPE_BOOLEAN, self->connected,
      "time-to-connect", G_TYPE_UINT64, self->connected ?
      (guint64) self->connect_time * GST_USECOND : (guint64) 0,
      "frametunnel", GST_TYPE_STRUCTURE, tunnel, NULL);
  GST_OBJECT_UNLOCK (self);
  gst_structure_free (tunnel);
  g_free (client_id);
  return s;
}

static void
gst_webrtc_tunnel_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (object);

  switch (prop_id) {
    case PROP_STUN_SERVER:
    case PROP_TURN_SERVER:
    case PROP_ICE_TRANSPORT_POLICY:
      g_object_set_property (G_OBJECT (self->webrtcbin), pspec->name, value);
      break;
    case PROP_LABEL:
    case PROP_END_WHEN_DONE:
      g_object_set_property (G_OBJECT (self->tunnel), pspec->name, value);
      break;
    case PROP_LOCAL_ADDRESSES:
      GST_OBJECT_LOCK (self);
      g_free (self->local_addresses);
      self->local_addresses = g_value_dup_string (value);
      self->addresses_added = FALSE;
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TIMEOUT:
      GST_OBJECT_LOCK (self);
      self->timeout = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_webrtc_tunnel_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (object);

  switch (prop_id) {
    case PROP_SIGNALLER:
      g_value_set_object (value, self->signaller);
      break;
    case PROP_STUN_SERVER:
    case PROP_TURN_SERVER:
    case PROP_ICE_TRANSPORT_POLICY:
      g_object_get_property (G_OBJECT (self->webrtcbin), pspec->name, value);
      break;
    case PROP_LABEL:
    case PROP_END_WHEN_DONE:
      g_object_get_property (G_OBJECT (self->tunnel), pspec->name, value);
      break;
    case PROP_LOCAL_ADDRESSES:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->local_addresses);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TIMEOUT:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->timeout);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_webrtc_tunnel_get_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_webrtc_tunnel_dispose (GObject * object)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (object);

  if (self->signaller) {
    wrtc_signaller_stop (self->signaller);
    g_signal_handlers_disconnect_by_data (self->signaller, self);
    gst_object_unparent (GST_OBJECT (self->signaller));
    self->signaller = NULL;
  }
  disarm_timeout (self);
  G_OBJECT_CLASS (parent_class)->dispose (object);
}

static void
gst_webrtc_tunnel_finalize (GObject * object)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (object);

  g_free (self->local_addresses);
  g_free (self->peer_id);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_webrtc_tunnel_class_init (GstWebRTCTunnelClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBinClass *bin_class = GST_BIN_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_webrtc_tunnel_set_property;
  gobject_class->get_property = gst_webrtc_tunnel_get_property;
  gobject_class->dispose = gst_webrtc_tunnel_dispose;
  gobject_class->finalize = gst_webrtc_tunnel_finalize;

  g_object_class_install_property (gobject_class, PROP_SIGNALLER,
      g_param_spec_object ("signaller", "Signaller", "The signalling client "
          "(also the child \"signaller\": signaller::uri=...)",
          WRTC_TYPE_SIGNALLER, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_STUN_SERVER,
      g_param_spec_string ("stun-server", "STUN server", "The webrtcbin's "
          "STUN server, stun://host:port", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_TURN_SERVER,
      g_param_spec_string ("turn-server", "TURN server", "The webrtcbin's "
          "TURN server, turn(s)://user:password@host:port", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_ICE_TRANSPORT_POLICY,
      g_param_spec_enum ("ice-transport-policy", "ICE transport policy",
          "The webrtcbin's ICE transport policy (relay: TURN only)",
          GST_TYPE_WEBRTC_ICE_TRANSPORT_POLICY,
          GST_WEBRTC_ICE_TRANSPORT_POLICY_ALL, flags));
  g_object_class_install_property (gobject_class, PROP_LABEL,
      g_param_spec_string ("label", "Label", "Label of the data channel the "
          "producer creates and the consumer waits for", DEFAULT_LABEL,
          flags));
  g_object_class_install_property (gobject_class, PROP_LOCAL_ADDRESSES,
      g_param_spec_string ("local-addresses", "Local addresses", "Comma "
          "separated local IP addresses ICE may use (e.g. 127.0.0.1); "
          "unset: all but loopback, libnice's default", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_uint ("timeout", "Timeout", "Seconds from the session's "
          "start until the WebRTC connection must be up, else an error "
          "(0: wait forever)", 0, G_MAXUINT, DEFAULT_TIMEOUT, flags));
  g_object_class_install_property (gobject_class, PROP_END_WHEN_DONE,
      g_param_spec_boolean ("end-when-done", "End when done", "Post EOS "
          "once every sink pad of both sides had EOS and each side has the "
          "other's data (the peer must be a webrtctunnel or frametunnel "
          "with end-when-done)", TRUE, flags));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Client and peer id, "
          "session and connection state, time from the session's start to "
          "the connection (ns), and the frametunnel's statistics",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "WebRTC tunnel endpoint with signalling", "Generic/Bin/Network/WebRTC",
      "Many byte streams both ways over one WebRTC data channel to a peer "
      "found through a signalling server (gst-plugins-rs protocol)",
      "gst-wrtcframe authors");

  element_class->request_new_pad =
      GST_DEBUG_FUNCPTR (gst_webrtc_tunnel_request_new_pad);
  element_class->release_pad =
      GST_DEBUG_FUNCPTR (gst_webrtc_tunnel_release_pad);
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_webrtc_tunnel_change_state);
  bin_class->handle_message =
      GST_DEBUG_FUNCPTR (gst_webrtc_tunnel_handle_message);
}

static GObject *
child_by_name (GstChildProxy * proxy, const gchar * name)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (proxy);

  if (g_strcmp0 (name, "signaller") == 0)
    return G_OBJECT (gst_object_ref (self->signaller));
  return parent_child_proxy->get_child_by_name (proxy, name);
}

static GObject *
child_by_index (GstChildProxy * proxy, guint index)
{
  GstWebRTCTunnel *self = GST_WEBRTC_TUNNEL (proxy);

  if (index == 0)
    return G_OBJECT (gst_object_ref (self->signaller));
  return parent_child_proxy->get_child_by_index (proxy, index - 1);
}

static guint
children_count (GstChildProxy * proxy)
{
  return parent_child_proxy->get_children_count (proxy) + 1;
}

static void
gst_webrtc_tunnel_child_proxy_init (GstChildProxyInterface * iface)
{
  parent_child_proxy = g_type_interface_peek_parent (iface);
  iface->get_child_by_name = child_by_name;
  iface->get_child_by_index = child_by_index;
  iface->get_children_count = children_count;
}

static void
gst_webrtc_tunnel_init (GstWebRTCTunnel * self)
{
  static gint count = 0;
  gchar *name;

  self->timeout = DEFAULT_TIMEOUT;
  /* webrtcbin adds and removes sinks of its own while PLAYING: their
   * asynchronous state changes stay in here instead of making the whole
   * pipeline lose its state (a filesink downstream would then wait for a
   * preroll that never completes) */
  g_object_set (self, "async-handling", TRUE, NULL);
  /* the frametunnel finds its webrtcbin by name in the whole pipeline: a
   * name of our own, unique in the process */
  name = g_strdup_printf ("webrtctunnel-webrtcbin%d",
      g_atomic_int_add (&count, 1));
  self->webrtcbin = gst_element_factory_make ("webrtcbin", name);
  self->tunnel = gst_element_factory_make ("frametunnel", NULL);
  g_return_if_fail (self->webrtcbin && self->tunnel);
  gst_bin_add_many (GST_BIN (self), self->webrtcbin, self->tunnel, NULL);
  g_object_set (self->tunnel, "webrtcbin", name, "label", DEFAULT_LABEL,
      "end-when-done", TRUE, NULL);
  g_free (name);

  self->signaller = g_object_new (WRTC_TYPE_SIGNALLER, "name", "signaller",
      NULL);
  gst_object_set_parent (GST_OBJECT (self->signaller), GST_OBJECT (self));

  g_signal_connect (self->webrtcbin, "on-ice-candidate",
      G_CALLBACK (on_ice_candidate), self);
  g_signal_connect (self->webrtcbin, "notify::connection-state",
      G_CALLBACK (on_connection_state), self);
  g_signal_connect (self->tunnel, "pad-added",
      G_CALLBACK (on_tunnel_pad_added), self);
  g_signal_connect (self->tunnel, "pad-removed",
      G_CALLBACK (on_tunnel_pad_removed), self);
  g_signal_connect (self->signaller, "session-started",
      G_CALLBACK (on_session_started), self);
  g_signal_connect (self->signaller, "session-description",
      G_CALLBACK (on_session_description), self);
  g_signal_connect (self->signaller, "ice-candidate",
      G_CALLBACK (on_remote_ice), self);
  g_signal_connect (self->signaller, "session-ended",
      G_CALLBACK (on_session_ended), self);
  g_signal_connect (self->signaller, "error",
      G_CALLBACK (on_signaller_error), self);
  g_signal_connect (self->signaller, "warning",
      G_CALLBACK (on_signaller_warning), self);
}

/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#include "webrtc-loopback.h"

#include <stdlib.h>
#include <unistd.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

struct _WrtcLoopback
{
  GstElement *offerer;
  GstElement *answerer;
  GMutex lock;
  gchar *error;                 /* under lock */
};

static void
fail (WrtcLoopback * lb, const gchar * what, const GstStructure * reply)
{
  gchar *detail = NULL;
  GError *err = NULL;

  if (reply && gst_structure_has_field (reply, "error")) {
    gst_structure_get (reply, "error", G_TYPE_ERROR, &err, NULL);
    detail = g_strdup (err ? err->message : "?");
    g_clear_error (&err);
  }
  g_mutex_lock (&lb->lock);
  if (!lb->error)
    lb->error = g_strdup_printf ("%s failed%s%s", what, detail ? ": " : "",
        detail ? detail : "");
  g_mutex_unlock (&lb->lock);
  g_free (detail);
}

static GstWebRTCSessionDescription *
take_description (GstPromise * promise, const gchar * field,
    WrtcLoopback * lb)
{
  GstWebRTCSessionDescription *desc = NULL;
  const GstStructure *reply;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED) {
    fail (lb, field, NULL);
    return NULL;
  }
  reply = gst_promise_get_reply (promise);
  if (!reply || !gst_structure_get (reply, field,
          GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL))
    fail (lb, field, reply);
  return desc;
}

/* All handlers below run on a webrtcbin's pc thread: they only emit
 * webrtcbin's asynchronous action signals, never wait. */

static void
on_answer_created (GstPromise * promise, gpointer user_data)
{
  WrtcLoopback *lb = user_data;
  GstWebRTCSessionDescription *answer;

  answer = take_description (promise, "answer", lb);
  gst_promise_unref (promise);
  if (!answer)
    return;
  g_signal_emit_by_name (lb->answerer, "set-local-description", answer,
      NULL);
  g_signal_emit_by_name (lb->offerer, "set-remote-description", answer,
      NULL);
  gst_webrtc_session_description_free (answer);
}

static void
on_offer_created (GstPromise * promise, gpointer user_data)
{
  WrtcLoopback *lb = user_data;
  GstWebRTCSessionDescription *offer;

  offer = take_description (promise, "offer", lb);
  gst_promise_unref (promise);
  if (!offer)
    return;
  g_signal_emit_by_name (lb->offerer, "set-local-description", offer, NULL);
  g_signal_emit_by_name (lb->answerer, "set-remote-description", offer,
      NULL);
  gst_webrtc_session_description_free (offer);

  promise = gst_promise_new_with_change_func (on_answer_created, lb, NULL);
  g_signal_emit_by_name (lb->answerer, "create-answer", NULL, promise);
}

static void
on_negotiation_needed (GstElement * webrtcbin, WrtcLoopback * lb)
{
  GstPromise *promise;

  promise = gst_promise_new_with_change_func (on_offer_created, lb, NULL);
  g_signal_emit_by_name (lb->offerer, "create-offer", NULL, promise);
}

static void
on_ice_candidate (GstElement * webrtcbin, guint mline, const gchar * cand,
    WrtcLoopback * lb)
{
  GstElement *other = webrtcbin == lb->offerer ? lb->answerer : lb->offerer;

  g_signal_emit_by_name (other, "add-ice-candidate", mline, cand);
}

static void
restrict_to_loopback (GstElement * webrtcbin)
{
  GstWebRTCICE *ice = NULL;
  gboolean ok = FALSE;

  g_object_get (webrtcbin, "ice-agent", &ice, NULL);
  g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &ok);
  g_warn_if_fail (ok);
  gst_object_unref (ice);
}

WrtcLoopback *
wrtc_loopback_new (GstElement * offerer, GstElement * answerer)
{
  WrtcLoopback *lb = g_new0 (WrtcLoopback, 1);

  g_mutex_init (&lb->lock);
  lb->offerer = gst_object_ref (offerer);
  lb->answerer = gst_object_ref (answerer);
  restrict_to_loopback (offerer);
  restrict_to_loopback (answerer);
  g_signal_connect (offerer, "on-negotiation-needed",
      G_CALLBACK (on_negotiation_needed), lb);
  g_signal_connect (offerer, "on-ice-candidate",
      G_CALLBACK (on_ice_candidate), lb);
  g_signal_connect (answerer, "on-ice-candidate",
      G_CALLBACK (on_ice_candidate), lb);
  return lb;
}

gchar *
wrtc_loopback_dup_error (WrtcLoopback * lb)
{
  gchar *error;

  g_mutex_lock (&lb->lock);
  error = g_strdup (lb->error);
  g_mutex_unlock (&lb->lock);
  return error;
}

void
wrtc_loopback_free (WrtcLoopback * lb)
{
  g_signal_handlers_disconnect_by_data (lb->offerer, lb);
  g_signal_handlers_disconnect_by_data (lb->answerer, lb);
  gst_object_unref (lb->offerer);
  gst_object_unref (lb->answerer);
  g_free (lb->error);
  g_mutex_clear (&lb->lock);
  g_free (lb);
}

typedef struct
{
  GstElement *element;
  GstState state;
  GMutex lock;
  GCond cond;
  gboolean done;
  gint refcount;
} StateChange;

static void
state_change_unref (StateChange * sc)
{
  if (!g_atomic_int_dec_and_test (&sc->refcount))
    return;
  gst_object_unref (sc->element);
  g_mutex_clear (&sc->lock);
  g_cond_clear (&sc->cond);
  g_free (sc);
}

static gpointer
state_change_thread (gpointer data)
{
  StateChange *sc = data;

  gst_element_set_state (sc->element, sc->state);
  gst_element_get_state (sc->element, NULL, NULL, GST_CLOCK_TIME_NONE);
  g_mutex_lock (&sc->lock);
  sc->done = TRUE;
  g_cond_signal (&sc->cond);
  g_mutex_unlock (&sc->lock);
  state_change_unref (sc);
  return NULL;
}

/* With WRTC_HANG_BACKTRACE set, a hang is explained by every thread's
 * stack (gdb attached to this process), on stderr; if its value names a
 * file, gdb runs that script too (tools/gdb-lock-owners.py). */
static void
dump_threads (void)
{
  const gchar *script = g_getenv ("WRTC_HANG_BACKTRACE");
  gchar *cmd;

  if (!script)
    return;
  cmd = g_strdup_printf ("gdb -p %d -batch -nx -ex 'thread apply all bt' "
      "%s%s 1>&2", (int) getpid (), g_file_test (script,
          G_FILE_TEST_IS_REGULAR) ? "-x " : "",
      g_file_test (script, G_FILE_TEST_IS_REGULAR) ? script : "");
  if (system (cmd) != 0)
    g_printerr ("could not run: %s\n", cmd);
  g_free (cmd);
}

gboolean
wrtc_set_state_bounded (GstElement * element, GstState state,
    guint timeout_s)
{
  StateChange *sc = g_new0 (StateChange, 1);
  gint64 deadline;
  gboolean done;

  sc->element = gst_object_ref (element);
  sc->state = state;
  sc->refcount = 2;
  g_mutex_init (&sc->lock);
  g_cond_init (&sc->cond);
  g_thread_unref (g_thread_new ("set-state", state_change_thread, sc));

  deadline = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;
  g_mutex_lock (&sc->lock);
  while (!sc->done && g_cond_wait_until (&sc->cond, &sc->lock, deadline));
  done = sc->done;
  g_mutex_unlock (&sc->lock);
  if (!done) {
    g_printerr ("%s: change to %s did not complete within %u s\n",
        GST_ELEMENT_NAME (element), gst_element_state_get_name (state),
        timeout_s);
    dump_threads ();
  }
  state_change_unref (sc);
  return done;
}

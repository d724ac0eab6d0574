/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "signalling-stream.h"

/* The two halves: thin pollable wrappers that report to their owner. */

#define COUNTING_TYPE_INPUT (counting_input_get_type ())
G_DECLARE_FINAL_TYPE (CountingInput, counting_input, COUNTING, INPUT,
    GInputStream)
#define COUNTING_TYPE_OUTPUT (counting_output_get_type ())
G_DECLARE_FINAL_TYPE (CountingOutput, counting_output, COUNTING, OUTPUT,
    GOutputStream)

struct _WrtcCountingStream
{
  GIOStream parent;

  GIOStream *base;
  CountingInput *input;
  CountingOutput *output;

  guint64 read;
  guint64 mark;
  guint64 max_unmarked;
  /* outgoing frames are parsed so that only data frames count, not the
   * pings, pongs and close frames libsoup writes in between */
  guint64 written;
  guint8 header[14];
  guint header_len;
  guint64 payload_left;
  gboolean data_frame;
  gboolean blocked;             /* input discarded, see _block() */

  gint64 last_read_us;
  guint idle_timeout;
  GMainContext *context;
  GSource *idle_check;
  GSource *overflow_notify;
};

struct _CountingInput
{
  GInputStream parent;
  WrtcCountingStream *owner;    /* not a reference: the owner holds us */
  GPollableInputStream *base;
};

struct _CountingOutput
{
  GOutputStream parent;
  WrtcCountingStream *owner;
  GPollableOutputStream *base;
};

enum
{
  SIGNAL_IDLE,
  SIGNAL_OVERFLOW,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void counting_input_pollable_init (GPollableInputStreamInterface *
    iface);
static void counting_output_pollable_init (GPollableOutputStreamInterface *
    iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CountingInput, counting_input,
    G_TYPE_INPUT_STREAM,
    G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
        counting_input_pollable_init));
G_DEFINE_FINAL_TYPE_WITH_CODE (CountingOutput, counting_output,
    G_TYPE_OUTPUT_STREAM,
    G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
        counting_output_pollable_init));
G_DEFINE_FINAL_TYPE (WrtcCountingStream, wrtc_counting_stream,
    G_TYPE_IO_STREAM);

/* ---------- input ---------- */

static gboolean
on_overflow_notify (gpointer data)
{
  WrtcCountingStream *self = data;

  g_clear_pointer (&self->overflow_notify, g_source_unref);
  g_signal_emit (self, signals[SIGNAL_OVERFLOW], 0);
  return G_SOURCE_REMOVE;
}

static void
input_count (CountingInput * in, gssize n)
{
  WrtcCountingStream *self = in->owner;

  if (n <= 0 || self == NULL)
    return;
  self->read += n;
  self->last_read_us = g_get_monotonic_time ();
  if (self->max_unmarked && self->read - self->mark > self->max_unmarked &&
      !self->blocked) {
    self->blocked = TRUE;
    self->overflow_notify = g_idle_source_new ();
    g_source_set_callback (self->overflow_notify, on_overflow_notify, self,
        NULL);
    g_source_attach (self->overflow_notify, self->context);
  }
}

static gssize
counting_input_read (GInputStream * stream, void *buffer, gsize count,
    GCancellable * cancellable, GError ** error)
{
  CountingInput *in = COUNTING_INPUT (stream);
  gssize n;

  n = g_input_stream_read (G_INPUT_STREAM (in->base), buffer, count,
      cancellable, error);
  if (n > 0 && in->owner && in->owner->blocked) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
        "input discarded");
    return -1;
  }
  input_count (in, n);
  return n;
}

static gboolean
counting_input_close (GInputStream * stream, GCancellable * cancellable,
    GError ** error)
{
  /* the base stream closes with the owner */
  return TRUE;
}

static gboolean
counting_input_can_poll (GPollableInputStream * stream)
{
  return TRUE;
}

static gboolean
counting_input_is_readable (GPollableInputStream * stream)
{
  return g_pollable_input_stream_is_readable (COUNTING_INPUT (stream)->base);
}

static GSource *
counting_input_create_source (GPollableInputStream * stream,
    GCancellable * cancellable)
{
  CountingInput *in = COUNTING_INPUT (stream);
  GSource *child, *source;

  child = g_pollable_input_stream_create_source (in->base, cancellable);
  source = g_pollable_source_new_full (stream, child, cancellable);
  g_source_unref (child);
  return source;
}

static gssize
counting_input_read_nonblocking (GPollableInputStream * stream,
    void *buffer, gsize count, GError ** error)
{
  CountingInput *in = COUNTING_INPUT (stream);
  gssize n;

  n = g_pollable_input_stream_read_nonblocking (in->base, buffer, count,
      NULL, error);
  /* blocked: the data is dropped, only the end or an error gets through */
  if (n > 0 && in->owner && in->owner->blocked) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
        "input discarded");
    return -1;
  }
  input_count (in, n);
  return n;
}

static void
counting_input_finalize (GObject * object)
{
  CountingInput *in = COUNTING_INPUT (object);

  g_object_unref (in->base);
  G_OBJECT_CLASS (counting_input_parent_class)->finalize (object);
}

static void
counting_input_class_init (CountingInputClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = counting_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = counting_input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = counting_input_close;
}

static void
counting_input_pollable_init (GPollableInputStreamInterface * iface)
{
  iface->can_poll = counting_input_can_poll;
  iface->is_readable = counting_input_is_readable;
  iface->create_source = counting_input_create_source;
  iface->read_nonblocking = counting_input_read_nonblocking;
}

static void
counting_input_init (CountingInput * in)
{
}

/* ---------- output ---------- */

static void
output_count (WrtcCountingStream * self, const guint8 * data, gsize len)
{
  while (len > 0) {
    if (self->payload_left > 0) {
      gsize k = MIN (len, self->payload_left);

      self->payload_left -= k;
      if (self->data_frame)
        self->written += k;
      data += k;
      len -= k;
    } else {
      guint need = 2, n7, i;

      self->header[self->header_len++] = *data++;
      len--;
      if (self->header_len < 2)
        continue;
      n7 = self->header[1] & 0x7f;
      need += (n7 == 126 ? 2 : n7 == 127 ? 8 : 0) +
          (self->header[1] & 0x80 ? 4 : 0);
      if (self->header_len < need)
        continue;
      if (n7 == 126)
        self->payload_left = (self->header[2] << 8) | self->header[3];
      else if (n7 == 127)
        for (self->payload_left = 0, i = 2; i < 10; i++)
          self->payload_left = (self->payload_left << 8) | self->header[i];
      else
        self->payload_left = n7;
      /* opcodes 0-2: continuation, text, binary */
      self->data_frame = (self->header[0] & 0x0f) < 8;
      if (self->data_frame)
        self->written += need;
      self->header_len = 0;
    }
  }
}

static gssize
counting_output_write (GOutputStream * stream, const void *buffer,
    gsize count, GCancellable * cancellable, GError ** error)
{
  CountingOutput *out = COUNTING_OUTPUT (stream);
  gssize n = g_output_stream_write (G_OUTPUT_STREAM (out->base), buffer,
      count, cancellable, error);

  if (n > 0 && out->owner)
    output_count (out->owner, buffer, n);
  return n;
}

static gboolean
counting_output_flush (GOutputStream * stream, GCancellable * cancellable,
    GError ** error)
{
  CountingOutput *out = COUNTING_OUTPUT (stream);

  return g_output_stream_flush (G_OUTPUT_STREAM (out->base), cancellable,
      error);
}

static gboolean
counting_output_close (GOutputStream * stream, GCancellable * cancellable,
    GError ** error)
{
  return TRUE;
}

static gboolean
counting_output_can_poll (GPollableOutputStream * stream)
{
  return TRUE;
}

static gboolean
counting_output_is_writable (GPollableOutputStream * stream)
{
  return g_pollable_output_stream_is_writable (COUNTING_OUTPUT
      (stream)->base);
}

static GSource *
counting_output_create_source (GPollableOutputStream * stream,
    GCancellable * cancellable)
{
  CountingOutput *out = COUNTING_OUTPUT (stream);
  GSource *child, *source;

  child = g_pollable_output_stream_create_source (out->base, cancellable);
  source = g_pollable_source_new_full (stream, child, cancellable);
  g_source_unref (child);
  return source;
}

static gssize
counting_output_write_nonblocking (GPollableOutputStream * stream,
    const void *buffer, gsize count, GError ** error)
{
  CountingOutput *out = COUNTING_OUTPUT (stream);
  gssize n = g_pollable_output_stream_write_nonblocking (out->base, buffer,
      count, NULL, error);

  if (n > 0 && out->owner)
    output_count (out->owner, buffer, n);
  return n;
}

static void
counting_output_finalize (GObject * object)
{
  CountingOutput *out = COUNTING_OUTPUT (object);

  g_object_unref (out->base);
  G_OBJECT_CLASS (counting_output_parent_class)->finalize (object);
}

static void
counting_output_class_init (CountingOutputClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = counting_output_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = counting_output_write;
  G_OUTPUT_STREAM_CLASS (klass)->flush = counting_output_flush;
  G_OUTPUT_STREAM_CLASS (klass)->close_fn = counting_output_close;
}

static void
counting_output_pollable_init (GPollableOutputStreamInterface * iface)
{
  iface->can_poll = counting_output_can_poll;
  iface->is_writable = counting_output_is_writable;
  iface->create_source = counting_output_create_source;
  iface->write_nonblocking = counting_output_write_nonblocking;
}

static void
counting_output_init (CountingOutput * out)
{
}

/* ---------- the stream ---------- */

static gboolean
on_idle_check (gpointer data)
{
  WrtcCountingStream *self = data;

  if (g_get_monotonic_time () - self->last_read_us >=
      (gint64) self->idle_timeout * G_USEC_PER_SEC) {
    g_clear_pointer (&self->idle_check, g_source_unref);
    g_signal_emit (self, signals[SIGNAL_IDLE], 0);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
stop_sources (WrtcCountingStream * self)
{
  if (self->idle_check) {
    g_source_destroy (self->idle_check);
    g_clear_pointer (&self->idle_check, g_source_unref);
  }
  if (self->overflow_notify) {
    g_source_destroy (self->overflow_notify);
    g_clear_pointer (&self->overflow_notify, g_source_unref);
  }
}

static GInputStream *
wrtc_counting_stream_get_input (GIOStream * stream)
{
  return G_INPUT_STREAM (WRTC_COUNTING_STREAM (stream)->input);
}

static GOutputStream *
wrtc_counting_stream_get_output (GIOStream * stream)
{
  return G_OUTPUT_STREAM (WRTC_COUNTING_STREAM (stream)->output);
}

static gboolean
wrtc_counting_stream_close (GIOStream * stream, GCancellable * cancellable,
    GError ** error)
{
  WrtcCountingStream *self = WRTC_COUNTING_STREAM (stream);

  return g_io_stream_close (self->base, cancellable, error);
}

static void
on_base_closed (GObject * source, GAsyncResult * res, gpointer data)
{
  GTask *task = data;
  GError *err = NULL;

  if (g_io_stream_close_finish (G_IO_STREAM (source), res, &err))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, err);
  g_object_unref (task);
}

/* Asynchronous on the caller's context, like the base stream's close. */
static void
wrtc_counting_stream_close_async (GIOStream * stream, int io_priority,
    GCancellable * cancellable, GAsyncReadyCallback callback,
    gpointer user_data)
{
  WrtcCountingStream *self = WRTC_COUNTING_STREAM (stream);
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  stop_sources (self);
  g_io_stream_close_async (self->base, io_priority, cancellable,
      on_base_closed, task);
}

static gboolean
wrtc_counting_stream_close_finish (GIOStream * stream, GAsyncResult * res,
    GError ** error)
{
  return g_task_propagate_boolean (G_TASK (res), error);
}

static void
wrtc_counting_stream_finalize (GObject * object)
{
  WrtcCountingStream *self = WRTC_COUNTING_STREAM (object);

  stop_sources (self);
  self->input->owner = NULL;
  self->output->owner = NULL;
  g_object_unref (self->input);
  g_object_unref (self->output);
  g_object_unref (self->base);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (wrtc_counting_stream_parent_class)->finalize (object);
}

static void
wrtc_counting_stream_class_init (WrtcCountingStreamClass * klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = wrtc_counting_stream_finalize;
  io_class->get_input_stream = wrtc_counting_stream_get_input;
  io_class->get_output_stream = wrtc_counting_stream_get_output;
  io_class->close_fn = wrtc_counting_stream_close;
  io_class->close_async = wrtc_counting_stream_close_async;
  io_class->close_finish = wrtc_counting_stream_close_finish;

  signals[SIGNAL_IDLE] = g_signal_new ("idle", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_OVERFLOW] = g_signal_new ("overflow",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 0);
}

static void
wrtc_counting_stream_init (WrtcCountingStream * self)
{
}

WrtcCountingStream *
wrtc_counting_stream_new (GIOStream * base, guint64 max_unmarked,
    guint idle_timeout)
{
  WrtcCountingStream *self = g_object_new (WRTC_TYPE_COUNTING_STREAM, NULL);

  self->base = g_object_ref (base);
  self->input = g_object_new (COUNTING_TYPE_INPUT, NULL);
  self->input->owner = self;
  self->input->base =
      G_POLLABLE_INPUT_STREAM (g_object_ref (g_io_stream_get_input_stream
          (base)));
  self->output = g_object_new (COUNTING_TYPE_OUTPUT, NULL);
  self->output->owner = self;
  self->output->base =
      G_POLLABLE_OUTPUT_STREAM (g_object_ref (g_io_stream_get_output_stream
          (base)));
  self->max_unmarked = max_unmarked;
  self->idle_timeout = idle_timeout;
  self->last_read_us = g_get_monotonic_time ();
  self->context = g_main_context_ref_thread_default ();
  if (idle_timeout) {
    /* checked twice per timeout: a dead peer goes within 1.5 timeouts */
    self->idle_check = g_timeout_source_new (idle_timeout * 500);
    g_source_set_callback (self->idle_check, on_idle_check, self, NULL);
    g_source_attach (self->idle_check, self->context);
  }
  return self;
}

guint64
wrtc_counting_stream_get_written (WrtcCountingStream * self)
{
  return self->written;
}

void
wrtc_counting_stream_mark_message (WrtcCountingStream * self)
{
  self->mark = self->read;
}

void
wrtc_counting_stream_block (WrtcCountingStream * self)
{
  self->blocked = TRUE;
}

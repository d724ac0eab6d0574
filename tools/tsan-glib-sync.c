/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Preloaded into the ThreadSanitizer run (tools/run-tests.sh --tsan).
 *
 * GLib and GStreamer are not built with -fsanitize=thread, and on Linux
 * GMutex, GRecMutex and GCond are implemented with raw futexes, not pthread,
 * so TSan's pthread interceptors never see them: every access guarded by
 * GST_OBJECT_LOCK or a pad's stream lock would look unsynchronised. These
 * wrappers call the real GLib function and tell TSan about the
 * acquire/release it implies, so TSan sees the happens-before edges the
 * locks really create. They add no synchronisation of their own.
 *
 * Built by tools/run-tests.sh --tsan with -fsanitize=thread -shared. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);

static gpointer
real (const char *name)
{
  gpointer f = dlsym (RTLD_NEXT, name);

  if (f == NULL) {
    fprintf (stderr, "tsan-glib-sync: no %s\n", name);
    abort ();
  }
  return f;
}

/* Looked up on first use (GLib's own constructors lock mutexes before a
 * constructor of ours could run), with atomics so the lookup is no race. */
static void (*real_mutex_lock) (GMutex *);
static gboolean (*real_mutex_trylock) (GMutex *);
static void (*real_mutex_unlock) (GMutex *);
static void (*real_rec_mutex_lock) (GRecMutex *);
static gboolean (*real_rec_mutex_trylock) (GRecMutex *);
static void (*real_rec_mutex_unlock) (GRecMutex *);
static void (*real_cond_wait) (GCond *, GMutex *);
static gboolean (*real_cond_wait_until) (GCond *, GMutex *, gint64);
static void (*real_async_queue_push) (GAsyncQueue *, gpointer);
static gpointer (*real_async_queue_pop) (GAsyncQueue *);
static gpointer (*real_async_queue_try_pop) (GAsyncQueue *);
static gpointer (*real_async_queue_timeout_pop) (GAsyncQueue *, guint64);
static gboolean (*real_thread_pool_push) (GThreadPool *, gpointer, GError **);
static void (*real_free) (gpointer);
static void (*real_slice_free1) (gsize, gpointer);
static void (*real_mini_object_unref) (gpointer);

static gpointer
get (gpointer * slot, const char *name)
{
  gpointer f = __atomic_load_n (slot, __ATOMIC_ACQUIRE);

  if (f == NULL) {
    f = real (name);
    __atomic_store_n (slot, f, __ATOMIC_RELEASE);
  }
  return f;
}

#define REAL(ret, name, args) \
  ret (*real_fn) args = get ((gpointer *) &real_##name, "g_" #name)
#define REAL_GST(ret, name, args) \
  ret (*real_fn) args = get ((gpointer *) &real_##name, "gst_" #name)

void
g_mutex_lock (GMutex * m)
{
  REAL (void, mutex_lock, (GMutex *));
  real_fn (m);
  __tsan_acquire (m);
}

gboolean
g_mutex_trylock (GMutex * m)
{
  gboolean ok;
  REAL (gboolean, mutex_trylock, (GMutex *));
  ok = real_fn (m);
  if (ok)
    __tsan_acquire (m);
  return ok;
}

void
g_mutex_unlock (GMutex * m)
{
  REAL (void, mutex_unlock, (GMutex *));
  __tsan_release (m);
  real_fn (m);
}

void
g_rec_mutex_lock (GRecMutex * m)
{
  REAL (void, rec_mutex_lock, (GRecMutex *));
  real_fn (m);
  __tsan_acquire (m);
}

gboolean
g_rec_mutex_trylock (GRecMutex * m)
{
  gboolean ok;
  REAL (gboolean, rec_mutex_trylock, (GRecMutex *));
  ok = real_fn (m);
  if (ok)
    __tsan_acquire (m);
  return ok;
}

void
g_rec_mutex_unlock (GRecMutex * m)
{
  REAL (void, rec_mutex_unlock, (GRecMutex *));
  __tsan_release (m);
  real_fn (m);
}

void
g_cond_wait (GCond * c, GMutex * m)
{
  REAL (void, cond_wait, (GCond *, GMutex *));
  __tsan_release (m);
  real_fn (c, m);
  __tsan_acquire (m);
}

gboolean
g_cond_wait_until (GCond * c, GMutex * m, gint64 end_time)
{
  gboolean ok;
  REAL (gboolean, cond_wait_until, (GCond *, GMutex *, gint64));
  __tsan_release (m);
  ok = real_fn (c, m, end_time);
  __tsan_acquire (m);
  return ok;
}

/* GAsyncQueue locks internally (not through the PLT): hand-over of items,
 * e.g. buffers queued by GstHarness for the test thread, is made visible
 * here. */
void
g_async_queue_push (GAsyncQueue * q, gpointer data)
{
  REAL (void, async_queue_push, (GAsyncQueue *, gpointer));
  __tsan_release (q);
  real_fn (q, data);
}

gpointer
g_async_queue_pop (GAsyncQueue * q)
{
  gpointer d;
  REAL (gpointer, async_queue_pop, (GAsyncQueue *));
  d = real_fn (q);
  __tsan_acquire (q);
  return d;
}

gpointer
g_async_queue_try_pop (GAsyncQueue * q)
{
  gpointer d;
  REAL (gpointer, async_queue_try_pop, (GAsyncQueue *));
  d = real_fn (q);
  __tsan_acquire (q);
  return d;
}

gpointer
g_async_queue_timeout_pop (GAsyncQueue * q, guint64 timeout)
{
  gpointer d;
  REAL (gpointer, async_queue_timeout_pop, (GAsyncQueue *, guint64));
  d = real_fn (q, timeout);
  __tsan_acquire (q);
  return d;
}

/* Objects handed to another thread and freed there: GstTask hands its job
 * to a GThreadPool thread, which frees it; the last unref of a buffer or
 * message may happen in another thread than the previous user's. The
 * refcount drop and the pool hand-over happen in uninstrumented code, so
 * they are modelled the way TSan models shared pointers: a release when a
 * reference is dropped or data is handed over, an acquire on the address
 * right before it is freed. */
gboolean
g_thread_pool_push (GThreadPool * pool, gpointer data, GError ** error)
{
  REAL (gboolean, thread_pool_push, (GThreadPool *, gpointer, GError **));
  __tsan_release (data);
  return real_fn (pool, data, error);
}

void
gst_mini_object_unref (gpointer obj)
{
  REAL_GST (void, mini_object_unref, (gpointer));
  __tsan_release (obj);
  real_fn (obj);
}

void
g_free (gpointer mem)
{
  REAL (void, free, (gpointer));
  if (mem != NULL)
    __tsan_acquire (mem);
  real_fn (mem);
}

void
g_slice_free1 (gsize size, gpointer mem)
{
  REAL (void, slice_free1, (gsize, gpointer));
  if (mem != NULL)
    __tsan_acquire (mem);
  real_fn (size, mem);
}

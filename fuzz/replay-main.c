/* gst-wrtcframe
 * Copyright (C) 2026 gst-wrtcframe authors
 * SPDX-License-Identifier: LGPL-2.0-or-later
 */

/* Corpus replay: a main () for the fuzz targets that needs no libFuzzer, so
 * the normal and the gcc ASan/UBSan builds run every stored input (seeds
 * and crash reproducers) as a test. Arguments are files or directories;
 * each input counts as one check in the Check-style summary line that
 * tools/count-cases.py reads. A failing input aborts, after its name has
 * been printed. */

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "fuzz-common.h"

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

static void
collect (const gchar * path, GPtrArray * files)
{
  GDir *dir;
  const gchar *name;
  GPtrArray *names;
  guint i;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_ptr_array_add (files, g_strdup (path));
    return;
  }
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_dir_close (dir);
  /* a fixed order makes a failure reproducible by position too */
  g_ptr_array_sort (names, compare_names);
  for (i = 0; i < names->len; i++)
    g_ptr_array_add (files, g_strdup (g_ptr_array_index (names, i)));
  g_ptr_array_unref (names);
}

int
main (int argc, char **argv)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  guint i, errors = 0;
  int a;

  for (a = 1; a < argc; a++) {
    if (!g_file_test (argv[a], G_FILE_TEST_EXISTS)) {
      fprintf (stderr, "%s: no such corpus file or directory\n", argv[a]);
      errors++;
      continue;
    }
    collect (argv[a], files);
  }
  if (files->len == 0) {
    fprintf (stderr, "no corpus inputs given\n");
    errors++;
  }

  for (i = 0; i < files->len; i++) {
    const gchar *path = g_ptr_array_index (files, i);
    gchar *contents = NULL;
    gsize len = 0;
    GError *err = NULL;
    guint8 *exact;

    if (!g_file_get_contents (path, &contents, &len, &err)) {
      fprintf (stderr, "%s: %s\n", path, err->message);
      g_clear_error (&err);
      errors++;
      continue;
    }
    printf ("%u/%u %s (%" G_GSIZE_FORMAT " bytes)\n", i + 1, files->len,
        path, len);
    fflush (stdout);
    /* an exact-size copy, as libFuzzer passes it: reads past the end of
     * the input hit the redzone */
    exact = g_malloc (len ? len : 1);
    memcpy (exact, contents, len);
    g_free (contents);
    LLVMFuzzerTestOneInput (exact, len);
    g_free (exact);
  }

  printf ("%u%%: Checks: %u, Failures: 0, Errors: %u\n",
      errors ? 0 : 100, files->len + (files->len ? 0 : 1), errors);
  g_ptr_array_unref (files);
  return errors ? 1 : 0;
}

/* placeholder: replaced by the real tests */
#include <gst/check/gstcheck.h>

GST_START_TEST (test_not_written)
{
  fail ("tests not written yet");
}
GST_END_TEST;

static Suite *
placeholder_suite (void)
{
  Suite *s = suite_create ("placeholder");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_not_written);
  return s;
}

GST_CHECK_MAIN (placeholder);

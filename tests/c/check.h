/* check.h: the one assertion the C tests use. CHECK records a failure with
 * file and line and goes on; main returns CHECK_RESULT(). */
#ifndef FH_TEST_CHECK_H
#define FH_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

#endif

/* test_quarantine: tenants go into quarantine until a moment, a later
 * moment extends it, 0 ends it, ended slots are reused, a full table of live
 * quarantines refuses, and threads may set and read at once. */
#include "check.h"
#include "fh.h"
#include "quarantine.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void *hammer(void *arg) {
  const char *id = arg;
  for (int i = 0; i < 20000; i++) {
    fh_quarantine_set(id, fh_monotonic() + 60);
    if (fh_quarantine_until(id) <= 0) return (void *)1;
  }
  return NULL;
}

int main(void) {
  double now = fh_monotonic();
  CHECK(fh_quarantine_until("hostile") == 0);
  CHECK(fh_quarantine_set("hostile", now + 60) == 0);
  CHECK(fh_quarantine_until("hostile") == now + 60);
  CHECK(fh_quarantine_until("goodco") == 0);        /* only the one named */
  CHECK(fh_quarantine_until("hostil") == 0);

  CHECK(fh_quarantine_set("hostile", now + 90) == 0);   /* extended */
  CHECK(fh_quarantine_until("hostile") == now + 90);
  CHECK(fh_quarantine_set("hostile", 0) == 0);           /* ended */
  CHECK(fh_quarantine_until("hostile") == 0);
  CHECK(fh_quarantine_set("never", 0) == 0);             /* ending none is fine */

  CHECK(fh_quarantine_set("past", now - 1) == 0);        /* already over */
  CHECK(fh_quarantine_until("past") == 0);

  char id[80];
  memset(id, 'x', 65);
  id[65] = 0;
  CHECK(fh_quarantine_set(id, now + 60) == FH_EINVAL);   /* not a tenant id: over 64 bytes */
  CHECK(fh_quarantine_until(id) == 0);

  /* 1,024 live quarantines fill the table; ended ones make room again */
  int refused = 0;
  for (int i = 0; i < 1100; i++) {
    snprintf(id, sizeof(id), "t%d", i);
    if (fh_quarantine_set(id, now + 60) == FH_ENOMEM) refused++;
  }
  CHECK(refused > 0);
  CHECK(fh_quarantine_set("late", now + 60) == FH_ENOMEM);
  CHECK(fh_quarantine_until("late") == 0);
  CHECK(fh_quarantine_set("t0", 0) == 0);
  CHECK(fh_quarantine_set("late", now + 60) == 0);       /* t0's slot */
  CHECK(fh_quarantine_until("late") > 0);
  CHECK(fh_quarantine_until("t1") > 0);                  /* the others kept */
  for (int i = 0; i < 1100; i++) {
    snprintf(id, sizeof(id), "t%d", i);
    fh_quarantine_set(id, 0);
  }
  fh_quarantine_set("late", 0);

  pthread_t a, b;
  void *ra, *rb;
  pthread_create(&a, NULL, hammer, "one");
  pthread_create(&b, NULL, hammer, "two");
  pthread_join(a, &ra);
  pthread_join(b, &rb);
  CHECK(ra == NULL && rb == NULL);

  if (failures) return 1;
  printf("test_quarantine: ok\n");
  return 0;
}

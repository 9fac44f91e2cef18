/* test_freelist: recycled blocks come back, the cap is kept, drain frees. */
#include "check.h"
#include "freelist.h"

#include <stdio.h>
#include <string.h>

typedef struct { char bytes[40]; } item;

int main(void) {
  fh_freelist f = FH_FREELIST(item, 2);
  CHECK(f.size == sizeof(item));
  CHECK(f.head == NULL && f.count == 0);

  item *a = fh_freelist_get(&f), *b = fh_freelist_get(&f), *c = fh_freelist_get(&f);
  CHECK(a && b && c && a != b && b != c);
  memset(a, 1, sizeof(*a)); /* the whole block is usable */

  fh_freelist_put(&f, a);
  fh_freelist_put(&f, b);
  fh_freelist_put(&f, c); /* over the cap of 2: freed, not kept */
  CHECK(f.count == 2);

  /* last in, first out */
  CHECK(fh_freelist_get(&f) == b);
  CHECK(fh_freelist_get(&f) == a);
  CHECK(f.count == 0 && f.head == NULL);

  fh_freelist_put(&f, a);
  fh_freelist_put(&f, b);
  fh_freelist_put(&f, NULL); /* ignored */
  CHECK(f.count == 2);
  fh_freelist_drain(&f);
  CHECK(f.count == 0 && f.head == NULL);

  /* blocks smaller than a pointer still hold the link */
  fh_freelist small = FH_FREELIST(char, 4);
  CHECK(small.size == sizeof(void *));
  char *s = fh_freelist_get(&small);
  CHECK(s != NULL);
  fh_freelist_put(&small, s);
  CHECK(fh_freelist_get(&small) == s);
  free(s);

  if (failures) return 1;
  printf("test_freelist: ok\n");
  return 0;
}

/* freelist.h: recycled fixed-size blocks for objects made and dropped on
 * every request (Redis command records, async waits).
 *
 * glibc keeps only 7 freed blocks per size in its per-thread cache; a loop
 * turn that answers dozens of commands frees more than that and falls into
 * its slower shared bins. A freelist belongs to one thread (or one object
 * used by one thread) and keeps up to `max` blocks. */
#ifndef FH_FREELIST_H
#define FH_FREELIST_H

#include <stdlib.h>

typedef struct {
  void *head;
  int count;
  int max;
  size_t size;   /* block size, at least sizeof(void *) */
} fh_freelist;

#define FH_FREELIST(type, max) { NULL, 0, (max), sizeof(type) > sizeof(void *) ? sizeof(type) : sizeof(void *) }

/* A block of f->size bytes (not zeroed), or NULL when out of memory. */
static inline void *fh_freelist_get(fh_freelist *f) {
  void *p = f->head;
  if (!p) return malloc(f->size);
  f->head = *(void **)p;
  f->count--;
  return p;
}

static inline void fh_freelist_put(fh_freelist *f, void *p) {
  if (!p) return;
  if (f->count >= f->max) { free(p); return; }
  *(void **)p = f->head;
  f->head = p;
  f->count++;
}

static inline void fh_freelist_drain(fh_freelist *f) {
  while (f->head) {
    void *p = f->head;
    f->head = *(void **)p;
    free(p);
  }
  f->count = 0;
}

#endif

/* tpool.h: small blocks for tenant states' allocators, recycled per thread.
 *
 * A tenant state allocates from the C heap (one state: ~1 MB, no segments
 * of its own), and a turn makes and drops some 25-120 KB of small objects
 * (strings, tables, closures). glibc's per-thread cache keeps 7 blocks per
 * size; the collector's sweeps free thousands at once, which then go
 * through glibc's shared bins (consolidation, unlinking): a fifth of the
 * CPU of a busy tenant's worker. Here blocks of up to TPOOL_MAX bytes are
 * kept in size classes of 16 bytes, per thread (a worker's states all run
 * on its thread), up to TPOOL_CAP bytes per thread in all; beyond that they
 * go back to malloc. A block's capacity is always at least the class of
 * the size its state believes it has, so any thread may take it back.
 *
 * Memory accounting stays with the caller (ts_alloc counts the sizes Lua
 * asks for), so budgets do not depend on what the pool holds. */
#ifndef FH_TPOOL_H
#define FH_TPOOL_H

#include <stdlib.h>
#include <string.h>

#define TPOOL_STEP 16
#define TPOOL_MAX 512
#define TPOOL_CLASSES (TPOOL_MAX / TPOOL_STEP)
#define TPOOL_CAP ((size_t)4 << 20)

typedef struct {
  void *head[TPOOL_CLASSES];
  size_t bytes;                /* held in all classes */
} fh_tpool;

static __thread fh_tpool tpool;

static inline int fh_tpool_small(size_t n) { return n <= TPOOL_MAX; }
static inline int fh_tpool_class(size_t n) { return n ? (int)((n - 1) / TPOOL_STEP) : 0; }

/* A block for n bytes (n > 0), or NULL when out of memory. */
static inline void *fh_tpool_get(size_t n) {
  if (!fh_tpool_small(n)) return malloc(n);
  int c = fh_tpool_class(n);
  void *p = tpool.head[c];
  if (!p) return malloc((size_t)(c + 1) * TPOOL_STEP);
  void *next = *(void **)p;        /* (a cache miss: blocks freed by a sweep are cold) */
  tpool.head[c] = next;
  if (next) __builtin_prefetch(next);   /* the next get of this class will not wait */
  tpool.bytes -= (size_t)(c + 1) * TPOOL_STEP;
  return p;
}

/* Takes back p, a block got for n bytes (or resized to n). */
static inline void fh_tpool_put(void *p, size_t n) {
  if (!p) return;
  if (!fh_tpool_small(n)) { free(p); return; }
  int c = fh_tpool_class(n);
  size_t sz = (size_t)(c + 1) * TPOOL_STEP;
  if (tpool.bytes + sz > TPOOL_CAP) { free(p); return; }
  *(void **)p = tpool.head[c];
  tpool.head[c] = p;
  tpool.bytes += sz;
}

/* p (a block for osize bytes, or NULL) resized to nsize > 0 bytes, or NULL
 * (p untouched) when out of memory. */
static inline void *fh_tpool_resize(void *p, size_t osize, size_t nsize) {
  if (!p) return fh_tpool_get(nsize);
  int os = fh_tpool_small(osize), ns = fh_tpool_small(nsize);
  if (os && ns && fh_tpool_class(osize) == fh_tpool_class(nsize)) return p;
  if (!os && !ns) return realloc(p, nsize);
  void *q = fh_tpool_get(nsize);
  if (!q) return NULL;
  memcpy(q, p, osize < nsize ? osize : nsize);
  fh_tpool_put(p, osize);
  return q;
}

#endif

/* metrics.c: the Prometheus metrics registry: families, series, updates
 * from every thread, and the snapshot the exposition (metrics_text.c)
 * renders.
 *
 * Locking: g_reg_mu guards the family table and every change to the series
 * tables' shape (insert, grow, free). Each stripe's mutex guards its table
 * pointer and the values of its series. Lock order: g_reg_mu, then a stripe.
 * The hot path (existing series) only takes one stripe mutex.
 */
#define _POSIX_C_SOURCE 200809L

#include "metrics.h"

#include "fh.h"
#include "metrics_snapshot.h"

#include <float.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRIPE_BITS 5
#define NSTRIPES (1u << STRIPE_BITS)
#define STRIPE_INIT_CAP 16
#define FAM_INIT_CAP 32

enum metrics_op { OP_ADD, OP_SET, OP_OBSERVE };

/* Families are fh__metric_family (metrics_snapshot.h): the exposition
 * reads them as they are. */

struct series {
  struct series *next;
  const fh__metric_family *fam;
  uint64_t hash;
  double value;      /* counter/gauge value, histogram sum */
  uint64_t *counts;  /* histogram only: per bucket, [nbuckets] is +Inf */
  char *labels;      /* inside this allocation */
};

struct stripe {
  _Alignas(64) pthread_mutex_t mu;
  struct series **buckets;
  size_t cap;    /* power of two; 0 when not set up */
  size_t count;
};

#define STRIPE_INIT { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 }
#define STRIPE_INIT4 STRIPE_INIT, STRIPE_INIT, STRIPE_INIT, STRIPE_INIT
#define STRIPE_INIT16 STRIPE_INIT4, STRIPE_INIT4, STRIPE_INIT4, STRIPE_INIT4

static pthread_mutex_t g_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_ready;
static fh__metric_family **g_fams;  /* sorted by name */
static size_t g_nfams;
static size_t g_fams_cap;
static struct stripe g_stripes[NSTRIPES] = { STRIPE_INIT16, STRIPE_INIT16 };

static const double g_default_buckets[] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define DEFAULT_NBUCKETS ((int) (sizeof(g_default_buckets) / sizeof(g_default_buckets[0])))


static uint64_t metrics_hash(const char *name, const char *labels) {
  uint64_t h = 14695981039346656037ULL;
  const unsigned char *p;

  for (p = (const unsigned char *) name; *p != '\0'; p++)
    h = (h ^ *p) * 1099511628211ULL;
  h = (h ^ 0xff) * 1099511628211ULL;  /* separator, never in a name */
  for (p = (const unsigned char *) labels; *p != '\0'; p++)
    h = (h ^ *p) * 1099511628211ULL;

  /* Finalizer (murmur3 fmix64) so stripe and bucket bits are both mixed. */
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}


static int name_valid(const char *name) {
  const char *p;

  if (name == NULL || *name == '\0')
    return 0;
  for (p = name; *p != '\0'; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                c == '_' || c == ':';
    if (!alpha && !(p != name && c >= '0' && c <= '9'))
      return 0;
  }
  return 1;
}


static int buckets_valid(const double *b, int n) {
  int i;

  for (i = 0; i < n; i++) {
    if (b[i] != b[i] || b[i] > DBL_MAX || b[i] < -DBL_MAX)
      return 0;  /* NaN or infinite */
    if (i > 0 && !(b[i - 1] < b[i]))
      return 0;
  }
  return 1;
}


static int op_fits(fh_metric_type type, enum metrics_op op) {
  switch (op) {
  case OP_ADD: return type == FH_METRIC_COUNTER || type == FH_METRIC_GAUGE;
  case OP_SET: return type == FH_METRIC_GAUGE;
  case OP_OBSERVE: return type == FH_METRIC_HISTOGRAM;
  }
  return 0;
}


/* Index of the first bound >= v; nbuckets (+Inf) when none, or for NaN. */
static int bucket_index(const fh__metric_family *f, double v) {
  int lo = 0;
  int hi = f->nbuckets;

  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (v <= f->bounds[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}


static void series_apply(struct series *s, enum metrics_op op, double v) {
  switch (op) {
  case OP_ADD:
    if (s->fam->type == FH_METRIC_GAUGE ||
        (s->fam->type == FH_METRIC_COUNTER && v >= 0))
      s->value += v;
    break;
  case OP_SET:
    if (s->fam->type == FH_METRIC_GAUGE)
      s->value = v;
    break;
  case OP_OBSERVE:
    if (s->fam->type == FH_METRIC_HISTOGRAM) {
      s->counts[bucket_index(s->fam, v)]++;
      s->value += v;
    }
    break;
  }
}


/* Caller holds st->mu (or g_reg_mu for a read-only walk). */
static struct series *series_find(const struct stripe *st, uint64_t h,
                                  const char *name, const char *labels) {
  struct series *s;

  if (st->cap == 0)
    return NULL;
  for (s = st->buckets[(h >> STRIPE_BITS) & (st->cap - 1)]; s; s = s->next)
    if (s->hash == h && strcmp(s->fam->name, name) == 0 &&
        strcmp(s->labels, labels) == 0)
      return s;
  return NULL;
}


/* Caller holds g_reg_mu and st->mu. A failed grow keeps the old table. */
static void stripe_grow(struct stripe *st) {
  struct series **nb;
  struct series *s;
  struct series *next;
  size_t ncap;
  size_t i;

  ncap = st->cap * 2;
  nb = calloc(ncap, sizeof(*nb));
  if (nb == NULL)
    return;
  for (i = 0; i < st->cap; i++) {
    for (s = st->buckets[i]; s != NULL; s = next) {
      size_t j = (s->hash >> STRIPE_BITS) & (ncap - 1);
      next = s->next;
      s->next = nb[j];
      nb[j] = s;
    }
  }
  free(st->buckets);
  st->buckets = nb;
  st->cap = ncap;
}


/* Caller holds g_reg_mu and st->mu, and st is set up. */
static struct series *series_insert(struct stripe *st, const fh__metric_family *f,
                                    uint64_t h, const char *labels) {
  struct series *s;
  size_t ncounts;
  size_t llen;
  size_t j;

  ncounts = f->type == FH_METRIC_HISTOGRAM ? (size_t) f->nbuckets + 1 : 0;
  llen = strlen(labels);
  s = calloc(1, sizeof(*s) + ncounts * sizeof(uint64_t) + llen + 1);
  if (s == NULL)
    return NULL;
  s->fam = f;
  s->hash = h;
  s->counts = ncounts ? (uint64_t *) (s + 1) : NULL;
  s->labels = (char *) (s + 1) + ncounts * sizeof(uint64_t);
  memcpy(s->labels, labels, llen + 1);

  if (st->count >= st->cap)
    stripe_grow(st);
  j = (h >> STRIPE_BITS) & (st->cap - 1);
  s->next = st->buckets[j];
  st->buckets[j] = s;
  st->count++;
  return s;
}


/* Binary search; *pos gets the insertion point. Caller holds g_reg_mu. */
static fh__metric_family *family_find(const char *name, size_t *pos) {
  size_t lo = 0;
  size_t hi = g_nfams;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, g_fams[mid]->name);
    if (c == 0) {
      *pos = mid;
      return g_fams[mid];
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  *pos = lo;
  return NULL;
}


/* Insert a new family at pos. Args are validated. Caller holds g_reg_mu. */
static fh__metric_family *family_create(size_t pos, const char *name,
                                    fh_metric_type type, const char *help,
                                    const double *buckets, int nbuckets) {
  fh__metric_family *f;
  size_t nlen;

  f = NULL;
  if (g_nfams == g_fams_cap) {
    size_t ncap = g_fams_cap * 2;
    fh__metric_family **nf = realloc(g_fams, ncap * sizeof(*nf));
    if (nf == NULL)
      goto fail;
    g_fams = nf;
    g_fams_cap = ncap;
  }

  nlen = strlen(name);
  f = calloc(1, sizeof(*f) + (size_t) nbuckets * sizeof(double) + nlen + 1);
  if (f == NULL)
    goto fail;
  f->type = type;
  f->nbuckets = nbuckets;
  f->bounds = (double *) (f + 1);
  if (nbuckets > 0)
    memcpy(f->bounds, buckets, (size_t) nbuckets * sizeof(double));
  f->name = (char *) (f->bounds + nbuckets);
  memcpy(f->name, name, nlen + 1);
  f->help = strdup(help != NULL ? help : "");
  if (f->help == NULL)
    goto fail;

  memmove(g_fams + pos + 1, g_fams + pos, (g_nfams - pos) * sizeof(*g_fams));
  g_fams[pos] = f;
  g_nfams++;
  return f;

fail:
  free(f);
  return NULL;
}


/* Free all families and series. Caller holds g_reg_mu. */
static void free_all_locked(void) {
  struct series *s;
  struct series *next;
  size_t i;
  size_t j;

  for (i = 0; i < NSTRIPES; i++) {
    struct stripe *st = &g_stripes[i];
    pthread_mutex_lock(&st->mu);
    for (j = 0; j < st->cap; j++) {
      for (s = st->buckets[j]; s != NULL; s = next) {
        next = s->next;
        free(s);
      }
    }
    free(st->buckets);
    st->buckets = NULL;
    st->cap = 0;
    st->count = 0;
    pthread_mutex_unlock(&st->mu);
  }

  for (i = 0; i < g_nfams; i++) {
    free(g_fams[i]->help);
    free(g_fams[i]);
  }
  free(g_fams);
  g_fams = NULL;
  g_nfams = 0;
  g_fams_cap = 0;
  g_ready = 0;
}


/* Caller holds g_reg_mu. */
static int init_locked(void) {
  size_t i;

  if (g_ready)
    return 0;

  g_fams = calloc(FAM_INIT_CAP, sizeof(*g_fams));
  if (g_fams == NULL)
    goto fail;
  g_fams_cap = FAM_INIT_CAP;

  for (i = 0; i < NSTRIPES; i++) {
    struct stripe *st = &g_stripes[i];
    struct series **b = calloc(STRIPE_INIT_CAP, sizeof(*b));
    if (b == NULL)
      goto fail;
    pthread_mutex_lock(&st->mu);
    st->buckets = b;
    st->cap = STRIPE_INIT_CAP;
    st->count = 0;
    pthread_mutex_unlock(&st->mu);
  }

  g_ready = 1;
  return 0;

fail:
  free_all_locked();
  return FH_ENOMEM;
}


int fh_metrics_init(void) {
  int rc;

  pthread_mutex_lock(&g_reg_mu);
  rc = init_locked();
  pthread_mutex_unlock(&g_reg_mu);
  return rc;
}


int fh_metrics_declare(const char *name, fh_metric_type type, const char *help,
                       const double *buckets, int nbuckets) {
  fh__metric_family *f;
  size_t pos;
  char *nhelp;
  int rc;

  if (!name_valid(name))
    return FH_EINVAL;
  if (type != FH_METRIC_COUNTER && type != FH_METRIC_GAUGE &&
      type != FH_METRIC_HISTOGRAM)
    return FH_EINVAL;
  if (type != FH_METRIC_HISTOGRAM) {
    if (buckets != NULL || nbuckets != 0)
      return FH_EINVAL;
  } else {
    if (nbuckets < 0 || (nbuckets > 0 && buckets == NULL))
      return FH_EINVAL;
    if (nbuckets == 0) {
      buckets = g_default_buckets;
      nbuckets = DEFAULT_NBUCKETS;
    }
    if (!buckets_valid(buckets, nbuckets))
      return FH_EINVAL;
  }
  if (help == NULL)
    help = "";

  pthread_mutex_lock(&g_reg_mu);
  rc = init_locked();
  if (rc != 0)
    goto fail;

  f = family_find(name, &pos);
  if (f == NULL) {
    if (family_create(pos, name, type, help, buckets, nbuckets) == NULL)
      rc = FH_ENOMEM;
    goto fail;
  }

  /* Redeclaration: same type (and buckets) only; may update HELP. */
  if (f->type != type ||
      (type == FH_METRIC_HISTOGRAM &&
       (f->nbuckets != nbuckets ||
        memcmp(f->bounds, buckets, (size_t) nbuckets * sizeof(double)) != 0))) {
    rc = FH_EINVAL;
    goto fail;
  }
  if (strcmp(f->help, help) != 0) {
    nhelp = strdup(help);
    if (nhelp == NULL) {
      rc = FH_ENOMEM;
      goto fail;
    }
    free(f->help);
    f->help = nhelp;
  }

fail:
  pthread_mutex_unlock(&g_reg_mu);
  return rc;
}


/* Slow path: create the family and/or series, then apply. */
static void metrics_update_slow(struct stripe *st, uint64_t h, const char *name,
                                const char *labels, enum metrics_op op,
                                double v) {
  static const fh_metric_type auto_type[] = {
    FH_METRIC_COUNTER, FH_METRIC_GAUGE, FH_METRIC_HISTOGRAM
  };
  fh__metric_family *f;
  struct series *s;
  size_t pos;

  if (!name_valid(name) || strchr(labels, '\n') != NULL)
    return;

  pthread_mutex_lock(&g_reg_mu);
  if (init_locked() != 0)
    goto fail;

  f = family_find(name, &pos);
  if (f == NULL) {
    int hist = op == OP_OBSERVE;
    f = family_create(pos, name, auto_type[op], "",
                      hist ? g_default_buckets : NULL,
                      hist ? DEFAULT_NBUCKETS : 0);
    if (f == NULL)
      goto fail;
  }
  if (!op_fits(f->type, op))
    goto fail;

  pthread_mutex_lock(&st->mu);
  s = series_find(st, h, name, labels);  /* may have raced in */
  if (s == NULL)
    s = series_insert(st, f, h, labels);
  if (s != NULL)
    series_apply(s, op, v);
  pthread_mutex_unlock(&st->mu);

fail:
  pthread_mutex_unlock(&g_reg_mu);
}


static void metrics_update(const char *name, const char *labels,
                           enum metrics_op op, double v) {
  struct stripe *st;
  struct series *s;
  uint64_t h;

  if (name == NULL)
    return;
  if (labels == NULL)
    labels = "";

  h = metrics_hash(name, labels);
  st = &g_stripes[h & (NSTRIPES - 1)];

  pthread_mutex_lock(&st->mu);
  s = series_find(st, h, name, labels);
  if (s != NULL)
    series_apply(s, op, v);
  pthread_mutex_unlock(&st->mu);

  if (s == NULL)
    metrics_update_slow(st, h, name, labels, op, v);
}


void fh_metrics_add(const char *name, const char *labels, double v) {
  metrics_update(name, labels, OP_ADD, v);
}


void fh_metrics_set(const char *name, const char *labels, double v) {
  metrics_update(name, labels, OP_SET, v);
}


void fh_metrics_observe(const char *name, const char *labels, double v) {
  metrics_update(name, labels, OP_OBSERVE, v);
}


static int sample_cmp(const void *pa, const void *pb) {
  const fh__metric_sample *a = pa;
  const fh__metric_sample *b = pb;
  int c;

  if (a->fam != b->fam) {
    c = strcmp(a->fam->name, b->fam->name);
    if (c != 0)
      return c;
  }
  return strcmp(a->labels, b->labels);
}


int fh__metrics_snapshot(fh__metrics_visit_cb visit, void *arg) {
  fh__metric_sample *samples;
  uint64_t *arena;
  struct series *s;
  size_t nsamples;
  size_t narena;
  size_t i;
  size_t j;
  size_t k;
  int rc;

  samples = NULL;
  arena = NULL;
  nsamples = 0;
  narena = 0;
  rc = 0;

  pthread_mutex_lock(&g_reg_mu);

  /* Series set is frozen while g_reg_mu is held; size the snapshot. */
  for (i = 0; i < NSTRIPES; i++) {
    const struct stripe *st = &g_stripes[i];
    nsamples += st->count;
    for (j = 0; j < st->cap; j++)
      for (s = st->buckets[j]; s != NULL; s = s->next)
        if (s->counts != NULL)
          narena += (size_t) s->fam->nbuckets + 1;
  }
  if (nsamples > 0) {
    samples = malloc(nsamples * sizeof(*samples));
    if (samples == NULL) {
      rc = FH_ENOMEM;
      goto fail;
    }
  }
  if (narena > 0) {
    arena = malloc(narena * sizeof(*arena));
    if (arena == NULL) {
      rc = FH_ENOMEM;
      goto fail;
    }
  }

  /* Copy values, one stripe lock at a time. */
  k = 0;
  narena = 0;
  for (i = 0; i < NSTRIPES; i++) {
    struct stripe *st = &g_stripes[i];
    pthread_mutex_lock(&st->mu);
    for (j = 0; j < st->cap; j++) {
      for (s = st->buckets[j]; s != NULL; s = s->next) {
        samples[k].fam = s->fam;
        samples[k].labels = s->labels;
        samples[k].value = s->value;
        samples[k].counts = NULL;
        if (s->counts != NULL) {
          size_t n = (size_t) s->fam->nbuckets + 1;
          memcpy(arena + narena, s->counts, n * sizeof(*arena));
          samples[k].counts = arena + narena;
          narena += n;
        }
        k++;
      }
    }
    pthread_mutex_unlock(&st->mu);
  }
  if (nsamples > 1)
    qsort(samples, nsamples, sizeof(*samples), sample_cmp);

  rc = visit(arg, (const fh__metric_family *const *) g_fams, g_nfams, samples, nsamples);

fail:
  pthread_mutex_unlock(&g_reg_mu);
  free(samples);
  free(arena);
  return rc;
}


void fh_metrics_shutdown(void) {
  pthread_mutex_lock(&g_reg_mu);
  free_all_locked();
  pthread_mutex_unlock(&g_reg_mu);
}

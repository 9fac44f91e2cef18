/* metrics_snapshot.h: what the metrics registry (metrics.c) shows the
 * exposition (metrics_text.c), and nothing else includes.
 *
 * The registry keeps families and series and takes updates from every
 * thread; the exposition turns one consistent snapshot of them into text. */
#ifndef FH_METRICS_SNAPSHOT_H
#define FH_METRICS_SNAPSHOT_H

#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

/* A family (HELP/TYPE), owned by the registry. */
typedef struct fh__metric_family {
  fh_metric_type type;
  int nbuckets;     /* histogram upper bounds, +Inf excluded */
  double *bounds;   /* inside this allocation */
  char *name;       /* inside this allocation */
  char *help;       /* own allocation, never NULL */
} fh__metric_family;

/* One series as it was when the snapshot was taken. */
typedef struct {
  const fh__metric_family *fam;
  const char *labels;      /* preformatted, "" for none */
  double value;            /* counter/gauge value, histogram sum */
  const uint64_t *counts;  /* histogram only: per bucket, [nbuckets] is +Inf */
} fh__metric_sample;

/* Gets every family sorted by name (strcmp), and every series sorted by
 * family name then label text. All pointers are borrowed and valid only
 * during the call. Returns 0 or a negative FH_E*. */
typedef int (*fh__metrics_visit_cb)(void *arg, const fh__metric_family *const *fams,
                                    size_t nfams, const fh__metric_sample *samples,
                                    size_t nsamples);

/* Takes a snapshot of the registry and calls visit once with it, while
 * the registry's shape is locked (updates of values go on meanwhile).
 * Returns 0, FH_ENOMEM (visit not called) or what visit returned. */
int fh__metrics_snapshot(fh__metrics_visit_cb visit, void *arg);

#endif

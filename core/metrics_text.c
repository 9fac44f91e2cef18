/* metrics_text.c: the Prometheus text exposition (format 0.0.4) of the
 * metrics registry, and the escaping of label values for it.
 *
 * The registry (metrics.c) hands over one sorted snapshot; this file only
 * writes it out into an fh_buf. */
#define _POSIX_C_SOURCE 200809L

#include "metrics.h"

#include "buf.h"
#include "fh.h"
#include "metrics_snapshot.h"

#include <float.h>
#include <math.h>  /* INFINITY only: no libm needed */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FMT_NUMBER_MAX 32
#define RENDER_INIT_CAP 4096

size_t fh_metrics_escape(const char *value, char *out, size_t outsz) {
  size_t n;
  size_t i;
  int truncated;

  if (out == NULL || outsz == 0)
    return 0;
  if (value == NULL)
    value = "";

  n = 0;
  truncated = 0;
  for (; *value != '\0'; value++) {
    const char *rep = value;
    size_t rlen = 1;

    if (*value == '\\') {
      rep = "\\\\";
      rlen = 2;
    } else if (*value == '"') {
      rep = "\\\"";
      rlen = 2;
    } else if (*value == '\n') {
      rep = "\\n";
      rlen = 2;
    }
    if (n + rlen >= outsz) {
      truncated = 1;
      break;
    }
    memcpy(out + n, rep, rlen);
    n += rlen;
  }

  /* Do not leave a partial UTF-8 sequence at a truncation point. */
  if (truncated && n > 0) {
    unsigned char lead;
    size_t need;

    i = n;
    while (i > 0 && ((unsigned char) out[i - 1] & 0xC0) == 0x80)
      i--;
    if (i > 0 && (unsigned char) out[i - 1] >= 0xC0) {
      lead = (unsigned char) out[i - 1];
      need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (n - (i - 1) < need)
        n = i - 1;
    }
  }

  out[n] = '\0';
  return n;
}


/* HELP text escaping: backslash and newline. */
static void put_help(fh_buf *b, const char *s) {
  for (; *s != '\0'; s++) {
    if (*s == '\\')
      fh_buf_append(b, "\\\\", 2);
    else if (*s == '\n')
      fh_buf_append(b, "\\n", 2);
    else
      fh_buf_append(b, s, 1);
  }
}


/* Integers up to 2^53 in full, else the shortest round-tripping %g. */
static void put_double(fh_buf *b, double v) {
  char tmp[FMT_NUMBER_MAX];
  int prec;

  if (v != v) {
    fh_buf_puts(b, "NaN");
  } else if (v > DBL_MAX) {
    fh_buf_puts(b, "+Inf");
  } else if (v < -DBL_MAX) {
    fh_buf_puts(b, "-Inf");
  } else if (v >= -9007199254740992.0 && v <= 9007199254740992.0 &&
             (double) (long long) v == v) {
    snprintf(tmp, sizeof(tmp), "%lld", (long long) v);  /* also -0 -> 0 */
    fh_buf_puts(b, tmp);
  } else {
    for (prec = 15; prec < 17; prec++) {
      snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
      if (strtod(tmp, NULL) == v)
        break;
    }
    if (prec == 17)
      snprintf(tmp, sizeof(tmp), "%.17g", v);
    fh_buf_puts(b, tmp);
  }
}


static void put_u64(fh_buf *b, uint64_t v) {
  char tmp[FMT_NUMBER_MAX];

  snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long) v);
  fh_buf_puts(b, tmp);
}


/* name<suffix>{labels[,le="x"]} */
static void put_series_id(fh_buf *b, const char *name, const char *suffix,
                          const char *labels, const double *le) {
  fh_buf_puts(b, name);
  fh_buf_puts(b, suffix);
  if (*labels == '\0' && le == NULL)
    return;
  fh_buf_append(b, "{", 1);
  fh_buf_puts(b, labels);
  if (le != NULL) {
    if (*labels != '\0')
      fh_buf_append(b, ",", 1);
    fh_buf_puts(b, "le=\"");
    put_double(b, *le);
    fh_buf_append(b, "\"", 1);
  }
  fh_buf_append(b, "}", 1);
}


static void put_sample(fh_buf *b, const fh__metric_sample *sm) {
  static const double inf = INFINITY;
  const fh__metric_family *f = sm->fam;
  uint64_t cum;
  int i;

  if (f->type != FH_METRIC_HISTOGRAM) {
    put_series_id(b, f->name, "", sm->labels, NULL);
    fh_buf_append(b, " ", 1);
    put_double(b, sm->value);
    fh_buf_append(b, "\n", 1);
    return;
  }

  cum = 0;
  for (i = 0; i <= f->nbuckets; i++) {
    cum += sm->counts[i];
    put_series_id(b, f->name, "_bucket", sm->labels,
                  i < f->nbuckets ? &f->bounds[i] : &inf);
    fh_buf_append(b, " ", 1);
    put_u64(b, cum);
    fh_buf_append(b, "\n", 1);
  }
  put_series_id(b, f->name, "_sum", sm->labels, NULL);
  fh_buf_append(b, " ", 1);
  put_double(b, sm->value);
  fh_buf_append(b, "\n", 1);
  put_series_id(b, f->name, "_count", sm->labels, NULL);
  fh_buf_append(b, " ", 1);
  put_u64(b, cum);
  fh_buf_append(b, "\n", 1);
}


static const char *type_name(fh_metric_type t) {
  switch (t) {
  case FH_METRIC_COUNTER: return "counter";
  case FH_METRIC_GAUGE: return "gauge";
  case FH_METRIC_HISTOGRAM: return "histogram";
  }
  return "untyped";
}


/* Families and samples are both sorted by name: merge. */
static int write_text(void *arg, const fh__metric_family *const *fams, size_t nfams,
                      const fh__metric_sample *samples, size_t nsamples) {
  fh_buf *b = arg;
  size_t i;
  size_t k = 0;

  for (i = 0; i < nfams; i++) {
    const fh__metric_family *f = fams[i];
    if (f->help[0] != '\0') {
      fh_buf_puts(b, "# HELP ");
      fh_buf_puts(b, f->name);
      fh_buf_append(b, " ", 1);
      put_help(b, f->help);
      fh_buf_append(b, "\n", 1);
    }
    fh_buf_puts(b, "# TYPE ");
    fh_buf_puts(b, f->name);
    fh_buf_append(b, " ", 1);
    fh_buf_puts(b, type_name(f->type));
    fh_buf_append(b, "\n", 1);
    for (; k < nsamples && samples[k].fam == f; k++)
      put_sample(b, &samples[k]);
  }
  return b->failed ? FH_ENOMEM : 0;
}


int fh_metrics_render(char **out, size_t *len) {
  fh_buf b;
  int rc;

  *out = NULL;
  fh_buf_init(&b);
  fh_buf_reserve(&b, RENDER_INIT_CAP - 1);  /* room for a small host at once */
  fh_buf_append(&b, "", 0);                  /* terminated even when empty */
  rc = fh__metrics_snapshot(write_text, &b);
  if (rc != 0) {
    fh_buf_free(&b);
    return rc;
  }
  *out = fh_buf_take(&b, len);
  return *out != NULL ? 0 : FH_ENOMEM;
}

/* Process-wide Prometheus metrics registry (text exposition format 0.0.4):
 * core/metrics.c keeps families and series, core/metrics_text.c renders them.
 *
 * Return codes as in fh.h: 0 or a negative FH_E*, fh_strerror() for text.
 *
 * All functions are thread-safe, except that fh_metrics_shutdown() must not
 * run concurrently with any other fh_metrics_* call.
 *
 * labels: NULL or a preformatted label list without braces, e.g.
 *   route="/x",status="200"
 * with values escaped by fh_metrics_escape(). A series is created on first
 * use of a name+labels pair; afterwards updates do not allocate. Undeclared
 * names are auto-declared (add -> counter, set -> gauge, observe -> histogram
 * with the default buckets 0.005 .. 10) with an empty HELP. Updates that do not
 * match the family type, negative or NaN counter increments, invalid metric
 * names and labels containing a raw newline are ignored.
 */
#ifndef FH_METRICS_H
#define FH_METRICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  FH_METRIC_COUNTER,
  FH_METRIC_GAUGE,
  FH_METRIC_HISTOGRAM
} fh_metric_type;

/* Set up the registry (also done implicitly on first use); idempotent. Returns 0 or FH_ENOMEM. */
int fh_metrics_init(void);

/* Declare a family (HELP/TYPE); histogram bounds ascending and finite (+Inf implied, NULL/0 = defaults), copied; 0, FH_EINVAL (bad args, other type or buckets) or FH_ENOMEM. */
int fh_metrics_declare(const char *name, fh_metric_type type, const char *help,
                       const double *buckets, int nbuckets);

/* Declares the host's own families (core/metric_families.c). */
void fh_metric_families_declare(void);

/* Counter or gauge += v; the registry owns the series it may create. */
void fh_metrics_add(const char *name, const char *labels, double v);

/* Gauge = v; the registry owns the series it may create. */
void fh_metrics_set(const char *name, const char *labels, double v);

/* Record v in a histogram (le bounds are inclusive); the registry owns the series it may create. */
void fh_metrics_observe(const char *name, const char *labels, double v);

/* Escape backslash, double quote and newline of value into caller-owned out (outsz bytes, always NUL-terminated, truncated between sequences); returns the length written. */
size_t fh_metrics_escape(const char *value, char *out, size_t outsz);

/* Render all families sorted by name, series by label text, into *out: a
 * NUL-terminated malloc'd buffer the caller frees (*len = its length, len
 * may be NULL). Returns 0, or FH_ENOMEM with *out = NULL. */
int fh_metrics_render(char **out, size_t *len);

/* Free every family and series; fh_metrics_init() or any use starts a new, empty registry. */
void fh_metrics_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* FH_METRICS_H */

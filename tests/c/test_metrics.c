/* Standalone tests for core/metrics.c. Exit status 0 on success. */
#define _POSIX_C_SOURCE 200809L

#include "metrics.h"

#include "fh.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Compare the full render against want; print both on mismatch. */
#define CHECK_RENDER(want) check_render(__FILE__, __LINE__, (want))

/* The render as a string (caller frees), NULL when it failed. */
static char *render(size_t *len) {
  char *out = (char *) 1;
  int rc = fh_metrics_render(&out, len);

  CHECK((rc == 0) == (out != NULL));
  return rc == 0 ? out : NULL;
}

static void check_render(const char *file, int line, const char *want) {
  size_t len = (size_t) -1;
  char *got = NULL;
  int rc = fh_metrics_render(&got, &len);

  if (rc != 0 || got == NULL) {
    fprintf(stderr, "%s:%d: render failed: %s\n", file, line, fh_strerror(rc));
    failures++;
    return;
  }
  if (strcmp(got, want) != 0 || len != strlen(want)) {
    fprintf(stderr, "%s:%d: render mismatch\n--- want (%zu)\n%s--- got (%zu)\n%s---\n",
            file, line, strlen(want), want, len, got);
    failures++;
  }
  free(got);
}

static void reset(void) {
  fh_metrics_shutdown();
  CHECK(fh_metrics_init() == 0);
}

static void test_counter_labels(void) {
  reset();
  CHECK(fh_metrics_declare("http_requests_total", FH_METRIC_COUNTER,
                           "Total requests.", NULL, 0) == 0);
  fh_metrics_add("http_requests_total", "route=\"/x\",status=\"200\"", 1);
  fh_metrics_add("http_requests_total", "route=\"/x\",status=\"200\"", 1);
  fh_metrics_add("http_requests_total", "route=\"/a\",status=\"404\"", 1);
  fh_metrics_add("http_requests_total", "route=\"/x\",status=\"200\"", -5); /* ignored */
  fh_metrics_set("http_requests_total", "route=\"/x\",status=\"200\"", 99); /* ignored */
  fh_metrics_observe("http_requests_total", "route=\"/x\",status=\"200\"", 1); /* ignored */
  fh_metrics_add("http_requests_total", NULL, 0.5);
  CHECK_RENDER("# HELP http_requests_total Total requests.\n"
               "# TYPE http_requests_total counter\n"
               "http_requests_total 0.5\n"
               "http_requests_total{route=\"/a\",status=\"404\"} 1\n"
               "http_requests_total{route=\"/x\",status=\"200\"} 2\n");
}

static void test_gauge(void) {
  reset();
  CHECK(fh_metrics_declare("inflight", FH_METRIC_GAUGE, "In flight.\nline2 \\", NULL, 0) == 0);
  fh_metrics_set("inflight", NULL, 5);
  fh_metrics_add("inflight", NULL, 2.5);
  fh_metrics_add("inflight", "w=\"1\"", -3);
  fh_metrics_add("inflight", "w=\"1\"", 1);
  /* Auto-declared gauge (no HELP) and number formatting. */
  fh_metrics_set("num", "k=\"a\"", 0.1);
  fh_metrics_set("num", "k=\"b\"", 1e20);
  fh_metrics_set("num", "k=\"c\"", 9007199254740992.0);
  fh_metrics_set("num", "k=\"d\"", INFINITY);
  fh_metrics_set("num", "k=\"e\"", -INFINITY);
  fh_metrics_set("num", "k=\"f\"", -0.0);
  fh_metrics_set("num", "k=\"g\"", 1.0 / 3.0);
  fh_metrics_set("num", "k=\"h\"", -42);
  fh_metrics_set("num", "k=\"i\"", 1e-7);
  CHECK_RENDER("# HELP inflight In flight.\\nline2 \\\\\n"
               "# TYPE inflight gauge\n"
               "inflight 7.5\n"
               "inflight{w=\"1\"} -2\n"
               "# TYPE num gauge\n"
               "num{k=\"a\"} 0.1\n"
               "num{k=\"b\"} 1e+20\n"
               "num{k=\"c\"} 9007199254740992\n"
               "num{k=\"d\"} +Inf\n"
               "num{k=\"e\"} -Inf\n"
               "num{k=\"f\"} 0\n"
               "num{k=\"g\"} 0.3333333333333333\n"
               "num{k=\"h\"} -42\n"
               "num{k=\"i\"} 1e-07\n");
  fh_metrics_set("inflight", NULL, 1);
  fh_metrics_set("inflight", "w=\"1\"", 0);
  CHECK_RENDER("# HELP inflight In flight.\\nline2 \\\\\n"
               "# TYPE inflight gauge\n"
               "inflight 1\n"
               "inflight{w=\"1\"} 0\n"
               "# TYPE num gauge\n"
               "num{k=\"a\"} 0.1\n"
               "num{k=\"b\"} 1e+20\n"
               "num{k=\"c\"} 9007199254740992\n"
               "num{k=\"d\"} +Inf\n"
               "num{k=\"e\"} -Inf\n"
               "num{k=\"f\"} 0\n"
               "num{k=\"g\"} 0.3333333333333333\n"
               "num{k=\"h\"} -42\n"
               "num{k=\"i\"} 1e-07\n");
}

static void test_histogram(void) {
  static const double b[] = { 0.25, 0.5, 1 };

  reset();
  CHECK(fh_metrics_declare("lat_seconds", FH_METRIC_HISTOGRAM, "Latency.", b, 3) == 0);
  fh_metrics_observe("lat_seconds", "route=\"/x\"", 0.125);
  fh_metrics_observe("lat_seconds", "route=\"/x\"", 0.25);  /* le is inclusive */
  fh_metrics_observe("lat_seconds", "route=\"/x\"", 0.375);
  fh_metrics_observe("lat_seconds", "route=\"/x\"", 3);
  fh_metrics_add("lat_seconds", "route=\"/x\"", 1);  /* ignored */
  /* Auto-declared histogram gets the default buckets. */
  fh_metrics_observe("auto_seconds", NULL, 0.007);
  fh_metrics_observe("auto_seconds", NULL, 20);
  CHECK_RENDER("# TYPE auto_seconds histogram\n"
               "auto_seconds_bucket{le=\"0.005\"} 0\n"
               "auto_seconds_bucket{le=\"0.01\"} 1\n"
               "auto_seconds_bucket{le=\"0.025\"} 1\n"
               "auto_seconds_bucket{le=\"0.05\"} 1\n"
               "auto_seconds_bucket{le=\"0.1\"} 1\n"
               "auto_seconds_bucket{le=\"0.25\"} 1\n"
               "auto_seconds_bucket{le=\"0.5\"} 1\n"
               "auto_seconds_bucket{le=\"1\"} 1\n"
               "auto_seconds_bucket{le=\"2.5\"} 1\n"
               "auto_seconds_bucket{le=\"5\"} 1\n"
               "auto_seconds_bucket{le=\"10\"} 1\n"
               "auto_seconds_bucket{le=\"+Inf\"} 2\n"
               "auto_seconds_sum 20.007\n"
               "auto_seconds_count 2\n"
               "# HELP lat_seconds Latency.\n"
               "# TYPE lat_seconds histogram\n"
               "lat_seconds_bucket{route=\"/x\",le=\"0.25\"} 2\n"
               "lat_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
               "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
               "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
               "lat_seconds_sum{route=\"/x\"} 3.75\n"
               "lat_seconds_count{route=\"/x\"} 4\n");
}

static void test_declare_errors(void) {
  static const double good[] = { 1, 2 };
  static const double unsorted[] = { 2, 1 };
  static const double dup[] = { 1, 1 };
  static const double other[] = { 1, 3 };
  double bad[2];
  int rc;

  reset();
  CHECK(fh_metrics_declare("c_total", FH_METRIC_COUNTER, "c", NULL, 0) == 0);
  CHECK(fh_metrics_declare("c_total", FH_METRIC_COUNTER, "c2", NULL, 0) == 0);
  rc = fh_metrics_declare("c_total", FH_METRIC_GAUGE, "c", NULL, 0);
  CHECK(rc == FH_EINVAL && strcmp(fh_strerror(rc), "invalid argument") == 0);
  CHECK(fh_metrics_declare("c_total", FH_METRIC_HISTOGRAM, "c", NULL, 0) == FH_EINVAL);
  CHECK(fh_metrics_declare("x", FH_METRIC_COUNTER, "x", good, 2) == FH_EINVAL);
  CHECK(fh_metrics_declare("1abc", FH_METRIC_COUNTER, "x", NULL, 0) == FH_EINVAL);
  CHECK(fh_metrics_declare("a-b", FH_METRIC_COUNTER, "x", NULL, 0) == FH_EINVAL);
  CHECK(fh_metrics_declare("", FH_METRIC_COUNTER, "x", NULL, 0) == FH_EINVAL);
  CHECK(fh_metrics_declare(NULL, FH_METRIC_COUNTER, "x", NULL, 0) == FH_EINVAL);
  CHECK(fh_metrics_declare("x", (fh_metric_type) 7, "x", NULL, 0) == FH_EINVAL);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", unsorted, 2) == FH_EINVAL);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", dup, 2) == FH_EINVAL);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", NULL, 2) == FH_EINVAL);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", good, -1) == FH_EINVAL);
  bad[0] = 1;
  bad[1] = INFINITY;
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", bad, 2) == FH_EINVAL);
  bad[1] = NAN;
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", bad, 2) == FH_EINVAL);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", good, 2) == 0);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", good, 2) == 0);
  CHECK(fh_metrics_declare("h", FH_METRIC_HISTOGRAM, "h", other, 2) == FH_EINVAL);
  /* Invalid names and raw newlines in labels are dropped on use. */
  fh_metrics_add("bad name", NULL, 1);
  fh_metrics_add("ok_total", "a=\"x\ny\"", 1);
  fh_metrics_add(NULL, NULL, 1);
  CHECK_RENDER("# HELP c_total c2\n"
               "# TYPE c_total counter\n"
               "# HELP h h\n"
               "# TYPE h histogram\n");
}

static void test_escape(void) {
  char out[64];
  char one[1];
  size_t n;

  n = fh_metrics_escape("a\"b\\c\n", out, sizeof(out));
  CHECK(n == 9);
  CHECK(strcmp(out, "a\\\"b\\\\c\\n") == 0);

  n = fh_metrics_escape("plain", out, sizeof(out));
  CHECK(n == 5 && strcmp(out, "plain") == 0);
  n = fh_metrics_escape(NULL, out, sizeof(out));
  CHECK(n == 0 && out[0] == '\0');

  /* Truncation never splits an escape sequence or a UTF-8 character. */
  n = fh_metrics_escape("a\"b", out, 3);
  CHECK(n == 1 && strcmp(out, "a") == 0);
  n = fh_metrics_escape("a\"b", out, 4);
  CHECK(n == 3 && strcmp(out, "a\\\"") == 0);
  n = fh_metrics_escape("abcdef", out, 4);
  CHECK(n == 3 && strcmp(out, "abc") == 0);
  n = fh_metrics_escape("a\xc3\xa9", out, 3);
  CHECK(n == 1 && strcmp(out, "a") == 0);
  n = fh_metrics_escape("a\xc3\xa9", out, 4);
  CHECK(n == 3 && strcmp(out, "a\xc3\xa9") == 0);
  one[0] = 'x';
  n = fh_metrics_escape("abc", one, 1);
  CHECK(n == 0 && one[0] == '\0');
  CHECK(fh_metrics_escape("abc", NULL, 0) == 0);

  /* Escaped values work as labels. */
  reset();
  fh_metrics_escape("a\"b\\c\n", out, sizeof(out));
  {
    char labels[128];
    snprintf(labels, sizeof(labels), "v=\"%s\"", out);
    fh_metrics_add("esc_total", labels, 1);
  }
  CHECK_RENDER("# TYPE esc_total counter\n"
               "esc_total{v=\"a\\\"b\\\\c\\n\"} 1\n");
}

static void test_sorted(void) {
  static const char *names[] = { "zeta", "mid", "alpha", "mid_total", "Alpha" };
  static const char *labels[] = { "k=\"3\"", "k=\"1\"", "", "k=\"2\"", "a=\"z\"" };
  char *first;
  char *again;
  size_t i;
  size_t j;
  size_t len1;
  size_t len2;

  reset();
  /* Insert in scrambled order; many series so they spread over stripes. */
  for (i = 0; i < 25; i++) {
    j = (i * 7) % 25;  /* permutation of all name x labels pairs */
    fh_metrics_add(names[j / 5], labels[j % 5], 1);
  }
  for (i = 0; i < 200; i++) {
    char l[32];
    snprintf(l, sizeof(l), "n=\"%03zu\"", (i * 7919) % 200);
    fh_metrics_set("many", l, (double) i);
  }

  first = render(&len1);
  again = render(&len2);
  CHECK(first != NULL && again != NULL);
  if (first == NULL || again == NULL)
    goto done;
  CHECK(len1 == len2 && strcmp(first, again) == 0);

  /* Family order: Alpha < alpha < many < mid < mid_total < zeta (strcmp). */
  {
    const char *p1 = strstr(first, "# TYPE Alpha ");
    const char *p2 = strstr(first, "# TYPE alpha ");
    const char *p3 = strstr(first, "# TYPE many ");
    const char *p4 = strstr(first, "# TYPE mid ");
    const char *p5 = strstr(first, "# TYPE mid_total ");
    const char *p6 = strstr(first, "# TYPE zeta ");
    CHECK(p1 && p2 && p3 && p4 && p5 && p6);
    CHECK(p1 < p2 && p2 < p3 && p3 < p4 && p4 < p5 && p5 < p6);
  }
  /* Series of one family in label order. */
  {
    const char *prev = strstr(first, "# TYPE many ");
    for (i = 0; i < 200 && prev != NULL; i++) {
      char want[64];
      const char *p;
      snprintf(want, sizeof(want), "\nmany{n=\"%03zu\"} ", i);
      p = strstr(first, want);
      CHECK(p != NULL && p > prev);
      prev = p;
    }
  }
  {
    const char *a = strstr(first, "\nzeta ");
    const char *b = strstr(first, "\nzeta{a=\"z\"} ");
    const char *c = strstr(first, "\nzeta{k=\"1\"} ");
    const char *d = strstr(first, "\nzeta{k=\"3\"} ");
    CHECK(a && b && c && d && a < b && b < c && c < d);
  }

done:
  free(first);
  free(again);
}

#define NTHREADS 4
#define NITER 100000

struct worker {
  pthread_t tid;
  int id;
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  char mine[32];
  int i;

  snprintf(mine, sizeof(mine), "thread=\"%d\"", w->id);
  for (i = 0; i < NITER; i++) {
    fh_metrics_add("mt_total", "route=\"/shared\"", 1);
    fh_metrics_add("mt_total", mine, 1);
    fh_metrics_observe("mt_seconds", NULL, (i & 1) ? 0.5 : 2);
    fh_metrics_add("mt_gauge", NULL, (i & 1) ? 1 : -1);
  }
  return NULL;
}

static void test_threads(void) {
  static const double b[] = { 1 };
  struct worker w[NTHREADS];
  char want[256];
  char *out;
  int i;
  int renders;

  reset();
  CHECK(fh_metrics_declare("mt_seconds", FH_METRIC_HISTOGRAM, NULL, b, 1) == 0);
  CHECK(fh_metrics_declare("mt_gauge", FH_METRIC_GAUGE, NULL, NULL, 0) == 0);
  for (i = 0; i < NTHREADS; i++) {
    w[i].id = i;
    CHECK(pthread_create(&w[i].tid, NULL, worker_main, &w[i]) == 0);
  }
  /* Render concurrently with the writers. */
  for (renders = 0; renders < 20; renders++) {
    out = render(NULL);
    CHECK(out != NULL);
    free(out);
  }
  for (i = 0; i < NTHREADS; i++)
    CHECK(pthread_join(w[i].tid, NULL) == 0);

  out = render(NULL);
  CHECK(out != NULL);
  if (out == NULL)
    return;
  snprintf(want, sizeof(want), "mt_total{route=\"/shared\"} %d\n", NTHREADS * NITER);
  CHECK(strstr(out, want) != NULL);
  for (i = 0; i < NTHREADS; i++) {
    snprintf(want, sizeof(want), "mt_total{thread=\"%d\"} %d\n", i, NITER);
    CHECK(strstr(out, want) != NULL);
  }
  snprintf(want, sizeof(want),
           "mt_seconds_bucket{le=\"1\"} %d\n"
           "mt_seconds_bucket{le=\"+Inf\"} %d\n"
           "mt_seconds_sum %d\n"
           "mt_seconds_count %d\n",
           NTHREADS * NITER / 2, NTHREADS * NITER,
           NTHREADS * NITER / 2 * 2 + NTHREADS * NITER / 4,
           NTHREADS * NITER);
  CHECK(strstr(out, want) != NULL);
  CHECK(strstr(out, "\nmt_gauge 0\n") != NULL);
  free(out);
}

static void test_shutdown_reinit(void) {
  size_t len = 123;
  char *out;

  reset();
  fh_metrics_add("before_total", NULL, 1);
  fh_metrics_shutdown();
  fh_metrics_shutdown();  /* harmless twice */

  out = render(&len);
  CHECK(out != NULL && len == 0 && out[0] == '\0');
  free(out);

  CHECK(fh_metrics_init() == 0);
  CHECK(fh_metrics_init() == 0);  /* idempotent */
  CHECK_RENDER("");
  /* Old name is gone, so it may come back with another type. */
  CHECK(fh_metrics_declare("before_total", FH_METRIC_GAUGE, "g", NULL, 0) == 0);
  fh_metrics_set("before_total", NULL, 3);
  CHECK_RENDER("# HELP before_total g\n"
               "# TYPE before_total gauge\n"
               "before_total 3\n");

  /* Use without an explicit init also works. */
  fh_metrics_shutdown();
  fh_metrics_add("lazy_total", NULL, 2);
  CHECK_RENDER("# TYPE lazy_total counter\n"
               "lazy_total 2\n");
  fh_metrics_shutdown();
}

int main(void) {
  test_counter_labels();
  test_gauge();
  test_histogram();
  test_declare_errors();
  test_escape();
  test_sorted();
  test_threads();
  test_shutdown_reinit();

  if (failures != 0) {
    fprintf(stderr, "test_metrics: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_metrics: ok\n");
  return 0;
}

/* log.c: JSON-lines logging to stderr. */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static fh_log_level min_level = FH_LOG_INFO;
static int log_fd = STDERR_FILENO;

void fh_log_set_fd(int fd) { log_fd = fd; }
static const char *names[] = {"debug", "info", "warn", "error"};

int fh_log_set_level_name(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) { min_level = (fh_log_level)i; return 0; }
  return -1;
}

int fh_log_enabled(fh_log_level level) { return level >= min_level; }

const char *fh_log_level_name(fh_log_level level) { return names[level]; }

void fh_log_begin(fh_buf *b, fh_log_level level, const char *msg) {
  struct timespec ts;
  struct tm tm;
  char stamp[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  fh_buf_init(b);
  fh_buf_printf(b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":", stamp,
                ts.tv_nsec / 1000000, names[level]);
  fh_buf_json_string(b, msg, strlen(msg));
}

void fh_log_field(fh_buf *b, const char *key, const char *value) {
  if (!value) return;
  fh_buf_append(b, ",", 1);
  fh_buf_json_string(b, key, strlen(key));
  fh_buf_append(b, ":", 1);
  fh_buf_json_string(b, value, strlen(value));
}

void fh_log_end(fh_buf *b) {
  fh_buf_append(b, "}\n", 2);
  if (!b->failed) {
    const char *p = b->data;
    size_t left = b->len;
    while (left > 0) {
      ssize_t n = write(log_fd, p, left);
      if (n <= 0) break;
      p += n;
      left -= (size_t)n;
    }
  }
  fh_buf_free(b);
}

void fh_log(fh_log_level level, const char *msg, ...) {
  if (!fh_log_enabled(level)) return;
  fh_buf b;
  fh_log_begin(&b, level, msg);
  va_list ap;
  va_start(ap, msg);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k) break;
    const char *v = va_arg(ap, const char *);
    fh_log_field(&b, k, v);
  }
  va_end(ap);
  fh_log_end(&b);
}

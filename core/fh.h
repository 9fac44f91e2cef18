/* fh.h: definitions shared by every part of the host core.
 *
 * Return codes follow libuv: 0 is success, a negative FH_E* is a failure,
 * fh_strerror() gives its text. Results travel through out-parameters. */
#ifndef FH_H
#define FH_H

#include <stddef.h>
#include <stdint.h>

#define FH_VERSION "0.1.0"

#define FH_ERRNO_MAP(X)                                    \
  X(NOMEM, "out of memory")                                \
  X(INVAL, "invalid argument")                             \
  X(IO, "i/o error")                                       \
  X(CONFIG, "bad configuration")                           \
  X(UNAVAIL, "redis unavailable")                          \
  X(TIMEOUT, "timeout")                                    \
  X(CLOSED, "closed")                                      \
  X(TOOBIG, "too large")                                   \
  X(LUA, "lua error")                                      \
  X(BUSY, "busy")

enum {
  FH_OK = 0,
#define X(name, text) FH_E##name,
  FH__EFIRST = -100,
  FH_ERRNO_MAP(X)
#undef X
};

/* Copies src into dst (size n > 0), cut to fit and always terminated: the
 * request path's replacement for snprintf(dst, n, "%s", src). */
static inline void fh_copy(char *dst, size_t n, const char *src) {
  size_t i = 0;
  for (; i + 1 < n && src[i]; i++) dst[i] = src[i];
  dst[i] = '\0';
}

/* Writes v in decimal into out (at least 21 bytes); returns the length. */
static inline size_t fh_itoa(long long v, char *out) {
  char tmp[24];
  size_t n = 0, len = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0) out[len++] = '-';
  while (n) out[len++] = tmp[--n];
  out[len] = '\0';
  return len;
}

/* Text of a return code; never NULL, static storage. */
const char *fh_strerror(int rc);

/* Monotonic clock in seconds. */
double fh_monotonic(void);

/* Wall clock (UTC, Unix epoch) in seconds with sub-second precision. */
double fh_now(void);

/* Hot reload requests (SIGHUP, POST /admin/reload): a process-wide counter
 * every worker's reload task watches. */
void fh_request_reload(void);
long fh_reload_generation(void);

#endif

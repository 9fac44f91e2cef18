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

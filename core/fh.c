/* fh.c: return-code texts and clocks. */
#define _POSIX_C_SOURCE 200809L
#include "fh.h"

#include <time.h>

const char *fh_strerror(int rc) {
  switch (rc) {
  case FH_OK: return "ok";
#define X(name, text) case FH_E##name: return text;
    FH_ERRNO_MAP(X)
#undef X
  default: return "unknown error";
  }
}

double fh_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double fh_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Atomic long reload_generation;

void fh_request_reload(void) { reload_generation++; }
long fh_reload_generation(void) { return reload_generation; }

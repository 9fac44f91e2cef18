/* quarantine.c: the tenants in quarantine (see quarantine.h): a small
 * table under one mutex. A tenant id is at most 64 bytes (flow.tenant.ID);
 * a longer one is never in quarantine. Slots of ended quarantines are
 * reused, so the table holds only tenants that broke a budget lately. */
#include "quarantine.h"

#include "fh.h"

#include <pthread.h>
#include <string.h>

#define QUARANTINE_MAX 1024
#define ID_MAX 64

typedef struct {
  char id[ID_MAX + 1];
  double until;
} slot;

static slot slots[QUARANTINE_MAX];
static int used;                    /* slots[0..used) have been handed out */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* the slot of id, or NULL (mu held) */
static slot *find(const char *id) {
  for (int i = 0; i < used; i++)
    if (strcmp(slots[i].id, id) == 0) return &slots[i];
  return NULL;
}

int fh_quarantine_set(const char *id, double until) {
  if (strlen(id) > ID_MAX) return FH_EINVAL;
  pthread_mutex_lock(&mu);
  slot *s = find(id);
  if (!s && until > 0) {
    double now = fh_monotonic();
    for (int i = 0; i < used && !s; i++)
      if (slots[i].until <= now) s = &slots[i];
    if (!s && used < QUARANTINE_MAX) s = &slots[used++];
    if (s) fh_copy(s->id, sizeof(s->id), id);
  }
  if (s) s->until = until;
  pthread_mutex_unlock(&mu);
  return s || until <= 0 ? 0 : FH_ENOMEM;
}

double fh_quarantine_until(const char *id) {
  double until = 0;
  pthread_mutex_lock(&mu);
  slot *s = find(id);
  if (s && s->until > fh_monotonic()) until = s->until;
  pthread_mutex_unlock(&mu);
  return until;
}

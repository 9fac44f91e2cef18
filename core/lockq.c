/* lockq.c: process-wide waiter queues for named locks (see lockq.h). */
#define _POSIX_C_SOURCE 200809L
#include "lockq.h"

#include "task.h"
#include "worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct waiter {
  fh_worker *w;
  uint64_t task;
  int signaled;
  struct waiter *next;
} waiter;

typedef struct entry {
  char *key;
  waiter *head, *tail;
  struct entry *next;
} entry;

enum { NBUCKETS = 1024 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *buckets[NBUCKETS];
static int nkeys;

static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h % NBUCKETS;
}

static entry **slot_of(const char *key) {
  entry **e = &buckets[hash(key)];
  while (*e && strcmp((*e)->key, key) != 0) e = &(*e)->next;
  return e;
}

static waiter *find(entry *e, fh_worker *w, uint64_t task) {
  for (waiter *x = e ? e->head : NULL; x; x = x->next)
    if (x->w == w && x->task == task) return x;
  return NULL;
}

/* Task ids travel to the waiter's worker as the posted call's argument. */
_Static_assert(sizeof(void *) >= sizeof(uint64_t), "a task id fits in a pointer");

/* On the waiter's worker: wake its task if it is parked in lockq.wait. */
static void on_signal(fh_worker *w, void *task) {
  fh_task_wake(fh_worker_sched(w), (uint64_t)(uintptr_t)task);
}

/* Under mu: wakes head's task on its worker. If the post fails (its worker
 * is stopping, or no memory) the flag still stands and the waiter's own
 * timeout finds it. */
static void signal_head(entry *e) {
  if (!e || !e->head) return;
  e->head->signaled = 1;
  fh_worker_post(e->head->w, on_signal, (void *)(uintptr_t)e->head->task);
}

static void on_worker_gone(fh_worker *w, void *arg) {
  (void)arg;
  fh_lockq_forget(w);
}

int fh_lockq_enter(const char *key, fh_worker *w, uint64_t task) {
  if (fh_worker_on_destroy(w, on_worker_gone, NULL)) return 0;
  waiter *x = calloc(1, sizeof(*x));
  if (!x) return 0;
  x->w = w;
  x->task = task;
  pthread_mutex_lock(&mu);
  entry **slot = slot_of(key);
  entry *e = *slot;
  if (!e) {
    e = calloc(1, sizeof(*e));
    if (e) e->key = strdup(key);
    if (!e || !e->key) {
      pthread_mutex_unlock(&mu);
      if (e) free(e);
      free(x);
      return 0;
    }
    *slot = e;
    nkeys++;
  }
  if (e->tail) e->tail->next = x; else e->head = x;
  e->tail = x;
  int head = e->head == x;
  pthread_mutex_unlock(&mu);
  return head;
}

int fh_lockq_is_head(const char *key, fh_worker *w, uint64_t task) {
  pthread_mutex_lock(&mu);
  entry *e = *slot_of(key);
  int head = e && e->head && e->head->w == w && e->head->task == task;
  if (head) e->head->signaled = 0; /* it is about to try anyway */
  pthread_mutex_unlock(&mu);
  return head;
}

int fh_lockq_take_signal(const char *key, fh_worker *w, uint64_t task) {
  pthread_mutex_lock(&mu);
  waiter *x = find(*slot_of(key), w, task);
  int sig = x && x->signaled;
  if (x) x->signaled = 0;
  pthread_mutex_unlock(&mu);
  return sig;
}

void fh_lockq_leave(const char *key, fh_worker *w, uint64_t task, int signal_next) {
  pthread_mutex_lock(&mu);
  entry **slot = slot_of(key);
  entry *e = *slot;
  waiter *prev = NULL, *x = e ? e->head : NULL;
  while (x && !(x->w == w && x->task == task)) { prev = x; x = x->next; }
  if (x) {
    int was_head = prev == NULL;
    if (prev) prev->next = x->next; else e->head = x->next;
    if (e->tail == x) e->tail = prev;
    free(x);
    if (!e->head) {
      *slot = e->next;
      free(e->key);
      free(e);
      nkeys--;
    } else if (was_head && signal_next) {
      signal_head(e);
    }
  }
  pthread_mutex_unlock(&mu);
}

void fh_lockq_signal(const char *key) {
  pthread_mutex_lock(&mu);
  signal_head(*slot_of(key));
  pthread_mutex_unlock(&mu);
}

void fh_lockq_forget(fh_worker *w) {
  pthread_mutex_lock(&mu);
  for (int b = 0; b < NBUCKETS; b++) {
    entry **slot = &buckets[b];
    while (*slot) {
      entry *e = *slot;
      waiter **x = &e->head;
      int head_gone = 0;
      while (*x) {
        if ((*x)->w == w) {
          waiter *dead = *x;
          if (dead == e->head) head_gone = 1;
          *x = dead->next;
          free(dead);
        } else {
          x = &(*x)->next;
        }
      }
      e->tail = NULL;
      for (waiter *t = e->head; t; t = t->next) e->tail = t;
      if (!e->head) {
        *slot = e->next;
        free(e->key);
        free(e);
        nkeys--;
        continue;
      }
      if (head_gone) signal_head(e);
      slot = &e->next;
    }
  }
  pthread_mutex_unlock(&mu);
}

int fh_lockq_keys(void) {
  pthread_mutex_lock(&mu);
  int n = nkeys;
  pthread_mutex_unlock(&mu);
  return n;
}

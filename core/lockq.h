/* lockq.h: process-wide FIFO queues of tasks waiting for a named lock.
 *
 * The lock itself lives in Redis (scripts/lock.lua); these queues only
 * order the waiters of this process across all workers, so that a release
 * on one worker hands the lock to the next waiter on any worker at once,
 * instead of every waiter polling Redis. Thread-safe. A signalled waiter's
 * task is woken on its own worker (fh_worker_post, then fh_task_wake). */
#ifndef FH_LOCKQ_H
#define FH_LOCKQ_H

#include <stdint.h>

typedef struct fh_worker fh_worker;

/* Appends (w, task) to key's queue; returns 1 when it is first in line, 0
 * when not (or out of memory). On w's own thread: the first call for w
 * also has w forget its waiters when it is destroyed (fh_lockq_forget). */
int fh_lockq_enter(const char *key, fh_worker *w, uint64_t task);

/* 1 when (w, task) is first in key's queue; then clears its pending
 * signal (the caller is about to try the lock anyway). */
int fh_lockq_is_head(const char *key, fh_worker *w, uint64_t task);

/* Returns 1 and clears the flag when (w, task) was signalled since it last
 * looked; 0 otherwise. */
int fh_lockq_take_signal(const char *key, fh_worker *w, uint64_t task);

/* Removes (w, task) from key's queue. When it was first in line and
 * signal_next is set, the new first waiter is signalled. */
void fh_lockq_leave(const char *key, fh_worker *w, uint64_t task, int signal_next);

/* Signals the first waiter of key (the lock was released): its flag is set
 * and its task woken on its own worker. */
void fh_lockq_signal(const char *key);

/* Removes every waiter of worker w (its loop has stopped for good), handing
 * keys it was first in line for to the next waiter. Runs by itself when a
 * worker that entered a queue is destroyed. */
void fh_lockq_forget(fh_worker *w);

/* Number of keys with waiters (for tests and metrics). */
int fh_lockq_keys(void);

#endif

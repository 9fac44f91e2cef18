/* worker.h: a thread with one event loop, one Lua state, one Redis
 * connection and one HTTP client; it runs requests and timers as tasks.
 *
 * The worker knows nothing of who feeds or calls it: the HTTP server
 * attaches itself as a request source, other threads run code on the loop
 * through fh_worker_post (cross-worker calls, lock hand-overs), and
 * process-wide tables that name a worker hear of its end through
 * fh_worker_on_destroy. */
#ifndef FH_WORKER_H
#define FH_WORKER_H

#include "config.h"
#include "http_client.h"
#include "redis.h"
#include "request.h"
#include "task.h"

#include <lua.h>
#include <uv.h>

typedef struct fh_worker fh_worker;

/* Builds the worker (loop, Lua state, connections) and runs the boot
 * script in mode ("serve", "quarantine" or "test"); does not start a
 * thread. A "quarantine" worker serves no connections and its thread runs
 * at nice 19 (quarantine.h). On failure
 * writes the problem into err. cfg is borrowed and must outlive the worker. */
int fh_worker_create(fh_worker **out, int index, const fh_config *cfg,
                     const char *mode, char *err, size_t errsz);

/* Runs the loop on a new thread. */
int fh_worker_start(fh_worker *w);

/* Runs the loop on the calling thread until fh_worker_exit(); returns the
 * exit code given to it. */
int fh_worker_run(fh_worker *w);

/* Where requests come from: something whose fd the loop polls (the HTTP
 * server's daemon for this worker). run does one round of its work (it
 * hands complete requests to fh_worker_submit) and returns 1 when it has
 * more ready and must run again without waiting for fd; quiesce makes it
 * stop taking new connections. Both run on the worker's thread, with the
 * arg given to fh_worker_attach_source. */
typedef struct {
  int (*run)(void *arg);
  void (*quiesce)(void *arg);
} fh_worker_source;

/* Makes the worker drive src: on fd's readiness, once a second (idle
 * timeouts), and soon after each answer. src and arg are borrowed and must
 * outlive the worker. Call before fh_worker_start. */
void fh_worker_attach_source(fh_worker *w, const fh_worker_source *src, void *arg, int fd);

/* Queues a request parsed by the worker's source; it starts once the
 * source's run returns. The source owns req; the worker answers it with
 * fh_server_respond. Worker thread only. */
void fh_worker_submit(fh_worker *w, fh_request *req);

/* Runs fn(w, arg) on w's loop thread; callable from any thread, w's own
 * included, and never runs fn inside this call. Calls wait in one queue
 * (guarded by a mutex, in the order posted) and one uv_async wakes the
 * loop, which runs all calls queued by then on its next turn.
 * Returns 0, and fn then owns arg (frees it or passes it on). Fails with
 * FH_ECLOSED once fh_worker_exit was called (calls queued before it still
 * run before the loop stops), or FH_ENOMEM; then fn is never called and arg
 * stays the caller's. Calls still queued when a worker whose loop never
 * ran is destroyed are dropped without calling fn. */
typedef void (*fh_worker_cb)(fh_worker *w, void *arg);
int fh_worker_post(fh_worker *w, fh_worker_cb fn, void *arg);

/* Calls fn(w, arg) when w is destroyed: after its loop has stopped for
 * good, before it is freed, on the thread calling fh_worker_destroy. For
 * process-wide tables that name w (lockq.c). The same fn and arg added
 * again is one hook. On w's own thread, or before it starts. Returns 0, or
 * FH_ENOMEM when w holds too many hooks (8). */
int fh_worker_on_destroy(fh_worker *w, fh_worker_cb fn, void *arg);

/* Stops accepting new connections (any thread); in-flight requests go on. */
void fh_worker_quiesce(fh_worker *w);

/* Stops the loop (any thread) with an exit code. */
void fh_worker_exit(fh_worker *w, int code);

/* Joins the thread started by fh_worker_start and frees everything. */
void fh_worker_destroy(fh_worker *w);

/* The worker that owns L (any coroutine of its state). */
fh_worker *fh_worker_of(lua_State *L);

/* Makes another main state (a tenant's) run on w: its bindings find w and
 * its tasks run on w's scheduler. */
void fh_worker_adopt_state(fh_worker *w, lua_State *L);

/* The worker's main Lua state (its own thread only). */
lua_State *fh_worker_main_state(fh_worker *w);
uv_loop_t *fh_worker_loop(fh_worker *w);
fh_redis *fh_worker_redis(fh_worker *w);
fh_http_client *fh_worker_http(fh_worker *w);
fh_sched *fh_worker_sched(fh_worker *w);
const fh_config *fh_worker_config(fh_worker *w);
int fh_worker_index(fh_worker *w);
int fh_worker_is_quarantine(fh_worker *w);
/* Tasks alive on this worker (requests, timers, background jobs). */
int fh_worker_inflight(fh_worker *w);

#endif

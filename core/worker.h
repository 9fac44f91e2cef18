/* worker.h: a thread with one event loop, one Lua state, one Redis
 * connection and one HTTP client; it runs requests and timers as tasks. */
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
 * script in mode ("serve" or "test"); does not start a thread. On failure
 * writes the problem into err. cfg is borrowed and must outlive the worker. */
int fh_worker_create(fh_worker **out, int index, const fh_config *cfg,
                     const char *mode, char *err, size_t errsz);

/* Runs the loop on a new thread. */
int fh_worker_start(fh_worker *w);

/* Runs the loop on the calling thread until fh_worker_exit(); returns the
 * exit code given to it. */
int fh_worker_run(fh_worker *w);

typedef struct fh_server fh_server;

/* Makes the worker drive HTTP server slot's daemon, whose epoll fd is fd.
 * Call before fh_worker_start. */
void fh_worker_attach_server(fh_worker *w, fh_server *s, int slot, int fd);

/* Queues a request parsed by the worker's own daemon; it starts once the
 * daemon's run returns. Worker thread only. */
void fh_worker_submit(fh_worker *w, fh_request *req);

/* Wakes task_id on w if it is parked in host.park (any thread; from another
 * thread it happens on w's next loop turn). */
void fh_worker_wake(fh_worker *w, uint64_t task_id);

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

/* Queues a cross-worker call (or its reply) for w's loop (any thread). */
typedef struct fh_xcall fh_xcall;
void fh_worker_post(fh_worker *w, fh_xcall *x);

/* The worker's main Lua state (its own thread only). */
lua_State *fh_worker_main_state(fh_worker *w);
uv_loop_t *fh_worker_loop(fh_worker *w);
fh_redis *fh_worker_redis(fh_worker *w);
fh_http_client *fh_worker_http(fh_worker *w);
fh_sched *fh_worker_sched(fh_worker *w);
const fh_config *fh_worker_config(fh_worker *w);
int fh_worker_index(fh_worker *w);
/* Tasks alive on this worker (requests, timers, background jobs). */
int fh_worker_inflight(fh_worker *w);

#endif

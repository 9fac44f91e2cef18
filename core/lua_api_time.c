/* lua_api_time.c: the `time` module, and parking of tasks.
 *
 *   time.now()        -> seconds since the Unix epoch (UTC, fractional)
 *   time.monotonic()  -> seconds on a clock that never jumps
 *   time.sleep(s)     -> true after s seconds   (yields; s >= 0)
 *
 * The `host` module adds park/wake on top of the same timers (see
 * fh_time_park / fh_time_wake below): a parked task sleeps until its
 * timeout or until another task wakes it. */
#include "fh.h"
#include "lua_api.h"
#include "task.h"
#include "worker.h"

#include <lauxlib.h>
#include <poll.h>
#include <stdlib.h>

typedef struct {
  uv_timer_t timer;
  fh_sched *sched;
  uint64_t task_id;
  int wakeable;
  int woken;
} sleeper;

static int l_now(lua_State *L) {
  lua_pushnumber(L, fh_now());
  return 1;
}

static int l_monotonic(lua_State *L) {
  lua_pushnumber(L, fh_monotonic());
  return 1;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

static void on_wake(uv_timer_t *h) {
  sleeper *s = h->data;
  fh_task *t = fh_task_find(s->sched, s->task_id);
  uv_close((uv_handle_t *)h, on_closed);
  if (!t) return;
  fh_task_set_wait(t, NULL);
  lua_pushboolean(fh_task_co(t), s->wakeable ? s->woken : 1);
  fh_task_resume(t, 1);
}

static int park(lua_State *L, double secs, int wakeable, const char *what) {
  fh_task *t = fh_task_check_current(L, what);
  fh_worker *w = fh_worker_of(L);
  sleeper *s = calloc(1, sizeof(*s));
  if (!s) return luaL_error(L, "out of memory");
  s->sched = fh_task_sched(t);
  s->task_id = fh_task_id(t);
  s->wakeable = wakeable;
  uv_timer_init(fh_worker_loop(w), &s->timer);
  s->timer.data = s;
  uv_timer_start(&s->timer, on_wake, (uint64_t)(secs * 1000 + 0.5), 0);
  fh_task_set_wait(t, s);
  return lua_yield(L, 0);
}

typedef struct {
  union {
    uv_idle_t idle;
    uv_timer_t timer;
  } h;
  fh_sched *sched;
  uint64_t task_id;
  double since;        /* when it was preempted (monotonic) */
  double max_wait;     /* I/O goes first, but not for longer than this */
} preempted;

/* While other I/O is pending a preempted turn waits up to twice the CPU it
 * has used so far (at most 50 ms): short turns barely notice, a runaway
 * turn yields more and more to everyone else until its budget ends it. */
#define LONG_WAIT 0.05

static void on_preempt_closed(uv_handle_t *h) { free(h->data); }

static void preempt_resume(preempted *p) {
  fh_task *t = fh_task_find(p->sched, p->task_id);
  uv_close((uv_handle_t *)&p->h, on_preempt_closed);
  if (t) fh_task_resume(t, 0);
}

static void on_preempt_idle(uv_idle_t *h) {
  preempted *p = h->data;
  /* a preempted (long) turn runs only when no I/O is waiting: replies and
   * requests of other turns go first, so they do not wait behind it */
  struct pollfd pfd = {uv_backend_fd(h->loop), POLLIN, 0};
  if (fh_monotonic() - p->since < p->max_wait && poll(&pfd, 1, 0) > 0)
    return;                                        /* stay queued: next round */
  uv_idle_stop(h);
  preempt_resume(p);
}

static void on_preempt_rested(uv_timer_t *h) { preempt_resume(h->data); }

/* From a count hook: the running task gives the loop a turn (timers, I/O,
 * other tasks) and goes on where it was: after `rest` seconds when rest > 0
 * (a runaway turn held to a share of its worker), else in a later loop
 * iteration when no I/O is pending, or after its longest wait (LuaJIT can
 * yield from a hook; a handle started now runs next time round). */
void fh_time_preempt(lua_State *L, double rest) {
  fh_task *t = fh_task_check_current(L, "preempt");
  preempted *p = calloc(1, sizeof(*p));
  if (!p) return;                                /* no memory: run on */
  p->sched = fh_task_sched(t);
  p->task_id = fh_task_id(t);
  p->since = fh_monotonic();
  p->max_wait = 2 * fh_task_cpu_used(t);
  if (p->max_wait > LONG_WAIT) p->max_wait = LONG_WAIT;
  uv_loop_t *loop = fh_worker_loop(fh_worker_of(L));
  if (rest > 0) {
    uint64_t ms = (uint64_t)(rest * 1000 + 0.5);
    uv_timer_init(loop, &p->h.timer);
    p->h.timer.data = p;
    uv_timer_start(&p->h.timer, on_preempt_rested, ms ? ms : 1, 0);
  } else {
    uv_idle_init(loop, &p->h.idle);
    p->h.idle.data = p;
    uv_idle_start(&p->h.idle, on_preempt_idle);
  }
  lua_yield(L, 0);
}

static int l_sleep(lua_State *L) {
  double secs = luaL_checknumber(L, 1);
  luaL_argcheck(L, secs >= 0, 1, "seconds must not be negative");
  return park(L, secs, 0, "time.sleep");
}

/* host.park(seconds) -> true when woken by host.wake, false on timeout */
int fh_time_park(lua_State *L) {
  double secs = luaL_checknumber(L, 1);
  luaL_argcheck(L, secs >= 0, 1, "seconds must not be negative");
  return park(L, secs, 1, "host.park");
}

/* host.wake(task_id) -> true if that task was parked (it resumes on the
 * next loop turn, never inside the caller) */
int fh_time_wake(lua_State *L) {
  uint64_t id = (uint64_t)luaL_checknumber(L, 1);
  lua_pushboolean(L, fh_time_wake_task(fh_worker_sched(fh_worker_of(L)), id));
  return 1;
}

int fh_time_wake_task(fh_sched *sched, uint64_t id) {
  fh_task *t = fh_task_find(sched, id);
  sleeper *s = t ? fh_task_wait(t) : NULL;
  if (!s || !s->wakeable || s->woken) return 0;
  s->woken = 1;
  uv_timer_start(&s->timer, on_wake, 0, 0);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"now", l_now},
    {"monotonic", l_monotonic},
    {"sleep", l_sleep},
    {NULL, NULL},
};

int fh_lua_open_time(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  return 1;
}

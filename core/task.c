/* task.c: coroutines run by a worker's event loop: spawning, resuming,
 * budgets, and the ways a task waits on the loop (parking and preemption). */
#include "task.h"

#include "fh.h"
#include "freelist.h"
#include "log.h"

#include <lauxlib.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fh_task {
  uint64_t id;
  lua_State *co;
  lua_State *home;      /* main state whose registry anchors the coroutine */
  int ref;              /* registry anchor of the coroutine */
  double cpu_budget;    /* seconds of CPU the task may use, 0: no limit */
  double cpu_used;      /* CPU seconds used in earlier resumes */
  double resumed_at;    /* thread CPU clock at the current resume */
  double wall_used;     /* wall seconds running, earlier resumes */
  double wall_at;       /* monotonic clock at the current resume, 0 outside */
  int abort_at_yield;
  char *over;           /* why it is over budget (owned), NULL within */
  fh_task_done_cb done;
  void *data;
  fh_sched *sched;
  fh_task_ctx ctx;
  struct parking *parked;  /* while parked by fh_task_park, else NULL */
};

/* Open-addressing map from task id to task. `running` is the task whose
 * coroutine is executing (tasks resume others only through spawn, which
 * saves and restores it), which makes fh_task_current O(1). */
/* Coroutines of tasks that returned normally are kept for the next tasks
 * of the same main state: a new one per request is a lua_State and a
 * stack to allocate and later to collect. */
#define SPARE_COS 128

struct fh_sched {
  lua_State *L;
  uv_loop_t *loop;
  fh_task **slots;
  size_t cap;
  size_t count;
  uint64_t next_id;
  fh_task *running;
  lua_State *spare_co[SPARE_COS];  /* finished coroutines of L */
  int spare_ref[SPARE_COS];        /* their registry anchors */
  int nspare;
  fh_freelist tasks;               /* recycled fh_task records */
};

static const char *CO_KEY = "fh.sched";
static const char *MAIN_KEY = "fh.main";

double fh_thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fh_sched_adopt(fh_sched *s, lua_State *L) {
  lua_pushlightuserdata(L, s);
  lua_setfield(L, LUA_REGISTRYINDEX, CO_KEY);
  lua_pushlightuserdata(L, L);
  lua_setfield(L, LUA_REGISTRYINDEX, MAIN_KEY);
}

int fh_sched_create(fh_sched **out, lua_State *L, uv_loop_t *loop) {
  fh_sched *s = calloc(1, sizeof(*s));
  if (!s) return FH_ENOMEM;
  s->L = L;
  s->loop = loop;
  s->cap = 1024;
  s->slots = calloc(s->cap, sizeof(*s->slots));
  if (!s->slots) { free(s); return FH_ENOMEM; }
  s->next_id = 1;
  fh_freelist tasks = FH_FREELIST(fh_task, 1024);
  s->tasks = tasks;
  fh_sched_adopt(s, L);
  *out = s;
  return 0;
}

static size_t slot_of(const fh_sched *s, uint64_t id) {
  return (size_t)(id * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
}

static int map_put(fh_sched *s, fh_task *t);

static int map_grow(fh_sched *s) {
  fh_task **old = s->slots;
  size_t oldcap = s->cap;
  s->slots = calloc(oldcap * 2, sizeof(*s->slots));
  if (!s->slots) { s->slots = old; return FH_ENOMEM; }
  s->cap = oldcap * 2;
  s->count = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i]) map_put(s, old[i]);
  free(old);
  return 0;
}

static int map_put(fh_sched *s, fh_task *t) {
  if ((s->count + 1) * 2 > s->cap && map_grow(s)) return FH_ENOMEM;
  size_t i = slot_of(s, t->id);
  while (s->slots[i]) i = (i + 1) & (s->cap - 1);
  s->slots[i] = t;
  s->count++;
  return 0;
}

fh_task *fh_task_find(fh_sched *s, uint64_t id) {
  size_t i = slot_of(s, id);
  while (s->slots[i]) {
    if (s->slots[i]->id == id) return s->slots[i];
    i = (i + 1) & (s->cap - 1);
  }
  return NULL;
}

static void map_del(fh_sched *s, uint64_t id) {
  size_t i = slot_of(s, id);
  while (s->slots[i] && s->slots[i]->id != id) i = (i + 1) & (s->cap - 1);
  if (!s->slots[i]) return;
  s->slots[i] = NULL;
  s->count--;
  /* re-insert the rest of the cluster (linear probing deletion) */
  size_t j = (i + 1) & (s->cap - 1);
  while (s->slots[j]) {
    fh_task *t = s->slots[j];
    s->slots[j] = NULL;
    s->count--;
    map_put(s, t);
    j = (j + 1) & (s->cap - 1);
  }
}

/* Drops the registry anchor of a task's coroutine (once). */
static void unanchor(fh_task *t) {
  if (t->ref == LUA_NOREF) return;
  luaL_unref(t->home, LUA_REGISTRYINDEX, t->ref);
  t->ref = LUA_NOREF;
}

/* reusable: the task returned normally (the coroutine's status is 0 and
 * lua_resume may start a new function on it) in the sched's own state */
static void task_free(fh_task *t, int reusable) {
  fh_sched *s = t->sched;
  if (reusable && t->home == s->L && s->nspare < SPARE_COS) {
    lua_settop(t->co, 0);
    s->spare_co[s->nspare] = t->co;
    s->spare_ref[s->nspare++] = t->ref;
  } else {
    unanchor(t);
  }
  map_del(s, t->id);
  free(t->over);
  t->over = NULL;
  fh_freelist_put(&s->tasks, t);
}

uint64_t fh_task_spawn(fh_sched *s, lua_State *from, int nargs, fh_task_done_cb done,
                       void *data, const fh_task_ctx *ctx) {
  fh_task *t = fh_freelist_get(&s->tasks);
  if (!t) { lua_pop(from, nargs + 1); return 0; }
  memset(t, 0, sizeof(*t));
  t->id = s->next_id++;
  t->sched = s;
  t->done = done;
  t->data = data;
  if (ctx) t->ctx = *ctx;
  t->cpu_budget = t->ctx.cpu_budget;
  lua_getfield(from, LUA_REGISTRYINDEX, MAIN_KEY);
  t->home = lua_touserdata(from, -1);
  lua_pop(from, 1);
  if (!t->home) t->home = s->L;
  if (t->home == s->L && s->nspare > 0) {
    s->nspare--;
    t->co = s->spare_co[s->nspare];
    t->ref = s->spare_ref[s->nspare];
  } else {
    t->co = lua_newthread(from);
    t->ref = luaL_ref(from, LUA_REGISTRYINDEX); /* pops the thread */
  }
  if (map_put(s, t)) {
    luaL_unref(from, LUA_REGISTRYINDEX, t->ref);
    fh_freelist_put(&s->tasks, t);
    lua_pop(from, nargs + 1);
    return 0;
  }
  lua_xmove(from, t->co, nargs + 1);
  uint64_t id = t->id;
  fh_task_resume(t, nargs);
  return id;
}

fh_task *fh_task_current(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, CO_KEY);
  fh_sched *s = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!s || !s->running || s->running->co != L) return NULL;
  return s->running;
}

fh_task *fh_task_check_current(lua_State *L, const char *what) {
  fh_task *t = fh_task_current(L);
  if (!t)
    luaL_error(L, "%s must be called from a request, timer or spawned task "
                  "(not from a nested coroutine or at load time)", what);
  return t;
}

uint64_t fh_task_id(const fh_task *t) { return t->id; }
lua_State *fh_task_co(fh_task *t) { return t->co; }
lua_State *fh_task_home(fh_task *t) { return t->home; }
fh_task_ctx *fh_task_context(fh_task *t) { return &t->ctx; }
fh_sched *fh_task_sched(fh_task *t) { return t->sched; }
void fh_task_detach(fh_task *t) { t->done = NULL; t->data = NULL; }
int fh_sched_count(const fh_sched *s) { return (int)s->count; }

void fh_task_set_budget(fh_task *t, double cpu_seconds) { t->cpu_budget = cpu_seconds; }

double fh_task_cpu_used(const fh_task *t) {
  return t->cpu_used + (t->resumed_at > 0 ? fh_thread_cpu() - t->resumed_at : 0);
}

double fh_task_cpu_budget(const fh_task *t) { return t->cpu_budget; }

double fh_task_slice(const fh_task *t) {
  return t->resumed_at > 0 ? fh_thread_cpu() - t->resumed_at : 0;
}

fh_task *fh_sched_running(fh_sched *s) { return s->running; }

double fh_task_wall_slice(const fh_task *t) {
  return t->wall_at > 0 ? fh_monotonic() - t->wall_at : 0;
}

double fh_task_wall_used(const fh_task *t) {
  return t->wall_used + (t->wall_at > 0 ? fh_monotonic() - t->wall_at : 0);
}


void fh_task_set_over(fh_task *t, const char *msg) {
  if (t->over) return;                    /* the first reason stands */
  t->over = strdup(msg);
}

const char *fh_task_over(const fh_task *t) { return t->over; }

void fh_task_abort_at_yield(fh_task *t) { t->abort_at_yield = 1; }

static void resume(fh_task *t, int nargs);

/* A task resumed while another runs (spawned by it, or woken by something
 * it called: a reply read in the same loop turn) runs nested inside that
 * resume: its time is taken off the outer task's clocks, so a tenant's
 * turn is never charged (nor stopped) for another task's work. */
void fh_task_resume(fh_task *t, int nargs) {
  fh_task *outer = t->sched->running;
  if (!outer || outer->cpu_budget <= 0 || outer->resumed_at <= 0) {
    resume(t, nargs);
    return;
  }
  double c0 = fh_thread_cpu(), w0 = fh_monotonic();
  resume(t, nargs);
  if (outer->resumed_at > 0) {
    outer->resumed_at += fh_thread_cpu() - c0;
    outer->wall_at += fh_monotonic() - w0;
  }
}

static void resume(fh_task *t, int nargs) {
  lua_State *co = t->co;
  fh_sched *s = t->sched;
  fh_task *prev = s->running;
  s->running = t;
  if (t->cpu_budget > 0) {
    t->resumed_at = fh_thread_cpu();
    t->wall_at = fh_monotonic();
  }
  int rc = lua_resume(co, nargs);
  if (t->cpu_budget > 0) {
    t->cpu_used += fh_thread_cpu() - t->resumed_at;
    t->wall_used += fh_monotonic() - t->wall_at;
    t->resumed_at = 0;
    t->wall_at = 0;
  }
  s->running = prev;
  if (rc == LUA_YIELD && t->abort_at_yield) {
    /* stopped from its hook: it ends here, never to run again */
    lua_settop(co, 0);
    lua_pushstring(co, t->over ? t->over : "the turn was stopped");
    if (t->home != s->L) unanchor(t);  /* see below */
    if (t->done) t->done(t, 0, co, 1, t->data);
    task_free(t, 0);
    return;
  }
  if (rc == LUA_YIELD) {
    lua_settop(co, 0); /* values yielded by plain coroutine.yield are ignored */
    return;
  }
  if (rc == 0) {
    if (t->done) t->done(t, 1, co, lua_gettop(co), t->data);
  } else {
    const char *msg = lua_tostring(co, -1);
    if (!msg) msg = lua_isnil(co, -1) ? "error (nil)" : "error object is not a string";
    luaL_traceback(co, co, msg, 0);
    /* a failed coroutine of a tenant state keeps its whole stack: let it
     * go before done, which resumes the caller in the main state and may
     * run on for a while, calling into the tenant state again (ts:call's
     * done copies what it needs from co before anything can collect it) */
    if (t->home != s->L) unanchor(t);
    if (t->done) {
      t->done(t, 0, co, 1, t->data);
    } else {
      fh_log(FH_LOG_ERROR, "task failed", "error", lua_tostring(co, -1),
             "request_id", t->ctx.request_id[0] ? t->ctx.request_id : NULL,
             "tenant", t->ctx.tenant[0] ? t->ctx.tenant : NULL, NULL);
    }
  }
  task_free(t, rc == 0);
}

/* ---- parking: a timer, and an early wake-up for wakeable parks ---------- */

typedef struct parking {
  uv_timer_t timer;
  fh_sched *sched;
  uint64_t task_id;
  int wakeable;
  int woken;
} parking;

static void on_parking_closed(uv_handle_t *h) { free(h->data); }

static void on_unpark(uv_timer_t *h) {
  parking *p = h->data;
  fh_task *t = fh_task_find(p->sched, p->task_id);
  uv_close((uv_handle_t *)h, on_parking_closed);
  if (!t) return;
  t->parked = NULL;
  lua_pushboolean(t->co, p->wakeable ? p->woken : 1);
  fh_task_resume(t, 1);
}

int fh_task_park(fh_task *t, double seconds, int wakeable) {
  parking *p = calloc(1, sizeof(*p));
  if (!p) return FH_ENOMEM;
  p->sched = t->sched;
  p->task_id = t->id;
  p->wakeable = wakeable;
  uv_timer_init(t->sched->loop, &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, on_unpark, (uint64_t)(seconds * 1000 + 0.5), 0);
  t->parked = p;
  return 0;
}

int fh_task_wake(fh_sched *s, uint64_t id) {
  fh_task *t = fh_task_find(s, id);
  parking *p = t ? t->parked : NULL;
  if (!p || !p->wakeable || p->woken) return 0;
  p->woken = 1;
  uv_timer_start(&p->timer, on_unpark, 0, 0);
  return 1;
}

/* ---- preemption: a long turn lets the loop run, then goes on ------------- */

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

/* A handle started now runs next time round the loop. */
int fh_task_preempt(fh_task *t, double rest) {
  preempted *p = calloc(1, sizeof(*p));
  if (!p) return FH_ENOMEM;
  p->sched = t->sched;
  p->task_id = t->id;
  p->since = fh_monotonic();
  p->max_wait = 2 * fh_task_cpu_used(t);
  if (p->max_wait > LONG_WAIT) p->max_wait = LONG_WAIT;
  uv_loop_t *loop = t->sched->loop;
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
  return 0;
}

/* ---- teardown ------------------------------------------------------------ */

void fh_sched_destroy(fh_sched *s) {
  if (!s) return;
  for (size_t i = 0; i < s->cap; i++) {
    if (s->slots[i]) free(s->slots[i]->over);
    free(s->slots[i]);
  }
  fh_freelist_drain(&s->tasks);
  free(s->slots);
  free(s);
}

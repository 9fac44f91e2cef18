/* lua_api_tstate.c: the `tstate` module: a tenant's own Lua state on this
 * worker, with a CPU budget per turn and a memory cap.
 *
 *   tstate.new{name, memory_mb = 64}  -> ts      (from the worker's main state)
 *   ts:eval(code, arg, cpu_seconds?)  -> ok, result
 *       runs the chunk `code` with `arg` (a string) synchronously; it may not
 *       yield. cpu_seconds (default 2) bounds it. result: the chunk's string
 *       result, or the error message.
 *   ts:call(fn, arg, cpu_seconds?)    -> ok, result, over      (yields)
 *       runs global fn(arg) of the tenant state as a task of this worker
 *       (it may yield on I/O) and waits for it; its CPU use over all its
 *       resumes is bounded by cpu_seconds (default 0.1). over: nil, or
 *       "cpu" | "memory" | "wall" when the turn was stopped for a budget.
 *   ts:memory()  -> KB in use;   ts:tasks() -> tasks running in it
 *   ts:cpu()     -> thread CPU seconds its finished calls used (all resumes)
 *   ts:pressure() -> true over 75 % of the cap; ts:step(kb) -> cycle done, KB
 *       (one incremental collection step: the manager collects a state under
 *       pressure in steps between loop turns, never in one stall)
 *   ts:close()   the state is closed once its last task has ended
 *
 * Tenant states run with the JIT compiler off, so that the count hook that
 * enforces the budgets fires in every loop (LuaJIT hooks do not fire in
 * compiled code). Budgets, and how they hold:
 *  - CPU: a turn over its budget is over for good. At the next hook where
 *    the turn can yield it is stopped there (it yields and is never
 *    resumed: no pcall in tenant code can catch a yield); where it cannot
 *    (inside a sort comparator, a gsub callback) the hook raises, and the
 *    state's pcall/xpcall re-raise for an over turn, so the error climbs to
 *    where it can be stopped. Long C work on its behalf (the pattern
 *    matcher) checks the budget with fh_tstate_check.
 *  - Wall clock: a turn that has been running (I/O waits and the rests a
 *    runaway is held to do not count; time blocked in a C call does) for
 *    WALL_FACTOR times its CPU budget is stopped the same way; ts:call
 *    reports "wall", and the manager rebuilds the state.
 *  - Memory: the state's allocator refuses any growth past the cap, so no
 *    single C function (string.rep, gsub, table.concat, format, ..) can
 *    pass it; the refusal raises "not enough memory" in that turn, marks it
 *    over, and ts:call reports "memory".
 * Arguments and results cross between states as strings (JSON in
 * practice): no table is ever shared between two tenants' states. */
#include "fh.h"
#include "lua_api.h"
#include "runtime.h"
#include "task.h"
#include "tpool.h"
#include "worker.h"

#include <lauxlib.h>
#include <luajit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TS_MT "fh.tstate"
#define HOOK_EVERY 4096
/* a tenant in penalty (a turn of it broke a budget lately) is checked 4
 * times as often: its runaway turns take their rests in finer slices */
#define HOOK_PENALTY 1024
#define GRACE 0.02
#define SLICE 0.0005  /* a turn runs at most this long before I/O gets a look */
/* A turn past LONG_TURN of Lua is a runaway suspect (a flow's turn takes
 * about 1 ms): it runs in LONG_SLICE pieces and rests 4 times as long after
 * each, so it holds at most a fifth of its worker's core until its budget
 * ends it; everyone else on the worker (and on the machine) keeps theirs. */
#define LONG_TURN 0.005
#define LONG_SLICE 0.00025
#define LONG_REST 9
/* On the quarantine worker (core/quarantine.h) the runaways of all its
 * tenants together take at most QUARANTINE_SHARE of a core: what a hostile
 * tenant burns there is also CPU the host's other work cannot have on a
 * busy machine (the kernel shares the cores between processes first, then
 * between a process's threads). Its turns have 25 ms of CPU at most
 * (scripts/flow/tenants.lua), so a runaway there ends within 0.7 s. */
#define QUARANTINE_SHARE 0.04
/* and take it in longer slices (fewer wake-ups of a thread of the lowest priority):
 * nobody but other quarantined turns waits for that worker */
#define QUARANTINE_SLICE 0.002
/* A tenant whose turn was aborted (CPU or memory) runs its turns like that
 * from their first instruction for PENALTY seconds (and, for as long, on the
 * quarantine worker: scripts/flow/tenants.lua, core/quarantine.h). */
#define PENALTY 60.0
/* Over the memory cap, the hook collects in steps of GC_STEP_KB (a full
 * collection there would stall the worker on a big heap): two cycles that
 * end still over the cap, or HARD_CAP times the cap, mean live data. */
#define GC_STEP_KB 256
/* from SOFT_CAP of the cap on, the hook collects in steps, so that garbage
 * is gone before the allocator's hard cap refuses live work */
#define SOFT_CAP 0.75
#define AT_CAP 0.95
/* long C work on a turn's behalf (a pattern match) that runs this long in
 * one resume is stopped: the worker's other requests wait while it runs */
#define MAX_C_SLICE 0.005
/* a turn may allocate at most this much between two hooks: one C call
 * that fills memory (string.rep in a tight loop, a big concatenation)
 * holds the worker in page faults and copies while no hook can fire */
#define MAX_BURST ((size_t)8 << 20)
/* a penalised tenant (one of its turns broke a budget in the last minute)
 * gets a quarter of both: its C calls are what its neighbours wait for */
#define PENALISED_C_SLICE 0.00125
#define PENALISED_BURST ((size_t)2 << 20)
/* a turn running this many times its CPU budget on the clock is stopped */
#define WALL_FACTOR 10

static char TS_KEY;  /* registry key (its address): the state's tstate */
typedef struct tstate {
  lua_State *L;          /* the tenant's main state; NULL once closed */
  size_t bytes;          /* what its allocator has handed out */
  fh_worker *w;
  int live;              /* tasks running in it */
  int closing;
  double mem_cap_kb;
  double eval_deadline;  /* thread CPU clock limit of a running eval, or 0 */
  double penalty_until;  /* monotonic: till then every turn runs as a runaway */
  size_t cap_bytes;      /* the allocator refuses growth past this (0: none) */
  int in_eval;           /* a chunk of the state runs in ts:eval */
  size_t burst;          /* bytes the running turn grew by since the last hook */
  int hook_fine;         /* the hook runs every HOOK_PENALTY instructions */
  int break_due;         /* a turn stopped in C for holding the worker: it
                            yields at the next pcall return (over()) */
  uv_timer_t closer;     /* closes the state outside any callback of it */
  double cpu_total;      /* thread CPU seconds of its finished calls */
  char name[64];
} tstate;

typedef struct {
  tstate *ts;
  fh_sched *sched;
  uint64_t caller;
  int yielded, done, ok;
  const char *over;      /* NULL, "cpu", "memory" or "wall" */
  char *result;
  size_t rlen;
} call_ctx;

/* "file:line: msg" at the innermost Lua code that is running (in a hook
 * luaL_error would name the caller's line instead); a few levels only, as
 * lua_getstack walks the whole stack for each */
static void locate(lua_State *L, const char *msg, char *out, size_t n) {
  lua_Debug ar;
  for (int level = 0; level < 8 && lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline > 0) {
      snprintf(out, n, "%s:%d: %s", ar.short_src, ar.currentline, msg);
      return;
    }
  }
  snprintf(out, n, "%s", msg);
}

static void raise_here(lua_State *L, const char *msg) {
  char where[320];
  locate(L, msg, where, sizeof(where));
  lua_pushstring(L, where);
  lua_error(L);
}

static tstate *ts_of(lua_State *L) {
  lua_pushlightuserdata(L, &TS_KEY);
  lua_rawget(L, LUA_REGISTRYINDEX);
  tstate *ts = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return ts;
}

/* the task of this state that is running now, or NULL */
static fh_task *running_task(tstate *ts) {
  fh_task *t = fh_sched_running(fh_worker_sched(ts->w));
  return t && fh_task_home(t) == ts->L ? t : NULL;
}

/* a turn of the tenant broke a budget: its turns run as runaways for
 * PENALTY seconds (a state on the quarantine worker always does) */
static void penalise(tstate *ts) {
  double until = fh_monotonic() + PENALTY;
  if (until > ts->penalty_until) ts->penalty_until = until;
}

/* marks t over when it has passed a budget; -> its over message or NULL */
static const char *check_over(lua_State *L, tstate *ts, fh_task *t) {
  const char *over = fh_task_over(t);
  double budget = fh_task_cpu_budget(t);
  if (over || budget <= 0) return over;
  char msg[200], where[320];
  /* a turn cannot have used more CPU than it ran on the clock, and the
   * clock is cheap to read (the thread's CPU clock is a system call) */
  double wall = fh_task_wall_used(t);
  if (wall <= budget) return NULL;
  double used = fh_task_cpu_used(t);
  if (used > budget) {
    snprintf(msg, sizeof(msg), "cpu budget exceeded: this turn ran %d ms of Lua (the limit is %d ms)",
             (int)(used * 1000), (int)(budget * 1000));
  } else if (wall > WALL_FACTOR * budget) {
    snprintf(msg, sizeof(msg), "cpu budget exceeded: this turn was still running after %d ms "
             "(the limit is %d ms, %d times its CPU budget)",
             (int)(wall * 1000), (int)(WALL_FACTOR * budget * 1000), WALL_FACTOR);
  } else {
    return NULL;
  }
  locate(L, msg, where, sizeof(where));
  fh_task_set_over(t, where);
  penalise(ts);
  return fh_task_over(t);
}

void fh_tstate_check(lua_State *L, double call_cpu) {
  tstate *ts = ts_of(L);
  if (!ts) return;
  if (ts->eval_deadline > 0) {
    if (fh_thread_cpu() > ts->eval_deadline) raise_here(L, "cpu budget exceeded while loading");
    return;
  }
  fh_task *t = running_task(ts);
  const char *over = t ? check_over(L, ts, t) : NULL;
  if (over) {
    lua_pushstring(L, over);
    lua_error(L);
  }
  /* one C call may not hold the worker past MAX_C_SLICE without a break
   * (the hook, which lets others run, cannot fire inside it): the clock
   * first, it is cheap; CPU decides */
  double c_slice = ts->hook_fine ? PENALISED_C_SLICE : MAX_C_SLICE;
  if (t && call_cpu > 0 && fh_task_wall_slice(t) > c_slice && fh_task_slice(t) > c_slice &&
      fh_thread_cpu() - call_cpu > c_slice &&
      fh_task_cpu_used(t) > LONG_TURN) {  /* (a runaway suspect: never a normal turn) */
    ts->break_due = 1;                    /* the state's pcall gives the break */
    raise_here(L, "pattern too complex: one call ran over 5 ms of CPU without a break "
                  "(simplify the pattern, or match a shorter text)");
  }
}

/* How long a runaway that just ran `slice` seconds rests before it runs
 * again. On a serving worker each takes at most a tenth of the core; on the
 * quarantine worker all of them together do (they rest in line, each slice
 * pushing the next one's start back by slice / QUARANTINE_SHARE). */
static double quarantine_next;  /* (the quarantine worker's thread only) */
static double rest_after(tstate *ts, double slice) {
  if (!fh_worker_is_quarantine(ts->w)) return slice * LONG_REST;
  double now = fh_monotonic();
  if (quarantine_next < now - slice) quarantine_next = now - slice;  /* (idle meanwhile) */
  quarantine_next += slice / QUARANTINE_SHARE;
  return quarantine_next - now;
}

static void hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  tstate *ts = ts_of(L);
  if (!ts) return;
  if (ts->eval_deadline > 0) {
    if (fh_thread_cpu() > ts->eval_deadline)
      raise_here(L, "cpu budget exceeded while loading (a loop that never ends at the top of a file?)");
    return;
  }
  fh_task *t = running_task(ts);
  if (!t) return;
  ts->burst = 0;
  const char *over = check_over(L, ts, t);
  if (over) {
    if (fh_task_co(t) == L && lua_isyieldable(L)) {
      fh_task_abort_at_yield(t);          /* ends here; never resumed */
      lua_yield(L, 0);
      return;
    }
    lua_pushstring(L, over);              /* inside a C call: climb out */
    lua_error(L);
  }
  /* Lua called from C (a sort comparator, a gsub callback) cannot yield:
   * past MAX_C_SLICE of one resume there, it ends with an error, or the
   * worker's other requests would wait for the whole budget */
  double c_slice = ts->hook_fine ? PENALISED_C_SLICE : MAX_C_SLICE;
  if (!lua_isyieldable(L) && fh_task_wall_slice(t) > c_slice && fh_task_slice(t) > c_slice &&
      fh_task_cpu_used(t) > LONG_TURN) {
    ts->break_due = 1;                    /* the state's pcall gives the break */
    raise_here(L, "a function called from C (a table.sort comparator, a string.gsub callback) ran "
                  "over 5 ms without a break: sort or replace less at once");
  }
  /* a long turn takes turns with the other requests of the worker */
  if (fh_task_co(t) == L) {
    /* the clocks first: CPU time (a system call for a thread) cannot be
     * more than the time on the clock, so it is read only past that */
    int runaway = (ts->penalty_until > 0 && fh_monotonic() < ts->penalty_until) ||
                  (fh_task_wall_used(t) > LONG_TURN && fh_task_cpu_used(t) > LONG_TURN);
    double limit = !runaway ? SLICE : fh_worker_is_quarantine(ts->w) ? QUARANTINE_SLICE : LONG_SLICE;
    if (fh_task_wall_slice(t) > limit) {
      double slice = fh_task_slice(t);
      if (slice > limit && lua_isyieldable(L)) {
        /* the loop gets a turn; the task goes on later (no memory: now) */
        if (fh_task_preempt(t, runaway ? rest_after(ts, slice) : 0) == 0) lua_yield(L, 0);
        return;
      }
    }
  }
  /* garbage goes before the allocator's cap refuses live data */
  if (ts->cap_bytes > 0 && ts->bytes > ts->cap_bytes * SOFT_CAP) lua_gc(L, LUA_GCSTEP, GC_STEP_KB);
}

/* The state's allocator: the C heap (shared arenas, no per-state segments:
 * ~860 KB a tenant instead of ~1 MB; small blocks recycled per worker
 * thread, core/tpool.h) with a count and a hard cap. Growth
 * past the cap is refused (LuaJIT raises "not enough memory" where it
 * asked; tenant code always runs in a protected call); frees and shrinks
 * always succeed, so the collector and lua_close never fail. A refusal
 * marks the running turn over its budget for good. */
static void *ts_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  tstate *ts = ud;
  if (nsize == 0) {
    if (ptr) ts->bytes -= osize;
    if (ptr) fh_tpool_put(ptr, osize);
    return NULL;
  }
  size_t old = ptr ? osize : 0;
  if (nsize > old && ts->cap_bytes > 0) {
    /* enforced while the state's own code runs (a turn, or a load in
     * ts:eval), both in protected calls; the manager's few pushes into the
     * state between them are not refused: LuaJIT would panic there */
    fh_task *t = ts->L ? running_task(ts) : NULL;
    if (t || ts->in_eval) {
      const char *why = NULL;
      char msg[200];
      if (ts->bytes - old + nsize > ts->cap_bytes) {
        snprintf(msg, sizeof(msg), "memory budget exceeded: the tenant's state reached its limit of %d MB",
                 (int)(ts->cap_bytes >> 20));
        why = msg;
      } else if (t && (ts->burst += nsize - old) > (ts->hook_fine ? PENALISED_BURST : MAX_BURST)) {
        snprintf(msg, sizeof(msg), "memory budget exceeded: this turn took over %d MB at once "
                 "(between two checks; build big values in smaller steps)",
                 (int)((ts->hook_fine ? PENALISED_BURST : MAX_BURST) >> 20));
        why = msg;
      }
      if (why) {
        if (t) {
          fh_task_set_over(t, why);
          penalise(ts);
        }
        return NULL;
      }
    }
  }
  void *p = fh_tpool_resize(ptr, old, nsize);
  if (p) ts->bytes = ts->bytes - old + nsize;
  else if (nsize <= old) return ptr;     /* a shrink that could not move */
  return p;
}

static void on_closer_closed(uv_handle_t *h) { free(h->data); }

static void on_close_timer(uv_timer_t *h) {
  tstate *ts = h->data;
  if (ts->L) { lua_close(ts->L); ts->L = NULL; }
  uv_close((uv_handle_t *)&ts->closer, on_closer_closed);
}

/* closes the state on the next loop turn when nothing runs in it */
static void maybe_close(tstate *ts) {
  if (ts->closing && ts->live == 0 && ts->L && !uv_is_active((uv_handle_t *)&ts->closer))
    uv_timer_start(&ts->closer, on_close_timer, 0, 0);
}

/* over() -> the running turn's over-budget message, or nil. A turn whose
 * C call was cut for holding the worker (break_due) takes its break here,
 * where it can yield: a pcall loop around it cannot hold the worker. */
static int l_over(lua_State *L) {
  tstate *ts = ts_of(L);
  fh_task *t = ts ? running_task(ts) : NULL;
  const char *over = t ? fh_task_over(t) : NULL;
  if (over) {
    lua_pushstring(L, over);
    return 1;
  }
  if (t && ts->break_due && fh_task_co(t) == L && lua_isyieldable(L)) {
    ts->break_due = 0;
    if (fh_task_preempt(t, rest_after(ts, fh_task_slice(t))) == 0) return lua_yield(L, 0);
  }
  lua_pushnil(L);
  return 1;
}

/* pcall and xpcall of a tenant state re-raise once the running turn is
 * over its budget: no protected call can keep an over-budget turn alive.
 * (Lua wrappers around the fast functions, so yields still cross them.) */
static const char WRAP_PCALL[] =
    "local over, pcall, xpcall, error = ...\n"
    "local function pass(ok, ...)\n"
    "  local o = over()\n"
    "  if o then error(o, 0) end\n"
    "  return ok, ...\n"
    "end\n"
    "_G.pcall = function(f, ...) return pass(pcall(f, ...)) end\n"
    "_G.xpcall = function(f, h, ...) return pass(xpcall(f, h, ...)) end\n";

static int wrap_pcall(lua_State *T) {
  if (luaL_loadbuffer(T, WRAP_PCALL, sizeof(WRAP_PCALL) - 1, "=budget") != 0) return -1;
  lua_pushcfunction(T, l_over);
  lua_getglobal(T, "pcall");
  lua_getglobal(T, "xpcall");
  lua_getglobal(T, "error");
  if (lua_pcall(T, 4, 0, 0) != 0) { lua_pop(T, 1); return -1; }
  return 0;
}

static tstate *check_ts(lua_State *L) {
  tstate **box = luaL_checkudata(L, 1, TS_MT);
  if (!*box || !(*box)->L || (*box)->closing) luaL_error(L, "tstate: the state is closed");
  return *box;
}

static int l_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "name");
  const char *name = luaL_optstring(L, -1, "tenant");
  lua_getfield(L, 1, "memory_mb");
  double mem_mb = luaL_optnumber(L, -1, 64);
  lua_pop(L, 2);
  fh_worker *w = fh_worker_of(L);
  tstate *ts = calloc(1, sizeof(*ts));
  if (!ts) return luaL_error(L, "out of memory");
  ts->L = lua_newstate(ts_alloc, ts);
  if (!ts->L) {   /* a LuaJIT without custom allocators could not cap memory */
    free(ts);
    return luaL_error(L, "tstate.new: this LuaJIT does not accept an allocator (a 64-bit build needs GC64)");
  }
  ts->w = w;
  /* the quarantine worker runs only tenants in penalty (quarantine.h) */
  if (fh_worker_is_quarantine(w)) ts->penalty_until = HUGE_VAL;
  ts->cap_bytes = mem_mb > 0 ? (size_t)(mem_mb * 1024 * 1024) : 0;
  snprintf(ts->name, sizeof(ts->name), "%s", name);
  uv_timer_init(fh_worker_loop(w), &ts->closer);
  ts->closer.data = ts;
  fh_runtime_open(ts->L, fh_worker_config(w));
  fh_worker_adopt_state(w, ts->L);
  lua_pushlightuserdata(ts->L, &TS_KEY);
  lua_pushlightuserdata(ts->L, ts);
  lua_rawset(ts->L, LUA_REGISTRYINDEX);
  /* a tenant cannot make states of its own */
  lua_getglobal(ts->L, "package");
  lua_getfield(ts->L, -1, "preload");
  lua_pushnil(ts->L);
  lua_setfield(ts->L, -2, "tstate");
  lua_pushnil(ts->L);
  lua_setfield(ts->L, -2, "fswatch");
  lua_pop(ts->L, 2);
  if (wrap_pcall(ts->L) != 0) {
    lua_close(ts->L);
    uv_close((uv_handle_t *)&ts->closer, on_closer_closed);
    return luaL_error(L, "tstate.new: cannot set up the state");
  }
  luaJIT_setmode(ts->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  lua_sethook(ts->L, hook, LUA_MASKCOUNT, HOOK_EVERY);
  tstate **box = lua_newuserdata(L, sizeof(*box));
  *box = ts;
  luaL_getmetatable(L, TS_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* the result of a finished chunk or task, as a string */
static void take_result(lua_State *co, int ok, int nres, char **out, size_t *len) {
  size_t n = 0;
  const char *s = NULL;
  if (nres > 0) {
    int idx = lua_gettop(co) - nres + 1;
    if (!ok) idx = lua_gettop(co);
    s = lua_tolstring(co, idx, &n);
  }
  if (!s) { s = ok ? "" : "error (not a string)"; n = strlen(s); }
  *out = malloc(n + 1);
  if (*out) { memcpy(*out, s, n); (*out)[n] = 0; *len = n; }
  else *len = 0;
}

static int l_eval(lua_State *L) {
  tstate *ts = check_ts(L);
  size_t clen, alen;
  const char *code = luaL_checklstring(L, 2, &clen);
  const char *arg = luaL_checklstring(L, 3, &alen);
  double budget = luaL_optnumber(L, 4, 2.0);
  lua_State *T = ts->L;
  int base = lua_gettop(T);
  lua_getglobal(T, "debug");
  lua_getfield(T, -1, "traceback");
  lua_remove(T, -2);
  if (ts->cap_bytes > 0 && ts->bytes > ts->cap_bytes / 2) lua_gc(T, LUA_GCCOLLECT, 0);
  int ok = luaL_loadbuffer(T, code, clen, "=tenant-eval") == 0;
  if (ok) {
    lua_pushlstring(T, arg, alen);
    ts->eval_deadline = fh_thread_cpu() + budget;
    ts->in_eval = 1;
    ok = lua_pcall(T, 1, 1, base + 1) == 0;
    ts->in_eval = 0;
    ts->eval_deadline = 0;
  }
  char *res;
  size_t rlen;
  take_result(T, ok, 1, &res, &rlen);
  lua_settop(T, base);
  lua_pushboolean(L, ok);
  if (res) { lua_pushlstring(L, res, rlen); free(res); }
  else lua_pushstring(L, "out of memory");
  return 2;
}

static void push_call_result(lua_State *co, call_ctx *cc) {
  lua_pushboolean(co, cc->ok);
  if (cc->result) lua_pushlstring(co, cc->result, cc->rlen);
  else lua_pushstring(co, "out of memory");
  if (cc->over) lua_pushstring(co, cc->over);
  else lua_pushnil(co);
}

/* which budget stopped a turn, from its over message (check_over, ts_alloc) */
static const char *over_kind(const char *over) {
  if (!over) return NULL;
  if (strstr(over, "memory budget exceeded")) return "memory";
  if (strstr(over, "still running after")) return "wall";
  return "cpu";
}

static void on_call_done(fh_task *t, int ok, lua_State *co, int nres, void *data) {
  call_ctx *cc = data;
  cc->ok = ok;
  cc->done = 1;
  cc->over = ok ? NULL : over_kind(fh_task_over(t));
  if (cc->over && !strstr(lua_tostring(co, -1) ? lua_tostring(co, -1) : "", fh_task_over(t))) {
    /* a refused allocation raised "not enough memory": say which budget */
    lua_pushfstring(co, "%s\n%s", fh_task_over(t), lua_tostring(co, -1) ? lua_tostring(co, -1) : "");
    nres = lua_gettop(co);
  }
  take_result(co, ok, nres, &cc->result, &cc->rlen);

  cc->ts->cpu_total += fh_task_cpu_used(t);
  cc->ts->live--;
  maybe_close(cc->ts);
  if (!cc->yielded) return;              /* l_call picks the result up */
  fh_task *caller = fh_task_find(cc->sched, cc->caller);
  if (caller) {
    lua_State *cco = fh_task_co(caller);
    push_call_result(cco, cc);
    free(cc->result);
    free(cc);
    fh_task_resume(caller, 3);
    return;
  }
  free(cc->result);
  free(cc);
}

static int l_call(lua_State *L) {
  tstate *ts = check_ts(L);
  const char *fn = luaL_checkstring(L, 2);
  size_t alen;
  const char *arg = luaL_checklstring(L, 3, &alen);
  double budget = luaL_optnumber(L, 4, 0.1);
  fh_task *caller = fh_task_check_current(L, "tstate call");
  lua_State *T = ts->L;
  /* what a turn stopped over the memory cap left is garbage: the manager
   * collects it with ts:step between loop turns before the next call, and
   * the hook collects in steps from SOFT_CAP on; a state still at its cap
   * (a caller that did not step) is collected here, or this turn would
   * meet the cap at its first allocation */
  if (ts->cap_bytes > 0 && ts->bytes > ts->cap_bytes * AT_CAP) lua_gc(T, LUA_GCCOLLECT, 0);
  lua_getglobal(T, fn);
  if (!lua_isfunction(T, -1)) {
    lua_pop(T, 1);
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "the tenant state has no function '%s'", fn);
    return 2;
  }
  lua_pushlstring(T, arg, alen);
  call_ctx *cc = calloc(1, sizeof(*cc));
  if (!cc) { lua_pop(T, 2); return luaL_error(L, "out of memory"); }
  cc->ts = ts;
  cc->sched = fh_task_sched(caller);
  cc->caller = fh_task_id(caller);
  fh_task_ctx ctx = *fh_task_context(caller);
  ctx.cpu_budget = budget;
  ts->burst = 0;
  int penalty = ts->penalty_until > 0 && fh_monotonic() < ts->penalty_until;
  if (penalty != ts->hook_fine) {        /* (never from inside the hook) */
    ts->hook_fine = penalty;
    lua_sethook(T, hook, LUA_MASKCOUNT, penalty ? HOOK_PENALTY : HOOK_EVERY);
  }
  ts->live++;
  if (!fh_task_spawn(cc->sched, T, 1, on_call_done, cc, &ctx)) {
    ts->live--;
    free(cc);
    return luaL_error(L, "out of memory");
  }
  if (cc->done) {                        /* finished without yielding */
    push_call_result(L, cc);
    free(cc->result);
    free(cc);
    return 3;
  }
  cc->yielded = 1;
  return lua_yield(L, 0);
}

/* ts:step(kb) -> cycle_done, KB in use: one incremental collection step of
 * about kb KB of work (the manager runs these between loop turns, so a big
 * heap of garbage never stalls the worker in one full collection) */
static int l_step(lua_State *L) {
  tstate *ts = check_ts(L);
  int kb = (int)luaL_optinteger(L, 2, 1024);
  int done = lua_gc(ts->L, LUA_GCSTEP, kb);
  lua_pushboolean(L, done);
  lua_pushinteger(L, lua_gc(ts->L, LUA_GCCOUNT, 0));
  return 2;
}

/* ts:pressure() -> true when the state holds over SOFT_CAP of its cap */
static int l_pressure(lua_State *L) {
  tstate *ts = check_ts(L);
  lua_pushboolean(L, ts->cap_bytes > 0 && ts->bytes > ts->cap_bytes * SOFT_CAP);
  return 1;
}

static int l_memory(lua_State *L) {
  tstate *ts = check_ts(L);
  lua_pushinteger(L, lua_gc(ts->L, LUA_GCCOUNT, 0));
  return 1;
}

static int l_cpu(lua_State *L) {
  tstate *ts = check_ts(L);
  lua_pushnumber(L, ts->cpu_total);
  return 1;
}

static int l_tasks(lua_State *L) {
  tstate *ts = check_ts(L);
  lua_pushinteger(L, ts->live);
  return 1;
}

static int l_close(lua_State *L) {
  tstate **box = luaL_checkudata(L, 1, TS_MT);
  if (*box && !(*box)->closing) {
    (*box)->closing = 1;
    maybe_close(*box);
  }
  *box = NULL;
  return 0;
}

static const luaL_Reg methods[] = {
    {"eval", l_eval}, {"call", l_call}, {"memory", l_memory}, {"step", l_step}, {"pressure", l_pressure},
    {"tasks", l_tasks}, {"cpu", l_cpu}, {"close", l_close}, {NULL, NULL},
};

int fh_lua_open_tstate(lua_State *L) {
  luaL_newmetatable(L, TS_MT);
  lua_newtable(L);
  luaL_register(L, NULL, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "new");
  return 1;
}

/* lua_api_tstate.c: the `tstate` module: a tenant's own Lua state on this
 * worker, with a CPU budget per turn and a memory cap.
 *
 *   tstate.new{name, memory_mb = 64}  -> ts      (from the worker's main state)
 *   ts:eval(code, arg, cpu_seconds?)  -> ok, result
 *       runs the chunk `code` with `arg` (a string) synchronously; it may not
 *       yield. cpu_seconds (default 2) bounds it. result: the chunk's string
 *       result, or the error message.
 *   ts:call(fn, arg, cpu_seconds?)    -> ok, result            (yields)
 *       runs global fn(arg) of the tenant state as a task of this worker
 *       (it may yield on I/O) and waits for it; its CPU use over all its
 *       resumes is bounded by cpu_seconds (default 0.1).
 *   ts:memory()  -> KB in use;   ts:tasks() -> tasks running in it
 *   ts:close()   the state is closed once its last task has ended
 *
 * Tenant states run with the JIT compiler off, so that the count hook that
 * enforces the budgets fires in every loop (LuaJIT hooks do not fire in
 * compiled code). An over-budget turn raises "cpu budget exceeded" or
 * "memory budget exceeded" inside the tenant's code: its task ends with
 * that error and nothing else on the worker waits for it. Arguments and
 * results cross between states as strings (JSON in practice): no table is
 * ever shared between two tenants' states. */
#include "fh.h"
#include "lua_api.h"
#include "runtime.h"
#include "task.h"
#include "worker.h"

#include <lauxlib.h>
#include <luajit.h>
#include <stdlib.h>
#include <string.h>

#define TS_MT "fh.tstate"
#define HOOK_EVERY 4096
#define GRACE 0.02
#define SLICE 0.0005  /* a turn runs at most this long before I/O gets a look */
/* A turn past LONG_TURN of Lua is a runaway suspect (a flow's turn takes
 * about 1 ms): it runs in LONG_SLICE pieces and rests 4 times as long after
 * each, so it holds at most a fifth of its worker's core until its budget
 * ends it; everyone else on the worker (and on the machine) keeps theirs. */
#define LONG_TURN 0.005
#define LONG_SLICE 0.00025
#define LONG_REST 9
/* A tenant whose turn was aborted (CPU or memory) runs its turns like that
 * from their first instruction for PENALTY seconds. */
#define PENALTY 60.0
/* Over the memory cap, the hook collects in steps of GC_STEP_KB (a full
 * collection there would stall the worker on a big heap): two cycles that
 * end still over the cap, or HARD_CAP times the cap, mean live data. */
#define GC_STEP_KB 256
#define HARD_CAP 1.5

static const char *TS_KEY = "fh.tstate.self";
static const char *YIELDABLE_KEY = "fh.tstate.yieldable";  /* pcall, xpcall */

/* true when no C function other than pcall/xpcall is between the task's
 * coroutine and the running code (a yield there would fail: a string.gsub
 * callback, a table.sort comparator, require) */
static int can_preempt(lua_State *L) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sf", &ar);
    if (ar.what[0] == 'C') {
      lua_getfield(L, LUA_REGISTRYINDEX, YIELDABLE_KEY);
      lua_pushvalue(L, -2);
      lua_rawget(L, -2);
      int ok = lua_toboolean(L, -1);
      lua_pop(L, 3);
      if (!ok) return 0;
    } else {
      lua_pop(L, 1);
    }
  }
  return 1;
}

typedef struct tstate {
  lua_State *L;          /* the tenant's main state; NULL once closed */
  size_t bytes;          /* what its allocator has handed out */
  fh_worker *w;
  int live;              /* tasks running in it */
  int closing;
  double mem_cap_kb;
  double eval_deadline;  /* thread CPU clock limit of a running eval, or 0 */
  double penalty_until;  /* monotonic: till then every turn runs as a runaway */
  int over_cycles;       /* GC cycles completed while over the memory cap */
  uv_timer_t closer;     /* closes the state outside any callback of it */
  char name[64];
} tstate;

typedef struct {
  tstate *ts;
  fh_sched *sched;
  uint64_t caller;
  int yielded, done, ok;
  char *result;
  size_t rlen;
} call_ctx;

/* raises msg at the tenant code that is running ("file:line: msg"); in a
 * hook luaL_error would name the caller's line instead */
static void raise_here(lua_State *L, const char *msg) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline > 0) {
      lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
      lua_error(L);
    }
  }
  lua_pushstring(L, msg);
  lua_error(L);
}

void fh_tstate_check(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, TS_KEY);
  tstate *ts = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!ts) return;
  if (ts->eval_deadline > 0) {
    if (fh_thread_cpu() > ts->eval_deadline) raise_here(L, "cpu budget exceeded while loading");
    return;
  }
  fh_task *t = fh_sched_running(fh_worker_sched(ts->w));
  if (t && fh_task_cpu_budget(t) > 0 && fh_task_cpu_used(t) > fh_task_cpu_budget(t))
    raise_here(L, "cpu budget exceeded");
}

static void hook(lua_State *L, lua_Debug *ar) {
  char msg[160];
  (void)ar;
  lua_getfield(L, LUA_REGISTRYINDEX, TS_KEY);
  tstate *ts = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!ts) return;
  if (ts->eval_deadline > 0) {
    if (fh_thread_cpu() > ts->eval_deadline)
      raise_here(L, "cpu budget exceeded while loading (a loop that never ends at the top of a file?)");
  } else {
    fh_task *t = fh_sched_running(fh_worker_sched(ts->w));
    if (t && fh_task_cpu_budget(t) > 0 && fh_task_cpu_used(t) > fh_task_cpu_budget(t)) {
      double budget = fh_task_cpu_budget(t), used = fh_task_cpu_used(t);
      /* 20 ms more to unwind (release the conversation's lock); past that
       * every check raises again */
      fh_task_set_budget(t, used + GRACE);
      ts->penalty_until = fh_monotonic() + PENALTY;
      snprintf(msg, sizeof(msg), "cpu budget exceeded: this turn ran %d ms of Lua (the limit is %d ms)",
               (int)(used * 1000), (int)(budget * 1000));
      raise_here(L, msg);
    }
    /* a long turn takes turns with the other requests of the worker */
    if (t && fh_task_co(t) == L) {
      int runaway = fh_task_cpu_used(t) > LONG_TURN ||
                    (ts->penalty_until > 0 && fh_monotonic() < ts->penalty_until);
      double slice = fh_task_slice(t);
      if (slice > (runaway ? LONG_SLICE : SLICE) && can_preempt(L)) {
        fh_time_preempt(L, runaway ? slice * LONG_REST : 0);
        return;
      }
    }
  }
  if (ts->mem_cap_kb > 0 && lua_gc(L, LUA_GCCOUNT, 0) > ts->mem_cap_kb) {
    if (lua_gc(L, LUA_GCCOUNT, 0) < ts->mem_cap_kb * HARD_CAP && lua_gc(L, LUA_GCSTEP, GC_STEP_KB))
      ts->over_cycles++;
    int kb = lua_gc(L, LUA_GCCOUNT, 0);
    if (kb <= ts->mem_cap_kb) { ts->over_cycles = 0; return; }   /* it was garbage */
    if (ts->over_cycles < 2 && kb < ts->mem_cap_kb * HARD_CAP) return;
    ts->over_cycles = 0;
    ts->penalty_until = fh_monotonic() + PENALTY;
    snprintf(msg, sizeof(msg), "memory budget exceeded: the tenant's state holds %d MB (the limit is %d MB)",
             kb / 1024, (int)(ts->mem_cap_kb / 1024));
    raise_here(L, msg);
  }
}

/* The state's allocator: the C heap (shared arenas, no per-state segments:
 * ~860 KB a tenant instead of ~1 MB) with a count. No hard cap here: an
 * allocation refused outside a protected call makes LuaJIT panic and end
 * the process; the hook enforces the cap, and the C-side limits of
 * host/tenant_guard.lua bound what one C call can grow. */
static void *ts_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  tstate *ts = ud;
  if (nsize == 0) {
    if (ptr) ts->bytes -= osize;
    free(ptr);
    return NULL;
  }
  size_t old = ptr ? osize : 0;
  void *p = realloc(ptr, nsize);
  if (p) ts->bytes = ts->bytes - old + nsize;
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
  if (!ts->L) ts->L = luaL_newstate();          /* a LuaJIT that wants its own allocator */
  if (!ts->L) { free(ts); return luaL_error(L, "tstate.new: cannot create a Lua state"); }
  ts->w = w;
  ts->mem_cap_kb = mem_mb * 1024;
  snprintf(ts->name, sizeof(ts->name), "%s", name);
  uv_timer_init(fh_worker_loop(w), &ts->closer);
  ts->closer.data = ts;
  fh_runtime_open(ts->L, fh_worker_config(w));
  fh_worker_adopt_state(w, ts->L);
  lua_pushlightuserdata(ts->L, ts);
  lua_setfield(ts->L, LUA_REGISTRYINDEX, TS_KEY);
  /* a tenant cannot make states of its own */
  lua_getglobal(ts->L, "package");
  lua_getfield(ts->L, -1, "preload");
  lua_pushnil(ts->L);
  lua_setfield(ts->L, -2, "tstate");
  lua_pushnil(ts->L);
  lua_setfield(ts->L, -2, "fswatch");
  lua_pop(ts->L, 2);
  lua_newtable(ts->L);                           /* C functions a yield may cross */
  lua_getglobal(ts->L, "pcall");
  lua_pushboolean(ts->L, 1);
  lua_rawset(ts->L, -3);
  lua_getglobal(ts->L, "xpcall");
  lua_pushboolean(ts->L, 1);
  lua_rawset(ts->L, -3);
  lua_setfield(ts->L, LUA_REGISTRYINDEX, YIELDABLE_KEY);
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
  if (ts->mem_cap_kb > 0 && lua_gc(T, LUA_GCCOUNT, 0) > ts->mem_cap_kb / 2) lua_gc(T, LUA_GCCOLLECT, 0);
  int ok = luaL_loadbuffer(T, code, clen, "=tenant-eval") == 0;
  if (ok) {
    lua_pushlstring(T, arg, alen);
    ts->eval_deadline = fh_thread_cpu() + budget;
    ok = lua_pcall(T, 1, 1, base + 1) == 0;
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
}

static void on_call_done(fh_task *t, int ok, lua_State *co, int nres, void *data) {
  (void)t;
  call_ctx *cc = data;
  cc->ok = ok;
  cc->done = 1;
  take_result(co, ok, nres, &cc->result, &cc->rlen);

  cc->ts->live--;
  maybe_close(cc->ts);
  if (!cc->yielded) return;              /* l_call picks the result up */
  fh_task *caller = fh_task_find(cc->sched, cc->caller);
  if (caller) {
    lua_State *cco = fh_task_co(caller);
    push_call_result(cco, cc);
    free(cc->result);
    free(cc);
    fh_task_resume(caller, 2);
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
  /* (the garbage a turn that failed over the memory cap left is collected
   * in steps by the next turn's hook, not here in one stall) */
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
    return 2;
  }
  cc->yielded = 1;
  return lua_yield(L, 0);
}

static int l_memory(lua_State *L) {
  tstate *ts = check_ts(L);
  lua_pushinteger(L, lua_gc(ts->L, LUA_GCCOUNT, 0));
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
    {"eval", l_eval}, {"call", l_call}, {"memory", l_memory},
    {"tasks", l_tasks}, {"close", l_close}, {NULL, NULL},
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

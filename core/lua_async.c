/* lua_async.c: result collection for operations a task waits on. */
#include "lua_async.h"

#include "freelist.h"
#include "worker.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

struct fh_async {
  fh_sched *sched;
  uint64_t task_id;
  lua_State *L;        /* main state, for the registry */
  int results_ref;     /* table of results in the registry; a single
                          operation that ends after the task yielded hands
                          its value over on the stack and makes none */
  int remaining;       /* operations outstanding, +1 until fh_async_wait */
  int single;
  int yielded;
  char *err;           /* single mode: failure word */
};

/* one per worker thread: made and dropped by every Redis command */
static __thread fh_freelist pool = FH_FREELIST(fh_async, 1024);

fh_async *fh_async_new(lua_State *L, fh_task *t, int n, int single) {
  /* checked before anything is sent: a wait that cannot yield would leave
   * its operations running for a task that has moved on */
  if (!lua_isyieldable(L))
    luaL_error(L, "cannot wait for Redis or HTTP inside a function called from C "
                  "(a table.sort comparator, a string.gsub replacement function): "
                  "call it before or after");
  fh_async *g = fh_freelist_get(&pool);
  if (!g) luaL_error(L, "out of memory");
  memset(g, 0, sizeof(*g));
  g->sched = fh_task_sched(t);
  g->task_id = fh_task_id(t);
  g->L = fh_task_home(t); /* outlives the coroutine, which may be collected first */
  g->single = single;
  g->remaining = n + 1;
  g->results_ref = LUA_NOREF;
  if (!single) {
    lua_createtable(L, n, 0);
    g->results_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return g;
}

lua_State *fh_async_target(fh_async *g) {
  fh_task *t = fh_task_find(g->sched, g->task_id);
  return t ? fh_task_co(t) : NULL;
}

/* The results table, made on first use. */
static void push_table(lua_State *co, fh_async *g) {
  if (g->results_ref == LUA_NOREF) {
    lua_createtable(co, 1, 0);
    lua_pushvalue(co, -1);
    g->results_ref = luaL_ref(co, LUA_REGISTRYINDEX);
    return;
  }
  lua_rawgeti(co, LUA_REGISTRYINDEX, g->results_ref);
}

/* Pushes what the task receives; returns the count. */
static int push_results(lua_State *co, fh_async *g) {
  if (g->single && g->err) {
    lua_pushnil(co);
    lua_pushstring(co, g->err);
    return 2;
  }
  push_table(co, g);
  if (!g->single) return 1;
  lua_rawgeti(co, -1, 1);
  lua_remove(co, -2);
  return 1;
}

static void release(fh_async *g, lua_State *any) {
  if (g->results_ref != LUA_NOREF) luaL_unref(any, LUA_REGISTRYINDEX, g->results_ref);
  free(g->err);
  fh_freelist_put(&pool, g);
}

static void one_done(fh_async *g) {
  if (--g->remaining > 0) return;
  fh_task *t = fh_task_find(g->sched, g->task_id);
  if (!t) { release(g, g->L); return; }
  lua_State *co = fh_task_co(t);
  int n = push_results(co, g);
  release(g, co);
  fh_task_resume(t, n);
}

void fh_async_set(fh_async *g, int i) {
  fh_task *t = fh_task_find(g->sched, g->task_id);
  lua_State *co = t ? fh_task_co(t) : NULL;
  if (co && g->single && g->yielded && g->remaining == 1 && !g->err) {
    /* the one value the waiting task gets: it is already on its stack */
    release(g, co);
    fh_task_resume(t, 1);
    return;
  }
  if (co) {
    push_table(co, g);
    lua_insert(co, -2);
    lua_rawseti(co, -2, i);
    lua_pop(co, 1);
  }
  one_done(g);
}

void fh_async_fail(fh_async *g, int i, const char *err) {
  if (g->single) {
    if (!g->err) g->err = strdup(err);
  } else {
    lua_State *co = fh_async_target(g);
    if (co) {
      lua_createtable(co, 0, 1);
      lua_pushstring(co, err);
      lua_setfield(co, -2, "err");
      fh_async_set(g, i);
      return;
    }
  }
  one_done(g);
}

int fh_async_wait(lua_State *L, fh_async *g) {
  if (--g->remaining == 0) {
    int n = push_results(L, g);
    release(g, L);
    return n;
  }
  g->yielded = 1;
  return lua_yield(L, 0);
}

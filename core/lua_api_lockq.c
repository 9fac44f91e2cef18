/* lua_api_lockq.c: the `lockq` module, the process-wide waiter queues of
 * scripts/lock.lua (see lockq.h). Every function acts for the calling task.
 *
 *   lockq.enter(key)        -> true when first in line
 *   lockq.is_head(key)      -> true when first in line (clears a pending
 *                              signal: call it right before trying)
 *   lockq.wait(key, secs)   -> true when signalled, false on timeout (yields
 *                              unless a signal is already pending)
 *   lockq.leave(key, signal_next?)
 *   lockq.signal(key)       -> wakes the first waiter (after a release)
 *   lockq.keys()            -> number of keys with waiters */
#include "lockq.h"
#include "lua_api.h"
#include "task.h"
#include "worker.h"

#include <lauxlib.h>

static uint64_t me(lua_State *L, const char *what) {
  return fh_task_id(fh_task_check_current(L, what));
}

static int l_enter(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  lua_pushboolean(L, fh_lockq_enter(key, fh_worker_of(L), me(L, "lockq.enter")));
  return 1;
}

static int l_is_head(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  lua_pushboolean(L, fh_lockq_is_head(key, fh_worker_of(L), me(L, "lockq.is_head")));
  return 1;
}

static int l_wait(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  double secs = luaL_checknumber(L, 2);
  fh_task *t = fh_task_check_current(L, "lockq.wait");
  if (fh_lockq_take_signal(key, fh_worker_of(L), fh_task_id(t))) {
    lua_pushboolean(L, 1);
    return 1;
  }
  /* a signal arriving from now on is delivered by waking the parked task */
  luaL_argcheck(L, secs >= 0, 2, "seconds must not be negative");
  if (fh_task_park(t, secs, 1)) return luaL_error(L, "out of memory");
  return lua_yield(L, 0);
}

static int l_leave(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  fh_lockq_leave(key, fh_worker_of(L), me(L, "lockq.leave"), lua_toboolean(L, 2));
  return 0;
}

static int l_signal(lua_State *L) {
  fh_lockq_signal(luaL_checkstring(L, 1));
  return 0;
}

static int l_keys(lua_State *L) {
  lua_pushinteger(L, fh_lockq_keys());
  return 1;
}

static const luaL_Reg funcs[] = {
    {"enter", l_enter},
    {"is_head", l_is_head},
    {"wait", l_wait},
    {"leave", l_leave},
    {"signal", l_signal},
    {"keys", l_keys},
    {NULL, NULL},
};

int fh_lua_open_lockq(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  return 1;
}

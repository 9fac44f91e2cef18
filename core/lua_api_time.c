/* lua_api_time.c: the `time` module.
 *
 *   time.now()        -> seconds since the Unix epoch (UTC, fractional)
 *   time.monotonic()  -> seconds on a clock that never jumps
 *   time.sleep(s)     -> true after s seconds   (yields; s >= 0)
 *
 * A sleep is a task parked without wake-up (fh_task_park in task.c, which
 * also serves host.park and lockq.wait). */
#include "fh.h"
#include "lua_api.h"
#include "task.h"

#include <lauxlib.h>

static int l_now(lua_State *L) {
  lua_pushnumber(L, fh_now());
  return 1;
}

static int l_monotonic(lua_State *L) {
  lua_pushnumber(L, fh_monotonic());
  return 1;
}

static int l_sleep(lua_State *L) {
  double secs = luaL_checknumber(L, 1);
  luaL_argcheck(L, secs >= 0, 1, "seconds must not be negative");
  fh_task *t = fh_task_check_current(L, "time.sleep");
  if (fh_task_park(t, secs, 0)) return luaL_error(L, "out of memory");
  return lua_yield(L, 0);
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

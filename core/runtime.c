/* runtime.c: builds a worker's Lua state and runs the boot script. */
#include "runtime.h"

#include "fh.h"
#include "lua_api.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

static const luaL_Reg preloads[] = {
    {"crypto", fh_lua_open_crypto},
    {"http", fh_lua_open_http},
    {"redis", fh_lua_open_redis},
    {"time", fh_lua_open_time},
    {"log", fh_lua_open_log},
    {"host", fh_lua_open_host},
    {"lockq", fh_lua_open_lockq},
    {"tstate", fh_lua_open_tstate},
    {"fswatch", fh_lua_open_fswatch},
    {"pubsub", fh_lua_open_pubsub},
    {"pattern", fh_lua_open_pattern},
    {"cjson", luaopen_cjson},
    {"cjson.safe", luaopen_cjson_safe},
    {NULL, NULL},
};

int fh_lua_fail(lua_State *L, const char *word) {
  lua_pushnil(L);
  lua_pushstring(L, word);
  return 2;
}

void fh_runtime_open(lua_State *L, const fh_config *cfg) {
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  for (const luaL_Reg *r = preloads; r->name; r++) {
    lua_pushcfunction(L, r->func);
    lua_setfield(L, -2, r->name);
  }
  lua_pop(L, 1);
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s%s%s/?.lua;%s/?/init.lua;%s", cfg->lua_path,
                  cfg->lua_path[0] ? ";" : "", cfg->scripts_dir, cfg->scripts_dir,
                  lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 2);
}

/* ---- collector pacing -------------------------------------------------------
 * LuaJIT starts a cycle when the heap reaches pause % of what the last cycle
 * left alive. A worker's live data is small (~300 KB of code and modules)
 * while each turn allocates a few KB, so at 150 % it would mark everything
 * every few dozen turns. A sentinel userdata, dropped at once and finalized
 * once per cycle, sets the next pause so that the heap may also always grow
 * by the floor: max(pause, (live + floor) / live). With thousands of
 * waiting turns alive the configured pause decides again. */

#define GC_SENTINEL "fh.gc_sentinel"
#define GC_CLOSING "fh.closing"
#define GC_PAUSE_MAX 1000

static void gc_sentinel_drop(lua_State *L);

static int gc_sentinel_finalized(lua_State *L) {
  int pause = (int)lua_tointeger(L, lua_upvalueindex(1));
  int floor_kb = (int)lua_tointeger(L, lua_upvalueindex(2));
  int live_kb = lua_gc(L, LUA_GCCOUNT, 0);
  if (live_kb < 1) live_kb = 1;
  long want = 100L * (live_kb + floor_kb) / live_kb;
  if (want < pause) want = pause;
  if (want > GC_PAUSE_MAX) want = GC_PAUSE_MAX;
  lua_gc(L, LUA_GCSETPAUSE, (int)want);
  /* lua_close finalizes until no finalizable object is left: stop there */
  lua_getfield(L, LUA_REGISTRYINDEX, GC_CLOSING);
  int closing = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!closing) gc_sentinel_drop(L);
  return 0;
}

static void gc_sentinel_drop(lua_State *L) {
  lua_newuserdata(L, 1);
  luaL_getmetatable(L, GC_SENTINEL);
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
}

static void gc_pace(lua_State *L, const fh_config *cfg) {
  if (cfg->lua_gc_pause > 0) lua_gc(L, LUA_GCSETPAUSE, cfg->lua_gc_pause);
  if (cfg->lua_gc_floor <= 0) return;
  luaL_newmetatable(L, GC_SENTINEL);
  lua_pushinteger(L, cfg->lua_gc_pause > 0 ? cfg->lua_gc_pause : 200);
  lua_pushinteger(L, cfg->lua_gc_floor);
  lua_pushcclosure(L, gc_sentinel_finalized, 2);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  gc_sentinel_drop(L);
}

void fh_runtime_close(lua_State *L) {
  if (!L) return;
  lua_pushboolean(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, GC_CLOSING);
  lua_close(L);
}

int fh_runtime_boot(lua_State *L, const fh_config *cfg, const char *mode,
                    int worker_index, int *handler_ref, char *err, size_t errsz) {
  fh_runtime_open(L, cfg);
  /* a worker holds a coroutine and its data per waiting request: collect
   * when the heap has grown by half (LuaJIT's default waits for double),
   * but never less than lua_gc_floor KB (see gc_pace) */
  gc_pace(L, cfg);
  char boot[1024];
  snprintf(boot, sizeof(boot), "%s/host/boot.lua", cfg->scripts_dir);
  if (luaL_loadfile(L, boot)) goto fail;
  lua_createtable(L, 0, 6);
  lua_pushstring(L, mode);
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, worker_index);
  lua_setfield(L, -2, "worker");
  lua_pushinteger(L, cfg->workers);
  lua_setfield(L, -2, "workers");
  lua_pushstring(L, cfg->routes);
  lua_setfield(L, -2, "routes");
  lua_pushnumber(L, cfg->timer_poll);
  lua_setfield(L, -2, "timer_poll");
  lua_pushnumber(L, cfg->timer_lease);
  lua_setfield(L, -2, "timer_lease");
  lua_pushstring(L, cfg->versions);
  lua_setfield(L, -2, "versions");
  lua_pushnumber(L, cfg->versions_poll);
  lua_setfield(L, -2, "versions_poll");
  lua_createtable(L, cfg->argc, 0);
  for (int i = 0; i < cfg->argc; i++) {
    lua_pushstring(L, cfg->argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "argv");
  if (cfg->path) {
    lua_pushstring(L, cfg->path);
    lua_setfield(L, -2, "config_path");
  }
  if (lua_pcall(L, 1, 1, 0)) goto fail;
  if (!lua_isfunction(L, -1)) {
    snprintf(err, errsz, "%s: must return the request handler function", boot);
    lua_pop(L, 1);
    return FH_ELUA;
  }
  *handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
fail:
  snprintf(err, errsz, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "boot failed");
  lua_pop(L, 1);
  return FH_ELUA;
}

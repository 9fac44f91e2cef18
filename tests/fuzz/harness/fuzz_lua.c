/* fuzz_lua.c: a libFuzzer target whose checks are written in Lua.
 *
 * Built once per target name (FH_FUZZ_TARGET, e.g. "webhook_telegram"): one
 * Lua state with the runtime library (fh_runtime_open, as a worker has it),
 * then tests/fuzz/targets/<file>.lua, where <file> is the name up to its
 * first "_" ("webhook"), is run with the target name and the scripts
 * folder, and returns
 * function(input). Each input is one protected call of that function: the
 * target raises when it finds something (an error escaping the code under
 * test, a 5xx, a broken invariant) and the harness aborts with the message
 * and traceback, which libFuzzer reports as a crash and saves the input. */
#include "config.h"
#include "fh.h"
#include "log.h"
#include "lua_cov.h"
#include "metrics.h"
#include "runtime.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FH_FUZZ_TARGET
#error "build with -DFH_FUZZ_TARGET=\"name\""
#endif

static lua_State *L;
static int target_ref = LUA_NOREF;
static fh_config cfg;

static int traceback(lua_State *l) {
  const char *msg = lua_tostring(l, 1);
  luaL_traceback(l, l, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* the state's memory is LuaJIT's own (mmap), which LeakSanitizer does not
 * scan: C buffers only it points to (cjson's) would look leaked at exit */
static void close_state(void) {
  if (L) lua_close(L);
  L = NULL;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz target %s: %s\n%s\n", FH_FUZZ_TARGET, what, detail ? detail : "");
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char err[1024], path[2048], file[64];
  fh_metrics_init();
  fh_metric_families_declare();
  const char *level = getenv("FH_FUZZ_LOG_LEVEL");
  fh_log_set_level_name(level ? level : "error");
  if (fh_config_load(&cfg, NULL, err, sizeof(err))) die("bad configuration", err);
  /* the checkout this was built from, whatever the current directory */
  free(cfg.scripts_dir);
  cfg.scripts_dir = strdup(FH_SOURCE_DIR "/scripts");
  /* FH_FUZZ_LUA_PATH, searched first, lets a run try other versions of
   * runtime modules (a fix, an older tree) without touching scripts/ */
  const char *extra = getenv("FH_FUZZ_LUA_PATH");
  snprintf(path, sizeof(path), "%s%s%s", extra ? extra : "", extra ? ";" : "", FH_SOURCE_DIR "/tests/fuzz/?.lua");
  free(cfg.lua_path);
  cfg.lua_path = strdup(path);

  L = luaL_newstate();
  if (!L) die("cannot create a Lua state", NULL);
  fh_runtime_open(L, &cfg);
  fh_fuzz_cov_attach(L);
  atexit(close_state);

  fh_copy(file, sizeof(file), FH_FUZZ_TARGET);
  char *cut = strchr(file, '_');
  if (cut) *cut = '\0';
  snprintf(path, sizeof(path), "%s/tests/fuzz/targets/%s.lua", FH_SOURCE_DIR, file);
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, path)) die("cannot load the target", lua_tostring(L, -1));
  lua_pushstring(L, FH_FUZZ_TARGET);
  lua_pushstring(L, cfg.scripts_dir);
  if (lua_pcall(L, 2, 1, -4)) die("the target failed to set up", lua_tostring(L, -1));
  if (!lua_isfunction(L, -1)) die("the target must return function(input)", path);
  target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fh_fuzz_cov_reset();
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, target_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, -3)) die("finding", lua_tostring(L, -1));
  lua_settop(L, 0);
  return 0;
}

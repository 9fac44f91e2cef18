/* lua_api_host.c: the `host` module: what the runtime library needs from
 * the host itself.
 *
 *   host.spawn(fn, ...)          -> task id; runs fn as a background task
 *   host.exit(code)              stops this worker's loop (flowhost test)
 *   host.metrics()               -> Prometheus text of all metrics
 *   host.metric_add(name, labels, v) / metric_set / metric_observe
 *                                labels: preformatted `k="v",...` or nil
 *   host.escape_label(s)         -> s escaped for a label value
 *   host.tasks()                 -> tasks alive on this worker
 *   host.task_id()               -> id of the calling task
 *   host.scripts_dir()           -> the runtime library folder (setting `scripts`)
 *   host.set_route(name)         names the calling request task's route (its
 *                                metrics keep it even when the handler raises)
 *   host.park(s)                 -> true if woken by host.wake, false after s
 *   host.wake(id)                -> true if task id was parked (resumes later)
 *   host.call_on(i, fn, payload) -> ok, result   run global fn(payload) in
 *                                worker i's main state and wait (yields)
 *   host.workers()               -> number of workers
 *   host.quarantine_worker()     -> the quarantine worker's index for
 *                                call_on (one past the others), or nil
 *   host.quarantine(id, secs)    puts tenant id in quarantine for secs
 *                                (0: ends it) -> true | nil, "full"
 *   host.quarantined(id)         -> seconds of quarantine left, or nil
 *   host.request_reload()        every worker reloads its tenants (as on SIGHUP)
 *   host.reload_generation()     -> count of reload requests so far
 *   host.listdir(path)           -> sorted names in a directory (no . or ..)
 *                                | nil, err (local disk only: flows and config)
 *   host.version                 the flowhost version
 */
#include "config.h"
#include "fh.h"
#include "lua_api.h"
#include "metrics.h"
#include "quarantine.h"
#include "task.h"
#include "worker.h"
#include "xcall.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

static int l_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 1;
  fh_worker *w = fh_worker_of(L);
  fh_task *cur = fh_task_current(L);
  uint64_t id = fh_task_spawn(fh_worker_sched(w), L, nargs, NULL, NULL,
                              cur ? fh_task_context(cur) : NULL);
  if (!id) return luaL_error(L, "host.spawn: out of memory");
  lua_pushnumber(L, (lua_Number)id);
  return 1;
}

/* host.park(seconds) -> true when woken by host.wake, false on timeout */
static int l_park(lua_State *L) {
  double secs = luaL_checknumber(L, 1);
  luaL_argcheck(L, secs >= 0, 1, "seconds must not be negative");
  fh_task *t = fh_task_check_current(L, "host.park");
  if (fh_task_park(t, secs, 1)) return luaL_error(L, "out of memory");
  return lua_yield(L, 0);
}

/* host.wake(task_id) -> true if that task was parked (it resumes on the
 * next loop turn, never inside the caller) */
static int l_wake(lua_State *L) {
  uint64_t id = (uint64_t)luaL_checknumber(L, 1);
  lua_pushboolean(L, fh_task_wake(fh_worker_sched(fh_worker_of(L)), id));
  return 1;
}

static int l_exit(lua_State *L) {
  fh_worker_exit(fh_worker_of(L), (int)luaL_optinteger(L, 1, 0));
  return 0;
}

static int l_metrics(lua_State *L) {
  size_t len;
  char *text;
  int rc = fh_metrics_render(&text, &len);
  if (rc) return luaL_error(L, "%s", fh_strerror(rc));
  lua_pushlstring(L, text, len);
  free(text);
  return 1;
}

static int l_metric_add(lua_State *L) {
  fh_metrics_add(luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL), luaL_optnumber(L, 3, 1));
  return 0;
}

static int l_metric_set(lua_State *L) {
  fh_metrics_set(luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL), luaL_checknumber(L, 3));
  return 0;
}

static int l_metric_observe(lua_State *L) {
  fh_metrics_observe(luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL), luaL_checknumber(L, 3));
  return 0;
}

static int l_escape_label(lua_State *L) {
  char out[512];
  size_t n = fh_metrics_escape(luaL_checkstring(L, 1), out, sizeof(out));
  lua_pushlstring(L, out, n);
  return 1;
}

static int l_tasks(lua_State *L) {
  lua_pushinteger(L, fh_worker_inflight(fh_worker_of(L)));
  return 1;
}

/* host.worker() -> index of the worker thread running this state (0-based) */
static int l_worker(lua_State *L) {
  lua_pushinteger(L, fh_worker_index(fh_worker_of(L)));
  return 1;
}

static int l_scripts_dir(lua_State *L) {
  lua_pushstring(L, fh_worker_config(fh_worker_of(L))->scripts_dir);
  return 1;
}

static int l_set_route(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  fh_task *t = fh_task_current(L); /* outside a task (a spec calling the router): nothing to name */
  if (t) fh_copy(fh_task_context(t)->route, sizeof(fh_task_context(t)->route), name);
  return 0;
}

static int l_task_id(lua_State *L) {
  fh_task *t = fh_task_check_current(L, "host.task_id");
  lua_pushnumber(L, (lua_Number)fh_task_id(t));
  return 1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int l_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (!d) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **grown = realloc(names, cap * sizeof(char *));
      if (!grown) break;
      names = grown;
    }
    if (!(names[n] = strdup(e->d_name))) break;
    n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof(char *), cmp_names);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, (int)i + 1);
    free(names[i]);
  }
  free(names);
  return 1;
}

static int l_request_reload(lua_State *L) {
  (void)L;
  fh_request_reload();
  return 0;
}

static int l_reload_generation(lua_State *L) {
  lua_pushnumber(L, (lua_Number)fh_reload_generation());
  return 1;
}

static int l_workers(lua_State *L) {
  lua_pushinteger(L, fh_workers_count());
  return 1;
}

static int l_quarantine_worker(lua_State *L) {
  int q = fh_workers_quarantine();
  if (q < 0) lua_pushnil(L); else lua_pushinteger(L, q);
  return 1;
}

static int l_quarantine(lua_State *L) {
  const char *id = luaL_checkstring(L, 1);
  double secs = luaL_checknumber(L, 2);
  if (fh_quarantine_set(id, secs > 0 ? fh_monotonic() + secs : 0)) {
    lua_pushnil(L);
    lua_pushliteral(L, "full");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_quarantined(lua_State *L) {
  double until = fh_quarantine_until(luaL_checkstring(L, 1));
  if (until > 0) lua_pushnumber(L, until - fh_monotonic()); else lua_pushnil(L);
  return 1;
}

static const luaL_Reg funcs[] = {
    {"listdir", l_listdir},
    {"call_on", fh_xcall_lua},
    {"workers", l_workers},
    {"quarantine_worker", l_quarantine_worker},
    {"quarantine", l_quarantine},
    {"quarantined", l_quarantined},
    {"request_reload", l_request_reload},
    {"reload_generation", l_reload_generation},
    {"spawn", l_spawn},
    {"task_id", l_task_id},
    {"set_route", l_set_route},
    {"scripts_dir", l_scripts_dir},
    {"park", l_park},
    {"wake", l_wake},
    {"exit", l_exit},
    {"metrics", l_metrics},
    {"metric_add", l_metric_add},
    {"metric_set", l_metric_set},
    {"metric_observe", l_metric_observe},
    {"escape_label", l_escape_label},
    {"tasks", l_tasks},
    {"worker", l_worker},
    {NULL, NULL},
};

int fh_lua_open_host(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  lua_pushliteral(L, FH_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}

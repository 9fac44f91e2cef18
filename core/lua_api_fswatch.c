/* lua_api_fswatch.c: the `fswatch` module: file change notices (inotify,
 * through libuv) for hot reload.
 *
 *   fswatch.add(dir)      -> true | nil, err   watch a directory (not recursive)
 *   fswatch.take()        -> list of changed paths since the last take
 *   fswatch.notify(task)  wake that parked task (host.park) on the next change
 *
 * One watcher set per worker state; paths are "dir/name". */
#include "fh.h"
#include "lua_api.h"
#include "task.h"
#include "worker.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENDING 4096

typedef struct watch {
  uv_fs_event_t ev;
  struct watchset *set;
  char *dir;
} watch;

typedef struct watchset {
  fh_worker *w;
  char *pending[MAX_PENDING];
  int npending;
  uint64_t waiter;
} watchset;

static const char *SET_KEY = "fh.fswatch";

static watchset *get_set(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, SET_KEY);
  watchset *s = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (s) return s;
  s = calloc(1, sizeof(*s));
  if (!s) luaL_error(L, "out of memory");
  s->w = fh_worker_of(L);
  lua_pushlightuserdata(L, s);
  lua_setfield(L, LUA_REGISTRYINDEX, SET_KEY);
  return s;
}

static void on_event(uv_fs_event_t *h, const char *name, int events, int status) {
  (void)events;
  watch *wt = h->data;
  watchset *s = wt->set;
  if (status < 0 || s->npending >= MAX_PENDING) return;
  size_t n = strlen(wt->dir) + (name ? strlen(name) : 0) + 2;
  char *p = malloc(n);
  if (!p) return;
  snprintf(p, n, "%s/%s", wt->dir, name ? name : "");
  s->pending[s->npending++] = p;
  if (s->waiter) {
    uint64_t id = s->waiter;
    s->waiter = 0;
    fh_task_wake(fh_worker_sched(s->w), id);
  }
}

static int l_add(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  watchset *s = get_set(L);
  watch *wt = calloc(1, sizeof(*wt));
  if (!wt) return luaL_error(L, "out of memory");
  wt->set = s;
  wt->dir = strdup(dir);
  uv_fs_event_init(fh_worker_loop(s->w), &wt->ev);
  wt->ev.data = wt;
  int rc = uv_fs_event_start(&wt->ev, on_event, dir, 0);
  if (rc) {
    uv_close((uv_handle_t *)&wt->ev, NULL);
    lua_pushnil(L);
    lua_pushstring(L, uv_strerror(rc));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_take(lua_State *L) {
  watchset *s = get_set(L);
  lua_createtable(L, s->npending, 0);
  for (int i = 0; i < s->npending; i++) {
    lua_pushstring(L, s->pending[i]);
    lua_rawseti(L, -2, i + 1);
    free(s->pending[i]);
  }
  s->npending = 0;
  return 1;
}

static int l_notify(lua_State *L) {
  watchset *s = get_set(L);
  s->waiter = (uint64_t)luaL_checknumber(L, 1);
  return 0;
}

int fh_lua_open_fswatch(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"add", l_add}, {"take", l_take}, {"notify", l_notify}, {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  return 1;
}

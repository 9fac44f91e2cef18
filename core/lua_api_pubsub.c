/* lua_api_pubsub.c: the `pubsub` module: messages of a Redis pub/sub
 * channel, on a connection of the worker's own (its shared connection
 * cannot SUBSCRIBE: see lua_api_redis.c).
 *
 *   pubsub.listen(channel) -> true | nil, err   start listening (once per
 *                          worker state; it reconnects and subscribes again)
 *   pubsub.take()          -> list of payloads heard since the last take
 *   pubsub.notify(task)    wake that parked task (host.park) on the next message
 *
 * Pub/sub keeps nothing for a listener that is away: callers poll as well. */
#include "fh.h"
#include "lua_api.h"
#include "redis.h"
#include "task.h"
#include "worker.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PENDING 256

typedef struct {
  fh_worker *w;
  fh_redis *r;
  char *pending[MAX_PENDING];
  size_t lens[MAX_PENDING];
  int npending;
  uint64_t waiter;
} listener;

static const char *KEY = "fh.pubsub";

static void on_msg(const char *payload, size_t len, void *data) {
  listener *l = data;
  if (l->npending < MAX_PENDING) {
    char *p = malloc(len + 1);
    if (p) {
      memcpy(p, payload, len);
      p[len] = '\0';
      l->pending[l->npending] = p;
      l->lens[l->npending++] = len;
    }
  }
  if (l->waiter) {
    uint64_t id = l->waiter;
    l->waiter = 0;
    fh_task_wake(fh_worker_sched(l->w), id);
  }
}

static void on_worker_gone(fh_worker *w, void *arg) {
  (void)w;
  listener *l = arg;
  fh_redis_destroy(l->r);
  for (int i = 0; i < l->npending; i++) free(l->pending[i]);
  free(l);
}

static listener *get(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, KEY);
  listener *l = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return l;
}

static int l_listen(lua_State *L) {
  const char *channel = luaL_checkstring(L, 1);
  if (get(L)) return fh_lua_fail(L, "already listening");
  fh_worker *w = fh_worker_of(L);
  const fh_config *cfg = fh_worker_config(w);
  listener *l = calloc(1, sizeof(*l));
  if (!l) return luaL_error(L, "out of memory");
  l->w = w;
  int rc = fh_redis_create(&l->r, fh_worker_loop(w), cfg->redis_url, cfg->redis_timeout);
  if (!rc && (rc = fh_redis_listen(l->r, channel, on_msg, l))) fh_redis_destroy(l->r);
  if (!rc && (rc = fh_worker_on_destroy(w, on_worker_gone, l))) fh_redis_destroy(l->r);
  if (rc) {
    free(l);
    return fh_lua_fail(L, fh_strerror(rc));
  }
  lua_pushlightuserdata(L, l);
  lua_setfield(L, LUA_REGISTRYINDEX, KEY);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_take(lua_State *L) {
  listener *l = get(L);
  int n = l ? l->npending : 0;
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushlstring(L, l->pending[i], l->lens[i]);
    lua_rawseti(L, -2, i + 1);
    free(l->pending[i]);
  }
  if (l) l->npending = 0;
  return 1;
}

static int l_notify(lua_State *L) {
  listener *l = get(L);
  uint64_t id = (uint64_t)luaL_checknumber(L, 1);
  if (l) l->waiter = id;
  return 0;
}

int fh_lua_open_pubsub(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"listen", l_listen}, {"take", l_take}, {"notify", l_notify}, {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  return 1;
}

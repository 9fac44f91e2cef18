/* lua_api_redis.c: the `redis` module.
 *
 *   redis.call(cmd, ...)        -> value | nil, err         (yields)
 *   redis.pipeline{{...}, ...}  -> {value | {err=word}, ...} | nil, err (yields)
 *   redis.connected()           -> boolean
 *   redis.use_db(n)             this worker's commands go to database n, for
 *                               good (reconnects select it again)
 *   redis.db()                  -> the database commands go to
 *   redis.null                  the value of a missing key (same as json.null)
 *
 * Commands that would take over or block the worker's shared connection
 * (SUBSCRIBE and the other pub/sub modes, MONITOR, BLPOP and the other
 * blocking pops, WAIT, XREAD/XREADGROUP with BLOCK) raise.
 *
 * Replies: status and bulk strings become strings, integers numbers, arrays
 * tables, nil bulk replies redis.null. An error reply or an unreachable
 * Redis gives nil, err ("redis unavailable" when disconnected). Arguments
 * may be strings or numbers. Commands sent by concurrent tasks on one worker
 * share its connection and are pipelined. */
#include "fh.h"
#include "freelist.h"
#include "lua_api.h"
#include "lua_async.h"
#include "worker.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_ARGS 1024

typedef struct {
  fh_async *g;
  int index;
} redis_op;

/* one per worker thread: a record per command sent */
static __thread fh_freelist ops = FH_FREELIST(redis_op, 4096);

static void push_reply(lua_State *co, redisReply *r, int depth) {
  switch (r->type) {
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
  case REDIS_REPLY_ERROR:
    lua_pushlstring(co, r->str, r->len);
    break;
  case REDIS_REPLY_INTEGER:
    lua_pushnumber(co, (lua_Number)r->integer);
    break;
  case REDIS_REPLY_ARRAY:
    if (depth > 16) { lua_pushnil(co); break; }
    lua_createtable(co, (int)r->elements, 0);
    for (size_t i = 0; i < r->elements; i++) {
      push_reply(co, r->element[i], depth + 1);
      lua_rawseti(co, -2, (int)i + 1);
    }
    break;
  default:
    lua_pushlightuserdata(co, NULL);
  }
}

static void on_reply(redisReply *reply, const char *err, void *data) {
  redis_op *op = data;
  fh_async *g = op->g;
  int i = op->index;
  fh_freelist_put(&ops, op);
  if (!reply) { fh_async_fail(g, i, err); return; }
  if (reply->type == REDIS_REPLY_ERROR) { fh_async_fail(g, i, reply->str); return; }
  lua_State *co = fh_async_target(g);
  if (co) push_reply(co, reply, 0);
  if (co) fh_async_set(g, i);
  else fh_async_fail(g, i, "gone");
}

/* Sends the command whose arguments are at stack positions first..last. */
static void send_command(lua_State *L, fh_redis *r, fh_async *g, int index,
                         int first, int last) {
  const char *argv[MAX_ARGS];
  size_t lens[MAX_ARGS];
  int argc = last - first + 1;
  for (int i = 0; i < argc; i++) {
    if (lua_type(L, first + i) == LUA_TNUMBER) {
      /* lua_tostring keeps only 14 digits: write numbers exactly */
      lua_Number n = lua_tonumber(L, first + i);
      char tmp[64];
      if (n == (lua_Number)(long long)n && n > -9.2e18 && n < 9.2e18)
        fh_itoa((long long)n, tmp);
      else
        snprintf(tmp, sizeof(tmp), "%.17g", n);
      lua_pushstring(L, tmp);
      lua_replace(L, first + i);
    }
    argv[i] = lua_tolstring(L, first + i, &lens[i]);
  }
  redis_op *op = fh_freelist_get(&ops);
  if (!op) { fh_async_fail(g, index, "out of memory"); return; }
  op->g = g;
  op->index = index;
  int rc = fh_redis_command(r, argc, argv, lens, on_reply, op);
  if (rc) {
    fh_freelist_put(&ops, op);
    fh_async_fail(g, index, fh_strerror(rc));
  }
}

/* Commands that would leave the shared connection unusable for the other
 * tasks of the worker: a pub/sub or monitor mode, or a wait on the server. */
static const char *const held_connection[] = {
    "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
    "MONITOR", "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX",
    "BZMPOP", "WAIT", "WAITAOF", NULL,
};

static int name_is(const char *s, size_t n, const char *upper) {
  size_t i = 0;
  for (; i < n && upper[i]; i++)
    if (toupper((unsigned char)s[i]) != upper[i]) return 0;
  return i == n && !upper[i];
}

static void check_shareable(lua_State *L, int first, int last, const char *what) {
  size_t n;
  if (lua_type(L, first) != LUA_TSTRING) return; /* (lua_tolstring would turn a number into text) */
  const char *cmd = lua_tolstring(L, first, &n);
  for (int i = 0; held_connection[i]; i++)
    if (name_is(cmd, n, held_connection[i]))
      luaL_error(L, "%s: %s would hold the worker's shared Redis connection; "
                    "poll instead (e.g. LPOP, or XREADGROUP without BLOCK, from a timer)",
                 what, held_connection[i]);
  if (name_is(cmd, n, "XREAD") || name_is(cmd, n, "XREADGROUP")) {
    for (int i = first + 1; i <= last; i++) {
      if (lua_type(L, i) != LUA_TSTRING) continue;
      const char *a = lua_tolstring(L, i, &n);
      if (name_is(a, n, "STREAMS")) break;
      if (name_is(a, n, "BLOCK"))
        luaL_error(L, "%s: XREAD with BLOCK would hold the worker's shared Redis "
                      "connection; leave BLOCK out and poll from a timer", what);
    }
  }
}

static void check_args(lua_State *L, int first, int last, const char *what) {
  if (last < first) luaL_error(L, "%s: a command name is required", what);
  if (last - first + 1 > MAX_ARGS) luaL_error(L, "%s: more than %d arguments", what, MAX_ARGS);
  for (int i = first; i <= last; i++) {
    int t = lua_type(L, i);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
      luaL_error(L, "%s: argument %d must be a string or number, got %s", what,
                 i - first + 1, lua_typename(L, t));
  }
  check_shareable(L, first, last, what);
}

static int l_call(lua_State *L) {
  int n = lua_gettop(L);
  check_args(L, 1, n, "redis.call");
  fh_task *t = fh_task_check_current(L, "redis.call");
  fh_worker *w = fh_worker_of(L);
  fh_async *g = fh_async_new(L, t, 1, 1);
  send_command(L, fh_worker_redis(w), g, 1, 1, n);
  return fh_async_wait(L, g);
}

static int l_pipeline(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_objlen(L, 1);
  fh_task *t = fh_task_check_current(L, "redis.pipeline");
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (!lua_istable(L, -1)) luaL_error(L, "redis.pipeline: entry %d must be a table", i);
    int m = (int)lua_objlen(L, -1);
    for (int j = 1; j <= m; j++) lua_rawgeti(L, -1 - (j - 1), j);
    check_args(L, lua_gettop(L) - m + 1, lua_gettop(L), "redis.pipeline");
    lua_pop(L, m + 1);
  }
  fh_worker *w = fh_worker_of(L);
  /* like redis.call: queued while a connection is being made, failed at
   * once ("redis unavailable") while there is none */
  fh_async *g = fh_async_new(L, t, n, 0);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    int m = (int)lua_objlen(L, -1);
    int base = lua_gettop(L);
    for (int j = 1; j <= m; j++) lua_rawgeti(L, base, j);
    send_command(L, fh_worker_redis(w), g, i, base + 1, base + m);
    lua_settop(L, base - 1);
  }
  return fh_async_wait(L, g);
}

static int l_connected(lua_State *L) {
  lua_pushboolean(L, fh_redis_connected(fh_worker_redis(fh_worker_of(L))));
  return 1;
}

static int l_use_db(lua_State *L) {
  int db = (int)luaL_checkinteger(L, 1);
  if (fh_redis_use_db(fh_worker_redis(fh_worker_of(L)), db))
    return luaL_argerror(L, 1, "a database number 0..65535 (and a Redis to use)");
  return 0;
}

static int l_db(lua_State *L) {
  lua_pushinteger(L, fh_redis_db(fh_worker_redis(fh_worker_of(L))));
  return 1;
}

static const luaL_Reg funcs[] = {
    {"use_db", l_use_db},
    {"db", l_db},
    {"call", l_call},
    {"pipeline", l_pipeline},
    {"connected", l_connected},
    {NULL, NULL},
};

int fh_lua_open_redis(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  return 1;
}

/* lua_api_log.c: the `log` module: JSON lines on stderr.
 *
 *   log.debug|info|warn|error(msg, fields?)   fields: {key = string|number|boolean}
 *   log.context{tenant=, conversation=}        tags later lines of this task
 *
 * Every line carries ts, level, msg, and the task's request_id, tenant and
 * conversation when known. */
#include "buf.h"
#include "log.h"
#include "lua_api.h"
#include "task.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

static void add_ctx(fh_buf *b, lua_State *L) {
  fh_task *t = fh_task_current(L);
  if (!t) return;
  fh_task_ctx *c = fh_task_context(t);
  if (c->request_id[0]) fh_log_field(b, "request_id", c->request_id);
  if (c->tenant[0]) fh_log_field(b, "tenant", c->tenant);
  if (c->conversation[0]) fh_log_field(b, "conversation", c->conversation);
}

static int write_line(lua_State *L, fh_log_level level) {
  const char *msg = luaL_checkstring(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  if (!fh_log_enabled(level)) return 0;
  fh_buf b;
  fh_log_begin(&b, level, msg);
  add_ctx(&b, L);
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, -2);
        int t = lua_type(L, -1);
        fh_buf_append(&b, ",", 1);
        fh_buf_json_string(&b, k, strlen(k));
        fh_buf_append(&b, ":", 1);
        if (t == LUA_TNUMBER) {
          fh_buf_printf(&b, "%.14g", lua_tonumber(L, -1));
        } else if (t == LUA_TBOOLEAN) {
          fh_buf_puts(&b, lua_toboolean(L, -1) ? "true" : "false");
        } else {
          lua_getglobal(L, "tostring");
          lua_pushvalue(L, -2);
          lua_call(L, 1, 1);
          size_t n;
          const char *s = lua_tolstring(L, -1, &n);
          fh_buf_json_string(&b, s ? s : "?", s ? n : 1);
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
    }
  }
  fh_log_end(&b);
  return 0;
}

static int l_debug(lua_State *L) { return write_line(L, FH_LOG_DEBUG); }
static int l_info(lua_State *L) { return write_line(L, FH_LOG_INFO); }
static int l_warn(lua_State *L) { return write_line(L, FH_LOG_WARN); }
static int l_error(lua_State *L) { return write_line(L, FH_LOG_ERROR); }

static void copy_field(lua_State *L, const char *key, char *dst, size_t n) {
  lua_getfield(L, 1, key);
  if (lua_isstring(L, -1)) snprintf(dst, n, "%s", lua_tostring(L, -1));
  lua_pop(L, 1);
}

static int l_context(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  fh_task *t = fh_task_current(L);
  if (!t) return 0;
  fh_task_ctx *c = fh_task_context(t);
  copy_field(L, "tenant", c->tenant, sizeof(c->tenant));
  copy_field(L, "conversation", c->conversation, sizeof(c->conversation));
  copy_field(L, "request_id", c->request_id, sizeof(c->request_id));
  return 0;
}

static const luaL_Reg funcs[] = {
    {"debug", l_debug}, {"info", l_info}, {"warn", l_warn},
    {"error", l_error}, {"context", l_context}, {NULL, NULL},
};

int fh_lua_open_log(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  return 1;
}

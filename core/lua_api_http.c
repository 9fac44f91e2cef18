/* lua_api_http.c: the `http` module (outbound HTTP).
 *
 *   http.request{method, url, headers, body, timeout, connect_timeout, max_size}
 *       -> res | nil, err          (yields)
 *   http.all{req1, req2, ...}     -> {res | {err=word}, ...}   (yields; in parallel)
 *
 * res is {status = number, headers = {lowercased name = value}, body = string}.
 * err is a stable word: "timeout", "connection refused", "dns failed",
 * "tls failed", "response too large", "closed", "bad url", "request failed".
 * A 4xx/5xx answer is a response, not an error. */
#include "fh.h"
#include "http_client.h"
#include "lua_api.h"
#include "lua_async.h"
#include "worker.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADERS 64

typedef struct {
  fh_async *g;
  int index;
} http_op;

static void push_headers(lua_State *co, const char *p, size_t len) {
  lua_newtable(co);
  const char *end = p + len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon && memcmp(p, "HTTP/", 5) != 0) {
      char name[128];
      size_t n = (size_t)(colon - p);
      if (n >= sizeof(name)) n = sizeof(name) - 1;
      for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)p[i]);
      name[n] = '\0';
      const char *v = colon + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      lua_getfield(co, -1, name);
      if (lua_isstring(co, -1)) { /* repeated header: join with ", " */
        lua_pushliteral(co, ", ");
        lua_pushlstring(co, v, (size_t)(ve - v));
        lua_concat(co, 3);
      } else {
        lua_pop(co, 1);
        lua_pushlstring(co, v, (size_t)(ve - v));
      }
      lua_setfield(co, -2, name);
    }
    p = eol + 1;
  }
}

static void on_done(const char *err, fh_http_res *res, void *data) {
  http_op *op = data;
  fh_async *g = op->g;
  int i = op->index;
  free(op);
  if (err) { fh_async_fail(g, i, err); return; }
  lua_State *co = fh_async_target(g);
  if (!co) { fh_async_fail(g, i, "gone"); return; }
  lua_createtable(co, 0, 3);
  lua_pushinteger(co, res->status);
  lua_setfield(co, -2, "status");
  lua_pushlstring(co, res->body, res->body_len);
  lua_setfield(co, -2, "body");
  push_headers(co, res->headers, res->headers_len);
  lua_setfield(co, -2, "headers");
  fh_async_set(g, i);
}

static double opt_number(lua_State *L, int t, const char *key) {
  lua_getfield(L, t, key);
  double v = 0;
  if (!lua_isnil(L, -1)) {
    if (!lua_isnumber(L, -1)) luaL_error(L, "http.request: '%s' must be a number", key);
    v = lua_tonumber(L, -1);
    if (v < 0) luaL_error(L, "http.request: '%s' must not be negative", key);
  }
  lua_pop(L, 1);
  return v;
}

/* Checks the request table at index t (raising on misuse) and starts it.
 * Strings are borrowed from the table only until fh_http_request copies. */
static void start(lua_State *L, int t, fh_async *g, int index) {
  fh_http_req req;
  memset(&req, 0, sizeof(req));
  lua_getfield(L, t, "url");
  req.url = lua_tostring(L, -1);
  lua_getfield(L, t, "method");
  req.method = lua_isnil(L, -1) ? "GET" : lua_tostring(L, -1);
  lua_getfield(L, t, "body");
  if (!lua_isnil(L, -1)) req.body = lua_tolstring(L, -1, &req.body_len);
  req.timeout = opt_number(L, t, "timeout");
  req.connect_timeout = opt_number(L, t, "connect_timeout");
  req.max_response = (size_t)opt_number(L, t, "max_size");
  const char *headers[MAX_HEADERS];
  int nh = 0;
  lua_getfield(L, t, "headers");
  int hi = lua_gettop(L);
  lua_newtable(L); /* keeps the "Name: value" lines alive until copied */
  int li = lua_gettop(L);
  if (lua_istable(L, hi)) {
    lua_pushnil(L);
    while (lua_next(L, hi)) {
      if (nh < MAX_HEADERS && lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
        lua_pushvalue(L, -2);
        lua_pushliteral(L, ": ");
        lua_pushvalue(L, -3);
        lua_concat(L, 3);
        headers[nh] = lua_tostring(L, -1);
        lua_rawseti(L, li, ++nh);
      }
      lua_pop(L, 1);
    }
  }
  req.headers = headers;
  req.nheaders = nh;
  http_op *op = malloc(sizeof(*op));
  int rc = FH_ENOMEM;
  if (op) {
    op->g = g;
    op->index = index;
    rc = fh_http_request(fh_worker_http(fh_worker_of(L)), &req, on_done, op);
  }
  if (rc) {
    free(op);
    fh_async_fail(g, index, fh_strerror(rc));
  }
}

static void check_request(lua_State *L, int t, const char *what) {
  if (!lua_istable(L, t)) luaL_error(L, "%s: expected a request table", what);
  lua_getfield(L, t, "url");
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: 'url' must be a string", what);
  lua_getfield(L, t, "method");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "%s: 'method' must be a string", what);
  lua_getfield(L, t, "body");
  if (!lua_isnil(L, -1) && !lua_isstring(L, -1))
    luaL_error(L, "%s: 'body' must be a string", what);
  lua_getfield(L, t, "headers");
  if (!lua_isnil(L, -1) && !lua_istable(L, -1))
    luaL_error(L, "%s: 'headers' must be a table", what);
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
        luaL_error(L, "%s: headers must map names to strings", what);
      const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
      if (strpbrk(k, "\r\n:") || strpbrk(v, "\r\n"))
        luaL_error(L, "%s: header '%s' holds a line break or a bad name", what, k);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 4);
}

static int l_request(lua_State *L) {
  check_request(L, 1, "http.request");
  fh_task *t = fh_task_check_current(L, "http.request");
  fh_async *g = fh_async_new(L, t, 1, 1);
  int top = lua_gettop(L);
  start(L, 1, g, 1);
  lua_settop(L, top);
  return fh_async_wait(L, g);
}

static int l_all(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_objlen(L, 1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    check_request(L, lua_gettop(L), "http.all");
    lua_pop(L, 1);
  }
  fh_task *t = fh_task_check_current(L, "http.all");
  fh_async *g = fh_async_new(L, t, n, 0);
  for (int i = 1; i <= n; i++) {
    int top = lua_gettop(L);
    lua_rawgeti(L, 1, i);
    start(L, top + 1, g, i);
    lua_settop(L, top);
  }
  return fh_async_wait(L, g);
}

static const luaL_Reg funcs[] = {
    {"request", l_request},
    {"all", l_all},
    {NULL, NULL},
};

int fh_lua_open_http(lua_State *L) {
  lua_newtable(L);
  luaL_register(L, NULL, funcs);
  return 1;
}

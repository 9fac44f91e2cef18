/* lua_api_http.c: the `http` module (outbound HTTP).
 *
 *   http.request{method, url, headers, body, timeout, connect_timeout, max_size}
 *       -> res | nil, err          (yields)
 *   http.all{req1, req2, ...}     -> {res | {err=word}, ...}   (yields; in parallel)
 *
 *   on_wire = {"SET", key, value, ...}: a Redis command written to Redis's
 *   socket (not awaited) the instant before the request goes on the wire,
 *   once it has a connection: a journal entry that leaves with the request
 *   (see channels/consumer.lua). Not sent if no connection is made.
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
#define MAX_WIRE_ARGS 16

typedef struct {
  fh_async *g;
  int index;
  fh_redis *redis;          /* for on_wire */
  int wire_argc;
  char *wire_argv[MAX_WIRE_ARGS];
  size_t wire_lens[MAX_WIRE_ARGS];
} http_op;

static void wire_free(http_op *op) {
  for (int i = 0; i < op->wire_argc; i++) free(op->wire_argv[i]);
  op->wire_argc = 0;
}

static void on_wire_reply(redisReply *reply, const char *err, void *data) {
  (void)reply; (void)err; (void)data; /* a failed journal write only loses the mark */
}

static void on_wire(void *data) {
  http_op *op = data;
  /* written to Redis's socket before curl writes the request */
  if (fh_redis_command(op->redis, op->wire_argc, (const char **)op->wire_argv, op->wire_lens,
                       on_wire_reply, NULL) == 0)
    fh_redis_flush(op->redis);
  wire_free(op);
}

/* Copies the on_wire command table (at the top of the stack) into op; an
 * argument that cannot be copied (out of memory) drops the journal write. */
static void wire_copy(lua_State *L, http_op *op) {
  int n = (int)lua_objlen(L, -1);    /* checked by check_request */
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    size_t len;
    const char *v = lua_tolstring(L, -1, &len);
    op->wire_argv[op->wire_argc] = malloc(len + 1);
    if (!op->wire_argv[op->wire_argc]) { lua_pop(L, 1); wire_free(op); return; }
    memcpy(op->wire_argv[op->wire_argc], v, len + 1);
    op->wire_lens[op->wire_argc++] = len;
    lua_pop(L, 1);
  }
}

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
  wire_free(op);
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
  http_op *op = calloc(1, sizeof(*op));
  int rc = FH_ENOMEM;
  if (op) {
    op->g = g;
    op->index = index;
    lua_getfield(L, t, "on_wire");
    if (lua_istable(L, -1)) {
      op->redis = fh_worker_redis(fh_worker_of(L));
      wire_copy(L, op);
      req.on_wire = on_wire;
      req.on_wire_data = op;
    }
    lua_pop(L, 1);
    rc = fh_http_request(fh_worker_http(fh_worker_of(L)), &req, on_done, op);
  }
  if (rc) {
    if (op) wire_free(op);
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
  lua_getfield(L, t, "on_wire");
  if (!lua_isnil(L, -1)) {
    int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0;
    if (n < 1 || n > MAX_WIRE_ARGS)
      luaL_error(L, "%s: 'on_wire' must be a Redis command table of 1 to %d arguments", what, MAX_WIRE_ARGS);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      int ty = lua_type(L, -1);
      if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
        luaL_error(L, "%s: 'on_wire' argument %d must be a string or number", what, i);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 5);
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

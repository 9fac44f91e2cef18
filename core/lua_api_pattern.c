/* lua_api_pattern.c: the `pattern` module: string.find, match, gmatch and
 * gsub with LuaJIT 2.1's exact results and error messages, on flowhost's
 * own matcher (core/pattern.c), whose work is bounded.
 *
 *   pattern.find(s, p, init?, plain?)   -> start, end, captures... | nil
 *   pattern.match(s, p, init?)          -> captures (or the match) | nil
 *   pattern.gmatch(s, p)                -> iterator over the matches
 *   pattern.gsub(s, p, repl, n?)        -> string, count
 *
 * host/tenant_guard.lua installs them as string.find/match/gmatch/gsub in
 * every tenant state. Every FH_PATTERN_TICK steps of matching they call
 * fh_tstate_check, which raises "cpu budget exceeded" in a tenant state
 * whose turn is over budget; elsewhere it returns at once. The steps are
 * counted across calls on a thread, each call costing a few more, so many
 * short calls reach a check too; a check on every call would cost a read
 * of the thread's CPU clock (~0.5 us, ten times a short find). Results are
 * built in a luaL_Buffer, so they count against the state's memory, and
 * an error (a budget, a gsub callback's) unwinds with nothing to free. */
#include "lua_api.h"
#include "pattern.h"
#include "task.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

/* Steps until the next budget check, carried from call to call on this
 * thread; each call costs ENTRY_STEPS more than its matching does. */
static _Thread_local long steps_left;
#define ENTRY_STEPS 8

/* The thread's CPU clock at the first tick of the call in progress (0
 * before it): a tick costs a clock read only in a call long enough to tick. */
static _Thread_local double call_cpu;

static void on_tick(void *ud) {
  double at = call_cpu;
  if (at == 0) call_cpu = fh_thread_cpu();
  fh_tstate_check(ud, at);
}

static void on_fail(void *ud, int err) { luaL_error(ud, "%s", fh_pattern_strerror(err)); }

static void state_init(lua_State *L, fh_pattern_state *ms, fh_pattern_hooks *h, const char *s, size_t len) {
  h->tick = on_tick;
  h->fail = on_fail;
  h->ud = L;
  call_cpu = 0;
  fh_pattern_init(ms, s, len, h, steps_left - ENTRY_STEPS);
}

static void state_done(const fh_pattern_state *ms) { steps_left = ms->left; }

/* A string argument (numbers become strings), as luaL_checklstring with
 * one API call fewer when all is well: these functions are called often
 * on short strings, where the calls are most of the cost. */
static const char *arg_string(lua_State *L, int arg, size_t *len) {
  const char *s = lua_tolstring(L, arg, len);
  return s ? s : luaL_checklstring(L, arg, len);
}

/* optional number argument arg of a call with top arguments */
static int opt_number(lua_State *L, int top, int arg, double *d) {
  if (top < arg) return 0;
  *d = lua_tonumber(L, arg);   /* 0 for anything but a number or a numeric string */
  if (*d != 0 || lua_isnumber(L, arg)) return 1;
  if (lua_isnil(L, arg)) return 0;
  *d = luaL_checknumber(L, arg);   /* raises */
  return 1;
}

/* An optional integer argument as LuaJIT's string.find reads its init:
 * truncated to 32 bits, out of range (or NaN) is INT32_MIN. */
static int32_t opt_int32(lua_State *L, int top, int arg, int32_t def) {
  double d;
  if (!opt_number(L, top, arg, &d)) return def;
  return d > -2147483649.0 && d < 2147483648.0 ? (int32_t)d : INT32_MIN;
}

/* ... and as its string.gsub reads n: through a 64-bit integer, then its
 * low 32 bits. */
static int32_t opt_int64_low(lua_State *L, int top, int arg, int32_t def) {
  double d;
  if (!opt_number(L, top, arg, &d)) return def;
  int64_t i = d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? (int64_t)d : INT64_MIN;
  return (int32_t)(uint32_t)(uint64_t)i;
}

/* capture i of the last match; with no captures, i == 0 is the match s..e */
static void push_capture(lua_State *L, const fh_pattern_state *ms, int i, const char *s, const char *e) {
  if (i >= ms->level) {
    if (i != 0) luaL_error(L, "%s", fh_pattern_strerror(FH_PATTERN_EINDEX));
    lua_pushlstring(L, s, (size_t)(e - s));
    return;
  }
  ptrdiff_t len = ms->capture[i].len;
  if (len == FH_PATTERN_CAP_UNFINISHED) luaL_error(L, "%s", fh_pattern_strerror(FH_PATTERN_EUNFINISHED));
  if (len == FH_PATTERN_CAP_POSITION) lua_pushinteger(L, ms->capture[i].init - ms->src_init + 1);
  else lua_pushlstring(L, ms->capture[i].init, (size_t)len);
}

/* all captures (or the whole match when there are none and s != NULL) */
static int push_captures(lua_State *L, const fh_pattern_state *ms, const char *s, const char *e) {
  int n = ms->level == 0 && s ? 1 : ms->level;
  if (n > 8) luaL_checkstack(L, n, "too many captures");   /* a C function has LUA_MINSTACK (20) slots */
  for (int i = 0; i < n; i++) push_capture(L, ms, i, s, e);
  return n;
}

static int find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = arg_string(L, 1, &ls);
  const char *p = arg_string(L, 2, &lp);
  int top = lua_gettop(L);
  int64_t init = opt_int32(L, top, 3, 1);
  if (init < 0) init += (int64_t)ls;
  else init--;
  if (init < 0) init = 0;
  if (init > (int64_t)ls) init = (int64_t)ls;
  if (find && ((top >= 4 && lua_toboolean(L, 4)) || !fh_pattern_has_specials(p, lp))) {
    const char *q = fh_pattern_find_plain(s + init, ls - (size_t)init, p, lp);
    if (!q) { lua_pushnil(L); return 1; }
    lua_pushinteger(L, q - s + 1);
    lua_pushinteger(L, q - s + (ptrdiff_t)lp);
    return 2;
  }
  fh_pattern_state ms;
  fh_pattern_hooks h;
  const char *start, *e;
  int anchored = *p == '^';
  state_init(L, &ms, &h, s, ls);
  e = fh_pattern_search(&ms, p + anchored, s + init, anchored, &start);
  state_done(&ms);
  if (!e) { lua_pushnil(L); return 1; }
  if (!find) return push_captures(L, &ms, start, e);
  lua_pushinteger(L, start - s + 1);
  lua_pushinteger(L, e - s);
  return push_captures(L, &ms, NULL, NULL) + 2;
}

/* Contract: string.find(s, p, init?, plain?) of Lua 5.1 / LuaJIT 2.1. */
static int l_find(lua_State *L) { return find_aux(L, 1); }

/* Contract: string.match(s, p, init?) of Lua 5.1 / LuaJIT 2.1. */
static int l_match(lua_State *L) { return find_aux(L, 0); }

/* upvalues: the subject, the pattern, the offset to search from */
static int gmatch_next(lua_State *L) {
  size_t ls;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tostring(L, lua_upvalueindex(2));
  lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
  fh_pattern_state ms;
  fh_pattern_hooks h;
  const char *start, *e;
  state_init(L, &ms, &h, s, ls);
  e = fh_pattern_search(&ms, p, s + pos, 0, &start);   /* '^' is a literal here, as in LuaJIT */
  state_done(&ms);
  if (!e) return 0;
  lua_pushinteger(L, e - s + (e == start));   /* an empty match moves on by one */
  lua_replace(L, lua_upvalueindex(3));
  return push_captures(L, &ms, start, e);
}

/* Contract: string.gmatch(s, p) of Lua 5.1 / LuaJIT 2.1. */
static int l_gmatch(lua_State *L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

/* a replacement string (argument 3) for the match s..e */
static void add_string(lua_State *L, fh_pattern_state *ms, luaL_Buffer *b, const char *s, const char *e) {
  size_t l;
  const char *r = lua_tolstring(L, 3, &l), *end = r + l;
  fh_pattern_charge(ms, l >> 4);
  while (r < end) {
    const char *pc = memchr(r, '%', (size_t)(end - r));
    if (!pc) { luaL_addlstring(b, r, (size_t)(end - r)); return; }
    luaL_addlstring(b, r, (size_t)(pc - r));
    int c = (unsigned char)pc[1];   /* a '%' at the end escapes the string's NUL, as in LuaJIT */
    r = pc + 2;
    if (c < '0' || c > '9') {
      luaL_addchar(b, (char)c);
    } else if (c == '0') {
      luaL_addlstring(b, s, (size_t)(e - s));
    } else {
      push_capture(L, ms, c - '1', s, e);
      luaL_addvalue(b);
    }
  }
}

static void add_value(lua_State *L, fh_pattern_state *ms, luaL_Buffer *b, const char *s, const char *e, int tr) {
  if (tr == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    int n = push_captures(L, ms, s, e);
    lua_call(L, n, 1);
  } else if (tr == LUA_TTABLE) {
    push_capture(L, ms, 0, s, e);
    lua_gettable(L, 3);
  } else {
    add_string(L, ms, b, s, e);
    return;
  }
  if (!lua_toboolean(L, -1)) {   /* nil or false: keep the match */
    lua_pop(L, 1);
    lua_pushlstring(L, s, (size_t)(e - s));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
}

/* Contract: string.gsub(s, p, repl, n?) of Lua 5.1 / LuaJIT 2.1. */
static int l_gsub(lua_State *L) {
  size_t ls, lp;
  const char *src = arg_string(L, 1, &ls);
  const char *p = arg_string(L, 2, &lp);
  int tr = lua_type(L, 3);
  int32_t max_n = opt_int64_low(L, lua_gettop(L), 4, (int32_t)(ls + 1));
  luaL_argcheck(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                "string/function/table expected");
  int anchored = *p == '^';
  const char *end = src + ls;
  int32_t n = 0;
  luaL_Buffer b;
  fh_pattern_state ms;
  fh_pattern_hooks h;
  luaL_buffinit(L, &b);
  state_init(L, &ms, &h, src, ls);
  while (n < max_n) {
    const char *start, *e = fh_pattern_search(&ms, p + anchored, src, anchored, &start);
    if (!e) break;
    luaL_addlstring(&b, src, (size_t)(start - src));   /* what the search passed over */
    n++;
    add_value(L, &ms, &b, start, e, tr);
    if (e > start) {
      src = e;
    } else if (start < end) {   /* an empty match: keep a byte and move on */
      luaL_addchar(&b, *start);
      src = start + 1;
    } else {
      src = start;
      break;
    }
    if (anchored) break;
  }
  state_done(&ms);
  luaL_addlstring(&b, src, (size_t)(end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

static const luaL_Reg pattern_funcs[] = {
    {"find", l_find},
    {"match", l_match},
    {"gmatch", l_gmatch},
    {"gsub", l_gsub},
    {NULL, NULL},
};

int fh_lua_open_pattern(lua_State *L) {
  luaL_newlib(L, pattern_funcs);
  return 1;
}

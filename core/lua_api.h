/* lua_api.h: openers of the core Lua modules (core/lua_api_*.c).
 *
 * Each opener pushes its module table and returns 1; none sets globals.
 * The runtime registers them in package.preload (see runtime.c). */
#ifndef FH_LUA_API_H
#define FH_LUA_API_H

#include "task.h"

#include <lua.h>

int fh_lua_open_crypto(lua_State *L);
/* lua_api_crypto_rsa.c: crypto.rsa_sha256_sign / rsa_sha256_verify */
int fh__crypto_rsa_sign(lua_State *L);
int fh__crypto_rsa_verify(lua_State *L);
int fh_lua_open_http(lua_State *L);
int fh_lua_open_redis(lua_State *L);
int fh_lua_open_time(lua_State *L);
int fh_lua_open_log(lua_State *L);
int fh_lua_open_host(lua_State *L);

int fh_lua_open_lockq(lua_State *L);
int fh_lua_open_tstate(lua_State *L);
int fh_lua_open_fswatch(lua_State *L);
int fh_lua_open_pubsub(lua_State *L);
int fh_lua_open_pattern(lua_State *L);


/* Budget check for long C work done on behalf of tenant code (the pattern
 * matcher calls it every few thousand steps): raises "cpu budget exceeded"
 * (or the memory/time error) when L is a tenant state whose running turn
 * or load is over its budget; returns at once in any other state.
 * call_cpu is the thread's CPU clock when this one C call was first seen
 * working (0: not known yet): a call that has held the worker past the
 * C-call slice since then is cut (only in a turn that is already long). */
void fh_tstate_check(lua_State *L, double call_cpu);

/* Pushes nil and a stable error word; returns 2 (for `return nil, err`). */
int fh_lua_fail(lua_State *L, const char *word);

#endif

/* lua_cov.h: Lua line coverage as libFuzzer features.
 *
 * libFuzzer sees the C code it instrumented; the runtime library is Lua run
 * by an uninstrumented LuaJIT, so without help every webhook parser would
 * look like one C call and the fuzzer would mutate blind. A line hook maps
 * each (previous line, line) pair of Lua code to a byte of a counter array in
 * the __libfuzzer_extra_counters section, which libFuzzer reads like its own
 * edge counters: an input that reaches new Lua lines or edges is kept. */
#ifndef FH_FUZZ_LUA_COV_H
#define FH_FUZZ_LUA_COV_H

#include <lua.h>

/* Turns the JIT off in L (hooks do not run in compiled traces) and installs
 * the line hook. Call once per Lua state, from the thread that runs it. */
void fh_fuzz_cov_attach(lua_State *L);

/* Forgets the previous line of the calling thread (call before each input,
 * so the first edge of an input does not depend on the one before). */
void fh_fuzz_cov_reset(void);

#endif

/* lua_cov.c: Lua line coverage as libFuzzer features (see lua_cov.h). */
#include "lua_cov.h"

#include <luajit.h>
#include <stdint.h>

#define COV_BITS 16
#define COV_SIZE (1u << COV_BITS)

/* read by libFuzzer after each input, cleared by it before the next */
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t counters[COV_SIZE];

static __thread uint32_t prev;

static void on_line(lua_State *L, lua_Debug *ar) {
  if (!lua_getinfo(L, "S", ar)) return;
  /* the chunk's source string lives as long as its function: its address
   * names the file within this process */
  uint32_t here = (uint32_t)((uintptr_t)ar->source * 2654435761u) ^
                  (uint32_t)ar->currentline * 40503u;
  uint32_t slot = (here ^ prev) & (COV_SIZE - 1);
  if (counters[slot] != 255) counters[slot]++;
  prev = here >> 1;
}

void fh_fuzz_cov_attach(lua_State *L) {
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  lua_sethook(L, on_line, LUA_MASKLINE, 0);
}

void fh_fuzz_cov_reset(void) { prev = 0; }

/* LeakSanitizer scans malloc'd memory, globals and stacks, not LuaJIT's own
 * heap (mmap): a C buffer that only a Lua object points to (cjson's, kept
 * by the json module for the life of the state) looks leaked at exit. */
const char *__lsan_default_suppressions(void) { return "leak:liblua5.1-cjson.so\n"; }

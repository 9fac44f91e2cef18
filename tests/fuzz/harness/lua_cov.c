/* lua_cov.c: Lua line coverage as libFuzzer features (see lua_cov.h). */
#include "lua_cov.h"

#include <luajit.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COV_BITS 16
#define COV_SIZE (1u << COV_BITS)

/* read by libFuzzer after each input, cleared by it before the next */
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t counters[COV_SIZE];

static __thread uint32_t prev;

/* FH_FUZZ_LUA_LINES=FILE: also write every Lua "file:line" reached to FILE
 * at exit (coverage reports; slower, so not while fuzzing) */
#define SEEN_SIZE (1u << 18)
#define MAX_FILES 1024
static struct { const char *source; int line; const char *name; } seen[SEEN_SIZE];
static struct { const char *source; char *name; } files[MAX_FILES];
static int nfiles;
static const char *lines_file;
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

/* a copy of the chunk name: the state (and its strings) is gone at exit */
static const char *name_of(const char *source) {
  for (int i = 0; i < nfiles; i++)
    if (files[i].source == source) return files[i].name;
  if (nfiles == MAX_FILES) return NULL;
  files[nfiles].source = source;
  files[nfiles].name = strdup(source[0] == '@' ? source + 1 : source);
  return files[nfiles++].name;
}

static void record(const char *source, int line) {
  uint32_t h = ((uint32_t)((uintptr_t)source * 2654435761u) ^ (uint32_t)line * 40503u) & (SEEN_SIZE - 1);
  pthread_mutex_lock(&seen_mu);
  for (uint32_t n = 0; n < SEEN_SIZE; n++, h = (h + 1) & (SEEN_SIZE - 1)) {
    if (seen[h].source == source && seen[h].line == line) break;
    if (!seen[h].source) {
      seen[h].source = source;
      seen[h].line = line;
      seen[h].name = name_of(source);
      break;
    }
  }
  pthread_mutex_unlock(&seen_mu);
}

static void write_lines(void) {
  FILE *f = fopen(lines_file, "w");
  if (!f) return;
  for (uint32_t i = 0; i < SEEN_SIZE; i++)
    if (seen[i].name) fprintf(f, "%s:%d\n", seen[i].name, seen[i].line);
  fclose(f);
}

static void on_line(lua_State *L, lua_Debug *ar) {
  if (!lua_getinfo(L, "S", ar)) return;
  if (lines_file) record(ar->source, ar->currentline);
  /* the chunk's source string lives as long as its function: its address
   * names the file within this process */
  uint32_t here = (uint32_t)((uintptr_t)ar->source * 2654435761u) ^
                  (uint32_t)ar->currentline * 40503u;
  uint32_t slot = (here ^ prev) & (COV_SIZE - 1);
  if (counters[slot] != 255) counters[slot]++;
  prev = here >> 1;
}

void fh_fuzz_cov_attach(lua_State *L) {
  if (!lines_file && (lines_file = getenv("FH_FUZZ_LUA_LINES")) != NULL) atexit(write_lines);
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  lua_sethook(L, on_line, LUA_MASKLINE, 0);
}

void fh_fuzz_cov_reset(void) { prev = 0; }

/* LeakSanitizer scans malloc'd memory, globals and stacks, not LuaJIT's own
 * heap (mmap): a C buffer that only a Lua object points to (cjson's, kept
 * by the json module for the life of the state) looks leaked at exit. */
const char *__lsan_default_suppressions(void) { return "leak:liblua5.1-cjson.so\n"; }

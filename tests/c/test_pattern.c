/* test_pattern: the matcher alone (core/pattern.c): matches and captures,
 * errors through the fail hook, ticks that can stop a bomb, the recursion
 * cap, and linear work on long subjects. Its agreement with LuaJIT on
 * generated patterns is checked in tests/unit/pattern_spec.lua. */
#include "check.h"
#include "pattern.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  jmp_buf jb;
  int err;
  long ticks;
  long stop_after;   /* ticks before tick() jumps out; 0: never */
} env;

static void on_tick(void *ud) {
  env *e = ud;
  if (++e->ticks == e->stop_after) longjmp(e->jb, 2);
}

static void on_fail(void *ud, int err) {
  env *e = ud;
  e->err = err;
  longjmp(e->jb, 1);
}

/* searches p in s from offset 0; returns the match as "start,end" in out
 * (or "nil"), or the error code as "E<n>", or "stopped" */
static const char *search(env *e, const char *s, size_t len, const char *p, char *out, size_t outlen) {
  static fh_pattern_hooks hooks;
  hooks = (fh_pattern_hooks){ on_tick, on_fail, e };
  fh_pattern_state ms;
  const char *start, *end;
  int anchored = *p == '^';
  e->err = 0;
  e->ticks = 0;
  int how = setjmp(e->jb);
  if (how == 1) { snprintf(out, outlen, "E%d", e->err); return out; }
  if (how == 2) { snprintf(out, outlen, "stopped"); return out; }
  fh_pattern_init(&ms, s, len, &hooks, FH_PATTERN_TICK);
  end = fh_pattern_search(&ms, p + anchored, s, anchored, &start);
  if (!end) { snprintf(out, outlen, "nil"); return out; }
  int n = snprintf(out, outlen, "%d,%d", (int)(start - s) + 1, (int)(end - s));
  for (int i = 0; i < ms.level && n < (int)outlen; i++) {
    if (ms.capture[i].len == FH_PATTERN_CAP_POSITION)
      n += snprintf(out + n, outlen - (size_t)n, " @%d", (int)(ms.capture[i].init - s) + 1);
    else
      n += snprintf(out + n, outlen - (size_t)n, " '%.*s'", (int)ms.capture[i].len, ms.capture[i].init);
  }
  return out;
}

#define EXPECT(s, p, want)                                         \
  do {                                                             \
    char buf_[256];                                                \
    const char *got_ = search(&e, s, strlen(s), p, buf_, sizeof(buf_)); \
    if (strcmp(got_, want) != 0) fprintf(stderr, "  %s in %s: got %s\n", p, s, got_); \
    CHECK(strcmp(got_, want) == 0);                                \
  } while (0)

int main(void) {
  env e = { 0 };
  char buf[256];

  /* matches and captures */
  EXPECT("hello world", "o w", "5,7");
  EXPECT("hello world", "(%a+)$", "7,11 'world'");
  EXPECT("  trim me  ", "^%s*(.-)%s*$", "1,11 'trim me'");
  EXPECT("key=value", "^(%w+)=()(%w+)", "1,9 'key' @5 'value'");
  EXPECT("x(a(b)c)y", "%b()", "2,8");
  EXPECT("THE (quick) fox", "%f[%a]%a+", "1,3");
  EXPECT("abab", "(ab)%1", "1,4 'ab'");
  EXPECT("2026-11-25", "(%d+)%-(%d+)%-(%d+)", "1,10 '2026' '11' '25'");
  EXPECT("aaa", "^b", "nil");
  EXPECT("", "", "1,0");
  EXPECT("a]b", "[]]", "2,2");

  /* errors come through the fail hook, when the matcher gets there */
  EXPECT("a", "a%", "E1");          /* FH_PATTERN_EENDS */
  EXPECT("b", "a%", "nil");         /* never reached */
  EXPECT("a", "[a", "E2");
  EXPECT("a", "%fa", "E3");
  EXPECT("a", "%b", "E4");
  EXPECT("a)", "a)", "E5");
  EXPECT("aa", "a%2", "E6");

  /* the recursion cap: 199 optional items fit, 200 are one level too many */
  char pat[512], subj[512];
  for (int n = 199; n <= 200; n++) {
    memset(subj, 'a', (size_t)n);
    subj[n] = 0;
    for (int i = 0; i < n; i++) { pat[2 * i] = 'a'; pat[2 * i + 1] = '?'; }
    pat[2 * n] = 0;
    search(&e, subj, (size_t)n, pat, buf, sizeof(buf));
    CHECK(strcmp(buf, n == 199 ? "1,199" : "E9") == 0);
  }

  /* a bomb ticks, and a tick can stop it */
  memset(subj, 'a', 60);
  subj[60] = 0;
  pat[0] = 0;
  for (int i = 0; i < 12; i++) strcat(pat, "a.*");
  strcat(pat, "b");
  e.stop_after = 50;
  search(&e, subj, 60, pat, buf, sizeof(buf));
  CHECK(strcmp(buf, "stopped") == 0);
  CHECK(e.ticks == 50);
  e.stop_after = 0;

  /* long subjects: linear work, counted in ticks */
  size_t big = 1 << 20;
  char *s = malloc(big + 1);
  for (size_t i = 0; i < big; i++) s[i] = i % 7 == 6 ? ' ' : 'x';
  s[big] = 0;
  search(&e, s, big, "^%s*(.-)%s*$", buf, sizeof(buf));
  CHECK(strncmp(buf, "1,1048576 ", 10) == 0);
  CHECK(e.ticks > 0 && e.ticks < 10000);
  search(&e, s, big, "x y", buf, sizeof(buf));
  CHECK(strcmp(buf, "nil") == 0);
  free(s);

  /* patterns cut anywhere, on short subjects, each in a buffer of its exact
   * size: nothing is read past a NUL (ASan checks this build) */
  static const char *whole[] = { "^(a%b()[^%]x-]*%f[%w]%1.-$)", "(()%d+?[a-]%z*)%2$", "[%a-z]+%A-(.)%1?" };
  static const char *subjects[] = { "", "a", "(a)", "a]b-1a" };
  for (size_t w = 0; w < sizeof(whole) / sizeof(*whole); w++) {
    for (size_t cut = 0; cut <= strlen(whole[w]); cut++) {
      char *p = malloc(cut + 1);
      memcpy(p, whole[w], cut);
      p[cut] = 0;
      for (size_t k = 0; k < sizeof(subjects) / sizeof(*subjects); k++) {
        size_t n = strlen(subjects[k]);
        char *sub = malloc(n + 1);
        memcpy(sub, subjects[k], n + 1);
        search(&e, sub, n, p, buf, sizeof(buf));
        CHECK(buf[0] != 0);
        free(sub);
      }
      free(p);
    }
  }

  /* plain search and the specials that make a pattern */
  const char *hay = "aaaaaaaaaaaaaaaaaaaaab";
  CHECK(fh_pattern_find_plain(hay, strlen(hay), "aab", 3) == hay + 19);
  CHECK(fh_pattern_find_plain(hay, strlen(hay), "", 0) == hay);
  CHECK(fh_pattern_find_plain(hay, strlen(hay), "ba", 2) == NULL);
  CHECK(fh_pattern_find_plain("ab", 2, "abc", 3) == NULL);
  CHECK(!fh_pattern_has_specials("a)]b", 4));
  CHECK(fh_pattern_has_specials("a-b", 3));
  CHECK(strcmp(fh_pattern_strerror(FH_PATTERN_ETOOCOMPLEX), "pattern too complex") == 0);

  return failures ? 1 : 0;
}

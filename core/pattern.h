/* pattern.h: Lua 5.1 patterns, matched as LuaJIT 2.1 matches them, with the
 * work of every match bounded.
 *
 * The semantics are Lua's (classes %a %c %d %l %p %s %u %w %x %z and their
 * upper-case complements, sets, the quantifiers * + - ?, anchors, captures,
 * position captures, back-references %1-%9, %b and LuaJIT's %f), including
 * where and when errors appear: an error surfaces only when the matcher
 * reaches the malformed part of a pattern, as in Lua.
 *
 * Work is bounded two ways. Every piece of work is counted in steps; each
 * time FH_PATTERN_TICK steps have passed the matcher calls hooks->tick,
 * which may end the match by not returning (a longjmp: lua_error). And its
 * recursion is capped at FH_PATTERN_MAX_DEPTH nested levels (the error
 * FH_PATTERN_ETOOCOMPLEX), so the C stack stays small whatever the pattern.
 *
 * The matcher allocates nothing and holds nothing between calls: its whole
 * state is an fh_pattern_state the caller keeps (on its stack), so leaving
 * it by a longjmp from a hook is safe. The subject and the pattern are
 * borrowed for the state's life. */
#ifndef FH_PATTERN_H
#define FH_PATTERN_H

#include <stddef.h>

#define FH_PATTERN_MAXCAPTURES 32
#define FH_PATTERN_MAX_DEPTH 200   /* LuaJIT's limit: deeper is "pattern too complex" */
#define FH_PATTERN_TICK 4096       /* steps between two calls of hooks->tick */

/* capture lengths that are not lengths */
#define FH_PATTERN_CAP_UNFINISHED (-1)
#define FH_PATTERN_CAP_POSITION (-2)

/* errors, as hooks->fail receives them; fh_pattern_strerror has LuaJIT's text */
enum {
  FH_PATTERN_EENDS = 1,     /* malformed pattern (ends with '%') */
  FH_PATTERN_EMISSING,      /* malformed pattern (missing ']') */
  FH_PATTERN_EFRONTIER,     /* missing '[' after '%f' in pattern */
  FH_PATTERN_EUNBALANCED,   /* unbalanced pattern (%b without two characters) */
  FH_PATTERN_ECAPTURE,      /* invalid pattern capture (a ')' with none open) */
  FH_PATTERN_EINDEX,        /* invalid capture index */
  FH_PATTERN_EUNFINISHED,   /* unfinished capture */
  FH_PATTERN_ETOOMANY,      /* too many captures */
  FH_PATTERN_ETOOCOMPLEX    /* pattern too complex */
};

typedef struct fh_pattern_hooks {
  /* called every FH_PATTERN_TICK steps; returns to go on, or longjmps out */
  void (*tick)(void *ud);
  /* called with an FH_PATTERN_E* code; must not return (longjmps out) */
  void (*fail)(void *ud, int err);
  void *ud;
} fh_pattern_hooks;

typedef struct fh_pattern_capture {
  const char *init;
  ptrdiff_t len;             /* or FH_PATTERN_CAP_UNFINISHED / _POSITION */
} fh_pattern_capture;

/* Lives on the caller's stack; read `level` and `capture` after a match,
 * leave the rest to pattern.c. */
typedef struct fh_pattern_state {
  const char *src_init, *src_end;
  int level;                 /* captures of the last match */
  int depth;
  long left;                 /* steps until the next tick */
  const fh_pattern_hooks *hooks;
  fh_pattern_capture capture[FH_PATTERN_MAXCAPTURES];
} fh_pattern_state;

/* Prepares ms to match in the subject s[0..len). hooks (borrowed; NULL:
 * no tick, and an error aborts the process) outlive ms. `left` is the
 * steps until the first tick: 0 ticks at once, FH_PATTERN_TICK gives a
 * whole period (a caller can carry the count across calls). */
void fh_pattern_init(fh_pattern_state *ms, const char *s, size_t len, const fh_pattern_hooks *hooks,
                     long left);

/* Finds the first match of pattern p at or after `from` (src_init <= from;
 * from > src_end finds nothing). p ends at its first NUL, as in LuaJIT:
 * pass a NUL-terminated string (Lua strings are). anchored: try at `from`
 * only (the caller has stripped the '^'). Returns the match's end and sets
 * *start, with the captures in ms->level / ms->capture; NULL if none. */
const char *fh_pattern_search(fh_pattern_state *ms, const char *p, const char *from, int anchored,
                              const char **start);

/* Counts n steps of work done on the matcher's behalf (a gsub copying its
 * replacement), ticking if a period is over. */
void fh_pattern_charge(fh_pattern_state *ms, size_t n);

/* Plain substring search (no pattern): the first s[i..i+plen) equal to p,
 * or NULL. Linear in len + plen. */
const char *fh_pattern_find_plain(const char *s, size_t len, const char *p, size_t plen);

/* 1 when p[0..len) has a character that makes it a pattern for
 * string.find (one of ^$*+?.([%-), else 0: find then searches plainly. */
int fh_pattern_has_specials(const char *p, size_t len);

/* LuaJIT's message for an FH_PATTERN_E* code. */
const char *fh_pattern_strerror(int err);

#endif

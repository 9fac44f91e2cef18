/* pattern.c: the Lua 5.1 pattern matcher (see pattern.h), written for
 * flowhost: LuaJIT's semantics, with every loop counted in steps and the
 * recursion capped, so that no pattern can keep a worker busy for good.
 *
 * The matcher walks the pattern text directly, as Lua's does (there is no
 * compile step to pay for on short subjects), and recurses where Lua
 * backtracks: after an optional item, into each capture, and once per
 * repetition count tried. Items in a plain sequence loop without
 * recursing. Speed comes from doing less work, never from skipping one
 * that could change a result or an error:
 *  - a search skips the positions where the pattern's first item cannot
 *    match (memchr for a literal), where Lua would try each one, and a
 *    pattern of one item ("%d", "[^,]+") needs no matcher at all;
 *  - a repetition followed by a literal or a class tries only the counts
 *    where that next item fits ("%s*$" and a final "x*" take the longest
 *    run at once; ".-x" jumps from x to x with memchr);
 *  - sets ([...]) tested more than once become a 256-bit map. */
#define _GNU_SOURCE
#include "pattern.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define uchar(c) ((unsigned char)(c))

/* ---- character classes (ASCII only, as LuaJIT: bytes >= 128 are in none) */

enum {
  C_ALPHA = 1 << 0, C_CNTRL = 1 << 1, C_DIGIT = 1 << 2, C_LOWER = 1 << 3, C_PUNCT = 1 << 4,
  C_SPACE = 1 << 5, C_UPPER = 1 << 6, C_ALNUM = 1 << 7, C_XDIGIT = 1 << 8, C_ZERO = 1 << 9
};

static const uint16_t ctab[256] = {
  [0] = C_CNTRL | C_ZERO,
  [1 ... 8] = C_CNTRL,
  [9 ... 13] = C_CNTRL | C_SPACE,
  [14 ... 31] = C_CNTRL,
  [' '] = C_SPACE,
  ['!' ... '/'] = C_PUNCT,
  ['0' ... '9'] = C_DIGIT | C_ALNUM | C_XDIGIT,
  [':' ... '@'] = C_PUNCT,
  ['A' ... 'F'] = C_ALPHA | C_UPPER | C_ALNUM | C_XDIGIT,
  ['G' ... 'Z'] = C_ALPHA | C_UPPER | C_ALNUM,
  ['[' ... '`'] = C_PUNCT,
  ['a' ... 'f'] = C_ALPHA | C_LOWER | C_ALNUM | C_XDIGIT,
  ['g' ... 'z'] = C_ALPHA | C_LOWER | C_ALNUM,
  ['{' ... '~'] = C_PUNCT,
  [127] = C_CNTRL,
};

/* the class a letter after '%' names (either case), 0 for any other byte */
static const uint16_t class_of[256] = {
  ['a'] = C_ALPHA, ['c'] = C_CNTRL, ['d'] = C_DIGIT, ['l'] = C_LOWER, ['p'] = C_PUNCT,
  ['s'] = C_SPACE, ['u'] = C_UPPER, ['w'] = C_ALNUM, ['x'] = C_XDIGIT, ['z'] = C_ZERO,
  ['A'] = C_ALPHA, ['C'] = C_CNTRL, ['D'] = C_DIGIT, ['L'] = C_LOWER, ['P'] = C_PUNCT,
  ['S'] = C_SPACE, ['U'] = C_UPPER, ['W'] = C_ALNUM, ['X'] = C_XDIGIT, ['Z'] = C_ZERO,
};

/* c against %cl; cl not a class letter stands for itself ("%." is '.') */
static inline int match_class(int c, int cl) {
  unsigned bit = class_of[cl];
  if (!bit) return cl == c;
  int in = (ctab[c] & bit) != 0;
  return (cl & 0x20) ? in : !in;   /* upper case: the complement */
}

/* a set of bytes as a 256-bit map */
typedef struct { uint64_t w[4]; } cset;

static inline int cset_has(const cset *cs, int c) { return (int)((cs->w[c >> 6] >> (c & 63)) & 1); }
static inline void cset_add(cset *cs, int c) { cs->w[c >> 6] |= (uint64_t)1 << (c & 63); }

/* the bytes lo..hi (none when lo > hi), a word at a time */
static void cset_add_range(cset *cs, int lo, int hi) {
  for (int w = lo >> 6; lo <= hi && w <= hi >> 6; w++) {
    int from = w * 64 > lo ? 0 : lo & 63, to = w * 64 + 63 < hi ? 63 : hi & 63;
    cs->w[w] |= (~(uint64_t)0 >> (63 - to)) & (~(uint64_t)0 << from);
  }
}

static cset class_sets[10];   /* by bit number of the class */
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static void class_sets_init(void) {
  for (int b = 0; b < 10; b++)
    for (int c = 0; c < 256; c++)
      if (ctab[c] & (1u << b)) cset_add(&class_sets[b], c);
}

static void cset_add_class(cset *cs, int cl) {
  unsigned bit = class_of[cl];
  if (!bit) { cset_add(cs, cl); return; }
  pthread_once(&class_once, class_sets_init);
  const cset *k = &class_sets[__builtin_ctz(bit)];
  for (int i = 0; i < 4; i++) cs->w[i] |= (cl & 0x20) ? k->w[i] : ~k->w[i];
}

/* ---- work accounting
 *
 * A step is about one match() call's worth of work (a few ns): a byte in
 * a tight scanning loop counts a quarter of one, a byte that memchr or
 * memcmp passes over an eighth. */

static void tick(fh_pattern_state *ms) {
  ms->left = FH_PATTERN_TICK;
  if (ms->hooks && ms->hooks->tick) ms->hooks->tick(ms->hooks->ud);
}

#define STEP(ms, n) do { if (((ms)->left -= (long)(n)) < 0) tick(ms); } while (0)

static void fail(fh_pattern_state *ms, int err) {
  if (ms->hooks && ms->hooks->fail) ms->hooks->fail(ms->hooks->ud, err);
  abort();   /* fail must not return */
}

void fh_pattern_charge(fh_pattern_state *ms, size_t n) { STEP(ms, n); }

/* ---- single-character items */

/* The end of the single-character item at p: past "x", "%x" or "[...]".
 * Raises on a malformed item, as Lua does when it reaches one. */
static const char *classend(fh_pattern_state *ms, const char *p) {
  const char *q = p + 1;
  switch (*p) {
  case '%':
    if (*q == '\0') fail(ms, FH_PATTERN_EENDS);
    return q + 1;
  case '[':
    if (*q == '^') q++;
    do {   /* the first character is in the set even if it is ']' */
      if (*q == '\0') fail(ms, FH_PATTERN_EMISSING);
      if (*q++ == '%' && *q != '\0') q++;
    } while (*q != ']');
    STEP(ms, (q - p) >> 2);
    return q + 1;
  default:
    return q;
  }
}

/* the same, NULL instead of raising */
static const char *classend_quiet(const char *p) {
  const char *q = p + 1;
  switch (*p) {
  case '%':
    return *q ? q + 1 : NULL;
  case '[':
    if (*q == '^') q++;
    do {
      if (*q == '\0') return NULL;
      if (*q++ == '%' && *q != '\0') q++;
    } while (*q != ']');
    return q + 1;
  default:
    return q;
  }
}

/* c against the set p ('[') .. ec (its ']') */
static int match_set(int c, const char *p, const char *ec) {
  int yes = 1;
  if (p[1] == '^') { yes = 0; p++; }
  while (++p < ec) {
    if (*p == '%') {
      p++;
      if (match_class(c, uchar(*p))) return yes;
    } else if (p[1] == '-' && p + 2 < ec) {
      p += 2;
      if (uchar(p[-2]) <= c && c <= uchar(*p)) return yes;
    } else if (uchar(*p) == c) {
      return yes;
    }
  }
  return !yes;
}

static void set_build(cset *cs, const char *p, const char *ec) {
  int neg = 0;
  memset(cs, 0, sizeof(*cs));
  if (p[1] == '^') { neg = 1; p++; }
  while (++p < ec) {
    if (*p == '%') {
      p++;
      cset_add_class(cs, uchar(*p));
    } else if (p[1] == '-' && p + 2 < ec) {
      p += 2;
      cset_add_range(cs, uchar(p[-2]), uchar(*p));
    } else {
      cset_add(cs, uchar(*p));
    }
  }
  if (neg)
    for (int i = 0; i < 4; i++) cs->w[i] = ~cs->w[i];
}

static inline int singlematch(int c, const char *p, const char *ep) {
  switch (*p) {
  case '.': return 1;
  case '%': return match_class(c, uchar(p[1]));
  case '[': return match_set(c, p, ep - 1);
  default: return uchar(*p) == c;
  }
}

/* An item reduced to a fast test, for the loops that test many bytes. */
enum { IT_ANY, IT_LIT, IT_CLASS, IT_SET };
typedef struct {
  int kind;
  int c;            /* IT_LIT: the byte */
  unsigned bit;     /* IT_CLASS: the class ... */
  int in;           /* ... and 1 for it, 0 for its complement */
  cset set;         /* IT_SET */
} item;

/* the item p..ep as an `item`; sets are built only when want_set */
static int item_make(item *it, const char *p, const char *ep, int want_set) {
  switch (*p) {
  case '.':
    it->kind = IT_ANY;
    return 1;
  case '%':
    it->bit = class_of[uchar(p[1])];
    if (!it->bit) { it->kind = IT_LIT; it->c = uchar(p[1]); return 1; }
    it->kind = IT_CLASS;
    it->in = (p[1] & 0x20) != 0;
    return 1;
  case '[':
    if (!want_set) return 0;
    it->kind = IT_SET;
    set_build(&it->set, p, ep - 1);
    return 1;
  default:
    it->kind = IT_LIT;
    it->c = uchar(*p);
    return 1;
  }
}

static inline int item_has(const item *it, int c) {
  switch (it->kind) {
  case IT_ANY: return 1;
  case IT_LIT: return c == it->c;
  case IT_CLASS: return ((ctab[c] & it->bit) != 0) == it->in;
  default: return cset_has(&it->set, c);
  }
}

/* the first byte in [s, e) that it accepts, or e */
static const char *item_scan(fh_pattern_state *ms, const item *it, const char *s, const char *e) {
  const char *q = s;
  switch (it->kind) {
  case IT_ANY:
    break;
  case IT_LIT:
    q = memchr(s, it->c, (size_t)(e - s));
    if (!q) q = e;
    STEP(ms, (q - s) >> 3);
    return q;
  case IT_CLASS:
    while (q < e && ((ctab[uchar(*q)] & it->bit) != 0) != it->in) q++;
    break;
  default:
    while (q < e && !cset_has(&it->set, uchar(*q))) q++;
    break;
  }
  STEP(ms, (q - s) >> 2);
  return q;
}

/* the count of bytes from s on (up to e) that it accepts */
static size_t item_run(fh_pattern_state *ms, const item *it, const char *s, const char *e) {
  const char *q = s;
  switch (it->kind) {
  case IT_ANY:
    return (size_t)(e - s);
  case IT_LIT:
    while (q < e && uchar(*q) == it->c) q++;
    break;
  case IT_CLASS:
    while (q < e && ((ctab[uchar(*q)] & it->bit) != 0) == it->in) q++;
    break;
  default:
    while (q < e && cset_has(&it->set, uchar(*q))) q++;
    break;
  }
  STEP(ms, (q - s) >> 2);
  return (size_t)(q - s);
}

/* When the item at p is a well-formed single-character item that must
 * match a byte for the rest of the pattern to match there (no quantifier,
 * or '+'), describes it in *it and returns 1; else 0. Never raises: a
 * malformed item is left for match() to report when it gets there. */
static int item_required(item *it, const char *p, int want_set) {
  switch (*p) {
  case '\0': case '(': case ')':
    return 0;
  case '$':
    if (p[1] == '\0') return 0;
    break;
  case '%':
    if (p[1] == 'b' || p[1] == 'f' || (p[1] >= '0' && p[1] <= '9')) return 0;
    break;
  }
  const char *ep = classend_quiet(p);
  if (!ep) return 0;
  if (*ep == '*' || *ep == '?' || *ep == '-') return 0;
  return item_make(it, p, ep, want_set);
}

/* ---- the matcher */

static const char *match(fh_pattern_state *ms, const char *s, const char *p);

/* Both expansions call match() one level deeper before anything else can
 * fail, so at the limit they raise at once; below it, the shortcuts that
 * skip match() calls cannot hide a "pattern too complex". */
static void check_room(fh_pattern_state *ms) {
  if (ms->depth >= FH_PATTERN_MAX_DEPTH) fail(ms, FH_PATTERN_ETOOCOMPLEX);
}

static const char *max_expand(fh_pattern_state *ms, const char *s, const char *p, const char *ep) {
  item it, next;
  check_room(ms);
  item_make(&it, p, ep, 1);
  size_t i = item_run(ms, &it, s, ms->src_end);
  /* at the pattern's end (or before a final '$') only the longest run can
   * match */
  if (ep[1] == '\0') return s + i;
  if (ep[1] == '$' && ep[2] == '\0') return s + i == ms->src_end ? s + i : NULL;
  /* the rest must start with a byte `next` accepts: try only those counts */
  int filter = item_required(&next, ep + 1, 0) && next.kind != IT_ANY;
  for (;;) {
    if (!filter || (s + i < ms->src_end && item_has(&next, uchar(s[i])))) {
      const char *res = match(ms, s + i, ep + 1);
      if (res) return res;
    }
    if (i == 0) return NULL;
    i--;
    STEP(ms, 1);
  }
}

static const char *min_expand(fh_pattern_state *ms, const char *s, const char *p, const char *ep) {
  item it, next;
  check_room(ms);
  if (ep[1] == '\0') return s;   /* at the end, or before a final '$' (see max_expand) */
  if (ep[1] == '$' && ep[2] == '\0') {
    item_make(&it, p, ep, 1);
    return s + item_run(ms, &it, s, ms->src_end) == ms->src_end ? ms->src_end : NULL;
  }
  int set = *p == '[' && item_make(&it, p, ep, 1);
  int filter = item_required(&next, ep + 1, 0) && next.kind != IT_ANY;
  const char *e = ms->src_end;
  if (filter && next.kind == IT_LIT && *p == '.') {
    /* ".-x": every byte up to an x is taken by the '.' */
    for (;;) {
      s = item_scan(ms, &next, s, e);
      if (s == e) return NULL;
      const char *res = match(ms, s, ep + 1);
      if (res) return res;
      s++;
    }
  }
  for (;;) {
    if (!filter || (s < e && item_has(&next, uchar(*s)))) {
      const char *res = match(ms, s, ep + 1);
      if (res) return res;
    }
    if (s < e && (set ? cset_has(&it.set, uchar(*s)) : singlematch(uchar(*s), p, ep))) s++;
    else return NULL;
    STEP(ms, 1);
  }
}

static const char *start_capture(fh_pattern_state *ms, const char *s, const char *p, ptrdiff_t what) {
  int level = ms->level;
  if (level >= FH_PATTERN_MAXCAPTURES) fail(ms, FH_PATTERN_ETOOMANY);
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  const char *res = match(ms, s, p);
  if (!res) ms->level--;
  return res;
}

static const char *end_capture(fh_pattern_state *ms, const char *s, const char *p) {
  int l = ms->level - 1;
  while (l >= 0 && ms->capture[l].len != FH_PATTERN_CAP_UNFINISHED) l--;
  if (l < 0) fail(ms, FH_PATTERN_ECAPTURE);
  ms->capture[l].len = s - ms->capture[l].init;
  const char *res = match(ms, s, p);
  if (!res) ms->capture[l].len = FH_PATTERN_CAP_UNFINISHED;
  return res;
}

/* %1-%9 (the digit d): the text of that capture again */
static const char *match_backref(fh_pattern_state *ms, const char *s, int d) {
  int l = d - '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == FH_PATTERN_CAP_UNFINISHED) fail(ms, FH_PATTERN_EINDEX);
  ptrdiff_t len = ms->capture[l].len;
  if (len < 0) return NULL;   /* a position capture matches no text */
  STEP(ms, len >> 3);
  if (ms->src_end - s >= len && memcmp(ms->capture[l].init, s, (size_t)len) == 0) return s + len;
  return NULL;
}

/* %bxy at p (pointing at x) */
static const char *match_balance(fh_pattern_state *ms, const char *s, const char *p) {
  if (p[0] == '\0' || p[1] == '\0') fail(ms, FH_PATTERN_EUNBALANCED);
  if (s >= ms->src_end || *s != p[0]) return NULL;
  const char *from = s;
  int open = p[0], close = p[1], depth = 1;
  while (++s < ms->src_end) {
    if (*s == close) {
      if (--depth == 0) { STEP(ms, (s - from) >> 2); return s + 1; }
    } else if (*s == open) {
      depth++;
    }
  }
  STEP(ms, (s - from) >> 2);
  return NULL;
}

static const char *match(fh_pattern_state *ms, const char *s, const char *p) {
  if (++ms->depth > FH_PATTERN_MAX_DEPTH) fail(ms, FH_PATTERN_ETOOCOMPLEX);
  for (;;) {
    STEP(ms, 1);
    switch (*p) {
    case '(':
      if (p[1] == ')') s = start_capture(ms, s, p + 2, FH_PATTERN_CAP_POSITION);
      else s = start_capture(ms, s, p + 1, FH_PATTERN_CAP_UNFINISHED);
      goto done;
    case ')':
      s = end_capture(ms, s, p + 1);
      goto done;
    case '\0':
      goto done;
    case '$':
      if (p[1] != '\0') break;   /* a '$' before the end is a literal */
      if (s != ms->src_end) s = NULL;
      goto done;
    case '%':
      if (p[1] == 'b') {
        s = match_balance(ms, s, p + 2);
        if (!s) goto done;
        p += 4;
        continue;
      }
      if (p[1] == 'f') {
        p += 2;
        if (*p != '[') fail(ms, FH_PATTERN_EFRONTIER);
        const char *ep = classend(ms, p);
        int prev = s == ms->src_init ? 0 : uchar(s[-1]);
        int cur = s < ms->src_end ? uchar(*s) : 0;
        if (match_set(prev, p, ep - 1) || !match_set(cur, p, ep - 1)) { s = NULL; goto done; }
        p = ep;
        continue;
      }
      if (p[1] >= '0' && p[1] <= '9') {
        s = match_backref(ms, s, p[1]);
        if (!s) goto done;
        p += 2;
        continue;
      }
      break;
    }
    /* a single-character item, maybe with a quantifier */
    const char *ep = classend(ms, p);
    int m = s < ms->src_end && singlematch(uchar(*s), p, ep);
    switch (*ep) {
    case '?':
      if (m) {
        const char *res = match(ms, s + 1, ep + 1);
        if (res) { s = res; goto done; }
      }
      p = ep + 1;
      continue;
    case '*':
      s = max_expand(ms, s, p, ep);
      goto done;
    case '+':
      s = m ? max_expand(ms, s + 1, p, ep) : NULL;
      goto done;
    case '-':
      s = min_expand(ms, s, p, ep);
      goto done;
    default:
      if (!m) { s = NULL; goto done; }
      s++;
      p = ep;
      continue;
    }
  }
done:
  ms->depth--;
  return s;
}

/* ---- entry points */

void fh_pattern_init(fh_pattern_state *ms, const char *s, size_t len, const fh_pattern_hooks *hooks,
                     long left) {
  ms->src_init = s;
  ms->src_end = s + len;
  ms->level = 0;
  ms->depth = 0;
  ms->left = left;
  ms->hooks = hooks;
  if (left <= 0) tick(ms);
}

/* The search's shortcuts, by what the pattern starts with. */
enum {
  SC_NONE,     /* nothing known: try every position */
  SC_FILTER,   /* an item that needs a byte (after at most 16 opening
                * captures, which can neither fail nor raise): try only
                * the positions with such a byte */
  SC_ONE,      /* the pattern is that one item ("%d"): no matcher needed */
  SC_RUN       /* ... or that item with '+' ("[^,]+"): its longest run */
};

/* which shortcut pattern p allows, its first item in *first; want_set:
 * worth building a set's map */
static int first_item(item *first, const char *p, int want_set) {
  const char *q = p;
  while (*q == '(' && q - p < 16) q += q[1] == ')' ? 2 : 1;
  if (*q == '(' || !item_required(first, q, want_set) || first->kind == IT_ANY) return SC_NONE;
  if (q != p) return SC_FILTER;
  const char *ep = classend_quiet(p);   /* well-formed: item_required said so */
  if (*ep == '\0') return SC_ONE;
  return *ep == '+' && ep[1] == '\0' ? SC_RUN : SC_FILTER;
}

const char *fh_pattern_search(fh_pattern_state *ms, const char *p, const char *from, int anchored,
                              const char **start) {
  const char *s = from, *e;
  if (s > ms->src_end) return NULL;
  if (anchored) {
    ms->level = ms->depth = 0;
    e = match(ms, s, p);
    if (e) *start = s;
    return e;
  }
  item first;
  /* on a few bytes the analysis does not pay; a set's map, on 16 or more */
  int shortcut = ms->src_end - s < 4 ? SC_NONE : first_item(&first, p, ms->src_end - s > 16);
  if (shortcut == SC_ONE || shortcut == SC_RUN) {
    s = item_scan(ms, &first, s, ms->src_end);
    if (s == ms->src_end) return NULL;
    ms->level = 0;
    *start = s++;
    return shortcut == SC_RUN ? s + item_run(ms, &first, s, ms->src_end) : s;
  }
  for (;;) {
    if (shortcut == SC_FILTER) {
      s = item_scan(ms, &first, s, ms->src_end);
      if (s == ms->src_end) return NULL;
    }
    ms->level = ms->depth = 0;
    e = match(ms, s, p);
    if (e) { *start = s; return e; }
    if (s >= ms->src_end) return NULL;
    s++;
    STEP(ms, 1);
  }
}

const char *fh_pattern_find_plain(const char *s, size_t len, const char *p, size_t plen) {
  if (plen == 0) return s;
  if (plen > len) return NULL;
  /* memchr for the first byte, then compare: the quickest on chat-sized
   * text; after 8 false starts, memmem, which is linear whatever the input */
  const char *e = s + len - plen + 1, *q = s;   /* a match starts before e */
  for (int tries = 0; tries < 8; tries++) {
    q = memchr(q, uchar(*p), (size_t)(e - q));
    if (!q) return NULL;
    if (memcmp(q + 1, p + 1, plen - 1) == 0) return q;
    q++;
  }
  return memmem(q, (size_t)(s + len - q), p, plen);
}

int fh_pattern_has_specials(const char *p, size_t len) {
  static const char special[256] = {
    ['^'] = 1, ['$'] = 1, ['*'] = 1, ['+'] = 1, ['?'] = 1, ['.'] = 1, ['('] = 1, ['['] = 1, ['%'] = 1, ['-'] = 1,
  };
  for (size_t i = 0; i < len; i++)
    if (special[uchar(p[i])]) return 1;
  return 0;
}

const char *fh_pattern_strerror(int err) {
  switch (err) {
  case FH_PATTERN_EENDS: return "malformed pattern (ends with '%')";
  case FH_PATTERN_EMISSING: return "malformed pattern (missing ']')";
  case FH_PATTERN_EFRONTIER: return "missing '[' after '%f' in pattern";
  case FH_PATTERN_EUNBALANCED: return "unbalanced pattern";
  case FH_PATTERN_ECAPTURE: return "invalid pattern capture";
  case FH_PATTERN_EINDEX: return "invalid capture index";
  case FH_PATTERN_EUNFINISHED: return "unfinished capture";
  case FH_PATTERN_ETOOMANY: return "too many captures";
  case FH_PATTERN_ETOOCOMPLEX: return "pattern too complex";
  default: return "pattern error";
  }
}

/* buf.c: growable byte buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fh_buf_init(fh_buf *b) { memset(b, 0, sizeof(*b)); }

static int grow(fh_buf *b, size_t extra) {
  if (b->failed) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) { b->failed = 1; return -1; }
  b->data = p;
  b->cap = cap;
  return 0;
}

void fh_buf_append(fh_buf *b, const char *s, size_t n) {
  if (grow(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

char *fh_buf_reserve(fh_buf *b, size_t n) {
  if (grow(b, n)) return NULL;
  return b->data + b->len;
}

void fh_buf_puts(fh_buf *b, const char *s) { fh_buf_append(b, s, strlen(s)); }

void fh_buf_printf(fh_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof(tmp)) { fh_buf_append(b, tmp, (size_t)n); return; }
  if (grow(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void fh_buf_json_string(fh_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  fh_buf_append(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    fh_buf_append(b, s + run, i - run);
    run = i + 1;
    switch (c) {
    case '"': fh_buf_append(b, "\\\"", 2); break;
    case '\\': fh_buf_append(b, "\\\\", 2); break;
    case '\n': fh_buf_append(b, "\\n", 2); break;
    case '\r': fh_buf_append(b, "\\r", 2); break;
    case '\t': fh_buf_append(b, "\\t", 2); break;
    default: {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      fh_buf_append(b, esc, 6);
    }
    }
  }
  fh_buf_append(b, s + run, n - run);
  fh_buf_append(b, "\"", 1);
}

char *fh_buf_take(fh_buf *b, size_t *len) {
  if (b->failed) { fh_buf_free(b); return NULL; }
  if (!b->data) fh_buf_append(b, "", 0);
  else b->data[b->len] = '\0';   /* after a reserve with no append (cap > len always) */
  char *p = b->data;
  if (len) *len = b->len;
  fh_buf_init(b);
  return p;
}

void fh_buf_free(fh_buf *b) {
  free(b->data);
  fh_buf_init(b);
}

/* buf.h: a growable byte buffer, used to build log lines and responses.
 *
 * The buffer owns its memory; fh_buf_take() hands it to the caller, who
 * frees it with free(). Appends never fail silently: on allocation failure
 * the buffer is marked failed and fh_buf_take() returns NULL. */
#ifndef FH_BUF_H
#define FH_BUF_H

#include <stddef.h>

typedef struct {
  char *data;
  size_t len;
  size_t cap;
  int failed;
} fh_buf;

void fh_buf_init(fh_buf *b);
void fh_buf_append(fh_buf *b, const char *s, size_t n);
void fh_buf_puts(fh_buf *b, const char *s);
/* Room for n more bytes: returns where they go (then add what was written
 * to b->len), or NULL when out of memory. */
char *fh_buf_reserve(fh_buf *b, size_t n);
void fh_buf_printf(fh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void fh_buf_json_string(fh_buf *b, const char *s, size_t n);
/* Returns the NUL-terminated data (caller frees) and resets the buffer. */
char *fh_buf_take(fh_buf *b, size_t *len);
void fh_buf_free(fh_buf *b);

#endif

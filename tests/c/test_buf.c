/* Standalone tests for core/buf.c. Exit status 0 on success. */
#define _POSIX_C_SOURCE 200809L

#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Take the buffer and compare against want (want_len bytes, may hold NUL);
 * print both on mismatch. The buffer is left empty. */
#define CHECK_TAKE(b, want, want_len) check_take(__FILE__, __LINE__, (b), (want), (want_len))

static void check_take(const char *file, int line, fh_buf *b, const char *want,
                       size_t want_len) {
  size_t len = (size_t) -1;
  char *got = fh_buf_take(b, &len);

  if (got == NULL) {
    fprintf(stderr, "%s:%d: take returned NULL\n", file, line);
    failures++;
    return;
  }
  if (len != want_len || memcmp(got, want, want_len) != 0 || got[len] != '\0') {
    fprintf(stderr, "%s:%d: buffer mismatch\n--- want (%zu)\n%.*s\n--- got (%zu)\n%.*s\n---\n",
            file, line, want_len, (int) want_len, want, len, (int) len, got);
    failures++;
  }
  free(got);
}

/* JSON-encode s (n bytes) into a fresh buffer and compare. */
#define CHECK_JSON(s, n, want) check_json(__FILE__, __LINE__, (s), (n), (want))

static void check_json(const char *file, int line, const char *s, size_t n,
                       const char *want) {
  fh_buf b;

  fh_buf_init(&b);
  fh_buf_json_string(&b, s, n);
  check_take(file, line, &b, want, strlen(want));
}

static void test_init_empty(void) {
  fh_buf b;
  char *p;
  size_t len = 99;

  memset(&b, 0x5a, sizeof(b));
  fh_buf_init(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.failed == 0);

  /* Taking an untouched buffer gives an allocated "" (caller frees). */
  p = fh_buf_take(&b, &len);
  CHECK(p != NULL);
  CHECK(len == 0);
  if (p != NULL)
    CHECK(p[0] == '\0');
  free(p);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

  /* len may be NULL. */
  p = fh_buf_take(&b, NULL);
  CHECK(p != NULL && p[0] == '\0');
  free(p);

  /* Freeing an empty buffer is harmless, twice. */
  fh_buf_free(&b);
  fh_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

static void test_append(void) {
  fh_buf b;
  size_t i;
  char big[5000];

  fh_buf_init(&b);
  fh_buf_append(&b, "hello", 5);
  CHECK(b.len == 5 && b.data != NULL && strcmp(b.data, "hello") == 0);
  fh_buf_append(&b, ", world!!", 7);  /* only n bytes are copied */
  CHECK(b.len == 12 && strcmp(b.data, "hello, world") == 0);
  fh_buf_append(&b, "", 0);
  CHECK(b.len == 12);
  fh_buf_puts(&b, "");
  fh_buf_puts(&b, " puts");
  CHECK(b.len == 17 && b.data[b.len] == '\0');
  CHECK(b.cap > b.len);
  CHECK_TAKE(&b, "hello, world puts", 17);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

  /* Embedded NUL bytes are kept. */
  fh_buf_append(&b, "a\0b", 3);
  CHECK_TAKE(&b, "a\0b", 3);

  /* Growth across many reallocations keeps the contents. */
  for (i = 0; i < sizeof(big); i++)
    big[i] = (char) ('a' + i % 26);
  for (i = 0; i < sizeof(big); i++) {
    fh_buf_append(&b, &big[i], 1);
    if (b.len != i + 1 || b.data[b.len] != '\0') {
      CHECK(b.len == i + 1 && b.data[b.len] == '\0');
      break;
    }
  }
  CHECK(b.cap > b.len && !b.failed);
  CHECK_TAKE(&b, big, sizeof(big));

  /* One large append in one go. */
  fh_buf_append(&b, "x", 1);
  fh_buf_append(&b, big, sizeof(big));
  CHECK(b.len == sizeof(big) + 1 && b.data[0] == 'x' &&
        memcmp(b.data + 1, big, sizeof(big)) == 0 && b.data[b.len] == '\0');

  /* The buffer is reusable after take, and free releases it. */
  free(fh_buf_take(&b, NULL));
  fh_buf_puts(&b, "again");
  CHECK(b.len == 5 && strcmp(b.data, "again") == 0);
  fh_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.failed == 0);
  fh_buf_puts(&b, "after free");
  CHECK_TAKE(&b, "after free", 10);
}

static void test_reserve(void) {
  fh_buf b;
  fh_buf_init(&b);
  fh_buf_append(&b, "ab", 2);
  char *p = fh_buf_reserve(&b, 10000);
  CHECK(p != NULL && p == b.data + 2);
  CHECK(b.cap >= 2 + 10000 + 1 && b.len == 2);
  memset(p, 'x', 10000); /* all of it is writable */
  b.len += 10000;
  fh_buf_append(&b, "c", 1);
  CHECK(b.len == 10003 && b.data[0] == 'a' && b.data[10001] == 'x' && b.data[10002] == 'c');
  b.failed = 1;
  CHECK(fh_buf_reserve(&b, 1) == NULL);
  fh_buf_free(&b);
}

static void test_printf(void) {
  fh_buf b;
  char want[2048];
  char s255[256];
  char s256[257];
  char s1000[1001];
  int n;

  fh_buf_init(&b);
  fh_buf_printf(&b, "%d-%s-%c", 42, "x", 'y');
  CHECK_TAKE(&b, "42-x-y", 6);

  fh_buf_puts(&b, "pre:");
  fh_buf_printf(&b, "%s", "");
  fh_buf_printf(&b, "[%05.1f]", 3.14159);
  fh_buf_printf(&b, "%zu", (size_t) 7);
  CHECK_TAKE(&b, "pre:[003.1]7", 12);

  /* Around the 256-byte stack buffer inside fh_buf_printf. */
  memset(s255, 'a', 255);
  s255[255] = '\0';
  memset(s256, 'b', 256);
  s256[256] = '\0';
  memset(s1000, 'c', 1000);
  s1000[1000] = '\0';

  fh_buf_printf(&b, "%s", s255);
  CHECK_TAKE(&b, s255, 255);
  fh_buf_printf(&b, "%s", s256);
  CHECK_TAKE(&b, s256, 256);
  fh_buf_printf(&b, "%s", s1000);
  CHECK_TAKE(&b, s1000, 1000);

  /* Long output appended after existing content, with several arguments. */
  fh_buf_puts(&b, "head|");
  fh_buf_printf(&b, "%s|%d|%s|%s", s255, -17, s256, "tail");
  n = snprintf(want, sizeof(want), "head|%s|%d|%s|%s", s255, -17, s256, "tail");
  CHECK(n > 0 && (size_t) n < sizeof(want));
  CHECK(b.len == (size_t) n && b.data[b.len] == '\0');
  /* Appends after a long printf continue at the right place. */
  fh_buf_puts(&b, "!");
  want[n] = '!';
  want[n + 1] = '\0';
  CHECK_TAKE(&b, want, (size_t) n + 1);

  /* Long printf into a buffer that already has spare but not enough room. */
  fh_buf_puts(&b, "0123456789");
  fh_buf_printf(&b, "%s%s", s1000, s1000);
  CHECK(b.len == 2010);
  CHECK(memcmp(b.data, "0123456789", 10) == 0);
  CHECK(memcmp(b.data + 10, s1000, 1000) == 0 && memcmp(b.data + 1010, s1000, 1000) == 0);
  CHECK(b.data[2010] == '\0');
  fh_buf_free(&b);

  /* Width-produced long output (no long string argument). */
  fh_buf_printf(&b, "%300d", 5);
  CHECK(b.len == 300 && b.data[299] == '5' && b.data[0] == ' ' && b.data[300] == '\0');
  fh_buf_free(&b);
}

static void test_json_string(void) {
  fh_buf b;
  char all[32];
  char want[32 * 6 + 3];
  size_t i;
  size_t w;

  CHECK_JSON("", 0, "\"\"");
  CHECK_JSON("plain text", 10, "\"plain text\"");
  CHECK_JSON("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
  CHECK_JSON("a\\b", 3, "\"a\\\\b\"");
  CHECK_JSON("\\\"", 2, "\"\\\\\\\"\"");
  CHECK_JSON("l1\nl2\tx\r", 8, "\"l1\\nl2\\tx\\r\"");
  CHECK_JSON("\x01", 1, "\"\\u0001\"");
  CHECK_JSON("a\x1f" "b", 3, "\"a\\u001fb\"");
  CHECK_JSON("\b\f", 2, "\"\\u0008\\u000c\"");
  /* Embedded NUL is escaped, and only n bytes are read. */
  CHECK_JSON("a\0b", 3, "\"a\\u0000b\"");
  CHECK_JSON("abcdef", 3, "\"abc\"");
  /* '/' and DEL need no escape in JSON. */
  CHECK_JSON("a/b\x7f", 4, "\"a/b\x7f\"");
  /* UTF-8 passes through byte for byte. */
  CHECK_JSON("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
             "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  /* Escapes at the start and the end of the input. */
  CHECK_JSON("\"x\"", 3, "\"\\\"x\\\"\"");
  CHECK_JSON("\n", 1, "\"\\n\"");

  /* Every control character. */
  w = 0;
  want[w++] = '"';
  for (i = 0; i < 32; i++) {
    all[i] = (char) i;
    if (i == '\n') {
      memcpy(want + w, "\\n", 2);
      w += 2;
    } else if (i == '\r') {
      memcpy(want + w, "\\r", 2);
      w += 2;
    } else if (i == '\t') {
      memcpy(want + w, "\\t", 2);
      w += 2;
    } else {
      snprintf(want + w, 7, "\\u%04zx", i);
      w += 6;
    }
  }
  want[w++] = '"';
  want[w] = '\0';
  CHECK_JSON(all, 32, want);

  /* Appends to existing content. */
  fh_buf_init(&b);
  fh_buf_puts(&b, "{\"k\":");
  fh_buf_json_string(&b, "v\"1", 3);
  fh_buf_puts(&b, "}");
  CHECK_TAKE(&b, "{\"k\":\"v\\\"1\"}", 12);

  /* Long input forces growth in the middle of escaping. */
  {
    char in[600];
    char out[2 * 600 + 3];
    for (i = 0; i < 600; i++)
      in[i] = (i % 3 == 0) ? '"' : 'z';
    w = 0;
    out[w++] = '"';
    for (i = 0; i < 600; i++) {
      if (in[i] == '"')
        out[w++] = '\\';
      out[w++] = in[i];
    }
    out[w++] = '"';
    fh_buf_json_string(&b, in, sizeof(in));
    CHECK_TAKE(&b, out, w);
  }
}

int main(void) {
  test_init_empty();
  test_append();
  test_reserve();
  test_printf();
  test_json_string();

  if (failures != 0) {
    fprintf(stderr, "test_buf: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_buf: ok\n");
  return 0;
}

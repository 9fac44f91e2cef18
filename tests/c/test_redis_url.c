/* Standalone tests for fh_redis_url_parse in core/redis.c. Exit status 0 on success. */
#define _POSIX_C_SOURCE 200809L

#include "fh.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* NULL-safe string equality: both NULL, or both equal. */
static int str_eq(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp(a, b) == 0;
}

/* Parse url, expect success and the given fields; print them on mismatch. */
#define CHECK_URL(url, host, port, path, user, password, db) \
  check_url(__FILE__, __LINE__, (url), (host), (port), (path), (user), (password), (db))

static void check_url(const char *file, int line, const char *url, const char *host,
                      int port, const char *path, const char *user,
                      const char *password, int db) {
  fh_redis_url u;
  int rc = fh_redis_url_parse(url, &u);

  if (rc != 0) {
    fprintf(stderr, "%s:%d: parse(\"%s\") = %d, want 0\n", file, line, url, rc);
    failures++;
    return;
  }
  if (!str_eq(u.host, host) || (host != NULL && u.port != port) || !str_eq(u.path, path) ||
      !str_eq(u.user, user) || !str_eq(u.password, password) || u.db != db) {
    fprintf(stderr,
            "%s:%d: parse(\"%s\") mismatch\n"
            "  want host=%s port=%d path=%s user=%s password=%s db=%d\n"
            "  got  host=%s port=%d path=%s user=%s password=%s db=%d\n",
            file, line, url, host ? host : "(null)", port, path ? path : "(null)",
            user ? user : "(null)", password ? password : "(null)", db,
            u.host ? u.host : "(null)", u.port, u.path ? u.path : "(null)",
            u.user ? u.user : "(null)", u.password ? u.password : "(null)", u.db);
    failures++;
  }
  fh_redis_url_free(&u);
  CHECK(u.host == NULL && u.path == NULL && u.user == NULL && u.password == NULL);
}

/* Parse url, expect FH_EINVAL and nothing left allocated in out. */
#define CHECK_BAD(url) check_bad(__FILE__, __LINE__, (url))

static void check_bad(const char *file, int line, const char *url) {
  fh_redis_url u;
  int rc = fh_redis_url_parse(url, &u);

  if (rc != FH_EINVAL) {
    fprintf(stderr, "%s:%d: parse(\"%s\") = %d, want FH_EINVAL (%d)\n", file, line, url,
            rc, FH_EINVAL);
    failures++;
  }
  if (rc != 0 && (u.host != NULL || u.path != NULL || u.user != NULL || u.password != NULL)) {
    fprintf(stderr, "%s:%d: parse(\"%s\") failed but left fields set\n", file, line, url);
    failures++;
  }
  /* Freeing after a failed parse is harmless (the struct was cleared). */
  fh_redis_url_free(&u);
}

static void test_tcp(void) {
  /*        url                                 host         port  path  user    password  db */
  CHECK_URL("redis://host:6380",               "host",       6380, NULL, NULL,   NULL,     0);
  CHECK_URL("redis://127.0.0.1:6379",          "127.0.0.1",  6379, NULL, NULL,   NULL,     0);
  CHECK_URL("redis://host",                    "host",       6379, NULL, NULL,   NULL,     0);
  CHECK_URL("redis://host/",                   "host",       6379, NULL, NULL,   NULL,     0);
  CHECK_URL("redis://host:1",                  "host",       1,    NULL, NULL,   NULL,     0);
  CHECK_URL("redis://host:65535",              "host",       65535, NULL, NULL,  NULL,     0);
  CHECK_URL("redis://host/5",                  "host",       6379, NULL, NULL,   NULL,     5);
  CHECK_URL("redis://:secret@host:6380/2",     "host",       6380, NULL, NULL,   "secret", 2);
  CHECK_URL("redis://user:secret@host:1/3",    "host",       1,    NULL, "user", "secret", 3);
  CHECK_URL("redis://:secret@host",            "host",       6379, NULL, NULL,   "secret", 0);
  /* A password may itself contain '@' and ':'. */
  CHECK_URL("redis://:p@ss:w@host:7000",       "host",       7000, NULL, NULL,   "p@ss:w", 0);
}

static void test_unix(void) {
  CHECK_URL("unix:///var/run/redis.sock", NULL, 0, "/var/run/redis.sock", NULL, NULL, 0);
  CHECK_URL("unix:///tmp/r.sock?db=4",    NULL, 0, "/tmp/r.sock",         NULL, NULL, 4);
  CHECK_URL("unix:///tmp/r.sock?db=0",    NULL, 0, "/tmp/r.sock",         NULL, NULL, 0);
}

/* redis+sentinel://: the sentinels in order, the master's name, its db
 * and password. */
static void test_sentinel(void) {
  fh_redis_url u;
  CHECK(fh_redis_url_parse("redis+sentinel://s1:26380,s2,10.0.0.3:5000/mymaster", &u) == 0);
  CHECK(u.nsentinels == 3 && u.host == NULL && u.db == 0 && u.password == NULL);
  CHECK(str_eq(u.master, "mymaster"));
  CHECK(u.nsentinels == 3 && str_eq(u.sentinels[0].host, "s1") && u.sentinels[0].port == 26380);
  CHECK(u.nsentinels == 3 && str_eq(u.sentinels[1].host, "s2") && u.sentinels[1].port == 26379);
  CHECK(u.nsentinels == 3 && str_eq(u.sentinels[2].host, "10.0.0.3") && u.sentinels[2].port == 5000);
  fh_redis_url_free(&u);
  CHECK(u.sentinels == NULL && u.master == NULL && u.nsentinels == 0);

  CHECK(fh_redis_url_parse("redis+sentinel://:pw@127.0.0.1:27001/m1/3", &u) == 0);
  CHECK(u.nsentinels == 1 && str_eq(u.master, "m1") && u.db == 3 && str_eq(u.password, "pw"));
  fh_redis_url_free(&u);
  CHECK(fh_redis_url_parse("redis+sentinel://app:pw@h/m1/", &u) == 0);
  CHECK(str_eq(u.user, "app") && u.db == 0 && u.nsentinels == 1 && u.sentinels[0].port == 26379);
  fh_redis_url_free(&u);

  CHECK_BAD("redis+sentinel://h1:26379");          /* no master name */
  CHECK_BAD("redis+sentinel://h1:26379/");
  CHECK_BAD("redis+sentinel:///mymaster");         /* no sentinel */
  CHECK_BAD("redis+sentinel://h1,,h2/mymaster");
  CHECK_BAD("redis+sentinel://h1:x/mymaster");
  CHECK_BAD("redis+sentinel://h1:0/mymaster");
  CHECK_BAD("redis+sentinel://h1/mymaster/x");
  CHECK_BAD("redis+sentinel://h1/mymaster/1/2");
}

static void test_rejects(void) {
  CHECK_BAD("http://x");
  CHECK_BAD("");
  CHECK_BAD("redis:/host");
  CHECK_BAD("REDIS");
  CHECK_BAD("redis://host:notaport");
  CHECK_BAD("redis://host:70000");
  CHECK_BAD("redis://host:65536");
  CHECK_BAD("redis://host:0");
  CHECK_BAD("redis://host:-1");
  CHECK_BAD("redis://host:");
  CHECK_BAD("redis://host:6379x");
  CHECK_BAD("redis://host:6379x/1");
  CHECK_BAD("redis://host/abc");
  CHECK_BAD("redis://host/2x");
  CHECK_BAD("redis://host/-1");
  CHECK_BAD("redis://host/99999999999");  /* does not fit an int */
  CHECK_BAD("redis://:pw@host:bad");
  CHECK_BAD("unix://");
  CHECK_BAD("unix://?db=1");
  /* ?db= is validated like the redis:// /db part. */
  CHECK_BAD("unix:///tmp/r.sock?db=abc");
  CHECK_BAD("unix:///tmp/r.sock?db=-1");
  CHECK_BAD("unix:///tmp/r.sock?db=4x");
}

int main(void) {
  test_tcp();
  test_unix();
  test_sentinel();
  test_rejects();

  if (failures != 0) {
    fprintf(stderr, "test_redis_url: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_redis_url: ok\n");
  return 0;
}

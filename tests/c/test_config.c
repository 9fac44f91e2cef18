/* Standalone tests for core/config.c. Exit status 0 on success. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "fh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* NULL-safe string equality. */
static int str_eq(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp(a, b) == 0;
}

/* Every variable fh_config_load reads; cleared so the caller's environment
 * cannot leak into the tests. */
static const char *const env_vars[] = {
  "FLOWHOST_LISTEN", "FLOWHOST_WORKERS", "FLOWHOST_HTTP_THREADS", "REDIS_URL",
  "FLOWHOST_SCRIPTS", "FLOWHOST_ROUTES", "FLOWHOST_LUA_PATH", "FLOWHOST_LOG_LEVEL",
  "FLOWHOST_MAX_BODY", "FLOWHOST_MAX_CONNECTIONS", "FLOWHOST_MAX_CONNECTIONS_PER_IP",
  "FLOWHOST_REQUEST_DEADLINE",
  "FLOWHOST_IDLE_TIMEOUT", "FLOWHOST_SHUTDOWN_GRACE", "FLOWHOST_HANDLER_TIMEOUT",
  "FLOWHOST_HTTP_TIMEOUT", "FLOWHOST_HTTP_CONNECT_TIMEOUT", "FLOWHOST_HTTP_MAX_RESPONSE",
  "FLOWHOST_REDIS_TIMEOUT", "FLOWHOST_TIMER_POLL", "FLOWHOST_TIMER_LEASE",
};

static void clear_env(void) {
  size_t i;

  for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
    unsetenv(env_vars[i]);
}

static int cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int) n : 1;
}

/* Writes text to a fresh file under /tmp; returns its path (caller frees
 * with remove_tmp) or NULL. */
static char *write_tmp(const char *text) {
  char *path = strdup("/tmp/fh_test_cfg_XXXXXX");
  int fd;
  FILE *f;

  if (path == NULL)
    return NULL;
  fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    free(path);
    return NULL;
  }
  f = fdopen(fd, "w");
  if (f == NULL) {
    close(fd);
    unlink(path);
    free(path);
    return NULL;
  }
  if (fputs(text, f) < 0) {
    fclose(f);
    unlink(path);
    free(path);
    return NULL;
  }
  fclose(f);
  return path;
}

static void remove_tmp(char *path) {
  if (path != NULL)
    unlink(path);
  free(path);
}

/* A config after a failed load must hold nothing (the load frees it). */
static int cfg_empty(const fh_config *c) {
  return c->path == NULL && c->listen == NULL && c->listen_host == NULL &&
         c->redis_url == NULL && c->scripts_dir == NULL && c->routes == NULL &&
         c->lua_path == NULL && c->log_level == NULL;
}

/* Loads text as a config file and expects FH_ECONFIG with an error that
 * names the file and contains each of the want strings. */
#define CHECK_LOAD_FAILS(text, ...) \
  check_load_fails(__FILE__, __LINE__, (text), (const char *[]){ __VA_ARGS__, NULL })

static void check_load_fails(const char *file, int line, const char *text,
                             const char *const *want) {
  fh_config c;
  char err[512];
  char *path = write_tmp(text);
  int rc;

  if (path == NULL) {
    fprintf(stderr, "%s:%d: cannot write temp config\n", file, line);
    failures++;
    return;
  }
  strcpy(err, "(unset)");
  rc = fh_config_load(&c, path, err, sizeof(err));
  if (rc != FH_ECONFIG) {
    fprintf(stderr, "%s:%d: load returned %d, want FH_ECONFIG (%d); err: %s\n", file,
            line, rc, FH_ECONFIG, err);
    failures++;
    if (rc == 0)
      fh_config_free(&c);
  } else {
    if (strstr(err, path) == NULL) {
      fprintf(stderr, "%s:%d: error does not name the file %s: %s\n", file, line, path, err);
      failures++;
    }
    for (; *want != NULL; want++)
      if (strstr(err, *want) == NULL) {
        fprintf(stderr, "%s:%d: error lacks \"%s\": %s\n", file, line, *want, err);
        failures++;
      }
    if (!cfg_empty(&c)) {
      fprintf(stderr, "%s:%d: config not cleared after a failed load\n", file, line);
      failures++;
    }
    fh_config_free(&c);  /* harmless after a failed load */
  }
  remove_tmp(path);
}

static void test_defaults(void) {
  fh_config c;
  char err[256] = "";

  clear_env();
  CHECK(fh_config_load(&c, NULL, err, sizeof(err)) == 0);
  CHECK(c.path == NULL);
  CHECK(str_eq(c.listen, "127.0.0.1:8080"));
  CHECK(str_eq(c.listen_host, "127.0.0.1"));
  CHECK(c.listen_port == 8080);
  CHECK(c.workers == cores());
  CHECK(c.workers >= 1);
  CHECK(str_eq(c.redis_url, "redis://127.0.0.1:6379"));
  CHECK(str_eq(c.scripts_dir, "scripts"));
  CHECK(str_eq(c.routes, "ops"));
  CHECK(str_eq(c.lua_path, ""));
  CHECK(str_eq(c.log_level, "info"));
  CHECK(c.max_body == 1048576);
  CHECK(c.max_connections == 8192);
  CHECK(c.max_connections_per_ip == 256);
  CHECK(c.request_deadline == 10);
  CHECK(c.idle_timeout == 60);
  CHECK(c.shutdown_grace == 10);
  CHECK(c.handler_timeout == 60);
  CHECK(c.http_timeout == 30);
  CHECK(c.http_connect_timeout == 5);
  CHECK(c.http_max_response == 8388608);
  CHECK(c.redis_timeout == 5);
  CHECK(c.timer_poll == 0.2);
  CHECK(c.timer_lease == 60);
  CHECK(c.argv == NULL && c.argc == 0);
  fh_config_free(&c);
  CHECK(cfg_empty(&c));
  fh_config_free(&c);  /* twice is harmless */
}

static void test_file(void) {
  static const char text[] =
      "-- test config\n"
      "local mb = 1024 * 1024\n"
      "return {\n"
      "  listen = \"0.0.0.0:9090\",\n"
      "  workers = 3,\n"
      "  redis_url = \"redis://:pw@cache:6380/1\",\n"
      "  scripts = \"/srv/scripts\",\n"
      "  routes = \"ops,api\",\n"
      "  lua_path = \"tests/support/?.lua\",\n"
      "  log_level = \"debug\",\n"
      "  max_body = 2 * mb,\n"
      "  max_connections = 100,\n"
      "  max_connections_per_ip = 0,\n"
      "  request_deadline = 2.5,\n"
      "  idle_timeout = 7,\n"
      "  shutdown_grace = 0,\n"
      "  handler_timeout = 1.25,\n"
      "  http_timeout = 9,\n"
      "  http_connect_timeout = 0.5,\n"
      "  http_max_response = 1000,\n"
      "  redis_timeout = 3,\n"
      "  timer_poll = 0.05,\n"
      "  timer_lease = 30,\n"
      "  x_custom = { anything = true },   -- x_ keys are allowed\n"
      "  app = { name = \"demo\", n = 1 }, -- app-specific settings\n"
      "}\n";
  fh_config c;
  char err[256] = "";
  char *path;

  clear_env();
  path = write_tmp(text);
  CHECK(path != NULL);
  if (path == NULL)
    return;
  CHECK(fh_config_load(&c, path, err, sizeof(err)) == 0);
  if (err[0] != '\0')
    fprintf(stderr, "unexpected err: %s\n", err);
  CHECK(str_eq(c.path, path));
  CHECK(c.path != path);  /* owned copy */
  CHECK(str_eq(c.listen, "0.0.0.0:9090"));
  CHECK(str_eq(c.listen_host, "0.0.0.0"));
  CHECK(c.listen_port == 9090);
  CHECK(c.workers == 3);
  CHECK(str_eq(c.redis_url, "redis://:pw@cache:6380/1"));
  CHECK(str_eq(c.scripts_dir, "/srv/scripts"));
  CHECK(str_eq(c.routes, "ops,api"));
  CHECK(str_eq(c.lua_path, "tests/support/?.lua"));
  CHECK(str_eq(c.log_level, "debug"));
  CHECK(c.max_body == 2097152);
  CHECK(c.max_connections == 100);
  CHECK(c.max_connections_per_ip == 0);  /* 0: no limit (behind a proxy) */
  CHECK(c.request_deadline == 2.5);
  CHECK(c.idle_timeout == 7);
  CHECK(c.shutdown_grace == 0);
  CHECK(c.handler_timeout == 1.25);
  CHECK(c.http_timeout == 9);
  CHECK(c.http_connect_timeout == 0.5);
  CHECK(c.http_max_response == 1000);
  CHECK(c.redis_timeout == 3);
  CHECK(c.timer_poll == 0.05);
  CHECK(c.timer_lease == 30);
  fh_config_free(&c);
  CHECK(cfg_empty(&c));
  remove_tmp(path);

  /* Settings not in the file keep their defaults; workers = 0 means cores;
   * numeric strings are accepted for numeric settings. */
  path = write_tmp("return { workers = 0, idle_timeout = \"4\", listen = \"localhost:1\" }\n");
  CHECK(path != NULL);
  if (path == NULL)
    return;
  CHECK(fh_config_load(&c, path, err, sizeof(err)) == 0);
  CHECK(c.workers == cores());
  CHECK(c.idle_timeout == 4);
  CHECK(str_eq(c.listen_host, "localhost") && c.listen_port == 1);
  CHECK(str_eq(c.redis_url, "redis://127.0.0.1:6379"));
  CHECK(str_eq(c.log_level, "info"));
  CHECK(c.max_body == 1048576);
  fh_config_free(&c);
  remove_tmp(path);

  /* An empty table is fine: all defaults. */
  path = write_tmp("return {}\n");
  CHECK(path != NULL);
  if (path == NULL)
    return;
  CHECK(fh_config_load(&c, path, err, sizeof(err)) == 0);
  CHECK(str_eq(c.listen, "127.0.0.1:8080") && c.listen_port == 8080);
  CHECK(c.workers == cores());
  fh_config_free(&c);
  remove_tmp(path);

  /* The shipped example configuration loads (ctest runs in the source
   * tree; elsewhere the file may not be found). */
  if (access("config/flowhost.lua", R_OK) != 0) {
    printf("test_config: config/flowhost.lua not found from here, skipped\n");
    return;
  }
  CHECK(fh_config_load(&c, "config/flowhost.lua", err, sizeof(err)) == 0);
  if (c.listen != NULL) {
    CHECK(c.listen_port == 8080);
    CHECK(c.max_body == 1048576);
    fh_config_free(&c);
  } else {
    fprintf(stderr, "config/flowhost.lua: %s\n", err);
  }
}

static void test_env(void) {
  fh_config c;
  char err[256] = "";
  char *path;

  clear_env();
  path = write_tmp("return {\n"
                   "  listen = \"0.0.0.0:9090\",\n"
                   "  workers = 3,\n"
                   "  log_level = \"warn\",\n"
                   "  redis_url = \"redis://file:6379\",\n"
                   "  max_body = 10,\n"
                   "  routes = \"fromfile\",\n"
                   "}\n");
  CHECK(path != NULL);
  if (path == NULL)
    return;

  /* Environment wins over the file. */
  setenv("FLOWHOST_WORKERS", "7", 1);
  setenv("FLOWHOST_LISTEN", "10.1.2.3:1234", 1);
  setenv("FLOWHOST_LOG_LEVEL", "debug", 1);
  setenv("REDIS_URL", "redis://:s3cret@env-redis:6390/4", 1);
  setenv("FLOWHOST_MAX_BODY", "2048", 1);
  setenv("FLOWHOST_TIMER_POLL", "0.5", 1);
  setenv("FLOWHOST_MAX_CONNECTIONS_PER_IP", "16", 1);
  setenv("FLOWHOST_ROUTES", "", 1);  /* empty: ignored */
  CHECK(fh_config_load(&c, path, err, sizeof(err)) == 0);
  CHECK(c.workers == 7);
  CHECK(str_eq(c.listen, "10.1.2.3:1234"));
  CHECK(str_eq(c.listen_host, "10.1.2.3") && c.listen_port == 1234);
  CHECK(str_eq(c.log_level, "debug"));
  CHECK(str_eq(c.redis_url, "redis://:s3cret@env-redis:6390/4"));
  CHECK(c.max_body == 2048);
  CHECK(c.timer_poll == 0.5);
  CHECK(c.max_connections_per_ip == 16);
  CHECK(str_eq(c.routes, "fromfile"));
  fh_config_free(&c);
  clear_env();

  /* Without the environment, the file's values are back. */
  CHECK(fh_config_load(&c, path, err, sizeof(err)) == 0);
  CHECK(c.workers == 3);
  CHECK(str_eq(c.listen_host, "0.0.0.0") && c.listen_port == 9090);
  CHECK(str_eq(c.redis_url, "redis://file:6379"));
  CHECK(str_eq(c.log_level, "warn"));
  fh_config_free(&c);
  remove_tmp(path);

  /* Environment also applies over the built-in defaults. */
  setenv("REDIS_URL", "unix:///tmp/r.sock?db=2", 1);
  setenv("FLOWHOST_WORKERS", "0", 1);
  setenv("FLOWHOST_HTTP_THREADS", "3", 1);
  CHECK(fh_config_load(&c, NULL, err, sizeof(err)) == 0);
  CHECK(str_eq(c.redis_url, "unix:///tmp/r.sock?db=2"));
  CHECK(c.workers == cores());
  CHECK(c.path == NULL);
  fh_config_free(&c);
  clear_env();

  /* A bad environment value is an error naming the variable. */
  strcpy(err, "");
  setenv("FLOWHOST_WORKERS", "abc", 1);
  CHECK(fh_config_load(&c, NULL, err, sizeof(err)) == FH_ECONFIG);
  CHECK(strstr(err, "FLOWHOST_WORKERS") != NULL);
  CHECK(strstr(err, "workers") != NULL);
  CHECK(cfg_empty(&c));
  clear_env();

  strcpy(err, "");
  setenv("FLOWHOST_MAX_BODY", "-5", 1);
  CHECK(fh_config_load(&c, NULL, err, sizeof(err)) == FH_ECONFIG);
  CHECK(strstr(err, "max_body") != NULL);
  CHECK(cfg_empty(&c));
  clear_env();

  strcpy(err, "");
  setenv("FLOWHOST_MAX_CONNECTIONS_PER_IP", "-1", 1);
  CHECK(fh_config_load(&c, NULL, err, sizeof(err)) == FH_ECONFIG);
  CHECK(strstr(err, "FLOWHOST_MAX_CONNECTIONS_PER_IP") != NULL);
  CHECK(strstr(err, "max_connections_per_ip") != NULL);
  CHECK(cfg_empty(&c));
  clear_env();

  strcpy(err, "");
  setenv("FLOWHOST_REQUEST_DEADLINE", "nan", 1);
  if (fh_config_load(&c, NULL, err, sizeof(err)) == 0) {
    fprintf(stderr, "%s:%d: FLOWHOST_REQUEST_DEADLINE=nan accepted (request_deadline=%g)\n",
            __FILE__, __LINE__, c.request_deadline);
    failures++;
    fh_config_free(&c);
  } else {
    CHECK(strstr(err, "request_deadline") != NULL);
    CHECK(cfg_empty(&c));
  }
  clear_env();

  strcpy(err, "");
  setenv("FLOWHOST_LISTEN", "nohostport", 1);
  CHECK(fh_config_load(&c, NULL, err, sizeof(err)) == FH_ECONFIG);
  CHECK(strstr(err, "nohostport") != NULL);
  CHECK(cfg_empty(&c));
  clear_env();
}

static void test_errors(void) {
  fh_config c;
  char err[512];
  char *path;
  const char *base;
  char want[600];

  clear_env();

  /* Syntax error: "file:line:" with the failing line. */
  path = write_tmp("return {\n"
                   "  listen = \"127.0.0.1:1\",\n"
                   "  workers = = 2,\n"
                   "}\n");
  CHECK(path != NULL);
  if (path != NULL) {
    strcpy(err, "");
    CHECK(fh_config_load(&c, path, err, sizeof(err)) == FH_ECONFIG);
    base = strrchr(path, '/') + 1;
    snprintf(want, sizeof(want), "%s:3:", base);
    CHECK(strstr(err, want) != NULL);
    snprintf(want, sizeof(want), "%s:3:", path);
    CHECK(strstr(err, want) != NULL);
    if (strstr(err, want) == NULL)
      fprintf(stderr, "  err was: %s\n", err);
    CHECK(cfg_empty(&c));
    remove_tmp(path);
  }

  /* A runtime error in the file also reports file:line. */
  CHECK_LOAD_FAILS("local x = 1\n"
                   "error(\"boom\")\n"
                   "return {}\n",
                   ":2:", "boom");
  CHECK_LOAD_FAILS("return {\n\n\n\n  workers = nil + 1,\n}\n", ":5:");

  /* Unknown key names the key. */
  CHECK_LOAD_FAILS("return { listen = \"127.0.0.1:1\", bogus_setting = 1 }\n",
                   "bogus_setting");
  CHECK_LOAD_FAILS("return { worker = 4 }\n", "'worker'");

  /* Wrong types name the setting. */
  CHECK_LOAD_FAILS("return { workers = \"abc\" }\n", "workers", "abc");
  CHECK_LOAD_FAILS("return { workers = { 1, 2 } }\n", "workers", "table");
  CHECK_LOAD_FAILS("return { workers = true }\n", "workers");
  CHECK_LOAD_FAILS("return { workers = -1 }\n", "workers");
  CHECK_LOAD_FAILS("return { workers = 2.5 }\n", "workers");
  CHECK_LOAD_FAILS("return { max_body = \"big\" }\n", "max_body");
  CHECK_LOAD_FAILS("return { timer_poll = -0.5 }\n", "timer_poll");
  CHECK_LOAD_FAILS("return { max_connections_per_ip = 2.5 }\n", "max_connections_per_ip");
  CHECK_LOAD_FAILS("return { max_connections_per_ip = \"all\" }\n", "max_connections_per_ip", "all");
  /* NaN is not a non-negative number. */
  CHECK_LOAD_FAILS("return { max_body = 0/0 }\n", "max_body");
  CHECK_LOAD_FAILS("return { request_deadline = \"nan\" }\n", "request_deadline");
  CHECK_LOAD_FAILS("return { listen = { host = \"x\" } }\n", "listen", "table");
  CHECK_LOAD_FAILS("return { redis_url = function() end }\n", "redis_url");

  /* The file must return a table. */
  CHECK_LOAD_FAILS("return 42\n", "table");
  CHECK_LOAD_FAILS("local t = {}\n", "table");

  /* Bad listen values. */
  {
    static const char *const bad_listen[] = {
      "nohostport", ":8080", "host:abc", "host:70000", "host:-1", "host:80x",
      "host:",  /* no port digits: must not silently become port 0 */
    };
    size_t i;

    for (i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
      char text[128];

      snprintf(text, sizeof(text), "return { listen = \"%s\" }\n", bad_listen[i]);
      path = write_tmp(text);
      CHECK(path != NULL);
      if (path == NULL)
        continue;
      strcpy(err, "");
      if (fh_config_load(&c, path, err, sizeof(err)) != FH_ECONFIG) {
        fprintf(stderr, "%s:%d: listen \"%s\" was accepted\n", __FILE__, __LINE__,
                bad_listen[i]);
        failures++;
        fh_config_free(&c);
      } else {
        CHECK(strstr(err, "listen") != NULL);
        CHECK(strstr(err, bad_listen[i]) != NULL);
        CHECK(cfg_empty(&c));
      }
      remove_tmp(path);
    }
  }

  /* Missing file: the error names it. */
  path = write_tmp("");
  CHECK(path != NULL);
  if (path != NULL) {
    unlink(path);
    strcpy(err, "");
    CHECK(fh_config_load(&c, path, err, sizeof(err)) == FH_ECONFIG);
    CHECK(strstr(err, path) != NULL);
    CHECK(cfg_empty(&c));
    free(path);
  }
  strcpy(err, "");
  CHECK(fh_config_load(&c, "/nonexistent/dir/flowhost.lua", err, sizeof(err)) == FH_ECONFIG);
  CHECK(strstr(err, "/nonexistent/dir/flowhost.lua") != NULL);
  CHECK(cfg_empty(&c));

  /* A small err buffer is truncated, not overrun. */
  {
    char small[8];

    memset(small, 'x', sizeof(small));
    CHECK(fh_config_load(&c, "/nonexistent/dir/flowhost.lua", small, sizeof(small)) ==
          FH_ECONFIG);
    CHECK(memchr(small, '\0', sizeof(small)) != NULL);
  }
}

int main(void) {
  test_defaults();
  test_file();
  test_env();
  test_errors();
  clear_env();

  if (failures != 0) {
    fprintf(stderr, "test_config: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_config: ok\n");
  return 0;
}

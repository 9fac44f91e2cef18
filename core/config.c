/* config.c: host settings from a Lua file and the environment.
 *
 * Settings are described once, as data (name, variable, type, default), so
 * the file reader, the environment overrides and --help share one table. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "fh.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { T_STR, T_INT, T_NUM } setting_type;

typedef struct {
  const char *key;
  const char *env;
  setting_type type;
  size_t offset;
  const char *def;
  const char *help;
} setting;

#define S(key, env, type, field, def, help) \
  {key, env, type, offsetof(fh_config, field), def, help}

static const setting settings[] = {
    S("listen", "FLOWHOST_LISTEN", T_STR, listen, "127.0.0.1:8080", "address to listen on"),
    S("workers", "FLOWHOST_WORKERS", T_INT, workers, "0", "worker threads (0: one per core)"),
    S("redis_url", "REDIS_URL", T_STR, redis_url, "redis://127.0.0.1:6379", "redis://[:password@]host:port[/db], redis+sentinel://host:26379,host2:26379/master[/db] or unix:///path"),
    S("scripts", "FLOWHOST_SCRIPTS", T_STR, scripts_dir, "scripts", "runtime library folder"),
    S("routes", "FLOWHOST_ROUTES", T_STR, routes, "ops", "route modules under scripts/routes, comma-separated"),
    S("lua_path", "FLOWHOST_LUA_PATH", T_STR, lua_path, "", "extra Lua search path entries (e.g. tests/support/?.lua), searched first"),
    S("lua_gc_pause", "FLOWHOST_LUA_GC_PAUSE", T_INT, lua_gc_pause, "150", "workers' Lua collector: start a cycle when the heap reaches this % of the live data (LuaJIT default 200)"),
    S("lua_gc_floor", "FLOWHOST_LUA_GC_FLOOR", T_INT, lua_gc_floor, "4096", "workers' Lua collector: KB a heap may always grow past its live data before a cycle (0: none)"),
    S("log_level", "FLOWHOST_LOG_LEVEL", T_STR, log_level, "info", "debug, info, warn or error"),
    S("max_body", "FLOWHOST_MAX_BODY", T_NUM, max_body, "1048576", "request body cap in bytes (413 above)"),
    S("max_connections", "FLOWHOST_MAX_CONNECTIONS", T_INT, max_connections, "8192", "open connections before 503"),
    S("max_connections_per_ip", "FLOWHOST_MAX_CONNECTIONS_PER_IP", T_INT, max_connections_per_ip, "256", "open connections one client address (IPv6: one /64) may hold; more are closed at accept (0: no limit, behind a proxy)"),
    S("connection_memory", "FLOWHOST_CONNECTION_MEMORY", T_INT, connection_memory, "4096", "bytes per connection for request headers and IO (larger headers get 431)"),
    S("request_deadline", "FLOWHOST_REQUEST_DEADLINE", T_NUM, request_deadline, "10", "seconds to receive a whole request"),
    S("idle_timeout", "FLOWHOST_IDLE_TIMEOUT", T_NUM, idle_timeout, "60", "seconds an idle keep-alive connection is kept"),
    S("shutdown_grace", "FLOWHOST_SHUTDOWN_GRACE", T_NUM, shutdown_grace, "10", "seconds in-flight requests get on SIGTERM"),
    S("handler_timeout", "FLOWHOST_HANDLER_TIMEOUT", T_NUM, handler_timeout, "60", "seconds before a request's handler is answered 504"),
    S("http_timeout", "FLOWHOST_HTTP_TIMEOUT", T_NUM, http_timeout, "30", "default total timeout of http.request"),
    S("http_connect_timeout", "FLOWHOST_HTTP_CONNECT_TIMEOUT", T_NUM, http_connect_timeout, "5", "default connect timeout of http.request"),
    S("http_max_response", "FLOWHOST_HTTP_MAX_RESPONSE", T_NUM, http_max_response, "8388608", "largest upstream response body in bytes"),
    S("redis_timeout", "FLOWHOST_REDIS_TIMEOUT", T_NUM, redis_timeout, "5", "seconds a Redis command may take before the connection is reset"),
    S("timer_poll", "FLOWHOST_TIMER_POLL", T_NUM, timer_poll, "0.2", "seconds between durable timer polls"),
    S("timer_lease", "FLOWHOST_TIMER_LEASE", T_NUM, timer_lease, "60", "seconds a claimed timer is leased before another host may retry it"),
    S("versions", "FLOWHOST_VERSIONS", T_STR, versions, "redis", "where tenant versions come from: redis (published to every host on the Redis) or disk (this host's files only)"),
    S("versions_poll", "FLOWHOST_VERSIONS_POLL", T_NUM, versions_poll, "0.5", "seconds between reads of the current tenant versions (beside their pub/sub notices)"),
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int set_value(fh_config *cfg, const setting *s, const char *text,
                     const char *origin, char *err, size_t errsz) {
  char *base = (char *)cfg + s->offset;
  char *end = NULL;
  errno = 0;
  switch (s->type) {
  case T_STR: {
    char **dst = (char **)base;
    free(*dst);
    *dst = strdup(text);
    return *dst ? 0 : FH_ENOMEM;
  }
  case T_INT: {
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > 1000000) break;
    *(int *)base = (int)v;
    return 0;
  }
  case T_NUM: {
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= 0) || v > 1e15) break;
    *(double *)base = v;
    return 0;
  }
  }
  snprintf(err, errsz, "%s: setting '%s' must be a non-negative %s, got \"%s\"",
           origin, s->key, s->type == T_INT ? "integer" : "number", text);
  return FH_ECONFIG;
}

/* The line where the config file sets key (`key =` or `["key"] =`), or 0:
 * errors found after the file ran still point at a line. */
static int key_line(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[4096];
  size_t n = strlen(key);
  int no = 0, found = 0;
  while (!found && fgets(line, sizeof(line), f)) {
    no++;
    char *comment = strstr(line, "--"); /* (a "--" inside a string cuts too early: rare) */
    if (comment) *comment = '\0';
    for (const char *p = strstr(line, key); p && !found; p = strstr(p + 1, key)) {
      char before = p > line ? p[-1] : ' ';
      if (isalnum((unsigned char)before) || before == '_') continue;
      const char *q = p + n;
      if (isalnum((unsigned char)*q) || *q == '_') continue;
      while (*q == '"' || *q == '\'' || *q == ']' || *q == ' ' || *q == '\t') q++;
      if (q[0] == '=' && q[1] != '=') found = no;
    }
  }
  fclose(f);
  return found;
}

/* "path:line" for key, or "path" */
static void where_of(char *out, size_t n, const char *path, const char *key) {
  int line = key_line(path, key);
  if (line) snprintf(out, n, "%s:%d", path, line);
  else snprintf(out, n, "%s", path);
}

static int read_file(fh_config *cfg, const char *path, char *err, size_t errsz) {
  int rc = FH_ECONFIG;
  lua_State *L = luaL_newstate();
  if (!L) return FH_ENOMEM;
  luaL_openlibs(L);
  if (luaL_loadfile(L, path) || lua_pcall(L, 0, 1, 0)) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errsz, "%s", msg ? msg : "cannot run config file");
    goto fail;
  }
  if (!lua_istable(L, -1)) {
    snprintf(err, errsz, "%s: the file must return a table of settings", path);
    goto fail;
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    const setting *s = NULL;
    char where[1100];
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *key = lua_tostring(L, -2);
      for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0) s = &settings[i];
      if (!s && strncmp(key, "x_", 2) != 0 && strcmp(key, "app") != 0) {
        where_of(where, sizeof(where), path, key);
        snprintf(err, errsz, "%s: unknown setting '%s' (settings: see flowhost --help; app-specific ones go under 'app')", where, key);
        goto fail;
      }
    }
    if (s) {
      int t = lua_type(L, -1);
      where_of(where, sizeof(where), path, s->key);
      if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        snprintf(err, errsz, "%s: setting '%s' must be a %s, got a %s", where,
                 s->key, s->type == T_STR ? "string" : "number",
                 lua_typename(L, t));
        goto fail;
      }
      if (s->type != T_STR && t == LUA_TSTRING && !lua_tonumber(L, -1) &&
          strcmp(lua_tostring(L, -1), "0") != 0) {
        snprintf(err, errsz, "%s: setting '%s' must be a number, got \"%s\"",
                 where, s->key, lua_tostring(L, -1));
        goto fail;
      }
      char tmp[64];
      const char *text = lua_tostring(L, -1);
      if (t == LUA_TNUMBER) {
        snprintf(tmp, sizeof(tmp), "%.17g", lua_tonumber(L, -1));
        text = tmp;
      }
      if (set_value(cfg, s, text, where, err, errsz)) goto fail;
    }
    lua_pop(L, 1);
  }
  rc = 0;
fail:
  lua_close(L);
  return rc;
}

static int parse_listen(fh_config *cfg, char *err, size_t errsz) {
  const char *colon = strrchr(cfg->listen, ':');
  char *end = NULL;
  long port = colon && colon[1] >= '0' && colon[1] <= '9' ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || colon == cfg->listen || !end || *end || port < 0 || port > 65535) {
    snprintf(err, errsz, "listen: expected host:port, got \"%s\"", cfg->listen);
    return FH_ECONFIG;
  }
  free(cfg->listen_host);
  cfg->listen_host = strndup(cfg->listen, (size_t)(colon - cfg->listen));
  cfg->listen_port = (int)port;
  return cfg->listen_host ? 0 : FH_ENOMEM;
}

int fh_config_load(fh_config *cfg, const char *path, char *err, size_t errsz) {
  int rc;
  memset(cfg, 0, sizeof(*cfg));
  for (size_t i = 0; i < NSETTINGS; i++)
    if ((rc = set_value(cfg, &settings[i], settings[i].def, "default", err, errsz)))
      goto fail;
  if (path) {
    if (access(path, R_OK) != 0) {
      snprintf(err, errsz, "%s: cannot read config file (%s)", path, strerror(errno));
      rc = FH_ECONFIG;
      goto fail;
    }
    if (!(cfg->path = strdup(path))) { rc = FH_ENOMEM; goto fail; }
    if ((rc = read_file(cfg, path, err, errsz))) goto fail;
  }
  for (size_t i = 0; i < NSETTINGS; i++) {
    const char *v = getenv(settings[i].env);
    if (v && *v && (rc = set_value(cfg, &settings[i], v, settings[i].env, err, errsz)))
      goto fail;
  }
  if (cfg->workers == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n > 0 ? (int)n : 1;
  }
  if ((rc = parse_listen(cfg, err, errsz))) goto fail;
  return 0;
fail:
  fh_config_free(cfg);
  return rc;
}

void fh_config_print_help(void) {
  printf("Settings (config file key, environment variable, default):\n");
  for (size_t i = 0; i < NSETTINGS; i++)
    printf("  %-22s %-31s %-24s %s\n", settings[i].key, settings[i].env,
           settings[i].def, settings[i].help);
}

void fh_config_free(fh_config *cfg) {
  for (size_t i = 0; i < NSETTINGS; i++)
    if (settings[i].type == T_STR) {
      char **p = (char **)((char *)cfg + settings[i].offset);
      free(*p);
      *p = NULL;
    }
  free(cfg->path);
  free(cfg->listen_host);
  cfg->path = cfg->listen_host = NULL;
}

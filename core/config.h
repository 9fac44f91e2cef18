/* config.h: host settings from a Lua file, overridden by environment.
 *
 * The file returns a table (see config/flowhost.lua). Each setting has an
 * environment variable that wins over the file (FLOWHOST_LISTEN,
 * FLOWHOST_WORKERS, REDIS_URL, ...); `flowhost --help` lists them all. */
#ifndef FH_CONFIG_H
#define FH_CONFIG_H

#include <stddef.h>

typedef struct fh_config {
  char *path;             /* the file read, or NULL for built-in defaults */
  char *listen;           /* "host:port" */
  char *listen_host;      /* parsed from listen */
  int listen_port;
  int workers;            /* worker threads; 0 in the file means "cores" */
  char *redis_url;
  char *scripts_dir;      /* runtime library root */
  char *routes;           /* comma-separated route modules under scripts/routes */
  char *lua_path;         /* extra package.path entries, searched first */
  char *log_level;
  int lua_gc_pause;       /* % of live data the heap reaches before a GC cycle */
  int lua_gc_floor;       /* KB a heap may always grow past live data first */
  double max_body;        /* bytes; larger bodies get 413 */
  int max_connections;    /* more get 503 */
  int max_connections_per_ip; /* open connections one client address (IPv6: one /64) may hold; 0: no limit */
  int connection_memory;  /* bytes per connection: headers and IO buffer */
  double request_deadline;/* seconds to receive a whole request */
  double idle_timeout;    /* seconds a keep-alive connection may idle */
  double shutdown_grace;  /* seconds in-flight requests get on SIGTERM */
  double handler_timeout; /* seconds before a handler's request gets 504 */
  double http_timeout;    /* default total timeout of http.request */
  double http_connect_timeout;
  double http_max_response; /* bytes */
  double redis_timeout;   /* seconds a Redis command may take */
  double timer_poll;      /* seconds between durable timer polls */
  double timer_lease;     /* seconds a claimed timer is leased to a handler */
  char *versions;         /* "redis" | "disk": where tenant versions come from */
  double versions_poll;   /* seconds between polls of the current versions */
  /* not settings: command-line arguments for `flowhost test` (borrowed) */
  char **argv;
  int argc;
} fh_config;

/* Loads path (NULL: defaults only), then applies environment overrides.
 * On failure returns FH_ECONFIG and writes "file:line: problem" into err.
 * The config owns its strings; release with fh_config_free(). */
int fh_config_load(fh_config *cfg, const char *path, char *err, size_t errsz);

/* Prints every setting with its variable and default (for --help). */
void fh_config_print_help(void);

void fh_config_free(fh_config *cfg);

#endif

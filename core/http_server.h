/* http_server.h: the inbound HTTP server (libmicrohttpd).
 *
 * Each worker drives its own libmicrohttpd daemon (external epoll mode) from
 * its event loop; the daemons share the port with SO_REUSEPORT. A complete
 * request is handed to the same worker and its connection suspended until
 * the worker answers. Limits
 * answered here, before any Lua runs:
 *   - a client address (IPv6: a /64) already holding max_connections_per_ip
 *     open connections has the next one closed at accept (0: no limit);
 *   - 503 above max_connections; each daemon holds at most
 *     max_connections + 256, less if the open file limit needs it;
 *   - 400 for a path with a control character (raw or %-escaped, %00
 *     included) or a broken %-escape, before the path is decoded;
 *   - 413 for a body over max_body (without reading the rest);
 *   - a connection that has not delivered a whole request within
 *     request_deadline is cut, an idle one after idle_timeout. */
#ifndef FH_HTTP_SERVER_H
#define FH_HTTP_SERVER_H

#include "config.h"

typedef struct fh_server fh_server;
typedef struct fh_worker fh_worker;

/* Binds one socket and daemon per worker and attaches daemon i to worker i
 * as its request source (fh_worker_attach_source: the worker's loop runs
 * it); call before the workers' threads start.
 * Workers are borrowed and must outlive the server. */
int fh_server_start(fh_server **out, const fh_config *cfg, fh_worker **workers,
                    int nworkers, char *err, size_t errsz);

/* The port actually bound (useful with port 0). */
int fh_server_port(fh_server *s);

/* Cuts connections past request_deadline; call about once a second. */
void fh_server_sweep(fh_server *s);

/* Runs worker slot's daemon once (accept, read, parse, resume, write);
 * only on that worker's thread. Returns 1 when the daemon has more ready
 * work and must be run again without waiting for its epoll fd. */
int fh_server_run(fh_server *s, int slot);

/* Stops slot's daemon accepting new connections (SIGTERM); in-flight
 * requests go on. Only on that worker's thread. */
void fh_server_quiesce(fh_server *s, int slot);

/* Requests handed to workers and not yet answered. */
int fh_server_inflight(fh_server *s);

/* Stops the server and frees it. Call after the workers have stopped. */
void fh_server_stop(fh_server *s);

#endif

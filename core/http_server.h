/* http_server.h: the inbound HTTP server (libmicrohttpd).
 *
 * MHD parses requests on its own thread(s). A complete request is handed to
 * a worker and its connection suspended until the worker answers. Limits
 * answered here, before any Lua runs: 413 for a body over max_body (without
 * reading the rest), 503 above max_connections, and a connection that has
 * not delivered a whole request within request_deadline is cut. */
#ifndef FH_HTTP_SERVER_H
#define FH_HTTP_SERVER_H

#include "config.h"
#include "worker.h"

typedef struct fh_server fh_server;

/* Binds and starts serving; workers are borrowed and must outlive it. */
int fh_server_start(fh_server **out, const fh_config *cfg, fh_worker **workers,
                    int nworkers, char *err, size_t errsz);

/* The port actually bound (useful with port 0). */
int fh_server_port(fh_server *s);

/* Cuts connections past request_deadline; call about once a second. */
void fh_server_sweep(fh_server *s);

/* Stops accepting new connections (SIGTERM); in-flight requests go on. */
void fh_server_quiesce(fh_server *s);

/* Requests handed to workers and not yet answered. */
int fh_server_inflight(fh_server *s);

/* Stops the server and frees it. Call after the workers have stopped. */
void fh_server_stop(fh_server *s);

#endif

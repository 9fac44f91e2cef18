/* request.h: one HTTP request on its way from the server to a worker and back.
 *
 * The HTTP server fills the request side and hands it to a worker; the worker
 * fills the response side and calls fh_server_respond(). The server owns the
 * struct and frees it when the connection is done with it. */
#ifndef FH_REQUEST_H
#define FH_REQUEST_H

#include "buf.h"

#include <stdint.h>

typedef struct fh_request fh_request;

struct fh_request {
  void *conn;                /* MHD connection, opaque outside the server */
  void *server;
  char id[24];               /* request id, also sent as X-Request-Id */
  char method[16];
  char *path;
  fh_buf kv;                 /* "name\0value\0" pairs: headers, then query */
  int nheaders, nquery;
  fh_buf body;
  size_t discarded;          /* body bytes dropped after a 413 mid-upload */
  double t_start;            /* monotonic, when the request was complete */
  int phase;                 /* server-side state, see http_server.c */
  /* response, set by the worker */
  int status;
  char *resp_body;           /* malloc'd; taken by the server */
  size_t resp_len;
  fh_buf resp_headers;       /* "name\0value\0" pairs */
  char route[64];            /* route label for metrics */
  /* worker bookkeeping */
  uint64_t task_id;
  int answered;
  fh_request *next, *prev;
};

/* Hands a finished response back to the HTTP server (on the worker thread that runs the request). */
void fh_server_respond(fh_request *req);

#endif

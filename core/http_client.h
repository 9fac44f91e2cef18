/* http_client.h: outbound HTTP on a worker's loop (libcurl multi + libuv).
 *
 * Many transfers run at once on one thread; connections are reused across
 * requests to the same host. Every transfer has a total and a connect
 * timeout and a response size cap. */
#ifndef FH_HTTP_CLIENT_H
#define FH_HTTP_CLIENT_H

#include <stddef.h>
#include <uv.h>

typedef struct fh_http_client fh_http_client;

typedef struct {
  const char *method;        /* default "GET" */
  const char *url;
  const char **headers;      /* "Name: value" lines */
  int nheaders;
  const char *body;
  size_t body_len;
  double timeout;            /* total seconds; 0 = client default */
  double connect_timeout;    /* 0 = client default */
  size_t max_response;       /* 0 = client default */
  /* Called at most once, when the connection is ready and the request is
   * about to be written (not while it waits for a connection): the moment
   * to journal "this send is going out". Not called if it never gets that
   * far. */
  void (*on_wire)(void *data);
  void *on_wire_data;
} fh_http_req;

typedef struct {
  long status;
  char *body;                /* owned by the response; freed after the callback */
  size_t body_len;
  char *headers;             /* raw header lines of the final response */
  size_t headers_len;
  double total_time;
} fh_http_res;

/* err is NULL on success (res set), else a stable word ("timeout",
 * "connection refused", "dns failed", "tls failed", "response too large",
 * "closed", ...) and res is NULL. res is borrowed for the call. */
typedef void (*fh_http_cb)(const char *err, fh_http_res *res, void *data);

int fh_http_client_create(fh_http_client **out, uv_loop_t *loop, double timeout,
                          double connect_timeout, size_t max_response);

/* Starts a transfer; everything in req is copied. Returns 0 and calls cb
 * exactly once later, or returns a negative FH_E* and never calls cb. */
int fh_http_request(fh_http_client *c, const fh_http_req *req, fh_http_cb cb, void *data);

/* Number of transfers in progress. */
int fh_http_client_active(const fh_http_client *c);

/* Aborts transfers (callbacks dropped) and frees the client. */
void fh_http_client_destroy(fh_http_client *c);

#endif

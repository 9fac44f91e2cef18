/* http_client.c: libcurl multi driven by libuv (socket and timer callbacks).
 *
 * A client is a few shards, each a curl multi with its own connection
 * cache and timer. libcurl 7.88 finds a reusable connection by walking the
 * host's whole connection list, so thousands of concurrent calls to one
 * upstream (an LLM) in one multi cost tens of microseconds per call; a
 * host's calls stay on its home shard until that has SHARD_BUSY transfers
 * and then spill to the next, so a quiet host keeps reusing one pool and a
 * busy one spreads its connections over several short lists. Finished easy
 * handles are reset and kept for the next call. */
#define _POSIX_C_SOURCE 200809L
#include "http_client.h"

#include "buf.h"
#include "fh.h"
#include "metrics.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* 64 shards instead of 16 cut CPU per LLM call ~10 % at 5,000 waiting
 * (bench/README.md); they are opened on first use */
enum { NSHARDS = 64, SHARD_BUSY = 64, SPARE_EASY = 256 };

typedef struct shard {
  struct fh_http_client *c;
  CURLM *multi;
  uv_timer_t timer;
  int active;
} shard;

struct fh_http_client {
  uv_loop_t *loop;
  shard shards[NSHARDS];
  double timeout, connect_timeout;
  size_t max_response;
  int active;
  int closing;
  int timers_open;
  struct transfer *head;   /* transfers in progress, for destroy */
  CURL *spare[SPARE_EASY]; /* reset easy handles for the next calls */
  int nspare;
};

typedef struct transfer {
  struct transfer *prev, *next;
  fh_http_client *c;
  shard *sh;
  CURL *easy;
  struct curl_slist *headers;
  char *body;              /* request body copy */
  fh_buf resp;
  fh_buf resp_headers;
  size_t max_response;
  int too_large;
  fh_http_cb cb;
  void *data;
  void (*on_wire)(void *data);
  void *on_wire_data;
  char host[128];
} transfer;

typedef struct {
  uv_poll_t poll;
  curl_socket_t fd;
  shard *sh;
} sock_ctx;

static const char *error_word(CURLcode rc, int too_large) {
  if (too_large) return "response too large";
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT: return "timeout";
  case CURLE_COULDNT_CONNECT: return "connection refused";
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return "dns failed";
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE: return "tls failed";
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT: return "bad url";
  case CURLE_GOT_NOTHING:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_PARTIAL_FILE: return "closed";
  default: return "request failed";
  }
}

static void transfer_free(transfer *t) {
  fh_http_client *c = t->c;
  if (t->prev) t->prev->next = t->next;
  else if (c->head == t) c->head = t->next;
  if (t->next) t->next->prev = t->prev;
  curl_slist_free_all(t->headers);
  free(t->body);
  fh_buf_free(&t->resp);
  fh_buf_free(&t->resp_headers);
  free(t);
}

static void count_outcome(const transfer *t, const char *outcome) {
  char host[200], labels[320];
  fh_metrics_escape(t->host, host, sizeof(host));
  snprintf(labels, sizeof(labels), "host=\"%s\",outcome=\"%s\"", host, outcome);
  fh_metrics_add("flowhost_upstream_requests_total", labels, 1);
}

/* Keeps easy for the next call, or frees it when enough are kept. */
static void easy_release(fh_http_client *c, CURL *easy) {
  if (c->nspare < SPARE_EASY && !c->closing) {
    curl_easy_reset(easy);
    c->spare[c->nspare++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

static void finish(shard *sh, CURL *easy, CURLcode rc) {
  fh_http_client *c = sh->c;
  transfer *t = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
  curl_multi_remove_handle(sh->multi, easy);
  c->active--;
  sh->active--;
  if (rc == CURLE_OK && !t->too_large) {
    fh_http_res res = {0};
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res.status);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &res.total_time);
    res.body = fh_buf_take(&t->resp, &res.body_len);
    res.headers = fh_buf_take(&t->resp_headers, &res.headers_len);
    char outcome[24];
    snprintf(outcome, sizeof(outcome), "%ldxx", res.status / 100);
    count_outcome(t, outcome);
    if (t->cb) t->cb(NULL, &res, t->data);
    free(res.body);
    free(res.headers);
  } else {
    const char *w = error_word(rc, t->too_large);
    count_outcome(t, w);
    if (t->cb) t->cb(w, NULL, t->data);
  }
  easy_release(c, easy);
  transfer_free(t);
}

static void check_done(shard *sh) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(sh->multi, &left)))
    if (m->msg == CURLMSG_DONE) finish(sh, m->easy_handle, m->data.result);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_ctx *s = h->data;
  int flags = 0, running;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  shard *sh = s->sh;
  curl_multi_socket_action(sh->multi, s->fd, flags, &running);
  check_done(sh);
}

static void on_poll_closed(uv_handle_t *h) { free(h->data); }

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp) {
  shard *sh = userp;
  sock_ctx *s = sockp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      uv_poll_stop(&s->poll);
      uv_close((uv_handle_t *)&s->poll, on_poll_closed);
      curl_multi_assign(sh->multi, fd, NULL);
    }
    return 0;
  }
  if (!s) {
    s = calloc(1, sizeof(*s));
    if (!s) return -1;
    s->fd = fd;
    s->sh = sh;
    if (uv_poll_init_socket(sh->c->loop, &s->poll, fd)) { free(s); return -1; }
    s->poll.data = s;
    curl_multi_assign(sh->multi, fd, s);
  }
  int ev = 0;
  if (what & CURL_POLL_IN) ev |= UV_READABLE;
  if (what & CURL_POLL_OUT) ev |= UV_WRITABLE;
  uv_poll_start(&s->poll, ev, on_poll);
  return 0;
}

static void on_timer(uv_timer_t *h) {
  shard *sh = h->data;
  int running;
  curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(sh);
}

static int on_timer_change(CURLM *multi, long ms, void *userp) {
  shard *sh = userp;
  (void)multi;
  if (ms < 0) uv_timer_stop(&sh->timer);
  else uv_timer_start(&sh->timer, on_timer, (uint64_t)ms, 0);
  return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *userp) {
  transfer *t = userp;
  size_t len = size * n;
  if (t->resp.len + len > t->max_response) { t->too_large = 1; return 0; }
  fh_buf_append(&t->resp, p, len);
  return t->resp.failed ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t n, void *userp) {
  transfer *t = userp;
  size_t len = size * n;
  /* a new status line (redirect, 100 Continue) starts a new header block */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) t->resp_headers.len = 0;
  fh_buf_append(&t->resp_headers, p, len);
  return len;
}

int fh_http_client_create(fh_http_client **out, uv_loop_t *loop, double timeout,
                          double connect_timeout, size_t max_response) {
  fh_http_client *c = calloc(1, sizeof(*c));
  if (!c) return FH_ENOMEM;
  c->loop = loop;
  c->timeout = timeout;
  c->connect_timeout = connect_timeout;
  c->max_response = max_response;
  for (int i = 0; i < NSHARDS; i++) c->shards[i].c = c;
  *out = c;
  return 0;
}

/* A shard's multi and timer are made on its first transfer: each multi
 * holds a socketpair, and a host that calls out little should not keep
 * 2 x NSHARDS descriptors (they are inherited by every child it starts). */
static int shard_open(shard *sh) {
  if (sh->multi) return 0;
  sh->multi = curl_multi_init();
  if (!sh->multi) return FH_ENOMEM;
  curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
  curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
  curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
  curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, 1024L);
  uv_timer_init(sh->c->loop, &sh->timer);
  sh->timer.data = sh;
  sh->c->timers_open++;
  return 0;
}

/* The host's home shard, or the next one with room when it is busy. */
static shard *pick_shard(fh_http_client *c, const char *host) {
  unsigned h = 2166136261u;
  for (const char *p = host; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  shard *least = NULL;
  for (int i = 0; i < NSHARDS; i++) {
    shard *sh = &c->shards[(h + (unsigned)i) % NSHARDS];
    if (sh->active < SHARD_BUSY) return sh;
    if (!least || sh->active < least->active) least = sh;
  }
  return least;
}

static void host_of(const char *url, char *out, size_t outsz) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t n = strcspn(p, "/?#");
  const char *at = memchr(p, '@', n);
  if (at) { n -= (size_t)(at + 1 - p); p = at + 1; }
  if (n >= outsz) n = outsz - 1;
  memcpy(out, p, n);
  out[n] = '\0';
}

static int on_prereq(void *data, char *ip, char *local_ip, int port, int local_port) {
  transfer *t = data;
  (void)ip; (void)local_ip; (void)port; (void)local_port;
  if (t->on_wire) {
    void (*fn)(void *) = t->on_wire;
    t->on_wire = NULL;
    fn(t->on_wire_data);
  }
  return CURL_PREREQFUNC_OK;
}

int fh_http_request(fh_http_client *c, const fh_http_req *req, fh_http_cb cb, void *data) {
  if (c->closing) return FH_ECLOSED;
  transfer *t = calloc(1, sizeof(*t));
  if (!t) return FH_ENOMEM;
  t->c = c;
  t->cb = cb;
  t->data = data;
  t->max_response = req->max_response ? req->max_response : c->max_response;
  host_of(req->url, t->host, sizeof(t->host));
  t->sh = pick_shard(c, t->host);
  if (shard_open(t->sh)) { free(t); return FH_ENOMEM; }
  CURL *e = t->easy = c->nspare ? c->spare[--c->nspare] : curl_easy_init();
  if (!e) goto fail;
  const char *method = req->method ? req->method : "GET";
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  t->on_wire = req->on_wire;
  t->on_wire_data = req->on_wire_data;
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, req->on_wire ? on_prereq : NULL);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  /* the receive buffer lives as long as the transfer: with thousands of
   * turns waiting on an LLM, 1 KB instead of 4 KB is 15 MB less at 5,000 */
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 1024L);
  curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  double tmo = req->timeout > 0 ? req->timeout : c->timeout;
  double ctmo = req->connect_timeout > 0 ? req->connect_timeout : c->connect_timeout;
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(tmo * 1000));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(ctmo * 1000));
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  }
  if (req->body) {
    t->body = malloc(req->body_len ? req->body_len : 1);
    if (!t->body) goto fail;
    memcpy(t->body, req->body, req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    if (strcmp(method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  }
  t->headers = curl_slist_append(NULL, "Expect:");
  for (int i = 0; i < req->nheaders && t->headers; i++) {
    struct curl_slist *n = curl_slist_append(t->headers, req->headers[i]);
    if (!n) goto fail;
    t->headers = n;
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  if (curl_multi_add_handle(t->sh->multi, e) != CURLM_OK) goto fail;
  c->active++;
  t->sh->active++;
  t->next = c->head;
  if (c->head) c->head->prev = t;
  c->head = t;
  return 0;
fail:
  if (t->easy) easy_release(c, t->easy);
  transfer_free(t);
  return FH_ENOMEM;
}

int fh_http_client_active(const fh_http_client *c) { return c->active; }

static void on_timer_closed(uv_handle_t *h) {
  shard *sh = h->data;
  fh_http_client *c = sh->c;
  curl_multi_cleanup(sh->multi);
  if (--c->timers_open == 0) free(c);
}

void fh_http_client_destroy(fh_http_client *c) {
  if (!c) return;
  c->closing = 1;
  /* abort what is still running; its callbacks are not called */
  while (c->head) {
    transfer *t = c->head;
    curl_multi_remove_handle(t->sh->multi, t->easy);
    curl_easy_cleanup(t->easy);
    transfer_free(t);
  }
  while (c->nspare > 0) curl_easy_cleanup(c->spare[--c->nspare]);
  if (c->timers_open == 0) { free(c); return; }
  for (int i = 0; i < NSHARDS; i++) {
    if (!c->shards[i].multi) continue;
    uv_timer_stop(&c->shards[i].timer);
    uv_close((uv_handle_t *)&c->shards[i].timer, on_timer_closed);
  }
}

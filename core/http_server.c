/* http_server.c: libmicrohttpd front end, one daemon per worker.
 *
 * Each worker drives its own MHD daemon from its event loop (external epoll
 * mode): the daemon's epoll fd is polled by the loop, the request is parsed
 * and handled on the same thread, and the connection is suspended while the
 * Lua task waits on Redis or HTTP. The daemons share the port through
 * SO_REUSEPORT sockets, so the kernel spreads connections over workers and
 * no request crosses a thread. */
#define _DEFAULT_SOURCE /* SO_REUSEPORT */
#define _POSIX_C_SOURCE 200809L
#include "http_server.h"

#include "fh.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "worker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { PHASE_RECEIVING, PHASE_DISPATCHED, PHASE_DONE, PHASE_REJECTED };

/* After a 413 written mid-upload, what the client still sends is taken and
 * dropped for a while: closing a socket with unread bytes resets it, and a
 * reset can reach the client before it has read the 413. Clients stop
 * sending when they see the answer; one that does not is cut at either
 * bound. */
#define LINGER_BYTES (16 * 1024 * 1024)
#define LINGER_SECONDS 2.0

/* Room left in the process's file limit for what is not a client
 * connection: listening and epoll fds, Redis, upstream calls, files. */
#define FD_RESERVE 512

/* Open connections per client address live in a small hash table shared
 * by every worker's daemon. */
#define ADDR_BUCKETS 4096
#define ADDR_KEY 9 /* family byte + 4 (IPv4) or 8 (an IPv6 /64) address bytes */

typedef struct addr_count {
  unsigned char key[ADDR_KEY];
  unsigned char len;
  int count;
  struct addr_count *next;
} addr_count;

/* One open connection, tracked for the total receive deadline. */
typedef struct conn_track {
  int fd;
  double since;      /* when the current request started arriving */
  int receiving;     /* 1 until the request is complete */
  unsigned char key[ADDR_KEY]; /* its client address, counted while open */
  unsigned char keylen;        /* 0: not counted */
  struct conn_track *prev, *next;
} conn_track;

/* One worker's daemon. */
typedef struct listener {
  fh_server *s;
  int index;
  struct MHD_Daemon *daemon;
  int listen_fd;
  int quiesced;
} listener;

struct fh_server {
  const fh_config *cfg;
  listener *listeners;
  fh_worker **workers;
  int nworkers;
  int port;
  atomic_int connections;
  atomic_int inflight;
  atomic_ulong next_id;
  char id_prefix[9];
  pthread_mutex_t mu;   /* guards the tracks list */
  conn_track *tracks;
  pthread_mutex_t addr_mu; /* guards addrs */
  addr_count *addrs[ADDR_BUCKETS];
  atomic_ulong refused_per_ip;  /* connections closed at accept */
  unsigned long refused_reported;
  int healthz;          /* the ops routes are served: GET /healthz is answered here */
};

/* Answers a request whose path failed path_ok; never a request object. */
static char bad_path_mark;
#define BAD_PATH ((void *)&bad_path_mark)
/* A GET /healthz, answered by the server's thread on its next call (an
 * answer queued on the first call makes libmicrohttpd close the connection). */
static char healthz_mark;
#define HEALTHZ ((void *)&healthz_mark)

/* ---- connections per client address -------------------------------------- */

/* The counting key of a client address: IPv4 (also IPv4-mapped IPv6) by
 * its address, IPv6 by its /64, the block one subscriber usually holds.
 * Returns the key length, 0 for another family. */
static int addr_key(const struct sockaddr *sa, unsigned char key[ADDR_KEY]) {
  if (!sa) return 0;
  if (sa->sa_family == AF_INET) {
    key[0] = 4;
    memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 5;
  }
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      key[0] = 4;
      memcpy(key + 1, a->s6_addr + 12, 4);
      return 5;
    }
    key[0] = 6;
    memcpy(key + 1, a->s6_addr, 8);
    return 9;
  }
  return 0;
}

static addr_count **addr_slot(fh_server *s, const unsigned char *key, int len) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < len; i++) h = (h ^ key[i]) * 16777619u;
  addr_count **p = &s->addrs[h % ADDR_BUCKETS];
  while (*p && ((*p)->len != len || memcmp((*p)->key, key, (size_t)len) != 0)) p = &(*p)->next;
  return p;
}

/* Open connections from key's address. */
static int addr_open(fh_server *s, const unsigned char *key, int len) {
  pthread_mutex_lock(&s->addr_mu);
  addr_count *e = *addr_slot(s, key, len);
  int n = e ? e->count : 0;
  pthread_mutex_unlock(&s->addr_mu);
  return n;
}

/* Counts a connection from key's address opening (+1) or closing (-1);
 * an address with none left is forgotten. Returns -1 if out of memory. */
static int addr_add(fh_server *s, const unsigned char *key, int len, int delta) {
  int rc = 0;
  pthread_mutex_lock(&s->addr_mu);
  addr_count **p = addr_slot(s, key, len);
  if (!*p && delta > 0) {
    addr_count *e = calloc(1, sizeof(*e));
    if (e) {
      memcpy(e->key, key, (size_t)len);
      e->len = (unsigned char)len;
      *p = e;
    } else {
      rc = -1;
    }
  }
  if (*p) {
    (*p)->count += delta;
    if ((*p)->count <= 0) {
      addr_count *dead = *p;
      *p = dead->next;
      free(dead);
    }
  }
  pthread_mutex_unlock(&s->addr_mu);
  return rc;
}

/* Accept policy: a client address already holding max_connections_per_ip
 * connections has the new one closed before anything is allocated for it.
 * (The count rises when the connection starts, so workers accepting at the
 * same instant may pass the limit by at most one each.) */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
  fh_server *s = ((listener *)cls)->s;
  unsigned char key[ADDR_KEY];
  int len;
  (void)addrlen;
  if (s->cfg->max_connections_per_ip <= 0 || !(len = addr_key(addr, key))) return MHD_YES;
  if (addr_open(s, key, len) < s->cfg->max_connections_per_ip) return MHD_YES;
  atomic_fetch_add(&s->refused_per_ip, 1);
  return MHD_NO;
}

/* ---- connection tracking -------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code) {
  fh_server *s = ((listener *)cls)->s;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    conn_track *t = calloc(1, sizeof(*t));
    if (!t) return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    t->fd = ci ? ci->connect_fd : -1;
    t->since = fh_monotonic();
    t->receiving = 1;
    if (s->cfg->max_connections_per_ip > 0) {
      ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      int len = addr_key(ci ? ci->client_addr : NULL, t->key);
      if (len && addr_add(s, t->key, len, 1) == 0) t->keylen = (unsigned char)len;
    }
    pthread_mutex_lock(&s->mu);
    t->next = s->tracks;
    if (s->tracks) s->tracks->prev = t;
    s->tracks = t;
    pthread_mutex_unlock(&s->mu);
    *socket_ctx = t;
    atomic_fetch_add(&s->connections, 1);
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    conn_track *t = *socket_ctx;
    if (!t) return;
    pthread_mutex_lock(&s->mu);
    if (t->prev) t->prev->next = t->next; else s->tracks = t->next;
    if (t->next) t->next->prev = t->prev;
    pthread_mutex_unlock(&s->mu);
    if (t->keylen) addr_add(s, t->key, t->keylen, -1);
    free(t);
    *socket_ctx = NULL;
    atomic_fetch_sub(&s->connections, 1);
  }
}

static conn_track *track_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void track_set(fh_server *s, conn_track *t, int receiving) {
  if (!t) return;
  pthread_mutex_lock(&s->mu);
  t->receiving = receiving;
  t->since = fh_monotonic();
  pthread_mutex_unlock(&s->mu);
}

void fh_server_sweep(fh_server *s) {
  double now = fh_monotonic();
  int cut = 0;
  pthread_mutex_lock(&s->mu);
  for (conn_track *t = s->tracks; t; t = t->next) {
    if (t->receiving && t->fd >= 0 && now - t->since > s->cfg->request_deadline) {
      shutdown(t->fd, SHUT_RDWR); /* MHD sees the close and cleans up */
      t->receiving = 0;
      cut++;
    }
  }
  pthread_mutex_unlock(&s->mu);
  if (cut) {
    fh_metrics_add("flowhost_http_slow_clients_cut_total", NULL, cut);
    fh_log(FH_LOG_WARN, "cut connections that were too slow to send their request", NULL);
  }
  /* counted at accept without a lock or a log line each; reported here */
  unsigned long refused = atomic_load(&s->refused_per_ip);
  if (refused != s->refused_reported) {
    char n[24], limit[24];
    snprintf(n, sizeof(n), "%lu", refused - s->refused_reported);
    snprintf(limit, sizeof(limit), "%d", s->cfg->max_connections_per_ip);
    fh_metrics_add("flowhost_http_connections_refused_total", "reason=\"per_ip\"",
                   (double)(refused - s->refused_reported));
    fh_log(FH_LOG_WARN, "closed connections from addresses over max_connections_per_ip",
           "connections", n, "max_connections_per_ip", limit, NULL);
    s->refused_reported = refused;
  }
  fh_metrics_set("flowhost_http_connections", NULL, atomic_load(&s->connections));
}

/* ---- requests ------------------------------------------------------------- */

/* answers json on the server's own thread, counted under route */
static enum MHD_Result send_here(struct MHD_Connection *conn, int status, const char *json,
                                 int close, const char *route) {
  struct MHD_Response *res =
      MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_PERSISTENT);
  if (!res) return MHD_NO;
  MHD_add_response_header(res, "Content-Type", "application/json");
  if (close) MHD_add_response_header(res, "Connection", "close");
  enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, res);
  MHD_destroy_response(res);
  char labels[96];
  snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%d\"", route, status);
  fh_metrics_add("flowhost_http_requests_total", labels, 1);
  return r;
}

static enum MHD_Result send_simple(struct MHD_Connection *conn, int status,
                                   const char *json, int close) {
  return send_here(conn, status, json, close, "limits");
}

/* A body that outgrows max_body while it arrives (chunked, or longer than
 * its Content-Length said): libmicrohttpd 0.9.75 takes no response in the
 * middle of an upload, so the 413 is written on the socket directly; the
 * connection is closed right after. */
static void reject_midbody(struct MHD_Connection *conn) {
  static const char body[] = "{\"error\":\"request body too large\"}";
  char head[160];
  size_t n = 0;
  const char *lines = "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                      "Connection: close\r\nContent-Length: ";
  fh_copy(head, sizeof(head), lines);
  n = strlen(head);
  n += fh_itoa((long long)(sizeof(body) - 1), head + n);
  fh_copy(head + n, sizeof(head) - n, "\r\n\r\n");
  n = strlen(head);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci) {
    struct iovec iov[2] = {{head, n}, {(void *)body, sizeof(body) - 1}};
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    (void)sendmsg(ci->connect_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  fh_metrics_add("flowhost_http_requests_total", "route=\"limits\",status=\"413\"", 1);
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (unsigned char)(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 1 if the raw request target's path (up to '?') has no control character,
 * raw or %-escaped, and every '%' starts a two-digit hex escape. The router
 * sees the decoded path: a %00 there would end it early (and reach another
 * route), other control characters would reach handlers and logs. */
static int path_ok(const char *uri) {
  for (const unsigned char *p = (const unsigned char *)uri; *p && *p != '?'; p++) {
    int c = *p;
    if (c == '%') {
      int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
      if (lo < 0) return 0;
      c = hi * 16 + lo;
      p += 2;
    }
    if (c < 0x20 || c == 0x7f) return 0;
  }
  return 1;
}

/* Called by libmicrohttpd with the raw request target before it decodes
 * it; what it returns is the request's first *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)cls;
  (void)conn;
  return path_ok(uri) ? NULL : BAD_PATH;
}

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
  fh_request *r = cls;
  char name[256];
  size_t n = strlen(key);
  if (n >= sizeof(name)) return MHD_YES;
  for (size_t i = 0; i <= n; i++)
    name[i] = kind == MHD_HEADER_KIND ? (char)tolower((unsigned char)key[i]) : key[i];
  if (!value) value = "";
  fh_buf_append(&r->kv, name, n + 1);
  fh_buf_append(&r->kv, value, strlen(value) + 1);
  if (kind == MHD_HEADER_KIND) r->nheaders++; else r->nquery++;
  return MHD_YES;
}

static void request_free(fh_request *r) {
  free(r->path);
  fh_buf_free(&r->kv);
  fh_buf_free(&r->body);
  fh_buf_free(&r->resp_headers);
  free(r->resp_body);
  free(r);
}

static enum MHD_Result send_response(fh_request *r) {
  struct MHD_Response *res = MHD_create_response_from_buffer(
      r->resp_len, r->resp_body ? r->resp_body : (void *)"",
      r->resp_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!res) return MHD_NO;
  r->resp_body = NULL; /* now owned by the response */
  const char *p = r->resp_headers.data;
  const char *end = p ? p + r->resp_headers.len : NULL;
  while (p && p < end) {
    const char *k = p;
    p += strlen(k) + 1;
    const char *v = p;
    p += strlen(v) + 1;
    MHD_add_response_header(res, k, v);
  }
  MHD_add_response_header(res, "X-Request-Id", r->id);
  enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, res);
  MHD_destroy_response(res);
  return ok;
}

static void dispatch(listener *l, fh_request *r, struct MHD_Connection *conn) {
  fh_server *s = l->s;
  MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, r);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, r);
  r->t_start = fh_monotonic();
  r->phase = PHASE_DISPATCHED;
  track_set(s, track_of(conn), 0);
  atomic_fetch_add(&s->inflight, 1);
  MHD_suspend_connection(conn);
  fh_worker_submit(s->workers[l->index], r);
}

/* "<8 hex prefix><8 hex counter>", as snprintf("%s%08lx") gave, without it */
static void request_id(char *out, size_t n, const char *prefix, unsigned long counter) {
  static const char hex[] = "0123456789abcdef";
  char buf[32];
  size_t len = 0;
  for (; prefix[len] && len < 16; len++) buf[len] = prefix[len];
  for (int shift = 28; shift >= 0; shift -= 4) buf[len++] = hex[(counter >> shift) & 0xf];
  buf[len] = '\0';
  fh_copy(out, n, buf);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size,
                                  void **con_cls) {
  listener *l = cls;
  fh_server *s = l->s;
  fh_request *r = *con_cls;
  (void)version;
  if (r == HEALTHZ) {
    if (*upload_size) { *upload_size = 0; return MHD_YES; }  /* a body: ignored */
    *con_cls = NULL;
    return send_here(conn, 200, "{\"status\":\"ok\"}", 0, "/healthz");
  }
  if (r == BAD_PATH) {
    *con_cls = NULL;
    return send_simple(conn, 400, "{\"error\":\"bad path\",\"message\":\"the path holds a "
                       "control character or a broken %-escape\"}", 1);
  }
  if (!r) {
    if (atomic_load(&s->connections) > s->cfg->max_connections)
      return send_simple(conn, 503, "{\"error\":\"too many connections\"}", 1);
    /* liveness is answered here, by the server's thread: it needs no
     * worker, so a worker busy with a tenant's long C call (a 64 MB
     * allocation, a pattern between two budget checks) cannot delay it */
    if (s->healthz && strcmp(url, "/healthz") == 0 && strcmp(method, "GET") == 0) {
      *con_cls = HEALTHZ;
      return MHD_YES;
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtod(cl, NULL) > s->cfg->max_body)
      return send_simple(conn, 413, "{\"error\":\"request body too large\"}", 1);
    r = calloc(1, sizeof(*r));
    if (!r) return MHD_NO;
    r->conn = conn;
    r->server = s;
    fh_copy(r->method, sizeof(r->method), method);
    r->path = strdup(url);
    request_id(r->id, sizeof(r->id), s->id_prefix, atomic_fetch_add(&s->next_id, 1));
    *con_cls = r;
    return MHD_YES;
  }
  if (r->phase == PHASE_RECEIVING) {
    if (*upload_size) {
      if (r->body.len + *upload_size > s->cfg->max_body) {
        r->phase = PHASE_REJECTED;
        r->t_start = fh_monotonic(); /* the linger starts */
        *upload_size = 0;
        reject_midbody(conn);
        return MHD_YES;
      }
      fh_buf_append(&r->body, upload_data, *upload_size);
      *upload_size = 0;
      return r->body.failed ? MHD_NO : MHD_YES;
    }
    dispatch(l, r, conn);
    return MHD_YES;
  }
  if (r->phase == PHASE_DONE) return send_response(r);
  if (r->phase == PHASE_REJECTED) {
    /* the 413 is out: take what the client still had in flight for a
     * little while so that it reads the answer instead of a reset, then
     * close (also once the body is complete) */
    if (!*upload_size) return MHD_NO;
    r->discarded += *upload_size;
    *upload_size = 0;
    if (r->discarded > LINGER_BYTES || fh_monotonic() - r->t_start > LINGER_SECONDS) return MHD_NO;
    return MHD_YES;
  }
  return MHD_YES;
}

void fh_server_respond(fh_request *r) {
  r->phase = PHASE_DONE;
  MHD_resume_connection(r->conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
  fh_server *s = ((listener *)cls)->s;
  fh_request *r = *con_cls;
  (void)code;
  if (r == BAD_PATH || r == HEALTHZ) *con_cls = r = NULL; /* no request object (431, a cut /healthz, ...) */
  if (!r) return;
  if (r->phase == PHASE_DISPATCHED) {
    /* the daemon is stopping while a worker still holds the request: leak
     * it rather than free memory the worker may touch */
    return;
  }
  if (r->phase == PHASE_DONE) atomic_fetch_sub(&s->inflight, 1);
  request_free(r);
  *con_cls = NULL;
  track_set(s, track_of(conn), 1);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  (void)cls;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  fh_log(FH_LOG_DEBUG, "libmicrohttpd", "detail", msg, NULL);
}

/* Opens one listening socket on addr (SO_REUSEPORT, non-blocking). */
static int open_socket(const struct sockaddr *addr, socklen_t len, int reuseport) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (addr->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, addr, len) < 0 || listen(fd, 4096) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static void set_port(struct sockaddr_storage *ss, int port) {
  if (ss->ss_family == AF_INET6) ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
  else ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* Binds one socket per worker to the configured address. A port already in
 * use by anyone (even another flowhost with SO_REUSEPORT) is an error: a
 * probe socket without SO_REUSEPORT is bound first. */
static int open_sockets(fh_server *s, char *err, size_t errsz) {
  const fh_config *cfg = s->cfg;
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  char port[16];
  snprintf(port, sizeof(port), "%d", cfg->listen_port);
  int gai = getaddrinfo(cfg->listen_host, port, &hints, &ai);
  if (gai) {
    snprintf(err, errsz, "listen: cannot resolve \"%s\": %s", cfg->listen_host, gai_strerror(gai));
    return FH_ECONFIG;
  }
  struct sockaddr_storage ss;
  socklen_t len = (socklen_t)ai->ai_addrlen;
  memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  if (cfg->listen_port != 0) {
    int probe = open_socket((struct sockaddr *)&ss, len, 0);
    if (probe < 0) goto fail;
    close(probe);
  }
  for (int i = 0; i < s->nworkers; i++) {
    int fd = open_socket((struct sockaddr *)&ss, len, 1);
    if (fd < 0) goto fail;
    s->listeners[i].listen_fd = fd;
    if (i == 0) {
      struct sockaddr_storage bound;
      socklen_t blen = sizeof(bound);
      getsockname(fd, (struct sockaddr *)&bound, &blen);
      s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                   : ((struct sockaddr_in *)&bound)->sin_port);
      set_port(&ss, s->port);
    }
  }
  return 0;
fail:
  snprintf(err, errsz, "listen: cannot listen on %s: %s", cfg->listen, strerror(errno));
  return FH_EIO;
}

/* Connections one daemon may hold: max_connections + 256 (room to write
 * the 503), cut so that all daemons together stay inside the process's
 * file limit with FD_RESERVE to spare: past it, accept fails and Redis,
 * upstream calls and file reads would fail with it. */
static unsigned daemon_connection_limit(const fh_config *cfg, int nworkers) {
  unsigned limit = (unsigned)cfg->max_connections + 256;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    long budget = ((long)rl.rlim_cur - FD_RESERVE) / (nworkers > 0 ? nworkers : 1);
    if (budget < 16) budget = 16;
    if ((unsigned long)budget < limit) limit = (unsigned)budget;
  }
  return limit;
}

static int start_daemon(fh_server *s, listener *l, unsigned limit) {
  const fh_config *cfg = s->cfg;
  /* external epoll: the worker's loop polls MHD's epoll fd and calls
   * MHD_run; suspend/resume wakes that fd through MHD's own eventfd */
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                   (cfg->listen_host[0] && strchr(cfg->listen_host, ':') ? MHD_USE_IPv6 : 0);
  l->daemon = MHD_start_daemon(
      flags, (uint16_t)s->port, on_accept, l, on_request, l,
      MHD_OPTION_LISTEN_SOCKET, l->listen_fd,
      MHD_OPTION_CONNECTION_LIMIT, limit,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->idle_timeout > 0 ? cfg->idle_timeout : 60),
      /* per connection, cleared per request: every waiting turn holds one,
       * so it is small; headers up to about 7/8 of it fit (431 above) */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(cfg->connection_memory >= 2048 ? cfg->connection_memory : 2048),
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
      MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
      MHD_OPTION_END);
  return l->daemon ? 0 : FH_EIO;
}

/* The daemon as its worker sees it: the worker's loop runs these. */
static int source_run(void *arg) {
  listener *l = arg;
  return fh_server_run(l->s, l->index);
}

static void source_quiesce(void *arg) {
  listener *l = arg;
  fh_server_quiesce(l->s, l->index);
}

static const fh_worker_source SOURCE = {source_run, source_quiesce};

/* 1 when the comma-separated list holds name */
static int has_token(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list ? list : ""; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return 1;
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

int fh_server_start(fh_server **out, const fh_config *cfg, fh_worker **workers,
                    int nworkers, char *err, size_t errsz) {
  fh_server *s = calloc(1, sizeof(*s));
  if (!s) return FH_ENOMEM;
  s->cfg = cfg;
  s->workers = workers;
  s->nworkers = nworkers;
  s->healthz = has_token(cfg->routes, "ops");
  s->listeners = calloc((size_t)nworkers, sizeof(*s->listeners));
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->addr_mu, NULL);
  if (!s->listeners) { fh_server_stop(s); return FH_ENOMEM; }
  for (int i = 0; i < nworkers; i++) {
    s->listeners[i].s = s;
    s->listeners[i].index = i;
    s->listeners[i].listen_fd = -1;
  }
  FILE *f = fopen("/dev/urandom", "rb");
  unsigned char rnd[4] = {0};
  if (f) { if (fread(rnd, 1, 4, f) != 4) memset(rnd, 0, 4); fclose(f); }
  snprintf(s->id_prefix, sizeof(s->id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

  fh_metrics_declare("flowhost_http_connections_refused_total", FH_METRIC_COUNTER,
                     "Connections closed at accept (reason=\"per_ip\": the client address "
                     "already held max_connections_per_ip)", NULL, 0);
  unsigned limit = daemon_connection_limit(cfg, nworkers);
  if (limit < (unsigned)cfg->max_connections / (unsigned)nworkers) {
    char per[24];
    snprintf(per, sizeof(per), "%u", limit);
    fh_log(FH_LOG_WARN, "the open file limit caps connections below max_connections",
           "per_worker", per, NULL);
  }
  int rc = open_sockets(s, err, errsz);
  for (int i = 0; !rc && i < nworkers; i++) {
    if (start_daemon(s, &s->listeners[i], limit)) {
      snprintf(err, errsz, "listen: libmicrohttpd could not start on %s", cfg->listen);
      rc = FH_EIO;
    }
  }
  for (int i = 0; !rc && i < nworkers; i++) {
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->listeners[i].daemon, MHD_DAEMON_INFO_EPOLL_FD);
    fh_worker_attach_source(workers[i], &SOURCE, &s->listeners[i], di->epoll_fd);
  }
  if (rc) { fh_server_stop(s); return rc; }
  *out = s;
  return 0;
}

int fh_server_port(fh_server *s) { return s->port; }

int fh_server_run(fh_server *s, int slot) {
  struct MHD_Daemon *d = s->listeners[slot].daemon;
  MHD_run(d);
  /* connections MHD already knows are ready (a resumed one, a keep-alive
   * one with its next request buffered) are not in its epoll set: it
   * reports them as a zero timeout and must be run again */
  MHD_UNSIGNED_LONG_LONG ms;
  return MHD_get_timeout(d, &ms) == MHD_YES && ms == 0;
}

void fh_server_quiesce(fh_server *s, int slot) {
  listener *l = &s->listeners[slot];
  if (l->quiesced || !l->daemon) return;
  l->quiesced = 1;
  MHD_socket fd = MHD_quiesce_daemon(l->daemon);
  if (fd != MHD_INVALID_SOCKET) close(fd);
  l->listen_fd = -1;
}

int fh_server_inflight(fh_server *s) { return atomic_load(&s->inflight); }

void fh_server_stop(fh_server *s) {
  if (!s) return;
  for (int i = 0; s->listeners && i < s->nworkers; i++) {
    listener *l = &s->listeners[i];
    if (l->daemon) MHD_stop_daemon(l->daemon);
    else if (l->listen_fd >= 0) close(l->listen_fd);
  }
  pthread_mutex_lock(&s->mu);
  conn_track *t = s->tracks;
  while (t) { conn_track *n = t->next; free(t); t = n; }
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_destroy(&s->mu);
  for (int i = 0; i < ADDR_BUCKETS; i++) {
    addr_count *e = s->addrs[i];
    while (e) { addr_count *n = e->next; free(e); e = n; }
  }
  pthread_mutex_destroy(&s->addr_mu);
  free(s->listeners);
  free(s);
}

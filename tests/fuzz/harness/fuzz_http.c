/* fuzz_http.c: libFuzzer target for the HTTP request path, end to end.
 *
 * The real server runs in this process, as `flowhost serve` runs it: one
 * worker (its thread, event loop and Lua state with the routes "ops" and
 * tests/fuzz/routes/fuzz.lua), the libmicrohttpd daemon with our callbacks
 * (core/http_server.c: limits, headers, body, suspend/resume), and a thread
 * that cuts slow clients once a second like main.c. The body cap is 2 KB so
 * that inputs of a few KB cross it, with a Content-Length or chunked.
 *
 * Each input is sent as raw bytes on a fresh loopback connection; once the
 * server has read them the client's side is shut (EOF, see settle) and
 * everything the server answers is read. Findings (abort, so libFuzzer keeps the input):
 *   - a 500, 502 or 504 answer (no route here raises or waits on anything)
 *   - a response header the client put in a query value (X-Injected)
 *   - the connection still open FH_FUZZ_HTTP_WAIT s (default 10) after EOF
 *   - /healthz not answered 200 within that time after the input
 * and whatever ASan/UBSan find in the core on the way. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"
#include "fh.h"
#include "http_server.h"
#include "log.h"
#include "lua_cov.h"
#include "metrics.h"
#include "worker.h"
#include "xcall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static fh_config cfg;
static fh_worker *worker;
static fh_server *server;
static int port;
static double wait_s = 10;
static int show;        /* FH_FUZZ_HTTP_SHOW=1: print every answer (debugging) */

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz target http: %s\n%s\n", what, detail ? detail : "");
  abort();
}

static void *sweeper(void *arg) {
  (void)arg;
  struct timespec second = {1, 0};
  for (;;) {
    nanosleep(&second, NULL);
    fh_server_sweep(server);
  }
  return NULL;
}

static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket", strerror(errno));
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) die("cannot connect to the server", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

/* Sends all of data (the server may answer and close meanwhile). */
static void send_all(int fd, const uint8_t *data, size_t n) {
  double until = fh_monotonic() + wait_s;
  while (n) {
    ssize_t w = send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) { data += w; n -= (size_t)w; continue; }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return; /* closed */
    struct pollfd p = {fd, POLLOUT, 0};
    if (fh_monotonic() > until) die("the server took no bytes for too long", NULL);
    poll(&p, 1, 100);
  }
}

static int port_of(int fd, int peer) {
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int rc = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
  if (rc < 0 || a.sin_family != AF_INET) return -1;
  return ntohs(a.sin_port);
}

/* The server's end of client connection fd: the server runs in this
 * process, so it is one of our descriptors, accepted just before or after
 * fd was opened (descriptors are taken lowest first). */
static int server_end(int fd, int client_port) {
  for (int s = 3; s < fd + 64; s++)
    if (s != fd && port_of(s, 1) == client_port && port_of(s, 0) == port) return s;
  return -1;
}

/* Waits until the server has read what the client sent, or stopped reading
 * (a request it holds, a 413, headers over its buffer), or closed.
 *
 * libmicrohttpd polls its sockets edge-triggered and takes a short read to
 * mean "nothing more": data and the client's FIN that arrive before its
 * first read are one edge, and the EOF is not seen until the receive
 * deadline cuts the connection. Real clients' FINs arrive later; shutting
 * the client's side only once the server has read keeps it so here (and
 * keeps each input at a few milliseconds instead of seconds). */
static void settle(int fd) {
  int client_port = port_of(fd, 0);
  double until = fh_monotonic() + 2, still_since = 0;
  int last = -1;
  struct timespec tick = {0, 50 * 1000};
  while (fh_monotonic() < until) {
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return; /* closed */
    int s = server_end(fd, client_port);
    int unread = -1;
    if (s < 0 && r > 0) return; /* answered and closed: the answer waits unread */
    if (s >= 0 && ioctl(s, FIONREAD, &unread) == 0) {
      if (unread == 0) return;
      if (unread != last) { last = unread; still_since = fh_monotonic(); }
      else if (fh_monotonic() - still_since > 0.02) return;
    }
    nanosleep(&tick, NULL);
  }
}

/* Reads until EOF into out (at most cap bytes kept); returns bytes kept or
 * -1 when the connection stays open past the wait. */
static long read_all(int fd, char *out, size_t cap) {
  size_t len = 0;
  char sink[16384];
  double until = fh_monotonic() + wait_s;
  for (;;) {
    double left = until - fh_monotonic();
    if (left <= 0) return -1;
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, (int)(left * 1000) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char *dst = len < cap ? out + len : sink;
    size_t room = len < cap ? cap - len : sizeof(sink);
    ssize_t r = recv(fd, dst, room, 0);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break; /* reset: the server closed with unread bytes, also an end */
    }
    if (len < cap) len += (size_t)r;
  }
  out[len < cap ? len : cap - 1] = '\0';
  return (long)len;
}

static void show_request(const uint8_t *data, size_t size) {
  fprintf(stderr, "request (%zu bytes): %.*s\n", size, (int)(size < 2000 ? size : 2000), (const char *)data);
}

/* Walks the responses in buf (one per pipelined request): the status of
 * each, and its header block. A body is skipped by its Content-Length
 * (every answer of the core has one), or not at all where none follows
 * (HEAD, 1xx, 204, 304). */
static void check_answers(const char *buf, long len, const uint8_t *data, size_t size) {
  const char *p = buf, *end = buf + len;
  while (p < end && end - p >= 12 && strncmp(p, "HTTP/1.", 7) == 0) {
    int status = atoi(p + 9);
    const char *head_end = strstr(p, "\r\n\r\n");
    if (!head_end) break;
    if (status == 500 || status == 502 || status == 504) {
      show_request(data, size);
      die("the server answered a 5xx that no route here gives", p);
    }
    long body = 0;
    for (const char *h = p; h && h < head_end; h = strstr(h + 1, "\r\n")) {
      if (strncasecmp(h, "\r\nX-Injected", 12) == 0) {
        show_request(data, size);
        die("a value from the request became a response header", p);
      }
      if (strncasecmp(h, "\r\nContent-Length:", 17) == 0) body = atol(h + 17);
    }
    const char *next = head_end + 4;
    if (body > 0 && next + body <= end && (next + body == end || strncmp(next + body, "HTTP/1.", 7) == 0))
      next += body;
    p = next;
  }
}

static void check_health(void) {
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
  char buf[4096];
  int fd = dial();
  send_all(fd, (const uint8_t *)get, sizeof(get) - 1);
  long n = read_all(fd, buf, sizeof(buf));
  close(fd);
  if (n < 0) die("/healthz did not answer in time after the input", NULL);
  if (strncmp(buf, "HTTP/1.1 200", 12) != 0) die("/healthz did not answer 200 after the input", buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char err[2048];
  signal(SIGPIPE, SIG_IGN);
  const char *w = getenv("FH_FUZZ_HTTP_WAIT");
  if (w && atof(w) > 0) wait_s = atof(w);
  show = getenv("FH_FUZZ_HTTP_SHOW") != NULL;
  fh_metrics_init();
  fh_metric_families_declare();
  /* the settings of this target; the rest are the defaults */
  setenv("FLOWHOST_LISTEN", "127.0.0.1:0", 1);
  setenv("FLOWHOST_WORKERS", "1", 1);
  setenv("FLOWHOST_SCRIPTS", FH_SOURCE_DIR "/scripts", 1);
  setenv("FLOWHOST_LUA_PATH", FH_SOURCE_DIR "/tests/fuzz/?.lua", 1);
  setenv("FLOWHOST_ROUTES", "ops,fuzz", 1);
  setenv("FLOWHOST_MAX_BODY", "2048", 1);
  setenv("FLOWHOST_REQUEST_DEADLINE", "3", 1);
  setenv("FLOWHOST_IDLE_TIMEOUT", "3", 1);
  setenv("FLOWHOST_HANDLER_TIMEOUT", "5", 1);
  /* no Redis: nothing on this path needs one (/readyz says 503) */
  setenv("REDIS_URL", "redis://127.0.0.1:1", 1);
  if (fh_config_load(&cfg, NULL, err, sizeof(err))) die("bad configuration", err);
  const char *level = getenv("FH_FUZZ_LOG_LEVEL");
  fh_log_set_level_name(level ? level : "error");

  if (fh_worker_create(&worker, 0, &cfg, "fuzz", err, sizeof(err))) die("cannot create the worker", err);
  fh_workers_register(&worker, 1);
  fh_fuzz_cov_attach(fh_worker_main_state(worker));
  if (fh_server_start(&server, &cfg, &worker, 1, err, sizeof(err))) die("cannot start the server", err);
  port = fh_server_port(server);
  if (fh_worker_start(worker)) die("cannot start the worker", NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, sweeper, NULL)) die("cannot start the sweeper", NULL);
  pthread_detach(t);
  check_health();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char buf[1 << 16];
  double t0 = fh_monotonic();
  int fd = dial();
  send_all(fd, data, size);
  settle(fd);
  shutdown(fd, SHUT_WR);
  long n = read_all(fd, buf, sizeof(buf));
  close(fd);
  if (n < 0) {
    show_request(data, size);
    die("the server kept the connection open after the client's EOF", NULL);
  }
  if (show) fprintf(stderr, "---- answer (%ld bytes, %.3f s)\n%s\n", n, fh_monotonic() - t0, buf);
  check_answers(buf, n, data, size);
  check_health();
  return 0;
}

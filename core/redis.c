/* redis.c: asynchronous Redis connection with reconnect, stall detection
 * and, with a sentinel URL, discovery of the master (see redis.h). */
#define _POSIX_C_SOURCE 200809L
#include "redis.h"

#include "buf.h"
#include "fh.h"
#include "freelist.h"
#include "log.h"
#include "metrics.h"

#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fh_redis {
  uv_loop_t *loop;
  redisAsyncContext *ac;
  fh_redis_url url;
  int connected;
  int closing;
  double timeout;
  double backoff;
  long pending;
  double progress_at;   /* last time a reply came or the queue went busy */
  uv_timer_t retry;
  uv_timer_t watchdog;
  int handles_open;
  fh_buf resp;          /* the command being formatted */
  fh_freelist cmds;     /* recycled pending_cmd records */
  /* sentinel URLs (url.master set): */
  int asking;           /* ac is a sentinel's connection, asked for the master */
  int next_sentinel;    /* the sentinel asked next */
  int tried;            /* sentinels asked this round without an answer */
  char *master_host;    /* the master they named (NULL: ask them) */
  int master_port;
  struct queued *qhead, *qtail; /* commands waiting for the master (see queued) */
  int ticked;           /* the watchdog ran once (the loop is running) */
  char *channel;        /* a listener's pub/sub channel (fh_redis_listen), or NULL */
  fh_redis_msg_cb on_msg;
  void *msg_data;
};

typedef struct {
  fh_redis *r;
  fh_redis_cb cb;
  void *data;
} pending_cmd;

/* A command given while the sentinels are asked for the master: sent to it
 * once it is found, failed if no sentinel names one (as hiredis does with
 * the commands it buffers while connecting). */
typedef struct queued {
  struct queued *next;
  pending_cmd *pc;
  size_t len;
  char cmd[];
} queued;

static void connect_now(fh_redis *r);
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

/* ---- libuv event adapter -------------------------------------------------
 * Our own instead of hiredis' adapters/libuv.h: that one drops poll errors,
 * so a refused reconnect is never reported and the context hangs. Here an
 * error is handed to hiredis, which then reads the socket error itself. */

typedef struct {
  uv_poll_t poll;
  uv_check_t flush;    /* writes queued commands at the end of a loop turn */
  uv_idle_t nowait;    /* keeps the loop from blocking before that */
  redisAsyncContext *ac;
  int events;          /* what poll watches */
  int want_write;      /* commands wait in hiredis' output buffer */
  int open_handles;
} uv_events;

static void on_poll(uv_poll_t *h, int status, int events) {
  uv_events *e = h->data;
  redisAsyncContext *ac = e->ac;
  if (!ac) return;
  if (status < 0) {
    /* not connected yet: the write handler checks the connect result;
     * connected: the read handler sees the error and disconnects */
    if (!(ac->c.flags & REDIS_CONNECTED)) redisAsyncHandleWrite(ac);
    else redisAsyncHandleRead(ac);
    return;
  }
  if (events & UV_READABLE) redisAsyncHandleRead(ac);
  if (e->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(ac);
}

static void update_poll(uv_events *e, int add, int ev) {
  int events = add ? (e->events | ev) : (e->events & ~ev);
  if (events == e->events) return; /* each change costs an epoll_ctl */
  e->events = events;
  if (events) uv_poll_start(&e->poll, events, on_poll);
  else uv_poll_stop(&e->poll);
}

/* Commands of every task that ran in this loop turn go out in one write:
 * the socket is nearly always writable, so writing here saves the two
 * epoll_ctl calls of watching it; only a full socket buffer falls back to
 * waiting for UV_WRITABLE. */
static void on_flush(uv_check_t *h) {
  uv_events *e = h->data;
  uv_check_stop(&e->flush);
  uv_idle_stop(&e->nowait);
  if (!e->ac || !e->want_write) return;
  redisAsyncHandleWrite(e->ac);
  if (e->ac && e->want_write) update_poll(e, 1, UV_WRITABLE);
}

static void on_nowait(uv_idle_t *h) { (void)h; }

static void ev_add_read(void *p) { update_poll(p, 1, UV_READABLE); }
static void ev_del_read(void *p) { update_poll(p, 0, UV_READABLE); }

static void ev_add_write(void *p) {
  uv_events *e = p;
  if (!(e->ac->c.flags & REDIS_CONNECTED)) { update_poll(e, 1, UV_WRITABLE); return; } /* connect result */
  if (e->want_write) return;
  e->want_write = 1;
  uv_check_start(&e->flush, on_flush);
  uv_idle_start(&e->nowait, on_nowait);
}

static void ev_del_write(void *p) {
  uv_events *e = p;
  e->want_write = 0;
  update_poll(e, 0, UV_WRITABLE);
}

static void ev_closed(uv_handle_t *h) {
  uv_events *e = h->data;
  if (--e->open_handles == 0) free(e);
}

static void ev_cleanup(void *p) {
  uv_events *e = p;
  e->ac = NULL;
  uv_close((uv_handle_t *)&e->poll, ev_closed);
  uv_close((uv_handle_t *)&e->flush, ev_closed);
  uv_close((uv_handle_t *)&e->nowait, ev_closed);
}

static int attach(redisAsyncContext *ac, uv_loop_t *loop) {
  uv_events *e = calloc(1, sizeof(*e));
  if (!e) return FH_ENOMEM;
  if (uv_poll_init_socket(loop, &e->poll, ac->c.fd)) { free(e); return FH_EIO; }
  uv_check_init(loop, &e->flush);
  uv_idle_init(loop, &e->nowait);
  e->poll.data = e->flush.data = e->nowait.data = e;
  e->open_handles = 3;
  e->ac = ac;
  ac->ev.data = e;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  ac->ev.cleanup = ev_cleanup;
  return 0;
}

/* ---- connection lifecycle ----------------------------------------------- */

static void on_retry(uv_timer_t *h) { connect_now(h->data); }

static void schedule_retry(fh_redis *r) {
  if (r->closing) return;
  uv_timer_start(&r->retry, on_retry,
                 (uint64_t)(r->backoff * 1000), 0);
  r->backoff = r->backoff * 2 > 1.0 ? 1.0 : r->backoff * 2;
}

static void retry_now(fh_redis *r) {
  if (!r->closing) uv_timer_start(&r->retry, on_retry, 0, 0);
}

/* Takes the waiting commands off r; they are sent to r->ac (send) or
 * failed with "redis unavailable". */
static void drain_queue(fh_redis *r, int send) {
  queued *q = r->qhead;
  r->qhead = r->qtail = NULL;
  while (q) {
    queued *next = q->next;
    pending_cmd *pc = q->pc;
    if (send && r->ac &&
        redisAsyncFormattedCommand(r->ac, on_reply, pc, q->cmd, q->len) == REDIS_OK) {
      if (r->pending++ == 0) r->progress_at = fh_monotonic();
    } else if (r->closing) {
      free(pc);
    } else {
      pc->cb(NULL, "redis unavailable", pc->data);
      fh_freelist_put(&r->cmds, pc);
    }
    free(q);
    q = next;
  }
}

static void forget_master(fh_redis *r) {
  free(r->master_host);
  r->master_host = NULL;
}

/* r->ac is gone (connect failed, disconnected, freed): what to try next.
 * A sentinel that gave no master hands over to the next one at once; after
 * a whole round without one, and after losing the master (ask again: it may
 * have failed over), the usual backoff. */
static void next_attempt(fh_redis *r) {
  if (r->closing) return;
  if (r->asking) {
    r->asking = 0;
    if (r->master_host) { retry_now(r); return; }
    r->next_sentinel = (r->next_sentinel + 1) % r->url.nsentinels;
    if (++r->tried < r->url.nsentinels) { retry_now(r); return; }
    r->tried = 0;
  } else if (r->url.master) {
    forget_master(r);
  }
  drain_queue(r, 0);  /* no master now: what waited for one fails */
  schedule_retry(r);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  fh_redis *r = ac->data;
  if (status != REDIS_OK) {
    /* once per outage at warn level, then quietly while retrying */
    fh_log(r->backoff <= 0.05 ? FH_LOG_WARN : FH_LOG_DEBUG,
           r->asking ? "redis sentinel connect failed" : "redis connect failed",
           "error", ac->errstr, NULL);
    r->ac = NULL; /* hiredis frees the context */
    fh_metrics_add("flowhost_redis_errors_total", "kind=\"connect\"", 1);
    next_attempt(r);
    return;
  }
  if (r->url.master) return; /* a sentinel; or a master not confirmed yet (on_role) */
  r->connected = 1;
  r->backoff = 0.05;
  fh_log(FH_LOG_INFO, "redis connected", NULL);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  fh_redis *r = ac->data;
  r->ac = NULL;
  r->connected = 0;
  r->pending = 0;
  if (r->closing) return;
  if (status != REDIS_OK && !r->asking) {
    fh_log(FH_LOG_WARN, "redis disconnected", "error", ac->errstr, NULL);
    fh_metrics_add("flowhost_redis_errors_total", "kind=\"disconnect\"", 1);
  }
  next_attempt(r);
}

/* A master that answers READONLY (a replica now), LOADING or MASTERDOWN is
 * no master to write to: find the current one. The command that got the
 * error fails with it; those behind it get their replies, then the
 * connection closes. */
static void check_demoted(fh_redis *r, const redisReply *rep) {
  if (!r->url.master || r->asking || !r->ac || rep->type != REDIS_REPLY_ERROR) return;
  if (strncmp(rep->str, "READONLY", 8) && strncmp(rep->str, "LOADING", 7) &&
      strncmp(rep->str, "MASTERDOWN", 10))
    return;
  if (r->ac->c.flags & REDIS_DISCONNECTING) return;
  fh_log(FH_LOG_WARN, "redis master answers as a replica; asking the sentinels again",
         "error", rep->str, NULL);
  fh_metrics_add("flowhost_redis_errors_total", "kind=\"demoted\"", 1);
  r->connected = 0; /* no new commands until the master is found */
  redisAsyncDisconnect(r->ac);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  pending_cmd *pc = privdata;
  fh_redis *r = pc->r;
  (void)ac;
  if (r->pending > 0) r->pending--;
  r->progress_at = fh_monotonic();
  if (!r->closing) {
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR) {
      fh_metrics_add("flowhost_redis_errors_total", "kind=\"reply\"", 1);
      check_demoted(r, rep);
    }
    if (!rep) fh_metrics_add("flowhost_redis_errors_total", "kind=\"unavailable\"", 1);
    pc->cb(rep, rep ? NULL : "redis unavailable", pc->data);
  }
  if (r->closing) free(pc);
  else fh_freelist_put(&r->cmds, pc);
}

/* Sends AUTH/SELECT first when the URL asks for them; their replies only
 * matter when they fail. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  redisReply *rep = reply;
  (void)privdata;
  if (rep && rep->type == REDIS_REPLY_ERROR) {
    fh_log(FH_LOG_ERROR, "redis setup command failed (check REDIS_URL)",
           "error", rep->str, NULL);
    redisAsyncDisconnect(ac);
  }
}

/* ---- sentinel URLs -------------------------------------------------------- */

static void internal_sent(fh_redis *r) {
  if (r->pending++ == 0) r->progress_at = fh_monotonic();
}

static void internal_done(fh_redis *r) {
  if (r->pending > 0) r->pending--;
  r->progress_at = fh_monotonic();
}

static int is_str(const redisReply *e) {
  return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS;
}

/* SENTINEL get-master-addr-by-name: [ip, port], or nil for a name the
 * sentinel does not watch. Either way this connection is done with; what
 * comes next is decided when it has closed (next_attempt). */
static void on_sentinel_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  fh_redis *r = ac->data;
  redisReply *rep = reply;
  (void)privdata;
  internal_done(r);
  if (r->closing || !rep) return;
  long port = 0;
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && is_str(rep->element[0]) &&
      is_str(rep->element[1]))
    port = strtol(rep->element[1]->str, NULL, 10);
  if (port > 0 && port <= 65535) {
    r->master_host = strdup(rep->element[0]->str);
    r->master_port = (int)port;
    r->tried = 0;
    fh_log(FH_LOG_DEBUG, "redis sentinel named the master", "host", rep->element[0]->str,
           "port", rep->element[1]->str, NULL);
  } else {
    const fh_redis_addr *a = &r->url.sentinels[r->next_sentinel];
    char at[300];
    snprintf(at, sizeof(at), "%s:%d", a->host, a->port);
    fh_log(FH_LOG_WARN, "redis sentinel names no master (check the name in REDIS_URL)",
           "sentinel", at, "master", r->url.master,
           "error", rep->type == REDIS_REPLY_ERROR ? rep->str : "no such master", NULL);
  }
  redisAsyncDisconnect(ac);
}

/* ROLE: the first element is "master" on a master. */
static void on_role(redisAsyncContext *ac, void *reply, void *privdata) {
  fh_redis *r = ac->data;
  redisReply *rep = reply;
  (void)privdata;
  internal_done(r);
  if (r->closing || !rep) return;
  char at[300];
  snprintf(at, sizeof(at), "%s:%d", r->master_host ? r->master_host : "?", r->master_port);
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 && is_str(rep->element[0]) &&
      strcmp(rep->element[0]->str, "master") == 0) {
    r->connected = 1;
    r->backoff = 0.05;
    fh_log(FH_LOG_INFO, "redis connected", "master", r->url.master, "at", at, NULL);
    return;
  }
  fh_log(FH_LOG_WARN, "redis named by the sentinels is not a master yet; asking again",
         "at", at, "role", rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
         is_str(rep->element[0]) ? rep->element[0]->str : "?", NULL);
  redisAsyncDisconnect(ac);
}

/* ---- pub/sub listener ------------------------------------------------------
 * hiredis keeps a SUBSCRIBE callback for every message of the channel (and
 * calls it with NULL when the context goes); each connect subscribes again. */

static void on_message(redisAsyncContext *ac, void *reply, void *privdata) {
  fh_redis *r = privdata;
  redisReply *rep = reply;
  (void)ac;
  if (!rep || r->closing || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) return;
  redisReply *kind = rep->element[0], *msg = rep->element[2];
  if (kind->type == REDIS_REPLY_STRING && kind->len == 7 && memcmp(kind->str, "message", 7) == 0 &&
      msg->type == REDIS_REPLY_STRING)
    r->on_msg(msg->str, msg->len, r->msg_data);
}

static void subscribe(fh_redis *r) {
  redisAsyncCommand(r->ac, on_message, r, "SUBSCRIBE %s", r->channel);
}

int fh_redis_listen(fh_redis *r, const char *channel, fh_redis_msg_cb cb, void *data) {
  if (!r || r->channel || !channel || !*channel) return FH_EINVAL;
  if (!(r->channel = strdup(channel))) return FH_ENOMEM;
  r->on_msg = cb;
  r->msg_data = data;
  if (r->ac && !r->asking) subscribe(r);  /* else once connected to the master */
  return 0;
}

/* ---- connecting ----------------------------------------------------------- */

/* Starts a connection to host:port (path: a unix socket) and sets r->ac;
 * 0 or -1 (nothing to clean up). */
static int open_context(fh_redis *r, const char *host, int port, const char *path) {
  redisAsyncContext *ac = path ? redisAsyncConnectUnix(path) : redisAsyncConnect(host, port);
  if (!ac || ac->err) {
    fh_log(r->backoff <= 0.05 ? FH_LOG_WARN : FH_LOG_DEBUG, "redis connect failed", "error", ac ? ac->errstr : "out of memory", NULL);
    if (ac) redisAsyncFree(ac);
    return -1;
  }
  if (attach(ac, r->loop)) {
    redisAsyncFree(ac);
    return -1;
  }
  ac->data = r;
  r->ac = ac;
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  return 0;
}

static void connect_now(fh_redis *r) {
  if (r->closing || r->ac) return;
  if (r->url.master && !r->master_host) {
    const fh_redis_addr *a = &r->url.sentinels[r->next_sentinel];
    r->asking = 1;
    if (open_context(r, a->host, a->port, NULL)) { next_attempt(r); return; }
    redisAsyncCommand(r->ac, on_sentinel_reply, NULL, "SENTINEL get-master-addr-by-name %s",
                      r->url.master);
    internal_sent(r);
    return;
  }
  const char *host = r->url.master ? r->master_host : r->url.host;
  int port = r->url.master ? r->master_port : r->url.port;
  if (open_context(r, host, port, r->url.path)) { next_attempt(r); return; }
  redisAsyncContext *ac = r->ac;
  if (r->url.password) {
    if (r->url.user)
      redisAsyncCommand(ac, on_setup_reply, NULL, "AUTH %s %s", r->url.user, r->url.password);
    else
      redisAsyncCommand(ac, on_setup_reply, NULL, "AUTH %s", r->url.password);
  }
  if (r->url.db) redisAsyncCommand(ac, on_setup_reply, NULL, "SELECT %d", r->url.db);
  if (r->url.master) {
    redisAsyncCommand(ac, on_role, NULL, "ROLE");
    internal_sent(r);
    drain_queue(r, 1);  /* behind ROLE: a replica answers them READONLY */
  }
  if (r->channel) subscribe(r);
}

/* Disconnects a Redis that has commands pending and answered nothing for
 * `timeout` seconds (e.g. SIGSTOP, a network drop): the pending commands
 * fail now instead of hanging their tasks. */
static void on_watchdog(uv_timer_t *h) {
  fh_redis *r = h->data;
  if (!r->ticked) {
    /* the loop runs from now: what was sent while the worker was booting
     * (its loop not yet running) has had no chance to be answered */
    r->ticked = 1;
    r->progress_at = fh_monotonic();
    return;
  }
  /* a sentinel that does not answer at once is skipped for the next one */
  double timeout = r->asking && r->timeout > 1 ? 1 : r->timeout;
  if (r->ac && r->pending > 0 && fh_monotonic() - r->progress_at > timeout) {
    fh_log(FH_LOG_WARN, r->asking ? "redis sentinel does not answer, asking the next" : "redis stalled, reconnecting",
           "listener", r->channel ? r->channel : "no", NULL);
    fh_metrics_add("flowhost_redis_errors_total", "kind=\"timeout\"", 1);
    /* free, not disconnect: a polite disconnect waits for the replies that
     * are not coming. Pending commands fail with "redis unavailable"; if
     * the context never connected, hiredis calls no disconnect callback. */
    redisAsyncContext *ac = r->ac;
    int was_connected = (ac->c.flags & REDIS_CONNECTED) != 0;
    redisAsyncFree(ac);
    if (!was_connected) {
      r->ac = NULL;
      r->connected = 0;
      r->pending = 0;
      next_attempt(r);
    }
  }
}

int fh_redis_create(fh_redis **out, uv_loop_t *loop, const char *url, double timeout) {
  fh_redis *r = calloc(1, sizeof(*r));
  if (!r) return FH_ENOMEM;
  if (fh_redis_url_parse(url, &r->url)) { free(r); return FH_EINVAL; }
  r->loop = loop;
  r->timeout = timeout > 0 ? timeout : 5;
  r->backoff = 0.05;
  fh_freelist init = FH_FREELIST(pending_cmd, 4096);
  r->cmds = init;
  uv_timer_init(loop, &r->retry);
  uv_timer_init(loop, &r->watchdog);
  r->retry.data = r->watchdog.data = r;
  r->handles_open = 2;
  uv_timer_start(&r->watchdog, on_watchdog, 250, 250);
  connect_now(r);
  *out = r;
  return 0;
}

#define RESP_KEEP 65536 /* bytes of command buffer kept between commands */

/* RESP: *argc, then $len and the bytes of each argument. Returns 0 or
 * FH_ENOMEM. */
static int format_command(fh_buf *b, int argc, const char **argv, const size_t *lens) {
  size_t need = 24;
  for (int i = 0; i < argc; i++) need += lens[i] + 26;
  b->len = 0;
  char *p = fh_buf_reserve(b, need);
  if (!p) { fh_buf_free(b); return FH_ENOMEM; }
  *p++ = '*';
  p += fh_itoa(argc, p);
  *p++ = '\r'; *p++ = '\n';
  for (int i = 0; i < argc; i++) {
    *p++ = '$';
    p += fh_itoa((long long)lens[i], p);
    *p++ = '\r'; *p++ = '\n';
    memcpy(p, argv[i], lens[i]);
    p += lens[i];
    *p++ = '\r'; *p++ = '\n';
  }
  *p = '\0'; /* hiredis parses the arguments back (SUBSCRIBE) as a C string */
  b->len = (size_t)(p - b->data);
  return 0;
}

int fh_redis_command(fh_redis *r, int argc, const char **argv, const size_t *lens,
                     fh_redis_cb cb, void *data) {
  /* while a connect is in progress hiredis buffers the command and sends
   * it once connected (or fails it if the connect fails); while the
   * sentinels are asked, the queue does */
  if (!r || !r->ac) return FH_EUNAVAIL;
  if (format_command(&r->resp, argc, argv, lens)) return FH_ENOMEM;
  pending_cmd *pc = fh_freelist_get(&r->cmds);
  if (!pc) return FH_ENOMEM;
  pc->r = r; pc->cb = cb; pc->data = data;
  if (r->asking) {
    queued *q = malloc(sizeof(*q) + r->resp.len);
    if (!q) { fh_freelist_put(&r->cmds, pc); return FH_ENOMEM; }
    q->next = NULL;
    q->pc = pc;
    q->len = r->resp.len;
    memcpy(q->cmd, r->resp.data, r->resp.len);
    if (r->qtail) r->qtail->next = q; else r->qhead = q;
    r->qtail = q;
    return 0;
  }
  /* formatted here into a reused buffer: hiredis' own formatting makes
   * three allocations per command */
  int rc = redisAsyncFormattedCommand(r->ac, on_reply, pc, r->resp.data, r->resp.len);
  /* hiredis copied it: a worker does not keep its largest command ever */
  if (r->resp.cap > RESP_KEEP) fh_buf_free(&r->resp);
  if (rc != REDIS_OK) {
    fh_freelist_put(&r->cmds, pc);
    return FH_EUNAVAIL;
  }
  if (r->pending++ == 0) r->progress_at = fh_monotonic();
  return 0;
}

void fh_redis_flush(fh_redis *r) {
  if (!r || !r->ac || !(r->ac->c.flags & REDIS_CONNECTED)) return;
  uv_events *e = r->ac->ev.data;
  if (e && e->want_write) redisAsyncHandleWrite(r->ac);
}

int fh_redis_connected(const fh_redis *r) { return r ? r->connected : 0; }

int fh_redis_use_db(fh_redis *r, int db) {
  if (!r || db < 0 || db > 65535) return FH_EINVAL;
  r->url.db = db;
  if (r->ac && !r->asking) redisAsyncCommand(r->ac, on_setup_reply, NULL, "SELECT %d", db);
  return 0;
}

int fh_redis_db(const fh_redis *r) { return r ? r->url.db : 0; }

static void on_handle_closed(uv_handle_t *h) {
  fh_redis *r = h->data;
  if (--r->handles_open == 0) {
    fh_redis_url_free(&r->url);
    forget_master(r);
    free(r->channel);
    fh_buf_free(&r->resp);
    fh_freelist_drain(&r->cmds);
    free(r);
  }
}

void fh_redis_destroy(fh_redis *r) {
  if (!r) return;
  r->closing = 1;
  drain_queue(r, 0);
  if (r->ac) redisAsyncFree(r->ac);
  r->ac = NULL;
  uv_close((uv_handle_t *)&r->retry, on_handle_closed);
  uv_close((uv_handle_t *)&r->watchdog, on_handle_closed);
}

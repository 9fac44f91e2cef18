/* worker.c: a thread running one event loop with its Lua state and
 * connections; requests from its source (the HTTP server) arrive through
 * an inbox, calls from other threads through a posted queue. */
#define _GNU_SOURCE /* SCHED_IDLE, syscall(SYS_gettid): the quarantine thread lowers its own priority */
#include "worker.h"

#include "fh.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"

#include <lauxlib.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One fh_worker_post call. */
typedef struct {
  fh_worker_cb fn;
  void *arg;
} posted;

#define MAX_HOOKS 8
#define QUARANTINE_NICE 19

struct fh_worker {
  int index;
  int quarantine;              /* the quarantine worker (quarantine.h) */
  const fh_config *cfg;
  uv_loop_t loop;
  uv_async_t wakeup;
  uv_timer_t sweep;
  unsigned sweeps;      /* on_sweep runs so far */
  uv_thread_t thread;
  int started;
  lua_State *L;
  int handler_ref;            /* Lua function(req) -> status, body, headers, route */
  fh_sched *sched;
  fh_redis *redis;
  fh_http_client *http;
  const fh_worker_source *source; /* this worker's HTTP daemon, if serving */
  void *source_arg;
  uv_poll_t http_poll;         /* the daemon's epoll fd */
  uv_timer_t http_tick;        /* idle timeouts when nothing else wakes it */
  uv_check_t http_check;       /* runs the daemon after answers were given */
  uv_idle_t http_idle;         /* keeps the loop from blocking meanwhile */
  int http_dirty;
  fh_request *inbox_head, *inbox_tail; /* parsed, not yet started */
  pthread_mutex_t mu;          /* guards the flags and posts below */
  int exiting, exit_code, quiescing;
  posted *posts;               /* fh_worker_post calls waiting for the loop */
  size_t nposts, capposts;
  posted *batch;               /* the calls the loop is running (its thread only) */
  size_t capbatch;
  int quiesced;                /* the source was told (loop thread only) */
  struct { fh_worker_cb fn; void *arg; } gone[MAX_HOOKS]; /* fh_worker_on_destroy */
  int ngone;
  fh_request *live_head, *live_tail; /* requests being handled, oldest first */
  char label[32];             /* worker="N" */
  /* the metric labels of the last answer, reused while route and status
   * repeat (they nearly always do): no escaping and formatting per request */
  char last_route[100];
  int last_status;
  char labels_rs[160], labels_r[128];
};

static const char *WORKER_KEY = "fh.worker";

fh_worker *fh_worker_of(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, WORKER_KEY);
  fh_worker *w = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return w;
}

int fh_worker_post(fh_worker *w, fh_worker_cb fn, void *arg) {
  pthread_mutex_lock(&w->mu);
  if (w->exiting) { pthread_mutex_unlock(&w->mu); return FH_ECLOSED; }
  if (w->nposts == w->capposts) {
    size_t cap = w->capposts ? w->capposts * 2 : 64;
    posted *p = realloc(w->posts, cap * sizeof(*p));
    if (!p) { pthread_mutex_unlock(&w->mu); return FH_ENOMEM; }
    w->posts = p;
    w->capposts = cap;
  }
  w->posts[w->nposts].fn = fn;
  w->posts[w->nposts].arg = arg;
  w->nposts++;
  pthread_mutex_unlock(&w->mu);
  uv_async_send(&w->wakeup);
  return 0;
}

int fh_worker_on_destroy(fh_worker *w, fh_worker_cb fn, void *arg) {
  for (int i = 0; i < w->ngone; i++)
    if (w->gone[i].fn == fn && w->gone[i].arg == arg) return 0;
  if (w->ngone == MAX_HOOKS) return FH_ENOMEM;
  w->gone[w->ngone].fn = fn;
  w->gone[w->ngone].arg = arg;
  w->ngone++;
  return 0;
}

lua_State *fh_worker_main_state(fh_worker *w) { return w->L; }

void fh_worker_adopt_state(fh_worker *w, lua_State *L) {
  lua_pushlightuserdata(L, w);
  lua_setfield(L, LUA_REGISTRYINDEX, WORKER_KEY);
  fh_sched_adopt(w->sched, L);
}

uv_loop_t *fh_worker_loop(fh_worker *w) { return &w->loop; }
fh_redis *fh_worker_redis(fh_worker *w) { return w->redis; }
fh_http_client *fh_worker_http(fh_worker *w) { return w->http; }
fh_sched *fh_worker_sched(fh_worker *w) { return w->sched; }
const fh_config *fh_worker_config(fh_worker *w) { return w->cfg; }
int fh_worker_index(fh_worker *w) { return w->index; }
int fh_worker_is_quarantine(fh_worker *w) { return w->quarantine; }
int fh_worker_inflight(fh_worker *w) { return fh_sched_count(w->sched); }

/* ---- answering requests --------------------------------------------------- */

static void live_remove(fh_worker *w, fh_request *r) {
  if (r->prev) r->prev->next = r->next; else w->live_head = r->next;
  if (r->next) r->next->prev = r->prev; else w->live_tail = r->prev;
  r->next = r->prev = NULL;
}

static void live_add(fh_worker *w, fh_request *r) {
  r->prev = w->live_tail;
  r->next = NULL;
  if (w->live_tail) w->live_tail->next = r; else w->live_head = r;
  w->live_tail = r;
}

static void want_run(fh_worker *w);

static void add_header(fh_request *r, const char *name, const char *value) {
  fh_buf_append(&r->resp_headers, name, strlen(name) + 1);
  fh_buf_append(&r->resp_headers, value, strlen(value) + 1);
}

static void answer(fh_worker *w, fh_request *r) {
  const char *name = r->route[0] ? r->route : "unmatched";
  if (r->status != w->last_status || strcmp(name, w->last_route) != 0) {
    char route[100];
    fh_metrics_escape(name, route, sizeof(route));
    snprintf(w->labels_rs, sizeof(w->labels_rs), "route=\"%s\",status=\"%d\"", route, r->status);
    snprintf(w->labels_r, sizeof(w->labels_r), "route=\"%s\"", route);
    snprintf(w->last_route, sizeof(w->last_route), "%s", name);
    w->last_status = r->status;
  }
  fh_metrics_add("flowhost_http_requests_total", w->labels_rs, 1);
  fh_metrics_observe("flowhost_handler_seconds", w->labels_r, fh_monotonic() - r->t_start);
  live_remove(w, r);
  r->answered = 1;
  fh_server_respond(r);
  /* a resumed connection is only written by the daemon's next run, and
   * MHD does not wake its own epoll fd for that in external mode */
  if (w->source) want_run(w);
}

static void answer_error(fh_worker *w, fh_request *r, int status, const char *word) {
  fh_buf b;
  fh_buf_init(&b);
  fh_buf_printf(&b, "{\"error\":\"%s\",\"request_id\":\"%s\"}", word, r->id);
  r->status = status;
  r->resp_body = fh_buf_take(&b, &r->resp_len);
  add_header(r, "Content-Type", "application/json");
  answer(w, r);
}

/* Reads the handler's results: status, body, headers table, route name. */
static void on_request_done(fh_task *t, int ok, lua_State *co, int nres, void *data) {
  fh_request *r = data;
  fh_worker *w = fh_worker_of(co);
  if (!ok) {
    const char *route = fh_task_context(t)->route;
    if (route[0]) fh_copy(r->route, sizeof(r->route), route);
    fh_metrics_add("flowhost_lua_errors_total", NULL, 1);
    fh_log(FH_LOG_ERROR, "handler failed", "request_id", r->id, "path", r->path,
           "error", lua_tostring(co, -1), NULL);
    answer_error(w, r, 500, "internal error");
    return;
  }
  int base = lua_gettop(co) - nres;
  int status = (int)lua_tointeger(co, base + 1);
  if (status < 100 || status > 599) {
    fh_log(FH_LOG_ERROR, "handler returned no valid status", "request_id", r->id,
           "path", r->path, NULL);
    answer_error(w, r, 500, "internal error");
    return;
  }
  size_t len = 0;
  const char *body = lua_tolstring(co, base + 2, &len);
  r->status = status;
  r->resp_len = body ? len : 0;
  r->resp_body = malloc(r->resp_len + 1);
  if (r->resp_body && body) memcpy(r->resp_body, body, len);
  if (lua_istable(co, base + 3)) {
    lua_pushnil(co);
    while (lua_next(co, base + 3)) {
      if (lua_type(co, -2) == LUA_TSTRING && lua_isstring(co, -1))
        add_header(r, lua_tostring(co, -2), lua_tostring(co, -1));
      lua_pop(co, 1);
    }
  }
  const char *route = lua_tostring(co, base + 4);
  if (route) fh_copy(r->route, sizeof(r->route), route);
  answer(w, r);
}

static void push_kv(lua_State *L, const char **p, int n) {
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    const char *k = *p;
    *p += strlen(k) + 1;
    const char *v = *p;
    *p += strlen(v) + 1;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

static void start_request(fh_worker *w, fh_request *r) {
  lua_State *L = w->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, w->handler_ref);
  lua_createtable(L, 0, 7);
  lua_pushstring(L, r->id);
  lua_setfield(L, -2, "id");
  lua_pushstring(L, r->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, r->path);
  lua_setfield(L, -2, "path");
  const char *p = r->kv.data ? r->kv.data : "";
  push_kv(L, &p, r->nheaders);
  lua_setfield(L, -2, "headers");
  push_kv(L, &p, r->nquery);
  lua_setfield(L, -2, "query");
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  lua_setfield(L, -2, "body");
  /* link before spawning: the handler may finish synchronously */
  live_add(w, r);
  fh_task_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  fh_copy(ctx.request_id, sizeof(ctx.request_id), r->id);
  uint64_t id = fh_task_spawn(w->sched, L, 1, on_request_done, r, &ctx);
  if (id == 0) { answer_error(w, r, 503, "overloaded"); return; }
  if (!r->answered) r->task_id = id;
}

static void start_inbox(fh_worker *w) {
  while (w->inbox_head) {
    fh_request *r = w->inbox_head;
    w->inbox_head = r->next;
    if (!w->inbox_head) w->inbox_tail = NULL;
    start_request(w, r);
  }
}

static void on_http_idle(uv_idle_t *h) { (void)h; }

/* Marks the daemon for a run at the end of this loop iteration (check
 * phase); the idle handle keeps the next poll from blocking meanwhile. */
static void want_run(fh_worker *w) {
  if (w->http_dirty) return;
  w->http_dirty = 1;
  uv_idle_start(&w->http_idle, on_http_idle);
}

static void run_server(fh_worker *w) {
  int again = w->source->run(w->source_arg);
  start_inbox(w);
  if (again) want_run(w);
}

static void on_http_ready(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  run_server(h->data);
}

static void on_http_tick(uv_timer_t *h) { run_server(h->data); }

static void on_http_check(uv_check_t *h) {
  fh_worker *w = h->data;
  if (!w->http_dirty) return;
  w->http_dirty = 0;
  uv_idle_stop(&w->http_idle);
  run_server(w);
}

static void on_wakeup(uv_async_t *h) {
  fh_worker *w = h->data;
  pthread_mutex_lock(&w->mu);
  int exiting = w->exiting, quiescing = w->quiescing;
  /* take the queue whole: the emptied batch array takes its place */
  posted *batch = w->posts;
  size_t n = w->nposts, cap = w->capposts;
  w->posts = w->batch;
  w->capposts = w->capbatch;
  w->nposts = 0;
  w->batch = batch;
  w->capbatch = cap;
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < n; i++) batch[i].fn(w, batch[i].arg);
  if (w->source && (quiescing || exiting) && !w->quiesced) {
    w->quiesced = 1;
    w->source->quiesce(w->source_arg);
  }
  if (exiting) {
    /* requests still running when the host stops get a clear answer, and
     * their connections are resumed and flushed so the daemon can close them */
    while (w->inbox_head) {
      fh_request *r = w->inbox_head;
      w->inbox_head = r->next;
      live_add(w, r);
      answer_error(w, r, 503, "shutting down");
    }
    w->inbox_tail = NULL;
    while (w->live_head) {
      fh_request *l = w->live_head;
      fh_task *t = fh_task_find(w->sched, l->task_id);
      if (t) fh_task_detach(t);
      answer_error(w, l, 503, "shutting down");
    }
    if (w->source) {
      w->source->run(w->source_arg);
      uv_poll_stop(&w->http_poll);
      uv_timer_stop(&w->http_tick);
      uv_check_stop(&w->http_check);
      uv_idle_stop(&w->http_idle);
    }
    uv_stop(&w->loop);
  }
}

/* Answers 504 for requests whose handler ran past handler_timeout; the task
 * runs on, detached, and its result is dropped. */
static void on_sweep(uv_timer_t *h) {
  fh_worker *w = h->data;
  double now = fh_monotonic();
  while (w->live_head && now - w->live_head->t_start > w->cfg->handler_timeout) {
    fh_request *r = w->live_head;
    fh_task *t = fh_task_find(w->sched, r->task_id);
    if (t) fh_task_detach(t);
    fh_log(FH_LOG_WARN, "handler timed out", "request_id", r->id, "path", r->path, NULL);
    answer_error(w, r, 504, "handler timeout");
  }
  fh_metrics_set("flowhost_coroutines_in_flight", w->label, fh_sched_count(w->sched));
  /* memory: this worker's Lua heap (tenant states not included), and the
   * C heap of the whole process (worker 0 reads it for everyone) */
  fh_metrics_set("flowhost_lua_heap_bytes", w->label,
                 (double)lua_gc(w->L, LUA_GCCOUNT, 0) * 1024 + lua_gc(w->L, LUA_GCCOUNTB, 0));
  /* mallinfo2 walks every free chunk of every arena: worth a gauge every
   * 10 s, not every second (1.4 % of a busy host's CPU) */
  if (w->index == 0 && w->sweeps++ % 10 == 0) {
    struct mallinfo2 mi = mallinfo2();
    fh_metrics_set("flowhost_malloc_bytes", "kind=\"in_use\"", (double)(mi.uordblks + mi.hblkhd));
    fh_metrics_set("flowhost_malloc_bytes", "kind=\"held\"", (double)(mi.arena + mi.hblkhd));
  }
}

void fh_worker_submit(fh_worker *w, fh_request *req) {
  req->next = NULL;
  if (w->inbox_tail) w->inbox_tail->next = req; else w->inbox_head = req;
  w->inbox_tail = req;
}

void fh_worker_attach_source(fh_worker *w, const fh_worker_source *src, void *arg, int fd) {
  w->source = src;
  w->source_arg = arg;
  uv_poll_init(&w->loop, &w->http_poll, fd);
  w->http_poll.data = w;
  uv_poll_start(&w->http_poll, UV_READABLE, on_http_ready);
  uv_timer_init(&w->loop, &w->http_tick);
  w->http_tick.data = w;
  uv_timer_start(&w->http_tick, on_http_tick, 1000, 1000);
  uv_check_init(&w->loop, &w->http_check);
  w->http_check.data = w;
  uv_check_start(&w->http_check, on_http_check);
  uv_idle_init(&w->loop, &w->http_idle);
}

void fh_worker_quiesce(fh_worker *w) {
  pthread_mutex_lock(&w->mu);
  w->quiescing = 1;
  pthread_mutex_unlock(&w->mu);
  uv_async_send(&w->wakeup);
}

void fh_worker_exit(fh_worker *w, int code) {
  pthread_mutex_lock(&w->mu);
  w->exiting = 1;
  w->exit_code = code;
  pthread_mutex_unlock(&w->mu);
  uv_async_send(&w->wakeup);
}

/* ---- lifecycle ------------------------------------------------------------ */

int fh_worker_create(fh_worker **out, int index, const fh_config *cfg,
                     const char *mode, char *err, size_t errsz) {
  int rc;
  fh_worker *w = calloc(1, sizeof(*w));
  if (!w) return FH_ENOMEM;
  w->index = index;
  w->quarantine = strcmp(mode, "quarantine") == 0;
  w->cfg = cfg;
  w->handler_ref = LUA_NOREF;
  snprintf(w->label, sizeof(w->label), "worker=\"%d\"", index);
  pthread_mutex_init(&w->mu, NULL);
  uv_loop_init(&w->loop);
  uv_async_init(&w->loop, &w->wakeup, on_wakeup);
  w->wakeup.data = w;
  uv_timer_init(&w->loop, &w->sweep);
  w->sweep.data = w;
  uv_timer_start(&w->sweep, on_sweep, 1000, 1000);
  /* `flowhost check` needs no Redis: it connects to none (w->redis NULL:
   * commands fail with "redis unavailable") */
  if (strcmp(mode, "check") != 0 &&
      (rc = fh_redis_create(&w->redis, &w->loop, cfg->redis_url, cfg->redis_timeout))) {
    snprintf(err, errsz, "REDIS_URL: cannot use \"%s\" (expected redis://[:password@]host:port[/db], redis+sentinel://host:port[,host:port...]/master[/db] or unix:///path)", cfg->redis_url);
    goto fail;
  }
  if ((rc = fh_http_client_create(&w->http, &w->loop, cfg->http_timeout,
                                  cfg->http_connect_timeout, (size_t)cfg->http_max_response))) {
    snprintf(err, errsz, "cannot create the HTTP client");
    goto fail;
  }
  w->L = luaL_newstate();
  if (!w->L) { rc = FH_ENOMEM; goto fail; }
  lua_pushlightuserdata(w->L, w);
  lua_setfield(w->L, LUA_REGISTRYINDEX, WORKER_KEY);
  if ((rc = fh_sched_create(&w->sched, w->L, &w->loop))) goto fail;
  if ((rc = fh_runtime_boot(w->L, cfg, mode, index, &w->handler_ref, err, errsz))) goto fail;
  *out = w;
  return 0;
fail:
  fh_worker_destroy(w);
  return rc ? rc : FH_EINVAL;
}

/* The quarantine worker's thread runs under SCHED_IDLE: the kernel gives
 * its tenants' turns only what every other thread of the machine leaves,
 * and a serving worker that wakes on its core takes that core at once.
 * At nice 19 (what it ran at before) the kernel's fair scheduler first
 * let the quarantined turn finish its slice, so each of the several
 * wake-ups of a Good Co turn (the request, each Redis reply) could wait up
 * to a slice behind it: measured in tests/security/neighbour_spec on this
 * 2-core machine, Good Co's p50 rose 5-15 % beside the attacks and its p99
 * 1.1-2.0x; under SCHED_IDLE its p50 did not move and its p99 stayed at
 * 1.10-1.33x (docs/quarantine.md). The price: a thread the kernel serves
 * last may be preempted inside a short critical section that a serving
 * worker then waits for (posting to that worker, a metrics stripe, a
 * malloc arena); SCHED_IDLE still gets a minimal share of a busy core, so
 * such a wait is bounded, and those sections are a few hundred
 * instructions long. Where SCHED_IDLE is refused (a seccomp profile), nice
 * 19. (A thread may lower its own priority without any privilege; it could
 * not raise it again, so it is never changed back.) */
static void lower_priority(fh_worker *w) {
  struct sched_param none = {0};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &none) == 0) return;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  if (setpriority(PRIO_PROCESS, (id_t)tid, QUARANTINE_NICE) != 0) {
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", w->index);
    fh_log(FH_LOG_WARN, "the quarantine worker could not lower its CPU priority", "worker", idx, NULL);
  }
}

static void run_thread(void *arg) {
  fh_worker *w = arg;
  char name[16];                 /* as top -H and /proc/<pid>/task/<tid>/comm show it */
  if (w->quarantine) snprintf(name, sizeof(name), "fh-quarantine");
  else snprintf(name, sizeof(name), "fh-worker-%d", w->index % 1000);
  pthread_setname_np(pthread_self(), name);
  if (w->quarantine) lower_priority(w);
  uv_run(&w->loop, UV_RUN_DEFAULT);
}

int fh_worker_start(fh_worker *w) {
  w->started = 1;
  if (uv_thread_create(&w->thread, run_thread, w)) { w->started = 0; return FH_ENOMEM; }
  return 0;
}

int fh_worker_run(fh_worker *w) {
  w->started = 2; /* running on the caller's thread: nothing to join */
  uv_run(&w->loop, UV_RUN_DEFAULT);
  return w->exit_code;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void fh_worker_destroy(fh_worker *w) {
  if (!w) return;
  if (w->started == 1) {
    fh_worker_exit(w, 0);
    uv_thread_join(&w->thread);
  }
  /* e.g. its tasks will never take a lock: other workers must not wait
   * for them, nor wake a worker that is gone */
  for (int i = 0; i < w->ngone; i++) w->gone[i].fn(w, w->gone[i].arg);
  free(w->posts);
  free(w->batch);
  fh_redis_destroy(w->redis);
  fh_http_client_destroy(w->http);
  fh_runtime_close(w->L);
  fh_sched_destroy(w->sched);
  uv_walk(&w->loop, close_walk, NULL);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_loop_close(&w->loop);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

/* xcall.c: calls from a task of one worker into another worker's main state. */
#include "xcall.h"

#include "fh.h"
#include "task.h"
#include "worker.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

/* One call, owned by whichever worker's queue or task holds it. */
typedef struct {
  fh_worker *from;
  uint64_t caller;      /* the waiting task on `from` */
  int ok;
  char *fn;
  char *payload;        /* the argument, then the result */
  size_t plen;
} fh_xcall;

static fh_worker **all;
static int nall;
static fh_worker *quarantine;

void fh_workers_register(fh_worker **workers, int n) { all = workers; nall = n; }
int fh_workers_count(void) { return nall; }
void fh_workers_register_quarantine(fh_worker *w) { quarantine = w; }
int fh_workers_quarantine(void) { return quarantine ? nall : -1; }

static void x_free(fh_xcall *x) {
  free(x->fn);
  free(x->payload);
  free(x);
}

static void set_payload(fh_xcall *x, const char *s, size_t n) {
  free(x->payload);
  x->payload = malloc(n + 1);
  if (x->payload) { memcpy(x->payload, s, n); x->payload[n] = 0; x->plen = n; }
  else x->plen = 0;
}

static void on_reply(fh_worker *w, void *arg);

/* Sends the result home; a caller's worker that is stopping gets none. */
static void reply(fh_xcall *x, int ok, const char *s, size_t n) {
  x->ok = ok;
  set_payload(x, s, n);
  if (fh_worker_post(x->from, on_reply, x)) x_free(x);
}

static void on_done(fh_task *t, int ok, lua_State *co, int nres, void *data) {
  (void)t;
  fh_xcall *x = data;
  size_t n = 0;
  const char *s = NULL;
  if (nres > 0) s = lua_tolstring(co, ok ? lua_gettop(co) - nres + 1 : lua_gettop(co), &n);
  if (!s) { s = ok ? "" : "error (not a string)"; n = strlen(s); }
  reply(x, ok, s, n);
}

/* On the caller's worker: resume the caller. */
static void on_reply(fh_worker *w, void *arg) {
  fh_xcall *x = arg;
  fh_task *t = fh_task_find(fh_worker_sched(w), x->caller);
  if (!t) { x_free(x); return; }
  lua_State *co = fh_task_co(t);
  lua_pushboolean(co, x->ok);
  if (x->payload) lua_pushlstring(co, x->payload, x->plen);
  else lua_pushstring(co, "out of memory");
  x_free(x);
  fh_task_resume(t, 2);
}

/* On the target worker: run global fn(payload) as a task. */
static void on_call(fh_worker *w, void *arg) {
  fh_xcall *x = arg;
  lua_State *L = fh_worker_main_state(w);
  lua_getglobal(L, x->fn);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    const char *msg = "no such function on the target worker";
    reply(x, 0, msg, strlen(msg));
    return;
  }
  lua_pushlstring(L, x->payload ? x->payload : "", x->plen);
  if (!fh_task_spawn(fh_worker_sched(w), L, 1, on_done, x, NULL)) {
    const char *msg = "out of memory";
    reply(x, 0, msg, strlen(msg));
  }
}

int fh_xcall_lua(lua_State *L) {
  int index = (int)luaL_checkinteger(L, 1);
  const char *fn = luaL_checkstring(L, 2);
  size_t n;
  const char *payload = luaL_checklstring(L, 3, &n);
  fh_task *t = fh_task_check_current(L, "host.call_on");
  fh_worker *target = index >= 0 && index < nall ? all[index] : index == nall ? quarantine : NULL;
  if (!target) return luaL_error(L, "host.call_on: no worker %d", index);
  fh_xcall *x = calloc(1, sizeof(*x));
  if (!x) return luaL_error(L, "out of memory");
  x->from = fh_worker_of(L);
  x->caller = fh_task_id(t);
  x->fn = strdup(fn);
  set_payload(x, payload, n);
  if (!x->fn || !x->payload) { x_free(x); return luaL_error(L, "out of memory"); }
  int rc = fh_worker_post(target, on_call, x);
  if (rc) {
    x_free(x);
    lua_pushboolean(L, 0);
    lua_pushstring(L, fh_strerror(rc));      /* "closed": it is stopping */
    return 2;
  }
  return lua_yield(L, 0);
}

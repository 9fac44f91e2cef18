/* task.h: coroutines run by a worker's event loop.
 *
 * A task is one Lua coroutine (a request, a timer handler, a spawned job).
 * I/O bindings start their operation, remember the task's id and yield; the
 * loop later finds the task by id and resumes it with the results. A task
 * that ended (or was killed) is never resumed: its id no longer resolves. */
#ifndef FH_TASK_H
#define FH_TASK_H

#include <lua.h>
#include <stdint.h>
#include <uv.h>

typedef struct fh_sched fh_sched;
typedef struct fh_task fh_task;

/* Called once when a task ends. ok is 1 when the function returned (its
 * results are on co's stack, nres of them), 0 when it raised (the message
 * with traceback is on top of co's stack). */
typedef void (*fh_task_done_cb)(fh_task *t, int ok, lua_State *co, int nres, void *data);

/* Per-task context, shown in every log line the task writes. */
typedef struct {
  char request_id[24];
  char tenant[64];
  char conversation[128];
  char route[64];       /* the request's route, for its metrics if the handler raises */
  double cpu_budget;    /* CPU seconds each task spawned with it may use (0: no limit) */
} fh_task_ctx;

/* Creates a scheduler for the main state L whose parked and preempted
 * tasks wait on loop (both borrowed, must outlive it). */
int fh_sched_create(fh_sched **out, lua_State *L, uv_loop_t *loop);

/* Starts the function below nargs arguments on top of from's stack (the
 * main state or any coroutine of it; both are popped) as a new task and
 * runs it to its first yield. done may run before this returns. Returns the
 * task id (never 0), or 0 when out of memory. */
uint64_t fh_task_spawn(fh_sched *s, lua_State *from, int nargs, fh_task_done_cb done,
                       void *data, const fh_task_ctx *ctx);

/* The task with this id, or NULL if it has ended. */
fh_task *fh_task_find(fh_sched *s, uint64_t id);

/* The task whose coroutine is L, or NULL (main state, nested coroutine). */
fh_task *fh_task_current(lua_State *L);

/* Like fh_task_current, but raises "<what> must be called from a task" */
fh_task *fh_task_check_current(lua_State *L, const char *what);

uint64_t fh_task_id(const fh_task *t);
lua_State *fh_task_co(fh_task *t);
/* The main state whose registry anchors the task's coroutine. */
lua_State *fh_task_home(fh_task *t);
fh_task_ctx *fh_task_context(fh_task *t);
fh_sched *fh_task_sched(fh_task *t);

/* Resumes t with nargs values already pushed on its coroutine. */
void fh_task_resume(fh_task *t, int nargs);

/* Drops the done callback: the task runs on but nobody waits for it. */
void fh_task_detach(fh_task *t);

/* Parks t for `seconds` (>= 0): the caller yields right after (`return
 * lua_yield(L, 0)`) and the loop resumes t with one boolean, once the time
 * is up or, when wakeable, once fh_task_wake names it first: true when
 * woken, false on timeout (not wakeable: always true, a sleep). A task
 * that has ended meanwhile is not resumed. Returns 0, or FH_ENOMEM (then
 * nothing is armed: do not yield). */
int fh_task_park(fh_task *t, double seconds, int wakeable);

/* Wakes task id of s if it is parked wakeable and not yet woken; it
 * resumes on a later loop turn, never inside this call. Returns 1 if it
 * was parked so. On s's loop thread only (from another thread:
 * fh_worker_post). */
int fh_task_wake(fh_sched *s, uint64_t id);

/* From a count hook: t gives the loop a turn (timers, I/O, other tasks)
 * and goes on where it was; the caller yields right after (LuaJIT can
 * yield from a hook). t resumes after `rest` seconds when rest > 0 (a
 * runaway turn held to a share of its worker), else on a later loop turn
 * once no I/O is pending, or after its longest wait (twice the CPU it has
 * used, at most 50 ms). Returns 0, or FH_ENOMEM (then nothing is armed:
 * run on without yielding). */
int fh_task_preempt(fh_task *t, double rest);

/* Number of live tasks. */
int fh_sched_count(const fh_sched *s);

/* Lets tasks run in another main state L (a tenant's): their coroutines
 * are anchored in L's registry, and task lookups from L find s. */
void fh_sched_adopt(fh_sched *s, lua_State *L);

/* The task whose coroutine is executing now, or NULL. */
fh_task *fh_sched_running(fh_sched *s);

/* CPU budget: the task may run cpu_seconds of CPU in total over all its
 * resumes (0: no limit). The tenant state's hook enforces it. */
void fh_task_set_budget(fh_task *t, double cpu_seconds);
double fh_task_cpu_budget(const fh_task *t);
double fh_task_cpu_used(const fh_task *t);
/* CPU seconds since the current resume (budgeted tasks only, else 0). */
double fh_task_slice(const fh_task *t);

/* Wall-clock seconds the task has spent running: the sum of its resumes
 * (waits for I/O and the rests a runaway turn is held to do not count; a
 * turn blocked inside a C call, or starved of the CPU, does). Budgeted
 * tasks only, else 0. */
double fh_task_wall_used(const fh_task *t);
/* Wall-clock seconds since the current resume (budgeted tasks only, else 0). */
double fh_task_wall_slice(const fh_task *t);

/* Over budget: once set (CPU, memory or wall clock), the task stays over
 * for good; msg is copied ("file:line: cpu budget exceeded: ..."). */
void fh_task_set_over(fh_task *t, const char *msg);
const char *fh_task_over(const fh_task *t);  /* NULL while within budget */

/* The task ends at its next yield instead of being suspended: its done
 * callback gets ok = 0 with the task's over message, and it is never
 * resumed. Used from a count hook, which then yields. */
void fh_task_abort_at_yield(fh_task *t);

/* CPU seconds this thread has used (CLOCK_THREAD_CPUTIME_ID). */
double fh_thread_cpu(void);

/* Frees the scheduler. Live tasks are abandoned without callbacks. */
void fh_sched_destroy(fh_sched *s);

#endif

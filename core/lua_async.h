/* lua_async.h: waiting for one or several operations from a Lua task.
 *
 * A group collects the results of n operations started by one task (one
 * Redis command, a pipeline, http.all). Each operation stores its result
 * with fh_async_set() or fh_async_fail(); the binding then returns
 * fh_async_wait(), which yields unless everything already finished. When
 * the last result arrives the task is resumed with them. If the task has
 * ended meanwhile, results are dropped. */
#ifndef FH_LUA_ASYNC_H
#define FH_LUA_ASYNC_H

#include "task.h"

#include <lua.h>

typedef struct fh_async fh_async;

/* single: the task gets (value) or (nil, err) instead of a results list. */
fh_async *fh_async_new(lua_State *L, fh_task *t, int n, int single);

/* The coroutine to push operation i's result onto, or NULL if the task is
 * gone (then do not push; still call fh_async_set). */
lua_State *fh_async_target(fh_async *g);

/* Stores the value on top of the target (popped) as result i (1-based). */
void fh_async_set(fh_async *g, int i);

/* Stores failure word err as result i ({err = word} in a list). */
void fh_async_fail(fh_async *g, int i, const char *err);

/* Called by the binding after starting every operation: returns the
 * results at once if all are in, else yields. */
int fh_async_wait(lua_State *L, fh_async *g);

#endif

/* xcall.h: a task on one worker runs a Lua function in another worker's
 * main state and waits for its result (tenants are pinned to workers; a
 * request may arrive on any of them).
 *
 * The caller's task yields; the target worker runs global fn(payload) as a
 * task of its own (it may yield on I/O); its first result (a string) or its
 * error comes back to the caller's worker (both ways through
 * fh_worker_post) and resumes the caller with (ok, result). Strings only
 * cross threads. */
#ifndef FH_XCALL_H
#define FH_XCALL_H

#include <lua.h>

typedef struct fh_worker fh_worker;

/* Every worker of the process, for fh_xcall_start (main sets it once). */
void fh_workers_register(fh_worker **workers, int n);
int fh_workers_count(void);

/* The quarantine worker (quarantine.h), reached as worker index n (one past
 * the serving workers), or NULL: none. It serves no connections and owns
 * no tenant; fh_workers_count does not count it. */
void fh_workers_register_quarantine(fh_worker *w);
/* Its index for host.call_on, or -1 when there is none. */
int fh_workers_quarantine(void);

/* Lua: host.call_on(worker_index, fn, payload) -> ok, result (yields);
 * false, "closed" at once when the target worker is stopping. */
int fh_xcall_lua(lua_State *L);

#endif

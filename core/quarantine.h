/* quarantine.h: the tenants in quarantine, shared by every worker.
 *
 * A tenant one of whose turns broke a budget (CPU, memory, wall clock) is
 * in quarantine for a while: its turns run on the quarantine worker, a
 * thread of its own at nice 19 (fh_worker_create with mode "quarantine"),
 * never on the workers that serve everyone else (scripts/flow/tenants.lua
 * routes them; docs/quarantine.md). Any thread may read and set. */
#ifndef FH_QUARANTINE_H
#define FH_QUARANTINE_H

/* Puts tenant id in quarantine until `until` (fh_monotonic seconds); a
 * later `until` extends it, 0 ends it. Returns 0, or FH_ENOMEM when the
 * table is full of live quarantines (the tenant then runs where it is), or
 * FH_EINVAL for an id over 64 bytes (never a tenant id). */
int fh_quarantine_set(const char *id, double until);

/* The moment id's quarantine ends, or 0 when it is not in quarantine. */
double fh_quarantine_until(const char *id);

#endif

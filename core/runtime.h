/* runtime.h: prepares a worker's Lua state: standard libraries, the core
 * modules in package.preload, the scripts/ search path, then the boot
 * script (scripts/host/boot.lua), which returns the request handler. */
#ifndef FH_RUNTIME_H
#define FH_RUNTIME_H

#include "config.h"

#include <lua.h>

/* Standard libraries, core modules in package.preload, the search path. */
void fh_runtime_open(lua_State *L, const fh_config *cfg);

/* On success stores a registry reference to the handler in *handler_ref.
 * On failure writes "file:line: problem" into err and returns FH_ELUA. */
/* Closes a state made by fh_runtime_boot (its finalizers run once). */
void fh_runtime_close(lua_State *L);

int fh_runtime_boot(lua_State *L, const fh_config *cfg, const char *mode,
                    int worker_index, int *handler_ref, char *err, size_t errsz);

#endif

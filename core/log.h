/* log.h: JSON-lines logging to stderr.
 *
 * One line per event: {"ts":..,"level":..,"msg":.., extra fields}. Lines are
 * written with a single write(2) so lines from several threads never mix. */
#ifndef FH_LOG_H
#define FH_LOG_H

#include "buf.h"

typedef enum { FH_LOG_DEBUG, FH_LOG_INFO, FH_LOG_WARN, FH_LOG_ERROR } fh_log_level;

/* Lines go to fd (default 2, stderr); `flowhost chat` sends them to a
 * file so they stay out of the conversation. */
void fh_log_set_fd(int fd);

/* Sets the lowest level written; from "debug", "info", "warn", "error".
 * Returns 0, or FH_EINVAL for an unknown name. */
int fh_log_set_level_name(const char *name);
int fh_log_enabled(fh_log_level level);
const char *fh_log_level_name(fh_log_level level);

/* Starts a line in b with ts, level and msg; add fields with
 * fh_log_field(), then fh_log_end() writes and frees it. */
void fh_log_begin(fh_buf *b, fh_log_level level, const char *msg);
void fh_log_field(fh_buf *b, const char *key, const char *value);
void fh_log_end(fh_buf *b);

/* Convenience: one line with a printf-formatted message and string
 * fields given as key, value pairs ending with NULL. */
void fh_log(fh_log_level level, const char *msg, ...);

#endif

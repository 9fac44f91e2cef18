/* redis.h: one asynchronous Redis connection per worker (hiredis + libuv).
 *
 * Commands are written on the worker's loop and batched into one write per
 * loop turn, so concurrent tasks pipeline for free. The connection comes
 * back by itself after Redis restarts (backoff 50 ms .. 1 s), and a Redis
 * that stops answering for redis_timeout seconds is disconnected, failing
 * its pending commands with "redis unavailable".
 *
 * With a sentinel URL the master is asked of the sentinels (each in turn,
 * SENTINEL get-master-addr-by-name) and confirmed with ROLE before any
 * command is taken; a lost connection, or a READONLY or LOADING reply (the
 * master was demoted), starts the search again (docs/cluster.md). */
#ifndef FH_REDIS_H
#define FH_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <uv.h>

typedef struct fh_redis fh_redis;

/* reply is borrowed (valid during the call); on failure reply is NULL and
 * err is "redis unavailable". Error replies arrive as REDIS_REPLY_ERROR. */
typedef void (*fh_redis_cb)(redisReply *reply, const char *err, void *data);

typedef struct {
  char *host;
  int port;
} fh_redis_addr;

/* Parsed form of REDIS_URL. Strings owned by the struct. */
typedef struct {
  char *host;     /* NULL for unix sockets and sentinel URLs */
  int port;
  char *path;     /* unix socket path */
  char *user;     /* user and password: the master's (sentinels: none) */
  char *password;
  int db;
  char *master;   /* sentinel URLs: the master's name */
  fh_redis_addr *sentinels;
  int nsentinels;
} fh_redis_url;

/* Parses redis://[[user]:password@]host[:port][/db], unix:///path[?db=N]
 * or redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
 * (sentinel port 26379 by default). Returns 0 or FH_EINVAL. Free with
 * fh_redis_url_free (core/redis_url.c). */
int fh_redis_url_parse(const char *url, fh_redis_url *out);
void fh_redis_url_free(fh_redis_url *u);

/* Starts connecting on loop. Returns 0 even if Redis is down (it retries). */
int fh_redis_create(fh_redis **out, uv_loop_t *loop, const char *url, double timeout);

/* Sends a command. Returns FH_EUNAVAIL (cb not called) when disconnected
 * (or r is NULL: `flowhost check` runs without Redis),
 * else 0 and cb is called exactly once. argv/lens are copied. */
int fh_redis_command(fh_redis *r, int argc, const char **argv, const size_t *lens,
                     fh_redis_cb cb, void *data);

/* Writes queued commands to the socket now instead of at the end of the
 * loop turn (for a journal entry that must leave before something else). */
void fh_redis_flush(fh_redis *r);

/* 1 while connected. r may be NULL (a command that needs no Redis). */
int fh_redis_connected(const fh_redis *r);

/* Selects database db on this connection, now and after every reconnect
 * (`flowhost test` of a tenant's specs uses a database of its own).
 * Returns 0, or FH_EINVAL for a db outside 0..65535. */
int fh_redis_use_db(fh_redis *r, int db);

/* The database commands go to. */
int fh_redis_db(const fh_redis *r);

/* A message heard on a listener's channel: payload borrowed for the call. */
typedef void (*fh_redis_msg_cb)(const char *payload, size_t len, void *data);

/* Makes r (a connection of its own, from fh_redis_create) a pub/sub
 * listener: SUBSCRIBE channel now and after every reconnect, cb for each
 * message. It then takes no commands. Messages published while it is
 * disconnected are lost (pub/sub keeps nothing): callers poll too.
 * Returns 0, FH_EINVAL (already listening, no channel) or FH_ENOMEM. */
int fh_redis_listen(fh_redis *r, const char *channel, fh_redis_msg_cb cb, void *data);

/* Closes the connection; pending callbacks are dropped, not called. */
void fh_redis_destroy(fh_redis *r);

#endif

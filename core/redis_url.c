/* redis_url.c: REDIS_URL, parsed (see redis.h). */
#define _POSIX_C_SOURCE 200809L
#include "redis.h"

#include "fh.h"

#include <stdlib.h>
#include <string.h>

void fh_redis_url_free(fh_redis_url *u) {
  free(u->host); free(u->path); free(u->user); free(u->password); free(u->master);
  for (int i = 0; i < u->nsentinels; i++) free(u->sentinels[i].host);
  free(u->sentinels);
  memset(u, 0, sizeof(*u));
}

/* A decimal number in [min, max] spanning exactly [p, end). */
static int number(const char *p, const char *end, long min, long max, long *out) {
  if (p >= end || *p < '0' || *p > '9') return -1;
  char *e;
  long v = strtol(p, &e, 10);
  if (e != end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* host[:port] in [p, end); an empty host is 127.0.0.1. */
static int host_port(const char *p, const char *end, int defport, char **host, int *port) {
  const char *colon = memchr(p, ':', (size_t)(end - p));
  long v = defport;
  if (colon && number(colon + 1, end, 1, 65535, &v)) return -1;
  const char *hend = colon ? colon : end;
  *host = hend > p ? strndup(p, (size_t)(hend - p)) : strdup("127.0.0.1");
  *port = (int)v;
  return *host ? 0 : -1;
}

/* [[user]:password@] at the start of p; returns what follows it. */
static const char *credentials(const char *p, fh_redis_url *out) {
  const char *at = strrchr(p, '@');
  if (!at) return p;
  const char *colon = memchr(p, ':', (size_t)(at - p));
  if (colon) {
    if (colon > p) out->user = strndup(p, (size_t)(colon - p));
    out->password = strndup(colon + 1, (size_t)(at - colon - 1));
  } else {
    out->password = strndup(p, (size_t)(at - p));
  }
  return at + 1;
}

/* "/N" or "" or "/" (database 0) */
static int database(const char *p, fh_redis_url *out) {
  long db = 0;
  if (p[0] == '/' && p[1] && number(p + 1, p + strlen(p), 0, 65535, &db)) return -1;
  if (p[0] && p[0] != '/') return -1;
  out->db = (int)db;
  return 0;
}

/* redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db] */
static int parse_sentinel(const char *p, fh_redis_url *out) {
  p = credentials(p, out);
  const char *slash = strchr(p, '/');
  if (!slash || slash == p) return -1;
  for (const char *s = p; s < slash;) {
    const char *comma = memchr(s, ',', (size_t)(slash - s));
    const char *end = comma ? comma : slash;
    if (end == s) return -1;
    fh_redis_addr *grown = realloc(out->sentinels, sizeof(*grown) * (size_t)(out->nsentinels + 1));
    if (!grown) return -1;
    out->sentinels = grown;
    fh_redis_addr *a = &out->sentinels[out->nsentinels];
    a->host = NULL;
    if (host_port(s, end, 26379, &a->host, &a->port)) { free(a->host); return -1; }
    out->nsentinels++;
    s = comma ? comma + 1 : slash;
  }
  const char *name = slash + 1, *nend = strchr(name, '/');
  if (!nend) nend = name + strlen(name);
  if (nend == name) return -1;
  out->master = strndup(name, (size_t)(nend - name));
  if (!out->master) return -1;
  return database(nend, out);
}

int fh_redis_url_parse(const char *url, fh_redis_url *out) {
  memset(out, 0, sizeof(*out));
  out->port = 6379;
  if (strncmp(url, "unix://", 7) == 0) {
    const char *p = url + 7, *q = strchr(p, '?');
    out->path = q ? strndup(p, (size_t)(q - p)) : strdup(p);
    if (!out->path || out->path[0] != '/') goto fail;
    if (q) {
      long db;
      if (strncmp(q, "?db=", 4) != 0 || number(q + 4, q + strlen(q), 0, 65535, &db)) goto fail;
      out->db = (int)db;
    }
    return 0;
  }
  if (strncmp(url, "redis+sentinel://", 17) == 0) {
    if (parse_sentinel(url + 17, out)) goto fail;
    return 0;
  }
  if (strncmp(url, "redis://", 8) != 0) goto fail;
  const char *p = credentials(url + 8, out);
  const char *slash = strchr(p, '/');
  const char *end = slash ? slash : p + strlen(p);
  if (host_port(p, end, 6379, &out->host, &out->port)) goto fail;
  if (slash && database(slash, out)) goto fail;
  return 0;
fail:
  fh_redis_url_free(out);
  return FH_EINVAL;
}

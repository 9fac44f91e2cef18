/* main.c: the flowhost command line.
 *
 *   flowhost serve [--config FILE]       run the host (config/flowhost.lua by default)
 *   flowhost test [--config FILE] PATHS  run busted specs inside the runtime
 *   flowhost chat [--config FILE] TENANT talk to a tenant's flow in the terminal
 *   flowhost check [--config FILE] [TENANT...]  load and validate tenants' flows
 *   flowhost --help | --version
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"
#include "fh.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"
#include "xcall.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* what `flowhost serve` reads without --config, relative to the working directory */
#define DEFAULT_CONFIG "config/flowhost.lua"

static void usage(FILE *out) {
  fprintf(out,
          "flowhost %s: a host for conversational booking assistants\n\n"
          "Usage:\n"
          "  flowhost serve [--config FILE]         serve HTTP (default config: config/flowhost.lua when it exists)\n"
          "  flowhost test [--config FILE] PATH...  run busted specs inside the host runtime\n"
          "  flowhost chat [--config FILE] TENANT   talk to a tenant's flow in the terminal (needs Redis)\n"
          "  flowhost check [--config FILE] [TENANT...]  load and validate flows (all tenants by default; no Redis)\n"
          "  flowhost check --translated TENANT...  record that the tenant's translations are up to date\n"
          "  flowhost --help | --version\n\n"
          "Exit codes: 0 ok, 1 failure (or failing specs), 2 bad configuration.\n\n",
          FH_VERSION);
  if (out == stdout) {
    fh_config_print_help();
    fprintf(out,
            "\nRead by the runtime library (environment only):\n"
            "  FLOWHOST_TENANTS_DIR           config/tenants  tenants' config files\n"
            "  FLOWHOST_FLOWS_DIR             flows           tenants' flow folders\n"
            "  FLOWHOST_ADMIN_TOKEN           (none)          Bearer token that opens the whole admin API\n"
            "  FLOWHOST_STREAM_CLAIM_IDLE_MS  30000           inbound messages pending this long are taken over\n"
            "  FLOWHOST_DEBOUNCE_MS           1500            quick messages of one conversation within this become one turn\n"
            "                                                 (messaging channels; a tenant's debounce_ms wins; 0: off)\n"
            "  FLOWHOST_DOUBT_WAIT_S          5               a reply in doubt waits this long for WhatsApp's or Twilio's\n"
            "                                                 status callback before the tenant's in_doubt rule decides\n"
            "  FLOWHOST_SPEC_DB               15              Redis database of tenant specs (flowhost test flows/<t>/spec,\n"
            "                                                 and the specs a new version passes before it goes live)\n"
            "  FLOWHOST_CHAT_URL              (none)          tenant specs talk to this host over HTTP instead\n"
            "  FLOWHOST_CHAT_LOG              $TMPDIR/flowhost-chat.log  where flowhost chat writes its log lines\n"
            "  FLOWHOST_SPECS_BEFORE_LIVE     (tenant's)      0: no version waits for its specs (the studio's preview host)\n"
            "  FLOWHOST_STUDIO_DIR            build/studio    the studio's built front-end (tools/studio-build.sh)\n"
            "  FLOWHOST_STUDIO_PREVIEW_DB     14              Redis database of the studio's draft previews\n"
            "  FLOWHOST_STUDIO_PREVIEW_DIR    var/studio/preview  where draft previews' files are written\n"
            "  FLOWHOST_STUDIO_PREVIEW_LISTEN 127.0.0.1:8089  address of the studio's preview host\n");
  }
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Signals are taken by the main thread with sigtimedwait; every other
 * thread inherits the blocked mask. */
static void block_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, set, NULL);
  signal(SIGPIPE, SIG_IGN);
}

static int load_config(fh_config *cfg, const char *path) {
  char err[1024];
  if (fh_config_load(cfg, path, err, sizeof(err))) {
    fprintf(stderr, "flowhost: bad configuration: %s\n", err);
    return 2;
  }
  if (fh_log_set_level_name(cfg->log_level)) {
    fprintf(stderr, "flowhost: bad configuration: log_level must be debug, info, warn or error\n");
    return 2;
  }
  return 0;
}

static int serve(fh_config *cfg) {
  char err[2048];
  int code = 1;
  sigset_t set;
  block_signals(&set);
  if (cfg->path)
    fh_log(FH_LOG_INFO, "configuration read", "config", cfg->path, NULL);
  else
    fh_log(FH_LOG_WARN, "no configuration file: " DEFAULT_CONFIG " does not exist here; serving with built-in "
           "defaults and environment variables (run from the folder that holds config/, or give --config FILE)",
           "config", "(defaults)", NULL);
  fh_worker **workers = calloc((size_t)cfg->workers, sizeof(*workers));
  fh_worker *quarantine = NULL;  /* runs the turns of tenants in quarantine */
  fh_server *server = NULL;
  if (!workers) return 1;
  fh_workers_register(workers, cfg->workers); /* filled as they are created */
  for (int i = 0; i < cfg->workers; i++) {
    if (fh_worker_create(&workers[i], i, cfg, "serve", err, sizeof(err))) {
      fprintf(stderr, "flowhost: cannot start: %s\n", err);
      code = 2;
      goto done;
    }
  }
  if (fh_worker_create(&quarantine, cfg->workers, cfg, "quarantine", err, sizeof(err))) {
    fprintf(stderr, "flowhost: cannot start: %s\n", err);
    code = 2;
    goto done;
  }
  fh_workers_register_quarantine(quarantine);
  if (fh_server_start(&server, cfg, workers, cfg->workers, err, sizeof(err))) {
    fprintf(stderr, "flowhost: cannot start: %s\n", err);
    code = 2;
    goto done;
  }
  for (int i = 0; i < cfg->workers; i++) fh_worker_start(workers[i]);
  fh_worker_start(quarantine);
  char port[16], nworkers[16];
  snprintf(port, sizeof(port), "%d", fh_server_port(server));
  snprintf(nworkers, sizeof(nworkers), "%d", cfg->workers);
  fh_log(FH_LOG_INFO, "listening", "host", cfg->listen_host, "port", port,
         "workers", nworkers, "config", cfg->path ? cfg->path : "(defaults)", NULL);

  struct timespec tick = {1, 0};
  for (;;) {
    int sig = sigtimedwait(&set, NULL, &tick);
    fh_server_sweep(server);
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP) {
      fh_log(FH_LOG_INFO, "SIGHUP received: reloading tenants", NULL);
      fh_request_reload();
    }
  }
  fh_log(FH_LOG_INFO, "stopping: no new connections, finishing in-flight requests", NULL);
  for (int i = 0; i < cfg->workers; i++) fh_worker_quiesce(workers[i]);
  double until = fh_monotonic() + cfg->shutdown_grace;
  struct timespec brief = {0, 50 * 1000 * 1000};
  while (fh_server_inflight(server) > 0 && fh_monotonic() < until) {
    nanosleep(&brief, NULL);
    fh_server_sweep(server);
  }
  if (fh_server_inflight(server) > 0)
    fh_log(FH_LOG_WARN, "shutdown grace ran out with requests still in flight", NULL);
  nanosleep(&brief, NULL); /* let the last responses leave */
  code = 0;
done:
  fh_workers_register(NULL, 0);     /* no more calls across workers */
  fh_workers_register_quarantine(NULL);
  /* the quarantine worker first: its answers go to the serving workers,
   * which are still there to refuse them */
  fh_worker_destroy(quarantine);
  /* each worker answers what it still holds with 503 and flushes it */
  for (int i = 0; i < cfg->workers; i++) fh_worker_destroy(workers[i]);
  fh_server_stop(server);
  free(workers);
  if (code == 0) fh_log(FH_LOG_INFO, "stopped", NULL);
  return code;
}

/* `flowhost chat`: log lines go to $FLOWHOST_CHAT_LOG (default
 * $TMPDIR/flowhost-chat.log), not between the lines of the conversation;
 * the chat names the file. If it cannot be opened, only errors reach
 * stderr. */
static void chat_log(void) {
  static char path[1024];
  const char *p = getenv("FLOWHOST_CHAT_LOG");
  if (!p || !*p) {
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/flowhost-chat.log", tmp && *tmp ? tmp : "/tmp");
    p = path;
  }
  int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    fh_log_set_level_name("error");
    setenv("FLOWHOST_CHAT_LOG", "(stderr, errors only)", 1);
    return;
  }
  fh_log_set_fd(fd);
  setenv("FLOWHOST_CHAT_LOG", p, 1);
}

/* test, chat and check: one worker runs the command's Lua and ends the
 * process with its exit code */
static int run_command(fh_config *cfg, const char *cmd) {
  char err[2048];
  fh_worker *w;
  if (strcmp(cmd, "chat") == 0) chat_log();
  if (fh_worker_create(&w, 0, cfg, cmd, err, sizeof(err))) {
    fprintf(stderr, "flowhost %s: cannot start: %s\n", cmd, err);
    return 2;
  }
  fh_workers_register(&w, 1);
  int code = fh_worker_run(w);
  fh_worker_destroy(w);
  return code;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(cmd ? stdout : stderr);
    return cmd ? 0 : 2;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("flowhost %s\n", FH_VERSION);
    return 0;
  }
  int one_worker = strcmp(cmd, "test") == 0 || strcmp(cmd, "chat") == 0 || strcmp(cmd, "check") == 0;
  if (strcmp(cmd, "serve") != 0 && !one_worker) {
    fprintf(stderr, "flowhost: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
  }
  const char *config_path = NULL;
  int given = 0;
  char **rest = calloc((size_t)argc, sizeof(char *));
  int nrest = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) config_path = argv[++i], given = 1;
    else if (strncmp(argv[i], "--config=", 9) == 0) config_path = argv[i] + 9, given = 1;
    else if (one_worker) rest[nrest++] = argv[i];
    else { fprintf(stderr, "flowhost: unexpected argument '%s'\n", argv[i]); free(rest); return 2; }
  }
  /* serve without --config reads the operator's file where it usually is */
  if (!given && strcmp(cmd, "serve") == 0 && access(DEFAULT_CONFIG, R_OK) == 0) config_path = DEFAULT_CONFIG;
  fh_config cfg;
  int code = load_config(&cfg, config_path);
  if (code) { free(rest); return code; }
  cfg.argv = rest;
  cfg.argc = nrest;
  curl_global_init(CURL_GLOBAL_ALL);
  fh_metrics_init();
  fh_metric_families_declare();
  raise_fd_limit();
  code = strcmp(cmd, "serve") == 0 ? serve(&cfg) : run_command(&cfg, cmd);
  fh_config_free(&cfg);
  free(rest);
  curl_global_cleanup();
  return code;
}

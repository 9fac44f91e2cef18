-- Settings for the peer benchmark (../shared/bench): serves the same
-- conversation turn as the nginx and Node peers at /bench/turn and
-- /bench/turn_llm (the runner sets FLOWHOST_LISTEN, REDIS_URL, BENCH_LLM_URL).
--
-- Two workers, one per core: each parses its own connections (SO_REUSEPORT)
-- and the turns of one conversation queue in one process-wide lock queue,
-- whichever worker they arrive on. Numbers: bench/README.md.
-- Override with FLOWHOST_WORKERS to compare.
return {
  listen = "127.0.0.1:8084",
  workers = 2,
  routes = "ops,bench",
  max_connections = 12000,
  log_level = "warn",
}

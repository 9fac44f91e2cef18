-- Settings for the peer benchmark (../shared/bench): serves the same
-- conversation turn as the nginx and Node peers at /bench/turn and
-- /bench/turn_llm (the runner sets FLOWHOST_LISTEN, REDIS_URL, BENCH_LLM_URL).
return {
  listen = "127.0.0.1:8084",
  workers = 2,
  routes = "ops,bench",
  max_connections = 12000,
  log_level = "warn",
}

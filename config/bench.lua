-- Settings for the peer benchmark (../shared/bench): serves the same
-- conversation turn as the nginx and Node peers at /bench/turn and
-- /bench/turn_llm (the runner sets FLOWHOST_LISTEN, REDIS_URL, BENCH_LLM_URL).
--
-- One worker: on the 2-core bench box (wrk and Redis share the cores) it
-- keeps every turn of a conversation in one local lock queue, so the
-- contention case (100 conversations, c=256) gets ~16 409s per 30 s run
-- instead of ~800 with 2 workers (whose loops poll each other's locks with a
-- backoff of up to 50 ms) and about half their contention p99; 2 workers
-- are faster uncontended and LLM-bound at the same CPU per turn. Numbers:
-- bench/README.md.
-- Override with FLOWHOST_WORKERS to compare.
return {
  listen = "127.0.0.1:8084",
  workers = 1,
  routes = "ops,bench",
  max_connections = 12000,
  log_level = "warn",
}

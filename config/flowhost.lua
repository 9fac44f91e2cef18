-- flowhost host settings (the example/demo configuration).
-- Every setting can be overridden by its environment variable; run
-- `flowhost --help` for the full list with defaults.
return {
  listen = "127.0.0.1:8080",        -- FLOWHOST_LISTEN
  workers = 0,                      -- FLOWHOST_WORKERS (0: one per core)
  redis_url = "redis://127.0.0.1:6379", -- REDIS_URL
  routes = "ops,chat,admin,webhooks,studio", -- route modules in scripts/routes/
  max_body = 1024 * 1024,           -- bytes; bigger bodies get 413
  max_connections = 8192,           -- more get 503
  max_connections_per_ip = 256,     -- FLOWHOST_MAX_CONNECTIONS_PER_IP; 0 behind a proxy
  request_deadline = 10,            -- seconds to send a whole request
  shutdown_grace = 10,              -- seconds in-flight requests get on SIGTERM
  log_level = "info",
}

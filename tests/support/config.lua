-- Host settings for the integration specs (ports and Redis come from the
-- environment the spec sets when it starts the binary).
return {
  listen = "127.0.0.1:18080", -- each spec overrides FLOWHOST_LISTEN
  workers = 2,
  routes = "ops,testing",
  lua_path = "tests/support/?.lua",
  max_body = 256 * 1024,
  request_deadline = 3,
  shutdown_grace = 5,
  timer_poll = 0.1,
  log_level = "info",
  max_connections_per_ip = 0, -- the specs load the host from 127.0.0.1; edge_spec sets its own
}

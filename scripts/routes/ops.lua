-- Operations endpoints: liveness, readiness and Prometheus metrics.
local router = require "host.router"
local redis = require "redis"
local host = require "host"

router.route("GET", "/healthz", function()
  return router.json(200, { status = "ok" })
end)

router.route("GET", "/readyz", function()
  local pong, err = redis.call("PING")
  if pong ~= "PONG" then
    return router.json(503, { status = "unavailable", redis = err or "no answer" })
  end
  return router.json(200, { status = "ready" })
end)

router.route("GET", "/metrics", function()
  return 200, host.metrics(), { ["Content-Type"] = "text/plain; version=0.0.4" }
end)

-- Routes the integration specs drive (loaded only by tests/support configs).
local router = require "host.router"
local http = require "http"
local redis = require "redis"
local lock = require "lock"
local timer = require "timer"
local json = require "json"
local time = require "time"

local UPSTREAM = os.getenv("UPSTREAM_URL") or "http://127.0.0.1:9001"

-- waits on the slow local upstream
router.route("GET", "/test/upstream", function(req)
  local res, err = http.request{ url = UPSTREAM .. "/delay?ms=" .. (req.query.ms or "1000"), timeout = 10 }
  if not res then return router.json(502, { error = err }) end
  return router.json(200, { upstream = res.status })
end)

router.route("GET", "/test/redis", function()
  local v, err = redis.call("INCR", "test:redis:counter")
  if not v then return router.json(503, { error = err }) end
  return router.json(200, { value = v })
end)

router.route("GET", "/test/worker", function()
  return router.json(200, { worker = require("host").worker() })
end)

router.route("GET", "/test/error", function()
  error("this handler fails on purpose")
end)

router.route("POST", "/test/echo", function(req)
  return router.json(200, { bytes = #req.body })
end)

-- a critical section that records overlap in Redis, across workers/hosts
router.route("POST", "/test/locked", function(req)
  local key = req.query.key or "test:lock"
  local ok, err = lock.with(key, 5, function(h)
    local inside = redis.call("INCR", "test:lock:inside")
    if inside ~= 1 then redis.call("INCR", "test:lock:overlaps") end
    redis.call("INCR", "test:lock:entries")
    time.sleep(0.001)
    redis.call("DECR", "test:lock:inside")
    return true
  end, { wait = 60 })
  if not ok then return router.json(503, { error = err }) end
  return router.json(200, { ok = true })
end)

-- durable timers: schedule, and a handler that records every firing
router.route("POST", "/test/timer", function(req)
  local body = json.decode(req.body) or {}
  local id, err = timer.after(tonumber(body.delay) or 1, "test.record", body.payload, { id = body.id })
  if not id then return router.json(503, { error = err }) end
  return router.json(200, { id = id })
end)

timer.handle("test.record", function(payload, info)
  redis.call("HINCRBY", "test:timers:fired", info.id, 1)
  redis.call("HSET", "test:timers:late", info.id, tostring(info.late))
end)

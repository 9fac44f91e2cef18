--- timer: durable timers kept in Redis.
--
--   timer.at(due, kind, payload?, opts?) -> id | nil, err       (yields)
--       due: Unix seconds; kind: a name registered with timer.handle;
--       payload: any JSON value; opts.id: your id (dedupe: scheduling an
--       id that is pending or already fired is a no-op that returns the id
--       and "exists")
--   timer.after(seconds, kind, payload?, opts?) -> id | nil, err
--   timer.cancel(id) -> true | false (not pending) | nil, err
--   timer.handle(kind, fn)      fn(payload, info); info = {id, kind, due,
--                               late (seconds), attempt}
--   timer.poll() -> number of timers claimed (runs their handlers)
--   timer.prune(keep?) -> number of dead timers dropped (older than keep
--                         seconds, default 30 days; timer.start does it
--                         every minute) | nil, err
--   timer.start{interval, lease}  the poller every worker runs
--
-- Fired at least once: a timer is claimed atomically (one host only) with
-- a lease; its handler's success removes it and remembers the id as fired
-- for 7 days; a handler that raises is retried with backoff (up to 10
-- attempts, then kept in the dead set for 30 days); a running handler's lease is
-- extended every third of it; a host that dies mid-handler loses its lease
-- and another host fires the timer again. Due times are compared
-- with Redis' clock, so hosts with skewed clocks agree.
local rscript = require "rscript"
local json = require "json"
local crypto = require "crypto"
local time = require "time"
local host = require "host"
local log = require "log"
local redis = require "redis"

local M = {}

-- one hash tag for all: every script below touches several of them (a
-- Redis Cluster would keep them on one slot; docs/redis-keys.md)
local K = {
  due = "fh:{timers}:due",           -- zset id -> due ms
  data = "fh:{timers}:data",         -- hash id -> json record
  inflight = "fh:{timers}:inflight", -- zset id -> lease expiry ms
  dead = "fh:{timers}:dead",         -- zset id -> time of giving up
  fired = "fh:{timers}:fired:",      -- string per id, 7 days
  layout = "fh:{timers}:layout",     -- "2": the keys of before the tag are moved
}
M.keys = K
local MAX_ATTEMPTS = 10
local DEAD_KEEP = 30 * 24 * 3600   -- seconds a timer given up on stays in the dead set

local SCHEDULE = rscript.new([[
if redis.call('EXISTS', KEYS[4] .. ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1]])

local CANCEL = rscript.new([[
local n = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return n]])

-- pushes back the lease of a timer whose handler is still running (if it
-- is still in flight)
local EXTEND = rscript.new([[
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])]])

-- moves due timers (and timers whose lease ran out) to in-flight
local CLAIM = rscript.new([[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local out = { now }
local function take(ids)
  for _, id in ipairs(ids) do
    local d = redis.call('HGET', KEYS[3], id)
    redis.call('ZREM', KEYS[1], id)
    if d then
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
      out[#out + 1] = id
      out[#out + 1] = d
    else
      redis.call('ZREM', KEYS[2], id)
    end
  end
end
take(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit))
take(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit))
return out]])

local ACK = rscript.new([[
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3] .. ARGV[1], '1', 'EX', 604800)
return 1]])

-- handler failed: back to due with a delay, or to the dead set
local RETRY = rscript.new([[
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return 1]])

-- timers given up on more than ARGV[1] ms ago leave the dead set and their
-- records (up to ARGV[2] a run): the dead set is for an operator to look
-- at, not an archive of payloads (which hold customers' numbers)
local PRUNE = rscript.new([[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return #old]])

-- The keys of before the hash tag (flowhost before issue 20), moved to the
-- tagged names once: KEYS = old due, data, inflight, dead, then the new
-- ones. Only a single Redis ever had them (the old scripts cannot run on a
-- Cluster), where a script may touch both.
local LEGACY = { "fh:timers:due", "fh:timers:data", "fh:timers:inflight", "fh:timers:dead" }
local MIGRATE = rscript.new([[
for i = 1, 4 do
  local old, new = KEYS[i], KEYS[i + 4]
  local t = redis.call('TYPE', old).ok
  if t == 'zset' then
    local items = redis.call('ZRANGE', old, 0, -1, 'WITHSCORES')
    for j = 1, #items, 2 do redis.call('ZADD', new, 'NX', items[j + 1], items[j]) end
  elseif t == 'hash' then
    local items = redis.call('HGETALL', old)
    for j = 1, #items, 2 do redis.call('HSETNX', new, items[j], items[j + 1]) end
  end
  redis.call('DEL', old)
end
return 1]])

--- Moves timers kept under the names of before the hash tag (fh:timers:*)
--- to the tagged ones, then marks the move done in fh:{timers}:layout.
--- -> true | nil, err   (yields; timer.start runs it)
function M.migrate()
  local done, err = redis.call("GET", K.layout)
  if done == "2" then return true end
  if done == nil and err then return nil, err end
  local keys = {}
  for i, k in ipairs(LEGACY) do keys[i] = k end
  for _, name in ipairs{ "due", "data", "inflight", "dead" } do keys[#keys + 1] = K[name] end
  local _, merr = MIGRATE:run(keys, {})
  if merr then return nil, merr end
  local cursor = "0"
  repeat
    local r, serr = redis.call("SCAN", cursor, "MATCH", "fh:timers:fired:*", "COUNT", 1000)
    if not r then return nil, serr end
    cursor = r[1]
    for _, old in ipairs(r[2]) do
      redis.call("RENAMENX", old, K.fired .. old:sub(#"fh:timers:fired:" + 1))
      redis.call("DEL", old)                       -- (RENAMENX kept a newer mark: drop the old)
    end
  until cursor == "0"
  redis.call("SET", K.layout, "2")
  return true
end

local handlers = {}
local lease_s = 60

function M.handle(kind, fn)
  assert(type(kind) == "string" and type(fn) == "function", "timer.handle(kind, fn)")
  handlers[kind] = fn
end

function M.at(due, kind, payload, opts)
  if type(due) ~= "number" then error("timer.at: due must be Unix seconds (a number)", 2) end
  if type(kind) ~= "string" or kind == "" then error("timer.at: kind must be a non-empty string", 2) end
  local id = opts and opts.id or crypto.random_hex(12)
  if type(id) ~= "string" or id == "" then error("timer.at: opts.id must be a non-empty string", 2) end
  local rec = json.encode{ id = id, kind = kind, payload = payload, due = due, attempt = 0 }
  local n, err = SCHEDULE:run({ K.due, K.data, K.inflight, K.fired },
                              { id, math.floor(due * 1000), rec })
  if n == nil then return nil, err end
  if n == 0 then return id, "exists" end
  return id
end

function M.after(seconds, kind, payload, opts)
  if type(seconds) ~= "number" then error("timer.after: seconds must be a number", 2) end
  return M.at(time.now() + seconds, kind, payload, opts)
end

function M.cancel(id)
  assert(type(id) == "string", "timer.cancel(id)")
  local n, err = CANCEL:run({ K.due, K.data }, { id })
  if n == nil then return nil, err end
  return n == 1
end

local function count(name, kind)
  host.metric_add(name, 'kind="' .. host.escape_label(kind) .. '"', 1)
end

local function fire(rec, now_ms)
  local fn = handlers[rec.kind]
  local late = math.max(0, now_ms / 1000 - rec.due)
  rec.attempt = (rec.attempt or 0) + 1
  local ok, err
  if fn then
    -- a handler that outlives its lease keeps it: extended every third of
    -- it, so that no other host claims the timer while it runs
    local running, lease = true, lease_s
    local extender = host.spawn(function()
      while running do
        host.park(lease / 3)
        if running then EXTEND:run({ K.inflight }, { rec.id, math.floor(lease * 1000) }) end
      end
    end)
    ok, err = pcall(fn, rec.payload, { id = rec.id, kind = rec.kind, due = rec.due,
                                       late = late, attempt = rec.attempt })
    running = false
    host.wake(extender)
  else
    ok, err = false, "no handler registered for timer kind '" .. tostring(rec.kind) .. "'"
  end
  if ok then
    local _, aerr = ACK:run({ K.inflight, K.data, K.fired }, { rec.id })
    if aerr then log.warn("timer ack failed; it may fire again", { id = rec.id, error = aerr }) end
    count("flowhost_timers_fired_total", rec.kind)
    host.metric_observe("flowhost_timer_lateness_seconds", nil, late)
    if late > 1 then count("flowhost_timers_late_total", rec.kind) end
    return
  end
  count("flowhost_timer_errors_total", rec.kind)
  local dead = rec.attempt >= MAX_ATTEMPTS
  log.error("timer handler failed", { id = rec.id, kind = rec.kind, attempt = rec.attempt,
                                      error = tostring(err), dead = dead })
  local delay = math.min(2 ^ rec.attempt, 300)
  RETRY:run({ K.inflight, K.data, K.due, K.dead },
            { rec.id, math.floor(now_ms + delay * 1000), json.encode(rec), dead and "1" or "0" })
end

function M.poll(limit)
  local out, err = CLAIM:run({ K.due, K.inflight, K.data },
                             { math.floor(lease_s * 1000), limit or 100 })
  if not out then return nil, err end
  local now_ms = out[1]
  local n = 0
  for i = 2, #out, 2 do
    local rec = json.decode(out[i + 1])
    if rec then
      n = n + 1
      host.spawn(fire, rec, now_ms)
    else
      log.error("timer record is not valid JSON; dropped", { id = out[i] })
    end
  end
  return n
end

--- Drops timers given up on more than `keep` seconds ago (default 30 days)
--- from the dead set, with their records; up to 1,000 a call.
--- -> number dropped | nil, err   (yields)
function M.prune(keep)
  return PRUNE:run({ K.dead, K.data }, { math.floor((keep or DEAD_KEEP) * 1000), 1000 })
end

function M.start(opts)
  local interval = opts and opts.interval or 0.2
  lease_s = opts and opts.lease or lease_s
  host.spawn(function()
    local pruned = 0
    while true do
      local ok, err = M.migrate()                 -- once (a marker says it is done)
      if ok then break end
      if err ~= "redis unavailable" then
        log.warn("timers: moving the keys of before the hash tag failed; trying again", { error = err })
      end
      time.sleep(1)
    end
    while true do
      if time.monotonic() - pruned > 60 then pruned = time.monotonic(); M.prune() end
      local n, err = M.poll()
      if not n then
        time.sleep(1) -- Redis unavailable: try again shortly
      elseif n < 100 then
        time.sleep(interval)
      end
    end
  end)
end

--- For tests: the lease claimed timers get.
function M.set_lease(seconds) lease_s = seconds end

return M

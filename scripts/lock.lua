--- lock: a Redis lock per key, with a fencing counter.
--
--   lock.acquire(key, lease, opts?) -> handle | nil, err     (yields)
--       lease: seconds the lock lives unless extended or released
--       opts.wait: seconds to wait while it is taken (default 10); then
--                  nil, "timeout"
--       opts.fence = false: skip the fencing counter (one SET NX PX, no
--                  INCR); handle.fence is then nil
--   lock.release(handle)  -> true | false (not ours any more) | nil, err
--   lock.fence_key(key)   -> the fencing counter's key (for fenced writes)
--   lock.extend(handle, lease?) -> true | false | nil, err
--   lock.with(key, lease, fn, opts?) -> fn's results | nil, err
--       holds the lock while fn runs, extends it every lease/3 while fn is
--       still working, and releases it even when fn raises (then re-raises).
--
-- handle = {key, token, fence, lease}. The fence grows by one on every
-- acquisition of a key: pass it to writes that must reject a holder whose
-- lease ran out. Its counter (lock:fence:<key>) expires a day (or 10
-- leases, if longer) after the key's last acquisition and then starts
-- again above every token it gave before (see ACQUIRE below). Waiters of this process (all workers) queue in arrival
-- order (core/lockq.c): only the first in line tries Redis, and a release
-- anywhere in the process hands over to it at once. A lock held by another
-- host is polled by the first in line with a short backoff (2 ms doubling
-- to 50 ms).
local rscript = require "rscript"
local crypto = require "crypto"
local time = require "time"
local host = require "host"
local lockq = require "lockq"

local M = {}

local FENCE_TTL = 24 * 3600     -- seconds a fence counter outlives its key's last acquisition

-- The fence counter lives FENCE_TTL (far beyond any lease) after the last
-- acquisition, so a conversation's counter does not outlive it for ever.
-- When it has expired (or never existed) it starts again from Redis' clock
-- in microseconds, not from 1. Every token handed out before was at most
-- the clock of its day: the counter starts at the clock and gains one per
-- acquisition, and an acquisition (a script run, then a release) takes
-- Redis more than a microsecond, so the counter never runs ahead of the
-- clock; and the key expires only after FENCE_TTL without one. So a
-- restarted counter is above every earlier token, even with Redis' clock
-- stepped back by up to FENCE_TTL: a holder whose lease ran out before
-- the expiry can never present a token that beats the new holder's. (A
-- counter that restarted at 1 could, and the fenced store would refuse the
-- new holder.) Needs Redis 5 or later (TIME before writes in a script).
local ACQUIRE = rscript.new([[
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local fence
if redis.call('EXISTS', KEYS[2]) == 1 then
  fence = redis.call('INCR', KEYS[2])
else
  local t = redis.call('TIME')
  local us = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', KEYS[2], us)
  fence = tonumber(us)
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return fence]])

local redis = require "redis"

local RELEASE = rscript.new([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0]])

local EXTEND = rscript.new([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0]])

-- A key with a Redis hash tag ({...}: a conversation's) keeps it; any other
-- becomes one, so that the lock and its counter share a slot (the scripts
-- touch both; docs/redis-keys.md)
local function tagged(key)
  local i = key:find("{", 1, true)
  local j = i and key:find("}", i + 1, true)
  if j and j > i + 1 then return key end
  return "{" .. key .. "}"
end

local function keys_of(key)
  key = tagged(key)
  return { "lock:" .. key, "lock:fence:" .. key }
end

--- The key of the fencing counter of lock `key`: a fenced store compares
--- a holder's handle.fence with it (the newest holder's equals it).
function M.fence_key(key) return keys_of(key)[2] end

local function check(key, lease)
  if type(key) ~= "string" or key == "" then error("lock: key must be a non-empty string", 3) end
  if type(lease) ~= "number" or lease <= 0 then error("lock: lease must be a positive number of seconds", 3) end
end

-- -> fence (or true without fencing) | false (taken) | nil, err
local function try(key, token, lease, fence)
  if fence == false then
    local ok, err = redis.call("SET", keys_of(key)[1], token, "NX", "PX", math.floor(lease * 1000))
    if ok == nil then return nil, err end
    return ok == "OK"
  end
  local fence, err = ACQUIRE:run(keys_of(key), { token, math.floor(lease * 1000),
                                               math.floor(math.max(FENCE_TTL, lease * 10) * 1000) })
  if fence == nil then return nil, err end
  return fence ~= redis.null and fence  -- redis.null (taken) is truthy: map it to false
end

function M.acquire(key, lease, opts)
  check(key, lease)
  local wait = opts and opts.wait or 10
  local fencing = opts and opts.fence
  local token = crypto.random_hex(16)
  local deadline = time.monotonic() + wait
  local head = lockq.enter(key)
  local backoff = 0.002
  local result, err
  while true do
    if head then
      local fence, e = try(key, token, lease, fencing)
      if fence then
        result = { key = key, token = token, fence = fence ~= true and fence or nil, lease = lease }
        break
      elseif e then
        err = e
        break
      end
    end
    local left = deadline - time.monotonic()
    if left <= 0 then err = "timeout"; break end
    -- first in line polls Redis (the holder may be another host); the
    -- others sleep until a release signals them, looking again every
    -- 0.5 s in case a holder let its lease run out instead of releasing
    lockq.wait(key, math.min(head and backoff or 0.5, left))
    if head then backoff = math.min(backoff * 2, 0.05) end
    head = lockq.is_head(key)
  end
  -- on success the next in line waits for our release, not for this
  lockq.leave(key, not result)
  if not result then return nil, err end
  return result
end

function M.release(h)
  assert(type(h) == "table" and h.token, "lock.release(handle)")
  local n, err = RELEASE:run(keys_of(h.key), { h.token })
  lockq.signal(h.key)
  if n == nil then return nil, err end
  return n == 1
end

function M.extend(h, lease)
  assert(type(h) == "table" and h.token, "lock.extend(handle, lease?)")
  lease = lease or h.lease
  local n, err = EXTEND:run(keys_of(h.key), { h.token, math.floor(lease * 1000) })
  if n == nil then return nil, err end
  return n == 1
end

local unpack = unpack or table.unpack

function M.with(key, lease, fn, opts)
  check(key, lease)
  assert(type(fn) == "function", "lock.with(key, lease, fn)")
  local h, err = M.acquire(key, lease, opts)
  if not h then return nil, err end
  local running = true
  local extender = host.spawn(function()
    while running do
      host.park(lease / 3)
      if running then M.extend(h) end
    end
  end)
  local res = { pcall(fn, h) }
  running = false
  host.wake(extender)
  M.release(h)
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, table.maxn(res))
end

return M

--- lock: a Redis lock per key, with a fencing counter.
--
--   lock.acquire(key, lease, opts?) -> handle | nil, err     (yields)
--       lease: seconds the lock lives unless extended or released
--       opts.wait: seconds to wait while it is taken (default 10); then
--                  nil, "timeout"
--       opts.fence = false: skip the fencing counter (one SET NX PX, no
--                  INCR); handle.fence is then nil
--   lock.release(handle)  -> true | false (not ours any more) | nil, err
--   lock.extend(handle, lease?) -> true | false | nil, err
--   lock.with(key, lease, fn, opts?) -> fn's results | nil, err
--       holds the lock while fn runs, extends it every lease/3 while fn is
--       still working, and releases it even when fn raises (then re-raises).
--
-- handle = {key, token, fence, lease}. The fence grows by one on every
-- acquisition of a key: pass it to writes that must reject a holder whose
-- lease ran out. Waiters on one worker queue in arrival order and are woken
-- when the lock is released here; the lock taken by another worker or host
-- is polled with a short backoff (2 ms doubling to 50 ms).
local rscript = require "rscript"
local crypto = require "crypto"
local time = require "time"
local host = require "host"

local M = {}

local ACQUIRE = rscript.new([[
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false]])

local redis = require "redis"

local RELEASE = rscript.new([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0]])

local EXTEND = rscript.new([[
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0]])

-- local queues: key -> list of task ids waiting on this worker
local queues = {}

local function keys_of(key)
  return { "lock:" .. key, "lock:fence:" .. key }
end

local function check(key, lease)
  if type(key) ~= "string" or key == "" then error("lock: key must be a non-empty string", 3) end
  if type(lease) ~= "number" or lease <= 0 then error("lock: lease must be a positive number of seconds", 3) end
end

-- -> fence (or true without fencing) | false (taken) | nil, err
local function try(key, token, lease, fence)
  if fence == false then
    local ok, err = redis.call("SET", "lock:" .. key, token, "NX", "PX", math.floor(lease * 1000))
    if ok == nil then return nil, err end
    return ok == "OK"
  end
  local fence, err = ACQUIRE:run(keys_of(key), { token, math.floor(lease * 1000) })
  if fence == nil then return nil, err end
  return fence ~= redis.null and fence  -- redis.null (taken) is truthy: map it to false
end

local function wake_next(key)
  local q = queues[key]
  if q and q[1] then host.wake(q[1]) end
end

function M.acquire(key, lease, opts)
  check(key, lease)
  local wait = opts and opts.wait or 10
  local token = crypto.random_hex(16)
  local deadline = time.monotonic() + wait
  local me = host.task_id()
  local q = queues[key]
  if not q then q = {}; queues[key] = q end
  q[#q + 1] = me
  local backoff = 0.002
  local result, err
  while true do
    if q[1] == me then
      local fence, e = try(key, token, lease, opts and opts.fence)
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
    -- first in line polls Redis; the others sleep until woken
    host.park(q[1] == me and math.min(backoff, left) or left)
    if q[1] == me then backoff = math.min(backoff * 2, 0.05) end
  end
  for i, id in ipairs(q) do
    if id == me then table.remove(q, i); break end
  end
  if not result then
    if #q == 0 then queues[key] = nil else wake_next(key) end
    return nil, err
  end
  return result
end

function M.release(h)
  assert(type(h) == "table" and h.token, "lock.release(handle)")
  local n, err = RELEASE:run(keys_of(h.key), { h.token })
  local q = queues[h.key]
  if q then
    if #q == 0 then queues[h.key] = nil else wake_next(h.key) end
  end
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

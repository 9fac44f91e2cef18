-- lock: Redis locks with fencing, waiting, extension and release on error.
local lock = require "lock"
local redis = require "redis"
local host = require "host"
local time = require "time"

local function key() return "spec:" .. require("crypto").random_hex(6) end


describe("lock", function()
  it("returns a handle with a token and a fence that grows on every acquisition", function()
    local k = key()
    local a = assert(lock.acquire(k, 5))
    assert.is_string(a.token)
    assert.is_true(lock.release(a))
    local b = assert(lock.acquire(k, 5))
    assert.are.equal(a.fence + 1, b.fence)
    lock.release(b)
  end)

  it("returns nil, 'timeout' when the lock stays taken past the wait", function()
    local k = key()
    local a = assert(lock.acquire(k, 5))
    local t0 = time.monotonic()
    local h, err = lock.acquire(k, 5, { wait = 0.2 })
    assert.is_nil(h)
    assert.are.equal("timeout", err)
    assert.is_true(time.monotonic() - t0 >= 0.19)
    lock.release(a)
  end)

  it("hands the lock to a waiter as soon as the holder releases it", function()
    local k = key()
    local a = assert(lock.acquire(k, 5))
    local got_at
    host.spawn(function()
      local b = assert(lock.acquire(k, 5, { wait = 5 }))
      got_at = time.monotonic()
      lock.release(b)
    end)
    time.sleep(0.1)
    local released_at = time.monotonic()
    lock.release(a)
    while not got_at do time.sleep(0.005) end
    assert.is_true(got_at - released_at < 0.05, "waiter took " .. (got_at - released_at))
  end)

  it("serves waiters on one worker in arrival order", function()
    local k = key()
    local a = assert(lock.acquire(k, 5))
    local order = {}
    for i = 1, 5 do
      host.spawn(function()
        local h = assert(lock.acquire(k, 5, { wait = 5 }))
        order[#order + 1] = i
        lock.release(h)
      end)
    end
    lock.release(a)
    while #order < 5 do time.sleep(0.005) end
    assert.are.same({ 1, 2, 3, 4, 5 }, order)
  end)

  it("does not delete a lock that expired and was taken by someone else", function()
    local k = key()
    local a = assert(lock.acquire(k, 0.1))
    time.sleep(0.2)
    local b = assert(lock.acquire(k, 5, { wait = 0 }))
    assert.is_false(lock.release(a))
    assert.are.equal(b.token, redis.call("GET", "lock:{" .. k .. "}"))
    assert.is_true(b.fence > a.fence)
    lock.release(b)
  end)

  it("extends the lease of a held lock", function()
    local k = key()
    local a = assert(lock.acquire(k, 0.2))
    assert.is_true(lock.extend(a, 5))
    time.sleep(0.3)
    assert.are.equal(a.token, redis.call("GET", "lock:{" .. k .. "}"))
    lock.release(a)
  end)

  it("keeps the lock while fn works longer than the lease, then releases it", function()
    local k = key()
    local stolen
    local r = lock.with(k, 0.3, function()
      time.sleep(0.8)
      stolen = lock.acquire(k, 1, { wait = 0 })
      return "done"
    end)
    assert.are.equal("done", r)
    assert.is_nil(stolen)
    assert.are.equal(redis.null, redis.call("GET", "lock:{" .. k .. "}"))
  end)

  it("releases the lock when fn raises, and raises the same error", function()
    local k = key()
    local ok, err = pcall(lock.with, k, 5, function() error("boom", 0) end)
    assert.is_false(ok)
    assert.are.equal("boom", err)
    assert.are.equal(redis.null, redis.call("GET", "lock:{" .. k .. "}"))
  end)

  it("never runs the critical section twice at once under 1,000 concurrent callers", function()
    local k = key()
    local inside, max_inside, entered = 0, 0, 0
    local errors = require("tasks").run(1000, function()
      assert(lock.with(k, 5, function()
        inside = inside + 1
        if inside > max_inside then max_inside = inside end
        entered = entered + 1
        redis.call("PING")
        inside = inside - 1
        return true
      end, { wait = 30 }))
    end)
    assert.are.same({}, errors)
    assert.are.equal(1000, entered)
    assert.are.equal(1, max_inside)
    assert.are.equal(0, require("lockq").keys()) -- every waiter left its queue
  end)

  it("lets only the first in line try Redis: waiters behind it make no requests", function()
    local k = key()
    local h = assert(lock.acquire(k, 5))
    local before = tonumber(redis.call("INFO", "stats"):match("total_commands_processed:(%d+)"))
    local got = {}
    for i = 1, 50 do
      host.spawn(function() local w = assert(lock.acquire(k, 5, { wait = 5 })); got[#got + 1] = i; lock.release(w) end)
    end
    time.sleep(0.2)
    local after = tonumber(redis.call("INFO", "stats"):match("total_commands_processed:(%d+)"))
    -- the head polls with backoff (2, 4, ... 50 ms): a handful of tries in
    -- 200 ms; 50 pollers would have sent hundreds
    assert.is_true(after - before < 30, "commands while waiting: " .. (after - before))
    assert.is_true(lock.release(h))
    local deadline = time.monotonic() + 5
    while #got < 50 and time.monotonic() < deadline do time.sleep(0.01) end
    assert.are.equal(50, #got)
    for i = 1, 50 do assert.are.equal(i, got[i]) end
    assert.are.equal(0, require("lockq").keys())
  end)

  it("gives the fence counter a life far beyond the lease, renewed on every acquisition", function()
    local k = key()
    local a = assert(lock.acquire(k, 5))
    local day = 24 * 3600 * 1000
    local ttl = redis.call("PTTL", "lock:fence:{" .. k .. "}")
    assert.is_true(ttl > day - 60000 and ttl <= day, "fence TTL " .. ttl)
    redis.call("PEXPIRE", "lock:fence:{" .. k .. "}", 1000)                -- as if a day had passed
    lock.release(a)
    local b = assert(lock.acquire(k, 5000))                        -- a long lease: ten of them
    assert.are.equal(a.fence + 1, b.fence)
    assert.is_true(redis.call("PTTL", "lock:fence:{" .. k .. "}") > 5000 * 10 * 1000 - 60000)
    lock.release(b)
    redis.call("DEL", "lock:fence:{" .. k .. "}")
  end)

  it("restarts an expired fence counter above every token it gave before", function()
    local k = key()
    local stale = assert(lock.acquire(k, 0.05))                    -- its holder stalls past its lease
    time.sleep(0.1)
    for _ = 1, 50 do lock.release(assert(lock.acquire(k, 5))) end
    local last = assert(lock.acquire(k, 5))
    lock.release(last)
    redis.call("DEL", "lock:fence:{" .. k .. "}")                          -- the counter's TTL ran out
    local fresh = assert(lock.acquire(k, 5))
    assert.is_true(fresh.fence > last.fence and fresh.fence > stale.fence,
      ("restarted at %.0f after %.0f"):format(fresh.fence, last.fence))
    lock.release(fresh)
    -- a counter from before fences expired (no TTL, small) carries on and gets one
    redis.call("SET", "lock:fence:{" .. k .. "}", "41")
    local old = assert(lock.acquire(k, 5))
    assert.are.equal(42, old.fence)
    assert.is_true(redis.call("PTTL", "lock:fence:{" .. k .. "}") > 0)
    lock.release(old)
    redis.call("DEL", "lock:fence:{" .. k .. "}")
  end)

  it("can skip the fencing counter", function()
    local k = key()
    local h = assert(lock.acquire(k, 5, { fence = false }))
    assert.is_nil(h.fence)
    assert.are.equal(redis.null, redis.call("GET", "lock:fence:{" .. k .. "}"))
    assert.is_true(lock.release(h))
  end)

  it("raises on a missing key or a lease that is not positive", function()
    assert.has_error(function() lock.acquire("", 5) end)
    assert.has_error(function() lock.acquire("k", 0) end)
    assert.has_error(function() lock.with("k", 5, "not a function") end)
  end)
end)

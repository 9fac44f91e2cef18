-- timer: durable timers in Redis (scheduling, dedupe, cancel, firing, retry).
-- `flowhost test` runs no poller: specs call timer.poll() themselves.
local timer = require "timer"
local redis = require "redis"
local json = require "json"
local time = require "time"

local function reset()
  redis.call("DEL", "fh:{timers}:due", "fh:{timers}:data", "fh:{timers}:inflight", "fh:{timers}:dead")
end

local function poll_and_wait()
  local n = assert(timer.poll())
  time.sleep(0.05) -- handlers run as their own tasks
  return n
end

describe("timer", function()
  before_each(reset)

  it("schedules a timer and returns its id", function()
    local id = assert(timer.at(time.now() + 60, "spec.noop", { a = 1 }))
    assert.is_string(id)
    assert.are.equal(1, redis.call("ZCARD", "fh:{timers}:due"))
    local rec = json.decode(redis.call("HGET", "fh:{timers}:data", id))
    assert.are.equal("spec.noop", rec.kind)
    assert.are.equal(1, rec.payload.a)
  end)

  it("treats a second schedule of the same id as a no-op", function()
    local id = assert(timer.at(time.now() + 60, "spec.noop", nil, { id = "spec-dup" }))
    local id2, note = timer.at(time.now() + 5, "spec.noop", nil, { id = "spec-dup" })
    assert.are.equal(id, id2)
    assert.are.equal("exists", note)
    assert.are.equal(1, redis.call("ZCARD", "fh:{timers}:due"))
  end)

  it("cancels a pending timer, and says false for one that is not pending", function()
    local id = assert(timer.after(60, "spec.noop"))
    assert.is_true(timer.cancel(id))
    assert.is_false(timer.cancel(id))
    assert.are.equal(0, redis.call("ZCARD", "fh:{timers}:due"))
  end)

  it("fires a due timer's handler with its payload and how late it is", function()
    local got
    timer.handle("spec.fire", function(payload, info) got = { payload = payload, info = info } end)
    local id = assert(timer.at(time.now() - 2, "spec.fire", { n = 7 }))
    assert.are.equal(1, poll_and_wait())
    assert.are.equal(7, got.payload.n)
    assert.are.equal(id, got.info.id)
    assert.are.equal(1, got.info.attempt)
    assert.is_true(got.info.late >= 1.9 and got.info.late < 5)
    assert.are.equal(0, redis.call("ZCARD", "fh:{timers}:inflight"))
  end)

  it("does not fire a timer before it is due", function()
    local fired = false
    timer.handle("spec.later", function() fired = true end)
    assert(timer.after(30, "spec.later"))
    assert.are.equal(0, poll_and_wait())
    assert.is_false(fired)
  end)

  it("refuses to schedule again an id that already fired", function()
    timer.handle("spec.once", function() end)
    local id = "spec-once-" .. require("crypto").random_hex(4)
    assert(timer.at(time.now() - 1, "spec.once", nil, { id = id }))
    poll_and_wait()
    local _, note = timer.at(time.now() - 1, "spec.once", nil, { id = id })
    assert.are.equal("exists", note)
    assert.are.equal(0, poll_and_wait())
  end)

  it("retries a handler that raises, later, with the attempt counted", function()
    local attempts = 0
    timer.handle("spec.flaky", function() attempts = attempts + 1; error("not yet") end)
    local id = assert(timer.at(time.now() - 1, "spec.flaky"))
    poll_and_wait()
    assert.are.equal(1, attempts)
    local due = tonumber(redis.call("ZSCORE", "fh:{timers}:due", id))
    assert.is_true(due > time.now() * 1000, "retry not pushed into the future")
    assert.are.equal(1, json.decode(redis.call("HGET", "fh:{timers}:data", id)).attempt)
  end)

  it("fires a timer again when its claim's lease ran out (the host died)", function()
    local fired = 0
    timer.handle("spec.lease", function() fired = fired + 1 end)
    local id = assert(timer.at(time.now() - 1, "spec.lease"))
    -- claim it as a host that dies: move it to in-flight with a lease in the past
    redis.call("ZREM", "fh:{timers}:due", id)
    redis.call("ZADD", "fh:{timers}:inflight", math.floor(time.now() * 1000) - 1, id)
    assert.are.equal(1, poll_and_wait())
    assert.are.equal(1, fired)
  end)

  it("keeps the lease of a handler that runs longer than it: no second firing", function()
    timer.set_lease(0.3)
    local started, finished = 0, 0
    timer.handle("spec.long", function()
      started = started + 1
      time.sleep(1.2) -- four leases
      finished = finished + 1
    end)
    assert(timer.at(time.now() - 1, "spec.long"))
    assert.are.equal(1, poll_and_wait())
    for _ = 1, 10 do -- another host polling all along
      assert.are.equal(0, assert(timer.poll()))
      time.sleep(0.1)
    end
    time.sleep(0.3)
    timer.set_lease(60)
    assert.are.equal(1, started)
    assert.are.equal(1, finished)
    assert.are.equal(0, redis.call("ZCARD", "fh:{timers}:inflight"))
  end)

  it("raises on a due that is not a number or a missing kind", function()
    assert.has_error(function() timer.at("tomorrow", "k") end)
    assert.has_error(function() timer.at(1, "") end)
    assert.has_error(function() timer.handle("k", nil) end)
  end)

  it("drops timers given up on over 30 days ago, with their records, and keeps recent ones", function()
    local old, young = "prune-old", "prune-young"
    local now_ms = require("time").now() * 1000
    redis.call("ZADD", "fh:{timers}:dead", math.floor(now_ms - 31 * 86400e3), old)
    redis.call("HSET", "fh:{timers}:data", old, "{}")
    redis.call("ZADD", "fh:{timers}:dead", math.floor(now_ms - 86400e3), young)
    redis.call("HSET", "fh:{timers}:data", young, "{}")
    assert.is_true(timer.prune() >= 1)
    assert.are.equal(0, redis.call("HEXISTS", "fh:{timers}:data", old))
    assert.are.equal(1, redis.call("HEXISTS", "fh:{timers}:data", young))
    assert.are.equal(1, timer.prune(3600))
  end)

  it("moves timers kept under the names of before the hash tag, once, and fires them #single_redis", function()
    redis.call("DEL", "fh:{timers}:layout", "fh:{timers}:fired:mig-done")
    local rec = json.encode{ id = "mig-1", kind = "spec.count", payload = { n = 1 }, due = time.now() - 1, attempt = 0 }
    redis.call("ZADD", "fh:timers:due", math.floor((time.now() - 1) * 1000), "mig-1")
    redis.call("HSET", "fh:timers:data", "mig-1", rec)
    redis.call("SET", "fh:timers:fired:mig-done", "1", "EX", 600)
    assert.is_true(timer.migrate())
    assert.are.equal(0, redis.call("EXISTS", "fh:timers:due"))
    assert.are.equal(0, redis.call("EXISTS", "fh:timers:data"))
    assert.are.equal(0, redis.call("EXISTS", "fh:timers:fired:mig-done"))
    assert.are.equal("2", redis.call("GET", "fh:{timers}:layout"))
    -- the fired mark moved too: scheduling that id again is a no-op
    local _, how = timer.at(time.now(), "spec.count", nil, { id = "mig-done" })
    assert.are.equal("exists", how)
    local got
    timer.handle("spec.count", function(p) got = p.n end)
    poll_and_wait()
    assert.are.equal(1, got)
    -- done once: later keys of the old name are not looked at again
    redis.call("HSET", "fh:timers:data", "late", "{}")
    assert.is_true(timer.migrate())
    assert.are.equal(1, redis.call("EXISTS", "fh:timers:data"))
    redis.call("DEL", "fh:timers:data")
  end)
end)

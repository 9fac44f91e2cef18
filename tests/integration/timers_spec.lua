-- Durable timers against the real binary: they survive kill -9, catch up
-- after downtime, and fire exactly once with two hosts sharing one Redis.
local proc = require "proc"
local http = require "http"
local redis = require "redis"
local json = require "json"
local timer = require "timer"
local time = require "time"

local run = require("crypto").random_hex(4) -- ids unique to this run

local function reset()
  redis.call("DEL", "test:timers:fired", "test:timers:late", "fh:{timers}:due",
             "fh:{timers}:data", "fh:{timers}:inflight", "fh:{timers}:dead")
end

local function fired_counts()
  local flat = redis.call("HGETALL", "test:timers:fired")
  local counts = {}
  for i = 1, #flat, 2 do counts[flat[i]] = tonumber(flat[i + 1]) end
  return counts
end

describe("durable timers", function()
  before_each(reset)

  it("survive kill -9 of the host and fire once after restart, told how late", function()
    local s = proc.start{}
    for i = 1, 20 do
      local r = assert(http.request{ method = "POST", url = s.url .. "/test/timer",
                                     body = json.encode{ id = "k9-" .. run .. "-" .. i, delay = 1.5 } })
      assert.are.equal(200, r.status)
    end
    proc.stop(s, "KILL")
    time.sleep(3) -- due while the host is down
    assert.are.equal(0, redis.call("HLEN", "test:timers:fired"))
    local s2 = proc.start{ port = s.port }
    local done = proc.wait_until(function()
      return redis.call("HLEN", "test:timers:fired") == 20
    end, 10)
    time.sleep(0.5) -- give a duplicate the chance to show up
    proc.stop(s2)
    assert.is_true(done == true, "not all timers fired after restart")
    for id, n in pairs(fired_counts()) do assert.are.equal(1, n, id .. " fired " .. n .. " times") end
    local late = tonumber(redis.call("HGET", "test:timers:late", "k9-" .. run .. "-1"))
    assert.is_true(late > 1, "late = " .. tostring(late))
  end)

  it("fire each of 10,000 due timers exactly once across two hosts", function()
    local due = time.now() + 1
    -- schedule from this process (flowhost test runs no poller)
    local tasks, done = 0, 0
    for chunk = 0, 9 do
      tasks = tasks + 1
      require("host").spawn(function()
        for i = chunk * 1000 + 1, chunk * 1000 + 1000 do
          assert(timer.at(due, "test.record", nil, { id = "two-" .. run .. "-" .. i }))
        end
        done = done + 1
      end)
    end
    proc.wait_until(function() return done == tasks end, 30)
    assert.are.equal(10000, redis.call("ZCARD", "fh:{timers}:due"))
    local a = proc.start{}
    local b = proc.start{}
    local all = proc.wait_until(function()
      return redis.call("HLEN", "test:timers:fired") == 10000
    end, 60)
    time.sleep(1)
    proc.stop(a)
    proc.stop(b)
    assert.is_true(all == true, "fired " .. tostring(redis.call("HLEN", "test:timers:fired")))
    local dup = 0
    for _, n in pairs(fired_counts()) do if n ~= 1 then dup = dup + 1 end end
    assert.are.equal(0, dup)
    assert.are.equal(0, redis.call("ZCARD", "fh:{timers}:due"))
    assert.are.equal(0, redis.call("ZCARD", "fh:{timers}:inflight"))
  end)
end)

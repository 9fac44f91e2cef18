-- A flow's own timers (c:after, c:cancel_timer) and a tenant's schedules,
-- against real hosts on one Redis: a timer fires once as a turn of its
-- conversation, a cancelled one never, another conversation's timer cannot
-- be cancelled; a schedule runs once per occurrence with two hosts; a
-- missed occurrence runs late on start when it is young enough, and is
-- skipped (and logged) when it is not. The fixture tenant "ticker"
-- (tests/fixtures/tenants/ticker.lua) runs on New York time.
local proc = require "proc"
local chat = require "chat"
local json = require "json"
local time = require "time"
local tz = require "tz"
local redis = require "redis"

local ZONE = "America/New_York"
local SCHED_CONV = "fh:conv:{ticker:schedule:tick}"

-- the wall time `secs` from now in New York, as the config writes it
local function at_in(secs)
  local lt = tz.local_time(math.floor(time.now()) + secs, ZONE)
  return ("%02d:%02d:%02d"):format(lt.hour, lt.min, lt.sec), math.floor(time.now()) + secs
end

local function start(env)
  env = env or {}
  env.FLOWHOST_WORKERS = 2
  env.FLOWHOST_TENANTS_DIR = "tests/fixtures/tenants"
  env.FLOWHOST_FLOWS_DIR = "tests/fixtures/flows"
  env.FLOWHOST_TIMER_POLL = 0.1
  return proc.start{ config = "config/flowhost.lua", env = env }
end

-- a host that has scheduled the occurrence at `due`, killed (-9) before it
local function scheduled_then_killed(env, due)
  local a = start(env)
  local id = ("sched:ticker:tick:%d"):format(due)
  local ok = proc.wait_until(function() return redis.call("HEXISTS", "fh:{timers}:data", id) == 1 end, 10, 0.05)
  proc.stop(a, "KILL")
  assert.truthy(ok, "the host did not schedule " .. id)
  assert.truthy(time.now() < due - 1, "the host came up too late for this test")
end

local function ticks()
  local v = redis.call("GET", SCHED_CONV)
  local conv = type(v) == "string" and json.decode(v) or {}
  return (conv.data and conv.data.ticks) or 0, conv
end

local function history(s, id)
  local r = assert(require("http").request{ url = s.url .. "/v1/tenants/ticker/conversations/" .. id })
  assert.are.equal(200, r.status, r.body)
  local out = {}
  for _, h in ipairs(json.decode(r.body).history or {}) do out[#out + 1] = h.text end
  return table.concat(out, "\n")
end

local function count(text, word)
  return select(2, text:gsub(word, ""))
end

describe("flow timers and schedules", function()
  setup(function()
    redis.call("DEL", SCHED_CONV, "fh:sched:{ticker}:tick:since")
  end)

  it("fires a conversation's timer once as its turn; a cancelled one never; no one cancels another's", function()
    local s = start{ TICKER_AT = "03:00:00" }
    local ok, err = pcall(function()
      local c = chat.new(s.url)
      local function say(name, text)
        local r = c:say("ticker", name, text)
        assert.are.equal(200, r.status, r.body)
        return json.decode(r.body).replies[1].text
      end
      assert.are.equal("Timer set.", say("x", "later 1"))
      assert.are.equal("Timer set.", say("y", "later 2"))
      local xid = say("x", "id"):match("^Timer (%S+)%.$")
      assert.truthy(xid and xid:find("^flow:ticker:"), xid)
      assert.are.equal("Forgot: not found.", say("y", "forget " .. xid))      -- not y's timer
      assert.are.equal("Forgot: true.", say("y", "forget"))
      time.sleep(3.5)
      local hx, hy = history(s, c:id("ticker", "x")), history(s, c:id("ticker", "y"))
      assert.are.equal(1, count(hx, "Nudge after 1 s"), hx)                -- x's timer ran, once
      assert.are.equal(0, count(hy, "Nudge"), hy)                          -- y's was cancelled
    end)
    proc.stop(s)
    assert(ok, err)
  end)

  it("runs a schedule once per occurrence with two hosts on one Redis", function()
    local at, due = at_in(8)
    local a = start{ TICKER_AT = at }
    local b = start{ TICKER_AT = at }
    local before = ticks()
    local ok, err = pcall(function()
      proc.wait_until(function() return time.now() > due + 3 end, 20, 0.2)
      local n, conv = ticks()
      assert.are.equal(before + 1, n, json.encode(conv))
    end)
    proc.stop(a)
    proc.stop(b)
    assert(ok, err)
  end)

  it("runs a missed occurrence late on start when young enough, and skips an older one", function()
    -- a host schedules the occurrence and dies before it (kill -9)
    local at, due = at_in(6)
    local before = ticks()
    scheduled_then_killed({ TICKER_AT = at, TICKER_CATCH_UP = 60 }, due)
    proc.wait_until(function() return time.now() > due + 2 end, 10, 0.2)
    assert.are.equal(before, (ticks()))                                    -- nobody ran it at its time
    local b = start{ TICKER_AT = at, TICKER_CATCH_UP = 60 }                 -- 2 s late, catch_up 60 s: runs
    local ok, err = pcall(function()
      assert.truthy(proc.wait_until(function() return ticks() == before + 1 end, 10, 0.2),
        "the missed occurrence did not run")
    end)
    proc.stop(b)
    assert(ok, err)
    -- again, but the hosts come back after the catch-up time: skipped
    at, due = at_in(6)
    scheduled_then_killed({ TICKER_AT = at, TICKER_CATCH_UP = 1 }, due)
    proc.wait_until(function() return time.now() > due + 3 end, 10, 0.2)
    local b2 = start{ TICKER_AT = at, TICKER_CATCH_UP = 1 }
    ok, err = pcall(function()
      assert.truthy(proc.wait_until(function()
        return (proc.read_file(b2.log) or ""):find("schedule occurrence skipped", 1, true)
      end, 10, 0.2), "no skip logged")
      assert.are.equal(before + 1, (ticks()))
    end)
    proc.stop(b2)
    assert(ok, err)
  end)
end)

-- A host on a Redis Sentinel group (REDIS_URL=redis+sentinel://...): it finds
-- the master through the sentinels, and follows a failover without a restart.
local proc = require "proc"
local http = require "http"
local time = require "time"
local sentinel = require "sentinel"

local BASE = tonumber(os.getenv("CLUSTER_BASE_PORT") or "16500") + 40

-- /test/redis increments a counter on the master: 200 once writes work
local function writes(s)
  local res = http.request{ url = s.url .. "/test/redis", timeout = 1 }
  return res and res.status == 200
end

describe("a host on a Redis Sentinel group", function()
  local t, s
  setup(function()
    t = sentinel.start("cl-sentinel", BASE)
    s = proc.start{ env = { REDIS_URL = t.url, FLOWHOST_WORKERS = 2 } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if t then t.stop() end
  end)

  it("finds the master through the sentinels and writes to it", function()
    assert.truthy(proc.wait_until(function() return writes(s) and writes(s) end, 10), "no writes through the sentinels")
    assert.are.equal(200, http.request{ url = s.url .. "/readyz" }.status)
  end)

  it("writes to the new master within 10 s of the failover after the master is killed", function()
    assert.truthy(proc.wait_until(function() return writes(s) end, 10))
    local old = t.kill_master()
    local killed = time.monotonic()
    local failed_over = proc.wait_until(function()
      local p = t.master_port()
      return p and p ~= old and time.monotonic()
    end, 30)
    assert.truthy(failed_over, "the sentinels did not fail over within 30 s")
    -- both workers: each has its own connection
    local back = proc.wait_until(function() return writes(s) and writes(s) and writes(s) and time.monotonic() end, 10, 0.05)
    assert.truthy(back, "no writes within 10 s of the failover")
    print(("  failover: sentinels switched %.1f s after the kill; writes back %.2f s after the switch")
      :format(failed_over - killed, back - failed_over))
    t.restart(old)   -- comes back as a replica of the new master
  end)

  it("moves to the new master when the old one is demoted while still up (SENTINEL FAILOVER)", function()
    local old = t.master_port()
    assert.truthy(proc.wait_until(function()
      local info = proc.sh(("redis-cli -p %d sentinel replicas mymaster"):format(t.sentinels[1]))
      return info:find("master-link-status\nok", 1, true) ~= nil
    end, 60), "no replica in sync to fail over to")   -- (the restarted old master: the sentinels
                                                      -- see its link every 10 s; a precondition, not a bound)
    assert.truthy(proc.wait_until(function()
      return proc.sh(("redis-cli -p %d sentinel failover mymaster"):format(t.sentinels[1])):find("OK", 1, true)
    end, 15), "SENTINEL FAILOVER was refused")
    assert.truthy(proc.wait_until(function() local p = t.master_port(); return p and p ~= old end, 20))
    -- the old master is told to follow the new one: until then it takes writes
    assert.truthy(proc.wait_until(function()
      return proc.sh(("redis-cli -p %d role"):format(old)):match("^slave") ~= nil
    end, 20), "the old master was not turned into a replica")
    local v
    local ok = proc.wait_until(function()
      local res = http.request{ url = s.url .. "/test/redis", timeout = 1 }
      if not (res and res.status == 200) then return false end
      v = require("json").decode(res.body).value
      return true
    end, 10, 0.05)
    assert.truthy(ok, "writes did not reach the new master")
    local n = tonumber(proc.sh(("redis-cli -p %d get test:redis:counter"):format(t.master_port())))
    assert.is_true(n ~= nil and n >= v, ("the host wrote %s, the new master has %s"):format(v, tostring(n)))
  end)
end)

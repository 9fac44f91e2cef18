-- Tenant Lua states (core/lua_api_tstate.c): calls across states, CPU and
-- memory budgets, loading budget, preemption of long turns.
local tstate = require "tstate"
local time = require "time"
describe("tstate", function()
  it("evals and calls", function()
    local ts = tstate.new{ name = "t1" }
    local ok, r = ts:eval("local a = ...; function hello(x) local redis = require 'redis'; local v = redis.call('PING'); require('time').sleep(0.01); return x .. ':' .. v end; return 'loaded ' .. a", "A")
    assert.is_true(ok); assert.are.equal("loaded A", r)
    local ok2, r2 = ts:call("hello", "hi")
    assert.is_true(ok2, r2); assert.are.equal("hi:PONG", r2)
    ts:eval("function spin() while true do end end", "")
    local t0 = time.monotonic()
    local ok3, r3 = ts:call("spin", "", 0.1)
    assert.is_false(ok3); assert.truthy(r3:find("cpu budget exceeded"), r3)
    -- past 5 ms a runaway runs at a tenth of a core: ~1 s for 100 ms of Lua
    local took = time.monotonic() - t0
    assert.truthy(took > 0.5 and took < 2, took)
    ts:eval("function bomb() local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end end", "")
    local ok4, r4 = ts:call("bomb", "", 30)
    assert.is_false(ok4); assert.truthy(r4:find("memory budget exceeded"), r4)
    local ok5, r5 = ts:call("hello", "again")
    assert.is_true(ok5, r5)
    local ok6, r6 = ts:eval("while true do end", "", 0.2)
    assert.is_false(ok6); assert.truthy(r6:find("while loading"), r6)
    ts:close()
    collectgarbage()
  end)
end)
describe("preemption", function()
  it("a spinning turn lets other tasks run", function()
    local ts = tstate.new{ name = "t2" }
    ts:eval("function spin() local x = 0 while true do x = x + 1 end end function sorty() local t = {} for i=1,20000 do t[i] = (i*7919)%20011 end table.sort(t, function(a,b) local s = 0 for k=1,20 do s = s + k end return a < b end) return 'sorted' end", "")
    local host = require "host"
    local ticks, done = 0, false
    host.spawn(function() while not done do time.sleep(0.001); ticks = ticks + 1 end end)
    local t0 = time.monotonic()
    local ok, r = ts:call("spin", "", 0.3)
    done = true
    assert.is_false(ok); assert.truthy(r:find("cpu budget"), r)

    assert.truthy(ticks > 50)
    local ok2, r2 = ts:call("sorty", "", 5)
    assert.is_true(ok2, r2)
  end)
end)

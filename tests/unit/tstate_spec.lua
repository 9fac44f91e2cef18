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
    ts:eval("function spin() local x = 0 while true do x = x + 1 end end function sorty(n) n = tonumber(n) local t = {} for i=1,n do t[i] = (i*7919)%20011 end table.sort(t, function(a,b) local s = 0 for k=1,20 do s = s + k end return a < b end) return 'sorted' end", "")
    local host = require "host"
    local ticks, done = 0, false
    host.spawn(function() while not done do time.sleep(0.001); ticks = ticks + 1 end end)
    local t0 = time.monotonic()
    local ok, r = ts:call("spin", "", 0.3)
    done = true
    assert.is_false(ok); assert.truthy(r:find("cpu budget"), r)

    assert.truthy(ticks > 50)
    -- a comparator runs where the turn cannot yield: a sort of a few
    -- hundred items is fine, one that would hold the worker past 5 ms ends
    local ok2, r2 = ts:call("sorty", "300", 5)
    assert.is_true(ok2, r2)
    local ok3, r3 = ts:call("sorty", "20000", 5)
    assert.is_false(ok3)
    assert.truthy(r3:find("table.sort comparator", 1, true), r3)
  end)

  it("a turn cut inside a C callback takes a break at its next pcall, so a pcall loop cannot hold the worker", function()
    local ts = tstate.new{ name = "t3" }
    assert(ts:eval("function sorts() local t = {} for i = 1, 100 do t[i] = i end while true do pcall(table.sort, t, function() while true do end end) end end", ""))
    local host = require "host"
    local longest, last, done = 0, time.monotonic(), false
    host.spawn(function()
      while not done do
        time.sleep(0.001)
        local now = time.monotonic()
        longest = math.max(longest, now - last)
        last = now
      end
    end)
    local ok, r = ts:call("sorts", "", 0.1)
    done = true
    assert.is_false(ok); assert.truthy(r:find("cpu budget"), r)
    -- without the break every comparator ran until the budget: 100 ms at once
    assert.truthy(longest < 0.05, longest)
    ts:close()
  end)
end)

-- Budgets that tenant code cannot escape (issue 13): each escape ends its
-- own turn, names the budget it broke, and leaves the state serving.
describe("budgets hold against escapes", function()
  local ESCAPES = {
    { "pcall around a spin", "while true do pcall(function() while true do end end) end", "cpu" },
    { "xpcall with a spinning handler",
      "while true do xpcall(function() error('x') end, function(e) while true do end end) end", "cpu" },
    { "pcall inside a sort comparator",
      "local t = {} for i = 1, 100 do t[i] = i end while true do pcall(table.sort, t, function(a, b) while true do pcall(function() while true do end end) end end) end",
      "cpu" },
    { "pcall inside a gsub callback",
      "local s = ('a'):rep(60000) while true do pcall(string.gsub, s, '.', function() pcall(function() while true do end end) end) end",
      "cpu" },
    { "deep recursion in pcall", "local function r(n) return 1 + r(n + 1) end while true do pcall(r, 1) end", "cpu" },
    { "one gsub result past the cap", "return #(('x'):rep(65536):gsub('x', ('y'):rep(4 * 1024 * 1024 - 16)))", "memory" },
    { "table.concat past the cap",
      "local t, b = {}, ('z'):rep(4 * 1024 * 1024) for i = 1, 500 do t[i] = b end return #table.concat(t)", "memory" },
    { "string.format past the cap",
      "local b = ('z'):rep(1024 * 1024) local s = b for i = 1, 200 do s = string.format('%s%s', s, b) end", "memory" },
    { ".. past the cap", "local b = ('z'):rep(1024 * 1024) local s = b for i = 1, 200 do s = s .. b end", "memory" },
    { "memory bombs inside pcall",
      "while true do pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) end", "memory" },
  }
  for _, case in ipairs(ESCAPES) do
    it(("stops %s (%s)"):format(case[1], case[3]), function()
      local ts = tstate.new{ name = "escape" }
      assert(ts:eval("function escape() " .. case[2] .. " end function hello(x) return 'hello ' .. x end", ""))
      local t0 = time.monotonic()
      -- a memory case gets more CPU, so that on a busy machine the cap,
      -- not the clock, is what stops it
      local ok, res, over = ts:call("escape", "", case[3] == "memory" and 0.4 or 0.1)
      local took = time.monotonic() - t0
      assert.is_false(ok)
      assert.are.equal(case[3], over, res)
      assert.truthy(res:find(case[3] .. " budget exceeded", 1, true), res)
      -- a runaway runs at a fifth of a core: 100 ms of CPU is ~0.5 s of clock
      assert.truthy(took < (case[3] == "memory" and 5 or 3), took)
      assert.is_true(ts:memory() < 64 * 1024)
      local ok2, res2 = ts:call("hello", "again")
      assert.is_true(ok2, res2); assert.are.equal("hello again", res2)
      ts:close()
    end)
  end

  it("stops a turn that has run 10x its CPU budget on the clock", function()
    local ts = tstate.new{ name = "wall" }
    -- blocked in C for 1.2 s (no CPU used), then a little Lua: the first
    -- hook finds 12x the 100 ms budget gone on the clock
    assert(ts:eval("function stall() os.execute('sleep 1.2') local x = 0 for i = 1, 1e5 do x = x + i end return 'finished' end", ""))
    local ok, res, over = ts:call("stall", "", 0.1)
    assert.is_false(ok)
    assert.are.equal("wall", over, res)
    assert.truthy(res:find("still running after", 1, true), res)
    ts:close()
  end)
end)

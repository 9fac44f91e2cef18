-- The workers' Lua collector pacing (core/runtime.c, gc_pace): a cycle
-- starts when the heap reaches lua_gc_pause % of the live data, but never
-- before it has grown by lua_gc_floor KB (defaults 150 and 4096).
local PAUSE = tonumber(os.getenv("FLOWHOST_LUA_GC_PAUSE")) or 150
local FLOOR = tonumber(os.getenv("FLOWHOST_LUA_GC_FLOOR")) or 4096

local function current_pause()
  local p = collectgarbage("setpause", 200)
  collectgarbage("setpause", p)
  return p
end

local function expected(live_kb)
  return math.min(1000, math.max(PAUSE, math.floor(100 * (live_kb + FLOOR) / live_kb)))
end

describe("worker Lua collector pacing", function()
  it("lets a small heap grow by the floor before its next cycle", function()
    collectgarbage("collect") -- the cycle's sentinel sets the next pause
    local live = collectgarbage("count")
    local want = expected(live)
    assert.is_true(want > PAUSE, "this state's heap is too large for the check: " .. live .. " KB")
    local got = current_pause()
    assert.is_true(math.abs(got - want) <= want * 0.15,
      ("pause %d, expected about %d for %d KB live"):format(got, want, live))
  end)

  it("goes back to lua_gc_pause when the live data is large", function()
    local keep = {}
    for i = 1, 40000 do keep[i] = string.rep(string.char(i % 251), 1000) .. i end -- ~40 MB
    collectgarbage("collect")
    assert.are.equal(PAUSE, current_pause())
    keep = nil
    collectgarbage("collect")
    collectgarbage("collect")
    assert.is_true(current_pause() > PAUSE)
  end)

  it("keeps pacing after many cycles (the sentinel renews itself)", function()
    for _ = 1, 5 do collectgarbage("collect") end
    collectgarbage("setpause", 123)
    collectgarbage("collect")
    assert.are_not.equal(123, current_pause())
  end)
end)

-- Unit spec for the `time` Lua module (core/lua_api_time.c) and the task
-- parking it provides to `host` (host.park / host.wake).
local time = require("time")
local host = require("host")

local run_tasks = require("tasks").run

describe("time.now", function()
  it("returns seconds since the epoch within 2 s of os.time()", function()
    local now = time.now()
    assert.are.equal("number", type(now))
    assert.is_true(math.abs(now - os.time()) < 2, ("time.now()=%f os.time()=%d"):format(now, os.time()))
  end)

  it("has sub-second resolution", function()
    local fractional = false
    for _ = 1, 20 do
      local now = time.now()
      if now ~= math.floor(now) then fractional = true break end
      time.sleep(0.001)
    end
    assert.is_true(fractional)
  end)
end)

describe("time.monotonic", function()
  it("never goes backwards across many reads", function()
    local prev = time.monotonic()
    for _ = 1, 10000 do
      local t = time.monotonic()
      assert(t >= prev, "monotonic went from " .. prev .. " to " .. t)
      prev = t
    end
  end)

  it("increases across a sleep", function()
    local a = time.monotonic()
    time.sleep(0.01)
    assert.is_true(time.monotonic() > a)
  end)
end)

describe("time.sleep", function()
  it("sleeps about 0.2 s for sleep(0.2)", function()
    local t0 = time.monotonic()
    local r = time.sleep(0.2)
    local took = time.monotonic() - t0
    assert.is_true(r)
    assert.is_true(took >= 0.19 and took < 0.4, "took " .. took .. " s")
  end)

  it("returns promptly for sleep(0)", function()
    local t0 = time.monotonic()
    assert.is_true(time.sleep(0))
    assert.is_true(time.monotonic() - t0 < 0.1)
  end)

  it("runs 100 concurrent sleeps of 0.2 s in under 0.5 s in total", function()
    local t0 = time.monotonic()
    local slept = {}
    local errors = run_tasks(100, function(i)
      local s0 = time.monotonic()
      time.sleep(0.2)
      slept[i] = time.monotonic() - s0
    end)
    local took = time.monotonic() - t0
    assert.are.same({}, errors)
    for i = 1, 100 do assert.is_true(slept[i] >= 0.19, "task " .. i .. " slept " .. slept[i]) end
    assert.is_true(took < 0.5, "took " .. took .. " s")
  end)

  it("raises for a negative duration", function()
    assert.has_error(function() time.sleep(-1) end)
  end)

  it("raises for a non-number duration", function()
    assert.has_error(function() time.sleep("soon") end)
    assert.has_error(function() time.sleep() end)
  end)

  it("raises when called from a nested coroutine instead of a task", function()
    local co = coroutine.create(function() return time.sleep(0.01) end)
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("time.sleep must be called from", 1, true))
  end)
end)

describe("host.park and host.wake", function()
  it("returns false from park after the timeout when nobody wakes the task", function()
    local t0 = time.monotonic()
    assert.is_false(host.park(0.05))
    assert.is_true(time.monotonic() - t0 >= 0.04)
  end)

  it("returns true from park when another task wakes it, before the timeout", function()
    local me = host.task_id()
    local woke
    host.spawn(function()
      time.sleep(0.05)
      woke = host.wake(me)
    end)
    local t0 = time.monotonic()
    assert.is_true(host.park(5))
    assert.is_true(time.monotonic() - t0 < 1)
    assert.is_true(woke)
  end)

  it("returns false from wake for a task that is not parked", function()
    assert.is_false(host.wake(host.task_id()))
    assert.is_false(host.wake(987654321))
  end)

  it("returns false from wake for a task that is sleeping, not parked", function()
    local id = host.spawn(function() time.sleep(0.05) end)
    assert.is_false(host.wake(id))
  end)
end)

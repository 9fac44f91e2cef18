-- Tasks (core/task.c): every request, timer and host.spawn runs as a task
-- on a coroutine. Coroutines of tasks that returned are handed to later
-- tasks; these specs pin down what a task may rely on.
local host = require "host"
local time = require "time"

-- Spawns fn(...), waits until it has run to its end, and raises here what
-- it raised there.
local function run(fn, ...)
  local done, ok, err = false, nil, nil
  host.spawn(function(...)
    ok, err = pcall(fn, ...)
    done = true
  end, ...)
  local deadline = time.monotonic() + 5
  while not done and time.monotonic() < deadline do host.park(0.005) end
  assert.is_true(done, "task did not finish")
  assert(ok, err)
end

describe("tasks", function()
  it("get exactly the arguments given to host.spawn, however many ran before", function()
    local seen = {}
    for i = 1, 300 do
      local args = {}
      for k = 1, i % 7 do args[k] = i * 10 + k end
      run(function(...)
        seen[#seen + 1] = { n = select("#", ...), ... }
        time.sleep(0) -- yield once, like a Redis call
      end, unpack(args, 1, i % 7))
      local got = seen[#seen]
      assert.are.equal(i % 7, got.n)
      for k = 1, i % 7 do assert.are.equal(i * 10 + k, got[k]) end
    end
  end)

  it("run on coroutines finished tasks left, but never on one whose task raised", function()
    local distinct, count = {}, 0
    for _ = 1, 20 do
      run(function()
        local co = coroutine.running()
        if not distinct[co] then distinct[co] = true; count = count + 1 end
      end)
    end
    assert.is_true(count <= 5, count .. " coroutines for 20 tasks run one after another")

    local failed, done = nil, false
    host.spawn(function()
      failed = coroutine.running()
      done = true
      error("task_spec: this task fails on purpose")
    end)
    while not done do host.park(0.005) end
    for _ = 1, 50 do
      run(function() assert(coroutine.running() ~= failed, "a raised task's coroutine came back") end)
    end
  end)

  it("can run 2,000 at once, each waiting, and every one ends", function()
    local ended = 0
    local errors = require("tasks").run(2000, function()
      time.sleep(0.01)
      ended = ended + 1
    end, 10)
    assert.are.same({}, errors)
    assert.are.equal(2000, ended)
  end)
end)

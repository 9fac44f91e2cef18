-- flow.admission: a tenant state runs at most RUNNING calls at once; the
-- rest run in the order they arrived.
local admission = require "flow.admission"
local host = require "host"
local time = require "time"

describe("admission", function()
  local saved
  before_each(function() saved = admission.RUNNING; admission.RUNNING = 3 end)
  after_each(function() admission.RUNNING = saved end)

  -- n calls arriving one after another, each holding the gate for a while
  local function calls(gate, n, hold)
    local inside, most, order, done = 0, 0, {}, 0
    for k = 1, n do
      host.spawn(function()
        admission.enter(gate)
        inside = inside + 1
        most = math.max(most, inside)
        order[#order + 1] = k
        time.sleep(hold(k))
        inside = inside - 1
        admission.leave(gate)
        done = done + 1
      end)
    end
    while done < n do time.sleep(0.005) end
    return most, order
  end

  it("runs at most RUNNING calls at once, the others in arrival order", function()
    local gate = {}
    local most, order = calls(gate, 12, function(k) return 0.002 * (k % 4) end)
    assert.are.equal(3, most)
    for i = 4, 12 do assert.are.equal(i, order[i]) end   -- the waiting ones, first come first served
    assert.are.equal(0, gate.inside)
  end)

  it("lets calls run at once while fewer than RUNNING are inside", function()
    local gate = {}
    local most = calls(gate, 3, function() return 0.05 end)
    assert.are.equal(3, most)                             -- all three inside together
    assert.is_nil(gate.first)                             -- nobody queued
  end)
end)

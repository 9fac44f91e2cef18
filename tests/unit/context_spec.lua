-- flow.context: what a turn leaves behind. Every turn makes a context (c)
-- and views over the conversation; none of it may outlive the turn (a
-- leak here made a tenant state's collector slower turn after turn).
local tenant = require "flow.tenant"
local engine = require "flow.engine"

describe("flow.context", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("leaves nothing alive once a turn is over, turn after turn", function()
    local t = assert(tenant.get("mini"))
    local function turns(n)
      for i = 1, n do
        local conv = { id = "chat:leak-" .. i, tenant = "mini", slots = {}, data = {}, history = {}, turns = 0 }
        engine.turn(t, conv, { text = "hi" }, "new", { tenant = "mini", conversation = conv.id })
      end
      -- views point at each other through weak tables (LuaJIT's weak keys
      -- are no ephemerons): a chain takes a few cycles to clear, a leak never
      for _ = 1, 12 do collectgarbage() end
      return collectgarbage("count")
    end
    turns(2000)                                  -- caches warm (they keep what they may keep)
    local before = turns(2000)
    local after = turns(2000)
    -- 2,000 turns that each kept their context would hold megabytes
    assert.truthy(after - before < 100, ("%.0f KB more after 2,000 more turns"):format(after - before))
  end)
end)

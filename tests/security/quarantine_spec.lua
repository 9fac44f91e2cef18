-- The quarantine (docs/quarantine.md): a tenant whose turn broke a budget
-- runs its next turns on the quarantine worker, in a copy of its state at
-- the version its owner serves, with 25 ms of CPU a turn; a new version of
-- it reaches that copy; other tenants stay where they were. The host runs
-- over a copy of the fixtures, so that the hostile flow can be edited.
local security = require "security"
local proc = require "proc"
local time = require "time"
local crypto = require "crypto"

describe("a tenant in quarantine", function()
  local s, dir

  local function status(id)
    local _, st = security.admin(s, "GET", "/admin/tenants/" .. id)
    return type(st) == "table" and st or {}
  end

  local function quarantine_copy(st)
    for _, c in ipairs(type(st.copies) == "table" and st.copies or {}) do
      if c.quarantine then return c end
    end
    return nil
  end

  setup(function()
    dir = "var/test/quarantine-" .. crypto.random_hex(6)
    os.execute(("mkdir -p %s && cp -r tests/fixtures/tenants tests/fixtures/flows %s/"):format(dir, dir))
    s = security.start{ tenants_dir = dir .. "/tenants", flows_dir = dir .. "/flows" }
  end)
  teardown(function()
    security.stop(s)
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("is not in quarantine before any budget is broken", function()
    local _, body = security.say(s, "hostile", "q-" .. crypto.random_hex(4), "ping")
    assert.truthy(security.texts(body):find("no such attack: ping", 1, true))
    local st = status("hostile")
    assert.are.equal(false, st.quarantined)
    assert.falsy(quarantine_copy(st))
  end)

  it("runs its turns on the quarantine worker after a broken budget, with 25 ms of CPU each", function()
    local _, body = security.say(s, "hostile", "q-" .. crypto.random_hex(4), "spin:loop", { timeout = security.BOUND + 3 })
    assert.are.equal("Sorry, hostile had a problem.", security.texts(body))
    local st = status("hostile")
    assert.are.equal(true, st.quarantined)
    -- the next runaway runs there: the copy counts its call, the log its 25 ms
    local status2, body2, dt = security.say(s, "hostile", "q-" .. crypto.random_hex(4), "spin:pcall",
                                            { timeout = security.BOUND + 3 })
    assert.are.equal(200, status2)
    assert.are.equal("Sorry, hostile had a problem.", security.texts(body2))
    assert.truthy(dt < security.BOUND, ("the turn in quarantine took %.2f s"):format(dt))
    local copy = quarantine_copy(status("hostile"))
    assert.truthy(copy, "no quarantine copy in the hostile tenant's status")
    assert.are.equal(st.version, copy.version)
    -- stopped at the quarantine's budget: 25 ms of CPU, or 10 times that on
    -- the clock on a machine too busy to give it the CPU (the copy's calls
    -- count from its last rebuild, which that stop brings: the log tells)
    local log = proc.read_file(s.log) or ""
    assert.truthy(log:find("(the limit is 25 ms)", 1, true) or log:find("(the limit is 250 ms,", 1, true),
      "no turn stopped at the quarantine's 25 ms budget in the log")
    -- Good Co is not touched by it
    local good = status("goodco")
    assert.are.equal(false, good.quarantined)
    assert.falsy(quarantine_copy(good))
    local _, gb = security.say(s, "goodco", "q-good-" .. crypto.random_hex(4), "ping")
    assert.truthy(security.texts(gb):find("pong$"))
  end)

  it("serves a new version of the tenant from the quarantine worker", function()
    local before = status("hostile").version
    local path = dir .. "/flows/hostile/flow.lua"
    local text = proc.read_file(path)
    local f = assert(io.open(path, "w"))
    f:write((text:gsub("no such attack: ", "unknown attack: ")))
    f:close()
    local st
    assert.truthy(proc.wait_until(function()
      st = status("hostile")
      return st.version ~= before and st.version ~= nil
    end, 15), "the edited flow never went live")
    local _, body = security.say(s, "hostile", "q-" .. crypto.random_hex(4), "ping")
    assert.truthy(security.texts(body):find("unknown attack: ping", 1, true), security.texts(body))
    local copy = quarantine_copy(status("hostile"))
    assert.truthy(copy, "the new version's turn did not run in quarantine")
    assert.are.equal(st.version, copy.version)
  end)
end)

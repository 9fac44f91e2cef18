-- Issue 13, class 1: a tenant cannot reach another tenant. The hostile
-- tenant's flow (tests/fixtures/flows/hostile/) rewrites its booking
-- engine's key prefix, its own tenant id and the engine's metatable, and
-- calls the engine's methods on a table of its own; two tenant configs read
-- variables that are not theirs (the host's admin token, another tenant's
-- key). Good Co (tests/fixtures/flows/goodco/) has bookings and a
-- conversation with a note: after every attempt its keys in Redis are
-- exactly what they were, and no reply shows any of it.
local security = require "security"
local crypto = require "crypto"
local time = require "time"
local tz = require "tz"
local proc = require "proc"

local BOUND = security.BOUND
local FALLBACK = "Sorry, hostile had a problem."

describe("a hostile tenant's escape attempts", function()
  -- a host of its own for every attempt: one that got through must not
  -- make the next one look guilty
  local s, before, victims, note_conv, secret
  local day = tz.date(time.now() + 3 * 86400, "UTC")


  before_each(function()
    s = security.start{ env = { HOSTENV_ADMIN_TOKEN = "he-" .. crypto.random_hex(8) } }
    victims = {}
    for i, name in ipairs{ "Victoria" } do
      local phone = security.phone()
      local status, body = security.say(s, "goodco", "victim-book-" .. i .. "-" .. crypto.random_hex(4),
                                        ("book %s %s %s"):format(day, name, phone))
      local id = status == 200 and security.texts(body):match("Booked (GC%-%w+)")
      assert(id, "Good Co could not book its victim: " .. tostring(status) .. " " .. security.texts(body))
      victims[#victims + 1] = { id = id, name = name, phone = phone }
    end
    note_conv = "victim-" .. crypto.random_hex(6)
    secret = "note-" .. crypto.random_hex(8)
    local status = security.say(s, "goodco", note_conv, "note " .. secret)
    assert(status == 200, "Good Co could not keep its note")
    before = security.goodco_keys()
  end)
  after_each(function() security.stop(s) end)

  -- the reply names none of Good Co's customers, and its keys are untouched
  local function nothing_reached(text)
    for _, v in ipairs(victims) do
      for _, x in ipairs{ v.id, v.name, v.phone } do
        assert.falsy(text:find(x, 1, true), "the hostile tenant read Good Co's booking: " .. text)
      end
    end
    assert.falsy(text:find(secret, 1, true), "the hostile tenant read Good Co's conversation: " .. text)
    local changed = security.diff(before, security.goodco_keys())
    assert.is_nil(changed, "Good Co's keys changed:\n" .. tostring(changed))
    for _, v in ipairs(victims) do
      local st, b = security.admin(s, "GET", "/admin/tenants/goodco/bookings/" .. v.id)
      assert.are.equal(200, st)
      assert.are.equal("confirmed", b.status, "Good Co's booking " .. v.id .. " is " .. tostring(b.status))
    end
  end

  it("the hostile tenant loads: its config reads its own variables and a vendor endpoint", function()
    for _, id in ipairs{ "hostile", "goodco" } do
      local st, b = security.admin(s, "GET", "/admin/tenants/" .. id)
      assert.are.equal(200, st)
      assert.is_string(b.version, id .. " did not load: " .. require("json").encode(b.last_error))
    end
  end)

  for _, attack in ipairs{ "escape:prefix", "escape:rawset", "escape:self", "escape:meta" } do
    it(attack .. ": a flow cannot list or cancel another tenant's bookings through its engine", function()
      local status, body, dt = security.say(s, "hostile", "esc-" .. crypto.random_hex(6), attack .. " " .. day,
                                            { timeout = BOUND + 3 })
      assert.are.equal(200, status)
      assert.truthy(dt <= BOUND, ("the turn took %.2f s"):format(dt))
      nothing_reached(security.texts(body))
    end)
  end

  for _, attack in ipairs{ "escape:tid", "escape:tid_rawset" } do
    it(attack .. ": a flow that renames its tenant still reads and writes only its own conversations", function()
      -- the hostile customer uses the id of Good Co's conversation
      local status, body = security.say(s, "hostile", note_conv, attack, { timeout = BOUND + 3 })
      assert.are.equal(200, status)
      nothing_reached(security.texts(body))
      status, body = security.say(s, "hostile", note_conv, "leak", { timeout = BOUND + 3 })
      assert.are.equal(200, status)
      nothing_reached(security.texts(body))
      -- Good Co's conversation still is Good Co's, and the hostile tenant still itself
      local st, conv = security.api(s, "GET", "/v1/tenants/goodco/conversations/" .. note_conv, { key = s.keys.goodco })
      assert.are.equal(200, st)
      assert.truthy(require("json").encode(conv.history):find("note " .. secret, 1, true),
        "Good Co's conversation lost its history: " .. require("json").encode(conv))
      local fresh = "esc-" .. crypto.random_hex(6)
      security.say(s, "hostile", fresh, "leak")
      assert.truthy(next(security.keys("*hostile*" .. fresh .. "*")),
        "the hostile tenant's next conversation was not stored under its own id")
    end)
  end

  -- a config that reads a variable it may not: a load error naming it, and
  -- the value is nowhere, not even for the tenant's own admin token
  local function rejected(id, var, value, own_token)
    local st, b = security.admin(s, "GET", "/admin/tenants/" .. id)
    assert.are.equal(200, st)
    assert.are.equal(require("json").null, b.version, id .. " loaded although its config reads " .. var)
    local problem = type(b.last_error) == "table" and tostring(b.last_error.message) or ""
    assert.truthy(problem:find(var, 1, true), id .. "'s load error does not name " .. var .. ": " .. problem)
    local status, reply = security.say(s, id, (security.conversation(s, id)), "hi")
    assert.are_not.equal(200, status, id .. " serves: " .. security.texts(reply))
    if own_token then
      local _, own = security.api(s, "GET", "/admin/tenants/" .. id, { key = own_token })
      assert.falsy(require("json").encode(own):find(value, 1, true), "the tenant's own admin token shows " .. var)
    end
    local out = proc.sh(("FLOWHOST_TENANTS_DIR=tests/fixtures/tenants FLOWHOST_FLOWS_DIR=tests/fixtures/flows "
      .. "%s='%s' %s check %s 2>&1; echo rc=$?"):format(var, value, proc.BIN, id))
    assert.truthy(out:find("rc=1", 1, true), "flowhost check passes " .. id .. ":\n" .. out)
    assert.truthy(out:find(var, 1, true), "flowhost check does not name " .. var .. ":\n" .. out)
    assert.falsy(out:find(value, 1, true), "flowhost check prints the value of " .. var)
  end

  it("escape:env: a tenant config cannot read the host's admin token", function()
    rejected("hostenv", "FLOWHOST_ADMIN_TOKEN", s.admin, s.env.HOSTENV_ADMIN_TOKEN)
  end)

  it("escape:env: a tenant config cannot read another tenant's variables", function()
    rejected("hostkey", "GOODCO_API_KEY", s.keys.goodco)
  end)
end)

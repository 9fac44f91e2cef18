-- flow.staff: who a tenant's people are on its channels, and a message to
-- one of them is scheduled once per id.
local staff = require "flow.staff"
local redis = require "redis"
local crypto = require "crypto"

describe("flow.staff", function()
  local channels = { telegram = {}, twilio = {} }

  it("puts each person on a channel the tenant has", function()
    local people = assert(staff.parse({
      owner = { name = "Lucía", whatsapp = "+52 1 55 1234 5678" },           -- WhatsApp through Twilio
      night = { telegram = 99, whatsapp = "+5215500000000" },                  -- Telegram first
      forced = { telegram = 7, whatsapp = "+5215511111111", channel = "twilio" },
    }, channels))
    assert.are.same({ "twilio", "whatsapp:+5215512345678", "twilio:whatsapp:+5215512345678" },
                    { people.owner.channel, people.owner.to, people.owner.address })
    assert.are.equal("Lucía", people.owner.name)
    assert.are.same({ "telegram", "99" }, { people.night.channel, people.night.to })
    assert.are.equal("twilio", people.forced.channel)
    assert.are.equal("night", people.night.name)                              -- the id when unnamed
  end)

  it("says what is wrong with a person", function()
    local function problem(decl) return select(2, staff.parse(decl, channels)).msg end
    assert.truthy(problem{ owner = { name = "X" } }:find("needs a whatsapp number or a telegram chat id", 1, true))
    assert.truthy(problem{ owner = { whatsapp = "+52", channel = "whatsapp" } }:find("not enabled", 1, true))
    assert.truthy(problem{ ["the owner"] = { telegram = 1 } }:find("letters, digits", 1, true))
  end)

  it("knows a staff member by the conversation they write from", function()
    local settings = { channels = channels, staff = { owner = { whatsapp = "+5215512345678", telegram = 42 } } }
    assert.are.equal("owner", staff.of(settings, "twilio:whatsapp:+5215512345678").id)
    assert.are.equal("owner", staff.of(settings, "telegram:42").id)
    assert.is_nil(staff.of(settings, "telegram:43"))
    assert.is_nil(staff.of(settings, "chat:5215512345678"))
  end)

  it("schedules a message once per id", function()
    local settings = { channels = channels, staff = { owner = { telegram = 42 } } }
    local id = "notify:spec:" .. crypto.random_hex(6)
    assert.are.equal(id, (staff.notify("spec", settings, "owner", { text = "hi" }, id)))
    local again, how = staff.notify("spec", settings, "owner", { text = "hi" }, id)
    assert.are.same({ id, "exists" }, { again, how })
    assert.are.equal(1, redis.call("HEXISTS", "fh:{timers}:data", id))
    require("timer").cancel(id)
    assert.are.same({ nil, "no such person" }, { staff.notify("spec", settings, "cook", { text = "hi" }, id .. "x") })
  end)
end)

-- booking.overrides: the owner's availability changes (studio) take effect
-- at once in the engine's slots: a day off removes a resource's slots, a
-- closed day everyone's, extra hours add some. Real Redis.
local booking = require "booking"
local overrides = require "booking.overrides"
local tz = require "tz"
local crypto = require "crypto"

local ZONE = "Asia/Kolkata"
local MONDAY = tz.parse_iso("2030-01-07T00:00:00", ZONE)
local WEEK = { mon = { "09:00-12:00" }, tue = { "09:00-12:00" } }

local function engine()
  local tenant = "spec-ovr-" .. crypto.random_hex(6)
  local e = assert(booking.new{ tenant = tenant, now = function() return MONDAY - 86400 end, model = {
    timezone = ZONE, id = { prefix = "OV-", length = 8 },
    rules = { granularity = 60, min_notice = 0, horizon_days = 30, hold_minutes = 10 },
    services = { cut = { duration = 60 } },
    resources = { ana = { hours = WEEK, skills = { "cut" } }, bea = { hours = WEEK, skills = { "cut" } } },
  } })
  return e, "bk:{" .. tenant .. "}:"
end

-- "HH:MM=res,res ..." of the slots on Monday
local function monday(e)
  local out = {}
  for _, s in ipairs(assert(e:slots{ service = "cut", from = MONDAY, to = MONDAY + 86400 - 1 })) do
    out[#out + 1] = tz.format_iso(s.start, ZONE):sub(12, 16) .. "=" .. table.concat(s.resources, ",")
  end
  return table.concat(out, " ")
end

describe("booking overrides", function()
  it("a day off removes that resource's slots at once, and deleting it brings them back", function()
    local e, prefix = engine()
    assert.are.equal("09:00=ana,bea 10:00=ana,bea 11:00=ana,bea", monday(e))
    local id = assert(overrides.add(prefix, { kind = "day_off", date = "2030-01-07", resource = "ana", author = "spec" }))
    assert.are.equal("09:00=bea 10:00=bea 11:00=bea", monday(e))
    assert.is_nil(e:reserve{ service = "cut", start = MONDAY + 9 * 3600, resource = "ana" })
    assert.is_true(overrides.remove(prefix, id))
    assert.are.equal("09:00=ana,bea 10:00=ana,bea 11:00=ana,bea", monday(e))
  end)

  it("a closed day removes every slot of that day only", function()
    local e, prefix = engine()
    assert(overrides.add(prefix, { kind = "closed", date = "2030-01-07" }))
    assert.are.equal("", monday(e))
    local tue = assert(e:slots{ service = "cut", from = MONDAY + 86400, to = MONDAY + 2 * 86400 - 1 })
    assert.are.equal(3, #tue)
  end)

  it("extra hours add slots, for one resource or for all, joined to the day's hours", function()
    local e, prefix = engine()
    assert(overrides.add(prefix, { kind = "extra_hours", date = "2030-01-07", resource = "bea", from = "12:00", to = "14:00" }))
    assert.are.equal("09:00=ana,bea 10:00=ana,bea 11:00=ana,bea 12:00=bea 13:00=bea", monday(e))
    assert(overrides.add(prefix, { kind = "extra_hours", date = "2030-01-07", from = "18:00", to = "19:00" }))
    assert.matches("18:00=ana,bea$", monday(e))
    local b = assert(e:reserve{ service = "cut", start = MONDAY + 12 * 3600, resource = "bea", customer = { name = "X", phone = "+911" } })
    assert.are.equal("bea", b.resource)
  end)

  it("refuses what is not an override, saying what to send", function()
    local _, prefix = engine()
    assert.matches("kind", select(2, overrides.add(prefix, { kind = "nap", date = "2030-01-07" })))
    assert.matches("date", select(2, overrides.add(prefix, { kind = "closed", date = "tomorrow" })))
    assert.matches("resource", select(2, overrides.add(prefix, { kind = "day_off", date = "2030-01-07" })))
    assert.matches("from and to", select(2, overrides.add(prefix, { kind = "extra_hours", date = "2030-01-07", from = "20:00", to = "19:00" })))
  end)
end)

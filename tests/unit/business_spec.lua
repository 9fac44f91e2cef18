-- flow.hours, flow.when and flow.business: opening hours as people write
-- them, and business.lua turned into the catalogue, the booking model and
-- message variables, with plain errors naming the line.
local hours = require "flow.hours"
local when = require "flow.when"
local business = require "flow.business"
local booking_model = require "booking.model"

-- business.lua text -> settings | nil, problems (as flow.tenant applies it)
local function apply(text, settings)
  local fn = assert(loadstring(text, "=business.lua"))
  local data = fn()
  return business.apply(settings or { name = "Shop", timezone = "Asia/Kolkata" }, data, "flows/shop/business.lua", text)
end

local SHOP = [[
return {
  support_phone = "1800-000-1111",
  hours = { every_day = "9am-1pm, 2pm-6pm", sun = "closed" },
  resources = { chair = { title = "Chair", count = 2 } },
  hold_minutes = 5,
  horizon_days = 7,
  services = {
    { id = "cut", title = "Haircut", price = 300, minutes = 30 },
    { id = "colour", title = "Colour", price = 1200, minutes = 90, buffer = 15 },
  },
  addons = {
    { id = "wash", title = "Hair wash", price = 100, minutes = 10 },
  },
}
]]

describe("flow.hours", function()
  it("reads 12-hour, 24-hour and mixed ranges, several a day", function()
    assert.are.same({ "08:00-13:00", "14:00-20:00" }, hours.day("8am-1pm, 2pm-8pm"))
    assert.are.same({ "08:00-13:00", "14:00-20:00" }, hours.day("08:00-13:00, 14:00-20:00"))
    assert.are.same({ "09:30-18:00" }, hours.day("9:30 am to 6 PM"))
    assert.are.same({ "09:00-12:00", "12:30-17:45" }, hours.day("9am-noon and 12.30pm-5:45pm"))
    assert.are.same({ "10:00-24:00" }, hours.day("10am - 12am"))
    assert.are.same({ "08:00-13:00" }, hours.day("8am–1pm"))             -- an en dash
    assert.are.same({}, hours.day("closed"))
    assert.are.same({}, hours.day(" Closed "))
  end)

  it("says what is wrong with a range, in words", function()
    local _, why = hours.day("9am-1pmm")
    assert.are.equal("'9am-1pmm' is not a time range; write it like 9am-1pm or 09:00-13:00", why)
    _, why = hours.day("5pm-9am")
    assert.truthy(why:find("'5pm-9am' ends before it starts", 1, true), why)
    _, why = hours.day("9am-1pm, 12pm-3pm")
    assert.truthy(why:find("overlap", 1, true), why)
    _, why = hours.day("13pm-2pm")
    assert.truthy(why:find("is not a time range", 1, true), why)
    _, why = hours.day(9)
    assert.truthy(why:find("not opening hours", 1, true), why)
  end)

  it("makes a week from groups, a named day winning over its group", function()
    local week = assert(hours.week{ weekdays = "9am-6pm", weekend = "10am-2pm", wed = "closed" })
    assert.are.same({ "09:00-18:00" }, week.mon)
    assert.are.same({}, week.wed)
    assert.are.same({ "10:00-14:00" }, week.sun)
    local _, why, field = hours.week{ mondays = "9am-5pm" }
    assert.are.equal("mondays", field)
    assert.truthy(why:find("'mondays' is not a day", 1, true), why)
  end)

  it("describes a week per language, grouping equal days", function()
    local all = assert(hours.week{ every_day = "8am-1pm, 2pm-8pm" })
    assert.are.equal("every day 8 AM-1 PM, 2 PM-8 PM", hours.describe(all, "en"))
    assert.are.equal("हर दिन सुबह 8 से दोपहर 1, दोपहर 2 से रात 8", hours.describe(all, "hi"))
    local some = assert(hours.week{ weekdays = "9am-6pm", sat = "10am-2pm" })
    assert.are.equal("Mon-Fri: 9 AM-6 PM; Sat: 10 AM-2 PM; Sun: closed", hours.describe(some, "en"))
  end)
end)

describe("flow.when", function()
  it("labels days and times in English and Hindi", function()
    assert.are.equal("Tue 08 Dec", when.day("2026-12-08", "en"))
    assert.are.equal("मंगलवार, 8 दिसंबर", when.day("2026-12-08", "hi"))
    assert.are.equal("Tue 08 Dec", when.day("2026-12-08", "fr"))                -- no words: English
    assert.are.equal("10:30 AM", when.clock(630, "en"))
    assert.are.equal("12:00 PM", when.clock(720, "en"))
    assert.are.equal("सुबह 10:30", when.clock(630, "hi"))
    assert.are.equal("शाम 6:00", when.clock(18 * 60, "hi"))
    assert.is_nil(when.day("tomorrow", "en"))
    -- 2026-12-08 08:30 in Kolkata is 03:00 UTC
    local t = os.time{ year = 2026, month = 12, day = 8, hour = 3, min = 0 } - os.time{ year = 1970, month = 1, day = 1, hour = 0 }
    assert.are.equal("Tue 08 Dec, 8:30 AM", when.at(t, "Asia/Kolkata", "en"))
  end)
end)

describe("flow.business", function()
  it("makes the catalogue and the booking model from business.lua, each price once", function()
    local s = assert(apply(SHOP))
    assert.are.same({ "cut", "colour" }, { s.catalogue.services[1].id, s.catalogue.services[2].id })
    assert.are.equal(100, s.catalogue.addons.wash.price)
    assert.are.equal(1200, s.booking.services.colour.price)
    assert.are.equal(90, s.booking.services.colour.duration)
    assert.are.equal(15, s.booking.services.colour.buffer_after)
    assert.are.equal(100, s.booking.services.cut.addons.wash.price)
    assert.are.same({ "chair1", "chair2" }, (function()
      local ids = {}
      for id in pairs(s.booking.resources) do ids[#ids + 1] = id end
      table.sort(ids)
      return ids
    end)())
    assert.are.equal("Chair 2", s.booking.resources.chair2.name)
    assert.are.same({}, s.booking.resources.chair1.hours.sun)
    assert.are.equal(5, s.booking.rules.hold_minutes)
    assert.are.equal("1800-000-1111", s.support_phone)
    s.booking.timezone = "Asia/Kolkata"
    assert.truthy(booking_model.compile(s.booking))                   -- the engine takes it
  end)

  it("keeps the config's plumbing and lets it scale the resources", function()
    local s = assert(apply(SHOP, { name = "Shop", timezone = "Asia/Kolkata",
      booking = { id = { prefix = "HC-" }, rules = { bookings_per_minute = 5 }, resource_counts = { chair = 3 } } }))
    assert.are.equal("HC-", s.booking.id.prefix)
    assert.are.equal(5, s.booking.rules.bookings_per_minute)
    assert.truthy(s.booking.resources.chair3)
    assert.is_nil(s.booking.resource_counts)
    assert.are.equal("HC-AB12CD34", business.variables(s, "en").id_example)
  end)

  it("refuses a fact written in the config and in business.lua", function()
    local s, problems = apply(SHOP, { name = "Shop", timezone = "UTC", booking = { rules = { hold_minutes = 10 } } })
    assert.is_nil(s)
    assert.truthy(problems[1]:find("keep it in business.lua only", 1, true), problems[1])
  end)

  it("names the line of a bad opening time, in the editor's words", function()
    local s, problems = apply((SHOP:gsub('"9am%-1pm, 2pm%-6pm"', '"9am-1pmm"')))
    assert.is_nil(s)
    assert.are.equal("flows/shop/business.lua:3: hours.every_day: '9am-1pmm' is not a time range; "
      .. "write it like 9am-1pm or 09:00-13:00", problems[1])
    -- every problem at once, not the first only
    _, problems = apply((SHOP:gsub('"9am%-1pm, 2pm%-6pm"', '"9am-1pmm"'):gsub("price = 1200", "price = 1,200")))
    assert.are.equal(2, #problems, table.concat(problems, "\n"))
  end)

  it("catches a comma inside a price, a price in quotes and a misspelt field", function()
    local _, problems = apply((SHOP:gsub("price = 1200", "price = 1,200")))
    assert.truthy(problems[1]:find("business.lua:9: service 'colour' has a value without a name (200)", 1, true), problems[1])
    _, problems = apply((SHOP:gsub("price = 300", 'price = "300"')))
    assert.truthy(problems[1]:find(":8: service 'cut'.price must be a positive number", 1, true), problems[1])
    _, problems = apply((SHOP:gsub("minutes = 30 }", "minuts = 30 }")))
    local all = table.concat(problems, "\n")
    assert.truthy(all:find("'minuts' is not a field here", 1, true), all)
    assert.truthy(all:find("service 'cut' needs minutes", 1, true), all)
    _, problems = apply((SHOP:gsub("hold_minutes", "hold_mins")))
    assert.truthy(problems[1]:find(":5: 'hold_mins' is not a business setting", 1, true), problems[1])
  end)

  it("gives every message the facts, per language", function()
    local s = assert(apply(SHOP))
    local en, hi = business.variables(s, "en"), business.variables(s, "hi")
    assert.are.equal("- Haircut: Rs. 300\n- Colour: Rs. 1200\nAdd-ons: Hair wash Rs. 100", en.prices)
    assert.are.equal("Haircut or Colour", en.service_list)
    assert.are.equal("Haircut या Colour", hi.service_list)
    assert.are.equal("5", en.hold_minutes)
    assert.are.equal("7", en.horizon_days)
    assert.are.equal("1800-000-1111", hi.support_phone)
    assert.are.equal("Mon-Sat: 9 AM-1 PM, 2 PM-6 PM; Sun: closed", en.hours)
    assert.are.same({}, business.variables(nil, "en"))
    assert.are.equal(1300, business.price(s, "colour", { "wash" }))
    assert.are.equal(300, business.price(s, "cut"))
  end)

  it("prices a booking with its add-ons in the engine too", function()
    local s = assert(apply(SHOP))
    s.booking.timezone = "Asia/Kolkata"
    local m = assert(booking_model.compile(s.booking))
    assert.are.equal(1300, booking_model.price(m.services.colour, { "wash" }))
    assert.are.equal(1200, booking_model.price(m.services.colour))
  end)
end)

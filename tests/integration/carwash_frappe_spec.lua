-- The car service with its seed's back office (the fake Frappe app of
-- tests/fakes/frappe.py + frappe_carwash.py), on a real host with
-- CARWASH_FRAPPE_URL/KEY/SECRET set: prices per vehicle type come from
-- Frappe; a booking made, moved or cancelled is written there once under
-- its SR- id, also when Frappe fails the first time; with Frappe down the
-- tenant runs on business.lua's prices and logs it.
local proc = require "proc"
local talk = require "flow.talk"
local vendor = require "vendor"
local crypto = require "crypto"
local tz = require "tz"
local time = require "time"

local ZONE = "Asia/Kolkata"
local DOCTYPE = "Service Booking"

local function phone()
  return "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000)
end

-- a day 2..13 days ahead ("d/m/yyyy" as a customer types it, and ISO)
local function day(n)
  local d = tz.date(tz.add_days(time.now(), n, ZONE), ZONE)
  local y, m, dd = d:match("(%d+)-(%d+)-(%d+)")
  return ("%d/%d/%s"):format(tonumber(dd), tonumber(m), y), d
end
local function some_day() return day(2 + tonumber(crypto.random_hex(2), 16) % 12) end

local function host(url, extra)
  local env = { FLOWHOST_WORKERS = 1, FLOWHOST_TIMER_POLL = 0.1, CARWASH_BOOKINGS_PER_MINUTE = 0,
                CARWASH_FRAPPE_URL = url, CARWASH_FRAPPE_KEY = "fk", CARWASH_FRAPPE_SECRET = "fs",
                CARWASH_FRAPPE_RETRY_SECONDS = 1 }
  for k, v in pairs(extra or {}) do env[k] = v end
  return proc.start{ config = "config/flowhost.lua", env = env }
end

-- a conversation at its summary: car, Foam Wash with Wax polish, some day, its first free time
local function to_summary(url, car, date)
  local c = talk.new("carwash", { url = url })
  c:says("hi"):says("Asha"):says(phone()):says(car):says("MH12AB1234"):says("foam wash"):says("wax")
  c:says(date or some_day())
  local b = c:buttons()[1]
  assert(b and b.id:match("^t%d+$"), "expected time buttons\n" .. c:transcript())
  c:taps(b.id):in_state("summary")
  return c
end

local function book(url, car, date)
  local c = to_summary(url, car, date)
  c:taps("confirm"):in_state("booked")
  local id = c:said():match("(SR%-%w+)")
  assert(id, "expected a booking id\n" .. c:transcript())
  return c, id
end

describe("carwash with its Frappe back office", function()
  local fake, s

  local function docs()
    return fake:control("/_control/state").records[DOCTYPE] or {}
  end
  local function doc(id, ok)
    local found
    proc.wait_until(function()
      for _, d in ipairs(docs()) do
        if d.name == id and (not ok or ok(d)) then found = d end
      end
      return found
    end, 10, 0.1)
    assert(found, "no " .. DOCTYPE .. " " .. id .. " as expected in Frappe: " .. require("json").encode(docs()))
    return found
  end
  local function count(id)
    local n = 0
    for _, d in ipairs(docs()) do if d.name == id then n = n + 1 end end
    return n
  end

  setup(function()
    fake = vendor.start("frappe", "/_control/calls")
    s = host(fake.url)
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)
  before_each(function() fake:control("/_control/reset", {}) end)

  it("totals with Frappe's prices for the car's vehicle type: a sedan and an SUV pay differently", function()
    -- Frappe: Foam Wash 849 (Sedan) / 1099 (SUV), Wax polish 319 / 399; business.lua: 799 + 299
    to_summary(s.url, "Honda City"):hears("Total: Rs. 1168")
    to_summary(s.url, "Hyundai Creta"):hears("Total: Rs. 1498")
  end)

  it("lists Frappe's prices: per vehicle type before the car is known, the car's own after", function()
    local c = talk.new("carwash", { url = s.url })
    c:says("hi"):says("prices"):hears("Foam Wash: Rs. 749 / 849 / 1099 (Hatchback / Sedan / SUV)")
    c:says("Asha"):says(phone()):says("Maruti Swift"):says("prices"):hears("Foam Wash: Rs. 749"):never_hears("1099")
    c:hears("Add-ons: Wax polish Rs. 249")
    c:says("how much is wax"):never_hears("299")           -- never business.lua's price of one add-on
  end)

  it("writes a confirmed booking to Frappe once, with its SR- id, car and Frappe's total", function()
    local _, id = book(s.url, "Honda City")
    local d = doc(id)
    assert.are.same({ id, "Confirmed", "Sedan", "MH12AB1234", 1168, "PRD-SEDAN-FOAM-WASH", { "ADD-SEDAN-WAX-POLISH" } },
      { d.booking_id, d.status, d.vehicle_type, d.plate, d.total, d.product_id, d.addon_ids })
    assert.are.equal("carwash:frappe:book:" .. id, d.flowhost_key)     -- the ledger's marker: tenant and key
    time.sleep(1.5)                                  -- nothing more arrives later
    assert.are.equal(1, count(id))
    assert.are.equal(1, #docs())
  end)

  it("moves and cancels the Frappe booking when the customer reschedules and cancels", function()
    local c, id = book(s.url, "Hyundai Creta")
    doc(id)
    local typed, iso = day(13)
    c:says("reschedule my booking " .. id):in_state("resched_date")
    c:says(typed)
    local b = c:buttons()[1]
    assert(b and b.id:match("^t%d+$"), "expected time buttons\n" .. c:transcript())
    c:taps(b.id):in_state("rescheduled")
    local lt = tz.local_time(tonumber(b.id:sub(2)), ZONE)
    doc(id, function(d) return d.booking_date == iso and d.time_slot == ("%02d:%02d"):format(lt.hour, lt.min) end)
    c:says("cancel my booking " .. id):in_state("cancel_existing")
    c:taps("yes"):in_state("booking_cancelled")
    doc(id, function(d) return d.status == "Cancelled" end)
    assert.are.equal(1, #docs())
  end)

  it("tries a create Frappe answered 500 again later, and it lands once", function()
    fake:control("/_control/script", { faults = { { method = "POST", path = "/api/resource/Service", status = 500,
      body = { exc_type = "Exception", exception = "pymysql.err.OperationalError: (2013, 'Lost connection')" } } } })
    local _, id = book(s.url, "Honda City")
    doc(id)
    local posts = 0
    for _, call in ipairs(fake:control("/_control/calls").calls) do
      if call.method == "POST" and call.path:find("^/api/resource/Service") then posts = posts + 1 end
    end
    assert.are.equal(2, posts)
    assert.are.equal(1, count(id))
    assert.truthy((proc.read_file(s.log) or ""):find("booking not written yet; trying again later", 1, true))
  end)

  it("runs on business.lua's prices when Frappe cannot be reached, and logs it", function()
    local down = host("http://127.0.0.1:" .. proc.free_port())
    local ok, err = pcall(function()
      to_summary(down.url, "Honda City"):hears("Total: Rs. 1098")   -- 799 + 299, business.lua
      local log = proc.read_file(down.log) or ""
      assert.truthy(log:find("using business.lua's catalogue and prices", 1, true), log)
    end)
    proc.stop(down)
    assert(ok, err)
  end)
end)

-- The car service on the booking kit (booking.dialog) and business.lua:
-- what the kit says about a closed or full day, the reschedule text, the
-- stored price with add-ons, the facts messages show, and Hindi dates.
-- Like scenarios_spec.lua: over HTTP with FLOWHOST_CHAT_URL set, else in
-- this process; Redis is real. The closed-day case edits business.lua, so
-- it always runs in this process, on a copy of the tenant's files.
local talk = require "flow.talk"
local tenant = require "flow.tenant"
local http = require "http"
local json = require "json"
local tz = require "tz"
local time = require "time"
local crypto = require "crypto"

local URL = os.getenv("FLOWHOST_CHAT_URL")
local ZONE = "Asia/Kolkata"

local function chat()
  if not URL then return talk.new("carwash", { id = "chat:spec-" .. crypto.random_hex(16) }) end
  local r = assert(http.request{ method = "POST", url = URL .. "/v1/tenants/carwash/conversations" })
  assert(r.status == 201, "creating a conversation: HTTP " .. r.status .. " " .. r.body)
  return talk.new("carwash", { url = URL, id = json.decode(r.body).id })
end

local function phone()
  return "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000)
end
local function carwash() return assert(tenant.load("carwash")) end

local function day(n)
  local d = tz.date(tz.add_days(time.now(), n, ZONE), ZONE)
  local y, m, dd = d:match("(%d+)-(%d+)-(%d+)")
  return d, ("%d/%d/%s"):format(tonumber(dd), tonumber(m), y)
end

local function first_time(c)
  local b = c:buttons()[1]
  assert(b and b.id:match("^t%d+$"), "expected time buttons\n" .. c:transcript())
  return b
end

local function booked_id(c)
  local id = c:said():match("(SR%-%w+)")
  assert(id, "expected a booking id\n" .. c:transcript())
  return id
end

-- to the date question, with the service and add-ons given
local function to_date(c, who)
  c:says("hi"):says(who.name or "Kiran"):says(who.phone or phone()):says("Honda City"):says("MH 12 AB 1234")
  c:taps(who.service or "basic_wash"):says(who.addons or "none"):hears("day")
  return c
end

-- fill every time of a day for a service; the cleanup frees them again
local function fill_day(e, date, service)
  local from = tz.parse_iso(date .. "T00:00:00", ZONE)
  for _ = 1, 200 do
    local s = e:slots{ service = service, from = from, to = from + 86399, limit = 1 }
    if not s or not s[1] then break end
    assert(e:reserve{ service = service, start = s[1].start, customer = { name = "Filler" } })
  end
  finally(function()
    for _, x in ipairs(e:by_day(date) or {}) do
      if x.customer and x.customer.name == "Filler" then e:cancel(x.id, "spec cleanup") end
    end
  end)
end

describe("carwash on the booking kit", function()
  it("stores the price with the add-ons, the same total the summary quotes", function()
    local c = to_date(chat(), { service = "foam_wash", addons = "wax" })
    c:says("tomorrow"):taps(first_time(c).id):in_state("summary"):hears("Rs. 1098")
    c:taps("confirm"):in_state("booked")
    local b = carwash().booking:get(booked_id(c))
    assert.are.equal(1098, b.price)
    assert.are.same({ "wax" }, b.addons)
  end)

  it("says the rescheduled time once", function()
    local c = to_date(chat(), {})
    c:says("tomorrow"):taps(first_time(c).id):taps("confirm")
    local id = booked_id(c)
    local _, typed = day(3)
    c:says("reschedule my booking " .. id):in_state("resched_date")
    c:says(typed):in_state("resched_time")
    local pick = first_time(c)
    c:taps(pick.id):in_state("rescheduled")
    local text = c:said()
    local _, count = text:gsub(pick.title, "")
    assert.are.equal(1, count, text)
    local b = carwash().booking:get(id)
    local label = require("flow.when").at(b.start, ZONE, "en")
    assert.truthy(text:find("is now on " .. label .. ".", 1, true), text)
  end)

  it("a full day at reschedule names the earliest free time, not '-'", function()
    local e = carwash().booking
    local date, typed = day(6)
    local c = to_date(chat(), {})
    c:says("tomorrow"):taps(first_time(c).id):taps("confirm")
    local id = booked_id(c)
    fill_day(e, date, "basic_wash")
    c:says("reschedule my booking " .. id):in_state("resched_date")
    c:says(typed):in_state("resched_date"):hears("fully booked"):hears("earliest free time is ")
    c:never_hears("earliest free time is -")
    local nf = assert(e:next_free{ service = "basic_wash" })
    c:hears(require("flow.when").at(nf.start, ZONE, "en"))
  end)

  it("calls a closed day closed, with the earliest free time", function()
    local dir = "var/test/kit-closed-" .. crypto.random_hex(4)
    local date, typed = day(4)
    os.execute(("mkdir -p %s/tenants %s/flows && cp config/tenants/carwash.lua %s/tenants/ && cp -r flows/carwash %s/flows/")
      :format(dir, dir, dir, dir))
    local path = dir .. "/flows/carwash/business.lua"
    local f = assert(io.open(path))
    local text = f:read("*a")
    f:close()
    text = text:gsub("closed_on = {}", ('closed_on = { "%s" }'):format(date), 1)
    f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
    tenant.folders(dir .. "/tenants", dir .. "/flows")
    finally(function()
      tenant.folders(nil)
      os.execute("rm -rf " .. dir)
    end)
    local c = to_date(talk.new("carwash"), {})
    c:says(typed):in_state("collect"):hears("closed on"):never_hears("fully booked"):hears("earliest free time is ")
    c:says("tomorrow"):in_state("pick_time")
  end)

  it("takes every fact from business.lua: prices, horizon, hold time, support phone", function()
    local s = carwash().settings
    local c = chat()
    c:says("what are your prices?")
    for _, svc in ipairs(s.catalogue.services) do c:hears(svc.title .. ": Rs. " .. svc.price) end
    for _, a in ipairs(s.catalogue.addon_list) do c:hears(a.title .. " Rs. " .. a.price) end
    c:says("I want a human"):hears(s.support_phone)
    local d = chat()
    to_date(d, {})
    local _, far = day(s.booking.rules.horizon_days + 3)
    d:says(far):hears("up to " .. s.booking.rules.horizon_days .. " days ahead")
  end)

  it("speaks Hindi dates and times to a customer who writes Devanagari", function()
    local c = chat()
    c:says("नमस्ते"):hears("स्वागत")
    c:says("मेरा नाम राहुल है"):says(phone()):says("Honda City"):says("MH 12 AB 1234")
    c:taps("basic_wash"):says("none"):says("tomorrow"):in_state("pick_time")
    local when = require "flow.when"
    c:hears(when.day((day(1)), "hi") .. " को ये समय खाली हैं")
    local title = first_time(c).title
    assert.truthy(title:find("सुबह") or title:find("दोपहर") or title:find("शाम") or title:find("रात"), title)
    c:taps(first_time(c).id):in_state("summary"):hears("कुल: Rs. 499"):hears(title)
  end)
end)

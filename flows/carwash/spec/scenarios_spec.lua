-- The car-service seed's seven scenarios, plus two customers racing for
-- the last slot of a day. Each is a scripted conversation. With
-- FLOWHOST_CHAT_URL set (tests/run.sh does) they talk to a running host
-- over HTTP; without it the flow runs in this process. Redis is real.
local talk = require "flow.talk"
local tenant = require "flow.tenant"
local http = require "http"
local json = require "json"
local tz = require "tz"
local time = require "time"
local crypto = require "crypto"

local URL = os.getenv("FLOWHOST_CHAT_URL")
local ZONE = "Asia/Kolkata"

-- a new web-chat customer: over HTTP a conversation the host issues (no
-- API key needed); in this process a "chat:" conversation like the API's
local function chat()
  if not URL then return talk.new("carwash", { id = "chat:spec-" .. crypto.random_hex(16) }) end
  local r = assert(http.request{ method = "POST", url = URL .. "/v1/tenants/carwash/conversations" })
  assert(r.status == 201, "creating a conversation: HTTP " .. r.status .. " " .. r.body)
  return talk.new("carwash", { url = URL, id = json.decode(r.body).id })
end

-- the conversation's id inside the host
local function inside(c) return URL and ("chat:" .. c.id) or c.id end

local NOT_FOUND = "couldn't find an upcoming booking"

-- a mobile number no earlier run has used
local function phone()
  return "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000)
end
local function engine() return assert(tenant.load("carwash")).booking end

-- a date n days from today in the tenant's zone, as the customer types it
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

-- a customer who gets all the way to the summary
local function to_summary(c, who)
  who = who or {}
  c:says("hi"):hears("welcome"):hears("name"):in_state("collect")
  c:says(who.name or "Rahul Sharma"):hears("mobile")
  c:says(who.phone or "98765 43210"):hears("car")
  c:says("Honda City"):hears("registration")
  c:says(who.plate or "MH 12 AB 1234"):hears("service"):hears_button("Basic Wash")
  c:taps("basic_wash"):hears("add-ons")
  c:says("none"):hears("day")
  c:says(who.date or "tomorrow"):in_state("pick_time")
  c:taps(first_time(c).id):in_state("summary"):hears_button("Confirm")
  return c
end

local function booked_id(c)
  local id = c:said():match("(SR%-%w+)")
  assert(id, "expected a booking id\n" .. c:transcript())
  return id
end

describe("carwash scenarios", function()
  it("1. happy path: greeting to a confirmed booking with an SR- id", function()
    local c = to_summary(chat())
    c:hears("Rahul Sharma"):hears("+91 98765 43210"):hears("MH12AB1234"):hears("Rs. 499")
    c:taps("confirm"):in_state("booked"):hears("booked")
    local id = booked_id(c)
    assert.truthy(id:match("^SR%-%w%w%w%w%w%w%w%w$"))
    local b = engine():get(id)
    assert.are.equal("confirmed", b.status)
    assert.are.equal("basic_wash", b.service)
    assert.are.equal("9876543210", b.customer.phone)
    assert.are.equal(day(1), b.date)
  end)

  it("2. negotiation: prices and add-ons before deciding", function()
    local c = chat()
    c:says("hi, what are your prices?"):hears("Rs. 799"):hears("name")
    c:says("I'm Priya"):has_slot("name", "Priya"):hears("mobile")
    c:says("what add-ons do you have?"):hears("wax polish"):hears("mobile"):has_slot("name", "Priya")
    c:says("9123456789"):says("Hyundai Creta"):says("KA 01 MX 4321"):hears("service")
    c:says("foam wash with wax please"):has_slot("service", "foam_wash")
    if c.last.state == "collect" and c:said():lower():find("add%-ons") then c:says("wax") end
    c:has_slot("addons", { "wax" }):hears("day")
    c:says("tomorrow"):taps(first_time(c).id):in_state("summary"):hears("Rs. 1098")
    c:taps("confirm"):in_state("booked")
  end)

  it("3. reschedule an existing booking by id, and find one by phone", function()
    local P31 = phone()
    local c = to_summary(chat(), { phone = P31, plate = "DL 3C AF 0001" })
    c:taps("confirm")
    local id = booked_id(c)
    local before = engine():get(id).start
    c:says("I want to reschedule my booking " .. id):hears(id):hears("which day"):in_state("resched_date")
    local _, typed = day(2)
    c:says(typed):in_state("resched_time")
    c:taps(first_time(c).id):in_state("rescheduled"):hears(id)
    local after = engine():get(id)
    assert.are_not.equal(before, after.start)
    assert.are.equal(day(2), after.date)
    assert.are.equal("confirmed", after.status)
    -- by phone, in the conversation that booked it
    c:says("I need to reschedule the booking for " .. P31):hears(id):in_state("resched_date")
    -- and by nobody else: a stranger gets the answer a missing booking gets
    local p = chat()
    p:says("reschedule please"):hears("booking id")
    p:says(P31):hears(NOT_FOUND):in_state("find_booking")
    p:says(id):hears(NOT_FOUND):in_state("find_booking")
  end)

  it("cancel an existing booking by its id, after a confirmation", function()
    local c = to_summary(chat(), { phone = phone() })
    c:taps("confirm")
    local id = booked_id(c)
    c:says("please cancel my booking " .. id):in_state("cancel_existing"):hears(id):hears_button("Yes, cancel it")
    c:taps("no"):in_state("kept")
    assert.are.equal("confirmed", engine():get(id).status)
    local k = chat()                               -- someone else with the id
    k:says("cancel booking " .. id):hears(NOT_FOUND)
    assert.are.equal("confirmed", engine():get(id).status)
    c:says("cancel booking " .. id):in_state("cancel_existing")
    c:says("yes"):in_state("booking_cancelled"):hears("is cancelled")
    assert.are.equal("cancelled", engine():get(id).status)
  end)

  it("4. error recovery: invalid phone, invalid plate, past date; nothing is lost", function()
    local c = chat()
    c:says("hello"):says("Amit Kumar")
    c:says("5876543210"):hears("doesn't look right"):in_state("collect"):has_slot("name", "Amit Kumar")
    c:says("+91 91234 56780"):has_slot("phone", "9123456780"):hears("car")
    c:says("Maruti Swift"):has_slot("brand", "maruti"):has_slot("model", "Swift")
    c:says("MH12"):hears("registration number doesn't look right"):has_slot("phone", "9123456780")
    c:says("XY 12 AB 1234"):hears("registration number doesn't look right"):has_slot("model", "Swift")
    c:says("mh-12-ab-1234"):has_slot("plate", "MH12AB1234")
    c:taps("interior"):says("no thanks")
    c:says("01/01/2020"):hears("already passed"):has_slot("service", "interior")
    c:says("tomorrow"):in_state("pick_time"):has_slot("name", "Amit Kumar"):has_slot("plate", "MH12AB1234")
  end)

  it("5. edit at confirmation: by button and by typing", function()
    local P51, P52 = phone(), phone()
    local c = to_summary(chat(), { phone = P51 })
    c:taps("edit"):in_state("edit"):hears_button("Phone")
    c:taps("phone"):hears("mobile")
    c:says(P52):in_state("summary"):hears("+91 " .. P52:sub(1, 5) .. " " .. P52:sub(6))
    c:says("actually my plate is KA05MN1234"):in_state("summary"):hears("KA05MN1234")
    c:taps("confirm"):in_state("booked")
    local b = engine():get(booked_id(c))
    assert.are.equal(P52, b.customer.phone)
  end)

  it("6. cancel and restart", function()
    local c = chat()
    local P61, P62 = phone(), phone()
    c:says("hi"):says("Neha"):says(P61)
    c:says("cancel"):in_state("cancelled"):hears("cancelled")
    c:says("hi again"):hears("welcome"):in_state("collect"):has_slot("name", "Neha")
    c:says("start over"):in_state("collect"):hears("name")
    assert.is_nil(c.last.slots.name)
    -- a hold is released when the customer cancels at the summary
    local s = to_summary(chat(), { phone = P62 })
    local held = {}
    for _, b in ipairs(engine():by_customer(P62)) do held[#held + 1] = b.status end
    assert.are.same({ "held" }, held)
    s:taps("cancel"):in_state("cancelled")
    assert.are.equal("cancelled", engine():by_customer(P62)[1].status)
  end)

  it("7. indecisive customer: changes service and date several times, one booking results", function()
    local P71 = phone()
    local c = to_summary(chat(), { phone = P71 })
    c:says("actually make it full detailing"):has_slot("service", "full_detailing"):in_state("pick_time")
    local _, d2 = day(2)
    c:says("no wait, change the date to " .. d2):has_slot("date", (day(2))):in_state("pick_time")
    c:says("hmm, foam wash instead"):has_slot("service", "foam_wash")
    c:taps(first_time(c).id):in_state("summary"):hears("Foam Wash"):hears("Rs. 799")
    c:taps("confirm"):in_state("booked")
    local live = 0
    for _, b in ipairs(engine():by_customer(P71)) do
      if b.status == "confirmed" or b.status == "held" then
        live = live + 1
        assert.are.equal("foam_wash", b.service)
        assert.are.equal(day(2), b.date)
      end
    end
    assert.are.equal(1, live)
  end)

  it("two customers racing for the last slot of a day: one booking, one alternative offer", function()
    local e = engine()
    local date, typed = day(5)
    local from = tz.parse_iso(date .. "T00:00:00", ZONE)
    local made = {}
    for _ = 1, 100 do                               -- fill the day
      local s = e:slots{ service = "basic_wash", from = from, to = from + 86399, limit = 1 }
      if not s or not s[1] then break end
      local b = assert(e:reserve{ service = "basic_wash", start = s[1].start, customer = { name = "Filler" } })
      made[#made + 1] = b
    end
    finally(function()                              -- leave the day free for the next run
      for _, x in ipairs(e:by_day(date) or {}) do e:cancel(x.id, "spec cleanup") end
    end)
    assert.truthy(#made > 10)
    assert(e:cancel(made[3].id, "spec: the last free slot"))
    local a, b = chat(), chat()
    for i, c in ipairs{ a, b } do
      c:says("hi"):says("Racer " .. i):says("900000008" .. i):says("Tata Nexon"):says("MH01AB000" .. i)
      c:taps("basic_wash"):says("none"):says(typed):in_state("pick_time")
      assert.are.equal(1, #c:buttons())
    end
    local slot = a:buttons()[1].id
    local function tap(c)
      return { method = "POST", url = URL .. "/v1/tenants/carwash/conversations/" .. c.id .. "/messages",
               headers = { ["Content-Type"] = "application/json" }, body = json.encode{ button = slot }, timeout = 30 }
    end
    local results
    if URL then
      results = http.all{ tap(a), tap(b) }
      for i, r in ipairs(results) do results[i] = json.decode(r.body) end
    else
      results = { a:taps(slot).last, b:taps(slot).last }
    end
    local states = { results[1].state, results[2].state }
    table.sort(states)
    assert.are.same({ "collect", "summary" }, states)
    local loser = results[1].state == "collect" and results[1] or results[2]
    local text = loser.replies[1].text
    assert.truthy(text:find("just filled up", 1, true) and text:find("earliest free time", 1, true), text)
  end)

  it("an expired conversation starts fresh with a greeting that says so", function()
    local c = chat()
    c:says("hi"):says("Vikram")
    local redis = require "redis"
    redis.call("DEL", "fh:conv:{carwash:" .. inside(c) .. "}")
    c:says("hello?"):hears("timed out"):hears("welcome"):in_state("collect")
    assert.is_nil(c.last.slots.name)
  end)
end)

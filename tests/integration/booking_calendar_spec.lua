-- External calendars in the booking engine, through the real host and the
-- real connectors, against tests/fakes/google.py and tests/fakes/odoo.py.
-- The fixture tenant calco (tests/fixtures/tenants/calco.lua) has a desk
-- whose calendar is Google's "primary" and a van whose calendar is the Odoo
-- user 7's, both read at most every 2 s (freshness = 2).
local proc = require "proc"
local vendor = require "vendor"
local chat = require "chat"
local json = require "json"
local time = require "time"
local tz = require "tz"
local crypto = require "crypto"
local gcal = require "connectors.google_calendar"
local odoo = require "connectors.odoo"
local ffi = require "ffi"
local redis = require "redis"

local SA = json.encode{ type = "service_account", client_email = "bot@flowhost-test.iam.gserviceaccount.com",
  private_key = io.open("tests/fixtures/connectors/test_sa_key.pem"):read("*a"), private_key_id = "kid-1" }
local google, odoofake, s, talk, gclient, oclient
local conv = "c" .. crypto.random_hex(4)
local DOWN = "Our calendar cannot be read right now, so I cannot promise a time. Please try again in a few minutes."

-- the fixture tenant's bookings and cached busy time of earlier runs
local function forget_calco()
  for _, pattern in ipairs{ "bk:{calco}:*", "fh:cal:{calco}:*" } do
    local cursor = "0"
    repeat
      local r = redis.call("SCAN", cursor, "MATCH", pattern, "COUNT", 500)
      cursor = r[1]
      if #r[2] > 0 then redis.call("DEL", unpack(r[2])) end
    until cursor == "0"
  end
end

-- a day of its own for each spec: days ahead (the engine's cache is per day)
local next_day = 1
local function day()
  next_day = next_day + 1
  return tz.date(time.now() + next_day * 86400, "UTC")
end
local function at(date, hhmm) return tz.parse_iso(date .. "T" .. hhmm .. ":00Z") end

local function say(text)
  local r = talk:say("calco", conv, text)
  assert(r and r.status == 200, "chat: " .. tostring(r and r.status) .. " " .. tostring(r and r.body))
  local body = json.decode(r.body)
  return body.replies and body.replies[1] and body.replies[1].text
end

local function ctx(key) return { deadline = time.now() + 5, marker = "spec:" .. (key or crypto.random_hex(6)) } end
-- an event someone made in the calendar, outside flowhost
local function google_event(date, from, to)
  assert(gcal.run(gclient, "insert_event", { "primary", { summary = "dentist",
    start = { dateTime = date .. "T" .. from .. ":00Z" }, ["end"] = { dateTime = date .. "T" .. to .. ":00Z" } } }, ctx()))
end
local function odoo_event(date, from, to)
  assert(odoo.run(oclient, "create", { "calendar.event", { name = "site visit", user_id = 7, allday = false,
    start = date .. " " .. from .. ":00", stop = date .. " " .. to .. ":00" } }, ctx()))
end

-- the calls the fake was sent: method and a path prefix, or a JSON-RPC method in the body
local function count(fake, method, path, body_has)
  local n = 0
  for _, c in ipairs(fake:control("/_control/calls").calls) do
    if c.method == method and c.path:sub(1, #path) == path and (not body_has or c.body:find(body_has, 1, true)) then
      n = n + 1
    end
  end
  return n
end

local function events() return google:control("/_control/state").records.primary or {} end

describe("external calendars in the booking engine", function()
  setup(function()
    -- the key (JSON with quotes and a PEM) reaches the host as the spec's own
    -- environment: proc.start's command line quotes only simple values
    pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite);")
    assert.are.equal(0, ffi.C.setenv("CALCO_GOOGLE_SA", SA, 1))
    forget_calco()
    google = vendor.start("google", "/_control/calls")
    odoofake = vendor.start("odoo", "/_control/calls")
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1,
      FLOWHOST_TENANTS_DIR = "tests/fixtures/tenants", FLOWHOST_FLOWS_DIR = "tests/fixtures/flows",
      GOOGLE_OAUTH_TOKEN_URL = google.url .. "/token",
      GOOGLE_CALENDAR_API_URL = google.url .. "/calendar/v3",
      CALCO_ODOO_URL = odoofake.url, CALCO_ODOO_LOGIN = "bot@example.com", CALCO_ODOO_KEY = "odoo-key" } }
    talk = chat.new(s.url)
    gclient = gcal.new({ timeout = 2, tries = 1 }, { credentials_env = SA },
      { token = google.url .. "/token", api = google.url .. "/calendar/v3" })
    oclient = odoo.new({ url = odoofake.url, db = "testdb", timeout = 2, tries = 1, key_field = false },
      { login_env = "bot@example.com", key_env = "odoo-key" })
  end)
  teardown(function()
    if s then proc.stop(s, "KILL") end
    google:stop()
    odoofake:stop()
  end)

  it("hides the slots a Google event or an Odoo event overlaps, on that resource only", function()
    local d = day()
    google_event(d, "10:30", "11:15")
    odoo_event(d, "14:00", "16:00")
    local desk, van = say("slots consult " .. d), say("slots visit " .. d)
    assert.matches(" 09:00 12:00 ", desk)
    assert.is_nil(desk:find("10:00", 1, true))
    assert.is_nil(desk:find("11:00", 1, true))
    assert.matches(" 13:00 16:00 ", van)
    assert.matches(" 10:00 11:00 ", van)
    assert.is_nil(van:find("14:00", 1, true))
  end)

  it("shows a new event only when the busy time read before is older than its freshness", function()
    local d = day()
    assert.matches(" 15:00 ", say("slots consult " .. d))
    google_event(d, "15:00", "16:00")
    assert.matches(" 15:00 ", say("slots consult " .. d))        -- still the cached busy time
    time.sleep(2.5)
    assert.is_nil(say("slots consult " .. d):find("15:00", 1, true))
  end)

  it("answers with the calendar_down message, and books nothing, when the calendar cannot be read", function()
    local d = day()
    local inserts = count(google, "POST", "/calendar/v3/calendars/primary/events")
    google:control("/_control/script", { faults = { { path = "/calendar/v3/freeBusy", status = 503, times = 2 } } })
    assert.are.equal(DOWN, say("slots consult " .. d))
    assert.are.equal(DOWN, say("book consult " .. d .. " 10:00"))
    assert.are.equal(inserts, count(google, "POST", "/calendar/v3/calendars/primary/events"))
    assert.matches("^slots 00:00 01:00 ", say("slots consult " .. d))          -- the calendar is back
  end)

  it("writes one Google event per booking and one patch per move and one delete per cancel, even when each turn is sent twice", function()
    local d = day()
    local before = { count(google, "POST", "/calendar/v3/calendars/primary/events"),
                     count(google, "PATCH", "/calendar/v3/calendars/"), count(google, "DELETE", "/calendar/v3/calendars/") }
    local booked = say("book consult " .. d .. " 10:00")
    local id, ev = booked:match("^booked (%S+) (%S+)$")
    assert.is_truthy(id, booked)
    assert.are.equal(gcal.event_id("calco:cal:calco:r.desk:" .. id .. ":insert"), ev)
    assert.are.equal("booked " .. id .. " " .. ev, say("book consult " .. d .. " 10:00"))
    assert.are.equal("moved " .. id .. " " .. ev, say("move " .. id .. " " .. d .. " 13:00"))
    assert.are.equal("moved " .. id .. " " .. ev, say("move " .. id .. " " .. d .. " 13:00"))
    local mine
    for _, e in ipairs(events()) do if e.id == ev then mine = e end end
    assert.are.equal(d .. "T13:00:00Z", mine.start.dateTime)
    assert.are.equal("confirmed", mine.status)
    -- the move freed 10:00; 13:00 is taken (in Redis)
    assert.matches(" 10:00 11:00 12:00 14:00 ", say("slots consult " .. d))
    assert.are.equal("cancelled " .. id .. " " .. ev .. " deleted", say("drop " .. id))
    say("drop " .. id)
    for _, e in ipairs(events()) do if e.id == ev then mine = e end end
    assert.are.equal("cancelled", mine.status)
    assert.are.same({ before[1] + 1, before[2] + 1, before[3] + 1 },
      { count(google, "POST", "/calendar/v3/calendars/primary/events"),
        count(google, "PATCH", "/calendar/v3/calendars/"), count(google, "DELETE", "/calendar/v3/calendars/") })
  end)

  it("writes an Odoo calendar.event: one create, one write per move, one unlink per cancel", function()
    local d = day()
    local function n(method) return count(odoofake, "POST", "/jsonrpc", '"calendar.event","' .. method .. '"') end
    local before = { n("create"), n("write"), n("unlink") }
    local id, ev = say("book visit " .. d .. " 09:00"):match("^booked (%S+) (%d+)$")
    assert.is_truthy(id)
    say("book visit " .. d .. " 09:00")
    assert.are.equal("moved " .. id .. " " .. ev, say("move " .. id .. " " .. d .. " 11:00"))
    say("move " .. id .. " " .. d .. " 11:00")
    local rec
    for _, r in ipairs(odoofake:control("/_control/state").records["calendar.event"]) do
      if tostring(r.id) == ev then rec = r end
    end
    assert.are.same({ d .. " 11:00:00", d .. " 12:00:00", 7, "calco:cal:calco:r.van:" .. id .. ":insert" },
                    { rec.start, rec.stop, rec.user_id, rec.x_flowhost_key })
    assert.matches(" 09:00 10:00 12:00 ", say("slots visit " .. d))
    assert.are.equal("cancelled " .. id .. " " .. ev .. " deleted", say("drop " .. id))
    say("drop " .. id)
    assert.are.same({ before[1] + 1, before[2] + 1, before[3] + 1 }, { n("create"), n("write"), n("unlink") })
  end)

  it("keeps the booking when Google answers 500, and the retry timer writes the event once", function()
    local d = day()
    google:control("/_control/script", { faults = { { path = "/calendar/v3/calendars/primary/events", method = "POST",
                                                      status = 500 } } })
    local booked = say("book consult " .. d .. " 16:00")
    local id = booked:match("^booked (%S+) none$")
    assert.is_truthy(id, booked)
    local ev = gcal.event_id("calco:cal:calco:r.desk:" .. id .. ":insert")
    local ok = proc.wait_until(function() return say("ref " .. id) == "ref " .. ev end, 20, 0.3)
    assert.is_truthy(ok, "the retry did not write the event")
    local n = 0
    for _, e in ipairs(events()) do if e.extendedProperties.private.booking_id == id then n = n + 1 end end
    assert.are.equal(1, n)
  end)
end)

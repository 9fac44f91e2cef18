-- The HVAC voice dispatcher (flows/hvac, issue 17) through the real host:
-- the Vapi fake sends tool calls exactly as Vapi does, the Odoo fake keeps
-- the events, partners, leads and users and checks them as Odoo does.
local proc = require "proc"
local vendor = require "vendor"
local json = require "json"
local time = require "time"
local tz = require "tz"
local crypto = require "crypto"
local redis = require "redis"

local SECRET = "vapi_" .. crypto.random_hex(8)
local ZONE = "America/Chicago"
local TECHS = { [101] = "Maria Garcia", [102] = "James Carter", [103] = "Aisha Patel", [104] = "Tom Nguyen", [105] = "Lin Wu" }
local s, vapi, odoo

-- a Tuesday at least two days ahead, at hh:mm Chicago time, as ISO 8601
local function tuesday(hh, mm, weeks)
  local t = time.now() + 2 * 86400
  while tz.weekday(t, ZONE) ~= 2 do t = t + 86400 end
  t = t + 7 * 86400 * (weeks or 0)
  local y, m, d = tz.date(t, ZONE):match("^(%d+)-(%d+)-(%d+)$")
  return tz.format_iso(tz.to_utc({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = hh, min = mm or 0, sec = 0 }, ZONE), ZONE)
end

local n = 0
-- one tool call; -> the decoded result (and the fake's verdict)
local function tool(name, args, opts)
  n = n + 1
  local id = opts and opts.id or ("toolu_" .. crypto.random_hex(6))
  local r = vapi:control("/_control/tool_calls", { url = s.url .. "/webhooks/hvac/vapi", call_id = opts and opts.call or ("call-" .. n),
    customer_number = opts and opts.number or "+15125550101", calls = { { id = id, name = name, arguments = args } },
    auth = { mode = "bearer", secret = SECRET } })
  assert.is_true(r.valid, json.encode(r.problems))
  return json.decode(r.results[id]), r
end

local function state() return odoo:control("/_control/state").records end
local function events(keep)
  local out = {}
  for _, e in ipairs(state()["calendar.event"] or {}) do if not keep or keep(e) then out[#out + 1] = e end end
  return out
end
local function by_id(coll, id)
  for _, r in ipairs(state()[coll] or {}) do if r.id == id then return r end end
end
local function stage_named(name)
  for _, r in ipairs(state()["crm.stage"]) do if r.name == name then return r.id end end
end

local function seed()
  odoo:control("/_control/reset", {})
  local users = {}
  for id, name in pairs(TECHS) do users[#users + 1] = { id = id, name = name, login = "tech" .. id, active = true } end
  users[#users + 1] = { id = 2, name = "Dispatch", login = "dispatch", active = true }
  odoo:control("/_control/seed", { records = { ["res.users"] = users, ["crm.stage"] = {
    { id = 50, name = "Visit Scheduled", sequence = 5 }, { id = 51, name = "Visit Cancelled", sequence = 6 } } } })
end

local BOOK = { customer_name = "Dana Reyes", address = "1200 Congress Ave", zip = "78701", service_type = "heating repair",
               preferred_time = "", notes = "furnace makes noise" }
local function book(over)
  local a = {}
  for k, v in pairs(BOOK) do a[k] = v end
  for k, v in pairs(over or {}) do a[k] = v end
  return a
end

local TWILIO_SID = "AC" .. require("crypto").random_hex(16)
local twilio

-- the texts the fake Twilio took for a number
local function texts_to(number)
  local out = {}
  for _, m in ipairs(twilio:control("/_control/sent?account_sid=" .. TWILIO_SID).sent) do
    if m.params.To == number and m.status == 201 then out[#out + 1] = m.params.Body end
  end
  return out
end

describe("the HVAC voice dispatcher", function()
  setup(function()
    for _, pattern in ipairs{ "fh:cal:{hvac}:*", "fh:fx:{hvac}:*", "fh:conv:{hvac:*", "fh:handoff:{hvac}:*" } do
      local cursor = "0"
      repeat
        local r = redis.call("SCAN", cursor, "MATCH", pattern, "COUNT", 500)
        cursor = r[1]
        if #r[2] > 0 then redis.call("DEL", unpack(r[2])) end
      until cursor == "0"
    end
    vapi = vendor.start("vapi", "/_control/sent")
    odoo = vendor.start("odoo", "/_control/calls")
    twilio = vendor.start("twilio", "/_control/sent?account_sid=" .. TWILIO_SID)
    seed()
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1, HVAC_VAPI_SECRET = SECRET,
      HVAC_TWILIO_ACCOUNT_SID = TWILIO_SID, HVAC_TWILIO_AUTH_TOKEN = "tw-" .. crypto.random_hex(8),
      HVAC_TWILIO_FROM = "+15125550000", TWILIO_API_URL = twilio.url,
      HVAC_ODOO_URL = odoo.url, HVAC_ODOO_DB = "testdb", HVAC_ODOO_LOGIN = "bot@example.com", HVAC_ODOO_KEY = "odoo-key",
      HVAC_ODOO_DISPATCH_USER_ID = 2 } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if vapi then vapi:stop() end
    if odoo then odoo:stop() end
    if twilio then twilio:stop() end
  end)
  before_each(function() odoo:control("/_control/config", { rights = {} }) end)

  it("has at least two technicians for every service in every served zip", function()
    local b = dofile("flows/hvac/business.lua")
    for zip = 78701, 78759 do
      local zone
      for name, range in pairs(b.lists.zones) do
        local lo, hi = range:match("^(%d+)%-(%d+)$")
        if zip >= tonumber(lo) and zip <= tonumber(hi) then zone = name end
      end
      assert.truthy(zone, "zip " .. zip .. " has no zone")
      for _, svc in ipairs(b.services) do
        local count = 0
        for _, r in pairs(b.resources) do
          local does, serves = false, false
          for _, d in ipairs(r.does) do does = does or d == svc.id end
          for _, a in ipairs(r.areas) do serves = serves or a == zone end
          if does and serves then count = count + 1 end
        end
        assert.truthy(count >= 2, ("%s in %d: %d technicians"):format(svc.id, zip, count))
      end
    end
  end)

  it("schedules in Odoo: partner, the caller's lead linked and moved, a heating technician of the zone", function()
    odoo:control("/_control/seed", { records = { ["crm.lead"] = { { id = 900, name = "Dana - furnace", phone = "+15125550101",
      type = "lead", stage_id = 1, active = true } } } })
    local at = tuesday(10)
    local r = tool("schedule_appointment", book{ preferred_time = at })
    assert.are.equal("scheduled", r.status, json.encode(r))
    assert.are.equal(at, r.start)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT12:00:00[-+]%d%d:%d%d$", r["end"])
    local ev = by_id("calendar.event", r.appointment_id)
    assert.truthy(ev, "no event " .. tostring(r.appointment_id))
    -- heating repair in 78701 (central): Maria, James or Aisha
    assert.truthy(ev.user_id == 101 or ev.user_id == 102 or ev.user_id == 103, tostring(ev.user_id))
    assert.are.equal(TECHS[ev.user_id], r.technician_name)
    assert.are.equal("crm.lead", ev.res_model)
    assert.are.equal(900, ev.res_id)
    local partner = by_id("res.partner", ev.partner_ids[1])
    assert.are.equal("+15125550101", partner.phone)          -- the call's number
    assert.are.equal(stage_named("Visit Scheduled"), by_id("crm.lead", 900).stage_id)
    assert.are.equal(tz.parse_iso(at), tz.parse_iso(ev.start, "UTC"))
    -- and the caller gets it in writing, by SMS to the call's number
    assert.truthy(proc.wait_until(function() return #texts_to("+15125550101") >= 1 end, 5, 0.05), "no SMS")
    local sms = texts_to("+15125550101")[1]
    assert.truthy(sms:find("your visit is booked for", 1, true) and sms:find(TECHS[ev.user_id], 1, true), sms)
  end)

  it("creates one event for a duplicated tool call, and for the same caller at the same time", function()
    local at = tuesday(14)
    local args = book{ preferred_time = at, customer_name = "Sam Ortiz" }
    local opts = { id = "toolu_dup1", call = "call-dup", number = "+15125550177" }
    local a = tool("schedule_appointment", args, opts)
    local b = tool("schedule_appointment", args, opts)                  -- Vapi sent it twice
    local c = tool("schedule_appointment", args, { call = "call-dup2", number = "+15125550177" })  -- asked again
    assert.are.equal("scheduled", a.status, json.encode(a))
    assert.are.equal(a.appointment_id, b.appointment_id)
    assert.are.equal(a.appointment_id, c.appointment_id)
    assert.are.equal(1, #events(function(e) return e.name:find("Sam Ortiz", 1, true) end))
    -- a first-time caller gets a new lead, linked
    local ev = by_id("calendar.event", a.appointment_id)
    assert.are.equal("+15125550177", by_id("crm.lead", ev.res_id).phone)
  end)

  it("reschedules by appointment id, finds by phone and by email, cancels by phone (archived, lead stage moved)", function()
    local num = "+15125550188"
    local r = tool("schedule_appointment", book{ preferred_time = tuesday(9), customer_name = "Kim Lee",
      email = "kim@example.com", zip = "78750", service_type = "ac repair" }, { number = num })
    assert.are.equal("scheduled", r.status, json.encode(r))
    local ev = by_id("calendar.event", r.appointment_id)
    -- AC repair in 78750 (north): Maria, Tom or Lin
    assert.truthy(ev.user_id == 101 or ev.user_id == 104 or ev.user_id == 105, tostring(ev.user_id))
    local moved = tool("reschedule_appointment", { appointment_id = r.appointment_id, new_time = tuesday(15) })
    assert.are.equal("rescheduled", moved.status, json.encode(moved))
    assert.are.equal(tuesday(15), moved.start)
    assert.are.equal(tz.parse_iso(tuesday(15)), tz.parse_iso(by_id("calendar.event", r.appointment_id).start, "UTC"))
    local found = tool("find_appointment", {}, { number = num })            -- phone from the call
    assert.are.equal("found", found.status, json.encode(found))
    assert.are.equal(r.appointment_id, found.appointment_id)
    local by_mail = tool("find_appointment", { email = "KIM@example.com" }, { number = "+15125550000" })
    assert.are.equal(r.appointment_id, by_mail.appointment_id)
    local none = tool("find_appointment", { email = "nobody@example.com" }, { number = "+15125550000" })
    assert.are.equal("not_found", none.status)
    local gone = tool("cancel_appointment", { phone = "512-555-0188", reason = "moved away" }, { number = "+15125550000" })
    assert.are.equal("cancelled", gone.status, json.encode(gone))
    assert.are.equal(r.appointment_id, gone.appointment_id)
    ev = by_id("calendar.event", r.appointment_id)
    assert.is_false(ev.active)
    assert.are.equal(stage_named("Visit Cancelled"), by_id("crm.lead", ev.res_id).stage_id)
    assert.are.equal("not_found", tool("find_appointment", {}, { number = num }).status)
  end)

  it("answers NEEDS_HUMAN with up to 3 suggested times when nothing is free then", function()
    local sunday = tz.format_iso(tz.parse_iso(tuesday(10)) - 2 * 86400, ZONE)      -- closed on Sundays
    local before = #events()
    local r = tool("schedule_appointment", book{ preferred_time = sunday, customer_name = "Pat Sunday" })
    assert.are.equal("NEEDS_HUMAN", r.status, json.encode(r))
    assert.truthy(#r.suggested_times >= 1 and #r.suggested_times <= 3, json.encode(r.suggested_times))
    for _, t in ipairs(r.suggested_times) do assert.truthy(tz.parse_iso(t) > tz.parse_iso(sunday)) end
    assert.are.equal(before, #events())
  end)

  it("answers NEEDS_HUMAN with the missing fields, and books nothing", function()
    local before = #events()
    local r = tool("schedule_appointment", { customer_name = "Lou", service_type = "maintenance", preferred_time = "tomorrow" })
    assert.are.equal("NEEDS_HUMAN", r.status)
    table.sort(r.missing_fields)
    assert.are.same({ "address", "zip" }, r.missing_fields)
    assert.are.equal(before, #events())
  end)

  it("answers NEEDS_HUMAN when Odoo is down or refuses (AccessError), never a promised visit", function()
    local before = #events()
    odoo:control("/_control/config", { rights = { ["7"] = { ["calendar.event"] = "r" } } })
    local r = tool("schedule_appointment", book{ preferred_time = tuesday(11, 0, 1), customer_name = "Ana Denied" })
    assert.are.equal("NEEDS_HUMAN", r.status, json.encode(r))
    assert.are.equal("odoo_refused", r.reason)
    assert.is_nil(r.appointment_id)
    odoo:control("/_control/config", { rights = {} })
    odoo:control("/_control/script", { faults = { { path = "/jsonrpc", status = 502, times = 40 } } })
    r = tool("schedule_appointment", book{ preferred_time = tuesday(11, 0, 2), customer_name = "Ana Down" })
    odoo:control("/_control/unscript", {})
    assert.are.equal("NEEDS_HUMAN", r.status, json.encode(r))
    assert.are.equal("odoo", r.reason)
    assert.is_nil(r.appointment_id)
    -- the dispatcher's call-back list: the conversation holds what was captured
    local conv = json.decode(redis.call("GET", "fh:conv:{hvac:vapi:call-" .. n .. "}"))
    assert.matches("Ana Down", json.encode(conv.data.needs_human))
    assert.are.equal(before, #events())
  end)

  it("books an emergency on the earliest visit today, else hands it to a dispatcher", function()
    local now = time.now()
    local lt = tz.local_time(now, tz.zone(ZONE))
    -- the first start on the half-hour grid an hour from now, 2 h + 15 min before 18:00, not Sunday
    local first = math.ceil((lt.hour * 60 + lt.min + 60) / 30) * 30
    local today_possible = lt.wday ~= 7 and first + 135 <= 18 * 60 and first >= 8 * 60
                           or (lt.wday ~= 7 and lt.hour * 60 + lt.min + 60 <= 8 * 60)
    local r = tool("schedule_appointment", book{ preferred_time = "next week", customer_name = "Eve Cold",
      notes = "no heat and my elderly mother lives here, it is freezing" }, { number = "+15125550199" })
    if today_possible then
      assert.are.equal("scheduled", r.status, json.encode(r))
      assert.are.equal("urgent", r.urgency)
      assert.are.equal(tz.date(now, ZONE), tz.date(tz.parse_iso(r.start), ZONE))
    else
      assert.are.equal("NEEDS_HUMAN", r.status, json.encode(r))
      assert.are.equal("emergency", r.reason)
    end
  end)

  it("answers a slow Odoo in time with NEEDS_HUMAN, and leaves no event made after the answer", function()
    odoo:control("/_control/script", { faults = { { path = "/jsonrpc", body_has = '"calendar.event","create"', delay_ms = 7000 } } })
    local r, raw = tool("schedule_appointment", book{ preferred_time = tuesday(13, 0, 1), customer_name = "Slow Sid" })
    assert.are.equal("NEEDS_HUMAN", r.status, json.encode(r))
    assert.truthy(raw.elapsed_ms < 8500, raw.elapsed_ms)                       -- Vapi waits 20 s; we promise 8
    -- the slow Odoo made it after we answered; the flow takes it away
    local ok = proc.wait_until(function()
      return #events(function(e) return e.name:find("Slow Sid", 1, true) and e.active ~= false end) == 0
             and #(redis.call("KEYS", "fh:fx:{hvac}:odoo:undo:*")) > 0
    end, 40)
    assert.is_true(ok, json.encode(events(function(e) return e.name:find("Slow Sid", 1, true) end)))
  end)

  it("gives a visit no technician fits to the dispatch user when the tenant allows unassigned bookings", function()
    -- a copy of the tenant where nobody installs in the central zone, with allow_unassigned
    local dir, env = proc.copy_tenant("hvac")
    proc.edit_file(dir .. "/tenants/hvac.lua", "allow_unassigned = false", "allow_unassigned = true")
    local biz = dir .. "/flows/hvac/business.lua"                  -- nobody installs any more
    proc.write_file(biz, (proc.read_file(biz):gsub("(does = {[^}]*})", function(list)
      return (list:gsub(',%s*"installation"', ""):gsub('"installation",%s*', ""))
    end)))
    local main = s
    local other = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1, HVAC_VAPI_SECRET = SECRET,
      HVAC_ODOO_URL = odoo.url, HVAC_ODOO_DB = "testdb", HVAC_ODOO_LOGIN = "bot@example.com", HVAC_ODOO_KEY = "odoo-key",
      HVAC_ODOO_DISPATCH_USER_ID = 2, FLOWHOST_TENANTS_DIR = env.FLOWHOST_TENANTS_DIR, FLOWHOST_FLOWS_DIR = env.FLOWHOST_FLOWS_DIR } }
    s = other
    local ok, err = pcall(function()
      local at = tuesday(14, 0, 2)
      local r = tool("schedule_appointment", book{ service_type = "new system estimate", preferred_time = at,
                                                   notes = "replace the old unit" }, { number = "+15125550177" })
      assert.are.equal("scheduled", r.status, json.encode(r))
      local ev = by_id("calendar.event", r.appointment_id)
      assert.are.equal(2, ev.user_id)                                   -- the dispatch user owns it
      assert.are.equal(tz.parse_iso(at), tz.parse_iso(ev.start, "UTC"))
    end)
    s = main
    proc.stop(other)
    proc.sh("rm -rf " .. dir)
    assert(ok, err)
  end)
end)

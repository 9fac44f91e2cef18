-- booking.calendar and booking.calendar_sync with a scripted connector in
-- place of the real ones: the declaration's checks, busy time merged into
-- availability (and its cache), an unreachable calendar, and the writes a
-- booking's changes make. The real connectors and fakes: tests/integration/
-- booking_calendar_spec.lua.
local booking = require "booking"
local calendar = require "booking.calendar"
local sync = require "booking.calendar_sync"
local tz = require "tz"
local crypto = require "crypto"
local redis = require "redis"
local time = require "time"

local DAY0 = tz.parse_iso("2030-03-04T00:00:00Z")          -- a Monday
local function at(hhmm) local h, m = hhmm:match("(%d+):(%d+)"); return DAY0 + h * 3600 + m * 60 end
local ALL = { "09:00-17:00" }
local MODEL = {
  timezone = "UTC", rules = { granularity = 60, min_notice = 0, horizon_days = 30, hold_minutes = 10 },
  services = { consult = { duration = 60 } },
  resources = { desk = { skills = { "consult" }, hours = { mon = ALL, tue = ALL, wed = ALL, thu = ALL, fri = ALL } } },
}
local CONNECTORS = { google_calendar = { credentials_env = "X_SA" }, odoo = { url = "http://o.example", db = "d",
                     login_env = "X_L", key_env = "X_K" } }

-- a connector stand-in: answers[op] = function(...) -> value | nil, word; records every call
local function stub(answers)
  local s = { calls = {} }
  function s.call(name, op, ...)
    s.calls[#s.calls + 1] = { name = name, op = op, args = { ... } }
    local fn = answers[op]
    if not fn then return nil, "bad request" end
    return fn(...)
  end
  function s.count(op)
    local n = 0
    for _, c in ipairs(s.calls) do if c.op == op then n = n + 1 end end
    return n
  end
  return s
end

local function google_busy(blocks)
  return function(cals)
    local busy = {}
    for i, b in ipairs(blocks) do busy[i] = { start = calendar.iso(b[1]), ["end"] = calendar.iso(b[2]) } end
    return { [cals[1]] = { busy = busy } }
  end
end

-- an engine whose busy time and writes go through calendar source(s) on s
local function setup(s, decl, res_decl)
  local id = "calspec-" .. crypto.random_hex(5)
  local sources = {}
  if decl then sources.all = assert(calendar.parse(decl, "calendar", CONNECTORS)) end
  if res_decl then sources["r.desk"] = assert(calendar.parse(res_decl, "booking.resources.desk.calendar", CONNECTORS)) end
  local cal = calendar.new{ tenant = id, zone = "UTC", sources = sources, call = s.call }
  local engine = assert(booking.new{ tenant = id, model = MODEL, now = function() return DAY0 - 86400 end,
    busy = cal.busy, on_change = function(b) return sync.changed(cal, cal.engine, b) end })
  cal.engine = engine
  return engine, cal
end

local function starts(slots)
  local out = {}
  for _, sl in ipairs(slots) do out[#out + 1] = tz.format_iso(sl.start, "UTC"):sub(12, 16) end
  return table.concat(out, " ")
end

local function day_slots(engine)
  return engine:slots{ service = "consult", from = at("00:00"), to = at("23:59") }
end

describe("calendar declarations", function()
  it("accepts a Google calendar and an Odoo user's calendar, with their defaults", function()
    local g = assert(calendar.parse({ google = "primary", connector = "google_calendar" }, "calendar", CONNECTORS))
    assert.are.same({ "google", "primary", "google_calendar", 60, true }, { g.kind, g.calendar, g.connector, g.freshness, g.write })
    local o = assert(calendar.parse({ odoo = { model = "calendar.event", user_id = 7 }, freshness = 30, write = false },
                                    "calendar", CONNECTORS))
    assert.are.same({ "odoo", 7, "calendar.event", 30, false }, { o.kind, o.user_id, o.model, o.freshness, o.write })
  end)

  it("names the field that is wrong", function()
    local function problem(decl, conns)
      return select(2, calendar.parse(decl, "calendar", conns or CONNECTORS))
    end
    assert.matches("calendar must name a calendar", problem({}))
    assert.matches("calendar names google or odoo, not both", problem({ google = "primary", odoo = { user_id = 1 } }))
    assert.matches("calendar.color: unknown field", problem({ google = "primary", color = "red" }))
    assert.matches("calendar.odoo.user_id must be the id", problem({ odoo = { user_id = "7" } }))
    assert.matches("calendar.odoo.team: unknown field", problem({ odoo = { user_id = 7, team = 1 } }))
    assert.matches("calendar.freshness must be seconds", problem({ google = "primary", freshness = 0 }))
    assert.matches("calendar.connector: a google calendar is read through the google_calendar connector",
                   problem({ google = "primary", connector = "odoo" }))
    assert.matches("declare the odoo connector", problem({ odoo = { user_id = 7 } }, { google_calendar = {} }))
  end)

  it("finds the tenant's calendar and each resource's, and wants a booking engine for them", function()
    local list = assert(calendar.declared{ calendar = { google = "primary" },
      booking = { resources = { desk = { calendar = { odoo = { user_id = 3 } } }, bay = {} } } })
    assert.are.same({ "all", "r.desk" }, { list[1].name, list[2].name })
    assert.are.equal("booking.resources.desk.calendar", list[2].where)
    local _, p = calendar.declared{ calendar = { google = "primary" } }
    assert.matches("declare booking = ", p.msg)
  end)

  it("gives a load error with the config file and line", function()
    local tenant = require "flow.tenant"
    tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows")
    local cfg = io.open("tests/fixtures/tenants/calco.lua"):read("*a")
    local bad = cfg:gsub('google = "primary"', 'google = "primary", colour = 1')
    local files = { ["tests/fixtures/tenants/calco.lua"] = bad }
    for _, f in ipairs{ "flow.lua", "messages.lua" } do
      files["tests/fixtures/flows/calco/" .. f] = io.open("tests/fixtures/flows/calco/" .. f):read("*a")
    end
    local t, problems = tenant.load("calco", { files = files, version = "x" })
    assert.is_nil(t)
    local line = select(2, bad:sub(1, bad:find("colour", 1, true)):gsub("\n", ""))
    assert.are.equal(("tests/fixtures/tenants/calco.lua:%d: booking.resources.desk.calendar.colour: unknown field (google, odoo, connector, freshness, write)")
      :format(line + 1), problems[1])
    -- a rep's calendar replaces the tenant's (and gives the rep its own engine)
    files["tests/fixtures/tenants/calco.lua"] = cfg:gsub("  booking = {", '  calendar = { google = "primary" },\n'
      .. '  reps = { anna = { calendar = { odoo = { user_id = 9 } } } },\n  booking = {', 1)
    t = assert(tenant.load("calco", { files = files, version = "y" }))
    tenant.folders()
    assert.are.same({ "google", "google", "odoo" }, { t.calendar.sources.all.kind, t.calendar.sources["r.desk"].kind,
                                                      t.reps.anna.calendar.sources.all.kind })
    assert.are.equal(9, t.reps.anna.calendar.sources.all.user_id)
    assert.are.equal("calco.anna", t.reps.anna.calendar.tenant)
    assert.are_not.equal(t.booking, t.reps.anna.booking)
  end)
end)

describe("busy time in availability", function()
  it("removes exactly the slots a busy block overlaps", function()
    local s = stub{ free_busy = google_busy{ { at("11:30"), at("12:15") } } }
    local engine = setup(s, { google = "primary" })
    assert.are.equal("09:00 10:00 13:00 14:00 15:00 16:00", starts(assert(day_slots(engine))))
    local _, cal2 = setup(stub{ free_busy = google_busy{} }, { google = "primary" })
    assert.are.same({}, cal2.busy("desk", at("00:00"), at("23:59")))
  end)

  it("reads a source once per freshness: a new busy block shows only after it", function()
    local blocks = {}
    local s = stub{ free_busy = function(cals) return google_busy(blocks)(cals) end }
    local engine = setup(s, { google = "primary", freshness = 1 })
    assert.are.equal("09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00", starts(day_slots(engine)))
    blocks[1] = { at("09:00"), at("10:00") }
    time.sleep(0.05)
    assert.are.equal("09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00", starts(day_slots(engine)))
    local fetched = s.count("free_busy")
    time.sleep(1.2)
    assert.are.equal("10:00 11:00 12:00 13:00 14:00 15:00 16:00", starts(day_slots(engine)))
    assert.are.equal(fetched + 1, s.count("free_busy"))
  end)

  it("answers 'calendar unavailable' (no slots) when the calendar cannot be read or is answered with errors", function()
    local engine = setup(stub{ free_busy = function() return nil, "unavailable" end }, { google = "primary" })
    assert.are.same({ nil, "calendar unavailable" }, { day_slots(engine) })
    assert.are.same({ nil, "calendar unavailable" }, { engine:next_free{ service = "consult", from = at("00:00") } })
    assert.are.same({ nil, "calendar unavailable" },
                    { engine:reserve{ service = "consult", start = at("10:00"), customer = { name = "Ana" } } })
    engine = setup(stub{ free_busy = function(c) return { [c[1]] = { errors = { { reason = "notFound" } }, busy = {} } } end },
                   { google = "primary" })
    assert.are.same({ nil, "calendar unavailable" }, { day_slots(engine) })
  end)

  it("reads an Odoo user's events (all-day ones over their local days) and applies a resource's calendar to it only", function()
    local s = stub{ search_read = function(model, domain, opts)
      assert.are.equal("calendar.event", model)
      assert.are.same({ "user_id", "=", 7 }, domain[3])
      assert.is_truthy(opts.fields)
      return { { id = 41, start = calendar.odoo_time(at("14:00")), stop = calendar.odoo_time(at("15:00")), allday = false },
               { id = 42, start = "2030-03-05 08:00:00", stop = "2030-03-05 18:00:00", allday = true,
                 start_date = "2030-03-05", stop_date = "2030-03-05" },
               { id = 43, start = calendar.odoo_time(at("09:00")), stop = calendar.odoo_time(at("10:00")), show_as = "free" } }
    end }
    local engine, cal = setup(s, nil, { odoo = { user_id = 7 } })
    assert.are.equal("09:00 10:00 11:00 12:00 13:00 15:00 16:00", starts(day_slots(engine)))
    assert.are.same({}, engine:slots{ service = "consult", from = at("00:00") + 86400, to = at("23:59") + 86400 })
    assert.are.same({}, cal.busy("other", at("00:00"), at("23:59")))
  end)

  it("does not count the events it wrote for its own bookings as busy time", function()
    assert.are.same({ { s = 0, e = 10 }, { s = 20, e = 30 } }, calendar.subtract({ s = 0, e = 30 }, { { s = 10, e = 20 } }))
    local s = stub{ free_busy = google_busy{ { at("10:00"), at("12:00") } } }
    local engine, cal = setup(s, { google = "primary" })
    redis.call("ZADD", calendar.mine_key(cal.tenant, "all"), at("12:00"), ("ev1|%d|%d"):format(at("11:00"), at("12:00")))
    assert.are.equal("09:00 11:00 12:00 13:00 14:00 15:00 16:00", starts(day_slots(engine)))
  end)
end)

describe("writing bookings to the calendar", function()
  local function writer(fail)
    local n = 0
    return stub{
      free_busy = google_busy{},
      insert_event = function(_, ev, o)
        if fail.insert then return nil, "unavailable" end
        n = n + 1
        return { id = "ev" .. n, key = o.key, start = ev.start }
      end,
      patch_event = function(_, id) return { id = id } end,
      delete_event = function() return true end,
    }
  end

  it("inserts on a reservation, patches on a reschedule, deletes on a cancel, each once, and keeps the event id", function()
    local s = writer{}
    local engine = setup(s, { google = "primary" })
    local b = assert(engine:reserve{ service = "consult", start = at("10:00"), customer = { name = "Ana", phone = "+100" } })
    assert.are.equal("ev1", b.refs.calendar.all.id)
    assert(engine:reserve{ service = "consult", start = at("10:00"), customer = { name = "Ana", phone = "+100" } })
    assert(engine:reschedule(b.id, at("13:00")))
    assert(engine:reschedule(b.id, at("13:00")))
    local c = assert(engine:cancel(b.id, "spec"))
    engine:cancel(b.id, "spec")
    assert.are.same({ 1, 1, 1 }, { s.count("insert_event"), s.count("patch_event"), s.count("delete_event") })
    for _, call in ipairs(s.calls) do
      if call.op == "patch_event" then
        assert.are.same({ "primary", "ev1", calendar.iso(at("13:00")) }, { call.args[1], call.args[2], call.args[3].start.dateTime })
      end
    end
    assert.is_true(c.refs.calendar.all.deleted)
    for _, call in ipairs(s.calls) do
      if call.op ~= "free_busy" then
        local key = call.args[#call.args].key
        assert.are.equal("cal:" .. engine:get(b.id).tenant .. ":all:" .. b.id .. ":", key:sub(1, #key - #key:match("[^:]*$")))
      end
    end
  end)

  it("writes nothing for a hold until it is confirmed", function()
    local s = writer{}
    local engine = setup(s, { google = "primary" })
    local b = assert(engine:reserve{ service = "consult", start = at("10:00"), hold = true, customer = { name = "Bo" } })
    assert.are.equal(0, s.count("insert_event"))
    assert.are.equal("ev1", assert(engine:confirm(b.id)).refs.calendar.all.id)
  end)

  it("keeps the booking when the write fails, leaves a retry timer, and the retry inserts once", function()
    local fail = { insert = true }
    local s = writer(fail)
    local engine, cal = setup(s, { google = "primary" })
    local b = assert(engine:reserve{ service = "consult", start = at("10:00"), customer = { name = "Cy" } })
    assert.are.equal("confirmed", b.status)
    assert.is_nil(b.refs and b.refs.calendar and b.refs.calendar.all.id)
    local tid = ("calsync:%s:%s:1"):format(cal.tenant, b.id)
    assert.is_truthy(redis.call("HGET", "fh:{timers}:data", tid))
    require("timer").cancel(tid)                       -- the spec plays the timer itself
    fail.insert = false
    assert.is_true(sync.run(cal, engine, b.id))
    assert.is_true(sync.run(cal, engine, b.id))
    assert.are.equal(2, s.count("insert_event"))      -- the failed one, and the one that landed
    assert.are.equal("ev1", engine:get(b.id).refs.calendar.all.id)
  end)
end)

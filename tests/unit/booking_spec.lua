-- booking: model checks, availability rules, and reservations against the
-- real Redis, including races that must not double-book.
local booking = require "booking"
local tz = require "tz"
local crypto = require "crypto"
local tasks = require "tasks"
local redis = require "redis"
local time = require "time"
local bit = require "bit"
local migrate = require "booking.migrate"

local ZONE = "Asia/Kolkata"
-- Monday 2030-01-07 00:00 in Kolkata
local MONDAY = tz.parse_iso("2030-01-07T00:00:00", ZONE)
local function at(day_offset, hhmm, zone)
  local h, m = hhmm:match("(%d+):(%d+)")
  local base = tz.add_days(MONDAY, day_offset, zone or ZONE)
  local lt = tz.local_time(base, zone or ZONE)
  return (tz.to_utc({ year = lt.year, month = lt.month, day = lt.day, hour = tonumber(h), min = tonumber(m) },
                    zone or ZONE))
end

local WEEK = { mon = { "09:00-13:00", "14:00-18:00" }, tue = { "09:00-13:00", "14:00-18:00" },
               wed = { "09:00-13:00" }, thu = { "09:00-18:00" }, fri = { "09:00-18:00" } }

local function decl(over)
  local d = {
    timezone = ZONE,
    id = { prefix = "SR-", length = 8 },
    rules = { granularity = 30, min_notice = 0, horizon_days = 30, hold_minutes = 10 },
    holidays = { "2030-01-09" },                                   -- the Wednesday
    services = {
      wash = { duration = 60, buffer_after = 30, price = 499 },
      detail = { duration = 120, skill = "detail" },
    },
    resources = {
      bay1 = { hours = WEEK, skills = { "wash", "detail" } },
      bay2 = { hours = WEEK, skills = { "wash" }, capacity = 2 },
    },
  }
  for k, v in pairs(over or {}) do d[k] = v end
  return d
end

-- now: a time, or a function giving the time (a clock the spec moves)
local function engine(over, now, busy)
  local clock = type(now) == "function" and now or function() return now or MONDAY - 86400 end
  local e = assert(booking.new{ tenant = "spec-" .. crypto.random_hex(6), model = decl(over),
                                now = clock, busy = busy })
  return e
end

local function starts(slots, zone)
  local out = {}
  for _, s in ipairs(slots) do out[#out + 1] = tz.format_iso(s.start, zone or ZONE):sub(12, 16) end
  return table.concat(out, " ")
end

describe("booking model", function()
  it("names the field that is wrong", function()
    local function err(over) return select(2, booking.new{ tenant = "t", model = decl(over) }) end
    assert.matches("timezone", err{ timezone = "Mars/Base" })
    assert.matches("services.wash.duration: must be a positive number of minutes",
                   err{ services = { wash = { duration = -5 } } }, 1, true)
    assert.matches("resources.bay1.hours.mon[1]", err{ resources = { bay1 = { hours = { mon = { "9-5" } } } } }, 1, true)
    assert.matches("resources.bay1.hours.funday", err{ resources = { bay1 = { hours = { funday = { "09:00-10:00" } } } } }, 1, true)
    assert.matches("rules.assignment", err{ rules = { assignment = "random" } }, 1, true)
    assert.matches("holidays[1]", err{ holidays = { "Christmas" } }, 1, true)
    assert.matches("services.long: blocks 2910 minutes with its buffers and every add-on; one booking may block at most 2880",
                   err{ services = { long = { duration = 2880, buffer_after = 30 } } }, 1, true)
  end)
end)

describe("booking availability", function()
  it("fills working hours on the grid, with the buffer, around the lunch break", function()
    local e = engine{ resources = { bay1 = { hours = WEEK, skills = { "wash" } } } }
    local s = assert(e:slots{ service = "wash", from = MONDAY, to = MONDAY + 86400 })
    -- 60 min + 30 min buffer inside 09:00-13:00 and 14:00-18:00
    assert.are.equal("09:00 09:30 10:00 10:30 11:00 11:30 14:00 14:30 15:00 15:30 16:00 16:30", starts(s))
    assert.are.same({ "bay1" }, s[1].resources)
    assert.are.equal(s[1].start + 3600, s[1]["end"])
  end)

  it("skips holidays and days off and honours notice and horizon", function()
    local e = engine({ resources = { bay1 = { hours = WEEK, skills = { "wash" }, days_off = { "2030-01-08" } } },
                       rules = { granularity = 30, min_notice = 120, horizon_days = 3 } }, at(0, "10:10"))
    local s = assert(e:slots{ service = "wash", from = MONDAY, to = MONDAY + 7 * 86400 })
    local days = {}
    for _, x in ipairs(s) do days[tz.date(x.start, ZONE)] = true end
    assert.is_nil(days["2030-01-08"])       -- day off
    assert.is_nil(days["2030-01-09"])       -- holiday
    -- 10:10 + 2 h notice: 12:30 would run past 13:00, so 14:00 is first
    assert.are.equal("2030-01-07T14:00:00+05:30", tz.format_iso(s[1].start, ZONE))
    -- horizon: Thursday 10:10 at the latest
    assert.are.equal("2030-01-10T10:00:00+05:30", tz.format_iso(s[#s].start, ZONE))
  end)

  it("removes booked time with buffers, counts capacity, and external busy time", function()
    local busy_calls = 0
    local e = engine(nil, nil, function(rid, from, to)
      busy_calls = busy_calls + 1
      if rid == "bay1" then return { { s = at(0, "15:00"), e = at(0, "16:00") } } end
      return {}
    end)
    assert(e:reserve{ service = "wash", start = at(0, "09:00"), resource = "bay1", customer = { phone = "+911" } })
    local s = assert(e:slots{ service = "wash", from = MONDAY, to = MONDAY + 86400, resource = "bay1" })
    -- 09:00 booked to 10:30 with the buffer; 15:00-16:00 busy in the calendar
    -- (a slot's buffer may not run into it either)
    assert.are.equal("10:30 11:00 11:30 16:00 16:30", starts(s))
    assert.is_true(busy_calls > 0)
    -- bay2 has capacity 2: one booking leaves it free
    assert(e:reserve{ service = "wash", start = at(0, "09:00"), resource = "bay2", customer = { phone = "+912" } })
    s = assert(e:slots{ service = "wash", from = at(0, "09:00"), to = at(0, "09:00"), resource = "bay2" })
    assert.are.equal("09:00", starts(s))
    assert(e:reserve{ service = "wash", start = at(0, "09:00"), resource = "bay2", customer = { phone = "+913" } })
    s = assert(e:slots{ service = "wash", from = at(0, "09:00"), to = at(0, "09:00"), resource = "bay2" })
    assert.are.equal("", starts(s))
  end)

  it("adds travel time between jobs in different areas", function()
    local e = engine{ rules = { granularity = 30, travel_minutes = 30 },
                      services = { fix = { duration = 60 } },
                      resources = { tech = { hours = WEEK, skills = { "fix" }, areas = { "north", "south" } } } }
    assert(e:reserve{ service = "fix", start = at(0, "11:00"), area = "north", customer = { phone = "+1" } })
    local north = starts(assert(e:slots{ service = "fix", from = at(0, "09:00"), to = at(0, "12:30"), area = "north" }))
    local south = starts(assert(e:slots{ service = "fix", from = at(0, "09:00"), to = at(0, "12:30"), area = "south" }))
    assert.are.equal("09:00 09:30 10:00 12:00", north)
    assert.are.equal("09:00 09:30", south)               -- 30 min travel on both sides
  end)

  it("keeps 09:00 local on a DST day and offers slots across local midnight", function()
    -- Sunday 2030-03-10 is the US spring-forward day
    local sat = tz.parse_iso("2030-03-09T00:00:00", "America/New_York")
    local e = engine({ timezone = "America/New_York",
                       services = { call = { duration = 60 } },
                       resources = { rep = { skills = { "call" }, hours = {
                         sat = { "22:00-24:00" }, sun = { "00:00-02:00", "09:00-11:00" } } } } }, sat - 86400)
    local s = assert(e:slots{ service = "call", from = sat, to = sat + 2 * 86400 })
    assert.are.equal("22:00 22:30 23:00 23:30 00:00 00:30 01:00 09:00 09:30 10:00",
                     starts(s, "America/New_York"))
    assert.are.equal("2030-03-10T09:00:00-04:00", tz.format_iso(s[8].start, "America/New_York"))
    assert.are.equal("2030-03-09T23:30:00-05:00", tz.format_iso(s[4].start, "America/New_York"))
  end)

  it("closes a resource's day once it has max_per_day bookings", function()
    local e = engine{ rules = { granularity = 30, max_per_day = 2 },
                      resources = { bay1 = { hours = WEEK, skills = { "wash" } } } }
    assert(e:reserve{ service = "wash", start = at(0, "09:00"), customer = { phone = "+1" } })
    assert.are_not.equal("", starts(assert(e:slots{ service = "wash", from = MONDAY, to = MONDAY + 86400 })))
    assert(e:reserve{ service = "wash", start = at(0, "14:00"), customer = { phone = "+2" } })
    assert.are.equal("", starts(assert(e:slots{ service = "wash", from = MONDAY, to = MONDAY + 86400 })))
    assert.are.equal("09:00", starts(assert(e:slots{ service = "wash", from = at(1, "09:00"), to = at(1, "09:00") })))
  end)

  it("finds the earliest free slot with next_free", function()
    local e = engine({ resources = { bay1 = { hours = { thu = { "09:00-11:00" } }, skills = { "wash" } } } }, MONDAY)
    local s = assert(e:next_free{ service = "wash" })
    assert.are.equal("2030-01-10T09:00:00+05:30", tz.format_iso(s.start, ZONE))
    local e2 = engine({ rules = { horizon_days = 1 }, resources = { bay1 = { hours = { thu = { "09:00-11:00" } }, skills = { "wash" } } } }, MONDAY)
    assert.are.same({ nil, "no free slot" }, { e2:next_free{ service = "wash" } })
  end)
end)

describe("booking reservations", function()
  it("lets exactly one of 1,000 concurrent reserves of one slot win (capacity 1)", function()
    local e = engine()
    local won, taken, other = 0, 0, {}
    local errors = tasks.run(1000, function(i)
      local b, err = e:reserve{ service = "detail", start = at(0, "14:00"), customer = { phone = "+91" .. i } }
      if b then won = won + 1 elseif err == "slot taken" then taken = taken + 1 else other[#other + 1] = err end
    end)
    assert.are.same({}, errors)
    assert.are.same({}, other)
    assert.are.equal(1, won)
    assert.are.equal(999, taken)
  end)

  it("lets exactly two win on a resource with capacity 2", function()
    local e = engine()
    local won = 0
    tasks.run(1000, function(i)
      if e:reserve{ service = "wash", resource = "bay2", start = at(0, "14:00"), customer = { phone = "+92" .. i } } then
        won = won + 1
      end
    end)
    assert.are.equal(2, won)
  end)

  it("returns the same booking for a retried reserve with the same key", function()
    local e = engine()
    local q = { service = "wash", start = at(1, "10:00"), customer = { name = "Rahul", phone = "+919876543210" },
                channel = "whatsapp", conversation = "c1" }
    local a, how = assert(e:reserve(q))
    assert.are.equal("ok", how)
    assert.matches("^SR%-[A-Z2-9]+$", a.id)
    assert.are.equal(11, #a.id)
    local b, how2 = assert(e:reserve(q))
    assert.are.equal("dup", how2)
    assert.are.equal(a.id, b.id)
    local k = { service = "wash", start = at(1, "11:00"), idempotency_key = "req-42" }
    assert.are.equal(assert(e:reserve(k)).id, assert(e:reserve(k)).id)
    assert.are.equal(1, #assert(e:by_customer("+919876543210")))
  end)

  it("assigns by policy: least loaded, round robin over time, preferred", function()
    local res = { a = { hours = WEEK, skills = { "wash" } }, b = { hours = WEEK, skills = { "wash" } },
                  c = { hours = WEEK, skills = { "wash" } } }
    local ll = engine{ resources = res }
    assert.are.equal("a", assert(ll:reserve{ service = "wash", start = at(0, "09:00"), resource = "a" }).resource)
    assert.are.equal("b", assert(ll:reserve{ service = "wash", start = at(0, "14:00") }).resource)
    local rr = engine{ resources = res, rules = { assignment = "round_robin" } }
    local got = {}
    for i, hh in ipairs{ "09:00", "11:00", "14:00", "16:00" } do
      got[i] = assert(rr:reserve{ service = "wash", start = at(1, hh) }).resource
    end
    assert.are.same({ "a", "b", "c", "a" }, got)
    local pf = engine{ resources = res, rules = { assignment = "preferred", preferred = { "c", "b" } } }
    assert.are.equal("c", assert(pf:reserve{ service = "wash", start = at(0, "09:00") }).resource)
    assert.are.equal("b", assert(pf:reserve{ service = "wash", start = at(0, "09:00") }).resource)
  end)

  it("holds a slot until confirmed, and an expired hold frees it", function()
    local now = MONDAY - 86400
    local e = engine({ rules = { hold_minutes = 5 } }, function() return now end)
    local h = assert(e:reserve{ service = "detail", start = at(0, "09:00"), hold = true, customer = { phone = "+1" } })
    assert.are.equal("held", h.status)
    assert.are.same({ nil, "slot taken" }, { e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+2" } } })
    local c = assert(e:confirm(h.id))
    assert.are.equal("confirmed", c.status)
    local h2 = assert(e:reserve{ service = "detail", start = at(0, "14:00"), hold = true, customer = { phone = "+3" } })
    now = now + 301
    assert.are.equal("expired", assert(e:get(h2.id)).status)
    local other = assert(e:reserve{ service = "detail", start = at(0, "14:00"), customer = { phone = "+4" } })
    assert.are.equal("confirmed", other.status)
    assert.are.same({ nil, "hold expired" }, { e:confirm(h2.id) })
  end)

  it("cancels, keeping the record and freeing the slot", function()
    local e = engine()
    local b = assert(e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+5" } })
    local c = assert(e:cancel(b.id, "customer asked"))
    assert.are.equal("cancelled", c.status)
    assert.are.equal("customer asked", c.cancel_reason)
    assert.are.equal("cancelled", c.history[#c.history].action)
    assert.are.equal("cancelled", assert(e:get(b.id)).status)
    local again = assert(e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+5" } })
    assert.are_not.equal(b.id, again.id)
    assert.are.same({ nil, "not found" }, { e:cancel("SR-NOPE") })
  end)

  it("reschedules atomically: racing a new booking of the target, exactly one wins and nothing is lost", function()
    for _ = 1, 20 do
      local e = engine{ resources = { bay1 = { hours = WEEK, skills = { "wash", "detail" } } } }
      local b = assert(e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+6" } })
      local moved, fresh
      tasks.run(2, function(i)
        if i == 1 then moved = { e:reschedule(b.id, at(0, "14:00")) }
        else fresh = { e:reserve{ service = "detail", start = at(0, "14:00"), customer = { phone = "+7" } } } end
      end)
      local wins = (moved[1] and 1 or 0) + (fresh[1] and 1 or 0)
      assert.are.equal(1, wins)
      local rec = assert(e:get(b.id))
      assert.are.equal("confirmed", rec.status)
      if moved[1] then
        assert.are.equal(at(0, "14:00"), rec.start)
        assert.truthy(rec.start_local:find("T14:00:00", 1, true), rec.start_local)   -- the local time moves too
        assert.are.equal("rescheduled", rec.history[#rec.history].action)
        -- the old slot is free again
        assert(e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+8" } })
      else
        assert.are.equal("slot taken", moved[2])
        assert.are.equal(at(0, "09:00"), rec.start)          -- still holds its old slot
        assert.are.same({ nil, "slot taken" },
          { e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+9" } } })
      end
    end
  end)

  it("looks bookings up by id, customer (upcoming first), resource and day", function()
    local now = MONDAY - 86400
    local e = engine(nil, function() return now end)
    local past = assert(e:reserve{ service = "wash", start = at(0, "09:00"), resource = "bay1", customer = { phone = "+10", email = "a@x" } })
    local later = assert(e:reserve{ service = "wash", start = at(2 + 1, "09:00"), resource = "bay1", customer = { phone = "+10" } })
    local soon = assert(e:reserve{ service = "wash", start = at(1, "15:00"), resource = "bay1", customer = { phone = "+10" } })
    now = at(1, "12:00")
    local list = assert(e:by_customer("+10"))
    assert.are.same({ soon.id, later.id, past.id }, { list[1].id, list[2].id, list[3].id })
    assert.are.equal(past.id, assert(e:by_customer("a@x"))[1].id)
    assert.are.equal(soon.id, assert(e:by_resource_day("bay1", "2030-01-08"))[1].id)
    assert.are.equal(1, #assert(e:by_day("2030-01-07")))
    local rec = assert(e:get(past.id))
    assert.are.equal("2030-01-07T09:00:00+05:30", rec.start_local)
    assert.are.equal("Asia/Kolkata", rec.timezone)
  end)
end)

describe("booking: a customer's view", function()
  local function who(channel, address, conversation)
    return { channel = channel, verified = channel .. ":" .. address,
             conversation = conversation or (channel .. ":" .. address),
             phone = address:match("^%d+$") and address or nil }
  end
  local ALICE, BOB = who("whatsapp", "919123456780"), who("whatsapp", "919000000001")
  local function wash(e, hh, extra)
    local q = { service = "wash", start = at(0, hh), customer = { name = "Alice", phone = "9123456780" } }
    for k, v in pairs(extra or {}) do q[k] = v end
    return e:reserve(q)
  end

  it("gives another identity exactly the answers a missing booking gets", function()
    local e = engine()
    local alice, bob = e:for_customer(ALICE), e:for_customer(BOB)
    local b = assert(wash(alice, "09:00"))
    local missing = { bob:get("SR-NOPE0000") }
    assert.are.same({ nil, "not found" }, missing)
    assert.are.same(missing, { bob:get(b.id) })
    assert.are.same(missing, { bob:cancel(b.id, "not mine") })
    assert.are.same(missing, { bob:confirm(b.id) })
    assert.are.same(missing, { bob:reschedule(b.id, at(0, "14:00")) })
    assert.are.same({}, bob:by_customer("9123456780"))
    assert.are.same({}, bob:mine())
    assert.are.equal("confirmed", assert(e:get(b.id)).status)      -- untouched
    assert.are.equal(at(0, "09:00"), assert(e:get(b.id)).start)
  end)

  it("lets the owner find, reschedule and cancel its own bookings", function()
    local e = engine()
    local alice = e:for_customer(ALICE)
    local b = assert(wash(alice, "09:00"))
    assert.are.equal(b.id, assert(alice:get(b.id)).id)
    assert.are.equal(b.id, assert(alice:by_customer("9123456780"))[1].id)
    assert.are.equal(b.id, assert(alice:mine())[1].id)
    local moved = assert(alice:reschedule(b.id, at(0, "14:00")))
    assert.are.equal(at(0, "14:00"), moved.start)
    assert.truthy(moved.start_local:find("T14:00:00", 1, true), moved.start_local)   -- the local time moves too
    assert.are.equal("cancelled", assert(alice:cancel(b.id, "changed plans")).status)
    assert.are.same({}, alice:mine())
  end)

  it("records the verified owner and conversation, whatever the flow passes", function()
    local e = engine()
    local b = assert(wash(e:for_customer(ALICE), "09:00",
                          { owner = BOB.verified, conversation = BOB.conversation, channel = "chat" }))
    local rec = assert(e:get(b.id))
    assert.are.equal(ALICE.verified, rec.owner)
    assert.are.equal(ALICE.conversation, rec.conversation)
    assert.are.equal("whatsapp", rec.channel)
  end)

  it("keeps idempotency keys per identity: another's key makes a booking of one's own", function()
    local e = engine()
    local a = assert(wash(e:for_customer(ALICE), "09:00", { idempotency_key = "k1", resource = "bay2" }))
    local b, how = wash(e:for_customer(BOB), "09:00", { idempotency_key = "k1", resource = "bay2" })
    assert.are.equal("ok", how)
    assert.are_not.equal(a.id, b.id)
    assert.are.equal(BOB.verified, b.owner)
  end)

  it("cannot be written: a field assignment raises, getmetatable gives nothing", function()
    local e = engine()
    local view = e:for_customer(ALICE)
    for _, obj in ipairs{ view, e } do
      local ok, err = pcall(function() obj.prefix = "bk:other:" end)
      assert.is_false(ok)
      assert.matches("this object is read-only", err, 1, true)
      ok = pcall(function() obj.get = function() end end)
      assert.is_false(ok)
      assert.is_false(getmetatable(obj))
      assert.is_nil(rawget(obj, "get"))
    end
  end)

  it("is not changed by rawset: the prefix and the identity live where no one can reach", function()
    local a, b = engine(), engine()
    local theirs = assert(wash(b, "09:00"))                -- another tenant's booking
    rawset(a, "prefix", "bk:{" .. theirs.tenant .. "}:")
    rawset(a, "tenant", theirs.tenant)
    assert.are.same({ nil, "not found" }, { a:get(theirs.id) })
    assert.are.same({ nil, "not found" }, { a:cancel(theirs.id) })
    assert.are.same({}, a:by_day("2030-01-07"))
    local view = b:for_customer(BOB)
    rawset(view, "owner", ALICE.verified)
    rawset(view, "verified", theirs.owner)
    assert.are.same({ nil, "not found" }, { view:get(theirs.id) })
    assert.are.equal("confirmed", assert(b:get(theirs.id)).status)
  end)

  it("offers no operator calls and cannot make a view for someone else", function()
    local view = engine():for_customer(ALICE)
    for _, name in ipairs{ "by_day", "by_resource_day", "complete", "no_show", "for_customer", "by_owner",
                           "prefix", "tenant", "m" } do
      assert.is_nil(view[name], name)
    end
    assert.has_error(function() engine():for_customer{ conversation = "chat:x" } end)
  end)

  it("counts a booking without owner as the customer's when its channel conversation is theirs", function()
    local e = engine()
    local old = assert(wash(e, "09:00", { conversation = ALICE.conversation, channel = "whatsapp" }))
    assert.are.equal(old.id, assert(e:for_customer(ALICE):get(old.id)).id)
    assert.are.same({ nil, "not found" }, { e:for_customer(BOB):get(old.id) })
    local chat = { channel = "chat", verified = "chat:c1", conversation = "chat:c1" }
    local o2 = assert(wash(e, "14:00", { conversation = "chat:c1" }))
    assert.are.same({ nil, "not found" }, { e:for_customer(chat):get(o2.id) })
  end)
end)

describe("booking: customer limits", function()
  it("replaces an identity's live hold with its newer one, freeing the first slot", function()
    local e = engine()
    local v = e:for_customer{ channel = "telegram", verified = "telegram:42", conversation = "telegram:42" }
    local first = assert(v:reserve{ service = "detail", start = at(0, "09:00"), hold = true })
    local second = assert(v:reserve{ service = "detail", start = at(0, "14:00"), hold = true })
    assert.are.equal("cancelled", assert(e:get(first.id)).status)
    assert.are.equal("replaced by a newer hold", assert(e:get(first.id)).cancel_reason)
    assert.are.equal("held", assert(e:get(second.id)).status)
    local live = v:mine()
    assert.are.equal(1, #live)
    assert.are.equal(second.id, live[1].id)
    -- the first slot is free again for anyone
    assert(e:reserve{ service = "detail", start = at(0, "09:00"), customer = { phone = "+77" } })
  end)

  it("limits holds per conversation too, across identities in it", function()
    local e = engine()
    local u1 = e:for_customer{ channel = "telegram", verified = "telegram:1", conversation = "telegram:group" }
    local u2 = e:for_customer{ channel = "telegram", verified = "telegram:2", conversation = "telegram:group" }
    local a = assert(u1:reserve{ service = "detail", start = at(0, "09:00"), hold = true })
    assert(u2:reserve{ service = "detail", start = at(0, "14:00"), hold = true })
    assert.are.equal("cancelled", assert(e:get(a.id)).status)
  end)

  it("keeps holds_per_customer live holds when the tenant allows more, and confirmed bookings are not holds", function()
    local now = MONDAY - 86400
    local e = engine({ rules = { granularity = 30, horizon_days = 30, holds_per_customer = 2 } },
                     function() return now end)
    local v = e:for_customer{ channel = "chat", verified = "chat:two", conversation = "chat:two" }
    local function hold(hh)
      now = now + 1                                   -- the oldest is the one taken first
      return assert(v:reserve{ service = "wash", start = at(0, hh), hold = true })
    end
    local a, b = hold("09:00"), hold("10:00")
    assert(v:confirm(b.id))
    local c = hold("11:00")
    assert.are.equal("held", assert(e:get(a.id)).status)
    local d = hold("14:00")
    assert.are.equal("cancelled", assert(e:get(a.id)).status)
    assert.are.equal("held", assert(e:get(c.id)).status)
    assert.are.equal("held", assert(e:get(d.id)).status)
    assert.are.equal("confirmed", assert(e:get(b.id)).status)
  end)

  it("refuses reservations over bookings_per_minute in any 60 s with 'rate limited'", function()
    local now = MONDAY - 86400 + 30                   -- mid-minute: no clock minute resets it
    local e = engine({ rules = { granularity = 30, horizon_days = 30, bookings_per_minute = 3 } },
                     function() return now end)
    local got = {}
    for i, hh in ipairs{ "09:00", "09:00", "10:30", "10:30", "14:00" } do  -- bay2 takes two at a time
      local v = e:for_customer{ channel = "chat", verified = "chat:r" .. i, conversation = "chat:r" .. i }
      got[i] = select(2, v:reserve{ service = "wash", start = at(0, hh), resource = "bay2" })
    end
    assert.are.same({ "ok", "ok", "ok", "rate limited", "rate limited" }, got)
    -- operators are not limited
    assert(e:reserve{ service = "wash", start = at(0, "14:00"), resource = "bay2" })
    now = now + 59                                  -- a sliding minute: still full
    local v = e:for_customer{ channel = "chat", verified = "chat:later", conversation = "chat:later" }
    assert.are.same({ nil, "rate limited" }, { v:reserve{ service = "wash", start = at(0, "14:00"), resource = "bay2" } })
    now = now + 1
    assert(v:reserve{ service = "wash", start = at(0, "14:00"), resource = "bay2" })
  end)
end)

-- Redis Cluster's slot of a key: CRC16 (XMODEM) of the key, or of the part
-- in its first {...} when that is not empty, modulo 16384
local function crc16(s)
  local crc = 0
  for i = 1, #s do
    crc = bit.bxor(crc, bit.lshift(s:byte(i), 8))
    for _ = 1, 8 do
      crc = bit.band(crc, 0x8000) ~= 0 and bit.bxor(bit.lshift(crc, 1), 0x1021) or bit.lshift(crc, 1)
      crc = bit.band(crc, 0xffff)
    end
  end
  return crc
end
local function slot(key)
  local open = key:find("{", 1, true)
  local close = open and key:find("}", open + 1, true)
  if close and close > open + 1 then key = key:sub(open + 1, close - 1) end
  return crc16(key) % 16384
end

local function prefix_of(b) return "bk:{" .. b.tenant .. "}:" end
local function indexed(key, id) return redis.call("ZSCORE", key, id) ~= redis.null end

describe("booking: what a reservation leaves in Redis", function()
  local ALICE = { channel = "whatsapp", verified = "whatsapp:919123456780", conversation = "whatsapp:919123456780" }
  local CUSTOMER = { name = "Alice", phone = "9123456780", email = "alice@example.com" }

  it("gives a hold's record the hold's time plus a day, and a confirmed booking no end", function()
    local now = MONDAY - 86400
    local e = engine({ rules = { hold_minutes = 5 } }, function() return now end)
    local v = e:for_customer(ALICE)
    local h = assert(v:reserve{ service = "detail", start = at(0, "09:00"), hold = true, customer = CUSTOMER })
    local key = prefix_of(h) .. "b:" .. h.id
    local ttl = redis.call("PTTL", key)
    assert.truthy(ttl > (300 + 86400 - 5) * 1000 and ttl <= (300 + 86400) * 1000, "PTTL " .. ttl)
    assert(v:confirm(h.id))
    assert.are.equal(-1, redis.call("PTTL", key))
    assert(v:cancel(h.id, "changed plans"))                  -- a confirmed booking, cancelled: kept
    assert.are.equal(-1, redis.call("PTTL", key))
    local booked = assert(e:reserve{ service = "detail", start = at(1, "09:00"), customer = { phone = "+1" } })
    assert.are.equal(-1, redis.call("PTTL", prefix_of(booked) .. "b:" .. booked.id))
    local done = assert(e:reserve{ service = "detail", start = at(1, "14:00"), hold = true })
    assert(e:complete(done.id))
    assert.are.equal(-1, redis.call("PTTL", prefix_of(done) .. "b:" .. done.id))
  end)

  it("keeps the life of a hold that is cancelled or replaced before it is confirmed", function()
    local e = engine()
    local v = e:for_customer(ALICE)
    local first = assert(v:reserve{ service = "detail", start = at(0, "09:00"), hold = true, customer = CUSTOMER })
    local second = assert(v:reserve{ service = "detail", start = at(0, "14:00"), hold = true, customer = CUSTOMER })
    assert.are.equal("cancelled", assert(e:get(first.id)).status)         -- replaced by the second
    assert.truthy(redis.call("PTTL", prefix_of(first) .. "b:" .. first.id) > 0)
    assert(v:cancel(second.id, "no longer needed"))
    assert.truthy(redis.call("PTTL", prefix_of(second) .. "b:" .. second.id) > 0)
  end)

  it("leaves no record and no index entry of a hold left to expire, once its record's life is over", function()
    local now = MONDAY - 86400
    local e = engine({ rules = { hold_minutes = 5 } }, function() return now end)
    local h = assert(e:for_customer(ALICE):reserve{ service = "detail", start = at(0, "09:00"), hold = true,
                                                    customer = CUSTOMER })
    local kept = assert(e:for_customer(ALICE):reserve{ service = "detail", start = at(0, "14:00"), hold = true,
                                                       customer = CUSTOMER })
    assert(e:confirm(kept.id))                           -- confirmed before its hold ran out
    local p = prefix_of(h)
    local index = { p .. "day:2030-01-07", p .. "rday:bay1:2030-01-07", p .. "cust:9123456780",
                    p .. "cust:alice@example.com", p .. "own:" .. ALICE.verified }
    for _, key in ipairs(index) do assert.is_true(indexed(key, h.id), key) end
    assert.are.equal(2, redis.call("ZCARD", p .. "holds"))
    now = now + 300 + 86400 + 1                          -- the hold's end, then a day
    assert(e:reserve{ service = "wash", start = at(1, "09:00"), customer = { phone = "+2" } })  -- sweeps
    assert.are.equal(0, redis.call("EXISTS", p .. "b:" .. h.id))
    for _, key in ipairs(index) do
      assert.is_false(indexed(key, h.id), key)
      assert.is_true(indexed(key, kept.id), key)
    end
    assert.are.equal(0, redis.call("EXISTS", p .. "holds"))
    assert.are.equal("confirmed", assert(e:get(kept.id)).status)
  end)

  it("skips and drops the index entries of a record that is gone, when no reservation swept them", function()
    local e = engine()
    local v = e:for_customer(ALICE)
    local h = assert(v:reserve{ service = "detail", start = at(0, "09:00"), hold = true, customer = CUSTOMER })
    local p = prefix_of(h)
    redis.call("PEXPIRE", p .. "b:" .. h.id, 1)          -- its life ran out
    local deadline = time.monotonic() + 2
    while redis.call("EXISTS", p .. "b:" .. h.id) == 1 and time.monotonic() < deadline do time.sleep(0.002) end
    assert.are.same({}, assert(e:by_day("2030-01-07")))
    assert.are.same({}, assert(e:by_resource_day("bay1", "2030-01-07")))
    assert.are.same({}, assert(e:by_customer("alice@example.com")))
    assert.are.same({}, assert(v:mine()))
    for _, key in ipairs{ p .. "day:2030-01-07", p .. "rday:bay1:2030-01-07", p .. "cust:alice@example.com",
                          p .. "own:" .. ALICE.verified } do
      assert.is_false(indexed(key, h.id), key)
    end
    assert.are.same({ nil, "not found" }, { v:confirm(h.id) })
  end)

  it("moves a rescheduled hold's index entries with it, so the sweep finds them", function()
    local now = MONDAY - 86400
    local e = engine({ rules = { hold_minutes = 5 } }, function() return now end)
    local h = assert(e:for_customer(ALICE):reserve{ service = "detail", start = at(0, "09:00"), hold = true,
                                                    customer = CUSTOMER })
    assert(e:reschedule(h.id, at(1, "14:00")))
    local p = prefix_of(h)
    assert.is_true(indexed(p .. "day:2030-01-08", h.id))
    now = now + 300 + 86400 + 1
    assert(e:reserve{ service = "wash", start = at(3, "09:00") })
    assert.is_false(indexed(p .. "day:2030-01-08", h.id))
    assert.is_false(indexed(p .. "rday:bay1:2030-01-08", h.id))
    assert.is_false(indexed(p .. "cust:9123456780", h.id))
  end)

  it("forgets occupancy that started over five days ago and keeps what is younger", function()
    local now = MONDAY - 86400
    local e = engine(nil, function() return now end)
    local old = assert(e:reserve{ service = "detail", start = at(0, "09:00"), resource = "bay1" })
    local young = assert(e:reserve{ service = "detail", start = at(1, "09:00"), resource = "bay1" })
    local occ = prefix_of(old) .. "occ:bay1"
    assert.are.equal(2, redis.call("ZCARD", occ))
    now = at(0, "09:00") + 5 * 86400 + 3600              -- 2 x 48 h + a day after the first
    local new = assert(e:reserve{ service = "detail", start = at(7, "09:00"), resource = "bay1" })
    local left = redis.call("ZRANGE", occ, 0, -1)
    assert.are.equal(2, #left)
    for _, m in ipairs(left) do assert.is_nil(m:find(old.id, 1, true)) end
    assert.truthy(table.concat(left, " "):find(young.id, 1, true))
    assert.truthy(table.concat(left, " "):find(new.id, 1, true))
    assert.are.equal("confirmed", assert(e:get(old.id)).status)      -- the booking itself stays
    assert.are.equal(old.id, assert(e:by_day("2030-01-07"))[1].id)
  end)

  it("puts every key of a tenant's bookings on one Redis Cluster slot", function()
    assert.are.equal(0x31C3, crc16("123456789"))                   -- the CRC Redis Cluster uses
    assert.are.equal(11058, slot("somekey"))
    assert.are.equal(2515, slot("foo{hash_tag}"))
    local e = engine{ rules = { granularity = 30, holds_per_customer = 1 } }
    local v = e:for_customer{ channel = "telegram", verified = "telegram:7", conversation = "telegram:group" }
    local h = assert(v:reserve{ service = "wash", start = at(0, "09:00"), hold = true, idempotency_key = "k",
                                customer = CUSTOMER })
    assert(v:reschedule(h.id, at(1, "09:00")))
    assert(v:confirm(h.id))
    assert(v:reserve{ service = "wash", start = at(3, "09:00"), hold = true, customer = CUSTOMER })
    assert(e:for_customer(ALICE):reserve{ service = "wash", start = at(0, "14:00"), customer = { phone = "+5" } })
    local keys = redis.call("KEYS", "bk:{" .. h.tenant .. "}:*")
    assert.truthy(#keys >= 12, #keys .. " keys")
    local want = slot(keys[1])
    for _, k in ipairs(keys) do assert.are.equal(want, slot(k), k) end
    assert.are.same({}, redis.call("KEYS", "*" .. h.tenant .. ":*"))  -- nothing without the tag
  end)

  it("moves bookings of the key layout before the hash tag to their tagged names #single_redis", function()
    local e = engine()
    local b = assert(e:reserve{ service = "detail", start = at(0, "09:00"), resource = "bay1", customer = { phone = "+61" } })
    local h = assert(e:reserve{ service = "detail", start = at(0, "14:00"), resource = "bay1", hold = true })
    local new, old = prefix_of(b), "bk:" .. b.tenant .. ":"
    redis.call("PERSIST", new .. "b:" .. h.id)              -- the old layout kept holds for good
    for _, k in ipairs(redis.call("KEYS", new .. "*")) do redis.call("RENAME", k, old .. k:sub(#new + 1)) end
    redis.call("ZADD", new .. "day:2030-01-07", 1, "SR-WRITTENNEW")  -- this version wrote one already
    redis.call("DEL", migrate.MARK)
    local done, err
    for _ = 1, 100 do                                      -- a call moves what it can in a second
      done, err = migrate.run(MONDAY, 1)
      assert(done ~= nil, err)
      if done then break end
    end
    assert.are.equal("2", redis.call("GET", migrate.MARK))
    assert.are.same({}, redis.call("KEYS", old .. "*"))
    assert.are.equal("confirmed", assert(e:get(b.id)).status)
    assert.are.same({ nil, "slot taken" },
                    { e:reserve{ service = "detail", start = at(0, "09:00"), resource = "bay1" } })
    assert.are.equal(3, redis.call("ZCARD", new .. "day:2030-01-07"))
    assert.truthy(redis.call("PTTL", new .. "b:" .. h.id) > 0)
    assert.are.equal(-1, redis.call("PTTL", new .. "b:" .. b.id))
    assert.is_true(done)
  end)
end)

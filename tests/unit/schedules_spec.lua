-- flow.schedules: reading a schedule, and its occurrences in the tenant's
-- zone, across DST changes.
local schedules = require "flow.schedules"
local tz = require "tz"

local function one(decl)
  local list, problem = schedules.parse{ s = decl }
  assert(list, problem and problem.msg)
  return list[1]
end

local function utc(s) return assert(tz.parse_iso(s, "UTC")) end

describe("flow.schedules", function()
  it("reads times and days as people write them", function()
    local s = one{ at = "20:00", days = "mon-sat", handler = "h" }
    assert.are.same({ 20, 0, 0 }, { s.hour, s.min, s.sec })
    assert.are.same({ true, true, true, true, true, true }, { s.days[1], s.days[2], s.days[3], s.days[4], s.days[5], s.days[6] })
    assert.is_nil(s.days[7])
    s = one{ at = "8:30pm", days = "sat-mon", handler = "h" }                    -- wraps the week
    assert.are.same({ 20, 30 }, { s.hour, s.min })
    assert.are.same({ true, true, true }, { s.days[6], s.days[7], s.days[1] })
    assert.is_nil(s.days[2])
    s = one{ at = "12am", handler = "h" }                                       -- daily by default
    assert.are.equal(0, s.hour)
    for d = 1, 7 do assert.is_true(s.days[d]) end
    s = one{ at = "07:05:30", days = "mon, wed ,fri", handler = "h" }
    assert.are.same({ 7, 5, 30 }, { s.hour, s.min, s.sec })
    assert.are.same({ true, true, true }, { s.days[1], s.days[3], s.days[5] })
    assert.are.equal(3600, s.catch_up)
  end)

  it("says what is wrong in plain words", function()
    local function problem(decl) return select(2, schedules.parse{ daily = decl }).msg end
    assert.truthy(problem{ at = "25:00", handler = "h" }:find("at = \"25:00\" is not a time", 1, true))
    assert.truthy(problem{ at = "8", handler = "h" }:find("is not a time", 1, true))
    assert.truthy(problem{ at = "20:00", days = "mon-funday", handler = "h" }:find("days = ", 1, true))
    assert.truthy(problem{ at = "20:00" }:find("handler", 1, true))
    assert.truthy(problem{ at = "20:00", handler = "h", catch_up = "1h" }:find("catch_up", 1, true))
  end)

  it("finds the next and the previous occurrence on its days", function()
    local s = one{ at = "20:00", days = "mon-sat", handler = "h" }
    -- Saturday 2026-12-05 21:00 in Kolkata: next is Monday 20:00 (no Sunday)
    local after = utc("2026-12-05T15:30:00")                       -- 21:00 IST
    assert.are.equal(utc("2026-12-07T14:30:00"), schedules.next(s, after, "Asia/Kolkata"))
    assert.are.equal(utc("2026-12-05T14:30:00"), schedules.previous(s, after, "Asia/Kolkata"))
    -- exactly at an occurrence: it is the previous one, the next is a day on
    local at = utc("2026-12-05T14:30:00")
    assert.are.equal(at, schedules.previous(s, at, "Asia/Kolkata"))
    assert.are.equal(utc("2026-12-07T14:30:00"), schedules.next(s, at, "Asia/Kolkata"))
  end)

  it("keeps the wall time across DST changes (New York, Berlin)", function()
    local s = one{ at = "20:00", handler = "h" }
    -- New York springs forward on Sunday 2026-03-08: 20:00 EST is 01:00 UTC, 20:00 EDT is 00:00 UTC
    local sat = schedules.next(s, utc("2026-03-07T12:00:00"), "America/New_York")
    assert.are.equal(utc("2026-03-08T01:00:00"), sat)
    assert.are.equal(utc("2026-03-09T00:00:00"), schedules.next(s, sat, "America/New_York"))
    -- Berlin falls back on Sunday 2026-10-25: 20:00 CEST is 18:00 UTC, 20:00 CET is 19:00 UTC
    local before = schedules.next(s, utc("2026-10-24T12:00:00"), "Europe/Berlin")
    assert.are.equal(utc("2026-10-24T18:00:00"), before)
    assert.are.equal(utc("2026-10-25T19:00:00"), schedules.next(s, before, "Europe/Berlin"))
    -- a time the clocks skip (02:30 on the New York spring day) runs when they jump forward
    local gap = one{ at = "02:30", handler = "h" }
    assert.are.equal(utc("2026-03-08T07:30:00"), schedules.next(gap, utc("2026-03-08T05:00:00"), "America/New_York"))
  end)
end)

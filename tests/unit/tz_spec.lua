-- tz: conversions checked against Python's zoneinfo (same system zoneinfo
-- files) for thousands of random instants and wall times, plus the DST
-- cases the booking engine depends on.
local tz = require "tz"

local ZONES = { "America/Mexico_City", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
                "Asia/Makassar", "Australia/Sydney", "UTC" }

local function reference(lines)
  os.execute("mkdir -p var/test")
  local f = assert(io.open("var/test/tz_in.txt", "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  assert(os.execute("python3 tests/support/tz_ref.py < var/test/tz_in.txt > var/test/tz_out.txt") == 0,
         "python3 zoneinfo reference failed")
  local out = {}
  for line in io.lines("var/test/tz_out.txt") do out[#out + 1] = line end
  return out
end

describe("tz", function()
  it("gives the same local time and offset as zoneinfo for 7,000 random instants (1970-2060)", function()
    math.randomseed(20261122)
    local cases, lines = {}, {}
    for _, z in ipairs(ZONES) do
      for _ = 1, 1000 do
        local t = math.random(0, 2871763200)                     -- 1970 .. 2061
        cases[#cases + 1] = { z, t }
        lines[#lines + 1] = ("L %s %d"):format(z, t)
      end
    end
    local ref = reference(lines)
    assert.are.equal(#cases, #ref)
    local bad = {}
    for i, c in ipairs(cases) do
      local lt = tz.local_time(c[2], c[1])
      local got = ("%d %d %d %d %d %d %d %d"):format(lt.year, lt.month, lt.day, lt.hour, lt.min, lt.sec,
                                                    lt.wday, lt.offset)
      if got ~= ref[i] and #bad < 5 then bad[#bad + 1] = c[1] .. " " .. c[2] .. ": " .. got .. " vs " .. ref[i] end
    end
    assert.are.same({}, bad)
  end)

  it("turns 7,000 random wall times into the instants zoneinfo gives (gaps forward, overlaps earlier)", function()
    math.randomseed(7)
    local cases, lines = {}, {}
    for _, z in ipairs(ZONES) do
      for _ = 1, 1000 do
        local f = { year = math.random(1971, 2059), month = math.random(1, 12), day = math.random(1, 28),
                    hour = math.random(0, 23), min = math.random(0, 59), sec = math.random(0, 59) }
        -- bias a quarter of them to the hours around DST changes
        if math.random() < 0.25 then f.month = ({ 3, 4, 10, 11 })[math.random(1, 4)]; f.hour = math.random(0, 3) end
        cases[#cases + 1] = { z, f }
        lines[#lines + 1] = ("U %s %d %d %d %d %d %d"):format(z, f.year, f.month, f.day, f.hour, f.min, f.sec)
      end
    end
    local ref = reference(lines)
    local bad = {}
    for i, c in ipairs(cases) do
      local t = tz.to_utc(c[2], c[1])
      if tostring(t) ~= ref[i] and #bad < 5 then
        bad[#bad + 1] = ("%s %d-%d-%d %d:%d:%d: %s vs %s"):format(c[1], c[2].year, c[2].month, c[2].day,
          c[2].hour, c[2].min, c[2].sec, tostring(t), ref[i])
      end
    end
    assert.are.same({}, bad)
  end)

  it("resolves a wall time in the spring-forward gap forward by the gap, or fails when asked", function()
    local f = { year = 2026, month = 3, day = 8, hour = 2, min = 30 }
    local t, how = tz.to_utc(f, "America/New_York")
    assert.are.equal("gap", how)
    assert.are.equal("2026-03-08T03:30:00-04:00", tz.format_iso(t, "America/New_York"))
    assert.are.same({ nil, "nonexistent local time" }, { tz.to_utc(f, "America/New_York", { gap = "fail" }) })
  end)

  it("resolves a wall time that happens twice to the earlier instant, or the later when asked", function()
    local f = { year = 2026, month = 11, day = 1, hour = 1, min = 30 }
    local t, how = tz.to_utc(f, "America/New_York")
    assert.are.equal("ambiguous", how)
    assert.are.equal("2026-11-01T01:30:00-04:00", tz.format_iso(t, "America/New_York"))
    local later = tz.to_utc(f, "America/New_York", { ambiguous = "later" })
    assert.are.equal(3600, later - t)
    assert.are.equal("2026-11-01T01:30:00-05:00", tz.format_iso(later, "America/New_York"))
  end)

  it("keeps 09:00 local at 09:00 across a DST change with add_days, and days 23 h long", function()
    local nine = tz.parse_iso("2026-03-28T09:00:00", "Europe/Berlin")
    local next_day = tz.add_days(nine, 1, "Europe/Berlin")
    assert.are.equal("2026-03-29T09:00:00+02:00", tz.format_iso(next_day, "Europe/Berlin"))
    assert.are.equal(23 * 3600, next_day - nine)
    local sod = tz.start_of_day(next_day, "Europe/Berlin")
    assert.are.equal("2026-03-29T00:00:00+01:00", tz.format_iso(sod, "Europe/Berlin"))
    assert.are.equal(7, tz.weekday(next_day, "Europe/Berlin"))    -- a Sunday
    assert.are.equal("2026-03-29", tz.date(next_day, "Europe/Berlin"))
  end)

  it("knows Mexico City stopped DST in 2022 and Kolkata keeps +05:30", function()
    assert.are.equal("2021-07-01T12:00:00-05:00",
      tz.format_iso(tz.parse_iso("2021-07-01T17:00:00Z"), "America/Mexico_City"))
    assert.are.equal("2026-07-01T11:00:00-06:00",
      tz.format_iso(tz.parse_iso("2026-07-01T17:00:00Z"), "America/Mexico_City"))
    assert.are.equal("2026-07-01T22:30:00+05:30", tz.format_iso(tz.parse_iso("2026-07-01T17:00:00Z"), "Asia/Kolkata"))
  end)

  it("parses ISO 8601 with Z, offsets, fractions and local times, and says what is wrong", function()
    assert.are.equal(0, tz.parse_iso("1970-01-01T00:00:00Z"))
    assert.are.equal(3600, tz.parse_iso("1970-01-01T02:00:00+01:00"))
    assert.are.equal(3600, tz.parse_iso("1970-01-01T02:00+0100"))
    assert.are.equal(0.5, tz.parse_iso("1970-01-01T00:00:00.5Z"))
    assert.are.equal(-19800, tz.parse_iso("1970-01-01", "Asia/Kolkata"))
    assert.are.same({ nil, "no offset and no zone" }, { tz.parse_iso("2026-01-01T10:00") })
    assert.are.same({ nil, "no such date" }, { tz.parse_iso("2026-02-29T10:00Z") })
    assert.are.same({ nil, "not an ISO 8601 date" }, { tz.parse_iso("tomorrow") })
    assert.are.same({ nil, "bad offset" }, { tz.parse_iso("2026-01-01T10:00:00+5") })
  end)

  it("answers nil, 'unknown zone' for names that are not zones (and never reads outside zoneinfo)", function()
    assert.are.same({ nil, "unknown zone" }, { tz.zone("Mars/Olympus") })
    assert.are.same({ nil, "unknown zone" }, { tz.zone("../../etc/passwd") })
    assert.has_error(function() tz.local_time(0, "Mars/Olympus") end)
  end)
end)

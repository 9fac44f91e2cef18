-- Booking engine benchmark (bench/booking.sh runs it inside the host):
--   availability: 50 resources over 14 days with 2,000 existing bookings,
--                 one query at a time on one worker (one core)
--   reservations: reserve + cancel pairs, 64 at a time, against local Redis
-- Prints the numbers; the only assertions are that the work was done.
local booking = require "booking"
local tz = require "tz"
local time = require "time"
local crypto = require "crypto"
local tasks = require "tasks"

local ZONE = "Asia/Kolkata"
local WEEK = { mon = { "09:00-13:00", "14:00-19:00" }, tue = { "09:00-13:00", "14:00-19:00" },
               wed = { "09:00-13:00", "14:00-19:00" }, thu = { "09:00-13:00", "14:00-19:00" },
               fri = { "09:00-13:00", "14:00-19:00" }, sat = { "10:00-16:00" } }

local WEEKDAYS = { 0, 1, 2, 3, 4, 7, 8, 9, 10, 11 }          -- Mon..Fri of two weeks
local HOURS = { 9, 10, 11, 12, 14, 15, 16, 17 }                -- around the lunch break

local function decl(n)
  local resources = {}
  for i = 1, n do resources[("r%02d"):format(i)] = { hours = WEEK, skills = { "cut", "color" } } end
  return {
    timezone = ZONE,
    rules = { granularity = 15, horizon_days = 60 },
    services = { cut = { duration = 45, buffer_after = 15 }, color = { duration = 90 } },
    resources = resources,
  }
end

describe("booking bench", function()
  local start = tz.parse_iso("2030-01-07T00:00:00", ZONE)          -- a Monday
  local now = start - 86400

  it("availability: 50 resources x 14 days, 2,000 bookings", function()
    local e = assert(booking.new{ tenant = "bench-" .. crypto.random_hex(4), model = decl(50),
                                  now = function() return now end })
    -- 2,000 bookings spread over the 14 days and 50 resources
    local made, day, slot = 0, 0, 0
    while made < 2000 do
      local t = tz.add_days(start, day % 14, ZONE) + (9 * 3600) + (slot % 8) * 3600
      local r = ("r%02d"):format(made % 50 + 1)
      if e:reserve{ service = "cut", start = t, resource = r, customer = { phone = "+9" .. made } } then
        made = made + 1
      end
      day = day + 1
      if day % 14 == 0 then slot = slot + 1 end
    end
    local q = { service = "cut", from = start, to = start + 14 * 86400 }
    local slots = assert(e:slots(q))                                 -- warm up
    local n, t0 = 50, time.monotonic()
    for _ = 1, n do slots = assert(e:slots(q)) end
    local per = (time.monotonic() - t0) / n * 1000
    print(("\n  availability, 50 resources x 14 days, 2,000 bookings: %.2f ms per query (%d slots)"):format(per, #slots))
    assert.is_true(#slots > 100)
  end)

  it("reservations: reserve/cancel pairs per second, 64 at a time", function()
    local e = assert(booking.new{ tenant = "bench-" .. crypto.random_hex(4), model = decl(50),
                                  now = function() return now end })
    local pairs_done, per_task = 0, 150
    local t0 = time.monotonic()
    local errors = tasks.run(64, function(i)
      for k = 1, per_task do
        local t = tz.add_days(start, WEEKDAYS[k % #WEEKDAYS + 1], ZONE) + (HOURS[i % 8 + 1]) * 3600
        local b = assert(e:reserve{ service = "cut", start = t, resource = ("r%02d"):format(i % 50 + 1),
                                    idempotency_key = i .. ":" .. k })
        assert(e:cancel(b.id, "bench"))
        pairs_done = pairs_done + 1
      end
    end, 120)
    local secs = time.monotonic() - t0
    assert.are.same({}, errors)
    print(("\n  reservations: %d reserve/cancel pairs in %.2f s = %.0f pairs/s"):format(pairs_done, secs, pairs_done / secs))
  end)
end)

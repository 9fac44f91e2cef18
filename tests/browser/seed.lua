-- Seeding for the studio's page-load test (tests/browser/studio.test.mjs),
-- run inside the host runtime against the world's Redis:
--   SEED_TENANT=carwash SEED_CONVERSATIONS=10000 SEED_BOOKINGS=2000 REDIS_URL=... \
--     flowhost test tests/browser/seed.lua
-- Conversations are written by flow.store.save, as a turn writes them (and
-- with the index it keeps), each with a customer's name, phone, a few lines
-- and a state. Bookings are made by the booking engine (reserve: held, then
-- confirmed) of the tenant, 200 a day from tomorrow, on a model with room
-- for them (20 bays open 08:00-20:00: the tenant's own 2 bays hold far
-- fewer, and its specs need exactly those 2).
local store = require "flow.store"
local booking = require "booking"
local time = require "time"
local tz = require "tz"
local tasks = require "tasks"

local TENANT = os.getenv("SEED_TENANT") or "carwash"
local ZONE = os.getenv("SEED_ZONE") or "Asia/Kolkata"
local CONVERSATIONS = tonumber(os.getenv("SEED_CONVERSATIONS") or "10000")
local BOOKINGS = tonumber(os.getenv("SEED_BOOKINGS") or "2000")
local PER_DAY, BAYS = 200, 20
local NAMES = { "Rahul", "Priya", "Amit", "Sneha", "Vikram", "Anjali", "Karan", "Meera", "Arjun", "Divya" }
local STATES = { "collect", "pick_time", "confirm", "done" }
local PARALLEL = 16

-- fn(i) for i = 1..n, PARALLEL at a time (Redis round trips overlap)
local function each(n, fn)
  local errors = tasks.run(PARALLEL, function(w)
    for i = w, n, PARALLEL do fn(i) end
  end, 120)
  assert.are.same({}, errors)
end

local function model()
  local every = { "08:00-20:00" }
  local week = { mon = every, tue = every, wed = every, thu = every, fri = every, sat = every, sun = every }
  local resources = {}
  for i = 1, BAYS do resources["bay" .. i] = { hours = week, skills = { "basic_wash" } } end
  return { timezone = ZONE, id = { prefix = "SR-", length = 8 },
           rules = { granularity = 30, min_notice = 0, horizon_days = 60, hold_minutes = 10 },
           services = { basic_wash = { duration = 30, price = 499 } }, resources = resources }
end

describe("seed", function()
  it(("writes %d conversations of %s"):format(CONVERSATIONS, TENANT), function()
    local now = time.now()
    each(CONVERSATIONS, function(i)
      local name = NAMES[i % #NAMES + 1] .. " " .. i
      local phone = ("98%08d"):format(i)
      local conv = {
        state = STATES[i % #STATES + 1], turns = 3, updated = now - i * 60,
        slots = { name = name, phone = phone, service = "basic_wash" },
        data = {}, history = {
          { who = "customer", text = "hi" },
          { who = "bot", text = "What's your name?" },
          { who = "customer", text = ("I am %s, %s"):format(name, phone) },
        },
      }
      assert(store.save(TENANT, ("seed-%05d"):format(i), conv, 24 * 3600))
    end)
  end)

  it(("books %d washes for %s, %d a day from tomorrow"):format(BOOKINGS, TENANT, PER_DAY), function()
    local e = assert(booking.new{ tenant = TENANT, model = model() })
    local today = tz.date(time.now(), ZONE)
    each(BOOKINGS, function(n)
      local i = n - 1
      local day = tz.add_days(tz.parse_iso(today .. "T00:00:00", ZONE), 1 + math.floor(i / PER_DAY), ZONE)
      local lt = tz.local_time(day, ZONE)
      local slot = math.floor((i % PER_DAY) / 10)   -- 10 bays at each half hour from 08:00
      local start = tz.to_utc({ year = lt.year, month = lt.month, day = lt.day, hour = 8 + math.floor(slot / 2),
                                min = (slot % 2) * 30 }, ZONE)
      local b, err = e:reserve{ service = "basic_wash", start = start, hold = true,
                                  customer = { name = "Seed " .. i, phone = ("+9197%08d"):format(i) } }
      assert(b, ("booking %d at %s: %s"):format(i, tz.format_iso(start, ZONE), tostring(err)))
      assert(e:confirm(b.id))
    end)
  end)
end)

-- Seeding for the studio's page-load test (tests/browser/studio.test.mjs),
-- run inside the host runtime against the world's Redis:
--   SEED_TENANT=carwash SEED_CONVERSATIONS=10000 REDIS_URL=... flowhost test tests/browser/seed_conversations.lua
-- Conversations are written by flow.store.save, as a turn writes them (and
-- with whatever index it keeps), each with a customer's name, phone, a few
-- lines and a state.
local store = require "flow.store"
local time = require "time"

local TENANT = os.getenv("SEED_TENANT") or "carwash"
local N = tonumber(os.getenv("SEED_CONVERSATIONS") or "10000")
local NAMES = { "Rahul", "Priya", "Amit", "Sneha", "Vikram", "Anjali", "Karan", "Meera", "Arjun", "Divya" }
local STATES = { "collect", "pick_time", "confirm", "done" }

describe("seed", function()
  it(("writes %d conversations of %s"):format(N, TENANT), function()
    local now = time.now()
    for i = 1, N do
      local name = NAMES[i % #NAMES + 1] .. " " .. i
      local phone = ("98%08d"):format(i)
      local conv = {
        state = STATES[i % #STATES + 1], turns = 3, updated = now - i * 60,
        slots = { name = name, phone = phone, service = "foam_wash" },
        data = {}, history = {
          { who = "customer", text = "hi" },
          { who = "bot", text = "What's your name?" },
          { who = "customer", text = ("I am %s, %s"):format(name, phone) },
        },
      }
      assert(store.save(TENANT, ("seed-%05d"):format(i), conv, 24 * 3600))
    end
  end)
end)

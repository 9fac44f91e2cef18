-- The studio's lists under load over real HTTP: with 10,000 conversations
-- and 2,000 bookings of one day in Redis, every list endpoint (a page, the
-- next page, searches by name and phone, a search that finds nothing,
-- bookings of the day, customers) answers within 1 s. The times are printed.
local proc = require "proc"
local studio = require "studio"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"
local tz = require "tz"
local store = require "flow.store"

local SALON = "sal-" .. crypto.random_hex(6)
local ZONE = "America/Mexico_City"

local function wipe(pattern)
  redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, pattern)
end
local WIPE = { "bk:{salon}:*", "fh:conv:{salon:*", "fh:convs:{salon}", "fh:studio:{salon}:*" }

describe("studio lists under load", function()
  local s, c, dir
  setup(function()
    for _, p in ipairs(WIPE) do wipe(p) end
    local env
    dir, env = proc.copy_tenant("salon", "studio-load")
    env.FLOWHOST_WORKERS = 2
    env.SALON_ADMIN_TOKEN = SALON
    s = proc.start{ config = "config/flowhost.lua", env = env }
    c = studio.new(s.url)
    assert.are.equal(200, (c:sign_in(SALON)))
  end)
  teardown(function()
    if s then proc.stop(s) end
    if dir then proc.sh("rm -rf " .. dir) end
    for _, p in ipairs(WIPE) do wipe(p) end     -- (the seeded thousands are not left to later specs)
  end)

  local function monday()
    for n = 1, 7 do
      local date = tz.date(tz.add_days(time.now(), n, ZONE), ZONE)
      local y, m, d = date:match("(%d+)-(%d+)-(%d+)")
      if os.date("!%w", os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 }) == "1" then return date end
    end
  end

  it("lists 10,000 conversations and 2,000 bookings within 1 s a page", function()
    local now = math.floor(time.now())
    local day = monday()
    local batch = {}
    local function flush()
      if #batch > 0 then assert(redis.pipeline(batch)); batch = {} end
    end
    local function add(cmd) batch[#batch + 1] = cmd; if #batch >= 1000 then flush() end end
    local filler = string.rep("una línea de conversación ", 20)
    for i = 1, 10000 do
      local id = ("twilio:whatsapp:+5215599%06d"):format(i)
      local conv = { state = "collect", slots = { name = "Cliente " .. i, phone = ("55 99%06d"):format(i) },
                     history = { { who = "customer", text = filler }, { who = "bot", text = filler } }, turns = 2 }
      conv.indexed = store.member(id, conv)                   -- as flow.store saves one
      add{ "SET", "fh:conv:{salon:" .. id .. "}", json.encode(conv), "EX", 3600 }
      add{ "ZADD", "fh:convs:{salon}", now + i, conv.indexed }  -- (newer than the conversations above)
    end
    for i = 1, 2000 do
      local id = ("SL-LOAD%05d"):format(i)
      local phone = ("+5255%08d"):format(i)
      add{ "SET", "bk:{salon}:b:" .. id, json.encode{ id = id, tenant = "salon", service = "corte", resource = "ana",
        start = now + 86400 + i * 60, ["end"] = now + 86400 + i * 60 + 2700, date = day, status = "confirmed",
        customer = { name = "Cliente " .. i, phone = phone }, history = {} } }
      add{ "ZADD", "bk:{salon}:day:" .. day, now + 86400 + i * 60, id }
      add{ "ZADD", "bk:{salon}:cust:" .. phone, now + 86400 + i * 60, id }
    end
    flush()
    local function timed(path)
      local t0 = time.monotonic()
      local st, b = c:call("GET", "tenants/salon/" .. path)
      local took = time.monotonic() - t0
      assert.are.equal(200, st, path)
      print(("\n  GET %-44s %4.0f ms"):format(path, took * 1000))
      assert.is_true(took < 1, path .. " took " .. took .. " s")
      return b
    end
    local page = timed("conversations")
    assert.are.equal(50, #page.conversations)
    assert.are.equal("twilio:whatsapp:+5215599010000", page.conversations[1].id)   -- newest first
    local nxt = timed("conversations?cursor=" .. page.next)
    local seen = {}
    for _, x in ipairs(page.conversations) do seen[x.id] = true end
    for _, x in ipairs(nxt.conversations) do assert.is_nil(seen[x.id]); seen[x.id] = true end
    assert.is_true(nxt.conversations[1].updated <= page.conversations[50].updated)
    local found = timed("conversations?q=Cliente%2042")                      -- by name
    assert.is_true(#found.conversations > 0)
    for _, x in ipairs(found.conversations) do assert.truthy(x.name:find("Cliente 42", 1, true)) end
    found = timed("conversations?q=5599000017")                               -- by phone
    assert.are.equal("twilio:whatsapp:+5215599000017", found.conversations[1].id)
    local rare = timed("conversations?q=nobody-has-this")                      -- a miss walks, within its budget
    assert.are.equal(0, #rare.conversations)
    local b = timed("bookings?day=" .. day)
    assert.are.equal(50, #b.bookings)
    assert.truthy(b.next)
    timed("bookings?day=" .. day .. "&cursor=1950")
    local cu = timed("customers")
    assert.is_true(#cu.customers >= 1)
    timed("customers?q=%2B525500001999")
    timed("health")
  end)
end)

-- Bursts: a customer who types "hi" / "I'm Rahul Sharma" / "my number is
-- 98765 43210" as three quick messages gets one turn and one answer, the
-- texts in order; a message after a quiet moment is a turn of its own.
-- Over Telegram against the fake Bot API, with a 700 ms debounce.
local proc = require "proc"
local vendor = require "vendor"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local TOKEN = "777001:" .. crypto.random_hex(12)
local SECRET = "tg_" .. crypto.random_hex(8)

describe("burst debounce", function()
  local s, fake
  setup(function()
    -- the fake numbers its updates from 1 each time it starts: forget the
    -- update ids (and their outboxes) an earlier run left in this Redis
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
      0, "fh:seen:{carwash}:telegram:*")
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
      0, "fh:out:{carwash}:telegram:*")
    fake = vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_DEBOUNCE_MS = 700,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake.url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function send(chat, text)
    local u = fake:control("/_control/make_update", { chat_id = chat, text = text, first_name = "Ana" })
    local r = fake:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/telegram", secret = SECRET,
                                                   update = u, times = 1, gap_ms = 0 })
    assert.are.same({ 200 }, r.statuses, json.encode(r))
    return r
  end

  local function replies(chat)
    local out = {}
    for _, m in ipairs(fake:control("/_control/sent?token=" .. TOKEN .. "&method=sendMessage").sent) do
      if tostring(m.params.chat_id) == tostring(chat) and m.status == 200 then out[#out + 1] = m.params.text end
    end
    return out
  end

  local function conversation(chat)
    local v = redis.call("GET", "fh:conv:{carwash:telegram:" .. chat .. "}")
    return type(v) == "string" and json.decode(v) or nil
  end

  -- the conversation once `turns` turns have run and their replies are out
  -- (and a while longer: a turn too many would show)
  local function settle(chat, turns)
    local last, t0 = -1, time.monotonic()
    while time.monotonic() - t0 < 8 do
      local c = conversation(chat)
      local n = #replies(chat)
      if c and c.turns >= turns and n > 0 and n == last then return c end
      last = n
      time.sleep(0.5)
    end
    error("no answer settled for chat " .. chat)
  end

  it("answers three quick messages with one turn, in order; a later message is a turn of its own", function()
    local chat = tonumber(crypto.random_hex(5), 16) + 2000000
    local t0 = time.monotonic()
    send(chat, "hi")
    send(chat, "I'm Rahul Sharma")
    send(chat, "my number is 98765 43210")
    local c = settle(chat, 1)
    assert.are.equal(1, c.turns, json.encode(c))
    assert.are.equal("Rahul Sharma", c.slots.name, json.encode(c.slots))       -- the later texts were read
    assert.are.equal("9876543210", c.slots.phone, json.encode(c.slots))
    assert.truthy(time.monotonic() - t0 >= 0.7, "answered before the burst was over")
    local first = #replies(chat)
    -- after a quiet moment: a turn of its own
    send(chat, "Honda City")
    c = settle(chat, 2)
    assert.are.equal(2, c.turns, json.encode(c))
    assert.truthy(#replies(chat) > first)
  end)
end)

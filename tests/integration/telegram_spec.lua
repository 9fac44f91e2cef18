-- Telegram end to end against the fake Bot API (tests/fakes/telegram.py):
-- webhooks signed with the secret token, the durable inbound stream, the
-- consumer answering through sendMessage; duplicates, forgeries, 429s.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local TOKEN = "777000:" .. crypto.random_hex(12)
local SECRET = "tg_" .. crypto.random_hex(8)

-- a chat no earlier run has used
local function new_chat() return tonumber(crypto.random_hex(5), 16) + 1000000 end

describe("telegram channel", function()
  local s, fake, fake_url
  setup(function()
    -- the fake numbers its updates from 1 each time it starts: forget the
    -- update ids an earlier run left in this Redis
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
      0, "fh:seen:{carwash}:telegram:*")
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
      0, "fh:out:{carwash}:telegram:*")
    redis.call("DEL", "fh:tg-offset:{carwash}")
    fake = vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    fake_url = fake.url
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, CARWASH_TELEGRAM_TYPING = 1,
      CARWASH_TELEGRAM_DELAY_PER_CHAR = 0.001,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function control(path, body) return fake:control(path, body) end

  local function update(chat, text, button)
    return (control("/_control/make_update", { chat_id = chat, text = text, callback_data = button, first_name = "Ana" }))
  end

  local function deliver(u, opts)
    opts = opts or {}
    return (control("/_control/deliver", { url = s.url .. "/webhooks/carwash/telegram",
      secret = opts.secret == nil and SECRET or opts.secret or json.null, update = u,
      times = opts.times or 1, gap_ms = opts.gap_ms or 0 }))
  end

  local function sent_to(chat)
    local out = {}
    for _, m in ipairs(control("/_control/sent?token=" .. TOKEN .. "&method=sendMessage").sent) do
      if tostring(m.params.chat_id) == tostring(chat) and m.status == 200 then out[#out + 1] = m end
    end
    return out
  end

  local function wait_sent(chat, n, secs)
    local t0 = time.monotonic()
    while #sent_to(chat) < n do
      if time.monotonic() - t0 > (secs or 5) then
        error(("%d replies to %s, expected %d; the fake saw: %s"):format(#sent_to(chat), chat, n,
          json.encode(control("/_control/sent?token=" .. TOKEN).sent)), 2)
      end
      time.sleep(0.05)
    end
    return sent_to(chat)
  end

  it("books a car wash end to end over Telegram", function()
    local chat = new_chat()
    local n = 0
    local function say(text, button, expect)
      local r = deliver(update(chat, text, button))
      assert.are.same({ 200 }, r.statuses)
      n = n + (expect or 1)
      return wait_sent(chat, n)
    end
    local got = say("hi", nil, 2)
    assert.truthy(got[2].params.text:find("name", 1, true))
    say("Rahul Sharma"); say("98765 43210"); say("Honda City")
    got = say("MH12AB1234")
    local kb = got[#got].params.reply_markup.inline_keyboard
    assert.are.equal("basic_wash", kb[1][1].callback_data)
    say(nil, "basic_wash"); say("none")
    got = say("tomorrow")
    local slot = got[#got].params.reply_markup.inline_keyboard[1][1].callback_data
    got = say(nil, slot)
    assert.truthy(got[#got].params.text:find("Rs. 499", 1, true))
    got = say(nil, "confirm")
    assert.truthy(got[#got].params.text:find("SR%-%w+"), got[#got].params.text)
    -- "typing…" went out before each reply, and the reply came a little later
    local calls = control("/_control/sent?token=" .. TOKEN).sent
    local typing, before = 0, 0
    for i, c in ipairs(calls) do
      if tostring(c.params.chat_id) == tostring(chat) and c.method == "sendChatAction" then
        typing = typing + 1
        local nxt = calls[i + 1]
        if nxt and nxt.method == "sendMessage" and nxt.at > c.at then before = before + 1 end
      end
    end
    assert.are.equal(n, typing)
    assert.truthy(before > 0)
  end)

  it("sends media by URL (a message the business starts)", function()
    local chat = new_chat()
    proc.stop(s)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = "tg-admin",
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url } }
    local r = assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/messages",
      headers = { Authorization = "Bearer tg-admin", ["Content-Type"] = "application/json" },
      body = json.encode{ channel = "telegram", to = tostring(chat), text = "Your car, clean",
                          media = { url = "https://example.com/car.jpg", kind = "image" } } })
    assert.are.equal(200, r.status, r.body)
    local photos = control("/_control/sent?token=" .. TOKEN .. "&method=sendPhoto").sent
    local last = photos[#photos]
    assert.are.same({ 200, "https://example.com/car.jpg", "Your car, clean" }, { last.status, last.params.photo, last.params.caption })
  end)

  it("sends a scheduled message when its durable timer fires", function()
    local chat = new_chat()
    local r = assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/messages",
      headers = { Authorization = "Bearer tg-admin", ["Content-Type"] = "application/json" },
      body = json.encode{ channel = "telegram", to = tostring(chat), text = "Reminder: your wash is at 10:00",
                          at = time.now() + 1 } })
    assert.are.equal(202, r.status, r.body)
    assert.are.equal(0, #sent_to(chat))
    local got = wait_sent(chat, 1, 5)
    assert.are.equal("Reminder: your wash is at 10:00", got[1].params.text)
  end)

  it("rejects forged and missing secrets and stores nothing", function()
    local before = redis.call("XLEN", "fh:in:{carwash}")
    local u = update(600001, "hi")
    assert.are.same({ 403 }, deliver(u, { secret = "forged" }).statuses)
    assert.are.same({ 401 }, deliver(u, { secret = false }).statuses)
    assert.are.equal(before, redis.call("XLEN", "fh:in:{carwash}"))
  end)

  it("answers a webhook delivered three times (at once and later) once", function()
    local chat = new_chat()
    local u = update(chat, "hi")
    assert.are.same({ 200, 200 }, deliver(u, { times = 2 }).statuses)
    wait_sent(chat, 2)
    time.sleep(0.5)
    assert.are.same({ 200 }, deliver(u).statuses)
    time.sleep(0.5)
    assert.are.equal(2, #sent_to(chat))                -- greeting + question, once
  end)

  it("keeps to the tenant's send rate (CARWASH_TELEGRAM_RATE messages a second)", function()
    proc.stop(s)                                   -- only the slow host reads the stream now
    local slow = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1, CARWASH_TELEGRAM_RATE = 2,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url } }
    local chats = { new_chat(), new_chat(), new_chat() }
    local t0 = time.monotonic()
    for _, c in ipairs(chats) do
      control("/_control/deliver", { url = slow.url .. "/webhooks/carwash/telegram", secret = SECRET,
        update = update(c, "hi"), times = 1 })
    end
    for _, c in ipairs(chats) do wait_sent(c, 2, 10) end     -- 6 messages at 2 a second
    local took = time.monotonic() - t0
    proc.stop(slow)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url } }
    -- one-second windows of 2: six messages span three windows, so more than 1 s
    assert.truthy(took >= 1, ("6 messages took %.2f s"):format(took))
  end)

  it("works without a public URL through getUpdates (long polling)", function()
    proc.stop(s)
    local polling = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, CARWASH_TELEGRAM_POLLING = 1,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url } }
    local chat = new_chat()
    local u = update(chat, "hi")
    u.update_id = nil                                -- the fake numbers queued updates itself
    control("/_control/update", { token = TOKEN, update = u })
    local got = wait_sent(chat, 2, 10)
    assert.truthy(got[2].params.text:find("name", 1, true))
    proc.stop(polling)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url } }
  end)

  it("a 429 from Telegram is retried after the hinted wait; one reply is delivered", function()
    local chat = new_chat()
    control("/_control/script", { token = TOKEN, steps = { { status = 429, retry_after = 1 } } })
    local t0 = time.monotonic()
    deliver(update(chat, "hello"))
    local got = wait_sent(chat, 2, 8)
    assert.truthy(time.monotonic() - t0 >= 1, "retried before the hinted second")
    time.sleep(0.3)
    assert.are.equal(2, #sent_to(chat))
  end)
end)


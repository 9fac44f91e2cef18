-- A tenant's people: messages to them (c:notify, once), a staff member
-- writing to the bot (the flow's staff handler), and the hand-off: relay
-- both ways, end by command and by the tenant's words, the queue when the
-- person is busy, the timeout, the admin list and metrics. The fixture
-- tenant "ticker" has its owner on Telegram (the fake Bot API); customers
-- write on Telegram too, so every relay goes over the channel.
local proc = require "proc"
local vendor = require "vendor"
local chat = require "chat"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local TOKEN = "777002:" .. crypto.random_hex(12)
local OWNER = tostring(tonumber(crypto.random_hex(4), 16) + 5000000)
local SECRET = "sec-" .. crypto.random_hex(6)
local ADMIN = "adm-" .. crypto.random_hex(8)

describe("staff", function()
  local s, fake
  setup(function()
    -- the fake numbers its updates from 1 each time it starts: forget the
    -- update ids (and their outboxes) an earlier run left in this Redis
    -- (and hand-offs an earlier run left open)
    for _, pattern in ipairs{ "fh:seen:{ticker}:telegram:*", "fh:out:{ticker}:telegram:*", "fh:ho:{ticker}:*" } do
      redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, pattern)
    end
    fake = vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2,
      FLOWHOST_TENANTS_DIR = "tests/fixtures/tenants", FLOWHOST_FLOWS_DIR = "tests/fixtures/flows",
      TICKER_TELEGRAM_TOKEN = TOKEN, TICKER_TELEGRAM_SECRET = SECRET,
      TICKER_OWNER_CHAT = OWNER, TELEGRAM_API_URL = fake.url, TICKER_HANDOFF_TIMEOUT = 3,
      FLOWHOST_ADMIN_TOKEN = ADMIN } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function to_chat(chat)
    local out = {}
    for _, m in ipairs(fake:control("/_control/sent?token=" .. TOKEN .. "&method=sendMessage").sent) do
      if tostring(m.params.chat_id) == tostring(chat) and m.status == 200 then out[#out + 1] = m.params.text end
    end
    return out
  end
  local function to_owner() return to_chat(OWNER) end

  -- a Telegram message from chat to the tenant's webhook
  local function from(chat, text)
    local u = fake:control("/_control/make_update", { chat_id = tonumber(chat), text = text, first_name = "Ana" })
    local r = fake:control("/_control/deliver", { url = s.url .. "/webhooks/ticker/telegram", secret = SECRET,
                                                   update = u, times = 1, gap_ms = 0 })
    assert.are.same({ 200 }, r.statuses, json.encode(r))
  end

  -- waits for the n-th message to chat and returns it
  local function nth(chat, n)
    assert.truthy(proc.wait_until(function() return #to_chat(chat) >= n end, 8, 0.05),
      ("no message %d to %s; it got: %s"):format(n, chat, json.encode(to_chat(chat))))
    return to_chat(chat)[n]
  end

  local function handoffs()
    local r = assert(require("http").request{ url = s.url .. "/admin/tenants/ticker/handoffs",
      headers = { Authorization = "Bearer " .. ADMIN } })
    assert.are.equal(200, r.status, r.body)
    return json.decode(r.body).handoffs
  end

  it("c:notify sends the owner the tenant's message on their channel, once per call", function()
    local c = chat.new(s.url)
    local r = c:say("ticker", "a", "tell owner")
    assert.are.equal(200, r.status, r.body)
    assert.are.equal("I told the owner.", json.decode(r.body).replies[1].text)
    assert.truthy(proc.wait_until(function() return #to_owner() >= 1 end, 5, 0.05), "nothing reached the owner")
    local id = c:id("ticker", "a")
    assert.are.same({ "Olga, a customer asked for you (chat:" .. id .. ")." }, to_owner())
    c:say("ticker", "a", "tell owner")                      -- another turn, another message
    assert.truthy(proc.wait_until(function() return #to_owner() >= 2 end, 5, 0.05))
    time.sleep(0.5)
    assert.are.equal(2, #to_owner())
  end)

  it("does not hand an angry customer off when the tenant says handoff_on_sentiment = false", function()
    local a = tostring(tonumber(crypto.random_hex(4), 16) + 6000000)
    from(a, "This is the worst service ever!!! I am furious, useless bot, terrible terrible")
    assert.are.equal("pong", nth(a, 1))
    assert.are.equal(0, #handoffs())
  end)

  it("answers the owner's own messages with the flow's staff handler", function()
    local before = #to_owner()
    from(OWNER, "today")
    assert.are.equal("Olga, 0 bookings today.", nth(OWNER, before + 1))
  end)

  it("hands a customer to the owner and back: relay both ways, queue, end, timeout", function()
    local a = tostring(tonumber(crypto.random_hex(4), 16) + 7000000)
    local b = tostring(tonumber(crypto.random_hex(4), 16) + 8000000)
    local o = #to_owner()
    from(a, "ping")
    assert.are.equal("pong", nth(a, 1))
    from(a, "I want to talk to a human")
    assert.are.equal("A colleague will write.", nth(a, 2))
    local open = nth(OWNER, o + 1)
    local id = open:match("^Hand%-off #(%x+):")
    assert.truthy(id, open)
    assert.truthy(open:find("asks for a person", 1, true), open)
    -- the customer's words reach the owner, the bot says nothing
    from(a, "my car is still dirty")
    assert.are.equal("#" .. id .. " telegram:" .. a .. ": my car is still dirty", nth(OWNER, o + 2))
    -- the owner's answer reaches the customer
    from(OWNER, "Sorry! Come back at 5, it's on us")
    assert.are.equal("Sorry! Come back at 5, it's on us", nth(a, 3))
    -- a second customer while the owner is busy: told to wait, queued
    from(b, "agent please")
    assert.are.equal("A colleague will write.", nth(b, 1))
    assert.truthy(nth(b, 2):find("You're next", 1, true))
    local list = handoffs()
    assert.are.equal(2, #list)
    assert.are.same({ "open", "queued" }, { list[1].state, list[2].state })
    assert.is_true(list[1].answered)
    -- the owner ends it with the tenant's words: both are told, b's opens
    from(OWNER, "done.")
    assert.truthy(nth(a, 4):find("back with our assistant", 1, true))
    local ended = nth(OWNER, o + 3)
    assert.truthy(ended:find("Hand-off #" .. id .. " ended.", 1, true), ended)
    local id2 = ended:match("Hand%-off #(%x+): telegram:" .. b)
    assert.truthy(id2, ended)
    -- the bot answers a again from where it was
    from(a, "ping")
    assert.are.equal("pong", nth(a, 5))
    -- b's hand-off times out after 3 s without a message: both are told
    assert.truthy(nth(b, 3):find("stepped away", 1, true))
    assert.truthy(nth(OWNER, o + 4):find("Hand-off #" .. id2 .. " ended after", 1, true))
    assert.are.equal(0, #handoffs())
    from(b, "ping")
    assert.are.equal("pong", nth(b, 4))
    -- an /end with nothing open
    from(OWNER, "/end")
    assert.truthy(nth(OWNER, o + 5):find("no open hand-off", 1, true))
    -- counted
    local m = require("http").request{ url = s.url .. "/metrics" }.body
    assert.truthy(m:find('flowhost_handoffs_total{tenant="ticker",event="opened"} 2', 1, true), m:match("flowhost_handoffs[^\n]*"))
    assert.truthy(m:find('flowhost_handoffs_total{tenant="ticker",event="timed_out"} 1', 1, true))
  end)
end)

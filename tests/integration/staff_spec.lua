-- Messages to a tenant's people (c:notify): rendered from the tenant's
-- messages, sent on the person's channel through the outbox, once. The
-- fixture tenant "ticker" has its owner on Telegram (the fake Bot API).
local proc = require "proc"
local vendor = require "vendor"
local chat = require "chat"
local json = require "json"
local time = require "time"
local crypto = require "crypto"

local TOKEN = "777002:" .. crypto.random_hex(12)
local OWNER = tostring(tonumber(crypto.random_hex(4), 16) + 5000000)

describe("staff", function()
  local s, fake
  setup(function()
    fake = vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2,
      FLOWHOST_TENANTS_DIR = "tests/fixtures/tenants", FLOWHOST_FLOWS_DIR = "tests/fixtures/flows",
      TICKER_TELEGRAM_TOKEN = TOKEN, TICKER_TELEGRAM_SECRET = "sec-" .. crypto.random_hex(6),
      TICKER_OWNER_CHAT = OWNER, TELEGRAM_API_URL = fake.url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function to_owner()
    local out = {}
    for _, m in ipairs(fake:control("/_control/sent?token=" .. TOKEN .. "&method=sendMessage").sent) do
      if tostring(m.params.chat_id) == OWNER and m.status == 200 then out[#out + 1] = m.params.text end
    end
    return out
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
end)

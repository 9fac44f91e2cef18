-- Replies in doubt against the vendor fakes (docs/exactly-once.md): the
-- vendor takes a reply and its answer is lost on the way back (the fakes'
-- {"lose_answer": true} step). Telegram cannot tell: the tenant's rule
-- decides (carwash: the default, "resend": the customer gets it twice,
-- never zero times). WhatsApp (biz_opaque_callback_data on the status
-- webhooks) and Twilio (the StatusCallback URL) can: their status callback
-- settles the doubt and the reply is not sent again.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local crypto = require "crypto"

local TG_TOKEN = "777000:" .. crypto.random_hex(12)
local TG_SECRET = "tgd_" .. crypto.random_hex(8)
local WA_TOKEN = "EAAG" .. crypto.random_hex(16)
local WA_SECRET = "app_" .. crypto.random_hex(8)
local PHONE_ID = ("%.0f"):format(100000000000000 + tonumber(crypto.random_hex(5), 16))
local SID = "AC" .. crypto.random_hex(16)
local AUTH = crypto.random_hex(16)

describe("replies in doubt", function()
  local s, tg, wa, tw, port
  setup(function()
    tg = vendor.start("telegram", "/_control/sent?token=" .. TG_TOKEN)
    wa = vendor.start("whatsapp", "/_control/sent?phone_number_id=" .. PHONE_ID)
    tw = vendor.start("twilio", "/_control/sent?account_sid=" .. SID)
    port = proc.free_port()
    local base = "http://127.0.0.1:" .. port .. "/webhooks/carwash/"
    -- the fakes post their statuses to the host, signed
    wa:control("/_control/config", { status_url = base .. "whatsapp", app_secret = WA_SECRET, status_delay_ms = 50 })
    tw:control("/_control/config", { status_delay_ms = 50 })
    s = proc.start{ config = "config/flowhost.lua", port = port, env = { FLOWHOST_WORKERS = 2,
      CARWASH_TELEGRAM_TOKEN = TG_TOKEN, CARWASH_TELEGRAM_SECRET = TG_SECRET, TELEGRAM_API_URL = tg.url,
      CARWASH_TELEGRAM_RATE = 1000,
      CARWASH_WHATSAPP_TOKEN = WA_TOKEN, CARWASH_WHATSAPP_APP_SECRET = WA_SECRET,
      CARWASH_WHATSAPP_PHONE_ID = PHONE_ID, WHATSAPP_API_URL = wa.url,
      CARWASH_TWILIO_ACCOUNT_SID = SID, CARWASH_TWILIO_AUTH_TOKEN = AUTH, CARWASH_TWILIO_WEBHOOK_URL = base .. "twilio",
      TWILIO_API_URL = tw.url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    for _, f in ipairs{ tg, wa, tw } do if f then f:stop() end end
  end)

  local function doubts(outcome)
    local m = assert(http.request{ url = s.url .. "/metrics", timeout = 5 })
    return tonumber(m.body:match(('flowhost_replies_in_doubt_total{tenant="carwash",outcome="%s"} (%%d+)'):format(outcome))) or 0
  end

  -- texts the fake recorded as taken, in order
  local function texts(fake, path, keep, field)
    local out = {}
    for _, m in ipairs(fake:sent(path, keep)) do out[#out + 1] = field(m) end
    return out
  end

  it("Telegram: resent under in_doubt = resend (the customer gets it twice, never zero times)", function()
    local before = doubts("resent")
    tg:control("/_control/script", { token = TG_TOKEN, steps = { { method = "sendMessage", lose_answer = true } } })
    local chat = 500000 + tonumber(crypto.random_hex(3), 16)
    local r = tg:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/telegram", secret = TG_SECRET,
      update = tg:control("/_control/make_update", { chat_id = chat, text = "hi" }) })
    assert.are.same({ 200 }, r.statuses)
    local path = "/_control/sent?token=" .. TG_TOKEN .. "&method=sendMessage"
    local function mine(m) return m.params.chat_id == chat and m.status == 200 end
    tg:wait_sent(path, mine, 3, 15)
    local got = texts(tg, path, mine, function(m) return m.params.text end)
    assert.are.equal(3, #got)
    assert.are.equal(got[1], got[2])                   -- the reply in doubt, twice
    assert.are_not.equal(got[2], got[3])
    assert.are.equal(before + 1, doubts("resent"))
  end)

  it("WhatsApp: the status webhook for biz_opaque_callback_data settles it: sent once", function()
    local before = doubts("confirmed")
    wa:control("/_control/script", { phone_number_id = PHONE_ID, steps = { { lose_answer = true } } })
    local from = ("91%.0f"):format(9000000000 + tonumber(crypto.random_hex(4), 16) % 999999999)
    local r = wa:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/whatsapp", app_secret = WA_SECRET,
      payload = wa:control("/_control/make_message", { from = from, text = "hi", phone_number_id = PHONE_ID }) })
    assert.are.same({ 200 }, r.statuses)
    local path = "/_control/sent?phone_number_id=" .. PHONE_ID
    local function mine(m) return m.params.to == from and m.status == 200 end
    local got = wa:wait_sent(path, mine, 2, 15)
    for i, m in ipairs(got) do                         -- each reply names itself for the statuses
      assert.truthy(tostring(m.params.biz_opaque_callback_data):find("^fh1:" .. i .. ":whatsapp:"), json.encode(m.params))
    end
    proc.wait_until(function() return doubts("confirmed") > before end, 10)
    assert.are.equal(before + 1, doubts("confirmed"))
    assert.are.equal(2, #wa:sent(path, mine))          -- the greeting was not sent again
  end)

  it("Twilio: the StatusCallback settles it: sent once", function()
    local before = doubts("confirmed")
    tw:control("/_control/script", { account_sid = SID, steps = { { lose_answer = true } } })
    local who = ("whatsapp:+91%.0f"):format(9000000000 + tonumber(crypto.random_hex(4), 16) % 999999999)
    local msg = tw:control("/_control/make_message", { from = who, to = "whatsapp:+14155238886", body = "hi",
      account_sid = SID }).params
    local r = tw:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/twilio", auth_token = AUTH,
      params = msg, signature = "good" })
    assert.are.same({ 200 }, r.statuses)
    local path = "/_control/sent?account_sid=" .. SID
    local function mine(m) return m.params.To == who and m.status == 201 end
    local got = tw:wait_sent(path, mine, 2, 15)
    assert.truthy(tostring(got[1].params.StatusCallback):find("?fh_reply=fh1%3A1%3Atwilio%3A", 1, true),
                  json.encode(got[1].params))
    proc.wait_until(function() return doubts("confirmed") > before end, 10)
    assert.are.equal(before + 1, doubts("confirmed"))
    assert.are.equal(2, #tw:sent(path, mine))
    -- the callbacks were accepted (signed over the URL with fh_reply)
    for _, c in ipairs(tw:control("/_control/callbacks").callbacks) do
      if c.url:find("fh_reply=", 1, true) then assert.are.equal(200, c.status, json.encode(c)) end
    end
  end)
end)

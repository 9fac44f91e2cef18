-- Odd input from verified senders (issue 13, section 5): correctly signed
-- vendor payloads with missing fields or fields of the wrong type are
-- acknowledged with 2xx (a 5xx makes the vendor retry for days), kept in
-- the tenant's dead-letter stream with the reason, and counted in
-- /metrics; the channel goes on answering normal messages. The odd
-- payloads are signed here with the tenant's real secrets; the normal ones
-- come through the fake vendors (tests/fakes/*.py), which also record the
-- replies.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"
local form = require "channels.form"
local twilio = require "channels.twilio"

local TG_TOKEN, TG_SECRET = "777001:" .. crypto.random_hex(12), "tg_" .. crypto.random_hex(8)
local WA_TOKEN, WA_SECRET = "EAAG" .. crypto.random_hex(16), "app_" .. crypto.random_hex(8)
local WA_PHONE_ID = ("%.0f"):format(100000000000000 + tonumber(crypto.random_hex(5), 16))
local TW_SID, TW_AUTH = "AC" .. crypto.random_hex(16), crypto.random_hex(16)
local WAPI_TOKEN, WAPI_SECRET = "wapi_" .. crypto.random_hex(16), "whsec_" .. crypto.random_hex(8)
local VAPI_SECRET = "vapi_" .. crypto.random_hex(8)
local DEAD = "fh:dead:{carwash}"

local function digits(n) return ("%.0f"):format(10 ^ (n - 1) + tonumber(crypto.random_hex(6), 16) % (9 * 10 ^ (n - 1))) end
local function hmac(secret, body) return "sha256=" .. crypto.hex(crypto.hmac_sha256(secret, body)) end

describe("odd input from verified senders", function()
  local s, hook
  local fake = {}
  setup(function()
    fake.telegram = vendor.start("telegram", "/_control/sent?token=" .. TG_TOKEN)
    fake.whatsapp = vendor.start("whatsapp", "/_control/sent?phone_number_id=" .. WA_PHONE_ID)
    fake.twilio = vendor.start("twilio", "/_control/sent?account_sid=" .. TW_SID)
    fake.wapi = vendor.start("wapi")
    fake.wapi:control("/_control/config", { token = WAPI_TOKEN, secret = WAPI_SECRET })
    local port = proc.free_port()
    hook = "http://127.0.0.1:" .. port .. "/webhooks/carwash/twilio"
    s = proc.start{ config = "config/flowhost.lua", port = port, env = { FLOWHOST_WORKERS = 2,
      CARWASH_TELEGRAM_TOKEN = TG_TOKEN, CARWASH_TELEGRAM_SECRET = TG_SECRET, TELEGRAM_API_URL = fake.telegram.url,
      CARWASH_WHATSAPP_TOKEN = WA_TOKEN, CARWASH_WHATSAPP_APP_SECRET = WA_SECRET,
      CARWASH_WHATSAPP_PHONE_ID = WA_PHONE_ID, WHATSAPP_API_URL = fake.whatsapp.url,
      CARWASH_TWILIO_ACCOUNT_SID = TW_SID, CARWASH_TWILIO_AUTH_TOKEN = TW_AUTH, CARWASH_TWILIO_WEBHOOK_URL = hook,
      TWILIO_API_URL = fake.twilio.url,
      CARWASH_WAPI_TOKEN = WAPI_TOKEN, CARWASH_WAPI_SECRET = WAPI_SECRET, WAPI_API_URL = fake.wapi.url .. "/api/v1",
      CARWASH_VAPI_SECRET = VAPI_SECRET } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    for _, f in pairs(fake) do f:stop() end
  end)

  -- each channel's own way of proving the sender
  local SIGN = {
    telegram = function(body) return { ["X-Telegram-Bot-Api-Secret-Token"] = TG_SECRET } end,
    whatsapp = function(body) return { ["X-Hub-Signature-256"] = hmac(WA_SECRET, body) } end,
    wapi = function(body) return { ["X-Wapi-Signature"] = hmac(WAPI_SECRET, body) } end,
    vapi = function() return { Authorization = "Bearer " .. VAPI_SECRET } end,
    twilio = function(body)
      local params, names = form.decode(body)
      return { ["X-Twilio-Signature"] = twilio.signature(TW_AUTH, hook, params, names),
               ["Content-Type"] = "application/x-www-form-urlencoded" }
    end,
  }

  local function post(channel, body, headers)
    headers = headers or SIGN[channel](body)
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
    return assert(http.request{ method = "POST", url = s.url .. "/webhooks/carwash/" .. channel,
                                headers = headers, body = body, timeout = 15 })
  end

  -- the dead-letter stream's newest id, and the entries after one
  local function mark()
    local last = redis.call("XREVRANGE", DEAD, "+", "-", "COUNT", 1)
    return type(last) == "table" and last[1] and last[1][1] or "0-0"
  end
  local function dead_after(id)
    local out = {}
    for _, e in ipairs(redis.call("XRANGE", DEAD, "(" .. id, "+")) do
      local f = {}
      for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
      out[#out + 1] = f
    end
    return out
  end

  local function unusable_total(channel, reason)
    local text = assert(http.request{ url = s.url .. "/metrics" }).body
    local series = ('flowhost_webhook_unusable_total{tenant="carwash",channel="%s",reason="%s"} '):format(channel, reason)
    local at = text:find(series, 1, true)
    if not at then return 0 end
    return tonumber(text:sub(at + #series):match("^(%S+)"))
  end

  -- posts each case {body, word, where, n = entries (default 1)} and checks
  -- the answer, the dead letters and the counter
  local function each_is_kept(channel, cases, check_answer)
    for _, c in ipairs(cases) do
      local body, word, where = c[1], c[2], c[3]
      local since, before = mark(), unusable_total(channel, word)
      local r = post(channel, body)
      assert.are.equal(200, r.status, channel .. " " .. body .. " -> " .. r.status .. " " .. r.body)
      if check_answer then check_answer(r, c) end
      local got = dead_after(since)
      assert.are.equal(c.n or 1, #got, channel .. " " .. body .. ": " .. json.encode(got))
      for _, d in ipairs(got) do
        assert.are.same({ "webhook", channel, word }, { d.source, d.channel, d.reason }, body)
        assert.truthy(d.error:find(where, 1, true), ("%s: the reason '%s' does not name %s"):format(body, d.error, where))
        assert.truthy(#d.body > 0)
      end
      assert.are.equal(before + (c.n or 1), unusable_total(channel, word), body)
    end
  end

  local function update_id() return tonumber(digits(9)) end

  it("acknowledges Telegram updates it cannot use, keeps them with the reason and counts them", function()
    local function u(fmt) return (fmt:gsub("UID", tostring(update_id()))) end
    each_is_kept("telegram", {
      { u '{"update_id":UID,"message":{"chat":{},"text":"x"}}', "missing field", "message.chat.id" },
      { u '{"update_id":UID,"message":{"chat":{"id":null},"text":"x"}}', "missing field", "message.chat.id" },
      { u '{"update_id":UID,"callback_query":{"id":"cb1","data":"confirm"}}', "missing field", "callback_query" },
      { u '{"update_id":UID,"message":{"chat":{"id":5},"photo":[]}}', "empty list", "message.photo" },
      { u '{"update_id":UID,"message":{"chat":{"id":"abc"},"text":"x"}}', "wrong type", "message.chat.id" },
      { u '{"update_id":UID,"message":{"chat":{"id":5},"text":{"a":1}}}', "wrong type", "message.text" },
      { u '{"update_id":UID,"message":{"chat":{"id":5.5},"text":"x"}}', "wrong type", "message.chat.id" },
      { u '{"update_id":UID,"message":{"chat":{"id":5},"document":{"file_id":7.25}}}', "wrong type", "message.document.file_id" },
      { '{"update_id":"7","message":{"chat":{"id":5},"text":"x"}}', "wrong type", "update_id" },
      { "[1,2,3]", "wrong type", "expected object" },
      { "not json at all", "bad json", "" },
    })
  end)

  it("acknowledges WhatsApp messages and statuses it cannot use, one by one", function()
    local function wa(value)
      return json.encode{ object = "whatsapp_business_account", entry = { { id = "1", changes = { {
        field = "messages", value = value } } } } }
    end
    local from = "91" .. digits(10)
    each_is_kept("whatsapp", {
      { wa{ messages = { { from = from, type = "text", text = { body = "hi" } } } }, "missing field", "messages[1].id" },
      { wa{ messages = { { id = "wamid.x" .. crypto.random_hex(4), type = "text", text = { body = "hi" } } } },
        "missing field", "messages[1].from" },
      { wa{ statuses = { { id = { x = 1 }, status = "read" } } }, "wrong type", "statuses[1].id" },
      { wa{ messages = { { id = "wamid.y", from = from, type = "text", text = { body = 42 } } } }, "wrong type", "text.body" },
      { wa{ messages = { { id = "wamid.z", from = "91{x}", type = "text", text = { body = "hi" } } } }, "bad value", "from" },
      { wa{ messages = { a = 1 } }, "wrong type", "value.messages" },
      { wa{ statuses = { { id = "wamid.s1" }, { status = "read" } } }, "missing field", "statuses[", n = 2 },
      { '{"object":"whatsapp_business_account","entry":"x"}', "wrong type", "entry" },
      { '{"object":"whatsapp_business_account"}', "missing field", "entry" },
    })
  end)

  it("acknowledges WAPI messages without a phone, and sends nothing to phone_number \"nil\"", function()
    each_is_kept("wapi", {
      { '{"contact":{"name":"Rahul"},"message":{"id":"m1","type":"text","body":"hi"}}', "missing field", "contact.phone_number" },
      { '{"contact":"919876543210","message":{"id":"m2","body":"hi"}}', "wrong type", "contact" },
      { '{"contact":{"phone_number":["91"]},"message":{"id":"m3","body":"hi"}}', "wrong type", "contact.phone_number" },
      { '{"contact":{"phone_number":"919876543210"},"message":{"type":"text","body":"hi"}}', "missing field", "message.id" },
      { '{"contact":{"phone_number":"919876543210"},"message":{"id":"m4","body":["hi"]}}', "wrong type", "message.body" },
    })
    time.sleep(0.3)                                  -- what the consumer would have sent by now
    assert.are.same({}, fake.wapi:sent("/_control/sent", function(m) return m.params.phone_number == "nil" end))
  end)

  it("acknowledges Twilio forms without From, Body or MessageSid with TwiML", function()
    local sid = "SM" .. crypto.random_hex(16)
    each_is_kept("twilio", {
      { "MessageSid=" .. sid .. "a&Body=hi&To=whatsapp%3A%2B14155238886", "missing field", "From" },
      { "MessageSid=" .. sid .. "b&From=whatsapp%3A%2B91" .. digits(10) .. "&To=whatsapp%3A%2B14155238886", "missing field", "Body" },
      { "From=whatsapp%3A%2B91" .. digits(10) .. "&Body=hi", "missing field", "MessageSid" },
      { "MessageSid=" .. sid .. "c&From=&Body=hi", "missing field", "From" },
    }, function(r) assert.truthy(r.body:find("<Response", 1, true), r.body) end)
  end)

  it("answers Vapi tool calls it cannot run with 200, the transfer text where a call has an id", function()
    local call = "call-" .. crypto.random_hex(6)
    local function results(r) return json.decode(r.body).results end
    each_is_kept("vapi", {
      { json.encode{ message = { type = "tool-calls", call = { id = call }, toolCallList = "x" } }, "wrong type", "toolCallList" },
      { json.encode{ message = { type = "tool-calls", call = { id = call }, toolCallList = { 1, "x" } } }, "wrong type",
        "toolCallList[", n = 2 },
      { json.encode{ message = { type = "tool-calls", call = { id = call }, toolCallList = {
          { id = "toolu_odd", ["function"] = "booking_assistant" } } } }, "wrong type", "toolCallList[1].function" },
      { json.encode{ message = { type = "tool-calls", toolCallList = {
          { id = "toolu_nocall", ["function"] = { name = "booking_assistant", arguments = { text = "hi" } } } } } },
        "missing field", "message.call" },
      { json.encode{ message = { type = "end-of-call-report", call = { id = { 1 } }, summary = "x" } }, "wrong type", "call.id" },
      { '{"message":"x"}', "wrong type", "message" },
      { "{", "bad json", "" },
    }, function(r, c)
      local b = json.decode(r.body)
      assert.are.equal("table", type(b), r.body)
      for _, x in ipairs(b.results or {}) do
        assert.truthy(x.result:find("transfer", 1, true), r.body)   -- never run without its call
      end
      if c[3] == "message.call" or c[3] == "toolCallList[1].function" then assert.are.equal(1, #results(r), r.body) end
    end)
  end)

  it("still refuses odd payloads without the right signature (401/403) and keeps nothing", function()
    local since = mark()
    local body = '{"update_id":1,"message":{"chat":{},"text":"x"}}'
    assert.are.equal(403, post("telegram", body, { ["X-Telegram-Bot-Api-Secret-Token"] = "forged" }).status)
    assert.are.equal(401, post("telegram", body, {}).status)
    assert.are.equal(403, post("whatsapp", '{"entry":"x"}', { ["X-Hub-Signature-256"] = hmac("wrong", '{"entry":"x"}') }).status)
    assert.are.equal(403, post("vapi", "{", { Authorization = "Bearer wrong" }).status)
    assert.are.same({}, dead_after(since))
  end)

  it("answers the usable message of a WhatsApp payload whose other message is odd", function()
    local to = "91" .. digits(10)
    fake.whatsapp:control("/_control/window", { phone_number_id = WA_PHONE_ID, wa_id = to, last_inbound = "now" })
    local since = mark()
    local body = json.encode{ object = "whatsapp_business_account", entry = { { id = "1", changes = { { field = "messages",
      value = { contacts = { { wa_id = to, profile = { name = 7 } } }, messages = {
        { from = to, type = "text", text = { body = "hi" } },                                   -- no id
        { id = "wamid.ok" .. crypto.random_hex(6), from = to, type = "text", text = { body = "hi" } } } } } } } } }
    assert.are.equal(200, post("whatsapp", body).status)
    assert.are.equal(1, #dead_after(since))
    fake.whatsapp:wait_sent("/_control/sent?phone_number_id=" .. WA_PHONE_ID,
      function(m) return m.params.to == to and m.status == 200 end, 1, 10)
  end)

  it("dead-letters a stream entry it cannot use at once, not after ten deliveries", function()
    local since = mark()
    local t0 = time.monotonic()
    redis.call("XADD", "fh:in:{carwash}", "*", "channel", "telegram", "id", "odd-" .. crypto.random_hex(4), "msg", '{"text":"hi"}')
    redis.call("XADD", "fh:in:{carwash}", "*", "channel", "telegram", "id", "odd-" .. crypto.random_hex(4),
               "conversation", "5", "msg", "not json")
    local got
    proc.wait_until(function() got = dead_after(since); return #got >= 2 end, 10)
    assert.are.equal(2, #got, json.encode(got))
    table.sort(got, function(a, b) return a.reason < b.reason end)
    assert.are.same({ "stream", "bad json" }, { got[1].source, got[1].reason })
    assert.are.same({ "stream", "missing field" }, { got[2].source, got[2].reason })
    assert.truthy(got[2].error:find("conversation", 1, true), got[2].error)
    assert.truthy(time.monotonic() - t0 < 10)
  end)

  it("answers normal messages on every channel afterwards", function()
    -- Telegram
    local chat = tonumber(digits(9))
    local r = post("telegram", json.encode{ update_id = update_id(), message = { message_id = 1, date = os.time(),
      chat = { id = chat, type = "private" }, from = { id = chat, first_name = "Ana" }, text = "hi" } })
    assert.are.equal(200, r.status)
    fake.telegram:wait_sent("/_control/sent?token=" .. TG_TOKEN .. "&method=sendMessage",
      function(m) return tostring(m.params.chat_id) == tostring(chat) and m.status == 200 end, 1, 10)
    -- WhatsApp
    local to = "91" .. digits(10)
    local msg = fake.whatsapp:control("/_control/make_message", { from = to, text = "hi", phone_number_id = WA_PHONE_ID })
    assert.are.same({ 200 }, fake.whatsapp:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/whatsapp",
      app_secret = WA_SECRET, payload = msg, signature = "good" }).statuses)
    fake.whatsapp:wait_sent("/_control/sent?phone_number_id=" .. WA_PHONE_ID,
      function(m) return m.params.to == to and m.status == 200 end, 1, 10)
    -- Twilio
    local who = "whatsapp:+91" .. digits(10)
    local params = fake.twilio:control("/_control/make_message", { from = who, to = "whatsapp:+14155238886", body = "hi",
      account_sid = TW_SID }).params
    assert.are.same({ 200 }, fake.twilio:control("/_control/deliver", { url = hook, auth_token = TW_AUTH, params = params,
      signature = "good" }).statuses)
    fake.twilio:wait_sent("/_control/sent?account_sid=" .. TW_SID,
      function(m) return m.params.To == who and m.status == 201 end, 1, 10)
    -- WAPI
    local phone = "91" .. digits(10)
    local w = fake.wapi:control("/_control/make_message", { from = phone, text = "hi", name = "Rahul" })
    assert.are.same({ 200 }, fake.wapi:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/wapi", payload = w,
      signature = "good" }).statuses)
    fake.wapi:wait_sent("/_control/sent", function(m) return m.params.phone_number == phone and m.status == 200 end, 1, 10)
    -- Vapi
    r = post("vapi", json.encode{ message = { type = "tool-calls", call = { id = "call-" .. crypto.random_hex(6) },
      toolCallList = { { id = "toolu_1", ["function"] = { name = "booking_assistant", arguments = { text = "hi" } } } } } })
    assert.are.equal(200, r.status)
    local res = json.decode(r.body).results
    assert.truthy(res[1].result:find("name", 1, true), r.body)
  end)
end)

-- Twilio (WhatsApp through Twilio) end to end against the fake Twilio
-- (tests/fakes/twilio.py): signed form webhooks answered with TwiML, the
-- replies sent through the Messages API with numbered choices, forgeries,
-- status callbacks.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local SID = "AC" .. crypto.random_hex(16)
local AUTH = crypto.random_hex(16)

describe("twilio channel", function()
  local s, fake, fake_url, hook
  setup(function()
    fake = vendor.start("twilio", "/_control/sent?account_sid=" .. SID)
    fake_url = fake.url
    local port = proc.free_port()
    hook = "http://127.0.0.1:" .. port .. "/webhooks/carwash/twilio"
    s = proc.start{ config = "config/flowhost.lua", port = port, env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = "tw-admin",
      CARWASH_TWILIO_ACCOUNT_SID = SID, CARWASH_TWILIO_AUTH_TOKEN = AUTH, CARWASH_TWILIO_WEBHOOK_URL = hook,
      TWILIO_API_URL = fake_url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function control(path, body) return fake:control(path, body) end

  local function message(from, body)
    return control("/_control/make_message", { from = from, to = "whatsapp:+14155238886", body = body,
      profile_name = "Rahul", account_sid = SID }).params
  end

  local function deliver(params, signature)
    return control("/_control/deliver", { url = hook, auth_token = AUTH, params = params, signature = signature or "good" })
  end

  local function sent_to(to)
    local out = {}
    for _, m in ipairs(control("/_control/sent?account_sid=" .. SID).sent) do
      if m.params.To == to and m.status == 201 then out[#out + 1] = m end
    end
    return out
  end

  local function wait_sent(to, n)
    local t0 = time.monotonic()
    while #sent_to(to) < n do
      if time.monotonic() - t0 > 5 then
        error(("%d messages to %s, expected %d: %s"):format(#sent_to(to), to, n,
          json.encode(control("/_control/sent?account_sid=" .. SID).sent)), 2)
      end
      time.sleep(0.05)
    end
    return sent_to(to)
  end

  local function from() return ("whatsapp:+91%.0f"):format(9000000000 + tonumber(crypto.random_hex(4), 16) % 999999999) end

  it("books a car wash end to end, choices as numbered text, webhooks answered with TwiML", function()
    local who = from()
    local n = 0
    local function say(text, expect)
      local r = deliver(message(who, text))
      assert.are.same({ 200 }, r.statuses)
      assert.truthy(r.content_types[1]:find("xml", 1, true))
      n = n + (expect or 1)
      return wait_sent(who, n)
    end
    local got = say("hi", 2)
    assert.truthy(got[2].params.Body:find("name", 1, true))
    say("Rahul Sharma"); say("98765 43210"); say("Honda City")
    got = say("MH12AB1234")
    assert.truthy(got[#got].params.Body:find("1. Basic Wash", 1, true), got[#got].params.Body)
    say("1"); say("none"); say("tomorrow")
    got = say("1")
    assert.truthy(got[#got].params.Body:find("Rs. 499", 1, true))
    assert.truthy(got[#got].params.Body:find("1. Confirm", 1, true))
    got = say("1")
    assert.truthy(got[#got].params.Body:find("SR%-%w+"), got[#got].params.Body)
  end)

  it("rejects forged and missing signatures and stores nothing", function()
    local before = redis.call("XLEN", "fh:in:{carwash}")
    local p = message(from(), "hi")
    assert.are.same({ 403 }, deliver(p, "bad").statuses)
    assert.are.same({ 401 }, deliver(p, "missing").statuses)
    assert.are.equal(before, redis.call("XLEN", "fh:in:{carwash}"))
  end)

  it("records status callbacks on the outbound message", function()
    local who = from()
    deliver(message(who, "hi"))
    local got = wait_sent(who, 2)
    local sid = got[1].sid
    local st = control("/_control/make_status", { message_sid = sid, status = "delivered", to = who, account_sid = SID }).params
    assert.are.same({ 200 }, deliver(st).statuses)
    local rec = json.decode(redis.call("HGET", "fh:sent:{carwash}", sid))
    assert.are.equal("delivered", rec.status)
    -- a message the business starts, with media by URL
    local r = assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/messages",
      headers = { Authorization = "Bearer tw-admin", ["Content-Type"] = "application/json" },
      body = json.encode{ channel = "twilio", to = who, text = "Your invoice", media = { url = "https://example.com/i.pdf" } } })
    assert.are.equal(200, r.status, r.body)
    local all = sent_to(who)
    local last = all[#all].params
    assert.are.equal("Your invoice", last.Body)
    assert.are.same({ "https://example.com/i.pdf" }, last.MediaUrl)
  end)

  it("sends templates through the Content API and keeps the 24 h WhatsApp window", function()
    local function send(to, msg)
      msg.channel, msg.to = "twilio", to
      return assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/messages",
        headers = { Authorization = "Bearer tw-admin", ["Content-Type"] = "application/json" }, body = json.encode(msg) })
    end
    local who = from()                              -- has never written: the window is closed
    local r = send(who, { text = "Your car is ready" })
    assert.are.equal(409, r.status, r.body)
    assert.are.equal("template required", json.decode(r.body).error)
    assert.are.equal(0, #sent_to(who))
    local sid = "HX" .. crypto.random_hex(16)
    r = send(who, { template = { sid = sid, params = { "Rahul", "10:30 AM" } } })
    assert.are.equal(200, r.status, r.body)
    local got = wait_sent(who, 1)[1].params
    assert.are.equal(sid, got.ContentSid)
    assert.are.same({ ["1"] = "Rahul", ["2"] = "10:30 AM" }, json.decode(got.ContentVariables))
    assert.is_nil(got.Body)                         -- not the literal "nil" of a text-less reply
  end)
end)

-- WhatsApp Cloud end to end against the fake Graph API
-- (tests/fakes/whatsapp.py): signed webhooks, the subscription GET, a
-- booking, forgeries, duplicates, delivery receipts.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local TOKEN = "EAAG" .. crypto.random_hex(16)
local APP_SECRET = "app_" .. crypto.random_hex(8)
local VERIFY = "verify_" .. crypto.random_hex(4)
local PHONE_ID = ("%.0f"):format(100000000000000 + tonumber(crypto.random_hex(5), 16))
local OWN = "cw-" .. crypto.random_hex(8)      -- the tenant's admin token: reads channel conversations

describe("whatsapp channel", function()
  local s, fake, fake_url
  setup(function()
    fake = vendor.start("whatsapp", "/_control/sent?phone_number_id=" .. PHONE_ID)
    fake_url = fake.url
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2,
      CARWASH_WHATSAPP_TOKEN = TOKEN, CARWASH_WHATSAPP_APP_SECRET = APP_SECRET,
      CARWASH_WHATSAPP_VERIFY_TOKEN = VERIFY, CARWASH_WHATSAPP_PHONE_ID = PHONE_ID, WHATSAPP_API_URL = fake_url, CARWASH_ADMIN_TOKEN = OWN } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function control(path, body) return fake:control(path, body) end

  local function message(from, text, button)
    return control("/_control/make_message", { from = from, text = text, phone_number_id = PHONE_ID, name = "Rahul",
      button_reply = button and { id = button, title = button } or nil })
  end

  local function deliver(payload, opts)
    opts = opts or {}
    return control("/_control/deliver", { url = s.url .. "/webhooks/carwash/whatsapp", app_secret = APP_SECRET,
      payload = payload, times = opts.times or 1, gap_ms = opts.gap_ms or 0, signature = opts.signature or "good" })
  end

  local function sent_to(to)
    local out = {}
    for _, m in ipairs(control("/_control/sent?phone_number_id=" .. PHONE_ID).sent) do
      if m.params.to == to and m.status == 200 then out[#out + 1] = m end
    end
    return out
  end

  local function wait_sent(to, n)
    local t0 = time.monotonic()
    while #sent_to(to) < n do
      if time.monotonic() - t0 > 5 then
        error(("%d messages to %s, expected %d: %s"):format(#sent_to(to), to, n,
          json.encode(control("/_control/sent?phone_number_id=" .. PHONE_ID).sent)), 2)
      end
      time.sleep(0.05)
    end
    return sent_to(to)
  end

  local function wa_id() return ("91%.0f"):format(9000000000 + tonumber(crypto.random_hex(4), 16) % 999999999) end

  it("answers the subscription GET with the challenge, only for the right token", function()
    local ok = control("/_control/verify?url=" .. s.url .. "/webhooks/carwash/whatsapp&verify_token=" .. VERIFY .. "&challenge=1158201444")
    assert.are.equal(200, ok.status)
    assert.are.equal("1158201444", ok.body)
    local bad = control("/_control/verify?url=" .. s.url .. "/webhooks/carwash/whatsapp&verify_token=wrong&challenge=1")
    assert.are.equal(403, bad.status)
  end)

  it("books a car wash end to end over WhatsApp", function()
    local to = wa_id()
    local n = 0
    local function say(text, button, expect)
      assert.are.same({ 200 }, deliver(message(to, text, button)).statuses)
      n = n + (expect or 1)
      return wait_sent(to, n)
    end
    local got = say("hi", nil, 2)
    assert.truthy(got[2].params.text.body:find("name", 1, true))
    say("Rahul Sharma"); say("98765 43210"); say("Honda City")
    got = say("MH12AB1234")
    local last = got[#got].params
    assert.are.equal("list", last.interactive.type)            -- 4 services: a list
    assert.are.equal("basic_wash", last.interactive.action.sections[1].rows[1].id)
    say(nil, "basic_wash"); say("none")
    got = say("tomorrow")
    -- the free times: a list, or reply buttons when three or fewer are left
    local tp = got[#got].params
    assert(tp.interactive, "expected the free times, got " .. json.encode(tp))
    local a = tp.interactive.action
    local slot = a.sections and a.sections[1].rows[1].id or a.buttons[1].reply.id
    got = say(nil, slot)
    last = got[#got].params
    assert.are.equal("button", last.interactive.type)          -- confirm / change / cancel
    assert.truthy(last.interactive.body.text:find("Rs. 499", 1, true))
    got = say(nil, "confirm")
    assert.truthy(got[#got].params.text.body:find("SR%-%w+"))
  end)

  it("rejects forged and missing signatures and stores nothing; duplicates answered once", function()
    local before = redis.call("XLEN", "fh:in:{carwash}")
    local to = wa_id()
    local m = message(to, "hi")
    assert.are.same({ 403 }, deliver(m, { signature = "bad" }).statuses)
    assert.are.same({ 401 }, deliver(m, { signature = "missing" }).statuses)
    assert.are.equal(before, redis.call("XLEN", "fh:in:{carwash}"))
    assert.are.same({ 200, 200, 200 }, deliver(m, { times = 3, gap_ms = 200 }).statuses)
    wait_sent(to, 2)
    time.sleep(0.5)
    assert.are.equal(2, #sent_to(to))
  end)

  it("hands a photo to the flow with its media id, recorded in the conversation", function()
    local to = wa_id()
    local m = control("/_control/make_message", { from = to, phone_number_id = PHONE_ID, name = "Rahul",
      image = { id = "media-123", mime_type = "image/jpeg", caption = "my car" } })
    assert.are.same({ 200 }, deliver(m).statuses)
    wait_sent(to, 2)
    -- a channel conversation is the tenant's to read (the chat API cannot reach it)
    local r = assert(http.request{ url = s.url .. "/admin/tenants/carwash/conversations/whatsapp:" .. to,
      headers = { Authorization = "Bearer " .. OWN } })
    assert.are.equal(200, r.status, r.body)
    local conv = json.decode(r.body)
    assert.are.equal("my car", conv.history[1].text)     -- the caption is what the customer said
    assert.truthy(json.encode(conv.history):find("my car", 1, true))
  end)

  it("records delivery receipts on the outbound message", function()
    local to = wa_id()
    deliver(message(to, "hi"))
    local got = wait_sent(to, 2)
    local id = got[1].id
    assert.truthy(id and id:find("^wamid"), json.encode(got[1]))
    deliver(control("/_control/make_status", { message_id = id, recipient_id = to, status = "read", phone_number_id = PHONE_ID }))
    local rec = json.decode(redis.call("HGET", "fh:sent:{carwash}", id))
    assert.are.equal("read", rec.status)
  end)
end)

describe("whatsapp messages the business starts", function()
  local proc = require "proc"
  local vendor = require "vendor"
  local http = require "http"
  local json = require "json"
  local crypto = require "crypto"
  local ADMIN = "adm-" .. crypto.random_hex(4)
  local PHONE = ("%.0f"):format(200000000000000 + tonumber(crypto.random_hex(5), 16))
  local s, fake
  setup(function()
    fake = vendor.start("whatsapp", "/_control/sent?phone_number_id=" .. PHONE)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = ADMIN,
      CARWASH_WHATSAPP_TOKEN = "EAAG" .. crypto.random_hex(8), CARWASH_WHATSAPP_APP_SECRET = "sec",
      CARWASH_WHATSAPP_PHONE_ID = PHONE, WHATSAPP_API_URL = fake.url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function send(body)
    local r = assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/messages",
      headers = { Authorization = "Bearer " .. ADMIN, ["Content-Type"] = "application/json" }, body = json.encode(body) })
    return r.status, json.decode(r.body)
  end

  it("outside the 24-hour window only a template goes out; inside it, text does", function()
    local to = ("91%.0f"):format(8000000000 + tonumber(crypto.random_hex(4), 16) % 999999999)
    local status, res = send{ channel = "whatsapp", to = to, text = "Your wash is tomorrow at 10:00" }
    assert.are.equal(409, status)
    assert.are.equal("template required", res.error)
    status, res = send{ channel = "whatsapp", to = to,
      template = { name = "appointment_reminder", language = "en", params = { "Rahul", "10:00" } } }
    assert.are.equal(200, status, json.encode(res))
    assert.truthy(res.id:find("^wamid"))
    local sent = fake:control("/_control/sent?phone_number_id=" .. PHONE).sent
    local last = sent[#sent].params
    assert.are.equal("template", last.type)
    assert.are.equal("Rahul", last.template.components[1].parameters[1].text)
    -- the customer writes: the window opens, and text may go
    local m = fake:control("/_control/make_message", { from = to, text = "hi", phone_number_id = PHONE })
    fake:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/whatsapp", app_secret = "sec", payload = m })
    status = send{ channel = "whatsapp", to = to, text = "See you tomorrow!" }
    assert.are.equal(200, status)
    -- media by URL, the text as its caption
    status = send{ channel = "whatsapp", to = to, text = "Your invoice",
                   media = { url = "https://example.com/inv.pdf", kind = "document", filename = "invoice.pdf" } }
    assert.are.equal(200, status)
    sent = fake:control("/_control/sent?phone_number_id=" .. PHONE).sent
    last = sent[#sent].params
    assert.are.same({ "document", "https://example.com/inv.pdf", "Your invoice", "invoice.pdf" },
      { last.type, last.document.link, last.document.caption, last.document.filename })
  end)
end)

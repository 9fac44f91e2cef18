-- WAPI (the car-service seed's WhatsApp provider) end to end against the
-- fake WAPI (tests/fakes/wapi.py): webhooks in the ASSUMED inbound format
-- signed with X-Wapi-Signature, a booking whose replies reach the seed's
-- endpoints (up to 3 choices as buttons, more as numbered text),
-- forgeries, duplicates, a rate limit and a server error on the way out.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local TOKEN = "wapi_" .. crypto.random_hex(16)
local ADMIN = "adm-" .. crypto.random_hex(4)
local SECRET = "whsec_" .. crypto.random_hex(8)

describe("wapi channel", function()
  local s, fake
  setup(function()
    fake = vendor.start("wapi")
    fake:control("/_control/config", { token = TOKEN, secret = SECRET })
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = ADMIN,
      CARWASH_WAPI_TOKEN = TOKEN, CARWASH_WAPI_SECRET = SECRET, WAPI_API_URL = fake.url .. "/api/v1" } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  local function message(from, text, button)
    return fake:control("/_control/make_message", { from = from, text = text, button_id = button, name = "Rahul" })
  end

  local function deliver(payload, opts)
    opts = opts or {}
    return fake:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/wapi", payload = payload,
      times = opts.times or 1, gap_ms = opts.gap_ms or 0, signature = opts.signature or "good" })
  end

  -- the replies WAPI accepted for this number
  local function to_phone(to) return function(m) return m.params.phone_number == to and m.status == 200 end end
  local function sent_to(to) return fake:sent("/_control/sent", to_phone(to)) end
  local function wait_sent(to, n, secs) return fake:wait_sent("/_control/sent", to_phone(to), n, secs) end

  local function phone() return ("91%.0f"):format(9000000000 + tonumber(crypto.random_hex(4), 16) % 999999999) end

  it("books a car wash end to end over WAPI", function()
    local to = phone()
    local n = 0
    local function say(text, button, expect)
      assert.are.same({ 200 }, deliver(message(to, text, button)).statuses)
      n = n + (expect or 1)
      return wait_sent(to, n)
    end
    local got = say("hi", nil, 2)
    assert.are.equal("send-message", got[2].endpoint)
    assert.truthy(got[2].params.message_body:find("name", 1, true))
    assert.truthy(got[1].path:find("^/api/v1/contact/"), got[1].path)   -- under WAPI_API_URL
    say("Rahul Sharma"); say("98765 43210"); say("Honda City")
    got = say("MH12AB1234")
    local last = got[#got]                                     -- 4 services: numbered text
    assert.are.equal("send-message", last.endpoint)
    assert.truthy(last.params.message_body:find("1. Basic Wash", 1, true), last.params.message_body)
    say("1"); say("none")
    got = say("tomorrow")
    -- the free times: numbered text, or buttons when three or fewer are left
    last = got[#got]
    if last.endpoint == "send-interactive-message" then got = say(nil, last.params.buttons[1].id)
    else got = say("1") end
    last = got[#got]
    assert.are.equal("send-interactive-message", last.endpoint)  -- confirm / change / cancel
    assert.are.equal("button", last.params.interactive_type)
    assert.truthy(last.params.body_text:find("Rs. 499", 1, true), last.params.body_text)
    assert.are.equal("confirm", last.params.buttons[1].id)
    got = say(nil, "confirm")
    assert.truthy(got[#got].params.message_body:find("SR%-%w+"), got[#got].params.message_body)
  end)

  it("rejects forged and missing signatures and stores nothing; duplicates answered once", function()
    local before = redis.call("XLEN", "fh:in:{carwash}")
    local to = phone()
    local m = message(to, "hi")
    assert.are.same({ 403 }, deliver(m, { signature = "bad" }).statuses)
    assert.are.same({ 401 }, deliver(m, { signature = "missing" }).statuses)
    assert.are.equal(before, redis.call("XLEN", "fh:in:{carwash}"))
    assert.are.same({ 200, 200, 200 }, deliver(m, { times = 3, gap_ms = 200 }).statuses)
    assert.are.equal(before + 1, redis.call("XLEN", "fh:in:{carwash}"))
    wait_sent(to, 2)                                           -- "hi": a greeting and the name question
    time.sleep(0.5)
    assert.are.equal(2, #sent_to(to))
  end)

  it("retries a 429 after its Retry-After and a 500, and every reply still goes once", function()
    local to = phone()
    fake:control("/_control/script", { steps = { { status = 429, retry_after = 1 }, { status = 500 } } })
    local t0 = time.monotonic()
    deliver(message(to, "hi"))
    local got = wait_sent(to, 2, 10)
    assert(time.monotonic() - t0 >= 1, "the Retry-After wait was not honoured")
    local failed = fake:sent("/_control/sent", function(r) return r.params.phone_number == to and r.status ~= 200 end)
    assert.are.same({ 429, 500 }, { failed[1].status, failed[2].status })
    assert.are_not.equal(got[1].params.message_body, got[2].params.message_body)
  end)

  it("answers a message without text with the tenant's only-text reply", function()
    local to = phone()
    assert.are.same({ 200 }, deliver(fake:control("/_control/make_message", { from = to, type = "image" })).statuses)
    local got = wait_sent(to, 1)
    assert.truthy(got[1].params.message_body:find("only read text", 1, true), got[1].params.message_body)
  end)

  it("sends a template (outside the window) and a document with its text", function()
    local function send(body)
      local r = assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/messages",
        headers = { Authorization = "Bearer " .. ADMIN, ["Content-Type"] = "application/json" }, body = json.encode(body) })
      return r.status, json.decode(r.body)
    end
    local to = phone()
    local status, res = send{ channel = "wapi", to = to, text = "Your wash is tomorrow" }
    assert.are.equal(409, status)
    assert.are.equal("template required", res.error)
    status = send{ channel = "wapi", to = to,
      template = { name = "appointment_reminder", language = "en", params = { "Rahul", "10:00" } } }
    assert.are.equal(200, status)
    local got = wait_sent(to, 1)
    assert.are.same({ "send-template-message", "appointment_reminder", "en", "Rahul", "10:00" },
      { got[1].endpoint, got[1].params.template_name, got[1].params.template_language,
        got[1].params.field_1, got[1].params.field_2 })
    deliver(message(to, "hi"))                                 -- opens the window
    wait_sent(to, 3)
    status = send{ channel = "wapi", to = to, text = "Your invoice",
                   media = { url = "https://example.com/inv.pdf", kind = "document", filename = "inv.pdf" } }
    assert.are.equal(200, status)
    got = wait_sent(to, 4)
    assert.are.same({ "send-media-message", "Your invoice", "inv.pdf" },
      { got[4].endpoint, got[4].params.caption, got[4].params.file_name })
  end)
end)

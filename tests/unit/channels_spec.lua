-- Channel adapters: signature checks with the vendors' test vectors,
-- parsing of the payloads the references show.
local whatsapp = require "channels.whatsapp"
local telegram = require "channels.telegram"
local registry = require "channels.registry"

local function req(body, headers) return { body = body, headers = headers or {} } end

describe("whatsapp adapter", function()
  local creds = { app_secret = "test_app_secret", verify_token = "vt-123" }

  it("accepts the reference signatures over the exact bytes, rejects others", function()
    local body = '{"object":"whatsapp_business_account","entry":[]}'
    assert.is_true(whatsapp.verify(req(body, { ["x-hub-signature-256"] =
      "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756" }), creds))
    local escaped = '{"text":{"body":"Ol\\u00e1"}}'
    assert.is_true(whatsapp.verify(req(escaped, { ["x-hub-signature-256"] =
      "sha256=039f8d0a705371c76b0b5c3e1170cba0af0eb0a64d0ba9756cfd79997f4c84b2" }), creds))
    -- the same JSON with a raw UTF-8 á is another body: the escaped form's signature must fail
    local _, status = whatsapp.verify(req('{"text":{"body":"Olá"}}', { ["x-hub-signature-256"] =
      "sha256=039f8d0a705371c76b0b5c3e1170cba0af0eb0a64d0ba9756cfd79997f4c84b2" }), creds)
    assert.are.equal(403, status)
    local _, missing = whatsapp.verify(req(body), creds)
    assert.are.equal(401, missing)
  end)

  it("answers the subscription GET only with the right token", function()
    assert.are.same({ 200, "1158201444" }, { whatsapp.challenge({ ["hub.mode"] = "subscribe",
      ["hub.verify_token"] = "vt-123", ["hub.challenge"] = "1158201444" }, creds) })
    assert.are.equal(403, (whatsapp.challenge({ ["hub.mode"] = "subscribe", ["hub.verify_token"] = "no",
      ["hub.challenge"] = "1" }, creds)))
  end)

  it("parses text, button and list replies, media and statuses", function()
    local msgs, statuses = whatsapp.parse([[{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages",
      "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
      "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
      "messages":[{"from":"16505551234","id":"wamid.A","timestamp":"1749416383","type":"text","text":{"body":"hi"}},
                  {"from":"16505551234","id":"wamid.B","timestamp":"1749416400","type":"interactive",
                   "interactive":{"type":"button_reply","button_reply":{"id":"confirm","title":"Confirm"}}},
                  {"from":"16505551234","id":"wamid.C","timestamp":"1749416401","type":"interactive",
                   "interactive":{"type":"list_reply","list_reply":{"id":"t1","title":"10:00"}}},
                  {"from":"16505551234","id":"wamid.D","timestamp":"1749416402","type":"image","image":{"id":"m1","mime_type":"image/jpeg"}}],
      "statuses":[{"id":"wamid.OUT","status":"read","timestamp":"1750857384","recipient_id":"16505551234"}]}}]}]}]])
    assert.are.equal(4, #msgs)
    assert.are.same({ "hi", "text", "16505551234", "Sheena Nelson" }, { msgs[1].text, msgs[1].kind, msgs[1].conversation, msgs[1].name })
    assert.are.equal("confirm", msgs[2].button)
    assert.are.equal("t1", msgs[3].button)
    assert.are.same({ "media", "m1", "image", "image/jpeg" }, { msgs[4].kind, msgs[4].media.id, msgs[4].media.type, msgs[4].media.mime })
    assert.are.same({ "wamid.OUT", "read", 1750857384 }, { statuses[1].id, statuses[1].status, statuses[1].at })
    assert.is_nil((whatsapp.parse('{"object":"page"}')))
    local loc = whatsapp.parse([[{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[
      {"from":"1","id":"wamid.L","type":"location","location":{"latitude":18.52,"longitude":73.85,"name":"Shop"}},
      {"from":"1","id":"wamid.K","type":"contacts","contacts":[{"name":{"formatted_name":"Ana"},"phones":[{"phone":"+34600"}]}]},
      {"from":"1","id":"wamid.R","type":"reaction","reaction":{"emoji":"x"}}]}}]}]}]])
    assert.are.same({ "location", 18.52, "Shop" }, { loc[1].kind, loc[1].location.latitude, loc[1].location.name })
    assert.are.same({ "contacts", "Ana", "+34600" }, { loc[2].kind, loc[2].contacts[1].name, loc[2].contacts[1].phones[1] })
    assert.are.equal("unsupported", loc[3].kind)
  end)
end)

describe("telegram adapter", function()
  it("checks the secret token header", function()
    local creds = { secret = "s3cret" }
    assert.is_true(telegram.verify(req("{}", { ["x-telegram-bot-api-secret-token"] = "s3cret" }), creds))
    assert.are.equal(403, select(2, telegram.verify(req("{}", { ["x-telegram-bot-api-secret-token"] = "S3cret" }), creds)))
    assert.are.equal(401, select(2, telegram.verify(req("{}"), creds)))
  end)

  it("parses messages, button taps and large chat ids", function()
    local m = telegram.parse('{"update_id":812345678,"message":{"message_id":42,"date":1,"from":{"id":123456789,"first_name":"Ana"},'
      .. '"chat":{"id":-1001234567890,"type":"supergroup"},"text":"/start"}}')
    assert.are.same({ "812345678", "-1001234567890", "/start", "Ana" }, { m[1].id, m[1].conversation, m[1].text, m[1].name })
    local b = telegram.parse('{"update_id":812345679,"callback_query":{"id":"cb1","from":{"id":123456789,"first_name":"Ana"},'
      .. '"data":"confirm","message":{"message_id":43,"date":1,"chat":{"id":123456789,"type":"private"},"text":"Pick"}}}')
    assert.are.same({ "confirm", "button", "cb1" }, { b[1].button, b[1].kind, b[1].callback })
    local p = telegram.parse('{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private"},'
      .. '"photo":[{"file_id":"small","width":90},{"file_id":"big","width":800}],"caption":"my car"}}')
    assert.are.same({ "media", "big", "image", "my car" }, { p[1].kind, p[1].media.id, p[1].media.type, p[1].text })
    local l = telegram.parse('{"update_id":6,"message":{"message_id":2,"date":1,"chat":{"id":7,"type":"private"},'
      .. '"location":{"latitude":18.5,"longitude":73.8}}}')
    assert.are.same({ "location", 73.8 }, { l[1].kind, l[1].location.longitude })
  end)
end)

describe("channel credentials", function()
  it("reads *_env fields from the environment and keeps the rest", function()
    local c = registry.creds({ channels = { whatsapp = { token_env = "HOME", phone_number_id = "123", api_url = "http://x" } } }, "whatsapp")
    assert.are.equal(os.getenv("HOME"), c.token)
    assert.are.equal("123", c.phone_number_id)
    assert.is_nil(c.token_env)
    assert.is_nil((registry.creds({}, "whatsapp")))
  end)
end)

describe("twilio adapter", function()
  local twilio = require "channels.twilio"
  local form = require "channels.form"
  local URL = "https://mycompany.com/myapp.php?foo=1&bar=2"

  local function sign(url, body)
    local p, n = form.decode(body)
    return twilio.signature("12345", url, p, n)
  end

  it("passes Twilio's published test vectors", function()
    local body = form.encode{ { "CallSid", "CA1234567890ABCDE" }, { "Caller", "+14158675309" }, { "Digits", "1234" },
                              { "From", "+14158675309" }, { "To", "+18005551212" } }
    assert.are.equal("RSOYDt4T1cUTdK1PDd93/VVr8B8=", sign(URL, body))
    assert.are.equal("IK+Dwps556ElfBT0I3Rgjkr1wJU=", sign(URL, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"))
    assert.are.equal("g9IN/x4Cft2g517EjYvEvM/W7LU=", sign("https://MyCompany.com/myapp.php?foo=1&bar=2", body))
    assert.are.equal("kvajT1Ptam85bY51eRf/AJRuM3w=", sign("https://mycompany.com:443/myapp.php?foo=1&bar=2", body))
    local creds = { auth_token = "12345", webhook_url = URL }
    assert.is_true(twilio.verify({ body = body, headers = { ["x-twilio-signature"] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=" } }, creds))
    -- Twilio signed with the explicit :443, the app was configured without it
    assert.is_true(twilio.verify({ body = body, headers = { ["x-twilio-signature"] = "kvajT1Ptam85bY51eRf/AJRuM3w=" } }, creds))
    assert.are.equal(403, select(2, twilio.verify({ body = body .. "&Extra=1",
      headers = { ["x-twilio-signature"] = "RSOYDt4T1cUTdK1PDd93/VVr8B8=" } }, creds)))
    assert.are.equal(401, select(2, twilio.verify({ body = body, headers = {} }, creds)))
  end)

  it("parses WhatsApp messages, button payloads and status callbacks", function()
    local m = twilio.parse("MessageSid=SM1&From=whatsapp%3A%2B5511999999999&To=whatsapp%3A%2B14155238886"
      .. "&Body=Quiero+reservar&NumMedia=0&ProfileName=Ana&WaId=5511999999999")
    assert.are.same({ "SM1", "whatsapp:+5511999999999", "Quiero reservar", "Ana" }, { m[1].id, m[1].conversation, m[1].text, m[1].name })
    local b = twilio.parse("MessageSid=SM2&From=whatsapp%3A%2B55&Body=Confirm&ButtonText=Confirm&ButtonPayload=confirm")
    assert.are.equal("confirm", b[1].button)
    local _, st = twilio.parse("MessageSid=SM3&MessageStatus=delivered&To=whatsapp%3A%2B55&AccountSid=AC1")
    assert.are.same({ "SM3", "delivered" }, { st[1].id, st[1].status })
  end)
end)

describe("wapi adapter (inbound format assumed, see scripts/channels/wapi.lua)", function()
  local wapi = require "channels.wapi"
  local crypto = require "crypto"

  it("checks the assumed HMAC signature header", function()
    local body = '{"contact":{"phone_number":"919876543210"},"message":{"id":"m1","type":"text","body":"hi"}}'
    local sig = "sha256=" .. crypto.hex(crypto.hmac_sha256("whsec", body))
    assert.is_true(wapi.verify({ body = body, headers = { ["x-wapi-signature"] = sig } }, { secret = "whsec" }))
    assert.are.equal(403, select(2, wapi.verify({ body = body .. " ", headers = { ["x-wapi-signature"] = sig } }, { secret = "whsec" })))
    assert.are.equal(401, select(2, wapi.verify({ body = body, headers = {} }, { secret = "whsec" })))
  end)

  it("parses text and button messages", function()
    local m = wapi.parse('{"contact":{"phone_number":"919876543210","name":"Rahul"},"message":{"id":"m1","type":"text","body":"hi"}}')
    assert.are.same({ "m1", "919876543210", "hi", "Rahul" }, { m[1].id, m[1].conversation, m[1].text, m[1].name })
    local b = wapi.parse('{"contact":{"phone_number":"91"},"message":{"id":"m2","type":"button","button_id":"confirm"}}')
    assert.are.equal("confirm", b[1].button)
    assert.is_nil((wapi.parse('{"message":{}}')))
  end)

  it("sends the seed's requests: text, up to 3 buttons, more as numbered text", function()
    local path, body = wapi.request("9198", { text = "Hi" })
    assert.are.same({ "/contact/send-message", "Hi" }, { path, body.message_body })
    path, body = wapi.request("9198", { text = "Confirm?", buttons = { { id = "confirm", title = "Confirm" }, { id = "cancel", title = "Cancel" } } })
    assert.are.same({ "/contact/send-interactive-message", "button", "confirm" }, { path, body.interactive_type, body.buttons[1].id })
    path, body = wapi.request("9198", { text = "Which?", buttons = { { id = "a", title = "A" }, { id = "b", title = "B" },
      { id = "c", title = "C" }, { id = "d", title = "D" } } })
    assert.are.equal("/contact/send-message", path)
    assert.truthy(body.message_body:find("4. D", 1, true))
    path, body = wapi.request("9198", { media = { url = "https://x/y.pdf", kind = "document", filename = "y.pdf" } })
    assert.are.same({ "/contact/send-media-message", "document", "https://x/y.pdf", "y.pdf" },
      { path, body.media_type, body.media_url, body.file_name })
    path, body = wapi.request("9198", { text = "Your invoice", media = { url = "https://x/y.pdf", kind = "document", filename = "y.pdf" } })
    assert.are.equal("Your invoice", body.caption)
    path, body = wapi.request("9198", { template = { name = "reminder", language = "hi", params = { "Rahul", 10 } } })
    assert.are.same({ "/contact/send-template-message", "reminder", "hi", "Rahul", "10" },
      { path, body.template_name, body.template_language, body.field_1, body.field_2 })
    path, body = wapi.request("9198", { text = "?", buttons = { { id = "a", title = "सर्विस बुक करें अभी ही यहाँ" }, { id = "b", title = "B" } } })
    assert.are.equal(20, require("text.utf8").len(body.buttons[1].title))
  end)
end)

describe("service window", function()
  local outbound = require "channels.outbound"
  local inbound = require "channels.inbound"
  local context = require "flow.context"
  local crypto = require "crypto"

  it("opens when the customer writes (WhatsApp), is always open elsewhere, and flows can ask", function()
    local tenant, to = "win-" .. crypto.random_hex(4), "91" .. crypto.random_hex(5)
    assert.is_false(outbound.window_open(tenant, "whatsapp", to))
    assert.is_true(outbound.window_open(tenant, "telegram", to))
    assert.is_false(outbound.window_open(tenant, "twilio", "whatsapp:+" .. to))   -- WhatsApp through Twilio
    assert.is_true(outbound.window_open(tenant, "twilio", "+" .. to))              -- Twilio SMS: no window
    assert.are.equal("queued", inbound.accept(tenant, "whatsapp", { id = "wamid." .. crypto.random_hex(6),
      conversation = to, text = "hi", kind = "text" }))
    assert.is_true(outbound.window_open(tenant, "whatsapp", to))
    local c = context.new({ id = tenant, settings = {}, languages = { "en" } }, { id = "whatsapp:" .. to, slots = {}, data = {} }, {})
    assert.is_true(c:window_open())
    c = context.new({ id = tenant, settings = {}, languages = { "en" } }, { id = "whatsapp:910000", slots = {}, data = {} }, {})
    assert.is_false(c:window_open())
    assert.are.same({ nil, "template required" }, { outbound.send(tenant, "whatsapp", "910000", { text = "hi" },
      { channels = { whatsapp = { token_env = "HOME" } } }) })
  end)
end)

describe("reminders from a flow", function()
  local context = require "flow.context"
  local timer = require "timer"
  local time = require "time"

  it("c:remind schedules a durable timer on the conversation's channel, deduplicated by its id", function()
    local c = context.new({ id = "remind-spec", settings = {}, languages = { "en" } },
      { id = "whatsapp:919876543210", slots = {}, data = {} }, {})
    local id = assert(c:remind(time.now() + 3600, { template = { name = "appointment_reminder", params = { "Rahul" } } }, "day-before"))
    local again, how = c:remind(time.now() + 3600, { text = "x" }, "day-before")
    assert.are.equal(id, again)
    assert.are.equal("exists", how)
    assert.is_true(timer.cancel(id))
    local plain = context.new({ id = "remind-spec", settings = {}, languages = { "en" } }, { id = "web-1", slots = {}, data = {} }, {})
    assert.are.same({ nil, "this conversation has no channel to send on" }, { plain:remind(time.now() + 60, { text = "x" }) })
  end)
end)

describe("inbound stream trimming", function()
  local redis = require "redis"
  local consumer = require "channels.consumer"
  local stream = "fh:in:{trim-spec}"

  it("drops acknowledged entries, keeps pending and unread ones", function()
    redis.call("DEL", stream)
    redis.call("XGROUP", "CREATE", stream, "flowhost", "0", "MKSTREAM")
    local ids = {}
    for i = 1, 1000 do ids[i] = redis.call("XADD", stream, "*", "n", i) end
    local got = redis.call("XREADGROUP", "GROUP", "flowhost", "spec", "COUNT", 800, "STREAMS", stream, ">")
    assert.are.equal(800, #got[1][2])
    for i = 1, 600 do redis.call("XACK", stream, "flowhost", ids[i]) end
    consumer.trim(stream)
    local left = redis.call("XLEN", stream)
    assert.truthy(left >= 400 and left < 600, left .. " entries left")   -- trimmed by whole nodes ("~")
    local first = redis.call("XRANGE", stream, "-", "+", "COUNT", 1)[1][1]
    assert.are.equal(1, #redis.call("XRANGE", stream, ids[601], ids[601]))   -- the oldest pending stays
    assert.are_not.equal(ids[1], first)
    -- nothing pending: everything handed out and acknowledged goes
    for i = 601, 800 do redis.call("XACK", stream, "flowhost", ids[i]) end
    consumer.trim(stream)
    assert.truthy(redis.call("XLEN", stream) < 400)
    assert.are.equal(1, #redis.call("XRANGE", stream, ids[801], ids[801]))     -- never read: kept
    redis.call("DEL", stream)
  end)
end)

describe("scheduled sends journaled by timer id", function()
  local outbound = require "channels.outbound"
  local redis = require "redis"
  local http = require "http"
  local json = require "json"
  local crypto = require "crypto"
  local U = assert(os.getenv("UPSTREAM_URL"))
  -- WAPI against the fake upstream: its /echo answers 200 to any POST
  local settings = { channels = { wapi = { api_url = U .. "/echo?to=", token_env = "HOME" } } }
  local function requests() return json.decode(http.request{ url = U .. "/count" }.body).requests end

  it("sends once, and never again for a key already marked", function()
    local tenant = "oj-" .. crypto.random_hex(4)
    local journal = "fh:outj:{" .. tenant .. "}:t1"
    local template = { template = { name = "reminder", params = { "Rahul" } } }
    local before = requests()
    assert.is_true((outbound.send(tenant, "wapi", "919800000001", template, settings, journal)))
    assert.are.equal("sent", redis.call("GET", journal))
    local after = requests()
    assert.is_true(after >= before + 1)
    -- the timer fires again (a host died after sending): nothing goes out
    assert.are.same({ true, "in doubt" }, { outbound.send(tenant, "wapi", "919800000001", template, settings, journal) })
    -- a mark left by a host that died while the request was on the wire:
    -- in doubt; counted as sent under in_doubt = "skip", sent again under
    -- the default "resend" (docs/exactly-once.md)
    local doubt = journal .. "b"
    redis.call("SET", doubt, "sending")
    local skip = setmetatable({ in_doubt = "skip" }, { __index = settings })
    assert.are.same({ true, "in doubt" }, { outbound.send(tenant, "wapi", "919800000001", template, skip, doubt) })
    assert.are.equal("sending", redis.call("GET", doubt))
    local sends = requests()
    assert.is_true((outbound.send(tenant, "wapi", "919800000001", template, settings, doubt)))
    assert.is_true(requests() >= sends + 1)
    assert.are.equal("sent", redis.call("GET", doubt))
    -- a failed send leaves no mark: the timer's retry may send it
    local failed = journal .. "c"
    local bad = { channels = { wapi = { api_url = U .. "/status?code=500&to=", token_env = "HOME" } } }
    local ok, err = outbound.send(tenant, "wapi", "919800000001", template, bad, failed)
    assert.is_nil(ok); assert.are.equal("unavailable", err)
    assert.are.equal(redis.null, redis.call("GET", failed))
    redis.call("DEL", journal, doubt)
  end)
end)

describe("vapi assistant-request", function()
  local vapi = require "channels.vapi"
  local json = require "json"
  local body = json.encode{ message = { type = "assistant-request", call = { id = "c1" } } }
  it("names the assistant, else the transfer number, else refuses the call with a reason", function()
    assert.are.same({ 200, { assistantId = "a1" } }, { vapi.answer("t", body, { assistant_id = "a1" }) })
    assert.are.same({ 200, { destination = { type = "number", phoneNumber = "+34600000000" } } },
      { vapi.answer("t", body, { transfer_number = "+34600000000" }) })
    local status, answer = vapi.answer("t", body, {})
    assert.are.equal(200, status)
    assert.are.equal("string", type(answer.error))
  end)
end)

describe("channels.shape (the check every channel parser runs)", function()
  local S = require "channels.shape"
  local json = require "json"
  local CHAT = S.object{ chat = S.object{ id = S.integer() }, text = S.opt(S.string()),
                         photo = S.opt(S.list(S.object{ file_id = S.id() }, 1)) }

  it("accepts a value of the declared shape, optional fields missing or null", function()
    assert.is_true(S.check({ chat = { id = 7 }, text = "hi" }, CHAT))
    local v = json.decode('{"chat":{"id":-1001234567890},"text":null}')
    assert.is_true(S.check(v, CHAT))
    assert.is_nil(v.text)                                  -- null read as absent
  end)

  it("names the missing field and its path", function()
    assert.are.same({ nil, "missing field", "message.chat.id: missing" },
      { S.check({ chat = {} }, CHAT, "message") })
    assert.are.same({ nil, "missing field", "chat.id: null" }, { S.check(json.decode('{"chat":{"id":null}}'), CHAT) })
  end)

  it("names a wrong type with what was expected and what came", function()
    assert.are.same({ nil, "wrong type", "chat.id: expected integer, got string" }, { S.check({ chat = { id = "7" } }, CHAT) })
    assert.are.same({ nil, "wrong type", "chat.id: expected integer, got number" }, { S.check({ chat = { id = 7.5 } }, CHAT) })
    assert.are.same({ nil, "wrong type", "expected object, got array" }, { S.check({ 1, 2 }, CHAT) })
    assert.are.same({ nil, "wrong type", "photo: expected array, got string" }, { S.check({ chat = { id = 1 }, photo = "x" }, CHAT) })
    assert.are.same({ nil, "wrong type", "photo[2].file_id: expected id (string or integer), got object" },
      { S.check({ chat = { id = 1 }, photo = { { file_id = "a" }, { file_id = { x = 1 } } } }, CHAT) })
    assert.are.same({ nil, "wrong type", "n: expected number, got number" },
      { S.check({ n = 1 / 0 }, S.object{ n = S.number() }) })   -- not finite
  end)

  it("refuses an empty list where items are required", function()
    assert.are.same({ nil, "empty list", "photo: 0 items, at least 1 expected" }, { S.check({ chat = { id = 1 }, photo = {} }, CHAT) })
  end)

  it("keeps ids safe inside a Redis key: printable, no braces, bounded", function()
    local ID = S.object{ id = S.id(10) }
    assert.is_true(S.check({ id = "wamid.A=" }, ID))
    assert.is_true(S.check({ id = 12345678901234 }, ID))
    assert.are.equal("bad value", select(2, S.check({ id = "a}b" }, ID)))
    assert.are.equal("bad value", select(2, S.check({ id = "a\nb" }, ID)))
    assert.are.equal("too long", select(2, S.check({ id = ("x"):rep(11) }, ID)))
    assert.are.equal("missing field", select(2, S.check({ id = "" }, ID)))
    assert.are.equal("12345678901234", S.text(12345678901234))
  end)

  it("accepts either of two shapes", function()
    local B = S.object{ b = S.either(S.string(5), S.integer()) }
    assert.is_true(S.check({ b = "yes" }, B))
    assert.is_true(S.check({ b = 3 }, B))
    assert.are.equal("wrong type", select(2, S.check({ b = true }, B)))
  end)
end)

describe("channel parsers under odd input", function()
  local json = require "json"
  local WORDS = { ["missing field"] = true, ["wrong type"] = true, ["empty list"] = true, ["too long"] = true,
                  ["bad value"] = true, ["bad json"] = true }

  -- every message a parser returns is one the inbound stream can take
  local function usable(m, where)
    assert.are.equal("string", type(m.id), where)
    assert.truthy(m.id ~= "" and not m.id:find("[{}%c]"), where)
    assert.are.equal("string", type(m.conversation), where)
    assert.truthy(#m.conversation >= 1 and #m.conversation <= 100 and not m.conversation:find("[{}%c]"), where)
    assert.truthy(m.name == nil or type(m.name) == "string", where)
    assert.are.equal("string", type(m.kind), where)
    assert.truthy(m.text == nil or type(m.text) == "string", where)
    json.encode{ text = m.text, button = m.button, media = m.media, location = m.location, contacts = m.contacts }
  end

  -- parse -> messages checked, or a refusal with a stable word; never a raise
  local function outcome(parse, body)
    local ok, msgs, b, c = pcall(parse, body)
    assert.is_true(ok, "raised on " .. body .. ": " .. tostring(msgs))
    if msgs == nil then
      assert.truthy(WORDS[b], body .. " -> " .. tostring(b))
      assert.are.equal("string", type(c), body)
      return "refused"
    end
    for _, m in ipairs(msgs) do usable(m, body) end
    for _, s in ipairs(type(b) == "table" and b or {}) do
      assert.truthy(type(s.id) == "string" and s.id ~= "", body)
      json.encode(s)
    end
    for _, u in ipairs(type(c) == "table" and c or {}) do assert.truthy(WORDS[u.word], body) end
    return "parsed"
  end

  local function copy(v)
    if type(v) ~= "table" then return v end
    local c = {}
    for k, x in pairs(v) do c[k] = copy(x) end
    return c
  end

  -- every path to a value in v
  local function paths(v, prefix, out)
    for k, x in pairs(v) do
      local p = { unpack(prefix) }
      p[#p + 1] = k
      out[#out + 1] = p
      if type(x) == "table" then paths(x, p, out) end
    end
    return out
  end

  local ODD = { false, json.null, "", "x{y}", 0, -1.5, 2 ^ 60, true, {}, { 1, 2 }, { a = 1 }, ("x"):rep(300) }

  -- each field of a valid payload replaced by each odd value, or removed
  local function each_variant(sample, fn)
    local n = 0
    for _, path in ipairs(paths(sample, {}, {})) do
      for i = 0, #ODD do
        local v = copy(sample)
        local t = v
        for j = 1, #path - 1 do t = t[path[j]] end
        if i == 0 then t[path[#path]] = nil else t[path[#path]] = copy(ODD[i]) end
        fn(json.encode(v))
        n = n + 1
      end
    end
    return n
  end

  local SAMPLES = {
    telegram = {
      { update_id = 7, message = { message_id = 1, chat = { id = 5, type = "private" }, from = { id = 5, first_name = "Ana" }, text = "hi" } },
      { update_id = 8, callback_query = { id = "cb", from = { id = 5, first_name = "Ana" }, data = "confirm",
                                          message = { message_id = 2, chat = { id = 5 } } } },
      { update_id = 9, message = { chat = { id = 5 }, photo = { { file_id = "s" }, { file_id = "b", mime_type = "image/jpeg" } },
                                   caption = "car", location = { latitude = 1, longitude = 2 } } },
    },
    whatsapp = {
      { object = "whatsapp_business_account", entry = { { id = "1", changes = { { field = "messages", value = {
        contacts = { { wa_id = "9198", profile = { name = "Ana" } } },
        messages = { { from = "9198", id = "wamid.A", type = "text", text = { body = "hi" } },
                     { from = "9198", id = "wamid.B", type = "interactive",
                       interactive = { type = "button_reply", button_reply = { id = "confirm", title = "Confirm" } } },
                     { from = "9198", id = "wamid.C", type = "image", image = { id = "m1", mime_type = "image/jpeg" } },
                     { from = "9198", id = "wamid.D", type = "contacts",
                       contacts = { { name = { formatted_name = "Bo" }, phones = { { phone = "+34" } } } } } },
        statuses = { { id = "wamid.OUT", status = "read", timestamp = "1750857384", recipient_id = "9198" } } } } } } } },
    },
    wapi = {
      { contact = { phone_number = "919876543210", name = "Rahul" }, message = { id = "m1", type = "text", body = "hi" } },
      { contact = { phone_number = 919876543210 }, message = { id = 5, type = "button", button_id = "confirm" } },
    },
  }

  for channel, samples in pairs(SAMPLES) do
    it(("never raises on %s payloads with any field missing or odd, and refuses with a stable word"):format(channel), function()
      local parse = require("channels." .. channel).parse
      local seen = { parsed = 0, refused = 0 }
      for _, sample in ipairs(samples) do
        assert.are.equal("parsed", outcome(parse, json.encode(sample)))
        each_variant(sample, function(body) local o = outcome(parse, body); seen[o] = seen[o] + 1 end)
      end
      assert.truthy(seen.parsed > 0 and seen.refused > 0, json.encode(seen))
    end)
  end

  it("refuses the issue's examples with the reason", function()
    local telegram, whatsapp, wapi = require "channels.telegram", require "channels.whatsapp", require "channels.wapi"
    assert.are.same({ nil, "missing field", "message.chat.id: missing" },
      { telegram.parse('{"update_id":7,"message":{"chat":{},"text":"x"}}') })
    assert.are.equal("missing field", select(2, telegram.parse('{"update_id":7,"callback_query":{"id":"c","data":"x"}}')))
    assert.are.equal("empty list", select(2, telegram.parse('{"update_id":7,"message":{"chat":{"id":1},"photo":[]}}')))
    -- an inline message's button: no chat, the user's own chat answers
    local b = telegram.parse('{"update_id":7,"callback_query":{"id":"c","from":{"id":42},"data":"x"}}')
    assert.are.same({ "42", "x" }, { b[1].conversation, b[1].button })
    local wa = '{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[%s],"statuses":[%s]}}]}]}'
    local msgs, statuses, unusable = whatsapp.parse(wa:format('{"from":"1","type":"text","text":{"body":"a"}},'
      .. '{"id":"w2","type":"text","text":{"body":"b"}},{"id":"w3","from":"1","type":"text","text":{"body":"c"}}',
      '{"id":{"x":1},"status":"read"},{"id":"s2","status":"read"}'))
    assert.are.same({ "w3" }, { msgs[1].id, msgs[2] })
    assert.are.same({ "s2" }, { statuses[1].id, statuses[2] })
    assert.are.equal(3, #unusable)
    assert.truthy(unusable[1].detail:find("messages[1].id", 1, true))
    assert.truthy(unusable[2].detail:find("messages[2].from", 1, true))
    assert.truthy(unusable[3].detail:find("statuses[1].id: expected id", 1, true))
    assert.are.same({ nil, "missing field", "contact.phone_number: missing" },
      { wapi.parse('{"contact":{"name":"R"},"message":{"id":"m1","body":"hi"}}') })
  end)

  it("refuses Twilio forms without From, Body or MessageSid; keeps empty bodies and statuses", function()
    local twilio = require "channels.twilio"
    assert.are.same({ nil, "missing field", "From: missing" }, { twilio.parse("MessageSid=SM1&Body=hi") })
    assert.are.same({ nil, "missing field", "Body: missing" }, { twilio.parse("MessageSid=SM1&From=whatsapp%3A%2B1") })
    assert.are.same({ nil, "missing field", "MessageSid: missing" }, { twilio.parse("From=whatsapp%3A%2B1&Body=hi") })
    assert.are.equal("bad value", select(2, twilio.parse("MessageSid=SM%7B1&From=x&Body=hi")))
    assert.are.equal("", twilio.parse("MessageSid=SM1&From=whatsapp%3A%2B1&Body=")[1].text)
    local _, st = twilio.parse("MessageSid=SM3&MessageStatus=read&To=x")
    assert.are.equal("read", st[1].status)
    for _, body in ipairs{ "", "&&&", "=", "%zz=%", "MessageSid", "MessageSid=&From=&Body=", ("a=b&"):rep(1000) } do
      assert.is_true((pcall(twilio.parse, body)), body)
    end
  end)

  it("answers Vapi payloads it cannot use with 200 and the reasons, never running a call without its id", function()
    local vapi = require "channels.vapi"
    local creds = { deadline = 1, transfer = "Transferring." }
    local status, answer, unusable = vapi.answer("odd-spec", json.encode{ message = { type = "tool-calls",
      call = { id = "c1" }, toolCallList = "x" } }, creds)
    assert.are.same({ 200, "wrong type" }, { status, unusable[1].word })
    status, answer, unusable = vapi.answer("odd-spec", json.encode{ message = { type = "tool-calls",
      toolCallList = { { id = "t1", ["function"] = { name = "f", arguments = { text = "hi" } } }, 7 } } }, creds)
    assert.are.equal(200, status)
    assert.are.same({ { toolCallId = "t1", result = "Transferring." } }, answer.results)
    assert.are.same({ "missing field", "wrong type" }, { unusable[1].word, unusable[2].word })
    for _, body in ipairs{ "", "null", "[]", '{"message":[]}', '{"message":{"type":7}}', '{"message":{"type":"end-of-call-report"}}' } do
      local ok, st, _, un = pcall(vapi.answer, "odd-spec", body, creds)
      assert.is_true(ok, body .. ": " .. tostring(st))
      assert.are.equal(200, st, body)
      assert.truthy(#un >= 1, body)
    end
  end)
end)

describe("delivery receipts", function()
  local receipts = require "channels.receipts"
  local redis = require "redis"
  local json = require "json"
  local crypto = require "crypto"

  it("are kept by provider id, expire with the tenant's silence, and drop ids older than 30 days", function()
    local tenant = "rc-" .. crypto.random_hex(4)
    local key = receipts.key(tenant)
    assert.is_true(receipts.record(tenant, "wamid.1", { status = "accepted" }))
    assert.is_true(receipts.record(tenant, 12345678901234, { status = "read" }))
    assert.are.equal("read", json.decode(redis.call("HGET", key, "12345678901234")).status)
    assert.is_true(redis.call("TTL", key) > 29 * 24 * 3600)
    assert.is_true(redis.call("TTL", key .. ":at") > 29 * 24 * 3600)
    redis.call("ZADD", key .. ":at", 1, "wamid.1")                   -- as if written in 1970
    assert.is_true(receipts.record(tenant, "wamid.2", { status = "accepted" }))
    assert.are.equal(redis.null, redis.call("HGET", key, "wamid.1"))
    assert.are.same({ nil, "bad id" }, { receipts.record(tenant, { 1 }, { status = "x" }) })
    assert.are.same({ nil, "not encodable" }, { receipts.record(tenant, "w", { at = function() end }) })
    redis.call("DEL", key, key .. ":at")
  end)
end)

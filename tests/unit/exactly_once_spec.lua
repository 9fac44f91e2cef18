-- Exactly once under kills (docs/exactly-once.md): the inbound dedupe and
-- append as one step, the in-doubt rule and the vendor's word on a reply in
-- doubt (WhatsApp biz_opaque_callback_data, Twilio StatusCallback).
local redis = require "redis"
local json = require "json"
local time = require "time"
local host = require "host"
local crypto = require "crypto"
local inbound = require "channels.inbound"
local doubt = require "channels.doubt"
local whatsapp = require "channels.whatsapp"
local twilio = require "channels.twilio"

local function fresh(label) return "eo" .. label .. crypto.random_hex(4) end

describe("inbound.accept (dedupe and append in one script)", function()
  it("queues a message once; its retry is a duplicate", function()
    local t = fresh("a")
    local msg = { id = "u1", conversation = "42", text = "hi", kind = "text" }
    assert.are.equal("queued", inbound.accept(t, "telegram", msg))
    assert.are.equal("duplicate", inbound.accept(t, "telegram", msg))
    assert.are.equal(1, redis.call("XLEN", inbound.stream(t)))
    local e = redis.call("XRANGE", inbound.stream(t), "-", "+")[1][2]
    local f = {}
    for i = 1, #e, 2 do f[e[i]] = e[i + 1] end
    assert.are.same({ text = "hi", kind = "text" }, json.decode(f.msg))
    f.msg = nil
    assert.are.same({ channel = "telegram", id = "u1", conversation = "42", name = "" }, f)
    assert.are.equal(1, redis.call("EXISTS", inbound.window_key(t, "telegram", "42")))
    redis.call("DEL", inbound.stream(t), inbound.dedupe_key(t, "telegram", "u1"), inbound.window_key(t, "telegram", "42"))
  end)

  it("keeps no dedupe mark when the append fails: the provider's retry gets in", function()
    local t = fresh("b")
    redis.call("SET", inbound.stream(t), "not a stream")        -- XADD fails: WRONGTYPE
    local msg = { id = "u2", conversation = "43", text = "hi", kind = "text" }
    local res, err = inbound.accept(t, "telegram", msg)
    assert.is_nil(res)
    assert.truthy(tostring(err):find("WRONGTYPE", 1, true), err)
    assert.are.equal(0, redis.call("EXISTS", inbound.dedupe_key(t, "telegram", "u2")))
    redis.call("DEL", inbound.stream(t))
    assert.are.equal("queued", inbound.accept(t, "telegram", msg))
    redis.call("DEL", inbound.stream(t), inbound.dedupe_key(t, "telegram", "u2"), inbound.window_key(t, "telegram", "43"))
  end)

  it("is one script over keys of one hash tag (Cluster-safe)", function()
    local t = fresh("c")
    for _, k in ipairs{ inbound.dedupe_key(t, "telegram", "x"), inbound.stream(t), inbound.window_key(t, "telegram", "y") } do
      assert.are.equal("{" .. t .. "}", k:match("{[^}]*}"))
    end
  end)
end)

describe("the in-doubt rule", function()
  it("is resend unless the tenant says skip", function()
    assert.are.equal("resend", doubt.rule({}))
    assert.are.equal("resend", doubt.rule(nil))
    assert.are.equal("resend", doubt.rule({ in_doubt = "resend" }))
    assert.are.equal("skip", doubt.rule({ in_doubt = "skip" }))
  end)

  local function metric(tenant, outcome)
    local text = host.metrics()
    return tonumber(text:match(('flowhost_replies_in_doubt_total{tenant="%s",outcome="%s"} (%%d+)'):format(tenant, outcome))) or 0
  end

  it("resends without the vendor's word under resend, counts it as sent under skip", function()
    local t = fresh("d")
    local where = { channel = "telegram", id = "5", conversation = "77", reply = 1 }
    assert.is_false(doubt.resolve(t, { in_doubt = "resend" }, where, 0))
    assert.is_true(doubt.resolve(t, { in_doubt = "skip" }, where, 0))
    assert.is_false(doubt.resolve(t, {}, where, 0))
    assert.are.equal(2, metric(t, "resent"))
    assert.are.equal(1, metric(t, "skipped"))
  end)

  it("takes the vendor's status callback over the rule, even one that comes while it waits", function()
    local t = fresh("e")
    local where = { channel = "whatsapp", id = "wamid.IN=", conversation = "16505551234", reply = 2 }
    local ref = doubt.ref("whatsapp", "wamid.IN=", 2)
    -- failed (the customer did not get it) and other replies' statuses do not count
    assert.is_true(doubt.confirm(t, ref, "failed"))
    assert.is_true(doubt.confirm(t, doubt.ref("whatsapp", "wamid.IN=", 1), "delivered"))
    assert.is_nil(doubt.taken(t, "whatsapp", "wamid.IN=", 2))
    local t0 = time.monotonic()
    host.spawn(function() time.sleep(0.3); doubt.confirm(t, ref, "sent") end)
    assert.is_true(doubt.resolve(t, { in_doubt = "resend" }, where, 3))
    assert.is_true(time.monotonic() - t0 < 2)
    assert.are.equal("sent", doubt.taken(t, "whatsapp", "wamid.IN=", 2))
    -- a later status does not overwrite the first, nor an unknown one
    doubt.confirm(t, ref, "delivered")
    assert.are.equal("sent", doubt.taken(t, "whatsapp", "wamid.IN=", 2))
    assert.is_true(doubt.confirm(t, "someone else's data", "sent"))
    assert.is_true(doubt.confirm(t, "fh1:1:whatsapp:{other}x", "sent"))
    assert.are.equal(0, redis.call("EXISTS", doubt.key(t, "whatsapp", "{other}x")))
    redis.call("DEL", doubt.key(t, "whatsapp", "wamid.IN="))
  end)
end)

describe("vendor references on replies", function()
  it("WhatsApp: biz_opaque_callback_data comes back on statuses", function()
    local ref = doubt.ref("whatsapp", "wamid.A", 1)
    local _, statuses = whatsapp.parse(json.encode{ object = "whatsapp_business_account", entry = { { id = "1",
      changes = { { field = "messages", value = { messaging_product = "whatsapp", statuses = {
        { id = "wamid.OUT", status = "sent", timestamp = "1750857384", recipient_id = "16505551234",
          biz_opaque_callback_data = ref },
        { id = "wamid.OUT2", status = "delivered", timestamp = "1750857384", recipient_id = "16505551234" } } } } } } } })
    assert.are.equal(ref, statuses[1].ref)
    assert.is_nil(statuses[2].ref)
  end)

  it("Twilio: the StatusCallback URL carries the reference, signed as Twilio signs it", function()
    local creds = { auth_token = "12345", webhook_url = "https://mycompany.com/webhooks/carwash/twilio" }
    local ref = doubt.ref("twilio", "rep:SM123", 2)
    local url = creds.webhook_url .. "?fh_reply=" .. require("channels.form").escape(ref)
    local body = "MessageSid=SM9&MessageStatus=sent&To=whatsapp%3A%2B15551234567"
    local params = { MessageSid = { "SM9" }, MessageStatus = { "sent" }, To = { "whatsapp:+15551234567" } }
    local sig = twilio.signature(creds.auth_token, url, params, { "MessageSid", "MessageStatus", "To" })
    local req = { body = body, headers = { ["x-twilio-signature"] = sig }, query = { fh_reply = ref } }
    assert.is_true(twilio.verify(req, creds))
    -- another reference under the same signature is a forgery
    req.query.fh_reply = doubt.ref("twilio", "rep:SM123", 1)
    assert.are.equal(403, select(2, twilio.verify(req, creds)))
    local _, statuses = twilio.parse(body, { fh_reply = ref })
    assert.are.equal(ref, statuses[1].ref)
    assert.are.equal("sent", statuses[1].status)
  end)
end)

describe("the in_doubt setting", function()
  local tenant = require "flow.tenant"
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("refuses a value that is neither resend nor skip, naming the file and what to write", function()
    local t, problems = tenant.load("baddoubt")
    assert.is_nil(t)
    local p = table.concat(problems, "\n")
    assert.truthy(p:find('tests/fixtures/tenants/baddoubt.lua:1: in_doubt must be "resend"', 1, true), p)
    assert.truthy(p:find('or "skip"', 1, true), p)
  end)
end)

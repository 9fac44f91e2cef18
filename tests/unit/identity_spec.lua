-- flow.identity: who a conversation is with (from its id, which the host
-- makes from what the vendor signed), and the tenant a state serves.
local identity = require "flow.identity"

describe("identity.of", function()
  it("a phone channel's conversation: its id verified, the address's digits as the phone", function()
    assert.are.same({ conversation = "whatsapp:919876543210", channel = "whatsapp",
                      verified = "whatsapp:919876543210", phone = "919876543210" }, identity.of("whatsapp:919876543210"))
    assert.are.equal("14155238886", identity.of("twilio:whatsapp:+14155238886").phone)
    assert.are.equal("twilio:whatsapp:+14155238886", identity.of("twilio:whatsapp:+14155238886").verified)
    assert.are.equal("919000000001", identity.of("wapi:919000000001").phone)
  end)

  it("Telegram and Vapi conversations are verified by their id, with no phone", function()
    local tg = identity.of("telegram:-100123")
    assert.are.equal("telegram", tg.channel)
    assert.are.equal("telegram:-100123", tg.verified)
    assert.is_nil(tg.phone)
    assert.is_nil(identity.of("vapi:call-1").phone)
  end)

  it("a chat API conversation is verified as itself, never as a channel's", function()
    assert.are.same({ conversation = "chat:abc", channel = "chat", verified = "chat:abc" }, identity.of("chat:abc"))
    local plain = identity.of("spec-1")
    assert.are.equal("chat", plain.channel)
    assert.are.equal("chat:spec-1", plain.verified)
    assert.are.equal("chat", identity.of("sms:123").channel)   -- no such channel: a chat id
    assert.is_nil(identity.of("sms:123").phone)
  end)

  it("raises on an id that is not a string", function()
    assert.has_error(function() identity.of(nil) end)
    assert.has_error(function() identity.of({}) end)
  end)
end)

describe("identity.check_tenant outside a tenant state", function()
  it("takes any tenant or rep id and refuses what is not one", function()
    assert.is_nil(identity.routed())
    assert.are.equal("carwash", identity.check_tenant("carwash"))
    assert.are.equal("salesco.anna", identity.check_tenant("salesco.anna"))
    for _, bad in ipairs{ "", "..", ".x", "a:b", "a}b", "a.b.c" } do
      assert.has_error(function() identity.check_tenant(bad) end, nil, bad)
    end
  end)
end)

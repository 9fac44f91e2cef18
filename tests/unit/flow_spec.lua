-- The flow runtime: loading and checking flows, slot filling, intents,
-- sentiment, languages, failures. Uses the fixture tenants in
-- tests/fixtures and the car-service tenant, with real Redis.
local tenant = require "flow.tenant"
local talk = require "flow.talk"
local store = require "flow.store"
local json = require "json"

local function problems_of(id)
  local t, problems = tenant.load(id)
  assert.is_nil(t)
  return table.concat(problems, "\n")
end

describe("flow loading", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("names file and line of every mistake in a flow", function()
    local p = problems_of("broken")
    local f = "tests/fixtures/flows/broken/flow.lua"
    assert.truthy(p:find(f .. ":9: state 'hello' done goes to state 'colect', which does not exist", 1, true), p)
    assert.truthy(p:find(f .. ":10: state 'ask' fills slot 'age', which is not declared in slots", 1, true), p)
    assert.truthy(p:find(f .. ":10: state 'ask' has an unknown field 'sya'", 1, true), p)
    assert.truthy(p:find(f .. ":11: state 'bye' say names message 'goodbye', which messages.lua does not have", 1, true), p)
    assert.truthy(p:find(f .. ":6: slot 'city' has no prompt", 1, true), p)
    assert.truthy(p:find(f .. ":13: intent 'dance' is not known", 1, true), p)
    assert.truthy(p:find("needs the message 'fallback'", 1, true), p)
  end)

  it("reports a syntax error with its file and line", function()
    assert.truthy(problems_of("syntax"):find("tests/fixtures/flows/syntax/flow.lua:4:", 1, true))
  end)

  it("rejects an unknown timezone and an unknown tenant", function()
    assert.truthy(problems_of("badzone"):find("timezone 'Mars/Olympus' is not an IANA zone", 1, true))
    assert.truthy(problems_of("nobody"):find("unknown tenant 'nobody'", 1, true))
    assert.truthy(problems_of("../etc"):find("is not a tenant id", 1, true))
  end)

  it("a good tenant loads with a content version", function()
    local t = assert(tenant.load("mini"))
    assert.truthy(t.version:match("^%x+$"))
    assert.are.equal(t.version, assert(tenant.load("mini")).version)
  end)

  it("a flow cannot reach io, os.execute, debug or arbitrary modules", function()
    local source = require "flow.source"
    local env = source.env()
    assert.is_nil(env.io)
    assert.is_nil(env.os.execute)
    assert.is_nil(env.debug)
    assert.is_nil(env.load)
    assert.has_error(function() env.require("ffi") end)
  end)
end)

describe("turns of the mini tenant", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("greets, asks, re-asks with the reason, and finishes", function()
    local c = talk.new("mini")
    c:says("hi"):hears("Hello from Mini!"):hears("What is your name?"):in_state("collect")
    c:says("Anna"):hears("email"):has_slot("name", "Anna")
    c:says("anna at example"):hears("That email looks wrong"):has_slot("name", "Anna")
    c:says("Anna@Example.com"):in_state("finished"):hears("Thanks Anna, we will write to anna@example.com.")
  end)

  it("a flow that raises: the customer gets the fallback text, the conversation is unchanged", function()
    local c = talk.new("mini")
    c:says("hi"):says("Anna")
    local before = store.load("mini", c.id)
    c:taps("explode"):hears("Something went wrong, please retry.")
    local after = store.load("mini", c.id)
    assert.are.equal(before.turns, after.turns)
    assert.are.equal("Anna", after.slots.name)
  end)

  it("answers in Hindi when the customer writes Devanagari", function()
    local c = talk.new("mini")
    c:says("नमस्ते"):hears("Mini की ओर से नमस्ते!"):hears("आपका नाम क्या है?")
    c:says("english"):hears("What is your name?"):has_slot("name", nil) -- back to the default language
  end)

  it("help is answered and the open question asked again", function()
    local c = talk.new("mini")
    c:says("hi"):says("help"):hears("I collect your name and email."):hears("What is your name?")
  end)
end)

describe("turns of the car-service tenant", function()
  it("fills several slots from one message", function()
    local c = talk.new("carwash")
    c:says("hi"):says("I'm Rahul, 9876543210, Honda City MH12AB1234")
    c:has_slot("name", "Rahul"):has_slot("phone", "9876543210"):has_slot("brand", "honda")
     :has_slot("model", "City"):has_slot("plate", "MH12AB1234"):hears("service")
  end)

  it("keeps filled slots against later guesses, takes explicit corrections", function()
    local c = talk.new("carwash")
    c:says("hi"):says("Rahul"):says("9876543210"):says("Honda City")
    c:says("MH12AB1234, or call 9123456789 if late"):has_slot("phone", "9876543210"):has_slot("plate", "MH12AB1234")
    c:says("no, my number is 9123456789"):has_slot("phone", "9123456789"):has_slot("plate", "MH12AB1234")
  end)

  it("understands services and brands with typos", function()
    local c = talk.new("carwash")
    c:says("hi"):says("Rahul"):says("9876543210"):says("hyundia creta"):has_slot("brand", "hyundai")
    c:says("MH12AB1234"):says("ful detailing"):has_slot("service", "full_detailing")
  end)

  it("an angry customer gets the hand-off text instead of another question", function()
    local c = talk.new("carwash")
    c:says("hi"):says("Rahul")
    c:says("THIS IS RIDICULOUS!!! You people are useless, worst service ever")
     :hears("A member of our team will get back to you"):never_hears("mobile number")
    local conv = store.load("carwash", c.id)
    assert.are.equal("angry", conv.handoff.reason)
  end)

  it("asking for a person records the request", function()
    local c = talk.new("carwash")
    c:says("hi"):says("I want to talk to a person"):hears("A person from our team")
    assert.are.equal("asked", store.load("carwash", c.id).handoff.reason)
  end)

  it("chat replies carry buttons as data", function()
    local c = talk.new("carwash")
    c:says("hi"):says("Rahul"):says("9876543210"):says("Honda City"):says("MH12AB1234")
    local ids = {}
    for _, b in ipairs(c:buttons()) do ids[#ids + 1] = b.id end
    assert.are.same({ "basic_wash", "foam_wash", "interior", "full_detailing" }, ids)
    c:says("2"):has_slot("service", "foam_wash")    -- a number picks from the list shown
  end)

  it("the conversation lives in Redis with the tenant's TTL and the flow version", function()
    local c = talk.new("carwash")
    c:says("hi")
    local redis = require "redis"
    local ttl = redis.call("TTL", store.key("carwash", c.id))
    assert.truthy(ttl > 23 * 3600 and ttl <= 24 * 3600, ttl)
    local conv = json.decode(redis.call("GET", store.key("carwash", c.id)))
    assert.are.equal(tenant.get("carwash").version, conv.version)
    assert.are.equal("collect", conv.state)
  end)

  it("reads what the turn needs next with the conversation, and saves the history as it was said", function()
    local c = talk.new("carwash")
    c:says("hi")
    local redis = require "redis"
    local handoff = require "flow.handoff"
    assert(handoff.mark("carwash", c.id, 60, "asked"))
    local conv, how, also = store.load("carwash", c.id, { { "PING" }, handoff.active_command("carwash", c.id) })
    assert.are.equal("found", how)
    assert.are.equal("PONG", also[1])
    assert.are.equal("asked", handoff.active_of(also[2]))
    redis.call("DEL", handoff.key("carwash", c.id))
    assert.is_nil(handoff.active("carwash", c.id))
    store.remember(conv, "bot", print)                   -- (only text is kept)
    local saved, copy = store.save("carwash", c.id, conv, 3600)
    assert.is_true(saved)
    assert.are.same({ who = "bot" }, copy.history[#copy.history])
    assert.are.same(copy.history, json.decode(redis.call("GET", store.key("carwash", c.id))).history)
  end)
end)

describe("sales reps", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("two reps of one tenant answer with their own tone and hours from one flow", function()
    local anna = talk.new("salesco.anna")
    anna:says("hi"):hears("Hello from Anna at Sales Co!"):never_hears("glad"):never_hears("😀")
    anna:says("a demo please")
    local h = tonumber(anna:said():match("at (%d%d):%d%d"))
    assert.truthy(h >= 9 and h < 12, anna:said())
    local ben = talk.new("salesco.ben")
    ben:says("hi"):hears("Hello, Ben here! Going to find you a time.")
    ben:says("a demo please")
    h = tonumber(ben:said():match("at (%d%d):%d%d"))
    assert.truthy(h >= 14 and h < 18, ben:said())
    -- the tenant itself keeps its own settings
    local base = talk.new("salesco")
    base:says("hi"):hears("We are glad you are here.")
  end)

  it("an unknown rep is an unknown tenant", function()
    local t, err = tenant.get("salesco.nobody")
    assert.is_nil(t)
    assert.are.equal("unknown tenant", err)
  end)
end)

describe("a conversation whose state a new flow version no longer has", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("restarts from the start with its slots kept", function()
    local c = talk.new("mini")
    c:says("hi"):says("Anna")
    local conv = assert(store.load("mini", c.id))
    conv.state = "a_state_the_old_version_had"
    assert(store.save("mini", c.id, conv, 3600))
    c:says("hello?"):hears("Hello from Mini!"):hears("And your email?"):has_slot("name", "Anna"):in_state("collect")
  end)
end)

describe("platform defaults and secrets", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("every tenant starts from _platform.lua, its own settings win, and _platform is no tenant", function()
    local t = assert(tenant.load("mini"))
    assert.are.equal("09:00-17:00", t.settings.support_hours)
    assert.are.same({ "en", "hi" }, t.settings.languages)
    for _, id in ipairs(tenant.list()) do assert.are_not.equal("_platform", id) end
  end)

  it("refuses a literal secret in a tenant's config, naming the line", function()
    local p = problems_of("leaky")
    assert.truthy(p:find("tests/fixtures/tenants/leaky.lua:4: api_key holds a literal secret", 1, true), p)
  end)
end)

describe("a tenant's own quick checks", function()
  before_each(function() tenant.folders("tests/fixtures/tenants", "tests/fixtures/flows") end)
  after_each(function() tenant.folders(nil, nil) end)

  it("run before a version may serve, and a failure names the file and line", function()
    local p = problems_of("checked")
    assert.truthy(p:find("tests/fixtures/flows/checked/flow.lua:12: quick check failed: the name question must be short", 1, true), p)
  end)
end)

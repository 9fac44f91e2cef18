-- Sales Co's conversation without the vendors: each rep's voice, BANT one
-- question at a time, the stage that decides whether a call is offered,
-- and escalation (English, Russian, a discount past the rep's limit).
-- Over HTTP with FLOWHOST_CHAT_URL set, else in this process; Redis is real.
-- Booking, Zoom, Google and Telegram: tests/integration/salesco_spec.lua.
local talk = require "flow.talk"
local tenant = require "flow.tenant"

local URL = os.getenv("FLOWHOST_CHAT_URL")

local function rep(name) return talk.new("salesco." .. name, URL and { url = URL } or nil) end

-- every reply of the last turn
local function replies(c)
  local out = {}
  for _, r in ipairs(c.last.replies or {}) do out[#out + 1] = r.text end
  return out
end

describe("salesco conversation", function()
  it("greets in each rep's own voice", function()
    local anna = rep("anna"):says("Hello")
    anna:hears("Anna's assistant"):hears("what you would like to achieve")
    local ben = rep("ben"):says("Hello")
    ben:hears("Ben's assistant here 👋"):hears("what are you hoping to fix")
  end)

  it("gathers BANT one question at a time and asks for the email when qualified", function()
    local c = rep("anna"):says("Hi")
    c:says("We need a CRM for our 20 sales agents"):hears("budget"):has_slot("need", "We need a CRM for our 20 sales agents")
    assert.are.equal(1, #replies(c), "one question at a time: " .. table.concat(replies(c), " | "))
    c:says("about $8,000"):hears("deciding"):has_slot("budget", 8000)
    c:says("yes, I decide"):hears("When would you like"):has_slot("authority", true)
    c:says("next month"):hears("email"):has_slot("timeline", 1):has_slot("stage", "qualified"):has_slot("score", 4)
    c:says("it is ann@@example"):hears("does not look right")
    c:says("ann@example.com"):has_slot("email", "ann@example.com")
  end)

  it("answers a prospect writing Russian in Russian, with the formal Вы, and English again in English", function()
    local c = rep("anna"):says("Здравствуйте")
    c:hears("Здравствуйте"):hears("Вы")                       -- the greeting and the first question, formally
    for _, r in ipairs(replies(c)) do
      assert.falsy((" " .. r .. " "):find("[%s,.!?]ты[%s,.!?]"), r)
      assert.falsy((" " .. r .. " "):find("[%s,.!?]вы[%s,.!?]"), r)  -- capitalised, to one person
    end
    c:says("We need a CRM for our sales team"):hears("budget")   -- English again
  end)

  it("reads several BANT answers from one message", function()
    local c = rep("anna"):says("Hi")
    c:says("We need a website, budget 5k, I am the owner"):hears("When would you like")
    c:has_slot("budget", 5000):has_slot("authority", true)
  end)

  it("offers no call to a prospect who does not qualify, by the rep's own bar", function()
    local c = rep("ben"):says("Hi")        -- Ben's calls start at a budget of 5000
    c:says("We need a logo"):says("$300"):says("no, my boss decides"):says("next year")
    c:hears("when the timing is right"):has_slot("stage", "nurture"):never_hears("email")
  end)

  it("hands a prospect who says 'call me' to the rep, and then stays quiet", function()
    local c = rep("anna"):says("Hi")
    c:says("Can you call me please?"):hears("passing this to my colleague")
    c:says("hello?")
    assert.are.same({}, replies(c))
  end)

  it("hands over in Russian too, answering in Russian", function()
    local c = rep("ben"):says("Hi")
    c:says("Позвоните мне, пожалуйста"):hears("передам это коллеге"):hears("с Вами скоро свяжутся")
  end)

  it("hands a discount past the rep's limit to the rep, and keeps one within it", function()
    local ben = rep("ben"):says("Hi")                       -- Ben: no discount talk at all
    ben:says("Can we get 5% discount?"):hears("passing this to my colleague")
    local anna = rep("anna"):says("Hi")                     -- Anna may talk about up to 10 %
    anna:says("Could we get 5% off?"):never_hears("passing this")
    anna:says("And 20% off?"):hears("passing this to my colleague")
  end)
end)

describe("salesco tone", function()
  local anna, ben = assert(tenant.get("salesco.anna")), assert(tenant.get("salesco.ben"))
  local reply = "Hey — we're gonna sort it 😀🚀. It takes a day. Then we test. Then you sign."

  it("keeps Anna formal: no em-dash, no emoji, no slang, three sentences", function()
    local out = anna.tone(reply)
    assert.falsy(out:find("—", 1, true), out)
    assert.falsy(out:find("gonna", 1, true), out)
    assert.falsy(out:find("😀", 1, true) or out:find("🚀", 1, true), out)
    assert.falsy(out:find("you sign", 1, true), out)
  end)

  it("lets Ben keep one emoji and two sentences", function()
    local out = ben.tone(reply)
    assert.falsy(out:find("—", 1, true), out)
    assert.truthy(out:find("😀", 1, true), out)
    assert.falsy(out:find("🚀", 1, true), out)
    assert.falsy(out:find("Then we test", 1, true), out)
  end)
end)

describe("salesco questions", function()
  it("does not take the prospect's own question for an answer", function()
    local c = rep("anna"):says("Hi")
    c:says("What is this about?"):hears("what you would like to achieve")
    assert.is_nil(c.last.slots.need)
  end)
end)

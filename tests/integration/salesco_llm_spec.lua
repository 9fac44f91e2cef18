-- Sales Co with an LLM (tests/fakes/llm.py, scripted): a prospect's
-- question is answered from the knowledge topics it is about, in the rep's
-- voice. A scripted answer that breaks the voice rules is repaired (an
-- em-dash, too many sentences) or written again ("ты"), and never sent as
-- it came; an LLM that fails leaves the rules' answer.
local proc = require "proc"
local talk = require "flow.talk"
local http = require "http"
local json = require "json"
local crypto = require "crypto"

local LLM = os.getenv("LLM_FAKE_URL") or "http://127.0.0.1:19002"

local function script(model, steps)
  local r = assert(http.request{ method = "POST", url = LLM .. "/_control/script",
    headers = { ["Content-Type"] = "application/json" }, body = json.encode{ model = model, steps = steps } })
  assert.are.equal(200, r.status)
end

local function requests(model)
  return json.decode(assert(http.request{ url = LLM .. "/_control/requests?model=" .. model }).body).requests
end

-- the system prompt of a request (OpenAI shape: the first message)
local function system_of(req)
  local m = req.body.messages and req.body.messages[1]
  return m and m.role == "system" and m.content or ""
end

describe("salesco with an LLM", function()
  local host, model
  setup(function()
    model = "sales-" .. crypto.random_hex(4)
    host = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1,
      SALESCO_LLM_URL = LLM .. "/v1", SALESCO_LLM_MODEL = model, SALESCO_LLM_KEY = "sk-test-sales" } }
  end)
  teardown(function() if host then proc.stop(host) end end)

  local function rep(name) return talk.new("salesco." .. name, { url = host.url }) end
  local function replies(c)
    local out = {}
    for _, r in ipairs(c.last.replies or {}) do out[#out + 1] = r.text end
    return out
  end

  it("answers from the topics asked about only, and repairs an em-dash and a long answer", function()
    local before = #requests(model)
    script(model, { { content = "The Team plan is 49 USD per user a month \226\128\148 Business is 89 USD. "
      .. "Yearly billing gives two months free. The trial lasts 14 days. No card is needed." } })
    local c = rep("anna"):says("Hello")
    c:says("How much does it cost per user?")
    local said = replies(c)
    assert.are.equal(2, #said, json.encode(said))             -- the answer, then the next BANT question
    assert.matches("49 USD", said[1])
    assert.falsy(said[1]:find("\226\128\148", 1, true), said[1])
    assert.falsy(said[1]:find("No card", 1, true), said[1])   -- Anna: three sentences at most
    local reqs = requests(model)
    assert.are.equal(before + 1, #reqs)
    local sys = system_of(reqs[#reqs])
    assert.truthy(sys:find("49 USD per user", 1, true), sys)  -- the pricing topic
    assert.falsy(sys:find("GDPR", 1, true), sys)              -- not the security topic
  end)

  it("has the LLM write again an answer with the informal 'ты', and says the second", function()
    local before = #requests(model)
    script(model, { { content = "Ты можешь попробовать 14 дней бесплатно." },
                    { content = "Вы можете попробовать 14 дней бесплатно." } })
    local c = rep("anna"):says("Hello")
    c:says("Сколько стоит?")
    local said = replies(c)
    assert.are.equal("Вы можете попробовать 14 дней бесплатно.", said[1])
    local reqs = requests(model)
    assert.are.equal(before + 2, #reqs)
    assert.truthy(system_of(reqs[#reqs]):find("broke these rules", 1, true))
  end)

  it("never sends an answer still wrong after the second try, nor waits on a failing LLM", function()
    script(model, { { content = "Ты получишь скидку." }, { content = "Тебе понравится." } })
    local c = rep("ben"):says("Hello")
    c:says("What does the Business plan cost?")
    local said = table.concat(replies(c), " | ")
    assert.matches("answered on the call", said)
    assert.falsy(said:find("Ты", 1, true) or said:find("Тебе", 1, true), said)
    script(model, { { status = 500 }, { status = 500 }, { status = 500 }, { status = 500 } })
    local d = rep("ben"):says("Hello")
    d:says("Do you integrate with Gmail?")
    assert.matches("answered on the call", table.concat(replies(d), " | "))
  end)

  it("asks the LLM nothing when the question is about no topic", function()
    local before = #requests(model)
    local c = rep("anna"):says("Hello")
    c:says("Is it sunny there today?")
    assert.are.equal(before, #requests(model))
  end)
end)

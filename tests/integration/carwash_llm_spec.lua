-- The car-service tenant with an LLM (the fake in tests/fakes/llm.py):
-- the LLM reads what the rules cannot, and a failing or slow LLM never
-- stalls the conversation (the turn goes on with rules after its deadline).
local proc = require "proc"
local talk = require "flow.talk"
local http = require "http"
local json = require "json"
local crypto = require "crypto"
local time = require "time"

local LLM = os.getenv("LLM_FAKE_URL") or "http://127.0.0.1:19002"

local function script(model, steps)
  local r = assert(http.request{ method = "POST", url = LLM .. "/_control/script",
    headers = { ["Content-Type"] = "application/json" },
    body = json.encode{ model = model, steps = steps } })
  assert.are.equal(200, r.status)
end

local function requests(model)
  local r = assert(http.request{ url = LLM .. "/_control/requests?model=" .. model })
  return json.decode(r.body).requests
end

-- a conversation that has reached the plate question
local function to_plate(url)
  local c = talk.new("carwash", { url = url })
  c:says("hi"):says("Rahul"):says("9876543210"):says("Honda City"):hears("registration")
  return c
end

describe("carwash with an LLM", function()
  local host, model
  setup(function()
    model = "carwash-" .. crypto.random_hex(4)
    host = proc.start{ config = "config/flowhost.lua", env = {
      FLOWHOST_WORKERS = 1, CARWASH_LLM_URL = LLM .. "/v1", CARWASH_LLM_MODEL = model,
      CARWASH_LLM_KEY = "sk-test-carwash" } }
  end)
  teardown(function() if host then proc.stop(host) end end)

  it("fills a slot the rules could not read, from the LLM's structured answer", function()
    local c = to_plate(host.url)
    script(model, { { json = { plate = "mh 12 ab 1234", service = json.null, addons = json.null, date = json.null } } })
    c:says("em aitch twelve, a b, one two three four"):has_slot("plate", "MH12AB1234"):hears("service")
    local seen = requests(model)
    local last = seen[#seen]
    assert.are.equal("/v1/chat/completions", last.path)
    assert.are.equal("Bearer sk-test-carwash", last.headers.authorization)
    assert.are.equal(model, last.body.model)
    assert.truthy(json.encode(last.body.messages):find("em aitch twelve", 1, true))
    assert.are.equal("json_schema", last.body.response_format.type)
  end)

  it("rules first: a message the rules read does not call the LLM", function()
    local c = to_plate(host.url)
    local before = #requests(model)
    c:says("KA 01 AB 1234"):has_slot("plate", "KA01AB1234")
    assert.are.equal(before, #requests(model))
  end)

  it("an LLM answering 500 and then too slowly never stalls the turn", function()
    local c = to_plate(host.url)
    script(model, { { status = 500 }, { status = 500 }, { delay_ms = 20000 } })
    local t0 = time.monotonic()
    c:says("the one on my car, you know"):in_state("collect"):hears("registration")
    local took = time.monotonic() - t0
    assert.truthy(took < 6, ("the turn took %.1f s"):format(took))
    assert.is_nil(c.last.slots.plate)
    -- and the next message is read by the rules as usual
    c:says("MH 12 AB 1234"):has_slot("plate", "MH12AB1234")
  end)

  it("an invalid answer from the LLM is ignored, not stored", function()
    local c = to_plate(host.url)
    script(model, { { json = { plate = 42 } }, { json = { plate = 42 } } })
    c:says("no idea, it's the red car"):in_state("collect")
    assert.is_nil(c.last.slots.plate)
  end)
end)

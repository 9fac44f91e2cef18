-- Vapi voice calls: tool calls answered inline in Vapi's shape, the
-- caller's words running the car-service flow; auth variants; a turn that
-- cannot finish in time answers "let me transfer you", never a timeout;
-- end-of-call reports stored with the conversation. This spec sends the
-- webhooks exactly as Vapi does (wire-formats.md section 4).
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local SECRET = "vapi_" .. crypto.random_hex(8)

describe("vapi channel", function()
  local s, fake
  setup(function()
    fake = vendor.start("vapi", "/_control/sent")
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, CARWASH_VAPI_SECRET = SECRET,
      CARWASH_VAPI_DEADLINE = 1, CARWASH_VAPI_ASSISTANT_ID = "asst-carwash-1" } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  -- the fake Vapi sends the tool calls and judges our answer
  local function vapi(call, calls, auth)
    return fake:control("/_control/tool_calls", { url = s.url .. "/webhooks/carwash/vapi", call_id = call, calls = calls,
      auth = auth or { mode = "bearer", secret = SECRET } })
  end

  it("answers tool calls with the flow's replies, one single-line result per call", function()
    local call = "call-" .. crypto.random_hex(6)
    local r = vapi(call, { { id = "toolu_1", name = "booking_assistant", arguments = { text = "hi" } } })
    assert.is_true(r.valid, json.encode(r.problems))
    assert.truthy(r.results.toolu_1:find("name", 1, true), r.results.toolu_1)
    -- arguments as a JSON string, and two calls in one message
    r = vapi(call, { { id = "toolu_2", name = "booking_assistant", arguments = json.encode{ text = "Rahul Sharma" } },
                     { id = "toolu_3", name = "booking_assistant", arguments = { text = "9876543210" } } })
    assert.is_true(r.valid, json.encode(r.problems))
    assert.truthy(r.results.toolu_3:find("car", 1, true), r.results.toolu_3)
  end)

  it("answers an assistant-request at once with the tenant's assistant", function()
    local r = fake:control("/_control/assistant_request", { url = s.url .. "/webhooks/carwash/vapi",
      auth = { mode = "bearer", secret = SECRET } })
    assert.is_true(r.valid, json.encode(r.problems))
    assert.are.equal("asst-carwash-1", r.answer.assistantId)
    assert.truthy(r.elapsed_ms < 1000, r.elapsed_ms)              -- Vapi waits 7.5 s
  end)

  it("accepts Bearer and X-Vapi-Secret, refuses missing and wrong secrets", function()
    local calls = { { id = "t", name = "booking_assistant", arguments = { text = "hi" } } }
    assert.are.equal(200, vapi("call-" .. crypto.random_hex(6), calls, { mode = "x-vapi-secret", secret = SECRET }).status)
    assert.are.equal(401, vapi("call-" .. crypto.random_hex(6), calls, { mode = "none" }).status)
    assert.are.equal(403, vapi("call-" .. crypto.random_hex(6), calls, { mode = "bearer", secret = "wrong" }).status)
  end)

  it("answers 'let me transfer you' when the turn cannot finish in time", function()
    local call = "call-" .. crypto.random_hex(6)
    -- the conversation is busy elsewhere: its lock is held for 5 s
    redis.call("SET", "lock:fh:conv:{carwash:vapi:" .. call .. "}:lock", "someone-else", "PX", 5000)
    local r = vapi(call, { { id = "toolu_9", name = "booking_assistant", arguments = { text = "hi" } } })
    assert.is_true(r.valid, json.encode(r.problems))
    assert.truthy(r.results.toolu_9:find("transfer", 1, true), r.results.toolu_9)
    assert.truthy(r.elapsed_ms < 3000, r.elapsed_ms)
  end)

  it("books nothing for a call once the caller heard 'transfer'", function()
    local call = "call-" .. crypto.random_hex(6)
    local n = 0
    local function say(text)
      n = n + 1
      local id = "toolu_h" .. n
      local r = vapi(call, { { id = id, name = "booking_assistant", arguments = { text = text } } })
      assert.is_true(r.valid, json.encode(r.problems))
      return r.results[id]
    end
    for _, text in ipairs{ "hi", "Rahul Sharma", "9876543210", "Honda City", "MH12AB1234", "basic wash", "none", "tomorrow" } do
      say(text)
    end
    assert.truthy(say("earliest"):find("confirm", 1, true))           -- at the summary, a time held
    -- the confirming turn cannot finish within the deadline (its lock is
    -- busy for 1.5 s): the caller hears "transfer", the turn runs later
    redis.call("SET", "lock:fh:conv:{carwash:vapi:" .. call .. "}:lock", "someone-else", "PX", 1500)
    assert.truthy(say("yes confirm"):find("transfer", 1, true))
    time.sleep(2.5)                                                    -- the late turn has run by now
    local engine = assert(require("flow.tenant").load("carwash")).booking
    local function of_call()
      local out = {}
      for _, b in ipairs(engine:by_customer("9876543210") or {}) do
        if b.conversation == "vapi:" .. call then out[#out + 1] = b end
      end
      return out
    end
    local mine = of_call()
    assert.truthy(#mine >= 1, "expected the held time")
    for _, b in ipairs(mine) do assert.are_not.equal("confirmed", b.status) end
    -- and every later tool call of the call is the transfer text, at once
    assert.truthy(say("yes confirm"):find("transfer", 1, true))
    for _, b in ipairs(of_call()) do assert.are_not.equal("confirmed", b.status) end
  end)

  it("stores the end-of-call report with the conversation", function()
    local call = "call-" .. crypto.random_hex(6)
    local ev = fake:control("/_control/event", { url = s.url .. "/webhooks/carwash/vapi", type = "end-of-call-report",
      call_id = call, auth = { mode = "bearer", secret = SECRET }, endedReason = "customer-ended-call",
      summary = "Booked a wash", transcript = "AI: Hi\nUser: hi" })
    assert.are.equal(200, ev.status)
    local rep = json.decode(redis.call("GET", "fh:conv:{carwash:vapi:" .. call .. "}:report"))
    assert.are.equal("customer-ended-call", rep.endedReason)
    assert.are.equal("Booked a wash", rep.summary)
    assert.are.equal(200, fake:control("/_control/event", { url = s.url .. "/webhooks/carwash/vapi", type = "status-update",
      status = "ended", call_id = call, auth = { mode = "bearer", secret = SECRET } }).status)
  end)
end)

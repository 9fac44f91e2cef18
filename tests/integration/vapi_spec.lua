-- Vapi voice calls: tool calls answered inline in Vapi's shape, the
-- caller's words running the car-service flow; auth variants; a turn that
-- cannot finish in time answers "let me transfer you", never a timeout;
-- end-of-call reports stored with the conversation. This spec sends the
-- webhooks exactly as Vapi does (wire-formats.md section 4).
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local SECRET = "vapi_" .. crypto.random_hex(8)

describe("vapi channel", function()
  local s
  setup(function()
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, CARWASH_VAPI_SECRET = SECRET,
      CARWASH_VAPI_DEADLINE = 1 } }
  end)
  teardown(function() if s then proc.stop(s) end end)

  local function post(body, headers)
    local h = { ["Content-Type"] = "application/json" }
    for k, v in pairs(headers or { Authorization = "Bearer " .. SECRET }) do h[k] = v end
    local r = assert(http.request{ method = "POST", url = s.url .. "/webhooks/carwash/vapi", headers = h,
      body = json.encode(body), timeout = 30 })
    return r.status, json.decode(r.body)
  end

  local function tool_calls(call, calls)
    local list = {}
    for i, c in ipairs(calls) do
      list[i] = { id = c.id, type = "function", ["function"] = { name = "booking_assistant", arguments = c.args } }
    end
    return { message = { type = "tool-calls", timestamp = 1678901234567,
      call = { id = call, orgId = "org", customer = { number = "+919876543210" } }, toolCallList = list } }
  end

  it("answers tool calls with the flow's replies, one single-line result per call", function()
    local call = "call-" .. crypto.random_hex(6)
    local status, res = post(tool_calls(call, { { id = "toolu_1", args = { text = "hi" } } }))
    assert.are.equal(200, status)
    assert.are.equal("toolu_1", res.results[1].toolCallId)
    assert.truthy(res.results[1].result:find("name", 1, true), res.results[1].result)
    assert.is_nil(res.results[1].result:find("\n", 1, true))
    -- arguments as a JSON string, and two calls in one message
    status, res = post(tool_calls(call, { { id = "toolu_2", args = json.encode{ text = "Rahul Sharma" } },
                                          { id = "toolu_3", args = { text = "9876543210" } } }))
    assert.are.equal(200, status)
    assert.are.same({ "toolu_2", "toolu_3" }, { res.results[1].toolCallId, res.results[2].toolCallId })
    assert.truthy(res.results[2].result:find("car", 1, true), res.results[2].result)
  end)

  it("accepts Bearer and X-Vapi-Secret, refuses missing and wrong secrets", function()
    local body = tool_calls("call-" .. crypto.random_hex(6), { { id = "t", args = { text = "hi" } } })
    assert.are.equal(200, (post(body, { ["X-Vapi-Secret"] = SECRET })))
    assert.are.equal(401, (post(body, { Authorization = "" })))
    assert.are.equal(403, (post(body, { Authorization = "Bearer wrong" })))
  end)

  it("answers 'let me transfer you' when the turn cannot finish in time", function()
    local call = "call-" .. crypto.random_hex(6)
    -- the conversation is busy elsewhere: its lock is held for 5 s
    redis.call("SET", "lock:fh:conv:{carwash:vapi:" .. call .. "}:lock", "someone-else", "PX", 5000)
    local t0 = time.monotonic()
    local status, res = post(tool_calls(call, { { id = "toolu_9", args = { text = "hi" } } }))
    local took = time.monotonic() - t0
    assert.are.equal(200, status)
    assert.truthy(res.results[1].result:find("transfer", 1, true), res.results[1].result)
    assert.truthy(took < 3, took)
  end)

  it("stores the end-of-call report with the conversation", function()
    local call = "call-" .. crypto.random_hex(6)
    local status = post{ message = { type = "end-of-call-report", timestamp = 1678901234999, call = { id = call },
      endedReason = "customer-ended-call", summary = "Booked a wash",
      artifact = { transcript = "AI: Hi\nUser: hi", messages = {} } } }
    assert.are.equal(200, status)
    local rep = json.decode(redis.call("GET", "fh:conv:{carwash:vapi:" .. call .. "}:report"))
    assert.are.equal("customer-ended-call", rep.endedReason)
    assert.are.equal("Booked a wash", rep.summary)
    assert.are.equal(200, (post{ message = { type = "status-update", status = "ended", call = { id = call } } }))
  end)
end)

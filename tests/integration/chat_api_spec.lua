-- The JSON chat API and the flow tools on the command line, against the
-- real binary and real Redis.
local proc = require "proc"
local http = require "http"
local json = require "json"

local function post(url, path, body, headers)
  local h = { ["Content-Type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  local r = assert(http.request{ method = "POST", url = url .. path, headers = h, body = body })
  return r.status, json.decode(r.body), r
end

describe("JSON chat API", function()
  local host, id, path

  -- a conversation the host issues (what a web widget does first)
  local function new_conversation()
    local status, res = post(host.url, "/v1/tenants/carwash/conversations", "")
    assert.are.equal(201, status)
    return res.id
  end

  setup(function()
    host = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2 } }
    id = new_conversation()
    path = "/v1/tenants/carwash/conversations/" .. id .. "/messages"
  end)
  teardown(function() if host then proc.stop(host) end end)

  it("creates a conversation without a key and answers its id", function()
    assert.matches("^%x+$", id)
    assert.are.equal(32, #id)
    local status, res = post(host.url, "/v1/tenants/nobody/conversations", "")
    assert.are.equal(404, status)
    assert.are.equal("unknown tenant", res.error)
  end)

  it("answers replies, buttons, state and slots in the documented shape", function()
    local status, res, r = post(host.url, path, json.encode{ text = "hi" })
    assert.are.equal(200, status)
    assert.are.equal("application/json", r.headers["content-type"])
    assert.are.equal("collect", res.state)
    assert.are.same({}, res.slots)
    assert.truthy(r.body:find('"slots":{}', 1, true) or r.body:find('"slots":[]', 1, true))
    assert.truthy(res.replies[1].text:find("Welcome", 1, true))
    for _, name in ipairs{ "Rahul", "9876543210", "Honda City", "MH12AB1234" } do
      status, res = post(host.url, path, json.encode{ text = name })
      assert.are.equal(200, status)
    end
    local last = res.replies[#res.replies]
    assert.are.equal("basic_wash", last.buttons[1].id)
    assert.are.equal("Basic Wash", last.buttons[1].title)
    status, res = post(host.url, path, json.encode{ button = "foam_wash" })
    assert.are.equal("foam_wash", res.slots.service)
    status, res = post(host.url, path, json.encode{ text = "none" })
    assert.truthy(r.body ~= nil)
    local _, _, raw = post(host.url, path, json.encode{ text = "help" })
    assert.truthy(raw.body:find('"addons":[]', 1, true), raw.body)   -- an empty list stays a list
  end)

  it("gives clear JSON errors for bad requests", function()
    local status, res = post(host.url, "/v1/tenants/nobody/conversations/x/messages", json.encode{ text = "hi" })
    assert.are.equal(404, status)
    assert.are.equal("unknown tenant", res.error)
    assert.truthy(res.message:find("tenant id", 1, true))
    status, res = post(host.url, path, "{not json")
    assert.are.equal(400, status)
    assert.are.equal("bad json", res.error)
    status, res = post(host.url, path, json.encode{ hello = "x" })
    assert.are.equal(400, status)
    assert.are.equal("missing field", res.error)
    status, res = post(host.url, path, json.encode{ text = 42 })
    assert.are.equal(400, status)
    assert.are.equal("bad field", res.error)
    status, res = post(host.url, path, json.encode{ text = ("x"):rep(5000) })
    assert.are.equal(413, status)
  end)

  it("reads a conversation back, and 404s one nothing was said in", function()
    local r = assert(http.request{ url = host.url .. "/v1/tenants/carwash/conversations/" .. id })
    assert.are.equal(200, r.status)
    local conv = json.decode(r.body)
    assert.are.equal("Rahul", conv.slots.name)
    assert.truthy(#conv.history > 5)
    r = assert(http.request{ url = host.url .. "/v1/tenants/carwash/conversations/" .. new_conversation() })
    assert.are.equal(404, r.status)                   -- issued, but nothing said yet
  end)

  it("concurrent turns of one conversation run one at a time, none lost", function()
    local order = new_conversation()
    local reqs = {}
    for i = 1, 10 do
      reqs[i] = { method = "POST", url = host.url .. "/v1/tenants/carwash/conversations/" .. order .. "/messages",
                  headers = { ["Content-Type"] = "application/json" }, body = json.encode{ text = "hi " .. i } }
    end
    for _, r in ipairs(http.all(reqs)) do assert.are.equal(200, r.status) end
    local r = assert(http.request{ url = host.url .. "/v1/tenants/carwash/conversations/" .. order })
    local conv = json.decode(r.body)
    assert.are.equal(10, conv.turns)                  -- none lost to a race
    local seen = {}
    for _, h in ipairs(conv.history) do
      if h.who == "customer" then
        assert.is_nil(seen[h.text])
        seen[h.text] = true
      end
    end
  end)
end)

describe("flowhost check and chat", function()
  it("check prints ok for good tenants and file:line problems for bad ones, with exit codes", function()
    local out = proc.sh(proc.BIN .. " check carwash 2>/dev/null; echo rc=$?")
    assert.truthy(out:find("carwash: ok (version", 1, true), out)
    assert.truthy(out:find("rc=0", 1, true), out)
    out = proc.sh("FLOWHOST_TENANTS_DIR=tests/fixtures/tenants FLOWHOST_FLOWS_DIR=tests/fixtures/flows "
      .. proc.BIN .. " check broken mini 2>/dev/null; echo rc=$?")
    assert.truthy(out:find("broken: %d+ problems"), out)
    assert.truthy(out:find("tests/fixtures/flows/broken/flow.lua:9: state 'hello' done goes to state 'colect'", 1, true), out)
    assert.truthy(out:find("mini: ok", 1, true), out)
    assert.truthy(out:find("rc=1", 1, true), out)
  end)

  it("chat talks to a flow in the terminal", function()
    local out = proc.sh("printf 'hi\\nRahul\\n/state\\n/slots\\n/quit\\n' | REDIS_URL=" .. os.getenv("REDIS_URL")
      .. " " .. proc.BIN .. " chat carwash 2>/dev/null; echo rc=$?")
    assert.truthy(out:find("bot> Hi! Welcome to Sparkle Car Care", 1, true), out)
    assert.truthy(out:find("bot> Thanks! What's your mobile number?", 1, true), out)
    assert.truthy(out:find("state: collect", 1, true), out)
    assert.truthy(out:find('"name":"Rahul"', 1, true), out)
    assert.truthy(out:find("rc=0", 1, true), out)
  end)
end)

-- The admin API: tokens (host-wide and per tenant), tenant status with
-- version and last_error, conversations, bookings, reload by SIGHUP.
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"

describe("admin API", function()
  local s, dir
  local ADMIN, OWN = "adm-" .. crypto.random_hex(4), "cw-" .. crypto.random_hex(4)
  setup(function()
    dir = "var/test/admin-" .. crypto.random_hex(4)
    proc.sh("mkdir -p " .. dir .. "/tenants " .. dir .. "/flows && cp config/tenants/carwash.lua " .. dir
      .. "/tenants/ && cp -r flows/carwash " .. dir .. "/flows/ && cp tests/fixtures/tenants/mini.lua " .. dir
      .. "/tenants/ && cp -r tests/fixtures/flows/mini " .. dir .. "/flows/")
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = ADMIN,
      CARWASH_ADMIN_TOKEN = OWN, FLOWHOST_TENANTS_DIR = dir .. "/tenants", FLOWHOST_FLOWS_DIR = dir .. "/flows" } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
  end)

  local function req(method, path, token, body)
    local r = assert(http.request{ method = method, url = s.url .. path, body = body and json.encode(body),
      headers = token and { Authorization = "Bearer " .. token } or nil })
    return r.status, json.decode(r.body)
  end

  it("401 without a token, 403 with a wrong one or another tenant's", function()
    assert.are.equal(401, (req("GET", "/admin/tenants")))
    assert.are.equal(403, (req("GET", "/admin/tenants", "nope")))
    assert.are.equal(403, (req("GET", "/admin/tenants", OWN)))            -- a tenant token is not host-wide
    assert.are.equal(403, (req("GET", "/admin/tenants/mini", OWN)))       -- nor another tenant's
    assert.are.equal(200, (req("GET", "/admin/tenants/carwash", OWN)))
    assert.are.equal(200, (req("GET", "/admin/tenants/mini", ADMIN)))
    assert.are.equal(404, (req("GET", "/admin/tenants/nobody", ADMIN)))
  end)

  it("lists tenants with version and last_error; status has settings and history", function()
    local status, body = req("GET", "/admin/tenants", ADMIN)
    assert.are.equal(200, status)
    local ids = {}
    for _, t in ipairs(body.tenants) do ids[t.id] = t end
    assert.truthy(ids.carwash.version:match("^%x+$"))
    assert.are.equal(json.null, ids.carwash.last_error)
    local _, st = req("GET", "/admin/tenants/carwash", OWN)
    assert.are.equal("Asia/Kolkata", st.settings.timezone)
    assert.are.equal(ids.carwash.version, st.history[1].version)
  end)

  it("reads and resets conversations, lists, reads and cancels bookings", function()
    local chat = require("chat").new(s.url)
    -- the chat API's conversation X is "chat:X" to the tenant and its admin
    local id = "chat:" .. chat:id("carwash", "adm")
    local function say(msg) return chat:say("carwash", "adm", msg) end
    for _, t in ipairs{ "hi", "Rahul", "9876543210", "Honda City", "MH12AB1234" } do say(t) end
    say{ button = "basic_wash" }
    say("none"); say("tomorrow")
    local r = json.decode(say("earliest").body)
    assert.are.equal("summary", r.state)
    r = json.decode(say{ button = "confirm" }.body)
    local bid = r.replies[1].text:match("(SR%-%w+)")
    local status, conv = req("GET", "/admin/tenants/carwash/conversations/" .. id, OWN)
    assert.are.equal(200, status)
    assert.are.equal("booked", conv.state)
    status, conv = req("GET", "/admin/tenants/carwash/bookings/" .. bid, OWN)
    assert.are.equal(200, status)
    assert.are.equal("confirmed", conv.status)
    local date = conv.date
    local _, list = req("GET", "/admin/tenants/carwash/bookings?date=" .. date, OWN)
    local found = false
    for _, b in ipairs(list.bookings) do found = found or b.id == bid end
    assert.truthy(found)
    assert.are.equal(400, (req("GET", "/admin/tenants/carwash/bookings", OWN)))
    local cs, cancelled = req("POST", "/admin/tenants/carwash/bookings/" .. bid .. "/cancel", OWN, { reason = "spec" })
    assert.are.equal(200, cs)
    assert.are.equal("cancelled", cancelled.status)
    assert.are.equal(200, (req("DELETE", "/admin/tenants/carwash/conversations/" .. id, OWN)))
    assert.are.equal(404, (req("GET", "/admin/tenants/carwash/conversations/" .. id, OWN)))
  end)

  it("tenants are added and removed while the host runs", function()
    local function hi()
      local r = assert(require("chat").new(s.url):say("newshop", "n", "hi"))
      return r.status
    end
    assert.are.equal(404, hi())
    proc.sh("cp -r tests/fixtures/flows/mini " .. dir .. "/flows/newshop && sed 's/\"Mini\"/\"New Shop\"/' "
      .. "tests/fixtures/tenants/mini.lua > " .. dir .. "/tenants/newshop.lua")
    local t0 = time.monotonic()
    while hi() ~= 200 do
      assert.truthy(time.monotonic() - t0 < 2, "the new tenant did not start serving")
      time.sleep(0.05)
    end
    os.remove(dir .. "/tenants/newshop.lua")
    t0 = time.monotonic()
    while hi() ~= 404 do
      assert.truthy(time.monotonic() - t0 < 2, "the removed tenant still serves")
      time.sleep(0.05)
    end
  end)

  it("a bad edit shows as last_error; SIGHUP and POST /admin/reload reload", function()
    local path = dir .. "/flows/mini/flow.lua"
    local good = proc.read_file(path)
    -- the watcher is one trigger; stop it seeing this edit by checking SIGHUP below on a good one
    local f = io.open(path, "w"); f:write((good:gsub('done = "finished"', 'done = "finnished"', 1))); f:close()
    local st
    local t0 = time.monotonic()
    repeat
      time.sleep(0.05)
      st = select(2, req("GET", "/admin/tenants/mini", ADMIN))
    until st.last_error ~= json.null or time.monotonic() - t0 > 3
    assert.are.equal(path, st.last_error.file)
    assert.truthy(st.last_error.message:find("finnished", 1, true), json.encode(st.last_error))
    f = io.open(path, "w"); f:write(good); f:close()
    proc.sh("kill -HUP " .. s.pid)
    t0 = time.monotonic()
    repeat
      time.sleep(0.05)
      st = select(2, req("GET", "/admin/tenants/mini", ADMIN))
    until st.last_error == json.null or time.monotonic() - t0 > 3
    assert.are.equal(json.null, st.last_error)
    assert.are.equal(202, (req("POST", "/admin/reload", ADMIN)))
    assert.are.equal(403, (req("POST", "/admin/reload", OWN)))
  end)
end)

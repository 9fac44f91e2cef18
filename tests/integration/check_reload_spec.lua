-- A new version goes live on hot reload only if the tenant's own specs
-- (flows/<tenant>/spec) pass; the old version serves while they run, and
-- they run in a Redis database of their own.
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"
local redis = require "redis"
local crypto = require "crypto"



describe("hot reload with the tenant's specs", function()
  local s, dir, msgs
  local TOKEN = "check-reload-" .. crypto.random_hex(4)

  setup(function()
    dir = proc.copy_tenant("carwash", "check-reload")
    msgs = dir .. "/flows/carwash/messages.lua"
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1, FLOWHOST_ADMIN_TOKEN = TOKEN,
      FLOWHOST_TENANTS_DIR = dir .. "/tenants", FLOWHOST_FLOWS_DIR = dir .. "/flows" } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
  end)

  local function status()
    local r = assert(http.request{ url = s.url .. "/admin/tenants/carwash", headers = { Authorization = "Bearer " .. TOKEN } })
    return json.decode(r.body)
  end

  local function greeting()
    local c = require("chat").new(s.url)
    local r = c:say("carwash", "probe-" .. crypto.random_hex(6), { text = "hi" })
    assert(r and r.status == 200, r and r.body)
    return json.decode(r.body).replies[1].text
  end

  it("refuses a version whose specs fail, serving the old one meanwhile, and takes one whose specs pass", function()
    local first = proc.wait_until(function() local st = status(); return st.version ~= json.null and st.version end, 10)
    assert.truthy(first)
    assert.truthy(greeting():find("Welcome to", 1, true))

    -- the scenario specs expect the greeting to say "welcome"
    proc.edit_file(msgs, "Hi! Welcome to {tenant}", "Hello, this is {tenant}")
    local served_old, rejected = 0, nil
    rejected = proc.wait_until(function()
      assert.truthy(greeting():find("Welcome to", 1, true), "the broken version went live")
      served_old = served_old + 1
      local st = status()
      return st.last_error ~= json.null and st.last_error
    end, 90, 0.2)
    assert.truthy(rejected, "the failing specs were not reported")
    assert.truthy(rejected.message:find("spec failed", 1, true), rejected.message)
    assert.truthy(rejected.file == json.null or rejected.file:find("/flows/carwash/spec/", 1, true), tostring(rejected.file))
    assert.are.equal(first, status().version)
    assert.is_true(served_old > 3, "the old version answered only " .. served_old .. " times while the specs ran")

    -- a good edit goes live once its specs pass
    proc.edit_file(msgs, "Hello, this is {tenant}", "Hi! Welcome to {tenant} (new)")
    local live = proc.wait_until(function() return greeting():find("(new)", 1, true) end, 90, 0.2)
    assert.truthy(live, "the good version did not go live")
    local st = status()
    assert.are_not.equal(first, st.version)
    assert.are.equal(json.null, st.last_error)
  end)

  it("runs flowhost test of a tenant's specs in a database of its own, and leaves it empty", function()
    local marker = "check-reload-marker-" .. crypto.random_hex(4)
    assert(redis.call("SET", marker, "live"))
    local function bookings() return #redis.call("KEYS", "bk:{carwash}:*") end
    local before = bookings()
    local out = proc.sh(("FLOWHOST_TENANTS_DIR=%s/tenants FLOWHOST_FLOWS_DIR=%s/flows %s test %s/flows/carwash/spec 2>&1; echo exit=$?")
      :format(dir, dir, proc.BIN, dir))
    assert.truthy(out:find("exit=0", 1, true), out)
    assert.truthy(out:find("specs: %d+ passed, 0 failed"), out)
    -- the specs booked (they do) somewhere else: no booking key appeared here
    assert.are.equal(before, bookings())
    assert.are.equal("live", redis.call("GET", marker))
    redis.call("DEL", marker)
    -- and their own database is clean again
    redis.use_db(15)
    local left = redis.call("DBSIZE")
    redis.use_db(0)
    assert.are.equal(0, left)
  end)
end)

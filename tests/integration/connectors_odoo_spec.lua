-- The Odoo connector (scripts/connectors/odoo.lua) against tests/fakes/odoo.py:
-- JSON-RPC login and execute_kw, Odoo's error shapes, retries, and the
-- ledger's in-doubt resolution by the x_flowhost_key marker.
local vendor = require "vendor"
local time = require "time"
local odoo = require "connectors.odoo"
local ledger = require "connectors.ledger"
local redis = require "redis"

local fake, client

local function ctx(marker) return { deadline = time.now() + 10, marker = marker or "conntest:k1" } end
local function calls(keep)
  local n = 0
  for _, c in ipairs(fake:control("/_control/calls").calls) do if not keep or keep(c) then n = n + 1 end end
  return n
end
local function script(...) fake:control("/_control/script", { faults = { ... } }) end
local function records(model) return fake:control("/_control/state").records[model] or {} end
local function rpc_error(name, message)
  return { jsonrpc = "2.0", id = 1, error = { code = 200, message = "Odoo Server Error",
           data = { name = name, message = message, arguments = { message }, context = {} } } }
end

describe("odoo connector", function()
  setup(function() fake = vendor.start("odoo", "/_control/calls") end)
  teardown(function() fake:stop() end)
  before_each(function()
    fake:control("/_control/reset", {})
    client = odoo.new({ url = fake.url .. "/", db = "testdb", timeout = 1, tries = 3 },
      { login_env = "bot@example.com", key_env = "odoo-key" })
  end)

  it("logs in once, creates a record with the key's marker and reads it back with search_read", function()
    local id = assert(odoo.run(client, "create", { "crm.lead", { name = "Ana", phone = "+5215550001" } }, ctx()))
    assert.are.equal("number", type(id))
    local found = assert(odoo.run(client, "search_read", { "crm.lead", { { "phone", "=", "+5215550001" } },
      { fields = { "name", "x_flowhost_key" } } }, ctx()))
    assert.are.same({ { id = id, name = "Ana", x_flowhost_key = "conntest:k1" } }, found)
    assert.are.equal(1, odoo.run(client, "search_count", { "crm.lead", {} }, ctx()))
    assert.are.equal(4, calls())                         -- one login, then three execute_kw
  end)

  it("writes and unlinks, and answers 'not found' for a deleted id (MissingError)", function()
    local id = odoo.run(client, "create", { "calendar.event", { name = "cut", start = "2025-07-01 08:00:00",
      stop = "2025-07-01 08:30:00" } }, ctx())
    assert.is_true(odoo.run(client, "write", { "calendar.event", id, { name = "long cut" } }, ctx()))
    assert.are.equal("long cut", odoo.run(client, "read", { "calendar.event", { id }, { fields = { "name" } } }, ctx())[1].name)
    assert.is_true(odoo.run(client, "unlink", { "calendar.event", { id } }, ctx()))
    local v, word, detail = odoo.run(client, "write", { "calendar.event", { id }, { name = "x" } }, ctx())
    assert.is_nil(v)
    assert.are.equal("not found", word)
    assert.matches("MissingError", detail)
  end)

  it("answers 'invalid' with Odoo's message for a ValidationError", function()
    local v, word, detail = odoo.run(client, "create", { "calendar.event", { name = "x", start = "2025-07-01 09:00:00",
      stop = "2025-07-01 08:00:00" } }, ctx())
    assert.is_nil(v)
    assert.are.equal("invalid", word)
    assert.matches("cannot be earlier", detail)
  end)

  it("answers 'unauthorized' when the login is refused (result false) and does not loop", function()
    client = odoo.new({ url = fake.url, db = "testdb" }, { login_env = "bot@example.com", key_env = "wrong" })
    assert.are.same({ nil, "unauthorized", "login refused" }, { odoo.run(client, "search_count", { "res.partner", {} }, ctx()) })
    assert.are.equal(1, calls())
  end)

  it("logs in again once when execute_kw answers AccessDenied (a changed key or session), then succeeds", function()
    assert(odoo.run(client, "search_count", { "res.partner", {} }, ctx()))
    script({ path = "/jsonrpc", body_has = "execute_kw", status = 200,
             body = rpc_error("odoo.exceptions.AccessDenied", "Access Denied") })
    assert.are.equal(0, odoo.run(client, "search_count", { "res.partner", {} }, ctx()))
    assert.are.equal(2, calls(function(c) return c.body:find('"login"', 1, true) ~= nil end))
    assert.are.equal(3, calls(function(c) return c.body:find("execute_kw", 1, true) ~= nil end))
  end)

  it("answers 'forbidden' for an AccessError", function()
    script({ path = "/jsonrpc", body_has = "execute_kw", status = 200,
             body = rpc_error("odoo.exceptions.AccessError", "You are not allowed to access 'Lead' records.") })
    local _, word, detail = odoo.run(client, "search_read", { "crm.lead", {} }, ctx())
    assert.are.equal("forbidden", word)
    assert.matches("not allowed", detail)
  end)

  it("retries a read after a 500 and after a 429 with Retry-After", function()
    script({ path = "/jsonrpc", body_has = "login", status = 500 },
           { path = "/jsonrpc", body_has = "execute_kw", status = 429, retry_after = "0" })
    assert.are.equal(0, odoo.run(client, "search_count", { "crm.lead", {} }, ctx()))
    assert.are.equal(4, calls())
  end)

  it("does not repeat a create after a 500 (it may have happened): 'unavailable', one attempt", function()
    odoo.run(client, "search_count", { "crm.lead", {} }, ctx())
    script({ path = "/jsonrpc", body_has = "\"create\"", status = 500 })
    local v, word = odoo.run(client, "create", { "crm.lead", { name = "x" } }, ctx())
    assert.are.same({ nil, "unavailable" }, { v, word })
    assert.are.equal(1, calls(function(c) return c.body:find('"create"', 1, true) ~= nil end))
    assert.are.equal(0, #records("crm.lead"))
  end)

  it("answers 'bad answer' for a malformed body and 'timeout' for a slow one", function()
    script({ path = "/jsonrpc", malformed = true })
    assert.are.equal("bad answer", select(2, odoo.run(client, "search_count", { "crm.lead", {} }, ctx())))
    client = odoo.new({ url = fake.url, db = "testdb", timeout = 0.3, tries = 1 }, { login_env = "bot@example.com", key_env = "odoo-key" })
    script({ path = "/jsonrpc", delay_ms = 1500 })
    assert.are.equal("timeout", select(2, odoo.run(client, "search_count", { "crm.lead", {} }, ctx())))
  end)

  it("through the ledger, a create whose answer was lost is found by its marker: one record, the same id twice", function()
    local key = "odoo-doubt-" .. tostring(time.now())
    local spec = { tenant = "conntest", connector = "odoo", key = key, op = "create", deadline = time.now() + 10 }
    local c = ctx("conntest:" .. key)
    local function call(doubt) c.doubt = doubt; return odoo.run(client, "create", { "crm.lead", { name = "Lost" } }, c) end
    local function find() return odoo.find(client, "create", { "crm.lead", { name = "Lost" } }, c) end
    assert(odoo.run(client, "search_count", { "crm.lead", {} }, ctx()))
    script({ path = "/jsonrpc", body_has = "\"create\"", after = true, status = 502 })
    local id = assert(ledger.run(spec, call, find))
    assert.are.equal(id, ledger.run(spec, call, find))   -- a replay: the stored result
    assert.are.equal(1, #records("crm.lead"))
    assert.are.equal(id, records("crm.lead")[1].id)
    redis.call("DEL", ledger.redis_key("conntest", "odoo", key))
  end)
end)

-- The Frappe connector (scripts/connectors/frappe.lua) against
-- tests/fakes/frappe.py: token auth, resources and methods, Frappe's
-- exc_type / _server_messages errors, and look-up by the key's marker.
local vendor = require "vendor"
local time = require "time"
local frappe = require "connectors.frappe"

local fake, client
local function ctx(marker) return { deadline = time.now() + 10, marker = marker or "conntest:f1" } end
local function calls(method)
  local n = 0
  for _, c in ipairs(fake:control("/_control/calls").calls) do if not method or c.method == method then n = n + 1 end end
  return n
end
local function script(...) fake:control("/_control/script", { faults = { ... } }) end

describe("frappe connector", function()
  setup(function() fake = vendor.start("frappe", "/_control/calls") end)
  teardown(function() fake:stop() end)
  before_each(function()
    fake:control("/_control/reset", {})
    client = frappe.new({ url = fake.url, timeout = 1, tries = 3 }, { key_env = "fk", secret_env = "fs" })
  end)

  it("inserts a doc with the marker, lists it with fields and filters, reads, updates and deletes it", function()
    local doc = assert(frappe.run(client, "insert", { "Service Request", { customer = "Ana", from_time = "2025-07-01 10:00:00",
      to_time = "2025-07-01 11:00:00" } }, ctx()))
    assert.are.equal("SERVICE-REQUEST-00001", doc.name)
    assert.are.equal("conntest:f1", doc.flowhost_key)
    local list = assert(frappe.run(client, "list", { "Service Request", { fields = { "name", "customer" },
      filters = { { "customer", "=", "Ana" } } } }, ctx()))
    assert.are.same({ { name = doc.name, customer = "Ana" } }, list)
    assert.are.equal("Bea", frappe.run(client, "update", { "Service Request", doc.name, { customer = "Bea" } }, ctx()).customer)
    assert.are.equal("Bea", frappe.run(client, "get", { "Service Request", doc.name }, ctx()).customer)
    assert.is_true(frappe.run(client, "delete", { "Service Request", doc.name }, ctx()))
    local v, word, detail = frappe.run(client, "get", { "Service Request", doc.name }, ctx())
    assert.are.same({ nil, "not found" }, { v, word })
    assert.matches("not found", detail)
  end)

  it("calls whitelisted methods ({message})", function()
    assert.are.equal("bot@example.com", frappe.run(client, "get_method", { "frappe.auth.get_logged_user" }, ctx()))
    assert.are.equal("pong", frappe.run(client, "call", { "ping", {} }, ctx()))
  end)

  it("answers 'invalid' with the message decoded from _server_messages (417 ValidationError)", function()
    local v, word, detail = frappe.run(client, "insert", { "Service Request", { from_time = "2025-07-01 11:00:00",
      to_time = "2025-07-01 10:00:00" } }, ctx())
    assert.are.same({ nil, "invalid", "From Time cannot be after To Time" }, { v, word, detail })
  end)

  it("answers 'conflict' for a name already taken (409 DuplicateEntryError)", function()
    assert(frappe.run(client, "insert", { "Vehicle", { name = "MH12AB1234" } }, ctx()))
    assert.are.equal("conflict", select(2, frappe.run(client, "insert", { "Vehicle", { name = "MH12AB1234" } }, ctx("conntest:f2"))))
  end)

  it("answers 'unauthorized' for a bad token (401 AuthenticationError), 'forbidden' for a 403", function()
    client = frappe.new({ url = fake.url }, { key_env = "fk", secret_env = "bad" })
    assert.are.same({ nil, "unauthorized", "Invalid Authentication" }, { frappe.run(client, "get", { "Vehicle", "x" }, ctx()) })
    client = frappe.new({ url = fake.url }, { key_env = "fk", secret_env = "fs" })
    script({ status = 403, body = { exc_type = "PermissionError", exception = "frappe.exceptions.PermissionError: Not permitted" } })
    assert.are.same({ nil, "forbidden", "frappe.exceptions.PermissionError: Not permitted" },
      { frappe.run(client, "get", { "Vehicle", "x" }, ctx()) })
  end)

  it("retries reads after 500 and 429, never an insert after a 500; 'bad answer' for a malformed body", function()
    script({ method = "GET", status = 500 }, { method = "GET", status = 429, retry_after = "0" })
    assert.are.same({}, frappe.run(client, "list", { "Vehicle" }, ctx()))
    assert.are.equal(3, calls("GET"))
    script({ method = "POST", status = 500 })
    assert.are.equal("unavailable", select(2, frappe.run(client, "insert", { "Vehicle", { name = "A" } }, ctx())))
    assert.are.equal(1, calls("POST"))
    script({ method = "GET", malformed = true })
    assert.are.equal("bad answer", select(2, frappe.run(client, "list", { "Vehicle" }, ctx())))
  end)

  it("answers 'timeout' for a slow vendor", function()
    client = frappe.new({ url = fake.url, timeout = 0.3, tries = 1 }, { key_env = "fk", secret_env = "fs" })
    script({ delay_ms = 1000 })
    assert.are.equal("timeout", select(2, frappe.run(client, "list", { "Vehicle" }, ctx())))
  end)

  it("finds an in-doubt insert by its marker", function()
    assert.is_false(frappe.find(client, "insert", { "Vehicle", {} }, ctx("conntest:f7")))
    script({ method = "POST", after = true, status = 504 })
    assert.are.equal("unavailable", select(2, frappe.run(client, "insert", { "Vehicle", { plate = "X1" } }, ctx("conntest:f7"))))
    assert.are.equal("X1", frappe.find(client, "insert", { "Vehicle", {} }, ctx("conntest:f7")).plate)
  end)
end)

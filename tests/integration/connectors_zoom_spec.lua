-- The Zoom connector (scripts/connectors/zoom.lua) against tests/fakes/zoom.py:
-- Server-to-Server OAuth (account_credentials) with a cached token, meetings
-- create/update/delete, Zoom's error bodies and limits.
local vendor = require "vendor"
local time = require "time"
local zoom = require "connectors.zoom"

local fake, client
local SECRETS = { account_id_env = "acc-1", client_id_env = "zid", client_secret_env = "zsecret" }
local MEETING = { topic = "Consultation - Ana", type = 2, start_time = "2025-07-01T10:00:00",
                  timezone = "Europe/Madrid", duration = 30, agenda = "Booked via bot" }

local function ctx(marker) return { deadline = time.now() + 10, marker = marker or "conntest:z1" } end
local function calls(path, method)
  local n = 0
  for _, c in ipairs(fake:control("/_control/calls").calls) do
    if c.path == path and (not method or c.method == method) then n = n + 1 end
  end
  return n
end
local function script(...) fake:control("/_control/script", { faults = { ... } }) end
local function make(secrets, opts)
  return zoom.new(opts or { timeout = 1, tries = 3 }, secrets or SECRETS,
    { token = fake.url .. "/oauth/token", api = fake.url .. "/v2" })
end

describe("zoom connector", function()
  setup(function() fake = vendor.start("zoom", "/_control/calls") end)
  teardown(function() fake:stop() end)
  before_each(function()
    fake:control("/_control/reset", {})
    client = make()
  end)

  it("gets a token once, creates a meeting (201, numeric id, UTC start) with the key's marker in its agenda", function()
    local m = assert(zoom.run(client, "create_meeting", { MEETING }, ctx()))
    assert.are.equal("number", type(m.id))
    assert.are.equal("2025-07-01T08:00:00Z", m.start_time)
    assert.are.equal("Booked via bot " .. zoom.marker("conntest:z1"), m.agenda)
    assert.are.equal(m.id, zoom.run(client, "get_meeting", { m.id }, ctx()).id)
    assert.are.equal(1, calls("/oauth/token"))
  end)

  it("updates (204) and deletes (204) a meeting; a deleted one is 'not found' (3001)", function()
    local m = zoom.run(client, "create_meeting", { MEETING }, ctx())
    assert.is_true(zoom.run(client, "update_meeting", { m.id, { duration = 45 } }, ctx()))
    assert.are.equal(45, zoom.run(client, "get_meeting", { tostring(m.id) }, ctx()).duration)
    assert.is_true(zoom.run(client, "delete_meeting", { m.id }, ctx()))
    local v, word, detail = zoom.run(client, "delete_meeting", { m.id }, ctx())
    assert.are.same({ nil, "not found" }, { v, word })
    assert.matches("Meeting does not exist", detail)
  end)

  it("answers 'invalid' with Zoom's code for a validation failure (300)", function()
    local v, word, detail = zoom.run(client, "create_meeting", { { topic = "x", type = 9 } }, ctx())
    assert.are.same({ nil, "invalid" }, { v, word })
    assert.matches("^300: Validation Failed", detail)
  end)

  it("answers 'unauthorized' for a bad client secret (invalid_client), without retrying", function()
    client = make{ account_id_env = "acc-1", client_id_env = "zid", client_secret_env = "nope" }
    local v, word, detail = zoom.run(client, "get_meeting", { 1 }, ctx())
    assert.are.same({ nil, "unauthorized" }, { v, word })
    assert.matches("Invalid client_id", detail)
    assert.are.equal(1, calls("/oauth/token"))
  end)

  it("gets a new token once when Zoom answers 401 code 124 for the cached one", function()
    assert(zoom.run(client, "create_meeting", { MEETING }, ctx()))
    fake:control("/_control/expire", {})
    assert(zoom.run(client, "create_meeting", { MEETING }, ctx("conntest:z2")))
    assert.are.equal(2, calls("/oauth/token"))
    assert.are.equal(2, calls("/v2/users/me/meetings", "POST") - 1)   -- one refused with 124
  end)

  it("retries a per-second 429 after Retry-After, but not the daily limit", function()
    script({ path = "/v2/users/me/meetings", status = 429, retry_after = "0",
             body = { code = 429, message = "You have reached the maximum per-second rate limit for this API. Try again later." } })
    assert(zoom.run(client, "create_meeting", { MEETING }, ctx()))
    fake:control("/_control/config", { daily_limit = 1 })
    local v, word = zoom.run(client, "create_meeting", { MEETING }, ctx("conntest:z3"))
    assert.are.same({ nil, "rate limited" }, { v, word })
    assert.are.equal(3, calls("/v2/users/me/meetings", "POST"))
  end)

  it("does not repeat a create after a 500 or a timeout; 'bad answer' for a malformed body", function()
    script({ path = "/v2/users/me/meetings", status = 500 })
    assert.are.equal("unavailable", select(2, zoom.run(client, "create_meeting", { MEETING }, ctx())))
    assert.are.equal(1, calls("/v2/users/me/meetings", "POST"))
    script({ path = "/v2/meetings/", malformed = true })
    assert.are.equal("bad answer", select(2, zoom.run(client, "get_meeting", { 5 }, ctx())))
    client = make(nil, { timeout = 0.3, tries = 3 })
    script({ path = "/oauth/token", delay_ms = 600 })
    zoom.run(client, "get_meeting", { 5 }, ctx())          -- the token comes on a later attempt
    script({ path = "/v2/users/me/meetings", delay_ms = 1000 })
    assert.are.equal("timeout", select(2, zoom.run(client, "create_meeting", { MEETING }, ctx())))
    assert.are.equal(2, calls("/v2/users/me/meetings", "POST"))
  end)

  it("finds an in-doubt create by the marker in its agenda", function()
    assert.is_false(zoom.find(client, "create_meeting", { MEETING }, ctx("conntest:z9")))
    script({ path = "/v2/users/me/meetings", method = "POST", after = true, status = 502 })
    assert.are.equal("unavailable", select(2, zoom.run(client, "create_meeting", { MEETING }, ctx("conntest:z9"))))
    local found = assert(zoom.find(client, "create_meeting", { MEETING }, ctx("conntest:z9")))
    assert.are.equal(fake:control("/_control/state").records.meetings[1].id, found.id)
  end)
end)

-- The Google Calendar connector (scripts/connectors/google_calendar.lua)
-- against tests/fakes/google.py: the service-account JWT grant and token
-- caching, freeBusy, events insert/patch/delete, and Google's errors.
local vendor = require "vendor"
local time = require "time"
local json = require "json"
local gcal = require "connectors.google_calendar"

local fake, client
local KEY = io.open("tests/fixtures/connectors/test_sa_key.pem"):read("*a")
local SA = json.encode{ type = "service_account", client_email = "bot@flowhost-test.iam.gserviceaccount.com",
                        private_key = KEY, private_key_id = "kid-1" }

local function ctx(marker) return { deadline = time.now() + 10, marker = marker or "conntest:g1" } end
local function calls(path)
  local n = 0
  for _, c in ipairs(fake:control("/_control/calls").calls) do if c.path == path then n = n + 1 end end
  return n
end
local function script(...) fake:control("/_control/script", { faults = { ... } }) end
local function make(sa)
  return gcal.new({ timeout = 1, tries = 3 }, { credentials_env = sa or SA },
    { token = fake.url .. "/token", api = fake.url .. "/calendar/v3" })
end
local EVENT = { summary = "Ana - consultation", start = { dateTime = "2025-07-01T10:00:00Z" },
                ["end"] = { dateTime = "2025-07-01T10:30:00Z" } }

describe("google_calendar connector", function()
  setup(function() fake = vendor.start("google", "/_control/calls") end)
  teardown(function() fake:stop() end)
  before_each(function()
    fake:control("/_control/reset", {})
    client = make()
  end)

  it("signs a JWT the token endpoint accepts, and keeps the token for later calls", function()
    local ev = assert(gcal.run(client, "insert_event", { "primary", EVENT }, ctx()))
    assert.are.equal(gcal.event_id("conntest:g1"), ev.id)
    assert.matches("^[a-v0-9]+$", ev.id)
    assert.are.equal("conntest:g1", ev.extendedProperties.private.flowhost_key)
    assert(gcal.run(client, "get_event", { "primary", ev.id }, ctx()))
    assert.are.equal(1, calls("/token"))
  end)

  it("answers freeBusy with busy blocks, and errors (not free time) for a calendar it cannot see", function()
    gcal.run(client, "insert_event", { "primary", EVENT }, ctx())
    local cals = assert(gcal.run(client, "free_busy", { { "primary", "nobody@x.example" },
      "2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z" }, ctx()))
    assert.are.same({ { start = "2025-07-01T10:00:00Z", ["end"] = "2025-07-01T10:30:00Z" } }, cals.primary.busy)
    assert.are.equal("notFound", cals["nobody@x.example"].errors[1].reason)
    local v, word = gcal.run(client, "free_busy", { "primary", "2025-07-02T00:00:00Z", "2025-07-01T00:00:00Z" }, ctx())
    assert.are.same({ nil, "invalid" }, { v, word })
  end)

  it("inserting the same key twice gives the first event back (409 duplicate), never a second one", function()
    local a = assert(gcal.run(client, "insert_event", { "primary", EVENT }, ctx()))
    local b = assert(gcal.run(client, "insert_event", { "primary", EVENT }, ctx()))
    assert.are.equal(a.id, b.id)
    assert.are.equal(1, #fake:control("/_control/state").records.primary)
  end)

  it("patches, deletes, then answers 'gone' for a second delete and 'not found' for a read", function()
    local ev = gcal.run(client, "insert_event", { "primary", EVENT }, ctx())
    assert.are.equal("Ana - moved", gcal.run(client, "patch_event", { "primary", ev.id, { summary = "Ana - moved" } }, ctx()).summary)
    assert.is_true(gcal.run(client, "delete_event", { "primary", ev.id }, ctx()))
    assert.are.equal("gone", select(2, gcal.run(client, "delete_event", { "primary", ev.id }, ctx())))
    assert.are.equal("not found", select(2, gcal.run(client, "get_event", { "primary", ev.id }, ctx())))
    local c = ctx()
    c.doubt = true                                       -- an in-doubt repeat of a delete that happened
    assert.is_true(gcal.run(client, "delete_event", { "primary", ev.id }, c))
  end)

  it("gets a new token once when the cached one stops working (401 authError), then succeeds", function()
    assert(gcal.run(client, "free_busy", { "primary", "2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z" }, ctx()))
    fake:control("/_control/expire", {})
    assert(gcal.run(client, "free_busy", { "primary", "2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z" }, ctx()))
    assert.are.equal(2, calls("/token"))
  end)

  it("answers 'unauthorized' when the token endpoint refuses the JWT (a key it does not know), without retrying", function()
    local other = io.open("tests/fixtures/connectors/other_key.pem"):read("*a")
    client = make(json.encode{ client_email = "bot@flowhost-test.iam.gserviceaccount.com", private_key = other })
    local v, word, detail = gcal.run(client, "get_event", { "primary", "abcde" }, ctx())
    assert.are.same({ nil, "unauthorized" }, { v, word })
    assert.matches("Invalid JWT Signature", detail)
    assert.are.equal(1, calls("/token"))
  end)

  it("retries 403 rateLimitExceeded, 429 (Retry-After) and 503, then succeeds", function()
    script({ path = "/calendar/v3/freeBusy", status = 403,
             body = { error = { code = 403, message = "Rate Limit Exceeded", errors = { { domain = "usageLimits", reason = "rateLimitExceeded" } } } } },
           { path = "/calendar/v3/freeBusy", status = 429, retry_after = "0" },
           { path = "/calendar/v3/freeBusy", status = 503 })
    client = gcal.new({ timeout = 1, tries = 4 }, { credentials_env = SA },
      { token = fake.url .. "/token", api = fake.url .. "/calendar/v3" })
    assert(gcal.run(client, "free_busy", { "primary", "2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z" }, ctx()))
    assert.are.equal(4, calls("/calendar/v3/freeBusy"))
  end)

  it("answers 'forbidden' for other 403s, 'bad answer' for a malformed body, 'timeout' for a slow one", function()
    script({ path = "/calendar/v3/calendars", status = 403,
             body = { error = { code = 403, message = "Forbidden", errors = { { domain = "calendar", reason = "forbiddenForNonOrganizer" } } } } })
    assert.are.equal("forbidden", select(2, gcal.run(client, "get_event", { "primary", "abcde" }, ctx())))
    script({ path = "/calendar/v3/calendars", malformed = true })
    assert.are.equal("bad answer", select(2, gcal.run(client, "get_event", { "primary", "abcde" }, ctx())))
    client = gcal.new({ timeout = 0.3, tries = 1 }, { credentials_env = SA },
      { token = fake.url .. "/token", api = fake.url .. "/calendar/v3" })
    script({ path = "/token", delay_ms = 1500 })
    assert.are.equal("timeout", select(2, gcal.run(client, "get_event", { "primary", "abcde" }, ctx())))
  end)

  it("finds an in-doubt insert by the id its key gives", function()
    assert.is_false(gcal.find(client, "insert_event", { "primary", EVENT }, ctx("conntest:g9")))
    script({ path = "/calendar/v3/calendars/primary/events", method = "POST", after = true, status = 500 })
    client = gcal.new({ timeout = 1, tries = 1 }, { credentials_env = SA },
      { token = fake.url .. "/token", api = fake.url .. "/calendar/v3" })
    assert.are.equal("unavailable", select(2, gcal.run(client, "insert_event", { "primary", EVENT }, ctx("conntest:g9"))))
    assert.are.equal(gcal.event_id("conntest:g9"), gcal.find(client, "insert_event", { "primary", EVENT }, ctx("conntest:g9")).id)
  end)
end)

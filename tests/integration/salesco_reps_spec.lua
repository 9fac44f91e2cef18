-- A sales rep registered without code: POST /admin/tenants/salesco/reps
-- records the rep (name, Telegram user, timezone, hours, calendar, Zoom
-- user) in config/tenants/salesco.reps.lua, tries the calendar and Zoom
-- live and says what failed, and the rep serves at once (hot reload, no
-- restart); GET lists the reps. Against the fake Google and Zoom, on a copy
-- of the tenant.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local crypto = require "crypto"

local ADMIN = "adm-" .. crypto.random_hex(8)
local SA = json.encode{ type = "service_account", client_email = "bot@flowhost-test.iam.gserviceaccount.com",
  private_key = io.open("tests/fixtures/connectors/test_sa_key.pem"):read("*a"), private_key_id = "kid-1" }

describe("registering a sales rep", function()
  local s, google, zoom, dir

  setup(function()
    google = vendor.start("google", "/_control/calls")
    zoom = vendor.start("zoom", "/_control/calls")
    google:control("/_control/config", { calendars = { "dina@salesco.example" } })
    local env
    dir, env = proc.copy_tenant("salesco", "reps")
    env.FLOWHOST_WORKERS, env.FLOWHOST_ADMIN_TOKEN = 2, ADMIN
    env.SALESCO_TELEGRAM_TOKEN, env.SALESCO_TELEGRAM_SECRET = "1:" .. crypto.random_hex(8), "sec"
    env.SALESCO_GOOGLE_CREDENTIALS = dir .. "/sa.json"              -- the key as a file path
    proc.write_file(env.SALESCO_GOOGLE_CREDENTIALS, SA)
    env.GOOGLE_OAUTH_TOKEN_URL, env.GOOGLE_CALENDAR_API_URL = google.url .. "/token", google.url .. "/calendar/v3"
    env.SALESCO_ZOOM_ACCOUNT_ID, env.SALESCO_ZOOM_CLIENT_ID, env.SALESCO_ZOOM_CLIENT_SECRET = "acc-1", "zid", "zsecret"
    env.ZOOM_OAUTH_TOKEN_URL, env.ZOOM_API_URL = zoom.url .. "/oauth/token", zoom.url .. "/v2"
    s = proc.start{ config = "config/flowhost.lua", env = env }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if google then google:stop() end
    if zoom then zoom:stop() end
    if dir then proc.sh("rm -rf " .. dir) end
  end)

  local function api(method, body)
    local r = assert(http.request{ method = method, url = s.url .. "/admin/tenants/salesco/reps",
      headers = { Authorization = "Bearer " .. ADMIN, ["Content-Type"] = "application/json" },
      body = body and json.encode(body) or nil })
    return r.status, json.decode(r.body)
  end

  local function ids(list)
    local out = {}
    for _, r in ipairs(list) do out[#out + 1] = r.id end
    return table.concat(out, ",")
  end

  it("records a rep, checks the calendar and Zoom live, and serves the rep without a restart", function()
    local status, before = api("GET")
    assert.are.equal(200, status)
    assert.are.equal("anna,ben,cara", ids(before.reps))
    local body
    status, body = api("POST", { id = "dina", name = "Dina Halim, Sales Co", telegram_user_id = 7123456,
      timezone = "Asia/Makassar", hours = "09:00-18:00", calendar = "dina@salesco.example", zoom_user = "dina@salesco.example" })
    assert.are.equal(201, status, json.encode(body))
    assert.are.same({ calendar = "ok", zoom = "ok" }, body.checks)
    assert.are.same({}, body.failed)
    assert.are.equal("salesco.dina", body.rep)
    assert.is_true(body.live)
    local _, after = api("GET")
    assert.are.equal("anna,ben,cara,dina", ids(after.reps))
    local dina = after.reps[4]
    assert.are.same({ "Asia/Makassar", "dina@salesco.example", 7123456 }, { dina.timezone, dina.calendar, dina.telegram_user_id })
    -- the file a person can read, beside the config
    local text = proc.read_file(dir .. "/tenants/salesco.reps.lua")
    assert.truthy(text:find('name = "Dina Halim, Sales Co"', 1, true), text)
    -- the rep's meetings are made as their Zoom user, their times in their zone
    local eff = proc.sh(("FLOWHOST_TENANTS_DIR=%s/tenants FLOWHOST_FLOWS_DIR=%s/flows %s check salesco.dina 2>&1")
      :format(dir, dir, proc.BIN))
    local settings = json.decode(eff:match("effective settings:\n(.-)\n?$") or "null")
    assert.truthy(settings, eff)
    assert.are.equal("dina@salesco.example", settings.connectors.zoom.user)
    assert.are.equal("Asia/Makassar", settings.timezone)
    -- the rep serves: its conversations run as salesco.dina
    local r = assert(http.request{ method = "POST", url = s.url .. "/v1/tenants/salesco.dina/conversations" })
    assert.are.equal(201, r.status, r.body)
  end)

  it("says which integration failed, and refuses a rep it cannot read", function()
    local status, body = api("POST", { id = "eli", name = "Eli", calendar = "nobody@elsewhere.example" })
    assert.are.equal(201, status, json.encode(body))
    assert.truthy(body.checks.calendar ~= "ok", json.encode(body))
    assert.are.same({ "calendar" }, body.failed)
    status, body = api("POST", { id = "Bad Id", name = "x" })
    assert.are.equal(400, status)
    assert.truthy(body.message:find("id: small letters", 1, true), json.encode(body))
    status, body = api("POST", { id = "fay", name = "Fay", timezone = "Mars/Olympus" })
    assert.are.equal(400, status)
    assert.truthy(body.message:find("timezone", 1, true))
    status, body = api("POST", { id = "gus", name = "Gus", hours = "9 to whenever" })
    assert.are.equal(400, status)
    assert.truthy(body.message:find("hours", 1, true))
  end)
end)

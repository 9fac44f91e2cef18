-- The studio's sign-in, its boundaries and its static files over real
-- HTTP: tokens (platform, tenant, rep), cookie flags, CSRF, a tenant the
-- session does not open (404 as for none), a rep confined to their own
-- file and conversations, the page and its assets (types, ETag, no
-- traversal, the placeholder page without a bundle).
local proc = require "proc"
local studio = require "studio"
local http = require "http"
local crypto = require "crypto"

describe("studio sign-in and boundaries", function()
  local s, dir, bundle
  local ADMIN, SALON, CARWASH, ANNA = "adm-" .. crypto.random_hex(6), "sal-" .. crypto.random_hex(6),
    "cw-" .. crypto.random_hex(6), "anna-" .. crypto.random_hex(6)
  setup(function()
    dir = "var/test/studio-session-" .. crypto.random_hex(4)
    bundle = dir .. "/bundle"
    proc.sh(("mkdir -p %s/tenants %s/flows %s/assets && cp config/tenants/_platform.lua config/tenants/salon.lua "
      .. "config/tenants/carwash.lua config/tenants/salesco.lua %s/tenants/ && cp -r flows/salon flows/carwash "
      .. "flows/salesco %s/flows/"):format(dir, dir, bundle, dir, dir))
    -- anna, a sales rep of salesco, gets a studio token of her own
    proc.edit_file(dir .. "/tenants/salesco.lua", 'name = "Anna Petrova, Sales Co",',
      'name = "Anna Petrova, Sales Co", admin_token_env = "SALESCO_ANNA_ADMIN_TOKEN",')
    proc.write_file(bundle .. "/index.html", "<!doctype html><title>studio</title><script src=assets/app.js></script>")
    proc.write_file(bundle .. "/assets/app.js", "console.log('studio')\n")
    proc.write_file(bundle .. "/assets/app.css", "body{}\n")
    proc.write_file(dir .. "/secret.txt", "not for the web\n")
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = ADMIN,
      SALON_ADMIN_TOKEN = SALON, CARWASH_ADMIN_TOKEN = CARWASH, SALESCO_ANNA_ADMIN_TOKEN = ANNA,
      FLOWHOST_TENANTS_DIR = dir .. "/tenants", FLOWHOST_FLOWS_DIR = dir .. "/flows", FLOWHOST_STUDIO_DIR = bundle } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
  end)

  it("signs in with a tenant's token: that tenant only, a cookie HttpOnly, SameSite=Strict, Path=/studio", function()
    local c = studio.new(s.url)
    local status, b, r = c:sign_in(SALON)
    assert.are.equal(200, status)
    assert.are.same({ "salon" }, b.tenants)
    assert.are.equal(require("json").null, b.rep)
    assert.truthy(b.csrf:match("^%x+$"))
    local cookie = r.headers["set-cookie"]
    assert.truthy(cookie:match("^fh_studio=%x+;"), cookie)
    assert.truthy(cookie:find("HttpOnly", 1, true))
    assert.truthy(cookie:find("SameSite=Strict", 1, true))
    assert.truthy(cookie:find("Path=/studio", 1, true))
    assert.is_nil(cookie:find("Secure", 1, true))                  -- plain http on loopback
    local st, again = c:call("GET", "session")
    assert.are.equal(200, st)
    assert.are.equal(b.csrf, again.csrf)
  end)

  it("marks the cookie Secure behind https", function()
    local _, _, r = studio.new(s.url):sign_in(SALON, { headers = { ["X-Forwarded-Proto"] = "https" } })
    assert.truthy(r.headers["set-cookie"]:find("; Secure", 1, true))
  end)

  it("answers 401 to a wrong token and to no session", function()
    local c = studio.new(s.url)
    assert.are.equal(401, (c:sign_in("nope")))
    assert.are.equal(401, (c:call("GET", "session")))
    assert.are.equal(401, (c:call("GET", "tenants/salon/files")))
    c.cookie = string.rep("ab", 32)                              -- a made-up cookie
    assert.are.equal(401, (c:call("GET", "tenants/salon/files")))
  end)

  it("answers 404 for a tenant the session does not open, as for one that does not exist", function()
    local c = studio.new(s.url)
    c:sign_in(SALON)
    assert.are.equal(200, (c:call("GET", "tenants/salon/files")))
    local st, b = c:call("GET", "tenants/carwash/files")
    assert.are.equal(404, st)
    assert.are.equal("unknown tenant", b.error)
    assert.are.equal(404, (c:call("GET", "tenants/nobody/files")))
    assert.are.equal(404, (c:call("GET", "tenants/carwash/conversations")))
    -- the platform token opens every tenant
    local p = studio.new(s.url)
    local _, who = p:sign_in(ADMIN)
    assert.are.same({ "carwash", "salesco", "salon" }, who.tenants)
    assert.are.equal(200, (p:call("GET", "tenants/carwash/files")))
  end)

  it("refuses a change without the session's CSRF token (403), and signs out", function()
    local c = studio.new(s.url)
    c:sign_in(SALON)
    local st, b = c:call("PUT", "tenants/salon/draft/files/messages.lua", { text = "return {}" }, { csrf = false })
    assert.are.equal(403, st)
    assert.are.equal("csrf", b.error)
    assert.are.equal(403, (c:call("POST", "tenants/salon/check", { path = "messages.lua", text = "" },
      { headers = { ["X-CSRF-Token"] = "0123" }, csrf = false })))
    assert.are.equal(403, (c:call("DELETE", "session", nil, { csrf = false })))
    assert.are.equal(200, (c:call("DELETE", "session")))
    assert.are.equal(401, (c:call("GET", "session")))
  end)

  it("confines a rep to their own file and conversations", function()
    local c = studio.new(s.url)
    local st, b = c:sign_in(ANNA)
    assert.are.equal(200, st)
    assert.are.equal("salesco.anna", b.rep)
    local _, list = c:call("GET", "tenants/salesco/files")
    assert.are.equal(1, #list.files)
    assert.are.equal("reps/anna.lua", list.files[1].path)
    assert.are.equal(200, (c:call("GET", "tenants/salesco/files/reps/anna.lua")))
    assert.are.equal(404, (c:call("GET", "tenants/salesco/files/messages.lua")))
    assert.are.equal(404, (c:call("GET", "tenants/salesco/files/reps/ben.lua")))
    assert.are.equal(404, (c:call("PUT", "tenants/salesco/draft/files/flow.lua", { text = "x" })))
    assert.are.equal(200, (c:call("GET", "tenants/salesco/conversations")))
    assert.are.equal(403, (c:call("GET", "tenants/salesco/customers")))
    assert.are.equal(403, (c:call("POST", "tenants/salesco/rollback", { version = "abc" })))
    assert.are.equal(404, (c:call("GET", "tenants/salon/files")))
  end)

  it("refuses paths outside the tenant's editable files", function()
    local c = studio.new(s.url)
    c:sign_in(SALON)
    for _, p in ipairs{ "../carwash/messages.lua", "spec/booking_spec.lua", "translations.lock", ".hidden.lua",
                        "config/carwash.lua", "a/b/c/d.lua", "messages.txt" } do
      assert.are.equal(404, (c:call("GET", "tenants/salon/files/" .. p)), p)
    end
    local _, f = c:call("GET", "tenants/salon/files/config/salon.lua")
    assert.truthy(f.text:find("Mexico_City", 1, true))
  end)

  it("serves the page and its assets with their types and ETags, and nothing outside the bundle", function()
    local r = assert(http.request{ url = s.url .. "/studio/" })
    assert.are.equal(200, r.status)
    assert.are.equal("text/html; charset=utf-8", r.headers["content-type"])
    assert.are.equal("no-cache", r.headers["cache-control"])
    assert.truthy(r.body:find("assets/app.js", 1, true))
    r = assert(http.request{ url = s.url .. "/studio/assets/app.js" })
    assert.are.equal(200, r.status)
    assert.truthy(r.headers["content-type"]:find("text/javascript", 1, true))
    assert.truthy(r.headers["cache-control"]:find("max-age", 1, true))
    local etag = r.headers["etag"]
    r = assert(http.request{ url = s.url .. "/studio/assets/app.js", headers = { ["If-None-Match"] = etag } })
    assert.are.equal(304, r.status)
    assert.truthy(assert(http.request{ url = s.url .. "/studio/assets/app.css" }).headers["content-type"]:find("text/css", 1, true))
    for _, p in ipairs{ "/studio/assets/../secret.txt", "/studio/assets/%2e%2e/secret.txt", "/studio/assets/.x",
                        "/studio/assets/nothing.js", "/studio/assets/..%2fsecret.txt" } do
      r = assert(http.request{ url = s.url .. p })
      assert.is_true(r.status == 404 or r.status == 400, p .. " -> " .. r.status)
      assert.is_nil(r.body:find("not for the web", 1, true), p)
    end
  end)
end)

-- A studio publish and rollback reach every host on the Redis: two hosts,
-- each with its own copy of the salon's files; the studio of the first
-- publishes a greeting, and the second host's live bot says it within a
-- few seconds (the version store, flow.follow); a rollback there too.
local proc = require "proc"
local studio = require "studio"
local chat = require "chat"
local json = require "json"
local crypto = require "crypto"

describe("studio publish on every host", function()
  local a, b, dir_a, dir_b, c, original, flush
  local SALON = "sal-" .. crypto.random_hex(6)
  setup(function()
    -- (the hosts follow the version store: on a database of the suite's
    -- Redis of their own, as tests/integration/versions_spec.lua does)
    local port = tonumber((os.getenv("REDIS_URL") or ""):match(":(%d+)/?%d*$")) or 6379
    flush = function() proc.sh(("redis-cli -p %d -n 8 FLUSHDB"):format(port)) end
    flush()
    local env_a, env_b
    dir_a, env_a = proc.copy_tenant("salon", "studio-host-a")
    dir_b, env_b = proc.copy_tenant("salon", "studio-host-b")
    original = proc.read_file(dir_a .. "/flows/salon/messages.lua")
    for _, env in ipairs{ env_a, env_b } do
      env.FLOWHOST_WORKERS, env.SALON_ADMIN_TOKEN = 2, SALON
      env.FLOWHOST_VERSIONS, env.REDIS_URL = "redis", ("redis://127.0.0.1:%d/8"):format(port)
    end
    a = proc.start{ config = "config/flowhost.lua", env = env_a }
    b = proc.start{ config = "config/flowhost.lua", env = env_b }
    c = studio.new(a.url)
    assert.are.equal(200, (c:sign_in(SALON)))
  end)
  teardown(function()
    if a then proc.stop(a) end
    if b then proc.stop(b) end
    if dir_a then proc.sh("rm -rf " .. dir_a .. " " .. dir_b) end
    if flush then flush() end
  end)

  local function greeting(host)
    local r = json.decode(chat.new(host.url):say("salon", "h-" .. crypto.random_hex(4), "hola").body)
    return r.replies[1].text
  end

  it("publishes on one host's studio and the other host serves it; a rollback likewise", function()
    assert.truthy(greeting(b):find("Bienvenida a", 1, true))
    local st, r = c:call("PUT", "tenants/salon/draft/files/messages.lua",
      { text = (original:gsub("Bienvenida a {tenant}", "Bienvenidos a {tenant}", 1)) })
    assert.are.equal(200, st)
    assert.is_true(r.check.ok)
    local published
    st, published = c:call("POST", "tenants/salon/publish", { message = "for every host" })
    assert.are.equal(200, st, json.encode(published))
    assert.truthy(proc.wait_until(function() return greeting(b):find("Bienvenidos", 1, true) end, 15, 0.2),
      "the other host still greets the old way")
    local _, list = c:call("GET", "tenants/salon/versions")
    assert.are.equal(published.version, list.versions[1].id)
    local before = list.versions[2].id
    st = c:call("POST", "tenants/salon/rollback", { version = before })
    assert.are.equal(200, st)
    assert.truthy(proc.wait_until(function() return greeting(b):find("Bienvenida a", 1, true) end, 15, 0.2),
      "the other host did not roll back")
    assert.truthy(greeting(a):find("Bienvenida a", 1, true))
    assert.are.equal(original, proc.read_file(dir_a .. "/flows/salon/messages.lua"))
  end)
end)

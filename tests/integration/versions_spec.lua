-- Versions reach every host (docs/versions.md): three flowhost processes on
-- one private Redis, each with its own disk copy of the car wash tenant
-- (FLOWHOST_VERSIONS = "redis"). An edit on one host's disk is published
-- to the version store and served by every host within 2 s; a host started
-- later runs the store's version; a rollback on one host reaches every
-- host and rewrites that host's disk; a conversation that keeps its
-- version keeps it on another host; a switch whose notice is lost arrives
-- by the poll; a host whose Redis is down at start serves its disk.
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"

local TOKEN = "versions-spec-" .. crypto.random_hex(4)
local SWITCH = 2.0                               -- the promise: every host within 2 s
local SLOW_POLL = 6                              -- host b polls this seldom: its switches come by notice

local function redis_cli(r, ...)
  local args = {}
  for i, a in ipairs{ ... } do args[i] = "'" .. tostring(a):gsub("'", "'\\''") .. "'" end
  return (proc.sh(("redis-cli -p %d -n %d %s"):format(r.port, r.db, table.concat(args, " "))):gsub("%s+$", ""))
end

describe("versions across hosts", function()
  local r, dirs, hosts, base = nil, {}, {}, nil
  local keeper, first                            -- a conversation begun on the first version
  local latencies = { notice = {}, poll = {} }

  local function start(name, env)
    local e = { FLOWHOST_WORKERS = name == "a" and 2 or 1, FLOWHOST_ADMIN_TOKEN = TOKEN, FLOWHOST_VERSIONS = "redis",
                REDIS_URL = r.url, FLOWHOST_TENANTS_DIR = dirs[name] .. "/tenants",
                FLOWHOST_FLOWS_DIR = dirs[name] .. "/flows" }
    for k, v in pairs(env or {}) do e[k] = v end
    hosts[name] = proc.start{ config = "config/flowhost.lua", env = e }
    return hosts[name]
  end

  local function status(name)
    local res = assert(http.request{ url = hosts[name].url .. "/admin/tenants/carwash",
      headers = { Authorization = "Bearer " .. TOKEN }, timeout = 10 })
    return json.decode(res.body)
  end

  local function version(name) return status(name).version end

  local function greeting(name)
    local c = require("chat").new(hosts[name].url)
    local res = c:say("carwash", "probe-" .. crypto.random_hex(6), { text = "hi" }, 10)
    assert(res and res.status == 200, res and res.body)
    return json.decode(res.body).replies[1].text
  end

  -- seconds until every named host serves v (nil after `within`)
  local function all_on(names, v, within)
    local t0 = time.monotonic()
    local left = {}
    for _, n in ipairs(names) do left[n] = true end
    while next(left) do
      for n in pairs(left) do if version(n) == v then left[n] = nil end end
      if not next(left) then break end
      if time.monotonic() - t0 > within then return nil end
      time.sleep(0.02)
    end
    return time.monotonic() - t0
  end

  -- a turn of conversation id (issued by any host: they share Redis) on host name
  local function say_on(name, id, text)
    local res = assert(http.request{ method = "POST",
      url = hosts[name].url .. "/v1/tenants/carwash/conversations/" .. id .. "/messages",
      headers = { ["Content-Type"] = "application/json" }, body = json.encode{ text = text }, timeout = 10 })
    assert(res.status == 200, res.body)
    return json.decode(res.body)
  end

  local function edit(name, marker)
    local path = dirs[name] .. "/flows/carwash/messages.lua"
    proc.write_file(path, (base:gsub("Hi! Welcome to", "Hi (" .. marker .. ")! Welcome to", 1)))
  end

  setup(function()
    -- the hosts' Redis: the suite's server, a database of their own (this
    -- spec publishes there too, as the studio does)
    local port = tonumber((os.getenv("REDIS_URL") or ""):match(":(%d+)/?%d*$")) or 6379
    r = { port = port, db = 9, url = ("redis://127.0.0.1:%d/9"):format(port), name = "versions-spec-" .. crypto.random_hex(3) }
    redis_cli(r, "FLUSHDB")
    for _, n in ipairs{ "a", "b", "c" } do
      dirs[n] = proc.copy_tenant("carwash", "versions-" .. n)
      -- the carwash specs before going live are check_reload_spec's subject;
      -- here every host's copy turns them off alike (the same files, one id);
      -- its conversations keep the version they started on
      local cfg = dirs[n] .. "/tenants/carwash.lua"
      proc.write_file(cfg, (proc.read_file(cfg):gsub('languages = { "en", "hi" },', '%0 specs_before_live = false, keep_version = true,', 1)))
    end
    base = proc.read_file(dirs.a .. "/flows/carwash/messages.lua")
    start("a")
    start("b", { FLOWHOST_VERSIONS_POLL = SLOW_POLL })
  end)

  teardown(function()
    for _, s in pairs(hosts) do proc.stop(s) end
    if r then redis_cli(r, "FLUSHDB") end
    for _, d in pairs(dirs) do proc.sh("rm -rf " .. d) end
    for how, l in pairs(latencies) do
      if #l > 0 then
        table.sort(l)
        print(("\nversions: switch latency to the other hosts by %s over %d switches: median %.3f s, max %.3f s")
          :format(how, #l, l[math.ceil(#l / 2)], l[#l]))
      end
    end
  end)

  it("serves the version the store names on every host from the start", function()
    local v = proc.wait_until(function() local x = version("a"); return x ~= json.null and x end, 10)
    assert.truthy(v)
    assert.truthy(all_on({ "b" }, v, 5))
    assert.are.equal(v, redis_cli(r, "GET", "fh:ver:{carwash}:current"))
    first = v
    keeper = assert(require("chat").new(hosts.a.url):id("carwash", "keeper"))
    assert.are.equal(v, say_on("a", keeper, "hi").version)
  end)

  it("publishes an edit on one host's disk and every host serves it within 2 s (by its notice)", function()
    for i = 1, 5 do
      local before = version("a")
      edit("a", "v" .. i)
      local v = proc.wait_until(function() local x = version("a"); return x ~= before and x end, 10, 0.01)
      assert.truthy(v, "host a did not take its own edit")
      local lag = all_on({ "b" }, v, SWITCH)
      assert.truthy(lag, "host b (polling every " .. SLOW_POLL .. " s) did not switch within 2 s")
      latencies.notice[#latencies.notice + 1] = lag
      assert.truthy(greeting("b"):find("(v" .. i .. ")", 1, true))
    end
    local h = json.decode(redis_cli(r, "LINDEX", "fh:ver:{carwash}:history", 0))
    assert.are.equal("disk", h.source)
    assert.are.equal(version("a"), h.id)
    -- host b's disk is untouched, and its watcher brings nothing back
    assert.are.equal(base, proc.read_file(dirs.b .. "/flows/carwash/messages.lua"))
  end)

  it("runs the store's version on a host started later, its older disk copy left as it is", function()
    local v = version("a")
    start("c")
    assert.are.equal(v, version("c"))
    assert.truthy(greeting("c"):find("(v5)", 1, true))
    assert.are.equal(base, proc.read_file(dirs.c .. "/flows/carwash/messages.lua"))
  end)

  it("keeps a conversation on the version it began on, on a host that never served it", function()
    local cur = version("c")
    assert.are_not.equal(first, cur)
    local reply = say_on("c", keeper, "Rahul")
    assert.are.equal(first, reply.version)
    assert.truthy(proc.read_file(hosts.c.log):find("a conversation keeps an earlier version", 1, true))
    -- a new conversation on the same host starts on the serving version
    local c = require("chat").new(hosts.c.url)
    local res = c:say("carwash", "newcomer", { text = "hi" }, 10)
    assert.are.equal(cur, json.decode(res.body).version)
    -- and the kept conversation stays where it is on the other hosts too
    assert.are.equal(first, say_on("b", keeper, "my car is a Swift").version)
  end)

  it("rolls back from one host on every host, and writes the rolled-back files to that host's disk", function()
    local cur = version("a")
    local hist = status("b").history
    local res = assert(http.request{ method = "POST", url = hosts.b.url .. "/admin/tenants/carwash/rollback",
      headers = { Authorization = "Bearer " .. TOKEN }, body = "{}" })
    assert.are.equal(200, res.status, res.body)
    local back = json.decode(res.body).version
    assert.are_not.equal(cur, back)
    assert.are.equal(back, version("b"))
    assert.truthy(all_on({ "a", "c" }, back, SWITCH), "not every host rolled back within 2 s")
    assert.truthy(greeting("a"):find("(v4)", 1, true))
    -- b's disk holds the rolled-back files: a disk reload there changes nothing
    assert.truthy(proc.read_file(dirs.b .. "/flows/carwash/messages.lua"):find("(v4)", 1, true))
    local reload = assert(http.request{ method = "POST", url = hosts.b.url .. "/admin/tenants/carwash/reload",
      headers = { Authorization = "Bearer " .. TOKEN } })
    assert.are.equal(200, reload.status, reload.body)
    time.sleep(1.2)                               -- (a's disk still says v5: not an edit, nothing published)
    for _, n in ipairs{ "a", "b", "c" } do assert.are.equal(back, version(n)) end
    local h = json.decode(redis_cli(r, "LINDEX", "fh:ver:{carwash}:history", 0))
    assert.are.same({ back, "rollback", cur }, { h.id, h.source, h.parent })
    assert.truthy(#hist >= 2)
  end)

  it("converges by the poll when a switch's notice is lost", function()
    local v = version("a")
    local hist = status("a").history
    local other
    for _, h in ipairs(hist) do if h.version ~= v then other = h.version; break end end
    assert.truthy(other)
    -- the current id changed without a notice (as when the notice is lost)
    assert.are.equal("OK", redis_cli(r, "SET", "fh:ver:{carwash}:current", other))
    local lag = all_on({ "a", "c" }, other, SWITCH)
    assert.truthy(lag, "the hosts did not converge within 2 s")
    latencies.poll[#latencies.poll + 1] = lag
    assert.truthy(all_on({ "b" }, other, SLOW_POLL + SWITCH), "host b did not converge by its own poll")
  end)

  it("switches every host to a version published straight to the store, as the studio does", function()
    local store = require "host.version_store"
    local redis = require "redis"
    local was = redis.db()
    redis.use_db(r.db)
    local ok, id = pcall(function()
      local files = assert(store.files("carwash", assert(store.current("carwash"))))
      local p = "flows/carwash/messages.lua"
      files[p] = files[p]:gsub("Welcome to", "Welcome (studio) to", 1)
      return assert(store.publish("carwash", files, { source = "studio", author = "spec", message = "a greeting" }))
    end)
    redis.use_db(was)
    assert(ok, id)
    local lag = all_on({ "a", "b", "c" }, id, SWITCH)
    assert.truthy(lag, "not every host served the studio's version within 2 s")
    latencies.notice[#latencies.notice + 1] = lag
    for _, n in ipairs{ "a", "b", "c" } do assert.truthy(greeting(n):find("(studio)", 1, true)) end
    -- no host's disk has it, and none brings its own back
    time.sleep(1)
    for _, n in ipairs{ "a", "b", "c" } do assert.are.equal(id, version(n)) end
  end)

  it("publishes the serving version again when the store loses it (a Redis restarted empty)", function()
    local v = version("a")
    redis_cli(r, "FLUSHDB")
    assert.truthy(proc.wait_until(function() return redis_cli(r, "GET", "fh:ver:{carwash}:current") == v end, 5, 0.1),
      "the store was not given the serving version again")
    assert.are.equal(v, json.decode(redis_cli(r, "LINDEX", "fh:ver:{carwash}:history", 0)).id)
    for _, n in ipairs{ "a", "b", "c" } do assert.are.equal(v, version(n)) end
  end)

  it("takes an edit made on a host's disk while it was down when it starts again", function()
    proc.stop(hosts.c)
    edit("c", "while down")
    local before = version("a")
    start("c")
    -- c serves the store's version first; its edit then goes live as any edit does
    local v = proc.wait_until(function() local x = version("c"); return x ~= before and x end, 10, 0.02)
    assert.truthy(v, "the edit made while c was down did not go live")
    assert.truthy(greeting("c"):find("(while down)", 1, true))
    assert.truthy(all_on({ "a", "b" }, v, SWITCH))
    assert.are.equal(v, redis_cli(r, "GET", "fh:ver:{carwash}:current"))
  end)

  it("serves the disk version when Redis is down at start, and publishes it once Redis answers", function()
    dirs.d = proc.copy_tenant("carwash", "versions-d")
    local port = proc.free_port()
    start("d", { REDIS_URL = "redis://127.0.0.1:" .. port, FLOWHOST_WORKERS = 1 })
    local v = proc.wait_until(function() local x = version("d"); return x ~= json.null and x end, 10)
    assert.truthy(v, "no version served without Redis")
    assert.truthy(proc.wait_until(function()
      return (proc.read_file(hosts.d.log) or ""):find("version store unreachable; serving the disk version", 1, true)
    end, 5), "the host did not say it serves its disk")
    local late = proc.redis_start(r.name .. "-late", port)   -- (a server of its own, on the address d was given)
    local stored = proc.wait_until(function()
      return proc.sh(("redis-cli -p %d GET 'fh:ver:{carwash}:current'"):format(port)):gsub("%s+$", "") == v
    end, 10, 0.1)
    proc.stop(hosts.d)
    hosts.d = nil
    proc.redis_stop(late)
    proc.sh("rm -rf var/" .. late.name)
    assert.truthy(stored, "the disk version was not published once Redis answered")
  end)
end)

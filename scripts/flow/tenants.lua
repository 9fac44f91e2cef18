--- flow.tenants: the tenants this worker serves, each in its own Lua state
--- (core/lua_api_tstate.c), and their hot reload.
--
--   tenants.call(id, fn, payload) -> result | nil, err      (yields)
--       runs fn (see scripts/host/tenant_boot.lua) in the tenant's state;
--       err: "unknown tenant" | "tenant broken" | "flow failed: <error>"
--   tenants.status(id) -> {version, last_error, loaded_at, history, name,
--                          settings, memory_kb, tasks (turns running in its
--                          state now), calls and cpu_ms (calls into this
--                          version's state and their Lua CPU), worker,
--                          copies (flow.replicas)} | nil
--   tenants.list() -> ids known;  tenants.reload(id?) ; tenants.rollback(id, version)
--   tenants.start(versions, poll) loads this worker's tenants and starts
--                   flow.watcher (inotify on config/tenants, flows/ and
--                   scripts/, SIGHUP, POST /admin/reload) and, with versions
--                   = "redis", flow.follow: the version store decides which
--                   version serves on every host, an edit of this host's
--                   disk is published to it, a rollback goes through it
--                   (docs/versions.md); keep_version: flow.kept
--
-- A version is the hash of the tenant's files (its config and its flow
-- folder) and of the runtime library. A new version is compiled and checked
-- in a fresh state; only if that passes does it replace the old state, and
-- the old state is closed when its last turn has ended (a turn that began
-- on the old version ends on it). A version that fails keeps the last good
-- one serving and is recorded as last_error with file, line and message.
-- A new version that would replace a serving one must also pass the
-- tenant's own specs (flow.check_specs; setting specs_before_live, on by
-- default); the first version a worker loads is not held back by them.
local tstate = require "tstate"
local tenant = require "flow.tenant"
local json = require "json"
local host = require "host"
local log = require "log"
local time = require "time"
local redis = require "redis"
local version_of = require "flow.version"
local replicas = require "flow.replicas"
local admission = require "flow.admission"
local follow = require "flow.follow"
local kept = require "flow.kept"

local M = {}

local HISTORY = 10
local MAX_CPU_MS = 100          -- the promise: 100 ms of Lua per turn, 64 MB per state
local MEMORY_MB = 64
local BOOT = 'return require("host.tenant_boot").load(...)'

local entries = {}            -- id -> entry

-- the runtime library folder (setting `scripts`, FLOWHOST_SCRIPTS): a change
-- there reloads every tenant
local function scripts_dir() return require("host").scripts_dir() end
M.scripts_dir = scripts_dir

--- Hashes the runtime library (part of every version).
M.rehash_runtime = version_of.rehash_runtime

--- The tenant's files now, and their version (nil when it has no config):
--- flow.version.snapshot, the one the check prints too.
M.snapshot = version_of.snapshot

-- "file:line: message" -> {file, line, message}
local function parse_problem(p)
  local file, line, msg = tostring(p):match("^([^:]+%.lua):(%d+): (.*)$")
  if file then return { file = file, line = tonumber(line), message = msg } end
  return { file = json.null, line = json.null, message = tostring(p) }
end

local function entry(id)
  local e = entries[id]
  if not e then
    e = { id = id, history = {} }
    entries[id] = e
  end
  return e
end

local function remember(e, version, files)
  for i, h in ipairs(e.history) do
    if h.version == version then table.remove(e.history, i); break end
  end
  table.insert(e.history, 1, { version = version, at = time.now(), files = files })
  while #e.history > HISTORY do table.remove(e.history) end
end

-- a version's own specs (flows/<id>/spec), when it would replace a serving
-- one and its settings do not say specs_before_live = false; the serving
-- version answers meanwhile. -> true | nil, problems
local function specs_pass(e, version, files, r)
  if not e.ts or (r.settings and r.settings.specs_before_live == false) then return true end
  e.testing = version
  local ok, passed, problems = pcall(require("flow.check_specs").run, e.id, files)
  e.testing = nil
  if not ok then return nil, { "the specs could not run: " .. tostring(passed) } end
  return passed, problems
end

-- a fresh state with files loaded as version -> ts, r (its boot answer: ok,
-- name, fallback, limits, settings | problems; the caller closes ts then)
local function boot(id, files, version)
  local ts = tstate.new{ name = id, memory_mb = MEMORY_MB }
  local ok, res = ts:eval(BOOT, json.encode{ id = id, files = files, version = version }, 2)
  local r = ok and json.decode(res) or nil
  return ts, r or { ok = false, problems = { res } }
end

-- e serves ts (version, r its boot answer) from now on; the old state
-- closes after its last turn
local function serve(e, ts, r, version, files)
  local old = e.ts
  e.ts, e.version, e.name, e.fallback, e.settings = ts, version, r.name, r.fallback, r.settings
  -- a tenant may ask for less CPU per turn, never for more than the platform's
  e.cpu = math.min(tonumber(r.limits and r.limits.cpu_ms) or MAX_CPU_MS, MAX_CPU_MS) / 1000
  e.loaded_at = time.now()
  e.last_error = nil
  e.pinned_over = nil
  e.calls = 0                                   -- (counted per state, like ts:cpu())
  remember(e, version, files)
  if old then old:close() end                   -- closes after its last turn
  return old
end

--- Compiles files as the tenant's new version in a fresh state (and in the
--- copies of a tenant on several workers, flow.replicas); swaps it in
--- only if it loads and checks everywhere (and, with opts.specs, its specs
--- pass: they run after the compile, before the copies are made).
--- -> true | nil, problems
function M.install(id, files, version, opts)
  local e = entry(id)
  local ts, r = boot(id, files, version)
  if r.ok and opts and opts.specs then
    local passed, spec_problems = specs_pass(e, version, files, r)
    if not passed then r = { ok = false, problems = spec_problems } end
  end
  if r.ok then r = replicas.prepare(M.owner(id), id, files, version, r) end
  if not r.ok then
    ts:close()
    local problems = r.problems
    e.last_error = parse_problem(problems[1])
    e.last_error.problems = problems
    e.last_error.version = version
    e.last_error.at = time.now()
    log.error("tenant version rejected; the last good version keeps serving",
      { tenant = id, version = version, problem = tostring(problems[1]) })
    return nil, problems
  end
  local old = serve(e, ts, r, version, files)
  replicas.commit(M.owner(id), id, version, r.settings)
  if old then log.info("tenant reloaded", { tenant = id, version = version }) end
  return true
end

-- one install of a tenant at a time: copies on other workers make it yield
local install_once = M.install
function M.install(id, files, version, opts)
  local e = entry(id)
  while e.installing do time.sleep(0.005) end
  e.installing = true
  local ok, done, problems = pcall(install_once, id, files, version, opts)
  e.installing = nil
  if not ok then error(done, 0) end
  return done, problems
end

-- waits while a version of id is being installed (it yields for the copies
-- on other workers): nobody sees an entry half made
local function settled(id)
  while entries[id] and entries[id].installing do time.sleep(0.005) end
  return entries[id]
end
M.entry_of = settled

-- (versions from the store, flow.follow) a version this host's disk gave
-- goes to the store; meanwhile the follow task leaves the tenant alone
local function publish_after(id, files, version, source, fn)
  local e = entry(id)
  e.publishing = true
  local ok, done, problems = pcall(fn)
  if ok and done then
    local sent, got = pcall(follow.published, id, files, version, source)
    e.disk_seen = (sent and got) and version or nil   -- (not stored: published when the store answers)
  elseif ok then
    e.disk_failed = version
  end
  e.publishing = nil
  if not ok then error(done, 0) end
  return done, problems
end

--- Loads the tenant's current files if they changed. -> true | nil, problems
--- (versions from the store: only an edit of this host's disk is loaded,
--- then published; opts.source "admin" names who asked)
function M.reload(id, opts)
  local files, version = M.snapshot(id)
  local e = settled(id)
  if not files and follow.on() then
    if e and e.ts then return true end         -- the store's version serves; this disk need not hold it
    if follow.known(id) then return follow.sync(M, id) end
  end
  if follow.on() and files and e and e.disk_seen == version then   -- no edit on this disk since
    if e.disk_failed and e.disk_failed ~= version then e.last_error, e.disk_failed = nil, nil end
    if e.ts then return true end
    return nil, e.last_error and e.last_error.problems or { "the version store's version did not load here" }
  end
  if not files then                            -- its config is gone: removed
    if e and e.ts then e.ts:close() end
    if e then kept.close(e) end
    entries[id] = nil
    replicas.drop(M.owner(id), id)
    return nil, { "unknown tenant" }
  end
  if e and e.version == version and e.ts then
    e.last_error = nil                         -- a bad edit was taken back
    if follow.on() then return publish_after(id, files, version, opts and opts.source, function() return true end) end
    return true
  end
  if e and e.pinned_over == version and e.ts then return true end   -- rolled back, no edit since
  if e and e.last_error and e.last_error.version == version then return nil, e.last_error.problems end
  if e and e.testing == version then
    return nil, { "this version's specs are running; the current version serves until they pass" }
  end
  if follow.on() then
    return publish_after(id, files, version, opts and opts.source,
      function() return M.install(id, files, version, { specs = true }) end)
  end
  return M.install(id, files, version, { specs = true })
end

--- Tenants loaded on this worker (as their owner).
function M.owned()
  local out = {}
  for id, e in pairs(entries) do if e.ts and not e.copy then out[#out + 1] = id end end
  table.sort(out)
  return out
end

function M.list()
  local ids, seen = {}, {}
  for _, id in ipairs(tenant.list()) do ids[#ids + 1] = id; seen[id] = true end
  if follow.on() then                           -- published from another host
    for _, id in ipairs(follow.tenants()) do if not seen[id] then ids[#ids + 1] = id end end
  end
  return ids
end

-- a tenant's first load on this worker
local function first_load(id)
  if follow.on() then return follow.sync(M, id) end
  return M.reload(id)
end

local function local_status(id)
  -- a serving entry changes only in serve(), which does not yield: its
  -- status can be read while a new version compiles or runs its specs
  local e = entries[id]
  if not (e and e.ts) then e = settled(id) end
  if not e then
    if not M.snapshot(id) and not follow.known(id) then return nil end
    first_load(id)
    e = entries[id]
    if not e then return nil end
  end
  local history = {}
  for i, h in ipairs(e.history) do history[i] = { version = h.version, at = h.at } end
  return { id = id, name = e.name, version = e.version or json.null, loaded_at = e.loaded_at,
           last_error = e.last_error or json.null, history = history, settings = e.settings,
           memory_kb = e.ts and e.ts:memory() or nil, tasks = e.ts and e.ts:tasks() or nil,
           calls = e.calls or 0, cpu_ms = e.ts and e.ts:cpu() * 1000 or nil,
           worker = host.worker(), copies = json.array(replicas.status(id)) }
end

-- serve version (from the kept history) while the files on disk are still
-- at version `over`
local function pin(e, version, over)
  if e.version == version then e.pinned_over = over; return version end
  for _, h in ipairs(e.history) do
    if h.version == version then
      local ok, problems = M.install(e.id, h.files, h.version)
      if not ok then return nil, problems[1] end
      e.pinned_over = over
      return version
    end
  end
  return nil, "no such version in the history"
end

--- Serves an earlier version again, on every worker (and every host on the
--- same Redis) until the tenant's files change. version nil: the one before.
--- (Versions from the store: flow.follow.rollback.)
local function local_rollback(id, version)
  local e = entries[id]
  if not e then return nil, "unknown tenant" end
  if follow.on() then return follow.rollback(M, e, version) end
  if version == nil then
    for _, h in ipairs(e.history) do
      if h.version ~= e.version then version = h.version; break end
    end
  end
  local _, over = M.snapshot(id)
  local done, err = pin(e, version, over)
  if not done then return nil, err end
  redis.call("HSET", "fh:tenant-pins", id, json.encode{ version = version, over = over })
  host.request_reload()
  return done
end

-- A turn stopped on the wall clock (10x its CPU budget: it was blocked or
-- starved, not just busy) may have left the state's runtime half-way
-- through something: its state is replaced by a fresh one of the same
-- version (the old one closes after its last turn). A turn stopped over
-- CPU or memory ended in an error LuaJIT unwinds cleanly: its garbage is
-- collected before the state's next call, and no rebuild is paid for.
-- At most one rebuild per REBUILD_EVERY seconds per tenant: a tenant that
-- breaks its budget on every turn must not make its worker compile on
-- every turn (meanwhile its garbage is collected before each call).
local REBUILD_EVERY = 5
local function rebuild(e)
  local h = e.history[1]
  if not h or h.version ~= e.version then return end
  if e.rebuilt_at and time.monotonic() - e.rebuilt_at < REBUILD_EVERY then return end
  e.rebuilt_at = time.monotonic()
  local pinned = e.pinned_over
  local ok, problems = M.install(e.id, h.files, h.version)
  e.pinned_over = pinned
  log.warn("tenant state rebuilt after a turn broke its budget",
    { tenant = e.id, version = e.version, ok = ok and true or false, problem = problems and problems[1] })
end

local function local_call(id, fn, payload)
  local e = entries[id]
  if not e or not e.ts then
    local ok, problems
    if e and not follow.on() then ok, problems = M.reload(id) else ok, problems = first_load(id) end
    e = entries[id]
    if not ok and not (e and e.ts) then
      if problems and problems[1] == "unknown tenant" then return nil, "unknown tenant" end
      return nil, "tenant broken"
    end
  end
  -- a conversation that keeps an earlier version (keep_version) runs there
  local ts = fn == "turn" and kept.state(e, payload, boot) or e.ts
  local keeps = ts ~= e.ts
  if fn == "reset" then kept.forget(e, payload) end
  -- a state near its cap (what a turn stopped over memory left) is
  -- collected in steps, letting the worker's other requests run between
  -- them, before it takes another turn
  local cycles, steps = 0, 0
  while ts:pressure() and cycles < 2 and steps < 1000 do
    if ts:step(256) then cycles = cycles + 1 end
    steps = steps + 1
    time.sleep(0)
    if not keeps and e.ts and e.ts ~= ts then ts = e.ts end  -- rebuilt meanwhile
  end
  admission.enter(e)                            -- (a busy state: in arrival order)
  if entries[id] ~= e then                      -- removed, or a copy dropped, meanwhile
    admission.leave(e)
    return M.call(id, fn, payload)
  end
  if not keeps and e.ts and e.ts ~= ts then ts = e.ts end    -- reloaded meanwhile
  e.calls = (e.calls or 0) + 1
  local called, ok, res, over = pcall(ts.call, ts, fn, payload, e.cpu)
  admission.leave(e)
  if not called then error(ok, 0) end
  if not ok then
    log.error("tenant turn failed", { tenant = id, err = res, budget = over })
    if over == "wall" and e.ts == ts then rebuild(e) end
    return nil, "flow failed", res, e.fallback
  end
  return res
end

--- Reloads every tenant of this worker (a change to the runtime library, a
--- SIGHUP, POST /admin/reload), and applies rollbacks pinned in Redis.
function M.reload_all()
  M.rehash_runtime()
  local pins = {}
  local flat = not follow.on() and redis.call("HGETALL", "fh:tenant-pins")
  if type(flat) == "table" then
    for i = 1, #flat, 2 do pins[flat[i]] = json.decode(flat[i + 1]) end
  end
  local seen = {}
  for _, id in ipairs(M.list()) do if M.owner(id) == host.worker() then seen[id] = true end end
  for id, e in pairs(entries) do if not e.copy then seen[id] = true end end   -- copies follow their owner
  for id in pairs(seen) do
    local p = pins[id]
    local files, version = M.snapshot(id)
    if p and files and p.over == version and entries[id] then
      pin(entries[id], p.version, p.over)
    else
      if p then redis.call("HDEL", "fh:tenant-pins", id) end  -- edited since: the pin is over
      M.reload(id)
    end
  end
end

--- Loads the tenants pinned to this worker, then watches for changes (and,
--- with versions = "redis", follows the version store: flow.follow).
function M.start(versions, poll)
  follow.configure(versions, poll)
  M.rehash_runtime()
  host.spawn(function()
    time.sleep(0)                               -- every worker exists now
    if follow.on() then follow.look_tenants() end
    for _, id in ipairs(M.list()) do
      if M.owner(id) == host.worker() then first_load(id) end
    end
    follow.start(M)
    require("flow.watcher").run(M)
  end)
end

-- ---- tenants are pinned to workers --------------------------------------
-- A tenant's state lives on one worker (a hash of its id); a request that
-- arrives on another worker is run there through host.call_on.

function M.owner(id)
  local h = 5381
  for i = 1, #id do h = (h * 33 + id:byte(i)) % 4294967296 end
  return h % math.max(1, host.workers())
end

local function mine(id) return M.owner(id) == host.worker() end

local function remote(id, op, args)
  args.op, args.id = op, id
  local ok, res = host.call_on(M.owner(id), "tenant_op", json.encode(args))
  if not ok then error("tenant_op on worker " .. M.owner(id) .. " failed: " .. tostring(res), 0) end
  return json.decode(res)
end

local OPS = {
  call = function(a)
    local out, err, detail, fallback = local_call(a.id, a.fn, a.payload)
    return { out = out, err = err, detail = detail, fallback = fallback }
  end,
  status = function(a) return { status = local_status(a.id) } end,
  rollback = function(a)
    local v, err = local_rollback(a.id, a.version)
    return { version = v, err = err }
  end,
  reload = function(a)
    local ok, problems = M.reload(a.id, { source = a.source })
    return { ok = ok, problems = problems }
  end,
  -- this worker's copy of a tenant served by several (flow.replicas)
  prepare = function(a)
    local e = entry(a.id)
    e.copy = true                                -- (its owner decides its versions)
    if e.pending then e.pending.ts:close() end
    local ts, r = boot(a.id, a.files, a.version)
    if not r.ok then ts:close(); e.pending = nil; return { ok = false, problems = r.problems } end
    e.pending = { ts = ts, r = r, version = a.version, files = a.files }
    return { ok = true }
  end,
  commit = function(a)
    local e, p = entries[a.id], entries[a.id] and entries[a.id].pending
    if not (p and p.version == a.version) then return { ok = false, problems = { "nothing prepared" } } end
    e.pending = nil
    serve(e, p.ts, p.r, p.version, p.files)
    return { ok = true }
  end,
  abort = function(a)
    local e = entries[a.id]
    if e and e.pending and e.pending.version == a.version then e.pending.ts:close(); e.pending = nil end
    return { ok = true }
  end,
  drop = function(a)
    local e = entries[a.id]
    if e and e.copy and not mine(a.id) then
      if e.ts then e.ts:close() end
      kept.close(e)
      if e.pending then e.pending.ts:close() end
      entries[a.id] = nil
    end
    return { ok = true }
  end,
  copy = function(a)
    local e = entries[a.id]
    if not (e and e.copy and e.ts) then return {} end
    return { version = e.version, tasks = e.ts:tasks(), memory_kb = e.ts:memory(), calls = e.calls or 0,
             cpu_ms = e.ts:cpu() * 1000 }
  end,
}

-- what another worker asks of the tenants pinned here
function _G.tenant_op(payload)
  local a = json.decode(payload)
  return json.encode(OPS[a.op](a))
end


--- Whether id is a tenant id (flow.tenant.ID: "_platform", "..", ".x" are not).
function M.valid_id(id)
  return type(id) == "string" and #id <= 64 and id:match(tenant.ID) ~= nil
end

function M.call(id, fn, payload)
  if not M.valid_id(id) then return nil, "unknown tenant" end
  local e = entries[id]
  if mine(id) or (e and e.copy and e.ts) then return local_call(id, fn, payload) end   -- a copy here serves it
  local r = remote(id, "call", { fn = fn, payload = payload })
  return r.out, r.err, r.detail, r.fallback
end

function M.status(id)
  if not M.valid_id(id) then return nil end
  if mine(id) then return local_status(id) end
  return remote(id, "status", {}).status
end

function M.rollback(id, version)
  if not M.valid_id(id) then return nil, "unknown tenant" end
  if mine(id) then return local_rollback(id, version) end
  local r = remote(id, "rollback", { version = version })
  return r.version, r.err
end

--- Reloads the tenant now (on the worker that serves it). source: who
--- asked ("admin"), when the store records it.
function M.reload_now(id, source)
  if not M.valid_id(id) then return nil, { "unknown tenant" } end
  if mine(id) then return M.reload(id, { source = source }) end
  local r = remote(id, "reload", { source = source })
  return r.ok, r.problems
end

return M

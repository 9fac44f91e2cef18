--- flow.follow: the hosts on one Redis serve the version the version store
--- (host.version_store) names current, whatever each one's disk holds
--- (host setting `versions = "redis"`, the default; docs/versions.md).
--
--   follow.configure(mode, poll)   "redis" | "disk" (setting `versions`; raises
--                            on others), seconds between polls (`versions_poll`)
--   follow.on() -> boolean   whether versions come from the store
--   follow.start(tenants)    this worker's follow task: on a notice on the
--       store's channel (pubsub, a connection of the worker's own) and every
--       POLL seconds (a lost notice, a listener reconnecting), it reads
--       the current ids of the tenants it owns; a new one is fetched and
--       installed (checked, not held back by specs: they ran where it was
--       published) within ~POLL + the compile
--   follow.sync(tenants, id) -> true | nil, problems
--       a tenant's first load (and again once an unreachable store answers):
--         the store names a version -> it serves that one; this host's disk
--         copy is then stale when the store knows its id (an older or the
--         current version), or an edit nobody published when it does not
--         (made while the host was down): that edit goes live as any edit
--         does (check, specs, publish);
--         the store has none -> the disk version is loaded and published;
--         the store cannot be reached -> the disk version serves (logged),
--         and the tenant is synced again when the store answers
--   follow.published(id, files, version, source)   a version this host
--       accepted from its disk (or the admin reload): into the store
--   follow.tenants() -> ids the store has (as last read), for tenants.list
--
-- A change on this host's disk is an edit when the disk's id differs from
-- the one this host saw there last (entry.disk_seen): only then does a
-- disk reload install and publish; a follower's untouched, older disk copy
-- never brings an old version back.
local store = require "host.version_store"
local version_of = require "flow.version"
local host = require "host"
local pubsub = require "pubsub"
local log = require "log"
local time = require "time"

local M = {}

M.POLL = 0.5                      -- seconds between polls of the current ids (versions_poll)
local mode = "disk"                -- until `flowhost serve` configures it (tests, chat, check: their files)
local known = {}                  -- tenant ids the store has (last read)
local unsynced = {}               -- id -> true: synced while the store did not answer

function M.configure(m, poll)
  if poll and poll > 0 then M.POLL = poll end
  if m ~= nil and m ~= "redis" and m ~= "disk" then
    error(('setting versions = "%s": must be "redis" (versions reach every host) or "disk" (this host\'s files only)')
      :format(tostring(m)), 0)
  end
  mode = m or "redis"                           -- (the setting's default)
end

function M.on() return mode == "redis" end

function M.known(id) return known[id] == true end

--- Reads which tenants the store has (at start: a tenant published from
--- another host is served here too).
function M.look_tenants()
  local listed = store.tenants()
  for _, id in ipairs(listed or {}) do known[id] = true end
end

function M.tenants()
  local out = {}
  for id in pairs(known) do out[#out + 1] = id end
  table.sort(out)
  return out
end

function M.published(id, files, version, source)
  local got, how = store.publish(id, version_of.named(files), { source = source or "disk", author = "host" })
  if not got then
    unsynced[id] = true
    log.warn("version not published to the version store; published when it answers",
      { tenant = id, version = version, error = how })
    return nil, how
  end
  if got ~= version then
    log.warn("the store names this version otherwise (another runtime library?)",
      { tenant = id, version = version, store_id = got })
  end
  if how == "published" then log.info("version published", { tenant = id, version = got, source = source or "disk" }) end
  return got
end

-- installs the store's version cur of tenant id on this worker
local function install(tenants, id, cur)
  local e = tenants.entry_of(id)
  if e and e.last_error and e.last_error.version == cur then return nil, e.last_error.problems end
  local named, err = store.files(id, cur)
  if not named then
    log.warn("version named current is not in the store", { tenant = id, version = cur, error = err })
    return nil, { err or "not in the store" }
  end
  local t0 = time.monotonic()
  local files = version_of.placed(named)
  local ok, problems = tenants.install(id, files, cur)
  if ok then
    log.info("tenant follows the version store", { tenant = id, version = cur,
      seconds = ("%.3f"):format(time.monotonic() - t0) })
  end
  return ok, problems
end
M.install = install

function M.sync(tenants, id)
  local cur, err = store.current(id)
  local files, disk = tenants.snapshot(id)
  local e = tenants.entry_of(id)
  if err then
    unsynced[id] = true
    if not (e and e.ts) then
      log.warn("version store unreachable; serving the disk version", { tenant = id, version = disk, error = err })
      return tenants.reload(id)
    end
    return true
  end
  unsynced[id] = nil
  if not cur then                               -- (an edit: installs and publishes)
    known[id] = nil
    if not files then return nil, { "unknown tenant" } end
    return tenants.reload(id)
  end
  known[id] = true
  -- the disk is stale when the store knows its version (or there is no disk copy)
  local stale = not files or disk == cur
  if not stale then
    local has, herr = store.has(id, disk)
    if herr then unsynced[id] = true end          -- (asked again at the next poll)
    stale = has or herr ~= nil
  end
  if not (e and e.ts and e.version == cur) then
    local ok, problems = install(tenants, id, cur)
    e = tenants.entry_of(id)
    if not ok and not (e and e.ts) then
      if e and stale then e.disk_seen = disk end  -- (a reload must not publish this disk for it)
      return nil, problems
    end
  end
  e = tenants.entry_of(id)
  if not stale then
    log.info("this host's disk holds an edit the version store has not seen; it goes live as an edit",
      { tenant = id, disk = disk, store = cur })
    return tenants.reload(id)
  end
  if e then e.disk_seen = disk end
  return true
end

-- one look at the store: each owned tenant on its current id
local function look(tenants)
  local ids = {}
  local listed, lerr = store.tenants()
  if listed then
    known = {}
    for _, id in ipairs(listed) do known[id] = true end
  end
  for _, id in ipairs(tenants.list()) do
    if tenants.owner(id) == host.worker() then ids[#ids + 1] = id end
  end
  local cur, err = store.currents(ids)
  if not cur then return nil, err or lerr end
  for _, id in ipairs(ids) do
    local e = tenants.entry_of(id)
    if e and (e.publishing or e.installing or e.testing) then  -- (this host is switching it)
    elseif unsynced[id] then
      M.sync(tenants, id)
    elseif cur[id] and not (e and e.version == cur[id]) then
      install(tenants, id, cur[id])
    elseif not cur[id] and e and e.ts and not e.copy then
      M.published(id, e.history[1] and e.history[1].files or tenants.snapshot(id), e.version)  -- (the store was emptied)
    end
  end
  return true
end

-- this host's disk copy of a version: the tenant's own files written, the
-- ones the version lacks removed (not the platform defaults: they are every
-- tenant's; a version made with other ones leaves this disk differing)
local function write_disk(tenants, id, files)
  local platform = require("flow.tenant").platform_file()
  local now = tenants.snapshot(id) or {}
  for path in pairs(now) do
    if files[path] == nil and path ~= platform then os.remove(path) end
  end
  for path, text in pairs(files) do
    if path ~= platform and now[path] ~= text then
      local dir = path:match("^(.*)/[^/]+$")
      if dir then os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'") end
      local f, err = io.open(path, "wb")
      if not f then return nil, err end
      f:write(text)
      f:close()
    end
  end
  local _, disk = tenants.snapshot(id)
  return disk
end

--- Serves an earlier version (version nil: the newest other one in the
--- store's history) on every host: the store makes it current (a history
--- entry, a notice), this worker installs it at once, and this host's disk
--- gets its files (so a later disk reload does not bring the other one back).
--- -> version | nil, err
function M.rollback(tenants, e, version)
  local id = e.id
  local cur, err = store.current(id)
  if err then return nil, err end
  if version == nil then
    local hist, herr = store.history(id, { limit = store.KEEP })
    if not hist then return nil, herr end
    for _, h in ipairs(hist) do
      if h.id ~= (cur or e.version) then version = h.id; break end
    end
    if not version then return nil, "no earlier version in the version store" end
  end
  local named, ferr = store.files(id, version)
  if ferr then return nil, ferr end
  e.publishing = true
  local ok, res, problems = pcall(function()
    if not named then                            -- kept by this host only (published while the store was away)
      for _, h in ipairs(e.history) do
        if h.version == version then named = version_of.named(h.files) end
      end
      if not named then return nil, { "no such version in the version store or this host's history" } end
      local got, perr = store.publish(id, named, { source = "rollback", author = "admin" })
      if not got then return nil, { perr } end
    else
      local done, aerr = store.activate(id, version, { source = "rollback", author = "admin" })
      if not done then return nil, { aerr } end
    end
    local files = version_of.placed(named)
    if e.version ~= version then
      local done, iproblems = tenants.install(id, files, version)
      if not done then return nil, iproblems end
    end
    local disk, werr = write_disk(tenants, id, files)
    if not disk then
      log.warn("rolled back, but this host's disk copy was not written", { tenant = id, error = werr })
    end
    e.disk_seen = disk
    return true
  end)
  e.publishing = nil
  if not ok then error(res, 0) end
  if not res then return nil, tostring(problems and problems[1]) end
  log.info("tenant rolled back on every host", { tenant = id, version = version })
  return version
end

function M.start(tenants)
  if not M.on() then return end
  host.spawn(function()
    local waiter = host.task_id()
    local listening, lerr = pubsub.listen(store.CHANNEL)
    if not listening then log.warn("version notices not heard; the poll alone brings versions", { error = lerr }) end
    local quiet = false
    while true do
      pubsub.notify(waiter)
      host.park(M.POLL)
      pubsub.take()                             -- (a notice or the poll: one look at every owned tenant)
      local ok, res, err = pcall(look, tenants)
      if not ok or not res then
        if not quiet then
          log.warn("version store not read; hosts keep their versions", { error = tostring(ok and err or res) })
        end
        quiet = true
      else
        quiet = false
      end
    end
  end)
end

return M

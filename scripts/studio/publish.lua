--- studio.publish: a draft goes live; the history of versions; rollback.
--
-- Versions are kept in the version store (host.version_store: Redis,
-- content-addressed): operators already run and back up the Redis the
-- hosts use, and every host sees it, so every host can serve and list the
-- same versions without a shared disk or a git remote.
--
--   publish.run(T, scope, who, message) -> {version, published_at} | nil, 422 answer
--       the scope's draft over the live files must pass the checks
--       (studio.check) and the tenant's specs (flow.check_specs); then the
--       version is stored (author, time, message, source "studio") and made
--       current, so every host switches to it (flow.follow), its files are
--       written to this host's disk and the tenant reloaded now on the
--       worker serving it (every worker told to reload); the draft is gone.
--       A version the host still refuses: disk and store put back, 422.
--   publish.rollback(T, id, who) -> id | nil, err
--       the stored version is made current again (a history entry with the
--       author, source "rollback": every host switches back), its files are
--       written back to this host's disk (the tenant's own: its config, reps
--       file and flow folder; a file the version does not have is removed)
--       and the tenant reloaded.
--   publish.history(T, {limit, before}) -> entries with live = (id is current)
--   publish.diff(T, id, against) -> {{path, old, new, lines}} (against: "live" or an id)
local json = require "json"
local time = require "time"
local redis = require "redis"
local host = require "host"
local store = require "host.version_store"
local version = require "flow.version"
local tenants = require "flow.tenants"
local check_specs = require "flow.check_specs"
local files = require "studio.files"
local drafts = require "studio.drafts"
local check = require "studio.check"

local M = {}

local SPECS_OK_FOR = 600

--- The specs of a draft: {passed, failed, output}. Counts from busted's
--- summary line ("5 successes / 1 failure / 0 errors / 0 pending").
function M.specs(T, snapshot)
  local ok, problems, output = check_specs.run(T, snapshot)
  output = output or ""
  local plain = output:gsub("\27%[[%d;]*m", "")
  local passed = tonumber(plain:match("(%d+) success")) or 0
  local failed = (tonumber(plain:match("(%d+) failure")) or 0) + (tonumber(plain:match("(%d+) error")) or 0)
  if not ok and failed == 0 then failed = #(problems or { 1 }) end
  return { ok = ok == true, passed = passed, failed = failed,
           output = output ~= "" and plain or table.concat(problems or {}, "\n") }
end

-- writes the tenant's own files of snapshot (disk path -> text) that differ from live
local function write_changed(T, snapshot, live)
  for disk, text in pairs(snapshot) do
    local rel = files.rel(T, disk)
    if rel and live[disk] ~= text then
      local ok, err = files.write(T, rel, text)
      if not ok then return nil, rel .. ": " .. tostring(err) end
    end
  end
  for disk in pairs(live) do
    local rel = files.rel(T, disk)
    if rel and snapshot[disk] == nil then files.remove(T, rel) end
  end
  return true
end

-- reloads T on the worker that serves it (and every worker after it)
local function go_live(T)
  local ok, problems = tenants.reload_now(T)
  host.request_reload()
  return ok, problems
end

-- marks version id of T as having passed its specs (the reload of the
-- files does not run them again)
local function specs_ok(T, id)
  redis.call("SET", tenants.specs_ok_key(T, id), "1", "EX", SPECS_OK_FOR)
end

-- the files of snapshot on this host's disk, then the tenant reloaded from
-- them; if the host refuses them, the disk as it was and the store's
-- current version back to `back` -> true | nil, problems
local function to_disk(T, snapshot, live, back, who)
  local ok, err = write_changed(T, snapshot, live)
  if ok then
    local loaded, problems = go_live(T)
    if loaded then return true end
    err = problems
  else
    err = { err }
  end
  write_changed(T, live, snapshot)
  if back then store.activate(T, back, { author = who, message = "put back: the host refused the version", source = "rollback" }) end
  go_live(T)
  return nil, err
end

-- Store first, then disk: the version store names the new version before
-- this host's disk holds it, so every host (this one included) switches to
-- it, and the reload of the written files finds it current already (not
-- published again as a disk edit, flow.follow).
function M.run(T, scope, who, message)
  local changes = drafts.get(T, scope)
  if not changes then return nil, { 409, { error = "no draft", message = "there is nothing to publish: edit a file first" } } end
  local snapshot, live = drafts.overlay(T, changes)
  local c = check.run(T, snapshot)
  if not c.ok then
    return nil, { 422, { error = "checks failed", message = "fix the problems the check lists, then publish", check = c } }
  end
  local s = M.specs(T, snapshot)
  if not s.ok then
    return nil, { 422, { error = "specs failed", message = "the tenant's specs fail on this draft", check = c,
                         specs = { passed = s.passed, failed = s.failed, output = s.output } } }
  end
  local before = M.ensure_current(T)             -- what serves now is in the history before it changes
  specs_ok(T, version.of(T, snapshot))
  local id, serr = store.publish(T, version.named(snapshot), { author = who, message = message, source = "studio" })
  if not id then return nil, { 503, { error = "not stored", message = "the version store refused it: " .. tostring(serr) } } end
  local done, problems = to_disk(T, snapshot, live, before, who)
  if not done then
    local errors = {}
    for i, p in ipairs(problems or {}) do errors[i] = check.parse(T, p) end
    return nil, { 422, { error = "checks failed", message = "the host refused the version; the files and the live version are back as they were",
                         check = { ok = false, errors = json.array(errors), warnings = json.array{} } } }
  end
  drafts.discard(T, scope)
  return { version = id, published_at = math.floor(time.now()) }
end

--- The live files as a version in the store (a tenant never published
--- through the studio may have none yet): its current id.
function M.ensure_current(T)
  local cur = store.current(T)
  if cur then return cur end
  local live = files.live(T)
  if not live then return nil end
  return (store.publish(T, version.named(live), { author = "disk", message = "the files on disk", source = "disk" }))
end

function M.rollback(T, id, who)
  if type(id) ~= "string" or not id:match("^%x+$") then return nil, "give the id of a version in the history" end
  local before = M.ensure_current(T)
  local named, err = store.files(T, id)
  if not named then return nil, err or "no such version in the history" end
  local snapshot = version.placed(named)
  local live = files.live(T) or {}
  local done, aerr = store.activate(T, id, { author = who, message = "rollback to " .. id, source = "rollback" })
  if not done then return nil, aerr end
  specs_ok(T, version.of(T, snapshot))           -- (it served before)
  local ok, problems = to_disk(T, snapshot, live, before, who)
  if not ok then return nil, "the host refused that version: " .. tostring(problems and problems[1]) end
  return id
end

function M.history(T, opts)
  local cur = M.ensure_current(T)
  local list, err = store.history(T, opts)
  if not list then return nil, err end
  local out, marked = {}, (opts and opts.before) ~= nil    -- the newest entry of the current id is live
  for i, e in ipairs(list) do
    local live = not marked and e.id == cur
    marked = marked or live
    out[i] = { id = e.id, author = e.author or json.null, time = e.time, message = e.message or json.null,
               source = e.source, live = live }
  end
  return out
end

-- a stored version's files by studio path
local function by_path(T, named)
  local out = {}
  for disk, text in pairs(version.placed(named)) do
    local rel = files.rel(T, disk)
    if rel then out[rel] = text end
  end
  return out
end

function M.diff(T, id, against)
  local a = store.files(T, id)
  if not a then return nil, "no such version in the history" end
  local b
  if against == nil or against == "live" then
    b = {}
    for disk, text in pairs(files.live(T) or {}) do
      local rel = files.rel(T, disk)
      if rel then b[rel] = text end
    end
  else
    local named = store.files(T, against)
    if not named then return nil, "no such version to compare with" end
    b = by_path(T, named)
  end
  a = by_path(T, a)
  local paths, seen = {}, {}
  for p in pairs(a) do paths[#paths + 1] = p; seen[p] = true end
  for p in pairs(b) do if not seen[p] then paths[#paths + 1] = p end end
  table.sort(paths)
  local out = {}
  for _, p in ipairs(paths) do
    if a[p] ~= b[p] then
      -- old: the other side (live), new: this version
      out[#out + 1] = { path = p, old = b[p] or "", new = a[p] or "", lines = json.array(store.lines(b[p] or "", a[p] or "")) }
    end
  end
  return out
end

return M

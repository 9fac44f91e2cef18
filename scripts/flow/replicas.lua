--- flow.replicas: a busy tenant's copies on the other workers.
--
-- A tenant is served by its owner worker (flow.tenants M.owner). A tenant
-- whose settings say `workers = "all"` (or a number n > 1) also gets a copy
-- of its state on the other workers (or on the n - 1 after its owner), so
-- its turns run on whichever worker took the request: one busy tenant can
-- use every core. Each copy costs one more tenant state (about 1 MB, see
-- bench/README.md). Turns of one conversation stay serialised by the
-- conversation's lock (channels.turn), whichever worker runs them.
--
-- The owner stays the one place that decides versions (hot reload,
-- rollback, pins, status, history). Going live is all or nothing:
--   prepare(id, files, version, r) -> r | {ok = false, problems}
--       (owner, after its own state compiled) every copy compiles the same
--       snapshot in a fresh state beside the one serving; if one fails, the
--       others are thrown away and the version does not go live anywhere
--   commit(id, version, settings)   (owner, right after it swapped its own
--       state) every copy swaps to its prepared state; a copy that cannot
--       is dropped (its worker forwards to the owner), so no worker keeps
--       serving an old version. A version without `workers` drops the copies.
--   drop(id)       the tenant is gone: its copies close
--   workers(id) -> the workers holding a copy (owner excluded), or nil
-- All yield (host.call_on); none raises for a copy that fails.
local host = require "host"
local json = require "json"
local log = require "log"

local M = {}

local spread = {}        -- id -> {version, workers = {index, ...}} (owner only)

local function owner_here(owner) return owner == host.worker() end

-- the other workers a tenant with these settings wants a copy on
local function wanted(owner, settings)
  local n, total = settings and settings.workers, host.workers()
  if n == "all" then n = total end
  n = math.min(math.floor(tonumber(n) or 1), total)
  local out = {}
  for k = 1, n - 1 do out[#out + 1] = (owner + k) % total end
  return out
end

local function op(w, args)
  local ok, res = host.call_on(w, "tenant_op", json.encode(args))
  if not ok then return { ok = false, problems = { ("worker %d: %s"):format(w, tostring(res)) } } end
  return json.decode(res)
end

function M.prepare(owner, id, files, version, r)
  if not owner_here(owner) then return r end
  local want = wanted(owner, r.settings)
  local cur = spread[id]
  if want[1] == nil or (cur and cur.version == version) then return r end   -- a rebuild: copies serve it already
  local done = {}
  for _, w in ipairs(want) do
    local a = op(w, { op = "prepare", id = id, files = files, version = version })
    if not a.ok then
      for _, d in ipairs(done) do op(d, { op = "abort", id = id, version = version }) end
      local problems = a.problems or { "failed" }
      problems[1] = ("worker %d: %s"):format(w, tostring(problems[1]))
      return { ok = false, problems = problems }
    end
    done[#done + 1] = w
  end
  return r
end

function M.commit(owner, id, version, settings)
  if not owner_here(owner) then return end
  local want, cur = wanted(owner, settings), spread[id]
  if cur and cur.version == version then return end
  local keep = {}
  for _, w in ipairs(want) do
    local a = op(w, { op = "commit", id = id, version = version })
    if a.ok then keep[#keep + 1] = w
    else
      log.error("a worker's copy of the tenant could not go live; that worker forwards its turns to the owner",
        { tenant = id, version = version, worker = w, problem = tostring(a.problems and a.problems[1]) })
      op(w, { op = "drop", id = id })
    end
  end
  local kept = {}
  for _, w in ipairs(keep) do kept[w] = true end
  for _, w in ipairs(cur and cur.workers or {}) do
    if not kept[w] then op(w, { op = "drop", id = id }) end   -- fewer copies than before
  end
  spread[id] = keep[1] and { version = version, workers = keep } or nil
end

function M.drop(owner, id)
  if not owner_here(owner) then return end
  local cur = spread[id]
  spread[id] = nil
  for _, w in ipairs(cur and cur.workers or {}) do op(w, { op = "drop", id = id }) end
end

function M.workers(id)
  local cur = spread[id]
  return cur and cur.workers or nil
end

--- What each copy serves: {{worker, version, tasks, memory_kb, calls, cpu_ms}, ...} (owner only).
function M.status(id)
  local out = {}
  for _, w in ipairs(M.workers(id) or {}) do
    local a = op(w, { op = "copy", id = id })
    out[#out + 1] = { worker = w, version = a.version or json.null, tasks = a.tasks, memory_kb = a.memory_kb,
                      calls = a.calls, cpu_ms = a.cpu_ms }
  end
  return out
end

return M

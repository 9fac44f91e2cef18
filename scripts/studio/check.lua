--- studio.check: `flowhost check` on a draft, as the studio shows it.
--
--   check.run(T, files) -> {ok, errors = {{file, line, message}}, warnings = {...}}
--       files: a whole version's snapshot (studio.drafts.overlay). The
--       tenant is loaded from exactly those files in a fresh Lua state of
--       its own (as a new version is before it may serve: flow.tenant.load,
--       the checks of `flowhost check`; one state per tenant serves up to
--       50 checks, so the runtime is not loaded again for each).
--       file is the studio path (studio.files) when the problem is in a
--       file the studio edits, else the path on disk; line is a number or
--       null when the problem names no place.
--   check.parse(T, "file:line: message") -> {file, line, message}
--
-- The same files give the same answer: the last 32 answers are kept per
-- worker by a hash of the files, so an editor that sends its text again
-- (or goes back to an earlier one) is answered at once.
local tstate = require "tstate"
local json = require "json"
local crypto = require "crypto"
local files = require "studio.files"

local M = {}

local CHUNK = [[
require "host.tenant_guard"
local json = require "json"
local tenant = require "flow.tenant"
local a = json.decode(...)
tenant.only = a.id
local t, problems = tenant.load(a.id, { files = a.files, version = "draft" })
if not t then return json.encode{ ok = false, problems = problems or {} } end
return json.encode{ ok = true, warnings = t.warnings or {} }
]]

local KEEP = 32
local memo, order = {}, {}

function M.parse(t, p)
  p = tostring(p)
  local file, line, msg = p:match("^(.-%.%a+):(%d+):%s*(.*)$")
  if not file then return { file = json.null, line = json.null, message = p } end
  return { file = files.rel(t, file) or file, line = tonumber(line), message = msg }
end

local function digest(t, snapshot)
  local names = {}
  for p in pairs(snapshot) do names[#names + 1] = p end
  table.sort(names)
  local parts = { t }
  for _, p in ipairs(names) do parts[#parts + 1] = p; parts[#parts + 1] = snapshot[p] end
  return crypto.hex(crypto.sha256(table.concat(parts, "\0")))
end

-- a Lua state per tenant for its checks, kept for REUSE checks (its
-- runtime modules stay loaded: a check after the first is the tenant's
-- load alone), closed after a failed run or when it is near its cap
local REUSE = 50
local states = {}                 -- tenant -> {ts, uses}

local function eval(t, payload)
  local s = states[t]
  if not s then
    s = { ts = tstate.new{ name = t .. "~check", memory_mb = 64 }, uses = 0 }
    states[t] = s
  end
  s.uses = s.uses + 1
  local ok, res = s.ts:eval(CHUNK, payload, 2)
  if not ok or s.uses >= REUSE or s.ts:pressure() then
    s.ts:close()
    states[t] = nil
  end
  return ok, res
end

function M.run(t, snapshot)
  local d = digest(t, snapshot)
  if memo[d] then return memo[d] end
  local ok, res = eval(t, json.encode{ id = t, files = snapshot })
  local r = ok and json.decode(res) or { ok = false, problems = { tostring(res) } }
  local out = { ok = r.ok == true, errors = {}, warnings = {} }
  for _, p in ipairs(r.problems or {}) do out.errors[#out.errors + 1] = M.parse(t, p) end
  for _, w in ipairs(r.warnings or {}) do out.warnings[#out.warnings + 1] = M.parse(t, w) end
  out.errors, out.warnings = json.array(out.errors), json.array(out.warnings)
  memo[d] = out
  order[#order + 1] = d
  if #order > KEEP then memo[table.remove(order, 1)] = nil end
  return out
end

return M

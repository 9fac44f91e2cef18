--- flow.version: what a tenant's version is made of, and its id. The one
--- place the id is computed: `flowhost check`, `flowhost chat`, specs and
--- the server all load a tenant from version.snapshot, so each prints and
--- serves the same id for the same files.
--
--   version.snapshot(id) -> files, version | nil    (nil: the tenant has no config)
--       files: path -> text of its config, the platform defaults, every
--       .lua file of its flow folder (not spec/) and its translations.lock
--   version.of(id, files) -> a 12-hex id of the tenant id, its files (by
--       their place under the tenants / flows folders, so the same files
--       give the same id wherever the folders are) and the runtime library
--   version.named(files) -> the same files keyed by their place: "tenants/<t>.lua",
--       "tenants/_platform.lua", "tenants/<t>.reps.lua", "flows/<t>/..." (what
--       the id hashes, and how host.version_store keeps a version)
--   version.placed(named) -> named files at their paths in this host's folders
--   version.id(id, named) -> version.of for files keyed by their place
--   version.rehash_runtime()   hashes the runtime library again (after a
--                              change to scripts/); done lazily on first use
local crypto = require "crypto"
local host = require "host"

local M = {}

local runtime_hash

local function is_dir(path) return host.listdir(path) ~= nil end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- every .lua file (and markdown: a knowledge base, flow.knowledge) under
-- dir (recursively), into out[path] = text
local function tree(dir, out, skip)
  for _, name in ipairs(host.listdir(dir) or {}) do
    local path = dir .. "/" .. name
    if not (skip and skip[name]) then
      if name:match("%.lua$") or name:match("%.md$") then out[path] = read(path)
      elseif is_dir(path) then tree(path, out, skip) end
    end
  end
  return out
end
M.tree = tree

-- a hash of path -> text, each path named as rename(path) gives it
local function hash(files, rename)
  local named = {}
  for p, text in pairs(files) do named[#named + 1] = { (rename and rename(p) or p), text } end
  table.sort(named, function(a, b) return a[1] < b[1] end)
  local parts = {}
  for i, f in ipairs(named) do parts[i] = f[1] .. "\0" .. f[2] end
  return crypto.hex(crypto.sha256(table.concat(parts, "\0")))
end

local function under(dir, as)
  local prefix = dir .. "/"
  return function(p) return p:sub(1, #prefix) == prefix and (as .. p:sub(#prefix)) or p end
end

function M.rehash_runtime()
  runtime_hash = hash(tree(host.scripts_dir(), {}), under(host.scripts_dir(), "scripts"))
end

-- path -> its place ("tenants/...", "flows/...") and back, in this host's folders
local function renamers()
  local tdir, fdir = require("flow.tenant").dirs()
  local in_tenants, in_flows = under(tdir, "tenants"), under(fdir, "flows")
  local from_tenants, from_flows = under("tenants", tdir), under("flows", fdir)
  return function(p) return in_flows(in_tenants(p)) end,
         function(p) return from_flows(from_tenants(p)) end
end

function M.named(files)
  local name = renamers()
  local out = {}
  for p, text in pairs(files) do out[name(p)] = text end
  return out
end

function M.placed(named)
  local _, place = renamers()
  local out = {}
  for p, text in pairs(named) do out[place(p)] = text end
  return out
end

function M.id(id, named)
  if not runtime_hash then M.rehash_runtime() end
  local fh = hash(named)
  return crypto.hex(crypto.sha256(table.concat({ "tenant", id, "runtime", runtime_hash, "files", fh }, "\0"))):sub(1, 12)
end

function M.of(id, files)
  return M.id(id, M.named(files))
end

function M.snapshot(id)
  local tenant = require "flow.tenant"
  local tdir, fdir = tenant.dirs()
  local cfg = tdir .. "/" .. id .. ".lua"
  local text = read(cfg)
  if not text then return nil end
  local dir = fdir .. "/" .. id
  local files = tree(dir, {}, { spec = true })
  files[cfg] = text
  local platform = read(tenant.platform_file())
  if platform then files[tenant.platform_file()] = platform end
  local reps_file = tdir .. "/" .. id .. ".reps.lua"            -- flow.rep_registry
  local reps = read(reps_file)
  if reps then files[reps_file] = reps end
  local lock = read(dir .. "/" .. require("flow.check_translations").LOCK)
  if lock then files[dir .. "/" .. require("flow.check_translations").LOCK] = lock end
  return files, M.of(id, files)
end

return M

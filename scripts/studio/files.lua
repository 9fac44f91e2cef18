--- studio.files: the files of a tenant the studio edits, and their names.
--
-- A studio path names one file of tenant T:
--   "config/T.lua", "config/T.reps.lua"   in the tenants folder (config/tenants/)
--   anything else                          under the tenant's flow folder (flows/T/):
--                                          "messages.lua", "knowledge/hours.md", "reps/anna.lua"
-- Only .lua and .md files, segments of letters, digits, '_' and '-' (no
-- '..', no hidden file, at most three deep); the spec folder and
-- translations.lock are not the studio's (specs run, `flowhost check
-- --translated` writes the lock). A rep (session.rep = "T.r") edits
-- reps/r.lua only: their tone and messages.
--
--   files.abs(T, path) -> the file's path on disk (as flow.version names it) | nil, why
--   files.list(T, rep?) -> {{path, kind}} sorted      (rep: what the rep may edit)
--   files.may_edit(T, rep, path) -> bool
--   files.kind(path) -> "messages"|"tone"|"business"|"flow"|"knowledge"|"config"|"other"
--   files.read(T, path) -> text | nil
--   files.write(T, path, text) -> true | nil, err      (atomic: a temporary file renamed)
--   files.live(T) -> the live snapshot {disk path -> text} (flow.version.snapshot)
--   files.rel(T, disk path) -> studio path | nil       (the inverse of abs)
local tenant = require "flow.tenant"
local host = require "host"

local M = {}

local SEG = "^[%w_%-]+$"

function M.abs(t, path)
  if type(path) ~= "string" or #path > 200 then return nil, "a path is a short string" end
  local tdir, fdir = tenant.dirs()
  if path == "config/" .. t .. ".lua" or path == "config/" .. t .. ".reps.lua" then
    return tdir .. "/" .. path:sub(8)
  end
  local segs = {}
  for seg in (path .. "/"):gmatch("([^/]*)/") do segs[#segs + 1] = seg end
  if #segs > 3 then return nil, "at most three folders deep" end
  for i, seg in ipairs(segs) do
    local name = i == #segs and seg:match("^(.+)%.lua$") or i == #segs and seg:match("^(.+)%.md$") or seg
    if i == #segs and name == seg then return nil, "only .lua and .md files" end
    if not name:match(SEG) then return nil, "names hold letters, digits, _ and - only" end
  end
  if segs[1] == "spec" or segs[1] == "config" then return nil, "not a file the studio edits" end
  return fdir .. "/" .. t .. "/" .. path
end

function M.rel(t, disk)
  local tdir, fdir = tenant.dirs()
  local fp = fdir .. "/" .. t .. "/"
  if disk:sub(1, #fp) == fp then
    local rel = disk:sub(#fp + 1)
    return M.abs(t, rel) and rel or nil
  end
  if disk == tdir .. "/" .. t .. ".lua" or disk == tdir .. "/" .. t .. ".reps.lua" then
    return "config/" .. disk:sub(#tdir + 2)
  end
end

function M.kind(path)
  if path:match("^config/") then return "config" end
  if path == "messages.lua" or path:match("^reps/") then return "messages" end
  if path == "tone.lua" then return "tone" end
  if path == "business.lua" then return "business" end
  if path:match("^knowledge/") then return "knowledge" end
  if path:match("%.lua$") then return "flow" end
  return "other"
end

function M.may_edit(t, rep, path)
  if not M.abs(t, path) then return false end
  if rep then return path == "reps/" .. rep:match("%.(.+)$") .. ".lua" end
  return true
end

function M.read(t, path)
  local p = M.abs(t, path)
  if not p then return nil end
  local f = io.open(p, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write(t, path, text)
  local p, why = M.abs(t, path)
  if not p then return nil, why end
  local dir = p:match("^(.*)/[^/]+$")
  if dir and not host.listdir(dir) then os.execute("mkdir -p '" .. dir:gsub("'", "") .. "'") end
  local tmp = p .. ".studio-tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, tostring(err) end
  f:write(text)
  f:close()
  local ok, rerr = os.rename(tmp, p)
  if not ok then os.remove(tmp); return nil, tostring(rerr) end
  return true
end

--- Deletes a file the studio may edit (a rollback to a version without it).
function M.remove(t, path)
  local p = M.abs(t, path)
  if p then os.remove(p) end
end

function M.live(t)
  return (require("flow.version").snapshot(t))
end

function M.list(t, rep)
  local out = {}
  for disk in pairs(M.live(t) or {}) do
    local rel = M.rel(t, disk)
    if rel and M.may_edit(t, rep, rel) then out[#out + 1] = { path = rel, kind = M.kind(rel) } end
  end
  if rep and not out[1] then          -- a rep without a file yet may start one
    local rel = "reps/" .. rep:match("%.(.+)$") .. ".lua"
    out[1] = { path = rel, kind = M.kind(rel), new = true }
  end
  table.sort(out, function(a, b) return a.path < b.path end)
  return out
end

return M

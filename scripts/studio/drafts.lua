--- studio.drafts: a tenant's draft (files being edited, not yet live) in
--- Redis, one per scope: the tenant's own ("tenant") and each rep's (their
--- rep id; a rep edits only reps/<rep>.lua, studio.files).
--
--   drafts.get(T, scope) -> {path -> text}, {author, updated} | nil (no draft)
--   drafts.put(T, scope, path, text, author) -> true | nil, err
--   drafts.discard(T, scope)
--   drafts.overlay(T, changes) -> files, live
--       the live snapshot (flow.version) with changes {path -> text}
--       written over it: what the draft would be as a version
--   drafts.diff(T, changes, live?) -> {{path, old, new, lines}} of the paths that differ
--
-- Keys: fh:studio:{T}:draft:<scope> (hash path -> text) and
-- fh:studio:{T}:draft:<scope>:meta (author, updated), 30 days after the
-- last edit (docs/redis-keys.md).
local redis = require "redis"
local time = require "time"
local files = require "studio.files"
local lines = require("host.version_store").lines

local M = {}

local KEEP = 30 * 24 * 3600

local function key(t, scope) return ("fh:studio:{%s}:draft:%s"):format(t, scope) end

function M.get(t, scope)
  local r = redis.pipeline{ { "HGETALL", key(t, scope) }, { "HGETALL", key(t, scope) .. ":meta" } }
  if type(r) ~= "table" or type(r[1]) ~= "table" or #r[1] == 0 then return nil end
  local out, meta = {}, {}
  for i = 1, #r[1] - 1, 2 do out[r[1][i]] = r[1][i + 1] end
  for i = 1, #(r[2] or {}) - 1, 2 do meta[r[2][i]] = r[2][i + 1] end
  meta.updated = tonumber(meta.updated)
  return out, meta
end

function M.put(t, scope, path, text, author)
  local k = key(t, scope)
  local r, err = redis.pipeline{
    { "HSET", k, path, text },
    { "HSET", k .. ":meta", "author", author or "?", "updated", math.floor(time.now()) },
    { "EXPIRE", k, KEEP }, { "EXPIRE", k .. ":meta", KEEP },
  }
  if not r then return nil, err end
  if type(r[1]) == "table" and r[1].err then return nil, r[1].err end
  return true
end

function M.discard(t, scope)
  redis.call("DEL", key(t, scope), key(t, scope) .. ":meta")
end

function M.overlay(t, changes)
  local live = files.live(t) or {}
  local out = {}
  for p, text in pairs(live) do out[p] = text end
  for path, text in pairs(changes or {}) do
    local disk = files.abs(t, path)
    if disk then out[disk] = text end
  end
  return out, live
end

function M.diff(t, changes, live)
  live = live or files.live(t) or {}
  local paths = {}
  for path in pairs(changes or {}) do paths[#paths + 1] = path end
  table.sort(paths)
  local out = {}
  for _, path in ipairs(paths) do
    local old = live[files.abs(t, path) or ""] or ""
    local new = changes[path]
    if old ~= new then
      out[#out + 1] = { path = path, old = old, new = new, lines = lines(old, new) }
    end
  end
  return out
end

return M

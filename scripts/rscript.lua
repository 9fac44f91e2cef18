--- rscript: Redis Lua scripts run by digest (EVALSHA).
--
--   local s = rscript.new(source)
--   s:run(keys, args) -> value | nil, err      (yields)
--   rscript.load_all() -> true | nil, err      (yields) SCRIPT LOAD of every
--                      script made so far, in one pipeline; the host calls
--                      it on each worker at start
--   rscript.digests() -> list of the SHA1 digests of those scripts
--
-- A Redis that restarted (and forgot its scripts) answers NOSCRIPT; the
-- script is then sent whole once with EVAL, which caches it again.
local redis = require "redis"
local crypto = require "crypto"

local M = {}
local Script = {}
Script.__index = Script

local made = {}  -- every script of this state, for load_all

function M.new(source)
  assert(type(source) == "string", "rscript.new(source)")
  local s = setmetatable({ source = source, sha = crypto.hex(crypto.sha1(source)) }, Script)
  made[#made + 1] = s
  return s
end

function M.digests()
  local out = {}
  for i, s in ipairs(made) do out[i] = s.sha end
  return out
end

function M.load_all()
  local cmds = {}
  for i, s in ipairs(made) do cmds[i] = { "SCRIPT", "LOAD", s.source } end
  if #cmds == 0 then return true end
  local res, err = redis.pipeline(cmds)
  if not res then return nil, err end
  for i, r in ipairs(res) do
    if type(r) == "table" and r.err then return nil, r.err end
    if r ~= made[i].sha then return nil, "SCRIPT LOAD gave another digest" end
  end
  return true
end

local unpack = unpack or table.unpack

local function argv(cmd, first, keys, args)
  local a = { cmd, first, #keys }
  for _, k in ipairs(keys) do a[#a + 1] = k end
  for _, v in ipairs(args or {}) do a[#a + 1] = v end
  return a
end

function Script:run(keys, args)
  local v, err = redis.call(unpack(argv("EVALSHA", self.sha, keys, args)))
  if v == nil and err and err:find("NOSCRIPT", 1, true) then
    v, err = redis.call(unpack(argv("EVAL", self.source, keys, args)))
  end
  return v, err
end

return M

--- rscript: Redis Lua scripts run by digest (EVALSHA), loaded on demand.
--
--   local s = rscript.new(source)
--   s:run(keys, args) -> value | nil, err      (yields)
--
-- A Redis that restarted (and forgot its scripts) answers NOSCRIPT; the
-- script is then sent whole once with EVAL, which caches it again.
local redis = require "redis"
local crypto = require "crypto"

local M = {}
local Script = {}
Script.__index = Script

function M.new(source)
  assert(type(source) == "string", "rscript.new(source)")
  return setmetatable({ source = source, sha = crypto.hex(crypto.sha1(source)) }, Script)
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

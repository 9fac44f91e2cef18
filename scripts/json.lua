--- json: JSON encode/decode (lua-cjson).
--
--   json.encode(value) -> string          raises on values JSON cannot hold
--   json.decode(text)  -> value | nil, err   err = "bad json: <where>"
--   json.null           the JSON null (same value as redis.null)
--   json.array(t)       t, marked so that an empty t is written as [] (a
--                       plain empty table is written as {})
local cjson = require("cjson").new()
local safe = require("cjson.safe").new()

cjson.encode_sparse_array(true)
safe.decode_max_depth(100)

local M = { null = cjson.null }

-- cjson 2.1 has no empty-array marker: an empty list becomes this string,
-- and encode turns the quoted string back into []
local EMPTY = "\1fh-empty-array\1"
local EMPTY_JSON = cjson.encode(EMPTY)

function M.array(t)
  if type(t) == "table" and next(t) == nil then return EMPTY end
  return t
end

function M.encode(value)
  local s = cjson.encode(value)
  if s:find(EMPTY_JSON, 1, true) then
    s = s:gsub(EMPTY_JSON:gsub("%p", "%%%0"), "[]")
  end
  return s
end

function M.decode(text)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  local v, err = safe.decode(text)
  if v == nil and err then return nil, "bad json: " .. err end
  return v
end

return M

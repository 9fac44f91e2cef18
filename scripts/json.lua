--- json: JSON encode/decode (lua-cjson).
--
--   json.encode(value) -> string          raises on values JSON cannot hold
--   json.decode(text)  -> value | nil, err   err = "bad json: <where>"
--   json.null           the JSON null (same value as redis.null)
local cjson = require("cjson").new()
local safe = require("cjson.safe").new()

cjson.encode_sparse_array(true)
safe.decode_max_depth(100)

local M = { null = cjson.null }

function M.encode(value)
  return cjson.encode(value)
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

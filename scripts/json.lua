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
-- looked for without its opening quote: a backslash is rare in JSON text,
-- a quote is everywhere, and each candidate costs a compare
local EMPTY_PROBE = EMPTY_JSON:sub(2)
local marked = false  -- no encode needs the search before M.array made one

function M.array(t)
  if type(t) == "table" and next(t) == nil then
    marked = true
    return EMPTY
  end
  return t
end

function M.encode(value)
  local s = cjson.encode(value)
  if marked and s:find(EMPTY_PROBE, 1, true) then
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

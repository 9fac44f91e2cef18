--- json: JSON encode/decode (lua-cjson).
--
--   json.encode(value) -> string          raises on values JSON cannot hold
--                                         (functions, ...); NaN and inf are null
--   json.decode(text)  -> value | nil, err   err = "bad json: <where>"
--   json.null           the JSON null (same value as redis.null)
--   json.array(t)       t, marked so that an empty t is written as [] (a
--                       plain empty table is written as {})
local cjson = require("cjson").new()
local safe = require("cjson.safe").new()

cjson.encode_sparse_array(true)
-- a number JSON cannot hold (1e999 decodes to inf) is written as null, not
-- an error: decoded data is re-encoded everywhere
cjson.encode_invalid_numbers("null")
safe.decode_max_depth(100)

local M = { null = cjson.null }

-- cjson 2.1 has no empty-array marker: an empty list becomes this string,
-- and encode turns the quoted string back into []. Random per state, so
-- that no data a customer sends can be (or guess) the marker.
local EMPTY = "\1fh-empty-array:" .. require("crypto").random_hex(8) .. "\1"
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

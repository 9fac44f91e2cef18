--- Fuzz target: scripts/json.lua (lua-cjson underneath) on any text.
---
--- Findings (the target raises):
---   * json.decode raises, or returns neither a value nor nil, "bad json: ..."
---   * a decoded value json.encode refuses: every webhook re-encodes parts of
---     what it decoded (channels.inbound, the receipts), so that is a 500
---   * encode then decode does not give the value back (numbers to the 14
---     digits cjson writes; inf and NaN may come back null), alone or beside
---     an empty array made with json.array (the marker that encodes as []
---     must never touch data)
local json = require "json"

local function finding(fmt, ...) error(("json: " .. fmt):format(...), 0) end

local function close(a, b)
  if a == b then return true end
  if a ~= a and b ~= b then return true end                -- NaN
  local scale = math.max(math.abs(a), math.abs(b))
  return math.abs(a - b) <= scale * 1e-13
end

-- a and b hold the same JSON value; where = path for the message
local function same(a, b, where)
  if type(a) == "number" and (a ~= a or a == math.huge or a == -math.huge) and b == json.null then
    return true                                            -- JSON has no inf/NaN: null is fair
  end
  if type(a) ~= type(b) then return false, where .. ": " .. type(a) .. " became " .. type(b) end
  if type(a) == "number" then
    if close(a, b) then return true end
    return false, ("%s: %.17g became %.17g"):format(where, a, b)
  end
  if type(a) ~= "table" then
    if a == b then return true end
    return false, ("%s: %q became %q"):format(where, tostring(a), tostring(b))
  end
  for k, v in pairs(a) do
    local ok, why = same(v, b[k], where .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, where .. "." .. tostring(k) .. ": appeared" end
  end
  return true
end

local function roundtrip(value, what)
  local ok, text = pcall(json.encode, value)
  if not ok then finding("json.encode refused a value json.decode returned (%s): %s", what, tostring(text)) end
  local back, err = json.decode(text)
  if back == nil and err then finding("json.decode refused what json.encode wrote (%s): %s\n%s", what, err, text:sub(1, 300)) end
  return back, text
end

return function(input)
  local ok, v, err = pcall(json.decode, input)
  if not ok then finding("json.decode raised: %s", tostring(v)) end
  if v == nil then
    if type(err) ~= "string" or not err:find("^bad json: ") then
      finding("json.decode gave nil without 'bad json: ...' (got %s)", tostring(err))
    end
    return
  end
  local back, text = roundtrip(v, "alone")
  local same_value, why = same(v, back, "$")
  if not same_value then finding("encode then decode changed the value at %s\n%s", why, text:sub(1, 300)) end
  -- beside a marked empty array: the marker must not touch the data
  local wrapped = roundtrip({ data = v, empty = json.array({}) }, "beside json.array({})")
  if type(wrapped) ~= "table" or type(wrapped.empty) ~= "table" or next(wrapped.empty) ~= nil then
    finding("json.array({}) did not come back as an empty list beside the data")
  end
  same_value, why = same(v, wrapped.data, "$")
  if not same_value then finding("encode beside json.array({}) changed the data at %s", why) end
end

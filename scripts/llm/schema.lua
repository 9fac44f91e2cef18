--- llm.schema: the JSON Schema subset that extraction answers are checked
--- against (and that the providers are sent).
--
--   schema.check(s)            raises when s is not a schema of the subset
--   schema.validate(s, value)  -> true | nil, "<path>: <problem>"
--       value is decoded JSON (json.null for null). Paths are JSONPath with
--       0-based indices: "$", "$.phone", "$.items[0].name", '$["first name"]'.
--   schema.wire(s)             -> copy fit to send: empty `required` lists
--       dropped (lua-cjson would encode them as {}, which providers reject)
--   schema.strict_ok(s)        -> true when OpenAI strict mode accepts the
--       shape: every object lists all its properties in `required` and sets
--       additionalProperties = false
--
-- Keywords checked: type (one or a list of object, array, string, number,
-- integer, boolean, null), properties, required, additionalProperties
-- (false or a schema), enum, const, items, minItems, maxItems, minimum,
-- maximum, exclusiveMinimum, exclusiveMaximum (numbers), minLength,
-- maxLength (in UTF-8 characters). Annotations (title, description,
-- default, examples, $schema) and `pattern`/`format` are sent to the
-- provider but not checked here (a Lua pattern is not a JSON regex).
-- Anything else (anyOf, oneOf, allOf, not, $ref, ...) raises.
-- Pure functions; never yield; callable anywhere.
local json = require "json"

local M = {}

local null = json.null
local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local floor, huge = math.floor, math.huge

local TYPES = { object = true, array = true, string = true, number = true,
                integer = true, boolean = true, null = true }

local KNOWN = {
  type = true, properties = true, required = true, additionalProperties = true,
  enum = true, const = true, items = true, minItems = true, maxItems = true,
  minimum = true, maximum = true, exclusiveMinimum = true, exclusiveMaximum = true,
  minLength = true, maxLength = true,
  -- sent, not checked
  title = true, description = true, default = true, examples = true,
  ["$schema"] = true, pattern = true, format = true,
}

local NUMBER_KEYS = { "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum",
                      "exclusiveMaximum", "minLength", "maxLength" }

-- a decoded JSON array: keys exactly 1..n (the empty table counts)
local function is_array(v)
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  for i = 1, n do
    if v[i] == nil then return false end
  end
  return true
end

local function is_list(v)
  return type(v) == "table" and is_array(v)
end

local function kind(v)
  local t = type(v)
  if v == null then return "null" end
  if t == "table" then return (next(v) ~= nil and is_array(v)) and "array" or "object" end
  if t == "number" then return "number" end
  if t == "string" or t == "boolean" then return t end
  return t -- function, userdata...: never matches
end

local function matches(want, v)
  local t = type(v)
  if want == "null" then return v == null end
  if want == "string" or want == "boolean" then return t == want end
  if want == "number" then return t == "number" and v == v and v ~= huge and v ~= -huge end
  if want == "integer" then return t == "number" and v == floor(v) and v ~= huge and v ~= -huge end
  if want == "object" then return t == "table" and (next(v) == nil or not is_array(v)) end
  if want == "array" then return t == "table" and is_array(v) end
  return false
end

local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function utf8_len(s)
  local _, continuation = s:gsub("[\128-\191]", "")
  return #s - continuation
end

local function child(path, key)
  if type(key) == "number" then return ("%s[%d]"):format(path, key) end
  if key:match("^[%a_][%w_]*$") then return path .. "." .. key end
  return ("%s[%q]"):format(path, key)
end

--- schema.check(s): raises "llm.schema: <path>: <problem>" when s is not
--- a schema of the subset above.
local function check(s, path)
  if type(s) ~= "table" then error(("llm.schema: %s: a schema must be a table"):format(path), 0) end
  for k in pairs(s) do
    if not KNOWN[k] then
      error(("llm.schema: %s: keyword %s is not supported"):format(path, tostring(k)), 0)
    end
  end
  local ty = s.type
  if ty ~= nil then
    local list = type(ty) == "table" and ty or { ty }
    if not is_list(list) or #list == 0 then error(("llm.schema: %s: type must be a name or a list of names"):format(path), 0) end
    for _, name in ipairs(list) do
      if not TYPES[name] then error(("llm.schema: %s: unknown type %s"):format(path, tostring(name)), 0) end
    end
  end
  if s.properties ~= nil then
    if type(s.properties) ~= "table" then error(("llm.schema: %s: properties must be a table"):format(path), 0) end
    for name, sub in pairs(s.properties) do
      if type(name) ~= "string" then error(("llm.schema: %s: property names must be strings"):format(path), 0) end
      check(sub, child(path, name))
    end
  end
  if s.required ~= nil then
    if not is_list(s.required) then error(("llm.schema: %s: required must be a list of names"):format(path), 0) end
    for _, name in ipairs(s.required) do
      if type(name) ~= "string" then error(("llm.schema: %s: required must be a list of names"):format(path), 0) end
    end
  end
  local ap = s.additionalProperties
  if ap ~= nil and ap ~= true and ap ~= false then check(ap, path .. ".additionalProperties") end
  if s.items ~= nil then check(s.items, path .. "[*]") end
  if s.enum ~= nil and (not is_list(s.enum) or #s.enum == 0) then
    error(("llm.schema: %s: enum must be a non-empty list"):format(path), 0)
  end
  for _, k in ipairs(NUMBER_KEYS) do
    if s[k] ~= nil and type(s[k]) ~= "number" then
      error(("llm.schema: %s: %s must be a number"):format(path, k), 0)
    end
  end
end

function M.check(s)
  check(s, "$")
end

local function fail(path, fmt, ...)
  return nil, path .. ": " .. fmt:format(...)
end

local function validate(s, v, path)
  local ty = s.type
  if ty ~= nil then
    local list = type(ty) == "table" and ty or { ty }
    local ok = false
    for _, name in ipairs(list) do
      if matches(name, v) then ok = true break end
    end
    if not ok then return fail(path, "expected %s, got %s", table.concat(list, " or "), kind(v)) end
  end
  if s.const ~= nil and not same(s.const, v) then return fail(path, "must be %s", json.encode(s.const)) end
  if s.enum ~= nil then
    local ok = false
    for _, allowed in ipairs(s.enum) do
      if same(allowed, v) then ok = true break end
    end
    if not ok then return fail(path, "must be one of %s", json.encode(s.enum)) end
  end

  local t = type(v)
  if t == "string" then
    local n = (s.minLength or s.maxLength) and utf8_len(v)
    if s.minLength and n < s.minLength then return fail(path, "shorter than %d characters", s.minLength) end
    if s.maxLength and n > s.maxLength then return fail(path, "longer than %d characters", s.maxLength) end
  elseif t == "number" then
    if s.minimum and v < s.minimum then return fail(path, "below minimum %s", s.minimum) end
    if s.maximum and v > s.maximum then return fail(path, "above maximum %s", s.maximum) end
    if s.exclusiveMinimum and v <= s.exclusiveMinimum then return fail(path, "not above %s", s.exclusiveMinimum) end
    if s.exclusiveMaximum and v >= s.exclusiveMaximum then return fail(path, "not below %s", s.exclusiveMaximum) end
  elseif t == "table" then
    -- an empty table is both an empty array and an empty object
    local empty = next(v) == nil
    local arr = empty or is_array(v)
    if arr then
      if s.minItems and #v < s.minItems then return fail(path, "fewer than %d items", s.minItems) end
      if s.maxItems and #v > s.maxItems then return fail(path, "more than %d items", s.maxItems) end
      if s.items then
        for i, item in ipairs(v) do
          local ok, err = validate(s.items, item, child(path, i - 1))
          if not ok then return nil, err end
        end
      end
    end
    if empty or not arr then
      local props = s.properties or {}
      for _, name in ipairs(s.required or {}) do
        if v[name] == nil then return fail(child(path, name), "is required") end
      end
      local names = {}
      for name in pairs(v) do names[#names + 1] = tostring(name) end
      table.sort(names) -- the first problem reported is the same every time
      for _, name in ipairs(names) do
        local sub = props[name]
        if sub then
          local ok, err = validate(sub, v[name], child(path, name))
          if not ok then return nil, err end
        elseif s.additionalProperties == false then
          return fail(child(path, name), "is not allowed")
        elseif type(s.additionalProperties) == "table" then
          local ok, err = validate(s.additionalProperties, v[name], child(path, name))
          if not ok then return nil, err end
        end
      end
    end
  end
  return true
end

--- schema.validate(s, value) -> true | nil, "<path>: <problem>"
--- Raises when s is not a schema of the subset.
function M.validate(s, value)
  check(s, "$")
  return validate(s, value, "$")
end

local function wire(s)
  if type(s) ~= "table" then return s end
  local out = {}
  for k, v in pairs(s) do
    if k == "required" and type(v) == "table" and next(v) == nil then
      -- dropped: the same meaning, and {} would reach the provider as an object
    elseif k == "properties" then
      local props = {}
      for name, sub in pairs(v) do props[name] = wire(sub) end
      out[k] = props
    elseif k == "items" or k == "additionalProperties" then
      out[k] = wire(v)
    else
      out[k] = v
    end
  end
  return out
end

function M.wire(s)
  return wire(s)
end

local function strict_ok(s)
  if type(s) ~= "table" then return true end
  local props = s.properties
  local is_object = s.type == "object" or props ~= nil
  if type(s.type) == "table" then
    for _, name in ipairs(s.type) do
      if name == "object" then is_object = true end
    end
  end
  if is_object then
    if s.additionalProperties ~= false then return false end
    local listed = {}
    for _, name in ipairs(s.required or {}) do listed[name] = true end
    for name, sub in pairs(props or {}) do
      if not listed[name] or not strict_ok(sub) then return false end
    end
  end
  return strict_ok(s.items)
end

function M.strict_ok(s)
  return strict_ok(s)
end

return M

--- channels.shape: the one check every channel parser runs on a decoded
--- vendor payload before it reads a field. A signed payload with a missing
--- field or a field of the wrong type is refused with a reason (kept in the
--- dead-letter stream, counted in /metrics) instead of raising half-way
--- through the parser, which answered 500 and made the vendor retry for ever.
--
--   shape.check(value, spec, where?) -> true | nil, word, detail
--       word, stable (a metric label): "missing field" | "wrong type" |
--            "empty list" | "too long" | "bad value"
--       detail: where and what, e.g. "message.chat.id: missing" or
--            "entry[1].changes: expected array, got string"
--       where: the name of value in detail (default: none)
--       An optional field that is JSON null is removed from value, so a
--       parser tests any field it checked with a plain `if x then`.
--   shape.ok(value, spec) -> boolean
--   shape.text(v) -> an id that passed shape.id() as a string (numbers
--       without exponent or decimals)
--   shape.fail(word, detail) -> nil, word, detail   for the checks a spec
--       cannot say (one of two fields present)
--
-- Specs are plain data, built once when a parser loads:
--   shape.string(max?)      a string (of at most max bytes)
--   shape.number()          a finite number
--   shape.integer()         a whole number a double holds exactly
--   shape.id(max?)          how vendors write ids: an integer, or a string of
--                           1 to max (default 200) printable ASCII bytes
--                           without { or }, so it is safe inside a Redis key
--                           and keeps the key's one hash tag
--   shape.any()             any present value
--   shape.object(fields)    a JSON object whose listed fields match their
--                           specs (other fields are not looked at)
--   shape.list(item, min?)  a JSON array of at least min (default 0) items,
--                           each matching item
--   shape.either(a, b)      a value matching spec a or spec b (the reason
--                           given is a's)
--   shape.opt(spec)         spec, or absent (missing or JSON null)
-- No I/O; callable anywhere.
local json = require "json"

local M = {}

local null = json.null
local floor, huge = math.floor, math.huge

local function absent(v) return v == nil or v == null end

local function is_list(t)
  local n = #t
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then return false end
  end
  return true
end

-- what a value is, in JSON's words
local function kind(v)
  if v == null then return "null" end
  local t = type(v)
  if t == "table" then
    if next(v) == nil then return "empty object or array" end
    return is_list(v) and "array" or "object"
  end
  return t
end

local function at(where, detail) return (where and where ~= "" and where .. ": " or "") .. detail end

local function wrong(where, want, v) return nil, "wrong type", at(where, "expected " .. want .. ", got " .. kind(v)) end

local check

local CHECKS = {
  string = function(s, v, where)
    if type(v) ~= "string" then return wrong(where, "string", v) end
    if s.max and #v > s.max then return nil, "too long", at(where, ("%d bytes, at most %d"):format(#v, s.max)) end
    return true
  end,
  number = function(_, v, where)
    if type(v) ~= "number" or v ~= v or v == huge or v == -huge then return wrong(where, "number", v) end
    return true
  end,
  integer = function(_, v, where)
    if type(v) ~= "number" or floor(v) ~= v or v > 2 ^ 53 or v < -2 ^ 53 then return wrong(where, "integer", v) end
    return true
  end,
  id = function(s, v, where)
    if type(v) == "number" then
      if floor(v) ~= v or v > 2 ^ 53 or v < -2 ^ 53 then return wrong(where, "id (string or integer)", v) end
      return true
    end
    if type(v) ~= "string" then return wrong(where, "id (string or integer)", v) end
    if v == "" then return nil, "missing field", at(where, "empty") end
    if #v > s.max then return nil, "too long", at(where, ("%d bytes, at most %d"):format(#v, s.max)) end
    if v:find("[^\32-\122\124\126]") then
      return nil, "bad value", at(where, "an id of printable ASCII without { or } expected")
    end
    return true
  end,
  any = function() return true end,
  either = function(s, v, where)
    local ok, word, detail = check(v, s[1], where)
    if ok or check(v, s[2], where) then return true end
    return nil, word, detail
  end,
  object = function(s, v, where)
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then return wrong(where, "object", v) end
    for name, spec in pairs(s.fields) do
      if v[name] == null and spec.optional then v[name] = nil end   -- read as absent
      local ok, word, detail = check(v[name], spec, where and where ~= "" and where .. "." .. name or name)
      if not ok then return nil, word, detail end
    end
    return true
  end,
  list = function(s, v, where)
    if type(v) ~= "table" or not is_list(v) then return wrong(where, "array", v) end
    if #v < s.min then return nil, "empty list", at(where, ("%d items, at least %d expected"):format(#v, s.min)) end
    for i = 1, #v do
      local ok, word, detail = check(v[i], s.item, ("%s[%d]"):format(where or "", i))
      if not ok then return nil, word, detail end
    end
    return true
  end,
}

function check(v, spec, where)
  if absent(v) then
    if spec.optional then return true end
    return nil, "missing field", at(where, v == null and "null" or "missing")
  end
  return CHECKS[spec.kind](spec, v, where)
end

function M.check(value, spec, where)
  assert(type(spec) == "table" and CHECKS[spec.kind], "shape.check(value, spec): spec from shape.*")
  return check(value, spec, where)
end

function M.ok(value, spec) return (M.check(value, spec)) == true end

function M.fail(word, detail) return nil, word, detail end

function M.text(v)
  if type(v) == "number" then return ("%.0f"):format(v) end
  return v
end

function M.string(max) return { kind = "string", max = max } end
function M.number() return { kind = "number" } end
function M.integer() return { kind = "integer" } end
function M.id(max) return { kind = "id", max = max or 200 } end
function M.any() return { kind = "any" } end

function M.either(a, b)
  assert(type(a) == "table" and a.kind and type(b) == "table" and b.kind, "shape.either(spec, spec)")
  return { kind = "either", a, b }
end

function M.object(fields)
  assert(type(fields) == "table", "shape.object{field = spec, ...}")
  return { kind = "object", fields = fields }
end

function M.list(item, min)
  assert(type(item) == "table" and item.kind, "shape.list(item spec, min?)")
  return { kind = "list", item = item, min = min or 0 }
end

function M.opt(spec)
  local o = {}
  for k, v in pairs(spec) do o[k] = v end
  o.optional = true
  return o
end

return M

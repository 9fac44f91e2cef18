-- Runs first in every tenant state: bounds what runs in C where the CPU
-- budget's hook cannot interrupt it.
--
-- Lua patterns backtrack, and LuaJIT matches them in C where no hook
-- fires: ("a"):rep(60):match(("a.*"):rep(12) .. "b") would run for ages.
-- string.find, match, gmatch and gsub are therefore flowhost's own
-- (core/lua_api_pattern.c): LuaJIT's results and errors, with the
-- matcher's work checked against the turn's CPU budget every few thousand
-- steps, so a bomb ends with "cpu budget exceeded" like any other loop.
-- Method calls (s:match(...)) use them too: the string metatable's
-- __index is this `string` table. string.rep and table.concat results are
-- limited to 4 MB (the allocator's cap holds anyway; these keep one C call
-- short, so it cannot hold the worker for long).
--
-- json.encode (lua-cjson) builds its text in C memory the state's
-- allocator does not see: a table holding one 60 MB string 30 times would
-- take 2 GB of the process before the cap refused the result. In a tenant
-- state it first sizes what it would write (in Lua, so the CPU budget
-- bounds the walk) and refuses what could not fit the state's cap.
local MAX_RESULT = 4 * 1024 * 1024
local MAX_JSON = 64 * 1024 * 1024     -- the state's memory cap: a bigger text cannot be kept

local pattern = require "pattern"
local rep = string.rep
local concat = table.concat

string.find = pattern.find
string.match = pattern.match
string.gmatch = pattern.gmatch
string.gsub = pattern.gsub
string.rep = function(s, n, sep)
  if type(s) == "string" and type(n) == "number" and (#s + #(sep or "")) * n > MAX_RESULT then
    error("string.rep: the result would be over 4 MB", 2)
  end
  return rep(s, n, sep)
end
table.concat = function(t, sep, i, j)
  local r = concat(t, sep, i, j)
  if #r > MAX_RESULT then error("table.concat: the result is over 4 MB", 2) end
  return r
end

-- the most bytes json.encode could write for v (a string may grow 6 times:
-- control characters become \u00XX); stops counting past MAX_JSON
local function json_size(v, depth, total)
  local t = type(v)
  if t == "string" then return total + 6 * #v + 2 end
  if t ~= "table" then return total + 32 end
  if depth > 1000 then return total end              -- cjson refuses it anyway
  for k, x in pairs(v) do
    total = json_size(x, depth + 1, total + (type(k) == "string" and 6 * #k + 4 or 24))
    if total > MAX_JSON then return total end
  end
  return total + 2
end

local json = require "json"
local encode = json.encode
json.encode = function(value)
  if type(value) == "table" and json_size(value, 0, 0) > MAX_JSON then
    error(("memory budget exceeded: json.encode would write over %d MB (the tenant's state holds at most %d MB)")
      :format(MAX_JSON / 1048576, MAX_JSON / 1048576), 2)
  end
  return encode(value)
end

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
-- limited to 4 MB (the memory cap catches growth step by step; these
-- catch it in one call).
local MAX_RESULT = 4 * 1024 * 1024

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

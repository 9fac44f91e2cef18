-- Runs first in every tenant state: bounds what runs in C where the CPU
-- budget's hook cannot interrupt it. Lua patterns backtrack: a pattern
-- with several open-ended repetitions on a long subject can run for
-- minutes inside one string.find. Subjects are limited to 64 KB, and to
-- 2 KB for patterns with three or more of `*`, `+`, `-`; string.rep and
-- table.concat results to 4 MB. (The memory cap catches growth step by
-- step; these catch it in one call.)
local MAX_SUBJECT, MAX_COMPLEX_SUBJECT, MAX_RESULT = 64 * 1024, 2048, 4 * 1024 * 1024

local find, match, gmatch, gsub, rep = string.find, string.match, string.gmatch, string.gsub, string.rep
local concat = table.concat

local complexity = setmetatable({}, { __mode = "k" })
local function open_repeats(p)
  local n = complexity[p]
  if n then return n end
  n = 0
  local plain = p:gsub("%%.", "")               -- escaped characters do not repeat
  for _ in plain:gmatch("[%*%+%-]") do n = n + 1 end
  if #complexity < 1000 then complexity[p] = n end
  return n
end

local function guard(fn, name)
  return function(s, p, ...)
    if type(s) == "string" and type(p) == "string" then
      local len = #s
      if len > MAX_SUBJECT then
        error(("string.%s: subject of %d bytes is over the 64 KB a flow may match"):format(name, len), 2)
      end
      if len > MAX_COMPLEX_SUBJECT and open_repeats(p) >= 3 then
        error(("string.%s: pattern %q is too complex for a %d-byte subject (at most 2 KB with three or more of * + -)")
          :format(name, p, len), 2)
      end
    end
    return fn(s, p, ...)
  end
end

string.find = guard(find, "find")
string.match = guard(match, "match")
string.gmatch = guard(gmatch, "gmatch")
string.gsub = guard(gsub, "gsub")
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

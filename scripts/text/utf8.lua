--- text.utf8: UTF-8 by hand (LuaJIT has no utf8 library): code points,
--- character counts, word characters and emoji clusters.
--
--   utf8.decode(s, i)      -> code point, next index | nil at the end
--                             (a malformed byte reads as U+FFFD, one byte long)
--   utf8.encode(cp)        -> the UTF-8 string of one code point
--   utf8.len(s)            -> number of code points
--   utf8.cut(s, n)         -> s if it has at most n code points, else its
--                             first n - 1 and "…" (never a split character)
--   utf8.is_word(cp)       -> true for letters and digits: ASCII, Latin-1 and
--                             Latin Extended, Cyrillic (U+0400-U+052F),
--                             Devanagari and the other Indic blocks
--                             (U+0900-U+0DFF) except the dandas
--   utf8.emoji_at(s, i)    -> index after the emoji cluster that starts at i | nil
--
-- An emoji cluster is a pictograph (U+1F000-U+1FAFF, U+2600-U+27BF and the
-- few emoji elsewhere: ⌚ ⏰ ⭐ ⬆ 〰 ...), or any symbol followed by U+FE0F,
-- or a keycap (0-9 # * [U+FE0F] U+20E3), or a pair of regional indicators
-- (a flag), together with what follows it: variation selectors, skin tones,
-- tags and ZWJ (U+200D) joins to further pictographs. A stray U+FE0F or skin
-- tone is a cluster of its own; a ZWJ on its own is not (Devanagari uses it). ₹, •, —, … and Indic letters are not
-- emoji. Pure functions; they may be called anywhere.
local M = {}

local byte, char = string.byte, string.char
local floor = math.floor

function M.decode(s, i)
  local c = byte(s, i)
  if not c then return nil end
  if c < 0x80 then return c, i + 1 end
  local n, cp
  if c >= 0xF8 then return 0xFFFD, i + 1
  elseif c >= 0xF0 then n, cp = 3, c - 0xF0
  elseif c >= 0xE0 then n, cp = 2, c - 0xE0
  elseif c >= 0xC2 then n, cp = 1, c - 0xC0
  else return 0xFFFD, i + 1 end
  for k = 1, n do
    local b = byte(s, i + k)
    if not b or b < 0x80 or b > 0xBF then return 0xFFFD, i + 1 end
    cp = cp * 64 + (b - 0x80)
  end
  return cp, i + n + 1
end
local decode = M.decode

function M.encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
              0x80 + cp % 64)
end

function M.len(s)
  local n = 0
  for i = 1, #s do
    local b = byte(s, i)
    if b < 0x80 or b >= 0xC0 then n = n + 1 end
  end
  return n
end

function M.cut(s, n)
  if M.len(s) <= n then return s end
  local i, k = 1, 0
  while k < n - 1 do
    local _, nxt = decode(s, i)
    i, k = nxt, k + 1
  end
  return s:sub(1, i - 1) .. "…"
end

function M.is_word(cp)
  if cp < 0x80 then
    return (cp >= 48 and cp <= 57) or (cp >= 65 and cp <= 90) or (cp >= 97 and cp <= 122)
  end
  if cp >= 0xC0 and cp <= 0x24F then return cp ~= 0xD7 and cp ~= 0xF7 end
  if cp >= 0x400 and cp <= 0x52F then return cp ~= 0x482 end           -- Cyrillic (not the thousands sign)
  if cp >= 0x900 and cp <= 0xDFF then return cp ~= 0x964 and cp ~= 0x965 end
  return false
end

local OTHER_EMOJI = {
  [0x231A] = true, [0x231B] = true, [0x2328] = true, [0x23CF] = true, [0x23F8] = true,
  [0x23F9] = true, [0x23FA] = true, [0x2B05] = true, [0x2B06] = true, [0x2B07] = true,
  [0x2B1B] = true, [0x2B1C] = true, [0x2B50] = true, [0x2B55] = true, [0x2934] = true,
  [0x2935] = true, [0x3030] = true, [0x303D] = true, [0x3297] = true, [0x3299] = true,
}

local function pictograph(cp)
  return (cp >= 0x1F000 and cp <= 0x1FAFF) or (cp >= 0x2600 and cp <= 0x27BF)
      or (cp >= 0x23E9 and cp <= 0x23F3) or OTHER_EMOJI[cp] == true
end

local function modifier(cp)
  return cp == 0xFE0F or cp == 0xFE0E or cp == 0x20E3 or (cp >= 0x1F3FB and cp <= 0x1F3FF)
      or (cp >= 0xE0020 and cp <= 0xE007F)
end

local function regional(cp) return cp >= 0x1F1E6 and cp <= 0x1F1FF end

function M.emoji_at(s, i)
  local cp, j = decode(s, i)
  if not cp then return nil end
  local nxt, k = decode(s, j)
  if cp == 35 or cp == 42 or (cp >= 48 and cp <= 57) then            -- keycap: 1️⃣ #⃣
    if nxt == 0xFE0F then nxt, k = decode(s, k) end
    if nxt ~= 0x20E3 then return nil end
    j = k
  elseif regional(cp) then
    if nxt and regional(nxt) then j = k end
  elseif not (pictograph(cp) or modifier(cp) or (cp >= 0x80 and nxt == 0xFE0F)) then
    return nil
  end
  while true do                                                       -- modifiers and ZWJ joins
    cp, k = decode(s, j)
    if not cp then return j end
    if modifier(cp) then
      j = k
    elseif cp == 0x200D then
      local after, k2 = decode(s, k)
      if after and pictograph(after) then j = k2
      else return k end
    else
      return j
    end
  end
end

return M

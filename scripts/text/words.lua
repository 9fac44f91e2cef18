--- text.words: the word tokenizer the text modules share.
--
--   words.tokens(s) -> list of {w, s, e, alpha, digits}
--       w: the word lowercased (ASCII), apostrophes inside it dropped ("I'm" -> "im")
--       s, e: its first and last byte in s (s:sub(t.s, t.e) is the original spelling)
--       alpha: letters only; digits: ASCII digits only
--   words.squeeze(w) -> w with every run of one letter cut to one ("yesss" -> "yes")
--   words.set(str)   -> {word = true} from a space-separated string
--   words.word_byte_at(s, i) -> is byte i part of a word character? (false past the ends)
--
-- A word is a run of letters and digits (ASCII, Latin, Devanagari and other
-- Indic scripts); everything else separates words. Pure; may be called anywhere.
local utf8 = require "text.utf8"

local M = {}

local lower, byte, sub = string.lower, string.byte, string.sub
local decode, is_word = utf8.decode, utf8.is_word

local function apostrophe(cp) return cp == 39 or cp == 0x2019 end

function M.tokens(s)
  local out, i, n = {}, 1, #s
  local start, parts, alpha, digits
  local function finish(e)
    local w = lower(table.concat(parts))
    out[#out + 1] = { w = w, s = start, e = e, alpha = alpha, digits = digits }
    start = nil
  end
  local prev_end
  while i <= n do
    local cp, j = decode(s, i)
    if is_word(cp) then
      if not start then start, parts, alpha, digits = i, {}, true, true end
      parts[#parts + 1] = sub(s, i, j - 1)
      local d = cp >= 48 and cp <= 57
      if d then alpha = false else digits = false end
      prev_end = j - 1
    elseif start and apostrophe(cp) then
      local nxt = decode(s, j)
      if not (nxt and is_word(nxt)) then finish(prev_end) end
    elseif start then
      finish(prev_end)
    end
    i = j
  end
  if start then finish(prev_end) end
  return out
end

function M.squeeze(w)
  local out, last = {}, nil
  for i = 1, #w do
    local b = byte(w, i)
    if b ~= last or b >= 0x80 or not ((b >= 65 and b <= 90) or (b >= 97 and b <= 122)) then
      out[#out + 1] = sub(w, i, i)
    end
    last = b
  end
  return table.concat(out)
end

function M.set(str)
  local t = {}
  for w in str:gmatch("%S+") do t[w] = true end
  return t
end

function M.word_byte_at(s, i)
  local b = byte(s, i)
  if not b then return false end
  if b < 0x80 then return is_word(b) end
  while i > 1 and b >= 0x80 and b < 0xC0 do i = i - 1; b = byte(s, i) end   -- back to the lead byte
  return is_word((decode(s, i)))
end

return M

--- text.words: the word tokenizer the text modules share.
--
--   words.tokens(s) -> list of {w, s, e, alpha, digits}
--       w: the word lowercased (ASCII), apostrophes inside it dropped ("I'm" -> "im")
--       s, e: its first and last byte in s (s:sub(t.s, t.e) is the original spelling)
--       alpha: letters only; digits: ASCII digits only
--   words.cached(s)  -> the same list, shared: the last few texts' lists are
--       kept (texts up to 16 KB), so the modules that read one message each
--       get it once. Read it, never change it. words.cached(s) equals
--       words.cached(s:lower()).
--   words.squeeze(w) -> w with every run of one letter cut to one ("yesss" -> "yes")
--   words.set(str)   -> {word = true} from a space-separated string
--   words.word_byte_at(s, i) -> is byte i part of a word character? (false past the ends)
--   words.trim(s)    -> s without white space at either end
--   words.fold(s)    -> s with Latin accents taken off and those letters
--       lowercased ("Mañana" -> "Manana", "SÍ" -> "Si", "dueña" -> "duena"):
--       how Spanish words are looked up, typed with or without tildes
--
-- A word is a run of letters and digits (ASCII, Latin, Devanagari and other
-- Indic scripts); everything else separates words. Every function takes time
-- linear in the length of its input (no pattern here backtracks). Pure; may
-- be called anywhere.
local utf8 = require "text.utf8"

local M = {}

local lower, byte, sub, find, concat = string.lower, string.byte, string.sub, string.find, table.concat
local decode, is_word = utf8.decode, utf8.is_word

-- where a word may start: an ASCII letter or digit, or any non-ASCII byte
-- (decoded to see whether it is a letter)
local CANDIDATE = "[%w\128-\255]"

-- is the character at byte i a word character? -> next index | nil
local function word_char_at(s, i)
  local b = byte(s, i)
  if not b then return nil end
  if b < 0x80 then
    if (b >= 48 and b <= 57) or (b >= 65 and b <= 90) or (b >= 97 and b <= 122) then return i + 1 end
    return nil
  end
  local cp, j = decode(s, i)
  if is_word(cp) then return j end
  return nil
end

-- an apostrophe (' or U+2019) at byte i -> the index after it | nil
local function apostrophe_at(s, i)
  local b = byte(s, i)
  if b == 39 then return i + 1 end
  if b == 0xE2 and byte(s, i + 1) == 0x80 and byte(s, i + 2) == 0x99 then return i + 3 end
  return nil
end

function M.tokens(s)
  local out, n = {}, #s
  local i = find(s, CANDIDATE, 1)
  while i do
    local nxt = word_char_at(s, i)
    if not nxt then
      i = find(s, CANDIDATE, (select(2, decode(s, i))))
    else
      -- a word from i: ASCII runs in one step, other letters one by one,
      -- apostrophes with a letter after them dropped
      local start, seg, last, segs = i, i, nil, nil
      local alpha, digits = true, true
      local pos = i
      while true do
        local b = byte(s, pos)
        local moved = false
        if b and b < 0x80 then
          local _, e = find(s, "^%w+", pos)
          if e then
            local run = sub(s, pos, e)
            if alpha and find(run, "%d") then alpha = false end
            if digits and find(run, "%D") then digits = false end
            last, pos, moved = e, e + 1, true
          end
        elseif b then
          local j = word_char_at(s, pos)
          if j then
            digits = false
            last, pos, moved = j - 1, j, true
          end
        end
        if not moved then
          -- an apostrophe with a letter after it: the word goes on without it
          local after = b and apostrophe_at(s, pos)
          if not (after and word_char_at(s, after)) then break end
          segs = segs or {}
          segs[#segs + 1] = sub(s, seg, last)
          seg, pos = after, after
        end
      end
      local w
      if segs then
        segs[#segs + 1] = sub(s, seg, last)
        w = lower(concat(segs))
      else
        w = lower(sub(s, start, last))
      end
      out[#out + 1] = { w = w, s = start, e = last, alpha = alpha, digits = digits }
      i = pos <= n and find(s, CANDIDATE, pos) or nil
    end
  end
  return out
end

-- the last few texts' tokens (a turn reads one message in many modules)
local CACHE_SIZE, CACHE_MAX = 4, 16 * 1024
local cache_text, cache_toks, cache_next = {}, {}, 1

function M.cached(s)
  if #s > CACHE_MAX then return M.tokens(s) end
  local key = lower(s)
  for k = 1, CACHE_SIZE do
    if cache_text[k] == key then return cache_toks[k] end
  end
  local toks = M.tokens(s)
  cache_text[cache_next], cache_toks[cache_next] = key, toks
  cache_next = cache_next % CACHE_SIZE + 1
  return toks
end

function M.squeeze(w)
  -- most words have no doubled letter: nothing to cut
  if not find(w, "(%a)%1") then return w end
  local out, last = {}, nil
  for i = 1, #w do
    local b = byte(w, i)
    if b ~= last or b >= 0x80 or not ((b >= 65 and b <= 90) or (b >= 97 and b <= 122)) then
      out[#out + 1] = sub(w, i, i)
    end
    last = b
  end
  return concat(out)
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

-- is byte b white space (as %s: space, \t \n \v \f \r)?
local function space(b) return b == 32 or (b >= 9 and b <= 13) end

function M.trim(s)
  local a = find(s, "%S")
  if not a then return "" end
  local b = #s
  while space(byte(s, b)) do b = b - 1 end
  if a == 1 and b == #s then return s end
  return sub(s, a, b)
end

-- U+00C0-U+00FF (bytes C3 80-BF) -> the plain lowercase letter
local FOLD = {}
do
  local plain = "aaaaaaaceeeeiiiidnooooo*ouuuuyts" .. "aaaaaaaceeeeiiiidnooooo/ouuuuyty"
  for k = 0, 63 do
    local c = sub(plain, k + 1, k + 1)
    if c ~= "*" and c ~= "/" then FOLD["\195" .. string.char(128 + k)] = c end
  end
end

function M.fold(s)
  if not find(s, "\195", 1, true) then return s end
  return (s:gsub("\195[\128-\191]", FOLD))
end

return M

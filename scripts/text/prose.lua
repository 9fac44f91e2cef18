--- text.prose: where sentences end and which lines are list items, for the
--- tone rules (max_sentences, capitalize).
--
--   prose.is_item(line) -> true when the line is a list item: it starts with
--       "-", "•", "*", "▪", "◦", "→" or "‣" and a space, with "12)" or "12." and
--       a space, or with an emoji and a short label (at most 80 characters,
--       no sentence end before its last character: "🚗 Basic wash - ₹499")
--   prose.ends(line) -> list of byte indices where a sentence of the line ends
--       (after its last character, a trailing fragment counts as a sentence)
--   prose.body_start(line, init?) -> the byte where the text of the line (from
--       byte init on) starts, after indentation, a list marker and leading emoji
--
-- A sentence ends at a run of . ! ? … or । followed by a space or the end of
-- the line (closing quotes and brackets, and emoji right after, stay with the
-- sentence). A "." is no end after an abbreviation (Rs. Mr. Mrs. Ms. Dr. St.
-- No. vs. etc. approx. e.g. i.e. a.m. p.m. and any single letter) or between
-- digits (1.5, Rs.499). Time is linear in the length of the line. Pure.
local utf8 = require "text.utf8"

local M = {}

local find, sub, lower, byte = string.find, string.sub, string.lower, string.byte

local ABBREV, LONGEST = {}, 1
for w in ("rs mr mrs ms dr st no nos vs etc approx eg ie am pm jr sr ltd pvt co dept min hrs sec ref"):gmatch("%a+") do
  ABBREV[w] = true
  if #w > LONGEST then LONGEST = #w end
end

local BULLETS = { "-", "*", "\226\128\162", "\226\150\170", "\226\151\166", "\226\134\146", "\226\128\163" }

local function letter(b) return b and ((b >= 65 and b <= 90) or (b >= 97 and b <= 122)) end
local function digit(b) return b and b >= 48 and b <= 57 end
local function space(b) return b and (b == 32 or (b >= 9 and b <= 13)) end
local CLOSERS = { [34] = true, [39] = true, [41] = true, [93] = true }      -- " ' ) ]
local STOPS = { [46] = true, [33] = true, [63] = true }                     -- . ! ?

-- is the "." at byte i the end of an abbreviation ("Rs.", "e.g.", a single
-- letter)? The word before it is the run of letters and dots up to i; one
-- with more letters than the longest abbreviation is none (not read further)
local function abbreviation(line, i)
  local k, letters = i - 1, 0
  while k >= 1 do
    local b = byte(line, k)
    if letter(b) then
      letters = letters + 1
      if letters > LONGEST then return false end
    elseif b ~= 46 then
      break
    end
    k = k - 1
  end
  if k == i - 1 then return false end                                  -- no word
  local bare = lower(sub(line, k + 1, i - 1)):gsub("%.", "")
  return ABBREV[bare] == true or #bare == 1
end

-- end index of the sentence-ending punctuation run at i, or nil
local function end_at(line, i)
  local c = byte(line, i)
  local j
  if STOPS[c] then
    j = i
    while STOPS[byte(line, j + 1)] do j = j + 1 end
  elseif sub(line, i, i + 2) == "\226\128\166" or sub(line, i, i + 2) == "\224\165\164" then   -- … ।
    j = i + 2
  else
    return nil
  end
  if c == 46 and j == i then
    if digit(byte(line, i + 1)) and (digit(byte(line, i - 1)) or letter(byte(line, i - 1))) then return nil end
    if abbreviation(line, i) then return nil end
  end
  while CLOSERS[byte(line, j + 1)] do j = j + 1 end
  if j < #line and not space(byte(line, j + 1)) then return nil end
  -- emoji right after the punctuation stay with this sentence: "Booked! 🎉 See you"
  local k = j + 1
  while true do
    local sp = line:match("^ *()", k)
    local stop = utf8.emoji_at(line, sp)
    if not stop then break end
    j, k = stop - 1, stop
  end
  return j
end

function M.ends(line)
  local out, i = {}, 1
  while true do
    i = find(line, "[%.!%?\224\226]", i)                                -- . ! ? and the first bytes of … ।
    if not i then break end
    local e = end_at(line, i)
    if e then
      out[#out + 1] = e
      i = e + 1
    else
      i = i + 1
    end
  end
  local last = out[#out] or 0
  if find(line, "%S", last + 1) then out[#out + 1] = #line end
  return out
end

function M.is_item(line)
  local body = line:match("^%s*(.*)$")
  for _, b in ipairs(BULLETS) do
    if sub(body, 1, #b) == b and find(sub(body, #b + 1, #b + 1), "^%s") then return true end
  end
  if find(body, "^%d+[%)%.]%s") then return true end
  local stop = body ~= "" and utf8.emoji_at(body, 1)
  if stop then
    local label = sub(body, stop)
    if utf8.len(label) > 80 then return false end
    local ends = M.ends(label)
    return #ends <= 1
  end
  return false
end

function M.body_start(line, init)
  local i = line:match("^%s*()", init or 1)
  for _, b in ipairs(BULLETS) do
    if sub(line, i, i + #b - 1) == b and space(byte(line, i + #b)) then
      return line:match("^%s*()", i + #b)
    end
  end
  local k = line:match("^%d+[%)%.]%s+()", i)
  if k then return k end
  local stop = utf8.emoji_at(line, i)
  while stop do
    i = line:match("^%s*()", stop)
    stop = utf8.emoji_at(line, i)
  end
  return i
end

return M

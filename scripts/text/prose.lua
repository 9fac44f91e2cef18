--- text.prose: where sentences end and which lines are list items, for the
--- tone rules (max_sentences, capitalize).
--
--   prose.is_item(line) -> true when the line is a list item: it starts with
--       "-", "•", "*", "▪", "◦", "→" or "‣" and a space, with "12)" or "12." and
--       a space, or with an emoji and a short label (at most 80 characters,
--       no sentence end before its last character: "🚗 Basic wash - ₹499")
--   prose.ends(line) -> list of byte indices where a sentence of the line ends
--       (after its last character, a trailing fragment counts as a sentence)
--
-- A sentence ends at a run of . ! ? … or । followed by a space or the end of
-- the line (closing quotes and brackets, and emoji right after, stay with the
-- sentence). A "." is no end after an abbreviation (Rs. Mr. Mrs. Ms. Dr. St.
-- No. vs. etc. approx. e.g. i.e. a.m. p.m. and any single letter) or between
-- digits (1.5, Rs.499). Pure.
local utf8 = require "text.utf8"

local M = {}

local find, sub, lower = string.find, string.sub, string.lower

local ABBREV = {}
for w in ("rs mr mrs ms dr st no nos vs etc approx eg ie am pm jr sr ltd pvt co dept min hrs sec ref"):gmatch("%a+") do
  ABBREV[w] = true
end

local BULLETS = { "-", "*", "\226\128\162", "\226\150\170", "\226\151\166", "\226\134\146", "\226\128\163" }

-- end index of the sentence-ending punctuation run at i, or nil
local function end_at(line, i)
  local c = sub(line, i, i)
  local j
  if c == "." or c == "!" or c == "?" then
    j = i
    while find(sub(line, j + 1, j + 1), "[%.!%?]") do j = j + 1 end
  elseif sub(line, i, i + 2) == "\226\128\166" or sub(line, i, i + 2) == "\224\165\164" then   -- … ।
    j = i + 2
  else
    return nil
  end
  if c == "." and j == i then
    if find(sub(line, i + 1, i + 1), "%d") and find(sub(line, i - 1, i - 1), "[%d%a]") then return nil end
    local word = sub(line, 1, i - 1):match("([%a%.]+)$")
    if word then
      local bare = lower(word):gsub("%.", "")
      if ABBREV[bare] or #bare == 1 then return nil end
    end
  end
  while find(sub(line, j + 1, j + 1), "[\"'%)%]]") do j = j + 1 end
  local rest = sub(line, j + 1)
  if rest ~= "" and not find(rest, "^%s") then return nil end
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
  local out, i, n = {}, 1, #line
  while i <= n do
    local e = end_at(line, i)
    if e then
      out[#out + 1] = e
      i = e + 1
    else
      i = i + 1
    end
  end
  local last = out[#out] or 0
  if find(sub(line, last + 1), "%S") then out[#out + 1] = n end
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

-- the byte where the text of a line starts, after indentation and any list marker
function M.body_start(line)
  local i = line:match("^%s*()")
  local body = sub(line, i)
  for _, b in ipairs(BULLETS) do
    if sub(body, 1, #b) == b and find(sub(body, #b + 1, #b + 1), "^%s") then
      return line:match("^%s*()", i + #b)
    end
  end
  local k = body:match("^%d+[%)%.]%s+()")
  if k then return i + k - 1 end
  local stop = utf8.emoji_at(line, i)
  while stop do
    i = line:match("^%s*()", stop)
    stop = utf8.emoji_at(line, i)
  end
  return i
end

return M

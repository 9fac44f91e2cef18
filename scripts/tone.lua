--- tone: a tenant's house style for what the assistant says, as an ordered
--- list of rules (flows/<tenant>/tone.lua returns it). docs/language.md
--- describes every rule with examples.
--
--   tone.check(rules) -> rules
--       raises "tone: rule 2 (max_sentences): n must be a positive integer"
--       or "tone: rule 3: unknown rule 'shout'"; the flow loader calls it.
--   tone.pipeline(rules) -> fn(text, vars?) -> text
--       checks the rules, then returns a function that applies them in
--       order. vars: fills {name} and {booking.id} first ({{ and }} are
--       literal braces; a missing variable raises), as flow.messages does.
--
-- rules = {
--   {"no_em_dashes"},                 — and – become ", " (or "-" in 10–12, Mon–Fri)
--   {"max_sentences", n},             prose sentences kept; list lines kept and not counted
--   {"max_chars", n},                 cut at a word boundary, ending with "…"
--   {"emoji", "none" | "keep" | n},   strip all / keep all / keep the first n
--   {"formal", "en" | "hi" | "ru"?},  hey -> hello, gonna -> going to, tum -> aap, ты -> Вы ...
--   {"replace", {from = "to", ...}},  whole words, any case, first-letter case kept
--   {"capitalize"},                   first letter of each sentence and list item
--   {"trim"},                         one space between words, trimmed lines, one blank line at most
-- }
-- Pure functions; none of them yield. Each rule takes time linear in the
-- length of the text.
local utf8 = require "text.utf8"
local words = require "text.words"
local prose = require "text.prose"
local rewrite = require "text.rewrite"

local template = require "text.template"

local M = {}

local find, sub, upper, gsub, concat, byte = string.find, string.sub, string.upper, string.gsub, table.concat, string.byte
local type, ipairs, pairs, floor, tostring = type, ipairs, pairs, math.floor, tostring
local word_byte_at = words.word_byte_at

local function lines_of(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  return out
end

-- no more than one blank line in a row, none at the start or the end
local function tidy_blank(lines)
  local out = {}
  for _, l in ipairs(lines) do
    if l:find("%S") or (#out > 0 and out[#out]:find("%S")) then out[#out + 1] = l end
  end
  while #out > 0 and not out[#out]:find("%S") do out[#out] = nil end
  return out
end

-- ---- rules -------------------------------------------------------------------

local EM, EN = "\226\128\148", "\226\128\147"

local function space(b) return b == 32 or (b >= 9 and b <= 13) end

-- text without its white space at the end; class: a set of bytes (default white space)
local function rstrip(text, class)
  local e = #text
  while e > 0 and (class and class[byte(text, e)] or (not class and space(byte(text, e)))) do e = e - 1 end
  return e == #text and text or sub(text, 1, e)
end

local function no_em_dashes(text)
  text = gsub(text, " %-%- ", " " .. EM .. " ")
  local out, last, i = {}, 1, 1
  -- the word before each dash: is there a digit in it? (bytes up to p-1
  -- read so far: the last white space and the last digit among them)
  local p, last_space, last_digit = 1, 0, 0
  while true do
    local a, b = find(text, "\226\128[\147\148]", i)
    if not a then break end
    local ls, re = a, b
    while sub(text, ls - 1, ls - 1) == " " do ls = ls - 1 end
    while sub(text, re + 1, re + 1) == " " do re = re + 1 end
    local prevc, nextc = sub(text, ls - 1, ls - 1), sub(text, re + 1, re + 1)
    local spaced = ls < a or re > b
    while p < ls do
      local c = byte(text, p)
      if space(c) then last_space = p elseif c >= 48 and c <= 57 then last_digit = p end
      p = p + 1
    end
    local digit_before = last_digit > last_space
    local repl
    if prevc == "" or prevc == "\n" then
      repl = (nextc == "" or nextc == "\n") and "" or "- "
    elseif nextc == "" or nextc == "\n" then
      repl = ""
    elseif (digit_before and (find(nextc, "%d") or sub(text, re + 1, re + 3) == "\226\130\185"))
        or (sub(text, a, b) == EN and not spaced and find(prevc, "%w") and find(nextc, "%w")) then
      repl = spaced and " - " or "-"                                  -- 10–12, Mon–Fri, ₹499 – ₹999
    elseif find(prevc, "[,;:%.!%?]") then
      repl = " "
    elseif find(nextc, "[,;:%.!%?]") then
      repl = ""
    else
      repl = ", "
    end
    out[#out + 1] = sub(text, last, ls - 1)
    out[#out + 1] = repl
    last, i = re + 1, re + 1
  end
  out[#out + 1] = sub(text, last)
  return concat(out)
end

local function max_sentences(text, n)
  local budget, out = n, {}
  for _, line in ipairs(lines_of(text)) do
    if not line:find("%S") then
      out[#out + 1] = ""
    elseif prose.is_item(line) then
      out[#out + 1] = line
    elseif budget > 0 then
      local ends = prose.ends(line)
      if #ends <= budget then
        out[#out + 1] = line
        budget = budget - #ends
      else
        out[#out + 1] = rstrip(sub(line, 1, ends[budget]))
        budget = 0
      end
    end
  end
  return concat(tidy_blank(out), "\n")
end

local ELLIPSIS = "\226\128\166"
local CUT_TAIL = { [44] = true, [59] = true, [58] = true, [45] = true, [46] = true,   -- , ; : - .
                   [32] = true, [9] = true, [10] = true, [11] = true, [12] = true, [13] = true }

local function max_chars(text, n)
  if utf8.len(text) <= n then return text end
  -- the first n-1 characters, then back to the last space
  local i, count = 1, 0
  while count < n - 1 do
    local _, j = utf8.decode(text, i)
    i, count = j, count + 1
  end
  local cut = sub(text, 1, i - 1)
  if not find(sub(text, i, i), "^%s") then
    local at = cut:match(".*()%s")
    if at and at > 1 then cut = sub(cut, 1, at - 1) end
  end
  cut = rstrip(cut, CUT_TAIL)
  return cut .. ELLIPSIS
end

local function emoji(text, keep)
  local out, i, n, seen = {}, 1, #text, 0
  while i <= n do
    -- ASCII goes out in one piece up to two characters before the next
    -- non-ASCII byte: an emoji starts there or one character before it (a
    -- keycap, 1️⃣), and what follows looks at the one piece before an emoji
    local na = find(text, "[\128-\255]", i)
    if not na then
      out[#out + 1] = sub(text, i)
      break
    end
    if na - 2 > i then
      out[#out + 1] = sub(text, i, na - 3)
      i = na - 2
    end
    local stop = utf8.emoji_at(text, i)
    if stop then
      seen = seen + 1
      if seen <= keep then
        out[#out + 1] = sub(text, i, stop - 1)
      else
        local nextc, last = sub(text, stop, stop), out[#out]
        if last == " " and (nextc == "" or find(nextc, "[%s,%.!%?;:]")) then
          out[#out] = nil
        elseif (last == nil or last == "\n") and nextc == " " then
          while sub(text, stop, stop) == " " do stop = stop + 1 end
        elseif last and word_byte_at(last, #last) and word_byte_at(text, stop) then
          out[#out + 1] = " "
        end
      end
      i = stop
    else
      local _, j = utf8.decode(text, i)
      out[#out + 1] = sub(text, i, j - 1)
      i = j
    end
  end
  return concat(out)
end

-- should the word starting at byte i of line get a capital? Not when it
-- has capitals already ("iPhone") or is a URL or an email address
local function wants_capital(line, i)
  if not find(sub(line, i, i), "%l") then return false end
  local word = line:match("^[%w%.@:/']+", i) or ""
  return not (find(word, "%u") or find(word, "://") or find(word, "^www%.") or find(word, "@") or find(word, "%a%.%a"))
end

local function capitalize(text)
  local out = {}
  for _, line in ipairs(lines_of(text)) do
    -- sentence starts, in order (a capital at one never changes the word
    -- at a later one)
    local starts = { prose.body_start(line) }
    if not prose.is_item(line) then
      for _, e in ipairs(prose.ends(line)) do starts[#starts + 1] = prose.body_start(line, e + 1) end
    end
    local parts, last = {}, 1
    for _, s in ipairs(starts) do
      if s >= last and wants_capital(line, s) then
        parts[#parts + 1] = sub(line, last, s - 1)
        parts[#parts + 1] = upper(sub(line, s, s))
        last = s + 1
      end
    end
    parts[#parts + 1] = sub(line, last)
    out[#out + 1] = concat(parts)
  end
  return concat(out, "\n")
end

local function trim(text)
  text = gsub(gsub(text, "\r\n?", "\n"), "\t", " ")
  local out = {}
  for _, line in ipairs(lines_of(text)) do
    out[#out + 1] = line:gsub(" +", " "):match("^ *(.-) *$")
  end
  return concat(tidy_blank(out), "\n")
end

-- ---- the rule table ------------------------------------------------------------

local function positive_int(v) return type(v) == "number" and v >= 1 and floor(v) == v end

-- name -> {args = how many, check = fn(arg) -> value | nil, problem, apply = fn(text, value)}
local RULES = {
  no_em_dashes = { args = 0, apply = no_em_dashes },
  capitalize = { args = 0, apply = capitalize },
  trim = { args = 0, apply = trim },
  max_sentences = { args = 1, apply = max_sentences, check = function(n)
    if not positive_int(n) then return nil, "n must be a positive integer" end
    return n
  end },
  max_chars = { args = 1, apply = max_chars, check = function(n)
    if not positive_int(n) or n < 2 then return nil, "n must be an integer of 2 or more" end
    return n
  end },
  emoji = { args = 1, apply = emoji, check = function(mode)
    if mode == "none" then return 0 end
    if mode == "keep" then return math.huge end
    if type(mode) == "number" and mode >= 0 and floor(mode) == mode then return mode end
    return nil, "mode must be \"none\", \"keep\" or a number of emoji to keep"
  end },
  formal = { args = 1, optional = true, apply = function(text, fn) return fn(text) end, check = function(lang)
    if lang == nil or lang == "en" or lang == "hi" or lang == "ru" then return rewrite.formal(lang or "en") end
    return nil, "lang must be \"en\", \"hi\" or \"ru\""
  end },
  replace = { args = 1, apply = function(text, fn) return fn(text) end, check = function(map)
    if type(map) ~= "table" or next(map) == nil then return nil, "needs a table {from = \"to\", ...}" end
    for from, to in pairs(map) do
      if type(from) ~= "string" or not from:find("%S") or type(to) ~= "string" then
        return nil, "every entry must be a non-empty string mapped to a string"
      end
    end
    return rewrite.words(map)
  end },
}

local function names()
  local list = {}
  for k in pairs(RULES) do list[#list + 1] = k end
  table.sort(list)
  return concat(list, ", ")
end

-- rules -> list of {apply, value}; raises on the first bad rule
local function compile(rules, level)
  if type(rules) ~= "table" then error("tone: rules must be a list of {\"rule_name\", args...}", level) end
  local steps = {}
  for i, item in ipairs(rules) do
    if type(item) ~= "table" or type(item[1]) ~= "string" then
      error(("tone: rule %d must be a list like {\"trim\"}"):format(i), level)
    end
    local name = item[1]
    local rule = RULES[name]
    if not rule then error(("tone: rule %d: unknown rule '%s' (known: %s)"):format(i, name, names()), level) end
    local nargs = #item - 1
    if nargs > rule.args or (nargs < rule.args and not rule.optional) then
      error(("tone: rule %d (%s): takes %d argument%s, got %d"):format(i, name, rule.args,
        rule.args == 1 and "" or "s", nargs), level)
    end
    local value = true
    if rule.check then
      local v, err = rule.check(item[2])
      if v == nil then error(("tone: rule %d (%s): %s"):format(i, name, err), level) end
      value = v
    end
    steps[#steps + 1] = { apply = rule.apply, value = value }
  end
  return steps
end

function M.check(rules)
  compile(rules, 3)
  return rules
end

local function fill(text, vars)
  return template.fill(text, vars, function(name)
    error(("tone: the text uses {%s} but vars has no value for it"):format(name), 0)
  end)
end

-- a pipeline keeps what it made of the texts it saw last (the rules are
-- pure, and a flow says the same texts again and again)
local MEMO_TEXTS, MEMO_BYTES = 256, 4096

function M.pipeline(rules)
  local steps = compile(rules, 3)
  local memo, n = {}, 0
  return function(text, vars)
    if type(text) ~= "string" then error("tone: text must be a string", 2) end
    if vars ~= nil then
      if type(vars) ~= "table" then error("tone: vars must be a table", 2) end
      text = fill(text, vars)
    end
    local done = memo[text]
    if done then return done end
    local from = text
    for _, s in ipairs(steps) do text = s.apply(text, s.value) end
    if #from <= MEMO_BYTES then
      if n >= MEMO_TEXTS then memo, n = {}, 0 end
      memo[from], n = text, n + 1
    end
    return text
  end
end

return M

--- text.fuzzy: typo-tolerant matching of a message against named options
--- ("full detailing", "wax", "interior vacuum").
--
--   fuzzy.distance(a, b) -> edits between a and b: insertions, deletions,
--       substitutions and swaps of two neighbours (optimal string alignment).
--       Byte-wise: lowercase first.
--   fuzzy.best(text, options, opts?) -> id, score, matched_text | nil
--   fuzzy.all(text, options, opts?)  -> {id, ...} (distinct, in message order; {} if none)
--       options: { {id = "detail", names = {"Full Detailing", "full detail"}}, ... }
--       opts.min_score: drop matches scoring below it (0..1, default 0)
--   fuzzy.lookup(word, map) -> map[word'], edits | nil
--       word' is the key of map nearest to word within the tolerance below
--       (keys and word lowercase, one word each).
--
-- A name of k words is compared with every run of k-1, k and k+1 words of
-- the message (case and punctuation ignored). Runs of k words are compared
-- word by word; runs of k±1 words are compared with the spaces removed
-- (catches "fulldetailing" and "inter ior"), at the cost of one edit. Each
-- word may be off by: 0 edits up to 3 letters, 1 for 4-6, 2 for 7-11, 3 for
-- 12 or more; a word with edits must start with the same letter, and common
-- words ("was", "wish", "not", "the") never stand for another word. A
-- message word that is a name word plus "s", "es" or "ing" ("cars",
-- "waxing") counts as one edit. The score is 1 - edits / length of the
-- name: 1 only for an exact match. Ties go to the longer name, then to the
-- earlier match, then to the earlier option. None of these yield.
local words = require "text.words"

local M = {}

local byte, sub, type, ipairs = string.byte, string.sub, type, ipairs
local tokens = words.tokens

function M.distance(a, b)
  if type(a) ~= "string" or type(b) ~= "string" then
    error("fuzzy.distance: a and b must be strings", 2)
  end
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca, pa = byte(a, i), byte(a, i - 1)
    for j = 1, lb do
      local cb = byte(b, j)
      local v = prev[j - 1] + (ca == cb and 0 or 1)
      local del, ins = prev[j] + 1, cur[j - 1] + 1
      if del < v then v = del end
      if ins < v then v = ins end
      if i > 1 and j > 1 and ca ~= cb and ca == byte(b, j - 1) and pa == cb and prev2[j - 2] + 1 < v then
        v = prev2[j - 2] + 1
      end
      cur[j] = v
    end
    prev2, prev, cur = prev, cur, prev2
  end
  return prev[lb]
end
local distance = M.distance

local function tolerance(n)
  if n <= 3 then return 0 elseif n <= 6 then return 1 elseif n <= 11 then return 2 end
  return 3
end

-- words that are never read as a typo of another word
local COMMON = words.set([[
  a an the and or but not no nor so to of in on at by for from with into onto out up
  is am are was were be been being do does did done have has had having will would shall
  should can could may might must it its this that these those there here then than
  i me my mine we us our you your yours he him his she her they them their what which
  who whom whose when where why how all any some one two each every much many more most
  very just also only even still yet now soon want wants need needs like wish
  get got give take make made see seen come came go goes going went know said say tell
  please thanks thank ok okay yes yeah yep nope hai hain ho tha thi kya kab kal aaj
  main mein mera meri mere aap aapka hum humko tum karo kar karna nahi nahin haan
  wait well back over under again off same other another new old next last first time
]])

local SUFFIX = { s = true, es = true, ing = true }

-- edits between message word w and name word nw, or nil when too far
local function word_edits(w, nw)
  if w == nw then return 0 end
  local n = #nw
  local extra = #w - n
  if (extra == 1 or extra == 2 or extra == 3) and sub(w, 1, n) == nw and n >= 3 and SUFFIX[sub(w, n + 1)] then
    return 1                                                          -- cars, washes, waxing
  end
  if COMMON[w] or byte(w, 1) ~= byte(nw, 1) then return nil end
  local tol = tolerance(n)
  if tol == 0 or #w - n > tol or n - #w > tol then return nil end
  local d = distance(w, nw)
  if d <= tol then return d end
  return nil
end

function M.lookup(word, map)
  if type(word) ~= "string" or type(map) ~= "table" then
    error("fuzzy.lookup: word must be a string and map a table", 2)
  end
  if map[word] ~= nil then return map[word], 0 end
  local best, best_d, best_k
  for k, v in pairs(map) do
    local d = word_edits(word, k)
    if d and (not best_d or d < best_d or (d == best_d and k < best_k)) then
      best, best_d, best_k = v, d, k
    end
  end
  if best_d then return best, best_d end
  return nil
end

-- a name -> {words = {...}, joined = "fulldetailing", len = #"full detailing"}
-- (names come from catalogues and repeat on every message: kept, bounded)
local prepared, nprepared = {}, 0
local function prepare(name)
  local p = prepared[name]
  if p then return p end
  local ws = {}
  for _, t in ipairs(tokens(name)) do ws[#ws + 1] = t.w end
  p = { words = ws, joined = table.concat(ws), len = #table.concat(ws, " ") }
  if nprepared >= 10000 then prepared, nprepared = {}, 0 end
  prepared[name], nprepared = p, nprepared + 1
  return p
end

-- the words of the last text (a message is matched against many option lists)
local last_text, last_tokens
local function text_tokens(text)
  if text ~= last_text then last_text, last_tokens = text, tokens(text) end
  return last_tokens
end

local checked = setmetatable({}, { __mode = "k" })   -- option lists already checked

local function check_options(fn, options, opts)
  if type(options) ~= "table" then error(fn .. ": options must be a list", 3) end
  if opts ~= nil and type(opts) ~= "table" then error(fn .. ": opts must be a table", 3) end
  local ms = opts and opts.min_score or 0
  if type(ms) ~= "number" or ms < 0 or ms > 1 then error(fn .. ": opts.min_score must be 0..1", 3) end
  if checked[options] == #options then return ms end
  for i, o in ipairs(options) do
    if type(o) ~= "table" or o.id == nil then error(fn .. ": options[" .. i .. "] needs an id", 3) end
    if type(o.names) ~= "table" or #o.names == 0 then
      error(fn .. ": options[" .. i .. "].names must be a non-empty list of strings", 3)
    end
    for _, n in ipairs(o.names) do
      if type(n) ~= "string" or not n:find("%S") then
        error(fn .. ": options[" .. i .. "].names must be a non-empty list of strings", 3)
      end
    end
  end
  checked[options] = #options
  return ms
end

-- every acceptable match: {opt = index, id, score, len, first, last} (token indices)
local function matches(text, options, min_score)
  local toks = text_tokens(text)
  local out = {}
  for oi, o in ipairs(options) do
    for _, raw in ipairs(o.names) do
      local nm = prepare(raw)
      local k = #nm.words
      for n = k - 1, k + 1 do
        if n >= 1 then
          for first = 1, #toks - n + 1 do
            local edits
            if n == k then
              edits = 0
              for x = 1, k do
                local d = word_edits(toks[first + x - 1].w, nm.words[x])
                if not d then edits = nil; break end
                edits = edits + d
              end
            elseif byte(toks[first].w, 1) == byte(nm.joined, 1) then
              local len = 0
              for x = first, first + n - 1 do len = len + #toks[x].w end
              local tol = tolerance(#nm.joined)
              if len - #nm.joined <= tol and #nm.joined - len <= tol then
                local parts = {}
                for x = first, first + n - 1 do parts[#parts + 1] = toks[x].w end
                local joined = table.concat(parts)
                if not (n == 1 and COMMON[joined]) then
                  local d = distance(joined, nm.joined)
                  if d <= tol then edits = d + 1 end
                end
              end
            end
            if edits then
              local score = 1 - edits / nm.len
              if score < 0 then score = 0 end
              if score >= min_score then
                out[#out + 1] = { opt = oi, id = o.id, score = score, len = nm.len,
                                  first = first, last = first + n - 1,
                                  s = toks[first].s, e = toks[first + n - 1].e }
              end
            end
          end
        end
      end
    end
  end
  table.sort(out, function(a, b)
    if a.score ~= b.score then return a.score > b.score end
    if a.len ~= b.len then return a.len > b.len end
    if a.first ~= b.first then return a.first < b.first end
    return a.opt < b.opt
  end)
  return out
end

function M.best(text, options, opts)
  if type(text) ~= "string" then error("fuzzy.best: text must be a string", 2) end
  local ms = check_options("fuzzy.best", options, opts)
  local m = matches(text, options, ms)[1]
  if not m then return nil end
  return m.id, m.score, sub(text, m.s, m.e)
end

function M.all(text, options, opts)
  if type(text) ~= "string" then error("fuzzy.all: text must be a string", 2) end
  local ms = check_options("fuzzy.all", options, opts)
  local taken, chosen, seen = {}, {}, {}
  for _, m in ipairs(matches(text, options, ms)) do
    local free = not seen[m.opt]
    for x = m.first, m.last do if taken[x] then free = false end end
    if free then
      for x = m.first, m.last do taken[x] = true end
      seen[m.opt] = true
      chosen[#chosen + 1] = m
    end
  end
  table.sort(chosen, function(a, b) return a.first < b.first end)
  local ids = {}
  for i, m in ipairs(chosen) do ids[i] = m.id end
  return ids
end

return M

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
--       (keys and word lowercase, one word each; ties go to the smaller key).
--   fuzzy.lookup_fn(map) -> fn(word) -> the same as fuzzy.lookup(word, map),
--       faster, for a map that does not change afterwards (a copy is kept)
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
-- earlier match, then to the earlier option (then to the earlier name of the
-- option and the shorter run). Only names that start with a message word's
-- first letter are compared with the runs starting at that word, so the work
-- grows linearly with the message. None of these yield.
local words = require "text.words"

local M = {}

local byte, sub, type, ipairs, pairs, concat = string.byte, string.sub, type, ipairs, pairs, table.concat
local tokens, cached = words.tokens, words.cached

-- rows of the distance table, reused (nothing here yields)
local row_a, row_b, row_c = {}, {}, {}

function M.distance(a, b)
  if type(a) ~= "string" or type(b) ~= "string" then
    error("fuzzy.distance: a and b must be strings", 2)
  end
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev2, prev, cur = row_a, row_b, row_c
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

-- the same count when it is at most max, else max + 1. A common start and
-- end cost nothing and are skipped; one edit is recognised directly; else
-- only the cells within max of the diagonal are computed, and it stops as
-- soon as two rows in a row are past max (every later cell then is too)
local function within(a, b, max)
  local la, lb = #a, #b
  if la - lb > max or lb - la > max then return max + 1 end
  if max == 0 then return a == b and 0 or 1 end
  local INF = max + 1
  local short = la < lb and la or lb
  local o = 0
  while o < short and byte(a, o + 1) == byte(b, o + 1) do o = o + 1 end
  local t = 0
  while t < short - o and byte(a, la - t) == byte(b, lb - t) do t = t + 1 end
  la, lb = la - o - t, lb - o - t
  if la == 0 then return lb end
  if lb == 0 then return la end
  if max == 1 then
    if la == 1 and lb == 1 then return 1 end
    if la == 2 and lb == 2 and byte(a, o + 1) == byte(b, o + 2) and byte(a, o + 2) == byte(b, o + 1) then return 1 end
    return INF
  end
  local prev2, prev, cur = row_a, row_b, row_c
  for j = 0, lb <= max + 1 and lb or max + 1 do prev[j] = j <= max and j or INF end
  local prev_min = 0
  for i = 1, la do
    local lo, hi = i - max, i + max
    if lo < 1 then lo = 1 end
    if hi > lb then hi = lb end
    cur[lo - 1] = lo == 1 and (i < INF and i or INF) or INF
    local ca, pa = byte(a, o + i), i > 1 and byte(a, o + i - 1)
    local row_min = INF
    for j = lo, hi do
      local cb = byte(b, o + j)
      local v = prev[j - 1] + (ca == cb and 0 or 1)
      local del, ins = prev[j] + 1, cur[j - 1] + 1
      if del < v then v = del end
      if ins < v then v = ins end
      if i > 1 and j > 1 and ca ~= cb and ca == byte(b, o + j - 1) and pa == cb and prev2[j - 2] + 1 < v then
        v = prev2[j - 2] + 1
      end
      if v > INF then v = INF end
      cur[j] = v
      if v < row_min then row_min = v end
    end
    if hi < lb then cur[hi + 1] = INF end
    if row_min > max and prev_min >= max then return INF end
    prev_min = row_min
    prev2, prev, cur = prev, cur, prev2
  end
  local d = prev[lb]
  return d <= max and d or INF
end

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

-- edits between message word w and name word nw, or nil when too far or
-- more than budget (default: no limit beyond the tolerance); never a match
-- unless both start with the same byte
local function word_edits(w, nw, budget)
  if w == nw then return 0 end
  local n, lw = #nw, #w
  local extra = lw - n
  if extra >= 1 and extra <= 3 and n >= 3 then                        -- cars, washes, waxing
    local z = byte(w, lw)
    if ((extra == 1 and z == 115) or (extra == 2 and z == 115 and byte(w, lw - 1) == 101)
        or (extra == 3 and z == 103 and sub(w, lw - 2) == "ing")) and sub(w, 1, n) == nw then
      if budget and budget < 1 then return nil end
      return 1
    end
  end
  if COMMON[w] or byte(w, 1) ~= byte(nw, 1) then return nil end
  local tol = tolerance(n)
  if tol == 0 or #w - n > tol or n - #w > tol then return nil end
  if budget and budget < tol then
    tol = budget
    if tol < 1 then return nil end
  end
  local d = within(w, nw, tol)
  if d <= tol then return d end
  return nil
end

-- keys of a map by their first byte, each list in key order:
-- {[byte] = {{key, value}, ...}}
local function index_keys(map)
  local keys = {}
  for k in pairs(map) do
    if type(k) == "string" and k ~= "" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local idx = {}
  for _, k in ipairs(keys) do
    local b = byte(k, 1)
    local list = idx[b]
    if not list then list = {}; idx[b] = list end
    list[#list + 1] = { k, map[k] }
  end
  return idx
end

-- the nearest key of an index (the smallest key among equals)
local function nearest(word, idx)
  local list = idx[byte(word, 1)]
  if not list then return nil end
  local best, best_d
  for i = 1, #list do
    local e = list[i]
    local d = word_edits(word, e[1])
    if d and (not best_d or d < best_d) then best, best_d = e[2], d end
  end
  if best_d then return best, best_d end
  return nil
end

function M.lookup(word, map)
  if type(word) ~= "string" or type(map) ~= "table" then
    error("fuzzy.lookup: word must be a string and map a table", 2)
  end
  if map[word] ~= nil then return map[word], 0 end
  if word == "" then return nil end
  local best, best_d, best_k
  local first = byte(word, 1)
  for k, v in pairs(map) do
    if type(k) == "string" and byte(k, 1) == first then
      local d = word_edits(word, k)
      if d and (not best_d or d < best_d or (d == best_d and k < best_k)) then
        best, best_d, best_k = v, d, k
      end
    end
  end
  if best_d then return best, best_d end
  return nil
end

function M.lookup_fn(map)
  if type(map) ~= "table" then error("fuzzy.lookup_fn: map must be a table", 2) end
  local copy = {}
  for k, v in pairs(map) do copy[k] = v end
  local idx = index_keys(copy)
  return function(word)
    if type(word) ~= "string" then error("fuzzy.lookup: word must be a string", 2) end
    local v = copy[word]
    if v ~= nil then return v, 0 end
    if word == "" then return nil end
    return nearest(word, idx)
  end
end

-- a name -> {words = {...}, joined = "fulldetailing", len = #"full detailing"}
-- (names come from catalogues and repeat on every message: kept, bounded)
local prepared, nprepared = {}, 0
local function prepare(name)
  local p = prepared[name]
  if p then return p end
  local ws = {}
  for _, t in ipairs(tokens(name)) do ws[#ws + 1] = t.w end
  local joined = concat(ws)
  p = { words = ws, joined = joined, len = #concat(ws, " "), k = #ws,
        jlen = #joined, jtol = tolerance(#joined),                       -- for runs of k +- 1 words
        w1len = ws[1] and #ws[1] or 0, w1tol = ws[1] and tolerance(#ws[1]) or 0 }
  if nprepared >= 10000 then prepared, nprepared = {}, 0 end
  prepared[name], nprepared = p, nprepared + 1
  return p
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

-- what an option list held when it was indexed: each option, its id, its
-- names and false after them
local function contents(options)
  local flat = {}
  for _, o in ipairs(options) do
    flat[#flat + 1] = o
    flat[#flat + 1] = o.id
    for _, raw in ipairs(o.names) do flat[#flat + 1] = raw end
    flat[#flat + 1] = false
  end
  return flat
end

local function unchanged(flat, options)
  local k = 0
  for _, o in ipairs(options) do
    if flat[k + 1] ~= o or flat[k + 2] ~= o.id then return false end
    k = k + 2
    for _, raw in ipairs(o.names) do
      k = k + 1
      if flat[k] ~= raw then return false end
    end
    k = k + 1
    if flat[k] ~= false then return false end
  end
  return k == #flat
end

-- the names of an option list by the first byte of their first word:
-- {[byte] = {{opt = index, id, nm = prepared name, ni = index in names}, ...}}
-- (kept per list while the list holds the same options and names)
local indexed = setmetatable({}, { __mode = "k" })
local sealed = setmetatable({}, { __mode = "k" })

--- fuzzy.seal(options) -> options: the caller promises never to change
--- this list (a library's own phrase list): its index is not checked
--- against the list on every call (that check is most of a short match).
function M.seal(options)
  sealed[options] = true
  return options
end

local function name_index(options)
  local got = indexed[options]
  if got and (sealed[options] or unchanged(got.flat, options)) then return got.idx end
  local idx = {}
  for oi, o in ipairs(options) do
    for ni, raw in ipairs(o.names) do
      local nm = prepare(raw)
      if #nm.words > 0 then
        local b = byte(nm.words[1], 1)
        local list = idx[b]
        if not list then list = {}; idx[b] = list end
        list[#list + 1] = { opt = oi, id = o.id, nm = nm, ni = ni }
      end
    end
  end
  indexed[options] = { flat = contents(options), idx = idx }
  return idx
end

-- is match a better than match b?
local function better(a, b)
  if a.score ~= b.score then return a.score > b.score end
  if a.len ~= b.len then return a.len > b.len end
  if a.first ~= b.first then return a.first < b.first end
  if a.opt ~= b.opt then return a.opt < b.opt end
  if a.ni ~= b.ni then return a.ni < b.ni end
  return a.last < b.last
end

local letters_upto

-- edits between the run of n message words from `first` and a name, or
-- nil when they are more than budget (or past the tolerance); ends: the
-- letters_upto of toks
local function run_edits(toks, ends, first, n, nm, budget)
  local k = #nm.words
  if n == k then
    local edits = 0
    for x = 1, k do
      local d = word_edits(toks[first + x - 1].w, nm.words[x], budget - edits)
      if not d then return nil end
      edits = edits + d
    end
    return edits
  end
  if budget < 1 then return nil end                                  -- joining costs one edit
  local joined_name = nm.joined
  local len = ends[first + n - 1] - ends[first - 1]
  local tol = tolerance(#joined_name)
  if len - #joined_name > tol or #joined_name - len > tol then return nil end
  if budget - 1 < tol then tol = budget - 1 end
  local joined
  if n == 1 then
    joined = toks[first].w
    if COMMON[joined] then return nil end
  else
    local parts = {}
    for x = first, first + n - 1 do parts[#parts + 1] = toks[x].w end
    joined = concat(parts)
  end
  local d = within(joined, joined_name, tol)
  if d <= tol then return d + 1 end
  return nil
end

-- letters of the words 1..i of a token list, for every i (kept per list)
local upto = setmetatable({}, { __mode = "k" })
letters_upto = function(toks)
  local got = upto[toks]
  if got then return got end
  got = { [0] = 0 }
  for i = 1, #toks do got[i] = got[i - 1] + #toks[i].w end
  upto[toks] = got
  return got
end

local function score_of(edits, len)
  local score = 1 - edits / len
  if score < 0 then score = 0 end
  return score
end

-- the most edits a name of len bytes may have and still score min_score
-- (kept per min_score and len: a few scores are used, names are short)
local budget_of, nbudgets = {}, 0
local function edit_budget(len, min_score)
  if min_score <= 0 then return math.huge end
  local per = budget_of[min_score]
  local e = per and per[len]
  if e then return e end
  e = 0
  while e < len and score_of(e + 1, len) >= min_score do e = e + 1 end
  if min_score ~= min_score then return e end                        -- (NaN: no key)
  if nbudgets >= 10000 then budget_of, nbudgets = {}, 0 end
  if not budget_of[min_score] then budget_of[min_score] = {} end
  budget_of[min_score][len], nbudgets = e, nbudgets + 1
  return e
end

-- hands a match of tokens first..last to take if it scores enough
local function found(take, cand, nm, edits, min_score, toks, first, last)
  local score = score_of(edits, nm.len)
  if score >= min_score then
    take{ opt = cand.opt, id = cand.id, score = score, len = nm.len, ni = cand.ni,
          first = first, last = last, s = toks[first].s, e = toks[last].e }
  end
end

-- every acceptable match, each {opt, id, score, len, first, last, ni, s, e}
-- (token indices first..last), handed to take(m) in no particular order
local function each_match(text, options, min_score, take)
  local toks = cached(text)
  local idx = name_index(options)
  local nt = #toks
  local ends = letters_upto(toks)
  for first = 1, nt do
    local w = toks[first].w
    local cands = idx[byte(w, 1)]
    if cands then
      local lw = #w
      for c = 1, #cands do
        local cand = cands[c]
        local nm = cand.nm
        local k = nm.k
        local budget = edit_budget(nm.len, min_score)
        -- runs of k words: the first word is the name's first word, plus
        -- an ending ("s", "es", "ing") or within its tolerance
        local d1 = lw - nm.w1len
        if first + k - 1 <= nt and d1 <= 3 and d1 >= -nm.w1tol then
          local edits = run_edits(toks, ends, first, k, nm, budget)
          if edits then found(take, cand, nm, edits, min_score, toks, first, first + k - 1) end
        end
        -- runs of k - 1 and k + 1 words, joined (which costs an edit): the
        -- letters must add up to the name's, give or take the edits left
        if budget >= 1 then
          local jt = budget - 1 < nm.jtol and budget - 1 or nm.jtol
          for n = k - 1, k + 1, 2 do
            if n >= 1 and first + n - 1 <= nt then
              local dl = ends[first + n - 1] - ends[first - 1] - nm.jlen
              if dl <= jt and dl >= -jt then
                local edits = run_edits(toks, ends, first, n, nm, budget)
                if edits then found(take, cand, nm, edits, min_score, toks, first, first + n - 1) end
              end
            end
          end
        end
      end
    end
  end
end

function M.best(text, options, opts)
  if type(text) ~= "string" then error("fuzzy.best: text must be a string", 2) end
  local ms = check_options("fuzzy.best", options, opts)
  local m
  each_match(text, options, ms, function(x) if not m or better(x, m) then m = x end end)
  if not m then return nil end
  return m.id, m.score, sub(text, m.s, m.e)
end

function M.all(text, options, opts)
  if type(text) ~= "string" then error("fuzzy.all: text must be a string", 2) end
  local ms = check_options("fuzzy.all", options, opts)
  local found = {}
  each_match(text, options, ms, function(x) found[#found + 1] = x end)
  table.sort(found, better)
  local taken, chosen, seen = {}, {}, {}
  for _, m in ipairs(found) do
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

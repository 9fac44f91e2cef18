--- text.ids: Indian mobile numbers, vehicle registration plates and email
--- addresses in a message. Reached through text.extract; the rules are in
--- docs/language.md.
--
--   ids.phone_in(text) -> "9876543210" | nil, "invalid" | nil
--   ids.plate_in(text) -> "MH12AB1234" | nil, "invalid" | nil
--   ids.email(text)    -> "rahul@example.com" | nil
--   ids.plates(text)   -> list of {s, e, plate = "MH12AB1234" | false} (false: plate-shaped, wrong)
--
-- Each takes time linear in the length of the text. Pure; none of these yield.
local M = {}

local find, sub, upper, lower, rep, byte = string.find, string.sub, string.upper, string.lower, string.rep, string.byte
local type, concat = type, table.concat

-- ---- plates ----------------------------------------------------------------

-- state and union territory codes, with the old ones still on the road
-- (OR Odisha before 2012, UA Uttarakhand before 2007, DN Dadra and Nagar
-- Haveli before 2020), and TG (Telangana since 2024) beside TS
local STATES = {}
for c in ([[AN AP AR AS BR CG CH DD DL DN GA GJ HP HR JH JK KA KL LA LD MH ML MN MP MZ
            NL OD OR PB PY RJ SK TN TR TS TG UA UK UP WB]]):gmatch("%a%a") do STATES[c] = true end

-- "KA 25 DEC 2026" is a date and "at 10 am 2026" a time, not plates
local NOT_SERIES = {}
for m in ("jan feb mar apr may jun jul aug sep sept oct nov dec am pm st nd rd th"):gmatch("%a+") do
  NOT_SERIES[m] = true
end

-- an uppercase compact string -> "MH12AB1234" (valid) | false (plate-shaped, wrong) | nil
local function judge(c)
  if find(c, "^%d%dBH%d+%a+$") then                                   -- Bharat series: 22BH1234AB
    return find(c, "^%d%dBH%d%d%d%d%a%a?$") and c or false
  end
  local st, d1, l, d2 = c:match("^(%a%a)(%d+)(%a*)(%d+)$")
  if not st then return nil end
  local rto, num
  if l == "" then
    local digits = d1 .. d2
    if #digits < 5 or #digits > 7 then return nil end
    rto, num = sub(digits, 1, -5), sub(digits, -4)
  else
    if #d1 > 3 or #l > 4 or #d2 < 3 or #d2 > 5 then return nil end
    rto, num = d1, d2
  end
  if STATES[st] and #rto <= 2 and rto ~= "0" and rto ~= "00" and #l <= 3 and #num == 4 and num ~= "0000" then
    return c
  end
  return false
end

-- runs of ASCII letters and digits: {w, s, e}
local function chunks(text)
  local out, init = {}, 1
  while true do
    local s, e = find(text, "%w+", init)
    if not s then return out end
    out[#out + 1] = { w = sub(text, s, e), s = s, e = e }
    init = e + 1
  end
end

local function find_plates(text)
  local cs, out = chunks(text), {}
  local i = 1
  while i <= #cs do
    local best, best_k
    local first = upper(cs[i].w)
    -- only these can open a plate written in parts (see `opens` below)
    local parts_may_open = STATES[sub(first, 1, 2)] and find(first, "^%a%a%d*$")
                           or find(first, "^%d%d$") or find(first, "^%a%a$")
    for k = 1, parts_may_open and 4 or 1 do
      local last = cs[i + k - 1]
      if not last then break end
      if k > 1 then
        local gap = sub(text, cs[i + k - 2].e + 1, last.s - 1)
        if #gap > 3 or not find(gap, "^ *[%-%.]? *$") then break end
      end
      local parts = {}
      for x = i, i + k - 1 do parts[#parts + 1] = cs[x].w end
      local c = upper(concat(parts))
      if #c > 12 then break end
      -- split forms open with a real state code or "22 BH", or have all four
      -- parts ("XY 12 AB 1234": plate-shaped, wrong state); a month, am/pm or
      -- an ordinal among them makes a date or a time ("on 25 dec 2026")
      local opens = k == 1 or STATES[sub(first, 1, 2)] and find(first, "^%a%a%d*$")
                    or (find(first, "^%d%d$") and find(c, "^%d%dBH"))
                    or (k == 4 and find(cs[i].w, "^%a%a$") and find(cs[i + 1].w, "^%d%d?$")
                        and find(cs[i + 2].w, "^%a%a?%a?$") and find(last.w, "^%d%d%d%d$"))
      if k > 1 and opens then
        for x = i, i + k - 1 do if NOT_SERIES[lower(cs[x].w)] then opens = false end end
      end
      local v = opens and judge(c)
      if v == nil and k == 1 and #c >= 4 and STATES[sub(c, 1, 2)] and find(c, "^%a%a%d%w*$") then
        v = false                                                     -- a start of a plate: "MH12"
      end
      if v ~= nil and opens then
        if v or not (best and best.plate) then best, best_k = { s = cs[i].s, e = last.e, plate = v }, k end
      end
    end
    if best then
      out[#out + 1] = best
      i = i + best_k
    else
      i = i + 1
    end
  end
  return out
end

-- the plates of the last text (plate_in and phone_in read the same message)
local last_text, last_plates
local function plates_of(text)
  if text ~= last_text then last_text, last_plates = text, find_plates(text) end
  return last_plates
end

function M.plates(text)
  if type(text) ~= "string" then error("ids.plates: text must be a string", 2) end
  local out = {}
  for i, p in ipairs(plates_of(text)) do out[i] = { s = p.s, e = p.e, plate = p.plate } end
  return out
end

function M.plate_in(text)
  if type(text) ~= "string" then error("extract.plate_in: text must be a string", 2) end
  local invalid = false
  for _, p in ipairs(plates_of(text)) do
    if p.plate then return p.plate end
    invalid = true
  end
  if invalid then return nil, "invalid" end
  return nil
end

-- ---- email -----------------------------------------------------------------

-- an address is "[%w][%w%._%+%-]*@[%w][%w%-]*%.[%w%.%-]*%a" (as a Lua
-- pattern); read without the pattern, whose backtracking takes time
-- quadratic in a long word with no "@"
local DOMAIN = "^[%w][%w%-]*%.[%w%.%-]*%a"

local function local_byte(b)                  -- [%w%._%+%-]
  return (b >= 48 and b <= 57) or (b >= 65 and b <= 90) or (b >= 97 and b <= 122)
      or b == 46 or b == 95 or b == 43 or b == 45
end
local function alnum(b) return (b >= 48 and b <= 57) or (b >= 65 and b <= 90) or (b >= 97 and b <= 122) end

-- the first address at or after init: s, e | nil (what string.find(text, pattern, init) finds)
local function email_at(text, init)
  while true do
    local at = find(text, "@", init, true)
    if not at then return nil end
    -- the run of local-part characters before the @ (not before init); it
    -- starts at its first letter or digit
    local q = at
    while q > init and local_byte(byte(text, q - 1)) do q = q - 1 end
    while q < at and not alnum(byte(text, q)) do q = q + 1 end
    if q < at then
      local _, e = find(text, DOMAIN, at + 1)
      if e then return q, e end
    end
    init = at + 1
  end
end

function M.email(text)
  if type(text) ~= "string" then error("extract.email: text must be a string", 2) end
  local init = 1
  while true do
    local s, e = email_at(text, init)
    if not s then return nil end
    local m = sub(text, s, e)
    local tld = m:match("%.(%a+)$")
    if tld and #tld >= 2 and not find(m, "..", 1, true) and not find(m, ".@", 1, true) then return lower(m) end
    init = e + 1
  end
end

-- ---- phones ----------------------------------------------------------------

-- s with every range of spans ({a, b}, in order, not overlapping) made "#"s
local function blank_all(s, spans)
  if #spans == 0 then return s end
  local out, last = {}, 1
  for _, sp in ipairs(spans) do
    out[#out + 1] = sub(s, last, sp[1] - 1)
    out[#out + 1] = rep("#", sp[2] - sp[1] + 1)
    last = sp[2] + 1
  end
  out[#out + 1] = sub(s, last)
  return concat(out)
end

-- s with every match of pat blanked, matches searched left to right
-- (a match never depends on the bytes of an earlier one: each starts with
-- a digit or a letter and the earlier ends on a non-digit's frontier or
-- before an @ run)
local function mask_all(s, pat)
  local spans, init = {}, 1
  while true do
    local a, b
    if pat == "email" then a, b = email_at(s, init) else a, b = find(s, pat, init) end
    if not a then return blank_all(s, spans) end
    spans[#spans + 1] = { a, b }
    init = b + 1
  end
end

-- the text with dates, times, plates and emails blanked out, so their digits are not read
local function masked(text)
  local spans = {}
  for _, p in ipairs(plates_of(text)) do spans[#spans + 1] = { p.s, p.e } end
  local s = blank_all(text, spans)
  s = mask_all(s, "email")
  s = mask_all(s, "%f[%d]%d%d%d%d%-%d%d?%-%d%d?%f[%D]")
  s = mask_all(s, "%f[%d]%d%d?[/%.%-]%d%d?[/%.%-]%d%d%d?%d?%f[%D]")
  s = mask_all(s, "%f[%d]%d%d?/%d%d?%f[%D]")
  s = mask_all(s, "%f[%d]%d%d?:%d%d%f[%D]")
  return lower(s)
end

-- ten digits of an Indian mobile from a digit string, or nil
-- (10 digits, or 11 to 14 with a 0, 91, 910 or 0091 in front)
local MIN_DIGITS, MAX_DIGITS = 10, 14
local function mobile(d)
  if #d == 14 and sub(d, 1, 4) == "0091" then d = sub(d, 5)
  elseif #d == 13 and sub(d, 1, 3) == "910" then d = sub(d, 4)
  elseif #d == 12 and sub(d, 1, 2) == "91" then d = sub(d, 3)
  elseif #d == 11 and sub(d, 1, 1) == "0" then d = sub(d, 2) end
  if #d == 10 and find(d, "^[6-9]") and not find(d, "^(%d)%1%1%1%1%1%1%1%1%1$") then return d end
  return nil
end

local PRICE_BEFORE = { "rs%.? *$", "inr *$", "\226\130\185 *$", "rupees *$", "price *$", "cost *$" }

-- digit groups of one phone-like run starting at st: {"98765", "43210"}, end | nil, end
local function run_at(s, st)
  local j, groups = st, {}
  if sub(s, j, j) == "+" then j = j + 1; if sub(s, j, j) == " " then j = j + 1 end end
  while true do
    local g, k = s:match("^(%d+)()", j)
    if not g then break end
    if find(sub(s, k, k), "%a") then                       -- "10am", "1234ab": not part of a number
      if #groups == 0 then return nil, k end
      break
    end
    groups[#groups + 1] = g
    j = k
    local k2 = s:match("^[ %-%(%)]+()", k)
    if not k2 or k2 - k > 3 or not find(s, "^%d", k2) then break end
    j = k2
  end
  if #groups == 0 then return nil, j + 1 end
  return groups, j
end

function M.phone_in(text)
  if type(text) ~= "string" then error("extract.phone_in: text must be a string", 2) end
  local s = masked(text)
  local invalid, init = false, 1
  while true do
    local st = find(s, "[%+%d]", init)
    if not st then break end
    local groups, nxt = nil, st + 1
    local before = sub(s, math.max(1, st - 8), st - 1)
    local priced = false
    for _, p in ipairs(PRICE_BEFORE) do if find(before, p) then priced = true end end
    local decimal = sub(s, st - 1, st - 1) == "." and find(sub(s, st - 2, st - 2), "%d")
    if not find(sub(s, st - 1, st - 1), "[%w#]") and not decimal and not priced then
      groups, nxt = run_at(s, st)
    end
    if groups then
      -- the whole run, else its longest valid stretch of groups ("12 98765 43210");
      -- a number has 10 to 14 digits, so only stretches of up to 14 groups
      -- with that many digits are tried
      local upto = { [0] = 0 }
      for g = 1, #groups do upto[g] = upto[g - 1] + #groups[g] end
      for len = math.min(#groups, MAX_DIGITS), 1, -1 do
        for a = 1, #groups - len + 1 do
          local digits = upto[a + len - 1] - upto[a - 1]
          if digits >= MIN_DIGITS and digits <= MAX_DIGITS then
            local m = mobile(concat(groups, "", a, a + len - 1))
            if m then return m end
          end
        end
      end
      local n = upto[#groups]
      if n >= 7 and n <= 13 and not find(s, "^ *rs", nxt) and not find(s, "^/%-", nxt) then invalid = true end
    end
    init = math.max(nxt, st + 1)
    while find(s, "^%d", init) do init = init + 1 end
  end
  if invalid then return nil, "invalid" end
  return nil
end

return M

--- text.ids: Indian mobile numbers, vehicle registration plates and email
--- addresses in a message. Reached through text.extract; the rules are in
--- docs/language.md.
--
--   ids.phone_in(text) -> "9876543210" | nil, "invalid" | nil
--   ids.plate_in(text) -> "MH12AB1234" | nil, "invalid" | nil
--   ids.email(text)    -> "rahul@example.com" | nil
--   ids.plates(text)   -> list of {s, e, plate = "MH12AB1234" | false} (false: plate-shaped, wrong)
--
-- Pure; none of these yield.
local M = {}

local find, sub, upper, lower, rep = string.find, string.sub, string.upper, string.lower, string.rep
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

function M.plates(text)
  local cs, out = chunks(text), {}
  local i = 1
  while i <= #cs do
    local best, best_k
    for k = 1, 4 do
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
      local first = upper(cs[i].w)
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

function M.plate_in(text)
  if type(text) ~= "string" then error("extract.plate_in: text must be a string", 2) end
  local invalid = false
  for _, p in ipairs(M.plates(text)) do
    if p.plate then return p.plate end
    invalid = true
  end
  if invalid then return nil, "invalid" end
  return nil
end

-- ---- email -----------------------------------------------------------------

local EMAIL = "[%w][%w%._%+%-]*@[%w][%w%-]*%.[%w%.%-]*%a"

function M.email(text)
  if type(text) ~= "string" then error("extract.email: text must be a string", 2) end
  local init = 1
  while true do
    local s, e = find(text, EMAIL, init)
    if not s then return nil end
    local m = sub(text, s, e)
    local tld = m:match("%.(%a+)$")
    if tld and #tld >= 2 and not find(m, "%.%.") and not find(m, "%.@") then return lower(m) end
    init = e + 1
  end
end

-- ---- phones ----------------------------------------------------------------

local function blank(s, a, b) return sub(s, 1, a - 1) .. rep("#", b - a + 1) .. sub(s, b + 1) end

local function mask_all(s, pat)
  local init = 1
  while true do
    local a, b = find(s, pat, init)
    if not a then return s end
    s, init = blank(s, a, b), b + 1
  end
end

-- the text with dates, times, plates and emails blanked out, so their digits are not read
local function masked(text)
  local s = text
  for _, p in ipairs(M.plates(text)) do s = blank(s, p.s, p.e) end
  s = mask_all(s, EMAIL)
  s = mask_all(s, "%f[%d]%d%d%d%d%-%d%d?%-%d%d?%f[%D]")
  s = mask_all(s, "%f[%d]%d%d?[/%.%-]%d%d?[/%.%-]%d%d%d?%d?%f[%D]")
  s = mask_all(s, "%f[%d]%d%d?/%d%d?%f[%D]")
  s = mask_all(s, "%f[%d]%d%d?:%d%d%f[%D]")
  return lower(s)
end

-- ten digits of an Indian mobile from a digit string, or nil
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
      -- the whole run, else its longest valid stretch of groups ("12 98765 43210")
      for len = #groups, 1, -1 do
        for a = 1, #groups - len + 1 do
          local m = mobile(concat(groups, "", a, a + len - 1))
          if m then return m end
        end
      end
      local n = #concat(groups)
      if n >= 7 and n <= 13 and not find(s, "^ *rs", nxt) and not find(s, "^/%-", nxt) then invalid = true end
    end
    init = math.max(nxt, st + 1)
    while find(s, "^%d", init) do init = init + 1 end
  end
  if invalid then return nil, "invalid" end
  return nil
end

return M

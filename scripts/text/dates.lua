--- text.dates: the date a message names ("kal", "next friday", "25th",
--- "25/12", "dec 25", "mañana", "el próximo lunes", "15 de diciembre").
--- Reached through text.extract; the rules are in docs/language.md.
--- Spanish words are looked up with their accents folded (words.fold), so
--- "miércoles" and "miercoles" are one word.
--
--   dates.date(text, {now = t, zone = "Asia/Kolkata"}) -> "YYYY-MM-DD", matched | nil
--
-- Pure: "today" is the calendar day of opts.now (epoch seconds) in opts.zone.
-- Time is linear in the length of the text (sorting the dates found aside).
-- Does not yield.
local tz = require "tz"
local words = require "text.words"
local fuzzy = require "text.fuzzy"

local M = {}

local lower, sub, find, tonumber, type = string.lower, string.sub, string.find, tonumber, type
local days_from_civil, civil_from_days, days_in_month = tz.days_from_civil, tz.civil_from_days, tz.days_in_month

-- ---- vocabulary --------------------------------------------------------------

local RELATIVE = {
  today = 0, tonight = 0, aaj = 0, ["आज"] = 0,
  tomorrow = 1, tmrw = 1, tmr = 1, tmrow = 1, tomo = 1, tom = 1, ["2moro"] = 1, ["2morrow"] = 1,
  ["2mrw"] = 1, kal = 1, ["कल"] = 1,
  parso = 2, parson = 2, parsoon = 2, parsho = 2, overmorrow = 2, ["परसों"] = 2,
  yesterday = -1,
  hoy = 0, manana = 1, mnana = 1, manna = 1, maana = 1, ayer = -1,
}
-- "mañana" after "la"/"esta" is the morning ("en la mañana"), not tomorrow
local MANANA = words.set("manana mnana manna maana")
local THE_DAYPART = words.set("la las esta")
local TODAY_PARTS = words.set("manana tarde noche")
local RELATIVE_FUZZY = { tomorrow = 1, yesterday = -1, overmorrow = 2 }

local WEEKDAYS = {
  monday = 1, tuesday = 2, wednesday = 3, thursday = 4, friday = 5, saturday = 6, sunday = 7,
  mon = 1, tue = 2, tues = 2, wed = 3, weds = 3, thu = 4, thur = 4, thurs = 4, fri = 5, sat = 6, sun = 7,
  somvar = 1, somvaar = 1, somwar = 1, mangalvar = 2, mangalwar = 2, budhvar = 3, budhwar = 3,
  guruvar = 4, guruwar = 4, brihaspativar = 4, shukravar = 5, shukrawar = 5, shanivar = 6,
  shaniwar = 6, ravivar = 7, raviwar = 7, itvaar = 7, itwar = 7, etvaar = 7,
  ["सोमवार"] = 1, ["मंगलवार"] = 2, ["बुधवार"] = 3, ["गुरुवार"] = 4, ["शुक्रवार"] = 5,
  ["शनिवार"] = 6, ["रविवार"] = 7,
  lunes = 1, martes = 2, miercoles = 3, jueves = 4, viernes = 5, sabado = 6, domingo = 7,
  lun = 1, mie = 3, mier = 3, jue = 4, vie = 5, sab = 6, dom = 7,
}
local WEEKDAYS_FUZZY = { monday = 1, tuesday = 2, wednesday = 3, thursday = 4, friday = 5,
                         saturday = 6, sunday = 7, somvar = 1, mangalvar = 2, budhvar = 3,
                         guruvar = 4, shukravar = 5, shanivar = 6, ravivar = 7,
                         martes = 2, miercoles = 3, jueves = 4, viernes = 5, sabado = 6, domingo = 7 }
-- abbreviations that are also English words: a weekday only after a cue word or alone
local AMBIGUOUS_DAY = { sat = true, sun = true, wed = true, mon = true, tom = true,
                        lun = true, mie = true, vie = true, sab = true, dom = true }

local MONTHS = {
  january = 1, february = 2, march = 3, april = 4, may = 5, june = 6, july = 7, august = 8,
  september = 9, october = 10, november = 11, december = 12,
  jan = 1, feb = 2, mar = 3, apr = 4, jun = 6, jul = 7, aug = 8, sep = 9, sept = 9, oct = 10,
  nov = 11, dec = 12,
  enero = 1, febrero = 2, marzo = 3, abril = 4, mayo = 5, junio = 6, julio = 7, agosto = 8,
  septiembre = 9, setiembre = 9, octubre = 10, noviembre = 11, diciembre = 12,
  ene = 1, abr = 4, dic = 12,
}
local MONTHS_FUZZY = { january = 1, february = 2, march = 3, april = 4, june = 6, july = 7,
                       august = 8, september = 9, october = 10, november = 11, december = 12,
                       febrero = 2, agosto = 8, septiembre = 9, octubre = 10, noviembre = 11,
                       diciembre = 12 }

local NUMBERS = { a = 1, an = 1, one = 1, two = 2, three = 3, four = 4, five = 5, six = 6,
                  seven = 7, eight = 8, nine = 9, ten = 10, couple = 2, ek = 1, ["do"] = 2, teen = 3,
                  char = 4, paanch = 5,
                  un = 1, uno = 1, una = 1, dos = 2, tres = 3, cuatro = 4, cinco = 5, seis = 6, siete = 7,
                  ocho = 8, nueve = 9, diez = 10, quince = 15 }
local DAY_UNITS = words.set("day days din dia dias")
local WEEK_UNITS = words.set("week weeks hafte semana semanas")
-- "in 3 days": the words that open it ("dentro de": "de" is skipped)
local IN_WORDS = words.set("in after within en dentro")
-- "the 25th", "el 15", "el día 15"
local THE = words.set("the el")
local NEXT = words.set("next agle proximo proxima siguiente")
local THIS = words.set("this coming is este esta")

local ORDINAL = words.set("st nd rd th")
local DAY_CUES = words.set([[on this next coming by till until before after agle is aane wale
  el este proximo siguiente para hasta antes despues desde]])

-- ---- dates -----------------------------------------------------------------

local relative_fuzzy = fuzzy.lookup_fn(RELATIVE_FUZZY)
local near = { [WEEKDAYS_FUZZY] = fuzzy.lookup_fn(WEEKDAYS_FUZZY), [MONTHS_FUZZY] = fuzzy.lookup_fn(MONTHS_FUZZY) }

local fold = words.fold

local function lookup(w, exact, fuzzy_map)
  local v = exact[w]
  if v then return v end
  w = fold(w)
  v = exact[w]
  if v then return v end
  if fuzzy_map and #w >= 5 then return (near[fuzzy_map](w)) end
  return nil
end

-- "25", "25th", "1st" -> 25 | nil; the ordinal suffix may be its own token ("25 th")
local function day_number(toks, i)
  local t = toks[i]
  if not t then return nil end
  local d, suf = t.w:match("^(%d%d?)(%a*)$")
  d = tonumber(d)
  if not d or d < 1 or d > 31 then return nil end
  if suf == "" then
    local nt = toks[i + 1]
    if nt and ORDINAL[nt.w] and nt.s <= t.e + 2 then return d, i + 1, true end
    return d, i, false
  end
  if ORDINAL[suf] then return d, i, true end
  return nil
end

local function year_at(toks, i)
  local t = toks[i]
  if t and t.digits and #t.w == 4 then
    local y = tonumber(t.w)
    if y >= 1900 and y <= 2200 then return y, i end
  end
  return nil
end

-- y, m, d valid?
local function valid(y, m, d) return m >= 1 and m <= 12 and d >= 1 and d <= days_in_month(y, m) end

-- next (m, d) on or after today (y0, m0, d0); tries a few years for 29 Feb
local function next_md(y0, m0, d0, m, d)
  local y = y0
  if m < m0 or (m == m0 and d < d0) then y = y + 1 end
  for _ = 1, 8 do
    if valid(y, m, d) then return days_from_civil(y, m, d) end
    y = y + 1
  end
  return nil
end

-- "the 25th": this month if not passed, else the next month that has that day
local function next_day_of_month(y0, m0, d0, d)
  local y, m = y0, m0
  if d < d0 then m = m + 1 end
  for _ = 1, 3 do
    if m > 12 then y, m = y + 1, m - 12 end
    if valid(y, m, d) then return days_from_civil(y, m, d) end
    m = m + 1
  end
  return nil
end

-- numeric dates: 2026-12-25, 25/12/2026, 25-12-26, 25.12.26, 25/12 -> add(s, e, day, kind)
local function numeric_dates(s, lt, add)
  local y0, m0, d0 = lt.year, lt.month, lt.day
  local init = 1
  while true do
    local st, en, y, m, d = find(s, "(%d%d%d%d)%-(%d%d?)%-(%d%d?)", init)
    if not st then break end
    init = st + 1
    if not find(sub(s, st - 1, st - 1), "[%w%-/%.]") and not find(sub(s, en + 1, en + 1), "[%w]") then
      y, m, d = tonumber(y), tonumber(m), tonumber(d)
      if valid(y, m, d) then add(st, en, days_from_civil(y, m, d), "explicit") end
    end
  end
  init = 1
  while true do
    local st, en, a, sep, b, y = find(s, "(%d%d?)([/%.%-])(%d%d?)%2(%d+)", init)
    if not st then break end
    init = st + 1
    if not find(sub(s, st - 1, st - 1), "[%w/%.%-]") and not find(sub(s, en + 1, en + 2), "^[%w]")
       and not find(sub(s, en + 1, en + 2), "^[/%.%-]%d") and (#y == 2 or #y == 4) then
      a, b, y = tonumber(a), tonumber(b), tonumber(y)
      if y < 100 then y = 2000 + y end
      if valid(y, b, a) then add(st, en, days_from_civil(y, b, a), "explicit")
      elseif b > 12 and valid(y, a, b) then add(st, en, days_from_civil(y, a, b), "explicit") end
    end
  end
  init = 1
  while true do
    local st, en, a, b = find(s, "(%d%d?)/(%d%d?)", init)
    if not st then break end
    init = st + 1
    if not find(sub(s, st - 1, st - 1), "[%w/%.%-]") and not find(sub(s, en + 1, en + 1), "[%w/]") then
      a, b = tonumber(a), tonumber(b)
      local day = (b <= 12 and next_md(y0, m0, d0, b, a)) or (b > 12 and a <= 12 and next_md(y0, m0, d0, a, b))
      add(st, en, day or nil, "explicit")
    end
  end
end

-- dates in words: today, kal, in 3 days, friday, next mon, 25th, 25 dec, dec 25 2026
local function word_dates(toks, today, lt, add)
  local y0, m0, d0 = lt.year, lt.month, lt.day
  local n = #toks
  for i = 1, n do
    local t = toks[i]
    local w = fold(t.w)
    local prev = toks[i - 1] and fold(toks[i - 1].w)
    -- relative words ("la mañana" is a part of the day; "esta tarde" is today)
    local rel = RELATIVE[w]
    if rel == nil and #w >= 6 and t.alpha then rel = relative_fuzzy(w) end
    if MANANA[w] and THE_DAYPART[prev] then rel = nil end
    if rel ~= nil and not (AMBIGUOUS_DAY[w] and n > 3) then
      if rel == 1 and prev == "pasado" then add(toks[i - 1].s, t.e, today + 2, "relative")
      else add(t.s, t.e, today + rel, "relative") end
    end
    if (w == "esta" or w == "hoy") and toks[i + 1] and TODAY_PARTS[fold(toks[i + 1].w)] then
      add(t.s, toks[i + 1].e, today, "relative")
    end
    if w == "day" and toks[i + 1] and toks[i + 2] then
      local w1, w2 = toks[i + 1].w, toks[i + 2].w
      local r2 = RELATIVE[w2] or (#w2 >= 6 and relative_fuzzy(w2))
      if w1 == "after" and r2 == 1 then add(t.s, toks[i + 2].e, today + 2, "relative") end
      if w1 == "before" and r2 == -1 then add(t.s, toks[i + 2].e, today - 2, "relative") end
    end
    -- in 3 days / after 2 weeks / 3 days later / 3 din baad
    if IN_WORDS[w] and toks[i + 1] then
      local j = i + 1
      if w == "dentro" and toks[j].w == "de" and toks[j + 1] then j = j + 1 end
      local k = tonumber(toks[j].w) or NUMBERS[toks[j].w]
      if toks[j].w == "a" and toks[j + 1] and toks[j + 1].w == "couple" then k, j = 2, j + 1 end
      if toks[j].w == "un" and toks[j + 1] and toks[j + 1].w == "par" then k, j = 2, j + 1 end
      if k and toks[j + 1] and (toks[j + 1].w == "of" or toks[j + 1].w == "de") then j = j + 1 end
      local unit = toks[j + 1] and fold(toks[j + 1].w)
      if k and DAY_UNITS[unit] then add(t.s, toks[j + 1].e, today + k, "relative")
      elseif k and WEEK_UNITS[unit] then add(t.s, toks[j + 1].e, today + 7 * k, "relative") end
    end
    local k = tonumber(w) or NUMBERS[w]
    if k and toks[i + 1] and (toks[i + 1].w == "days" or toks[i + 1].w == "din") and toks[i + 2] then
      local w2 = toks[i + 2].w
      if w2 == "later" or w2 == "baad" or w2 == "bad" or (w2 == "from" and toks[i + 3] and toks[i + 3].w == "now") then
        add(t.s, toks[w2 == "from" and i + 3 or i + 2].e, today + k, "relative")
      end
    end
    -- weekdays, with this / next / coming
    local wd = t.alpha and lookup(t.w, WEEKDAYS, WEEKDAYS_FUZZY)
    if wd then
      if not AMBIGUOUS_DAY[w] or DAY_CUES[prev] or n <= 2 then
        local delta = (wd - lt.wday) % 7
        local st, en = t.s, t.e
        local n1, n2 = toks[i + 1] and fold(toks[i + 1].w), toks[i + 2] and toks[i + 2].w
        local after = (n1 == "que" and n2 == "viene" and i + 2) or (NEXT[n1] and n1 ~= "agle" and i + 1)
        if NEXT[prev] or after then                   -- next friday, el lunes que viene
          if delta == 0 then delta = 7 end
          if NEXT[prev] then st = toks[i - 1].s end
          if after then en = toks[after].e end
        elseif THIS[prev] then
          st = toks[i - 1].s
        end
        add(st, en, today + delta, "weekday")
      end
    end
    -- 25th, the 25th, 25 dec [2026], 25th of december, dec 25[th][, 2026]
    local d, j, ordinal = day_number(toks, i)
    if d then
      local mi = j + 1
      if toks[mi] and (toks[mi].w == "of" or toks[mi].w == "de") then mi = mi + 1 end
      local m = toks[mi] and toks[mi].alpha and lookup(toks[mi].w, MONTHS, MONTHS_FUZZY)
      if m then
        local yat = mi + 1
        if toks[yat] and toks[yat].w == "de" then yat = yat + 1 end   -- 15 de diciembre de 2026
        local y, yi = year_at(toks, yat)
        if y then
          if valid(y, m, d) then add(t.s, toks[yi].e, days_from_civil(y, m, d), "explicit") end
        else
          add(t.s, toks[mi].e, next_md(y0, m0, d0, m, d), "explicit")
        end
      elseif ordinal or THE[prev] or ((prev == "dia") and THE[toks[i - 2] and toks[i - 2].w]) then
        local st = THE[prev] and toks[i - 1].s or (prev == "dia" and toks[i - 2].s) or t.s
        add(st, toks[j].e, next_day_of_month(y0, m0, d0, d), "explicit")
      end
    end
    local m = t.alpha and lookup(w, MONTHS, MONTHS_FUZZY)
    if m then
      local d2, j2 = day_number(toks, i + 1)
      if d2 then
        local y, yi = year_at(toks, j2 + 1)
        if y then
          if valid(y, m, d2) then add(t.s, toks[yi].e, days_from_civil(y, m, d2), "explicit") end
        else
          add(t.s, toks[j2].e, next_md(y0, m0, d0, m, d2), "explicit")
        end
      end
    end
  end
end

function M.date(text, opts)
  if type(text) ~= "string" then error("extract.date: text must be a string", 2) end
  if type(opts) ~= "table" or type(opts.now) ~= "number" then
    error("extract.date: opts.now must be epoch seconds", 2)
  end
  if type(opts.zone) ~= "string" and type(opts.zone) ~= "table" then
    error("extract.date: opts.zone must be a zone name such as \"Asia/Kolkata\"", 2)
  end
  if not tz.zone(opts.zone) then error("extract.date: unknown zone " .. tostring(opts.zone), 2) end
  local lt = tz.local_time(opts.now, opts.zone)
  local today = days_from_civil(lt.year, lt.month, lt.day)
  local s = lower(text)
  -- candidates: {s, e (bytes), day (days since epoch), kind = "explicit" | "relative" | "weekday"}
  local cands = {}
  local function add(st, en, day, kind)
    if day then cands[#cands + 1] = { s = st, e = en, day = day, kind = kind } end
  end
  numeric_dates(s, lt, add)
  word_dates(words.cached(text), today, lt, add)
  if #cands == 0 then return nil end
  table.sort(cands, function(a, b)
    if a.s ~= b.s then return a.s < b.s end
    return a.e > b.e
  end)
  local c = cands[1]
  -- "friday 25th dec", "fri, the 25th": the explicit date that follows wins
  if c.kind == "weekday" then
    local gap_end = select(2, find(s, "^[%s,]*", c.e + 1))       -- only spaces and commas between
    for _, o in ipairs(cands) do
      if o.kind == "explicit" and o.s > c.e and gap_end == o.s - 1 then
        c = { s = c.s, e = o.e, day = o.day }
        break
      end
    end
  end
  local y, m, d = civil_from_days(c.day)
  return ("%04d-%02d-%02d"):format(y, m, d), sub(text, c.s, c.e)
end

return M

--- text.clock: the time of day a message names ("10am", "at 3", "saade 10",
--- "shaam 5 baje", "शाम 6 बजे", "a las 4 de la tarde", "a las 5 y media",
--- "17 hrs") and the part of the day ("evening", "en la tarde"). Reached
--- through text.extract; the rules are in docs/language.md.
--
--   clock.time(text, opts?) -> minutes after midnight, matched | nil
--       opts.hours: opening hours of that day, {"10:00-14:00", "15:00-20:00"}
--       (the booking engine's spans); opts.prefer: "morning" | "afternoon".
--       They settle an hour said without am/pm or a part of the day: the
--       reading inside the hours wins when only one of the two is inside,
--       else opts.prefer, else the default rule (1-7 pm, 8-11 am, 12 noon).
--   clock.daypart(text) -> "morning" | "afternoon" | "evening" | nil
--
-- Time is linear in the length of the text (the words around a number are
-- found by bisection). Pure; neither yields.
local words = require "text.words"
local fuzzy = require "text.fuzzy"

local M = {}

local sub, find, lower, tonumber, type, ipairs = string.sub, string.find, string.lower, tonumber, type, ipairs

local DAYPARTS = {
  morning = "morning", mrng = "morning", morn = "morning", subah = "morning", subha = "morning",
  savere = "morning", sawere = "morning", ["सुबह"] = "morning",
  afternoon = "afternoon", dopahar = "afternoon", dopehar = "afternoon", dupahar = "afternoon",
  dophar = "afternoon", ["दोपहर"] = "afternoon",
  evening = "evening", eve = "evening", evng = "evening", eveng = "evening", shaam = "evening",
  sham = "evening", ["शाम"] = "evening", tonight = "evening",
  night = "night", raat = "night", ["रात"] = "night",
  -- Spanish ones count after an article ("de la tarde", "en la noche", "esta mañana")
  manana = "morning", tarde = "afternoon", noche = "night", madrugada = "night", temprano = "morning",
}
local AFTER_ARTICLE = words.set("manana tarde noche madrugada")
local ARTICLE = words.set("la las esta")
-- "5 de la tarde", "5 en la noche", "5 por la mañana": the words between
local LINK = words.set("de en por")
local DAYPARTS_FUZZY = { morning = "morning", afternoon = "afternoon", evening = "evening",
                         dopahar = "afternoon" }
local dayparts_fuzzy = fuzzy.lookup_fn(DAYPARTS_FUZZY)
local GREETING = words.set("good gud shubh")

local TIME_CUES = words.set([[at by around before after till until from abt about approx approximately
  las tipo]])
-- "a las 5 y media", "a las 6 menos cuarto", "a las 5 y 10"
local ES_MINUTES = { media = 30, cuarto = 15, diez = 10, quince = 15, veinte = 20, cinco = 5,
                     veinticinco = 25, ["10"] = 10, ["15"] = 15, ["20"] = 20, ["30"] = 30,
                     ["40"] = 40, ["45"] = 45, ["5"] = 5, ["25"] = 25, ["50"] = 50 }
local ES_HOURS = { una = 1, dos = 2, tres = 3, cuatro = 4, cinco = 5, seis = 6, siete = 7, ocho = 8,
                   nueve = 9, diez = 10, once = 11, doce = 12 }
local fold = words.fold
local UNITS = words.set([[day days week weeks month months year years hour hours hr hrs min mins
  minute minutes din ghante ghanta people person persons car cars bike bikes km kms rs rupees
  percent times th st nd rd lakh k]])
local HOUR_WORDS = { one = 1, two = 2, three = 3, four = 4, five = 5, six = 6, seven = 7,
                     eight = 8, nine = 9, ten = 10, eleven = 11, twelve = 12 }

local function daypart_of(toks, i)
  local t = toks[i]
  if not t or not t.alpha or #t.w < 3 then return nil end
  local w = fold(t.w)
  local p = DAYPARTS[w]
  if not p and #w >= 6 then p = dayparts_fuzzy(w) end
  if p and toks[i - 1] and GREETING[toks[i - 1].w] then return nil end
  if p and AFTER_ARTICLE[w] and not (toks[i - 1] and ARTICLE[toks[i - 1].w]) then return nil end
  return p
end

-- how many tokens end before byte st (tokens are in text order)
local function ending_before(toks, st)
  local lo, hi = 0, #toks
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if toks[mid].e < st then lo = mid else hi = mid - 1 end
  end
  return lo
end

-- the part of the day named within two words before or three after bytes st..en
-- (tokens before the last two ending before st can match neither case: start there)
local function context(toks, st, en)
  for i = math.max(1, ending_before(toks, st) - 1), #toks do
    local t = toks[i]
    if t.e < st and toks[i + 1] and (toks[i + 1].s >= st or (toks[i + 2] and toks[i + 2].s >= st)) then
      local p = daypart_of(toks, i)
      if p then return p end
    elseif t.s > en then
      for k = i, i + 2 do
        local p = daypart_of(toks, k)
        if p then return p end
      end
      return nil
    end
  end
  return nil
end

-- is a bare hour right next to a part of the day? "shaam 5", "5 evening", "5 in the evening"
local function beside_part(toks, st, en)
  for i = math.max(1, ending_before(toks, st)), #toks do
    local t = toks[i]
    if t.e < st and toks[i + 1] and toks[i + 1].s >= st then
      if daypart_of(toks, i) then return true end
    elseif t.s > en then
      if t.w == "in" and toks[i + 1] and toks[i + 1].w == "the" then return daypart_of(toks, i + 2) ~= nil end
      if LINK[t.w] and toks[i + 1] and toks[i + 1].w == "la" then return daypart_of(toks, i + 2) ~= nil end
      return daypart_of(toks, i) ~= nil
    end
  end
  return false
end

-- "10:00-14:00" spans -> is minute x inside one of them?
local function inside(spans, x)
  for _, sp in ipairs(spans) do
    local h1, m1, h2, m2 = sp:match("^(%d%d?):(%d%d)%-(%d%d?):(%d%d)$")
    if h1 and x >= h1 * 60 + m1 and x < h2 * 60 + m2 then return true end
  end
  return false
end

-- a 12-hour clock reading without am/pm: the part of the day decides, else
-- the opening hours or the caller's preference (opts), else
-- 1-7 -> afternoon/evening (13:00-19:00), 8-11 -> morning, 12 -> noon;
-- a leading zero ("07:30") or an hour over 12 is read as 24-hour time
local function resolve(h, m, zero, part, opts)
  if zero or h == 0 or h > 12 then return h * 60 + m end
  if not part and opts and h < 12 then
    local am, pm = h * 60 + m, (h + 12) * 60 + m
    if opts.hours then
      local a, p = inside(opts.hours, am), inside(opts.hours, pm)
      if a and not p then return am end
      if p and not a then return pm end
    end
    if opts.prefer == "morning" then return am end
    if opts.prefer == "afternoon" or opts.prefer == "evening" then return pm end
  end
  if part == "morning" then return (h % 12) * 60 + m end
  if part == "afternoon" or part == "evening" then return (h % 12 + 12) * 60 + m end
  if part == "night" then
    if h == 12 then return m end
    if h <= 4 then return h * 60 + m end
    return (h + 12) * 60 + m
  end
  if h <= 7 then return (h + 12) * 60 + m end
  return h * 60 + m
end

local function ampm_at(s, j)
  local ap, k = s:match("^%s*([ap])%.?%s*m%.?()", j)
  if ap and not find(sub(s, k, k), "%a") then return ap, k end
  if s:find("^%s*noon", j) then return "n", j + #s:match("^%s*noon", j) end
  return nil
end

-- a clock reading starting at byte i (a digit): h, m, kind, end+1, zero
-- kind: "ampm" (m is final), "colon", "dot", "word" (o'clock, baje), "bare"
local function reading(s, i)
  local hs, j = s:match("^(%d%d?)()", i)
  if not hs or find(sub(s, j, j), "%d") then return nil end
  local h, m, kind = tonumber(hs), 0, "bare"
  local zero = #hs == 2 and sub(hs, 1, 1) == "0"
  local sep, mm, k = s:match("^([:%.])(%d%d)()", j)
  if mm then
    if find(sub(s, k, k), "%d") or (sep == "." and find(s, "^%.%d", k)) then return nil end
    m, j, kind = tonumber(mm), k, sep == ":" and "colon" or "dot"
    if m > 59 then return nil end
  elseif find(s, "^[:/%.]%d", j) then
    return nil
  end
  local ap, k2 = ampm_at(s, j)
  if not ap and kind == "bare" then                                   -- 10-11am, 10 to 11 am
    local h2, ap2, k3 = s:match("^%s*%-%s*(%d%d?)%s*([ap])%.?%s*m%.?()", j)
    if not h2 then h2, ap2, k3 = s:match("^%s+to%s+(%d%d?)%s*([ap])%.?%s*m%.?()", j) end
    if h2 and not find(sub(s, k3, k3), "%a") then ap, k2 = ap2, k3 end
  end
  if ap then
    if h < 1 or h > 12 then return nil end
    if ap == "n" then
      if h ~= 12 or kind ~= "bare" then return nil end
      return 12, m, "ampm", k2
    end
    return (h % 12) + (ap == "p" and 12 or 0), m, "ampm", k2
  end
  local w, k4 = s:match("^%s*(o'?%s?clock)()", j)
  if not w then w, k4 = s:match("^%s*(baje?y?)()", j) end
  if not w then w, k4 = s:match("^%s*(bje)()", j) end
  if not w then w, k4 = s:match("^%s*(\224\164\172\224\164\156\224\165\135)()", j) end   -- बजे
  if w and not find(sub(s, k4, k4), "%a") then kind, j = "word", k4 end
  if kind == "bare" then                                              -- 17 hrs, 9 horas: a 24-hour clock
    local k5 = s:match("^%s*hrs?%.?()", j) or s:match("^%s*horas?()", j)
    if k5 and not find(sub(s, k5, k5), "%a") then kind, j, zero = "hrs", k5, true end
  end
  if kind == "colon" then
    local hrs = s:match("^%s*hrs?%.?()", j) or s:match("^%s*hours()", j)
    if hrs then j = hrs end
  end
  if h > 23 or (kind == "ampm" or kind == "word") and h > 12 then return nil end
  return h, m, kind, j, zero
end

local FRACTIONS = { saade = 30, sade = 30, saadhe = 30, sadhe = 30, sava = 15, sawa = 15,
                    savaa = 15, paune = -15, pone = -15 }
local WHOLE = { dedh = { 1, 30 }, derh = { 1, 30 }, dhai = { 2, 30 }, dhaai = { 2, 30 },
                adhai = { 2, 30 }, dhaayi = { 2, 30 } }

-- "y media", "menos cuarto" after the hour token at i: h, m, last token | nil
local function es_minutes(toks, i, h)
  local y, q = toks[i + 1], toks[i + 2]
  if not (y and q) or (y.w ~= "y" and y.w ~= "menos") then return nil end
  local m = ES_MINUTES[q.w]
  if not m or (m == 30 and y.w == "menos") then return nil end
  if y.w == "menos" then return (h + 10) % 12 + 1, 60 - m, i + 2 end
  return h, m, i + 2
end

-- "cinco para las seis", "10 para las 5" (Mexican "to"): before the cue at i -> h, m, first byte | nil
local function es_to(toks, i, h)
  local p, q = toks[i - 1], toks[i - 2]
  if not (p and q) or p.w ~= "para" or not ES_MINUTES[q.w] or ES_MINUTES[q.w] == 30 then return nil end
  return (h + 10) % 12 + 1, 60 - ES_MINUTES[q.w], q.s
end

local function time_candidates(s, toks, opts)
  local out = {}
  local function add(st, en, h, m, kind, zero)
    if kind == "ampm" then out[#out + 1] = { s = st, e = en, min = h * 60 + m }; return end
    out[#out + 1] = { s = st, e = en, min = resolve(h, m, zero, context(toks, st, en), opts) }
  end
  -- readings that are times on their own: 10am, 10:30, 14:00, 5 baje, 3 o'clock
  local init = 1
  while true do
    local st = find(s, "%d", init)
    if not st then break end
    local en = st
    while find(sub(s, en + 1, en + 1), "%d") do en = en + 1 end
    init = en + 1
    if not find(sub(s, st - 1, st - 1), "[%w:/%.%-]") then
      local h, m, kind, j, zero = reading(s, st)
      if h and (kind == "ampm" or kind == "colon" or kind == "word" or (kind == "hrs" and h > 12)
                or beside_part(toks, st, j - 1)) then
        add(st, j - 1, h, m, kind, zero)
      end
    end
  end
  for i, t in ipairs(toks) do
    local w, nt = t.w, toks[i + 1]
    -- at 3, by 5.30, around 11
    -- a las 5, a la 1, a las cinco y media
    local cue = TIME_CUES[w] or (w == "la" and nt and (nt.w == "1" or nt.w == "una"))
    if cue and nt and nt.digits and #nt.w <= 2 and find(sub(s, t.e + 1, nt.s - 1), "^%s+$") then
      local h, m, kind, j, zero = reading(s, nt.s)
      local after = toks[i + 2]
      if kind == "hrs" and not (w == "las" or w == "la" or h > 12) then h = nil end   -- "after 2 hrs"
      local st = t.s
      if h and kind == "bare" and h <= 12 then
        local h2, m2, last = es_minutes(toks, i + 1, h)
        if h2 then h, m, j, after = h2, m2, toks[last].e + 1, nil end
        if m == 0 and w == "las" then
          local st2
          h2, m2, st2 = es_to(toks, i, h)
          if h2 then h, m, st = h2, m2, st2 end
        end
      end
      if h and not (kind == "bare" and after and after.s <= j + 1 and UNITS[after.w]) then
        add(st, j - 1, h, m, kind, zero)
      end
    elseif (w == "las" or w == "la") and nt and ES_HOURS[nt.w] and (ES_HOURS[nt.w] == 1) == (w == "la") then
      local h, m, last = es_minutes(toks, i + 1, ES_HOURS[nt.w])
      local st = t.s
      if not h then
        h, m, last = ES_HOURS[nt.w], 0, i + 1
        local h2, m2, st2 = es_to(toks, i, h)
        if h2 then h, m, st = h2, m2, st2 end
      end
      add(st, toks[last].e, h, m, "bare")
    end
    local fw = fold(w)
    if w == "noon" or w == "midday" or fw == "mediodia" then add(t.s, t.e, 12, 0, "ampm") end
    if w == "midnight" or w == "medianoche" then add(t.s, t.e, 0, 0, "ampm") end
    -- half past 10, quarter past 4, quarter to 6
    local nn = toks[i + 2]
    if (w == "half" or w == "quarter") and nt and (nt.w == "past" or nt.w == "to") and nn then
      local h = (nn.digits and tonumber(nn.w)) or HOUR_WORDS[nn.w]
      if h and h >= 1 and h <= 12 then
        local m = w == "half" and 30 or 15
        if nt.w == "to" then h, m = (h + 10) % 12 + 1, 60 - m end
        add(t.s, nn.e, h, m, "bare")
      end
    end
    -- saade 10 baje, paune 5, dedh baje
    local f = FRACTIONS[w]
    if f and nt and nt.digits and #nt.w <= 2 then
      local h = tonumber(nt.w)
      if h >= 1 and h <= 12 then
        local en = nt.e
        if toks[i + 2] and toks[i + 2].w:match("^baje?y?$") then en = toks[i + 2].e end
        if f < 0 then add(t.s, en, (h + 10) % 12 + 1, 60 + f, "bare") else add(t.s, en, h, f, "bare") end
      end
    end
    local whole = WHOLE[w]
    if whole and nt and nt.w:match("^baje?y?$") then add(t.s, nt.e, whole[1], whole[2], "bare") end
  end
  return out
end

function M.time(text, opts)
  if type(text) ~= "string" then error("extract.time: text must be a string", 2) end
  if opts ~= nil then
    if type(opts) ~= "table" then error("extract.time: opts must be a table or nil", 2) end
    if opts.hours ~= nil and type(opts.hours) ~= "table" then
      error("extract.time: opts.hours must be a list like {\"10:00-20:00\"}", 2)
    end
    local p = opts.prefer
    if p ~= nil and p ~= "morning" and p ~= "afternoon" and p ~= "evening" then
      error("extract.time: opts.prefer must be \"morning\" or \"afternoon\"", 2)
    end
  end
  local s = lower(text)
  local cands = time_candidates(s, words.cached(text), opts)
  if #cands == 0 then return nil end
  table.sort(cands, function(a, b)
    if a.s ~= b.s then return a.s < b.s end
    return a.e > b.e
  end)
  return cands[1].min, sub(text, cands[1].s, cands[1].e)
end

function M.daypart(text)
  if type(text) ~= "string" then error("extract.daypart: text must be a string", 2) end
  local toks = words.cached(text)
  for i = 1, #toks do
    local p = daypart_of(toks, i)
    if p then return p == "night" and "evening" or p end
  end
  return nil
end

return M

--- flow.hours: opening hours written the way people write them.
--
--   hours.day(text) -> spans | nil, problem
--       "8am-1pm, 2pm-8pm", "08:00-13:00", "9:30 am to 6 pm", "closed"
--       spans = { "08:00-13:00", "14:00-20:00" } (the booking engine's form;
--       {} when closed). problem is a sentence for the editor.
--   hours.week(decl) -> week | nil, problem, field
--       decl maps mon..sun (and every_day, weekdays = mon-fri, weekend =
--       sat+sun; a named day wins over a group) to day texts; week maps
--       mon..sun to spans; field names the entry that is wrong
--   hours.describe(week, lang) -> "every day 8 AM-1 PM, 2 PM-8 PM"
--       per language (flow.when), for the {hours} message variable
local when = require "flow.when"

local M = {}

local GROUPS = {
  every_day = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" },
  weekdays = { "mon", "tue", "wed", "thu", "fri" },
  weekend = { "sat", "sun" },
}
M.GROUPS = GROUPS

-- "8am", "8:30 pm", "8.30am", "noon", "08:00", "20:00" -> minutes after midnight
local function clock(s, is_end)
  s = s:lower():gsub("%s+", ""):gsub("%.m%.?$", "m")
  if s == "noon" then return 720 end
  if s == "midnight" then return is_end and 1440 or 0 end
  local h, m, ap = s:match("^(%d%d?)[:%.](%d%d)([ap])m?$")
  if not h then h, ap = s:match("^(%d%d?)([ap])m?$"); m = "0" end
  if h then
    h, m = tonumber(h), tonumber(m)
    if h < 1 or h > 12 or m > 59 then return nil end
    h = h % 12 + (ap == "p" and 12 or 0)
    if is_end and h == 0 and m == 0 then return 1440 end  -- "...-12am": until midnight
    return h * 60 + m
  end
  h, m = s:match("^(%d%d?):(%d%d)$")
  if not h then h, m = s:match("^(%d%d?)$"), "0" end
  h, m = tonumber(h), tonumber(m)
  if not h or m > 59 or h > 24 or (h == 24 and m > 0) then return nil end
  return h * 60 + m
end

local function hhmm(minutes) return ("%02d:%02d"):format(math.floor(minutes / 60), minutes % 60) end

local HOW = "write it like 9am-1pm or 09:00-13:00"

function M.day(text)
  if type(text) ~= "string" then
    return nil, ("'%s' is not opening hours; %s, or \"closed\""):format(tostring(text), HOW)
  end
  local plain = text:lower():gsub("^%s+", ""):gsub("%s+$", "")
  if plain == "closed" or plain == "" then return {} end
  plain = plain:gsub("\226\128[\147\148]", "-")          -- en and em dashes
  local spans = {}
  for part in (plain:gsub("%s+and%s+", ",") .. ","):gmatch("([^,;]*)[,;]") do
    part = part:gsub("^%s+", ""):gsub("%s+$", "")
    if part ~= "" then
      local a, b = part:match("^(.-)%s*%-%s*(.-)$")
      if not a then a, b = part:match("^(.-)%s+to%s+(.-)$") end
      local from, to = a and clock(a), b and clock(b, true)
      if not from or not to then return nil, ("'%s' is not a time range; %s"):format(part, HOW) end
      if to <= from then
        return nil, ("'%s' ends before it starts; %s (an end after midnight is not possible)"):format(part, HOW)
      end
      spans[#spans + 1] = { from, to }
    end
  end
  table.sort(spans, function(x, y) return x[1] < y[1] end)
  local out = {}
  for i, sp in ipairs(spans) do
    if i > 1 and sp[1] < spans[i - 1][2] then return nil, ("'%s' has times that overlap"):format(text) end
    out[i] = hhmm(sp[1]) .. "-" .. hhmm(sp[2])
  end
  return out
end

function M.week(decl)
  if type(decl) ~= "table" then
    return nil, "hours must list the days, e.g. hours = { every_day = \"9am-6pm\", sun = \"closed\" }", "hours"
  end
  local week = {}
  local function put(field, days)
    local spans, problem = M.day(decl[field])
    if not spans then return problem end
    for _, d in ipairs(days) do week[d] = spans end
  end
  for field in pairs(decl) do
    local known = GROUPS[field]
    for _, d in ipairs(when.WEEKDAYS) do known = known or d == field end
    if not known then
      return nil, ("'%s' is not a day; use mon, tue, wed, thu, fri, sat, sun, weekdays, weekend or every_day")
        :format(tostring(field)), field
    end
  end
  for _, g in ipairs{ "every_day", "weekdays", "weekend" } do       -- broad first, named days last
    if decl[g] ~= nil then
      local problem = put(g, GROUPS[g])
      if problem then return nil, problem, g end
    end
  end
  for _, d in ipairs(when.WEEKDAYS) do
    if decl[d] ~= nil then
      local problem = put(d, { d })
      if problem then return nil, problem, d end
    end
    week[d] = week[d] or {}                                -- a day not written is closed
  end
  return week
end

local SAY = {
  en = { every_day = "every day", closed = "closed", range = "%s-%s", join = ", " },
  hi = { every_day = "हर दिन", closed = "बंद", range = "%s से %s", join = ", " },
}

local function minutes(s)
  local h, m = s:match("^(%d+):(%d+)$")
  return tonumber(h) * 60 + tonumber(m)
end

local function day_text(spans, lang, say)
  if #spans == 0 then return say.closed end
  local out = {}
  for i, sp in ipairs(spans) do
    local a, b = sp:match("^(.-)%-(.-)$")
    out[i] = say.range:format(when.clock(minutes(a), lang, true), when.clock(minutes(b), lang, true))
  end
  return table.concat(out, say.join)
end

function M.describe(week, lang)
  local say = SAY[lang] or SAY.en
  local names = when.days(lang)
  local groups = {}                                       -- runs of days with the same hours
  for i, d in ipairs(when.WEEKDAYS) do
    local text = day_text(week[d] or {}, lang, say)
    local last = groups[#groups]
    if last and last.text == text then last.to = i
    else groups[#groups + 1] = { from = i, to = i, text = text } end
  end
  if #groups == 1 then return say.every_day .. " " .. groups[1].text end
  local out = {}
  for i, g in ipairs(groups) do
    local days = names[g.from] .. (g.to > g.from and ("-" .. names[g.to]) or "")
    out[i] = days .. ": " .. g.text
  end
  return table.concat(out, "; ")
end

return M

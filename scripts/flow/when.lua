--- flow.when: times and days as a customer reads them, per language.
--
--   when.clock(minutes, lang, short?) -> "10:30 AM" (en) | "सुबह 10:30" (hi)
--       minutes after local midnight (0..1440); short: "8 AM" for 8:00
--   when.time(t, zone, lang)  -> the same for an instant in a zone
--   when.day(date, lang)      -> "Tue 08 Dec" (en) | "मंगलवार, 8 दिसंबर" (hi)
--       date = "YYYY-MM-DD"; nil for anything else
--   when.at(t, zone, lang)    -> "Tue 08 Dec, 10:30 AM" | "मंगलवार, 8 दिसंबर, सुबह 10:30"
--   when.weekday(date) -> 1 (Monday) .. 7 (Sunday)
--   when.WEEKDAYS = { "mon", ..., "sun" }
--   when.days(lang) -> short weekday names, Monday first
--
-- Spanish (es): "jue 3 dic", 24-hour "17:00". A language without its own words here reads English. Nothing here
-- yields; it may be called anywhere.
local tz = require "tz"

local M = {}

M.WEEKDAYS = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" }

local WORDS = {
  en = {
    days = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" },
    months = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" },
  },
  es = {
    days = { "lun", "mar", "mié", "jue", "vie", "sáb", "dom" },
    months = { "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic" },
  },
  hi = {
    days = { "सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार", "शनिवार", "रविवार" },
    months = { "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर",
               "नवंबर", "दिसंबर" },
  },
}

local function words(lang) return WORDS[lang] or WORDS.en end

function M.days(lang) return words(lang).days end

-- Hindi says the part of the day instead of AM/PM
local function hindi_part(h)
  if h < 4 then return "रात" elseif h < 12 then return "सुबह" elseif h < 16 then return "दोपहर"
  elseif h < 20 then return "शाम" end
  return "रात"
end

function M.clock(minutes, lang, short)
  local hour, min = math.floor(minutes / 60) % 24, minutes % 60
  local h = hour % 12
  if h == 0 then h = 12 end
  local hm = (short and min == 0) and tostring(h) or ("%d:%02d"):format(h, min)
  if lang == "hi" then return hindi_part(hour) .. " " .. hm end
  if lang == "es" then return ("%d:%02d"):format(hour, min) end          -- 24-hour clock: "17:00"
  return hm .. " " .. (hour < 12 and "AM" or "PM")
end

function M.time(t, zone, lang)
  local lt = tz.local_time(t, zone)
  return M.clock(lt.hour * 60 + lt.min, lang)
end

local function ymd(date)
  local y, m, d = tostring(date):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  return tonumber(y), tonumber(m), tonumber(d)
end

function M.weekday(date)
  local y, m, d = ymd(date)
  if not y then return nil end
  local t = os.time{ year = y, month = m, day = d, hour = 12 }
  return (tonumber(os.date("!%w", t)) + 6) % 7 + 1       -- %w: 0 = Sunday
end

function M.day(date, lang)
  local y, m, d = ymd(date)
  if not y or m < 1 or m > 12 then return nil end
  local w = words(lang)
  local wd = M.weekday(date)
  if lang == "hi" then return ("%s, %d %s"):format(w.days[wd], d, w.months[m]) end
  if lang == "es" then return ("%s %d %s"):format(w.days[wd], d, w.months[m]) end
  return ("%s %02d %s"):format(w.days[wd], d, w.months[m])
end

function M.at(t, zone, lang)
  return M.day(tz.date(t, zone), lang) .. ", " .. M.time(t, zone, lang)
end

return M

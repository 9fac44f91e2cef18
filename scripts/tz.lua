--- tz: UTC instants <-> local wall time in any IANA zone, from the system's
--- zoneinfo (TZif files, RFC 8536). No global TZ switching: every worker
--- reads the files itself and keeps the parsed zones.
--
--   tz.zone(name)                  -> zone | nil, "unknown zone"
--   zone:offset(t)                 -> seconds east of UTC, isdst, abbreviation
--   tz.local_time(t, zone)         -> {year, month, day, hour, min, sec, wday,
--                                      offset, isdst, abbr}   (wday: 1 = Monday .. 7 = Sunday)
--   tz.to_utc(fields, zone, opts?) -> t, how | nil, err
--   tz.start_of_day(t, zone)       -> first instant of t's local date
--   tz.add_days(t, n, zone)        -> the same wall time n local days later
--   tz.weekday(t, zone)            -> 1 (Monday) .. 7 (Sunday)
--   tz.date(t, zone)               -> "YYYY-MM-DD" (local)
--   tz.parse_iso(s, zone?)         -> t | nil, err
--   tz.format_iso(t, zone)         -> "2026-03-08T09:00:00-06:00"
--
-- t is seconds since the Unix epoch (UTC). `zone` may be a zone object or
-- a name. None of these yield; they may be called anywhere.
--
-- Wall times that do not exist or exist twice (DST changes) resolve like
-- this, unless opts say otherwise:
--   * in a gap (clocks jump forward, e.g. 02:30 on a US spring-forward day)
--     the time moves forward by the length of the gap (03:30): opts.gap =
--     "forward" (default) or "fail" (-> nil, "nonexistent local time");
--   * in an overlap (clocks fall back, 01:30 happens twice) the earlier
--     instant is taken: opts.ambiguous = "earlier" (default) or "later".
-- to_utc's second result says which case it was: "exact", "gap", "ambiguous".
local M = {}

local floor, byte, sub = math.floor, string.byte, string.sub
local tonumber, type, setmetatable = tonumber, type, setmetatable

local TZDIR = os.getenv("TZDIR") or "/usr/share/zoneinfo"
local DAY = 86400

-- ---- calendar (proleptic Gregorian, days since 1970-01-01) ---------------

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

local function is_leap(y) return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) end
local MDAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function days_in_month(y, m) return (m == 2 and is_leap(y)) and 29 or MDAYS[m] end

M.days_from_civil, M.civil_from_days, M.days_in_month = days_from_civil, civil_from_days, days_in_month

-- ---- POSIX TZ strings (the TZif footer: rules after the last transition) --

-- "[+-]hh[:mm[:ss]]" at i -> seconds, next index
local function hms(s, i)
  local sign, h, rest = s:match("^([+-]?)(%d+)()", i)
  if not h then return nil end
  local secs, j = tonumber(h) * 3600, rest
  local mm, j2 = s:match("^:(%d%d?)()", j)
  if mm then
    secs, j = secs + tonumber(mm) * 60, j2
    local ss, j3 = s:match("^:(%d%d?)()", j)
    if ss then secs, j = secs + tonumber(ss), j3 end
  end
  return sign == "-" and -secs or secs, j
end

local function tz_name(s, i)
  local q, j = s:match("^<([^>]*)>()", i)
  if q then return q, j end
  return s:match("^(%a%a%a+)()", i)
end

-- date rule at i -> {kind, ...}, next index
local function rule_date(s, i)
  local m, w, d, j = s:match("^M(%d+)%.(%d)%.(%d)()", i)
  if m then return { kind = "M", m = tonumber(m), w = tonumber(w), d = tonumber(d) }, j end
  local n
  n, j = s:match("^J(%d+)()", i)
  if n then return { kind = "J", n = tonumber(n) }, j end
  n, j = s:match("^(%d+)()", i)
  if n then return { kind = "n", n = tonumber(n) }, j end
end

local function parse_posix(s)
  if not s or s == "" then return nil end
  local std, i = tz_name(s, 1)
  if not std then return nil end
  local off
  off, i = hms(s, i)
  if not off then return nil end
  local rule = { std = std, std_off = -off }
  local dst, j = tz_name(s, i)
  if not dst then return rule end
  i = j
  rule.dst = dst
  local doff, k = hms(s, i)
  if doff then rule.dst_off, i = -doff, k else rule.dst_off = rule.std_off + 3600 end
  if sub(s, i, i) ~= "," then                       -- no rule: US rules by default
    s, i = s .. ",M3.2.0,M11.1.0", #s + 1
  end
  local start, fin
  start, i = rule_date(s, i + 1)
  if not start then return nil end
  start.time = 7200
  if sub(s, i, i) == "/" then start.time, i = hms(s, i + 1) end
  if sub(s, i, i) ~= "," then return nil end
  fin, i = rule_date(s, i + 1)
  if not fin then return nil end
  fin.time = 7200
  if sub(s, i, i) == "/" then fin.time, i = hms(s, i + 1) end
  rule.start, rule.fin = start, fin
  return rule
end

-- the day (days since epoch) a rule date falls on in year y
local function rule_day(r, y)
  if r.kind == "J" then                             -- 1..365, Feb 29 never counted
    local n = r.n
    if is_leap(y) and n >= 60 then n = n + 1 end
    return days_from_civil(y, 1, 1) + n - 1
  elseif r.kind == "n" then                         -- 0..365, Feb 29 counted
    return days_from_civil(y, 1, 1) + r.n
  end
  local first = days_from_civil(y, r.m, 1)
  local wd = (first + 4) % 7                        -- 0 = Sunday
  local day = first + (r.d - wd) % 7 + (r.w - 1) * 7
  if r.w == 5 then
    local last = first + days_in_month(y, r.m) - 1
    while day > last do day = day - 7 end
  end
  return day
end

local function posix_offset(rule, t)
  if not rule.start then return rule.std_off, false, rule.std end
  local y = civil_from_days(floor((t + rule.std_off) / DAY))
  local s = rule_day(rule.start, y) * DAY + rule.start.time - rule.std_off
  local e = rule_day(rule.fin, y) * DAY + rule.fin.time - rule.dst_off
  local in_dst
  if s < e then in_dst = t >= s and t < e else in_dst = not (t >= e and t < s) end
  if in_dst then return rule.dst_off, true, rule.dst end
  return rule.std_off, false, rule.std
end

-- ---- TZif files ------------------------------------------------------------

local function be(s, i, n, signed)
  local v = 0
  for k = i, i + n - 1 do v = v * 256 + byte(s, k) end
  if signed and byte(s, i) >= 128 then v = v - 2 ^ (8 * n) end
  return v
end

local function parse_tzif(data)
  if sub(data, 1, 4) ~= "TZif" then return nil, "not a TZif file" end
  local version = sub(data, 5, 5)
  local function counts(at)
    return be(data, at + 21, 4), be(data, at + 25, 4), be(data, at + 29, 4),
           be(data, at + 33, 4), be(data, at + 37, 4), be(data, at + 41, 4)
  end
  local isut, isstd, leap, timecnt, typecnt, charcnt = counts(0)
  local at, tsize = 44, 4
  if version >= "2" then                            -- skip the 32-bit block
    at = at + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut
    isut, isstd, leap, timecnt, typecnt, charcnt = counts(at)
    at, tsize = at + 44, 8
  end
  local z = { times = {}, idx = {}, types = {} }
  for k = 0, timecnt - 1 do z.times[k + 1] = be(data, at + 1 + k * tsize, tsize, true) end
  at = at + timecnt * tsize
  for k = 0, timecnt - 1 do z.idx[k + 1] = byte(data, at + 1 + k) + 1 end
  at = at + timecnt
  local abbrs_at = at + typecnt * 6
  for k = 0, typecnt - 1 do
    local p = at + 1 + k * 6
    local ai = byte(data, p + 5)
    z.types[k + 1] = { off = be(data, p, 4, true), isdst = byte(data, p + 4) == 1,
                       abbr = data:match("^[^%z]*", abbrs_at + 1 + ai) }
  end
  at = abbrs_at + charcnt + leap * (tsize + 4) + isstd + isut
  if version >= "2" then z.rule = parse_posix(data:match("^\n([^\n]*)\n", at + 1)) end
  if typecnt == 0 then return nil, "no time types" end
  return z
end

local Zone = {}
Zone.__index = Zone

--- zone:offset(t) -> seconds east of UTC, isdst, abbreviation at instant t.
function Zone:offset(t)
  local times = self.times
  local n = #times
  if n == 0 or t >= times[n] then
    if self.rule and (n == 0 or t >= times[n]) then return posix_offset(self.rule, t) end
    local ty = self.types[n > 0 and self.idx[n] or 1]
    return ty.off, ty.isdst, ty.abbr
  end
  if t < times[1] then
    local ty = self.types[1]
    return ty.off, ty.isdst, ty.abbr
  end
  local lo, hi = 1, n                               -- times[lo] <= t < times[hi]
  while hi - lo > 1 do
    local mid = floor((lo + hi) / 2)
    if times[mid] <= t then lo = mid else hi = mid end
  end
  local ty = self.types[self.idx[lo]]
  return ty.off, ty.isdst, ty.abbr
end

local zones = {}

--- tz.zone(name) -> zone | nil, "unknown zone". Cached per worker.
function M.zone(name)
  if type(name) == "table" then return name end
  if type(name) ~= "string" then error("tz.zone: name must be a string", 2) end
  local z = zones[name]
  if z then return z end
  if name == "UTC" or name == "Etc/UTC" or name == "Z" then
    z = { name = name, times = {}, idx = {}, types = { { off = 0, isdst = false, abbr = "UTC" } } }
  else
    if not name:match("^[%w_%+%-/]+$") or name:find("..", 1, true) or name:sub(1, 1) == "/" then
      return nil, "unknown zone"
    end
    local f = io.open(TZDIR .. "/" .. name, "rb")
    if not f then return nil, "unknown zone" end
    local data = f:read("*a")
    f:close()
    local err
    z, err = parse_tzif(data)
    if not z then return nil, "unknown zone" end
    z.name = name
  end
  zones[name] = setmetatable(z, Zone)
  return zones[name]
end

local function need_zone(zone, fn)
  local z = M.zone(zone)
  if not z then error(fn .. ": unknown zone " .. tostring(zone), 3) end
  return z
end

-- ---- conversions -----------------------------------------------------------

function M.local_time(t, zone)
  local z = need_zone(zone, "tz.local_time")
  local off, isdst, abbr = z:offset(t)
  local l = t + off
  local days = floor(l / DAY)
  local secs = l - days * DAY
  local y, m, d = civil_from_days(days)
  return { year = y, month = m, day = d, hour = floor(secs / 3600), min = floor(secs % 3600 / 60),
           sec = secs % 60, wday = (days + 3) % 7 + 1, offset = off, isdst = isdst, abbr = abbr }
end

function M.to_utc(f, zone, opts)
  local z = need_zone(zone, "tz.to_utc")
  if type(f) ~= "table" or not f.year or not f.month or not f.day then
    error("tz.to_utc: fields need year, month and day", 2)
  end
  local l = days_from_civil(f.year, f.month, f.day) * DAY + (f.hour or 0) * 3600
            + (f.min or 0) * 60 + (f.sec or 0)
  local a = z:offset(l - DAY)
  local b = z:offset(l + DAY)
  local t1, t2 = l - a, l - b
  local ok1, ok2 = z:offset(t1) == a, z:offset(t2) == b
  if ok1 and ok2 and t1 ~= t2 then
    local early, late = math.min(t1, t2), math.max(t1, t2)
    return (opts and opts.ambiguous == "later") and late or early, "ambiguous"
  end
  if ok1 then return t1, "exact" end
  if ok2 then return t2, "exact" end
  if opts and opts.gap == "fail" then return nil, "nonexistent local time" end
  return t1, "gap"                                  -- the offset before the gap: later wall time
end

function M.start_of_day(t, zone)
  local lt = M.local_time(t, zone)
  return (M.to_utc({ year = lt.year, month = lt.month, day = lt.day }, zone))
end

function M.add_days(t, n, zone)
  local lt = M.local_time(t, zone)
  local y, m, d = civil_from_days(days_from_civil(lt.year, lt.month, lt.day) + n)
  return (M.to_utc({ year = y, month = m, day = d, hour = lt.hour, min = lt.min, sec = lt.sec }, zone))
end

function M.weekday(t, zone) return M.local_time(t, zone).wday end

function M.date(t, zone)
  local lt = M.local_time(t, zone)
  return ("%04d-%02d-%02d"):format(lt.year, lt.month, lt.day)
end

local function fmt_offset(off)
  if off == 0 then return "Z" end
  local sign = off < 0 and "-" or "+"
  off = math.abs(off)
  return ("%s%02d:%02d"):format(sign, floor(off / 3600), floor(off % 3600 / 60))
end

function M.format_iso(t, zone)
  local lt = M.local_time(t, zone or "UTC")
  return ("%04d-%02d-%02dT%02d:%02d:%02d%s"):format(lt.year, lt.month, lt.day, lt.hour, lt.min,
                                                    floor(lt.sec), fmt_offset(lt.offset))
end

--- tz.parse_iso(s, zone?) -> t | nil, err. "YYYY-MM-DD[THH:MM[:SS[.fff]]]"
--- with "Z" or "+hh:mm"/"+hhmm"/"+hh"; without an offset the wall time is
--- read in zone (gap/overlap as in tz.to_utc), and without zone it fails.
function M.parse_iso(s, zone)
  if type(s) ~= "string" then return nil, "not a date" end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil, "not an ISO 8601 date" end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) then return nil, "no such date" end
  local h, mi, sec, frac = 0, 0, 0, 0
  if rest ~= "" then
    local hh, mm, tail = rest:match("^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil, "not an ISO 8601 time" end
    h, mi, rest = tonumber(hh), tonumber(mm), tail
    local ss, tail2 = rest:match("^:(%d%d)(.*)$")
    if ss then
      sec, rest = tonumber(ss), tail2
      local fr, tail3 = rest:match("^[%.,](%d+)(.*)$")
      if fr then frac, rest = tonumber("0." .. fr), tail3 end
    end
    if h > 24 or mi > 59 or sec > 60 or (h == 24 and (mi > 0 or sec > 0)) then
      return nil, "no such time"
    end
  end
  local fields = { year = y, month = mo, day = d, hour = h, min = mi, sec = sec }
  if rest == "" then
    if not zone then return nil, "no offset and no zone" end
    local t, how = M.to_utc(fields, zone)
    if not t then return nil, how end
    return t + frac
  end
  local off = 0
  if rest ~= "Z" and rest ~= "z" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then sign, oh = rest:match("^([+-])(%d%d)$"); om = "00" end
    if not sign then return nil, "bad offset" end
    off = tonumber(oh) * 3600 + tonumber(om) * 60
    if sign == "-" then off = -off end
  end
  return days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + sec - off + frac
end

return M

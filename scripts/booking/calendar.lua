--- booking.calendar: external calendars (Google Calendar, Odoo calendar.event)
--- whose busy time a tenant's booking engine takes out of availability.
--- Writing bookings to them is booking.calendar_sync.
--
--   calendar.parse(decl, where, connectors) -> source | nil, problem
--       decl: { google = "primary", connector? = "google_calendar", freshness?, write? }
--           | { odoo = { user_id = 7, model? = "calendar.event" }, connector? = "odoo", freshness?, write? }
--       connectors: the tenant's `connectors = {...}` (the one named must be there)
--   calendar.declared(settings) -> list of {name, decl, where, needle, after?} | nil, problem
--       (needle, after: the text of the declaration's line, after the line of `after`)
--       the tenant's (or rep's) `calendar` (source "all": every resource)
--       and each resource's (`booking.resources.<id>.calendar`, source "r.<id>")
--   calendar.new{tenant, zone, sources = {name = source}, call} -> cal
--       call(connector, op, ...) -> value | nil, word, detail   (yields; the
--       tenant's state passes c.connectors-style calls, connectors.view)
--   cal.busy(resource, from, to) -> list of {s, e} | nil, "calendar unavailable"
--       (yields) the engine's busy hook: the busy time of the sources that
--       apply to the resource, each read at most every `freshness` seconds
--   cal.targets(resource) -> names of the sources that apply to it
--   cal.sources, cal.tenant, cal.call, cal.zone
--
-- Cache: per source and UTC day, "fh:cal:{<tenant>}:<source>:busy:<day>"
-- (JSON list of intervals, kept `freshness` seconds, default 60). A
-- booking's own events (written by calendar_sync) are listed in
-- "fh:cal:{<tenant>}:<source>:mine" (sorted set, member "<remote id>|<s>|<e>",
-- score e) and taken out of the busy time: flowhost's bookings block their
-- resource through Redis, not through the calendar. Odoo events are
-- matched by id; Google's freeBusy gives no ids, so the intervals are
-- subtracted (external busy time lying under one of our own events is not
-- seen). A calendar that cannot be read (a connector error, a Google
-- calendar answered with `errors`) is never read as free: busy answers
-- nil, "calendar unavailable" and the detail is logged.
local json = require "json"
local redis = require "redis"
local tz = require "tz"
local log = require "log"

local M = { DEFAULT_FRESHNESS = 60, WORD = "calendar unavailable" }

local DAY = 86400
local FIELDS = { google = true, odoo = true, connector = true, freshness = true, write = true }
local ODOO_FIELDS = { model = true, user_id = true }

function M.parse(decl, where, connectors)
  if type(decl) ~= "table" then
    return nil, where .. " must be a table: { google = \"primary\" } or { odoo = { user_id = 7 } }"
  end
  for k in pairs(decl) do
    if not FIELDS[k] then
      return nil, ("%s.%s: unknown field (google, odoo, connector, freshness, write)"):format(where, tostring(k))
    end
  end
  local f = decl.freshness
  if f ~= nil and (type(f) ~= "number" or f < 1 or f > 3600) then
    return nil, where .. ".freshness must be seconds (1 to 3600) busy time may be old"
  end
  if decl.write ~= nil and type(decl.write) ~= "boolean" then
    return nil, where .. ".write must be true (bookings are written to the calendar) or false"
  end
  local src = { freshness = f or M.DEFAULT_FRESHNESS, write = decl.write ~= false }
  if decl.google ~= nil and decl.odoo ~= nil then return nil, where .. " names google or odoo, not both" end
  if decl.google ~= nil then
    if type(decl.google) ~= "string" or decl.google == "" or #decl.google > 256 then
      return nil, where .. ".google must be a calendar id (\"primary\" or an address)"
    end
    src.kind, src.calendar, src.connector = "google", decl.google, "google_calendar"
  elseif decl.odoo ~= nil then
    local o = decl.odoo
    if type(o) ~= "table" then return nil, where .. ".odoo must be { user_id = <the Odoo user> }" end
    for k in pairs(o) do
      if not ODOO_FIELDS[k] then return nil, ("%s.odoo.%s: unknown field (user_id, model)"):format(where, tostring(k)) end
    end
    if type(o.user_id) ~= "number" or o.user_id < 1 or o.user_id % 1 ~= 0 then
      return nil, where .. ".odoo.user_id must be the id of the Odoo user whose events are busy time"
    end
    if o.model ~= nil and (type(o.model) ~= "string" or not o.model:match("^[%w_%.]+$")) then
      return nil, where .. ".odoo.model must be a model name such as \"calendar.event\""
    end
    src.kind, src.user_id, src.model, src.connector = "odoo", o.user_id, o.model or "calendar.event", "odoo"
  else
    return nil, where .. " must name a calendar: google = \"primary\" or odoo = { user_id = 7 }"
  end
  if decl.connector ~= nil and decl.connector ~= src.connector then
    return nil, ("%s.connector: a %s calendar is read through the %s connector"):format(where, src.kind, src.connector)
  end
  if type(connectors) ~= "table" or connectors[src.connector] == nil then
    return nil, ("%s: declare the %s connector (connectors = { %s = { ... } })"):format(where, src.connector, src.connector)
  end
  return src
end

function M.declared(settings)
  local out = {}
  if settings.calendar ~= nil then
    out[#out + 1] = { name = "all", decl = settings.calendar, where = "calendar", needle = "calendar =" }
  end
  local res = type(settings.booking) == "table" and settings.booking.resources
  if type(res) == "table" then
    local ids = {}
    for rid, r in pairs(res) do
      if type(r) == "table" and r.calendar ~= nil then ids[#ids + 1] = rid end
    end
    table.sort(ids, function(a, b) return tostring(a) < tostring(b) end)
    for _, rid in ipairs(ids) do
      if type(rid) ~= "string" or not rid:match("^[%w_%-]+$") then
        return nil, { msg = ("booking.resources.%s: a resource with a calendar needs an id of letters, digits, _ and -")
          :format(tostring(rid)), needle = "calendar", after = tostring(rid) .. " =" }
      end
      out[#out + 1] = { name = "r." .. rid, decl = res[rid].calendar, where = "booking.resources." .. rid .. ".calendar",
                        needle = "calendar", after = rid .. " =" }
    end
  end
  if #out > 0 and type(settings.booking) ~= "table" then
    return nil, { msg = "calendar: a calendar gives busy time to a booking engine; declare booking = { ... }",
                  needle = "calendar =" }
  end
  return out
end

function M.cache_key(tenant, name, day) return ("fh:cal:{%s}:%s:busy:%d"):format(tenant, name, day) end
function M.mine_key(tenant, name) return ("fh:cal:{%s}:%s:mine"):format(tenant, name) end

local function odoo_time(t) return (tz.format_iso(t, "UTC"):sub(1, 19):gsub("T", " ")) end
local function iso(t) return tz.format_iso(t, "UTC"):sub(1, 19) .. "Z" end
M.odoo_time, M.iso = odoo_time, iso

-- -> list of {s, e, id?} | nil, word, detail
local FETCH = {}
function FETCH.google(cal, src, from, to)
  local cals, word, detail = cal.call(src.connector, "free_busy", { src.calendar }, iso(from), iso(to))
  if not cals then return nil, word, detail end
  local entry = type(cals) == "table" and cals[src.calendar]
  if type(entry) ~= "table" then return nil, "bad answer", "no entry for " .. src.calendar end
  if type(entry.errors) == "table" and entry.errors[1] ~= nil then
    return nil, "unavailable", "google: " .. tostring(type(entry.errors[1]) == "table" and entry.errors[1].reason)
  end
  local out = {}
  for _, b in ipairs(type(entry.busy) == "table" and entry.busy or {}) do
    local s, e = tz.parse_iso(b.start), tz.parse_iso(b["end"])
    if not s or not e then return nil, "bad answer", "busy block without times" end
    out[#out + 1] = { s = s, e = e }
  end
  return out
end

-- an all-day Odoo event blocks its local days (its start/stop are not UTC)
local function allday(cal, rec)
  local a = tz.parse_iso(type(rec.start_date) == "string" and rec.start_date or tostring(rec.start):sub(1, 10), cal.zone)
  local b = tz.parse_iso(type(rec.stop_date) == "string" and rec.stop_date or tostring(rec.stop):sub(1, 10), cal.zone)
  if not a or not b then return nil end
  return a, b + DAY
end

function FETCH.odoo(cal, src, from, to)
  local recs, word, detail = cal.call(src.connector, "search_read", src.model,
    { { "start", "<", odoo_time(to) }, { "stop", ">", odoo_time(from - DAY) }, { "user_id", "=", src.user_id } },
    { fields = { "start", "stop", "allday", "start_date", "stop_date", "show_as" }, limit = 1000, order = "start asc" })
  if not recs then return nil, word, detail end
  local out = {}
  for _, r in ipairs(type(recs) == "table" and recs or {}) do
    if type(r) == "table" and r.show_as ~= "free" then
      local s, e
      if r.allday == true then s, e = allday(cal, r)
      else s, e = tz.parse_iso(r.start, "UTC"), tz.parse_iso(r.stop, "UTC") end
      if not s or not e then return nil, "bad answer", "calendar.event " .. tostring(r.id) .. " without start/stop" end
      if s < to and e > from then out[#out + 1] = { s = s, e = e, id = tostring(r.id) } end
    end
  end
  return out
end

-- the busy time of source `name` in [from, to), from the cache where fresh
local function read(cal, name, from, to)
  local src = cal.sources[name]
  local d0, d1 = math.floor(from / DAY), math.floor((to - 1) / DAY)
  local keys = {}
  for d = d0, d1 do keys[#keys + 1] = M.cache_key(cal.tenant, name, d) end
  local got = redis.call("MGET", unpack(keys))
  local out, lo, hi = {}, nil, nil
  for i, d in ipairs(keys) do
    local raw = type(got) == "table" and got[i]
    local list = type(raw) == "string" and json.decode(raw)
    if type(list) == "table" then
      for _, iv in ipairs(list) do out[#out + 1] = iv end
    else
      lo, hi = lo or (d0 + i - 1), d0 + i - 1
    end
  end
  if lo then
    local list, word, detail = FETCH[src.kind](cal, src, lo * DAY, (hi + 1) * DAY)
    if not list then return nil, word, detail end
    local cmds = {}
    for d = lo, hi do
      local day = {}
      for _, iv in ipairs(list) do
        if iv.s < (d + 1) * DAY and iv.e > d * DAY then day[#day + 1] = iv end
      end
      cmds[#cmds + 1] = { "SET", M.cache_key(cal.tenant, name, d), json.encode(day), "EX", src.freshness }
      if d >= d0 and d <= d1 then
        for _, iv in ipairs(day) do out[#out + 1] = iv end
      end
    end
    redis.pipeline(cmds)
  end
  return out
end

-- [s, e) minus the intervals of cut
local function subtract(iv, cut)
  local parts = { iv }
  for _, c in ipairs(cut) do
    local next_parts = {}
    for _, p in ipairs(parts) do
      if c.s >= p.e or c.e <= p.s then next_parts[#next_parts + 1] = p
      else
        if p.s < c.s then next_parts[#next_parts + 1] = { s = p.s, e = c.s } end
        if c.e < p.e then next_parts[#next_parts + 1] = { s = c.e, e = p.e } end
      end
    end
    parts = next_parts
  end
  return parts
end
M.subtract = subtract

-- our own events of source name ending after from: id -> {s, e}, and the list
local function mine(cal, name, from, to)
  local members = redis.call("ZRANGEBYSCORE", M.mine_key(cal.tenant, name), "(" .. from, "+inf")
  local by_id, list = {}, {}
  for _, m in ipairs(type(members) == "table" and members or {}) do
    local id, s, e = m:match("^(.*)|([%d%.]+)|([%d%.]+)$")
    s, e = tonumber(s), tonumber(e)
    if id and s < to then
      by_id[id] = true
      list[#list + 1] = { s = s, e = e }
    end
  end
  return by_id, list
end

function M.new(o)
  assert(type(o.tenant) == "string" and type(o.sources) == "table" and type(o.call) == "function",
         "calendar.new{tenant, sources, call, zone?}")
  local cal = { tenant = o.tenant, sources = o.sources, call = o.call, zone = o.zone or "UTC" }
  function cal.targets(rid)
    local out = {}
    if cal.sources.all then out[#out + 1] = "all" end
    if rid and cal.sources["r." .. tostring(rid)] then out[#out + 1] = "r." .. rid end
    return out
  end

  function cal.busy(rid, from, to)
    local out = {}
    for _, name in ipairs(cal.targets(rid)) do
      local raw, word, detail = read(cal, name, from, to)
      if not raw then
        log.warn("calendar unavailable", { tenant = cal.tenant, source = name, error = word, detail = detail })
        return nil, M.WORD
      end
      local own_ids, own = mine(cal, name, from, to)
      for _, iv in ipairs(raw) do
        if iv.id then
          if not own_ids[iv.id] then out[#out + 1] = { s = iv.s, e = iv.e } end
        else
          for _, p in ipairs(subtract(iv, own)) do out[#out + 1] = p end
        end
      end
    end
    return out
  end

  --- forgets the cached busy time of source name around [s, e) (a write of ours)
  function cal.forget(name, s, e)
    local keys = {}
    for d = math.floor(s / DAY) - 1, math.floor(e / DAY) + 1 do keys[#keys + 1] = M.cache_key(cal.tenant, name, d) end
    redis.call("DEL", unpack(keys))
  end
  return cal
end

return M

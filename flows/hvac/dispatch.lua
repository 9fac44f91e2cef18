-- When, and who: free visits from the booking engine (technicians' hours
-- minus their Odoo events minus the service's buffers, by skill and zone),
-- then checked against each technician's Odoo events read fresh (travel
-- time between zones, an event added since the engine's cache), and
-- ordered by the tenant's policy (least loaded that day, then roster order).
local tz = require "tz"
local extract = require "text.extract"
local fuzzy = require "text.fuzzy"

local M = {}

local DAYPARTS = { morning = { 8, 12 }, afternoon = { 12, 17 }, evening = { 16, 18 } }

--- the zone a zip is in ("central"), or nil when it is not served
function M.zone(c, zip)
  local z = tonumber(tostring(zip or ""):match("^%s*(%d%d%d%d%d)"))
  if not z then return nil end
  for name, range in pairs(c.tenant.catalogue.zones) do
    local a, b = range:match("^(%d+)%-(%d+)$")
    if z >= tonumber(a) and z <= tonumber(b) then return name end
  end
end

--- the service a caller named ("no cooling" -> ac_repair), or nil
function M.service(c, words)
  if type(words) ~= "string" or words == "" then return nil end
  local options = {}
  for _, s in ipairs(c.tenant.catalogue.services) do
    local names = { s.id:gsub("_", " "), s.title }
    for _, n in ipairs(s.names or {}) do names[#names + 1] = n end
    options[#options + 1] = { id = s.id, names = names }
  end
  local lower = words:lower()
  for _, o in ipairs(options) do
    for _, n in ipairs(o.names) do if lower == n:lower() then return o.id end end
  end
  return fuzzy.best(words, options, { min_score = 0.7 })
end

--- the technician of resource id rid: {id, name, user_id}
function M.tech(c, rid)
  local r = c.tenant.business.resources[rid]
  return r and { id = rid, name = r.title, user_id = r.calendar.odoo.user_id }
end

function M.tech_by_user(c, user_id)
  for rid, r in pairs(c.tenant.business.resources) do
    if r.calendar.odoo.user_id == user_id then return M.tech(c, rid) end
  end
end

--- the window a caller asked for: from, to, exact (a start asked for), or
--- nil when the words name no time. ISO 8601 ("2026-12-03T10:00:00-06:00")
--- or words ("tomorrow morning", "friday at 2pm", "as soon as possible").
function M.window(c, words)
  local zone, now = c.t.timezone, c:now()
  if type(words) ~= "string" or words == "" then return nil end
  local iso = tz.parse_iso(words, zone)
  if iso and words:match("^%d%d%d%d%-%d%d%-%d%dT") then return iso, iso, true end
  local lower = words:lower()
  if lower:find("soon") or lower:find("asap") or lower:find("earliest") or lower:find("any ?time") then
    return now, now + 7 * 86400
  end
  local date = extract.date(words, { now = now, zone = zone })
  local minutes = extract.time(words)
  local part = extract.daypart(words)
  if not date and not minutes and not part then return nil end
  date = date or tz.date(now, zone)
  local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
  local function at(min)
    return tz.to_utc({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = math.floor(min / 60),
                       min = min % 60, sec = 0 }, zone)
  end
  if minutes then
    local t = at(minutes)
    return t, t, true
  end
  local hours = DAYPARTS[part] or { 0, 24 }
  return at(hours[1] * 60), at(hours[2] * 60)
end

-- the zip in an event's location ("..., Austin, TX 78745")
local function zip_of(loc) return type(loc) == "string" and loc:match("(%d%d%d%d%d)%D*$") or nil end

local function odoo_time(t) return (tz.format_iso(t, "UTC"):sub(1, 19):gsub("T", " ")) end
M.odoo_time = odoo_time

--- the technicians' Odoo events (read now, not cached) touching [from, to)
function M.events(c, user_ids, from, to)
  return c.connectors.odoo:search_read("calendar.event",
    { { "user_id", "in", user_ids }, { "start", "<", odoo_time(to) }, { "stop", ">", odoo_time(from) } },
    { fields = { "start", "stop", "user_id", "location", "show_as" }, limit = 500, order = "start asc" })
end

local function blocks(c, ev, rid, zone, s, e, svc)
  local travel = c.tenant.booking.rules.travel_minutes or 0
  local other = zip_of(ev.location) and M.zone(c, zip_of(ev.location)) ~= zone
  local pad = ((other and travel or 0) + (svc.buffer_after or 0)) * 60
  local es, ee = tz.parse_iso(ev.start, "UTC"), tz.parse_iso(ev.stop, "UTC")
  local uid = type(ev.user_id) == "table" and ev.user_id[1] or ev.user_id
  return uid == c.tenant.business.resources[rid].calendar.odoo.user_id and ev.show_as ~= "free"
     and es and ee and es < e + pad and ee > s - pad
end

--- free visits in [from, to]: {{start, end, tech}} soonest first (at most
--- limit), or nil, "calendar unavailable" | the connector's word.
--- opts.except: an event id that is not busy time (the one being moved)
-- does any technician do this service in this zone?
function M.fits(c, service, zone)
  local skill = c.tenant.booking.services[service].skill
  for _, r in pairs(c.tenant.booking.resources) do
    local does, goes = false, false
    for _, k in ipairs(r.skills or {}) do does = does or k == skill end
    for _, a in ipairs(r.areas or {}) do goes = goes or a == zone end
    if does and goes then return true end
  end
  return false
end

function M.free(c, service, zone, from, to, limit, opts)
  local slots, err = c.booking:slots{ service = service, from = from, to = to, area = zone }
  if not slots then return nil, err end
  if #slots == 0 then return {} end
  local rids, users = {}, {}
  for _, s in ipairs(slots) do
    for _, rid in ipairs(s.resources) do
      if not rids[rid] then rids[rid] = true; users[#users + 1] = M.tech(c, rid).user_id end
    end
  end
  local evs, werr = M.events(c, users, slots[1].start - 86400, slots[#slots]["end"] + 86400)
  if not evs then return nil, werr end
  local svc = c.tenant.booking.services[service]
  local out = {}
  for _, s in ipairs(slots) do
    local best, best_load
    for _, rid in ipairs(s.resources) do
      local ok, load, day = true, 0, tz.date(s.start, c.t.timezone)
      for _, ev in ipairs(evs) do
        if ev.id ~= (opts and opts.except) then
          if blocks(c, ev, rid, zone, s.start, s["end"], svc) then ok = false end
          local uid = type(ev.user_id) == "table" and ev.user_id[1] or ev.user_id
          if uid == M.tech(c, rid).user_id and tz.date(tz.parse_iso(ev.start, "UTC"), c.t.timezone) == day then
            load = load + 1
          end
        end
      end
      if ok and (not best or load < best_load) then best, best_load = rid, load end
    end
    if best then
      out[#out + 1] = { start = s.start, ["end"] = s["end"], tech = M.tech(c, best) }
      if #out >= (limit or 50) then break end
    end
  end
  return out
end

return M

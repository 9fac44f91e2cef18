--- booking.overrides: availability the owner changes without editing
--- files (the studio): a closed day (a holiday), a resource's day off (a
--- stylist), extra hours on a date. Kept in Redis and read by every slot
--- search, so a change takes effect at once on every host.
--
--   overrides.add(prefix, o) -> id | nil, problem
--       o = {kind = "closed" | "day_off" | "extra_hours", date = "YYYY-MM-DD",
--            resource? (day_off: required; extra_hours: nil = every resource),
--            from?, to? ("HH:MM", extra_hours), note?, author?}
--   overrides.remove(prefix, id) -> true | nil (no such override)
--   overrides.list(prefix) -> overrides sorted by date | nil, err
--   overrides.compile(list) -> nil (none) | {closed = {date = true},
--       off = {resource = {date = true}}, extra = {date = {resource | "*" = {{from, to}}}}}
--       (from, to: seconds after local midnight), what booking.availability reads
--   overrides.load(prefix) -> compiled | nil | nil, err        (one HGETALL)
--
-- Key: <prefix>ovr (prefix = the engine's "bk:{T}:"), a hash id -> JSON.
local redis = require "redis"
local json = require "json"
local crypto = require "crypto"
local time = require "time"

local M = {}

local KINDS = { closed = true, day_off = true, extra_hours = true }

function M.key(prefix) return prefix .. "ovr" end

local function secs(hhmm)
  local h, m = tostring(hhmm or ""):match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or h > 24 or m > 59 or (h == 24 and m > 0) then return nil end
  return h * 3600 + m * 60
end

function M.add(prefix, o)
  if type(o) ~= "table" or not KINDS[o.kind] then return nil, 'kind: "closed", "day_off" or "extra_hours"' end
  local y, mo, d = tostring(o.date or ""):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y or tonumber(mo) < 1 or tonumber(mo) > 12 or tonumber(d) < 1 or tonumber(d) > 31 then
    return nil, "date: a day like 2026-12-24"
  end
  if o.resource ~= nil and (type(o.resource) ~= "string" or not o.resource:match("^[%w_%-]+$")) then
    return nil, "resource: the id of a resource (a stylist, a bay)"
  end
  if o.kind == "day_off" and not o.resource then return nil, "a day off is a resource's: give resource" end
  local rec = { kind = o.kind, date = o.date, resource = o.resource, note = type(o.note) == "string" and o.note:sub(1, 200) or nil,
                author = o.author, time = math.floor(time.now()) }
  if o.kind == "extra_hours" then
    local a, b = secs(o.from), secs(o.to)
    if not a or not b or b <= a then return nil, 'from and to: the extra hours, like "18:00" and "20:00"' end
    rec.from, rec.to = o.from, o.to
  end
  rec.id = crypto.random_hex(6)
  local ok, err = redis.call("HSET", M.key(prefix), rec.id, json.encode(rec))
  if not ok then return nil, err end
  return rec.id
end

function M.remove(prefix, id)
  local n = redis.call("HDEL", M.key(prefix), tostring(id))
  return n == 1 or nil
end

function M.list(prefix)
  local flat, err = redis.call("HGETALL", M.key(prefix))
  if type(flat) ~= "table" then return nil, err end
  local out = {}
  for i = 2, #flat, 2 do
    local r = json.decode(flat[i])
    if type(r) == "table" then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) if a.date ~= b.date then return a.date < b.date end return a.id < b.id end)
  return out
end

function M.compile(list)
  if not list or not list[1] then return nil end
  local c = { closed = {}, off = {}, extra = {} }
  for _, o in ipairs(list) do
    if o.kind == "closed" then c.closed[o.date] = true
    elseif o.kind == "day_off" then
      c.off[o.resource] = c.off[o.resource] or {}
      c.off[o.resource][o.date] = true
    elseif o.kind == "extra_hours" then
      local day = c.extra[o.date] or {}
      c.extra[o.date] = day
      local who = o.resource or "*"
      day[who] = day[who] or {}
      day[who][#day[who] + 1] = { secs(o.from), secs(o.to) }
    end
  end
  return c
end

function M.load(prefix)
  local list, err = M.list(prefix)
  if not list then return nil, err end
  return M.compile(list)
end

return M

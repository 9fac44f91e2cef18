--- studio.bookings: a tenant's bookings and customers for the studio.
--
--   bookings.day(T, date, cursor) -> {bookings, next}       50 a page, by start
--   bookings.create(T, body) / reschedule(T, id, body) / cancel(T, id, reason)
--       -> booking | nil, status, word, message
--       through the booking engine in the tenant's own state (its rules,
--       overlap checks and calendars); body.start: Unix seconds or local
--       time "YYYY-MM-DDTHH:MM" in the tenant's timezone
--   bookings.customers(T, q, cursor) -> {customers, next}
--       customers are the booking engine's customer index (bk:{T}:cust:<phone
--       or email>), walked with SCAN and its cursor (about 50 a page); q: a
--       part of the phone, email or name
--   bookings.customer(T, id) -> {id, name, phone, bookings, notes} | nil
--   bookings.note(T, id, text, author) -> true
--       notes: fh:studio:{T}:notes:<customer>, a list, newest first, 200 kept
local redis = require "redis"
local json = require "json"
local time = require "time"
local tz = require "tz"
local store = require "booking.store"
local tenants = require "flow.tenants"

local M = {}

local PAGE = 50

local function prefix(T) return "bk:{" .. T .. "}:" end

local ERR = {
  ["slot taken"] = { 409, "that time is taken" }, ["not available"] = { 409, "that is not a bookable time" },
  ["not found"] = { 404, "no such booking" }, ["no booking engine"] = { 404, "this tenant takes no bookings" },
}

local function in_tenant(T, fn, payload)
  local out, err, detail = tenants.call(T, fn, json.encode(payload))
  local r = out and json.decode(out)
  if r and r.res ~= nil then return r.res end
  err = err or (r and r.err) or "failed"
  local e = ERR[err]
  if e then return nil, e[1], err, e[2] end
  if tostring(err):match("^invalid transition") then return nil, 409, "not allowed", tostring(err) end
  return nil, 503, "unavailable", tostring(detail or err)
end

function M.day(T, date, cursor)
  local from = math.max(0, math.floor(tonumber(cursor) or 0))
  local key = store.keys(prefix(T)).day(date)
  local ids, err = redis.call("ZRANGE", key, from, from + PAGE - 1)
  if type(ids) ~= "table" then return nil, err end
  local recs, gone = store.records(prefix(T), ids)
  if not recs then return nil, gone end
  if #gone > 0 then store.forget(key, gone) end
  table.sort(recs, function(a, b) return (a.start or 0) < (b.start or 0) end)
  return { bookings = json.array(recs), next = #ids == PAGE and tostring(from + PAGE) or json.null }
end

local function zone_of(T)
  local st = tenants.status(T)
  local s = st and st.settings or {}
  return (type(s.booking) == "table" and s.booking.timezone) or s.timezone or "UTC"
end

--- Today's date where the tenant is ("YYYY-MM-DD").
function M.today(T)
  local ok, d = pcall(tz.date, time.now(), tz.zone(zone_of(T)))
  return ok and d or os.date("!%Y-%m-%d", math.floor(time.now()))
end

local function start_of(T, v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local zone = zone_of(T)
  local iso = v:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d$") and (v .. ":00") or v
  local ok, t = pcall(tz.parse_iso, iso, zone)
  return ok and t or nil
end

function M.create(T, b)
  local start = start_of(T, b.start)
  if type(b.service) ~= "string" or not start then
    return nil, 400, "bad request", 'send {"service", "start": "2026-12-05T10:00" (local time), "resource"?, "customer": {"name", "phone"}}'
  end
  local c = type(b.customer) == "table" and b.customer or {}
  return in_tenant(T, "studio_booking", { op = "create", service = b.service, start = start, resource = b.resource,
    customer = { name = c.name, phone = c.phone, email = c.email }, key = b.idempotency_key })
end

function M.reschedule(T, id, b)
  local start = start_of(T, b.start)
  if not start then return nil, 400, "bad request", 'send {"start": "2026-12-05T10:00"} (local time) or Unix seconds' end
  return in_tenant(T, "studio_booking", { op = "reschedule", id = id, start = start, resource = b.resource })
end

function M.cancel(T, id, reason)
  return in_tenant(T, "cancel_booking", { id = id, reason = reason or "cancelled in the studio" })
end

-- the newest booking's customer of each key, and how many bookings it has
local function describe(T, keys)
  if #keys == 0 then return {} end
  local cmds = {}
  for i, k in ipairs(keys) do cmds[2 * i - 1] = { "ZCARD", k }; cmds[2 * i] = { "ZREVRANGE", k, 0, 0 } end
  local r, err = redis.pipeline(cmds)
  if not r then return nil, err end
  local ids = {}
  for i = 1, #keys do ids[i] = type(r[2 * i]) == "table" and r[2 * i][1] or "-" end
  local recs = {}
  local gets = {}
  for i, id in ipairs(ids) do gets[i] = { "GET", store.keys(prefix(T)).record(id) } end
  local g = redis.pipeline(gets) or {}
  for i = 1, #keys do recs[i] = type(g[i]) == "string" and json.decode(g[i]) or nil end
  local out = {}
  local cut = #prefix(T) + #"cust:" + 1
  for i, k in ipairs(keys) do
    local c = recs[i] and type(recs[i].customer) == "table" and recs[i].customer or {}
    local id = k:sub(cut)
    out[i] = { id = id, name = c.name or json.null, phone = c.phone or json.null, email = c.email,
               bookings = tonumber(r[2 * i - 1]) or 0 }
  end
  return out
end

function M.customers(T, q, cursor)
  q = type(q) == "string" and q:lower() or ""
  local cur = tostring(cursor or "0"):match("^%d+$") or "0"
  -- a phone or an email is matched by Redis itself (on the key); a name
  -- needs each customer's newest booking
  local pattern = prefix(T) .. "cust:*"
  if q:match("^[%d%+%s%-]+$") or q:find("@", 1, true) then
    pattern = prefix(T) .. "cust:*" .. q:gsub("[%s%-]", ""):gsub("[%*%?%[%]\\]", "\\%0") .. "*"
  end
  local out = {}
  local t0 = time.monotonic()
  repeat
    local r, err = redis.call("SCAN", cur, "MATCH", pattern, "COUNT", 1000)
    if type(r) ~= "table" then return nil, err end
    cur = r[1]
    local list, derr = describe(T, r[2] or {})
    if not list then return nil, derr end
    for _, c in ipairs(list) do
      if q == "" or c.id:lower():find(q, 1, true) or (type(c.name) == "string" and c.name:lower():find(q, 1, true)) then
        out[#out + 1] = c
      end
    end
  until cur == "0" or #out >= PAGE or time.monotonic() - t0 > 0.5
  return { customers = json.array(out), next = cur ~= "0" and cur or json.null }
end

local function notes_key(T, id) return ("fh:studio:{%s}:notes:%s"):format(T, id) end

function M.customer(T, id)
  local key = store.keys(prefix(T)).cust(id)
  local ids = redis.call("ZRANGE", key, 0, -1)
  if type(ids) ~= "table" or #ids == 0 then return nil end
  local recs = store.records(prefix(T), ids) or {}
  table.sort(recs, function(a, b) return (a.start or 0) > (b.start or 0) end)
  local c = recs[1] and type(recs[1].customer) == "table" and recs[1].customer or {}
  local notes = {}
  for i, raw in ipairs(redis.call("LRANGE", notes_key(T, id), 0, 199) or {}) do notes[i] = json.decode(raw) end
  return { id = id, name = c.name or json.null, phone = c.phone or json.null, email = c.email,
           bookings = json.array(recs), notes = json.array(notes) }
end

function M.note(T, id, text, author)
  local key = notes_key(T, id)
  local r = redis.pipeline{
    { "LPUSH", key, json.encode{ text = text, author = author, time = math.floor(time.now()) } },
    { "LTRIM", key, 0, 199 },
  }
  return r ~= nil
end

return M

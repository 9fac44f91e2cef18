--- booking.calendar_sync: writes a tenant's bookings to its external
--- calendars (booking.calendar sources with write ~= false), through the
--- connectors and so through the side-effect ledger.
--
--   sync.changed(cal, engine, b) -> b'      (tenant state; yields) the
--       engine's on_change hook: after a reserve, confirm, cancel or
--       reschedule succeeded. Schedules a durable "calendar_sync" timer (the
--       retry), then writes at once; on success the timer is cancelled and
--       b' is the record with its refs.calendar. A failed write never undoes
--       the booking: it is logged and the timer tries again (backoff 2, 4,
--       8 ... 300 s, 10 attempts: scripts/timer.lua).
--   sync.run(cal, engine, id) -> true | nil, word, detail   (tenant state)
--       makes every calendar of the booking agree with the booking as it
--       is now: a confirmed (completed, no-show) booking has an event at
--       its times; a cancelled or expired one has none; a hold has none yet.
--   sync.fire(payload, info)   (main state) the timer handler: runs
--       sync.run in the tenant's state (tenant_boot's calendar_sync); raises
--       on failure so that the timer retries.
--
-- Idempotency keys: "cal:<tenant>:<source>:<booking>:insert",
-- ":move<n>" (n = the booking's history length: one key per reschedule)
-- and ":delete" — a retried turn, a retried timer or both at once make one
-- insert, one patch per move and one delete. Google's event id comes from
-- the insert's key; Odoo's id is the create's answer. The remote id is
-- kept in the booking's refs.calendar[<source>] = {id, start, end,
-- deleted?, source}. An event someone deleted in the calendar is not made
-- again (a patch that finds it gone marks it deleted, logged).
local rscript = require "rscript"
local redis = require "redis"
local json = require "json"
local timer = require "timer"
local log = require "log"
local time = require "time"
local calendar = require "booking.calendar"

local M = { KIND = "calendar_sync", FIRST_RETRY = 2 }

local LIVE = { confirmed = true, completed = true, no_show = true }
local GONE = { cancelled = true, expired = true }

-- sets refs.calendar[<source>] of a record, keeping its life (holds expire)
local SET_REF = rscript.new([=[
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local b = cjson.decode(raw)
if type(b.refs) ~= 'table' then b.refs = {} end
if type(b.refs.calendar) ~= 'table' then b.refs.calendar = {} end
b.refs.calendar[ARGV[1]] = cjson.decode(ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('SET', KEYS[1], cjson.encode(b), 'PX', ttl)
else redis.call('SET', KEYS[1], cjson.encode(b)) end
return 1]=])

local function record_key(tenant, id) return ("bk:{%s}:b:%s"):format(tenant, id) end

local function set_ref(cal, id, name, ref)
  local ok, err = SET_REF:run({ record_key(cal.tenant, id) }, { name, json.encode(ref) })
  if ok == nil then log.warn("calendar: could not store the event id", { tenant = cal.tenant, booking = id, error = err }) end
end

local function summary(b)
  local c = type(b.customer) == "table" and b.customer or {}
  local who = (type(c.name) == "string" and c.name ~= "" and c.name) or c.phone
  return tostring(b.service) .. (who and (" - " .. tostring(who)) or "") .. " (" .. b.id .. ")"
end

local function gtimes(b) return { dateTime = calendar.iso(b.start) }, { dateTime = calendar.iso(b["end"]) } end

-- per vendor: op(cal, src, b, ref, key) -> remote id | nil, word, detail
local WRITE = { google = {}, odoo = {} }
function WRITE.google.insert(cal, src, b, _, key)
  local s, e = gtimes(b)
  local ev, word, detail = cal.call(src.connector, "insert_event", src.calendar, { summary = summary(b),
    description = "Booking " .. b.id, start = s, ["end"] = e,
    extendedProperties = { private = { booking_id = b.id } } }, { key = key })
  if not ev then return nil, word, detail end
  return ev.id
end
function WRITE.google.patch(cal, src, b, ref, key)
  local s, e = gtimes(b)
  local ev, word, detail = cal.call(src.connector, "patch_event", src.calendar, ref.id, { start = s, ["end"] = e }, { key = key })
  if not ev then return nil, word, detail end
  return ref.id
end
function WRITE.google.delete(cal, src, _, ref, key)
  local ok, word, detail = cal.call(src.connector, "delete_event", src.calendar, ref.id, { key = key })
  if not ok and word ~= "gone" and word ~= "not found" then return nil, word, detail end
  return ref.id
end
function WRITE.odoo.insert(cal, src, b, _, key)
  return cal.call(src.connector, "create", src.model, { name = summary(b), description = "Booking " .. b.id,
    start = calendar.odoo_time(b.start), stop = calendar.odoo_time(b["end"]), user_id = src.user_id }, { key = key })
end
function WRITE.odoo.patch(cal, src, b, ref, key)
  local ok, word, detail = cal.call(src.connector, "write", src.model, { ref.id },
    { start = calendar.odoo_time(b.start), stop = calendar.odoo_time(b["end"]) }, { key = key })
  if not ok then return nil, word, detail end
  return ref.id
end
function WRITE.odoo.delete(cal, src, _, ref, key)
  local ok, word, detail = cal.call(src.connector, "unlink", src.model, { ref.id }, { key = key })
  if not ok and word ~= "not found" then return nil, word, detail end
  return ref.id
end

-- what source's calendar needs for b -> op, key tag | nil
local function plan(b, ref)
  if LIVE[b.status] then
    if ref.id == nil then return "insert", "insert" end
    if not ref.deleted and (ref.start ~= b.start or ref["end"] ~= b["end"]) then
      return "patch", "move" .. #(type(b.history) == "table" and b.history or {})
    end
  elseif GONE[b.status] then
    if ref.id == nil and ref.pending then return "insert", "insert" end   -- an insert in doubt: settle it, then delete
    if ref.id ~= nil and not ref.deleted then return "delete", "delete" end
  end
end

local function ref_of(b, name)
  local refs = type(b.refs) == "table" and type(b.refs.calendar) == "table" and b.refs.calendar or {}
  return type(refs[name]) == "table" and refs[name] or {}
end

local function member(id, s, e) return ("%s|%s|%s"):format(tostring(id), tostring(s), tostring(e)) end

local function apply(cal, name, src, b, ref, op, tag)
  local key = ("cal:%s:%s:%s:%s"):format(cal.tenant, name, b.id, tag)
  if op == "insert" and not ref.pending then
    ref.pending = true
    set_ref(cal, b.id, name, ref)
  end
  local rid, word, detail = WRITE[src.kind][op](cal, src, b, ref, key)
  if rid == nil then
    if op ~= "patch" or (word ~= "gone" and word ~= "not found") then return nil, word, detail end
    log.warn("calendar: the event was deleted in the calendar; not made again",
             { tenant = cal.tenant, booking = b.id, source = name })
    ref.deleted, rid = true, ref.id
  end
  local new = { id = rid, start = b.start, ["end"] = b["end"], source = src.kind,
                deleted = (op == "delete" or ref.deleted) or nil }
  local mk, now = calendar.mine_key(cal.tenant, name), time.now()
  local cmds = { { "ZREMRANGEBYSCORE", mk, "-inf", "(" .. math.floor(now - 3 * 86400) } }
  if ref.id ~= nil then cmds[#cmds + 1] = { "ZREM", mk, member(ref.id, ref.start, ref["end"]) } end
  if not new.deleted then cmds[#cmds + 1] = { "ZADD", mk, b["end"], member(rid, b.start, b["end"]) } end
  redis.pipeline(cmds)
  set_ref(cal, b.id, name, new)
  cal.forget(name, math.min(b.start, ref.start or b.start), math.max(b["end"], ref["end"] or b["end"]))
  log.info("calendar written", { tenant = cal.tenant, booking = b.id, source = name, op = op, id = tostring(rid) })
  return true
end

-- the first write b needs, if any -> name, src, ref, op, tag
local function next_write(cal, b)
  for _, name in ipairs(cal.targets(b.resource)) do
    local src = cal.sources[name]
    if src.write then
      local ref = ref_of(b, name)
      local op, tag = plan(b, ref)
      if op then return name, src, ref, op, tag end
    end
  end
end

function M.run(cal, engine, id)
  for _ = 1, 8 do                                   -- a booking changed meanwhile: go again
    local b, err = engine:get(id)
    if not b then
      if err == "not found" then return true end
      return nil, err
    end
    local name, src, ref, op, tag = next_write(cal, b)
    if not name then return true end
    local ok, word, detail = apply(cal, name, src, b, ref, op, tag)
    if not ok then return nil, word, detail end
  end
  return true
end

function M.changed(cal, engine, b)
  if type(b) ~= "table" or not next_write(cal, b) then return b end
  local tid = ("calsync:%s:%s:%d"):format(cal.tenant, b.id, #(type(b.history) == "table" and b.history or {}))
  local _, terr = timer.after(M.FIRST_RETRY, M.KIND, { tenant = cal.tenant, booking = b.id }, { id = tid })
  if terr and terr ~= "exists" then log.warn("calendar: no retry timer", { tenant = cal.tenant, booking = b.id, error = terr }) end
  local ok, word, detail = M.run(cal, engine, b.id)
  if not ok then
    log.warn("calendar write failed; retried later", { tenant = cal.tenant, booking = b.id, error = word, detail = detail })
    return b
  end
  timer.cancel(tid)
  return engine:get(b.id) or b
end

function M.fire(p)
  if type(p) ~= "table" or type(p.tenant) ~= "string" or type(p.booking) ~= "string" then return end
  local base = p.tenant:match("^[^.]+")
  local out, err, detail = require("flow.tenants").call(base, "calendar_sync",
    json.encode{ tenant = p.tenant, id = p.booking })
  if out == nil then
    if err == "unknown tenant" then return end
    error("calendar sync: " .. tostring(err) .. (detail and (": " .. tostring(detail)) or ""), 0)
  end
  local r = json.decode(out)
  if type(r) == "table" and r.err then error("calendar sync: " .. tostring(r.err), 0) end
end

return M

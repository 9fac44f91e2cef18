--- booking: the one booking engine of every tenant (wash bays, stylists,
--- technicians, sales reps' calendars).
--
--   local engine, err = booking.new{ tenant = "carwash", model = decl, busy = fn?, on_change = fn? }
--     decl: see scripts/booking/model.lua; err names the bad field.
--     busy(resource_id, from, to) -> list of {s, e} | nil, err (external
--       calendars, booking.calendar; may yield). Busy time only removes
--       slots: the atomic reserve in Redis still decides what is booked. A
--       busy fn that fails makes slots, next_free, reserve and reschedule
--       answer nil, "calendar unavailable" (never free time it cannot see).
--     on_change(booking) -> booking' (may yield) called after a reserve
--       (also a repeated one), confirm, cancel, complete, no-show or
--       reschedule succeeded; what it returns is returned (calendar writes,
--       booking.calendar_sync). Its failures are its own: never the change's.
--
-- Queries (yield: Redis, and busy()):
--   engine:slots{service, from, to, area?, resource?, addons?, limit?} -> slots | nil, err
--   engine:next_free{service, from?, area?, resource?, addons?}       -> slot | nil, "no free slot"
-- Changes (atomic Redis scripts):
--   engine:reserve{service, start, resource?, area?, addons?, customer = {name, phone, email},
--                  channel?, conversation?, refs?, idempotency_key?, hold = false}
--       -> booking, "ok"|"dup" | nil, "slot taken" | "not available" | err
--       Without resource the engine assigns one (skill, area, then the
--       tenant's policy). With hold = true the booking is "held" until
--       rules.hold_minutes pass; confirm() makes it "confirmed".
--   engine:confirm(id) / engine:cancel(id, reason) / engine:complete(id) / engine:no_show(id)
--   engine:reschedule(id, new_start, resource?) -> booking | nil, "slot taken" | err
--       the old slot is freed only when the new one was taken
-- Lookups:
--   engine:get(id); engine:by_customer(phone_or_email); engine:by_resource_day(res, "YYYY-MM-DD");
--   engine:by_day("YYYY-MM-DD")
-- A customer's view (what a flow gets; see scripts/booking/customer.lua):
--   engine:for_customer(who) -> view   who = flow.identity.of(conversation)
--       the same calls, limited to the bookings of that verified identity;
--       its reserve records the owner and applies rules.holds_per_customer
--       and rules.bookings_per_minute (nil, "rate limited")
--
-- The engine is a read-only object: its tenant, Redis prefix and model live
-- in closures, so nothing that holds it can point it at another tenant's
-- keys. Operators' code (the admin API) uses it whole; flows get only a
-- customer's view of it.
--
-- Times are UTC seconds; records carry start/end as seconds, ISO 8601 in
-- the tenant zone (start_local) and the local date.
--
-- Redis keys: "bk:{<tenant>}:..." (see scripts/booking/store.lua and
-- docs/redis-keys.md). A hold's record lives until a day after the hold
-- ends unless it is confirmed; confirmed bookings are permanent. The first
-- call of an engine in a process also moves bookings of the key layout
-- before the hash tag ("bk:<tenant>:...", booking.migrate), a little at a
-- time.
local model = require "booking.model"
local availability = require "booking.availability"
local overrides = require "booking.overrides"
local store = require "booking.store"
local customer = require "booking.customer"
local migrate = require "booking.migrate"
local redis = require "redis"
local crypto = require "crypto"
local time = require "time"
local tz = require "tz"
local signals = require "signals"

local M = {}

--- booking.spec_run = true (host.test_runner, a tenant's specs in their own
--- database): the business-wide bookings_per_minute is off. A spec suite
--- books far more in a minute than customers do; the limit has its own
--- specs (tests/unit/booking_spec.lua), and holds_per_customer still holds.
M.spec_run = false
local Engine = {}
Engine.__index = Engine

local MAXSPAN = model.MAXSPAN      -- no booking blocks more than two days
local MIGRATE_BUDGET = 0.1         -- seconds of moving old keys a call may spend
local ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

-- what code holding the engine may call (everything else is internal)
local PUBLIC = { "slots", "next_free", "order", "reserve", "get", "confirm", "cancel", "complete",
                 "no_show", "reschedule", "by_customer", "by_resource_day", "by_day", "for_customer" }

--- booking.new{tenant, model, busy?, on_change?, now?} -> engine | nil, err
--- The engine's state stays in this closure; the object returned is a
--- read-only proxy of bound methods (writing to it raises).
function M.new(opts)
  assert(type(opts) == "table" and type(opts.tenant) == "string" and opts.tenant ~= "",
         "booking.new{tenant = ..., model = ...}")
  local m, err = model.compile(opts.model)
  if not m then return nil, "booking (" .. opts.tenant .. "): " .. err end
  local self = setmetatable({ tenant = opts.tenant, m = m, busy_fn = opts.busy, on_change = opts.on_change, now = opts.now or time.now,
                              prefix = "bk:{" .. opts.tenant .. "}:" }, Engine)
  return customer.locked(self, Engine, PUBLIC)
end

-- every engine of this process: the old key layout is moved (migrate.run)
local layout_ok = false

-- Called first by each method that reads or writes Redis: until the keys of
-- the old layout are all moved, moves some more. A failure is not the
-- caller's: it is tried again on the next call.
function Engine:ready()
  if layout_ok then return end
  if migrate.run(self.now(), MIGRATE_BUDGET) then layout_ok = true end
end

function Engine:new_id()
  local hex = crypto.random_hex(self.m.id_length)
  local out = {}
  for i = 1, self.m.id_length do
    local v = tonumber(hex:sub(2 * i - 1, 2 * i), 16) % 32 + 1
    out[i] = ALPHABET:sub(v, v)
  end
  return self.m.id_prefix .. table.concat(out)
end

local function check_service(self, q, fn)
  if type(q) ~= "table" then error(fn .. ": needs a table of arguments", 3) end
  local svc = self.m.services[q.service]
  if not svc then error(fn .. ": unknown service " .. tostring(q.service), 3) end
  return svc
end

function Engine:busy(resources, from, to)
  if not self.busy_fn then return nil end
  local out = {}
  for _, rid in ipairs(resources) do
    local list, err = self.busy_fn(rid, from, to)
    if list == nil and err then return nil, "calendar unavailable" end
    out[rid] = list or {}
  end
  return out
end

function Engine:slots(q)
  local svc = check_service(self, q, "booking.slots")
  if type(q.from) ~= "number" or type(q.to) ~= "number" then error("booking.slots: from and to must be times", 2) end
  local ids = {}
  for _, r in ipairs(availability.candidates(self.m, svc, q.area, q.resource)) do ids[#ids + 1] = r.id end
  if #ids == 0 then return {} end
  self:ready()
  local now = self.now()
  local occ, err = store.occupancy(self.prefix, ids, q.from - 86400, q.to + 86400, MAXSPAN, now,
                                   self.m.max_per_day ~= nil)
  if not occ then return nil, err end
  local busy
  busy, err = self:busy(ids, q.from - 86400, q.to + 86400)
  if err then return nil, err end
  local ovr
  ovr, err = overrides.load(self.prefix)
  if err then return nil, err end
  return availability.slots(self.m, q, occ, busy, now, ovr)
end

function Engine:next_free(q)
  check_service(self, q, "booking.next_free")
  local from = q.from or self.now()
  local horizon = self.now() + self.m.horizon
  while from <= horizon do
    local to = math.min(from + 2 * 86400, horizon)
    local s, err = self:slots{ service = q.service, from = from, to = to, area = q.area,
                               resource = q.resource, addons = q.addons, limit = 1 }
    if not s then return nil, err end
    if s[1] then return s[1] end
    from = to + 1
  end
  return nil, "no free slot"
end

-- candidate resources for a start, ordered by the tenant's policy
function Engine:order(svc, candidates, date, preferred)
  local m = self.m
  if #candidates <= 1 then return candidates end
  self:ready()
  if m.policy == "least_loaded" then
    local cmds = {}
    for i, rid in ipairs(candidates) do cmds[i] = { "ZCARD", store.keys(self.prefix).rday(rid, date) } end
    local counts = redis.pipeline(cmds) or {}
    local load = {}
    for i, rid in ipairs(candidates) do load[rid] = tonumber(counts[i]) or 0 end
    table.sort(candidates, function(a, b)
      if load[a] ~= load[b] then return load[a] < load[b] end
      return a < b
    end)
  elseif m.policy == "round_robin" then
    local last = redis.call("GET", store.keys(self.prefix).rr(svc.id))
    last = type(last) == "string" and last or ""
    table.sort(candidates, function(a, b)
      local ka, kb = a > last, b > last                -- those after the last one come first
      if ka ~= kb then return ka end
      return a < b
    end)
  end
  local rank = {}
  local prefs = preferred and { preferred } or m.preferred
  for i, rid in ipairs(prefs) do rank[rid] = i end
  if next(rank) and (m.policy == "preferred" or preferred) then
    local orig = {}
    for i, rid in ipairs(candidates) do orig[rid] = i end
    table.sort(candidates, function(a, b)
      local ra, rb = rank[a] or math.huge, rank[b] or math.huge
      if ra ~= rb then return ra < rb end
      return orig[a] < orig[b]
    end)
  end
  return candidates
end

local function expire_view(b, now)
  if b and b.status == "held" and b.hold_until and b.hold_until <= now then b.status = "expired" end
  return b
end

local function customer_key(c)
  if type(c) ~= "table" then return nil end
  return c.phone or c.email
end

-- lookup keys of a customer: phone and email, each when given
local function customer_keys(self, c)
  local out = {}
  if type(c) == "table" then
    local k = store.keys(self.prefix)
    if c.phone then out[#out + 1] = k.cust(c.phone) end
    if c.email then out[#out + 1] = k.cust(c.email) end
  end
  return out
end

-- guard (customer views only): {owner, conversation, channel} of the
-- verified customer; the owner is recorded, idempotency keys are the
-- owner's own, and the tenant's customer limits apply
function Engine:reserve(q, guard)
  local svc = check_service(self, q, "booking.reserve")
  if type(q.start) ~= "number" then error("booking.reserve: start must be a time", 2) end
  self:ready()
  local m, now = self.m, self.now()
  local cust = customer_key(q.customer)
  local idem = q.idempotency_key or (cust and (cust .. "|" .. svc.id .. "|" .. q.start))
  if guard then idem = "o:" .. guard.owner .. "|" .. (idem or (svc.id .. "|" .. q.start)) end
  if idem then                                      -- a retry returns what the first call made
    local id = redis.call("GET", store.keys(self.prefix).idem(idem))
    if type(id) == "string" then
      local b = store.get(self.prefix, id)
      if b and (not guard or b.owner == guard.owner) then return self:changed(expire_view(b, now)), "dup" end
    end
  end
  local slots, err = self:slots{ service = q.service, from = q.start, to = q.start, area = q.area,
                                 resource = q.resource, addons = q.addons }
  if not slots then return nil, err end
  local slot = slots[1]
  if not slot or slot.start ~= q.start then
    -- taken, or not a bookable time at all: tell which
    local free = availability.slots(m, { service = q.service, from = q.start, to = q.start, area = q.area,
                                         resource = q.resource, addons = q.addons }, {}, nil, now,
                                    (overrides.load(self.prefix)))
    return nil, free[1] and "slot taken" or "not available"
  end
  local date = tz.date(q.start, m.zone)
  local candidates = self:order(svc, slot.resources, date, q.preferred)
  local dur = model.duration(svc, q.addons)
  for _, rid in ipairs(candidates) do
    local b = {
      id = self:new_id(), tenant = self.tenant, service = svc.id, addons = q.addons, resource = rid,
      start = q.start, ["end"] = q.start + dur, blocked_start = q.start - svc.before,
      blocked_end = q.start + dur + svc.after, date = date, start_local = tz.format_iso(q.start, m.zone),
      timezone = m.zone.name, status = q.hold and "held" or "confirmed",
      hold_until = q.hold and now + m.hold or nil, customer = q.customer,
      channel = guard and guard.channel or q.channel, conversation = guard and guard.conversation or q.conversation,
      owner = guard and guard.owner or nil, refs = q.refs, area = q.area, price = model.price(svc, q.addons),
    }
    local booking, how
    for _ = 1, 3 do                                 -- an id collision draws a new id
      booking, how = store.reserve(self.prefix, b, {
        cap = m.resources[rid].capacity, now = now, travel = m.travel, maxspan = MAXSPAN,
        idem = idem and store.keys(self.prefix).idem(idem), cust_keys = customer_keys(self, q.customer),
        limits = guard and { max_holds = m.max_holds, per_minute = M.spec_run and 0 or m.rate } })
      if how ~= "collision" then break end
      b.id = self:new_id()
    end
    if booking then
      if guard and how == "dup" and booking.owner ~= guard.owner then return nil, "slot taken" end
      if how == "ok" then
        if m.policy == "round_robin" then redis.call("SET", store.keys(self.prefix).rr(svc.id), rid) end
        signals.count("flowhost_bookings_total", self.tenant, { "event", "made" })
      end
      return self:changed(booking), how
    end
    if how ~= "slot taken" then return nil, how end
  end
  return nil, "slot taken"
end

function Engine:get(id)
  self:ready()
  local b, err = store.get(self.prefix, id)
  return expire_view(b, self.now()), err
end

-- after a change succeeded: the on_change hook (calendar writes)
function Engine:changed(b)
  if not b or not self.on_change then return b end
  return self.on_change(b) or b
end

function Engine:change(id, action, reason)
  self:ready()
  local b, err = store.change(self.prefix, id, action, self.now(), reason)
  if not b then return nil, err end
  if action == "cancel" and err == "ok" then             -- (not a repeated cancel: "dup")
    signals.count("flowhost_bookings_total", self.tenant, { "event", "cancelled" })
  end
  return self:changed(b)
end

function Engine:confirm(id) return self:change(id, "confirm") end
function Engine:cancel(id, reason) return self:change(id, "cancel", reason) end
function Engine:complete(id) return self:change(id, "complete") end
function Engine:no_show(id) return self:change(id, "no_show") end

function Engine:reschedule(id, new_start, resource)
  if type(new_start) ~= "number" then error("booking.reschedule: new_start must be a time", 2) end
  self:ready()
  local b, err = store.get(self.prefix, id)
  if not b then return nil, err end
  local svc = self.m.services[b.service]
  local rid = resource or b.resource
  local res = self.m.resources[rid]
  if not svc or not res then return nil, "not available" end
  local q = { service = b.service, from = new_start, to = new_start, resource = rid, addons = b.addons, area = b.area }
  local ovr, oerr = overrides.load(self.prefix)
  if oerr then return nil, oerr end
  local free = availability.slots(self.m, q, {}, nil, self.now(), ovr)
  if not free[1] or free[1].start ~= new_start then return nil, "not available" end
  local busy, berr = self:busy({ rid }, new_start - 86400, new_start + 86400)
  if berr then return nil, berr end
  if busy then                                      -- busy in the calendar: taken
    free = availability.slots(self.m, q, {}, busy, self.now(), ovr)
    if not free[1] or free[1].start ~= new_start then return nil, "slot taken" end
  end
  local dur = b["end"] - b.start
  local moved, merr = store.move(self.prefix, b, {
    start = new_start, ["end"] = new_start + dur, blocked_start = new_start - svc.before,
    blocked_end = new_start + dur + svc.after, resource = rid, date = tz.date(new_start, self.m.zone),
    start_local = tz.format_iso(new_start, self.m.zone),
  }, { cap = res.capacity, now = self.now(), travel = self.m.travel, maxspan = MAXSPAN,
       cust_keys = customer_keys(self, b.customer) })
  if not moved then return nil, merr end
  return self:changed(moved)
end

-- the records of an index's ids (ids whose record is gone leave the index)
local function records_of(self, key, ids)
  local recs, gone = store.records(self.prefix, ids)
  if not recs then return nil, gone end
  if #gone > 0 then store.forget(key, gone) end
  return recs
end

local function list(self, key, rev)
  self:ready()
  local ids, err = redis.call(rev and "ZREVRANGE" or "ZRANGE", key, 0, -1)
  if not ids then return nil, err end
  local recs
  recs, err = records_of(self, key, ids)
  if not recs then return nil, err end
  local now = self.now()
  for _, b in ipairs(recs) do expire_view(b, now) end
  return recs
end

--- Upcoming bookings first (soonest first), then past ones (latest first).
function Engine:by_customer(c)
  local recs, err = list(self, store.keys(self.prefix).cust(c))
  if not recs then return nil, err end
  local now, up, past = self.now(), {}, {}
  for _, b in ipairs(recs) do
    if b.start >= now then up[#up + 1] = b else table.insert(past, 1, b) end
  end
  for _, b in ipairs(past) do up[#up + 1] = b end
  return up
end

function Engine:by_resource_day(res, date) return list(self, store.keys(self.prefix).rday(res, date)) end
function Engine:by_day(date) return list(self, store.keys(self.prefix).day(date)) end

--- Bookings a verified identity made that have not ended, soonest first
--- (any status; the customer view keeps the live ones).
function Engine:by_owner(owner)
  self:ready()
  local key = store.keys(self.prefix).own(owner)
  local ids, err = redis.call("ZRANGEBYSCORE", key, self.now() - MAXSPAN, "+inf")
  if not ids then return nil, err end
  local recs
  recs, err = records_of(self, key, ids)
  if not recs then return nil, err end
  local now, out = self.now(), {}
  for _, b in ipairs(recs) do
    if b["end"] > now then out[#out + 1] = expire_view(b, now) end
  end
  return out
end

--- engine:for_customer(who) -> view: the bookings of one verified customer
--- identity only (see booking.customer). who = flow.identity.of(conversation).
function Engine:for_customer(who) return customer.view(self, who) end

return M

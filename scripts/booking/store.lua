--- booking.store: booking records and per-resource occupancy in Redis,
--- changed only by Lua scripts running inside Redis, so that concurrent
--- reserves, reschedules and cancels of one resource are serialized there.
--
-- Keys of tenant T (prefix "bk:{T}:": one Redis Cluster hash tag per tenant,
-- so every key a script touches is on one slot):
--   b:<id>               the booking record (JSON). A hold's record lives
--                        until the hold ends plus HOLD_KEEP (a day: the
--                        customer can still be told the hold ran out); a
--                        cancelled hold keeps that life. A booking that is
--                        or was confirmed (or completed, no-show) is
--                        permanent business data.
--   occ:<resource>       sorted set: score = blocked start, member
--                        "blocked_end|hold_until|area|id|start" (hold_until 0 = not a hold);
--                        entries that started more than 2 x model.MAXSPAN +
--                        travel + a day ago are dropped by the next reserve
--                        or reschedule on the resource (nothing can overlap them)
--   idem:<key>           idempotency key -> id (7 days)
--   cust:<phone|email>   sorted set of ids by start
--   day:<YYYY-MM-DD>     sorted set of ids by start (local date)
--   rday:<res>:<date>    the same per resource
--   rr:<service>         round robin: the resource assigned last
--   own:<identity>       sorted set of ids by start: the bookings a verified
--                        customer identity made (booking.customer)
--   held:o:<identity>    sorted set of the identity's live holds by hold end,
--   held:c:<conversation> and of the conversation's; they expire with the
--                        last hold in them
--   rate                 sorted set of the reservations customers made in the
--                        last 60 s (id by time; expires a minute after the last)
--   holds                sorted set: every hold by the end of its record's life,
--                        member = JSON [id, the index keys it is in (suffixes)];
--                        each reservation sweeps up to SWEEP_BATCH that are
--                        due: a record still a hold (or gone) is deleted and
--                        its id leaves day/rday/cust/own; a confirmed one stays
-- The indexes (cust, day, rday, own) are permanent with the records; ids
-- whose record is gone are skipped by readers (and dropped: store.forget).
--
-- Every key a script names comes in KEYS. The records (and occupancy) of
-- bookings a script finds in an index (the hold limits, the idempotency
-- check) are named inside it: they carry the same tag, so they are on the
-- slot the call was routed to, which Redis Cluster allows.
--
-- Every function yields (Redis) and returns value | nil, err; errors are
-- "slot taken", "not found", "not held", "hold expired", "cancelled",
-- "rate limited" or a Redis error word.
local rscript = require "rscript"
local redis = require "redis"
local json = require "json"

local M = {}

local IDEM_TTL = 7 * 86400
local HOLD_KEEP = 86400          -- a hold's record lives this long after the hold ends
local SWEEP_BATCH = 16           -- due holds one reservation cleans up (it adds at most one)
M.HOLD_KEEP = HOLD_KEEP

-- shared by the scripts: the peak concurrency of members overlapping
-- [bs, be) (skipping `self`, dropping expired holds) must stay < cap
local OVERLAP = [[
local function blocked(key, bs, be, cap, now, area, travel, maxspan, self)
  local m = redis.call('ZRANGEBYSCORE', key, bs - maxspan - travel, '(' .. (be + travel), 'WITHSCORES')
  local ev = {}
  for i = 1, #m, 2 do
    local e, hold, a, id = string.match(m[i], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|')
    e, hold = tonumber(e), tonumber(hold)
    local s = tonumber(m[i + 1])
    if hold > 0 and hold <= now then
      redis.call('ZREM', key, m[i])
    elseif id ~= self then
      local pad = (travel > 0 and area ~= '' and a ~= '' and a ~= area) and travel or 0
      s, e = s - pad, e + pad
      if s < be and e > bs then
        ev[#ev + 1] = { math.max(s, bs), 1 }
        ev[#ev + 1] = { math.min(e, be), -1 }
      end
    end
  end
  table.sort(ev, function(x, y) if x[1] ~= y[1] then return x[1] < y[1] end return x[2] < y[2] end)
  local n, peak = 0, 0
  for _, x in ipairs(ev) do n = n + x[2]; if n > peak then peak = n end end
  return peak >= cap
end
-- occupancy entries that started before this cannot overlap anything
-- bookable any more (a booking starts after now and blocks at most maxspan)
local function prune(key, now, travel, maxspan)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - 2 * maxspan - travel - 86400))
end
local function member(b)
  return (b.blocked_end .. '|' .. (b.status == 'held' and b.hold_until or 0) .. '|' ..
          (b.area or '') .. '|' .. b.id .. '|' .. b.start)
end
local function history(b, now, action, extra)
  b.history = b.history or {}
  local h = { at = now, action = action }
  for k, v in pairs(extra or {}) do h[k] = v end
  b.history[#b.history + 1] = h
  b.updated = now
end
]]

-- KEYS: occ, idem, cust, day, rday, cust2, own, held by owner, held by conversation, rate, holds
-- ARGV: prefix, record JSON, cap, now, travel, maxspan, idem ttl, max holds, max per minute,
--       hold keep (s), the hold's member of `holds` ('' unless a hold), sweep batch
-- A key the call has none of is the placeholder prefix .. '-' (on the
-- tenant's slot, never written): idem, cust, cust2 and own when not given;
-- the four limit keys for reservations no customer makes (operators, the
-- engine's own callers), which have no limits.
-- -> {'ok', record, due holds...} | {'dup', record} | {error word}
local RESERVE = rscript.new(OVERLAP .. [[
local prefix, b = ARGV[1], cjson.decode(ARGV[2])
local NONE = prefix .. '-'
local cap, now, travel, maxspan = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local max_holds, per_minute, keep = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
if KEYS[2] ~= NONE then
  local old = redis.call('GET', KEYS[2])
  if old then
    local rec = redis.call('GET', prefix .. 'b:' .. old)
    if rec then return { 'dup', rec } end
  end
end
if KEYS[10] ~= NONE and per_minute > 0 then                          -- the last 60 s, sliding
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now - 60)
  if redis.call('ZCARD', KEYS[10]) >= per_minute then return { 'rate limited' } end
end
prune(KEYS[1], now, travel, maxspan)
if blocked(KEYS[1], b.blocked_start, b.blocked_end, cap, now, b.area or '', travel, maxspan, nil) then
  return { 'taken' }
end
if redis.call('EXISTS', prefix .. 'b:' .. b.id) == 1 then return { 'collision' } end
b.created, b.updated = now, now
local held = b.status == 'held'
history(b, now, held and 'held' or 'booked')
local rec = cjson.encode(b)
if held then                                     -- a hold's record ends a day after the hold
  redis.call('SET', prefix .. 'b:' .. b.id, rec, 'PX', math.max(1, math.ceil((b.hold_until + keep - now) * 1000)))
  redis.call('ZADD', KEYS[11], b.hold_until + keep, ARGV[11])
else
  redis.call('SET', prefix .. 'b:' .. b.id, rec)
end
redis.call('ZADD', KEYS[1], b.blocked_start, member(b))
if KEYS[2] ~= NONE then redis.call('SET', KEYS[2], b.id, 'EX', ARGV[7]) end
if KEYS[3] ~= NONE then redis.call('ZADD', KEYS[3], b.start, b.id) end
if KEYS[6] ~= NONE then redis.call('ZADD', KEYS[6], b.start, b.id) end
if KEYS[7] ~= NONE then redis.call('ZADD', KEYS[7], b.start, b.id) end
redis.call('ZADD', KEYS[4], b.start, b.id)
redis.call('ZADD', KEYS[5], b.start, b.id)
if KEYS[10] ~= NONE and per_minute > 0 then
  redis.call('ZADD', KEYS[10], now, b.id)
  redis.call('EXPIRE', KEYS[10], 61)
end
-- at most max_holds live holds per owner and per conversation: the oldest go
if held and max_holds > 0 then
  for k = 8, 9 do
    local key = KEYS[k]
    if key ~= NONE then
      local live = {}
      for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do       -- oldest first
        local raw = redis.call('GET', prefix .. 'b:' .. id)
        local h = raw and cjson.decode(raw)
        if h and h.status == 'held' and h.hold_until > now then live[#live + 1] = h
        else redis.call('ZREM', key, id) end
      end
      for i = 1, #live - max_holds + 1 do
        local h = live[i]
        redis.call('ZREM', prefix .. 'occ:' .. h.resource, member(h))
        if h.idempotency_key and h.idempotency_key:sub(1, #prefix) == prefix then redis.call('DEL', h.idempotency_key) end
        h.status, h.cancel_reason = 'cancelled', 'replaced by a newer hold'
        history(h, now, 'cancelled', { reason = h.cancel_reason })
        redis.call('SET', prefix .. 'b:' .. h.id, cjson.encode(h), 'KEEPTTL')  -- still a hold's life
        redis.call('ZREM', key, h.id)
      end
      redis.call('ZADD', key, b.hold_until, b.id)
      redis.call('EXPIRE', key, math.ceil(b.hold_until - now) + 60)
    end
  end
end
local out = { 'ok', rec }
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[11], '-inf', now, 'LIMIT', 0, tonumber(ARGV[12]))) do
  out[#out + 1] = m
end
return out
]])

-- KEYS: holds, then for each due hold its record and the index keys it is in
-- ARGV: for each due hold: its member of `holds`, the number of its index keys
-- A hold whose record is permanent now (confirmed) only leaves `holds`; one
-- whose record is still a hold's (or gone) is deleted and leaves its indexes.
local SWEEP = rscript.new([[
local k = 2
for i = 1, #ARGV, 2 do
  local m, n = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('ZREM', KEYS[1], m) == 1 and redis.call('PTTL', KEYS[k]) ~= -1 then
    local id = cjson.decode(m)[1]
    redis.call('DEL', KEYS[k])
    for j = 1, n do redis.call('ZREM', KEYS[k + j], id) end
  end
  k = k + 1 + n
end
return 1
]])

-- KEYS: record, occ, idempotency key (or the placeholder, ARGV[4])
-- ARGV: action (confirm|cancel|complete|no_show), now, reason, placeholder
local CHANGE = rscript.new(OVERLAP .. [[
local raw = redis.call('GET', KEYS[1])
if not raw then return { 'not found' } end
local b, action, now = cjson.decode(raw), ARGV[1], tonumber(ARGV[2])
if action == 'confirm' then
  if b.status == 'confirmed' then return { 'dup', raw } end
  if b.status ~= 'held' then return { 'not held' } end
  redis.call('ZREM', KEYS[2], member(b))
  if b.hold_until <= now then
    b.status = 'expired'
    history(b, now, 'expired')
    redis.call('SET', KEYS[1], cjson.encode(b), 'KEEPTTL')
    return { 'hold expired' }
  end
  b.status = 'confirmed'
  b.hold_until = nil
  redis.call('ZADD', KEYS[2], b.blocked_start, member(b))
  history(b, now, 'confirmed')
elseif action == 'cancel' then
  if b.status == 'cancelled' then return { 'dup', raw } end
  redis.call('ZREM', KEYS[2], member(b))
  if KEYS[3] ~= ARGV[4] then redis.call('DEL', KEYS[3]) end
  b.status = 'cancelled'
  b.cancel_reason = ARGV[3]
  history(b, now, 'cancelled', { reason = ARGV[3] })
else
  if b.status == 'cancelled' then return { 'cancelled' } end
  b.status = action == 'complete' and 'completed' or 'no-show'
  history(b, now, b.status)
end
raw = cjson.encode(b)
if action == 'cancel' then
  redis.call('SET', KEYS[1], raw, 'KEEPTTL')     -- a cancelled hold keeps a hold's life
else
  redis.call('SET', KEYS[1], raw)                -- confirmed, completed, no-show: permanent
end
return { 'ok', raw }
]])

-- KEYS: record, old occ, new occ, old day, old rday, new day, new rday, cust, cust2, own, holds
-- ARGV: new start, new end, blocked start, blocked end, resource, cap, now, travel, maxspan, date,
--       hold keep, the hold's member of `holds` before and after (for a hold), placeholder
-- (cust, cust2 and own are the placeholder key when the booking has none)
local MOVE = rscript.new(OVERLAP .. [[
local raw = redis.call('GET', KEYS[1])
if not raw then return { 'not found' } end
local b = cjson.decode(raw)
if b.status == 'cancelled' or b.status == 'expired' then return { 'cancelled' } end
local now = tonumber(ARGV[7])
if b.status == 'held' and b.hold_until <= now then return { 'hold expired' } end
local bs, be = tonumber(ARGV[3]), tonumber(ARGV[4])
prune(KEYS[3], now, tonumber(ARGV[8]), tonumber(ARGV[9]))
if blocked(KEYS[3], bs, be, tonumber(ARGV[6]), now, b.area or '', tonumber(ARGV[8]), tonumber(ARGV[9]), b.id) then
  return { 'taken' }
end
redis.call('ZREM', KEYS[2], member(b))
redis.call('ZREM', KEYS[4], b.id)
redis.call('ZREM', KEYS[5], b.id)
local from = { start = b.start, resource = b.resource }
b.start, b['end'], b.blocked_start, b.blocked_end = tonumber(ARGV[1]), tonumber(ARGV[2]), bs, be
b.resource, b.date = ARGV[5], ARGV[10]
if ARGV[15] and ARGV[15] ~= '' then b.start_local = ARGV[15] end
history(b, now, 'rescheduled', { from = from.start, from_resource = from.resource })
redis.call('ZADD', KEYS[3], bs, member(b))
redis.call('ZADD', KEYS[6], b.start, b.id)
redis.call('ZADD', KEYS[7], b.start, b.id)
if KEYS[8] ~= ARGV[14] then redis.call('ZADD', KEYS[8], b.start, b.id) end
if KEYS[9] ~= ARGV[14] then redis.call('ZADD', KEYS[9], b.start, b.id) end
if KEYS[10] ~= ARGV[14] then redis.call('ZADD', KEYS[10], b.start, b.id) end
if b.status == 'held' and ARGV[13] ~= '' then   -- the sweep must find it in its new indexes
  redis.call('ZREM', KEYS[11], ARGV[12])
  redis.call('ZADD', KEYS[11], b.hold_until + tonumber(ARGV[11]), ARGV[13])
end
raw = cjson.encode(b)
redis.call('SET', KEYS[1], raw, 'KEEPTTL')
return { 'ok', raw }
]])

local function decode(raw)
  local b = json.decode(raw)
  return b
end

local function result(r, err)
  if not r then return nil, err end
  if r[1] == "ok" or r[1] == "dup" then return decode(r[2]), r[1] end
  if r[1] == "taken" then return nil, "slot taken" end
  return nil, r[1]
end

--- store.keys(prefix) -> k: the key names of one tenant's bookings
--- (k.record(id), k.occ(resource), ...; see the list at the top)
function M.keys(prefix)
  local k = {}
  function k.record(id) return prefix .. "b:" .. id end
  function k.occ(res) return prefix .. "occ:" .. res end
  function k.idem(key) return prefix .. "idem:" .. key end
  function k.cust(c) return prefix .. "cust:" .. c end
  function k.day(date) return prefix .. "day:" .. date end
  function k.rday(res, date) return prefix .. "rday:" .. res .. ":" .. date end
  function k.rr(svc) return prefix .. "rr:" .. svc end
  function k.own(who) return prefix .. "own:" .. who end
  function k.held(kind, who) return prefix .. "held:" .. kind .. ":" .. who end
  function k.rate() return prefix .. "rate" end
  function k.holds() return prefix .. "holds" end
  function k.none() return prefix .. "-" end        -- a script's "no such key": never written
  return k
end

-- the record's idempotency key with this prefix (records written before
-- the hash tag name it without the braces)
local function idem_of(prefix, b)
  local key = b.idempotency_key
  if type(key) ~= "string" then return nil end
  if key:sub(1, #prefix) == prefix then return key end
  local old = prefix:gsub("[{}]", "")
  if key:sub(1, #old) == old then return prefix .. key:sub(#old + 1) end
  return nil
end

-- the index keys a booking is in: day, resource day, customer keys, owner
local function indexes(k, date, resource, cust_keys, owner)
  local out = { k.day(date), k.rday(resource, date) }
  if cust_keys[1] then out[#out + 1] = cust_keys[1] end
  if cust_keys[2] then out[#out + 1] = cust_keys[2] end
  if owner then out[#out + 1] = k.own(owner) end
  return out
end

-- a hold's member of `holds`: JSON [id, the suffixes of its index keys]
local function hold_member(prefix, id, keys)
  local m = { id }
  for i, key in ipairs(keys) do m[i + 1] = key:sub(#prefix + 1) end
  return json.encode(m)
end

--- store.sweep(prefix, members) -> true | nil, err   (yields)
--- Cleans up the holds of `members` (members of `holds` that are due): a
--- record still a hold's is deleted and its id leaves the indexes the
--- member names; a confirmed one is kept. Members another caller swept
--- already are skipped.
function M.sweep(prefix, members)
  local k = M.keys(prefix)
  local keys, args = { k.holds() }, {}
  for _, m in ipairs(members) do
    local ok, list = pcall(json.decode, m)
    if ok and type(list) == "table" and type(list[1]) == "string" then
      keys[#keys + 1] = k.record(list[1])
      for i = 2, #list do keys[#keys + 1] = prefix .. tostring(list[i]) end
      args[#args + 1] = m
      args[#args + 1] = #list - 1
    else
      redis.call("ZREM", k.holds(), m)                 -- not one of ours: nothing to clean
    end
  end
  if #args == 0 then return true end
  local r, err = SWEEP:run(keys, args)
  if not r then return nil, err end
  return true
end

--- store.reserve(prefix, b, opts) -> booking, "ok"|"dup" | nil, err
--- b: the record to write (id, resource, start, end, blocked_start,
--- blocked_end, status "held"|"confirmed", hold_until, date, customer,
--- owner?, conversation?...).
--- opts: {cap, now, travel, maxspan, idem (full key or nil), cust_keys (phone and email keys),
---        limits?} where limits = {max_holds, per_minute} applies the
--- customer limits to a booking with an owner: err "rate limited" when the
--- tenant's customers made per_minute reservations in the last 60 s; the owner's (and the
--- conversation's) oldest live holds are released past max_holds.
--- A hold's record lives until hold_until + HOLD_KEEP; a new reservation
--- also sweeps holds whose life is over (store.sweep).
function M.reserve(prefix, b, o)
  local k = M.keys(prefix)
  if o.idem then b.idempotency_key = o.idem end
  local lim = b.owner and o.limits
  local member = ""
  if b.status == "held" then
    member = hold_member(prefix, b.id, indexes(k, b.date, b.resource, o.cust_keys, b.owner))
  end
  local r, err = RESERVE:run(
    { k.occ(b.resource), o.idem or k.none(), o.cust_keys[1] or k.none(), k.day(b.date), k.rday(b.resource, b.date),
      o.cust_keys[2] or k.none(), b.owner and k.own(b.owner) or k.none(),
      lim and k.held("o", b.owner) or k.none(),
      lim and b.conversation and b.conversation ~= b.owner and k.held("c", b.conversation) or k.none(),
      lim and k.rate() or k.none(), k.holds() },
    { prefix, json.encode(b), o.cap, o.now, o.travel, o.maxspan, IDEM_TTL,
      lim and lim.max_holds or 0, lim and lim.per_minute or 0, HOLD_KEEP, member, SWEEP_BATCH })
  if r and r[1] == "ok" and r[3] then
    M.sweep(prefix, { select(3, unpack(r)) })        -- best effort: the next reservation retries
  end
  return result(r, err)
end

--- store.change(prefix, id, action, now, reason?) -> booking, "ok" | booking, "dup"
--- (it was so already: a repeated confirm or cancel) | nil, err
--- action: "confirm" (the record becomes permanent), "cancel" (a hold's
--- record keeps its limited life), "complete", "no_show" (permanent)
function M.change(prefix, id, action, now, reason)
  local k = M.keys(prefix)
  local raw, err = redis.call("GET", k.record(id))
  if raw == nil then return nil, err end
  if raw == redis.null then return nil, "not found" end
  local b = decode(raw)
  local r
  r, err = CHANGE:run({ k.record(id), k.occ(b.resource), idem_of(prefix, b) or k.none() },
                      { action, now, reason or "", k.none() })
  return result(r, err)
end

--- store.move(prefix, b, to, o) -> booking | nil, err
--- b: the record as read; to: {start, end, blocked_start, blocked_end, resource, date};
--- o: {cap, now, travel, maxspan, cust_keys}
function M.move(prefix, b, to, o)
  local k = M.keys(prefix)
  local before, after = "", ""
  if b.status == "held" then
    before = hold_member(prefix, b.id, indexes(k, b.date, b.resource, o.cust_keys, b.owner))
    after = hold_member(prefix, b.id, indexes(k, to.date, to.resource, o.cust_keys, b.owner))
  end
  local r, err = MOVE:run(
    { k.record(b.id), k.occ(b.resource), k.occ(to.resource), k.day(b.date), k.rday(b.resource, b.date),
      k.day(to.date), k.rday(to.resource, to.date), o.cust_keys[1] or k.none(), o.cust_keys[2] or k.none(),
      b.owner and k.own(b.owner) or k.none(), k.holds() },
    { to.start, to["end"], to.blocked_start, to.blocked_end, to.resource, o.cap, o.now, o.travel,
      o.maxspan, to.date, HOLD_KEEP, before, after, k.none(), to.start_local or "" })
  return result(r, err)
end

function M.get(prefix, id)
  local raw, err = redis.call("GET", M.keys(prefix).record(id))
  if raw == nil then return nil, err end
  if raw == redis.null then return nil, "not found" end
  return decode(raw)
end

--- Occupancy of resources touching [from, to]: resource -> list of
--- {s, e, area} (plus id and start when full). One pipelined round trip.
function M.occupancy(prefix, resources, from, to, maxspan, now, full)
  local k = M.keys(prefix)
  local cmds = {}
  for i, rid in ipairs(resources) do
    cmds[i] = { "ZRANGEBYSCORE", k.occ(rid), from - maxspan, "(" .. to, "WITHSCORES" }
  end
  local res, err = redis.pipeline(cmds)
  if not res then return nil, err end
  local out = {}
  for i, rid in ipairs(resources) do
    local list, r = {}, res[i]
    if type(r) == "table" and r.err then return nil, r.err end
    for j = 1, #r, 2 do
      local e, hold, area, rest = r[j]:match("^([^|]*)|([^|]*)|([^|]*)|()")
      hold = tonumber(hold)
      if e and (hold == 0 or hold > now) then
        local b = { s = tonumber(r[j + 1]), e = tonumber(e), area = area }
        if full then
          local id, start = r[j]:match("^([^|]*)|([^|]*)$", rest)
          b.id, b.start = id, tonumber(start)
        end
        list[#list + 1] = b
      end
    end
    out[rid] = list
  end
  return out
end

--- store.records(prefix, ids) -> records, gone | nil, err   (yields; one round trip)
--- The records of ids, in that order; `gone` lists the ids whose record no
--- longer exists (a hold whose life is over), which are left out.
function M.records(prefix, ids)
  if #ids == 0 then return {}, {} end
  local k = M.keys(prefix)
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = k.record(id) end
  local raws, err = redis.call("MGET", unpack(keys))
  if not raws then return nil, err end
  local out, gone = {}, {}
  for i, raw in ipairs(raws) do
    if raw ~= redis.null then out[#out + 1] = decode(raw) else gone[#gone + 1] = ids[i] end
  end
  return out, gone
end

--- store.forget(key, ids) -> true | nil, err   (yields)
--- Drops ids whose record is gone (store.records) from the index `key`.
function M.forget(key, ids)
  if #ids == 0 then return true end
  local n, err = redis.call("ZREM", key, unpack(ids))
  if n == nil then return nil, err end
  return true
end

return M

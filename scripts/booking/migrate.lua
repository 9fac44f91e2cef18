--- booking.migrate: moves the booking keys written before they had a Redis
--- Cluster hash tag ("bk:<tenant>:<rest>") to their names now
--- ("bk:{<tenant>}:<rest>"), once per Redis.
--
--   migrate.run(now, budget) -> true (nothing left to move) | false (more) | nil, err
--     Yields (Redis). Scans the keyspace for "bk:*" for about `budget`
--     seconds, moving what it finds; the SCAN cursor is kept in `bk:layout`,
--     so the next call goes on where this one stopped, and `bk:layout` is
--     "2" once the scan went round (one GET answers every later call).
--     now: the time (seconds) the life of an old hold's record counts from.
--
-- A key moves with RENAMENX (its TTL goes with it). Where the new name
-- exists already (this version wrote it first), a sorted set is merged into
-- it and a string keeps the new value; the old key goes. An old record of a
-- hold (status "held" or "expired") gets a hold record's life now: the hold's
-- end plus store.HOLD_KEEP, and at least a minute. Its index entries go when
-- a reader meets them (store.forget).
-- Old keys exist only on a single Redis (the old layout could not run on
-- Redis Cluster), where any key can be renamed to any name.
local redis = require "redis"
local json = require "json"
local time = require "time"
local store = require "booking.store"

local M = {}

M.MARK = "bk:layout"
local DONE = "2"
local COUNT = 1000

-- the new name of an old-layout key, and the part after the tenant
local function new_name(key)
  local tenant, rest = key:match("^bk:([^:{}]+):(.+)$")
  if not tenant then return nil end
  return "bk:{" .. tenant .. "}:" .. rest, rest
end

local function pipeline(cmds)
  if #cmds == 0 then return {} end
  return redis.pipeline(cmds)
end

-- old records of holds moved to `names`: give them a hold record's life
local function limit_holds(names, now)
  local cmds = {}
  for i, name in ipairs(names) do cmds[i] = { "GET", name } end
  local raws, err = pipeline(cmds)
  if not raws then return nil, err end
  local expire = {}
  for i, raw in ipairs(raws) do
    if type(raw) == "string" and (raw:find('"status":"held"', 1, true) or raw:find('"status":"expired"', 1, true)) then
      local ok, b = pcall(json.decode, raw)
      if ok and type(b) == "table" and (b.status == "held" or b.status == "expired") then
        local ends = tonumber(b.hold_until) or now
        local ms = math.max(60000, math.ceil((ends + store.HOLD_KEEP - now) * 1000))
        expire[#expire + 1] = { "PEXPIRE", names[i], ms }
      end
    end
  end
  return pipeline(expire)
end

-- moves the old-layout keys among `keys`
local function move(keys, now)
  local moves, cmds = {}, {}
  for _, key in ipairs(keys) do
    local to, rest = new_name(key)
    if to then
      moves[#moves + 1] = { from = key, to = to, record = rest:sub(1, 2) == "b:" }
      cmds[#cmds + 1] = { "RENAMENX", key, to }
    end
  end
  local res, err = pipeline(cmds)
  if not res then return nil, err end
  local clashes, records, types = {}, {}, {}
  for i, mv in ipairs(moves) do
    if res[i] == 1 and mv.record then records[#records + 1] = mv.to
    elseif res[i] == 0 then                          -- the new name exists already
      clashes[#clashes + 1] = mv
      types[#types + 1] = { "TYPE", mv.from }
    end                                              -- an error: another worker moved it
  end
  local ok
  ok, err = limit_holds(records, now)
  if not ok then return nil, err end
  local kinds
  kinds, err = pipeline(types)
  if not kinds then return nil, err end
  cmds = {}
  for i, mv in ipairs(clashes) do
    if kinds[i] == "zset" then cmds[#cmds + 1] = { "ZUNIONSTORE", mv.to, 2, mv.to, mv.from } end
    cmds[#cmds + 1] = { "DEL", mv.from }
  end
  ok, err = pipeline(cmds)
  if not ok then return nil, err end
  return true
end

function M.run(now, budget)
  local mark, err = redis.call("GET", M.MARK)
  if mark == nil then return nil, err end
  if mark == DONE then return true end
  local cursor = type(mark) == "string" and mark:match("^at:(%d+)$") or "0"
  local deadline = time.monotonic() + (budget or 0.2)
  repeat
    local r
    r, err = redis.call("SCAN", cursor, "MATCH", "bk:*", "COUNT", COUNT)
    if not r then return nil, err end
    local ok
    ok, err = move(r[2], now)
    if not ok then return nil, err end
    cursor = r[1]
    if cursor == "0" then
      redis.call("SET", M.MARK, DONE)
      return true
    end
    redis.call("SET", M.MARK, "at:" .. cursor)
  until time.monotonic() > deadline
  return false
end

return M

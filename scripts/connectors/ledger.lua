--- connectors.ledger: the side-effect ledger. Every connector call that
--- changes something outside runs through it under an idempotency key the
--- flow supplies, so a retried turn, a duplicate webhook or a host killed
--- mid-call never makes a second remote record.
--
--   ledger.run(spec, call, find) -> value | nil, word, detail       (yields)
--     spec: {tenant, connector, key, op, deadline (absolute)}
--     call(doubt) -> value | nil, word, detail   makes the change; doubt is
--         true when an earlier attempt of this key may have made it already
--     find() -> value | false | nil, word, detail   looks the change up at
--         the vendor by the key's marker (false: it is not there)
--   One record per key, `fh:fx:{T}:<connector>:<key>` (a hash: state
--   intent|done, op, result, lease, tries, at), kept 30 days:
--   - no record: the intent is written (with a lease: the call's deadline
--     plus a margin), the call is made, its result stored ("done");
--   - done: the stored result, without calling (a replay);
--   - intent with a live lease: nil, "busy" (the same key is being called
--     right now, e.g. a duplicate webhook: try again shortly);
--   - intent whose lease ran out (the host died mid-call, or the last
--     attempt ended in doubt): find() first; what it finds is stored and
--     returned; if nothing is there the call is made again (doubt = true);
--     if the look-up fails, nil, "in doubt" and nothing is called.
--   A call the vendor refused for good (invalid, forbidden, not found, ...)
--   changed nothing: its record is removed, so the flow may try the key
--   again. A call that failed in a way that may have changed something
--   (timeout, unavailable, bad answer, deadline) is looked up at once; not
--   found, its lease is ended so the next call with the key resolves it.
--   Another op under a key already used -> nil, "key reused".
--   ledger.KEY_PATTERN: what a key may be: 1-128 of [%w_.:-]
local rscript = require "rscript"
local redis = require "redis"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local host = require "host"
local log = require "log"

local M = { TTL = 30 * 86400, MARGIN = 2, KEY_PATTERN = "^[%w_%.:%-]+$" }

local CLAIM = rscript.new([[
local st = redis.call('HMGET', KEYS[1], 'state', 'op', 'result', 'lease')
if not st[1] then
  redis.call('HSET', KEYS[1], 'state', 'intent', 'op', ARGV[3], 'lease', ARGV[2], 'owner', ARGV[5], 'at', ARGV[1], 'tries', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return {'claimed'}
end
if st[2] ~= ARGV[3] then return {'reused', st[2]} end
if st[1] == 'done' then return {'done', st[3]} end
if tonumber(st[4]) > tonumber(ARGV[1]) then return {'busy'} end
redis.call('HSET', KEYS[1], 'lease', ARGV[2], 'owner', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'tries', 1)
return {'doubt'}
]])

-- ARGV: owner, action ("done" result ttl | "drop" | "doubt")
local SETTLE = rscript.new([[
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if ARGV[2] == 'done' then
  redis.call('HSET', KEYS[1], 'state', 'done', 'result', ARGV[3], 'lease', 0)
  redis.call('HDEL', KEYS[1], 'owner')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
elseif ARGV[2] == 'drop' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'lease', 0)
end
return 1
]])

-- words after which the change surely did not happen
local REFUSED = { invalid = true, forbidden = true, ["not found"] = true, gone = true, unauthorized = true,
                  ["bad request"] = true, conflict = true, ["rate limited"] = true, ["vendor error"] = true }

function M.redis_key(tenant, connector, key) return ("fh:fx:{%s}:%s:%s"):format(tenant, connector, key) end

local function count(connector, outcome)
  host.metric_add("flowhost_connector_ledger_total",
    ('connector="%s",outcome="%s"'):format(host.escape_label(connector), outcome), 1)
end

local function settle(rkey, owner, action, result)
  local ok, err = SETTLE:run({ rkey }, { owner, action, result or "", M.TTL })
  if ok == nil then log.warn("ledger: could not record the outcome", { key = rkey, error = err }) end
end

local function finish(spec, rkey, owner, value, word, detail, doubt)
  if value ~= nil then
    settle(rkey, owner, "done", json.encode{ v = value })
    count(spec.connector, doubt and "resolved" or "done")
    return value
  end
  if REFUSED[word] then
    settle(rkey, owner, "drop")
    count(spec.connector, "failed")
  else
    settle(rkey, owner, "doubt")
    count(spec.connector, "in_doubt")
    log.warn("ledger: a call ended in doubt", { tenant = spec.tenant, connector = spec.connector,
                                                key = spec.key, error = word })
  end
  return nil, word, detail
end

function M.run(spec, call, find)
  if type(spec.key) ~= "string" or #spec.key > 128 or not spec.key:match(M.KEY_PATTERN) then
    return nil, "bad request", "a key is 1-128 letters, digits, '_', '.', ':' or '-'"
  end
  local rkey = M.redis_key(spec.tenant, spec.connector, spec.key)
  local now = time.now()
  local owner = crypto.random_hex(8)
  local lease = math.max(spec.deadline or now, now) + M.MARGIN
  local r, err = CLAIM:run({ rkey }, { now, lease, spec.op, M.TTL, owner })
  if r == nil then return nil, "unavailable", "ledger: " .. tostring(err) end
  local state = r[1]
  if state == "done" then
    count(spec.connector, "replayed")
    return json.decode(r[2]).v
  end
  if state == "busy" then count(spec.connector, "busy"); return nil, "busy" end
  if state == "reused" then return nil, "key reused", "the key was used for " .. tostring(r[2]) end
  local doubt = state == "doubt"
  if doubt then
    local found, fword, fdetail = find()
    if found then return finish(spec, rkey, owner, found, nil, nil, true) end
    if found == nil then
      settle(rkey, owner, "doubt")
      count(spec.connector, "in_doubt")
      return nil, "in doubt", fword and (fword .. (fdetail and (": " .. fdetail) or "")) or nil
    end
  end
  local value, word, detail = call(doubt)
  if value == nil and not REFUSED[word] then
    -- it may have happened: look before leaving it in doubt
    local found = find()
    if found then return finish(spec, rkey, owner, found, nil, nil, true) end
  end
  return finish(spec, rkey, owner, value, word, detail, doubt)
end

return M

-- connectors.ledger: one remote change per idempotency key, whatever
-- happens to the call (Redis on REDIS_URL; each test its own tenant id).
local ledger = require "connectors.ledger"
local redis = require "redis"
local time = require "time"
local host = require "host"
local crypto = require "crypto"

local function spec(extra)
  local s = { tenant = "lg" .. crypto.random_hex(4), connector = "odoo", key = "k1", op = "create",
              deadline = time.now() + 1 }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

-- a fake remote: made counts the changes it made
local function remote()
  local r = { made = 0, found = false }
  r.call = function() r.made = r.made + 1; return { id = r.made } end
  r.find = function() return r.found end
  return r
end

describe("connectors.ledger", function()
  it("makes the call once and returns the stored result to every repeat of the key", function()
    local s, r = spec(), remote()
    assert.are.same({ id = 1 }, ledger.run(s, r.call, r.find))
    assert.are.same({ id = 1 }, ledger.run(s, r.call, r.find))
    assert.are.equal(1, r.made)
    local rkey = ledger.redis_key(s.tenant, "odoo", "k1")
    assert.are.equal("fh:fx:{" .. s.tenant .. "}:odoo:k1", rkey)
    assert.are.equal("done", redis.call("HGET", rkey, "state"))
    local ttl = redis.call("TTL", rkey)
    assert.is_true(ttl > 29 * 86400 and ttl <= ledger.TTL)
  end)

  it("answers 'busy' to the same key while its first call is still running", function()
    local s, r = spec(), remote()
    local release = false
    local slow = function() while not release do time.sleep(0.01) end; return r.call() end
    local first
    host.spawn(function() first = ledger.run(s, slow, r.find) end)
    time.sleep(0.05)
    assert.are.same({ nil, "busy" }, { ledger.run(s, r.call, r.find) })
    release = true
    while not first do time.sleep(0.01) end
    assert.are.equal(1, r.made)
  end)

  it("after a call that died with its host (intent, lease over), finds the change by its key instead of making it again", function()
    local s, r = spec({ deadline = time.now() - 10 }), remote()   -- the lease ended long ago
    local rkey = ledger.redis_key(s.tenant, "odoo", "k1")
    redis.call("HSET", rkey, "state", "intent", "op", "create", "lease", time.now() - 1, "owner", "dead", "tries", 1)
    r.found = { id = 41 }
    assert.are.same({ id = 41 }, ledger.run(s, r.call, r.find))
    assert.are.equal(0, r.made)
    assert.are.same({ id = 41 }, ledger.run(s, r.call, r.find))
  end)

  it("makes the call again (with doubt = true) when the look-up finds nothing", function()
    local s, r = spec(), remote()
    local rkey = ledger.redis_key(s.tenant, "odoo", "k1")
    redis.call("HSET", rkey, "state", "intent", "op", "create", "lease", 0, "owner", "dead", "tries", 1)
    local doubted
    assert.are.same({ id = 1 }, ledger.run(s, function(doubt) doubted = doubt; return r.call() end, r.find))
    assert.is_true(doubted)
    assert.are.equal("2", tostring(redis.call("HGET", rkey, "tries")))
  end)

  it("returns 'in doubt' and calls nothing when the look-up itself fails", function()
    local s, r = spec(), remote()
    redis.call("HSET", ledger.redis_key(s.tenant, "odoo", "k1"), "state", "intent", "op", "create", "lease", 0, "owner", "x")
    local v, word = ledger.run(s, r.call, function() return nil, "timeout" end)
    assert.are.same({ nil, "in doubt" }, { v, word })
    assert.are.equal(0, r.made)
  end)

  it("forgets a call the vendor refused, so the key may be tried again", function()
    local s, r = spec(), remote()
    assert.are.same({ nil, "invalid", "stop before start" },
      { ledger.run(s, function() return nil, "invalid", "stop before start" end, r.find) })
    assert.are.equal(0, redis.call("EXISTS", ledger.redis_key(s.tenant, "odoo", "k1")))
    assert.are.same({ id = 1 }, ledger.run(s, r.call, r.find))
  end)

  it("after a failure that may have changed something, looks at once and keeps what it finds", function()
    local s, r = spec(), remote()
    r.found = { id = 7 }
    assert.are.same({ id = 7 }, ledger.run(s, function() return nil, "timeout" end, r.find))
    r.found = false
    local s2 = spec()
    assert.are.same({ nil, "unavailable" }, { ledger.run(s2, function() return nil, "unavailable" end, r.find) })
    assert.are.same({ id = 1 }, ledger.run(s2, r.call, r.find))      -- lease ended: resolved, then made
  end)

  it("refuses a key used for another op, and keys that are not 1-128 plain characters", function()
    local s, r = spec(), remote()
    ledger.run(s, r.call, r.find)
    assert.are.equal("key reused", select(2, ledger.run(spec({ tenant = s.tenant, op = "write" }), r.call, r.find)))
    assert.are.equal("bad request", select(2, ledger.run(spec({ key = "a b" }), r.call, r.find)))
    assert.are.equal("bad request", select(2, ledger.run(spec({ key = ("x"):rep(129) }), r.call, r.find)))
  end)

  it("keeps tenants apart: the same key of two tenants makes two changes", function()
    local r = remote()
    ledger.run(spec(), r.call, r.find)
    ledger.run(spec(), r.call, r.find)
    assert.are.equal(2, r.made)
  end)
end)

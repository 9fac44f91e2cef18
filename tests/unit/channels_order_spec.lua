-- channels.order: a conversation's messages answered in arrival order,
-- whichever consumer (host) read them from the tenant's stream.
local order = require "channels.order"
local redis = require "redis"
local crypto = require "crypto"
local time = require "time"

local GROUP = "flowhost"

describe("channels.order", function()
  local tenant, stream
  local f = { channel = "telegram", conversation = "42" }
  before_each(function()
    tenant = "ord-" .. crypto.random_hex(4)
    stream = "fh:in:{" .. tenant .. "}"
    redis.call("XGROUP", "CREATE", stream, GROUP, "0", "MKSTREAM")
  end)
  after_each(function() redis.call("DEL", stream, order.line_key(tenant, f)) end)

  local function add(text, conv)
    return assert(order.append(tenant, stream, { "channel", "telegram", "id", crypto.random_hex(4),
      "conversation", conv or "42", "msg", text }))
  end
  -- each consumer (a host) reads one entry
  local function read(consumer)
    local r = redis.call("XREADGROUP", "GROUP", GROUP, consumer, "COUNT", 1, "STREAMS", stream, ">")
    return r[1][2][1][1]
  end

  it("lets the second message of a conversation wait while another host answers the first", function()
    local e1, e2 = add("m1"), add("m2")
    assert.are.equal(e1, read("host-a"))
    assert.are.equal(e2, read("host-b"))
    assert.are.same({ nil, "earlier message pending" }, { order.wait_first(tenant, f, e2, stream, GROUP, 0.05) })
    assert.is_true(order.wait_first(tenant, f, e1, stream, GROUP, 0.05))
    assert.is_true(order.done(tenant, f, stream, GROUP, e1))
    assert.is_true(order.wait_first(tenant, f, e2, stream, GROUP, 0.05))
    assert.are.same({ e2 }, redis.call("LRANGE", order.line_key(tenant, f), 0, -1))
    assert.is_true(order.done(tenant, f, stream, GROUP, e2))
    assert.are.equal(0, redis.call("EXISTS", order.line_key(tenant, f)))
  end)

  it("hands a message to the host answering the one before it, which answers it next", function()
    local e1, e2 = add("m1"), add("m2")
    read("host-a"); read("host-b")
    assert.are.equal("handed", order.wait_first(tenant, f, e2, stream, GROUP, 1, "host-b"))
    local p = redis.call("XPENDING", stream, GROUP, "-", "+", 10)
    assert.are.equal("host-a", p[2][2])                   -- e2 is host a's now
    local ok, nxt = order.done(tenant, f, stream, GROUP, e1, "host-a")
    assert.is_true(ok)
    assert.are.equal(e2, nxt)
    assert.is_true(order.wait_first(tenant, f, e2, stream, GROUP, 1, "host-a"))
    local _, none = order.done(tenant, f, stream, GROUP, e2, "host-a")
    assert.is_nil(none)
  end)

  it("hands nothing back when the earlier message was answered first (the two race)", function()
    local e1, e2 = add("m1"), add("m2")
    read("host-a"); read("host-b")
    local _, nxt = order.done(tenant, f, stream, GROUP, e1, "host-a")
    assert.is_nil(nxt)                                   -- e2 is host b's
    assert.is_true(order.wait_first(tenant, f, e2, stream, GROUP, 1, "host-b"))
  end)

  it("waits for no one in another conversation", function()
    local e1 = add("m1")
    local other = add("x1", "43")
    read("host-a"); read("host-b")
    assert.is_true(order.wait_first(tenant, { channel = "telegram", conversation = "43" }, other, stream, GROUP, 0.05))
    assert.is_true(order.wait_first(tenant, f, e1, stream, GROUP, 0.05))
    redis.call("DEL", order.line_key(tenant, { channel = "telegram", conversation = "43" }))
  end)

  it("drops a first entry that is no longer pending (acknowledged without the line)", function()
    local e1, e2 = add("m1"), add("m2")
    read("host-a"); read("host-b")
    redis.call("XACK", stream, GROUP, e1)               -- e.g. an older version answered it
    assert.is_true(order.wait_first(tenant, f, e2, stream, GROUP, 0.05))
    assert.are.same({ e2 }, redis.call("LRANGE", order.line_key(tenant, f), 0, -1))
  end)

  it("lets an entry that is not in the line go (queued before lines existed)", function()
    local old = redis.call("XADD", stream, "*", "channel", "telegram", "conversation", "42")
    add("m1")
    read("host-a")
    assert.is_true(order.wait_first(tenant, f, old, stream, GROUP, 0.05))
  end)

  it("merges only messages that follow each other at the head of the line", function()
    local e1, e2, e3 = add("m1"), add("m2"), add("m3")
    assert.are.equal(3, order.leading(tenant, f, { e1, e2, e3 }))
    assert.are.equal(1, order.leading(tenant, f, { e1, e3 }))       -- e2 is another host's
  end)

  it("keeps thousands of entries in batches (a command takes 1,024 arguments at most)", function()
    local ids = {}
    for i = 1, 1200 do ids[i] = add("m" .. i, "c" .. i) end
    redis.call("XREADGROUP", "GROUP", GROUP, "host-a", "COUNT", 2000, "STREAMS", stream, ">")
    assert.is_true(order.keep(stream, GROUP, "host-a", ids))
    for i = 1, 1200 do redis.call("DEL", order.line_key(tenant, { channel = "telegram", conversation = "c" .. i })) end
  end)

  it("keeps the entries a consumer holds from going idle, and only its own", function()
    local e1, e2 = add("m1"), add("m2")
    read("host-a"); read("host-b")
    time.sleep(0.3)
    assert.is_true(order.keep(stream, GROUP, "host-a", { e1, e2 }))
    local p = redis.call("XPENDING", stream, GROUP, "-", "+", 10)
    assert.are.equal("host-a", p[1][2])
    assert.is_true(p[1][3] < 200, "idle " .. p[1][3])
    assert.are.equal("host-b", p[2][2])                  -- not taken from host b
    assert.is_true(p[2][3] >= 300, "idle " .. p[2][3])
  end)
end)

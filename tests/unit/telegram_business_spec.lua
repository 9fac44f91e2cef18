-- Telegram Business: the adapter's reading of business updates
-- (channels.telegram) and the routing of a rep's chats to the rep
-- (channels.reps, against the real Redis).
local telegram = require "channels.telegram"
local reps = require "channels.reps"
local redis = require "redis"
local crypto = require "crypto"

local TENANT = "bizspec" .. crypto.random_hex(3)

local function update(kind, conn, from, chat, text)
  return ('{"update_id":9,"%s":{"message_id":3,"date":1,"business_connection_id":"%s",'
    .. '"from":{"id":%d,"first_name":"Pat","username":"pat_x"},"chat":{"id":%d,"type":"private"},"text":"%s"}}')
    :format(kind, conn, from, chat, text)
end

describe("telegram business updates", function()
  it("reads a business_message as a conversation per connection and chat, with its sender", function()
    local m = telegram.parse(update("business_message", "BC1", 55, 55, "hi"))
    assert.are.same({ "BC1", "BC1/55", "hi", 55, "pat_x" },
      { m[1].business, m[1].conversation, m[1].text, m[1].from.id, m[1].from.username })
    local e = telegram.parse(update("edited_business_message", "BC1", 55, 55, "hi again"))
    assert.are.same({ "BC1/55", "hi again" }, { e[1].conversation, e[1].text })
  end)

  it("reads a business_connection in both the Bot API 7.2 and the 9.0 shape", function()
    local old = telegram.parse('{"update_id":1,"business_connection":{"id":"BC2","user":{"id":77,"is_bot":false,'
      .. '"first_name":"Anna"},"user_chat_id":77,"date":1,"can_reply":true,"is_enabled":true}}')
    assert.are.same({ kind = "business_connection", id = "1",
                      connection = { id = "BC2", user_id = 77, enabled = true, can_reply = true } }, old[1])
    local new = telegram.parse('{"update_id":2,"business_connection":{"id":"BC2","user":{"id":77},'
      .. '"user_chat_id":77,"date":1,"rights":{"can_reply":false},"is_enabled":false}}')
    assert.are.same({ id = "BC2", user_id = 77, enabled = false, can_reply = false }, new[1].connection)
    assert.are.equal("missing field", select(2, telegram.parse('{"update_id":3,"business_connection":{"id":"X"}}')))
  end)

  it("keeps a button tapped in a rep's chat in that chat's conversation", function()
    local b = telegram.parse('{"update_id":4,"callback_query":{"id":"cb","from":{"id":55},"data":"t1",'
      .. '"message":{"message_id":9,"date":1,"chat":{"id":55,"type":"private"},"business_connection_id":"BC1"}}}')
    assert.are.same({ "BC1/55", "t1", "BC1" }, { b[1].conversation, b[1].button, b[1].business })
  end)
end)

describe("channels.reps", function()
  local settings = { reps = {
    anna = { telegram = { user_id = 77, prospects = "all" } },
    ben = { telegram = { user_id = 88, prospects = { 501, "@acme_cto" }, takeover_hours = 1 } },
  } }
  local function connect(id, user, enabled)
    return reps.route(TENANT, settings, { kind = "business_connection",
      connection = { id = id, user_id = user, enabled = enabled ~= false, can_reply = true } })
  end
  local function msg(conn, from, username)
    return { business = conn, conversation = conn .. "/" .. from, from = { id = from, username = username } }
  end
  teardown(function()
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0,
               "fh:tgbiz:{" .. TENANT .. "}*")
  end)

  it("maps a connection to the rep with its user id and routes the connection's messages there", function()
    assert.are.same({ false, "business connection" }, { connect("A1", 77) })
    local m = msg("A1", 900)
    assert.are.equal("anna", reps.route(TENANT, settings, m))
    assert.are.equal("anna", m.rep)
    assert.are.equal("anna", reps.connection(TENANT, "A1").rep)
  end)

  it("leaves alone the tenant's own chats, unknown users' connections and disabled ones", function()
    assert.is_nil(reps.route(TENANT, settings, { conversation = "5", from = { id = 5 } }))
    connect("X1", 12345)
    assert.is_false(reps.route(TENANT, settings, msg("X1", 900)))
    connect("A2", 77, false)
    assert.is_false(reps.route(TENANT, settings, msg("A2", 900)))
  end)

  it("answers only the prospects on the rep's list, by id or username", function()
    connect("B1", 88)
    assert.are.equal("ben", reps.route(TENANT, settings, msg("B1", 501)))
    assert.are.equal("ben", reps.route(TENANT, settings, msg("B1", 502, "ACME_cto")))
    assert.is_false(reps.route(TENANT, settings, msg("B1", 503, "someone")))
  end)

  it("stays out of a chat after the rep writes in it", function()
    connect("B2", 88)
    assert.are.equal("ben", reps.route(TENANT, settings, msg("B2", 501)))
    local own = { business = "B2", conversation = "B2/501", from = { id = 88 } }
    assert.are.same({ false, "the rep wrote" }, { reps.route(TENANT, settings, own) })
    assert.are.same({ false, "the rep took this chat over" }, { reps.route(TENANT, settings, msg("B2", 501)) })
    local ttl = redis.call("TTL", "fh:tgbiz:{" .. TENANT .. "}:quiet:B2/501")
    assert.truthy(ttl > 3500 and ttl <= 3600, tostring(ttl))
  end)
end)

describe("a rep's own channel (channels.registry.for_rep)", function()
  local registry = require "channels.registry"
  local settings = { name = "T", channels = { telegram = { token_env = "T_TOKEN", api_url = "http://tg" } },
                     reps = { cara = { channels = { telegram = { token_env = "T_CARA_TOKEN" } } }, anna = {} } }

  it("puts the rep's fields over the tenant's for that channel, and leaves other reps alone", function()
    local s = registry.for_rep(settings, "cara")
    assert.are.same({ token_env = "T_CARA_TOKEN", api_url = "http://tg" }, s.channels.telegram)
    assert.are.equal("T", s.name)
    assert.are.equal("T_TOKEN", settings.channels.telegram.token_env)
    assert.are.equal(settings, registry.for_rep(settings, "anna"))
    assert.are.equal(settings, registry.for_rep(settings, nil))
  end)
end)

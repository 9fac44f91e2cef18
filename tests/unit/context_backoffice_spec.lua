-- flow.context's back-office methods: c:bookings(date, resource?),
-- c:move_booking, c:send_to and c:history. They work in a staff turn and in
-- a schedule's turn, never in a customer's; c:send_to goes through the
-- outbox to the booking's own conversation.
local context = require "flow.context"
local redis = require "redis"
local json = require "json"
local crypto = require "crypto"

local function engine()
  local e = { calls = {} }
  local day = { { id = "BK-1", resource = "ana", conversation = "twilio:whatsapp:+5215511112222" },
                { id = "BK-2", resource = "luis", conversation = "chat:abc" } }
  function e:by_day(date) e.calls[#e.calls + 1] = "by_day " .. date; return day end
  function e:by_resource_day(res, date)
    e.calls[#e.calls + 1] = "by_resource_day " .. res .. " " .. date
    local out = {}
    for _, b in ipairs(day) do if b.resource == res then out[#out + 1] = b end end
    return out
  end
  function e:reschedule(id, start, res)
    e.calls[#e.calls + 1] = ("reschedule %s %d %s"):format(id, start, tostring(res))
    if start == 1 then return nil, "slot taken" end
    return { id = id, start = start }
  end
  return e
end

local function tenant_obj(id)
  return { id = id, name = "Salón", languages = { "es" }, settings = {}, flow = { states = {}, slots = {} },
           booking = engine(), tone = function(x) return x end,
           catalog = { has = function(_, k) return k == "late" end,
                       render = function(_, _, _, v) return "Hola " .. tostring(v.who) .. ", llego tarde" end } }
end

local function ctx(t, conv_id, opts)
  local conv = { id = conv_id, slots = {}, data = {}, turns = 3,
                 history = { { who = "customer", text = "qué tengo hoy" }, { who = "bot", text = "2 citas" },
                             { who = "customer", text = "mueve la de Ana" } } }
  return context.new(t, conv, opts.msg or { text = "x" }, { tenant = t.id, conversation = conv_id, staff = opts.staff })
end

describe("flow.context back office", function()
  local T = "bo" .. crypto.random_hex(4)

  it("lists a day's bookings, of one stylist when asked, in staff and schedule turns only", function()
    local t = tenant_obj(T)
    local staff = ctx(t, "twilio:whatsapp:+5215500000001", { staff = { id = "ana", name = "Ana" } })
    assert.are.equal(2, #staff:bookings("2026-12-08"))
    local mine = staff:bookings("2026-12-08", "ana")
    assert.are.same({ "BK-1" }, { mine[1].id, mine[2] and mine[2].id })
    local sched = ctx(t, "schedule:daily", { msg = { timer = "daily" } })
    assert.are.equal(1, #sched:bookings("2026-12-08", "luis"))
    local customer = ctx(t, "twilio:whatsapp:+5215599999999", {})
    assert.has_error(function() customer:bookings("2026-12-08") end,
      "c:bookings(date, resource?) is for staff turns (staff = function(c, person) ... end) and schedules")
    assert.has_error(function() staff:bookings("mañana") end, 'c:bookings(date, resource?): date must be "YYYY-MM-DD"')
    -- a timer of a customer's own conversation is no schedule
    local timer = ctx(t, "twilio:whatsapp:+5215599999999", { msg = { timer = "remind" } })
    assert.has_error(function() timer:move_booking("BK-1", 100) end)
  end)

  it("moves any booking for staff, and says why it could not", function()
    local t = tenant_obj(T)
    local c = ctx(t, "twilio:whatsapp:+5215500000001", { staff = { id = "owner", name = "Lucía" } })
    local b = assert(c:move_booking("BK-1", 1000))
    assert.are.same({ "BK-1", 1000 }, { b.id, b.start })
    local none, err = c:move_booking("BK-2", 1)
    assert.is_nil(none)
    assert.are.equal("slot taken", err)
    assert.are.same({ "reschedule BK-1 1000 nil", "reschedule BK-2 1 nil" }, t.booking.calls)
  end)

  it("sends a staff member's message to a booking's customer through the outbox, once per call", function()
    local t = tenant_obj(T)
    local c = ctx(t, "twilio:whatsapp:+5215500000001", { staff = { id = "ana", name = "Ana" } })
    local id = assert(c:send_to({ conversation = "twilio:whatsapp:+5215511112222" }, "late", { who = "Eva" }))
    assert.are.equal("send:" .. T .. ":twilio:whatsapp:+5215500000001:3:1", id)
    local rec = json.decode(redis.call("HGET", "fh:{timers}:data", id))
    assert.are.same({ T, "twilio", "whatsapp:+5215511112222", "Hola Eva, llego tarde" },
      { rec.payload.tenant, rec.payload.channel, rec.payload.to, rec.payload.message.text })
    local second = assert(c:send_to("twilio:whatsapp:+5215511112222", "late", { who = "Eva" }))
    assert.are_not.equal(id, second)
    local none, err = c:send_to({ conversation = "chat:abc" }, "late")
    assert.is_nil(none)
    assert.are.equal("the customer has no channel to send on", err)
    assert.has_error(function() c:send_to({ conversation = "chat:abc" }, "nope") end,
      "c:send_to: there is no message 'nope' (add it to messages.lua)")
    redis.call("HDEL", "fh:{timers}:data", id, second)
    redis.call("ZREM", "fh:{timers}:due", id, second)
  end)

  it("gives the last lines of the conversation, oldest first", function()
    local c = ctx(tenant_obj(T), "twilio:whatsapp:+5215500000001", { staff = { id = "ana", name = "Ana" } })
    local h = c:history(2)
    assert.are.same({ "bot", "2 citas", "customer", "mueve la de Ana" }, { h[1].who, h[1].text, h[2].who, h[2].text })
    assert.are.equal(3, #c:history())
  end)
end)

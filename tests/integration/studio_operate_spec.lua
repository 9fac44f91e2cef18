-- The studio's operate pages over real HTTP, on the salon over the Twilio
-- fake: an availability override takes a slot away at once, bookings are
-- made, moved and cancelled, the owner answers an open hand-off and the
-- customer receives it on WhatsApp, conversations and customers are found,
-- health is shown. (studio_load_spec: 10,000 conversations.)
local proc = require "proc"
local vendor = require "vendor"
local studio = require "studio"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"
local tz = require "tz"

local SID = "AC" .. crypto.random_hex(16)
local AUTH = crypto.random_hex(16)
local SALON = "sal-" .. crypto.random_hex(6)
local ZONE = "America/Mexico_City"

local function number() return ("whatsapp:+52155%08d"):format(tonumber(crypto.random_hex(4), 16) % 100000000) end
local OWNER = number()

local function wipe(pattern)
  redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, pattern)
end

describe("studio operate", function()
  local s, fake, hook, c, dir
  setup(function()
    for _, p in ipairs{ "fh:ho:{salon}:*", "bk:{salon}:*", "fh:conv:{salon:*", "fh:convs:{salon}", "fh:studio:{salon}:*" } do wipe(p) end
    fake = vendor.start("twilio", "/_control/sent?account_sid=" .. SID)
    local port = proc.free_port()
    hook = "http://127.0.0.1:" .. port .. "/webhooks/salon/twilio"
    local env
    dir, env = proc.copy_tenant("salon", "studio-operate")
    env.FLOWHOST_WORKERS = 2
    env.SALON_TWILIO_ACCOUNT_SID, env.SALON_TWILIO_AUTH_TOKEN, env.SALON_TWILIO_WEBHOOK_URL = SID, AUTH, hook
    env.TWILIO_API_URL, env.SALON_OWNER_WHATSAPP, env.SALON_ADMIN_TOKEN = fake.url, OWNER:sub(10), SALON
    env.SALON_BOOKINGS_PER_MINUTE = 0
    s = proc.start{ config = "config/flowhost.lua", port = port, env = env }
    c = studio.new(s.url)
    assert.are.equal(200, (c:sign_in(SALON)))
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
    if dir then proc.sh("rm -rf " .. dir) end
    -- (the seeded thousands are not left to the specs after this one)
    for _, p in ipairs{ "fh:ho:{salon}:*", "bk:{salon}:*", "fh:conv:{salon:*", "fh:convs:{salon}", "fh:studio:{salon}:*" } do wipe(p) end
  end)

  local function control(path, body) return fake:control(path, body) end
  local function from(who, text)
    local p = control("/_control/make_message", { from = who, to = "whatsapp:+14155238886", body = text,
      profile_name = "Eva", account_sid = SID }).params
    local r = control("/_control/deliver", { url = hook, auth_token = AUTH, params = p, signature = "good" })
    assert.are.same({ 200 }, r.statuses, json.encode(r))
  end
  local function sent_to(to)
    local out = {}
    for _, m in ipairs(control("/_control/sent?account_sid=" .. SID).sent) do
      if m.params.To == to and m.status == 201 then out[#out + 1] = m.params.Body or m.params.ContentSid end
    end
    return out
  end
  local function wait_sent(to, n)
    assert.truthy(proc.wait_until(function() return #sent_to(to) >= n end, 10, 0.05), json.encode(sent_to(to)))
  end

  -- the next Monday (ana works Monday to Friday, 09:00-17:00)
  local function monday()
    for n = 1, 7 do
      local date = tz.date(tz.add_days(time.now(), n, ZONE), ZONE)
      local y, m, d = date:match("(%d+)-(%d+)-(%d+)")
      if os.date("!%w", os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 }) == "1" then return date end
    end
  end

  it("takes a stylist's slots away with a day off at once, and gives them back", function()
    local day = monday()
    local cust = { name = "Marta", phone = "+525511112222" }
    local st, b = c:call("POST", "tenants/salon/bookings", { service = "corte", start = day .. "T10:00", resource = "ana", customer = cust })
    assert.are.equal(200, st, json.encode(b))
    assert.are.equal("ana", b.resource)
    local id
    st, id = c:call("POST", "tenants/salon/availability", { kind = "day_off", date = day, resource = "ana", note = "dentist" })
    assert.are.equal(200, st, json.encode(id))
    st, b = c:call("POST", "tenants/salon/bookings", { service = "corte", start = day .. "T11:00", resource = "ana", customer = cust })
    assert.are.equal(409, st)
    assert.are.equal("not available", b.error)
    local _, list = c:call("GET", "tenants/salon/availability")
    assert.are.equal("day_off", list.overrides[1].kind)
    assert.are.equal("salon admin", list.overrides[1].author)
    assert.are.equal("added", list.history[1].action)
    assert.are.equal(400, (c:call("POST", "tenants/salon/availability", { kind = "day_off", date = day, resource = "nobody" })))
    assert.are.equal(200, (c:call("DELETE", "tenants/salon/availability/" .. id.id)))
    st, b = c:call("POST", "tenants/salon/bookings", { service = "corte", start = day .. "T11:00", resource = "ana", customer = cust })
    assert.are.equal(200, st, json.encode(b))
    -- moved and cancelled through the engine; listed by day
    local moved
    st, moved = c:call("POST", "tenants/salon/bookings/" .. b.id .. "/reschedule", { start = day .. "T14:00" })
    assert.are.equal(200, st, json.encode(moved))
    assert.truthy(tz.format_iso(moved.start, ZONE):find("T14:00", 1, true), json.encode(moved))
    local _, listed = c:call("GET", "tenants/salon/bookings?day=" .. day)
    assert.are.equal(2, #listed.bookings)
    st = c:call("POST", "tenants/salon/bookings/" .. b.id .. "/cancel", { reason = "spec" })
    assert.are.equal(200, st)
    local _, one = c:call("GET", "tenants/salon/customers/%2B525511112222")
    assert.are.equal("Marta", one.name)
    assert.are.equal(2, #one.bookings)
    assert.are.equal(200, (c:call("POST", "tenants/salon/customers/%2B525511112222/notes", { text = "prefers mornings" })))
    _, one = c:call("GET", "tenants/salon/customers/%2B525511112222")
    assert.are.equal("prefers mornings", one.notes[1].text)
    local _, h = c:call("GET", "tenants/salon/health")
    assert.truthy(h.version:match("^%x+$"))
    assert.are.equal(0, h.failed_turns)
  end)

  it("lets the owner answer an open hand-off; the customer gets it on WhatsApp", function()
    local a = number()
    from(a, "hola")
    wait_sent(a, 2)
    from(a, "quiero hablar con una persona")
    wait_sent(a, 3)
    local list
    assert.truthy(proc.wait_until(function()
      list = select(2, c:call("GET", "tenants/salon/handoffs")).handoffs
      return #list == 1
    end, 5))
    assert.are.equal("twilio:" .. a, list[1].conversation)
    assert.are.equal("twilio", list[1].channel)
    assert.are.equal("quiero hablar con una persona", list[1].last_text)
    local n = #sent_to(a)
    local st = c:call("POST", "tenants/salon/handoffs/" .. ("twilio:" .. a):gsub("%+", "%%2B") .. "/reply",
                      { text = "Hola Eva, soy Lucía. ¿En qué te ayudo?" })
    assert.are.equal(200, st)
    wait_sent(a, n + 1)
    assert.are.equal("Hola Eva, soy Lucía. ¿En qué te ayudo?", sent_to(a)[n + 1])
    -- the transcript marks what staff said
    local _, conv = c:call("GET", "tenants/salon/conversations/" .. ("twilio:" .. a):gsub("%+", "%%2B"))
    local last = conv.transcript[#conv.transcript]
    local staff
    for _, l in ipairs(conv.transcript) do if l.from == "staff" then staff = l end end
    assert.truthy(staff and staff.handoff, json.encode(conv.transcript))
    assert.truthy(last.handoff)
    -- found by phone and by part of its id
    local _, found = c:call("GET", "tenants/salon/conversations?q=" .. a:sub(-8))
    assert.are.equal("twilio:" .. a, found.conversations[1].id)
    assert.are.equal(404, (c:call("POST", "tenants/salon/handoffs/twilio:nobody/reply", { text = "x" })))
  end)
end)

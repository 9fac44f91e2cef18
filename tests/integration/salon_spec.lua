-- The salon (tenant "salon") over the Twilio fake: signed webhooks in,
-- Messages/Content API sends out. The seed's seven hand-off scenarios, a
-- booking with the owner told, the staff commands, the 08:00 summary (its
-- timer moved to now: the occurrence is still tomorrow's 08:00, as a fake
-- clock would have it), the reminder as a template outside the 24-hour
-- window, and 20 customers racing for one stylist's time.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"
local tz = require "tz"
local tasks = require "tasks"

local SID = "AC" .. crypto.random_hex(16)
local AUTH = crypto.random_hex(16)
local ADMIN = "salon-admin-" .. crypto.random_hex(4)
local ZONE = "America/Mexico_City"

local function number() return ("whatsapp:+52155%08d"):format(tonumber(crypto.random_hex(4), 16) % 100000000) end
local OWNER, ANA = number(), number()

describe("salon over Twilio", function()
  local s, fake, hook
  setup(function()
    for _, pattern in ipairs{ "fh:ho:{salon}:*", "fh:conv:{salon:schedule*", "bk:{salon}:*" } do
      redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, pattern)
    end
    fake = vendor.start("twilio", "/_control/sent?account_sid=" .. SID)
    local port = proc.free_port()
    hook = "http://127.0.0.1:" .. port .. "/webhooks/salon/twilio"
    s = proc.start{ config = "config/flowhost.lua", port = port, env = { FLOWHOST_WORKERS = 2,
      SALON_TWILIO_ACCOUNT_SID = SID, SALON_TWILIO_AUTH_TOKEN = AUTH, SALON_TWILIO_WEBHOOK_URL = hook,
      TWILIO_API_URL = fake.url, SALON_OWNER_WHATSAPP = OWNER:sub(10), SALON_ANA_WHATSAPP = ANA:sub(10),
      SALON_HANDOFF_TIMEOUT = 3, SALON_ADMIN_TOKEN = ADMIN, SALON_BOOKINGS_PER_MINUTE = 0 } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
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
      if m.params.To == to and m.status == 201 then out[#out + 1] = m.params end
    end
    return out
  end

  -- waits for the n-th message to `to`; its Body (or ContentSid)
  local function nth(to, n, secs)
    assert.truthy(proc.wait_until(function() return #sent_to(to) >= n end, secs or 8, 0.05),
      ("no message %d to %s; it got: %s"):format(n, to, json.encode(sent_to(to))))
    local m = sent_to(to)[n]
    return m.Body or m.ContentSid, m
  end

  -- says text and waits for `expect` more messages; the last one's Body
  local function say(who, text, expect)
    local before = #sent_to(who)
    from(who, text)
    return nth(who, before + (expect or 1))
  end

  local function handoffs()
    local r = assert(http.request{ url = s.url .. "/admin/tenants/salon/handoffs",
      headers = { Authorization = "Bearer " .. ADMIN } })
    assert.are.equal(200, r.status, r.body)
    return json.decode(r.body).handoffs
  end

  -- a day from today (n days on) and "d/m" as customers type it; the
  -- location and stylist who work that weekday
  local function day(n)
    local date = tz.date(tz.add_days(time.now(), n, ZONE), ZONE)
    local y, m, d = date:match("(%d+)-(%d+)-(%d+)")
    local wd = (tonumber(os.date("!%w", os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 })))
    local where = wd == 0 and { "norte", "sofia" } or { "centro", "ana" }
    return date, ("%d/%d"):format(tonumber(d), tonumber(m)), where
  end

  -- walks a new customer to the time buttons of `typed` with `stylist`
  local function to_times(who, name, typed, where)
    say(who, "hola", 2)
    say(who, name)
    say(who, "corte")
    say(who, where[1])
    say(who, where[2])
    return say(who, typed)
  end

  it("hands a customer to the owner and back: the seed's seven scenarios", function()
    local a, b = number(), number()
    -- the owner writes first: the bot answers staff with their commands,
    -- and WhatsApp's 24-hour window to the owner is open
    local help = say(OWNER, "hola")
    assert.truthy(help:find("qué tengo hoy", 1, true), help)
    local o = #sent_to(OWNER)
    -- the bot first; an angry customer is not handed off (only when asked)
    say(a, "hola", 2)
    local got = say(a, "esto es pésimo, estoy furiosa, qué servicio tan terrible!!!")
    assert.is_nil(got:find("encargada", 1, true), got)
    local question = got:match("([^\n]*%?)[^?]*$")            -- what the bot was asking
    assert.truthy(question, got)
    assert.are.equal(0, #handoffs())
    -- 1. initiate: the customer asks for a person
    got = say(a, "quiero hablar con una persona")
    assert.truthy(got:find("encargada", 1, true), got)
    local open = nth(OWNER, o + 1)
    local id = open:match("^Conversación #(%x+):")
    assert.truthy(id, open)
    -- 2. customer -> owner
    from(a, "mi tinte quedó verde")
    assert.truthy(nth(OWNER, o + 2):find("#" .. id .. " ", 1, true))
    assert.truthy(nth(OWNER, o + 2):find("mi tinte quedó verde", 1, true))
    -- 3. owner -> customer
    from(OWNER, "Perdón Eva, ven mañana y lo arreglamos sin costo")
    assert.truthy(proc.wait_until(function()
      for _, m in ipairs(sent_to(a)) do if m.Body == "Perdón Eva, ven mañana y lo arreglamos sin costo" then return true end end
    end, 8, 0.05), json.encode(sent_to(a)))
    -- 6. a second customer while the owner is busy: waits, and is told
    say(b, "hola", 2)
    local n = #sent_to(b)
    from(b, "quiero hablar con una persona")
    assert.truthy(nth(b, n + 1):find("encargada", 1, true))
    assert.truthy(nth(b, n + 2):find("eres la siguiente", 1, true))
    local list = handoffs()
    assert.are.same({ "open", "queued" }, { list[1].state, list[2].state })
    -- 4. the owner ends it with the tenant's Spanish word; both are told, b's opens
    local na = #sent_to(a)
    from(OWNER, "listo")
    assert.truthy(nth(a, na + 1):find("sigues con nuestro asistente", 1, true))
    local ended = nth(OWNER, o + 3)
    assert.truthy(ended:find("Conversación #" .. id .. " terminada", 1, true), ended)
    local id2 = ended:match("Conversación #(%x+): ")
    assert.truthy(id2 and id2 ~= id, ended)
    -- 5. the bot resumes where it was: the same question again
    local o5 = #sent_to(OWNER)
    local before5 = #sent_to(a)
    from(a, "mmm")
    assert.truthy(proc.wait_until(function()
      for i = before5 + 1, #sent_to(a) do if (sent_to(a)[i].Body or ""):find(question, 1, true) then return true end end
    end, 8, 0.05), json.encode(sent_to(a)) .. " / expected: " .. question)
    time.sleep(0.3)
    assert.are.equal(o5, #sent_to(OWNER))                     -- nothing relayed any more
    -- 7. b's hand-off times out (3 s here, 30 min in production): both are told
    assert.truthy(nth(b, n + 3, 10):find("tuvo que salir", 1, true))
    assert.truthy(nth(OWNER, o + 4, 10):find("#" .. id2 .. " terminada después de", 1, true))
    assert.are.equal(0, #handoffs())
  end)

  it("tells an owner who has not written in 24 hours of a hand-off with the notice template", function()
    redis.call("DEL", "fh:window:{salon}:twilio:" .. OWNER)       -- the owner's window is closed
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0,
      "fh:ho:{salon}:*")                                           -- no hand-off in the way
    local a = number()
    local o = #sent_to(OWNER)
    say(a, "hola", 2)
    say(a, "quiero hablar con una persona")
    local sid, m = nth(OWNER, o + 1)
    assert.are.equal("HX1e000000000000000000000000000004", sid)
    assert.truthy(json.decode(m.ContentVariables)["1"]:find("Conversación #", 1, true), m.ContentVariables)
    from(OWNER, "listo")                                          -- and the owner ends it
    assert.truthy(nth(OWNER, o + 2):find("terminada", 1, true))  -- (now in the window: as text)
    assert.are.equal(0, #handoffs())
  end)

  it("books a cita with a stylist, tells the owner, and keeps it in the day's list", function()
    local date, typed, where = day(2)
    local c = number()
    local o = #sent_to(OWNER)
    local times = to_times(c, "Eva Ruiz", typed, where)
    assert.truthy(times:find("1. ", 1, true), times)
    local summary = say(c, "1")
    assert.truthy(summary:find("$250", 1, true), summary)
    local booked = say(c, "1")
    local id = booked:match("(SL%-%w+)")
    assert.truthy(id, booked)
    local notice = nth(OWNER, o + 1)
    assert.truthy(notice:find("Nueva cita " .. id .. ": Eva Ruiz", 1, true), notice)
    local r = assert(http.request{ url = s.url .. "/admin/tenants/salon/bookings?date=" .. date,
      headers = { Authorization = "Bearer " .. ADMIN } })
    assert.are.equal(200, r.status, r.body)
    local found
    for _, b in ipairs(json.decode(r.body).bookings) do if b.id == id then found = b end end
    assert.truthy(found, r.body)
    assert.are.equal("twilio:" .. c, found.conversation)
    assert.are.equal(where[2], found.resource)
  end)

  it("answers the owner's staff commands and sends the 08:00 summary of the next occurrence", function()
    -- the schedule's next occurrence (today's or tomorrow's 08:00 in Mexico
    -- City, by the time of day): the cita is booked on that day
    local sched
    for _, t in ipairs(redis.call("ZRANGE", "fh:{timers}:due", 0, -1)) do
      if t:find("salon", 1, true) and t:find("daily_summary", 1, true) then sched = t end
    end
    assert.truthy(sched, "no daily_summary occurrence scheduled")
    local occ_date = tz.date(tonumber(sched:match(":(%d+)$")), ZONE)
    local n = occ_date == tz.date(time.now(), ZONE) and 0 or 1
    local date, typed, where = day(n)
    assert.are.equal(occ_date, date)
    local c = number()
    local o0 = #sent_to(OWNER)
    to_times(c, "Marta", typed, where)
    say(c, "1")
    local booked = say(c, "1")
    local id = booked:match("(SL%-%w+)")
    assert.truthy(id, booked)
    assert.truthy(nth(OWNER, o0 + 1):find("Nueva cita", 1, true))   -- the owner's notice is out first
    -- "¿qué tengo hoy/mañana?": the owner sees the cita
    local got = say(OWNER, n == 0 and "¿qué tengo hoy?" or "¿qué tengo mañana?")
    assert.truthy(got:find("Marta", 1, true), got)
    -- "mándale a Marta que ...": reaches the customer through the outbox
    local before = #sent_to(c)
    got = say(OWNER, "mándale a Marta que traiga foto del corte que quiere")
    assert.truthy(got:find("le mandé tu mensaje a Marta", 1, true), got)
    assert.truthy(nth(c, before + 1):find("traiga foto del corte que quiere", 1, true))
    -- the schedule's next occurrence fires now
    local o, a = #sent_to(OWNER), #sent_to(ANA)
    redis.call("ZADD", "fh:{timers}:due", math.floor(time.now() * 1000), sched)
    local summary = nth(OWNER, o + 1, 10)
    assert.truthy(summary:find("Marta", 1, true), summary)
    if where[2] == "ana" then
      -- Ana never wrote to the number: her summary goes as the template
      local _, m = nth(ANA, a + 1, 10)
      assert.are.equal("HX1e000000000000000000000000000003", m.ContentSid)
    end
    time.sleep(1)
    assert.are.equal(o + 1, #sent_to(OWNER))                  -- once
  end)

  it("sends the 24 h reminder as free text inside the window and as a template outside it", function()
    local _, typed, where = day(3)
    local c = number()
    to_times(c, "Rosa", typed, where)
    say(c, "1")
    say(c, "1")
    local function fire_reminder()
      for _, t in ipairs(redis.call("ZRANGE", "fh:{timers}:due", 0, -1)) do
        local rec = json.decode(redis.call("HGET", "fh:{timers}:data", t) or "null")
        if rec and rec.payload and rec.payload.handler == "remind_cita" and rec.payload.conv == "twilio:" .. c then
          redis.call("ZADD", "fh:{timers}:due", math.floor(time.now() * 1000), t)
          return true
        end
      end
    end
    -- the customer's window closes (24 h without a message)
    redis.call("DEL", "fh:window:{salon}:twilio:" .. c)
    local n = #sent_to(c)
    assert.truthy(fire_reminder(), "no reminder timer")
    local sid, m = nth(c, n + 1, 10)
    assert.are.equal("HX1e000000000000000000000000000001", sid)
    local vars = json.decode(m.ContentVariables)
    assert.are.equal("Rosa", vars["1"])
    assert.are.equal("Corte", vars["2"])
  end)

  it("gives one of 20 racing customers the stylist's time; the others get the next free times", function()
    local _, typed, where = day(4)
    local who = {}
    for i = 1, 20 do who[i] = number() end
    local errors = tasks.run(20, function(i) to_times(who[i], "Cliente " .. i, typed, where) end, 120)
    assert.are.same({}, errors)
    local first = sent_to(who[1])
    local offered = first[#first].Body:match("1%. ([^\n]+)")
    assert.truthy(offered, first[#first].Body)
    local replies = {}
    errors = tasks.run(20, function(i) replies[i] = say(who[i], "1") end, 120)
    assert.are.same({}, errors)
    local won, lost = 0, 0
    for i = 1, 20 do
      if replies[i]:find("¿La confirmo?", 1, true) then won = won + 1
      elseif replies[i]:find("alguien acaba de ganar ese horario", 1, true) then
        lost = lost + 1
        assert.truthy(replies[i]:find("1. ", 1, true), replies[i])
        assert.is_nil(replies[i]:find("1. " .. offered .. "\n", 1, true), replies[i])
      end
    end
    assert.are.same({ 1, 19 }, { won, lost }, json.encode(replies))
  end)
end)

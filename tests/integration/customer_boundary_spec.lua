-- The customer boundary (issue 13, sections 3 and 4), against the real
-- binary: a customer sees, changes or cancels only the bookings of the
-- identity its channel verified; the JSON chat API reaches only its own
-- conversations; holds and reservations are limited per customer and per
-- tenant.
local proc = require "proc"
local vendor = require "vendor"
local talk = require "flow.talk"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"
local tz = require "tz"

local KEY = "ck_" .. crypto.random_hex(16)
local APP_SECRET = "app_" .. crypto.random_hex(8)
local PHONE_ID = ("%.0f"):format(100000000000000 + tonumber(crypto.random_hex(5), 16))
local ZONE = "Asia/Kolkata"
local NOT_FOUND = "I couldn't find an upcoming booking with that. Please check the booking id or the mobile number."
local BUSY = "we're taking a lot of bookings right now"

local function engine() return assert(require("flow.tenant").load("carwash")).booking end
local function phone() return "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000) end
local function wa_id() return ("91%.0f"):format(9000000000 + tonumber(crypto.random_hex(4), 16) % 999999999) end

-- a date n days ahead as the customer types it
local function day(n)
  local d = tz.date(tz.add_days(time.now(), n, ZONE), ZONE)
  local y, m, dd = d:match("(%d+)-(%d+)-(%d+)")
  return ("%d/%d/%s"):format(tonumber(dd), tonumber(m), y)
end

local function request(url, method, path, body, key)
  local h = { ["Content-Type"] = "application/json" }
  if key then h.Authorization = "Bearer " .. key end
  local r = assert(http.request{ method = method, url = url .. "/v1/tenants/carwash" .. path, headers = h,
                                 body = body and json.encode(body), timeout = 30 })
  return r.status, json.decode(r.body), r
end

local function new_id(url)
  local status, res = request(url, "POST", "/conversations")
  assert.are.equal(201, status)
  return res.id
end

-- a web-chat customer with a conversation the host issued
local function chat(url) return talk.new("carwash", { url = url, id = new_id(url) }) end

local function booked_id(c)
  local id = c:said():match("(SR%-%w+)")
  assert(id, "expected a booking id\n" .. c:transcript())
  return id
end

-- a chat customer who books and confirms; returns the booking id
local function books(c, who)
  c:says("hi"):says("Asha Rao"):says(who.phone):says("Honda City"):says("MH 12 AB 1234")
  c:taps("basic_wash"):says("none"):says(who.date):in_state("pick_time")
  c:taps(c:buttons()[1].id):in_state("summary")
  c:taps("confirm"):in_state("booked")
  return booked_id(c)
end

describe("customer boundary", function()
  local s, fake
  setup(function()
    fake = vendor.start("whatsapp", "/_control/sent?phone_number_id=" .. PHONE_ID)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, CARWASH_API_KEY = KEY,
      CARWASH_WHATSAPP_TOKEN = "EAAG" .. crypto.random_hex(8), CARWASH_WHATSAPP_APP_SECRET = APP_SECRET,
      CARWASH_WHATSAPP_VERIFY_TOKEN = "v", CARWASH_WHATSAPP_PHONE_ID = PHONE_ID, WHATSAPP_API_URL = fake.url } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake then fake:stop() end
  end)

  -- WhatsApp: what the host sent to `to`, as texts
  local function texts_to(to)
    local out = {}
    for _, m in ipairs(fake:control("/_control/sent?phone_number_id=" .. PHONE_ID).sent) do
      local p = m.params
      if p.to == to and m.status == 200 then
        out[#out + 1] = (p.text and p.text.body) or (p.interactive and p.interactive.body.text) or ""
      end
    end
    return out
  end
  -- delivers a signed message from `from` and waits for the reply containing `piece`
  local function whatsapp(from, text, button, piece)
    local before = #texts_to(from)
    local m = fake:control("/_control/make_message", { from = from, text = text, phone_number_id = PHONE_ID,
      name = "Asha", button_reply = button and { id = button, title = button } or nil })
    local d = fake:control("/_control/deliver", { url = s.url .. "/webhooks/carwash/whatsapp",
      app_secret = APP_SECRET, payload = m, times = 1, gap_ms = 0, signature = "good" })
    assert.are.same({ 200 }, d.statuses)
    local got = proc.wait_until(function()
      local all = texts_to(from)
      for i = before + 1, #all do
        if all[i]:lower():find((piece or ""):lower(), 1, true) then return all end
      end
    end, 10)
    assert(got, ("no reply to %s containing %q; sent: %s"):format(from, tostring(piece), json.encode(texts_to(from))))
    return got[#got]
  end

  it("gives another customer exactly the not-found answer for a booking by its phone or SR- id", function()
    local owner_phone = phone()
    local id = books(chat(s.url), { phone = owner_phone, date = day(2) })
    local stranger = chat(s.url)
    stranger:says("I want to cancel my booking"):hears("booking id"):in_state("find_booking")
    local answers = {}
    for i, ask in ipairs{ owner_phone, id, "cancel booking " .. id, "SR-ZZZZZZZZ", phone() } do
      stranger:says(ask)
      answers[i] = stranger:said()
    end
    assert.are.same({ NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND }, answers)
    local r = chat(s.url)                          -- rescheduling is no different
    r:says("I want to reschedule my booking " .. id)
    assert.are.equal(NOT_FOUND, r.last.replies[#r.last.replies].text)
    assert.are.equal("confirmed", engine():get(id).status)
  end)

  it("lets the customer who booked find the booking by phone and by id, and cancel it", function()
    local p = phone()
    local c = chat(s.url)
    local id = books(c, { phone = p, date = day(3) })
    c:says("I want to cancel my booking"):hears(id):in_state("cancel_existing")
    c:taps("no"):in_state("kept")
    c:says("cancel the booking for " .. p):hears(id):in_state("cancel_existing")
    c:taps("no")
    c:says("please cancel booking " .. id):hears(id):in_state("cancel_existing")
    c:says("yes"):in_state("booking_cancelled")
    assert.are.equal("cancelled", engine():get(id).status)
  end)

  it("keeps a WhatsApp customer's booking to their own number", function()
    local wa, typed = wa_id(), phone()
    whatsapp(wa, "hi", nil, "name"); whatsapp(wa, "Asha Rao", nil, "mobile"); whatsapp(wa, typed, nil, "car")
    whatsapp(wa, "Honda City", nil, "registration"); whatsapp(wa, "MH12AB1234", nil, "service")
    whatsapp(wa, nil, "basic_wash", "add-ons"); whatsapp(wa, "none", nil, "day")
    whatsapp(wa, day(4), nil, "free")
    local sent = fake:control("/_control/sent?phone_number_id=" .. PHONE_ID).sent
    local a = sent[#sent].params.interactive.action
    whatsapp(wa, nil, a.sections and a.sections[1].rows[1].id or a.buttons[1].reply.id, "confirm")
    local id = whatsapp(wa, nil, "confirm", "SR-"):match("(SR%-%w+)")
    -- on the chat API, neither the number they typed nor their WhatsApp number finds it
    local stranger = chat(s.url)
    stranger:says("I want to cancel my booking"):says(typed)
    assert.are.equal(NOT_FOUND, stranger:said())
    stranger:says(wa:sub(3))
    assert.are.equal(NOT_FOUND, stranger:said())
    stranger:says(id)
    assert.are.equal(NOT_FOUND, stranger:said())
    -- from their own number it is theirs
    whatsapp(wa, "I want to cancel my booking", nil, id)
    whatsapp(wa, nil, "yes", "is cancelled")
    assert.are.equal("cancelled", engine():get(id).status)
    assert.are.equal("whatsapp:" .. wa, engine():get(id).owner)
  end)

  it("never reaches a channel's conversation from the chat API, whatever id it is given", function()
    local wa = wa_id()
    whatsapp(wa, "hi", nil, "name"); whatsapp(wa, "Asha Rao", nil, "mobile")
    local key = "fh:conv:{carwash:whatsapp:" .. wa .. "}"
    local before = redis.call("GET", key)
    assert.is_string(before)
    local path = "/conversations/whatsapp:" .. wa
    assert.are.equal(401, (request(s.url, "GET", path)))
    local status, res = request(s.url, "GET", path, nil, KEY)
    assert.are.equal(404, status)
    local _, never = request(s.url, "GET", "/conversations/whatsapp:91" .. crypto.random_hex(5), nil, KEY)
    assert.are.same(never, res)                       -- the same answer as a name nobody has
    assert.are.equal(401, (request(s.url, "POST", path .. "/messages", { text = "hi" })))
    status, res = request(s.url, "POST", path .. "/messages", { text = "cancel my booking" }, KEY)
    assert.are.equal(200, status)
    assert.is_nil(res.slots.name)                     -- a conversation of its own
    assert.are.equal(before, redis.call("GET", key))  -- the WhatsApp one untouched
  end)

  it("reads a conversation with its issued id or the tenant's key, never with a wrong key or none", function()
    local id = new_id(s.url)
    assert.are.equal(200, (request(s.url, "POST", "/conversations/" .. id .. "/messages", { text = "hi" })))
    local status, conv = request(s.url, "GET", "/conversations/" .. id)
    assert.are.equal(200, status)
    assert.are.equal(1, conv.turns)
    assert.are.equal(200, (request(s.url, "GET", "/conversations/" .. id, nil, KEY)))
    local wrong
    status, wrong = request(s.url, "GET", "/conversations/" .. id, nil, KEY .. "x")
    assert.are.equal(401, status)
    assert.are.equal("unauthorized", wrong.error)
    assert.are.equal(401, (request(s.url, "GET", "/conversations/" .. id, nil, "")))
    -- ids of the caller's own: only with the key
    local own = "backend-" .. crypto.random_hex(8)
    assert.are.equal(401, (request(s.url, "POST", "/conversations/" .. own .. "/messages", { text = "hi" })))
    assert.are.equal(401, (request(s.url, "POST", "/conversations/" .. own .. "/messages", { text = "hi" }, "nope")))
    assert.are.equal(200, (request(s.url, "POST", "/conversations/" .. own .. "/messages", { text = "hi" }, KEY)))
    assert.are.equal(401, (request(s.url, "GET", "/conversations/" .. own)))
    assert.are.equal(200, (request(s.url, "GET", "/conversations/" .. own, nil, KEY)))
    assert.are.equal(404, (request(s.url, "GET", "/conversations/never-" .. crypto.random_hex(8), nil, KEY)))
  end)

  it("issues conversation ids of 128 random bits, never the same twice", function()
    local seen, n = {}, 0
    for _ = 1, 200 do
      local id = new_id(s.url)
      assert.matches("^%x+$", id)
      assert.are.equal(32, #id)
      assert.is_nil(seen[id])
      seen[id], n = true, n + 1
    end
    assert.are.equal(200, n)
    local status, body = request(s.url, "POST", "/conversations")
    assert.are.equal(201, status)
    assert.are.same({ id = body.id }, body)
  end)

  it("lets one customer hold one slot at a time", function()
    local c = chat(s.url)
    c:says("hi"):says("Asha Rao"):says(phone()):says("Honda City"):says("MH 12 AB 1234")
    c:taps("basic_wash"):says("none"):says(day(6)):taps(c:buttons()[1].id):in_state("summary")
    local held = {}
    for _, b in ipairs(engine():by_day((tz.date(tz.add_days(time.now(), 6, ZONE), ZONE))) or {}) do
      if b.conversation == "chat:" .. c.id and b.status == "held" then held[#held + 1] = b.id end
    end
    assert.are.equal(1, #held)
    local first = held[1]
    -- moving the held time through "reschedule" ends the chat with the hold
    -- still on; the next booking in the same chat takes a second hold
    c:says("reschedule my booking"):hears(first):in_state("resched_date")
    c:says(day(7)):in_state("resched_time")
    c:taps(c:buttons()[1].id):in_state("rescheduled")
    c:says("hi"):hears("service"):taps("basic_wash"):says("none"):says(day(6)):in_state("pick_time")
    c:taps(c:buttons()[1].id):in_state("summary")
    local rec = engine():get(first)
    assert.are.equal("cancelled", rec.status)
    assert.are.equal("replaced by a newer hold", rec.cancel_reason)
  end)
end)

describe("customer limits across a tenant", function()
  it("refuses a burst of reservations over bookings_per_minute, telling the customer why", function()
    local LIMIT, N = 3, 6
    local s = proc.start{ config = "config/flowhost.lua",
                          env = { FLOWHOST_WORKERS = 2, CARWASH_BOOKINGS_PER_MINUTE = LIMIT } }
    finally(function() proc.stop(s) end)
    local chats = {}
    for i = 1, N do
      local c = chat(s.url)
      c:says("hi"):says("Burst " .. i):says(phone()):says("Tata Nexon"):says("MH01AB000" .. i)
      c:taps("basic_wash"):says("none"):says(day(8)):in_state("pick_time")
      chats[i] = c
    end
    local reqs = {}
    for i, c in ipairs(chats) do
      reqs[i] = { method = "POST", url = s.url .. "/v1/tenants/carwash/conversations/" .. c.id .. "/messages",
                  headers = { ["Content-Type"] = "application/json" }, timeout = 30,
                  body = json.encode{ button = c:buttons()[i].id } }
    end
    local held, refused = 0, 0
    for _, r in ipairs(http.all(reqs)) do
      local res = json.decode(r.body)
      if res.state == "summary" then held = held + 1
      elseif res.state == "pick_time" and res.replies[1].text:find(BUSY, 1, true) then refused = refused + 1
      else error("unexpected answer: " .. r.body) end
    end
    assert.is_true(held <= LIMIT, held .. " holds")
    assert.is_true(refused >= N - LIMIT, refused .. " refused")
    assert.are.equal(N, held + refused)
  end)
end)

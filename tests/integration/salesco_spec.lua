-- Sales Co end to end (issue 18): two reps connect the company bot to their
-- Telegram Business accounts; prospects write to them in their own chats
-- (tests/fakes/telegram.py, business updates); the assistant answers each
-- as its rep, books a Zoom call (tests/fakes/zoom.py) in the rep's free
-- time read from Google Calendar (tests/fakes/google.py), follows up a
-- quiet prospect and hands a prospect to the rep.
local proc = require "proc"
local vendor = require "vendor"
local json = require "json"
local time = require "time"
local tz = require "tz"
local crypto = require "crypto"
local redis = require "redis"
local gcal = require "connectors.google_calendar"

local TOKEN = "777018:" .. crypto.random_hex(12)
local SECRET = "sales_" .. crypto.random_hex(8)
local CARA_TOKEN = "777019:" .. crypto.random_hex(12)                 -- a rep with a bot of her own
local CARA_SECRET = "cara_" .. crypto.random_hex(8)
local ANNA = tonumber(crypto.random_hex(4), 16) + 7000000          -- the reps' Telegram user ids
local BEN = ANNA + 1
local ANNA_CAL, BEN_CAL = "anna@salesco.example", "ben@salesco.example"
local ZONE = "Asia/Makassar"
local SA = json.encode{ type = "service_account", client_email = "bot@flowhost-test.iam.gserviceaccount.com",
  private_key = io.open("tests/fixtures/connectors/test_sa_key.pem"):read("*a"), private_key_id = "kid-1" }

local function new_chat() return tonumber(crypto.random_hex(5), 16) + 9000000 end

local function forget(patterns)
  for _, pattern in ipairs(patterns) do
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, pattern)
  end
end

describe("salesco over Telegram Business", function()
  local s, tg, google, zoom, env, gclient

  local function start_host() s = proc.start{ config = "config/flowhost.lua", env = env } end

  setup(function()
    -- the fake numbers updates from the same start each run: forget what an
    -- earlier run left (update ids, outboxes, connections, bookings, cache)
    forget{ "fh:seen:{salesco}:*", "fh:out:{salesco}:*", "fh:tgbiz:{salesco}*", "bk:{salesco.*", "fh:cal:{salesco*" }
    os.execute("mkdir -p var/test")
    local keyfile = "var/test/salesco-sa-" .. crypto.random_hex(4) .. ".json"   -- the key as a file path
    local f = assert(io.open(keyfile, "w"))
    f:write(SA)
    f:close()
    tg = vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    google = vendor.start("google", "/_control/calls")
    zoom = vendor.start("zoom", "/_control/calls")
    google:control("/_control/config", { calendars = { ANNA_CAL, BEN_CAL } })
    env = { FLOWHOST_WORKERS = 2, FLOWHOST_DEBOUNCE_MS = 0,
      SALESCO_TELEGRAM_TOKEN = TOKEN, SALESCO_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = tg.url,
      SALESCO_GOOGLE_CREDENTIALS = keyfile,
      GOOGLE_OAUTH_TOKEN_URL = google.url .. "/token", GOOGLE_CALENDAR_API_URL = google.url .. "/calendar/v3",
      SALESCO_ZOOM_ACCOUNT_ID = "acc-1", SALESCO_ZOOM_CLIENT_ID = "zid", SALESCO_ZOOM_CLIENT_SECRET = "zsecret",
      ZOOM_OAUTH_TOKEN_URL = zoom.url .. "/oauth/token", ZOOM_API_URL = zoom.url .. "/v2",
      SALESCO_ANNA_TELEGRAM_ID = ANNA, SALESCO_BEN_TELEGRAM_ID = BEN,
      SALESCO_ANNA_CHAT = ANNA, SALESCO_BEN_CHAT = BEN,
      SALESCO_CARA_TELEGRAM_TOKEN = CARA_TOKEN, SALESCO_CARA_TELEGRAM_SECRET = CARA_SECRET }
    start_host()
    gclient = gcal.new({ timeout = 2, tries = 1 }, { credentials_env = SA },
      { token = google.url .. "/token", api = google.url .. "/calendar/v3" })
  end)
  teardown(function()
    if s then proc.stop(s) end
    for _, f in ipairs{ tg, google, zoom } do f:stop() end
  end)

  local function deliver(u, times)
    local r = tg:control("/_control/deliver", { url = s.url .. "/webhooks/salesco/telegram", secret = SECRET,
                                                update = u, times = times or 1 })
    for _, st in ipairs(r.statuses) do assert.are.equal(200, st, json.encode(r)) end
  end

  -- a rep connects the bot in Settings > Telegram Business > Chatbots
  local function connect(user_id, opts)
    opts = opts or {}
    local u = tg:control("/_control/business_connection", { user_id = user_id, first_name = opts.name or "Rep",
                                                             enabled = opts.enabled, can_reply = opts.can_reply })
    if not opts.silent then deliver(u) end
    return u.business_connection.id
  end

  -- a prospect (or the rep: from = the rep's id) writes in the rep's chat
  local function write(conn, chat, text, opts)
    opts = opts or {}
    local u = tg:control("/_control/make_update", { business_connection_id = conn, chat_id = chat,
      user_id = opts.from or chat, text = text, callback_data = opts.tap, username = opts.username,
      first_name = "Pat" })
    deliver(u, opts.times)
  end

  -- what the bot sent into the chat through the connection
  local function said(conn, chat)
    local out = {}
    for _, m in ipairs(tg:control("/_control/sent?token=" .. TOKEN .. "&method=sendMessage").sent) do
      if m.status == 200 and tostring(m.params.chat_id) == tostring(chat)
        and m.params.business_connection_id == conn then out[#out + 1] = m end
    end
    return out
  end
  local function texts(conn, chat)
    local out = {}
    for i, m in ipairs(said(conn, chat)) do out[i] = m.params.text end
    return out
  end
  local function wait_said(conn, chat, n, secs)
    assert.truthy(proc.wait_until(function() return #said(conn, chat) >= n end, secs or 10, 0.05),
      ("expected %d messages in chat %s, got: %s"):format(n, chat, json.encode(texts(conn, chat))))
    return said(conn, chat)
  end
  -- messages to a rep in their own chat with the bot (notifications)
  local function to_rep(user_id)
    local out = {}
    for _, m in ipairs(tg:control("/_control/sent?token=" .. TOKEN .. "&method=sendMessage").sent) do
      if m.status == 200 and tostring(m.params.chat_id) == tostring(user_id) and not m.params.business_connection_id then
        out[#out + 1] = m.params.text
      end
    end
    return out
  end

  -- whether the timer is waiting to fire
  local function pending(id) return type(redis.call("ZSCORE", "fh:{timers}:due", id)) == "string" end
  -- the conversation's pending follow-up timer: its id (nil: none pending)
  local function follow_up(conn, chat)
    local conv = "telegram:" .. conn .. "/" .. chat
    local all = redis.call("HGETALL", "fh:{timers}:data")
    for i = 1, #all, 2 do
      local rec = json.decode(all[i + 1])
      if rec and rec.payload and rec.payload.conv == conv and rec.payload.handler == "follow_up"
        and pending(rec.id) then return rec.id, rec end
    end
  end
  local function make_due(id) redis.call("ZADD", "fh:{timers}:due", 0, id) end

  local anna_conn, ben_conn

  it("maps each business connection to the rep whose Telegram id it carries, and answers in that rep's voice", function()
    anna_conn, ben_conn = connect(ANNA, { name = "Anna" }), connect(BEN, { name = "Ben" })
    local p1, p2 = new_chat(), new_chat()
    write(anna_conn, p1, "Hello")
    write(ben_conn, p2, "Hello", { username = "acme_cto" })     -- on Ben's list by username
    local a = wait_said(anna_conn, p1, 2)
    local b = wait_said(ben_conn, p2, 2)
    assert.matches("Anna's assistant", a[1].params.text)
    assert.matches("Ben's assistant here 👋", b[1].params.text)
    -- sent on the rep's behalf, as Telegram shows it
    assert.are.equal(anna_conn, a[1].params.business_connection_id)
  end)

  it("learns a connection it never saw from getBusinessConnection", function()
    local conn = connect(ANNA, { silent = true })
    local p = new_chat()
    write(conn, p, "Hello")
    assert.matches("Anna's assistant", wait_said(conn, p, 2)[1].params.text)
    assert.are.equal(1, #tg:control("/_control/sent?token=" .. TOKEN .. "&method=getBusinessConnection").sent)
  end)

  it("leaves alone a prospect not on the rep's list, the rep's own messages, and a chat the rep took over", function()
    local stranger = new_chat()
    write(ben_conn, stranger, "Hello")                       -- Ben answers listed prospects only
    local p = new_chat()
    write(anna_conn, p, "Hello")
    wait_said(anna_conn, p, 2)
    write(anna_conn, p, "Hi, Anna here, let me take this one", { from = ANNA })
    write(anna_conn, p, "Great, thanks Anna")
    time.sleep(1.5)
    assert.are.same({}, texts(ben_conn, stranger))
    assert.are.equal(2, #said(anna_conn, p))
  end)

  it("books a Zoom call in Anna's free time only: one meeting and one event, with the link, after a failed turn", function()
    -- Anna's hours are 09:00-13:00 on weekdays (Asia/Makassar). Busy in her
    -- calendar from now to 12:30 of her first full working day: the first
    -- time offered must be 12:30 that day.
    local now = time.now()
    local day = tz.start_of_day(now, ZONE)
    local first
    for i = 0, 7 do
      local d = tz.add_days(day, i, ZONE)
      local wd = tz.weekday(d, ZONE)
      if wd <= 5 and d + 9 * 3600 >= now + 3600 then first = d; break end
    end
    local free_at = first + 12 * 3600 + 1800
    assert(gcal.run(gclient, "insert_event", { ANNA_CAL, { summary = "offsite",
      start = { dateTime = tz.format_iso(now - 3600, "UTC") }, ["end"] = { dateTime = tz.format_iso(free_at, "UTC") } } },
      { deadline = time.now() + 5, marker = "spec:busy" .. crypto.random_hex(4) }))

    local p = new_chat()
    for _, text in ipairs{ "Hello", "We need a CRM for 20 agents", "$8000", "yes, I decide", "next month" } do
      write(anna_conn, p, text)
      wait_said(anna_conn, p, #said(anna_conn, p) + 1)
    end
    assert.matches("email", texts(anna_conn, p)[#said(anna_conn, p)])
    local n = #said(anna_conn, p)
    write(anna_conn, p, "pat@prospect.example")
    local offer = wait_said(anna_conn, p, n + 1)[n + 1]
    assert.matches("free for a 30 minute Zoom call", offer.params.text)
    local buttons = offer.params.reply_markup.inline_keyboard
    assert.are.equal("t" .. free_at, buttons[1][1].callback_data, json.encode(buttons))
    for _, row in ipairs(buttons) do
      local t = tonumber(row[1].callback_data:match("^t(%d+)$"))
      assert.truthy(t >= free_at, "offered a busy time: " .. row[1].text)
    end

    -- the calendar refuses the first event: the turn says so, Zoom's meeting is kept
    google:control("/_control/script", { faults = { { path = "/calendar/v3/calendars/", method = "POST", status = 400,
      body = { error = { code = 400, message = "Invalid", errors = { { domain = "global", reason = "invalid", message = "Invalid" } } } } } } })
    write(anna_conn, p, nil, { tap = "t" .. free_at })
    assert.matches("could not book", wait_said(anna_conn, p, n + 2)[n + 2].params.text)
    -- the prospect taps again (Telegram delivering that tap twice): booked once
    write(anna_conn, p, nil, { tap = "t" .. free_at, times = 2 })
    local done = wait_said(anna_conn, p, n + 3)[n + 3].params.text
    assert.matches("confirmed for", done)
    time.sleep(1)
    assert.are.equal(n + 3, #said(anna_conn, p))
    local meetings = zoom:control("/_control/state").records.meetings or {}
    assert.are.equal(1, #meetings, json.encode(meetings))
    assert.matches("confirmed for", done)
    assert.truthy(done:find(meetings[1].join_url, 1, true), done)
    local events = {}
    for _, e in ipairs(google:control("/_control/state").records[ANNA_CAL] or {}) do
      if e.summary ~= "offsite" then events[#events + 1] = e end
    end
    assert.are.equal(1, #events, json.encode(events))
    assert.truthy(events[1].description:find(meetings[1].join_url, 1, true), events[1].description)
    assert.are.equal("pat@prospect.example", events[1].attendees[1].email)
    -- Anna hears about it in her own chat with the bot, with the BANT line
    assert.truthy(proc.wait_until(function() return #to_rep(ANNA) >= 1 end, 8, 0.05), "Anna was not told")
    assert.matches("New call booked", to_rep(ANNA)[#to_rep(ANNA)])
    assert.matches("budget: 8000", to_rep(ANNA)[#to_rep(ANNA)])
  end)

  it("cancels the follow-up when the prospect writes first, and sends the next one once, across a restart", function()
    local p = new_chat()
    write(anna_conn, p, "Hello")
    wait_said(anna_conn, p, 2)
    local first = assert(follow_up(anna_conn, p), "no follow-up scheduled")
    write(anna_conn, p, "We need a CRM")                      -- they wrote first
    wait_said(anna_conn, p, 3)
    local second = assert(follow_up(anna_conn, p), "no new follow-up scheduled")
    assert.are_not.equal(first, second)
    assert.is_false(pending(first))
    make_due(first)                                           -- a host that had it already: still never runs
    -- a restart between scheduling and firing
    proc.stop(s)
    start_host()
    make_due(second)
    local got = wait_said(anna_conn, p, 4, 15)
    assert.matches("just checking in", got[4].params.text)
    time.sleep(2)
    assert.are.equal(4, #said(anna_conn, p), json.encode(texts(anna_conn, p)))
    -- and the next one is scheduled (3 days later)
    local third, rec = follow_up(anna_conn, p)
    assert.truthy(third and rec.payload.data.n == 2)
  end)

  it("answers a rep's own bot at /webhooks/salesco.<rep>/telegram with that bot, follow-ups included", function()
    local p = new_chat()
    local u = tg:control("/_control/make_update", { chat_id = p, text = "Hello", token = CARA_TOKEN })
    local url = s.url .. "/webhooks/salesco.cara/telegram"
    local r = tg:control("/_control/deliver", { url = url, secret = SECRET, update = u })
    assert.are.same({ 403 }, r.statuses)                      -- the company bot's secret is not Cara's
    r = tg:control("/_control/deliver", { url = s.url .. "/webhooks/salesco.anna/telegram", secret = SECRET, update = u })
    assert.are.same({ 404 }, r.statuses)                      -- Anna has no bot of her own
    r = tg:control("/_control/deliver", { url = url, secret = CARA_SECRET, update = u })
    assert.are.same({ 200 }, r.statuses)
    local function cara_said()
      local out = {}
      for _, m in ipairs(tg:control("/_control/sent?token=" .. CARA_TOKEN .. "&method=sendMessage").sent) do
        if m.status == 200 and tostring(m.params.chat_id) == tostring(p) then out[#out + 1] = m.params.text end
      end
      return out
    end
    assert.truthy(proc.wait_until(function() return #cara_said() >= 2 end, 10, 0.05), json.encode(cara_said()))
    assert.matches("thank you for writing to Cara Lim", cara_said()[1])
    local conv = "telegram:" .. p
    local id
    for _, x in ipairs(redis.call("ZRANGE", "fh:{timers}:due", 0, -1)) do
      local rec = json.decode(redis.call("HGET", "fh:{timers}:data", x) or "null")
      if type(rec) == "table" and rec.payload and rec.payload.conv == conv and rec.payload.tenant == "salesco.cara" then id = x end
    end
    assert.truthy(id, "no follow-up for Cara's prospect")
    make_due(id)
    assert.truthy(proc.wait_until(function() return #cara_said() >= 3 end, 10, 0.05), json.encode(cara_said()))
    assert.matches("just checking in", cara_said()[3])
  end)

  it("hands a prospect to the rep in English and in Russian: the rep is told, the assistant stops", function()
    local p1, p2 = new_chat(), new_chat()
    local before = #to_rep(BEN)
    write(ben_conn, p1, "Hello", { username = "acme_cto" })
    wait_said(ben_conn, p1, 2)
    write(ben_conn, p1, "Just call me tomorrow", { username = "acme_cto" })
    assert.matches("passing this to my colleague", wait_said(ben_conn, p1, 3)[3].params.text)
    assert.truthy(proc.wait_until(function() return #to_rep(BEN) > before end, 8, 0.05), "Ben was not told")
    assert.matches("Just call me tomorrow", to_rep(BEN)[#to_rep(BEN)])
    write(ben_conn, p1, "hello?", { username = "acme_cto" })
    write(anna_conn, p2, "Здравствуйте")
    wait_said(anna_conn, p2, 2)
    write(anna_conn, p2, "Позвоните мне, пожалуйста")
    assert.matches("передам это коллеге", wait_said(anna_conn, p2, 3)[3].params.text)   -- in Russian, formally
    time.sleep(1)
    assert.are.equal(3, #said(ben_conn, p1))
    assert.is_nil(follow_up(ben_conn, p1))                    -- no follow-up after a hand-off
  end)
end)

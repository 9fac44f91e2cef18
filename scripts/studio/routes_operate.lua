--- studio.routes_operate: the studio's routes for running the day:
--- conversations, customers, availability overrides, bookings, open
--- hand-offs (the owner answers through the hand-off relay) and health
--- (docs/studio.md). Loaded by scripts/routes/studio.lua.
local json = require "json"
local redis = require "redis"
local time = require "time"
local api = require "studio.api"
local conversations = require "studio.conversations"
local bookings = require "studio.bookings"
local overrides = require "booking.overrides"
local handoff = require "flow.handoff"
local health = require "flow.health"
local tenants = require "flow.tenants"

local route, fail, body = api.route, api.fail, api.body

local function query(req) return type(req.query) == "table" and req.query or {} end

-- whose conversations: a rep's own; the tenant's, or with ?rep= one of its reps'
local function owner(req, who)
  if who.rep then return who.rep end
  local rep = query(req).rep
  if type(rep) == "string" and rep:match("^[%w_%-]+$") then return who.tenant .. "." .. rep end
  return who.tenant
end

route("GET", "conversations", function(req, _, who)
  local q = query(req)
  local page, err = conversations.page(owner(req, who), q.q, q.cursor)
  if not page then return fail(503, "unavailable", tostring(err)) end
  return 200, { conversations = json.array(page.conversations), next = page.next }
end, { rep = true })

route("GET", "conversations/{id}", function(req, p, who)
  local c = conversations.get(owner(req, who), p.id)
  if not c then return fail(404, "not found", "no such conversation (it may have expired)") end
  return 200, c
end, { rep = true })

-- ---- customers ----------------------------------------------------------------

route("GET", "customers", function(req, _, who)
  local q = query(req)
  local page, err = bookings.customers(who.tenant, q.q, q.cursor)
  if not page then return fail(503, "unavailable", tostring(err)) end
  return 200, page
end)

route("GET", "customers/{id}", function(_, p, who)
  local c = bookings.customer(who.tenant, p.id)
  if not c then return fail(404, "not found", "no customer with bookings under that phone or email") end
  return 200, c
end)

route("POST", "customers/{id}/notes", function(req, p, who)
  local b = body(req)
  if not b or type(b.text) ~= "string" or not b.text:match("%S") then return fail(400, "bad request", 'send {"text": "the note"}') end
  bookings.note(who.tenant, p.id, b.text:sub(1, 2000), who.user)
  return 200, { saved = true }
end)

-- ---- availability -------------------------------------------------------------

local function log_key(T) return ("fh:studio:{%s}:availability:log"):format(T) end
local function log(T, entry)
  entry.time = math.floor(time.now())
  redis.pipeline{ { "LPUSH", log_key(T), json.encode(entry) }, { "LTRIM", log_key(T), 0, 499 } }
end

route("GET", "availability", function(_, _, who)
  local list = overrides.list("bk:{" .. who.tenant .. "}:")
  if not list then return fail(503, "unavailable", "the host cannot reach its storage") end
  local history = {}
  for i, raw in ipairs(redis.call("LRANGE", log_key(who.tenant), 0, 99) or {}) do history[i] = json.decode(raw) end
  return 200, { overrides = json.array(list), history = json.array(history) }
end)

route("POST", "availability", function(req, _, who)
  local b = body(req)
  if not b then return fail(400, "bad json", "send the override as a JSON object") end
  local st = tenants.status(who.tenant)
  local res = st and type(st.settings) == "table" and type(st.settings.booking) == "table" and st.settings.booking.resources
  if b.resource ~= nil and not (type(res) == "table" and res[b.resource]) then
    return fail(400, "bad request", "resource: one of the tenant's resources (booking.resources in its config or business.lua)")
  end
  b.author = who.user
  local id, err = overrides.add("bk:{" .. who.tenant .. "}:", b)
  if not id then return fail(400, "bad request", err) end
  log(who.tenant, { action = "added", id = id, kind = b.kind, date = b.date, resource = b.resource, from = b.from,
                    to = b.to, note = b.note, author = who.user })
  return 200, { id = id }
end)

route("DELETE", "availability/{id}", function(_, p, who)
  if not overrides.remove("bk:{" .. who.tenant .. "}:", p.id) then return fail(404, "not found", "no such override") end
  log(who.tenant, { action = "removed", id = p.id, author = who.user })
  return 200, { removed = true }
end)

-- ---- bookings -------------------------------------------------------------------

local function booking_answer(b, status, word, message)
  if not b then return fail(status, word, message) end
  return 200, b
end

route("GET", "bookings", function(req, _, who)
  local q = query(req)
  local day = q.day or bookings.today(who.tenant)
  if not tostring(day):match("^%d%d%d%d%-%d%d%-%d%d$") then return fail(400, "bad request", "give ?day=YYYY-MM-DD") end
  local page, err = bookings.day(who.tenant, day, q.cursor)
  if not page then return fail(503, "unavailable", tostring(err)) end
  return 200, page
end)

route("POST", "bookings", function(req, _, who)
  local b = body(req)
  if not b then return fail(400, "bad json", "send the booking as a JSON object") end
  return booking_answer(bookings.create(who.tenant, b))
end)

route("POST", "bookings/{id}/cancel", function(req, p, who)
  local b = body(req) or {}
  return booking_answer(bookings.cancel(who.tenant, p.id, type(b.reason) == "string" and b.reason or nil))
end)

route("POST", "bookings/{id}/reschedule", function(req, p, who)
  local b = body(req)
  if not b then return fail(400, "bad json", 'send {"start": "2026-12-05T10:00"}') end
  return booking_answer(bookings.reschedule(who.tenant, p.id, b))
end)

-- ---- hand-offs ------------------------------------------------------------------

-- the customer's last words in the conversation (what the owner answers)
local function last_text(T, conv)
  local c = conversations.get(T, conv)
  for i = #(c and c.transcript or {}), 1, -1 do
    if c.transcript[i].from == "customer" then return c.transcript[i].text end
  end
  return json.null
end

route("GET", "handoffs", function(_, _, who)
  local out = {}
  for _, h in ipairs(handoff.list(who.tenant)) do
    out[#out + 1] = { id = h.id, conversation = h.conv, channel = require("flow.identity").of(h.conv).channel,
                      since = h.opened, state = h.state, person = h.person, reason = h.reason,
                      name = h.customer or json.null, last_text = last_text(h.tenant or who.tenant, h.conv) }
  end
  return 200, { handoffs = json.array(out) }
end)

route("POST", "handoffs/{conversation}/reply", function(req, p, who)
  local b = body(req)
  if not b or type(b.text) ~= "string" or not b.text:match("%S") then return fail(400, "bad request", 'send {"text": "your answer"}') end
  local h = handoff.of(who.tenant, p.conversation)
  if not h or h.state ~= "open" then return fail(404, "not found", "this conversation has no open hand-off") end
  local st = tenants.status(who.tenant)
  local mid = "studio:" .. math.floor(time.now() * 1000)
  local r = handoff.staff_message(who.tenant, st and st.settings or {}, h.person, "#" .. h.id .. " " .. b.text, mid)
  if r == nil then return fail(409, "not sent", "the hand-off is no longer open") end
  return 200, { sent = true }
end)

-- ---- health ---------------------------------------------------------------------

route("GET", "health", function(_, _, who)
  local st = tenants.status(who.tenant) or {}
  local h = health.read(who.tenant)
  local n = redis.call("ZCARD", "bk:{" .. who.tenant .. "}:day:" .. bookings.today(who.tenant))
  local last = st.last_error ~= json.null and st.last_error or (h.last or json.null)
  return 200, { version = st.version or json.null, last_error = last, failed_turns = h.failed_turns,
                llm_errors = h.llm_errors, bookings_today = tonumber(n) or 0,
                reloaded_at = st.loaded_at or json.null }
end)

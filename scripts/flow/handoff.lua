--- flow.handoff: a person takes a conversation over from the bot.
---
--- When a flow hands a conversation off (c:handoff{reason = ..., to =
--- "owner"}, or the customer asks for a person and the tenant names who
--- takes them: handoff = { to = "owner" } in its config), the person (a
--- member of staff = { ... }, flow.staff) gets a summary and a short id, and
--- the bot stops answering that conversation. While it is open, the
--- customer's messages are relayed to the person and the person's
--- messages to the customer. It ends when the person says so ("/end",
--- "/end <id>" or one of the tenant's handoff.end_words), or after
--- handoff.timeout seconds of silence (default 1800), with a message to
--- both; the bot then goes on from where it was. A hand-off asked for while
--- the person is with another customer waits in their queue (the customer
--- is told), and opens when the one before it ends.
--
--   handoff.open(tenant, settings, conv, opts) -> {id, state} | nil, err
--       (under the conversation's lock) opts = {reason, to, customer, summary}
--   handoff.of(tenant, conv) -> record | nil        the conversation's open or queued one
--   handoff.customer_message(tenant, settings, conv, text, mid) -> replies
--   handoff.staff_message(tenant, settings, person, text, mid) -> replies | nil (not for the hand-off)
--   handoff.close(tenant, settings, id, why)     why: "ended" | "timeout"
--   handoff.list(tenant) -> records (open and queued), oldest first
--   handoff.timeout_fire(payload, info)          timer kind "handoff_timeout"
--   handoff.mark / active / clear: a conversation taken over without a
--       relay (a Vapi call transferred after its deadline): the bot changes
--       no booking for it (booking.customer asks active())
--
-- Outside a person's WhatsApp 24-hour window, what they get goes as the
-- template handoff.template names (its one variable: the text), if any.
-- Texts: the tenant's messages.lua may define handoff_queued,
-- handoff_ended, handoff_timeout (to the customer) and handoff_staff_open,
-- handoff_staff_relay, handoff_staff_ended, handoff_staff_timeout,
-- handoff_staff_none (to the person); DEFAULTS below stand in for those it
-- does not. Keys: fh:ho:{<tenant>}:... (docs/redis-keys.md).
local redis = require "redis"
local rscript = require "rscript"
local crypto = require "crypto"
local json = require "json"
local time = require "time"
local template = require "text.template"

local M = {}

local TIMEOUT = 1800
local KEEP = 7 * 24 * 3600

local function base(tenant) return (tostring(tenant):match("^([^.]+)")) end
local function k(tenant, ...) return ("fh:ho:{%s}:"):format(base(tenant)) .. table.concat({ ... }, ":") end

-- ---- a conversation taken over without a relay --------------------------

local function mark_key(tenant, conversation)
  return ("fh:handoff:{%s}:%s"):format(base(tenant), tostring(conversation))
end
M.key = mark_key

function M.mark(tenant, conversation, seconds, reason)
  local ok, err = redis.call("SET", mark_key(tenant, conversation), tostring(reason or "handed over"),
                             "EX", math.max(1, math.floor(tonumber(seconds) or 3600)))
  if ok ~= "OK" then return nil, err or "storage" end
  return true
end

-- the command M.active sends, and what its reply means (flow.turn sends
-- it with the conversation's load: store.load's also)
function M.active_command(tenant, conversation)
  return { "MGET", mark_key(tenant, conversation), k(tenant, "conv", tostring(conversation)) }
end

function M.active_of(r)
  if type(r) ~= "table" or r.err then return nil end
  if type(r[1]) == "string" then return r[1] end
  if type(r[2]) == "string" then return "with a person" end
  return nil
end

function M.active(tenant, conversation)
  return M.active_of(redis.call(unpack(M.active_command(tenant, conversation))))
end

function M.clear(tenant, conversation) redis.call("DEL", mark_key(tenant, conversation)) end

-- ---- texts ----------------------------------------------------------------

local DEFAULTS = {
  handoff_queued = "Our team is with another customer right now. You're next: please wait here.",
  handoff_ended = "You're back with our assistant. How can I help?",
  handoff_timeout = "Our team has stepped away. You're back with our assistant: how can I help?",
  handoff_staff_open = "Hand-off #{id}: {customer} asks for a person ({reason}). So far: {summary}. "
    .. "Write here to answer them; /end {id} hands them back to the assistant.",
  handoff_staff_relay = "#{id} {customer}: {text}",
  handoff_staff_ended = "Hand-off #{id} ended. {next}",
  handoff_staff_timeout = "Hand-off #{id} ended after {minutes} minutes without a message. {next}",
  handoff_staff_none = "You have no open hand-off. Commands: /end <id>, #<id> <message>.",
}

-- the tenant's text for key in lang, else the default
local function text(t, key, lang, vars)
  local s
  if t and t.catalog and t.catalog:has(key) then
    s = t.catalog:render(key, lang or t.languages[1], vars)
  else
    s = template.fill(DEFAULTS[key] or key, vars, function() return "" end)
  end
  return t and t.tone and t.tone(s) or s
end
M.DEFAULTS = DEFAULTS

-- ---- records --------------------------------------------------------------

-- opens a hand-off, or queues it when the person is with someone else; the
-- conversation's hand-off when it has one already
local OPEN = rscript.new([[
local existing = redis.call('GET', KEYS[1])
if existing then return { existing, redis.call('HGET', KEYS[5] .. existing, 'state') or 'open' } end
local state = 'open'
if redis.call('EXISTS', KEYS[2]) == 1 then
  state = 'queued'
  redis.call('RPUSH', KEYS[3], ARGV[1])
else
  redis.call('SET', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[5] .. ARGV[1], 'id', ARGV[1], 'conv', ARGV[2], 'person', ARGV[3], 'state', state,
           'opened', ARGV[4], 'last', ARGV[4], 'reason', ARGV[5], 'tenant', ARGV[6], 'customer', ARGV[7])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[8], ARGV[1])
return { ARGV[1], state }]])

-- closes one; -> {1, the next queued id now open with the person, or ''}
local CLOSE = rscript.new([[
local h = KEYS[5] .. ARGV[1]
local conv, person, state = unpack(redis.call('HMGET', h, 'conv', 'person', 'state'))
if not conv then return { 0 } end
redis.call('DEL', KEYS[1] .. conv)
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HSET', h, 'state', 'closed', 'closed', ARGV[2])
redis.call('EXPIRE', h, ARGV[3])
if state == 'queued' then
  redis.call('LREM', KEYS[3] .. person, 0, ARGV[1])
  return { 1, '' }
end
if redis.call('GET', KEYS[2] .. person) ~= ARGV[1] then return { 1, '' } end
while true do
  local nxt = redis.call('LPOP', KEYS[3] .. person)
  if not nxt then redis.call('DEL', KEYS[2] .. person) return { 1, '' } end
  if redis.call('HGET', KEYS[5] .. nxt, 'state') == 'queued' then
    redis.call('SET', KEYS[2] .. person, nxt)
    redis.call('HSET', KEYS[5] .. nxt, 'state', 'open', 'last', ARGV[2])
    return { 1, nxt }
  end
end]])

local function record(tenant, id)
  local r = redis.call("HGETALL", k(tenant, "h", id))
  if type(r) ~= "table" or #r == 0 then return nil end
  local out = {}
  for i = 1, #r - 1, 2 do out[r[i]] = r[i + 1] end
  out.opened, out.last = tonumber(out.opened), tonumber(out.last)
  return out
end

function M.of(tenant, conv)
  local id = redis.call("GET", k(tenant, "conv", conv))
  return type(id) == "string" and record(tenant, id) or nil
end

function M.list(tenant)
  local ids = redis.call("ZRANGE", k(tenant, "open"), 0, -1)
  local out = {}
  for _, id in ipairs(type(ids) == "table" and ids or {}) do
    local r = record(tenant, id)
    if r then out[#out + 1] = r end
  end
  return out
end

local function metric(tenant, event)
  require("signals").count("flowhost_handoffs_total", tenant, { "event", event })
end

-- the tenant object for texts (in a tenant state: its own; in the main
-- state: loaded from its config)
local function tenant_of(tenant)
  local ok, t = pcall(function() return require("flow.tenant").get(tenant) end)
  return ok and t or nil
end

local function settings_of(tenant, settings)
  if settings then return settings end
  local st = require("flow.tenants").status(base(tenant))
  return st and st.settings or {}
end

-- a message to a person of the staff, once per id; outside their WhatsApp
-- window it goes as the tenant's handoff.template (a Content/template id
-- whose one variable is the text), when it names one
local function to_person(tenant, settings, person, key, vars, id)
  local t = tenant_of(tenant)
  local lang = settings.staff and settings.staff[person] and settings.staff[person].lang
  local msg = { text = text(t, key, lang, vars) }
  local tpl = settings.handoff and settings.handoff.template
  if type(tpl) == "string" and tpl ~= "" then
    local people = require("flow.staff").parse(settings.staff, settings.channels) or {}
    local p = people[person]
    if p and p.channel and not require("channels.outbound").window_open(base(tenant), p.channel, p.to) then
      msg = { template = { sid = tpl, name = tpl, params = { msg.text } } }
    end
  end
  return require("flow.staff").notify(base(tenant), settings, person, msg, id)
end

-- a message to the customer: into their conversation's history (under its
-- lock) and, on a channel, out through the outbox, once per id; `ended`:
-- the hand-off is over, the bot answers the conversation again
local function to_customer(tenant, settings, conv, msg, id, ended)
  local store = require "flow.store"
  local turn = require "flow.turn"
  local lock = require "lock"
  local t = tenant_of(tenant)
  lock.with(turn.lock_key(tenant, conv), turn.LEASE, function(h)
    local c = store.load(tenant, conv)
    if c then
      if ended and type(c.handoff) == "table" then c.handoff.resumed = time.now() end
      store.remember(c, ended and "bot" or "staff", msg)
      store.save(tenant, conv, c, t and t.ttl or 24 * 3600, h.fence)
    end
  end, { wait = 10 })
  local who = require("flow.identity").of(conv)
  if who.channel == "chat" then return true end
  return require("channels.outbound").later(time.now(), base(tenant), who.channel,
    who.verified:sub(#who.channel + 2), { text = msg }, id)
end

local function schedule_timeout(tenant, settings, id, at)
  local timeout = tonumber(settings.handoff and settings.handoff.timeout) or TIMEOUT
  require("timer").at(at + timeout, "handoff_timeout", { tenant = tenant, id = id },
                      { id = ("hot:%s:%s:%d"):format(base(tenant), id, math.floor(at)) })
end

-- the summary of a conversation for the person: who and what so far
local function summary_of(opts)
  local parts = {}
  for key, v in pairs(opts.slots or {}) do
    if type(v) ~= "table" then parts[#parts + 1] = key .. ": " .. tostring(v) end
  end
  table.sort(parts)
  return #parts > 0 and table.concat(parts, ", ") or "-"
end

-- tells the person about a hand-off that is now theirs
local function announce(tenant, settings, r)
  to_person(tenant, settings, r.person, "handoff_staff_open",
    { id = r.id, customer = r.customer, reason = r.reason, summary = r.summary or "-" }, "ho:open:" .. r.id)
  schedule_timeout(tenant, settings, r.id, time.now())
end

function M.open(tenant, settings, conv, opts)
  local person = opts.to or (settings.handoff and settings.handoff.to)
  if type(person) ~= "string" or not (settings.staff and settings.staff[person]) then return nil, "no person" end
  local id = crypto.random_hex(3)
  local now = math.floor(time.now())
  local summary = summary_of(opts)
  local r = OPEN:run({ k(tenant, "conv", conv), k(tenant, "person", person), k(tenant, "queue", person),
                       k(tenant, "open"), k(tenant, "h", "") },
                     { id, conv, person, now, tostring(opts.reason or "asked"), tenant, tostring(opts.customer or conv),
                       math.floor(time.now() * 1000) })
  if type(r) ~= "table" then return nil, "storage" end
  if r[1] == id then
    redis.call("HSET", k(tenant, "h", id), "summary", summary)
    redis.call("EXPIRE", k(tenant, "h", id), KEEP)
    metric(tenant, "opened")
    if r[2] == "open" then
      announce(tenant, settings, { id = id, person = person, customer = opts.customer or conv,
                                   reason = opts.reason or "asked", summary = summary })
    end
  end
  return { id = r[1], state = r[2] }
end

function M.customer_message(tenant, settings, conv, msg_text, mid)
  local r = M.of(tenant, conv)
  if not r then return nil end
  local t = tenant_of(tenant)
  if r.state == "queued" then return { { text = text(t, "handoff_queued") } } end
  redis.call("HSET", k(tenant, "h", r.id), "last", math.floor(time.now()))
  to_person(tenant, settings, r.person, "handoff_staff_relay", { id = r.id, customer = r.customer, text = msg_text },
            "ho:c:" .. r.id .. ":" .. tostring(mid))
  return {}
end

-- the person's hand-off a staff message is about: "#<id> ...", else their open one
local function target(tenant, person, msg_text)
  local id, rest = msg_text:match("^#(%x+)%s+(.+)$")
  if id then return record(tenant, id), rest end
  local open = redis.call("GET", k(tenant, "person", person))
  return type(open) == "string" and record(tenant, open) or nil, msg_text
end

local function is_end(settings, msg_text)
  local id = msg_text:match("^/end%s+#?(%x+)%s*$")
  if id or msg_text:match("^/end%s*$") then return true, id end
  local words = settings.handoff and settings.handoff.end_words or {}
  local said = msg_text:lower():gsub("^%s+", ""):gsub("[%s%.!]+$", "")
  for _, w in ipairs(words) do if said == tostring(w):lower() then return true end end
  return false
end

function M.staff_message(tenant, settings, person, msg_text, mid)
  msg_text = tostring(msg_text or "")
  local ending, id = is_end(settings, msg_text)
  if ending then
    local r = id and record(tenant, id)
    if not r then
      local open = redis.call("GET", k(tenant, "person", person))
      r = type(open) == "string" and record(tenant, open) or nil
    end
    if not r or r.person ~= person or r.state == "closed" then
      return { { text = text(tenant_of(tenant), "handoff_staff_none") } }
    end
    M.close(tenant, settings, r.id, "ended")
    return {}
  end
  local r, said = target(tenant, person, msg_text)
  if not r or r.person ~= person or r.state ~= "open" then return nil end
  if redis.call("HSETNX", k(tenant, "h", r.id), "answered", "1") == 1 then metric(tenant, "answered") end
  redis.call("HSET", k(tenant, "h", r.id), "last", math.floor(time.now()))
  to_customer(r.tenant or tenant, settings, r.conv, said, "ho:s:" .. r.id .. ":" .. tostring(mid))
  return {}
end

function M.close(tenant, settings, id, why)
  settings = settings_of(tenant, settings)
  local r = record(tenant, id)
  if not r or r.state == "closed" then return false end
  local res = CLOSE:run({ k(tenant, "conv", ""), k(tenant, "person", ""), k(tenant, "queue", ""),
                          k(tenant, "open"), k(tenant, "h", "") }, { id, math.floor(time.now()), KEEP })
  if type(res) ~= "table" or res[1] ~= 1 then return false end
  metric(tenant, why == "timeout" and "timed_out" or "closed")
  local t = tenant_of(tenant)
  local nxt = type(res[2]) == "string" and res[2] ~= "" and record(tenant, res[2]) or nil
  local lang = settings.staff and settings.staff[r.person] and settings.staff[r.person].lang
  local next_text = nxt and text(t, "handoff_staff_open", lang, { id = nxt.id, customer = nxt.customer,
    reason = nxt.reason, summary = nxt.summary or "-" }) or ""
  if r.state == "open" then
    to_person(tenant, settings, r.person, why == "timeout" and "handoff_staff_timeout" or "handoff_staff_ended",
      { id = id, minutes = math.floor((tonumber(settings.handoff and settings.handoff.timeout) or TIMEOUT) / 60),
        next = next_text }, "ho:end:" .. id)
  end
  to_customer(r.tenant or tenant, settings, r.conv, text(t, why == "timeout" and "handoff_timeout" or "handoff_ended"),
              "ho:end:c:" .. id, true)
  if nxt then schedule_timeout(tenant, settings, nxt.id, time.now()) end
  return true
end

--- A message the bot must not answer itself (flow.turn asks first): from a
--- person of the staff (a hand-off command or a relay to a customer), or
--- from a customer whose conversation is with a person (relayed to them).
--- known.active: what M.active says, read already (flow.turn reads it with
--- the conversation); else it is asked here
--- -> replies (a list, maybe empty) | nil (the flow answers it)
function M.route(t, tenant, conv, msg, mid, known)
  local person = require("flow.staff").of(t.settings, conv)
  if person then
    return M.staff_message(tenant, t.settings, person.id, msg.text, mid), person
  end
  local active
  if known then active = known.active else active = M.active(tenant, conv) end
  if active then
    local replies = M.customer_message(tenant, t.settings, conv, msg.text or "[" .. tostring(msg.kind or "message") .. "]", mid)
    if replies then return replies end
  end
end
M.text = text

--- The handler of "handoff_timeout" timers (main state): ends a hand-off
--- that has been silent for the timeout, else looks again then.
function M.timeout_fire(p)
  if type(p) ~= "table" or type(p.tenant) ~= "string" or type(p.id) ~= "string" then return end
  local r = record(p.tenant, p.id)
  if not r or r.state ~= "open" then return end
  local settings = settings_of(p.tenant)
  local timeout = tonumber(settings.handoff and settings.handoff.timeout) or TIMEOUT
  if time.now() - (r.last or 0) < timeout then return schedule_timeout(p.tenant, settings, p.id, r.last) end
  M.close(p.tenant, settings, p.id, "timeout")
end

return M

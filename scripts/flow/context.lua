--- flow.context: what a flow's handlers get as `c` during a turn.
--
--   c.tenant   the tenant's settings (config/tenants/<id>.lua)
--   c.slots    the slots filled so far (name -> value)
--   c.data     the flow's own notes, kept with the conversation
--   c.msg      the message of this turn: {text, button}
--   c.state    the current state's name;  c.lang  the conversation language
--   c.booking  the tenant's bookings as this customer may see them (or nil):
--              booking engine:for_customer(identity.of(conversation id))
--   c:say(key, vars?, opts?)   queue a reply; opts.buttons = {{id, title}}
--                              (title: a message key or plain text)
--   c:ask(slot)                ask for a slot (its prompt, with its options as buttons)
--   c:go(state)                move to a state (it must be declared)
--   c:set(slot, value) / c:clear(slot, ...) / c:show(slot) -> the value as text
--   c:missing(list?) -> the first unfilled slot of list (default: the state's fill)
--   c:now()                    the time (seconds, UTC)
--   c:llm()                    the tenant's LLM client, or nil
--   c.connectors               the back offices the tenant declared (or nil):
--                              c.connectors.odoo:search_read(...), ... (docs/connectors.md)
--   c:handoff(reason | {reason, to}) the customer wants a person: recorded, and with
--                              a person of the staff to take them, a hand-off opens
--                              (flow.handoff: the person is told, messages relayed)
--   c:remind(at, message, id?) a message to this customer at time `at` (durable:
--                              survives restarts); message = {text} or {template = ...}
--   c:after(seconds, handler, data?) / c:at(unix_time, handler, data?) -> timer id:
--                              the flow's timers[handler](c, data) runs then, as a
--                              turn of this conversation (durable, once; flow.timers)
--   c:cancel_timer(id)         true, or nil, "not found"; a cancelled timer never runs
--   c:notify(person, key, vars?, opts?) a message to a person of the tenant's staff
--                              (the owner...) on their channel, once (flow.staff);
--                              opts.template goes instead outside their 24 h window
--   c.staff                    in a staff turn (the flow's staff = function(c, person)): who is writing
--   c:bookings(date, resource?) / c:move_booking(id, start) / c:send_to(booking, key, vars?)
--                              in staff and schedule turns only: the tenant's
--                              bookings of a day (of one stylist), moving any
--                              booking, a message to a booking's customer
--   c:history(n?)              the conversation's last n lines {who, text}
--   c:text_caller(key, vars?)  in a voice tool turn: an SMS to the number the call came
--                              from, through the tenant's Twilio channel, once
--   c:window_open()            false when the conversation's channel only takes
--                              templates now (WhatsApp, 24 h after the customer's
--                              last message); true otherwise
--
-- Every object here is a read-only view (flow.readonly): c.t, c.tenant,
-- c.conv, c.msg, c.booking, c:llm() and what is reached through them can be
-- read and their methods called, but a flow cannot change them (writing
-- raises "c.t is read-only: ..."). c.slots and c.data are the
-- conversation's own tables: a flow writes them freely (what JSON cannot
-- hold is left out when the conversation is saved). c.state, c.lang and
-- the engine's turn notes (next_state, moves, deadline, quiet,
-- side_intent, llm_error) take values of their kind only. The tenant and
-- the conversation a context serves are the ones the host routed
-- (opts.tenant, opts.conversation from flow.turn), kept out of reach.
--
--   context.new(t, conv, msg, opts?) -> c
--       opts.now = fn() -> seconds; opts.tenant, opts.conversation: the
--       routed tenant id and conversation id (default t.id and conv.id)
local time = require "time"
local types = require "flow.slot_types"
local readonly = require "flow.readonly"
local identity = require "flow.identity"
local business = require "flow.business"

local Context = {}

local M = {}

local R = setmetatable({}, { __mode = "k" })        -- c -> the turn's real state

-- the turn's state behind c; fn names the method for a misuse
local function real(c, fn)
  local r = R[c]
  if not r then error(("c:%s(...) must be called on the c a handler gets, as c:%s(...)"):format(fn, fn), 3) end
  return r
end

-- ---- views of the tenant, made per turn ------------------------------------
-- (a flow that writes into a list view's mirrored index changes only its
-- own view, and only for this turn)

local function views_of(r)
  local v = r.views
  if v then return v end
  local t = r.t
  local settings = readonly.view(t.settings, "c.tenant", { hint = "settings come from the tenant's config file" })
  local shown = { id = t.id, name = t.name, timezone = t.timezone, version = t.version, ttl = t.ttl, rep = t.rep,
                  languages = t.languages, settings = settings, flow = t.flow,
                  catalog = readonly.view(t.catalog, "c.t.catalog", { kind = "object" }) }
  v = { settings = settings,
        t = readonly.view(shown, "c.t", { raw = { flow = true },
          hint = "the tenant a conversation belongs to is fixed by the host" }) }
  r.views = v
  return v
end

-- ---- what c shows and what the engine may set on it -------------------------

local FIELDS = {
  t = function(r) return views_of(r).t end,
  tenant = function(r) return views_of(r).settings end,
  conv = function(r) return r.conv_view end,
  msg = function(r) return r.msg_view end,
  slots = function(r) return r.conv.slots end,
  data = function(r) return r.conv.data end,
  replies = function(r) return r.replies end,
  connectors = function(r)
    if r.connectors == nil then
      r.connectors = r.t.connectors and require("connectors.view").new(r.t.connectors, r.tenant_id) or false
    end
    return r.connectors or nil
  end,
  booking = function(r)
    if r.booking == nil then
      local b = r.t.booking
      if not b then r.booking = false
      else
        local scoped = b
        if type(b.for_customer) == "function" then scoped = b:for_customer(identity.of(r.conv_id)) end
        r.booking = readonly.view(scoped, "c.booking", { kind = "object",
          hint = "use its methods: c.booking:slots{...}, c.booking:reserve{...}, ..." })
      end
    end
    return r.booking or nil
  end,
  -- in a staff turn (flow.staff): who is writing, {id, name}; else nil
  staff = function(r)
    return r.staff and readonly.view({ id = r.staff.id, name = r.staff.name }, "c.staff") or nil
  end,
}
for _, k in ipairs{ "state", "lang", "next_state", "moves", "deadline", "quiet", "side_intent", "llm_error" } do
  FIELDS[k] = function(r) return r[k] end
end

local function a_state(r, v) return v == nil or (type(v) == "string" and r.t.flow.states[v] ~= nil) end
local function kind(...)
  local ok = {}
  for _, k in ipairs{ ... } do ok[k] = true end
  return function(_, v) return ok[type(v)] == true end
end
local SETTABLE = {
  state = function(r, v) return v ~= nil and a_state(r, v) end,
  next_state = a_state,
  lang = function(_, v) return type(v) == "string" and #v <= 16 end,
  moves = kind("number"), deadline = kind("number"),
  quiet = kind("nil", "boolean"), side_intent = kind("nil", "boolean"),
  llm_error = kind("nil", "string", "number", "boolean"),
}
local WHY = {
  state = "use c:go(\"state\")", next_state = "use c:go(\"state\")", lang = "a language code",
  t = "the tenant a conversation belongs to is fixed by the host",
  tenant = "settings come from the tenant's config file",
  booking = "use its methods: c.booking:slots{...}, c.booking:reserve{...}, ...",
  connectors = "connectors are declared in the tenant's config (connectors = { ... })",
  conv = "keep the flow's own notes in c.data", msg = "it is the customer's message",
  slots = "change slots with c:set(name, value) or c.slots[name] = value",
  data = "write into c.data: c.data.name = value",
  staff = "the person writing is known from their channel address",
}

local function get(r, k)
  local m = Context[k]
  if m ~= nil then return m end
  local f = FIELDS[k]
  if f then return f(r) end
  return nil
end

local function set(r, k, v)
  local ok = SETTABLE[k]
  if ok then
    if not ok(r, v) then
      error(("c.%s cannot be %s%s"):format(k, type(v) == "string" and ("'" .. v .. "'") or type(v),
        WHY[k] and (" (" .. WHY[k] .. ")") or ""), 3)
    end
    r[k] = v
    return true
  end
  error(("c is read-only: flows cannot change c.%s (%s)"):format(tostring(k),
    WHY[k] or "keep the flow's own notes in c.data, saved with the conversation"), 3)
end

-- c.conv: the engine moves the conversation's state and question on it
-- (weak values too: the state holds conv, and LuaJIT's weak keys are no
-- ephemerons, so a weak-keyed entry whose value reaches its key lives for
-- ever; the turn's state is held by R while the turn runs)
local turn_of = setmetatable({}, { __mode = "kv" })  -- conv -> the turn's state
local CONV_SET = {
  state = function(r, v) return v ~= nil and a_state(r, v) end,
  asked = function(r, v) return v == nil or (type(v) == "string" and r.t.flow.slots ~= nil and r.t.flow.slots[v] ~= nil) end,
  turns = function(_, v) return type(v) == "number" end,
  updated = function(_, v) return type(v) == "number" end,
}
local function conv_set(conv, k, v)
  local ok = CONV_SET[k]
  if not ok then return false end
  if not ok(turn_of[conv], v) then
    error(("c.conv.%s cannot be %s"):format(k, type(v) == "string" and ("'" .. v .. "'") or type(v)), 3)
  end
  conv[k] = v
  return true
end

function M.new(t, conv, msg, opts)
  local tenant_id = identity.check_tenant(opts and opts.tenant or t.id, "context.new")
  local conv_id = opts and opts.conversation or conv.id
  local r = {
    t = t, conv = conv, msg = msg, replies = {}, tenant_id = tenant_id, conv_id = conv_id,
    state = conv.state, lang = conv.lang or t.languages[1], moves = 0,
    now_fn = opts and opts.now or time.now, staff = opts and opts.staff,
  }
  r.conv_view = readonly.view(conv, "c.conv", { custom = true, raw = { slots = true, data = true },
    set = conv_set, hint = "keep the flow's own notes in c.data" })
  turn_of[conv] = r
  r.msg_view = readonly.view(msg, "c.msg", { hint = "it is the customer's message" })
  local c = readonly.view(r, "c", { get = get, set = set })
  R[c] = r
  return c
end

--- The replies a turn queued (for the runtime that sends them).
function M.replies(c) return real(c, "replies").replies end

--- The end of a turn: what must come after every reply of it (the
--- "you're next in line" of a queued hand-off) is added last.
function M.close(c)
  local r = real(c, "close")
  if r.closing then
    r.replies[#r.replies + 1] = r.closing
    r.closing = nil
  end
end

function Context:now() return real(self, "now").now_fn() end

function Context:llm()
  local r = real(self, "llm")
  return r.t.llm and readonly.view(r.t.llm, "c:llm()", { kind = "object" }) or nil
end

function Context:text(key, vars)
  local r = real(self, "text")
  return r.t.catalog:render(key, r.lang, vars or self:vars())
end

-- variables every message can use: the business's facts ({prices},
-- {support_phone}, ... in the conversation's language: flow.business),
-- the tenant name, the slots as shown
function Context:vars(extra)
  local r = real(self, "vars")
  local v = {}
  for k, x in pairs(business.variables(r.t.settings, r.lang)) do v[k] = x end
  v.tenant = r.t.name
  for name, value in pairs(r.conv.slots) do
    local decl = r.t.flow.slots and r.t.flow.slots[name]
    v[name] = decl and self:show(name) or value
  end
  for k, x in readonly.pairs(extra or {}) do v[k] = x end
  return v
end

function Context:say(key, vars, opts)
  local r = real(self, "say")
  local catalog = r.t.catalog
  if type(key) ~= "string" then error("c:say(key, vars?, opts?): key must be a message key", 2) end
  if not catalog:has(key) then
    error(("c:say: there is no message '%s' (add it to messages.lua)"):format(key), 2)
  end
  local reply = { text = r.t.tone(catalog:render(key, r.lang, self:vars(vars))) }
  local buttons = opts and opts.buttons
  if buttons and #buttons > 0 then
    reply.buttons = {}
    for i, b in readonly.ipairs(buttons) do
      local title = b.title
      if catalog:has(title) then title = catalog:render(title, r.lang, self:vars(vars)) end
      reply.buttons[i] = { id = b.id, title = title }
    end
  end
  r.replies[#r.replies + 1] = reply
  return reply
end

function Context:show(name)
  local r = real(self, "show")
  local v = r.conv.slots[name]
  if v == nil then return nil end
  local decl = r.t.flow.slots[name]
  local show = decl.show or types[decl.type].show
  return show(v, decl, self)
end

function Context:ask(name)
  local r = real(self, "ask")
  local decl = r.t.flow.slots and r.t.flow.slots[name]
  if not decl then error(("c:ask: there is no slot '%s'"):format(tostring(name)), 2) end
  r.conv.asked = name
  local buttons
  if (decl.type == "choice" or decl.type == "choices") and decl.buttons ~= false then
    buttons = {}
    for i, o in ipairs(types.options(decl, self)) do buttons[i] = { id = o.id, title = o.title } end
    if decl.type == "choices" then buttons[#buttons + 1] = { id = "none", title = "none" } end
  elseif decl.type == "yes_no" then
    buttons = { { id = "yes", title = "yes" }, { id = "no", title = "no" } }
  end
  local reply = self:say(decl.prompt, nil, { buttons = buttons })
  reply.asked = name
  return reply
end

function Context:go(name)
  local r = real(self, "go")
  if not r.t.flow.states[name] then
    error(("c:go: there is no state '%s'"):format(tostring(name)), 2)
  end
  r.next_state = name
end

function Context:set(name, value)
  local r = real(self, "set")
  if not (r.t.flow.slots and r.t.flow.slots[name]) then
    error(("c:set: there is no slot '%s'"):format(tostring(name)), 2)
  end
  r.conv.slots[name] = value
end

function Context:clear(...)
  local r = real(self, "clear")
  for _, name in ipairs{ ... } do r.conv.slots[name] = nil end
end

function Context:missing(list)
  local r = real(self, "missing")
  local flow = r.t.flow
  list = list or (flow.states[r.state] or {}).fill or {}
  for _, name in readonly.ipairs(list) do
    local decl = flow.slots[name]
    if r.conv.slots[name] == nil and not decl.optional then return name end
  end
end

-- the channel and address of a channel conversation (nil for a chat)
local function channel_of(r)
  local who = identity.of(r.conv_id)
  if who.channel == "chat" then return nil end
  return who.channel, who.verified:sub(#who.channel + 2)
end

function Context:remind(at, message, id)
  local r = real(self, "remind")
  local channel, to = channel_of(r)
  if not channel then return nil, "this conversation has no channel to send on" end
  if id ~= nil and type(id) ~= "string" and type(id) ~= "number" then
    error("c:remind(at, message, id?): id must be a string", 2)
  end
  local tenant_id = identity.check_tenant(r.tenant_id, "c:remind")
  local plain = readonly.plain(message, { name = "c:remind's message" })
  return require("channels.outbound").later(at, tenant_id, channel, to, plain,
    id and (tenant_id .. ":" .. r.conv_id .. ":" .. id) or nil)
end

-- c:at(unix_time, "handler", data) / c:after(seconds, ...): the flow's
-- timers[handler](c, data) runs then as a turn of this conversation (see
-- flow.timers); -> timer id. c:cancel_timer(id) -> true | nil, "not found"
function Context:at(when, handler, data)
  local r = real(self, "at")
  if type(when) ~= "number" then error("c:at(time, handler, data?): time must be Unix seconds", 2) end
  local h = r.t.flow.timers and r.t.flow.timers[handler]
  if type(handler) ~= "string" or type(h) ~= "function" then
    error(("c:at/c:after: the flow has no timer handler '%s' (add it to timers = { ... } in flow.lua)")
      :format(tostring(handler)), 2)
  end
  local tenant_id = identity.check_tenant(r.tenant_id, "c:at")
  local plain = readonly.plain(data, { name = "a timer's data" })
  return require("flow.timers").schedule(tenant_id, r.conv_id, when, handler, plain)
end

function Context:after(seconds, handler, data)
  if type(seconds) ~= "number" or seconds < 0 then error("c:after(seconds, handler, data?): seconds must be a number >= 0", 2) end
  return self:at(time.now() + seconds, handler, data)
end

function Context:cancel_timer(id)
  local r = real(self, "cancel_timer")
  return require("flow.timers").cancel(identity.check_tenant(r.tenant_id, "c:cancel_timer"), r.conv_id, id)
end

-- the message, or the template when the person's WhatsApp window is closed
-- (a template = {sid | name, params} the flow gave for that case)
local function or_template(tenant, channel, to, msg, template)
  if type(template) ~= "table" or require("channels.outbound").window_open(tenant, channel, to) then return msg end
  return { template = readonly.plain(template, { name = "a template" }) }
end

-- c:notify(person, key, vars?, opts?): message key rendered (in the person's
-- `lang`, else the tenant's first language) and sent to a person of the
-- tenant's staff = { ... } on their channel, through the outbox: once,
-- even if this turn runs again after a crash. opts.template = {sid, params}
-- goes instead when their 24-hour window is closed. -> id | nil, err
function Context:notify(person, key, vars, opts)
  local r = real(self, "notify")
  local people = r.t.settings.staff
  if type(person) ~= "string" or type(people) ~= "table" or people[person] == nil then
    error(("c:notify: the tenant has no staff member '%s' (add them to staff = { ... } in its config)")
      :format(tostring(person)), 2)
  end
  if type(key) ~= "string" or not r.t.catalog:has(key) then
    error(("c:notify: there is no message '%s' (add it to messages.lua)"):format(tostring(key)), 2)
  end
  local lang = people[person].lang or r.t.languages[1]
  local text = r.t.tone(r.t.catalog:render(key, lang, self:vars(vars)))
  r.notified = (r.notified or 0) + 1
  local tenant_id = identity.check_tenant(r.tenant_id, "c:notify")
  local base = tenant_id:match("^([^.]+)")
  local id = ("notify:%s:%s:%d:%d"):format(base, r.conv_id, r.conv.turns or 0, r.notified)
  local staff = require "flow.staff"
  local msg = { text = text }
  if opts and opts.template then
    local p = (staff.parse(r.t.settings.staff, r.t.settings.channels) or {})[person]
    if p and p.channel then msg = or_template(base, p.channel, p.to, msg, opts.template) end
  end
  return staff.notify(base, r.t.settings, person, msg, id)
end

-- the back office: a staff turn (the flow's staff handler), or a schedule's
-- turn (conversation "schedule:<name>", flow.schedules); customers never
local function back_office(r, fn)
  if r.staff or (r.msg.timer and r.conv_id:match("^schedule:")) then return r end
  error(("c:%s is for staff turns (staff = function(c, person) ... end) and schedules"):format(fn), 3)
end

local function a_date(date, fn)
  if type(date) ~= "string" or not date:match("^%d%d%d%d%-%d%d%-%d%d$") then
    error(("c:%s: date must be \"YYYY-MM-DD\""):format(fn), 3)
  end
end

-- c:bookings(date, resource?) -> the tenant's bookings of a local date
-- ("YYYY-MM-DD"), of one resource (a stylist, a bay) when given; in staff
-- and schedule turns only (a customer sees only their own, through c.booking)
function Context:bookings(date, resource)
  local r = back_office(real(self, "bookings"), "bookings(date, resource?)")
  a_date(date, "bookings(date, resource?)")
  if resource ~= nil and type(resource) ~= "string" then error("c:bookings(date, resource?): resource must be an id", 2) end
  if not r.t.booking then return {} end
  local list = resource and r.t.booking:by_resource_day(resource, date) or r.t.booking:by_day(date)
  return (readonly.plain(list or {}, { name = "bookings" }))
end

-- c:move_booking(id, start, resource?) -> booking | nil, err: a staff member
-- moves any booking of the tenant (the engine's reschedule: the old time is
-- freed only once the new one is had; "slot taken", "not available", "not found")
function Context:move_booking(id, start, resource)
  local r = back_office(real(self, "move_booking"), "move_booking(id, start)")
  if type(id) ~= "string" or type(start) ~= "number" then error("c:move_booking(id, start, resource?): id text, start Unix seconds", 2) end
  if not r.t.booking then return nil, "no bookings" end
  local b, err = r.t.booking:reschedule(id, start, resource)
  if not b then return nil, err end
  return (readonly.plain(b, { name = "booking" }))
end

-- c:send_to(booking_or_conversation, key, vars?, template?) -> id | nil, err:
-- a staff member's message to a customer (a booking's conversation, or a
-- conversation id of a channel), rendered in the tenant's first language,
-- through the outbox (once per call, like c:notify). Outside WhatsApp's
-- 24-hour window template = {sid, params} goes instead (without one the
-- outbox logs "template required").
function Context:send_to(target, key, vars, template)
  local r = back_office(real(self, "send_to"), "send_to(booking, key, vars?)")
  local conv = type(target) == "table" and target.conversation or target
  if type(conv) ~= "string" then error("c:send_to(booking_or_conversation, key, vars?): needs a booking or a conversation id", 2) end
  if type(key) ~= "string" or not r.t.catalog:has(key) then
    error(("c:send_to: there is no message '%s' (add it to messages.lua)"):format(tostring(key)), 2)
  end
  local who = identity.of(conv)
  if who.channel == "chat" then return nil, "the customer has no channel to send on" end
  local text = r.t.tone(r.t.catalog:render(key, r.t.languages[1], self:vars(vars)))
  r.sent = (r.sent or 0) + 1
  local tenant_id = identity.check_tenant(r.tenant_id, "c:send_to")
  local base = tenant_id:match("^([^.]+)")
  local to = who.verified:sub(#who.channel + 2)
  return require("channels.outbound").later(time.now(), base, who.channel, to,
    or_template(base, who.channel, to, { text = text }, template), ("send:%s:%s:%d:%d"):format(base, r.conv_id, r.conv.turns or 0, r.sent))
end

-- c:history(n?) -> the conversation's last n lines (default 10), oldest
-- first: {who = "customer" | "bot" | ..., text}; a staff handler reads what
-- was said before ("a las 5" after "mueve la cita de Ana")
function Context:history(n)
  local r = real(self, "history")
  local h = r.conv.history or {}
  n = math.min(tonumber(n) or 10, #h)
  local out = {}
  for i = #h - n + 1, #h do out[#out + 1] = { who = h[i].who, text = h[i].text } end
  return out
end

-- c:text_caller(key, vars?) -> id | nil, err: in a voice assistant's tool
-- turn, the message as a text (SMS, through the tenant's Twilio channel) to
-- the number the call came from (the host read it from the call, e.g.
-- Vapi's customer.number; the flow cannot choose it); once per call, turn
-- and message (through the outbox). err: "no caller number" | "no sms channel"
function Context:text_caller(key, vars)
  local r = real(self, "text_caller")
  local tool = type(r.msg) == "table" and type(r.msg.tool) == "table" and r.msg.tool or nil
  local digits = tool and type(tool.phone) == "string" and tool.phone:gsub("%D", "") or ""
  if #digits < 7 or #digits > 15 then return nil, "no caller number" end
  local channels = r.t.settings.channels
  if type(channels) ~= "table" or type(channels.twilio) ~= "table" then return nil, "no sms channel" end
  if type(key) ~= "string" or not r.t.catalog:has(key) then
    error(("c:text_caller: there is no message '%s' (add it to messages.lua)"):format(tostring(key)), 2)
  end
  local tenant_id = identity.check_tenant(r.tenant_id, "c:text_caller")
  local base = tenant_id:match("^([^.]+)")
  r.texted = (r.texted or 0) + 1
  local id = ("sms:%s:%s:%s:%d"):format(base, r.conv_id, tostring(tool.id), r.texted)
  return require("channels.outbound").later(time.now(), base, "twilio", "+" .. digits,
    { text = r.t.tone(r.t.catalog:render(key, r.lang, self:vars(vars))) }, id)
end

function Context:window_open()
  local r = real(self, "window_open")
  local channel, to = channel_of(r)
  if not channel then return true end
  return require("channels.outbound").window_open(identity.check_tenant(r.tenant_id, "c:window_open"), channel, to)
end

-- c:handoff(reason) or c:handoff{reason = ..., to = "owner"}: the customer
-- wants a person. With a person to take them (to, or the tenant's
-- handoff = { to = ... }, one of its staff) it opens a hand-off (flow.handoff):
-- the person is told, and the conversation is theirs until they end it.
-- -> {id, state = "open" | "queued"} | nil (recorded only)
function Context:handoff(reason)
  local r = real(self, "handoff")
  local opts = type(reason) == "table" and readonly.plain(reason, { name = "c:handoff's options" }) or { reason = reason }
  opts.reason = readonly.plain(opts.reason, { name = "c:handoff's reason" })
  r.conv.handoff = { reason = opts.reason, at = self:now() }
  require("log").info("customer asked for a person", { tenant = r.tenant_id, conversation = r.conv_id, reason = opts.reason })
  local settings = r.t.settings
  local to = opts.to or (type(settings.handoff) == "table" and settings.handoff.to)
  if type(to) ~= "string" or type(settings.staff) ~= "table" or settings.staff[to] == nil then return nil end
  local who = identity.of(r.conv_id)
  local name = r.conv.slots.name
  local customer = (type(name) == "string" and name or "") .. (who.phone and (" +" .. who.phone) or "")
  if customer == "" then customer = r.conv_id end
  local h = require("flow.handoff").open(identity.check_tenant(r.tenant_id, "c:handoff"), settings, r.conv_id,
    { reason = tostring(opts.reason or "asked"), to = to, customer = customer, slots = r.conv.slots })
  if not h then return nil end
  r.conv.handoff.id, r.conv.handoff.state = h.id, h.state
  if h.state == "queued" then   -- said after the turn's own replies (context.close)
    r.closing = { text = require("flow.handoff").text(r.t, "handoff_queued", r.lang) }
  end
  return h
end

M.Context = Context
return M

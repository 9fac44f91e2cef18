--- flow.context: what a flow's handlers get as `c` during a turn.
--
--   c.tenant   the tenant's settings (config/tenants/<id>.lua)
--   c.slots    the slots filled so far (name -> value)
--   c.data     the flow's own notes, kept with the conversation
--   c.msg      the message of this turn: {text, button}
--   c.state    the current state's name;  c.lang  the conversation language
--   c.booking  the tenant's booking engine (or nil)
--   c:say(key, vars?, opts?)   queue a reply; opts.buttons = {{id, title}}
--                              (title: a message key or plain text)
--   c:ask(slot)                ask for a slot (its prompt, with its options as buttons)
--   c:go(state)                move to a state (it must be declared)
--   c:set(slot, value) / c:clear(slot, ...) / c:show(slot) -> the value as text
--   c:missing(list?) -> the first unfilled slot of list (default: the state's fill)
--   c:now()                    the time (seconds, UTC)
--   c:llm()                    the tenant's LLM client, or nil
--   c:handoff(reason)          record that the customer wants a person
--   c:remind(at, message, id?) a message to this customer at time `at` (durable:
--                              survives restarts); message = {text} or {template = ...}
--   c:window_open()            false when the conversation's channel only takes
--                              templates now (WhatsApp, 24 h after the customer's
--                              last message); true otherwise
local time = require "time"
local types = require "flow.slot_types"

local Context = {}
Context.__index = Context

local M = {}

function M.new(t, conv, msg, opts)
  return setmetatable({
    t = t, tenant = t.settings, conv = conv, slots = conv.slots, data = conv.data, msg = msg,
    state = conv.state, lang = conv.lang or t.languages[1], booking = t.booking, replies = {},
    now_fn = opts and opts.now or time.now, moves = 0,
  }, Context)
end

function Context:now() return self.now_fn() end
function Context:llm() return self.t.llm end

function Context:text(key, vars)
  return self.t.catalog:render(key, self.lang, vars or self:vars())
end

-- variables every message can use: the slots as shown, plus the tenant name
function Context:vars(extra)
  local v = { tenant = self.t.name }
  for name, value in pairs(self.slots) do
    local decl = self.t.flow.slots[name]
    v[name] = decl and self:show(name) or value
  end
  for k, x in pairs(extra or {}) do v[k] = x end
  return v
end

function Context:say(key, vars, opts)
  if type(key) ~= "string" then error("c:say(key, vars?, opts?): key must be a message key", 2) end
  if not self.t.catalog:has(key) then
    error(("c:say: there is no message '%s' (add it to messages.lua)"):format(key), 2)
  end
  local reply = { text = self.t.tone(self.t.catalog:render(key, self.lang, self:vars(vars))) }
  local buttons = opts and opts.buttons
  if buttons and #buttons > 0 then
    reply.buttons = {}
    for i, b in ipairs(buttons) do
      local title = b.title
      if self.t.catalog:has(title) then title = self.t.catalog:render(title, self.lang, self:vars(vars)) end
      reply.buttons[i] = { id = b.id, title = title }
    end
  end
  self.replies[#self.replies + 1] = reply
  return reply
end

function Context:show(name)
  local v = self.slots[name]
  if v == nil then return nil end
  local decl = self.t.flow.slots[name]
  local show = decl.show or types[decl.type].show
  return show(v, decl, self)
end

function Context:ask(name)
  local decl = self.t.flow.slots[name]
  if not decl then error(("c:ask: there is no slot '%s'"):format(tostring(name)), 2) end
  self.conv.asked = name
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
  local flow = self.t.flow
  if not flow.states[name] then
    error(("c:go: there is no state '%s'"):format(tostring(name)), 2)
  end
  self.next_state = name
end

function Context:set(name, value)
  if not self.t.flow.slots[name] then error(("c:set: there is no slot '%s'"):format(tostring(name)), 2) end
  self.slots[name] = value
end

function Context:clear(...)
  for _, name in ipairs{ ... } do self.slots[name] = nil end
end

function Context:missing(list)
  list = list or (self.t.flow.states[self.state] or {}).fill or {}
  for _, name in ipairs(list) do
    local decl = self.t.flow.slots[name]
    if self.slots[name] == nil and not decl.optional then return name end
  end
end

function Context:remind(at, message, id)
  local channel, to = tostring(self.conv.id or ""):match("^(%w+):(.+)$")
  if not channel then return nil, "this conversation has no channel to send on" end
  return require("channels.outbound").later(at, self.t.id, channel, to, message,
    id and (self.t.id .. ":" .. self.conv.id .. ":" .. id) or nil)
end

function Context:window_open()
  local channel, to = tostring(self.conv.id or ""):match("^(%w+):(.+)$")
  if not channel then return true end
  return require("channels.outbound").window_open(self.t.id, channel, to)
end

function Context:handoff(reason)
  self.conv.handoff = { reason = reason, at = self:now() }
  require("log").info("customer asked for a person", { tenant = self.t.id, conversation = self.conv.id, reason = reason })
end

M.Context = Context
return M

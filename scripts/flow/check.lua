--- flow.check: validates a flow declaration against its messages before it
--- may serve: every transition goes to a state that exists, every message
--- key has a text, every slot has a prompt, and nothing is misspelt.
--
--   check.flow(flow, catalog, text, file) -> problems
--       problems: list of {file, line, msg}; empty when the flow is good.
--       text is the flow file's source, used to find the line of a mistake.
local source = require "flow.source"
local types = require "flow.slot_types"

local M = {}

local STATE_FIELDS = { say = "string", enter = "function", fill = "table", done = "string",
  on = "table", reply = "function", to = "table", buttons = "table", final = "boolean",
  edits = "boolean", vars = "function" }
local SLOT_FIELDS = { type = "string", prompt = "string", invalid = "any", options = "any",
  extract = "function", validate = "function", show = "function", max_days = "number",
  buttons = "boolean", describe = "string", optional = "boolean" }
local FLOW_FIELDS = { start = "string", states = "table", slots = "table", intents = "table",
  changed = "function", keep_on_restart = "table", version = "any", migrate = "function",
  checks = "function", timers = "table", staff = "function", tools = "table" }
M.INTENTS = { cancel = true, restart = true, human = true, help = true, reschedule = true, price = true }
-- messages the runtime itself says
M.RUNTIME_MESSAGES = { "not_understood", "handoff", "expired", "fallback" }

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

function M.flow(flow, catalog, text, file)
  local problems = {}
  local function add(line, msg) problems[#problems + 1] = { file = file, line = line or 1, msg = msg } end
  -- where `name = ` is declared, and where "value" is written after it
  local function at(name, value)
    local from = name and (source.line_of(text, name .. " =") or source.line_of(text, name .. "="))
    if value then return source.line_of(text, '"' .. value .. '"', from) or from end
    return from
  end
  local function message(key, where, what)
    if type(key) ~= "string" then
      add(at(where), ("%s must be a message key (a string)"):format(what))
    elseif not catalog:has(key) then
      add(at(where, key), ("%s names message '%s', which messages.lua does not have"):format(what, key))
    end
  end

  if type(flow) ~= "table" then
    add(1, "flow.lua must return a table with start, states and slots")
    return problems
  end
  for _, k in ipairs(sorted_keys(flow)) do
    local want = FLOW_FIELDS[k]
    if not want then add(at(k), ("unknown flow field '%s' (allowed: start, states, slots, intents, changed, keep_on_restart, migrate, checks, timers, staff, tools)"):format(k))
    elseif want ~= "any" and type(flow[k]) ~= want then add(at(k), ("flow field '%s' must be a %s"):format(k, want)) end
  end
  local states, slots = flow.states or {}, flow.slots or {}
  local function state_ref(name, where, what)
    if type(name) ~= "string" or not states[name] then
      add(at(where, type(name) == "string" and name or nil),
        ("%s goes to state '%s', which does not exist"):format(what, tostring(name)))
    end
  end
  if type(flow.start) ~= "string" then add(1, "the flow needs start = \"<first state>\"")
  else state_ref(flow.start, "start", "start") end
  if not next(states) then add(at("states"), "the flow has no states") end

  for _, key in ipairs(M.RUNTIME_MESSAGES) do
    if not catalog:has(key) then add(1, ("messages.lua needs the message '%s' (the runtime says it)"):format(key)) end
  end

  for _, name in ipairs(sorted_keys(slots)) do
    local s = slots[name]
    local what = "slot '" .. name .. "'"
    if type(s) ~= "table" then add(at(name), what .. " must be a table") else
      for _, k in ipairs(sorted_keys(s)) do
        local want = SLOT_FIELDS[k]
        if not want then add(at(name), ("%s has an unknown field '%s'"):format(what, k))
        elseif want ~= "any" and type(s[k]) ~= want then add(at(name), ("%s: %s must be a %s"):format(what, k, want)) end
      end
      if not types[s.type] then
        add(at(name, s.type), ("%s has type '%s'; types are text, name, phone_in, plate_in, email, choice, choices, date, yes_no")
          :format(what, tostring(s.type)))
      end
      if s.prompt == nil then add(at(name), what .. " has no prompt (the message key that asks for it)")
      else message(s.prompt, name, what .. " prompt") end
      if type(s.invalid) == "string" then message(s.invalid, name, what .. " invalid")
      elseif type(s.invalid) == "table" then
        for reason, key in pairs(s.invalid) do message(key, name, what .. " invalid." .. tostring(reason)) end
      elseif s.invalid ~= nil then add(at(name), what .. ": invalid must be a message key or a table reason -> key") end
      if (s.type == "choice" or s.type == "choices") and s.options == nil then
        add(at(name), what .. " is a " .. s.type .. " and needs options")
      end
    end
  end

  for _, name in ipairs(sorted_keys(states)) do
    local st = states[name]
    local what = "state '" .. name .. "'"
    if type(st) ~= "table" then add(at(name), what .. " must be a table") else
      for _, k in ipairs(sorted_keys(st)) do
        local want = STATE_FIELDS[k]
        if not want then add(at(name), ("%s has an unknown field '%s' (allowed: say, enter, fill, done, on, reply, to, buttons, final, edits, vars)"):format(what, k))
        elseif type(st[k]) ~= want then add(at(name), ("%s: %s must be a %s"):format(what, k, want)) end
      end
      if st.say ~= nil then message(st.say, name, what .. " say") end
      if type(st.fill) == "table" then
        if #st.fill == 0 then add(at(name), what .. ": fill lists no slots") end
        for _, slot in ipairs(st.fill) do
          if not slots[slot] then add(at(name, slot), ("%s fills slot '%s', which is not declared in slots"):format(what, tostring(slot))) end
        end
        if st.done == nil then add(at(name), what .. " fills slots but has no done = \"<next state>\"") end
      end
      if st.done ~= nil then state_ref(st.done, name, what .. " done") end
      for _, to in ipairs(type(st.to) == "table" and st.to or {}) do state_ref(to, name, what .. " to") end
      if type(st.on) == "table" then
        for choice, target in pairs(st.on) do
          if type(target) == "string" then state_ref(target, name, what .. " on." .. tostring(choice))
          elseif type(target) ~= "function" then add(at(name), ("%s on.%s must be a state name or a function"):format(what, tostring(choice))) end
        end
      end
      for i, b in ipairs(type(st.buttons) == "table" and st.buttons or {}) do
        if type(b) ~= "table" or type(b.id) ~= "string" or type(b.title) ~= "string" then
          add(at(name), ("%s buttons[%d] must be { id = \"...\", title = \"<message key>\" }"):format(what, i))
        else message(b.title, name, what .. " button '" .. b.id .. "'") end
      end
      if not st.fill and not st.on and not st.reply and not st.final and not st.done then
        add(at(name), what .. " cannot answer a message: give it fill, on, reply or final = true")
      end
    end
  end

  for _, name in ipairs(sorted_keys(type(flow.intents) == "table" and flow.intents or {})) do
    local v = flow.intents[name]
    if not M.INTENTS[name] then
      add(at(name), ("intent '%s' is not known (intents: cancel, restart, human, help, reschedule, price)"):format(name))
    elseif type(v) == "string" then state_ref(v, name, "intent '" .. name .. "'")
    elseif type(v) ~= "function" then add(at(name), ("intent '%s' must be a state name or a function"):format(name)) end
  end

  -- calls in handlers: c:say("key"), c:go("state"), c:ask("slot")
  local line = 0
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line + 1
    for key in l:gmatch(":say%(%s*\"([%w_]+)\"") do
      if not catalog:has(key) then add(line, ("say(\"%s\"): messages.lua has no message '%s'"):format(key, key)) end
    end
    for target in l:gmatch(":go%(%s*\"([%w_]+)\"") do
      if not states[target] then add(line, ("go(\"%s\"): there is no state '%s'"):format(target, target)) end
    end
    for slot in l:gmatch(":ask%(%s*\"([%w_]+)\"") do
      if not slots[slot] then add(line, ("ask(\"%s\"): there is no slot '%s'"):format(slot, slot)) end
    end
  end
  table.sort(problems, function(a, b) return a.line < b.line end)
  return problems
end

return M

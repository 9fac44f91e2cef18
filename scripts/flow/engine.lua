--- flow.engine: runs one message through a tenant's flow.
--
--   engine.turn(t, conv, msg, how, opts) -> c   (c.replies, conv updated)
--       msg = {text?, button?}; how = "found" | "new" | "expired" (flow.store)
--       opts.now = fn() -> seconds (tests move the clock)
--
-- Order in a turn: a tapped button of the current state; else an intent
-- (cancel, start over, human, help, reschedule, price); else an angry or
-- bored customer gets the hand-off text; else the state reads the message:
-- a fill state fills slots (rules, then the LLM when configured) and asks
-- for what is missing, a state with `on` takes one of its choices, `reply`
-- handles anything else. Entering a state says its `say`, runs its `enter`,
-- and moves on through `done` when it has nothing left to ask.
local context = require "flow.context"
local fill = require "flow.fill"
local intents = require "flow.intents"
local types = require "flow.slot_types"
local sentiment = require "text.sentiment"
local extract = require "text.extract"
local fuzzy = require "text.fuzzy"
local words = require "text.words"
local time = require "time"

local M = {}

local MAX_MOVES = 20

local enter

local function settle(c)
  -- follow c:go() requests made by handlers
  while c.next_state do
    local to = c.next_state
    c.next_state = nil
    enter(c, to)
  end
end

enter = function(c, name)
  c.moves = c.moves + 1
  if c.moves > MAX_MOVES then
    error(("the flow moved between states %d times in one turn (a loop through '%s'?)"):format(MAX_MOVES, name), 0)
  end
  local st = c.t.flow.states[name]
  c.state, c.conv.state = name, name
  c.conv.asked = nil
  if st.say then c:say(st.say, st.vars and st.vars(c), { buttons = st.buttons }) end
  if st.enter then st.enter(c) end
  if c.next_state then return settle(c) end
  if st.done and (not st.fill or not c:missing(st.fill)) then
    c.next_state = st.done
    return settle(c)
  end
end

-- the choice of an `on` state: a button id, a button title or yes/no
local function choice_of(c, st)
  local msg = c.msg
  if msg.button and st.on[msg.button] ~= nil then return msg.button end
  local text = msg.text
  if not text or text == "" then return nil end
  local options = {}
  for id in pairs(st.on) do
    local names = { (id:gsub("_", " ")) }
    for _, b in ipairs(st.buttons or {}) do
      if b.id == id then
        names[#names + 1] = c.t.catalog:has(b.title) and c.t.catalog:render(b.title, c.lang, c:vars()) or b.title
      end
    end
    options[#options + 1] = { id = id, names = names }
  end
  table.sort(options, function(a, b) return a.id < b.id end)
  local n = tonumber(words.trim(text):match("^(%d)%s*[%.%)]?$"))
  if n and st.buttons and st.buttons[n] and st.on[st.buttons[n].id] ~= nil then return st.buttons[n].id end
  local id = fuzzy.best(text, options, { min_score = 0.8 })
  if id then return id end
  local yn = extract.yes_no(text)
  if yn == true then
    for _, k in ipairs{ "yes", "confirm", "ok" } do if st.on[k] ~= nil then return k end end
  elseif yn == false then
    for _, k in ipairs{ "no", "edit", "change" } do if st.on[k] ~= nil then return k end end
  end
end

local function ask_reason(c, problem)
  local decl = c.t.flow.slots[problem.slot]
  local key = decl.invalid
  if type(key) == "table" then key = key[problem.reason] or key.invalid end
  if type(key) == "string" then c:say(key) else c:say("not_understood") end
  c:ask(problem.slot)
end

local function read_fill(c, st)
  -- after a side question ("help", "how much?") the words are not an answer
  local asked = c.conv.asked
  if c.side_intent then c.conv.asked = nil end
  local changed, problem = fill.run(c, { llm_for = not c.side_intent and st.fill or nil })
  c.conv.asked = asked
  if problem then return ask_reason(c, problem) end
  if #changed == 0 and st.reply and st.reply(c, c.msg) ~= false then return end
  if #changed == 0 and asked and not c.side_intent and c.slots[asked] == nil then
    -- nothing read for the question asked: say what is expected, if the slot says it
    if c.t.flow.slots[asked].invalid then return ask_reason(c, { slot = asked, reason = "invalid" }) end
    c:say("not_understood")
  end
  if not c:missing(st.fill) then c:go(st.done) end
end

-- a state without fill: one of its choices (on), else its reply (which
-- returns false when the message was not for it), else corrections of
-- earlier answers (edits = true), else "not understood" and the question again
local function read_other(c, st)
  local key = st.on and choice_of(c, st)
  if key then
    local target = st.on[key]
    if type(target) == "function" then target(c, key) else c:go(target) end
    return
  end
  if st.reply and st.reply(c, c.msg) ~= false then return end
  if st.edits then
    local changed, problem = fill.run(c, { correcting = true })
    if problem then return ask_reason(c, problem) end
    if #changed > 0 then
      if c.t.flow.changed then c.t.flow.changed(c, changed) end
      if not c.next_state then c:go(c.state) end
      return
    end
  end
  if not c.side_intent then c:say("not_understood") end
  c:go(c.state)                                  -- show the question again
end

local function read(c)
  local st = c.t.flow.states[c.state]
  if st.final then
    -- a new message after the end: start again, keeping what the flow keeps
    local keep = {}
    for _, k in ipairs(c.t.flow.keep_on_restart or {}) do keep[k] = c.slots[k] end
    for k in pairs(c.slots) do c.slots[k] = nil end
    for k, v in pairs(keep) do c.slots[k] = v end
    for k in pairs(c.data) do c.data[k] = nil end
    enter(c, c.t.flow.start)
    st = c.t.flow.states[c.state]
    if st.final then return end
  end
  if st.fill then return read_fill(c, st) end
  return read_other(c, st)
end

local function run_intent(c, name)
  local h = c.t.flow.intents and c.t.flow.intents[name]
  if type(h) == "string" then c:go(h)
  elseif type(h) == "function" then h(c, c.msg)
  else intents.default(name)(c) end
end

function M.turn(t, conv, msg, how, opts)
  local c = context.new(t, conv, msg, opts)
  local budget = t.settings.llm and t.settings.llm.turn_deadline or 4
  c.deadline = time.now() + budget
  if how ~= "found" or not conv.state or not t.flow.states[conv.state] then
    if how == "found" and conv.state then
      -- its state is gone from the flow: start over politely, slots kept
      if t.flow.migrate then t.flow.migrate(c, conv.state) end
    end
    conv.lang = M.language(t, conv.lang or t.languages[1], msg.text)
    c.lang = conv.lang
    conv.created = conv.created or c:now()
    if how == "expired" then c:say("expired") end
    if not c.next_state then enter(c, t.flow.start) else settle(c) end
  end
  conv.version = t.version
  local lang, asked_for = M.language(t, conv.lang, msg.text)
  conv.lang, c.lang = lang, lang
  if asked_for then return M.finish(c) end      -- "english": switch, ask again

  local st = t.flow.states[c.state]
  local pressed = msg.button and st.on and st.on[msg.button] ~= nil
  local intent = not pressed and intents.detect(msg.text)
  if intent then
    run_intent(c, intent)
    settle(c)
    if intents.consumes(intent) then return M.finish(c) end
    c.side_intent = true
  elseif not pressed and msg.text then
    local mood = sentiment.disengage(sentiment.score(msg.text), t.settings.sentiment)
    if mood then
      c:handoff(mood)
      c:say("handoff")
      c.quiet = true                           -- no further question this turn
      return M.finish(c)
    end
  end
  read(c)
  settle(c)
  return M.finish(c)
end

-- the conversation's language: Hindi once the customer writes Devanagari
-- (when the tenant speaks it); "english" / "hindi" alone switch explicitly
-- (second result true: the message was only that)
function M.language(t, current, text)
  if type(text) ~= "string" then return current end
  local speaks = {}
  for _, l in ipairs(t.languages) do speaks[l] = true end
  local word = words.trim(text):lower():match("^%a+$")
  if word == "english" and speaks.en then return "en", true end
  if word == "hindi" and speaks.hi then return "hi", true end
  if speaks.hi and text:find("\224[\164\165]") then return "hi" end
  return current
end

-- a turn that runs one of the flow's handlers instead of reading a
-- message: fn(c) with the conversation, then the moves it asked for
local function run_handler(t, conv, msg, opts, fn)
  local c = context.new(t, conv, msg, opts)
  c.deadline = time.now() + (t.settings.llm and t.settings.llm.turn_deadline or 4)
  conv.lang = conv.lang or t.languages[1]
  c.lang = conv.lang
  conv.created = conv.created or c:now()
  fn(c)
  settle(c)
  conv.version = t.version
  conv.turns = (conv.turns or 0) + 1
  conv.updated = c:now()
  return c
end

-- a flow timer's turn (flow.timers): the flow's timers[msg.timer](c, data)
-- runs with the conversation, as a turn without a customer message; a
-- cancelled timer (or a handler the flow no longer has) does nothing
function M.timer(t, conv, msg, how, opts)
  local h = t.flow.timers and t.flow.timers[msg.timer]
  return run_handler(t, conv, msg, opts, function(c)
    if type(h) == "function" and not require("flow.timers").cancelled(opts and opts.tenant or t.id, msg.timer_id) then
      h(c, msg.data)
    end
  end)
end

-- a message from a person of the tenant's staff (flow.staff) that no
-- hand-off took: the flow's staff = function(c, person) ... end
function M.staff(t, conv, msg, how, opts)
  return run_handler(t, conv, msg, opts, function(c) t.flow.staff(c, opts.staff) end)
end

-- a fill state always ends the turn with its question
function M.finish(c)
  local st = c.t.flow.states[c.state]
  local want = st.fill and not c.quiet and c:missing(st.fill)
  if want then
    local asked = false
    for _, r in ipairs(c.replies) do asked = asked or r.asked == want end
    if not asked then c:ask(want) end
  end
  c.conv.turns = (c.conv.turns or 0) + 1
  c.conv.updated = c:now()
  return c
end

return M

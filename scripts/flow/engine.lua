--- flow.engine: runs one message through a tenant's flow.
--
--   engine.turn(t, conv, msg, how, opts) -> c   (c.replies, conv updated)
--       msg = {text?, button?}; how = "found" | "new" | "expired" (flow.store)
--       opts.now = fn() -> seconds (tests move the clock)
--
-- Order in a turn (docs/language.md, "How the engine reads a message"): the message is
-- spelled as the library reads it (the tenant's business.words); a tapped
-- button of the current state; a conversation handed off to a person
-- answers "a person will reply here" until "continue"; else an intent
-- (cancel, start over, human, help, reschedule, price: "how much is X" names
-- X's price); else an FAQ of the tenant (answered, the question asked
-- again); else an angry or bored customer gets the hand-off text; else the
-- state reads the message: a fill state fills slots (rules, then the LLM
-- when configured) and asks for what is missing, a state with `on` takes one
-- of its choices, `reply` handles anything else. A question nothing answered
-- fills no slot but the one asked (and no choice), and says so. A changed
-- answer is acknowledged. A message that filled the last slot and names a
-- time is read again by the next state (its `reply`): "tomorrow 5pm" picks
-- 5 pm. Entering a state says its `say`, runs its `enter`, and moves on
-- through `done` when it has nothing left to ask. One question per turn.
local context = require "flow.context"
local fill = require "flow.fill"
local intents = require "flow.intents"
local lexicon = require "flow.lexicon"
local side = require "flow.side"
local sentiment = require "text.sentiment"
local question = require "text.question"
local extract = require "text.extract"
local fuzzy = require "text.fuzzy"
local words = require "text.words"
local time = require "time"

local M = {}

local MAX_MOVES = 20

local enter

-- the engine's notes on a turn: slots before it, where the message was
-- read, whether it filled something, the reply index a state was entered at
local notes = setmetatable({}, { __mode = "k" })

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
  local n = notes[c]
  if n then
    n.entered_at = #c.replies
    if name == c.t.flow.start then n.fresh = true end
  end
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

-- one complaint, which asks again itself ("That number doesn't look right.
-- Please send a 10-digit ..."); without a message for it: "not understood"
-- and the question
local function ask_reason(c, problem)
  local decl = c.t.flow.slots[problem.slot]
  local key = decl.invalid
  if type(key) == "table" then key = key[problem.reason] or key.invalid end
  if type(key) ~= "string" then
    c:say("not_understood")
    return c:ask(problem.slot)
  end
  c:say(key).asked = problem.slot
  c.conv.asked = problem.slot
end

local function acknowledge(c, changed)
  local n = notes[c]
  side.acknowledge(c, changed, n.before, n.conv.was)
end

-- a question ("which is better, foam or basic?") is no answer: it may fill
-- the slot asked, unless that is a choice, and nothing else
local function read_question(c, st)
  local asked = c.conv.asked
  local decl = asked and c.t.flow.slots[asked]
  if decl and decl.type ~= "choice" and decl.type ~= "choices" then
    local changed, problem = fill.run(c, { only = asked })
    if problem then return ask_reason(c, problem) end
    if #changed > 0 then
      notes[c].filled = true
      if not c:missing(st.fill) then c:go(st.done) end
      return
    end
  end
  side.unknown_question(c)
end

local function read_fill(c, st)
  local n = notes[c]
  local asking = c.msg.text and question.is(c.msg.text, n.lex.question_words)
  -- after a side question ("help", "how much is foam?") the words are no
  -- answer; a long message that also asks about price may still state facts
  if c.side_intent and (asking or n.priced) then return end
  if asking then return read_question(c, st) end
  local asked = c.conv.asked
  if c.side_intent then c.conv.asked = nil end
  local changed, problem = fill.run(c, { llm_for = not c.side_intent and st.fill or nil })
  c.conv.asked = asked
  if #changed > 0 then
    notes[c].filled = true
    acknowledge(c, changed)
  end
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
  local n = notes[c]
  local asking = c.msg.text and question.is(c.msg.text, n.lex.question_words)
  if c.side_intent and (asking or n.priced) then return c:go(c.state) end  -- answered: the question again
  -- "no, day after tomorrow" corrects an answer before it picks "no"
  local correcting = st.edits and c.msg.text and extract.correction(c.msg.text)
  local key = st.on and not correcting and choice_of(c, st)
  if key then
    local target = st.on[key]
    if type(target) == "function" then target(c, key) else c:go(target) end
    return
  end
  if st.reply and not correcting and st.reply(c, c.msg) ~= false then return end
  if st.edits then
    local changed, problem = fill.run(c, { correcting = true })
    if problem then return ask_reason(c, problem) end
    if #changed > 0 then
      acknowledge(c, changed)
      if c.t.flow.changed then c.t.flow.changed(c, changed) end
      if not c.next_state then c:go(c.state) end
      return
    end
    key = correcting and st.on and choice_of(c, st)   -- "no" after all
    if key then
      local target = st.on[key]
      if type(target) == "function" then return target(c, key) end
      return c:go(target)
    end
  end
  if asking then side.unknown_question(c)
  elseif not c.side_intent then c:say("not_understood") end
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
    notes[c].fresh = true
    enter(c, c.t.flow.start)
    st = c.t.flow.states[c.state]
    if st.final then return end
  end
  notes[c].read_state = c.state
  if st.fill then return read_fill(c, st) end
  return read_other(c, st)
end

-- the message filled the last slot and moved on: a time in it ("tomorrow
-- 5pm") is read by the next state's reply, which then speaks instead of the
-- state's opening offer
local function carry(c)
  local n = notes[c]
  local st = c.t.flow.states[c.state]
  if not n.filled or c.state == n.read_state or not st.reply or st.fill or st.carry == false then return end
  if not c.msg.text or not extract.time(c.msg.text) then return end
  local at, before = n.entered_at or #c.replies, #c.replies
  if st.reply(c, c.msg) == false or (#c.replies == before and not c.next_state) then return end
  local replies = context.replies(c)
  for _ = at + 1, before do table.remove(replies, at + 1) end
  settle(c)
end

-- slots cleared this turn (an edit) keep their old value in conv.was, so
-- the new answer is acknowledged as a change; a fresh start forgets them
local function remember_cleared(c)
  local n = notes[c]
  local conv = n.conv
  if n.fresh then conv.was = nil; return end
  for name, v in pairs(n.before) do
    if c.slots[name] == nil then
      conv.was = conv.was or {}
      conv.was[name] = v
    end
  end
end

-- the message as the library reads it: the tenant's spellings rewritten
local function heard(msg, lex)
  if type(msg.text) ~= "string" then return msg end
  local text = lex.rewrite(msg.text)
  if text == msg.text then return msg end
  local out = {}
  for k, v in pairs(msg) do out[k] = v end
  out.text, out.original = text, msg.text
  return out
end

local function run_intent(c, name)
  local h = c.t.flow.intents and c.t.flow.intents[name]
  if type(h) == "string" then c:go(h)
  elseif type(h) == "function" then h(c, c.msg)
  else intents.default(name)(c) end
end

function M.turn(t, conv, msg, how, opts)
  local lex = lexicon.of(t)
  msg = heard(msg, lex)
  local c = context.new(t, conv, msg, opts)
  local before = {}
  for k, v in pairs(conv.slots or {}) do before[k] = v end
  notes[c] = { before = before, conv = conv, lex = lex }
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
  local held = not pressed and side.held(c, conv, lex)
  if held == true then return M.finish(c) end
  local intent = not pressed and intents.detect(msg.text, lex.intents)
  local faq = not pressed and not intent and msg.text and lex.faq(msg.text)
  if intent then
    if intent == "restart" or intent == "cancel" then notes[c].fresh = true end
    if intent == "price" and side.price_of(c) then notes[c].priced = true else run_intent(c, intent) end
    settle(c)
    if intents.consumes(intent) then return M.finish(c) end
    c.side_intent = true
  elseif faq then
    c:say(faq)
    c.side_intent = true
  elseif held then
    c.side_intent = true                       -- "continue": the question again
  elseif not pressed and msg.text and t.settings.handoff_on_sentiment ~= false then
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
  carry(c)
  remember_cleared(c)
  return M.finish(c)
end

-- the conversation's language: Hindi once the customer writes Devanagari
-- (when the tenant speaks it); a language's name alone switches explicitly
-- ("english", "inglés", "en español", "spanish please"; second result true:
-- the message was only that). Nothing else switches: a Spanish tenant's
-- customer who writes "ok" or "5pm" stays in Spanish.
local LANGUAGE_NAMES = { english = "en", ingles = "en", hindi = "hi", spanish = "es", espanol = "es" }
local AROUND_NAME = words.set("in en please por favor pls plz porfa")

local function named_language(text)
  local toks = words.tokens(words.fold(text:lower()))
  if #toks == 0 or #toks > 3 then return nil end
  local named
  for _, tk in ipairs(toks) do
    local l = LANGUAGE_NAMES[tk.w]
    if l and not named then named = l
    elseif not AROUND_NAME[tk.w] then return nil end
  end
  return named
end

function M.language(t, current, text)
  if type(text) ~= "string" then return current end
  local speaks = {}
  for _, l in ipairs(t.languages) do speaks[l] = true end
  local named = #text <= 40 and named_language(text)
  if named and speaks[named] then return named, true end
  if speaks.hi and text:find("\224[\164\165]") then return "hi" end
  -- Russian: a message in Cyrillic is answered in Russian, and one in Latin
  -- letters only (two words or more) in English again
  if speaks.ru then
    if text:find("[\208\209][\128-\191]") then return "ru" end
    if current == "ru" and speaks.en and select(2, text:gsub("%a%a+", "")) >= 2 then return "en" end
  end
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

-- a tool call of a voice assistant (channels.vapi with tools = true):
-- msg.tool = {name, id, arguments, phone, deadline}; the flow's
-- tools[name](c, args, call) returns the result (a table of data), which
-- M.result(c) gives back. call = {id, name, phone (the caller's number),
-- deadline (absolute seconds: the answer is due then), handed_over() ->
-- true once the caller was transferred (nothing may be changed after)}.
-- A tool the flow does not have answers {status = "NEEDS_HUMAN", error}.
local results = setmetatable({}, { __mode = "k" })
function M.tool(t, conv, msg, how, opts)
  local tool = msg.tool
  local h = t.flow.tools and t.flow.tools[tool.name]
  local tenant_id, conv_id = opts and opts.tenant or t.id, opts and opts.conversation or conv.id
  local call = { id = tool.id, name = tool.name, phone = tool.phone, deadline = tool.deadline,
                 handed_over = function() return require("flow.handoff").active(tenant_id, conv_id) end }
  local out
  local c = run_handler(t, conv, msg, opts, function(c)
    if type(h) ~= "function" then
      out = { status = "NEEDS_HUMAN", error = "unknown tool " .. tostring(tool.name) }
      return
    end
    local args = type(tool.arguments) == "table" and tool.arguments or {}
    out = h(c, args, call)
    if type(out) ~= "table" then
      error(("tools.%s must return a table (the tool's result), got %s"):format(tool.name, type(out)), 0)
    end
  end)
  results[c] = out
  return c
end

--- the result of a tool turn (M.tool), or nil
function M.result(c) return results[c] end

-- a fill state ends the turn with one question: its own, unless a reply
-- of this turn already asks one
function M.finish(c)
  local st = c.t.flow.states[c.state]
  local want = st.fill and not c.quiet and c:missing(st.fill)
  if want then
    local asked = false
    for _, r in ipairs(c.replies) do asked = asked or r.asked ~= nil end
    if not asked then c:ask(want) end
  end
  c.conv.turns = (c.conv.turns or 0) + 1
  c.conv.updated = c:now()
  return c
end

return M

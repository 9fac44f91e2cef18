-- Sales Co's assistant, one flow for every rep (each answers as
-- "salesco.<rep>", in the rep's voice: reps/<rep>.lua). A prospect writes
-- to the rep on Telegram; the assistant qualifies them (BANT, one question
-- at a time), asks for their email, offers the rep's free times and books a
-- Zoom call. A quiet prospect gets follow-ups (playbook.lua); "call me", a
-- person, or a discount beyond the rep's limit goes to the rep, and the
-- assistant stops.
local bant = use "bant"
local meeting = use "meeting"
local playbook = use "playbook"
local answer = use "answer"
local extract = require "text.extract"

local ASK = { need = "ask_need", budget = "ask_budget", authority = "ask_authority", timeline = "ask_timeline" }
local FOLLOW_UPS = { "follow_up_1", "follow_up_2" }

-- the rep's rules, over the defaults
local function rules(c)
  local out = {}
  for k, v in pairs(playbook.default) do out[k] = v end
  for k, v in pairs(playbook[c.tenant.rep or ""] or {}) do out[k] = v end
  return out
end

-- a follow-up after the rep's first delay; the previous one is cancelled
local function follow_up_later(c, n)
  if c.data.follow_up then c:cancel_timer(c.data.follow_up) end
  c.data.follow_up = nil
  local delay = rules(c).follow_ups[n or 1]
  if delay then c.data.follow_up = c:after(delay, "follow_up", { n = n or 1 }) end
end

local function escalate(c, reason)
  if c.data.escalated then return true end            -- the rep knows already
  if c.data.follow_up then c:cancel_timer(c.data.follow_up) end
  c.data.follow_up, c.data.escalated = nil, reason
  c:say("escalated")
  if c.tenant.rep then
    c:notify(c.tenant.rep, "rep_escalation", { reason = reason, bant = bant.summary(c.slots),
                                                said = c.msg.text or "" })
  end
end

-- "10% discount", "can you do 15 % off": the percent asked for, or nil
local function discount(text)
  local s = text:lower()
  if not (s:find("discount", 1, true) or s:find("off", 1, true) or s:find("cheaper", 1, true)) then return nil end
  return tonumber(s:match("(%d+)%s*%%")) or (s:find("discount", 1, true) and 100 or nil)
end

-- what the message says about BANT: every reader, the asked one leniently
-- (unless the message is a question of the prospect's own)
local function read_bant(c, text, asking)
  for _, name in ipairs(bant.ORDER) do
    if c.slots[name] == nil then
      local v = bant[name](text, c.data.asked == name and not asking)
      if v ~= nil then c:set(name, v) end
    end
  end
  local points, stage = bant.score(c.slots, rules(c))
  c:set("score", points)
  c:set("stage", stage)
end

local function next_step(c)
  for _, name in ipairs(bant.ORDER) do
    if c.slots[name] == nil then
      c.data.asked = name
      return c:say(ASK[name])
    end
  end
  c.data.asked = nil
  if c.slots.stage ~= "qualified" then
    c.data.done = "nurture"
    return c:say("not_now")
  end
  if not c.slots.email then
    c.data.asked = "email"
    return c:say("ask_email")
  end
  meeting.offer(c)
end

local function asks_for_rep(text)
  local s = bant.lower(text)
  for _, p in ipairs(playbook.call_me) do
    if s:find(p, 1, true) then return true end
  end
end

local function talk(c, msg)
  if c.data.follow_up then c:cancel_timer(c.data.follow_up) end   -- they wrote first
  c.data.follow_up = nil
  if c.data.escalated or c.data.booked then return true end          -- the rep has it now
  local text = msg.text or ""
  if asks_for_rep(text) then return escalate(c, "asked for a call") end
  local pct = discount(text)
  if pct and pct > rules(c).max_discount then return escalate(c, "discount " .. pct .. "%") end
  if not c.data.greeted then
    c.data.greeted = true
    c:say("greeting")
  end
  if c.data.offered then
    local start = meeting.picked(c, msg)
    if start then
      local booked, key = meeting.book(c, start, c.slots.email, bant.summary(c.slots))
      if not booked then return c:say(key) end
      c.data.booked, c.data.offered = booked.id, nil
      c:say("booked", { when = meeting.when(booked.start, c.tenant.timezone), link = booked.link })
      if c.tenant.rep then
        c:notify(c.tenant.rep, "rep_booked", { when = meeting.when(booked.start, c.tenant.timezone),
                                               email = c.slots.email, bant = bant.summary(c.slots) })
      end
      return true
    end
  end
  -- a question the knowledge base covers: answered (LLM, in the rep's voice), then on with BANT
  local asking = answer.is_question(text)
  if asking and not c.data.offered then
    local said, why = answer.ask(c, text, rules(c).voice)
    if said then c:say("answer", { answer = said })
    elseif why == "voice" or why:find("^llm failed") then c:say("question_noted") end
  end
  read_bant(c, text, asking)
  if c.data.asked == "email" or (c.slots.stage == "qualified" and not c.slots.email) then
    local email = extract.email(text)
    if email then c:set("email", email)
    elseif c.data.asked == "email" then c:say("bad_email") end
  end
  next_step(c)
  if not c.data.done then follow_up_later(c, 1) end
  return true
end

-- the engine reads "how much", "help" and "reschedule" as side questions
-- before the state does: they go to talk too, once per turn
local handled = setmetatable({}, { __mode = "k" })
local function talk_once(c, msg)
  if handled[c] then return true end
  handled[c] = true
  return talk(c, msg)
end

return {
  start = "talk",
  slots = {
    need = { type = "text", prompt = "ask_need" },
    budget = { type = "text", prompt = "ask_budget" },
    authority = { type = "yes_no", prompt = "ask_authority" },
    timeline = { type = "text", prompt = "ask_timeline" },
    email = { type = "email", prompt = "ask_email", invalid = "bad_email" },
    score = { type = "text", prompt = "ask_need" },
    stage = { type = "text", prompt = "ask_need" },
  },
  states = {
    talk = { reply = talk_once },
  },
  intents = {
    human = function(c) escalate(c, "asked for a person") end,
    price = talk_once, help = talk_once, reschedule = talk_once,
  },
  timers = {
    -- the prospect went quiet: nudge them, then once more later
    follow_up = function(c, data)
      c.data.follow_up = nil
      if c.data.escalated or c.data.booked or c.data.done then return end
      c:say(FOLLOW_UPS[data.n] or FOLLOW_UPS[#FOLLOW_UPS])
      follow_up_later(c, data.n + 1)
    end,
  },
}

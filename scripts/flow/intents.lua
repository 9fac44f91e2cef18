--- flow.intents: what a customer can ask for in any state (cancel, start
--- over, talk to a human, help, reschedule, price), recognised by phrases in
--- English and romanized Hindi, with typo tolerance.
--
--   intents.detect(text) -> name | nil
--   intents.consumes(name) -> false for side questions (help, price): the
--       message is still read for slots and the current question asked again
--   intents.default(name) -> fn(c) used when the flow does not handle it
local fuzzy = require "text.fuzzy"

local M = {}

local PHRASES = {
  cancel = { "cancel", "cancel it", "stop", "quit", "exit", "band karo", "rehne do", "mat karo" },
  restart = { "start over", "restart", "start again", "begin again", "from scratch", "new booking",
              "reset", "phir se", "shuru se" },
  human = { "human", "agent", "real person", "talk to a person", "talk to someone", "speak to someone",
            "customer care", "customer service", "representative", "call me", "manager", "insaan" },
  help = { "help", "what can you do", "how does this work", "madad" },
  reschedule = { "reschedule", "change my booking", "move my booking", "change my appointment",
                 "move my appointment", "postpone", "prepone", "different time for my booking" },
  price = { "price", "prices", "price list", "cost", "costs", "how much", "rate", "rates", "charges",
            "charge", "kitna", "kitne", "kya rate", "add-ons", "addons", "extras", "discount" },
}

local OPTIONS = {}
for name, names in pairs(PHRASES) do OPTIONS[#OPTIONS + 1] = { id = name, names = names } end
table.sort(OPTIONS, function(a, b) return a.id < b.id end)

local SIDE = { help = true, price = true }

function M.detect(text)
  if type(text) ~= "string" or text == "" then return nil end
  -- a long message that only mentions "cost" somewhere is still a question
  -- about price; commands must be most of a short message
  local id, score = fuzzy.best(text, OPTIONS, { min_score = 0.85 })
  if not id then return nil end
  if not SIDE[id] then
    local words = select(2, text:gsub("%S+", ""))
    if words > 8 and score < 1 then return nil end
  end
  return id
end

function M.consumes(name) return not SIDE[name] end

local DEFAULTS = {
  cancel = function(c)
    if c.t.flow.states.cancelled then c:go("cancelled") else c:say("not_understood") end
  end,
  restart = function(c)
    for k in pairs(c.slots) do c.slots[k] = nil end
    c:go(c.t.flow.start)
  end,
  human = function(c)
    c:handoff("asked")
    c.quiet = true
    c:say("handoff")
  end,
  help = function(c)
    if c.t.catalog:has("help") then c:say("help") end
  end,
  reschedule = function(c) c:say("not_understood") end,
  price = function(c)
    if c.t.catalog:has("prices") then c:say("prices") end
  end,
}

function M.default(name) return DEFAULTS[name] end

return M

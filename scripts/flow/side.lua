--- flow.side: what the engine answers besides the flow's own question: a
--- customer handed off to a person, the price of one option, a question the
--- bot cannot answer, an acknowledgement of a changed answer.
--
--   side.held(c, conv, lex) -> true when the turn is answered because the
--       conversation is with a person (conv.handoff without resumed):
--       "continue" / "bot" hands it back (message "resumed"), cancel and
--       start over still work (false: the engine runs them), anything else
--       gets "handed_off" and no question
--   side.price_of(c) -> true when a short message (10 words at most) names
--       an option with a price and the tenant has the message "price_of"
--       ({item}, {price})
--   side.unknown_question(c) -> says "unknown_question" (else "not_understood")
--   side.acknowledge(c, names, before, was) -> says "changed" ({value}) for
--       the slots of names whose earlier value (before this turn, or before
--       an edit cleared it: was) differs; names without one are new answers
--
-- Message keys are optional: a tenant without one gets the plain behaviour.
-- None of these yield.
local intents = require "flow.intents"
local same = require("flow.fill").same
local types = require "flow.slot_types"
local fuzzy = require "text.fuzzy"

local M = {}

local function has(c, key) return c.t.catalog:has(key) end

function M.held(c, conv, lex)
  local h = conv.handoff
  if type(h) ~= "table" or h.resumed or not c.msg.text then return false end
  if intents.resumes(c.msg.text, lex.intents) then
    h.resumed = c:now()
    if has(c, "resumed") then c:say("resumed") end
    return "resumed"
  end
  local intent = intents.detect(c.msg.text, lex.intents)
  if intent == "cancel" or intent == "restart" then
    h.resumed = c:now()
    return false
  end
  c:say(has(c, "handed_off") and "handed_off" or "handoff")
  c.quiet = true
  return true
end

-- the options of a tenant's choice slots that have a price, kept per flow
local priced = setmetatable({}, { __mode = "k" })

local function priced_options(c)
  local flow = c.t.flow
  local list = priced[flow]
  if list then return list end
  list = {}
  local names = {}
  for name in pairs(flow.slots or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local decl = flow.slots[name]
    if (decl.type == "choice" or decl.type == "choices") and type(decl.options) == "table" then
      for _, o in ipairs(types.options(decl, c)) do
        local price = o.option.price
        if type(price) == "number" then list[#list + 1] = { id = #list + 1, names = o.names, title = o.title, price = price } end
      end
    end
  end
  priced[flow] = list
  return list
end

local SHORT = 10                                   -- words: a longer message is more than a price question

function M.price_of(c)
  if not has(c, "price_of") or not c.msg.text then return false end
  if select(2, c.msg.text:gsub("%S+", "")) > SHORT then return false end
  local list = priced_options(c)
  if #list == 0 then return false end
  local id = fuzzy.best(c.msg.text, list, { min_score = 0.8 })
  if not id then return false end
  local o = list[id]
  local title = has(c, o.title) and c:text(o.title) or o.title
  c:say("price_of", { item = title, price = o.price })
  return true
end

function M.unknown_question(c)
  c:say(has(c, "unknown_question") and "unknown_question" or "not_understood")
end

function M.acknowledge(c, names, before, was)
  if not has(c, "changed") then return end
  local parts = {}
  for _, name in ipairs(names) do
    local prev = before[name]
    if prev == nil and was then prev = was[name] end
    if was then was[name] = nil end
    if prev ~= nil and not same(prev, c.slots[name]) then parts[#parts + 1] = c:show(name) end
  end
  if #parts > 0 then c:say("changed", { value = table.concat(parts, ", ") }) end
end

return M

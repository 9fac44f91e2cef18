-- BANT from what a prospect writes: budget, authority, need, timeline.
-- Each reader takes the message and whether its question was the one asked
-- (then a plain answer counts), and returns the value or nil. Pure.
local extract = require "text.extract"

local M = {}

M.ORDER = { "need", "budget", "authority", "timeline" }

--- text in small letters, Cyrillic too (string.lower knows ASCII only)
function M.lower(text)
  return (text:lower():gsub("\208([\144-\175])", function(b)
    local v = b:byte() - 0x90                        -- А..Я -> 0..31
    if v < 16 then return "\208" .. string.char(0xB0 + v) end
    return "\209" .. string.char(0x80 + v - 16)
  end))
end

local function number(s)
  local n = tonumber((s:gsub("[,%s]", "")))
  return n
end

--- "$5,000", "5k", "10 000 usd", "around 3000 dollars" -> 5000 (USD, as said)
function M.budget(text, asked)
  local s = text:lower()
  local n, k = s:match("%$%s*(%d[%d,]*%.?%d*)%s*([km]?)")
  if not n then n, k = s:match("(%d[%d, ]*%.?%d*)%s*([km]?)%s*[%$]") end
  if not n then n, k = s:match("(%d[%d,]*%.?%d*)%s*([km]?)%s*usd") end
  if not n then n, k = s:match("(%d[%d,]*%.?%d*)%s*([km]?)%s*dollars") end
  if not n and (asked or s:find("budget")) then n, k = s:match("(%d[%d,]*%.?%d*)%s*([km]?)%f[%A]") end
  if not n then return nil end
  local v = number(n)
  if not v then return nil end
  if k == "k" then v = v * 1000 elseif k == "m" then v = v * 1000000 end
  return v
end

local YES = { "i decide", "my decision", "i sign", "up to me", "i'm the owner", "i am the owner", "i'm the ceo",
              "i am the ceo", "i'm the founder", "i am the founder", "decision maker", "i own the" }
local NO = { "my boss", "approval", "not my decision", "the board", "my manager", "someone else decides",
             "not up to me", "need to ask" }

--- true: they decide; false: someone else does
function M.authority(text, asked)
  local s = text:lower()
  for _, p in ipairs(NO) do if s:find(p, 1, true) then return false end end
  for _, p in ipairs(YES) do if s:find(p, 1, true) then return true end end
  if asked then return extract.yes_no(text) end
end

local NEEDS = { "we need", "i need", "looking for", "we want", "i want", "our problem", "struggling", "we have a problem" }

--- what they need, in their words
function M.need(text, asked)
  local s = text:lower()
  for _, p in ipairs(NEEDS) do
    if s:find(p, 1, true) then return text end
  end
  if asked and #text >= 3 then return text end
end

local WHEN = {
  { "asap", 0 }, { "right away", 0 }, { "immediately", 0 }, { "this week", 0 }, { "this month", 1 },
  { "next month", 1 }, { "this quarter", 3 }, { "next quarter", 4 }, { "this year", 6 }, { "next year", 12 },
}

--- months from now (0: now), from "in 2 months", "next quarter", "asap"
function M.timeline(text, asked)
  local s = text:lower()
  local n, unit = s:match("(%d+)%s*(%a+)")
  if n and unit then
    if unit:find("^week") then return math.ceil(tonumber(n) / 4) end
    if unit:find("^month") then return tonumber(n) end
    if unit:find("^year") then return tonumber(n) * 12 end
  end
  for _, w in ipairs(WHEN) do
    if s:find(w[1], 1, true) then return w[2] end
  end
  if asked and s:find("no rush", 1, true) then return 12 end
end

--- BANT points (0-4) and the stage: "qualified" (>= rules.call_at),
--- "nurture" (any point) or "cold"
function M.score(slots, rules)
  local points = 0
  if slots.need then points = points + 1 end
  if slots.budget and slots.budget >= rules.min_budget then points = points + 1 end
  if slots.authority == true then points = points + 1 end
  if slots.timeline and slots.timeline <= rules.max_months then points = points + 1 end
  local stage = points >= rules.call_at and "qualified" or points > 0 and "nurture" or "cold"
  return points, stage
end

--- a line for the rep: "need: CRM for 20 agents; budget: 5000; decides: yes; when: 2 months"
function M.summary(slots)
  local function show(v)
    if v == nil then return "?" end
    if v == true then return "yes" elseif v == false then return "no" end
    return tostring(v)
  end
  return ("need: %s; budget: %s; decides: %s; months: %s"):format(show(slots.need), show(slots.budget),
    show(slots.authority), show(slots.timeline))
end

return M

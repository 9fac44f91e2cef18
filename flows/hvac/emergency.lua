-- An emergency: the caller says "emergency", or a system is down (no heat,
-- no cooling) with someone vulnerable at home or extreme weather. It is
-- booked as urgent on the earliest visit today, or goes to a dispatcher.
local M = {}

local DOWN = { "no heat", "no heating", "heat is out", "heater is out", "furnace is out", "furnace stopped",
               "no cooling", "no ac", "no a/c", "no air", "ac is out", "ac stopped", "not cooling", "not heating",
               "no cold air", "no hot air" }
local AT_RISK = { "elderly", "senior", "grandm", "grandp", "baby", "infant", "newborn", "toddler", "pregnan",
                  "disab", "medical", "oxygen", "sick", "heart condition", "asthma", "wheelchair",
                  "freezing", "below zero", "below freezing", "ice storm", "snow", "heat wave", "heatwave",
                  "100 degrees", "triple digit", "extreme heat", "extreme cold", "sweltering", "dangerously" }

local function any(text, list)
  for _, w in ipairs(list) do if text:find(w, 1, true) then return true end end
  return false
end

--- true when the tool's arguments describe an emergency
function M.is(args)
  if args.urgency == "emergency" then return true end
  local text = (tostring(args.service_type or "") .. " " .. tostring(args.notes or "")):lower()
  return any(text, DOWN) and any(text, AT_RISK)
end

return M

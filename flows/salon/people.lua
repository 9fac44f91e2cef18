-- Who the customer books with, and their number.
--
--   people.stylists(c)    the stylist question's options: the stylists who
--                         work at the chosen location and do the chosen
--                         service, then "cualquiera" (any: the engine picks)
--   people.phone(msg, slot, c, asked)  a Mexican number (10 digits, +52 and
--                         spaces tolerated) -> "5512345678"
--   people.known_phone(c) on WhatsApp the number is the sender's: no need to ask
local M = {}

local ANY = { id = "any", title = "Cualquiera",
              names = { "cualquiera", "cualquier", "quien sea", "el que sea", "la que sea", "da igual",
                        "no importa", "me da igual", "el primero libre", "la que tenga lugar" } }

local function has(list, v)
  for _, x in ipairs(list or {}) do if x == v then return true end end
  return false
end

function M.stylists(c)
  local out = {}
  local skill = c.slots.service
  for id, r in pairs(tenant.booking.resources) do
    if (c.slots.location == nil or has(r.areas, c.slots.location)) and (skill == nil or has(r.skills, skill)) then
      out[#out + 1] = { id = id, title = r.name }
    end
  end
  table.sort(out, function(a, b) return a.title < b.title end)
  out[#out + 1] = ANY
  return out
end

local function ten_digits(text)
  local digits = tostring(text or ""):gsub("%D", "")
  if #digits == 13 and digits:sub(1, 3) == "521" then digits = digits:sub(4) end
  if #digits == 12 and digits:sub(1, 2) == "52" then digits = digits:sub(3) end
  if #digits == 10 then return digits end
  return nil, #digits >= 7 and "invalid" or nil
end

function M.phone(msg, _, _, asked)
  local text = msg.text or ""
  local run = text:match("%+?[%d][%d%s%-%.]+%d")
  if not run then return nil end
  local v, why = ten_digits(run)
  if v or asked then return v, why end
end

function M.known_phone(c)
  local who = c.conv.id:match("^twilio:whatsapp:(%+%d+)$") or c.conv.id:match("^whatsapp:(%d+)$")
  if who and not c.slots.phone then c:set("phone", (ten_digits(who))) end
end

return M

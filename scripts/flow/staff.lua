--- flow.staff: the people of a tenant other than its customers (the owner,
--- stylists, dispatchers), and messages to them.
--
-- In the tenant config:
--   staff = {
--     owner = { name = "Lucía", whatsapp = "+5215512345678", telegram = 123456789,
--               lang = "es", channel = "twilio" },    -- channel: optional, see below
--   }
--
--   staff.parse(decl, channels) -> people | nil, problem
--       people[id] = {id, name, lang, channel, to, address}: the channel a
--       message to them goes on and their address there; address is the
--       conversation id a message from them arrives on ("whatsapp:5215...",
--       "twilio:whatsapp:+52...", "telegram:123456789")
--   staff.of(settings, conversation_id) -> person | nil   (is this sender staff?)
--   staff.notify(tenant, settings, person_id, message, id) -> id | nil, err
--       through the outbox (channels.outbound.later, due now): journaled,
--       retried, and once per id (scheduling an id again is a no-op)
--
-- The channel: `channel` when given, else the first the tenant has enabled
-- of telegram (with `telegram`), whatsapp, twilio, wapi (with `whatsapp`).
local M = {}

local PHONE = { "whatsapp", "twilio", "wapi" }

-- {channel, to, address} of a person on one channel, or nil
local function on(channel, p)
  if channel == "telegram" and p.telegram then
    local id = tostring(p.telegram)
    return { channel = "telegram", to = id, address = "telegram:" .. id }
  end
  local digits = p.whatsapp and tostring(p.whatsapp):gsub("%D", "")
  if not digits or digits == "" then return nil end
  if channel == "twilio" then
    return { channel = "twilio", to = "whatsapp:+" .. digits, address = "twilio:whatsapp:+" .. digits }
  end
  if channel == "whatsapp" or channel == "wapi" then
    return { channel = channel, to = digits, address = channel .. ":" .. digits }
  end
end

function M.parse(decl, channels)
  if decl == nil then return {} end
  if type(decl) ~= "table" then return nil, { msg = "staff must map ids to people, e.g. owner = { name = ..., whatsapp = \"+52...\" }" } end
  channels = type(channels) == "table" and channels or {}
  local out = {}
  for id, p in pairs(decl) do
    local function bad(msg) return nil, { id = id, msg = ("staff '%s': %s"):format(tostring(id), msg) } end
    if type(id) ~= "string" or not id:match("^[%w_]+$") then return bad("an id is letters, digits and _") end
    if type(p) ~= "table" then return bad("must be { name = ..., whatsapp = \"+52...\" or telegram = <chat id> }") end
    if p.whatsapp == nil and p.telegram == nil then return bad("needs a whatsapp number or a telegram chat id") end
    local where
    if p.channel ~= nil then
      if not channels[p.channel] then return bad(("channel '%s' is not enabled for this tenant"):format(tostring(p.channel))) end
      where = on(p.channel, p)
      if not where then return bad(("has no address on %s"):format(p.channel)) end
    else
      if p.telegram and channels.telegram then where = on("telegram", p) end
      for _, ch in ipairs(PHONE) do
        if not where and channels[ch] then where = on(ch, p) end
      end
    end
    out[id] = { id = id, name = p.name or id, lang = p.lang, channel = where and where.channel,
                to = where and where.to, address = where and where.address }
  end
  return out
end

-- every address a person may write from (on each enabled channel)
local function addresses(p, channels)
  local out = {}
  for _, ch in ipairs{ "telegram", "whatsapp", "twilio", "wapi" } do
    if channels[ch] then
      local w = on(ch, p)
      if w then out[#out + 1] = w.address end
    end
  end
  return out
end

function M.of(settings, conversation)
  local decl = settings and settings.staff
  if type(decl) ~= "table" or type(conversation) ~= "string" then return nil end
  local people = M.parse(decl, settings.channels)
  for id, p in pairs(people or {}) do
    for _, a in ipairs(addresses(decl[id], settings.channels or {})) do
      if a == conversation then return p end
    end
  end
end

function M.notify(tenant, settings, person, message, id)
  local people, problem = M.parse(settings and settings.staff, settings and settings.channels)
  if not people then return nil, problem.msg end
  local p = people[person]
  if not p then return nil, "no such person" end
  if not p.channel then return nil, "no channel" end
  return require("channels.outbound").later(require("time").now(), tenant, p.channel, p.to, message, id)
end

return M

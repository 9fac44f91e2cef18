--- studio.conversations: a tenant's conversations for the studio: a page
--- of them newest first, a search, one with its transcript.
--
--   conversations.page(who, q, cursor) -> {conversations, next} | nil, err
--       who: the tenant ("salon") or a rep ("salesco.anna"); q (optional):
--       a phone, a name or an id (part of one, any case); cursor: where the
--       previous page ended (nil: the newest). 50 a page.
--   conversations.get(who, id) -> {id, state, slots, transcript} | nil
--
-- The list reads the index flow.store keeps (fh:convs:{T}: "<name>\t<phone>\t<id>"
-- by the time of the last turn): a page is one ZREVRANGE and one pipeline
-- of GETs. A search reads the index's members (not the records) newest
-- first, 2,000 a step, keeps those whose name, phone or id hold the query,
-- and reads the records of the first 50 only; it stops after 0.5 s with a
-- cursor to go on from (never reached with 10,000 conversations).
local redis = require "redis"
local json = require "json"
local time = require "time"
local store = require "flow.store"
local identity = require "flow.identity"

local M = {}

local PAGE, STEP, BUDGET = 50, 2000, 0.5

-- what the list shows of one conversation record
local function summary(id, conv, updated)
  local who = identity.of(id)
  local slots = type(conv.slots) == "table" and conv.slots or {}
  local name = slots.name or (type(conv.data) == "table" and conv.data.name) or nil
  local phone = who.phone or slots.phone or nil
  return { id = id, name = type(name) == "string" and name or json.null,
           phone = type(phone) == "string" and phone or (type(phone) == "number" and tostring(phone)) or json.null,
           channel = who.channel, state = conv.state or json.null, updated = updated }
end

-- the records of the members' conversations (GETs in one pipeline); a
-- member whose record is gone leaves the index
local function records(who, members)
  if #members == 0 then return {} end
  local cmds = {}
  for i, m in ipairs(members) do cmds[i] = { "GET", store.key(who, store.member_id(m)) } end
  local res, err = redis.pipeline(cmds)
  if not res then return nil, err end
  local out, gone = {}, {}
  for i, m in ipairs(members) do
    local conv = type(res[i]) == "string" and json.decode(res[i])
    if type(conv) == "table" then out[m] = conv else gone[#gone + 1] = m end
  end
  if #gone > 0 then redis.call("ZREM", store.index(who), unpack(gone)) end
  return out
end

-- whether index member m matches the query: its name (lower case already),
-- its phone (digits) or its id hold it (plain finds: 10,000 take a few ms)
local function hit(m, q, digits)
  return m:find(q, 1, true) ~= nil or (digits ~= "" and m:find(digits, 1, true) ~= nil)
end

function M.page(who, q, cursor)
  local from = math.max(0, math.floor(tonumber(cursor) or 0))
  local key = store.index(who)
  q = type(q) == "string" and q:lower():gsub("^%s+", ""):gsub("%s+$", "") or ""
  local digits = q:gsub("[^%d]", "")
  if #digits < 3 or #digits < #q - 3 then digits = "" end   -- (a phone, not a name with a number in it)
  local picked, at = {}, {}
  local t0 = time.monotonic()
  local step = q == "" and PAGE or STEP
  local done = false
  while #picked < PAGE do
    local flat, err = redis.call("ZREVRANGE", key, from, from + step - 1, "WITHSCORES")
    if type(flat) ~= "table" then return nil, err end
    local n = #flat / 2
    local used = 0
    for i = 1, #flat, 2 do
      used = used + 1
      local m = flat[i]
      if q == "" or hit(m, q, digits) then
        picked[#picked + 1] = m
        at[m] = tonumber(flat[i + 1])
        if #picked >= PAGE then break end
      end
    end
    from = from + used
    if n < step and used == n then done = true; break end
    if time.monotonic() - t0 > BUDGET then break end
  end
  local recs, rerr = records(who, picked)
  if not recs then return nil, rerr end
  local out = {}
  for _, m in ipairs(picked) do
    if recs[m] then out[#out + 1] = summary(store.member_id(m), recs[m], math.floor(at[m])) end
  end
  return { conversations = out, next = done and json.null or tostring(from) }
end

local FROM = { customer = "customer", user = "customer", bot = "bot", assistant = "bot", staff = "staff" }

function M.get(who, id)
  local raw = redis.call("GET", store.key(who, id))
  local conv = type(raw) == "string" and json.decode(raw)
  if type(conv) ~= "table" then return nil end
  local transcript = {}
  for i, h in ipairs(type(conv.history) == "table" and conv.history or {}) do
    local from = FROM[h.who] or "system"
    transcript[i] = { from = from, text = tostring(h.text or ""), time = h.at or json.null, handoff = from == "staff" }
  end
  local ho = type(conv.handoff) == "table" and conv.handoff or nil
  if ho then                                       -- a marker where the hand-off stands
    transcript[#transcript + 1] = { from = "system", handoff = true, time = ho.resumed or ho.opened or json.null,
      text = ho.resumed and "back with the assistant" or ("with a person" .. (ho.reason and (" (" .. tostring(ho.reason) .. ")") or "")) }
  end
  local slots = {}
  for k, v in pairs(type(conv.slots) == "table" and conv.slots or {}) do slots[k] = v end
  return { id = id, state = conv.state or json.null, slots = slots, transcript = json.array(transcript),
           handoff = ho or json.null }
end

return M

--- studio.conversations: a tenant's conversations for the studio: a page
--- of them newest first, a search, one with its transcript.
--
--   conversations.page(who, q, cursor) -> {conversations, next} | nil, err
--       who: the tenant ("salon") or a rep ("salesco.anna"); q (optional):
--       a phone, a name or an id (part of one, any case); cursor: where the
--       previous page ended (nil: the newest). 50 a page.
--   conversations.get(who, id) -> {id, state, slots, transcript} | nil
--
-- The list reads the index flow.store keeps (fh:convs:{T}: id -> time of
-- its last turn): a page is one ZREVRANGE and one pipeline of GETs. A
-- search walks that index newest first, 500 records a step, for at most
-- 0.5 s, and answers the matches found with a cursor to go on from (so it
-- stays fast however many conversations there are; a query that matches
-- rarely may answer fewer than 50 with a next cursor).
local redis = require "redis"
local json = require "json"
local time = require "time"
local store = require "flow.store"
local identity = require "flow.identity"

local M = {}

local PAGE, STEP, BUDGET = 50, 500, 0.5

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

-- the records of ids (GETs in one pipeline); ids whose record is gone leave the index
local function records(who, ids)
  if #ids == 0 then return {} end
  local cmds = {}
  for i, id in ipairs(ids) do cmds[i] = { "GET", store.key(who, id) } end
  local res, err = redis.pipeline(cmds)
  if not res then return nil, err end
  local out, gone = {}, {}
  for i, id in ipairs(ids) do
    local conv = type(res[i]) == "string" and json.decode(res[i])
    if type(conv) == "table" then out[id] = conv else gone[#gone + 1] = id end
  end
  if #gone > 0 then redis.call("ZREM", store.index(who), unpack(gone)) end
  return out
end

local function matches(s, q)
  return type(s) == "string" and s:lower():find(q, 1, true) ~= nil
end

function M.page(who, q, cursor)
  local from = math.max(0, math.floor(tonumber(cursor) or 0))
  local key = store.index(who)
  q = type(q) == "string" and q:lower():gsub("^%s+", ""):gsub("%s+$", "") or ""
  local out = {}
  local t0 = time.monotonic()
  local step = q == "" and PAGE or STEP
  while true do
    local flat, err = redis.call("ZREVRANGE", key, from, from + step - 1, "WITHSCORES")
    if type(flat) ~= "table" then return nil, err end
    local ids, at = {}, {}
    for i = 1, #flat, 2 do ids[#ids + 1] = flat[i]; at[flat[i]] = tonumber(flat[i + 1]) end
    local recs, rerr = records(who, ids)
    if not recs then return nil, rerr end
    local taken = 0
    for _, id in ipairs(ids) do
      taken = taken + 1
      local conv = recs[id]
      if conv then
        local s = summary(id, conv, math.floor(at[id]))
        local digits = q:gsub("[^%d]", "")
        if q == "" or matches(id, q) or matches(s.name, q) or (digits ~= "" and #digits >= 3 and matches(
             type(s.phone) == "string" and s.phone:gsub("[^%d]", "") or nil, digits)) then
          out[#out + 1] = s
          if #out >= PAGE then break end
        end
      end
    end
    from = from + taken
    if #ids < step then return { conversations = out, next = json.null } end
    if #out >= PAGE or time.monotonic() - t0 > BUDGET then return { conversations = out, next = tostring(from) } end
  end
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

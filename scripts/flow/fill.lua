--- flow.fill: slot filling from one message.
--
--   fill.run(c, opts) -> changed, problem
--       changed: names of the slots this message filled or corrected
--       problem: {slot, reason} when a value was recognised but is not valid
--                (the customer is told why and asked again; nothing else is lost)
--   opts.correcting: the customer is correcting earlier answers, so values
--                    found may overwrite filled slots (otherwise filled slots
--                    keep their value and later guesses are ignored)
--   opts.llm_for: list of slots the LLM may fill when the rules found nothing
--                 for the slot that was asked
--   opts.only: the one slot to look for (a question may answer only that)
--   fill.same(a, b) -> true when two slot values are equal (lists item by item)
local types = require "flow.slot_types"
local extract = require "text.extract"
local log = require "log"
local tz = require "tz"
local json = require "json"

local M = {}

local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end
M.same = same

-- the slots to look at, the one asked first (the flow's slot names in
-- order are kept per slots table while it holds the same names)
local sorted = setmetatable({}, { __mode = "k" })
local function order(slots, asked)
  local all = sorted[slots]
  local n = 0
  for _ in pairs(slots) do n = n + 1 end
  if not all or all.n ~= n then
    all = { n = n }
    for name in pairs(slots) do all[#all + 1] = name end
    table.sort(all)
    sorted[slots] = all
  else
    for i = 1, n do
      if slots[all[i]] == nil then sorted[slots] = nil; return order(slots, asked) end
    end
  end
  local names = {}
  if asked and slots[asked] then names[1] = asked end
  for i = 1, n do
    local name = all[i]
    if name ~= asked then names[#names + 1] = name end
  end
  return names
end

local function validate(c, name, value)
  local decl = c.t.flow.slots[name]
  local check = decl.validate or types[decl.type].validate
  if not check then return true end
  return check(value, decl, c)
end

-- offer one value for a slot; returns true when it changed the slot
local function offer(c, name, value, correcting, changed)
  local ok, reason = validate(c, name, value)
  if not ok then return false, reason end
  local current = c.slots[name]
  if current ~= nil and not correcting and name ~= c.conv.asked then return false end
  if same(current, value) then return false end
  c.slots[name] = value
  changed[#changed + 1] = name
  return true
end

local function by_rules(c, correcting, changed, only)
  local problem
  local slots, asked_name, msg, filled = c.t.flow.slots, c.conv.asked, c.msg, c.slots
  for _, name in ipairs(only and { only } or order(slots, asked_name)) do
    local decl = slots[name]
    local asked = name == asked_name
    -- a filled slot that is neither asked nor corrected keeps its value
    -- whatever the message holds (offer), and gives no problem: not read
    local skip = not asked and not correcting and filled[name] ~= nil
    local value, why
    if not skip then
      local ex = decl.extract or types[decl.type].extract
      value, why = ex(msg, decl, c, asked)
    end
    if value ~= nil then
      local _, reason = offer(c, name, value, correcting, changed)
      if reason and not problem and (asked or correcting or filled[name] == nil) then
        problem = { slot = name, reason = reason }
      end
    elseif why == "invalid" and not problem and (asked or correcting or filled[name] == nil) then
      problem = { slot = name, reason = "invalid" }
    end
  end
  return problem
end

-- the slot's schema, or null when the message does not say
local function nullable(s)
  local out = {}
  for k, v in pairs(s) do out[k] = v end
  out.type = { s.type, "null" }
  if s.enum then
    out.enum = { unpack(s.enum) }
    out.enum[#out.enum + 1] = json.null
  end
  return out
end

local function by_llm(c, names, changed)
  local client = c:llm()
  if not client or not c.msg.text or c.msg.text == "" then return end
  local props, wanted = {}, {}
  for _, name in ipairs(names) do
    local decl = c.t.flow.slots[name]
    if c.slots[name] == nil then
      local schema = nullable(types[decl.type].schema(decl, c))
      schema.description = decl.describe or schema.description
      props[name] = schema
      wanted[#wanted + 1] = name
    end
  end
  if #wanted == 0 then return end
  local zone = c.tenant.timezone
  local now = c:now()
  local system = ("You extract booking details for %s from one customer message. Today is %s (%s, %s). "
    .. "Answer only with the fields; use null for anything the message does not state.")
    :format(c.t.name, tz.date(now, zone), os.date("!%A", now + tz.local_time(now, zone).offset), zone)
  local got, err = client:extract{ system = system, text = c.msg.text, name = "booking_details",
    schema = { type = "object", properties = props, required = wanted, additionalProperties = false },
    deadline = c.deadline }
  if not got then
    log.warn("llm extraction failed; continuing on rules", { tenant = c.t.id, conversation = c.conv.id, err = err })
    c.llm_error = err
    return
  end
  for _, name in ipairs(wanted) do
    local v = got[name]
    if v ~= nil and v ~= json.null then
      local decl = c.t.flow.slots[name]
      if type(v) == "string" and decl.type ~= "choice" then
        -- the rules normalise what the LLM read (e.g. "98765 43210" -> "9876543210")
        local ex = decl.extract or types[decl.type].extract
        local norm = ex({ text = v }, decl, c, true)
        if decl.type == "date" and not norm and v:match("^%d%d%d%d%-%d%d%-%d%d$") then norm = v end
        v = norm
      end
      if v ~= nil then offer(c, name, v, false, changed) end
    end
  end
end

function M.run(c, opts)
  opts = opts or {}
  local changed = {}
  local correcting = opts.correcting or (c.msg.text and extract.correction(c.msg.text)) or false
  local problem = by_rules(c, correcting, changed, opts.only)
  local asked = c.conv.asked
  if not problem and opts.llm_for and asked and c.slots[asked] == nil then
    by_llm(c, opts.llm_for, changed)
  end
  return changed, problem
end

return M

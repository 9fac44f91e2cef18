--- flow.slot_types: the kinds of slot a flow can fill, each with a rule
--- extractor, a validator, how to show a value and the JSON schema an LLM
--- is asked to fill.
--
--   type.extract(msg, slot, c, asked) -> value | nil, reason | nil
--       msg = {text, button}; asked: this slot is the question on the table
--       (a bare "Rahul" counts as a name only then)
--   type.validate(value, slot, c) -> true | nil, reason       (optional)
--   type.show(value, slot, c) -> text
--   type.schema(slot, c) -> JSON schema of the value (for LLM extraction)
--
-- A slot declaration may replace extract, validate and show with its own
-- functions. Reasons ("invalid", "past", "too_far") map to message keys
-- through the slot's `invalid` field.
local extract = require "text.extract"
local fuzzy = require "text.fuzzy"
local words = require "text.words"
local tz = require "tz"

local M = {}

local function text_of(msg) return msg.text or "" end
local trim = words.trim

-- "2", " 2) ", "3." -> the number | nil (trimmed first: a pattern with
-- white space on both sides of an optional part backtracks quadratically)
local function list_number(text)
  return tonumber(trim(text):match("^(%d+)%s*[%.%)]?$"))
end

-- options: a list of {id, title, names?} or a function(c) returning one
local static = setmetatable({}, { __mode = "k" })    -- slot -> its options, built once

function M.options(slot, c)
  local list = slot.options
  if type(list) == "function" then list = list(c)
  elseif static[slot] then return static[slot] end
  local out = {}
  for i, o in ipairs(list or {}) do
    local names = { (o.id:gsub("_", " ")) }
    if o.title then names[#names + 1] = o.title end
    for _, n in ipairs(o.names or {}) do names[#names + 1] = n end
    out[i] = { id = o.id, title = o.title or o.id, names = names, option = o }
  end
  -- a slot's own list is read once; the list made from it is the runtime's
  -- and never changes: matching need not check it again (fuzzy.seal)
  if type(slot.options) == "table" then static[slot] = fuzzy.seal(out) end
  return out
end

local function option_title(slot, c, id)
  for _, o in ipairs(M.options(slot, c)) do
    if o.id == id then return o.title end
  end
  return tostring(id)
end

M.text = {
  extract = function(msg, _, _, asked)
    if asked then
      local t = trim(text_of(msg))
      if t ~= "" then return t end
    end
  end,
  show = function(v) return v end,
  schema = function() return { type = "string" } end,
}

M.name = {
  extract = function(msg, _, _, asked) return extract.name(text_of(msg), { asked = asked }) end,
  show = function(v) return v end,
  schema = function() return { type = "string", description = "the customer's name as they wrote it" } end,
}

M.phone_in = {
  extract = function(msg) return extract.phone_in(text_of(msg)) end,
  show = function(v) return "+91 " .. v:sub(1, 5) .. " " .. v:sub(6) end,
  schema = function() return { type = "string", description = "Indian mobile number, 10 digits" } end,
}

M.plate_in = {
  extract = function(msg) return extract.plate_in(text_of(msg)) end,
  show = function(v) return v end,
  schema = function() return { type = "string", description = "Indian vehicle registration number, e.g. MH12AB1234" } end,
}

M.email = {
  extract = function(msg) return extract.email(text_of(msg)) end,
  show = function(v) return v end,
  schema = function() return { type = "string", description = "email address" } end,
}

M.choice = {
  extract = function(msg, slot, c, asked)
    local options = M.options(slot, c)
    if msg.button then
      for _, o in ipairs(options) do
        if o.id == msg.button then return o.id end
      end
    end
    local id = fuzzy.best(text_of(msg), options, { min_score = asked and 0.6 or 0.8 })
    if not id and asked then
      -- a number picks from the list the customer was shown ("2", "el dos")
      local n = list_number(text_of(msg)) or extract.number(text_of(msg))
      if n and options[n] then return options[n].id end
      -- "cualquiera", "anyone": the option declared {id = "any"} or {any = true}
      if extract.any(text_of(msg)) then
        for _, o in ipairs(options) do
          if o.id == "any" or (type(o.option) == "table" and o.option.any) then return o.id end
        end
      end
    end
    return id
  end,
  show = function(v, slot, c) return option_title(slot, c, v) end,
  schema = function(slot, c)
    local ids = {}
    for i, o in ipairs(M.options(slot, c)) do ids[i] = o.id end
    return { type = "string", enum = ids }
  end,
}

local NONE = { "none", "no", "nothing", "skip", "no thanks", "nope", "not needed", "nahi", "kuch nahi" }

-- "2", "1 and 3", "1, 3" -> the options with those numbers | nil (only
-- numbers, separators and "and"/"aur" in the message)
local function list_numbers(text, options)
  local t = trim(text:lower())
  if t == "" or t:find("[^%d%s,&%.%)andur]") then return nil end
  local rest = t:gsub("%d+", ""):gsub("and", ""):gsub("aur", ""):gsub("[%s,&%.%)]", "")
  if rest ~= "" then return nil end
  local ids, seen = {}, {}
  for d in t:gmatch("%d+") do
    local o = options[tonumber(d)]
    if not o then return nil end
    if not seen[o.id] then seen[o.id] = true; ids[#ids + 1] = o.id end
  end
  return #ids > 0 and ids or nil
end

M.choices = {
  extract = function(msg, slot, c, asked)
    local options = M.options(slot, c)
    if msg.button then
      if msg.button == "none" then return {} end
      for _, o in ipairs(options) do
        if o.id == msg.button then return { o.id } end
      end
    end
    local ids = fuzzy.all(text_of(msg), options, { min_score = asked and 0.6 or 0.85 })
    if ids and #ids > 0 then return ids end
    if asked then
      local picked = list_numbers(text_of(msg), options)     -- the buttons' numbers
      if picked then return picked end
      local t = trim((text_of(msg):lower():gsub("[%p]", " ")))
      for _, w in ipairs(NONE) do
        if t == w or t:find("^" .. w .. " ") then return {} end
      end
      if extract.yes_no(text_of(msg)) == false then return {} end
    end
  end,
  show = function(v, slot, c)
    if #v == 0 then return "none" end
    local titles = {}
    for i, id in ipairs(v) do titles[i] = option_title(slot, c, id) end
    return table.concat(titles, ", ")
  end,
  schema = function(slot, c)
    local ids = {}
    for i, o in ipairs(M.options(slot, c)) do ids[i] = o.id end
    return { type = "array", items = { type = "string", enum = ids } }
  end,
}

M.date = {
  extract = function(msg, _, c)
    return (extract.date(text_of(msg), { now = c:now(), zone = c.tenant.timezone }))
  end,
  validate = function(v, slot, c)
    local today = tz.date(c:now(), c.tenant.timezone)
    if v < today then return nil, "past" end
    local horizon = slot.max_days
    if horizon then
      local last = tz.date(tz.add_days(c:now(), horizon, c.tenant.timezone), c.tenant.timezone)
      if v > last then return nil, "too_far" end
    end
    return true
  end,
  show = function(v, _, c)
    local t = tz.parse_iso(v .. "T12:00:00", c.tenant.timezone)
    return t and os.date("!%a %d %b", t + 0) or v
  end,
  schema = function() return { type = "string", description = "date as YYYY-MM-DD" } end,
}

M.yes_no = {
  extract = function(msg, _, _, asked)
    if msg.button == "yes" then return true elseif msg.button == "no" then return false end
    if asked then return extract.yes_no(text_of(msg)) end
  end,
  show = function(v) return v and "yes" or "no" end,
  schema = function() return { type = "boolean" } end,
}

return M

--- flow.business_shape: what flows/<tenant>/business.lua may hold, checked
--- field by field, with problems in the editor's words.
--
--   shape.check(data, problem)
--       calls problem(near, message, value?) for each mistake: near is the
--       field name to find the line by, value the text written (if any)
local M = {}

local function positive(v) return type(v) == "number" and v == v and v > 0 and v < math.huge end
local function whole_or_zero(v) return type(v) == "number" and v >= 0 and v % 1 == 0 end
local function text(v) return type(v) == "string" and v:find("%S") ~= nil end
local function words(v)
  if type(v) ~= "table" then return false end
  for _, w in ipairs(v) do if not text(w) then return false end end
  return true
end

local TOP = {
  support_phone = { text, "must be the phone number as customers should see it, in quotes" },
  currency = { text, "must be text like \"Rs.\"" },
  hold_minutes = { positive, "must be a number of minutes, like 10" },
  horizon_days = { positive, "must be a number of days, like 14" },
  start_every_minutes = { positive, "must be a number of minutes, like 30" },
  notice_minutes = { whole_or_zero, "must be a number of minutes, like 60 (0: no notice)" },
  hours = { function(v) return type(v) == "table" end, "must list the days, like hours = { every_day = \"9am-6pm\" }" },
  closed_on = { function(v) return type(v) == "table" end, "must be a list of dates like { \"2026-12-25\" }" },
  resources = { function(v) return type(v) == "table" end, "must name who or what does the work, like resources = { bay = { title = \"Bay\", count = 2 } }" },
  services = { function(v) return type(v) == "table" and v[1] ~= nil end, "must list at least one service" },
  addons = { function(v) return type(v) == "table" end, "must be a list of add-ons" },
  faq = { function(v) return type(v) == "table" end, "must be a list of questions and answers" },
  lists = { function(v) return type(v) == "table" end, "must hold named lists, like lists = { brands = { ... } }" },
  -- how customers write (flow.lexicon reads these)
  words = { function(v) return type(v) == "table" end, "must map a word to the spellings customers use, like words = { tomorrow = { \"tmrw\" } }" },
  intents = { function(v) return type(v) == "table" end, "must map an intent to more phrases, like intents = { human = { \"talk to the owner\" } }" },
  question_words = { words, "must be a list of words that open a question, like { \"donde\", \"cuanto\" }" },
}

local ITEM = {
  id = { function(v) return type(v) == "string" and v:match("^[a-z][a-z0-9_]*$") ~= nil end,
         "must be a short name in small letters, digits and _ (like \"foam_wash\")" },
  title = { text, "must be the name customers see, in quotes" },
  price = { positive, "must be a positive number (write 4999, not 4,999 or \"4999\")" },
  minutes = { positive, "must be a number of minutes, like 30" },
  buffer = { whole_or_zero, "must be a number of minutes (0 or more)" },
  buffer_before = { whole_or_zero, "must be a number of minutes (0 or more)" },
  needs = { text, "must name the skill it needs, like \"wash\"" },
  names = { words, "must be a list of words customers use, like { \"foam\", \"premium wash\" }" },
}

local RESOURCE = {
  title = ITEM.title, count = { function(v) return whole_or_zero(v) and v >= 1 end, "must be a whole number, 1 or more" },
  does = { words, "must list the skills, like { \"wash\" }" }, hours = TOP.hours,
  areas = { words, "must list area names" }, days_off = TOP.closed_on,
  -- an external calendar (docs/calendars.md), e.g. { odoo = { user_id = 7 } }
  calendar = { function(v) return type(v) == "table" end, "must name a calendar, like { odoo = { user_id = 7 } }" },
}

local FAQ = {
  id = ITEM.id, asks = { words, "must list how customers ask it, like { \"where are you\", \"address\" }" },
  answer = { function(v) return type(v) == "string" and v:match("^[%w_]+$") ~= nil end,
             "must name the message in messages.lua that answers it, like answer = \"faq_hours\"" },
}

-- fields of one table against a spec; required names must be there;
-- anchor: the item's id, where its lines start
local function fields(t, spec, where, problem, required, anchor)
  for k, v in pairs(t) do
    if type(k) == "number" then
      problem(where, ("%s has a value without a name (%s): is there a comma inside a number? Write 4999, not 4,999")
        :format(where, tostring(v)), nil, anchor)
    elseif not spec[k] then
      local known = {}
      for name in pairs(spec) do known[#known + 1] = name end
      table.sort(known)
      problem(k, ("%s: '%s' is not a field here (fields: %s)"):format(where, k, table.concat(known, ", ")), nil, anchor)
    elseif not spec[k][1](v) then
      problem(k, ("%s.%s %s"):format(where, k, spec[k][2]), type(v) == "string" and v or nil, anchor)
    end
  end
  for _, k in ipairs(required or {}) do
    if t[k] == nil then problem(where, ("%s needs %s"):format(where, k), nil, anchor) end
  end
end

local function list(items, spec, name, problem, required)
  local seen = {}
  for i, item in ipairs(items) do
    local label = item.id and (name .. " '" .. tostring(item.id) .. "'") or (name .. " " .. i)
    if type(item) ~= "table" then
      problem(name, ("%s must be { id = ..., title = ..., ... }"):format(label))
    else
      fields(item, spec, label, problem, required, type(item.id) == "string" and item.id or nil)
      if item.id ~= nil then
        if seen[item.id] then problem(item.id, ("%s is written twice"):format(label), item.id) end
        seen[item.id] = true
      end
    end
  end
end

function M.check(data, problem)
  for k, v in pairs(data) do
    if type(k) ~= "string" or not TOP[k] then
      local known = {}
      for name in pairs(TOP) do known[#known + 1] = name end
      table.sort(known)
      problem(k, ("'%s' is not a business setting (settings: %s)"):format(tostring(k), table.concat(known, ", ")))
    elseif not TOP[k][1](v) then
      problem(k, k .. " " .. TOP[k][2])
    end
  end
  if data.services == nil then problem("services", "services must list at least one service") end
  if type(data.services) == "table" then
    list(data.services, ITEM, "service", problem, { "id", "title", "price", "minutes" })
  end
  if type(data.addons) == "table" then list(data.addons, ITEM, "add-on", problem, { "id", "title", "price" }) end
  if type(data.faq) == "table" then list(data.faq, FAQ, "faq", problem, { "asks", "answer" }) end
  if type(data.resources) == "table" then
    for kind, r in pairs(data.resources) do
      if type(r) ~= "table" then problem(kind, ("resources.%s must be { title = ..., count = ... }"):format(tostring(kind)))
      else fields(r, RESOURCE, "resources." .. tostring(kind), problem, nil, nil) end
    end
  end
end

return M

--- flow.business: a tenant's business data, apart from its plumbing.
---
--- flows/<tenant>/business.lua is what the business team edits: services,
--- prices, add-ons, opening hours, FAQ answers, words customers use. It is
--- data only (no env(), no require): the plumbing (channel credentials,
--- URLs, rates, LLM endpoint, benchmark knobs) stays in
--- config/tenants/<tenant>.lua. Each fact is written once; the catalogue,
--- the booking model and the message variables are made from it.
--
--   business.load(dir) -> data, text, file | nil, nil (no file) | nil, problem
--       data is plain tables; text is the file's source (for line numbers)
--   business.apply(settings, data, file, text) -> settings | nil, problems
--       settings.business   the data as written (normalized)
--       settings.catalogue  services (list), addons (map id -> {title, price,
--                           duration, names}), addon_list (list), and the
--                           data's `lists` (e.g. brands)
--       settings.booking    services, resources, rules and holidays from the
--                           data, over the config's booking plumbing (id,
--                           assignment, limits; resource_counts scales resources)
--       settings.support_phone, settings.faq
--       problems: "file:line: what is wrong", in the editor's words
--   business.variables(settings, lang) -> map
--       the facts every message may show: {prices}, {service_list},
--       {addon_list}, {addon_prices}, {hold_minutes}, {horizon_days},
--       {support_phone}, {hours}, {currency}, {id_example} (a booking id as
--       the engine makes them); only those the tenant has.
--       Rendered for lang, made once per settings and language.
--   business.price(settings, service, addons) -> the price of a service with
--       its add-ons (the booking engine stores the same sum)
local source = require "flow.source"
local readonly = require "flow.readonly"
local hours = require "flow.hours"
local shape = require "flow.business_shape"

local M = {}

M.FILE = "business.lua"

function M.load(dir)
  local file = dir .. "/" .. M.FILE
  if not source.read(file) then return nil, nil end
  local data, text = source.load(file, source.env())
  if type(data) ~= "table" then
    return nil, text and data == nil and tostring(text) or (file .. ":1: must return a table of business data")
  end
  return readonly.plain(data), text, file
end

-- ---- from the data to the runtime's settings -------------------------------

local function minutes_rules(data)
  return { hold_minutes = data.hold_minutes, horizon_days = data.horizon_days,
           granularity = data.start_every_minutes, min_notice = data.notice_minutes }
end

-- the resources: count copies of each kind ("Bay 1", "Bay 2"), each with
-- the business hours unless it has its own
local function resources(data, week, counts, skills, problem)
  local out = {}
  for kind, r in pairs(data.resources or {}) do
    local rweek = week
    if r.hours ~= nil then
      local w, why, field = hours.week(r.hours)
      if not w then return problem(field or "hours", "resources." .. kind .. ".hours: " .. why, r.hours) end
      rweek = w
    end
    local n = counts and tonumber(counts[kind]) or r.count or 1
    local does = r.does or skills
    for i = 1, n do
      local id = n == 1 and kind or (kind .. i)
      out[id] = { name = n == 1 and (r.title or kind) or ((r.title or kind) .. " " .. i), capacity = 1,
                  skills = does, hours = rweek, areas = r.areas, days_off = r.days_off,
                  calendar = r.calendar }
    end
  end
  return out
end

function M.apply(settings, data, file, text)
  local problems = {}
  -- near: the field to find the line by; value: the text written there;
  -- anchor: the id of the item it is in (the search starts at its line)
  local function problem(near, msg, value, anchor)
    local from = anchor and source.line_of(text, '"' .. anchor .. '"')
    local field = source.line_of(text, tostring(near) .. " =", from)
    local line = type(value) == "string" and source.line_of(text, '"' .. value .. '"', field or from)
      or field or from or source.line_of(text, tostring(near)) or 1
    problems[#problems + 1] = ("%s:%d: %s"):format(file, line, msg)
  end
  shape.check(data, problem)
  local week
  if type(data.hours) == "table" then
    local why, field
    week, why, field = hours.week(data.hours)
    if not week then problem(field, "hours" .. (field and field ~= "hours" and ("." .. field) or "") .. ": " .. why,
                             data.hours[field]) end
  end
  if #problems > 0 then return nil, problems end

  -- the catalogue: what customers choose from
  local cat = {}
  for k, v in pairs(settings.catalogue or {}) do cat[k] = v end
  cat.services, cat.addons, cat.addon_list = {}, {}, {}
  for i, s in ipairs(data.services) do
    cat.services[i] = { id = s.id, title = s.title, price = s.price, names = s.names }
  end
  for i, a in ipairs(data.addons or {}) do
    local entry = { id = a.id, title = a.title, price = a.price, duration = a.minutes or 0, names = a.names }
    cat.addons[a.id], cat.addon_list[i] = entry, entry
  end
  for k, v in pairs(data.lists or {}) do cat[k] = v end
  settings.catalogue = cat

  -- the booking model: the config's plumbing under the business's facts
  local plumbing = settings.booking or {}
  local rules = {}
  for k, v in pairs(plumbing.rules or {}) do rules[k] = v end
  for k, v in pairs(minutes_rules(data)) do
    if rules[k] ~= nil then
      problem(k, ("booking.rules.%s is set in the tenant's config too; keep it in %s only"):format(k, M.FILE))
    end
    rules[k] = v
  end
  local services, skills = {}, {}
  for _, s in ipairs(data.services) do
    local addons = {}
    for _, a in ipairs(data.addons or {}) do addons[a.id] = { price = a.price, duration = a.minutes or 0 } end
    local skill = s.needs or s.id
    services[s.id] = { duration = s.minutes, buffer_after = s.buffer or 0, buffer_before = s.buffer_before,
                       skill = skill, price = s.price, addons = addons, name = s.title }
    skills[#skills + 1] = skill
  end
  local booking = {}
  for k, v in pairs(plumbing) do booking[k] = v end
  booking.resource_counts = nil
  booking.rules, booking.services = rules, services
  if data.resources then
    booking.resources = resources(data, week or {}, plumbing.resource_counts, skills, problem)
  end
  booking.holidays = data.closed_on or plumbing.holidays
  settings.booking = booking

  settings.support_phone = data.support_phone or settings.support_phone
  settings.faq = data.faq
  data.week = week
  settings.business = data
  if #problems > 0 then return nil, problems end
  return settings
end

-- ---- facts as message variables ---------------------------------------------

local WORDS = {
  en = { ["or"] = " or ", addons = "Add-ons: " },
  hi = { ["or"] = " या ", addons = "ऐड-ऑन: " },
  es = { ["or"] = " o ", addons = "Extras: " },
}

local function list_of(items, last_join)
  if #items <= 1 then return items[1] or "" end
  return table.concat(items, ", ", 1, #items - 1) .. last_join .. items[#items]
end

local function addon_list(cat)
  if cat.addon_list then return cat.addon_list end
  local out = {}
  for id, a in pairs(cat.addons or {}) do out[#out + 1] = { id = id, title = a.title, price = a.price } end
  table.sort(out, function(a, b) return a.id < b.id end)
  return out
end

local function compute(settings, lang)
  local w = WORDS[lang] or WORDS.en
  local cur = settings.business and settings.business.currency or "Rs."
  local v = { currency = cur }
  local cat = settings.catalogue
  if cat and cat.services then
    local lines, titles = {}, {}
    for i, s in ipairs(cat.services) do
      lines[i] = ("- %s: %s %s"):format(s.title, cur, tostring(s.price))
      titles[i] = s.title
    end
    v.service_list = list_of(titles, w["or"])
    local names, priced = {}, {}
    for i, a in ipairs(addon_list(cat)) do
      names[i] = a.title
      priced[i] = ("%s %s %s"):format(a.title, cur, tostring(a.price))
    end
    v.prices = table.concat(lines, "\n")
    if #names > 0 then
      v.addon_list = list_of(names, w["or"])
      v.addon_prices = table.concat(priced, ", ")
      v.prices = v.prices .. "\n" .. w.addons .. v.addon_prices
    end
  end
  local rules = settings.booking and settings.booking.rules
  if rules then
    v.hold_minutes = rules.hold_minutes and tostring(rules.hold_minutes)
    v.horizon_days = rules.horizon_days and tostring(rules.horizon_days)
  end
  v.support_phone = settings.support_phone
  local id = settings.booking and settings.booking.id
  if id and id.prefix then                       -- "SR-AB12CD34": what a booking id looks like
    v.id_example = id.prefix .. ("AB12CD34EF56GH78JK90LM12NP34QR56"):sub(1, id.length or 8)
  end
  local week = settings.business and settings.business.week
  if week then v.hours = hours.describe(week, lang) end
  return v
end

local made = setmetatable({}, { __mode = "k" })     -- settings -> lang -> variables

local NONE = {}

function M.variables(settings, lang)
  if type(settings) ~= "table" then return NONE end
  local per = made[settings]
  if not per then
    per = {}
    made[settings] = per
  end
  local v = per[lang]
  if not v then
    v = compute(settings, lang)
    per[lang] = v
  end
  return v
end

-- the message check (flow.check_vars) counts what c:vars() gives every
-- message of a tenant: the business variables, in any of its languages
require("flow.check_vars").provide("business", function(settings)
  local names = {}
  for _, lang in ipairs(type(settings) == "table" and settings.languages or { "en" }) do
    for name in pairs(M.variables(settings, lang)) do names[#names + 1] = name end
  end
  return names
end)

function M.price(settings, service, addons)
  local cat = settings.catalogue or {}
  local sum = 0
  for _, s in ipairs(cat.services or {}) do if s.id == service then sum = s.price or 0 end end
  for _, id in ipairs(addons or {}) do
    local a = cat.addons and cat.addons[id]
    if a then sum = sum + (a.price or 0) end
  end
  return sum
end

return M

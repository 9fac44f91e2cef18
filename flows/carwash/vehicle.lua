-- Car brand and model: the brand from the catalogue (or guessed from a
-- model name, "a Swift" is a Maruti), the model from the brand's list.
local fuzzy = require "text.fuzzy"

local vehicle = {}
local brands = tenant.catalogue.brands

-- the models of a brand (or of every brand, for nil) as match options
local models = { all = {} }
for _, b in ipairs(brands) do
  models[b.id] = {}
  for _, m in ipairs(b.models) do
    local o = { id = m, names = { m }, brand = b.id }
    table.insert(models[b.id], o)
    table.insert(models.all, o)
  end
end
-- built here and never changed afterwards: fuzzy need not re-check them on
-- every match (fuzzy.seal)
for _, list in pairs(models) do fuzzy.seal(list) end
local function models_of(brand_id) return models[brand_id or "all"] or {} end

local brand_options = {}
for i, b in ipairs(brands) do
  local names = { b.title, b.id }
  for _, n in ipairs(b.names or {}) do names[#names + 1] = n end
  brand_options[i] = { id = b.id, names = names }
end
fuzzy.seal(brand_options)

local function brand_of_model(text)
  local options = models_of(nil)
  local id = fuzzy.best(text, options, { min_score = 0.85 })
  if not id then return nil end
  for _, o in ipairs(options) do if o.id == id then return o.brand end end
end

function vehicle.brand(msg, _, _, asked)
  local text = msg.text or ""
  local id = fuzzy.best(text, brand_options, { min_score = asked and 0.7 or 0.85 })
  return id or brand_of_model(text)
end

function vehicle.model(msg, _, c, asked)
  local text = msg.text or ""
  local id = fuzzy.best(text, models_of(c.slots.brand), { min_score = asked and 0.7 or 0.85 })
  if id then return id end
  if asked and c.slots.brand then
    -- a model we do not know: take the customer's words (at most 3)
    local words = {}
    for w in text:gmatch("[%w%-]+") do words[#words + 1] = w:sub(1, 1):upper() .. w:sub(2) end
    if #words >= 1 and #words <= 3 then return table.concat(words, " ") end
  end
end

return vehicle

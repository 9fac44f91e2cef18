-- Sparkle's back office in Frappe, when the config declares it
-- (CARWASH_FRAPPE_URL, CARWASH_FRAPPE_KEY, CARWASH_FRAPPE_SECRET): the
-- services, add-ons and prices per vehicle type come from there, and every
-- booking made, moved or cancelled here is written there under its SR- id.
-- Without it (backoffice.on is false) nothing here runs.
--
-- Reads: each worker keeps Frappe's answers in memory for `fresh_minutes`
-- (5), asked again on the first turn that needs them after that; a failed
-- read is not tried again for a minute, and meanwhile the last answer (or,
-- if Frappe was never reached, business.lua) is used and logged.
-- Writes: after the turn, in a timer turn of the conversation, through the
-- connector's ledger (keys from the SR- id and the change, so a retried turn
-- never writes twice); a write that fails is tried again later (timer
-- frappe_sync, backing off from `retry_seconds`) and logged; the customer
-- never waits for Frappe. flowhost's booking engine alone says what is free.
local frappe = use("frappe")
local tz = require "tz"
local log = require "log"
local json = require "json"

local M = {}

local catalogue = tenant.catalogue
local opts = tenant.backoffice or {}
local FRESH = (opts.fresh_minutes or 5) * 60
local RETRY_READ = 60
local RETRY_WRITE = opts.retry_seconds or 60
local ASK = { timeout = opts.read_timeout or 3 }   -- seconds a read may keep a turn waiting

M.on = tenant.connectors ~= nil and tenant.connectors.frappe ~= nil

-- Frappe's answers in this worker: key -> {at, value, failed}
local cache = {}

-- the cached value of key, read through fetch(c) -> value | nil, why when stale
local function cached(c, key, fetch)
  local e = cache[key] or {}
  cache[key] = e
  local now = c:now()
  if e.value ~= nil and now - e.at < FRESH then return e.value end
  if e.failed and now - e.failed < RETRY_READ then return e.value end
  local v, why = fetch(c)
  if v ~= nil then
    e.value, e.at, e.failed = v, now, nil
  else
    e.failed = now
    log.warn(e.value ~= nil and "frappe: could not refresh " .. key .. "; using the copy from "
               .. math.floor((now - e.at) / 60) .. " min ago"
             or "frappe: could not read " .. key .. "; using business.lua's catalogue and prices",
             { err = tostring(why) })
  end
  return e.value
end

local function frappe_of(c) return c.connectors and c.connectors.frappe end

local function ask(c, method, args)
  local v, word, detail = frappe_of(c):get_method(method, args, ASK)
  if v == nil then return nil, word .. (detail and (": " .. detail) or "") end
  return v
end

--- the car's vehicle type, as Frappe prices it (nil: no car yet)
function M.vehicle_type(c)
  local model = c.slots.model
  if model == nil then return nil end
  return frappe.vehicle_type(catalogue.vehicle_types, model)
end

local function services(c, vtype)
  return cached(c, "services:" .. vtype, function()
    local answer, why = ask(c, frappe.SERVICES, { category = "Car Wash", frequency = "One Time", vehicle_type = vtype })
    if not answer then return nil, why end
    local list, unknown = frappe.services(answer, catalogue.services)
    if list and unknown[1] then
      log.warn("frappe: products without a service in business.lua are not offered", { products = table.concat(unknown, ", ") })
    end
    return list, unknown
  end)
end

local function service_of(c, vtype, id)
  for _, s in ipairs(services(c, vtype) or {}) do if s.id == id then return s end end
end

local function addons(c, product_id)
  return cached(c, "addons:" .. product_id, function()
    local answer, why = ask(c, frappe.ADDONS, { product_id = product_id })
    if not answer then return nil, why end
    return frappe.addons(answer, catalogue.addon_list)
  end)
end

--- greeting's enter: read the services of every vehicle type when stale
--- (may yield; stops at the first that cannot be read)
function M.warm(c)
  for _, t in ipairs(catalogue.vehicle_types or {}) do
    if not services(c, t.id) then return end
  end
end

local function peek(key) return cache[key] and cache[key].value end

--- the service slot's options: Frappe's services for the car (or for the
--- default type before the car is known) as last read; business.lua's until then
function M.service_options(c)
  local vtype = M.vehicle_type(c) or frappe.vehicle_type(catalogue.vehicle_types, nil)
  return peek("services:" .. tostring(vtype)) or catalogue.services
end

-- the chosen service as Frappe sells it for the car, from what was last read (never yields)
local function chosen_service(c)
  local vtype = M.vehicle_type(c)
  for _, s in ipairs(vtype and peek("services:" .. vtype) or {}) do
    if s.id == c.slots.service then return s end
  end
end

--- the add-ons slot's options: those Frappe sells with the chosen service,
--- with its prices, as last read; business.lua's until then. (A function, so
--- the engine never quotes business.lua's price of one add-on.)
function M.addon_options(c)
  local s = chosen_service(c)
  local prices = s and peek("addons:" .. s.product_id)
  if not prices then return catalogue.addon_list end
  local out = {}
  for _, a in ipairs(catalogue.addon_list) do
    local p = prices[a.id]
    if p then out[#out + 1] = { id = a.id, title = a.title, names = a.names, price = p.price } end
  end
  return out
end

--- the kit's price hook: Frappe's total for the car (calculate_booking_price,
--- else the sum of Frappe's prices), nil when Frappe has none (business.lua's then)
function M.total(c, service, chosen)
  local vtype = M.vehicle_type(c)
  local s = vtype and service and service_of(c, vtype, service)
  if not s then return nil end
  local prices = addons(c, s.product_id)
  if not prices then return nil end
  local args = frappe.price_args(s, prices, chosen)
  if not args then return nil end
  local key = "price:" .. s.product_id .. ":" .. table.concat(args.addon_ids, ",")
  local answer = cached(c, key, function()
    local a, why = ask(c, frappe.PRICE, { product_id = args.product_id, addon_ids = json.encode(args.addon_ids),
                                          electricity = 0, water = 0 })
    return a and type(a.total) == "number" and a.total or nil, why or "no total in the answer"
  end)
  return answer or frappe.sum(s, prices, chosen)
end

local ADDONS_WORD = { en = "Add-ons: ", hi = "ऐड-ऑन: " }

-- "- Foam Wash: Rs. 849" lines for one type, or "Rs. 749 / 849 / 1099 (Hatchback / Sedan / SUV)"
local function price_lines(c, vtype)
  local cur = tenant.business.currency or "Rs."
  local types = vtype and { { id = vtype } } or catalogue.vehicle_types or {}
  local per, names = {}, {}
  for i, t in ipairs(types) do
    names[i] = t.id
    for _, s in ipairs(services(c, t.id) or {}) do
      per[s.id] = per[s.id] or {}
      per[s.id][i] = tostring(s.price)
    end
  end
  local lines = {}
  for _, s in ipairs(catalogue.services) do
    local p = per[s.id]
    if p and #p == #types then
      lines[#lines + 1] = ("- %s: %s %s%s"):format(s.title, cur, table.concat(p, " / "),
        #types > 1 and (" (" .. table.concat(names, " / ") .. ")") or "")
    end
  end
  if #lines == 0 then return nil end
  -- the add-ons of the chosen service (else the first one's) for the car
  local list = vtype and services(c, vtype)
  local s = chosen_service(c) or (list and list[1])
  local prices = s and addons(c, s.product_id)
  local priced = {}
  for _, a in ipairs(prices and catalogue.addon_list or {}) do
    if prices[a.id] then priced[#priced + 1] = ("%s %s %s"):format(a.title, cur, tostring(prices[a.id].price)) end
  end
  if #priced > 0 then lines[#lines + 1] = (ADDONS_WORD[c.lang] or ADDONS_WORD.en) .. table.concat(priced, ", ") end
  return table.concat(lines, "\n")
end

--- the price intent: Frappe's prices for the customer's car (every type
--- before the car is known); business.lua's when Frappe has none
function M.say_prices(c)
  local lines = price_lines(c, M.vehicle_type(c))
  c:say("prices", lines and { prices = lines } or nil)
end

-- ---- writes -------------------------------------------------------------

local function local_start(b)
  local lt = tz.local_time(b.start, tenant.timezone)
  return { date = tz.date(b.start, tenant.timezone), time = ("%02d:%02d"):format(lt.hour, lt.min) }
end

-- what the booking's car and prices were when it was made
local function car(c, b)
  local vtype = M.vehicle_type(c)
  local s = vtype and service_of(c, vtype, b.service)
  local prices = s and addons(c, s.product_id)
  local args = s and prices and frappe.price_args(s, prices, b.addons)
  return { vehicle = table.concat({ c:show("brand") or "", c:show("model") or "" }, " "), vehicle_type = vtype,
           plate = c.slots.plate, product_id = s and s.product_id, addon_ids = args and args.addon_ids,
           total = M.total(c, b.service, b.addons) or b.price }
end

local function later(c, data)
  c:after(data.wait or 0, "frappe_sync", data)
end

function M.booked(c, b) later(c, { id = b.id, action = "book", car = car(c, b), attempt = 1 }) end
function M.rescheduled(c, b) later(c, { id = b.id, action = "move", start = b.start, attempt = 1 }) end
function M.cancelled(c, b) later(c, { id = b.id, action = "cancel", attempt = 1 }) end

local function write(c, d, b)
  local fx = frappe_of(c)
  local doc, key = frappe.change(d.action, b, local_start(b))
  if d.action == "book" then
    local v, word, detail = fx:insert(frappe.DOCTYPE, frappe.booking_doc(b, local_start(b), d.car), { key = key })
    if word == "conflict" then return true end          -- Frappe has this SR- id already
    return v, word, detail
  end
  if d.action == "move" and b.start ~= d.start then return true end   -- moved again since: that change writes it
  return fx:update(frappe.DOCTYPE, b.id, doc, { key = key })
end

--- timer frappe_sync: one change of one booking, written to Frappe, tried
--- again later when it fails
function M.sync(c, d)
  if not M.on then return log.warn("frappe: no longer configured, booking not written", { booking = d.id }) end
  local b = c.booking:get(d.id)
  if not b then return log.warn("frappe: booking not found, nothing written", { booking = d.id }) end
  local ok, word, detail = write(c, d, b)
  if ok then return log.info("frappe: booking written", { booking = d.id, action = d.action, attempt = d.attempt }) end
  local wait = frappe.retry_after(word, d.attempt, RETRY_WRITE)
  local fields = { booking = d.id, action = d.action, attempt = d.attempt, err = tostring(word),
                   detail = detail and tostring(detail) or nil, retry_in = wait }
  if not wait then return log.error("frappe: booking not written; giving up (it stands in flowhost)", fields) end
  log.warn("frappe: booking not written yet; trying again later", fields)
  later(c, { id = d.id, action = d.action, start = d.start, car = d.car, attempt = d.attempt + 1, wait = wait })
end

-- ---- what flow.lua plugs in ----------------------------------------------

--- the kit's settings with the back office's hooks (unchanged when it is off)
function M.kit(cfg)
  if M.on then
    cfg.price, cfg.on_booked, cfg.on_rescheduled, cfg.on_cancelled = M.total, M.booked, M.rescheduled, M.cancelled
  end
  return cfg
end

--- the flow's intents with the price list from Frappe (unchanged when it is off)
function M.intents(intents)
  if not M.on then return intents end
  local out = { price = M.say_prices }
  for k, v in pairs(intents) do out[k] = v end
  return out
end

return M

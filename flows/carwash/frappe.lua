-- Reading the car service's Frappe app and writing to it, as plain data:
-- no calls, no state (flows/carwash/backoffice.lua makes the calls).
-- The app's methods and doctypes: tests/fakes/frappe_carwash.py.
--
-- A Frappe product or add-on is the business.lua service or add-on whose
-- title, id or one of its names equals its product_name / addon_name (case
-- and spaces aside): business.lua keeps the minutes the booking engine
-- needs, Frappe the prices. A Frappe product with no business.lua twin
-- cannot be booked and is left out.
local M = {}

M.DOCTYPE = "Service Booking"
M.SERVICES = "customer_portal.get_filtered_services"
M.ADDONS = "booking.get_optional_addons"
M.PRICE = "booking.calculate_booking_price"

local function norm(s) return (tostring(s or ""):lower():gsub("[%s_%-]+", " "):gsub("^ ", ""):gsub(" $", "")) end

-- the business.lua item a Frappe name means, or nil
local function twin(items, name)
  local want = norm(name)
  for _, it in ipairs(items or {}) do
    if norm(it.title) == want or norm(it.id) == want then return it end
    for _, n in ipairs(it.names or {}) do if norm(n) == want then return it end end
  end
end

--- The vehicle type of a model ("City" -> "Sedan"): types is business.lua's
--- lists.vehicle_types ({ {id, models, default?}, ... }); a model not listed
--- gets the type marked default (else the first).
function M.vehicle_type(types, model)
  local want, default = norm(model), nil
  for _, t in ipairs(types or {}) do
    for _, m in ipairs(t.models or {}) do if norm(m) == want then return t.id end end
    if t.default and not default then default = t.id end
  end
  return default or (types and types[1] and types[1].id)
end

--- get_filtered_services' answer -> the services customers may book for
--- that vehicle type ({id, title, price, names, product_id}, in business.lua's
--- order) and the product names without a business.lua twin | nil, why
function M.services(answer, catalogue_services)
  if type(answer) ~= "table" or answer.success == false or type(answer.services) ~= "table" then
    return nil, "no services in the answer"
  end
  local by_id, unknown = {}, {}
  for _, p in ipairs(answer.services) do
    local s = type(p) == "table" and type(p.base_price) == "number" and twin(catalogue_services, p.product_name)
    if s then by_id[s.id] = by_id[s.id] or { id = s.id, title = s.title, names = s.names, price = p.base_price,
                                             product_id = p.product_id }
    elseif type(p) == "table" then unknown[#unknown + 1] = tostring(p.product_name) end
  end
  local out = {}
  for _, s in ipairs(catalogue_services or {}) do if by_id[s.id] then out[#out + 1] = by_id[s.id] end end
  if #out == 0 then return nil, "none of Frappe's services is in business.lua" end
  return out, unknown
end

--- get_optional_addons' answer -> map business.lua add-on id -> {price, addon_id} | nil, why
function M.addons(answer, catalogue_addons)
  if type(answer) ~= "table" or answer.success == false or type(answer.addons) ~= "table" then
    return nil, "no add-ons in the answer"
  end
  local out = {}
  for _, a in ipairs(answer.addons) do
    local it = type(a) == "table" and type(a.unit_price) == "number" and twin(catalogue_addons, a.addon_name)
    if it then out[it.id] = { price = a.unit_price, addon_id = a.addon_id } end
  end
  return out
end

--- the arguments of calculate_booking_price for a service and add-ons, or
--- nil when an add-on is not sold with that service; at the centre the
--- customer gives neither electricity nor water
function M.price_args(service, addon_prices, addons)
  local ids = {}
  for i, a in ipairs(addons or {}) do
    local p = addon_prices[a]
    if not p then return nil end
    ids[i] = p.addon_id
  end
  return { product_id = service.product_id, addon_ids = ids, electricity = 0, water = 0 }
end

--- the total from Frappe's prices alone (when calculate_booking_price cannot be asked)
function M.sum(service, addon_prices, addons)
  local total = service.price
  for _, a in ipairs(addons or {}) do
    local p = addon_prices[a]
    if not p then return nil end
    total = total + p.price
  end
  return total
end

local STATUS = { confirmed = "Confirmed", cancelled = "Cancelled", held = "Held", completed = "Completed" }

--- the Service Booking doc of a flowhost booking; local_start = {date =
--- "YYYY-MM-DD", time = "HH:MM"} in the business's time zone; car = what the
--- flow captured when it was booked ({vehicle, vehicle_type, plate,
--- product_id, addon_ids, total})
function M.booking_doc(b, local_start, car)
  car = car or {}
  local who = b.customer or {}
  return { name = b.id, booking_id = b.id, status = STATUS[b.status] or tostring(b.status),
           booking_date = local_start.date, time_slot = local_start.time,
           customer_name = who.name, phone = who.phone, service = b.service,
           product_id = car.product_id, addon_ids = car.addon_ids or {}, total = car.total,
           vehicle = car.vehicle, vehicle_type = car.vehicle_type, plate = car.plate }
end

--- what each change to a booking writes, and its ledger key: the same
--- change of the same booking always has the same key
function M.change(action, b, local_start)
  if action == "move" then
    return { booking_date = local_start.date, time_slot = local_start.time, status = STATUS[b.status] },
           "frappe:move:" .. b.id .. ":" .. tostring(b.start)
  end
  if action == "cancel" then return { status = "Cancelled" }, "frappe:cancel:" .. b.id end
  return nil, "frappe:book:" .. b.id
end

-- words after which writing again later may work (the rest mean Frappe
-- refused the values: trying again would be refused again)
local FINAL = { invalid = true, forbidden = true, ["bad request"] = true, ["key reused"] = true }

--- seconds until the next try of a write that failed with `word` (tries
--- so far: attempt), or nil to give up: base, 2x, 4x ... at most 30 min, 10 tries
function M.retry_after(word, attempt, base)
  if FINAL[word] or attempt >= 10 then return nil end
  return math.min(1800, (base or 60) * 2 ^ (attempt - 1))
end

return M

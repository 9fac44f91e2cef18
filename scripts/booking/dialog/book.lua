--- booking.dialog.book: a new booking, from the free times of the chosen
--- day to a confirmed booking. A time the customer picks is held (a
--- "held" booking) until they confirm at the summary.
--
-- Every handler takes (k, c): k is the kit (its slot names k.slots and
-- message keys k.msg, see booking.dialog), c the turn's context. Notes kept
-- in c.data: hold (the held booking's id), hold_for (service|add-ons|date
-- it was held for), start, attempt, free, offered, booking_id.
--
--   book.offer_times(k, c)   pick_time's enter: the day's free times, or why there are none
--   book.take_time(k, c)     pick_time's reply: hold the picked time, then the summary
--   book.confirm(k, c)       the summary's confirm: book the held time
--   book.release(k, c)       let a held time go (cancelled, or a changed service/date)
--   book.total(k, c)         the price of the chosen service and add-ons (the
--                            flow's price hook, else business.lua's)
local times = require "booking.dialog.times"
local business = require "flow.business"
local hooks = require "booking.dialog.hooks"

local M = {}

local function s(k, c, name) return k.slots[name] and c.slots[k.slots[name]] end

--- where the customer wants it: {area, resource} from the flow's location
--- and person slots (when the kit was given them); the person's slot set
--- to k.any ("cualquiera", "anyone") leaves the choice to the engine's
--- assignment policy
function M.where(k, c)
  local person = s(k, c, "resource")
  if person == k.any then person = nil end
  return { area = s(k, c, "area"), resource = person }
end

-- a held slot belongs to one service, add-ons, date, place and person
local function hold_key(k, c)
  local w = M.where(k, c)
  return table.concat({ s(k, c, "service") or "", table.concat(s(k, c, "addons") or {}, "+"), s(k, c, "date") or "",
                        w.area or "", w.resource or "" }, "|")
end

function M.release(k, c)
  if c.data.hold then c.booking:cancel(c.data.hold, "released in chat") end
  c.data.hold, c.data.hold_for, c.data.start = nil, nil, nil
end

local function customer(k, c) return { name = s(k, c, "name"), phone = s(k, c, "phone") } end

-- a key for one reservation: the same turn run again (after a crash) gets
-- its booking back instead of making a second one; a later turn books anew
local function request_key(c)
  c.data.attempt = (c.data.attempt or 0) + 1
  return c.conv.id .. ":" .. tostring(c.conv.turns) .. ":" .. c.data.attempt
end

local function free(k, c)
  return times.free(c, s(k, c, "date"), s(k, c, "service"), s(k, c, "addons"), M.where(k, c))
end

local function day_vars(k, c) return { date = times.day(c, s(k, c, "date")) } end

-- no time on the chosen day: say why, and ask for another day
local function no_times(k, c, filled)
  times.none(c, k.msg, s(k, c, "date"), s(k, c, "service"), s(k, c, "addons"), filled, M.where(k, c))
  c:clear(k.slots.date)
  return c:go(k.collect)
end

function M.offer_times(k, c)
  if c.data.hold and c.data.hold_for == hold_key(k, c) then return c:go("summary") end
  M.release(k, c)
  local starts, err = free(k, c)
  if err then                                  -- the free times cannot be known now
    c:say(k.msg.times_unavailable)
    c:clear(k.slots.date)
    return c:go(k.collect)
  end
  if #starts == 0 then return no_times(k, c) end
  times.offer(c, starts, k.msg.pick_time, day_vars(k, c), k.max_times)
end

-- what to say when a time could not be had: busy (too many bookings
-- across the business this minute), gone, or we could not reach storage
local function not_reserved(k, c, err)
  if err == "rate limited" then return c:say(k.msg.busy_now) end
  if err == "calendar unavailable" then return c:say(k.msg.times_unavailable) end
  if err ~= "slot taken" and err ~= "not available" then return c:say(k.msg.try_again) end
  local starts = free(k, c)
  if #starts > 0 then return times.offer(c, starts, k.msg.slot_taken, day_vars(k, c), k.max_times) end
  return no_times(k, c, true)
end

function M.take_time(k, c)
  local start, why = times.pick(c)
  if not start then
    if why == "not free" then return times.offer(c, c.data.free, k.msg.time_not_free, day_vars(k, c), k.max_times) end
    return false                                   -- not a time: maybe a correction
  end
  local w = M.where(k, c)
  local b, err = c.booking:reserve{ service = s(k, c, "service"), addons = s(k, c, "addons"), start = start,
    area = w.area, resource = w.resource, customer = customer(k, c), hold = true, idempotency_key = request_key(c) }
  if not b then return not_reserved(k, c, err) end
  c.data.hold, c.data.hold_for, c.data.start, c.data.resource = b.id, hold_key(k, c), start, b.resource
  c:go("summary")
end

-- book the held time for the customer as they are now (they may have
-- changed their name or number after the hold was taken)
local function book(k, c)
  local w = M.where(k, c)
  return c.booking:reserve{ service = s(k, c, "service"), addons = s(k, c, "addons"), start = c.data.start,
    area = w.area, resource = w.resource, customer = customer(k, c), idempotency_key = request_key(c) }
end

function M.confirm(k, c)
  local held = c.data.hold and c.booking:get(c.data.hold)
  local b, err
  if held and held.status == "held" and held.customer and held.customer.phone == s(k, c, "phone")
     and held.customer.name == s(k, c, "name") then
    b = c.booking:confirm(c.data.hold)
  end
  if not b then
    -- the hold ran out, or the details changed: book anew, then let the
    -- hold go (or let it go first when it is the last free place)
    b, err = book(k, c)
    if err == "rate limited" then return c:say(k.msg.busy_now) end   -- they can confirm again in a minute
    if held then c.booking:cancel(held.id, "replaced in chat") end
    if not b and held then b = book(k, c) end
    if not b then
      c.data.hold, c.data.hold_for = nil, nil
      c:say(k.msg.hold_lost)
      return c:go("pick_time")
    end
  end
  c.data.booking_id, c.data.hold, c.data.hold_for, c.data.resource = b.id, nil, nil, b.resource
  c:go("booked")
  hooks.after(k, c, "booked", b)
end

function M.total(k, c)
  return hooks.price(k, c, s(k, c, "service"), s(k, c, "addons"))
    or business.price(c.tenant, s(k, c, "service"), s(k, c, "addons"))
end

--- the variables of the summary and the booked message
function M.vars(k, c)
  return { time = c.data.start and times.label(c, c.data.start) or "", date = times.day(c, s(k, c, "date")),
           total = M.total(k, c), id = c.data.booking_id, resource = times.resource(c, c.data.resource) }
end

return M

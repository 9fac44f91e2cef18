-- Sparkle Car Care: book a car wash on WhatsApp.
--
-- The conversation: greeting -> collect what we need (name, phone, car,
-- plate, service, add-ons, date) -> pick a free time -> summary ->
-- confirmed. At the summary the customer can confirm, change anything or
-- cancel. Any time they can ask for prices, a person, help, start over,
-- cancel, or reschedule/cancel one of their own bookings (see manage.lua).
local extract = require "text.extract"
local tz = require "tz"
local times = use("times")
local vehicle = use("vehicle")
local manage = use("manage")
local catalogue = tenant.catalogue

local addon_options = {}
for id, a in pairs(catalogue.addons) do addon_options[#addon_options + 1] = { id = id, title = a.title, names = a.names } end
table.sort(addon_options, function(a, b) return a.id < b.id end)

-- the price of the chosen service and add-ons
local function total(c)
  local sum = 0
  for _, s in ipairs(catalogue.services) do if s.id == c.slots.service then sum = s.price end end
  for _, id in ipairs(c.slots.addons or {}) do sum = sum + catalogue.addons[id].price end
  return sum
end

-- a held slot belongs to one service, add-ons and date
local function hold_key(c)
  return table.concat({ c.slots.service or "", table.concat(c.slots.addons or {}, "+"), c.slots.date or "" }, "|")
end

local function release_hold(c)
  if c.data.hold then c.booking:cancel(c.data.hold, "released in chat") end
  c.data.hold, c.data.hold_for, c.data.start = nil, nil, nil
end

local function customer(c) return { name = c.slots.name, phone = c.slots.phone } end

-- a key for one reservation: the same turn run again (after a crash) gets
-- its booking back instead of making a second one; a later turn books anew
local function request_key(c)
  c.data.attempt = (c.data.attempt or 0) + 1
  return c.conv.id .. ":" .. tostring(c.conv.turns) .. ":" .. c.data.attempt
end

-- "2026-12-03 10:00 AM", the earliest free time from now
local function next_free(c)
  local nf = c.booking:next_free{ service = c.slots.service, addons = c.slots.addons }
  return nf and (times.day_label(tz.date(nf.start, c.tenant.timezone)) .. ", " .. times.label(c, nf.start)) or "-"
end

local function offer_times(c)
  if c.data.hold and c.data.hold_for == hold_key(c) then return c:go("summary") end
  release_hold(c)
  local starts = times.free(c, c.slots.date, c.slots.service, c.slots.addons)
  if #starts == 0 then
    c:say("no_times_day", { next = next_free(c) })
    c:clear("date")
    return c:go("collect")
  end
  times.offer(c, starts, "pick_time")
end

-- what to say when a time could not be had: busy (too many bookings
-- across the business this minute), gone, or we could not reach storage
local function not_reserved(c, err)
  if err == "rate limited" then return c:say("busy_now") end
  if err ~= "slot taken" and err ~= "not available" then return c:say("try_again") end
  local starts = times.free(c, c.slots.date, c.slots.service, c.slots.addons)
  if #starts > 0 then return times.offer(c, starts, "slot_taken") end
  c:say("day_full", { next = next_free(c) })
  c:clear("date")
  return c:go("collect")
end

local function take_time(c)
  local start, why = times.pick(c)
  if not start then
    if why == "not free" then
      times.offer(c, c.data.free, "time_not_free")
      return
    end
    return false                                   -- not a time: maybe a correction
  end
  local b, err = c.booking:reserve{ service = c.slots.service, addons = c.slots.addons, start = start,
    customer = customer(c), hold = true, idempotency_key = request_key(c) }
  if not b then return not_reserved(c, err) end
  c.data.hold, c.data.hold_for, c.data.start = b.id, hold_key(c), start
  c:go("summary")
end

-- book the held time for the customer as they are now (they may have
-- changed their name or number after the hold was taken)
local function book(c)
  return c.booking:reserve{ service = c.slots.service, addons = c.slots.addons, start = c.data.start,
    customer = customer(c), idempotency_key = request_key(c) }
end

local function confirm(c)
  local held = c.data.hold and c.booking:get(c.data.hold)
  local b, err
  if held and held.status == "held" and held.customer and held.customer.phone == c.slots.phone
     and held.customer.name == c.slots.name then
    b = c.booking:confirm(c.data.hold)
  end
  if not b then
    -- the hold ran out, or the details changed: book anew, then let the
    -- hold go (or let it go first when it is the last free place)
    b, err = book(c)
    if err == "rate limited" then return c:say("busy_now") end   -- they can confirm again in a minute
    if held then c.booking:cancel(held.id, "replaced in chat") end
    if not b and held then b = book(c) end
    if not b then
      c.data.hold, c.data.hold_for = nil, nil
      c:say("hold_lost")
      return c:go("pick_time")
    end
  end
  c.data.booking_id, c.data.hold, c.data.hold_for = b.id, nil, nil
  c:go("booked")
end

local function summary_vars(c)
  return { time = times.label(c, c.data.start), total = total(c) }
end

local function edit(...)
  local names = { ... }
  return function(c)
    for _, n in ipairs(names) do c:clear(n) end
    c:go("collect")
  end
end

return {
  start = "greeting",
  keep_on_restart = { "name", "phone", "brand", "model", "plate" },

  slots = {
    name    = { type = "name", prompt = "ask_name" },
    phone   = { type = "phone_in", prompt = "ask_phone", invalid = "bad_phone" },
    brand   = { type = "choice", prompt = "ask_car", options = catalogue.brands, buttons = false,
                extract = vehicle.brand },
    model   = { type = "text", prompt = "ask_model", extract = vehicle.model },
    plate   = { type = "plate_in", prompt = "ask_plate", invalid = "bad_plate" },
    service = { type = "choice", prompt = "ask_service", options = catalogue.services },
    addons  = { type = "choices", prompt = "ask_addons", options = addon_options },
    date    = { type = "date", prompt = "ask_date", max_days = 14,
                invalid = { invalid = "bad_date", past = "date_past", too_far = "date_too_far" } },
  },

  states = {
    greeting  = { say = "greeting", done = "collect" },
    collect   = { fill = { "name", "phone", "brand", "model", "plate", "service", "addons", "date" },
                  done = "pick_time" },
    pick_time = { enter = offer_times, reply = take_time, edits = true },
    summary   = { say = "summary", vars = summary_vars, edits = true,
                  buttons = { { id = "confirm", title = "btn_confirm" }, { id = "edit", title = "btn_edit" },
                              { id = "cancel", title = "btn_cancel" } },
                  on = { confirm = confirm, edit = "edit", cancel = "cancelled" } },
    edit      = { say = "what_to_change", edits = true,
                  buttons = { { id = "name", title = "btn_name" }, { id = "phone", title = "btn_phone" },
                              { id = "car", title = "btn_car" }, { id = "plate", title = "btn_plate" },
                              { id = "service", title = "btn_service" }, { id = "date", title = "btn_date" } },
                  on = { name = edit("name"), phone = edit("phone"), car = edit("brand", "model"),
                         plate = edit("plate"), service = edit("service", "addons"), date = edit("date") } },
    booked    = { say = "booked", vars = function(c) return { id = c.data.booking_id, time = times.label(c, c.data.start) } end,
                  final = true },
    cancelled = { enter = release_hold, say = "cancelled", final = true },

    -- an existing booking
    find_booking      = { enter = manage.find, reply = manage.find },
    resched_date      = { say = "ask_new_date", vars = manage.booking_vars, reply = function(c)
                            local date = extract.date(c.msg.text or "", { now = c:now(), zone = c.tenant.timezone })
                            if not date then return c:say("bad_date") end
                            if date < tz.date(c:now(), c.tenant.timezone) then return c:say("date_past") end
                            c.data.new_date = date
                            c:go("resched_time")
                          end },
    resched_time      = { enter = function(c)
                            local b = c.booking:get(c.data.manage)
                            local starts = times.free(c, c.data.new_date, b.service, b.addons)
                            if #starts == 0 then
                              c:say("day_full", { next = "-" })
                              return c:go("resched_date")
                            end
                            times.offer(c, starts, "pick_time", { date = times.day_label(c.data.new_date) })
                          end,
                          reply = function(c)
                            local start = times.pick(c)
                            if not start then return false end
                            local b, err = c.booking:reschedule(c.data.manage, start)
                            if not b then
                              local b0 = c.booking:get(c.data.manage)
                              return times.offer(c, times.free(c, c.data.new_date, b0.service, b0.addons), "slot_taken",
                                                 { date = times.day_label(c.data.new_date) })
                            end
                            c.data.start = start
                            c:go("rescheduled")
                          end },
    rescheduled       = { say = "rescheduled", vars = function(c)
                            local v = manage.booking_vars(c)
                            v.time = times.label(c, c.data.start)
                            return v
                          end, final = true },
    cancel_existing   = { say = "confirm_cancel_booking", vars = manage.booking_vars,
                          buttons = { { id = "yes", title = "btn_yes_cancel" }, { id = "no", title = "btn_keep" } },
                          on = { yes = manage.cancel, no = "kept" } },
    booking_cancelled = { say = "booking_cancelled", vars = manage.booking_vars, final = true },
    kept              = { say = "kept", final = true },
  },

  intents = {
    price = function(c) c:say("prices") end,
    reschedule = function(c)
      c.data.manage_action = "reschedule"
      c:go("find_booking")
    end,
    cancel = function(c)
      local text = (c.msg.text or ""):lower():gsub("%s+", " ")   -- one space: a 4 KB message reads fast
      local existing = text:find("sr ?%-? ?%w") or text:find("booking") or text:find("appointment")
      if existing and c.state ~= "summary" and c.state ~= "pick_time" then
        c.data.manage_action = "cancel"
        return c:go("find_booking")
      end
      c:go("cancelled")
    end,
  },

  -- the customer changed an answer outside the question for it
  changed = function(c, names)
    for _, n in ipairs(names) do
      if n == "service" or n == "addons" or n == "date" then
        release_hold(c)
        return c:go("pick_time")
      end
    end
    if c.state == "edit" then c:go("summary") end
  end,
}

-- Sparkle Car Care: book a car wash on WhatsApp.
--
-- The conversation: greeting -> collect what we need (name, phone, car,
-- plate, service, add-ons, date) -> pick a free time -> summary ->
-- confirmed. At the summary the customer can confirm, change anything or
-- cancel. Any time they can ask for prices, a person, help, start over,
-- cancel, or reschedule/cancel one of their own bookings.
--
-- Picking a time, holding it, the summary, booking, and finding, moving
-- or cancelling a booking come from the booking kit (booking.dialog,
-- docs/flows.md). What we sell and what it costs is in business.lua; what
-- the assistant says is in messages.lua. With a Frappe back office
-- (CARWASH_FRAPPE_URL) prices come from there and bookings go there:
-- backoffice.lua.
local dialog = require "booking.dialog"
local vehicle = use("vehicle")
local backoffice = use("backoffice")
local catalogue = tenant.catalogue

local kit = dialog.new(backoffice.kit{
  slots = { service = "service", addons = "addons", date = "date", name = "name", phone = "phone" },
  collect = "collect",
  -- the summary's "Change something" menu: a button each, and the answers it asks again
  edit = {
    { id = "name", slots = { "name" } },
    { id = "phone", slots = { "phone" } },
    { id = "car", slots = { "brand", "model" } },
    { id = "plate", slots = { "plate" } },
    { id = "service", slots = { "service", "addons" } },
    { id = "date", slots = { "date" } },
  },
})

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
    service = { type = "choice", prompt = "ask_service",
                options = backoffice.on and backoffice.service_options or catalogue.services },
    addons  = { type = "choices", prompt = "ask_addons",
                options = backoffice.on and backoffice.addon_options or catalogue.addon_list },
    date    = { type = "date", prompt = "ask_date", max_days = tenant.booking.rules.horizon_days,
                show = kit.show_date,
                invalid = { invalid = "bad_date", past = "date_past", too_far = "date_too_far" } },
  },

  -- the kit's states (pick_time, summary, booked, ...) and our own
  states = kit.with{
    greeting = { say = "greeting", enter = backoffice.on and backoffice.warm or nil, done = "collect" },
    collect  = { fill = { "name", "phone", "brand", "model", "plate", "service", "addons", "date" },
                 done = "pick_time" },
  },

  intents = backoffice.intents(kit.intents),

  timers = { frappe_sync = backoffice.sync },

  -- the customer changed an answer outside the question for it
  changed = kit.changed,
}

-- Salón Lucía: book a cita on WhatsApp, in Spanish.
--
-- The conversation: greeting -> collect (name, service, location, stylist,
-- day) -> pick a free time -> summary -> confirmed. "Cualquiera" as the
-- stylist lets the booking engine choose (least loaded). Any time the
-- customer can ask for prices, hours, a person (the owner takes over the
-- conversation: config handoff), start over, cancel, or move/cancel one of
-- their own citas.
--
-- The booking conversation is the kit's (booking.dialog, docs/flows.md);
-- what we offer is in business.lua, what we say in messages.lua. The owner
-- hears of every booking, move and cancellation (notify.lua); stylists and
-- the owner write to the same number (staff_chat.lua); at 08:00 each gets
-- their day (daily_summary below).
local dialog = require "booking.dialog"
local notify = use("notify")
local staff_chat = use("staff_chat")
local people = use("people")
local catalogue = tenant.catalogue

local kit = dialog.new{
  slots = { service = "service", date = "date", name = "name", phone = "phone",
            area = "location", resource = "stylist" },
  any = "any",
  booking_words = { "cita", "reserva", "reservación", "booking" },
  edit = {
    { id = "name", slots = { "name" } },
    { id = "service", slots = { "service", "stylist" } },
    { id = "place", slots = { "location", "stylist" } },
    { id = "date", slots = { "date" } },
  },
  on_booked = notify.booked, on_rescheduled = notify.rescheduled, on_cancelled = notify.cancelled,
}

return {
  start = "greeting",
  keep_on_restart = { "name", "phone" },

  slots = {
    name     = { type = "name", prompt = "ask_name" },
    phone    = { type = "text", prompt = "ask_phone", extract = people.phone, invalid = "bad_phone" },
    service  = { type = "choice", prompt = "ask_service", options = catalogue.services },
    location = { type = "choice", prompt = "ask_location", options = catalogue.locations },
    stylist  = { type = "choice", prompt = "ask_stylist", options = people.stylists },
    date     = { type = "date", prompt = "ask_date", max_days = tenant.booking.rules.horizon_days,
                 show = kit.show_date,
                 invalid = { invalid = "bad_date", past = "date_past", too_far = "date_too_far" } },
  },

  states = kit.with{
    greeting = { say = "greeting", enter = people.known_phone, done = "collect" },
    collect  = { fill = { "name", "phone", "service", "location", "stylist", "date" }, done = "pick_time" },
  },

  intents = kit.intents,
  changed = kit.changed,

  -- a stylist or the owner writing to the salon's number
  staff = staff_chat.answer,

  timers = {
    remind_cita = notify.reminder,       -- 24 h before a cita
    daily_summary = notify.daily_summary, -- 08:00, schedules in the config
  },
}

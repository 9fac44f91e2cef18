-- Lone Star Comfort Heating & Air: a demo company in Austin, TX. Edit
-- freely: services, hours, technicians and the zip zones they cover.
-- Technicians are `resources`: `does` lists their skills (service ids),
-- `areas` the zones of `lists.zones` they drive to, `calendar` their Odoo
-- user (their calendar.event records are busy time; flowhost writes the
-- appointments itself, so write = false). Every service has at least two
-- technicians in every zone (tests/integration/hvac_spec.lua checks it).
-- The zones are demo data, not Austin's real geography.
return {
  support_phone = "(512) 555-0142",
  currency = "$",

  hours = { weekdays = "8am-6pm", sat = "8am-6pm", sun = "closed" },
  closed_on = {},

  horizon_days = 21,          -- how far ahead callers can book
  start_every_minutes = 30,   -- visits start on the hour or half hour
  notice_minutes = 60,        -- the earliest visit is an hour from now

  services = {
    { id = "ac_repair", title = "AC repair", price = 89, minutes = 120, buffer = 15,
      names = { "ac", "air conditioning", "ac repair", "cooling", "no cooling", "no ac", "air conditioner" } },
    { id = "heating_repair", title = "Heating repair", price = 89, minutes = 120, buffer = 15,
      names = { "heating", "heater", "furnace", "no heat", "heat pump", "heating repair" } },
    { id = "maintenance", title = "Maintenance tune-up", price = 79, minutes = 90, buffer = 15,
      names = { "maintenance", "tune up", "tune-up", "inspection", "check up", "service" } },
    { id = "installation", title = "New system estimate", price = 49, minutes = 60, buffer = 15,
      names = { "installation", "install", "new system", "replacement", "estimate", "quote" } },
  },

  resources = {
    maria = { title = "Maria Garcia", does = { "ac_repair", "heating_repair", "maintenance" },
              areas = { "central", "north", "east" }, calendar = { odoo = { user_id = 101 }, write = false, freshness = 15 } },
    james = { title = "James Carter", does = { "ac_repair", "heating_repair", "installation" },
              areas = { "central", "south", "east" }, calendar = { odoo = { user_id = 102 }, write = false, freshness = 15 } },
    aisha = { title = "Aisha Patel", does = { "heating_repair", "maintenance", "installation" },
              areas = { "central", "north", "south" }, calendar = { odoo = { user_id = 103 }, write = false, freshness = 15 } },
    tom = { title = "Tom Nguyen", does = { "ac_repair", "maintenance", "installation" },
            areas = { "north", "east", "south" }, calendar = { odoo = { user_id = 104 }, write = false, freshness = 15 } },
    lin = { title = "Lin Wu", does = { "ac_repair", "heating_repair", "maintenance", "installation" },
            areas = { "north", "south" }, calendar = { odoo = { user_id = 105 }, write = false, freshness = 15 } },
  },

  lists = {
    -- zip zones served: every zip from 78701 to 78759
    zones = { central = "78701-78712", east = "78713-78725", south = "78726-78744", north = "78745-78759" },
  },
}

-- Sparkle Car Care: what we sell, what it costs, when we are open.
--
-- Every fact is written here once. The price list, the booking times and
-- the messages ({prices}, {addon_list}, {hold_minutes}, {horizon_days},
-- {support_phone}, {hours}) are made from it. Prices are in rupees, times
-- in minutes. docs/flows.md says how to change each part.
return {
  support_phone = "1800-123-4567",
  currency = "Rs.",

  -- opening hours per day: "8am-1pm, 2pm-8pm" or "08:00-13:00, 14:00-20:00";
  -- "closed" for a day off. every_day, weekdays (mon-fri) and weekend
  -- (sat, sun) cover several days; a named day (mon ... sun) wins over them.
  hours = {
    every_day = "8am-1pm, 2pm-8pm",            -- lunch break 1pm-2pm
  },
  closed_on = {},                               -- holidays, like { "2026-12-25" }

  -- the wash bays, one car at a time each
  resources = {
    bay = { title = "Bay", count = 2 },
  },

  hold_minutes = 10,          -- a picked time is kept this long while the customer confirms
  horizon_days = 14,          -- how many days ahead customers can book
  start_every_minutes = 30,   -- start times offered: every half hour
  notice_minutes = 60,        -- the earliest start is an hour from now

  -- services: minutes of work, then buffer minutes to get the bay ready
  services = {
    { id = "basic_wash", title = "Basic Wash", price = 499, minutes = 30, buffer = 10,
      names = { "basic", "wash", "normal wash", "exterior wash" } },
    { id = "foam_wash", title = "Foam Wash", price = 799, minutes = 45, buffer = 10,
      names = { "foam", "premium wash" } },
    { id = "interior", title = "Interior Cleaning", price = 999, minutes = 60, buffer = 10,
      names = { "interior", "inside cleaning" } },
    { id = "full_detailing", title = "Full Detailing", price = 2499, minutes = 120, buffer = 15,
      names = { "detailing", "full detail", "complete detailing" } },
  },

  -- add-ons: extra price and extra minutes on top of any service
  addons = {
    { id = "wax", title = "Wax polish", price = 299, minutes = 15, names = { "wax", "polish", "waxing" } },
    { id = "tyre_shine", title = "Tyre shine", price = 149, minutes = 10, names = { "tyre", "tire shine", "tyres" } },
    { id = "vacuum", title = "Interior vacuum", price = 199, minutes = 15, names = { "vacuum", "hoovering" } },
    { id = "engine_bay", title = "Engine bay clean", price = 399, minutes = 20, names = { "engine", "engine wash" } },
  },

  -- Words customers type, as the bot should read them: each entry is the
  -- word the bot understands, then the spellings customers use for it.
  words = {
    tomorrow = { "tmrw", "tomoro", "tommorow", "tomorow", "tmrow" },
    name = { "naem", "nam", "nme" },
    number = { "numbr", "nmbr", "numbar", "no." },
    swift = { "swfit", "swif" },
    addons = { "add ons", "add on", "addon" },
    detailing = { "detaling", "deatiling" },
    ["full detailing"] = { "full detail" },
  },

  -- Questions customers ask, and the message (in messages.lua) that answers
  -- them. A question is answered and the current question asked again.
  faq = {
    { answer = "faq_hours", asks = { "are you open", "open on", "opening hours", "opening time", "closing time",
                                        "timings", "working hours", "what time do you open", "kab khulte", "kab tak khule" } },
    { answer = "faq_location", asks = { "where are you", "where are you located", "your location", "address",
                                           "where is your shop", "how to reach", "directions", "kahan hai" } },
    { answer = "faq_home_service", asks = { "at my home", "at home", "home service", "doorstep", "come to my house",
                                               "pick up my car", "ghar pe", "ghar par" } },
    { answer = "faq_services", asks = { "difference between", "whats the difference", "what is the difference",
                                           "what is included", "whats included", "which is better" } },
    { answer = "faq_payment", asks = { "payment", "pay by card", "upi", "gpay", "paytm", "pay online" } },
  },

  -- the car brands and models customers may name
  lists = {
    brands = {
      { id = "maruti", title = "Maruti Suzuki", names = { "maruti", "suzuki", "maruthi" },
        models = { "Swift", "Baleno", "Dzire", "Alto", "WagonR", "Brezza", "Ertiga", "Ciaz", "Celerio" } },
      { id = "hyundai", title = "Hyundai", models = { "i10", "i20", "Creta", "Venue", "Verna", "Aura", "Alcazar" } },
      { id = "honda", title = "Honda", models = { "City", "Amaze", "Jazz", "Elevate", "WR-V" } },
      { id = "tata", title = "Tata", models = { "Nexon", "Punch", "Tiago", "Tigor", "Harrier", "Safari", "Altroz" } },
      { id = "mahindra", title = "Mahindra", models = { "XUV700", "XUV300", "Scorpio", "Thar", "Bolero" } },
      { id = "toyota", title = "Toyota", models = { "Innova", "Fortuner", "Glanza", "Hyryder", "Camry" } },
      { id = "kia", title = "Kia", models = { "Seltos", "Sonet", "Carens" } },
      { id = "mg", title = "MG", names = { "morris garages" }, models = { "Hector", "Astor", "Comet" } },
      { id = "skoda", title = "Skoda", models = { "Slavia", "Kushaq", "Octavia" } },
      { id = "volkswagen", title = "Volkswagen", names = { "vw" }, models = { "Virtus", "Taigun", "Polo" } },
      { id = "renault", title = "Renault", models = { "Kwid", "Kiger", "Triber" } },
    },
    -- the body type of each model, as the back office prices it (with
    -- CARWASH_FRAPPE_URL set, prices per vehicle type come from Frappe);
    -- a model not listed here is priced as the type marked default
    vehicle_types = {
      { id = "Hatchback", models = { "Swift", "Baleno", "Alto", "WagonR", "Celerio", "i10", "i20", "Jazz", "Tiago",
                                     "Altroz", "Punch", "Glanza", "Kwid", "Polo", "Comet" } },
      { id = "Sedan", default = true, models = { "Dzire", "Ciaz", "Verna", "Aura", "City", "Amaze", "Tigor", "Camry",
                                                 "Slavia", "Octavia", "Virtus" } },
      { id = "SUV", models = { "Brezza", "Ertiga", "Creta", "Venue", "Alcazar", "Elevate", "WR-V", "Nexon", "Harrier",
                               "Safari", "XUV700", "XUV300", "Scorpio", "Thar", "Bolero", "Innova", "Fortuner",
                               "Hyryder", "Seltos", "Sonet", "Carens", "Hector", "Astor", "Kushaq", "Taigun",
                               "Kiger", "Triber" } },
    },
  },
}

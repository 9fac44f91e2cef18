-- Salón Lucía: what we offer, what it costs, where and when.
--
-- Every fact is written here once: the price list, the times offered, the
-- stylists' days and the messages ({prices}, {service_list}, {hours}) are
-- made from it. Prices in pesos, times in minutes. docs/salon.md says how
-- to change each part; docs/flows.md the rest.
return {
  support_phone = "55 1234 5678",
  currency = "$",

  -- when the salon is open at all (each location and stylist has their own, below)
  hours = {
    weekdays = "09:00-20:00",
    sat = "09:00-20:00",
    sun = "10:00-15:00",
  },
  closed_on = { "2026-12-25", "2027-01-01" },

  -- the stylists: where they work (areas = the locations below), what they
  -- do (does = the services' ids) and their own hours
  resources = {
    ana   = { title = "Ana", areas = { "centro" }, does = { "corte", "tinte", "peinado" },
              hours = { weekdays = "09:00-17:00", sat = "09:00-14:00" } },
    luis  = { title = "Luis", areas = { "centro", "norte" }, does = { "corte", "barba" },
              hours = { tue = "10:00-19:00", wed = "10:00-19:00", thu = "10:00-19:00",
                        fri = "10:00-19:00", sat = "10:00-19:00" } },
    sofia = { title = "Sofía", areas = { "norte" }, does = { "corte", "tinte", "manicure" },
              hours = { weekdays = "11:00-20:00", sat = "10:00-18:00", sun = "10:00-15:00" } },
  },

  hold_minutes = 10,          -- a picked time is kept this long while the customer confirms
  horizon_days = 30,          -- how far ahead customers can book
  start_every_minutes = 30,   -- start times: every half hour
  notice_minutes = 30,        -- the earliest start is half an hour from now

  services = {
    { id = "corte", title = "Corte", price = 250, minutes = 45, buffer = 15,
      names = { "corte", "corte de pelo", "corte de cabello", "cortar el pelo", "cortarme el pelo", "pelo" } },
    { id = "tinte", title = "Tinte", price = 900, minutes = 120, buffer = 15,
      names = { "tinte", "color", "pintarme el pelo", "mechas", "tintes" } },
    { id = "peinado", title = "Peinado", price = 400, minutes = 60, buffer = 15,
      names = { "peinado", "peinar", "recogido" } },
    { id = "barba", title = "Arreglo de barba", price = 150, minutes = 30, buffer = 0,
      names = { "barba", "arreglo de barba", "rasurado" } },
    { id = "manicure", title = "Manicure", price = 300, minutes = 45, buffer = 15,
      names = { "manicure", "uñas", "unas", "manicura" } },
  },

  -- typos customers write, as the bot should read them
  words = {
    ["mañana"] = { "manana", "mñana", "mañna", "maniana" },
    corte = { "corteh", "cortee", "crte" },
    tinte = { "tnte", "tintee" },
    cita = { "sita", "cta" },
  },

  -- a person only when asked for (the tenant turns mood hand-offs off)
  intents = {
    human = { "hablar con una persona", "quiero hablar con alguien", "con un humano", "con la dueña",
              "hablar con la encargada", "una persona por favor", "atención humana", "asesor" },
  },

  faq = {
    { answer = "faq_hours", asks = { "horario", "a qué hora abren", "a que hora abren", "a qué hora cierran",
                                     "están abiertos", "abren el domingo" } },
    { answer = "faq_locations", asks = { "dónde están", "donde estan", "dirección", "direccion", "ubicación",
                                         "sucursales", "sucursal" } },
    { answer = "faq_payment", asks = { "aceptan tarjeta", "formas de pago", "pago con tarjeta", "transferencia" } },
  },

  lists = {
    -- the locations; id is the stylists' area
    locations = {
      { id = "centro", title = "Centro", names = { "centro", "el centro", "sucursal centro", "madero" },
        address = "Av. Madero 12, Centro", hours = "lun-sáb 9:00-20:00" },
      { id = "norte", title = "Norte", names = { "norte", "lindavista", "sucursal norte", "la del norte" },
        address = "Montevideo 340, Lindavista", hours = "mar-dom 10:00-20:00" },
    },
  },
}

-- Sparkle Car Care: the car-service WhatsApp booking assistant
-- (../shared/seeds/carwash-whatsapp-checklist.txt), as a flowhost tenant.
-- Secrets and URLs are read by reference with env("NAME", default).
local addons = {
  wax        = { title = "Wax polish",       price = 299, duration = 15, names = { "wax", "polish", "waxing" } },
  tyre_shine = { title = "Tyre shine",       price = 149, duration = 10, names = { "tyre", "tire shine", "tyres" } },
  vacuum     = { title = "Interior vacuum",  price = 199, duration = 15, names = { "vacuum", "hoovering" } },
  engine_bay = { title = "Engine bay clean", price = 399, duration = 20, names = { "engine", "engine wash" } },
}

local function with_addons(service)
  service.addons = {}
  for id, a in pairs(addons) do service.addons[id] = { price = a.price, duration = a.duration } end
  return service
end

local week = { "08:00-13:00", "14:00-20:00" }  -- lunch break 13:00-14:00

-- wash bays, one car at a time each (CARWASH_BAYS: the benchmark uses many)
local bays = {}
for i = 1, tonumber(env("CARWASH_BAYS", "2")) do
  bays["bay" .. i] = { name = "Bay " .. i, skills = { "wash" }, capacity = 1,
    hours = { mon = week, tue = week, wed = week, thu = week, fri = week, sat = week, sun = week } }
end

return {
  name = "Sparkle Car Care",
  timezone = "Asia/Kolkata",
  languages = { "en", "hi" },
  conversation_ttl = 24 * 3600,          -- the seed keeps state 24 hours
  sentiment = { anger = 7, boredom = 8 },
  support_phone = "1800-123-4567",
  admin_token_env = "CARWASH_ADMIN_TOKEN",   -- this tenant's own admin API token
  api_key_env = "CARWASH_API_KEY",           -- JSON chat API key: lets a backend name its own conversation ids
  limits = { cpu_ms = 100 },                 -- Lua CPU per turn (memory: 64 MB per state)
  workers = "all",                           -- busy: a state on every worker (see _platform.lua)

  -- channels; credentials by reference (development values: see README)
  channels = {
    telegram = { token_env = "CARWASH_TELEGRAM_TOKEN", secret_env = "CARWASH_TELEGRAM_SECRET",
                 api_url = env("TELEGRAM_API_URL", "https://api.telegram.org"),
                 rate = tonumber(env("CARWASH_TELEGRAM_RATE", "20")),    -- messages a second
                 typing = env("CARWASH_TELEGRAM_TYPING") == "1",         -- "typing…" before replies
                 delay_per_char = tonumber(env("CARWASH_TELEGRAM_DELAY_PER_CHAR", "0")), max_delay = 3,
                 polling = env("CARWASH_TELEGRAM_POLLING") == "1" },     -- getUpdates instead of a webhook
    whatsapp = { token_env = "CARWASH_WHATSAPP_TOKEN", app_secret_env = "CARWASH_WHATSAPP_APP_SECRET",
                 verify_token_env = "CARWASH_WHATSAPP_VERIFY_TOKEN",
                 phone_number_id = env("CARWASH_WHATSAPP_PHONE_ID", "106540352242922"),
                 api_url = env("WHATSAPP_API_URL", "https://graph.facebook.com"), version = "v21.0" },
    twilio = { account_sid_env = "CARWASH_TWILIO_ACCOUNT_SID", auth_token_env = "CARWASH_TWILIO_AUTH_TOKEN",
               from = env("CARWASH_TWILIO_FROM", "whatsapp:+14155238886"),
               -- the URL exactly as configured in Twilio (it is part of the signature)
               webhook_url = env("CARWASH_TWILIO_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/carwash/twilio"),
               api_url = env("TWILIO_API_URL", "https://api.twilio.com") },
    -- WAPI (the seed's WhatsApp provider); its inbound format is assumed: see scripts/channels/wapi.lua
    wapi = { token_env = "CARWASH_WAPI_TOKEN", secret_env = "CARWASH_WAPI_SECRET",
             api_url = env("WAPI_API_URL", "https://wapi.in.net/api/v1") },
    vapi = { secret_env = "CARWASH_VAPI_SECRET", deadline = tonumber(env("CARWASH_VAPI_DEADLINE", "8")),
             transfer = "Let me transfer you to a colleague at Sparkle Car Care.",
             -- who takes a call to a number without an assistant (assistant-request)
             assistant_id = env("CARWASH_VAPI_ASSISTANT_ID", ""),
             transfer_number = env("CARWASH_VAPI_TRANSFER_NUMBER", "") },
  },
  only_text = "Sorry, I can only read text messages. Please type your answer.",

  -- The LLM is optional: the flow works on rules alone. Set CARWASH_LLM_URL
  -- (an OpenAI-compatible server such as Ollama: http://127.0.0.1:11434/v1)
  -- to let it read what the rules cannot.
  llm = env("CARWASH_LLM_URL") and {
    provider = env("CARWASH_LLM_PROVIDER", "openai"),
    base_url = env("CARWASH_LLM_URL"),
    model = env("CARWASH_LLM_MODEL", "gemma3:4b"),
    api_key_env = "CARWASH_LLM_KEY",
    timeout = 3, retries = 2, temperature = 0,
    turn_deadline = 4,                   -- after this the turn goes on with rules
  } or nil,

  catalogue = {
    services = {
      { id = "basic_wash",     title = "Basic Wash",        price = 499,  names = { "basic", "wash", "normal wash", "exterior wash" } },
      { id = "foam_wash",      title = "Foam Wash",         price = 799,  names = { "foam", "premium wash" } },
      { id = "interior",       title = "Interior Cleaning", price = 999,  names = { "interior", "inside cleaning" } },
      { id = "full_detailing", title = "Full Detailing",    price = 2499, names = { "detailing", "full detail", "complete detailing" } },
    },
    addons = addons,
    brands = {
      { id = "maruti",   title = "Maruti Suzuki", names = { "maruti", "suzuki", "maruthi" },
        models = { "Swift", "Baleno", "Dzire", "Alto", "WagonR", "Brezza", "Ertiga", "Ciaz", "Celerio" } },
      { id = "hyundai",  title = "Hyundai", models = { "i10", "i20", "Creta", "Venue", "Verna", "Aura", "Alcazar" } },
      { id = "honda",    title = "Honda",   models = { "City", "Amaze", "Jazz", "Elevate", "WR-V" } },
      { id = "tata",     title = "Tata",    models = { "Nexon", "Punch", "Tiago", "Tigor", "Harrier", "Safari", "Altroz" } },
      { id = "mahindra", title = "Mahindra", models = { "XUV700", "XUV300", "Scorpio", "Thar", "Bolero" } },
      { id = "toyota",   title = "Toyota",  models = { "Innova", "Fortuner", "Glanza", "Hyryder", "Camry" } },
      { id = "kia",      title = "Kia",     models = { "Seltos", "Sonet", "Carens" } },
      { id = "mg",       title = "MG",      names = { "morris garages" }, models = { "Hector", "Astor", "Comet" } },
      { id = "skoda",    title = "Skoda",   models = { "Slavia", "Kushaq", "Octavia" } },
      { id = "volkswagen", title = "Volkswagen", names = { "vw" }, models = { "Virtus", "Taigun", "Polo" } },
      { id = "renault",  title = "Renault", models = { "Kwid", "Kiger", "Triber" } },
    },
  },

  -- the booking engine
  booking = {
    id = { prefix = "SR-", length = 8 },
    rules = { granularity = 30, min_notice = 60, horizon_days = 14, hold_minutes = 10,
              assignment = "least_loaded",
              holds_per_customer = 1,    -- a customer's new hold replaces their earlier one
              -- bookings and holds customers may make across the business per minute (0: no limit)
              bookings_per_minute = tonumber(env("CARWASH_BOOKINGS_PER_MINUTE", "30")) },
    services = {
      basic_wash     = with_addons{ duration = 30,  buffer_after = 10, skill = "wash", price = 499 },
      foam_wash      = with_addons{ duration = 45,  buffer_after = 10, skill = "wash", price = 799 },
      interior       = with_addons{ duration = 60,  buffer_after = 10, skill = "wash", price = 999 },
      full_detailing = with_addons{ duration = 120, buffer_after = 15, skill = "wash", price = 2499 },
    },
    resources = bays,
  },
}

-- Sparkle Car Care: the car-service WhatsApp booking assistant
-- (../shared/seeds/carwash-whatsapp-checklist.txt), as a flowhost tenant.
-- Secrets and URLs are read by reference with env("NAME", default).
-- This file is plumbing (channels, URLs, rates, LLM, benchmark knobs); what
-- the business sells, its prices and opening hours are in
-- flows/carwash/business.lua.
return {
  name = "Sparkle Car Care",
  timezone = "Asia/Kolkata",
  languages = { "en", "hi" },
  conversation_ttl = 24 * 3600,          -- the seed keeps state 24 hours
  sentiment = { anger = 7, boredom = 8 },
  admin_token_env = "CARWASH_ADMIN_TOKEN",   -- this tenant's own admin API token
  api_key_env = "CARWASH_API_KEY",           -- JSON chat API key: lets a backend name its own conversation ids
  limits = { cpu_ms = 100 },                 -- Lua CPU per turn (memory: 64 MB per state)
  workers = "all",                           -- busy: a state on every worker (see _platform.lua)

  -- a reply a host killed mid-send may have sent: "resend" (the default: a
  -- repeat, never a loss) or "skip" (counted as sent); docs/exactly-once.md
  in_doubt = env("CARWASH_IN_DOUBT", "resend"),
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

  -- The back office (the seed's Frappe app), optional: with CARWASH_FRAPPE_URL set,
  -- services, add-ons and prices per vehicle type come from Frappe and bookings are
  -- written there (flows/carwash/backoffice.lua; README "Carwash back office").
  connectors = env("CARWASH_FRAPPE_URL") and {
    frappe = { url = env("CARWASH_FRAPPE_URL"), key_env = "CARWASH_FRAPPE_KEY",
               secret_env = "CARWASH_FRAPPE_SECRET", timeout = 5, tries = 2, deadline = 12 },
  } or nil,
  backoffice = env("CARWASH_FRAPPE_URL") and {
    fresh_minutes = 5,            -- Frappe's catalogue and prices are read again after this
    read_timeout = 3,             -- seconds a read may keep a customer's turn waiting
    retry_seconds = tonumber(env("CARWASH_FRAPPE_RETRY_SECONDS", "60")),   -- first retry of a failed write
  } or nil,

  -- the booking engine's plumbing; services, hours, bays and the booking
  -- rules customers see (hold, horizon) come from business.lua
  booking = {
    id = { prefix = "SR-", length = 8 },
    rules = { assignment = "least_loaded",
              holds_per_customer = 1,    -- a customer's new hold replaces their earlier one
              -- bookings and holds customers may make across the business per minute (0: no limit)
              bookings_per_minute = tonumber(env("CARWASH_BOOKINGS_PER_MINUTE", "30")) },
    -- CARWASH_BAYS: the benchmark runs with many wash bays
    resource_counts = { bay = tonumber(env("CARWASH_BAYS", "")) },
  },
}

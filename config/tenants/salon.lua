-- Salón Lucía: the salon chain's WhatsApp assistant
-- (../shared/seeds/salon-whatsapp-workplan.txt), as a flowhost tenant.
-- Customers book, move and cancel a cita on WhatsApp through Twilio; the
-- owner is told of every booking, can take a conversation over, and the
-- stylists and the owner write to the same number for their day.
-- This file is plumbing (channel, people's numbers, schedules, template
-- ids); services, prices, locations and hours are in flows/salon/business.lua.

-- the template for a notice to staff whose WhatsApp window is closed ({{1}} the text)
local notice_template = env("SALON_TEMPLATE_NOTICE", "HX1e000000000000000000000000000004")

return {
  name = "Salón Lucía",
  timezone = "America/Mexico_City",
  languages = { "es" },
  conversation_ttl = 24 * 3600,
  admin_token_env = "SALON_ADMIN_TOKEN",
  api_key_env = "SALON_API_KEY",

  channels = {
    twilio = { account_sid_env = "SALON_TWILIO_ACCOUNT_SID", auth_token_env = "SALON_TWILIO_AUTH_TOKEN",
               from = env("SALON_TWILIO_FROM", "whatsapp:+14155238886"),
               -- the URL exactly as configured in Twilio (it is part of the signature)
               webhook_url = env("SALON_TWILIO_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/salon/twilio"),
               api_url = env("TWILIO_API_URL", "https://api.twilio.com") },
  },
  only_text = "Perdón, solo puedo leer mensajes de texto. Escríbeme tu respuesta, por favor.",

  -- the owner and the stylists; a stylist's id is their id in business.lua's
  -- resources, so the daily summary and "¿qué tengo hoy?" show their own day
  staff = {
    owner = { name = "Lucía", whatsapp = env("SALON_OWNER_WHATSAPP", "+5215500000001"), lang = "es" },
    ana   = { name = "Ana",   whatsapp = env("SALON_ANA_WHATSAPP", "+5215500000002"), lang = "es" },
    luis  = { name = "Luis",  whatsapp = env("SALON_LUIS_WHATSAPP", "+5215500000003"), lang = "es" },
    sofia = { name = "Sofía", whatsapp = env("SALON_SOFIA_WHATSAPP", "+5215500000004"), lang = "es" },
  },

  -- a person only when the customer asks for one: never on mood
  handoff_on_sentiment = false,
  handoff = { to = "owner", end_words = { "listo", "terminar", "ya quedó", "fin" }, template = notice_template,
              timeout = tonumber(env("SALON_HANDOFF_TIMEOUT", "1800")) },

  -- every morning at 8 (Mexico City): the owner and each stylist get their day
  schedules = {
    daily_summary = { at = "08:00", handler = "daily_summary" },
  },

  -- Twilio Content API templates (approved by WhatsApp), for messages
  -- outside the 24-hour window (the development ids below are placeholders):
  -- reminder/confirmation {{1}} name, {{2}} service, {{3}} day and time
  templates = {
    reminder = env("SALON_TEMPLATE_REMINDER", "HX1e000000000000000000000000000001"),
    confirmation = env("SALON_TEMPLATE_CONFIRMATION", "HX1e000000000000000000000000000002"),
    summary = env("SALON_TEMPLATE_SUMMARY", "HX1e000000000000000000000000000003"),   -- {{1}} citas today
    notice = notice_template,                                                        -- {{1}} a notice to staff
  },

  -- optional: an OpenAI-compatible LLM reads what the rules cannot
  llm = env("SALON_LLM_URL") and {
    provider = env("SALON_LLM_PROVIDER", "openai"), base_url = env("SALON_LLM_URL"),
    model = env("SALON_LLM_MODEL", "gemma3:4b"), api_key_env = "SALON_LLM_KEY",
    timeout = 3, retries = 1, temperature = 0, turn_deadline = 4,
  } or nil,

  booking = {
    id = { prefix = "SL-", length = 8 },
    rules = { assignment = "least_loaded", holds_per_customer = 1,
              bookings_per_minute = tonumber(env("SALON_BOOKINGS_PER_MINUTE", "60")) },
  },
}

-- Lone Star Comfort Heating & Air: the HVAC voice dispatcher (issue 17,
-- ../shared/seeds/hvac-voice-odoo-plan.txt). A Vapi assistant calls the
-- flow's tools (flows/hvac/flow.lua); appointments live in Odoo as
-- calendar.event records. This file is plumbing: the settings below
-- (HVAC_ODOO_URL, HVAC_ODOO_DB, HVAC_ODOO_LOGIN, HVAC_ODOO_KEY,
-- HVAC_ODOO_DISPATCH_USER_ID, HVAC_VAPI_SECRET); the company, its hours
-- and its technicians are in flows/hvac/business.lua. docs/hvac.md.
return {
  name = "Lone Star Comfort Heating & Air",
  timezone = "America/Chicago",
  languages = { "en" },
  conversation_ttl = 24 * 3600,
  handoff_on_sentiment = false,
  message_vars = { "when", "tech", "zip" },   -- what the tools give their messages (flows/hvac/flow.lua)

  channels = {
    -- tools = true: each Vapi tool call goes to the flow's tools[name]
    vapi = { secret_env = "HVAC_VAPI_SECRET", tools = true, deadline = 8,
             transfer = "Let me get a dispatcher to call you back." },
    -- SMS confirmations to the caller, when HVAC_TWILIO_ACCOUNT_SID is set
    twilio = env("HVAC_TWILIO_ACCOUNT_SID") and {
      account_sid_env = "HVAC_TWILIO_ACCOUNT_SID", auth_token_env = "HVAC_TWILIO_AUTH_TOKEN",
      from = env("HVAC_TWILIO_FROM", ""),
      webhook_url = env("HVAC_TWILIO_WEBHOOK_URL", "http://127.0.0.1:8080/webhooks/hvac/twilio"),
      api_url = env("TWILIO_API_URL", "https://api.twilio.com") } or nil,
  },

  connectors = {
    -- HVAC_ODOO_KEY: an API key (Odoo 14+) or the password of HVAC_ODOO_LOGIN
    odoo = { url = env("HVAC_ODOO_URL", "http://127.0.0.1:8069"), db = env("HVAC_ODOO_DB", "hvac"),
             login_env = "HVAC_ODOO_LOGIN", key_env = "HVAC_ODOO_KEY",
             -- a voice call cannot wait: at most 5 s per Odoo call, inside Vapi's 8 s
             timeout = 4, tries = 2, deadline = 5 },
  },

  -- how bookings reach Odoo (flows/hvac/records.lua)
  dispatch = {
    -- the Odoo user who owns an event no technician fits (only with allow_unassigned)
    user_id = tonumber(env("HVAC_ODOO_DISPATCH_USER_ID", "2")),
    allow_unassigned = false,
    create_leads = true,            -- a first-time caller gets a crm.lead
    -- crm.stage names a lead moves to (create them in Odoo, or name existing ones)
    stages = { scheduled = "Visit Scheduled", cancelled = "Visit Cancelled" },
    cancel = "archive",             -- "archive" (active = false) or "unlink"
    undo_after = 20,                -- seconds: an Odoo create left in doubt is looked up and undone then
  },

  booking = {
    rules = { assignment = "least_loaded", travel_minutes = 30 },
  },
}

-- Sales Co: the Telegram sales assistant (../shared/seeds/telegram-sales-rep-plan.txt,
-- issue 18). One tenant, one sub-tenant per sales rep ("salesco.anna",
-- "salesco.ben"): each rep connects the company bot to their own Telegram
-- Business account (docs/salesco.md), and the assistant answers their
-- prospects in the rep's voice, in the rep's hours and calendar.
-- This file is plumbing; what the assistant says is in flows/salesco/.
local WEEKDAYS = function(span)
  return { mon = { span }, tue = { span }, wed = { span }, thu = { span }, fri = { span } }
end
return {
  name = "Sales Co",
  timezone = "Asia/Makassar",
  languages = { "en", "ru" },          -- Russian when the prospect writes it (formal "Вы")
  conversation_ttl = 30 * 24 * 3600,      -- a prospect may come back weeks later
  handoff_on_sentiment = false,           -- escalation is the flow's (flows/salesco/flow.lua)

  channels = {
    telegram = { token_env = "SALESCO_TELEGRAM_TOKEN", secret_env = "SALESCO_TELEGRAM_SECRET",
                 api_url = env("TELEGRAM_API_URL", "https://api.telegram.org") },
  },
  connectors = {
    -- SALESCO_GOOGLE_CREDENTIALS: the service account's JSON key, or the path of its file
    google_calendar = { credentials_env = "SALESCO_GOOGLE_CREDENTIALS", timeout = 3, tries = 2, deadline = 6 },
    zoom = { account_id_env = "SALESCO_ZOOM_ACCOUNT_ID", client_id_env = "SALESCO_ZOOM_CLIENT_ID",
             client_secret_env = "SALESCO_ZOOM_CLIENT_SECRET", timeout = 3, tries = 2, deadline = 6 },
  },
  -- the LLM that answers prospects' questions from flows/salesco/knowledge.lua (optional:
  -- without it the assistant works on its rules alone)
  llm = env("SALESCO_LLM_URL") and {
    provider = env("SALESCO_LLM_PROVIDER", "openai"),        -- or "anthropic"
    base_url = env("SALESCO_LLM_URL"),
    model = env("SALESCO_LLM_MODEL", "gpt-4o-mini"),
    api_key_env = "SALESCO_LLM_KEY",
    timeout = 3, retries = 1, temperature = 0.3,
    turn_deadline = 4,
  } or nil,
  -- the booking engine's plumbing; the call itself (30 minutes, hours, notice) is in business.lua
  booking = { id = { prefix = "SC-", length = 8 } },
  -- the reps, to notify when a prospect asks for a person (their chat with the bot)
  staff = {
    anna = { name = "Anna", telegram = tonumber(env("SALESCO_ANNA_CHAT", "700001")) },
    ben = { name = "Ben", telegram = tonumber(env("SALESCO_BEN_CHAT", "700002")) },
    cara = { name = "Cara", telegram = tonumber(env("SALESCO_CARA_CHAT", "700003")) },
  },
  reps = {
    anna = {
      name = "Anna Petrova, Sales Co",
      hours = WEEKDAYS("09:00-13:00"),                  -- Asia/Makassar
      calendar = { google = env("SALESCO_ANNA_CALENDAR", "anna@salesco.example"), write = false, freshness = 30 },
      telegram = { user_id = tonumber(env("SALESCO_ANNA_TELEGRAM_ID", "700001")), prospects = "all" },
    },
    ben = {
      name = "Ben Okafor, Sales Co",
      hours = WEEKDAYS("14:00-18:00"),
      calendar = { google = env("SALESCO_BEN_CALENDAR", "ben@salesco.example"), write = false, freshness = 30 },
      telegram = { user_id = tonumber(env("SALESCO_BEN_TELEGRAM_ID", "700002")),
                   prospects = { "@acme_cto", tonumber(env("SALESCO_BEN_PROSPECT", "8100001")) } },
    },
    -- a rep with a bot of their own instead of Telegram Business: its webhook is
    -- /webhooks/salesco.cara/telegram
    cara = {
      name = "Cara Lim, Sales Co",
      hours = WEEKDAYS("10:00-16:00"),
      calendar = { google = env("SALESCO_CARA_CALENDAR", "cara@salesco.example"), write = false, freshness = 30 },
      channels = { telegram = { token_env = "SALESCO_CARA_TELEGRAM_TOKEN", secret_env = "SALESCO_CARA_TELEGRAM_SECRET" } },
    },
  },
}

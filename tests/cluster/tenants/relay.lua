-- The tenant of the multi-host specs (tests/cluster): every message gets one
-- reply naming the turn it ran in, so order, overlap and repeats show.
return {
  name = "Relay",
  timezone = "UTC",
  languages = { "en" },
  conversation_ttl = 3600,
  api_key_env = "RELAY_API_KEY",
  channels = {
    telegram = { token_env = "RELAY_TELEGRAM_TOKEN", secret_env = "RELAY_TELEGRAM_SECRET",
                 api_url = env("TELEGRAM_API_URL", "https://api.telegram.org"), rate = 100000 },
  },
}

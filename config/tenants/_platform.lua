-- Platform defaults: every tenant starts from these; its own config (and a
-- sales rep's overrides) win where they say otherwise. Not a tenant itself.
return {
  languages = { "en" },
  conversation_ttl = 24 * 3600,
  sentiment = { anger = 7, boredom = 8 },
  limits = { cpu_ms = 100 },
}

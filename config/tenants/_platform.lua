-- Platform defaults: every tenant starts from these; its own config (and a
-- sales rep's overrides) win where they say otherwise. Not a tenant itself.
-- Written by the operator: env() here reads any variable.
return {
  languages = { "en" },
  conversation_ttl = 24 * 3600,
  sentiment = { anger = 7, boredom = 8 },
  limits = { cpu_ms = 100 },
  -- workers serving a tenant: 1 (its owner worker only) or "all" (a copy of
  -- its state on every worker: a busy tenant uses every core, each copy
  -- costs about 1 MB; flow.replicas)
  workers = 1,
  -- What tenant configs may read with env() (and name in *_env fields)
  -- besides their own prefix (CARWASH_ for carwash) and the vendor
  -- endpoints (TELEGRAM_API_URL, ...): names or prefixes ending in *;
  -- the list part for every tenant, a tenant's key for it alone, e.g.
  --   env_allow = { "SHARED_LLM_*", carwash = { "SPARKLE_MAPS_KEY" } },
  -- Taken out here: it is no setting a tenant sees.
  env_allow = {},
}

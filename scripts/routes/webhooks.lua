-- Inbound webhooks of the asynchronous channels:
--   POST /webhooks/{tenant}/{channel}
-- The signature (or secret) is checked on the raw body first: a failure is
-- 401/403 and nothing is stored. Then every message is dropped if the
-- provider delivered it before, else appended to the tenant's stream, and
-- the provider gets 200 at once; channels.consumer answers from the stream.
local router = require "host.router"
local tenants = require "flow.tenants"
local registry = require "channels.registry"
local inbound = require "channels.inbound"
local log = require "log"
local redis = require "redis"
local json = require "json"

local function fail(status, word, message)
  return router.json(status, { error = word, message = message })
end

-- the adapter and the tenant's credentials for it, or an error answer
local function channel(p)
  local adapter = registry.adapter(p.channel)
  if not adapter then return nil, { fail(404, "unknown channel", "channels: telegram, whatsapp, twilio, wapi, vapi") } end
  local st = tenants.status(p.tenant)
  if not st or st.version == nil then return nil, { fail(404, "unknown tenant", "no tenant '" .. p.tenant .. "'") } end
  local creds, why = registry.creds(st.settings, p.channel)
  if not creds then return nil, { fail(404, "channel not enabled", why) } end
  return adapter, creds
end

-- the subscription check some providers make (WhatsApp: hub.challenge)
router.route("GET", "/webhooks/{tenant}/{channel}", function(req, p)
  local adapter, creds = channel(p)
  if not adapter then return unpack(creds) end
  if not adapter.challenge then return fail(405, "method not allowed", "this channel sends POST only") end
  local status, body = adapter.challenge(req.query, creds)
  return status, body, { ["Content-Type"] = "text/plain" }
end, "/webhooks/{tenant}/{channel}")

router.route("POST", "/webhooks/{tenant}/{channel}", function(req, p)
  local adapter, creds = channel(p)
  if not adapter then return unpack(creds) end
  local ok, status, reason = adapter.verify(req, creds)
  if not ok then
    log.warn("webhook rejected", { tenant = p.tenant, channel = p.channel, reason = reason })
    return fail(status, status == 401 and "unauthorized" or "forbidden", reason)
  end
  if adapter.synchronous then                      -- Vapi: the turn runs inline
    local status, body = adapter.answer(p.tenant, req.body, creds)
    return router.json(status, body)
  end
  local msgs, statuses = adapter.parse(req.body)
  if not msgs then return fail(400, "bad payload", statuses) end
  -- delivery receipts (delivered / read / failed) recorded on the outbound message
  for _, s in ipairs(type(statuses) == "table" and statuses or {}) do
    redis.call("HSET", "fh:sent:{" .. p.tenant .. "}", s.id, json.encode(s))
  end
  for _, m in ipairs(msgs) do
    local done, qerr = inbound.accept(p.tenant, p.channel, m)
    if not done then return fail(503, "unavailable", "cannot queue the message (" .. tostring(qerr) .. "); retry") end
  end
  if adapter.ack then return adapter.ack() end     -- e.g. Twilio wants TwiML
  return router.json(200, { ok = true })
end, "/webhooks/{tenant}/{channel}")

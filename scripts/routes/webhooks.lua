-- Inbound webhooks of the asynchronous channels:
--   POST /webhooks/{tenant}/{channel}
--   POST /webhooks/{tenant}.{rep}/{channel}   a sales rep's own channel
--        (reps.<rep>.channels in the tenant's config): answered as the rep
-- The signature (or secret) is checked on the raw body first: a failure is
-- 401/403 and nothing is stored. Then every message is dropped if the
-- provider delivered it before, else appended to the tenant's stream, and
-- the provider gets 200 at once; channels.consumer answers from the stream.
-- A verified payload (or a message of it) the host cannot use, missing
-- fields or odd types, is acknowledged too: it goes to the tenant's
-- dead-letter stream with the reason and is counted in
-- flowhost_webhook_unusable_total{tenant,channel,reason}; a vendor retries
-- a 5xx for days, so only Redis being unable to keep it gives one (503).
local router = require "host.router"
local tenants = require "flow.tenants"
local TENANT_ID = require("flow.tenant").ID
local registry = require "channels.registry"
local inbound = require "channels.inbound"
local log = require "log"
local receipts = require "channels.receipts"
local doubt = require "channels.doubt"
local reps = require "channels.reps"
local json = require "json"

local function fail(status, word, message)
  return router.json(status, { error = word, message = message })
end

-- the adapter and the tenant's credentials for it, or an error answer;
-- {tenant} may be "<tenant>.<rep>": a sales rep's own channel (its
-- messages are the rep's; p.tenant becomes the tenant, p.rep the rep)
local function channel(p)
  local base, rep = p.tenant:match("^([^.]+)%.([^.]+)$")
  if base then p.tenant, p.rep = base, rep end
  if not p.tenant:match(TENANT_ID) then                -- "..", "_platform", "a%00b": no tenant
    return nil, { fail(404, "unknown tenant", "no such tenant") }
  end
  local adapter = registry.adapter(p.channel)
  if not adapter then return nil, { fail(404, "unknown channel", "channels: telegram, whatsapp, twilio, wapi, vapi") } end
  local st = tenants.status(p.tenant)
  if not st or st.version == nil then return nil, { fail(404, "unknown tenant", "no tenant '" .. p.tenant .. "'") } end
  local settings = st.settings
  if rep and adapter.synchronous then return nil, { fail(404, "channel not enabled", "a rep's own channel must be asynchronous") } end
  if rep then
    local own = type(settings.reps) == "table" and type(settings.reps[rep]) == "table" and settings.reps[rep].channels
    if type(own) ~= "table" or own[p.channel] == nil then
      return nil, { fail(404, "channel not enabled", "the rep has no " .. p.channel .. " of their own") }
    end
    settings = registry.for_rep(settings, rep)
  end
  local creds, why = registry.creds(settings, p.channel)
  if not creds then return nil, { fail(404, "channel not enabled", why) } end
  return adapter, creds, st.settings
end

-- the subscription check some providers make (WhatsApp: hub.challenge)
router.route("GET", "/webhooks/{tenant}/{channel}", function(req, p)
  local adapter, creds = channel(p)
  if not adapter then return unpack(creds) end
  if not adapter.challenge then return fail(405, "method not allowed", "this channel sends POST only") end
  local status, body = adapter.challenge(req.query, creds)
  return status, body, { ["Content-Type"] = "text/plain" }
end, "/webhooks/{tenant}/{channel}", { reps = true })

-- the payload (or the items of it) a verified sender sent that the host
-- cannot use: kept in the dead-letter stream; nil, err when Redis cannot
local function keep_unusable(p, unusable, body)
  for _, u in ipairs(unusable or {}) do
    local item = u.item
    if type(item) == "table" then                  -- as JSON, else the whole body
      local ok, text = pcall(json.encode, item)
      item = ok and text or body
    end
    local id, err = inbound.unusable(p.tenant, p.channel, u.word or "parser failed", u.detail, item)
    if not id then return nil, err end
  end
  return true
end

-- adapter.parse / adapter.answer under pcall: a parser bug is logged and
-- the payload dead-lettered, never a 500 that the vendor retries for ever
local function guarded(p, fn, ...)
  local res = { pcall(fn, ...) }
  if res[1] then return unpack(res, 2, table.maxn(res)) end
  log.error("channel parser failed", { tenant = p.tenant, channel = p.channel, err = tostring(res[2]) })
  return nil, "parser failed", tostring(res[2]):sub(1, 300)
end

router.route("POST", "/webhooks/{tenant}/{channel}", function(req, p)
  local adapter, creds, settings = channel(p)
  if not adapter then return unpack(creds) end
  local ok, status, reason = adapter.verify(req, creds)
  if not ok then
    log.warn("webhook rejected", { tenant = p.tenant, channel = p.channel, reason = reason })
    return fail(status, status == 401 and "unauthorized" or "forbidden", reason)
  end
  -- the sender is verified: from here any body gets 2xx (503 only while
  -- Redis cannot keep it), what the host cannot use goes to the dead letters
  if adapter.synchronous then                      -- Vapi: the turn runs inline
    local answer_status, body, unusable = guarded(p, adapter.answer, p.tenant, req.body, creds)
    if not answer_status then
      answer_status, body, unusable = 200, {}, { { word = body, detail = unusable, item = req.body } }
    end
    local kept, kerr = keep_unusable(p, unusable, req.body)
    if not kept then log.error("could not keep an unusable payload", { tenant = p.tenant, channel = p.channel, err = kerr }) end
    return router.json(answer_status, body)
  end
  local msgs, statuses, unusable = guarded(p, adapter.parse, req.body, req.query)
  if not msgs then
    msgs, statuses, unusable = {}, {}, { { word = statuses, detail = unusable, item = req.body } }
  end
  local kept, kerr = keep_unusable(p, unusable, req.body)
  if not kept then return fail(503, "unavailable", "cannot keep the message (" .. tostring(kerr) .. "); retry") end
  -- delivery receipts (delivered / read / failed) recorded on the outbound message
  -- (and a reply's status settles it if it was in doubt: channels.doubt)
  for _, s in ipairs(statuses or {}) do
    receipts.record(p.tenant, s.id, s)
    if s.ref then
      local ok, derr = doubt.confirm(p.tenant, s.ref, s.status)
      if not ok then return fail(503, "unavailable", "cannot keep the status (" .. tostring(derr) .. "); retry") end
    end
  end
  for _, m in ipairs(msgs) do
    -- a tenant with sales reps: the rep the message belongs to (channels.reps)
    local rep, why = p.rep, nil
    if rep then
      m.rep, m.id = rep, rep .. ":" .. m.id           -- the rep's bot numbers its updates on its own
    else rep, why = reps.route(p.tenant, settings, m, creds) end
    if rep == nil and why then return fail(503, "unavailable", "cannot route the message (" .. tostring(why) .. "); retry") end
    if rep == false then
      log.info("webhook message left alone", { tenant = p.tenant, channel = p.channel, reason = why })
    else
      local done, qerr = inbound.accept(p.tenant, p.channel, m)
      if not done then return fail(503, "unavailable", "cannot queue the message (" .. tostring(qerr) .. "); retry") end
    end
  end
  if adapter.ack then return adapter.ack() end     -- e.g. Twilio wants TwiML
  return router.json(200, { ok = true })
end, "/webhooks/{tenant}/{channel}", { reps = true })

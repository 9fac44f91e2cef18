--- channels.inbound: the durable inbound queue of asynchronous channels,
--- and its dead-letter stream.
--
--   inbound.accept(tenant, channel, msg) -> "queued" | "duplicate" | nil, err
--       (yields) drops a message the provider delivered before (by its
--       message id, for 7 days), else appends it to the tenant's stream,
--       both in one Redis script (a kill between them lost the message);
--       msg comes from an adapter's parse (ids checked there)
--   inbound.unusable(tenant, channel, word, detail, what, source?) -> id | nil, err
--       (yields) a verified payload, or one message of it, that the host
--       cannot use: appended to the dead-letter stream with its reason,
--       counted in flowhost_webhook_unusable_total{tenant,channel,reason}
--       and logged. word: channels.shape's stable word; detail: where and
--       what; what: the raw body or the item (a table, kept as JSON);
--       source: "webhook" (default) or "poller"
--   inbound.dead_letter(tenant, reason, fields) -> id | nil, err
--       (yields) appends an entry {reason, at, fields...} (fields: a list of
--       name, value, name, value, ...) to the tenant's dead-letter stream and
--       counts it in flowhost_inbound_dead_letters_total{tenant,reason}
--   inbound.stream(tenant) / inbound.dead(tenant) -> stream keys
--
-- Stream entries: channel, id (the provider's message id), conversation,
-- msg (JSON {text | button}), name, rep (the sales rep whose turn it is,
-- served as "<tenant>.<rep>"; absent: the tenant's). A worker of the tenant's process reads
-- them with a consumer group (channels.consumer). The dead-letter stream
-- keeps the newest DEAD_MAX entries (XADD MAXLEN ~): an operator reads it
-- with XRANGE; it is a record, nothing re-reads it.
local redis = require "redis"
local json = require "json"
local host = require "host"
local log = require "log"
local order = require "channels.order"

local M = {}

local DEDUPE_TTL = 7 * 24 * 3600
local WINDOW = 24 * 3600
local DEAD_MAX = 10000            -- entries kept per tenant
local KEEP_BYTES = 8192           -- of an unusable body (its length is kept too)

--- The key that exists while the customer's last message is under 24 h old.
function M.window_key(tenant, channel, conversation)
  return ("fh:window:{%s}:%s:%s"):format(tenant, channel, tostring(conversation))
end

function M.stream(tenant) return "fh:in:{" .. tenant .. "}" end
function M.dead(tenant) return "fh:dead:{" .. tenant .. "}" end
function M.dedupe_key(tenant, channel, id) return ("fh:seen:{%s}:%s:%s"):format(tenant, channel, id) end

function M.accept(tenant, channel, msg)
  local payload = { text = msg.text, button = msg.button, kind = msg.kind, callback = msg.callback,
                    media = msg.media, location = msg.location, contacts = msg.contacts }
  local fields = { "channel", channel, "id", msg.id,
    "conversation", msg.conversation, "name", msg.name or "", "msg", json.encode(payload) }
  if msg.rep then fields[#fields + 1], fields[#fields + 2] = "rep", msg.rep end   -- a sales rep's (channels.reps)
  -- one script: the dedupe mark, the entry, its place in its conversation's
  -- line (channels.order) and the channel's service window (the customer
  -- wrote; WhatsApp: 24 h)
  local id, err = order.append(tenant, M.stream(tenant), fields, {
    seen = M.dedupe_key(tenant, channel, msg.id), seen_ttl = DEDUPE_TTL,
    window = M.window_key(tenant, channel, msg.conversation), now = math.floor(require("time").now()),
    window_ttl = WINDOW })
  if id == nil then return nil, err end           -- nothing written: the provider's retry gets in
  return id == "duplicate" and "duplicate" or "queued"
end

local function label(s) return host.escape_label(tostring(s)) end

function M.dead_letter(tenant, reason, fields)
  local args = { "XADD", M.dead(tenant), "MAXLEN", "~", DEAD_MAX, "*",
                 "reason", reason, "at", math.floor(require("time").now()) }
  for _, v in ipairs(fields) do args[#args + 1] = v end
  local id, err = redis.call(unpack(args))
  if not id then return nil, err end
  host.metric_add("flowhost_inbound_dead_letters_total", ('tenant="%s",reason="%s"'):format(label(tenant), label(reason)), 1)
  return id
end

-- the payload as kept: a table as JSON, a body cut to KEEP_BYTES
local function kept(what)
  if type(what) == "table" then
    local ok, s = pcall(json.encode, what)
    what = ok and s or "(not encodable)"
  end
  what = tostring(what or "")
  return what:sub(1, KEEP_BYTES), #what
end

function M.unusable(tenant, channel, word, detail, what, source)
  local body, bytes = kept(what)
  local id, err = M.dead_letter(tenant, word, { "source", source or "webhook", "channel", channel,
    "error", word .. ": " .. tostring(detail), "body", body, "bytes", bytes })
  if not id then return nil, err end
  host.metric_add("flowhost_webhook_unusable_total", ('tenant="%s",channel="%s",reason="%s"'):format(
    label(tenant), label(channel), label(word)), 1)
  log.warn("signed payload the host cannot use: kept in the dead-letter stream",
           { tenant = tenant, channel = channel, reason = word, detail = detail, entry = id })
  return id
end

return M

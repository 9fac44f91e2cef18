--- channels.doubt: a reply "in doubt", one that went on the wire while the
--- host did not learn whether the vendor took it (the host was killed, or
--- the connection broke, before the answer): what the tenant's rule and the
--- vendor's status callbacks make of it. See docs/exactly-once.md.
--
--   doubt.rule(settings) -> "resend" | "skip"
--       the tenant's `in_doubt` setting (default "resend": a lost "Booked!"
--       is worse than a repeated one)
--   doubt.ref(channel, id, i) -> string
--       the reference sent with reply i of the inbound message id (WhatsApp:
--       biz_opaque_callback_data; Twilio: the StatusCallback URL's fh_reply);
--       the vendor's status callbacks carry it back
--   doubt.confirm(tenant, ref, status) -> true | nil, err      (yields)
--       a status callback for ref: a status that proves the vendor took the
--       message (see TOOK) marks that reply taken; others are ignored
--   doubt.taken(tenant, channel, id, i) -> status | nil         (yields)
--   doubt.resolve(tenant, settings, where, wait) -> true (count it as sent)
--       | false (send it again)                                   (yields)
--       where = {channel, id, conversation, reply = i}; waits up to wait
--       seconds for the vendor's word (adapters with status callbacks), then
--       applies the rule; logs "reply in doubt: ..." with outcome
--       "confirmed" | "skipped" | "resent" and counts it in
--       flowhost_replies_in_doubt_total{tenant,outcome}
--   doubt.note(tenant, outcome, fields)  the log line and the count alone
--       (scheduled messages, channels.outbound)
local redis = require "redis"
local host = require "host"
local time = require "time"
local log = require "log"

local M = {}

local TTL = 7 * 24 * 3600          -- as long as the outbox
M.DEFAULT = "resend"

-- statuses that prove the vendor accepted the message (Twilio's queued and
-- accepted come only for a message it created; failed/undelivered do not
-- count: the customer did not get it)
local TOOK = { accepted = true, queued = true, sending = true, sent = true, delivered = true, read = true,
               scheduled = true, partially_delivered = true }

function M.rule(settings)
  local r = settings and settings.in_doubt
  if r == "skip" or r == "resend" then return r end
  return M.DEFAULT
end

function M.ref(channel, id, i) return ("fh1:%d:%s:%s"):format(i, channel, tostring(id)) end

function M.key(tenant, channel, id) return ("fh:outack:{%s}:%s:%s"):format(tenant, channel, tostring(id)) end

function M.confirm(tenant, ref, status)
  if type(ref) ~= "string" or not TOOK[status] then return true end
  local i, channel, id = ref:match("^fh1:(%d+):([%w_]+):(.+)$")
  if not i or id:find("[{}]") then return true end         -- not ours (or not one hash tag)
  local key = M.key(tenant, channel, id)
  local r, err = redis.pipeline{ { "HSETNX", key, i, status }, { "EXPIRE", key, TTL } }
  if not r then return nil, err end
  return true
end

function M.taken(tenant, channel, id, i)
  local st = redis.call("HGET", M.key(tenant, channel, id), tostring(i))
  return type(st) == "string" and st or nil
end

local MESSAGES = {
  confirmed = "reply in doubt: the vendor confirmed it, not sent again",
  skipped = "reply in doubt: counted as sent (in_doubt = \"skip\")",
  resent = "reply in doubt: sent again (in_doubt = \"resend\")",
}

function M.note(tenant, outcome, fields)
  fields.tenant, fields.outcome = tenant, outcome
  log.warn(MESSAGES[outcome], fields)
  host.metric_add("flowhost_replies_in_doubt_total",
    ('tenant="%s",outcome="%s"'):format(host.escape_label(tenant), outcome), 1)
end

function M.resolve(tenant, settings, where, wait)
  local deadline = time.monotonic() + (wait or 0)
  local took
  while true do
    took = M.taken(tenant, where.channel, where.id, where.reply)
    if took or time.monotonic() >= deadline then break end
    time.sleep(0.25)
  end
  local outcome = took and "confirmed" or (M.rule(settings) == "skip" and "skipped" or "resent")
  M.note(tenant, outcome, { channel = where.channel, id = where.id, conversation = where.conversation,
                            reply = where.reply, status = took })
  return outcome ~= "resent"
end

return M

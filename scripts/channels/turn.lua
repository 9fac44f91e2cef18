--- channels.turn: one customer message through the tenant's flow. Every
--- channel runs its turns here: the JSON chat API (routes/chat.lua), the
--- stream consumer of the asynchronous channels and Vapi's synchronous tool
--- calls; only how a message is parsed and how replies are rendered differ.
--
--   turn.run(tenant, conversation, msg, opts) -> res | nil, err, detail
--     tenant: "<tenant>" or "<tenant>.<rep>" (a sales rep: same state)
--     msg = {text, button, kind, media, location, contacts}
--     opts.mid: the provider's message id; a message already handled gets
--               the replies it got then, the flow does not run twice
--     res = {replies, state, slots, version}; a turn that failed in the flow
--           (over its budget, a bug) gives {replies = {{text = the tenant's
--           fallback}}, error = "flow failed"}
--     err: "unknown tenant", "tenant broken", "busy", or the storage's error
--
-- The conversation's lock is taken here, in the worker's main state, around
-- the call into the tenant's state: a turn stopped there for its budget
-- (or its state closed) cannot keep the lock; the next message of the
-- conversation runs as soon as this one has its answer.
--
-- Every turn is counted here, per tenant (scripts/signals.lua):
-- flowhost_turns_total, flowhost_turns_failed_total{reason} and
-- flowhost_fallback_replies_total, and a failed one in the studio's daily
-- counts too (flow.health); a redelivered message the flow does not run
-- again is not a turn, and an unknown tenant is nobody's.
local json = require "json"
local signals = require "signals"
local health = require "flow.health"
local tenants = require "flow.tenants"
local flowturn = require "flow.turn"
local lock = require "lock"

local M = {}

-- a failed turn's reason, a short fixed word (a label)
local REASON = { ["tenant broken"] = "tenant_broken", busy = "busy" }

local function count(base, res, err, detail)
  if err == "unknown tenant" or (res and res.repeated) then return end
  signals.count("flowhost_turns_total", base)
  if res and res.error == "flow failed" then
    signals.count("flowhost_turns_failed_total", base, { "reason", "flow" })
    signals.count("flowhost_fallback_replies_total", base)
    health.count(base, "failed_turns", detail)    -- the studio's health page (detail: over its budget)
  elseif not res then
    signals.count("flowhost_turns_failed_total", base, { "reason", REASON[err] or "storage" })
  end
end

function M.run(tenant, conversation, msg, opts)
  local base = tenant:match("^([^.]+)")
  local res, err, detail = lock.with(flowturn.lock_key(tenant, conversation), flowturn.LEASE, function(h)
    local out, cerr, cdetail, fallback = tenants.call(base, "turn", json.encode{
      tenant = tenant, id = conversation, mid = opts and opts.mid, msg = msg,
      fence = h.fence and ("%.0f"):format(h.fence) })   -- as text: JSON numbers keep 14 digits
    if cerr == "flow failed" then return { replies = { { text = fallback } }, error = "flow failed" }, nil, cdetail end
    local r = out and json.decode(out)
    if r and r.res then return r.res end
    return nil, cerr or (r and r.err) or "turn failed", cdetail
  end, { wait = 20 })
  if res == nil and err == "timeout" then err = "busy" end
  count(base, res, err, detail)
  if res then return res end
  return res, err, detail
end

return M

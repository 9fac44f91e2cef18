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
local json = require "json"
local tenants = require "flow.tenants"

local M = {}

function M.run(tenant, conversation, msg, opts)
  local base = tenant:match("^([^.]+)")
  local out, err, detail, fallback = tenants.call(base, "turn", json.encode{
    tenant = tenant, id = conversation, mid = opts and opts.mid, msg = msg })
  if err == "flow failed" then return { replies = { { text = fallback } }, error = "flow failed" } end
  local r = out and json.decode(out)
  if r and r.res then return r.res end
  return nil, err or (r and r.err) or "turn failed", detail
end

return M

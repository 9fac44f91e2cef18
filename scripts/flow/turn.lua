--- flow.turn: one customer message, start to finish.
--
--   turn.run(tenant_id, conversation_id, msg, opts?) -> result | nil, err
--       opts.mid: the provider's message id; a message already handled (a
--       redelivery) gets the replies it got the first time, and the flow
--       does not run again (the last 20 ids are kept with the conversation)
--       opts.locked: the caller holds the conversation's lock already (the
--       worker's main state takes it around a tenant state's turn, so a
--       turn stopped for its budget cannot keep it); opts.fence: that
--       lock's fencing token (the conversation is written only while no
--       newer holder took the lock, flow.store)
--       msg = {text = "..."} or {button = "<id>"} or, for a flow timer,
--             {timer = "<handler>", timer_id, data} (flow.timers), or for
--             a voice assistant's tool call {tool = {name, id, arguments,
--             phone, deadline}} (the flow's tools[name], flow.engine.tool)
--       result = {replies = {{text, buttons?}}, state, slots, version,
--                 result? (a tool call's result; a repeated mid gets the
--                 same one)}
--       err: "unknown tenant" | "tenant broken" | "busy" (the conversation's
--            lock could not be had in time) | "redis unavailable" | ...
--
-- Takes the conversation lock (turns of one conversation run one at a
-- time, in arrival order) unless the caller holds it, loads the conversation, runs the flow, writes
-- the conversation back with the tenant's TTL, releases the lock. A flow
-- that raises is logged with the tenant and its traceback; the customer
-- gets the tenant's fallback message and the conversation is not changed.
-- Every key is derived from tenant_id, the tenant the message was routed
-- to, never from the tenant object a flow sees.
local tenant = require "flow.tenant"
local store = require "flow.store"
local engine = require "flow.engine"
local lock = require "lock"
local log = require "log"
local readonly = require "flow.readonly"
local handoff = require "flow.handoff"
local context = require "flow.context"

local M = {}

local LEASE = 10
M.LEASE = LEASE

--- The key of a conversation's turn lock (taken by whoever runs the turn).
function M.lock_key(tenant_id, conv_id) return store.lock_key(tenant_id, conv_id) end

-- what a turn answers is data only: a flow may have put a function or a
-- runtime object into its slots (the saved conversation leaves them out too)
-- (as_is: tables copied already, see readonly.plain)
local function result(r, as_is) return (readonly.plain(r, { name = "turn result", as_is = as_is })) end

-- saved: the conversation as store.save wrote it (its slots are a copy already)
local function output(c, saved)
  local replies = {}
  for i, r in ipairs(c.replies) do replies[i] = { text = r.text, buttons = r.buttons } end
  local slots = saved and type(saved.slots) == "table" and saved.slots
  return result({ replies = replies, state = c.conv.state, slots = slots or c.conv.slots, version = c.conv.version,
                  result = engine.result(c) }, slots and { [slots] = true })
end

function M.run(tenant_id, conv_id, msg, opts)
  local t, err = tenant.get(tenant_id)
  if not t then return nil, err end
  if type(conv_id) ~= "string" or conv_id == "" or #conv_id > 128 then
    error("turn.run: conversation id must be a string of 1 to 128 characters", 2)
  end
  local function locked(h)
    local fence = h and h.fence or opts and opts.fence
    -- a customer's message: whether a person has the conversation is read
    -- in the same round trip (handoff.route asks it next)
    local routed_msg = not msg.timer and not msg.tool
    local conv, how, also = store.load(tenant_id, conv_id,
      routed_msg and { handoff.active_command(tenant_id, conv_id) } or nil)
    if not conv then return nil, how end
    local mid = opts and opts.mid
    if mid and conv.handled then
      for _, h in ipairs(conv.handled) do
        if h.mid == mid then
          return result{ replies = h.replies, result = h.result, state = conv.state, slots = conv.slots,
                         version = conv.version, repeated = true }
        end
      end
    end
    local text = msg.text or (msg.button and "[" .. msg.button .. "]")
                 or (msg.tool and "[tool " .. tostring(msg.tool.name) .. "]")
                 or (msg.kind and "[" .. msg.kind .. (msg.media and (" " .. tostring(msg.media.id)) or "") .. "]") or ""
    if not msg.timer then store.remember(conv, "customer", text) end
    -- the context learns the routed tenant and conversation from here,
    -- never from the conversation record
    local eopts = { tenant = tenant_id, conversation = conv_id }
    for k, v in pairs(opts or {}) do if eopts[k] == nil then eopts[k] = v end end
    -- staff, and customers who are with a person, are not the bot's to answer
    if routed_msg then
      local routed, person = handoff.route(t, tenant_id, conv_id, msg, mid or ("t" .. tostring(conv.turns or 0)),
        { active = handoff.active_of(also[1]) })
      if not routed and person then
        routed = t.flow.staff == nil and { { text = handoff.text(t, "handoff_staff_none") } } or nil
      end
      if routed then
        conv.turns = (conv.turns or 0) + 1
        for _, r in ipairs(routed) do store.remember(conv, "bot", r.text) end
        local out = result{ replies = routed, state = conv.state, slots = conv.slots, version = conv.version }
        if mid then
          conv.handled = conv.handled or {}
          table.insert(conv.handled, { mid = mid, replies = out.replies })
          while #conv.handled > 20 do table.remove(conv.handled, 1) end
        end
        local saved, serr = store.save(tenant_id, conv_id, conv, t.ttl, fence)
        if not saved then return nil, serr end
        return out
      end
      if person then eopts.staff = person end
    end
    -- a flow timer (flow.timers) runs its handler instead of reading a
    -- message, and so does a staff message the hand-off did not take
    -- (the flow's staff = function(c, person) ... end)
    local run = engine.turn
    if msg.timer then run = engine.timer elseif msg.tool then run = engine.tool
    elseif eopts.staff then run = engine.staff end
    local ok, c = xpcall(run, debug.traceback, t, conv, msg, how, eopts)
    if not ok then
      log.error("flow failed", { tenant = tenant_id, conversation = conv_id, err = c })
      local reply = { text = t.tone(t.catalog:render("fallback", t.languages[1], { tenant = t.name })) }
      return result{ replies = { reply }, state = conv.state, slots = conv.slots, error = "flow failed" }
    end
    context.close(c)
    for _, r in ipairs(c.replies) do store.remember(conv, "bot", r.text) end
    if mid then
      local out = output(c)
      conv.handled = conv.handled or {}
      table.insert(conv.handled, { mid = mid, replies = out.replies, result = out.result })
      while #conv.handled > 20 do table.remove(conv.handled, 1) end
    end
    local saved, copy = store.save(tenant_id, conv_id, conv, t.ttl, fence)
    if not saved then return nil, copy end
    return output(c, copy)
  end
  if opts and opts.locked then return locked() end
  local res, rerr = lock.with(M.lock_key(tenant_id, conv_id), LEASE, locked, { wait = 20 })
  if res == nil and rerr == "timeout" then return nil, "busy" end
  return res, rerr
end

return M

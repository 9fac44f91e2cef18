--- channels.vapi: Vapi voice calls (server URL webhooks). Synchronous: a
--- tool call runs the turn inline and its replies are the tool's result.
--
--   verify(req, creds)  `Authorization: Bearer <secret>` or `X-Vapi-Secret: <secret>`
--   answer(tenant, body, creds) -> status, json body, unusable
--       unusable: {{word, detail, item}}: the payload, or tool calls of it,
--       that the host cannot use (channels.shape's words; the caller keeps
--       them in the dead-letter stream); the answer is still 200: a tool
--       call with an id but odd content gets the transfer text, one without
--       an id no result; a tool call or report without message.call.id
--       (whose call?) is not run or stored
--       tool-calls: {"results": [{"toolCallId", "name", "result"}]} — one per
--           call, single-line text; a turn that cannot finish within the
--           deadline (creds.deadline, default 8 s; Vapi waits 20 s) answers
--           the tenant's transfer text instead, never a timeout
--       assistant-request (a call to a number without an assistant; Vapi
--           waits 7.5 s): {"assistantId": creds.assistant_id}, else
--           {"destination": {"type": "number", "phoneNumber":
--           creds.transfer_number}}, else {"error": ...}; at once, no turn
--       end-of-call-report: stored with the conversation (30 days)
--       anything else: {}
--   The conversation is "vapi:<call id>"; a tool call is one turn of it,
--   under its lock, run once per toolCallId (a retried or duplicated call
--   gets the first answer). Two ways to read a tool call:
--     text (default): what the caller said is the tool's `text` argument
--       (or all its arguments as text); the result is the flow's replies
--     tools (creds.tools = true, channels.vapi = { tools = true, ... }):
--       dispatched by name to the flow's tools[name](c, args, call)
--       (flow.engine.tool; call.phone defaults to the call's
--       customer.number); the result is the handler's table as one line of
--       JSON. A tool the turn could not answer in time (or a call already
--       transferred) gets {"status":"NEEDS_HUMAN","message":<transfer>}, and
--       the handler's call.handed_over() is true from then on: it changes
--       nothing more (and undoes what it made after that).
local json = require "json"
local crypto = require "crypto"
local redis = require "redis"
local host = require "host"
local time = require "time"
local turns = require "channels.turn"
local S = require "channels.shape"
local handoff = require "flow.handoff"

local M = { name = "vapi", synchronous = true }

local TRANSFER = "Let me transfer you to a colleague who can help."
local HANDED_OVER_FOR = 6 * 3600     -- longer than any call

function M.verify(req, creds)
  if not creds.secret or creds.secret == "" then return nil, 503, "the channel has no secret configured" end
  local got = req.headers["x-vapi-secret"]
  local auth = req.headers["authorization"]
  if not got and auth then got = auth:match("^[Bb]earer%s+(%S+)") end
  if not got then return nil, 401, "missing Authorization: Bearer or X-Vapi-Secret" end
  if not crypto.equal(got, creds.secret) then return nil, 403, "wrong secret" end
  return true
end

local function one_line(s) return (tostring(s):gsub("%s*\n+%s*", " ")) end

-- what the flow says, as one line a voice can read (choices listed)
local function speak(replies)
  local parts = {}
  for _, r in ipairs(replies or {}) do
    local t = r.text or ""
    if r.buttons and #r.buttons > 0 then
      local titles = {}
      for i, b in ipairs(r.buttons) do titles[i] = b.title end
      t = t .. " Options: " .. table.concat(titles, ", ") .. "."
    end
    parts[#parts + 1] = t
  end
  return one_line(table.concat(parts, " "))
end

-- runs the turn, waiting at most `deadline` seconds; past it the caller
-- hears the transfer text, so the call is handed over (flow.handoff): the
-- turn still running, and every later tool call of the call, books nothing
local function turn(tenant, conv, msg, deadline, mid)
  if handoff.active(tenant, conv) then return nil, "handed over" end
  local me, res, err, done = host.task_id(), nil, nil, false
  host.spawn(function()
    res, err = turns.run(tenant, conv, msg, { mid = mid })
    done = true
    host.wake(me)
  end)
  if not done then host.park(deadline) end
  if not done then
    handoff.mark(tenant, conv, HANDED_OVER_FOR, "vapi: no answer within the deadline, transferred")
    return nil, "deadline"
  end
  if not res then return nil, err end
  return res
end

local function decoded(args)
  if type(args) == "string" then
    local d = json.decode(args)
    if d ~= nil then return d end
  end
  return args
end

local function text_of(args)
  args = decoded(args)
  if type(args) ~= "table" then return tostring(args or "") end
  if type(args.text) == "string" then return args.text end
  local parts = {}
  for k, v in pairs(args) do parts[#parts + 1] = tostring(k) .. ": " .. tostring(v) end
  table.sort(parts)
  return table.concat(parts, ", ")
end

-- the payload as answer() reads it; a tool call is checked on its own
local MESSAGE = S.object{ message = S.object{ type = S.string(), call = S.opt(S.object{ id = S.opt(S.id(100)) }),
                                              toolCallList = S.opt(S.list(S.any())), toolCalls = S.opt(S.list(S.any())) } }
local TOOL_CALL = S.object{ id = S.id(), ["function"] = S.opt(S.object{ name = S.opt(S.string()), arguments = S.opt(S.any()) }) }
local CALL_ID = S.object{ call = S.object{ id = S.id(100) } }      -- for what belongs to one call

local function tool_calls(tenant, m, creds, unusable)
  local transfer = one_line(creds.transfer or TRANSFER)
  local ok, word, detail = S.check(m, CALL_ID, "message")
  if not ok then unusable[#unusable + 1] = { word = word, detail = detail, item = m } end
  local conv = ok and "vapi:" .. S.text(m.call.id)   -- without it, whose call? nothing runs
  local results = {}
  for i, c in ipairs(m.toolCallList or m.toolCalls or {}) do
    local cok, cword, cdetail = S.check(c, TOOL_CALL, ("message.toolCallList[%d]"):format(i))
    if not cok then unusable[#unusable + 1] = { word = cword, detail = cdetail, item = c } end
    if cok and conv then
      local fn = c["function"] or {}
      local args, deadline = fn.arguments or c.parameters, tonumber(creds.deadline) or 8
      local result
      if creds.tools then
        local a = decoded(args)
        local phone = type(m.call.customer) == "table" and m.call.customer.number or nil
        local res = turn(tenant, conv, { tool = { name = S.text(fn.name or ""), id = S.text(c.id),
          arguments = type(a) == "table" and a or {}, phone = type(phone) == "string" and phone or nil,
          deadline = time.now() + deadline } }, deadline, "tool:" .. S.text(c.id))
        result = json.encode(res and res.result or { status = "NEEDS_HUMAN",
          message = res and speak(res.replies) or transfer })
      else
        local res = turn(tenant, conv, { text = text_of(args) }, deadline, "tool:" .. S.text(c.id))
        result = res and speak(res.replies) or transfer
      end
      results[#results + 1] = { toolCallId = S.text(c.id), name = fn.name, result = one_line(result) }
    elseif type(c) == "table" and S.ok(c.id, S.id()) then
      results[#results + 1] = { toolCallId = S.text(c.id), result = transfer }   -- Vapi still gets its answer
    end
  end
  return 200, { results = json.array(results) }
end

function M.answer(tenant, body, creds)
  local unusable = {}
  local p, jerr = json.decode(body or "")
  local ok, word, detail = S.check(p, MESSAGE)
  if p == nil then word, detail = "bad json", jerr end
  if not ok then
    unusable[1] = { word = word, detail = detail, item = body }
    return 200, {}, unusable
  end
  local m = p.message
  if m.type == "tool-calls" then
    local status, answer = tool_calls(tenant, m, creds, unusable)
    return status, answer, unusable
  end
  if m.type == "assistant-request" then
    -- an inbound call to a number without an assistant (Vapi waits 7.5 s):
    -- answered from the tenant's settings at once, no turn involved
    if creds.assistant_id and creds.assistant_id ~= "" then return 200, { assistantId = creds.assistant_id } end
    if creds.transfer_number and creds.transfer_number ~= "" then
      return 200, { destination = { type = "number", phoneNumber = creds.transfer_number } }
    end
    require("log").warn("Vapi asked which assistant takes a call: set channels.vapi.assistant_id or transfer_number",
                        { tenant = tenant })
    return 200, { error = "This number has no assistant configured." }
  end
  if m.type == "end-of-call-report" then
    local cok, cword, cdetail = S.check(m, CALL_ID, "message")
    if not cok then                               -- whose call? kept in the dead-letter stream instead
      unusable[1] = { word = cword, detail = cdetail, item = m }
      return 200, {}, unusable
    end
    redis.call("SET", "fh:conv:{" .. tenant .. ":vapi:" .. S.text(m.call.id) .. "}:report", json.encode{
      endedReason = m.endedReason, summary = m.summary, artifact = m.artifact, at = m.timestamp }, "EX", 30 * 24 * 3600)
  end
  return 200, {}, unusable
end

return M

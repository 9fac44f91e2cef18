-- The JSON chat API: web chat, tests, operators' scripts and `flowhost chat`
-- talk to a tenant's flow through it.
--
--   POST /v1/tenants/{tenant}/conversations/{id}/messages
--        {"text": "..."} or {"button": "<id>"}
--     -> 200 {"replies": [{"text": "...", "buttons": [{"id", "title"}]}],
--             "state": "...", "slots": {...}}
--   GET  /v1/tenants/{tenant}/conversations/{id}
--     -> 200 {"state", "slots", "version", "turns", "history", "handoff"} | 404
-- Errors are JSON {"error": "<word>", "message": "<what to do>"}. This is
-- the JSON adapter of the channel interface: the turn runs through
-- channels.turn, like every other channel's, in the tenant's own Lua
-- state; a turn that fails
-- there (over its CPU or memory budget, a bug) answers 200 with the
-- tenant's fallback text and "error": "flow failed".
local router = require "host.router"
local json = require "json"
local tenants = require "flow.tenants"
local turn = require "channels.turn"

local MAX_TEXT = 4096

local function fail(status, word, message, headers)
  local s, b, h = router.json(status, { error = word, message = message })
  for k, v in pairs(headers or {}) do h[k] = v end
  return s, b, h
end

-- the reply list and list-valued slots stay lists when empty
local function encode(res)
  local slots = {}
  for k, v in pairs(res.slots or {}) do slots[k] = json.array(v) end
  return json.encode{ replies = json.array(res.replies), state = res.state,
                      slots = slots, version = res.version, error = res.error }
end

local ERRORS = {
  ["unknown tenant"] = { 404, "there is no such tenant (check the tenant id in the URL)" },
  ["tenant broken"] = { 503, "this tenant's flows failed to load; run `flowhost check <tenant>` to see why" },
  busy = { 503, "the conversation is busy with an earlier message; retry in a moment" },
}

router.route("POST", "/v1/tenants/{tenant}/conversations/{id}/messages", function(req, p)
  local body = json.decode(req.body or "")
  if type(body) ~= "table" then
    return fail(400, "bad json", 'the body must be a JSON object like {"text": "hi"}')
  end
  local text, button = body.text, body.button
  if text ~= nil and type(text) ~= "string" then return fail(400, "bad field", '"text" must be a string') end
  if button ~= nil and type(button) ~= "string" then return fail(400, "bad field", '"button" must be a string (the id of a button)') end
  if (text == nil or text == "") and (button == nil or button == "") then
    return fail(400, "missing field", 'give "text" (what the customer wrote) or "button" (the id of a tapped button)')
  end
  if text and #text > MAX_TEXT then return fail(413, "too long", "a message may have at most 4096 bytes") end
  if #p.id > 128 then return fail(400, "bad id", "a conversation id has at most 128 characters") end
  -- "<tenant>.<rep>" talks to a sales rep of the tenant (same state)
  local res, err, detail = turn.run(p.tenant, p.id, { text = text, button = button })
  if not res then
    local e = ERRORS[err]
    if e then return fail(e[1], err, e[2], err == "busy" and { ["Retry-After"] = "1" } or nil) end
    return fail(503, "unavailable", "the host cannot reach its storage (" .. tostring(detail or err) .. "); retry later",
      { ["Retry-After"] = "2" })
  end
  if res.error == "flow failed" then
    return 200, json.encode{ replies = res.replies, state = json.null, slots = json.null, error = res.error },
      { ["Content-Type"] = "application/json" }
  end
  return 200, encode(res), { ["Content-Type"] = "application/json" }
end, "/v1/tenants/{tenant}/conversations/{id}/messages")

router.route("GET", "/v1/tenants/{tenant}/conversations/{id}", function(_, p)
  local out, err = tenants.call(p.tenant:match("^([^.]+)"), "conversation",
                                json.encode{ tenant = p.tenant, id = p.id })
  local r = out and json.decode(out)
  if not (r and r.res) then
    err = err or (r and r.err)
    if err == "not found" then return fail(404, "not found", "no such conversation (it may have expired)") end
    local e = ERRORS[err] or { 503, tostring(err) }
    return fail(e[1], err, e[2])
  end
  local conv = r.res
  local slots = {}
  for k, v in pairs(conv.slots or {}) do slots[k] = json.array(v) end
  return router.json(200, { state = conv.state, slots = slots, version = conv.version, turns = conv.turns,
                            history = json.array(conv.history or {}), handoff = conv.handoff })
end, "/v1/tenants/{tenant}/conversations/{id}")

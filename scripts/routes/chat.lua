-- The JSON chat API: web chat, tests, operators' scripts talk to a tenant's
-- flow through it.
--
--   POST /v1/tenants/{tenant}/conversations
--     -> 201 {"id": "<32 hex digits: 128 random bits>"}     no key needed
--   POST /v1/tenants/{tenant}/conversations/{id}/messages
--        {"text": "..."} or {"button": "<id>"}
--     -> 200 {"replies": [{"text": "...", "buttons": [{"id", "title"}]}],
--             "state": "...", "slots": {...}}
--   GET  /v1/tenants/{tenant}/conversations/{id}
--     -> 200 {"state", "slots", "version", "turns", "history", "handoff"} | 404
--
-- Who may use a conversation id (both message and read routes):
--   * anyone holding an id this server issued (POST .../conversations): a
--     public web widget creates one and keeps it; the id is the secret;
--   * with the tenant's API key (Authorization: Bearer <key>; the key is
--     the environment variable the tenant config names in api_key_env, which
--     must start with the tenant id in upper case and "_", e.g.
--     CARWASH_API_KEY), any id the caller chooses (a backend with ids of its own);
--   * nobody else: 401 "unauthorized" (a wrong key is 401 too, whatever the id).
-- Issued ids are remembered in Redis under fh:chat:{<tenant>}:<id>, for an
-- hour until the first message and then as long as the conversation lives
-- (its conversation_ttl, renewed by every message and read).
--
-- Conversations of this API are a namespace of their own: id X is the
-- conversation "chat:X" inside, so no id reaches a channel's conversation
-- ("whatsapp:<phone>" asks for "chat:whatsapp:<phone>", which only this API
-- could have made). The verified identity of such a conversation is the
-- conversation itself (flow.identity): its bookings are its own.
--
-- Errors are JSON {"error": "<word>", "message": "<what to do>"}. The turn
-- runs through channels.turn, like every other channel's, in the tenant's
-- own Lua state; a turn that fails there (over its CPU or memory budget, a
-- bug) answers 200 with the tenant's fallback text and "error": "flow failed".
local router = require "host.router"
local json = require "json"
local crypto = require "crypto"
local redis = require "redis"
local time = require "time"
local tenants = require "flow.tenants"
local turn = require "channels.turn"

local MAX_TEXT = 4096
local MAX_ID = 120             -- "chat:" .. id fits a conversation id (128)
local ID_BYTES = 16            -- 128 random bits
local FRESH_TTL = 3600         -- an issued id nobody wrote to yet
local DEFAULT_TTL = 24 * 3600
local SETTINGS_FOR = 1         -- seconds a worker reuses a tenant's chat settings

local function fail(status, word, message, headers)
  local s, b, h = router.json(status, { error = word, message = message })
  for k, v in pairs(headers or {}) do h[k] = v end
  return s, b, h
end

local ERRORS = {
  ["unknown tenant"] = { 404, "there is no such tenant (check the tenant id in the URL)" },
  ["tenant broken"] = { 503, "this tenant's flows failed to load; run `flowhost check <tenant>` to see why" },
  busy = { 503, "the conversation is busy with an earlier message; retry in a moment" },
}

local function unknown_tenant() return fail(404, "unknown tenant", ERRORS["unknown tenant"][2]) end
local function unavailable(err)
  return fail(503, "unavailable", "the host cannot reach its storage (" .. tostring(err) .. "); retry later",
              { ["Retry-After"] = "2" })
end

-- the chat settings of a tenant ("carwash" for "carwash.anna"): {key_env, ttl} | nil
local cache = {}
local function settings(tenant)
  local base = tenant:match("^([%w_%-]+)$") or tenant:match("^([%w_%-]+)%.[%w_%-]+$")
  if not base then return nil end
  local s = cache[base]
  local now = time.monotonic()
  if s and now - s.at < SETTINGS_FOR then return s end
  local st = tenants.status(base)
  if not st then cache[base] = nil; return nil end
  local set = type(st.settings) == "table" and st.settings or {}
  local own = base:upper():gsub("[^%w]", "_") .. "_"
  local var = set.api_key_env
  s = { at = now, ttl = tonumber(set.conversation_ttl) or DEFAULT_TTL,
        key_env = type(var) == "string" and var:sub(1, #own) == own and var or nil }
  cache[base] = s
  return s
end

local function issued_key(tenant, id) return "fh:chat:{" .. tenant .. "}:" .. id end

-- constant time whatever the lengths: both sides are hashed first
local function same(a, b) return crypto.equal(crypto.sha256(a), crypto.sha256(b)) end

-- nil when the caller may use conversation p.id of p.tenant, else the answer
local function deny(req, p, s)
  local header = req.headers["authorization"]
  if header then
    local token = header:match("^[Bb]earer%s+(%S+)%s*$")
    local key = s.key_env and os.getenv(s.key_env)
    if token and key and key ~= "" and same(token, key) then return nil end
    return fail(401, "unauthorized", "this API key does not open tenant '" .. p.tenant .. "' (send the key its "
      .. "config names in api_key_env as Authorization: Bearer <key>, or no Authorization and an id from "
      .. "POST /v1/tenants/" .. p.tenant .. "/conversations)", { ["WWW-Authenticate"] = "Bearer" })
  end
  local n, err = redis.call("EXPIRE", issued_key(p.tenant, p.id), s.ttl)   -- known, and kept alive
  if n == nil then return unavailable(err) end
  if n == 1 then return nil end
  return fail(401, "unauthorized", "this conversation id was not issued by this server, or it expired: create "
    .. "one with POST /v1/tenants/" .. p.tenant .. "/conversations (choosing your own ids needs the tenant's "
    .. "API key)", { ["WWW-Authenticate"] = "Bearer" })
end

-- the tenant must exist, the id must fit, the caller must be allowed
local function check(req, p)
  if #p.id > MAX_ID then return fail(400, "bad id", "a conversation id has at most " .. MAX_ID .. " characters") end
  local s = settings(p.tenant)
  if not s then return unknown_tenant() end
  return deny(req, p, s)
end

-- the reply list and list-valued slots stay lists when empty
local function encode(res)
  local slots = {}
  for k, v in pairs(res.slots or {}) do slots[k] = json.array(v) end
  return json.encode{ replies = json.array(res.replies), state = res.state,
                      slots = slots, version = res.version, error = res.error }
end

router.route("POST", "/v1/tenants/{tenant}/conversations", function(_, p)
  if not settings(p.tenant) then return unknown_tenant() end
  local id = crypto.random_hex(ID_BYTES)
  if not id then return fail(503, "unavailable", "the host could not draw a random id; retry") end
  local ok, err = redis.call("SET", issued_key(p.tenant, id), "1", "EX", FRESH_TTL)
  if not ok then return unavailable(err) end
  return router.json(201, { id = id })
end, "/v1/tenants/{tenant}/conversations", { reps = true })   -- "<tenant>.<rep>": a sales rep

router.route("POST", "/v1/tenants/{tenant}/conversations/{id}/messages", function(req, p)
  local denied = { check(req, p) }
  if denied[1] then return denied[1], denied[2], denied[3] end
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
  -- "<tenant>.<rep>" talks to a sales rep of the tenant (same state)
  local res, err, detail = turn.run(p.tenant, "chat:" .. p.id, { text = text, button = button })
  if not res then
    local e = ERRORS[err]
    if e then return fail(e[1], err, e[2], err == "busy" and { ["Retry-After"] = "1" } or nil) end
    return unavailable(detail or err)
  end
  if res.error == "flow failed" then
    return 200, json.encode{ replies = res.replies, state = json.null, slots = json.null, error = res.error },
      { ["Content-Type"] = "application/json" }
  end
  return 200, encode(res), { ["Content-Type"] = "application/json" }
end, "/v1/tenants/{tenant}/conversations/{id}/messages", { reps = true })

router.route("GET", "/v1/tenants/{tenant}/conversations/{id}", function(req, p)
  local denied = { check(req, p) }
  if denied[1] then return denied[1], denied[2], denied[3] end
  local out, err = tenants.call(p.tenant:match("^([^.]+)"), "conversation",
                                json.encode{ tenant = p.tenant, id = "chat:" .. p.id })
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
end, "/v1/tenants/{tenant}/conversations/{id}", { reps = true })

--- Fuzz target: one channel's webhook, through the real route
--- (scripts/routes/webhooks.lua: router, verification, the adapter's parse or
--- answer, channels.inbound), for the targets webhook_telegram,
--- webhook_whatsapp, webhook_twilio, webhook_vapi and webhook_wapi.
---
--- Input: the request body, signed by the target with the tenant's real
--- secret, so that the fuzzer spends its time on verified payloads (what
--- section 5 of issue 13 is about). An input that starts with "@" carries a
--- head first, up to an empty line:
---     @GET hub.mode=subscribe&hub.verify_token=x      method and query
---     x-hub-signature-256: sha256=00                  headers, as sent
---
---     {"body": ...}
--- A head that names the channel's signature header is sent as it is, not
--- signed: that exercises verification.
---
--- Findings (the target raises):
---   * the route raises (the core would answer 500; vendors retry forever)
---   * any status outside 2xx and 4xx, or a body that is not a string
---   * a correctly signed request rejected with 401/403
---   * a request without the right signature or secret accepted (2xx)
---   * a message queued without a sender (id or conversation missing, "nil"),
---     or with a text or button that is not a string
---   * a Vapi tool result that is not one line of text
local channel = assert((...):match("^webhook_(%w+)$"), "target name must be webhook_<channel>")
local stubs = require("targets.stubs").install()
require "routes.webhooks"
local router = require "host.router"
local json = require "json"
local crypto = require "crypto"
local form = require "channels.form"
local adapter = require("channels.registry").adapter(channel)
assert(adapter, "no adapter for channel " .. channel)
local creds = stubs.CREDS[channel]
local PATH = "/webhooks/" .. stubs.TENANT .. "/" .. channel
-- a worker that has answered a Vapi call has used json.array: its encoder
-- then looks for the empty-list marker in every value (scripts/json.lua)
json.encode(json.array({}))

local function hmac_hex(secret, body) return "sha256=" .. crypto.hex(crypto.hmac_sha256(secret, body)) end

-- twilio signs the configured URL, with or without the default port
local TWILIO_URLS = { stubs.CREDS.twilio.webhook_url,
                      (stubs.CREDS.twilio.webhook_url:gsub("^(https://[^/]+)", "%1:443")) }

local function twilio_sigs(body)
  local params, names = form.decode(body)
  local out = {}
  for i, url in ipairs(TWILIO_URLS) do out[i] = adapter.signature(creds.auth_token, url, params, names) end
  return out
end

-- per channel: the auth headers, how to sign, whether a request proves it
-- knows the secret
local AUTH = {
  telegram = { headers = { "x-telegram-bot-api-secret-token" },
    sign = function(h) h["x-telegram-bot-api-secret-token"] = creds.secret end,
    proven = function(h) return h["x-telegram-bot-api-secret-token"] == creds.secret end },
  whatsapp = { headers = { "x-hub-signature-256" },
    sign = function(h, body) h["x-hub-signature-256"] = hmac_hex(creds.app_secret, body) end,
    proven = function(h, body) return (h["x-hub-signature-256"] or ""):lower() == hmac_hex(creds.app_secret, body) end },
  wapi = { headers = { "x-wapi-signature" },
    sign = function(h, body) h["x-wapi-signature"] = hmac_hex(creds.secret, body) end,
    proven = function(h, body) return (h["x-wapi-signature"] or ""):lower() == hmac_hex(creds.secret, body) end },
  twilio = { headers = { "x-twilio-signature" },
    sign = function(h, body) h["x-twilio-signature"] = twilio_sigs(body)[1] end,
    proven = function(h, body)
      local got = h["x-twilio-signature"]
      for _, s in ipairs(twilio_sigs(body)) do if got == s then return true end end
      return false
    end },
  vapi = { headers = { "x-vapi-secret", "authorization" },
    sign = function(h) h["authorization"] = "Bearer " .. creds.secret end,
    proven = function(h)
      for _, name in ipairs{ "x-vapi-secret", "authorization" } do
        if (h[name] or ""):find(creds.secret, 1, true) then return true end
      end
      return false
    end },
}
local auth = assert(AUTH[channel], "no signing rule for channel " .. channel)

local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end))
end

-- input -> method, query, headers, body, whether the input set the auth header
local function request_of(input)
  local method, query, headers, body = "POST", {}, {}, input
  if input:sub(1, 1) == "@" then
    local head, rest = input:match("^@(.-)\n\n(.*)$")
    if not head then head, rest = input:sub(2), "" end
    body = rest
    local first = true
    for line in (head .. "\n"):gmatch("([^\n]*)\n") do
      if first then
        first = false
        local m, q = line:match("^(%S*)%s?(.*)$")
        if m ~= "" then method = m end
        for pair in q:gmatch("[^&]+") do
          local k, v = pair:match("^([^=]*)=?(.*)$")
          query[unescape(k)] = unescape(v)
        end
      else
        local k, v = line:match("^([^:]+):%s*(.*)$")
        if k then headers[k:lower()] = v end   -- the core lowercases names
      end
    end
  end
  local explicit = false
  for _, name in ipairs(auth.headers) do explicit = explicit or headers[name] ~= nil end
  return method, query, headers, body, explicit
end

local function finding(fmt, ...)
  error(("webhook_%s: " .. fmt):format(channel, ...), 0)
end

-- a field of an XADD: the pairs follow the entry id ("*")
local function field(cmd, name)
  local first
  for i = 3, #cmd do if cmd[i] == "*" then first = i + 1; break end end
  for i = first or #cmd + 1, #cmd - 1, 2 do if cmd[i] == name then return cmd[i + 1] end end
end

local function check_queued()
  local stream = require("channels.inbound").stream(stubs.TENANT)
  for _, cmd in ipairs(stubs.calls) do
    if tostring(cmd[1]):upper() == "XADD" and cmd[2] == stream then
      local id, conv, msg = field(cmd, "id"), field(cmd, "conversation"), field(cmd, "msg")
      if type(id) ~= "string" or id == "" or id == "nil" then finding("queued a message without an id (%s)", tostring(id)) end
      if type(conv) ~= "string" or conv == "" or conv == "nil" then
        finding("queued a message without a sender: conversation = %q", tostring(conv))
      end
      local m = type(msg) == "string" and json.decode(msg)
      if type(m) ~= "table" then finding("queued a message whose msg is not a JSON object") end
      for _, k in ipairs{ "text", "button" } do
        if m[k] ~= nil and type(m[k]) ~= "string" then finding("queued a message whose %s is a %s: %s", k, type(m[k]), msg) end
      end
    end
  end
end

local function check_vapi(status, body)
  if channel ~= "vapi" or status ~= 200 then return end
  local b = json.decode(body)
  if type(b) ~= "table" then finding("answered 200 with a body that is not JSON: %q", body:sub(1, 200)) end
  if type(b.results) ~= "table" then return end
  for _, r in ipairs(b.results) do
    if type(r) ~= "table" or type(r.result) ~= "string" or r.result:find("[\r\n]") then
      finding("a tool result must be one line of text, got %s", json.encode(r))
    end
  end
end

return function(input)
  local method, query, headers, body, explicit = request_of(input)
  if not explicit then auth.sign(headers, body) end
  stubs.reset()
  local req = { id = "fuzz", method = method, path = PATH, headers = headers, query = query, body = body }
  local ok, status, rbody, rheaders = xpcall(router.handle, debug.traceback, req)
  if not ok then finding("the route raised (the core answers 500 and the vendor retries):\n%s", tostring(status)) end
  if type(status) ~= "number" or status % 1 ~= 0 or status < 200 or status >= 500 or (status >= 300 and status < 400) then
    finding("answered status %s (only 2xx and 4xx are allowed): %s", tostring(status), tostring(rbody):sub(1, 300))
  end
  if type(rbody) ~= "string" then finding("answered a %s body, not a string", type(rbody)) end
  if rheaders ~= nil and type(rheaders) ~= "table" then finding("answered headers that are a %s", type(rheaders)) end
  if method == "POST" then
    if not explicit and (status == 401 or status == 403) then
      finding("a correctly signed request was rejected with %d: %s", status, rbody:sub(1, 300))
    end
    if explicit and status < 300 and not auth.proven(headers, body) then
      finding("accepted (%d) a request without the right signature or secret", status)
    end
  elseif method == "GET" and status == 200 then
    if query["hub.mode"] ~= "subscribe" or query["hub.verify_token"] ~= creds.verify_token then
      finding("answered the subscription check 200 without the verify token")
    end
  end
  check_queued()
  check_vapi(status, rbody)
end

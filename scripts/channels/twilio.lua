--- channels.twilio: Twilio Messaging (WhatsApp and SMS) as a channel adapter.
--
--   verify(req, creds)   X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL +
--                        the POST params sorted by name, each as name..value;
--                        repeated names: sorted values)); the URL is the one
--                        configured in Twilio (creds.webhook_url), accepted with
--                        and without the default port
--   parse(body) -> messages, statuses | nil, word, detail   (a message
--       without From or Body, a form without MessageSid: channels.shape's
--       words)
--   ack() -> 200, "<Response/>" (TwiML: we answer through the REST API)
--   send(creds, to, reply, journal?, ref?) -> true, sid | nil, err, retry_after
--       reply.text (+ numbered buttons, media) goes as Body; reply.template =
--       {sid = "HX...", params = {...}} goes through the Content API
--       (ContentSid, ContentVariables: a JSON string {"1": .., "2": ..},
--       or the params' own names when params is a map): the only kind
--       WhatsApp accepts outside its 24 h window
--       ref (channels.doubt): StatusCallback = webhook_url?fh_reply=<ref>;
--       Twilio's status callbacks to it (parse(body, query): statuses[].ref)
--       settle a reply in doubt (confirms = true)
--   window = 24 h for WhatsApp numbers (window_for(to)); SMS has none
--   creds = {account_sid, auth_token, from, webhook_url, api_url}
local json = require "json"
local http = require "http"
local crypto = require "crypto"
local form = require "channels.form"
local S = require "channels.shape"

local M = { name = "twilio", window = 24 * 3600, confirms = true }

-- the StatusCallback URL of a reply (verify() rebuilds it from fh_reply)
local function status_url(creds, ref)
  return creds.webhook_url .. (creds.webhook_url:find("?", 1, true) and "&" or "?") .. "fh_reply=" .. form.escape(ref)
end

--- Only WhatsApp has the 24 h service window.
function M.window_for(to) return tostring(to):find("^whatsapp:") ~= nil end

local function signature(token, url, params, names)
  local sorted = {}
  for _, n in ipairs(names) do sorted[#sorted + 1] = n end
  table.sort(sorted)
  local parts = { url }
  for _, n in ipairs(sorted) do
    local vals, seen = {}, {}
    for _, v in ipairs(params[n]) do
      if not seen[v] then seen[v] = true; vals[#vals + 1] = v end
    end
    table.sort(vals)
    for _, v in ipairs(vals) do parts[#parts + 1] = n .. v end
  end
  return crypto.base64(crypto.hmac_sha1(token, table.concat(parts)))
end
M.signature = signature

-- the URL with and without its scheme's default port
local function url_variants(url)
  local scheme, hostport, rest = url:match("^(https?)://([^/]+)(.*)$")
  if not scheme then return { url } end
  local default = scheme == "https" and "443" or "80"
  local host, port = hostport:match("^(.-):(%d+)$")
  if port == default then return { url, scheme .. "://" .. host .. rest } end
  if not port then return { url, scheme .. "://" .. hostport .. ":" .. default .. rest } end
  return { url }
end

function M.verify(req, creds)
  if not creds.auth_token or creds.auth_token == "" or not creds.webhook_url then
    return nil, 503, "the channel has no auth token or webhook_url configured"
  end
  local got = req.headers["x-twilio-signature"]
  if not got then return nil, 401, "missing X-Twilio-Signature" end
  local params, names = form.decode(req.body)
  local ref = type(req.query) == "table" and req.query.fh_reply
  local signed = type(ref) == "string" and status_url(creds, ref) or creds.webhook_url
  for _, url in ipairs(url_variants(signed)) do
    if crypto.equal(got, signature(creds.auth_token, url, params, names)) then return true end
  end
  return nil, 403, "wrong signature"
end

-- the form's first values as the parser reads them
local FORM = S.object{ MessageSid = S.opt(S.id()), SmsSid = S.opt(S.id()), MessageStatus = S.opt(S.string()),
                       From = S.opt(S.id(100)), To = S.opt(S.string()), Body = S.opt(S.string()),
                       ProfileName = S.opt(S.string()), ButtonPayload = S.opt(S.string(200)),
                       NumMedia = S.opt(S.string()), MediaUrl0 = S.opt(S.string()), ErrorCode = S.opt(S.string()) }

function M.parse(body, query)
  local params = form.decode(body)
  local p = {}
  for name, values in pairs(params) do
    if values[1] ~= "" then p[name] = values[1] end       -- an empty field counts as missing
  end
  if p.Body == nil and params.Body then p.Body = "" end   -- an empty message is still a message
  local ok, word, detail = S.check(p, FORM)
  if not ok then return nil, word, detail end
  local sid = p.MessageSid or p.SmsSid
  if not sid then return S.fail("missing field", "MessageSid: missing") end
  if p.MessageStatus and not p.Body then
    local ref = type(query) == "table" and type(query.fh_reply) == "string" and query.fh_reply or nil
    return {}, { { id = sid, status = p.MessageStatus, error = p.ErrorCode, recipient = p.To, ref = ref } }
  end
  if not p.From then return S.fail("missing field", "From: missing") end
  local m = { id = sid, conversation = p.From, name = p.ProfileName }
  if p.ButtonPayload then m.button, m.kind = p.ButtonPayload, "button"
  elseif (tonumber(p.NumMedia or "0") or 0) > 0 then m.kind, m.media = "unsupported", p.MediaUrl0
  elseif p.Body then m.text, m.kind = p.Body, "text"
  else return S.fail("missing field", "Body: missing") end
  return { m }, {}
end

function M.ack() return 200, '<?xml version="1.0" encoding="UTF-8"?><Response/>', { ["Content-Type"] = "text/xml" } end

-- a template's variables as the Content API wants them: a JSON string
-- keyed "1", "2", ... (a list) or by the params' names (a map)
local function content_variables(params)
  local vars = {}
  for k, v in pairs(params or {}) do vars[tostring(k)] = tostring(v) end
  return next(vars) and json.encode(vars) or nil
end

-- the form fields of a reply: Body (and media) or ContentSid
local function fields(creds, to, reply, ref)
  local f = { { "To", to }, { "From", creds.from } }
  if ref and creds.webhook_url then f[#f + 1] = { "StatusCallback", status_url(creds, ref) } end
  if reply.template then
    local t = reply.template
    f[#f + 1] = { "ContentSid", tostring(t.sid or t.name) }
    local vars = content_variables(t.params)
    if vars then f[#f + 1] = { "ContentVariables", vars } end
    return f
  end
  local text = reply.text
  if reply.buttons and #reply.buttons > 0 then             -- plain text channel: numbered choices
    local lines = { text }
    for i, b in ipairs(reply.buttons) do lines[#lines + 1] = ("%d. %s"):format(i, b.title) end
    text = table.concat(lines, "\n")
  end
  f[#f + 1] = { "Body", text }
  if reply.media then f[#f + 1] = { "MediaUrl", reply.media.url } end
  return f
end

function M.send(creds, to, reply, journal, ref)
  local r, err = http.request{ method = "POST", timeout = 10, on_wire = journal,
    url = ("%s/2010-04-01/Accounts/%s/Messages.json"):format(creds.api_url or "https://api.twilio.com", creds.account_sid),
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded",
                Authorization = "Basic " .. crypto.base64(tostring(creds.account_sid) .. ":" .. tostring(creds.auth_token)) },
    body = form.encode(fields(creds, to, reply, ref)) }
  if not r then return nil, err end
  local b = json.decode(r.body) or {}
  if r.status == 201 or r.status == 200 then return true, b.sid end
  if r.status == 429 then return nil, "rate limited", tonumber(r.headers["retry-after"]) or 1 end
  if r.status >= 500 then return nil, "unavailable" end
  return nil, ("rejected: (%s) %s"):format(tostring(b.code), tostring(b.message or r.status))
end

return M

--- channels.whatsapp: the WhatsApp Cloud API (Meta Graph API) as a channel
--- adapter.
--
--   verify(req, creds)      X-Hub-Signature-256 = HMAC-SHA256(app secret, raw
--                           body), compared in constant time
--   challenge(query, creds) the subscription GET: -> 200, hub.challenge | 403
--   parse(body) -> messages, statuses | nil, "bad payload"
--   send(creds, to, reply) -> true, message id | nil, err, retry_after
--       buttons: up to 3 as reply buttons, up to 10 as a list, more as
--       numbered text; reply.media = {url, kind, filename?} sends media by
--       URL with the text as caption; reply.template = {name, language, params} sends a
--       template (outside the 24-hour window nothing else may go)
--   window = 24 h: free-form messages only that long after the customer's last
--   creds = {token, app_secret, verify_token, phone_number_id, api_url, version}
local json = require "json"
local http = require "http"
local crypto = require "crypto"

local M = { name = "whatsapp", window = 24 * 3600 }

function M.verify(req, creds)
  if not creds.app_secret or creds.app_secret == "" then return nil, 503, "the channel has no app secret configured" end
  local got = req.headers["x-hub-signature-256"]
  if not got then return nil, 401, "missing X-Hub-Signature-256" end
  local want = "sha256=" .. crypto.hex(crypto.hmac_sha256(creds.app_secret, req.body or ""))
  if not crypto.equal(got:lower(), want) then return nil, 403, "wrong signature" end
  return true
end

function M.challenge(query, creds)
  query = type(query) == "table" and query or {}
  if query["hub.mode"] == "subscribe" and creds.verify_token and creds.verify_token ~= ""
     and crypto.equal(query["hub.verify_token"] or "", creds.verify_token) then
    return 200, tostring(query["hub.challenge"] or "")
  end
  return 403, "verification failed"
end

local MEDIA = { image = true, audio = true, video = true, document = true, sticker = true }

local function inbound(m, names)
  local out = { id = m.id, conversation = m.from, name = names[m.from] }
  if m.type == "text" and m.text then
    out.text, out.kind = m.text.body, "text"
  elseif m.type == "interactive" and m.interactive then
    local r = m.interactive.button_reply or m.interactive.list_reply
    out.button, out.kind = r and r.id, "button"
  elseif m.type == "button" and m.button then
    out.button, out.kind = m.button.payload, "button"
  elseif m.type == "location" and type(m.location) == "table" then
    out.kind = "location"
    out.location = { latitude = m.location.latitude, longitude = m.location.longitude,
                     name = m.location.name, address = m.location.address }
  elseif m.type == "contacts" and type(m.contacts) == "table" then
    out.kind, out.contacts = "contacts", {}
    for i, c in ipairs(m.contacts) do
      local phones = {}
      for j, ph in ipairs(type(c.phones) == "table" and c.phones or {}) do phones[j] = ph.phone or ph.wa_id end
      out.contacts[i] = { name = c.name and c.name.formatted_name, phones = phones }
    end
  elseif MEDIA[m.type] and type(m[m.type]) == "table" then
    local x = m[m.type]
    out.kind = "media"
    out.media = { id = x.id, type = m.type, mime = x.mime_type, caption = x.caption, filename = x.filename }
    out.text = x.caption
  else
    out.kind = "unsupported"
  end
  return out
end

function M.parse(body)
  local p = json.decode(body or "")
  if type(p) ~= "table" or p.object ~= "whatsapp_business_account" or type(p.entry) ~= "table" then
    return nil, "bad payload"
  end
  local msgs, statuses = {}, {}
  for _, e in ipairs(p.entry) do
    for _, ch in ipairs(type(e.changes) == "table" and e.changes or {}) do
      local v = type(ch.value) == "table" and ch.value or {}
      local names = {}
      for _, c in ipairs(type(v.contacts) == "table" and v.contacts or {}) do
        names[c.wa_id] = c.profile and c.profile.name
      end
      for _, m in ipairs(type(v.messages) == "table" and v.messages or {}) do msgs[#msgs + 1] = inbound(m, names) end
      for _, s in ipairs(type(v.statuses) == "table" and v.statuses or {}) do
        statuses[#statuses + 1] = { id = s.id, status = s.status, at = tonumber(s.timestamp),
                                    recipient = s.recipient_id, errors = s.errors }
      end
    end
  end
  return msgs, statuses
end

local cut = require("text.utf8").cut          -- titles count characters, not bytes

local function body_of(to, reply)
  if reply.template then                          -- the only kind allowed outside the 24 h window
    local t = reply.template
    local params = {}
    for i, p in ipairs(t.params or {}) do params[i] = { type = "text", text = tostring(p) } end
    local tpl = { name = t.name, language = { code = t.language or "en" } }
    if #params > 0 then tpl.components = { { type = "body", parameters = params } } end
    return { messaging_product = "whatsapp", to = to, type = "template", template = tpl }
  end
  if reply.media then                             -- by URL: image, document, audio, video
    local kind = reply.media.kind or "image"
    local m = { link = reply.media.url, caption = reply.text or reply.media.caption, filename = reply.media.filename }
    if kind == "audio" then m.caption = nil end
    return { messaging_product = "whatsapp", to = to, type = kind, [kind] = m }
  end
  local b = reply.buttons or {}
  if #b == 0 or #b > 10 then
    local text = reply.text
    if #b > 10 then
      local lines = { text }
      for i, x in ipairs(b) do lines[#lines + 1] = ("%d. %s"):format(i, x.title) end
      text = table.concat(lines, "\n")
    end
    return { messaging_product = "whatsapp", to = to, type = "text", text = { body = text } }
  end
  if #b <= 3 then
    local buttons = {}
    for i, x in ipairs(b) do buttons[i] = { type = "reply", reply = { id = x.id, title = cut(x.title, 20) } } end
    return { messaging_product = "whatsapp", to = to, type = "interactive",
             interactive = { type = "button", body = { text = reply.text }, action = { buttons = buttons } } }
  end
  local rows = {}
  for i, x in ipairs(b) do rows[i] = { id = x.id, title = cut(x.title, 24) } end
  return { messaging_product = "whatsapp", to = to, type = "interactive",
           interactive = { type = "list", body = { text = reply.text },
                           action = { button = "Choose", sections = { { title = "Options", rows = rows } } } } }
end

local RATE = { [4] = true, [80007] = true, [130429] = true, [131056] = true }

function M.send(creds, to, reply, journal)
  local r, err = http.request{ method = "POST", timeout = 10, on_wire = journal,
    url = ("%s/%s/%s/messages"):format(creds.api_url or "https://graph.facebook.com", creds.version or "v21.0",
                                       creds.phone_number_id),
    headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. tostring(creds.token) },
    body = json.encode(body_of(to, reply)) }
  if not r then return nil, err end
  local b = json.decode(r.body) or {}
  if r.status == 200 and b.messages then return true, b.messages[1] and b.messages[1].id end
  local e = type(b.error) == "table" and b.error or {}
  if r.status == 429 or RATE[e.code] then return nil, "rate limited", tonumber(r.headers["retry-after"]) or 1 end
  if r.status >= 500 or e.code == 1 or e.code == 2 then return nil, "unavailable" end
  return nil, ("rejected: (#%s) %s"):format(tostring(e.code), tostring(e.message or r.status))
end

return M

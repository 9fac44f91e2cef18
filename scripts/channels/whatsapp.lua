--- channels.whatsapp: the WhatsApp Cloud API (Meta Graph API) as a channel
--- adapter.
--
--   verify(req, creds)      X-Hub-Signature-256 = HMAC-SHA256(app secret, raw
--                           body), compared in constant time
--   challenge(query, creds) the subscription GET: -> 200, hub.challenge | 403
--   parse(body) -> messages, statuses, unusable | nil, word, detail
--       unusable: {{word, detail, item}} for each message or status the host
--       cannot use (the others go on); nil, word, detail: the whole payload
--       (channels.shape's words)
--   send(creds, to, reply, journal?, ref?) -> true, message id | nil, err, retry_after
--       buttons: up to 3 as reply buttons, up to 10 as a list, more as
--       numbered text; reply.media = {url, kind, filename?} sends media by
--       URL with the text as caption; reply.template = {name, language, params} sends a
--       template (outside the 24-hour window nothing else may go)
--       ref (channels.doubt) goes as biz_opaque_callback_data: Meta returns
--       it in the message's status webhooks (parse: statuses[].ref), which
--       settle a reply in doubt (confirms = true)
--   window = 24 h: free-form messages only that long after the customer's last
--   creds = {token, app_secret, verify_token, phone_number_id, api_url, version}
local json = require "json"
local http = require "http"
local crypto = require "crypto"
local S = require "channels.shape"

local M = { name = "whatsapp", window = 24 * 3600, confirms = true }

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

-- the payload as the parser reads it: the envelope, then each message
-- (common fields, then those of its type) and each status on its own, so
-- that one odd message does not cost the others
local ENVELOPE = S.object{ object = S.string(), entry = S.list(S.object{
  changes = S.opt(S.list(S.object{ value = S.opt(S.object{
    contacts = S.opt(S.any()), messages = S.opt(S.list(S.any())), statuses = S.opt(S.list(S.any())) }) })) }) }
local CONTACT = S.object{ wa_id = S.id(100), profile = S.opt(S.object{ name = S.opt(S.string()) }) }
local MESSAGE = S.object{ id = S.id(), from = S.id(100), type = S.string() }
local MEDIA = S.object{ id = S.opt(S.id()), mime_type = S.opt(S.string()), caption = S.opt(S.string()),
                        filename = S.opt(S.string()) }
local REPLY = S.object{ id = S.string(200), title = S.opt(S.string()) }
local BY_TYPE = {
  text = S.object{ text = S.object{ body = S.string() } },
  interactive = S.object{ interactive = S.object{ button_reply = S.opt(REPLY), list_reply = S.opt(REPLY) } },
  button = S.object{ button = S.object{ payload = S.string(200), text = S.opt(S.string()) } },
  location = S.object{ location = S.object{ latitude = S.number(), longitude = S.number(),
                                            name = S.opt(S.string()), address = S.opt(S.string()) } },
  contacts = S.object{ contacts = S.list(S.object{
    name = S.opt(S.object{ formatted_name = S.opt(S.string()) }),
    phones = S.opt(S.list(S.object{ phone = S.opt(S.string()), wa_id = S.opt(S.string()) })) }) },
  image = S.object{ image = MEDIA }, audio = S.object{ audio = MEDIA }, video = S.object{ video = MEDIA },
  document = S.object{ document = MEDIA }, sticker = S.object{ sticker = MEDIA },
}
local STATUS = S.object{ id = S.id(), status = S.string(), timestamp = S.opt(S.id()),
                         recipient_id = S.opt(S.id(100)), errors = S.opt(S.list(S.any())),
                         biz_opaque_callback_data = S.opt(S.string(512)) }

-- one message checked -> inbound message | nil, word, detail
local function inbound(m, names, where)
  local ok, word, detail = S.check(m, MESSAGE, where)
  if ok and BY_TYPE[m.type] then ok, word, detail = S.check(m, BY_TYPE[m.type], where) end
  if not ok then return nil, word, detail end
  local from = S.text(m.from)
  local out = { id = S.text(m.id), conversation = from, name = names[from] }
  if m.type == "text" then
    out.text, out.kind = m.text.body, "text"
  elseif m.type == "interactive" then
    local r = m.interactive.button_reply or m.interactive.list_reply
    out.button, out.kind = r and r.id, r and "button" or "unsupported"
  elseif m.type == "button" then
    out.button, out.kind = m.button.payload, "button"
  elseif m.type == "location" then
    out.kind = "location"
    out.location = { latitude = m.location.latitude, longitude = m.location.longitude,
                     name = m.location.name, address = m.location.address }
  elseif m.type == "contacts" then
    out.kind, out.contacts = "contacts", {}
    for i, c in ipairs(m.contacts) do
      local phones = {}
      for _, ph in ipairs(c.phones or {}) do phones[#phones + 1] = ph.phone or ph.wa_id end
      out.contacts[i] = { name = c.name and c.name.formatted_name, phones = phones }
    end
  elseif BY_TYPE[m.type] then                     -- media
    local x = m[m.type]
    out.kind = "media"
    out.media = { id = x.id and S.text(x.id), type = m.type, mime = x.mime_type, caption = x.caption, filename = x.filename }
    out.text = x.caption
  else
    out.kind = "unsupported"
  end
  return out
end

function M.parse(body)
  local p, jerr = json.decode(body or "")
  if p == nil then return S.fail("bad json", jerr) end
  local ok, word, detail = S.check(p, ENVELOPE)
  if not ok then return nil, word, detail end
  if p.object ~= "whatsapp_business_account" then return S.fail("bad value", "object: " .. p.object) end
  local msgs, statuses, unusable = {}, {}, {}
  for i, e in ipairs(p.entry) do
    for j, ch in ipairs(e.changes or {}) do
      local v = ch.value or {}
      local where = ("entry[%d].changes[%d].value"):format(i, j)
      local names = {}
      if type(v.contacts) == "table" then           -- display names only: an odd one is left out
        for _, c in ipairs(v.contacts) do
          if S.ok(c, CONTACT) and c.profile and c.profile.name then names[S.text(c.wa_id)] = c.profile.name end
        end
      end
      for k, m in ipairs(v.messages or {}) do
        local out, mword, mdetail = inbound(m, names, ("%s.messages[%d]"):format(where, k))
        if out then msgs[#msgs + 1] = out
        else unusable[#unusable + 1] = { word = mword, detail = mdetail, item = m } end
      end
      for k, s in ipairs(v.statuses or {}) do
        local sok, sword, sdetail = S.check(s, STATUS, ("%s.statuses[%d]"):format(where, k))
        if sok then
          local at = tonumber(s.timestamp)
          if at and not (at > 0 and at < 2 ^ 53) then at = nil end          -- "1e400", "nan"
          statuses[#statuses + 1] = { id = S.text(s.id), status = s.status, at = at,
                                      recipient = s.recipient_id and S.text(s.recipient_id), errors = s.errors,
                                      ref = s.biz_opaque_callback_data }
        else unusable[#unusable + 1] = { word = sword, detail = sdetail, item = s } end
      end
    end
  end
  return msgs, statuses, unusable
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

function M.send(creds, to, reply, journal, ref)
  local body = body_of(to, reply)
  body.biz_opaque_callback_data = ref
  local r, err = http.request{ method = "POST", timeout = 10, on_wire = journal,
    url = ("%s/%s/%s/messages"):format(creds.api_url or "https://graph.facebook.com", creds.version or "v21.0",
                                       creds.phone_number_id),
    headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. tostring(creds.token) },
    body = json.encode(body) }
  if not r then return nil, err end
  local b = json.decode(r.body) or {}
  if r.status == 200 and b.messages then return true, b.messages[1] and b.messages[1].id end
  local e = type(b.error) == "table" and b.error or {}
  if r.status == 429 or RATE[e.code] then return nil, "rate limited", tonumber(r.headers["retry-after"]) or 1 end
  if r.status >= 500 or e.code == 1 or e.code == 2 then return nil, "unavailable" end
  return nil, ("rejected: (#%s) %s"):format(tostring(e.code), tostring(e.message or r.status))
end

return M

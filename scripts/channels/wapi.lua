--- channels.wapi: WAPI, the WhatsApp provider of the car-service seed.
--
-- Outbound follows the seed (../shared/seeds/carwash-whatsapp-checklist.txt):
-- POST {api_url}/contact/send-message {phone_number, message_body} and
-- /contact/send-interactive-message {phone_number, interactive_type =
-- "button", body_text, buttons = [{id, title}]}, with Authorization: Bearer.
--
-- ASSUMED (no reference describes WAPI's inbound webhook): a JSON body
--   {"contact": {"phone_number": "919876543210", "name": "Rahul"},
--    "message": {"id": "…", "type": "text" | "button" | …, "body": "…", "button_id": "…"}}
-- signed with `X-Wapi-Signature: sha256=<hex HMAC-SHA256 of the raw body
-- with the webhook secret>`. Every field name is in FIELDS below and the
-- header in SIGNATURE_HEADER: when WAPI's real format is known, correct
-- them there (and the specs in tests/unit/channels_spec.lua).
--
--   parse(body) -> {message}, {} | nil, word, detail   (channels.shape's
--       words: a message without contact.phone_number cannot be answered)
local json = require "json"
local http = require "http"
local crypto = require "crypto"
local cut = require("text.utf8").cut
local S = require "channels.shape"

local M = { name = "wapi", window = 24 * 3600 }   -- WhatsApp: free-form only 24 h after the customer wrote

local SIGNATURE_HEADER = "x-wapi-signature"
local FIELDS = {
  contact = "contact", phone = "phone_number", name = "name",
  message = "message", id = "id", type = "type", text = "body", button = "button_id",
}

function M.verify(req, creds)
  if not creds.secret or creds.secret == "" then return nil, 503, "the channel has no webhook secret configured" end
  local got = req.headers[SIGNATURE_HEADER]
  if not got then return nil, 401, "missing " .. SIGNATURE_HEADER end
  local want = "sha256=" .. crypto.hex(crypto.hmac_sha256(creds.secret, req.body or ""))
  if not crypto.equal(got:lower(), want) then return nil, 403, "wrong signature" end
  return true
end

local PAYLOAD = S.object{
  [FIELDS.contact] = S.object{ [FIELDS.phone] = S.id(100), [FIELDS.name] = S.opt(S.string()) },
  [FIELDS.message] = S.object{ [FIELDS.id] = S.id(), [FIELDS.type] = S.opt(S.string()),
                               [FIELDS.text] = S.opt(S.string()), [FIELDS.button] = S.opt(S.either(S.string(200), S.integer())) },
}

function M.parse(body)
  local p, jerr = json.decode(body or "")
  if p == nil then return S.fail("bad json", jerr) end
  local ok, word, detail = S.check(p, PAYLOAD)
  if not ok then return nil, word, detail end
  local c, m = p[FIELDS.contact], p[FIELDS.message]
  local out = { id = S.text(m[FIELDS.id]), conversation = S.text(c[FIELDS.phone]), name = c[FIELDS.name] }
  if m[FIELDS.button] then out.button, out.kind = S.text(m[FIELDS.button]), "button"
  elseif m[FIELDS.text] and (m[FIELDS.type] == nil or m[FIELDS.type] == "text") then
    out.text, out.kind = m[FIELDS.text], "text"
  else out.kind = "unsupported" end
  return { out }, {}
end

--- The request for one reply: path and JSON body (up to 3 choices as
--- buttons, more as numbered text).
function M.request(to, reply)
  if reply.template then                          -- outside the 24 h window; params become field_1, field_2, …
    local t = reply.template
    local body = { phone_number = to, template_name = t.name, template_language = t.language or "en" }
    for i, v in ipairs(t.params or {}) do body["field_" .. i] = tostring(v) end
    return "/contact/send-template-message", body
  end
  if reply.media then
    -- the seed's send-media-message has no caption field: a text goes
    -- along as "caption" (ASSUMED, like the inbound format)
    return "/contact/send-media-message", { phone_number = to, media_type = reply.media.kind or "document",
      media_url = reply.media.url, file_name = reply.media.filename, caption = reply.text }
  end
  local b = reply.buttons or {}
  if #b > 0 and #b <= 3 then
    local buttons = {}
    for i, x in ipairs(b) do buttons[i] = { id = x.id, title = cut(x.title, 20) } end
    return "/contact/send-interactive-message",
      { phone_number = to, interactive_type = "button", body_text = reply.text, buttons = buttons }
  end
  local text = reply.text
  if #b > 3 then
    local lines = { text }
    for i, x in ipairs(b) do lines[#lines + 1] = ("%d. %s"):format(i, x.title) end
    text = table.concat(lines, "\n")
  end
  return "/contact/send-message", { phone_number = to, message_body = text }
end

function M.send(creds, to, reply, journal)
  local path, body = M.request(to, reply)
  local r, err = http.request{ method = "POST", timeout = 10, on_wire = journal, url = (creds.api_url or "") .. path,
    headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. tostring(creds.token) },
    body = json.encode(body) }
  if not r then return nil, err end
  if r.status >= 200 and r.status < 300 then
    local b = json.decode(r.body) or {}
    return true, b.message_id or b.id
  end
  if r.status == 429 then return nil, "rate limited", tonumber(r.headers["retry-after"]) or 1 end
  if r.status >= 500 then return nil, "unavailable" end
  return nil, "rejected: " .. tostring(r.status) .. " " .. tostring(r.body):sub(1, 200)
end

return M

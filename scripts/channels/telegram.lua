--- channels.telegram: the Telegram Bot API as a channel adapter.
--
--   verify(req, creds) -> true | nil, status, why   the secret-token header,
--                                                   compared in constant time
--   parse(body) -> list of inbound messages | nil, "bad payload"
--       {id = update_id, conversation = chat id, name, text? | button?,
--        kind = "text" | "button" | "unsupported", callback = id?}
--   send(creds, to, reply) -> true | nil, err, retry_after
--       reply = {text, buttons = {{id, title}}}: buttons as an inline keyboard
--   typing(creds, to)     "typing…" before a reply (creds.typing = true)
--   creds = {token, secret, api_url, typing?, delay_per_char?, max_delay?}
local json = require "json"
local http = require "http"
local crypto = require "crypto"

local M = { name = "telegram" }

function M.verify(req, creds)
  if not creds.secret or creds.secret == "" then return nil, 503, "the channel has no secret configured" end
  local got = req.headers["x-telegram-bot-api-secret-token"]
  if not got then return nil, 401, "missing X-Telegram-Bot-Api-Secret-Token" end
  if not crypto.equal(got, creds.secret) then return nil, 403, "wrong secret token" end
  return true
end

function M.parse(body)
  local u = json.decode(body or "")
  if type(u) ~= "table" or type(u.update_id) ~= "number" then return nil, "bad payload" end
  local id = ("%.0f"):format(u.update_id)
  local m, cb = u.message or u.edited_message, u.callback_query
  if cb then
    local chat = cb.message and cb.message.chat or cb.from
    return { { id = id, conversation = ("%.0f"):format(chat.id), name = cb.from and cb.from.first_name,
               button = cb.data, kind = "button", callback = cb.id } }
  end
  if type(m) == "table" and m.chat then
    local msg = { id = id, conversation = ("%.0f"):format(m.chat.id), name = m.from and m.from.first_name }
    if type(m.text) == "string" then msg.text, msg.kind = m.text, "text"
    elseif type(m.location) == "table" then
      msg.kind, msg.location = "location", { latitude = m.location.latitude, longitude = m.location.longitude }
    elseif type(m.contact) == "table" then
      msg.kind, msg.contacts = "contacts", { { name = m.contact.first_name, phones = { m.contact.phone_number } } }
    elseif m.photo or m.document or m.voice or m.video or m.audio then
      local kind = m.photo and "image" or m.document and "document" or m.voice and "audio" or m.video and "video" or "audio"
      local x = m.photo and m.photo[#m.photo] or m.document or m.voice or m.video or m.audio
      msg.kind, msg.text = "media", m.caption
      msg.media = { id = x.file_id, type = kind, mime = x.mime_type, caption = m.caption, filename = x.file_name }
    else msg.kind = "unsupported" end
    return { msg }
  end
  return {}                                       -- other update kinds: nothing to answer
end

local function call(creds, method, params, journal)
  local r, err = http.request{ method = "POST", timeout = 10, on_wire = journal,
    url = ("%s/bot%s/%s"):format(creds.api_url or "https://api.telegram.org", creds.token, method),
    headers = { ["Content-Type"] = "application/json" }, body = json.encode(params) }
  if not r then return nil, err end
  local body = json.decode(r.body) or {}
  if r.status == 200 and body.ok then return body.result end
  if r.status == 429 then
    return nil, "rate limited", (body.parameters and body.parameters.retry_after) or tonumber(r.headers["retry-after"]) or 1
  end
  if r.status >= 500 then return nil, "unavailable" end
  return nil, "rejected: " .. tostring(body.description or r.status)
end

function M.send(creds, to, reply, journal)
  if reply.media then                             -- by URL, the text as caption
    local method, field = "sendDocument", "document"
    if (reply.media.kind or "image") == "image" then method, field = "sendPhoto", "photo" end
    local ok, err, retry = call(creds, method, { chat_id = tonumber(to) or to, [field] = reply.media.url,
                                                 caption = reply.text }, journal)
    if ok then return true, ok.message_id and tostring(ok.message_id) end
    return nil, err, retry
  end
  local params = { chat_id = tonumber(to) or to, text = reply.text }
  if reply.buttons and #reply.buttons > 0 then
    local rows = {}
    for i, b in ipairs(reply.buttons) do rows[i] = { { text = b.title, callback_data = b.id } } end
    params.reply_markup = { inline_keyboard = rows }
  end
  local ok, err, retry = call(creds, "sendMessage", params, journal)
  if ok then return true end
  return nil, err, retry
end

--- Shows "typing…" in the chat (best effort; Telegram shows it up to 5 s).
function M.typing(creds, to)
  call(creds, "sendChatAction", { chat_id = tonumber(to) or to, action = "typing" })
end

--- Stops the client's spinner on a tapped button (best effort).
function M.ack_button(creds, callback)
  if callback then call(creds, "answerCallbackQuery", { callback_query_id = callback }) end
end

return M

--- channels.telegram: the Telegram Bot API as a channel adapter.
--
--   verify(req, creds) -> true | nil, status, why   the secret-token header,
--                                                   compared in constant time
--   parse(body) -> messages, {} | nil, word, detail
--       messages: {{id = update_id, conversation = chat id, name, text? |
--        button?, kind = "text" | "button" | "media" | "location" |
--        "contacts" | "unsupported", callback = id?}} (none for update kinds
--        with nothing to answer); nil, word, detail: an update the host
--        cannot use (channels.shape's words), e.g. a message without chat.id
--   send(creds, to, reply) -> true | nil, err, retry_after
--       reply = {text, buttons = {{id, title}}}: buttons as an inline keyboard
--       to = "<business connection id>/<chat id>" sends on a rep's behalf
--
-- Telegram Business (a rep connects the bot to their own account): a
-- business_message is a message with business = its connection id, from =
-- {id, username} of its sender and conversation "<connection id>/<chat id>"
-- (one conversation per rep and prospect); a business_connection update is
-- {kind = "business_connection", connection = {id, user_id, enabled,
-- can_reply}}. channels.reps decides which rep either belongs to (route).
--   typing(creds, to)     "typing…" before a reply (creds.typing = true)
--   creds = {token, secret, api_url, typing?, delay_per_char?, max_delay?}
local json = require "json"
local http = require "http"
local crypto = require "crypto"
local S = require "channels.shape"

local M = { name = "telegram" }

function M.verify(req, creds)
  if not creds.secret or creds.secret == "" then return nil, 503, "the channel has no secret configured" end
  local got = req.headers["x-telegram-bot-api-secret-token"]
  if not got then return nil, 401, "missing X-Telegram-Bot-Api-Secret-Token" end
  if not crypto.equal(got, creds.secret) then return nil, 403, "wrong secret token" end
  return true
end

-- the update as the parser reads it (other update kinds: nothing to answer)
local FILE = S.object{ file_id = S.id(), mime_type = S.opt(S.string()), file_name = S.opt(S.string()) }
local USER = S.object{ id = S.opt(S.integer()), first_name = S.opt(S.string()), username = S.opt(S.string()) }
local CHAT = S.object{ id = S.integer() }
local MESSAGE = S.object{
  chat = CHAT, from = S.opt(USER), text = S.opt(S.string()), caption = S.opt(S.string()),
  location = S.opt(S.object{ latitude = S.number(), longitude = S.number() }),
  contact = S.opt(S.object{ phone_number = S.string(), first_name = S.opt(S.string()) }),
  photo = S.opt(S.list(FILE, 1)), document = S.opt(FILE), voice = S.opt(FILE), video = S.opt(FILE), audio = S.opt(FILE),
  business_connection_id = S.opt(S.id()),
}
-- Bot API 7.2 has can_reply; from 9.0 the rights are an object (both accepted)
local CONNECTION = S.object{ id = S.id(), user = S.object{ id = S.integer() }, is_enabled = S.opt(S.any()),
                             can_reply = S.opt(S.any()), rights = S.opt(S.object{ can_reply = S.opt(S.any()) }) }
local UPDATE = S.object{
  update_id = S.integer(), message = S.opt(MESSAGE), edited_message = S.opt(MESSAGE),
  business_message = S.opt(MESSAGE), edited_business_message = S.opt(MESSAGE), business_connection = S.opt(CONNECTION),
  callback_query = S.opt(S.object{ id = S.id(), from = S.opt(USER), data = S.opt(S.string()),
                                   message = S.opt(S.object{ chat = CHAT, business_connection_id = S.opt(S.id()) }) }),
}

-- a BusinessConnection (checked against CONNECTION) as channels.reps keeps it
local function connection_of(bc)
  local can_reply = bc.can_reply
  if can_reply == nil and bc.rights then can_reply = bc.rights.can_reply end
  return { id = S.text(bc.id), user_id = bc.user.id, enabled = bc.is_enabled ~= false, can_reply = can_reply == true }
end

-- a message in a rep's own chat, through their business connection: one
-- conversation per connection and chat, and who wrote it (channels.reps)
local function business(msg, connection, from)
  if connection then
    msg.business = S.text(connection)
    msg.conversation = msg.business .. "/" .. msg.conversation
    msg.from = { id = from and from.id, username = from and from.username }
  end
  return msg
end

function M.parse(body)
  local u, jerr = json.decode(body or "")
  if u == nil then return S.fail("bad json", jerr) end
  local ok, word, detail = S.check(u, UPDATE)
  if not ok then return nil, word, detail end
  local id = S.text(u.update_id)
  local m, cb = u.message or u.edited_message or u.business_message or u.edited_business_message, u.callback_query
  if u.business_connection then
    return { { id = id, kind = "business_connection", connection = connection_of(u.business_connection) } }, {}
  end
  if cb then
    -- a tap on a button: its chat, else (an inline message) the user's own chat
    local chat = cb.message and cb.message.chat or cb.from and cb.from.id and cb.from
    if not chat then return S.fail("missing field", "callback_query: neither message.chat nor from") end
    local msg = { id = id, conversation = S.text(chat.id), name = cb.from and cb.from.first_name,
                  button = cb.data, kind = cb.data and "button" or "unsupported", callback = cb.id }
    return { business(msg, cb.message and cb.message.business_connection_id, cb.from) }, {}
  end
  if not m then return {}, {} end                 -- other update kinds: nothing to answer
  local msg = { id = id, conversation = S.text(m.chat.id), name = m.from and m.from.first_name }
  business(msg, m.business_connection_id, m.from)
  if m.text then msg.text, msg.kind = m.text, "text"
  elseif m.location then
    msg.kind, msg.location = "location", { latitude = m.location.latitude, longitude = m.location.longitude }
  elseif m.contact then
    msg.kind, msg.contacts = "contacts", { { name = m.contact.first_name, phones = { m.contact.phone_number } } }
  elseif m.photo or m.document or m.voice or m.video or m.audio then
    local kind = m.photo and "image" or m.document and "document" or m.voice and "audio" or m.video and "video" or "audio"
    local x = m.photo and m.photo[#m.photo] or m.document or m.voice or m.video or m.audio
    msg.kind, msg.text = "media", m.caption
    msg.media = { id = S.text(x.file_id), type = kind, mime = x.mime_type, caption = m.caption, filename = x.file_name }
  else msg.kind = "unsupported" end
  return { msg }, {}
end

-- "<connection>/<chat>" -> chat, connection; "<chat>" -> chat
local function target(to)
  local conn, chat = tostring(to):match("^(.+)/(%-?%d+)$")
  if conn then return tonumber(chat), conn end
  return tonumber(to) or to
end

local function call(creds, method, params, journal)
  if params.chat_id ~= nil then params.chat_id, params.business_connection_id = target(params.chat_id) end
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

--- The connection's details from Telegram (a business_message whose
--- business_connection update the host never saw) -> connection | nil, err
function M.business_connection(creds, id)
  local bc, err = call(creds, "getBusinessConnection", { business_connection_id = id })
  if not bc then return nil, err end
  local ok, word, detail = S.check(bc, CONNECTION)
  if not ok then return nil, word .. ": " .. tostring(detail) end
  return connection_of(bc)
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

--- connectors.google_calendar: Google Calendar API v3 as a service account
--- (an RS256 JWT exchanged for an access token, kept until it expires).
--
-- Declaration: google_calendar = { credentials_env (the service account's
--   JSON key, or the path of the key file: client_email, private_key,
--   private_key_id), subject? (a user
--   to act as, with domain-wide delegation), timeout?, tries? }
-- Endpoints: GOOGLE_OAUTH_TOKEN_URL (https://oauth2.googleapis.com/token) and
--   GOOGLE_CALENDAR_API_URL (https://www.googleapis.com/calendar/v3), set by
--   the operator (never the key file's token_uri: a tenant names no host).
-- Ops:
--   free_busy(calendars, time_min, time_max) -> {[calendar] = {busy = {{start, end}}, errors?}}
--       (a calendar the account cannot see comes back with errors, never as free)
--   get_event(calendar, id) -> event
--   insert_event(calendar, event, {key}) -> event  (the event's id is derived
--       from the key, so a replay answers 409 and the stored event is returned)
--   patch_event(calendar, id, fields, {key}) -> event
--   delete_event(calendar, id, {key}) -> true
-- Errors: 400 -> "invalid"; 401 -> "unauthorized" (after a new token once);
--   403 rate reasons -> "rate limited" (retried), other 403 -> "forbidden";
--   404 "not found"; 409 "conflict"; 410 "gone"; 412 "conflict"; 429
--   "rate limited"; 5xx "unavailable"; token refused (invalid_grant...) ->
--   "unauthorized".
local chttp = require "connectors.http"
local auth = require "connectors.auth"
local jwt = require "connectors.jwt"
local json = require "json"
local time = require "time"
local crypto = require "crypto"

local C = { secrets = { "credentials_env" },
            endpoints = { token = { "GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token" },
                          api = { "GOOGLE_CALENDAR_API_URL", "https://www.googleapis.com/calendar/v3" } } }

C.ops = {
  free_busy = { n = 3 }, get_event = { n = 2 },
  insert_event = { n = 2, write = true }, patch_event = { n = 3, write = true }, delete_event = { n = 2, write = true },
}

local SCOPE = "https://www.googleapis.com/auth/calendar"
local RATE = { rateLimitExceeded = true, userRateLimitExceeded = true, quotaExceeded = true }

function C.check(d)
  if d.subject ~= nil and type(d.subject) ~= "string" then return "subject must be an e-mail address" end
end

local function judge(res, doc)
  local s = res.status
  if s >= 200 and s < 300 then return nil end
  local e = type(doc) == "table" and type(doc.error) == "table" and doc.error or {}
  local first = type(e.errors) == "table" and type(e.errors[1]) == "table" and e.errors[1] or {}
  local detail = tostring(first.reason or "") .. ": " .. tostring(e.message or "")
  if s == 400 then return "invalid", false, detail end
  if s == 403 and RATE[first.reason] then return "rate limited", true, detail end
  if s == 412 then return "conflict", false, detail end
  return nil
end

--- the event id a key gives: base32hex (a-v, 0-9), 32 characters
function C.event_id(marker)
  local raw = crypto.sha256(marker):sub(1, 20)
  local alphabet, out, bits, acc = "0123456789abcdefghijklmnopqrstuv", {}, 0, 0
  for i = 1, #raw do
    acc = acc * 256 + raw:byte(i)
    bits = bits + 8
    while bits >= 5 do
      bits = bits - 5
      local v = math.floor(acc / 2 ^ bits) % 32
      out[#out + 1] = alphabet:sub(v + 1, v + 1)
    end
    acc = acc % 2 ^ bits
  end
  return table.concat(out)
end

-- the key itself, or the path of its file (a value not starting with "{")
local function key_text(v)
  if v == nil or v:find("^%s*{") then return v or "" end
  local f = io.open(v, "rb")
  if not f then error("google_calendar: credentials_env names the file '" .. v .. "', which cannot be read", 0) end
  local text = f:read("*a")
  f:close()
  return text
end

function C.new(d, secrets, endpoints)
  local ok, key = pcall(json.decode, key_text(secrets.credentials_env))
  if not ok or type(key) ~= "table" or type(key.private_key) ~= "string" or type(key.client_email) ~= "string" then
    error("google_calendar: credentials_env must hold a service account's JSON key (client_email, private_key)", 0)
  end
  local self = { api = endpoints.api, token_url = endpoints.token, subject = d.subject,
                 conn = { name = "google_calendar", timeout = d.timeout or 10, tries = d.tries or 3,
                          secrets = { key.private_key } } }
  self.token = auth.cache(function(deadline)
    local now = math.floor(time.now())
    local assertion, err = jwt.rs256({ iss = key.client_email, scope = SCOPE, aud = self.token_url,
      iat = now, exp = now + 3600, sub = self.subject }, key.private_key, key.private_key_id)
    if not assertion then return nil, "unauthorized", "service account key: " .. err end
    local res, doc, detail = chttp.call(self.conn, { method = "POST", url = self.token_url, deadline = deadline,
      idempotent = true, headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" },
      body = chttp.form{ grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion = assertion },
      judge = function(r, t)
        if r.status == 400 or r.status == 401 then
          return "unauthorized", false, type(t) == "table" and tostring(t.error_description or t.error) or nil
        end
      end })
    if not res then return nil, doc, detail end
    if type(doc) ~= "table" or type(doc.access_token) ~= "string" then return nil, "bad answer", "no access_token" end
    return doc.access_token, tonumber(doc.expires_in) or 3600
  end)
  return self
end

local function cal(id)
  if type(id) ~= "string" or id == "" or #id > 256 then error("google_calendar: a calendar id (\"primary\" or an address)", 0) end
  return chttp.escape(id)
end
local function eid(id)
  if type(id) ~= "string" or not id:match("^[%w_%-]+$") then error("google_calendar: an event id", 0) end
  return id
end

local function send(self, method, path, value, ctx, idempotent)
  return auth.bearer_json(self, judge, method, path, value, ctx, idempotent)
end

local RUN = {}
function RUN.free_busy(self, a, ctx)
  local items = {}
  for i, id in ipairs(type(a[1]) == "table" and a[1] or { a[1] }) do items[i] = { id = id } end
  local doc, word, detail = send(self, "POST", "/freeBusy", { timeMin = a[2], timeMax = a[3], items = items }, ctx, true)
  if not doc then return nil, word, detail end
  if type(doc.calendars) ~= "table" then return nil, "bad answer", "no calendars" end
  return doc.calendars
end
function RUN.get_event(self, a, ctx)
  return send(self, "GET", "/calendars/" .. cal(a[1]) .. "/events/" .. eid(a[2]), nil, ctx)
end
function RUN.insert_event(self, a, ctx)
  local ev = {}
  for k, v in pairs(a[2] or {}) do ev[k] = v end
  ev.id = C.event_id(ctx.marker)
  local ext = type(ev.extendedProperties) == "table" and ev.extendedProperties or {}
  local priv = {}
  for k, v in pairs(type(ext.private) == "table" and ext.private or {}) do priv[k] = v end
  priv.flowhost_key = ctx.marker
  ev.extendedProperties = { private = priv, shared = ext.shared }
  -- Google refuses a second event with the same id (409): the first is ours
  local doc, word, detail = send(self, "POST", "/calendars/" .. cal(a[1]) .. "/events", ev, ctx, true)
  if doc == nil and word == "conflict" then return RUN.get_event(self, { a[1], ev.id }, ctx) end
  return doc, word, detail
end
function RUN.patch_event(self, a, ctx)
  return send(self, "PATCH", "/calendars/" .. cal(a[1]) .. "/events/" .. eid(a[2]), a[3] or {}, ctx)
end
function RUN.delete_event(self, a, ctx)
  local v, word, detail = send(self, "DELETE", "/calendars/" .. cal(a[1]) .. "/events/" .. eid(a[2]), nil, ctx)
  if v == nil and ctx.doubt and (word == "gone" or word == "not found") then return true end
  return v, word, detail
end

function C.run(self, op, args, ctx) return RUN[op](self, args, ctx) end

--- an in-doubt insert: the event with the key's id, if Google has it
function C.find(self, op, args, ctx)
  if op ~= "insert_event" then return false end
  local ev, word, detail = RUN.get_event(self, { args[1], C.event_id(ctx.marker) }, ctx)
  if ev then return ev end
  if word == "not found" then return false end
  return nil, word, detail
end

return C

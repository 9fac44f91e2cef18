--- connectors.zoom: Zoom meetings through a Server-to-Server OAuth app
--- (`grant_type=account_credentials`, a token kept until it expires).
--
-- Declaration: zoom = { account_id_env, client_id_env, client_secret_env,
--   user? ("me"), timeout?, tries? }
-- Endpoints: ZOOM_OAUTH_TOKEN_URL (https://zoom.us/oauth/token) and
--   ZOOM_API_URL (https://api.zoom.us/v2), set by the operator.
-- Ops:
--   create_meeting(meeting, {key}) -> meeting (201; its agenda carries the
--       key's marker "[fh:<hash>]", by which an in-doubt create is found)
--   get_meeting(id) -> meeting
--   update_meeting(id, fields, {key}) -> true   (PATCH, 204)
--   delete_meeting(id, {key}) -> true           (204)
-- Errors: 401 (code 124) -> "unauthorized" after a new token once; 404
--   (1001, 3001) -> "not found"; 300 / 400 -> "invalid"; 429 -> "rate
--   limited" (retried after Retry-After when it says a short wait; the daily
--   limit is not); 5xx "unavailable".
local chttp = require "connectors.http"
local auth = require "connectors.auth"
local crypto = require "crypto"

local C = { secrets = { "account_id_env", "client_id_env", "client_secret_env" },
            endpoints = { token = { "ZOOM_OAUTH_TOKEN_URL", "https://zoom.us/oauth/token" },
                          api = { "ZOOM_API_URL", "https://api.zoom.us/v2" } } }

C.ops = {
  get_meeting = { n = 1 },
  create_meeting = { n = 1, write = true }, update_meeting = { n = 2, write = true },
  delete_meeting = { n = 1, write = true },
}

function C.check(d)
  if d.user ~= nil and (type(d.user) ~= "string" or not d.user:match("^[%w_%.@%-]+$")) then
    return "user must be \"me\", a user id or an e-mail address"
  end
end

local function judge(res, doc)
  local s = res.status
  if s >= 200 and s < 300 then return nil end
  local detail = type(doc) == "table" and (tostring(doc.code or "") .. ": " .. tostring(doc.message or doc.reason or "")) or nil
  if s == 400 or s == 300 then return "invalid", false, detail end
  if s == 429 and detail and detail:find("daily", 1, true) then return "rate limited", false, detail end
  return nil
end

--- the marker a key puts in a meeting's agenda
function C.marker(m) return "[fh:" .. crypto.hex(crypto.sha256(m)):sub(1, 20) .. "]" end

function C.new(d, secrets, endpoints)
  local self = { api = endpoints.api, token_url = endpoints.token, user = chttp.escape(d.user or "me"),
                 conn = { name = "zoom", timeout = d.timeout or 10, tries = d.tries or 3,
                          secrets = { secrets.client_secret_env } } }
  local basic = "Basic " .. crypto.base64(tostring(secrets.client_id_env) .. ":" .. tostring(secrets.client_secret_env))
  self.token = auth.cache(function(deadline)
    local res, doc, detail = chttp.call(self.conn, { method = "POST", deadline = deadline, idempotent = true,
      url = self.token_url .. chttp.query{ grant_type = "account_credentials", account_id = secrets.account_id_env },
      headers = { Authorization = basic, Accept = "application/json" },
      judge = function(r, t)
        if r.status == 400 or r.status == 401 then
          return "unauthorized", false, type(t) == "table" and tostring(t.reason or t.error) or nil
        end
      end })
    if not res then return nil, doc, detail end
    if type(doc) ~= "table" or type(doc.access_token) ~= "string" then return nil, "bad answer", "no access_token" end
    return doc.access_token, tonumber(doc.expires_in) or 3600
  end)
  return self
end

local function mid(id)
  if type(id) == "number" and id % 1 == 0 then return ("%d"):format(id) end
  if type(id) == "string" and id:match("^%d+$") then return id end
  error("zoom: a meeting id (a number)", 0)
end

local function send(self, method, path, value, ctx, idempotent)
  return auth.bearer_json(self, judge, method, path, value, ctx, idempotent)
end

local RUN = {}
function RUN.get_meeting(self, a, ctx) return send(self, "GET", "/meetings/" .. mid(a[1]), nil, ctx) end
function RUN.create_meeting(self, a, ctx)
  local m = {}
  for k, v in pairs(a[1] or {}) do m[k] = v end
  local mark = C.marker(ctx.marker)
  m.agenda = (type(m.agenda) == "string" and m.agenda ~= "" and (m.agenda .. " ") or "") .. mark
  return send(self, "POST", "/users/" .. self.user .. "/meetings", m, ctx, false)
end
function RUN.update_meeting(self, a, ctx) return send(self, "PATCH", "/meetings/" .. mid(a[1]), a[2] or {}, ctx) end
function RUN.delete_meeting(self, a, ctx)
  local v, word, detail = send(self, "DELETE", "/meetings/" .. mid(a[1]), nil, ctx)
  if v == nil and word == "not found" and ctx.doubt then return true end
  return v, word, detail
end

function C.run(self, op, args, ctx) return RUN[op](self, args, ctx) end

--- an in-doubt create: the user's upcoming meeting whose agenda has the marker
function C.find(self, op, args, ctx)
  if op ~= "create_meeting" then return false end
  local mark = C.marker(ctx.marker)
  local list, word, detail = send(self, "GET", "/users/" .. self.user .. "/meetings?type=upcoming&page_size=300", nil, ctx)
  if not list then return nil, word, detail end
  for _, m in ipairs(type(list.meetings) == "table" and list.meetings or {}) do
    if type(m.agenda) == "string" and m.agenda:find(mark, 1, true) then
      return RUN.get_meeting(self, { m.id }, ctx)
    end
  end
  return false
end

return C

--- connectors.auth: an access token a connector fetches, keeps until
--- shortly before it expires, and fetches again once when the vendor says
--- it is no longer good (401). One shape for Google, Zoom and Odoo's uid.
--
--   local tok = auth.cache(fetch)
--       fetch(deadline) -> token, expires_in (seconds; nil: no expiry)
--                        | nil, word, detail                     (yields)
--   tok:get(deadline) -> token | nil, word, detail   (cached; yields on a fetch)
--   tok:forget()                                    the next get fetches
--   auth.with(tok, deadline, send) -> send's results
--       send(token) -> res, doc | nil, word, detail; when it answers
--       "unauthorized" with a cached token, the token is fetched again and
--       send tried once more (a token expired or revoked since it was cached)
--   auth.bearer_json(self, judge, method, path, value, ctx, idempotent)
--       a JSON call with the connector's bearer token (self.token,
--       self.conn, self.api): -> the answer's JSON object, true for a 204,
--       or nil, word, detail (Google Calendar, Zoom)
-- Tokens live in the worker's main state (scripts/connectors/host.lua),
-- never in a tenant's state.
local time = require "time"

local M = {}
local Cache = {}
Cache.__index = Cache

local EARLY = 60   -- seconds before its expiry a token is fetched anew

function M.cache(fetch) return setmetatable({ fetch = fetch }, Cache) end

function Cache:get(deadline)
  if self.token and (not self.expires or time.now() < self.expires) then return self.token, nil, true end
  local token, expires_in, detail = self.fetch(deadline)
  if not token then return nil, expires_in, detail end
  self.token = token
  self.expires = expires_in and time.now() + math.max(1, expires_in - EARLY) or nil
  return token
end

function Cache:forget() self.token, self.expires = nil, nil end

function M.with(tok, deadline, send)
  local token, word, cached = tok:get(deadline)
  if not token then return nil, word, cached end
  local res, doc, detail = send(token)
  if res == nil and doc == "unauthorized" and cached then
    tok:forget()
    token, word, detail = tok:get(deadline)
    if not token then return nil, word, detail end
    return send(token)
  end
  return res, doc, detail
end

function M.bearer_json(self, judge, method, path, value, ctx, idempotent)
  local chttp = require "connectors.http"
  return M.with(self.token, ctx.deadline, function(token)
    local headers, body = { Authorization = "Bearer " .. token, Accept = "application/json" }, nil
    if value ~= nil then headers, body = chttp.json_body(headers, value) end
    local res, doc, detail = chttp.call(self.conn, { method = method, url = self.api .. path, headers = headers,
      body = body, deadline = ctx.deadline, idempotent = idempotent, judge = judge })
    if not res then return nil, doc, detail end
    if res.status == 204 then return true end
    if type(doc) ~= "table" then return nil, "bad answer", "answer is not a JSON object" end
    return doc
  end)
end

return M

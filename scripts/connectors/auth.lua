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

return M

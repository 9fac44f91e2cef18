--- chat: a spec's conversations on the JSON chat API, which answers only
--- ids it issued (or callers with the tenant's API key).
--
--   local chat = require "chat".new(base_url)
--   chat:id(tenant, name) -> the issued id the spec calls `name` (issued on
--                            first use with POST /v1/tenants/{tenant}/conversations)
--   chat:say(tenant, name, msg, timeout?) -> the http.request response
--                            msg: {text = ...} / {button = ...}, or a string (text)
local http = require "http"
local json = require "json"

local M = {}
M.__index = M

function M.new(url) return setmetatable({ url = url, ids = {} }, M) end

function M:id(tenant, name)
  local key = tenant .. "\0" .. name
  local id = self.ids[key]
  if id then return id end
  local r = assert(http.request{ method = "POST", url = self.url .. "/v1/tenants/" .. tenant .. "/conversations",
    timeout = 20 })
  if r.status ~= 201 then return nil, r end
  id = json.decode(r.body).id
  self.ids[key] = id
  return id
end

function M:say(tenant, name, msg, timeout)
  if type(msg) == "string" then msg = { text = msg } end
  local id, r = self:id(tenant, name)
  if not id then return r end
  return http.request{ method = "POST", url = self.url .. "/v1/tenants/" .. tenant .. "/conversations/" .. id .. "/messages",
    headers = { ["Content-Type"] = "application/json" }, body = json.encode(msg), timeout = timeout or 20 }
end

return M

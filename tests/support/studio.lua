--- A studio client for the specs: signs in over HTTP, keeps the fh_studio
--- cookie and the CSRF token, speaks JSON.
--
--   local c = studio.new(url)
--   c:sign_in(token) -> status, body, response   (keeps cookie and csrf on 200)
--   c:call(method, path, body?, opts?) -> status, decoded body, response
--       path under /studio/api/ (or absolute from "/"); opts.csrf = false
--       leaves the header out, opts.headers adds some
local http = require "http"
local json = require "json"

local M = {}
M.__index = M

function M.new(url) return setmetatable({ url = url }, M) end

function M:call(method, path, body, opts)
  opts = opts or {}
  local headers = { ["Content-Type"] = "application/json" }
  if self.cookie then headers.Cookie = "fh_studio=" .. self.cookie end
  if self.csrf and opts.csrf ~= false then headers["X-CSRF-Token"] = self.csrf end
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local full = path:sub(1, 1) == "/" and path or ("/studio/api/" .. path)
  local r = assert(http.request{ method = method, url = self.url .. full, headers = headers, timeout = opts.timeout or 60,
                                 body = body ~= nil and (type(body) == "string" and body or json.encode(body)) or nil })
  return r.status, json.decode(r.body or "") or r.body, r
end

function M:sign_in(token, opts)
  local status, b, r = self:call("POST", "session", { token = token }, opts)
  if status == 200 then
    self.cookie = (r.headers["set-cookie"] or ""):match("fh_studio=(%x+)")
    self.csrf = b.csrf
  end
  return status, b, r
end

return M

--- studio.session: who is signed in to the studio, by cookie.
--
--   session.sign_in(token, label?) -> record, sid | nil
--       token: the platform admin token (FLOWHOST_ADMIN_TOKEN: every
--       tenant), a tenant's admin token (the variable its config names in
--       admin_token_env: that tenant) or a rep's (admin_token_env in the
--       rep's settings, config reps.<rep> or <tenant>.reps.lua: that rep
--       only). record = {all?, tenants, rep, user, csrf, created}
--   session.of(req) -> record, sid | nil        (from the fh_studio cookie)
--   session.sign_out(sid)
--   session.cookie(req, sid) / session.clear_cookie(req) -> Set-Cookie value
--   session.csrf_ok(req, record) -> bool        X-CSRF-Token equals the session's
--   session.tenants(record) -> ids the session opens (sorted)
--   session.opens(record, tenant) -> bool
--   session.body(record) -> the JSON answer of GET/POST /studio/api/session
--
-- Sessions live in Redis under fh:studio:session:<sha256 of the id> (a
-- dump of Redis holds no usable cookie) for 12 hours from sign-in.
local redis = require "redis"
local json = require "json"
local crypto = require "crypto"
local tenants = require "flow.tenants"

local M = {}

M.COOKIE = "fh_studio"
M.TTL = 12 * 3600

local function same(a, b)
  return type(a) == "string" and type(b) == "string" and #a > 0 and #b > 0
    and crypto.equal(crypto.sha256(a), crypto.sha256(b))
end

local function key(sid) return "fh:studio:session:" .. crypto.hex(crypto.sha256(sid)) end

-- what token opens: {all = true} | {tenants = {t}} | {tenants = {t}, rep = "t.r"} | nil
local function resolve(token)
  if same(token, os.getenv("FLOWHOST_ADMIN_TOKEN")) then return { all = true, user = "platform admin" } end
  for _, id in ipairs(tenants.list()) do
    local st = tenants.status(id)
    local s = st and type(st.settings) == "table" and st.settings
    if s then
      local var = s.admin_token_env
      if type(var) == "string" and same(token, os.getenv(var)) then
        return { tenants = { id }, user = id .. " admin" }
      end
      for rep, r in pairs(type(s.reps) == "table" and s.reps or {}) do
        if type(r) == "table" and type(r.admin_token_env) == "string" and same(token, os.getenv(r.admin_token_env)) then
          return { tenants = { id }, rep = id .. "." .. rep, user = id .. "." .. rep }
        end
      end
    end
  end
end

function M.sign_in(token, label)
  if type(token) ~= "string" or token == "" or #token > 512 then return nil end
  local r = resolve(token)
  if not r then return nil end
  if type(label) == "string" and label:match("%S") then
    r.user = label:gsub("[%c<>]", ""):sub(1, 60) .. " (" .. r.user .. ")"
  end
  local sid = crypto.random_hex(32)
  r.csrf = crypto.random_hex(16)
  r.created = math.floor(require("time").now())
  local ok, err = redis.call("SET", key(sid), json.encode(r), "EX", M.TTL)
  if not ok then return nil, err end
  return r, sid
end

local function cookie_sid(req)
  local h = req.headers["cookie"]
  if type(h) ~= "string" then return nil end
  for name, value in h:gmatch("([^=;%s]+)=([^;]*)") do
    if name == M.COOKIE and value:match("^%x+$") and #value == 64 then return value end
  end
end

function M.of(req)
  local sid = cookie_sid(req)
  if not sid then return nil end
  local raw = redis.call("GET", key(sid))
  local r = type(raw) == "string" and json.decode(raw)
  if type(r) ~= "table" then return nil end
  return r, sid
end

function M.sign_out(sid)
  if sid then redis.call("DEL", key(sid)) end
end

local function secure(req)
  local proto = req.headers["x-forwarded-proto"]
  return proto ~= nil and proto:lower():match("^%s*https") ~= nil
end

function M.cookie(req, sid)
  return ("%s=%s; HttpOnly; SameSite=Strict; Path=/studio; Max-Age=%d%s")
    :format(M.COOKIE, sid, M.TTL, secure(req) and "; Secure" or "")
end

function M.clear_cookie(req)
  return ("%s=; HttpOnly; SameSite=Strict; Path=/studio; Max-Age=0%s"):format(M.COOKIE, secure(req) and "; Secure" or "")
end

function M.csrf_ok(req, r)
  return same(req.headers["x-csrf-token"], r.csrf)
end

function M.tenants(r)
  if r.all then
    local ids = tenants.list()
    table.sort(ids)
    return ids
  end
  return r.tenants or {}
end

function M.opens(r, tenant)
  if r.all then return tenants.valid_id(tenant) and tenants.status(tenant) ~= nil end
  for _, id in ipairs(r.tenants or {}) do if id == tenant then return true end end
  return false
end

function M.body(r)
  return { tenants = json.array(M.tenants(r)), rep = r.rep or json.null, csrf = r.csrf, user = r.user }
end

return M

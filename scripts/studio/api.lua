--- studio.api: the studio's JSON API plumbing: sign-in checks, CSRF, which
--- tenant (and rep) a session opens, JSON in and out.
--
--   api.route(method, path, fn, opts?)
--       path under /studio/api/tenants/{tenant}/; fn(req, p, s) -> status, value
--       (value encoded as JSON) where s = {session, tenant, rep, scope, user}.
--       Answers before fn runs: 401 without a session, 403 without the
--       session's X-CSRF-Token on anything but GET, 404 for a tenant the
--       session does not open (as for one that does not exist), 403 for a
--       rep on a route not opts.rep.
--   api.body(req) -> table | nil            the JSON object sent
--   api.fail(status, word, message) -> status, {error, message}
local router = require "host.router"
local json = require "json"
local session = require "studio.session"

local M = {}

function M.fail(status, word, message) return status, { error = word, message = message } end

function M.body(req)
  local b = req.body ~= "" and json.decode(req.body) or {}
  return type(b) == "table" and b or nil
end

function M.answer(status, value)
  local s, b, h = router.json(status, value)
  h["Cache-Control"] = "no-store"
  return s, b, h
end

--- nil when the request may go on, else status, value
function M.gate(req, method)
  local s, sid = session.of(req)
  if not s then return nil, M.fail(401, "unauthorized", "sign in first (POST /studio/api/session with a token)") end
  if method ~= "GET" and method ~= "HEAD" and not session.csrf_ok(req, s) then
    return nil, M.fail(403, "csrf", "send the X-CSRF-Token header the sign-in answered")
  end
  return s, sid
end

function M.route(method, path, fn, opts)
  local full = "/studio/api/tenants/{tenant}/" .. path
  router.route(method, full, function(req, p)
    local s, status, value = M.gate(req, method)
    if not s then return M.answer(status, value) end
    if not session.opens(s, p.tenant) then
      return M.answer(M.fail(404, "unknown tenant", "there is no such tenant (or this sign-in does not open it)"))
    end
    if s.rep and not (opts and opts.rep) then
      return M.answer(M.fail(403, "forbidden", "a rep's sign-in opens the rep's own files and conversations only"))
    end
    local who = { session = s, tenant = p.tenant, rep = s.rep, user = s.user,
                  scope = s.rep and s.rep:match("%.(.+)$") or "tenant" }
    return M.answer(fn(req, p, who))
  end, full)
end

return M

-- The admin API (Bearer tokens). FLOWHOST_ADMIN_TOKEN opens everything; a
-- tenant's own token (the environment variable its config names in
-- `admin_token_env`) opens that tenant's resources only. No token: 401; a
-- token that does not open the resource: 403.
--
--   GET  /admin/tenants                            list: id, name, version, last_error
--   GET  /admin/tenants/{t}                        status: version, last_error, history, settings
--   POST /admin/reload                             every tenant, every worker (as SIGHUP)
--   POST /admin/tenants/{t}/reload                 this tenant
--   POST /admin/tenants/{t}/rollback               {"version": "..."} (default: the one before)
--   GET  /admin/tenants/{t}/conversations/{id}     read;  DELETE: reset
--   GET  /admin/tenants/{t}/bookings?date=YYYY-MM-DD   list of a day
--   GET  /admin/tenants/{t}/bookings/{id}          read;  POST .../{id}/cancel {"reason"}
--   GET  /admin/tenants/{t}/reps                   the tenant's sales reps (config and registered)
--   POST /admin/tenants/{t}/reps                   {"id", "name", "telegram_user_id"?, "prospects"?,
--        "timezone"?, "hours"?, "calendar"?, "zoom_user"?}: registers a rep (flow.rep_registry),
--        tries its calendar and Zoom live and says what failed; live after the reload it triggers
--   GET  /admin/tenants/{t}/handoffs               open and queued hand-offs (flow.handoff), oldest first
--   POST /admin/tenants/{t}/messages               {"channel", "to", "text" | "template" | "media"}:
--        a message the business starts ("at": Unix seconds schedules it on a
--        durable timer, 202); 409 "template required" when the
--        channel's window (WhatsApp: 24 h) is closed and it is no template
local router = require "host.router"
local json = require "json"
local crypto = require "crypto"
local host = require "host"
local tenants = require "flow.tenants"
local outbound = require "channels.outbound"

local function fail(status, word, message)
  return router.json(status, { error = word, message = message })
end

local function bearer(req)
  local h = req.headers["authorization"]
  return h and h:match("^[Bb]earer%s+(%S+)%s*$")
end

local function same(a, b) return type(a) == "string" and type(b) == "string" and #a > 0 and crypto.equal(a, b) end

-- nil when allowed, else the error answer; tenant nil: a host-wide resource
local function deny(req, tenant)
  local token = bearer(req)
  if not token then return fail(401, "unauthorized", "send Authorization: Bearer <token>") end
  if same(token, os.getenv("FLOWHOST_ADMIN_TOKEN")) then return nil end
  if tenant then
    local st = tenants.status(tenant)
    local var = st and st.settings and st.settings.admin_token_env
    if var and same(token, os.getenv(var)) then return nil end
  end
  return fail(403, "forbidden", "this token does not open this resource")
end

-- a host-wide route, or one of a tenant that must exist
local function admin(method, path, fn)
  router.route(method, path, function(req, p)
    local denied = { deny(req, p.tenant) }
    if denied[1] then return denied[1], denied[2], denied[3] end
    if p.tenant and not tenants.status(p.tenant) then
      return fail(404, "unknown tenant", "there is no tenant '" .. p.tenant .. "'")
    end
    return fn(req, p)
  end, path)
end

-- a call into the tenant's state, answered as JSON
local function in_tenant(fn, payload)
  return function(req, p)
    local out, err, detail = tenants.call(p.tenant, fn, json.encode(payload(req, p)))
    local r = out and json.decode(out)
    if r and r.res ~= nil then
      return router.json(200, fn == "bookings" and { bookings = json.array(r.res) } or r.res)
    end
    err = err or (r and r.err)
    if err == "not found" then return fail(404, "not found", "no such " .. (fn:match("^%a+") or "thing")) end
    return fail(503, tostring(err), tostring(detail or err))
  end
end

admin("GET", "/admin/tenants", function()
  local list = {}
  for _, id in ipairs(tenants.list()) do
    local st = tenants.status(id) or {}
    list[#list + 1] = { id = id, name = st.name, version = st.version, last_error = st.last_error }
  end
  return router.json(200, { tenants = json.array(list) })
end)

admin("GET", "/admin/tenants/{tenant}", function(_, p)
  return router.json(200, tenants.status(p.tenant))
end)

admin("POST", "/admin/reload", function()
  host.request_reload()
  return router.json(202, { reloading = "all tenants, every worker" })
end)

admin("POST", "/admin/tenants/{tenant}/reload", function(_, p)
  local ok, problems = tenants.reload_now(p.tenant, "admin")
  host.request_reload()
  local st = tenants.status(p.tenant)
  return router.json(ok and 200 or 422, { version = st.version, last_error = st.last_error,
                                          problems = problems and json.array(problems) or nil })
end)

admin("POST", "/admin/tenants/{tenant}/rollback", function(req, p)
  local body = json.decode(req.body ~= "" and req.body or "{}")
  if type(body) ~= "table" then return fail(400, "bad json", 'send {"version": "<hash>"} or nothing') end
  local version, err = tenants.rollback(p.tenant, body.version)
  if not version then return fail(409, "cannot roll back", tostring(err)) end
  return router.json(200, { version = version })
end)

admin("GET", "/admin/tenants/{tenant}/conversations/{id}", in_tenant("conversation", function(_, p) return { id = p.id } end))
admin("DELETE", "/admin/tenants/{tenant}/conversations/{id}", in_tenant("reset", function(_, p) return { id = p.id } end))
admin("GET", "/admin/tenants/{tenant}/bookings", function(req, p)
  local date = type(req.query) == "table" and req.query.date
  if type(date) ~= "string" or not date:match("^%d%d%d%d%-%d%d%-%d%d$") then return fail(400, "missing field", "give ?date=YYYY-MM-DD") end
  return in_tenant("bookings", function() return { date = date } end)(req, p)
end)
admin("GET", "/admin/tenants/{tenant}/bookings/{id}", in_tenant("booking", function(_, p) return { id = p.id } end))
local function reps_of(tenant)
  local st = tenants.status(tenant)
  local out = {}
  for id, r in pairs(st and st.settings and st.settings.reps or {}) do
    out[#out + 1] = { id = id, name = r.name, timezone = r.timezone, hours = r.hours,
                      calendar = type(r.calendar) == "table" and r.calendar.google or nil, zoom_user = r.zoom_user,
                      telegram_user_id = type(r.telegram) == "table" and r.telegram.user_id or nil }
  end
  table.sort(out, function(a, b) return a.id < b.id end)
  return out
end

admin("GET", "/admin/tenants/{tenant}/reps", function(_, p)
  return router.json(200, { reps = json.array(reps_of(p.tenant)) })
end)

admin("POST", "/admin/tenants/{tenant}/reps", function(req, p)
  local registry = require "flow.rep_registry"
  local id, s = registry.parse(json.decode(req.body ~= "" and req.body or "null"))
  if not id then return fail(400, "bad request", s) end
  local out = tenants.call(p.tenant, "rep_checks", json.encode{ calendar = s.calendar and s.calendar.google,
                                                                zoom = s.zoom_user ~= nil })
  local r = out and json.decode(out)
  local checks = r and r.res or { error = "the tenant's state did not answer" }
  local ok, err = registry.add(p.tenant, id, s)
  if not ok then return fail(500, "not written", tostring(err)) end
  local live = tenants.reload_now(p.tenant)
  host.request_reload()
  local failed = {}
  for what, v in pairs(checks) do if v ~= "ok" then failed[#failed + 1] = what end end
  table.sort(failed)
  return router.json(201, { rep = p.tenant .. "." .. id, live = live and true or false, checks = checks,
                            failed = json.array(failed) })
end)

admin("GET", "/admin/tenants/{tenant}/handoffs", function(_, p)
  local list = {}
  for _, h in ipairs(require("flow.handoff").list(p.tenant)) do
    list[#list + 1] = { id = h.id, conversation = h.conv, person = h.person, state = h.state, reason = h.reason,
                        customer = h.customer, opened = h.opened, last = h.last, answered = h.answered == "1" }
  end
  return router.json(200, { handoffs = json.array(list) })
end)
admin("POST", "/admin/tenants/{tenant}/bookings/{id}/cancel", in_tenant("cancel_booking", function(req, p)
  local body = json.decode(req.body ~= "" and req.body or "{}") or {}
  return { id = p.id, reason = type(body.reason) == "string" and body.reason or nil }
end))

admin("POST", "/admin/tenants/{tenant}/messages", function(req, p)
  local body = json.decode(req.body ~= "" and req.body or "{}")
  if type(body) ~= "table" or type(body.channel) ~= "string" or type(body.to) ~= "string"
     or (type(body.text) ~= "string" and type(body.template) ~= "table" and type(body.media) ~= "table") then
    return fail(400, "bad request", 'send {"channel", "to", "text"} or {"channel", "to", "template": {"name", "language", "params"}}')
  end
  if body.at ~= nil then                          -- later: a durable timer
    if type(body.at) ~= "number" then return fail(400, "bad field", '"at" is a time in Unix seconds') end
    local tid, terr = outbound.later(body.at, p.tenant, body.channel, body.to,
      { text = body.text, template = body.template, media = body.media })
    if not tid then return fail(503, "unavailable", tostring(terr)) end
    return router.json(202, { scheduled = tid })
  end
  local st = tenants.status(p.tenant)
  local ok, id = outbound.send(p.tenant, body.channel, body.to,
                               { text = body.text, template = body.template, media = body.media },
                               st and st.settings)
  if not ok then
    return fail(id == "template required" and 409 or 502, tostring(id),
      id == "template required" and "the customer has not written in 24 hours: only a template may be sent"
      or "the channel did not take the message")
  end
  return router.json(200, { sent = true, id = id })
end)
